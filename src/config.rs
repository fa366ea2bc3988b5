//! The client configuration file (`config.yaml`): see docs/config.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::UserError;

/// Client settings. Every key is optional; unknown keys are errors.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Base URL of the approval service; a list (or commas) for replicas tried in turn.
    #[serde(default, deserialize_with = "one_or_many")]
    pub server: Option<String>,
    /// Audit log path (overridden by `GATEKEEP_LOG` and `--log`).
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// Rotate the audit log when it grows past this many bytes.
    #[serde(default)]
    pub log_max_bytes: Option<u64>,
    /// Extra regular expressions whose matches are redacted from logs and requests.
    #[serde(default)]
    pub redact: Vec<String>,
    /// How long `gatekeep hook` waits for a decision (e.g. `50s`).
    #[serde(default)]
    pub hook_wait: Option<String>,
    /// Remove every variable a rule releases as a secret from what commands inherit
    /// (default true): a command only ever gets such a variable from gatekeep.
    #[serde(default)]
    pub strip_secret_env: Option<bool>,
    /// Which runs are supervised while running (default: agents').
    #[serde(default)]
    pub supervise: Supervise,
    /// How long descendants may outlive a supervised command before they are killed
    /// (default 5s).
    #[serde(default)]
    pub supervise_linger: Option<String>,
    /// Refuse to run a command that should be supervised where supervision cannot start,
    /// instead of running it with a warning.
    #[serde(default)]
    pub require_supervision: bool,
    /// With a service configured, `run` witnesses the log in the background after this
    /// many new records (default 100; 0: not by count)...
    #[serde(default)]
    pub witness_records: Option<u64>,
    /// ...or once this long has passed since the last witness, whichever comes first
    /// (default `10m`; `off`: not by time).
    #[serde(default)]
    pub witness_interval: Option<String>,
    /// What to keep of the audit log's closed segments, and whether to compress them.
    #[serde(default)]
    pub retention: Option<RetentionConfig>,
}

/// `retention:` (docs/config.md): keep closed segments by age or by size, never removing
/// one younger than `min_days`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Remove closed segments whose last record is older than this many days.
    #[serde(default)]
    pub keep_days: Option<u64>,
    /// Remove the oldest closed segments while they take more than this (bytes, or a size
    /// such as `10GB`, `512MiB`).
    #[serde(default)]
    pub keep_bytes: Option<Size>,
    /// Never remove anything younger than this many days (default 90).
    #[serde(default)]
    pub min_days: Option<u64>,
    /// Compress closed segments with gzip (default false).
    #[serde(default)]
    pub compress: bool,
}

/// A size: a number of bytes, or a number with a unit (`KB`, `MB`, `GB`, `TB` by 1000;
/// `KiB`, `MiB`, `GiB`, `TiB` by 1024).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    pub fn bytes(&self) -> Result<u64, String> {
        let text = match self {
            Size::Bytes(n) => return Ok(*n),
            Size::Text(text) => text.trim(),
        };
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let number: u64 = number
            .parse()
            .map_err(|_| format!("invalid size `{text}` (examples: 500MB, 10GB, 1GiB)"))?;
        let factor: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" => 1000,
            "MB" => 1000u64.pow(2),
            "GB" => 1000u64.pow(3),
            "TB" => 1000u64.pow(4),
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            _ => {
                return Err(format!(
                    "invalid size `{text}` (examples: 500MB, 10GB, 1GiB)"
                ));
            }
        };
        number
            .checked_mul(factor)
            .ok_or_else(|| format!("size `{text}` is too large"))
    }
}

impl RetentionConfig {
    /// The retention in force, or why the settings are not valid: a `keep_days` below the
    /// minimum age, nothing to keep by, a size that does not parse.
    pub fn retention(&self) -> Result<crate::audit::Retention, String> {
        let min_days = self.min_days.unwrap_or(crate::audit::DEFAULT_MIN_DAYS);
        if let Some(keep) = self.keep_days
            && keep < min_days
        {
            return Err(format!(
                "keep_days {keep} is below min_days {min_days}; nothing younger than min_days is removed"
            ));
        }
        let keep_bytes = self.keep_bytes.as_ref().map(Size::bytes).transpose()?;
        Ok(crate::audit::Retention {
            keep_days: self.keep_days,
            keep_bytes,
            min_days,
            compress: self.compress,
        })
    }
}

impl Config {
    /// How long an agent waits for a reviewer (`hook_wait`, default 50 s): the hook's
    /// wait, and how long a supervised agent's program is held.
    pub fn hook_wait(&self) -> std::time::Duration {
        duration_or(self.hook_wait.as_deref(), 50)
    }

    /// How long descendants may outlive a supervised command (`supervise_linger`, 5 s).
    pub fn supervise_linger(&self) -> std::time::Duration {
        duration_or(self.supervise_linger.as_deref(), 5)
    }
}

/// A duration setting (validated when the file was loaded), or its default in seconds.
fn duration_or(text: Option<&str>, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(
        text.and_then(|t| crate::policy::parse_duration(t).ok())
            .unwrap_or(default),
    )
}

impl Supervise {
    /// Whether a run by this caller is supervised.
    pub fn applies(self, agent: bool) -> bool {
        match self {
            Supervise::Always => true,
            Supervise::Agents => agent,
            Supervise::Never => false,
        }
    }
}

/// Which `gatekeep run`s watch every program their command starts.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Supervise {
    Always,
    #[default]
    Agents,
    Never,
}

/// `witness_interval`: seconds, or `None` for `off`.
pub fn witness_interval(text: &str) -> Result<Option<u64>, String> {
    if text.trim() == "off" {
        return Ok(None);
    }
    crate::policy::parse_duration(text).map(Some)
}

impl Config {
    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, UserError> {
        let text = match crate::files::read_regular_text(path, crate::files::CONFIG_FILE_LIMIT) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(
                    UserError::new(format!("cannot read {}: {e}", path.display()))
                        .hint("fix the file's permissions or point GATEKEEP_CONFIG elsewhere")
                        .kind("config_invalid"),
                );
            }
        };
        let config: Config = serde_saphyr::from_str(&text).map_err(|e| {
            let (line, column, message) = crate::yaml::error_parts(&e);
            let at = if line == 0 {
                String::new()
            } else {
                format!(":{line}:{column}")
            };
            UserError::new(format!("{}{at}: {message}", path.display()))
                .hint("see docs/config.md for the keys")
                .kind("config_invalid")
        })?;
        for pattern in &config.redact {
            crate::policy::build_regex(pattern).map_err(|e| {
                UserError::new(format!(
                    "{}: invalid redact pattern `{pattern}`: {}",
                    path.display(),
                    e.to_string().lines().last().unwrap_or_default().trim()
                ))
                .hint("redact entries are regular expressions")
                .kind("config_invalid")
            })?;
        }
        for (key, value) in [
            ("hook_wait", &config.hook_wait),
            ("supervise_linger", &config.supervise_linger),
        ] {
            if let Some(text) = value {
                crate::policy::parse_duration(text).map_err(|m| {
                    UserError::new(format!("{}: {key}: {m}", path.display())).kind("config_invalid")
                })?;
            }
        }
        if let Some(interval) = &config.witness_interval {
            witness_interval(interval).map_err(|m| {
                UserError::new(format!("{}: witness_interval: {m}", path.display()))
                    .hint("a duration such as 10m, or off")
                    .kind("config_invalid")
            })?;
        }
        if let Some(retention) = &config.retention {
            retention.retention().map_err(|m| {
                UserError::new(format!("{}: retention: {m}", path.display()))
                    .hint("see docs/config.md: keep_days, keep_bytes, min_days, compress")
                    .kind("config_invalid")
            })?;
        }
        Ok(config)
    }

    /// The audit log retention in force (`retention:`, validated when loaded).
    pub fn retention(&self) -> Option<crate::audit::Retention> {
        self.retention.as_ref().and_then(|r| r.retention().ok())
    }
}

/// A string, or a list of strings joined with commas.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => s,
        OneOrMany::Many(list) => list.join(","),
    }))
}
