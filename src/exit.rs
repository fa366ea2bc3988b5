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
    /// 1: a check ran and found a problem (`policy test`, `log verify`).
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
