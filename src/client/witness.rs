//! The client side of the witness: sending the log's new records to the approval service
//! as proof that its head extends the chain the service holds, checking the local log
//! against every witnessed head, and witnessing in the background after `run`.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ApiClient, ClientError, Connection};
use crate::approval::{LogHead, WitnessProof, WitnessedHead};
use crate::audit::{self, Appended, AuditError, AuditLog};
use crate::config::Config;
use crate::environment::Environment;

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
            ClientError::Api { status, body } if status == 409 || status == 422 => {
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
    let mut problem = None;
    let heads = witnessed
        .heads
        .into_iter()
        .map(|head| {
            let status = match local.get(&head.seq) {
                Some(hash) if *hash == head.hash => HeadStatus::Matches,
                Some(_) => HeadStatus::Differs,
                None => HeadStatus::Missing,
            };
            if problem.is_none() && status != HeadStatus::Matches {
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

/// When `run` witnesses in the background (client configuration `witness_records`,
/// `witness_interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Every {
    /// After this many records since the last witness.
    pub records: Option<u64>,
    /// Or this many seconds since the last witness.
    pub interval: Option<u64>,
}

impl Every {
    pub const DEFAULT_RECORDS: u64 = 100;
    pub const DEFAULT_INTERVAL: u64 = 600;

    pub fn from_config(config: &Config) -> Every {
        Every {
            records: match config.witness_records {
                Some(0) => None,
                Some(n) => Some(n),
                None => Some(Self::DEFAULT_RECORDS),
            },
            interval: match config.witness_interval.as_deref() {
                None => Some(Self::DEFAULT_INTERVAL),
                Some(text) => crate::config::witness_interval(text).ok().flatten(),
            },
        }
    }
}

/// How long a started or failed background witness holds off the next one.
const RETRY_SECONDS: u64 = 60;

/// What the background witness remembers, in a small file beside the log. It only
/// decides when to witness: the service holds what was witnessed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The chain and record the count runs from: the last witnessed head, or where the
    /// clock started.
    pub chain_id: String,
    pub seq: u64,
    /// When (Unix seconds) the last witness succeeded, or the clock started.
    pub since: i64,
    /// When the last witness was started.
    pub attempt: i64,
    /// Why the last one failed, if it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// `audit.jsonl.witness` beside `audit.jsonl`.
pub fn state_path(log: &Path) -> PathBuf {
    let mut name = log.file_name().unwrap_or_default().to_os_string();
    name.push(".witness");
    log.with_file_name(name)
}

impl State {
    pub fn read(log: &Path) -> Option<State> {
        serde_json::from_slice(&std::fs::read(state_path(log)).ok()?).ok()
    }

    /// Replaces the file (0600) in one rename, so readers never see half of it.
    pub fn write(&self, log: &Path) -> std::io::Result<()> {
        let path = state_path(log);
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(name);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(serde_json::to_string(self)?.as_bytes())?;
        std::fs::rename(&tmp, &path)
    }
}

/// Holds off other witnesses of the same log (a lock file beside it, `….witness.lock`):
/// waits for the one running, or with `wait` false returns `None` while one runs.
pub fn lock(log: &Path, wait: bool) -> std::io::Result<Option<std::fs::File>> {
    let mut name = state_path(log)
        .file_name()
        .unwrap_or_default()
        .to_os_string();
    name.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(log.with_file_name(name))?;
    if wait {
        file.lock()?;
        return Ok(Some(file));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Whether the background witness should run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    No,
    /// Nothing remembered yet: start counting here.
    Start,
    Now,
}

/// Decides from the remembered state, the log's chain and last `seq`, and the time.
pub fn due(state: Option<&State>, chain_id: &str, seq: u64, now: i64, every: Every) -> Due {
    if every.records.is_none() && every.interval.is_none() {
        return Due::No;
    }
    let Some(state) = state else {
        return Due::Start;
    };
    let retry = every
        .interval
        .map_or(RETRY_SECONDS, |i| i.min(RETRY_SECONDS));
    let elapsed = |since: i64| u64::try_from(now.saturating_sub(since)).unwrap_or(0);
    if state.attempt > state.since && elapsed(state.attempt) < retry {
        // One is running, or failed a moment ago.
        return Due::No;
    }
    if state.chain_id != chain_id {
        return Due::Now;
    }
    let by_count = every
        .records
        .is_some_and(|n| seq >= state.seq.saturating_add(n));
    let by_time = every.interval.is_some_and(|i| elapsed(state.since) >= i) && seq > state.seq;
    if by_count || by_time {
        Due::Now
    } else {
        Due::No
    }
}

/// Remembers how a witness of `log` went.
pub fn remember(log: &Path, result: &Result<Sent, WitnessError>) {
    let now = now();
    let state = match (result, State::read(log)) {
        (Ok(sent), _) => State {
            chain_id: sent.chain_id.clone(),
            seq: sent.head.seq,
            since: now,
            attempt: now,
            error: None,
        },
        (Err(error), Some(state)) => State {
            attempt: now,
            error: Some(error.to_string()),
            ..state
        },
        (Err(_), None) => return,
    };
    if let Err(error) = state.write(log) {
        tracing::debug!(%error, "cannot remember the witness state");
    }
}

/// After `run`: when a service is configured and the log has grown enough (or enough time
/// has passed) since the last witness, starts `gatekeep log witness --quiet` on its own,
/// detached, and returns at once. Never fails the run.
pub fn after_run(env: &Environment, config: &Config, log: &AuditLog, token_file: Option<&Path>) {
    let every = Every::from_config(config);
    let (Some(last), Some(chain_id)) = (log.last(), log.chain_id()) else {
        return;
    };
    let state = State::read(log.path());
    let now = now();
    let decision = due(state.as_ref(), &chain_id, last.seq, now, every);
    if decision == Due::No {
        return;
    }
    if !matches!(Connection::discover(env, config, token_file), Ok(Some(_))) {
        return;
    }
    let mut next = State {
        chain_id,
        seq: last.seq,
        since: now,
        attempt: now,
        error: None,
    };
    if decision == Due::Now
        && let Some(state) = state
    {
        next = State {
            attempt: now,
            ..state
        };
    }
    if next.write(log.path()).is_err() || decision == Due::Start {
        return;
    }
    if let Err(error) = spawn(log.path(), token_file) {
        tracing::debug!(%error, "cannot start the background witness");
    }
}

/// Starts `gatekeep log witness --quiet --log PATH` in its own process group, with no
/// standard streams, and does not wait for it.
fn spawn(log: &Path, token_file: Option<&Path>) -> std::io::Result<()> {
    use std::os::unix::process::CommandExt as _;
    use std::process::Stdio;
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(["log", "witness", "--quiet", "--log"])
        .arg(absolute(log));
    if let Some(file) = token_file {
        command.arg("--token-file").arg(file);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    command.spawn().map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Every = Every {
        records: Some(100),
        interval: Some(600),
    };

    fn state(seq: u64, since: i64, attempt: i64) -> State {
        State {
            chain_id: "c1".into(),
            seq,
            since,
            attempt,
            error: None,
        }
    }

    #[test]
    fn due_by_count_or_by_time_whichever_first() {
        assert_eq!(due(None, "c1", 5, 1000, EVERY), Due::Start);
        let s = state(10, 1000, 1000);
        assert_eq!(due(Some(&s), "c1", 109, 1001, EVERY), Due::No);
        assert_eq!(due(Some(&s), "c1", 110, 1001, EVERY), Due::Now);
        assert_eq!(due(Some(&s), "c1", 11, 1599, EVERY), Due::No);
        assert_eq!(due(Some(&s), "c1", 11, 1600, EVERY), Due::Now);
        // Time alone does not witness a log that did not grow.
        assert_eq!(due(Some(&s), "c1", 10, 5000, EVERY), Due::No);
        // Another chain at the path: witness (the service will say what happened).
        assert_eq!(due(Some(&s), "c2", 3, 1001, EVERY), Due::Now);
    }

    #[test]
    fn a_running_or_failed_witness_holds_off_the_next() {
        let running = state(10, 1000, 2000);
        assert_eq!(due(Some(&running), "c1", 500, 2030, EVERY), Due::No);
        assert_eq!(due(Some(&running), "c1", 500, 2060, EVERY), Due::Now);
    }

    #[test]
    fn both_triggers_off_means_never() {
        let off = Every {
            records: None,
            interval: None,
        };
        assert_eq!(due(None, "c1", 500, 2000, off), Due::No);
        let count_only = Every {
            records: Some(3),
            interval: None,
        };
        assert_eq!(due(Some(&state(1, 0, 0)), "c1", 4, 1, count_only), Due::Now);
    }

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
