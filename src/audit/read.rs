//! Reading the log back: its segment files in order, and its records.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::AuditError;

/// One record as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub value: Value,
}

impl Record {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.value.get(key).and_then(Value::as_str)
    }

    pub fn seq(&self) -> Option<u64> {
        self.value.get("seq").and_then(Value::as_u64)
    }

    pub fn event(&self) -> &str {
        self.str("event").unwrap_or_default()
    }
}

/// The files of the log at `path`, oldest first: rotated segments `STEM.N.jsonl` in order of
/// their first `seq`, then the current file.
pub fn segments(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let mut rotated: Vec<(u64, PathBuf)> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(AuditError::Io {
                action: "list",
                path: dir.to_owned(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let number = name
            .strip_prefix(&format!("{stem}."))
            .and_then(|rest| rest.strip_suffix(".jsonl"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(number) = number {
            rotated.push((number, entry.path()));
        }
    }
    rotated.sort();
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    if path.exists() {
        files.push(path.to_owned());
    }
    Ok(files)
}

fn read_file(file: &Path) -> Result<Vec<u8>, AuditError> {
    std::fs::read(file).map_err(|source| AuditError::Io {
        action: "read",
        path: file.to_owned(),
        source,
    })
}

/// Every parseable record of every segment, in order.
pub fn read_all(path: &Path) -> Result<Vec<Record>, AuditError> {
    let mut records = Vec::new();
    for file in segments(path)? {
        let bytes = read_file(&file)?;
        records.extend(
            bytes
                .split(|b| *b == b'\n')
                .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
                .filter(Value::is_object)
                .map(|value| Record { value }),
        );
    }
    Ok(records)
}

/// The hash of the line holding record `seq`, if the log has it.
pub fn hash_of(path: &Path, seq: u64) -> Result<Option<String>, AuditError> {
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
    }
    for file in segments(path)? {
        let bytes = read_file(&file)?;
        for line in bytes.split(|b| *b == b'\n') {
            if serde_json::from_slice::<Seq>(line).is_ok_and(|s| s.seq == seq) {
                return Ok(Some(super::line_hash(line)));
            }
        }
    }
    Ok(None)
}

/// The chain id of the log (from its `chain_open` or latest `segment_open` record).
pub fn chain_id(path: &Path) -> Result<Option<String>, AuditError> {
    Ok(read_all(path)?
        .iter()
        .rev()
        .find_map(|r| r.str("chain_id").map(str::to_owned)))
}
