//! Entries of gatekeep's cache directory: results that are costly to compute and cheap to
//! check, such as compiled policies and the index of hard links to gated programs. The
//! cache only saves time: an entry that is missing, damaged or does not match its digest
//! is a miss, and a failed write is ignored.
//!
//! An entry is one line with the SHA-256 of the rest, then the JSON. The cache belongs to
//! the user, so nothing whose source the user could not change may come from it.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Keep at most this many entries of one kind (one file-name prefix).
const KEEP: usize = 16;

/// The entry `name` of kind `prefix` (`prefix-KEY.json`) in `dir`.
pub fn entry(dir: &Path, prefix: &str, key: &[u8]) -> PathBuf {
    dir.join(format!(
        "{prefix}-{}.json",
        hex::encode(Sha256::digest(key))
    ))
}

/// The JSON of the entry at `path`, when it reads back as it was written.
pub fn read(path: &Path) -> Option<Vec<u8>> {
    // Only a regular file, read without blocking and to a bound: the cache is the user's
    // to write, and a FIFO or a huge file there must not stall or flood a decision.
    let mut bytes = crate::files::read_regular(path, 64 << 20).ok()?;
    let at = bytes.iter().position(|b| *b == b'\n')?;
    let matches = bytes[..at] == *hex::encode(Sha256::digest(&bytes[at + 1..])).as_bytes();
    matches.then(|| {
        bytes.drain(..=at);
        bytes
    })
}

/// Writes the entry at `path` with its digest line, atomically (mode 0600), or not at
/// all, then removes the oldest entries of its kind beyond the newest few.
pub fn write(path: &Path, json: &[u8]) {
    let mut bytes = hex::encode(Sha256::digest(json)).into_bytes();
    bytes.push(b'\n');
    bytes.extend_from_slice(json);
    write_raw(path, &bytes);
}

/// As [`write`], for an entry that carries its own digests.
pub fn write_raw(path: &Path, bytes: &[u8]) {
    use std::io::Write as _;
    use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
    let Some(dir) = path.parent() else { return };
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes));
    if written.is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
        return;
    }
    let Some(prefix) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('-'))
        .map(|(prefix, _)| format!("{prefix}-"))
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut cached: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".json")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if cached.len() > KEEP {
        cached.sort();
        for (_, old) in &cached[..cached.len() - KEEP] {
            let _ = std::fs::remove_file(old);
        }
    }
}
