//! Request ids for people: the shortest prefixes that still tell a set of ids apart, and
//! the rule for what a typed prefix must look like before the service is asked.
//!
//! Ids are UUIDv7: ids made in the same minute share their first eight characters, so a
//! fixed eight is not enough to tell them apart.

/// The fewest characters of an id a person may type, and a list shows.
pub const MIN_PREFIX: usize = 8;

/// For each of `ids`, the shortest prefix of at least `min` characters that no other id
/// of the set starts with (the whole id when it is itself a prefix of another, or a
/// duplicate). Same order as `ids`.
pub fn shortest_unique_prefixes<S: AsRef<str>>(ids: &[S], min: usize) -> Vec<String> {
    let mut sorted: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    ids.iter()
        .map(|id| {
            let id = id.as_ref();
            // The neighbours in sorted order share the longest prefixes with it.
            let at = sorted.partition_point(|other| *other < id);
            let mut shared = 0;
            for other in [at.checked_sub(1), Some(at + 1)]
                .into_iter()
                .flatten()
                .filter_map(|i| sorted.get(i))
            {
                shared = shared.max(common_prefix(id, other));
            }
            // A duplicate sits right after it.
            if sorted.get(at + 1) == Some(&id) {
                shared = id.len();
            }
            let chars = (shared + 1).max(min);
            id.char_indices()
                .nth(chars)
                .map_or(id, |(end, _)| &id[..end])
                .to_owned()
        })
        .collect()
}

/// How many characters `a` and `b` share at their start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// Why a typed request id cannot be looked up, or `None` when it may be: at least
/// `MIN_PREFIX` characters, of the characters ids are made of.
pub fn check_prefix(prefix: &str) -> Option<String> {
    if !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Some(format!(
            "{prefix:?} is not a request id: ids are hex digits and dashes"
        ));
    }
    if prefix.len() < MIN_PREFIX {
        return Some(format!(
            "request id {prefix} is too short: give at least {MIN_PREFIX} characters"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_grow_until_they_tell_ids_apart() {
        let ids = [
            "0190a1b2-c3d4-7000-8000-000000000001",
            "0190a1b2-c3d4-7000-8000-000000000002",
            "0190a1b2-ffff-7000-8000-000000000003",
            "12345678-0000-7000-8000-000000000000",
        ];
        assert_eq!(
            shortest_unique_prefixes(&ids, 8),
            vec![
                "0190a1b2-c3d4-7000-8000-000000000001",
                "0190a1b2-c3d4-7000-8000-000000000002",
                "0190a1b2-f",
                "12345678",
            ]
        );
        assert_eq!(shortest_unique_prefixes(&ids[3..], 8), vec!["12345678"]);
        assert_eq!(
            shortest_unique_prefixes(&["0190a1b2-aaaa", "0190a1b2-abbb"], 8),
            vec!["0190a1b2-aa", "0190a1b2-ab"]
        );
    }

    #[test]
    fn short_ids_duplicates_and_an_empty_set() {
        assert_eq!(shortest_unique_prefixes(&["abc"], 8), vec!["abc"]);
        assert_eq!(
            shortest_unique_prefixes(&["0123456789", "0123456789"], 8),
            vec!["0123456789", "0123456789"]
        );
        assert_eq!(
            shortest_unique_prefixes(&["01234567", "0123456789"], 8),
            vec!["01234567", "012345678"]
        );
        assert!(shortest_unique_prefixes::<&str>(&[], 8).is_empty());
    }

    #[test]
    fn typed_prefixes_are_checked_before_asking() {
        assert!(check_prefix("0190a1b2").is_none());
        assert!(check_prefix("0190A1B2-c3").is_none());
        assert!(check_prefix("0190a1b").unwrap().contains("at least 8"));
        assert!(
            check_prefix("0190a1b%")
                .unwrap()
                .contains("not a request id")
        );
    }
}
