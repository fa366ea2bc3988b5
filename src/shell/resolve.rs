//! Program resolution: which binary a command name will run, and every name it answers to.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Extra names and paths for a program, beyond the basename of argv[0].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Basenames of the resolved target (symlinks followed) and of hard links to it.
    pub names: Vec<String>,
    /// Absolute paths: PATH-resolved and canonical.
    pub paths: Vec<String>,
}

/// Finds out what a program name refers to on this machine.
pub trait Resolve {
    /// Resolves `program` (argv[0]) with the command's effective `PATH`.
    fn resolve(&self, program: &str, path_var: Option<&str>) -> Resolved;
}

/// Resolves nothing: matching sees argv[0] only. Used for policy tests and in unit tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoResolve;

impl Resolve for NoResolve {
    fn resolve(&self, _program: &str, _path_var: Option<&str>) -> Resolved {
        Resolved::default()
    }
}

/// Resolves through the file system, like `execvp` does.
#[derive(Clone, Debug)]
pub struct PathResolver {
    cwd: PathBuf,
    path: Option<String>,
    /// Program names the policy cares about, to recognise hard links to them.
    watched: Vec<String>,
    /// (device, inode) of each watched program found on PATH, built on first need.
    watched_files: OnceLock<HashMap<(u64, u64), Vec<String>>>,
    /// Where the index of watched files may be cached, and how long the directories must
    /// have been unchanged for it to be (see [`PathResolver::with_cache`]).
    cache: Option<(PathBuf, std::time::Duration)>,
}

impl PathResolver {
    /// A resolver for a process running in `cwd` with `PATH` set to `path`.
    pub fn new(cwd: PathBuf, path: Option<String>, watched: Vec<String>) -> Self {
        Self {
            cwd,
            path,
            watched,
            watched_files: OnceLock::new(),
            cache: None,
        }
    }

    /// Keeps the index of watched files in `dir`, keyed by the watched names and by each
    /// PATH directory's identity and modification times (an entry added, removed or renamed
    /// in a directory changes its times). Only for a policy whose every source the user
    /// controls: the cache is theirs. A directory changed less than `settled` ago may
    /// change again within the same timestamp tick, unseen: its index is not kept.
    pub fn with_cache(mut self, dir: PathBuf, settled: std::time::Duration) -> Self {
        self.cache = Some((dir, settled));
        self
    }

    fn search(&self, program: &str, path_var: Option<&str>) -> Option<PathBuf> {
        if program.contains('/') {
            let candidate = self.cwd.join(program);
            return candidate.is_file().then_some(candidate);
        }
        let path_var = path_var.or(self.path.as_deref())?;
        path_var
            .split(':')
            .map(|dir| {
                if dir.is_empty() {
                    self.cwd.clone()
                } else {
                    self.cwd.join(dir)
                }
            })
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable_file(candidate))
    }

    /// Names in the watched list that are the same file (same device and inode) as `target`.
    fn hard_links(&self, target: &Path) -> Vec<String> {
        let Ok(meta) = target.metadata() else {
            return Vec::new();
        };
        if meta.nlink() < 2 {
            return Vec::new();
        }
        let files = self.watched_files.get_or_init(|| self.index_watched());
        files
            .get(&(meta.dev(), meta.ino()))
            .cloned()
            .unwrap_or_default()
    }

    /// Lists each PATH directory once and records the files behind watched names. Reading
    /// directories costs a few system calls, where looking every name up in every
    /// directory would cost thousands; with a cache, checking the directories' times is
    /// all a run costs until one of them changes, besides looking at the few entries with
    /// watched names. What those entries are (a symbolic link's target may be replaced
    /// without the directory changing) is never cached.
    fn index_watched(&self) -> HashMap<(u64, u64), Vec<String>> {
        let mut seen = HashSet::new();
        let dirs: Vec<(PathBuf, std::fs::Metadata)> = self
            .path
            .as_deref()
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.is_empty())
            .filter_map(|dir| {
                let dir = self.cwd.join(dir);
                let meta = std::fs::metadata(&dir).ok()?;
                seen.insert((meta.dev(), meta.ino())).then_some((dir, meta))
            })
            .collect();
        let Some((cache_dir, settled)) = &self.cache else {
            return identify(&watched_entries(&dirs, &self.watched));
        };
        let mut key = Vec::new();
        let mut watched = self.watched.clone();
        watched.sort();
        for name in &watched {
            key.extend_from_slice(name.as_bytes());
            key.push(0);
        }
        for (dir, meta) in &dirs {
            key.extend_from_slice(dir.as_os_str().as_encoded_bytes());
            key.push(0);
            for n in [
                meta.dev() as i64,
                meta.ino() as i64,
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ctime(),
                meta.ctime_nsec(),
            ] {
                key.extend_from_slice(&n.to_be_bytes());
            }
        }
        let entry = crate::cache::entry(cache_dir, "links", &key);
        if let Some(json) = crate::cache::read(&entry)
            && let Ok(entries) = serde_json::from_slice::<Vec<(PathBuf, String)>>(&json)
        {
            return identify(&entries);
        }
        let entries = watched_entries(&dirs, &self.watched);
        let settled = std::time::SystemTime::now() - *settled;
        let quiet = dirs.iter().all(|(_, meta)| {
            let ctime = std::time::UNIX_EPOCH
                + std::time::Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
            meta.modified().is_ok_and(|m| m < settled) && ctime < settled
        });
        if quiet && let Ok(json) = serde_json::to_vec(&entries) {
            crate::cache::write(&entry, &json);
        }
        identify(&entries)
    }
}

/// The entries of `dirs` with `watched` names: (path, name).
fn watched_entries(
    dirs: &[(PathBuf, std::fs::Metadata)],
    watched: &[String],
) -> Vec<(PathBuf, String)> {
    let watched: HashSet<&str> = watched.iter().map(String::as_str).collect();
    let mut entries = Vec::new();
    for (dir, _) in dirs {
        let Ok(listed) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in listed.flatten() {
            let name = entry.file_name();
            if let Some(name) = name.to_str().filter(|n| watched.contains(n)) {
                entries.push((entry.path(), name.to_owned()));
            }
        }
    }
    entries
}

/// The files behind `entries` (symbolic links followed), by (device, inode).
fn identify(entries: &[(PathBuf, String)]) -> HashMap<(u64, u64), Vec<String>> {
    let mut files: HashMap<(u64, u64), Vec<String>> = HashMap::new();
    for (path, name) in entries {
        if let Ok(meta) = std::fs::metadata(path) {
            let names = files.entry((meta.dev(), meta.ino())).or_default();
            if !names.iter().any(|n| n == name) {
                names.push(name.clone());
            }
        }
    }
    files
}

impl Resolve for PathResolver {
    fn resolve(&self, program: &str, path_var: Option<&str>) -> Resolved {
        let mut resolved = Resolved::default();
        let Some(found) = self.search(program, path_var) else {
            return resolved;
        };
        resolved.paths.push(found.to_string_lossy().into_owned());
        if let Ok(canonical) = found.canonicalize() {
            if canonical != found {
                resolved
                    .paths
                    .push(canonical.to_string_lossy().into_owned());
            }
            if let Some(name) = canonical.file_name() {
                resolved.names.push(name.to_string_lossy().into_owned());
            }
            resolved.names.extend(self.hard_links(&canonical));
        }
        resolved.names.sort();
        resolved.names.dedup();
        resolved
    }
}

fn is_executable_file(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
}
