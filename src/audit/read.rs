//! Reading the log back: its segment files in order, and its records.

use std::collections::{BTreeMap, BTreeSet};
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

/// The files of the log at `path`, oldest first: rotated segments `STEM.N.jsonl` (or
/// `STEM.N.jsonl.gz` once compressed) in order of their first `seq`, then the current file.
/// When a segment exists in both forms (a crash between writing the compressed copy and
/// removing the original), the original is the one read.
pub fn segments(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    Ok(numbered(path)?.into_iter().map(|(_, p)| p).collect())
}

/// The directory of the log at `path` (`.` for a bare name) and its file stem, which its
/// rotated segments' names start with.
pub(super) fn dir_and_stem(path: &Path) -> (&Path, String) {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    (dir, stem)
}

/// [`segments`] with each rotated segment's first `seq` (from its name); `None` for the
/// current file.
pub(super) fn numbered(path: &Path) -> Result<Vec<(Option<u64>, PathBuf)>, AuditError> {
    let (dir, stem) = dir_and_stem(path);
    let mut rotated: Vec<(u64, bool, PathBuf)> = Vec::new();
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
        let Some(rest) = name.strip_prefix(&format!("{stem}.")) else {
            continue;
        };
        let (number, compressed) = match rest.strip_suffix(".jsonl.gz") {
            Some(n) => (n, true),
            None => match rest.strip_suffix(".jsonl") {
                Some(n) => (n, false),
                None => continue,
            },
        };
        if let Ok(number) = number.parse::<u64>() {
            rotated.push((number, compressed, entry.path()));
        }
    }
    rotated.sort();
    rotated.dedup_by_key(|(number, _, _)| *number);
    let rotated = rotated.into_iter().map(|(n, _, p)| (n, p));
    let mut files: Vec<(Option<u64>, PathBuf)> = rotated.map(|(n, p)| (Some(n), p)).collect();
    if path.exists() {
        files.push((None, path.to_owned()));
    }
    Ok(files)
}

/// Whether `file` is a compressed segment (gzip).
pub(super) fn is_compressed(file: &Path) -> bool {
    file.extension().is_some_and(|e| e == "gz")
}

/// The bytes of one segment file, decompressed when it is a compressed segment.
pub(super) fn read_file(file: &Path) -> Result<Vec<u8>, AuditError> {
    let io = |source| AuditError::Io {
        action: "read",
        path: file.to_owned(),
        source,
    };
    let bytes = std::fs::read(file).map_err(io)?;
    if !is_compressed(file) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(bytes.as_slice()),
        &mut out,
    )
    .map_err(io)?;
    Ok(out)
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

/// The hashes of the lines holding the records `seqs`, those the log has, in one pass.
pub fn hashes_at(path: &Path, seqs: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, AuditError> {
    let mut found = BTreeMap::new();
    let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
        return Ok(found);
    };
    each_record_line(path, first, last, |seq, line| {
        if seqs.contains(&seq) {
            found.insert(seq, super::line_hash(line));
        }
        Ok::<_, AuditError>(())
    })?;
    Ok(found)
}

/// Calls `each` with the `seq` and bytes (without the newline) of every record line whose
/// `seq` is in `from..=to`, in order, across segments; segments that end before `from`
/// are not read. Lines that are not records (a recovered torn fragment) are skipped.
pub fn each_record_line<E: From<AuditError>>(
    path: &Path,
    from: u64,
    to: u64,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    // A record as `verify` reads one: a line with only some of these is not a record.
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
        #[serde(rename = "prev")]
        _prev: String,
        #[serde(rename = "event")]
        _event: String,
    }
    let files = numbered(path)?;
    for (index, (_, file)) in files.iter().enumerate() {
        let next_first = files.get(index + 1).and_then(|(n, _)| *n);
        if next_first.is_some_and(|n| n <= from) {
            continue;
        }
        let bytes = read_file(file)?;
        for line in bytes.split(|b| *b == b'\n') {
            let Ok(Seq { seq, .. }) = serde_json::from_slice::<Seq>(line) else {
                continue;
            };
            if seq > to {
                return Ok(());
            }
            if seq >= from {
                each(seq, line)?;
            }
        }
    }
    Ok(())
}

/// The chain id of the log: from the first record of its newest file (`chain_open`, or the
/// `segment_open` that carries it on).
pub fn chain_id(path: &Path) -> Result<Option<String>, AuditError> {
    #[derive(serde::Deserialize)]
    struct First {
        chain_id: String,
    }
    use std::io::BufRead as _;
    for file in segments(path)?.iter().rev() {
        let mut first = Vec::new();
        if is_compressed(file) {
            let bytes = read_file(file)?;
            first = bytes
                .split(|b| *b == b'\n')
                .next()
                .unwrap_or_default()
                .to_vec();
        } else {
            std::fs::File::open(file)
                .map(std::io::BufReader::new)
                .and_then(|mut reader| reader.read_until(b'\n', &mut first))
                .map_err(|source| AuditError::Io {
                    action: "read",
                    path: file.clone(),
                    source,
                })?;
        }
        let first = first.strip_suffix(b"\n").unwrap_or(&first);
        if let Ok(First { chain_id }) = serde_json::from_slice::<First>(first) {
            return Ok(Some(chain_id));
        }
    }
    Ok(None)
}
