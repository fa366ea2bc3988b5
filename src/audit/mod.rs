//! The audit log: an append-only, hash-chained JSON Lines file. Only this module writes it.
//!
//! The format is specified in docs/audit-log.md. In short: every record is one line with
//! `seq`, `ts`, `event` and `prev`, where `prev` is the SHA-256 of the previous line's bytes.

mod chain;
pub mod export;
mod log;
mod read;
pub mod records;
mod retention;
mod verify;

pub use chain::{ChainError, Link, link, links};
pub use log::{Appended, AuditLog, render_at};
pub use read::{Record, chain_id, each_record_line, hashes_at, read_all, segments};
pub use retention::{
    DEFAULT_MIN_DAYS, Outcome, Removed, Retention, RetentionError, apply as apply_retention,
    compress, now,
};
pub use verify::{
    Break, BreakKind, Head, Report, Retained, head, retained, verify, verify_segment,
};

use std::path::PathBuf;

/// `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Errors reading or writing the log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the last record is not valid JSON; run `gatekeep log verify`", path.display())]
    Corrupt { path: PathBuf },
}

/// Lowercase hex SHA-256 of a line's bytes (without its newline).
pub fn line_hash(line: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(line))
}
