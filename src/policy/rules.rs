//! The rules of a loaded policy, and the compiled-policy cache format. A policy read back
//! from the cache reads each rule from the entry only when a command needs it: a run
//! parses the few rules its programs have, not the hundreds of the library.
//!
//! A cache entry is the SHA-256 of its second line, then that line (the policy without its
//! rules, and each rule's identifier, length and digest), then one line of JSON per rule.
//! A rule that no longer reads back as written is damaged: commands it concerns are
//! denied, naming the entry (see [`Rules::get`]).

use std::fs::File;
use std::io::Read as _;
use std::os::unix::fs::FileExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

use super::compile::{Policy, Rule};

/// Rules in load order, each read and parsed on first use.
#[derive(Debug, Default)]
pub struct Rules {
    ids: Vec<String>,
    parsed: Vec<OnceLock<Option<Rule>>>,
    /// Where cached rules are read from; `None` when they were compiled in this process.
    entry: Option<Entry>,
}

/// An open cache entry and where each rule's line is in it.
#[derive(Debug)]
struct Entry {
    path: PathBuf,
    file: File,
    /// (offset, length, digest) of each rule's line.
    lines: Vec<(u64, usize, String)>,
}

/// How much of a rule's SHA-256 the entry keeps (hex digits): it detects damage; whoever
/// could forge an entry could as well write the policy it comes from.
const RULE_DIGEST: usize = 16;

impl Rules {
    pub(super) fn new(rules: Vec<Rule>) -> Rules {
        Rules {
            ids: rules.iter().map(|r| r.id.clone()).collect(),
            parsed: rules
                .into_iter()
                .map(|rule| OnceLock::from(Some(rule)))
                .collect(),
            entry: None,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Rule `index`, or `None` when its cached line no longer reads back as written.
    pub fn get(&self, index: usize) -> Option<&Rule> {
        self.parsed[index]
            .get_or_init(|| {
                let entry = self.entry.as_ref()?;
                let (offset, length, digest) = &entry.lines[index];
                let mut line = vec![0; *length];
                entry.file.read_exact_at(&mut line, *offset).ok()?;
                if short_digest(&line) != *digest {
                    return None;
                }
                serde_json::from_slice(&line).ok()
            })
            .as_ref()
    }

    /// Where a damaged rule was to be read from.
    pub fn entry_path(&self) -> Option<&Path> {
        self.entry.as_ref().map(|e| e.path.as_path())
    }

    /// The rule called `id`.
    pub fn find(&self, id: &str) -> Option<&Rule> {
        self.ids
            .iter()
            .position(|i| i == id)
            .and_then(|i| self.get(i))
    }

    /// The rule identifiers, in load order, without reading any rule.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// Every rule that reads back, in load order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        (0..self.len()).filter_map(|i| self.get(i))
    }
}

fn short_digest(bytes: &[u8]) -> String {
    let mut digest = hex::encode(Sha256::digest(bytes));
    digest.truncate(RULE_DIGEST);
    digest
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header<P> {
    policy: P,
    /// (identifier, length, digest) of each rule's line, in order.
    rules: Vec<(String, usize, String)>,
}

impl Policy {
    /// The policy as a cache entry.
    pub fn to_cache(&self) -> serde_json::Result<Vec<u8>> {
        let mut lines = Vec::new();
        let mut rules = Vec::new();
        for (id, rule) in self.rules.ids().iter().zip(self.rules.iter()) {
            let line = serde_json::to_vec(rule)?;
            rules.push((id.clone(), line.len(), short_digest(&line)));
            lines.push(line);
        }
        let header = serde_json::to_vec(&Header {
            policy: self,
            rules,
        })?;
        let mut out = hex::encode(Sha256::digest(&header)).into_bytes();
        out.push(b'\n');
        out.extend_from_slice(&header);
        for line in lines {
            out.push(b'\n');
            out.extend_from_slice(&line);
        }
        Ok(out)
    }

    /// The policy in the cache entry at `path`, when its header reads back as written;
    /// rules are read when needed.
    pub fn from_cache(path: &Path) -> Option<Policy> {
        // The entry sits where the user, or an agent, can write: only a regular file is
        // read (a FIFO would block), and nothing it says reaches past its end.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(path)
            .ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let size = meta.len();
        // The header is at the start: read a first block, more only if it is longer.
        let mut text = vec![0; 64 * 1024];
        let mut filled = 0;
        let header_end = loop {
            let newlines: Vec<usize> = text[..filled]
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(at, _)| at)
                .take(2)
                .collect();
            if let [_, second] = newlines[..] {
                break second;
            }
            if filled == text.len() {
                if text.len() as u64 > size {
                    return None;
                }
                text.resize(text.len() * 2, 0);
            }
            match file.read(&mut text[filled..]).ok()? {
                0 if newlines.len() == 1 => break filled,
                0 => return None,
                read => filled += read,
            }
        };
        let first = text.iter().position(|b| *b == b'\n')?;
        let (digest, header) = (&text[..first], &text[first + 1..header_end]);
        if digest != hex::encode(Sha256::digest(header)).as_bytes() {
            return None;
        }
        let Header::<Policy> {
            mut policy,
            rules: listed,
        } = serde_json::from_slice(header).ok()?;
        let mut offset = header_end as u64 + 1;
        let mut lines = Vec::with_capacity(listed.len());
        let mut ids = Vec::with_capacity(listed.len());
        for (id, length, digest) in listed {
            let end = offset.checked_add(u64::try_from(length).ok()?)?;
            if end > size {
                return None;
            }
            lines.push((offset, length, digest));
            offset = end.checked_add(1)?;
            ids.push(id);
        }
        policy.rules = Rules {
            parsed: ids.iter().map(|_| OnceLock::new()).collect(),
            ids,
            entry: Some(Entry {
                path: path.to_owned(),
                file,
                lines,
            }),
        };
        Some(policy)
    }
}
