//! Request ids as people read them: the shortest prefix that still tells one id from the
//! others in a list. UUIDv7 ids filed within the same minute share their first eight
//! characters, so a fixed length is not enough.

/// For each of `ids`, the shortest prefix of at least `min` characters that no other id
/// in `ids` starts with (the whole id when none is shorter). Duplicates of one id get the
/// whole id. The result is in the order of `ids`.
pub fn shortest_unique_prefixes(ids: &[&str], min: usize) -> Vec<String> {
    ids.iter()
        .map(|id| {
            // The longest prefix this id shares with any other decides the length.
            let shared = ids
                .iter()
                .filter(|other| !std::ptr::eq(*other, id))
                .map(|other| common_prefix(id, other))
                .max()
                .unwrap_or(0);
            let chars: Vec<char> = id.chars().collect();
            let length = (shared + 1).max(min).min(chars.len());
            chars[..length].iter().collect()
        })
        .collect()
}

/// How many characters `a` and `b` share from the start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::shortest_unique_prefixes;

    #[test]
    fn at_least_the_minimum() {
        assert_eq!(
            shortest_unique_prefixes(&["0190abcd-1111", "0291abcd-2222"], 8),
            ["0190abcd", "0291abcd"]
        );
        assert_eq!(
            shortest_unique_prefixes(&["0190abcd-1111"], 8),
            ["0190abcd"]
        );
        assert!(shortest_unique_prefixes(&[], 8).is_empty());
    }

    #[test]
    fn ids_of_the_same_minute_get_longer_prefixes() {
        let ids = [
            "01932c07-a1b2-7000-8000-000000000001",
            "01932c07-a1b9-7000-8000-000000000002",
            "01932c07-ffff-7000-8000-000000000003",
        ];
        assert_eq!(
            shortest_unique_prefixes(&ids, 8),
            ["01932c07-a1b2", "01932c07-a1b9", "01932c07-f"]
        );
    }

    #[test]
    fn an_id_that_prefixes_another_and_duplicates_stay_whole() {
        assert_eq!(
            shortest_unique_prefixes(&["abcdefgh", "abcdefghij", "abcdefgh"], 4),
            ["abcdefgh", "abcdefghi", "abcdefgh"]
        );
        assert_eq!(shortest_unique_prefixes(&["abc"], 8), ["abc"]);
    }

    #[test]
    fn every_prefix_is_unique_and_a_prefix() {
        let ids: Vec<String> = (0..50).map(|n| format!("0193{:032x}", n * 7919)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let shown = shortest_unique_prefixes(&refs, 8);
        for (i, prefix) in shown.iter().enumerate() {
            assert!(ids[i].starts_with(prefix.as_str()));
            assert!(prefix.len() >= 8);
            let matching = ids
                .iter()
                .filter(|id| id.starts_with(prefix.as_str()))
                .count();
            assert_eq!(matching, 1, "{prefix} names one id");
        }
    }
}
