//! Appending to the log: one writer at a time (a lock file beside the log), each record
//! chained to the previous line and synced to disk before `append` returns.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::{AuditError, GENESIS, line_hash};

/// A handle on the log at one path.
#[derive(Clone, Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: Option<u64>,
    /// Identity written into a new chain's `chain_open` record.
    host: String,
    user: String,
    /// Applied to the closed segments after each automatic rotation.
    retention: Option<super::Retention>,
}

/// What an append wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
}

/// The last complete record of the log file, as found under the lock.
struct Tail {
    seq: u64,
    hash: String,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> AuditError + 'a {
    move |source| AuditError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

impl AuditLog {
    /// A log at `path`, rotated automatically past `max_bytes` when given.
    pub fn new(path: PathBuf, max_bytes: Option<u64>, host: String, user: String) -> Self {
        Self {
            path,
            max_bytes,
            host,
            user,
            retention: None,
        }
    }

    /// The same log, applying `retention` after each automatic rotation.
    pub fn with_retention(mut self, retention: Option<super::Retention>) -> Self {
        self.retention = retention;
        self
    }

    /// The same log without retention (what retention itself appends with).
    pub(super) fn without_retention(&self) -> Self {
        self.clone().with_retention(None)
    }

    /// Takes the lock that keeps two retention passes of this log apart
    /// (`STEM.jsonl.retention.lock`); appends are not held up by it.
    pub(super) fn retention_lock(&self) -> Result<File, AuditError> {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".retention.lock");
        let path = self.path.with_file_name(name);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io("open lock file", &path))?;
        lock.lock().map_err(io("lock", &path))?;
        Ok(lock)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The chain id, from the first record of the current file (read without the lock:
    /// that record never changes).
    pub fn chain_id(&self) -> Option<String> {
        first_record(&self.path)
            .ok()
            .and_then(|(_, chain_id)| chain_id)
    }

    /// The last complete record of the current file, read without the lock: a concurrent
    /// append may make it stale at once. `None` when there is none or it cannot be read.
    pub fn last(&self) -> Option<Appended> {
        let mut file = File::open(&self.path).ok()?;
        let len = file.metadata().ok()?.len();
        if len == 0 {
            return None;
        }
        let (_, bytes) = last_line(&mut file, len).ok()?;
        let tail = parse_tail(bytes.strip_suffix(b"\n")?)?;
        Some(Appended {
            seq: tail.seq,
            hash: tail.hash,
        })
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Takes the writer lock, creating the directory (0700) and lock file (0600) if needed.
    fn lock(&self) -> Result<File, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io("create directory", dir))?;
        }
        let lock_path = self.lock_path();
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io("open lock file", &lock_path))?;
        lock.lock().map_err(io("lock", &lock_path))?;
        Ok(lock)
    }

    fn open(&self) -> Result<File, AuditError> {
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(io("open", &self.path))
    }

    /// Whether records could be appended now: takes the writer lock and opens the log
    /// (creating what is missing, as the first append would), writing nothing.
    pub fn check_writable(&self) -> Result<(), AuditError> {
        let _lock = self.lock()?;
        self.open().map(drop)
    }

    /// Appends one record with the given event name and fields, durably.
    pub fn append(&self, event: &str, fields: Value) -> Result<Appended, AuditError> {
        self.append_all(&[(event, fields)])
            .map(|mut all| all.remove(0))
    }

    /// Appends one record without waiting for the disk. The record is in the file at once,
    /// for every reader and whatever happens to this process; the next durable append
    /// (or the kernel's own writeback) puts it on the disk. For a record that a durable
    /// one follows in the same run, such as the start of a command before its end.
    pub fn append_unsynced(&self, event: &str, fields: Value) -> Result<Appended, AuditError> {
        self.write_records(&[(event, fields)], false)
            .map(|mut all| all.remove(0))
    }

    /// Appends several records under one lock and one sync.
    pub fn append_all(&self, records: &[(&str, Value)]) -> Result<Vec<Appended>, AuditError> {
        self.write_records(records, true)
    }

    fn write_records(
        &self,
        records: &[(&str, Value)],
        sync: bool,
    ) -> Result<Vec<Appended>, AuditError> {
        let (out, rotated) = self.write_records_locked(records, sync)?;
        if rotated && let Some(retention) = &self.retention {
            // The records are written; a retention that cannot run now runs after the
            // next rotation, or with `gatekeep log prune`.
            if let Err(error) = super::retention::apply(self, retention, super::now()) {
                tracing::warn!(%error, "audit log retention failed");
            }
        }
        Ok(out)
    }

    fn write_records_locked(
        &self,
        records: &[(&str, Value)],
        sync: bool,
    ) -> Result<(Vec<Appended>, bool), AuditError> {
        let _lock = self.lock()?;
        let mut rotated = false;
        let mut file = self.open()?;
        let mut tail = self.prepare(&mut file)?;
        let mut out = Vec::new();
        let mut batch = Vec::new();
        for (event, fields) in records {
            let line = render(tail.seq + 1, event, &tail.hash, fields);
            tail = Tail {
                seq: tail.seq + 1,
                hash: line_hash(line.as_bytes()),
            };
            batch.extend_from_slice(line.as_bytes());
            batch.push(b'\n');
            out.push(Appended {
                seq: tail.seq,
                hash: tail.hash.clone(),
            });
        }
        file.write_all(&batch).map_err(io("write", &self.path))?;
        if sync {
            file.sync_data().map_err(io("sync", &self.path))?;
        }
        if let Some(max) = self.max_bytes {
            let size = file.metadata().map_err(io("stat", &self.path))?.len();
            if size > max {
                self.rotate_locked(&mut file, &tail)?;
                rotated = true;
            }
        }
        Ok((out, rotated))
    }

    /// Closes the current segment and starts a new file; the chain continues.
    pub fn rotate(&self) -> Result<PathBuf, AuditError> {
        let _lock = self.lock()?;
        let mut file = self.open()?;
        let tail = self.prepare(&mut file)?;
        self.rotate_locked(&mut file, &tail)
    }

    fn rotate_locked(&self, file: &mut File, tail: &Tail) -> Result<PathBuf, AuditError> {
        let (first_seq, chain_id) = first_record(&self.path)?;
        let records = tail.seq + 1 - first_seq;
        let close = render(
            tail.seq + 1,
            "segment_close",
            &tail.hash,
            &json!({"records": records + 1, "head": tail.hash}),
        );
        file.write_all(format!("{close}\n").as_bytes())
            .map_err(io("write", &self.path))?;
        file.sync_data().map_err(io("sync", &self.path))?;
        let stem = self
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let segment = self
            .path
            .with_file_name(format!("{stem}.{first_seq}.jsonl"));
        std::fs::rename(&self.path, &segment).map_err(io("rename", &self.path))?;
        let mut next = self.open()?;
        let open = render(
            tail.seq + 2,
            "segment_open",
            &line_hash(close.as_bytes()),
            &json!({"previous": segment.file_name().map(|n| n.to_string_lossy().into_owned()), "chain_id": chain_id}),
        );
        next.write_all(format!("{open}\n").as_bytes())
            .map_err(io("write", &self.path))?;
        next.sync_data().map_err(io("sync", &self.path))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io("sync directory", dir))?;
        }
        Ok(segment)
    }

    /// Finds the chain's tail, repairing a torn last line (by terminating it and recording
    /// it), or opening a new chain in an empty file.
    fn prepare(&self, file: &mut File) -> Result<Tail, AuditError> {
        let len = file.metadata().map_err(io("stat", &self.path))?.len();
        if len == 0 {
            let chain_id = uuid::Uuid::new_v4().to_string();
            let line = render(
                0,
                "chain_open",
                GENESIS,
                &json!({"chain_id": chain_id, "host": self.host, "user": self.user}),
            );
            file.write_all(format!("{line}\n").as_bytes())
                .map_err(io("write", &self.path))?;
            return Ok(Tail {
                seq: 0,
                hash: line_hash(line.as_bytes()),
            });
        }
        let (last_start, bytes) = last_line(file, len).map_err(io("read", &self.path))?;
        if bytes.last() == Some(&b'\n') {
            return parse_tail(&bytes[..bytes.len() - 1]).ok_or_else(|| AuditError::Corrupt {
                path: self.path.clone(),
            });
        }
        // A torn write: the last line has no newline.
        if let Some(tail) = parse_tail(&bytes) {
            // The record itself is whole; only its newline is missing.
            file.write_all(b"\n").map_err(io("write", &self.path))?;
            return Ok(tail);
        }
        let (_, previous) = last_line(file, last_start).map_err(io("read", &self.path))?;
        let complete = previous.strip_suffix(b"\n").unwrap_or(&previous);
        let tail = parse_tail(complete).ok_or_else(|| AuditError::Corrupt {
            path: self.path.clone(),
        })?;
        let recovered = render(
            tail.seq + 1,
            "recovered",
            &tail.hash,
            &json!({"offset": last_start, "length": bytes.len(), "sha256": line_hash(&bytes)}),
        );
        file.write_all(format!("\n{recovered}\n").as_bytes())
            .map_err(io("write", &self.path))?;
        Ok(Tail {
            seq: tail.seq + 1,
            hash: line_hash(recovered.as_bytes()),
        })
    }
}

/// The `seq` and `chain_id` of the first record in the current file.
fn first_record(path: &Path) -> Result<(u64, Option<String>), AuditError> {
    let mut file = File::open(path).map_err(io("open", path))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = file.read(&mut buf).map_err(io("read", path))?;
        head.extend_from_slice(&buf[..n]);
        if n == 0 || head.contains(&b'\n') {
            break;
        }
    }
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    #[derive(serde::Deserialize)]
    struct First {
        seq: u64,
        #[serde(default)]
        chain_id: Option<String>,
    }
    serde_json::from_slice::<First>(line)
        .map(|f| (f.seq, f.chain_id))
        .map_err(|_| AuditError::Corrupt {
            path: path.to_owned(),
        })
}

/// Reads the last line of the first `end` bytes (with its newline if it has one), and where
/// it starts.
fn last_line(file: &mut File, end: u64) -> std::io::Result<(u64, Vec<u8>)> {
    let mut start = end;
    let mut bytes: Vec<u8> = Vec::new();
    const CHUNK: u64 = 8192;
    loop {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&bytes);
        bytes = chunk;
        start = from;
        // Skip the line's own trailing newline when searching for the one before it.
        let search_end = if bytes.last() == Some(&b'\n') {
            bytes.len() - 1
        } else {
            bytes.len()
        };
        if let Some(pos) = bytes[..search_end].iter().rposition(|b| *b == b'\n') {
            let line = bytes.split_off(pos + 1);
            return Ok((start + pos as u64 + 1, line));
        }
        if from == 0 {
            return Ok((0, bytes));
        }
    }
}

fn parse_tail(line: &[u8]) -> Option<Tail> {
    #[derive(serde::Deserialize)]
    struct Head {
        seq: u64,
    }
    let head: Head = serde_json::from_slice(line).ok()?;
    Some(Tail {
        seq: head.seq,
        hash: line_hash(line),
    })
}

/// One record line, stamped now.
fn render(seq: u64, event: &str, prev: &str, fields: &Value) -> String {
    render_at(seq, event, prev, fields, super::now())
}

/// One record line stamped `at`: the four chain fields first, then the event's own fields.
pub fn render_at(seq: u64, event: &str, prev: &str, fields: &Value, at: jiff::Timestamp) -> String {
    // The chain's own fields come first and are never overwritten: a field of the event
    // under one of their names would be lost, so none may have one.
    debug_assert!(
        fields.as_object().is_none_or(|map| {
            !map.keys()
                .any(|k| matches!(k.as_str(), "seq" | "ts" | "event" | "prev"))
        }),
        "the fields of a {event} record use a name the chain reserves: {fields}"
    );
    let ts = at.round(jiff::Unit::Microsecond).unwrap_or(at);
    let mut line = format!(
        "{{\"seq\":{seq},\"ts\":{},\"event\":{},\"prev\":\"{prev}\"",
        Value::String(ts.to_string()),
        Value::String(event.to_owned())
    );
    if let Value::Object(map) = fields {
        let map: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "seq" | "ts" | "event" | "prev"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let body = Value::Object(map).to_string();
        if body.len() > 2 {
            line.push(',');
            line.push_str(&body[1..body.len() - 1]);
        }
    }
    line.push('}');
    line
}
