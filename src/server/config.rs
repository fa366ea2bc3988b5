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
    #[serde(default)]
    pub database: Option<PathBuf>,
    /// The base URL people use to reach the service (for review links).
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub tls: Option<Tls>,
    #[serde(default)]
    pub requests: RequestLimits,
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
}

/// Durations of [`RequestLimits`], in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub default_ttl: u64,
    pub max_ttl: u64,
    pub grant_lifetime: u64,
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

    pub fn limits(&self) -> Result<Limits, String> {
        let r = &self.requests;
        Ok(Limits {
            default_ttl: parse_duration(&r.default_ttl)?,
            max_ttl: parse_duration(&r.max_ttl)?,
            grant_lifetime: parse_duration(&r.grant_lifetime)?,
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
            .filter_map(|u| {
                let hash: [u8; 32] = hex::decode(&u.token_sha256).ok()?.try_into().ok()?;
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
