//! The chain rule on its own, over record lines held in memory: what the client sends to
//! the witness as proof that a new head extends the last witnessed one, and what the
//! service checks. Both sides use this code, so they agree on what a record is.

use super::{GENESIS, line_hash};

/// The chain fields of one record line, and the line's own hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub seq: u64,
    pub prev: String,
    pub event: String,
    /// SHA-256 of the line's bytes: what the next record's `prev` must be.
    pub hash: String,
}

#[derive(serde::Deserialize)]
struct Fields {
    seq: u64,
    prev: String,
    event: String,
}

/// The chain fields of `line` (without its newline), when it is a record: a JSON object
/// with `seq`, `prev` and `event`, as `verify` reads them.
pub fn link(line: &[u8]) -> Option<Link> {
    let fields: Fields = serde_json::from_slice(line).ok()?;
    Some(Link {
        seq: fields.seq,
        prev: fields.prev,
        event: fields.event,
        hash: line_hash(line),
    })
}

/// Why lines do not form one piece of a chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("no record lines")]
    Empty,
    #[error("line {index} is not a record")]
    NotARecord { index: usize },
    #[error("record {found} follows record {after}; records must be consecutive")]
    NotConsecutive { after: u64, found: u64 },
    #[error("record {seq} does not chain to record {}", seq - 1)]
    Unlinked { seq: u64 },
    #[error("record 0 is not the `chain_open` record of chain {chain_id}")]
    NotGenesis { chain_id: String },
}

/// Checks that `lines` are consecutive records, each one's `prev` the hash of the line
/// before it, and returns their links. The first line's `prev` is left to the caller, who
/// knows what it must chain to; when the first line is record 0 it must be the
/// `chain_open` record of `chain_id`, chained to the genesis value.
pub fn links<L: AsRef<[u8]>>(lines: &[L], chain_id: &str) -> Result<Vec<Link>, ChainError> {
    let mut out: Vec<Link> = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let link = link(line.as_ref()).ok_or(ChainError::NotARecord { index })?;
        if let Some(before) = out.last() {
            if Some(link.seq) != before.seq.checked_add(1) {
                return Err(ChainError::NotConsecutive {
                    after: before.seq,
                    found: link.seq,
                });
            }
            if link.prev != before.hash {
                return Err(ChainError::Unlinked { seq: link.seq });
            }
        } else if link.seq == 0 && !opens_chain(line.as_ref(), &link, chain_id) {
            return Err(ChainError::NotGenesis {
                chain_id: chain_id.to_owned(),
            });
        }
        out.push(link);
    }
    if out.is_empty() {
        return Err(ChainError::Empty);
    }
    Ok(out)
}

/// Whether record 0 is the `chain_open` record of `chain_id`.
fn opens_chain(line: &[u8], link: &Link, chain_id: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Open {
        chain_id: String,
    }
    link.event == "chain_open"
        && link.prev == GENESIS
        && serde_json::from_slice::<Open>(line).is_ok_and(|open| open.chain_id == chain_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(seq: u64, event: &str, prev: &str, extra: &str) -> String {
        format!(
            "{{\"seq\":{seq},\"ts\":\"2026-01-01T00:00:00Z\",\"event\":\"{event}\",\"prev\":\"{prev}\"{extra}}}"
        )
    }

    fn chain(n: u64) -> Vec<String> {
        let mut lines = vec![line(0, "chain_open", GENESIS, ",\"chain_id\":\"c1\"")];
        for seq in 1..n {
            let prev = line_hash(lines.last().unwrap().as_bytes());
            lines.push(line(seq, "exit", &prev, ""));
        }
        lines
    }

    #[test]
    fn a_chain_from_genesis_links() {
        let lines = chain(5);
        let links = links(&lines, "c1").unwrap();
        assert_eq!(links.len(), 5);
        assert_eq!(links[4].hash, line_hash(lines[4].as_bytes()));
        // A piece from the middle links too; its first `prev` is the caller's to check.
        assert_eq!(super::links(&lines[2..], "c1").unwrap()[0].seq, 2);
    }

    #[test]
    fn broken_pieces_are_refused() {
        let lines = chain(5);
        assert_eq!(
            links(&lines, "other"),
            Err(ChainError::NotGenesis {
                chain_id: "other".into()
            })
        );
        let mut gap = lines.clone();
        gap.remove(2);
        assert_eq!(
            links(&gap, "c1"),
            Err(ChainError::NotConsecutive { after: 1, found: 3 })
        );
        let mut edited = lines.clone();
        edited[2] = edited[2].replace("exit", "exiT");
        assert_eq!(links(&edited, "c1"), Err(ChainError::Unlinked { seq: 3 }));
        let mut torn = lines.clone();
        torn[1] = "{\"seq\":1,\"ts\":".into();
        assert_eq!(links(&torn, "c1"), Err(ChainError::NotARecord { index: 1 }));
        assert_eq!(links::<String>(&[], "c1"), Err(ChainError::Empty));
    }
}
