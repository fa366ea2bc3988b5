//! Where policy text comes from: files, directories, and the library built into the binary.

use std::io;
use std::path::{Path, PathBuf};

use crate::env_vars;
use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;

/// The policy text of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file's path, or `builtin:NAME` for the embedded library.
    pub origin: String,
    pub text: String,
}

/// `(file name, contents)` of every shipped policy file.
const EMBEDDED: &[(&str, &str)] = &include!(concat!(env!("OUT_DIR"), "/embedded_policies.rs"));

/// The embedded default library (the `policies/` folder at build time).
pub fn embedded_sources() -> Vec<Source> {
    EMBEDDED
        .iter()
        .map(|(name, text)| Source {
            origin: format!("builtin:{name}"),
            text: (*text).to_owned(),
        })
        .collect()
}

/// Reads a policy file, or every `*.yaml`/`*.yml` file of a directory in name order.
pub fn read_path(path: &Path) -> io::Result<Vec<Source>> {
    let read = |path: &Path| -> io::Result<Source> {
        Ok(Source {
            origin: path.display().to_string(),
            text: std::fs::read_to_string(path)?,
        })
    };
    if !path.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    files.retain(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml") && !f.is_dir());
    files.sort();
    files.iter().map(|f| read(f)).collect()
}

/// The policy sources in force, and where each group came from.
#[derive(Clone, Debug, Default)]
pub struct SourceSet {
    /// From the administrator's directory; always applied.
    pub admin: Vec<Source>,
    /// From `--policy`, `GATEKEEP_POLICY`, the user's config directory, or the embedded library.
    pub user: Vec<Source>,
    /// Where `user` came from, for `policy list`.
    pub user_origin: String,
}

impl SourceSet {
    /// Loads and compiles every source; problems become one error with a hint.
    pub fn load(&self) -> Result<super::Policy, UserError> {
        super::Policy::load(&self.all()).map_err(|error| {
            let extra = error.problems.len().saturating_sub(1);
            let more = if extra > 0 {
                format!(" (and {extra} more)")
            } else {
                String::new()
            };
            UserError::new(format!("invalid policy: {error}{more}"))
                .hint("run `gatekeep policy lint` to list every problem; nothing was run")
                .kind("policy_invalid")
        })
    }

    /// As [`SourceSet::load`], through a cache of compiled policies in `cache_dir`: parsing
    /// YAML is most of what loading costs.
    ///
    /// Only policies without administrator sources are cached. The cache sits where the
    /// user can write, and what the user can write there they could as well write into
    /// their own policy files (which replace the library); the administrator's rules must
    /// never come from it. An entry is found by the SHA-256 of gatekeep's version and every
    /// source's origin and text, so a changed file is a miss; an entry that does not read
    /// back (damaged, or from another build) is ignored and rewritten.
    pub fn load_cached(&self, cache_dir: &Path) -> Result<super::Policy, UserError> {
        if !self.admin.is_empty() {
            return self.load();
        }
        let mut key = Vec::new();
        key.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        for source in &self.user {
            key.push(0);
            key.extend_from_slice(source.origin.as_bytes());
            key.push(0);
            key.extend_from_slice(&(source.text.len() as u64).to_be_bytes());
            key.extend_from_slice(source.text.as_bytes());
        }
        let path = crate::cache::entry(cache_dir, "policy", &key);
        if let Some(policy) = super::Policy::from_cache(&path) {
            return Ok(policy);
        }
        let policy = self.load()?;
        if let Ok(entry) = policy.to_cache() {
            crate::cache::write_raw(&path, &entry);
        }
        Ok(policy)
    }

    /// All sources, administrator's first.
    pub fn all(&self) -> Vec<super::Source> {
        self.admin.iter().chain(&self.user).cloned().collect()
    }
}

impl SourceSet {
    /// Finds the sources in force: the administrator's directory when it exists, then
    /// `--policy` paths, else `GATEKEEP_POLICY`, else the user's directory when it exists,
    /// else the embedded library.
    pub fn discover(
        paths: &Paths,
        env: &Environment,
        explicit: &[PathBuf],
    ) -> Result<SourceSet, UserError> {
        let read = |path: &Path| {
            read_path(path).map_err(|e| {
                UserError::new(format!("cannot read policy {}: {e}", path.display()))
                    .hint("check the path given with --policy or GATEKEEP_POLICY")
                    .kind("policy_invalid")
            })
        };
        let admin = if paths.admin_policies.exists() {
            read(&paths.admin_policies)?
        } else {
            Vec::new()
        };
        let from_env: Vec<PathBuf> = env
            .get(env_vars::GATEKEEP_POLICY)
            .map(|v| {
                v.split(':')
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let (chosen, user_origin) = if !explicit.is_empty() {
            (explicit.to_vec(), "--policy".to_owned())
        } else if !from_env.is_empty() {
            (from_env, env_vars::GATEKEEP_POLICY.to_owned())
        } else if paths.user_policies.is_dir() {
            (
                vec![paths.user_policies.clone()],
                paths.user_policies.display().to_string(),
            )
        } else {
            return Ok(SourceSet {
                admin,
                user: embedded_sources(),
                user_origin: "built-in library".to_owned(),
            });
        };
        let mut user = Vec::new();
        for path in &chosen {
            user.extend(read(path)?);
        }
        Ok(SourceSet {
            admin,
            user,
            user_origin,
        })
    }
}
