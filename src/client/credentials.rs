//! Where the approval service is and how to authenticate: flags, environment, the login
//! store, and the development server's discovery file.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;

/// What `gatekeep serve --dev` leaves for local clients while it runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevServer {
    pub url: String,
    pub requester_token: String,
    pub reviewer_token: String,
    pub public_key: String,
}

impl DevServer {
    fn path(paths: &Paths) -> PathBuf {
        paths.log_file.with_file_name("dev-server.json")
    }

    /// Writes the discovery file (0600) and returns its path.
    pub fn write(&self, paths: &Paths) -> std::io::Result<PathBuf> {
        write_private_json(&Self::path(paths), self)
    }

    pub fn read(paths: &Paths) -> Option<DevServer> {
        serde_json::from_slice(&std::fs::read(Self::path(paths)).ok()?).ok()
    }
}

/// Writes `value` as JSON to `path` with mode 0600 (directory 0700), atomically.
pub(crate) fn write_private_json(path: &Path, value: &impl Serialize) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt as _;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    // One temporary name per process: writers in two processes never share it.
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(path.to_owned())
}

/// A server's public key as the user pinned it at login.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pinned {
    pub server: String,
    pub public_key: String,
    /// The token, when the OS keyring is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Pinned {
    pub fn path(paths: &Paths) -> PathBuf {
        paths.config_file.with_file_name("login.json")
    }

    pub fn read(paths: &Paths) -> Option<Pinned> {
        serde_json::from_slice(&std::fs::read(Self::path(paths)).ok()?).ok()
    }

    /// Writes the login file with mode 0600.
    pub fn write(&self, paths: &Paths) -> std::io::Result<PathBuf> {
        write_private_json(&Self::path(paths), self)
    }
}

/// Whether `url` is `https://`, or `http://` to a loopback address.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// How to reach and trust the approval service.
#[derive(Clone, Debug)]
pub struct Connection {
    pub server: String,
    pub token: String,
    /// The service key: pinned at login, from `GATEKEEP_SERVER_KEY`, or from the dev file.
    pub public_key: Option<String>,
    /// Where the settings came from, for messages.
    pub source: &'static str,
}

impl Connection {
    /// Finds the service: `GATEKEEP_SERVER` (with `GATEKEEP_TOKEN` or `--token-file`), else
    /// the configuration's `server` with the login, else a running development server.
    pub fn discover(
        env: &Environment,
        config: &Config,
        token_file: Option<&Path>,
    ) -> Result<Option<Connection>, UserError> {
        let paths = Paths::from_env(env);
        let pinned = Pinned::read(&paths);
        let explicit_token = match token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        UserError::new(format!(
                            "cannot read the token file {}: {e}",
                            path.display()
                        ))
                        .kind("no_service")
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => env.get(env_vars::GATEKEEP_TOKEN).map(str::to_owned),
        };
        let server = env
            .get(env_vars::GATEKEEP_SERVER)
            .map(str::to_owned)
            .or_else(|| config.server.clone());
        let connection = match server {
            Some(server) => {
                let pinned_here = pinned
                    .as_ref()
                    .filter(|p| p.server.trim_end_matches('/') == server.trim_end_matches('/'));
                let token = explicit_token
                    .or_else(|| pinned_here.and_then(|p| p.token.clone()))
                    .or_else(|| {
                        pinned_here
                            .and_then(|p| super::keyring::load(super::keyring::TOKENS, &p.server))
                    })
                    .ok_or_else(|| {
                        UserError::new(format!("no token for the approval service {server}"))
                            .hint("set GATEKEEP_TOKEN, pass --token-file, or run `gatekeep login`")
                            .kind("no_service")
                    })?;
                let public_key = env
                    .get(env_vars::GATEKEEP_SERVER_KEY)
                    .map(str::to_owned)
                    .or_else(|| pinned_here.map(|p| p.public_key.clone()));
                Connection {
                    server,
                    token,
                    public_key,
                    source: "configured",
                }
            }
            None => match DevServer::read(&paths) {
                Some(dev) => Connection {
                    server: dev.url,
                    token: explicit_token.unwrap_or(dev.requester_token),
                    public_key: Some(dev.public_key),
                    source: "development server",
                },
                None => return Ok(None),
            },
        };
        if super::split_servers(&connection.server)
            .iter()
            .any(|url| !url.starts_with("https://") && !is_loopback_url(url))
        {
            return Err(UserError::new(format!(
                "refusing to talk to {} over plain http",
                connection.server
            ))
            .hint("use an https:// URL; http:// is only accepted for loopback addresses")
            .kind("no_service"));
        }
        Ok(Some(connection))
    }
}

/// Connects to the configured service, or explains how to configure one.
pub fn connect(
    env: &Environment,
    token_file: Option<&Path>,
) -> Result<(super::ApiClient, Connection), UserError> {
    let config = Config::load(&Paths::from_env(env).config_file)?;
    let connection = Connection::discover(env, &config, token_file)?.ok_or_else(|| {
        UserError::new("no approval service is configured")
            .hint("set GATEKEEP_SERVER and GATEKEEP_TOKEN, or run `gatekeep login`")
    })?;
    let client = super::ApiClient::new(&connection.server, &connection.token)
        .map_err(|e| UserError::new(e.to_string()))?;
    Ok((client, connection))
}
