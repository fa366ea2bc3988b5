//! Verification: walk every segment and check that each record's `prev` is the hash of the
//! line before it and that `seq` counts up by one.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::read::read_file;
use super::{AuditError, GENESIS, line_hash, segments};

/// How the chain is broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// A record's bytes changed (its successor's `prev` no longer matches), or a line is not
    /// a record.
    Edited,
    /// A record appears that does not belong at this place.
    Inserted,
    /// Records are missing.
    Deleted,
    /// Records are out of order.
    Reordered,
    /// The last line was cut short and not yet recovered.
    TornTail,
    /// A whole segment file is missing.
    MissingSegment,
}

impl std::fmt::Display for BreakKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BreakKind::Edited => "edited",
            BreakKind::Inserted => "inserted",
            BreakKind::Deleted => "deleted",
            BreakKind::Reordered => "reordered",
            BreakKind::TornTail => "torn tail",
            BreakKind::MissingSegment => "missing segment",
        })
    }
}

/// The first break found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Break {
    pub seq: u64,
    pub kind: BreakKind,
    pub file: PathBuf,
    pub line: usize,
}

/// What verification found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Records that chained correctly.
    pub records: u64,
    pub segments: usize,
    /// Torn fragments that a later writer recovered: (file, byte offset, length).
    pub recovered: Vec<(PathBuf, u64, u64)>,
    /// Hash of the last valid record.
    pub head: Option<String>,
    /// `seq` of the last valid record.
    pub last_seq: Option<u64>,
    pub first_break: Option<Break>,
    /// When the oldest records were removed by retention: the first `seq` kept, and the
    /// `seq` of the `retention` record that says so (and what its predecessor hash is).
    pub retained: Option<Retained>,
}

/// Records removed by retention, as the `retention` record that removed them says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retained {
    /// The first record kept: every record before it was removed.
    pub first_kept_seq: u64,
    /// The `retention` record whose `first_kept_seq`/`first_kept_prev` match the oldest
    /// record kept.
    pub record_seq: u64,
    /// `ts` of the newest removed record, as that record states it.
    pub newest_removed_ts: Option<String>,
}

#[derive(serde::Deserialize)]
struct Fields {
    seq: u64,
    prev: String,
    event: String,
    #[serde(default)]
    offset: Option<u64>,
    #[serde(default)]
    length: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
}

/// Verifies the log at `path` and all its rotated segments.
pub fn verify(path: &Path) -> Result<Report, AuditError> {
    let files = segments(path)?;
    if files.is_empty() {
        return Err(AuditError::Io {
            action: "read",
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such log"),
        });
    }
    let mut report = Report {
        segments: files.len(),
        ..Report::default()
    };
    let mut prev = GENESIS.to_owned();
    let mut expected = 0u64;
    let anchor = retention_anchor(&files)?;
    if let Some((retained, first_prev)) = &anchor {
        prev = first_prev.clone();
        expected = retained.first_kept_seq;
    }
    for (index, file) in files.iter().enumerate() {
        let bytes = read_file(file)?;
        let last = index + 1 == files.len();
        if let Some(found) = verify_file(
            file,
            &bytes,
            last,
            index == 0 && anchor.is_none(),
            &mut prev,
            &mut expected,
            &mut report,
        ) {
            report.first_break = Some(found);
            break;
        }
    }
    report.head = (report.records > 0).then_some(prev);
    // The `retention` record vouches for the gap only once the chain has been verified up
    // to and including it.
    report.retained = anchor
        .map(|(retained, _)| retained)
        .filter(|r| report.last_seq.is_some_and(|last| last >= r.record_seq));
    Ok(report)
}

/// What retention removed from the log at `path`, as the `retention` record matching its
/// oldest record says (not verified here: `verify` does that).
pub fn retained(path: &Path) -> Result<Option<Retained>, AuditError> {
    Ok(retention_anchor(&segments(path)?)?.map(|(retained, _)| retained))
}

/// When the oldest file does not start at record 0: the `retention` record, among the
/// files, whose `first_kept_seq` and `first_kept_prev` are the `seq` and `prev` of the
/// oldest file's first record, and that `prev`.
fn retention_anchor(files: &[PathBuf]) -> Result<Option<(Retained, String)>, AuditError> {
    let Some(first) = files.first() else {
        return Ok(None);
    };
    let bytes = read_file(first)?;
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let Ok(head) = serde_json::from_slice::<Fields>(line) else {
        return Ok(None);
    };
    if head.seq == 0 {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Anchor {
        seq: u64,
        event: String,
        first_kept_seq: u64,
        first_kept_prev: String,
        #[serde(default)]
        newest_removed_ts: Option<String>,
    }
    let mut found = None;
    for file in files {
        let bytes = read_file(file)?;
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(anchor) = serde_json::from_slice::<Anchor>(line) else {
                continue;
            };
            if anchor.event == "retention"
                && anchor.first_kept_seq == head.seq
                && anchor.first_kept_prev == head.prev
                && anchor.seq > head.seq
            {
                found = Some((
                    Retained {
                        first_kept_seq: anchor.first_kept_seq,
                        record_seq: anchor.seq,
                        newest_removed_ts: anchor.newest_removed_ts,
                    },
                    anchor.first_kept_prev,
                ));
                break;
            }
        }
        if found.is_some() {
            break;
        }
    }
    Ok(found)
}

/// Verifies one segment held in memory as if it were the whole log (the fuzz target's
/// entry point; `verify` reads the files).
pub fn verify_segment(bytes: &[u8]) -> Report {
    let mut report = Report {
        segments: 1,
        ..Report::default()
    };
    let mut prev = GENESIS.to_owned();
    let mut expected = 0u64;
    report.first_break = verify_file(
        Path::new("segment"),
        bytes,
        true,
        true,
        &mut prev,
        &mut expected,
        &mut report,
    );
    report.head = (report.records > 0).then_some(prev);
    report
}

/// Verifies one segment of a longer chain, from `prev` and `expected` (updated as it goes):
/// what retention checks of each segment before removing it.
pub(super) fn verify_piece(
    file: &Path,
    bytes: &[u8],
    prev: &mut String,
    expected: &mut u64,
) -> Option<Break> {
    let first = *expected == 0;
    verify_file(
        file,
        bytes,
        false,
        first,
        prev,
        expected,
        &mut Report::default(),
    )
}

fn verify_file(
    file: &Path,
    bytes: &[u8],
    last_file: bool,
    first_file: bool,
    prev: &mut String,
    expected: &mut u64,
    report: &mut Report,
) -> Option<Break> {
    let mut lines: Vec<(u64, &[u8], bool)> = Vec::new();
    let mut offset = 0u64;
    for chunk in bytes.split_inclusive(|b| *b == b'\n') {
        let terminated = chunk.last() == Some(&b'\n');
        let line = if terminated {
            &chunk[..chunk.len() - 1]
        } else {
            chunk
        };
        lines.push((offset, line, terminated));
        offset += chunk.len() as u64;
    }
    let at = |seq: u64, kind: BreakKind, line: usize| {
        Some(Break {
            seq,
            kind,
            file: file.to_owned(),
            line: line + 1,
        })
    };
    let mut fragment: Option<(u64, &[u8], usize)> = None;
    for (i, (offset, line, terminated)) in lines.iter().enumerate() {
        let head: Option<Fields> = serde_json::from_slice(line).ok();
        let Some(head) = head else {
            if !terminated {
                return at(*expected, BreakKind::TornTail, i);
            }
            if fragment.is_some() {
                return at(*expected, BreakKind::Edited, i);
            }
            fragment = Some((*offset, line, i));
            continue;
        };
        if let Some((frag_offset, frag, frag_line)) = fragment.take() {
            let matches = head.event == "recovered"
                && head.offset == Some(frag_offset)
                && head.length == Some(frag.len() as u64)
                && head.sha256.as_deref() == Some(line_hash(frag).as_str());
            if !matches {
                return at(*expected, BreakKind::Edited, frag_line);
            }
            report
                .recovered
                .push((file.to_owned(), frag_offset, frag.len() as u64));
        }
        if i == 0 && head.seq > *expected {
            return at(*expected, BreakKind::MissingSegment, i);
        }
        if i == 0 && first_file && head.seq != 0 {
            return at(0, BreakKind::MissingSegment, i);
        }
        if head.seq != *expected {
            let next_seq = lines
                .get(i + 1)
                .and_then(|(_, l, _)| serde_json::from_slice::<Fields>(l).ok())
                .map(|h| h.seq);
            let kind = if head.seq == *expected + 1 && next_seq == Some(*expected) {
                BreakKind::Reordered
            } else if head.seq > *expected {
                BreakKind::Deleted
            } else {
                BreakKind::Inserted
            };
            return at(*expected, kind, i);
        }
        if head.prev != *prev {
            // The line before this one no longer hashes to what this record chained to.
            let kind = if i == 0 && !first_file {
                BreakKind::MissingSegment
            } else {
                BreakKind::Edited
            };
            return at(expected.saturating_sub(1), kind, i.saturating_sub(1));
        }
        if !terminated && !last_file {
            return at(*expected, BreakKind::Edited, i);
        }
        *prev = line_hash(line);
        report.last_seq = Some(*expected);
        *expected += 1;
        report.records += 1;
    }
    if let Some((_, _, line)) = fragment {
        return at(
            *expected,
            if last_file && line + 1 == lines.len() {
                BreakKind::TornTail
            } else {
                BreakKind::Edited
            },
            line,
        );
    }
    None
}

/// The verified head of a chain: what a witness keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub chain_id: String,
    pub seq: u64,
    pub hash: String,
}

/// The head of the log at `path`, when its chain verifies; otherwise why not.
pub fn head(path: &Path) -> Result<Head, String> {
    let report = verify(path).map_err(|e| e.to_string())?;
    if let Some(broken) = &report.first_break {
        return Err(format!(
            "the log is broken at seq {} ({})",
            broken.seq, broken.kind
        ));
    }
    let (Some(hash), Some(seq)) = (report.head, report.last_seq) else {
        return Err("the log is empty".to_owned());
    };
    let chain_id = super::chain_id(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the log has no chain id".to_owned())?;
    Ok(Head {
        chain_id,
        seq,
        hash,
    })
}
