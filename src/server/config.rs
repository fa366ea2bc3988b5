//! The service configuration file (`server.yaml`) and the identities it declares.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::exit::UserError;
use crate::policy::parse_duration;

/// One user of the service.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    /// SHA-256 of the user's token, lowercase hex. The token itself is never stored.
    pub token_sha256: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Whether this user may review requests (default true). Give agents `false`.
    #[serde(default = "yes")]
    pub can_review: bool,
    /// This identity is an AI agent: its requests are treated as an agent's, whatever they
    /// claim.
    #[serde(default)]
    pub agent: bool,
    /// An auditor reads every request and the service's audit log export, and reviews
    /// nothing, whatever else its entry says.
    #[serde(default)]
    pub auditor: bool,
    #[serde(default)]
    pub slack_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

fn yes() -> bool {
    true
}

/// TLS certificate chain and private key, PEM files.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Limits on requests.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RequestLimits {
    #[serde(default = "default_ttl")]
    pub default_ttl: String,
    #[serde(default = "max_ttl")]
    pub max_ttl: String,
    #[serde(default = "default_ttl")]
    pub grant_lifetime: String,
    /// Long-polls one identity may hold on one replica at once; more are answered 429.
    #[serde(default = "max_waits_per_user")]
    pub max_waits_per_user: usize,
    /// The longest window any approval may open, whatever a rule allows.
    #[serde(default = "max_window")]
    pub max_window: String,
    /// How often the approvers of a waiting request are reminded (`off`: never).
    #[serde(default = "remind_every")]
    pub remind_every: String,
}

fn max_window() -> String {
    "8h".to_owned()
}

fn remind_every() -> String {
    "off".to_owned()
}

fn max_waits_per_user() -> usize {
    256
}

fn default_ttl() -> String {
    "15m".to_owned()
}

fn max_ttl() -> String {
    "24h".to_owned()
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            default_ttl: default_ttl(),
            max_ttl: max_ttl(),
            grant_lifetime: default_ttl(),
            max_waits_per_user: max_waits_per_user(),
            max_window: max_window(),
            remind_every: remind_every(),
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// A SQLite file (default: `gatekeep.db` in the data directory) or a `postgres://`
    /// URL shared by every replica.
    #[serde(default)]
    pub database: Option<String>,
    /// The Ed25519 signing key file (`gatekeep keygen PATH`); required with PostgreSQL,
    /// where every replica must sign with the same key.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// This replica's name in its audit log and its outbox leases (default: the host name).
    #[serde(default)]
    pub replica: Option<String>,
    /// The base URL people use to reach the service (for review links).
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub requests: RequestLimits,
    #[serde(default)]
    pub deliveries: DeliveryLimits,
    #[serde(default)]
    pub connections: ConnectionLimits,
    #[serde(default)]
    pub users: Vec<User>,
    /// Receivers of signed JSON events.
    #[serde(default)]
    pub webhooks: Vec<super::webhooks::Webhook>,
    /// Slack app: messages with buttons, updated in place.
    #[serde(default)]
    pub slack: Option<super::channels::SlackConfig>,
    /// Microsoft Teams: Adaptive Cards through incoming webhooks.
    #[serde(default)]
    pub teams: Option<super::channels::TeamsConfig>,
    /// Named secrets released with grants (`from: server` in policies).
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, SecretConfig>,
    /// The service's own policy files or directories: the bar every request must meet,
    /// whatever the requester's policy says.
    #[serde(default)]
    pub policies: Vec<PathBuf>,
    /// How long the service keeps its audit records and finished requests.
    #[serde(default)]
    pub retention: Option<RetentionConfig>,
}

/// `retention:` of the service (docs/server.md): remove audit records and finished
/// requests older than `keep_days`, never anything younger than `min_days`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub keep_days: u64,
    /// Never remove anything younger than this many days (default 90).
    #[serde(default)]
    pub min_days: Option<u64>,
}

/// The service's retention in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub keep_days: u64,
    pub min_days: u64,
}

/// One named secret: where its value is, and what releasing it takes.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretConfig {
    /// The service's environment variable holding the value.
    #[serde(default)]
    pub value_env: Option<String>,
    /// A file holding the value (mode 0600 or stricter; one trailing newline is dropped).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Who must approve a request before it may receive the secret (`user:`/`group:`).
    pub approvers: Vec<String>,
    /// How many distinct approvers.
    #[serde(default = "one")]
    pub quorum: u32,
    /// Who may receive it (`user:`/`group:`).
    pub requesters: Vec<String>,
}

fn one() -> u32 {
    1
}

/// A secret with its value, held in memory only.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSecret {
    pub config: SecretConfig,
    pub value: String,
}

impl std::fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSecret")
            .field("config", &self.config)
            .field("value", &"***")
            .finish()
    }
}

fn valid_principals(list: &[String]) -> bool {
    !list.is_empty()
        && list.iter().all(|a| {
            a.split_once(':')
                .is_some_and(|(k, n)| matches!(k, "user" | "group") && !n.is_empty())
        })
}

/// Durations of [`RequestLimits`], in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub default_ttl: u64,
    pub max_ttl: u64,
    pub grant_lifetime: u64,
    /// Seconds a replica holds a claimed delivery before another may take it over.
    pub delivery_lease: u64,
    /// Long-polls one identity may hold at once.
    pub max_waits_per_user: usize,
    /// Seconds a connection has to send a request's headers (and an idle one is kept).
    pub header_timeout: u64,
    /// Connections held at once.
    pub max_connections: usize,
    /// The longest window any approval may open (seconds).
    pub max_window: u64,
    /// Seconds between reminders of a waiting request (0: none).
    pub remind_every: u64,
    /// What the service keeps of its records (none: everything).
    pub retention: Option<Retention>,
}

fn retention(config: &RetentionConfig) -> Result<Retention, String> {
    let floor = crate::audit::DEFAULT_MIN_DAYS;
    let min_days = config.min_days.unwrap_or(floor);
    if min_days < floor {
        return Err(format!(
            "retention: min_days {min_days} is below {floor}; the service keeps its records at least {floor} days"
        ));
    }
    if config.keep_days < min_days {
        return Err(format!(
            "retention: keep_days {} is below min_days {min_days}; nothing younger than min_days is removed",
            config.keep_days
        ));
    }
    Ok(Retention {
        keep_days: config.keep_days,
        min_days,
    })
}

/// `connections:` in the file: what one client connection may hold.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Time to send a request's headers; also how long an idle keep-alive connection is
    /// kept.
    #[serde(default = "header_timeout")]
    pub header_timeout: String,
    /// Connections held at once; more are closed as they arrive.
    #[serde(default = "max_connections")]
    pub max: usize,
}

fn header_timeout() -> String {
    "10s".to_owned()
}

fn max_connections() -> usize {
    16_384
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: header_timeout(),
            max: max_connections(),
        }
    }
}

/// `deliveries:` in the file: how events reach webhooks, Slack and Teams.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLimits {
    /// How long a replica holds a delivery it claimed; when it dies mid-delivery, another
    /// replica sends the event again after this (same delivery id).
    #[serde(default = "lease")]
    pub lease: String,
}

fn lease() -> String {
    "30s".to_owned()
}

impl Default for DeliveryLimits {
    fn default() -> Self {
        Self { lease: lease() }
    }
}

impl ServerConfig {
    pub fn load(path: &Path) -> Result<ServerConfig, UserError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("cannot read {}: {e}", path.display())))?;
        let config: ServerConfig = serde_saphyr::from_str(&text).map_err(|e| {
            let (line, column, message) = crate::yaml::error_parts(&e);
            UserError::new(format!("{}:{line}:{column}: {message}", path.display()))
                .hint("see docs/api.md for the server configuration")
        })?;
        config
            .limits()
            .map_err(|m| UserError::new(format!("{}: {m}", path.display())))?;
        for user in &config.users {
            if user.token_sha256.len() != 64 || hex::decode(&user.token_sha256).is_err() {
                return Err(UserError::new(format!(
                    "{}: user {}: token_sha256 must be 64 hex digits",
                    path.display(),
                    user.name
                ))
                .hint("`gatekeep token new` prints a token and its token_sha256"));
            }
        }
        Ok(config)
    }

    /// Reads every secret's value: from the service's environment (`lookup`) or a file
    /// that only its owner can read.
    pub fn load_secrets(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<std::collections::BTreeMap<String, ServerSecret>, UserError> {
        use std::os::unix::fs::MetadataExt as _;
        let mut loaded = std::collections::BTreeMap::new();
        for (name, config) in &self.secrets {
            let fail = |message: String| {
                UserError::new(format!("secret {name}: {message}"))
                    .hint("see docs/secrets.md for the server's secrets")
            };
            if !valid_principals(&config.approvers) || !valid_principals(&config.requesters) {
                return Err(fail(
                    "approvers and requesters are non-empty lists of user:NAME or group:NAME"
                        .to_owned(),
                ));
            }
            if config.quorum == 0 {
                return Err(fail("quorum must be at least 1".to_owned()));
            }
            let value = match (&config.value_env, &config.file) {
                (Some(var), None) => lookup(var)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| fail(format!("the service's environment has no {var}")))?,
                (None, Some(path)) => {
                    let meta = std::fs::metadata(path)
                        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                    if meta.mode() & 0o077 != 0 {
                        return Err(fail(format!(
                            "{} is readable by others (mode {:o}); chmod 600 it",
                            path.display(),
                            meta.mode() & 0o777
                        )));
                    }
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
                    let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
                    if text.is_empty() {
                        return Err(fail(format!("{} is empty", path.display())));
                    }
                    text
                }
                _ => return Err(fail("give exactly one of value_env and file".to_owned())),
            };
            loaded.insert(
                name.clone(),
                ServerSecret {
                    config: config.clone(),
                    value,
                },
            );
        }
        Ok(loaded)
    }

    /// Loads and compiles the service's own policy; `None` when `policies:` names nothing.
    /// Only the files named are read (never the built-in library), each problem reported
    /// as `FILE:LINE:COL: message`.
    pub fn load_policy(&self) -> Result<Option<crate::policy::Policy>, UserError> {
        if self.policies.is_empty() {
            return Ok(None);
        }
        let mut sources = Vec::new();
        for path in &self.policies {
            let read = crate::policy::read_path(path).map_err(|e| {
                UserError::new(format!("cannot read server policy {}: {e}", path.display()))
                    .hint("check `policies:` in the service configuration")
            })?;
            sources.extend(read);
        }
        crate::policy::Policy::load(&sources)
            .map(Some)
            .map_err(|error| {
                let extra = error.problems.len().saturating_sub(1);
                let more = if extra > 0 {
                    format!(" (and {extra} more)")
                } else {
                    String::new()
                };
                UserError::new(format!("invalid server policy: {error}{more}"))
                    .hint("`gatekeep policy lint FILE` lists every problem")
            })
    }

    pub fn limits(&self) -> Result<Limits, String> {
        let r = &self.requests;
        Ok(Limits {
            default_ttl: parse_duration(&r.default_ttl)?,
            max_ttl: parse_duration(&r.max_ttl)?,
            grant_lifetime: parse_duration(&r.grant_lifetime)?,
            delivery_lease: parse_duration(&self.deliveries.lease)?,
            max_waits_per_user: r.max_waits_per_user.max(1),
            header_timeout: parse_duration(&self.connections.header_timeout)?.max(1),
            max_connections: self.connections.max.max(1),
            max_window: parse_duration(&r.max_window)?,
            remind_every: match r.remind_every.trim() {
                "off" | "never" => 0,
                text => parse_duration(text)?,
            },
            retention: self.retention.as_ref().map(retention).transpose()?,
        })
    }
}

/// The users the service knows, looked up by token in constant time.
#[derive(Clone, Debug, Default)]
pub struct Identities {
    users: Vec<(User, [u8; 32])>,
}

/// SHA-256 of a token, lowercase hex (the `token_sha256` form).
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

impl Identities {
    pub fn new(users: Vec<User>) -> Identities {
        let users = users
            .into_iter()
            .filter_map(|mut u| {
                let hash: [u8; 32] = hex::decode(&u.token_sha256).ok()?.try_into().ok()?;
                // An agent or an auditor never reviews, whatever else its entry says.
                u.can_review &= !u.agent && !u.auditor;
                Some((u, hash))
            })
            .collect();
        Identities { users }
    }

    /// The user whose token this is. Every stored hash is compared, in constant time.
    pub fn authenticate(&self, token: &str) -> Option<&User> {
        let presented: [u8; 32] = Sha256::digest(token.trim().as_bytes()).into();
        let mut found = None;
        for (user, hash) in &self.users {
            if bool::from(hash.ct_eq(&presented)) {
                found = Some(user);
            }
        }
        found
    }

    /// The user linked to a Slack user id.
    pub fn by_slack_id(&self, slack_id: &str) -> Option<&User> {
        self.users
            .iter()
            .map(|(u, _)| u)
            .find(|u| u.slack_id.as_deref() == Some(slack_id))
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().map(|(u, _)| u).find(|u| u.name == name)
    }

    /// Every configured user.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().map(|(u, _)| u)
    }

    /// Whether `user` is named by any of `approvers` (`user:NAME` or `group:NAME`).
    pub fn is_approver(user: &User, approvers: &[String]) -> bool {
        approvers.iter().any(|a| match a.split_once(':') {
            Some(("user", name)) => name == user.name,
            // A member of group `*` belongs to every group (the development reviewer).
            Some(("group", group)) => user.groups.iter().any(|g| g == group || g == "*"),
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn config(secret: &str) -> ServerConfig {
        serde_saphyr::from_str(&format!("secrets:\n  db: {secret}\n")).unwrap()
    }

    #[test]
    fn secret_values_come_from_the_environment_or_a_private_file() {
        let lookup = |var: &str| (var == "DB_PW").then(|| "from-env".to_owned());
        let loaded = config(
            r#"{value_env: DB_PW, approvers: ["group:dba"], quorum: 2, requesters: ["user:ci"]}"#,
        )
        .load_secrets(lookup)
        .unwrap();
        assert_eq!(loaded["db"].value, "from-env");
        assert_eq!(loaded["db"].config.quorum, 2);
        assert!(!format!("{loaded:?}").contains("from-env"));
        let missing =
            config(r#"{value_env: NOPE, approvers: ["group:dba"], requesters: ["user:ci"]}"#)
                .load_secrets(lookup)
                .unwrap_err();
        assert_eq!(
            missing.message,
            "secret db: the service's environment has no NOPE"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let spec = format!(
            r#"{{file: {}, approvers: ["group:dba"], requesters: ["user:ci"]}}"#,
            file.display()
        );
        let open = config(&spec).load_secrets(lookup).unwrap_err();
        assert!(
            open.message
                .ends_with("is readable by others (mode 644); chmod 600 it")
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            config(&spec).load_secrets(lookup).unwrap()["db"].value,
            "from-file"
        );
        for bad in [
            r#"{value_env: DB_PW, file: /x, approvers: ["group:dba"], requesters: ["user:ci"]}"#,
            r#"{value_env: DB_PW, approvers: [], requesters: ["user:ci"]}"#,
            r#"{value_env: DB_PW, approvers: ["dba"], requesters: ["user:ci"]}"#,
            r#"{value_env: DB_PW, approvers: ["group:dba"], quorum: 0, requesters: ["user:ci"]}"#,
        ] {
            assert!(config(bad).load_secrets(lookup).is_err(), "{bad}");
        }
    }
}
