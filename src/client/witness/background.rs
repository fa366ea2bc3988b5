//! The background witness: after `run`, when the log has grown enough or enough time has
//! passed since the last witness, a detached `gatekeep log witness --quiet`. A small state
//! file beside the log remembers when; a lock file keeps two witnesses of one log apart.

use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Sent, WitnessError, absolute};
use crate::audit::AuditLog;
use crate::client::Connection;
use crate::config::Config;
use crate::environment::Environment;

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
        let bytes =
            crate::files::read_regular(&state_path(log), crate::files::CONFIG_FILE_LIMIT).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Replaces the file (0600) in one rename, so readers never see half of it.
    pub fn write(&self, log: &Path) -> std::io::Result<()> {
        crate::client::credentials::write_private_json(&state_path(log), self).map(|_| ())
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
/// standard streams and no other inherited descriptor, and does not wait for it.
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
    // Nothing else the caller handed `run` goes with it: a caller reading a pipe to its end
    // must not wait for the witness.
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            use nix::libc;
            let all = libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            );
            if all != 0 {
                for fd in 3..4096 {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
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
}
