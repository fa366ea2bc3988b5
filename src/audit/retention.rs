//! Retention of closed segments: compressing them, and removing the oldest ones once they
//! are past what the configuration keeps. Nothing younger than the minimum age is ever
//! removed, and every removal is first recorded in the chain (a `retention` record naming
//! what goes and the hash the first kept record chains to), so the log still verifies.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde_json::{Value, json};

use super::read::{numbered, read_file};
use super::{Appended, AuditError, AuditLog, line_hash};

/// The minimum age, in days, of anything removed when the configuration names none.
pub const DEFAULT_MIN_DAYS: u64 = 90;

/// What to keep of the closed segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Remove closed segments whose last record is older than this many days.
    pub keep_days: Option<u64>,
    /// Remove the oldest closed segments while all closed segments take more bytes.
    pub keep_bytes: Option<u64>,
    /// Never remove a segment whose last record is younger than this many days.
    pub min_days: u64,
    /// Compress closed segments (gzip).
    pub compress: bool,
}

/// One removed segment, as the `retention` record describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    pub file: PathBuf,
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    /// Hash of the segment's last line: what the next segment's first record chains to.
    pub last_hash: String,
    pub first_ts: String,
    pub last_ts: String,
}

/// What one pass of retention did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Segments compressed in this pass (their new paths).
    pub compressed: Vec<PathBuf>,
    /// Segments removed in this pass.
    pub removed: Vec<Removed>,
    /// The `retention` record that announced the removal.
    pub record: Option<Appended>,
    /// Leftover temporary files of an interrupted compression, deleted.
    pub cleaned: Vec<PathBuf>,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> AuditError + 'a {
    move |source| AuditError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The time records are stamped with and retention measures ages from. Debug builds take
/// `GATEKEEP_TEST_NOW` (RFC 3339) when set, so tests can write a log of several ages.
pub fn now() -> Timestamp {
    if cfg!(debug_assertions)
        && let Some(now) = std::env::var(crate::env_vars::GATEKEEP_TEST_NOW)
            .ok()
            .and_then(|t| t.parse::<Timestamp>().ok())
    {
        return now;
    }
    Timestamp::now()
}

/// A closed segment as retention sees it.
struct Segment {
    path: PathBuf,
    bytes: u64,
    first_seq: u64,
    last_seq: u64,
    last_hash: String,
    last_ts: Option<Timestamp>,
    first_ts_text: String,
    last_ts_text: String,
}

fn describe(path: &Path) -> Result<(Segment, Vec<u8>), AuditError> {
    let bytes = read_file(path)?;
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let parse = |line: &[u8]| serde_json::from_slice::<Value>(line).ok();
    let corrupt = || AuditError::Corrupt {
        path: path.to_owned(),
    };
    let first = lines.first().and_then(|l| parse(l)).ok_or_else(corrupt)?;
    let last_line = *lines.last().ok_or_else(corrupt)?;
    let last = parse(last_line).ok_or_else(corrupt)?;
    let seq = |v: &Value| v.get("seq").and_then(Value::as_u64);
    let ts = |v: &Value| {
        v.get("ts")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let on_disk = std::fs::metadata(path).map_err(io("stat", path))?.len();
    let segment = Segment {
        path: path.to_owned(),
        bytes: on_disk,
        first_seq: seq(&first).ok_or_else(corrupt)?,
        last_seq: seq(&last).ok_or_else(corrupt)?,
        last_hash: line_hash(last_line),
        last_ts: ts(&last).parse().ok(),
        first_ts_text: ts(&first),
        last_ts_text: ts(&last),
    };
    Ok((segment, bytes))
}

/// The `prev` and `seq` of a segment's first record (the genesis values when it has none).
fn start_of(bytes: &[u8]) -> (String, u64) {
    #[derive(serde::Deserialize)]
    struct First {
        seq: u64,
        prev: String,
    }
    bytes
        .split(|b| *b == b'\n')
        .next()
        .and_then(|line| serde_json::from_slice::<First>(line).ok())
        .map_or((super::GENESIS.to_owned(), 0), |f| (f.prev, f.seq))
}

fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("sync directory", dir))
}

/// `PATH` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Compresses one closed segment: the gzip copy is written to a temporary file, synced,
/// checked, renamed into place and the directory synced; only then is the original
/// removed. A crash at any point leaves the original, a complete compressed copy, or both
/// (the original is then the one read), never half a segment.
pub fn compress(path: &Path) -> Result<PathBuf, AuditError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let gz = with_suffix(path, ".gz");
    let tmp = with_suffix(path, ".gz.tmp");
    let original = std::fs::read(path).map_err(io("read", path))?;
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    encoder.write_all(&original).map_err(io("write", &tmp))?;
    let file = encoder.finish().map_err(io("write", &tmp))?;
    file.sync_all().map_err(io("sync", &tmp))?;
    drop(file);
    // Read back through the decoder the readers use before the original may go.
    let compressed = std::fs::read(&tmp).map_err(io("read", &tmp))?;
    let mut back = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(compressed.as_slice()),
        &mut back,
    )
    .map_err(io("read", &tmp))?;
    if back != original {
        let _ = std::fs::remove_file(&tmp);
        return Err(AuditError::Corrupt { path: tmp });
    }
    std::fs::rename(&tmp, &gz).map_err(io("rename", &tmp))?;
    sync_dir(dir)?;
    std::fs::remove_file(path).map_err(io("remove", path))?;
    sync_dir(dir)?;
    Ok(gz)
}

/// Why retention did nothing.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(
        "the log is broken at seq {seq} ({kind}); retention removes nothing that does not verify"
    )]
    Broken { seq: u64, kind: super::BreakKind },
}

/// Applies `policy` to the closed segments of `log` at time `now`: deletes leftover
/// temporary files, compresses closed segments when asked, then removes the oldest closed
/// segments past `keep_days` / `keep_bytes` (as stored, compressed or not) but never one
/// whose last record is younger than `min_days`. Segments to be removed must verify and
/// chain to the first one kept, or nothing is removed. The current file is never touched.
pub fn apply(
    log: &AuditLog,
    policy: &Retention,
    now: Timestamp,
) -> Result<Outcome, RetentionError> {
    let path = log.path();
    let _lock = log.retention_lock()?;
    let mut outcome = Outcome::default();
    let (dir, stem) = super::read::dir_and_stem(path);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{stem}.")) && name.ends_with(".jsonl.gz.tmp") {
                std::fs::remove_file(entry.path()).map_err(io("remove", &entry.path()))?;
                outcome.cleaned.push(entry.path());
            }
        }
    }
    // Both forms of one segment: the compressed copy is complete (it was renamed into
    // place only once synced), so the original may go.
    let closed: Vec<PathBuf> = numbered(path)?
        .into_iter()
        .filter_map(|(n, p)| n.map(|_| p))
        .collect();
    for file in &closed {
        let gz = with_suffix(file, ".gz");
        if !super::read::is_compressed(file) && gz.exists() {
            if read_file(&gz).ok() == Some(read_file(file)?) {
                std::fs::remove_file(file).map_err(io("remove", file))?;
                sync_dir(dir)?;
            } else {
                std::fs::remove_file(&gz).map_err(io("remove", &gz))?;
            }
        }
    }
    if policy.compress {
        for file in &closed {
            if !super::read::is_compressed(file) && file.exists() {
                outcome.compressed.push(compress(file)?);
            }
        }
    }
    // Closed segments are read from the oldest on, only as far as removal goes; each one
    // removed must verify and chain to the next, so nothing broken is removed unnoticed.
    let files: Vec<PathBuf> = numbered(path)?.into_iter().map(|(_, p)| p).collect();
    let closed = &files[..files.len().saturating_sub(1)];
    let mut total = 0u64;
    for file in closed {
        total += std::fs::metadata(file).map_err(io("stat", file))?.len();
    }
    let floor = now - jiff::SignedDuration::from_hours(24 * policy.min_days as i64);
    let mut gone: Vec<Segment> = Vec::new();
    let mut chain: Option<(String, u64)> = None;
    for file in closed {
        let (segment, bytes) = describe(file)?;
        let Some(last_ts) = segment.last_ts else {
            break;
        };
        if last_ts > floor {
            break;
        }
        let by_age = policy.keep_days.is_some_and(|days| {
            last_ts <= now - jiff::SignedDuration::from_hours(24 * days as i64)
        });
        let by_size = policy.keep_bytes.is_some_and(|bytes| total > bytes);
        if !by_age && !by_size {
            break;
        }
        let (prev, expected) = chain.get_or_insert_with(|| start_of(&bytes));
        if let Some(broken) = super::verify::verify_piece(file, &bytes, prev, expected) {
            return Err(RetentionError::Broken {
                seq: broken.seq,
                kind: broken.kind,
            });
        }
        total -= segment.bytes;
        gone.push(segment);
    }
    if let Some((prev, expected)) = &chain {
        let next = files.get(gone.len()).ok_or_else(|| AuditError::Corrupt {
            path: path.to_owned(),
        })?;
        let (next_prev, next_seq) = start_of(&read_file(next)?);
        if next_seq != *expected || next_prev != *prev {
            return Err(RetentionError::Broken {
                seq: *expected,
                kind: super::BreakKind::MissingSegment,
            });
        }
    }
    if let Some(last) = gone.last() {
        let removed: Vec<Removed> = gone
            .iter()
            .map(|s| Removed {
                file: s.path.clone(),
                first_seq: s.first_seq,
                last_seq: s.last_seq,
                records: s.last_seq + 1 - s.first_seq,
                last_hash: s.last_hash.clone(),
                first_ts: s.first_ts_text.clone(),
                last_ts: s.last_ts_text.clone(),
            })
            .collect();
        let fields = json!({
            "removed": removed.iter().map(|r| json!({
                "file": r.file.file_name().map(|n| n.to_string_lossy().into_owned()),
                "first_seq": r.first_seq,
                "last_seq": r.last_seq,
                "records": r.records,
                "last_hash": r.last_hash,
                "first_ts": r.first_ts,
                "last_ts": r.last_ts,
            })).collect::<Vec<_>>(),
            "first_kept_seq": last.last_seq + 1,
            "first_kept_prev": last.last_hash,
            "newest_removed_ts": last.last_ts_text,
            "min_days": policy.min_days,
        });
        // Recorded, durably, before anything is removed: a crash in between leaves files
        // the record already counts as removed, which the next pass removes.
        outcome.record = Some(log.without_retention().append("retention", fields)?);
        for segment in &gone {
            std::fs::remove_file(&segment.path).map_err(io("remove", &segment.path))?;
        }
        sync_dir(dir)?;
        outcome.removed = removed;
    }
    Ok(outcome)
}
