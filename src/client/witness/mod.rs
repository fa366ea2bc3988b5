//! The client side of the witness: sending the log's new records to the approval service
//! as proof that its head extends the chain the service holds, and checking the local log
//! against every witnessed head. `background` decides when `run` witnesses by itself.

mod background;

pub use background::{after_run, lock, remember, state_path};

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use super::{ApiClient, ClientError};
use crate::approval::{LogHead, WitnessProof, WitnessedHead};
use crate::audit::{self, Appended, AuditError, AuditLog};

/// Encoded bytes of record lines per call: well under the service's body limit.
const CHUNK_BYTES: usize = 1024 * 1024;
/// Record lines per call.
const CHUNK_LINES: usize = 2000;
/// The largest single record line a call can carry (alone).
const MAX_LINE_BYTES: usize = crate::server::WITNESS_MAX_BODY_BYTES - 64 * 1024;

/// What the witness knows a log by: this host, this local user, the log's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogName {
    pub host: String,
    pub user: String,
    pub path: String,
}

impl LogName {
    pub fn of(log: &Path) -> LogName {
        LogName {
            host: crate::environment::hostname(),
            user: crate::environment::current_user(),
            path: absolute(log),
        }
    }
}

/// The log's absolute path with its directory's symbolic links resolved, so that one log
/// has one name however it was given.
pub fn absolute(log: &Path) -> String {
    let log = std::path::absolute(log).unwrap_or_else(|_| log.to_owned());
    let resolved = log
        .parent()
        .and_then(|dir| dir.canonicalize().ok())
        .zip(log.file_name())
        .map(|(dir, name)| dir.join(name));
    resolved.unwrap_or(log).display().to_string()
}

/// The head a request carries: the decision record just written, and the log it is in.
pub fn log_head(log: &AuditLog, decided: &Appended) -> Option<LogHead> {
    Some(LogHead {
        chain_id: log.chain_id()?,
        seq: decided.seq,
        hash: decided.hash.clone(),
        path: Some(absolute(log.path())),
    })
}

/// Why a head was not witnessed, or a log not checked.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Log(#[from] AuditError),
    #[error("{0}; not witnessing it")]
    Broken(String),
    #[error(
        "the witness holds chain {witnessed} for this log, but the log is chain {local}: it was replaced"
    )]
    Replaced { witnessed: String, local: String },
    #[error(
        "the witness holds this log up to record {witnessed}, but it ends at record {local}: it was truncated"
    )]
    Truncated { witnessed: u64, local: u64 },
    #[error("record {seq} differs from the witnessed record: the log was rewritten")]
    Rewritten { seq: u64 },
    #[error("record {seq} is not UTF-8 text; it cannot be sent to the witness")]
    NotText { seq: u64 },
    #[error("record {seq} is too large to witness ({bytes} bytes; at most {MAX_LINE_BYTES})")]
    TooLarge { seq: u64, bytes: usize },
    #[error("the witness refused the head: {0}")]
    Refused(String),
    #[error(transparent)]
    Client(ClientError),
}

impl From<ClientError> for WitnessError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Api { status, body, .. } if status == 409 || status == 422 => {
                WitnessError::Refused(body.error)
            }
            other => WitnessError::Client(other),
        }
    }
}

/// What `send` did.
#[derive(Clone, Debug)]
pub struct Sent {
    pub chain_id: String,
    /// The latest head the witness now holds.
    pub head: WitnessedHead,
    /// Calls made (0: the head was already witnessed).
    pub calls: usize,
    /// Records the witness had not held before.
    pub added: u64,
}

/// The length of `line` as a JSON string.
fn encoded_len(line: &str) -> usize {
    2 + line
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if c.is_control() && (c as u32) < 0x20 => 6,
            c => c.len_utf8(),
        })
        .sum::<usize>()
}

/// Witnesses the log's verified head: sends the records since the latest head the service
/// holds (from record 0 when it holds none), in calls of bounded size, each one extending
/// the chain by a chunk.
pub fn send(client: &ApiClient, log: &Path) -> Result<Sent, WitnessError> {
    let head = audit::head(log).map_err(WitnessError::Broken)?;
    let name = LogName::of(log);
    let witnessed = client.witnessed(&name.host, &name.user, &name.path)?;
    let latest = witnessed.as_ref().and_then(|w| w.heads.last().cloned());
    let from = match (&witnessed, &latest) {
        (Some(w), _) if w.chain_id != head.chain_id => {
            return Err(WitnessError::Replaced {
                witnessed: w.chain_id.clone(),
                local: head.chain_id,
            });
        }
        (_, Some(latest)) if latest.seq > head.seq => {
            return Err(WitnessError::Truncated {
                witnessed: latest.seq,
                local: head.seq,
            });
        }
        (_, Some(latest)) if latest.seq == head.seq => {
            if latest.hash != head.hash {
                return Err(WitnessError::Rewritten { seq: head.seq });
            }
            return Ok(Sent {
                chain_id: head.chain_id,
                head: latest.clone(),
                calls: 0,
                added: 0,
            });
        }
        (_, Some(latest)) => latest.seq + 1,
        (_, None) => 0,
    };
    if let Some(retained) = audit::retained(log)?
        && retained.first_kept_seq > from
    {
        return Err(WitnessError::Broken(format!(
            "records {from} to {} were removed by retention before they were witnessed, so the witness cannot be shown they chain",
            retained.first_kept_seq - 1
        )));
    }
    let mut sent = Sent {
        chain_id: head.chain_id.clone(),
        head: WitnessedHead {
            seq: 0,
            hash: String::new(),
            at: String::new(),
            identity: String::new(),
        },
        calls: 0,
        added: 0,
    };
    let mut chunk: Vec<String> = Vec::new();
    let mut bytes = 0usize;
    let flush = |chunk: &mut Vec<String>, sent: &mut Sent| -> Result<(), WitnessError> {
        let proof = WitnessProof {
            host: name.host.clone(),
            user: name.user.clone(),
            path: name.path.clone(),
            chain_id: head.chain_id.clone(),
            lines: std::mem::take(chunk),
        };
        let answer = client.witness(&proof)?;
        sent.head = answer.head;
        sent.calls += 1;
        sent.added += answer.added;
        Ok(())
    };
    audit::each_record_line(log, from, head.seq, |seq, line| {
        let line = std::str::from_utf8(line).map_err(|_| WitnessError::NotText { seq })?;
        let size = encoded_len(line);
        if size > MAX_LINE_BYTES {
            return Err(WitnessError::TooLarge { seq, bytes: size });
        }
        if !chunk.is_empty() && (bytes + size > CHUNK_BYTES || chunk.len() >= CHUNK_LINES) {
            flush(&mut chunk, &mut sent)?;
            bytes = 0;
        }
        chunk.push(line.to_owned());
        bytes += size;
        Ok(())
    })?;
    if !chunk.is_empty() {
        flush(&mut chunk, &mut sent)?;
    }
    if sent.calls == 0 {
        return Err(WitnessError::Broken(format!(
            "records {from} to {} are not in the log",
            head.seq
        )));
    }
    Ok(sent)
}

/// How one witnessed head compares with the local log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadStatus {
    /// The local record at that seq hashes to the witnessed head.
    Matches,
    /// It hashes to something else: the log was rewritten.
    Differs,
    /// The log has no such record: it was truncated.
    Missing,
    /// The record was removed by retention, as a `retention` record of the chain says.
    Removed,
    /// The witness holds another chain at this log's path: not compared.
    OtherChain,
}

/// One witnessed head, checked.
#[derive(Clone, Debug, Serialize)]
pub struct CheckedHead {
    #[serde(flatten)]
    pub head: WitnessedHead,
    pub status: HeadStatus,
}

/// The local log against everything the witness holds for it.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    pub chain_id: String,
    pub heads: Vec<CheckedHead>,
    /// The first disagreement, for people; `None` when every head matches.
    #[serde(skip)]
    pub problem: Option<String>,
}

/// Checks every head the service witnessed for this log (this host, user and path)
/// against the local log; `None` when nothing is witnessed for it.
pub fn check(client: &ApiClient, log: &Path) -> Result<Option<Checked>, WitnessError> {
    let name = LogName::of(log);
    let Some(witnessed) = client.witnessed(&name.host, &name.user, &name.path)? else {
        return Ok(None);
    };
    let local_chain = audit::chain_id(log)?;
    if local_chain.as_deref() != Some(witnessed.chain_id.as_str()) {
        let problem = format!(
            "the witness holds chain {} at this path, but the log is chain {}: the log was replaced",
            witnessed.chain_id,
            local_chain.as_deref().unwrap_or("none")
        );
        return Ok(Some(Checked {
            chain_id: witnessed.chain_id,
            heads: witnessed
                .heads
                .into_iter()
                .map(|head| CheckedHead {
                    head,
                    status: HeadStatus::OtherChain,
                })
                .collect(),
            problem: Some(problem),
        }));
    }
    let seqs: BTreeSet<u64> = witnessed.heads.iter().map(|h| h.seq).collect();
    let local = audit::hashes_at(log, &seqs)?;
    let first_kept = audit::retained(log)?.map_or(0, |r| r.first_kept_seq);
    // A head removed by retention must have been witnessed long enough ago.
    let removable_before = audit::now()
        - jiff::SignedDuration::from_hours(24 * crate::server::WITNESS_RETENTION_MIN_DAYS as i64);
    let mut problem = None;
    let heads = witnessed
        .heads
        .into_iter()
        .map(|head| {
            let status = match local.get(&head.seq) {
                Some(hash) if *hash == head.hash => HeadStatus::Matches,
                Some(_) => HeadStatus::Differs,
                None if head.seq < first_kept => HeadStatus::Removed,
                None => HeadStatus::Missing,
            };
            let young = status == HeadStatus::Removed
                && head
                    .at
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|at| at > removable_before);
            if problem.is_none() && young {
                problem = Some(format!(
                    "record {}, witnessed by {} at {}, was removed by retention less than {} days after: history was dropped too young",
                    head.seq,
                    head.identity,
                    head.at,
                    crate::server::WITNESS_RETENTION_MIN_DAYS
                ));
            }
            if problem.is_none() && !matches!(status, HeadStatus::Matches | HeadStatus::Removed) {
                problem = Some(match status {
                    HeadStatus::Differs => format!(
                        "record {} differs from the head {} witnessed at {}: the log was rewritten",
                        head.seq, head.identity, head.at
                    ),
                    _ => format!(
                        "record {}, witnessed by {} at {}, is missing: the log was truncated",
                        head.seq, head.identity, head.at
                    ),
                });
            }
            CheckedHead { head, status }
        })
        .collect();
    Ok(Some(Checked {
        chain_id: witnessed.chain_id,
        heads,
        problem,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_length_counts_escapes() {
        for line in [
            r#"{"seq":1,"argv":["a\"b","c\\d"]}"#,
            "plain",
            "é\u{1b}\n\t",
        ] {
            assert_eq!(
                encoded_len(line),
                serde_json::to_string(line).unwrap().len()
            );
        }
    }
}
