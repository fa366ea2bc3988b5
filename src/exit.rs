//! The one table of exit codes, and errors meant for people.
//!
//! A wrapped child may exit with any of these numbers too; the authoritative outcome of a
//! run is its audit log record (and the JSON `exit` event).

use std::process::ExitCode;

/// How gatekeep ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: a check ran and found a problem (`policy test`, `log verify`), or a verdict was
    /// not recorded because it was given before or the request was already decided.
    Failure,
    /// 120: an approval request was filed and is still pending.
    Pending,
    /// 121: a reviewer rejected the request.
    Rejected,
    /// 122: the request expired or the wait timed out.
    Expired,
    /// 123: the request was cancelled.
    Cancelled,
    /// 125: gatekeep itself failed (bad policy, bad usage, unwritable log…).
    Error,
    /// 126: the policy denies the command.
    Denied,
    /// 127: the command was not found.
    NotFound,
    /// The wrapped command's own status (a signal `n` is reported as 128+n).
    Child(u8),
}

impl Exit {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Pending => 120,
            Exit::Rejected => 121,
            Exit::Expired => 122,
            Exit::Cancelled => 123,
            Exit::Error => 125,
            Exit::Denied => 126,
            Exit::NotFound => 127,
            Exit::Child(code) => code,
        }
    }
}

impl Exit {
    /// Every status gatekeep itself ends with, in the order of their codes; the wrapped
    /// command's own status ([`Exit::Child`]) comes last.
    pub const ALL: [Exit; 10] = [
        Exit::Success,
        Exit::Failure,
        Exit::Pending,
        Exit::Rejected,
        Exit::Expired,
        Exit::Cancelled,
        Exit::Error,
        Exit::Denied,
        Exit::NotFound,
        Exit::Child(0),
    ];

    /// What the status means, for `--help`, the man pages and docs/exit-codes.md.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success (for run: the command exited 0)",
            Exit::Failure => {
                "a check found problems (policy test, log verify), or a verdict was not recorded: given before, or the request was already decided"
            }
            Exit::Pending => "an approval request was filed and is still pending (run --no-wait)",
            Exit::Rejected => "a reviewer rejected the request",
            Exit::Expired => {
                "the request expired, the wait timed out, or the approval covers another command than the one given now"
            }
            Exit::Cancelled => "the request was cancelled (Ctrl-C while waiting)",
            Exit::Error => {
                "gatekeep itself failed (invalid policy or configuration, usage, unwritable log, unreachable service); nothing was run"
            }
            Exit::Denied => "the policy denies the command; nothing was run",
            Exit::NotFound => "the command was not found",
            Exit::Child(_) => "the wrapped command's own status; killed by signal n: 128 + n",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error with a message for people, a hint of what to do, and an exit status.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
    pub exit: Exit,
    /// A stable name for the kind of failure, for programs (`error` events in JSON mode).
    pub kind: &'static str,
}

impl UserError {
    /// An error that ends gatekeep with status 125.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            exit: Exit::Error,
            kind: "error",
        }
    }

    /// Names the kind of failure (see docs/agents.md for the list).
    #[must_use]
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the exit status.
    #[must_use]
    pub fn exit(mut self, exit: Exit) -> Self {
        self.exit = exit;
        self
    }

    /// Adds a hint line.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
