//! Where policy text comes from: the library built into the binary, the administrator's
//! and the user's files, and the project's (`.gatekeep/policies/` at the root of the
//! repository a command runs in); the compiled-policy cache.

use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use super::Layer;
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
            text: crate::files::read_regular_text(path, crate::files::CONFIG_FILE_LIMIT)?,
        })
    };
    if !path.is_dir() {
        return Ok(vec![read(path)?]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<_>>()?;
    files.retain(|f| is_policy_file(f) && !f.is_dir());
    files.sort();
    files
        .iter()
        .map(|f| read(f).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", f.display()))))
        .collect()
}

/// Whether a directory's entry is a policy file: `*.yaml` or `*.yml`, in any case (a
/// `TEAM.YAML` skipped without a word would be a hold silently missing).
fn is_policy_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Where a project keeps its policy files, from the repository's root.
pub const PROJECT_DIR: &str = ".gatekeep/policies";

/// The largest project policy file read; a larger one is refused.
const PROJECT_FILE_LIMIT: u64 = 256 * 1024;

/// The most project policy files read; more are refused.
const PROJECT_FILES_LIMIT: usize = 64;

/// The files of one layer.
#[derive(Clone, Debug)]
pub struct LayerSources {
    pub layer: Layer,
    /// Where the files were found: a directory, `--policy`, `GATEKEEP_POLICY`, the binary.
    pub origin: String,
    pub sources: Vec<Source>,
}

/// The policy sources in force, layer by layer, in the order they are listed.
#[derive(Clone, Debug, Default)]
pub struct SourceSet {
    pub layers: Vec<LayerSources>,
}

impl SourceSet {
    /// One set of files standing alone (no library, no layers): `policy test PATH…`.
    pub fn single(origin: impl Into<String>, sources: Vec<Source>) -> SourceSet {
        SourceSet {
            layers: vec![LayerSources {
                layer: Layer::User,
                origin: origin.into(),
                sources,
            }],
        }
    }

    /// The files of `layer`, if that layer has any.
    pub fn layer(&self, layer: Layer) -> Option<&LayerSources> {
        self.layers
            .iter()
            .find(|l| l.layer == layer && !l.sources.is_empty())
    }

    /// Whether an administrator's file is in force.
    pub fn has_admin(&self) -> bool {
        self.layer(Layer::Admin).is_some()
    }

    /// Every file with its layer.
    pub fn files(&self) -> Vec<(Layer, &Source)> {
        self.layers
            .iter()
            .flat_map(|l| l.sources.iter().map(move |s| (l.layer, s)))
            .collect()
    }

    /// Loads and compiles every layer; problems become one error with a hint.
    pub fn load(&self) -> Result<super::Policy, UserError> {
        super::Policy::load_layers(&self.files()).map_err(|error| {
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
    /// their own policy files (which may drop the library's rules); the administrator's
    /// rules must never come from it. An entry is found by the SHA-256 of gatekeep's
    /// version and every source's layer, origin and text, so a changed file (of any layer)
    /// is a miss; an entry that does not read back (damaged, or from another build) is
    /// ignored and rewritten.
    pub fn load_cached(&self, cache_dir: &Path) -> Result<super::Policy, UserError> {
        if self.has_admin() {
            return self.load();
        }
        let mut key = Vec::new();
        key.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
        // The compiled form's own version: raised whenever its layout or meaning changes.
        key.extend_from_slice(b"\0layers\0form 3");
        for (layer, source) in self.files() {
            key.push(0);
            key.extend_from_slice(layer.as_str().as_bytes());
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
}

impl SourceSet {
    /// Finds the sources in force for a command that runs in `cwd`: the built-in library;
    /// the administrator's directory when it exists; the `--policy` paths, else
    /// `GATEKEEP_POLICY`, else the user's directory when it exists; the project's
    /// directory of the repository holding `cwd`, when there is one.
    pub fn discover(
        paths: &Paths,
        env: &Environment,
        explicit: &[PathBuf],
        cwd: &Path,
    ) -> Result<SourceSet, UserError> {
        let read = |path: &Path| {
            read_path(path).map_err(|e| {
                UserError::new(format!("cannot read policy {}: {e}", path.display()))
                    .hint("check the path given with --policy or GATEKEEP_POLICY")
                    .kind("policy_invalid")
            })
        };
        let mut layers = vec![LayerSources {
            layer: Layer::Builtin,
            origin: "built-in library".to_owned(),
            sources: embedded_sources(),
        }];
        if paths.admin_policies.exists() {
            layers.push(LayerSources {
                layer: Layer::Admin,
                origin: paths.admin_policies.display().to_string(),
                sources: read(&paths.admin_policies)?,
            });
        }
        let from_env: Vec<PathBuf> = env
            .get(env_vars::GATEKEEP_POLICY)
            .map(|v| {
                v.split(':')
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        let user = if !explicit.is_empty() {
            Some((explicit.to_vec(), "--policy".to_owned()))
        } else if !from_env.is_empty() {
            Some((from_env, env_vars::GATEKEEP_POLICY.to_owned()))
        } else if paths.user_policies.is_dir() {
            Some((
                vec![paths.user_policies.clone()],
                paths.user_policies.display().to_string(),
            ))
        } else {
            None
        };
        if let Some((chosen, origin)) = user {
            let mut sources = Vec::new();
            for path in &chosen {
                sources.extend(read(path)?);
            }
            layers.push(LayerSources {
                layer: Layer::User,
                origin,
                sources,
            });
        }
        if let Some(root) = project_root(cwd) {
            let dir = root.join(PROJECT_DIR);
            let sources = read_project(&root)?;
            if !sources.is_empty() {
                layers.push(LayerSources {
                    layer: Layer::Project,
                    origin: dir.display().to_string(),
                    sources,
                });
            }
        }
        Ok(SourceSet { layers })
    }
}

/// The repository `cwd` is in: the nearest directory, from `cwd` up, holding `.git` (a
/// directory, or the file of a worktree or submodule). Nothing above it is looked at.
pub fn project_root(cwd: &Path) -> Option<PathBuf> {
    if !cwd.is_absolute() {
        return None;
    }
    cwd.ancestors()
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())
        .map(Path::to_path_buf)
}

/// The `*.yaml`/`*.yml` files of `ROOT/.gatekeep/policies/`, in name order. The agent a
/// project policy judges can write here, so nothing in the way may be a symbolic link
/// (which could make other files read as the project's), a file must be a regular one
/// (a FIFO would block), and size and number are bounded. Each is an error, not a file
/// skipped: a repository's holds are never silently dropped.
pub fn read_project(root: &Path) -> Result<Vec<Source>, UserError> {
    let refuse = |path: &Path, why: String| {
        UserError::new(format!("cannot read project policy {}: {why}", path.display()))
            .hint(format!(
                "project policies are regular files in {PROJECT_DIR}/ at the repository's root; fix or remove it"
            ))
            .kind("policy_invalid")
    };
    let dot = root.join(".gatekeep");
    let dir = root.join(PROJECT_DIR);
    for path in [&dot, &dir] {
        match path.symlink_metadata() {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(refuse(path, e.to_string())),
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(path, "it is a symbolic link".to_owned()));
            }
            Ok(m) if !m.is_dir() => return Err(refuse(path, "it is not a directory".to_owned())),
            Ok(_) => {}
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.map(|e| e.path()))
                .collect::<io::Result<_>>()
        })
        .map_err(|e| refuse(&dir, e.to_string()))?;
    files.retain(|f| is_policy_file(f));
    files.sort();
    if files.len() > PROJECT_FILES_LIMIT {
        return Err(refuse(
            &dir,
            format!(
                "{} files (at most {PROJECT_FILES_LIMIT} are read)",
                files.len()
            ),
        ));
    }
    let mut sources = Vec::new();
    for path in files {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    refuse(&path, "it is a symbolic link".to_owned())
                } else {
                    refuse(&path, e.to_string())
                }
            })?;
        let meta = file.metadata().map_err(|e| refuse(&path, e.to_string()))?;
        if meta.is_dir() {
            continue;
        }
        if !meta.is_file() {
            return Err(refuse(&path, "it is not a regular file".to_owned()));
        }
        let mut bytes = Vec::new();
        file.take(PROJECT_FILE_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| refuse(&path, e.to_string()))?;
        if bytes.len() as u64 > PROJECT_FILE_LIMIT {
            return Err(refuse(
                &path,
                format!("larger than {} KiB", PROJECT_FILE_LIMIT / 1024),
            ));
        }
        let text = String::from_utf8(bytes)
            .map_err(|_| refuse(&path, "it is not UTF-8 text".to_owned()))?;
        sources.push(Source {
            origin: path.display().to_string(),
            text,
        });
    }
    Ok(sources)
}
