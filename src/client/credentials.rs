//! Where the approval service is and how to authenticate: flags, environment, the logins
//! (`logins.rs`), and the development server's discovery file.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;

use super::logins::{Login, Logins, Stored};

/// What `gatekeep serve --dev` leaves for local clients while it runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevServer {
    pub url: String,
    pub requester_token: String,
    pub reviewer_token: String,
    pub public_key: String,
}

impl DevServer {
    pub fn path(paths: &Paths) -> PathBuf {
        paths.log_file.with_file_name("dev-server.json")
    }

    /// Writes the discovery file (0600) and returns its path.
    pub fn write(&self, paths: &Paths) -> std::io::Result<PathBuf> {
        write_private_json(&Self::path(paths), self)
    }

    pub fn read(paths: &Paths) -> Option<DevServer> {
        let bytes =
            crate::files::read_regular(&Self::path(paths), crate::files::CONFIG_FILE_LIMIT).ok()?;
        serde_json::from_slice(&bytes).ok()
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
    // Whatever a crash or another process left at that name (a file of another mode, a
    // link) goes first: the file written is always new, 0600, and never a link's target.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(path.to_owned())
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

/// Where the token in use came from (for `whoami`, and for errors that name it; never
/// the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// `GATEKEEP_TOKEN`.
    Env,
    /// `--token-file PATH`.
    File(PathBuf),
    /// The OS keyring entry of a login.
    Keyring { account: String },
    /// The login file (where the OS keyring was not available at login).
    LoginFile(PathBuf),
    /// The running development server's file.
    DevServer(PathBuf),
}

impl TokenSource {
    /// A stable name for programs (`whoami --json`).
    pub fn kind(&self) -> &'static str {
        match self {
            TokenSource::Env => "env",
            TokenSource::File(_) => "token_file",
            TokenSource::Keyring { .. } => "keyring",
            TokenSource::LoginFile(_) => "login_file",
            TokenSource::DevServer(_) => "dev_server",
        }
    }
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "{}", env_vars::GATEKEEP_TOKEN),
            TokenSource::File(path) => write!(f, "--token-file {}", path.display()),
            TokenSource::Keyring { account } => write!(f, "the OS keyring (entry {account})"),
            TokenSource::LoginFile(path) => write!(f, "the login file {}", path.display()),
            TokenSource::DevServer(path) => {
                write!(f, "the development server file {}", path.display())
            }
        }
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
    /// Where the token came from.
    pub token_source: TokenSource,
    /// The login in use, when its token or key came from one.
    pub login: Option<Login>,
    /// Where `public_key` came from: `GATEKEEP_SERVER_KEY`, `login` or `development server`.
    pub key_source: Option<&'static str>,
}

impl Connection {
    /// Finds the service: `GATEKEEP_SERVER` (with `GATEKEEP_TOKEN` or `--token-file`), else
    /// the configuration's `server` with a login (the identity in `GATEKEEP_IDENTITY`, else
    /// the one in use), else a running development server.
    pub fn discover(
        env: &Environment,
        config: &Config,
        token_file: Option<&Path>,
    ) -> Result<Option<Connection>, UserError> {
        let paths = Paths::from_env(env);
        let explicit_token = match token_file {
            Some(path) => Some((
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
                TokenSource::File(path.to_owned()),
            )),
            None => env
                .get(env_vars::GATEKEEP_TOKEN)
                .map(|t| (t.to_owned(), TokenSource::Env)),
        };
        let server = env
            .get(env_vars::GATEKEEP_SERVER)
            .map(str::to_owned)
            .or_else(|| config.server.clone());
        let connection = match server {
            Some(server) => {
                // Given both the token and the key, the logins are not needed: a broken
                // login file does not stand in the way. Otherwise it may hold the pinned
                // key, and a file that cannot be read stops the command.
                let logins = if explicit_token.is_some()
                    && env.get(env_vars::GATEKEEP_SERVER_KEY).is_some()
                {
                    Logins::read(&paths).unwrap_or_default()
                } else {
                    Logins::read(&paths)?
                };
                let wanted = env.get(env_vars::GATEKEEP_IDENTITY);
                let login = match logins.pick(&server, wanted) {
                    Ok(login) => login.cloned(),
                    // An explicit token needs no login; the key is the service's, whoever
                    // logged in.
                    Err(_) if explicit_token.is_some() => {
                        logins.for_server(&server).next().cloned()
                    }
                    Err(names) => return Err(choose_login(&server, wanted, &names)),
                };
                let (token, token_source) = match explicit_token {
                    Some(explicit) => explicit,
                    None => match login.as_ref().and_then(|l| Some((l, l.token()?))) {
                        Some((_, (token, Stored::File))) => {
                            (token, TokenSource::LoginFile(Logins::path(&paths)))
                        }
                        Some((login, (token, Stored::Keyring))) => (
                            token,
                            TokenSource::Keyring {
                                account: login.keyring_account(),
                            },
                        ),
                        None => {
                            return Err(UserError::new(format!(
                                "no token for the approval service {server}"
                            ))
                            .hint("set GATEKEEP_TOKEN, pass --token-file, or run `gatekeep login`")
                            .kind("no_service"));
                        }
                    },
                };
                let (public_key, key_source) = match env.get(env_vars::GATEKEEP_SERVER_KEY) {
                    Some(key) => (Some(key.to_owned()), Some(env_vars::GATEKEEP_SERVER_KEY)),
                    None => match &login {
                        Some(login) => (Some(login.public_key.clone()), Some("login")),
                        None => (None, None),
                    },
                };
                Connection {
                    server,
                    token,
                    public_key,
                    source: "configured",
                    token_source,
                    login,
                    key_source,
                }
            }
            None => match DevServer::read(&paths) {
                Some(dev) => {
                    let (token, token_source) = explicit_token.unwrap_or((
                        dev.requester_token,
                        TokenSource::DevServer(DevServer::path(&paths)),
                    ));
                    Connection {
                        server: dev.url,
                        token,
                        public_key: Some(dev.public_key),
                        source: "development server",
                        token_source,
                        login: None,
                        key_source: Some("development server"),
                    }
                }
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

/// The error when the login to use for `server` is not clear.
fn choose_login(server: &str, wanted: Option<&str>, names: &[String]) -> UserError {
    let message = match wanted {
        Some(wanted) => format!(
            "no login as {wanted} for {server} ({} set it); logins there: {}",
            env_vars::GATEKEEP_IDENTITY,
            list_or_none(names)
        ),
        None => format!(
            "several logins for {server} and none in use: {}",
            list_or_none(names)
        ),
    };
    UserError::new(message)
        .hint(format!(
            "choose one with `gatekeep login --server {server} --as NAME`, or set {}",
            env_vars::GATEKEEP_IDENTITY
        ))
        .kind("no_service")
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
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
        .map_err(|e| e.to_user_error("cannot set up the client"))?
        .with_token_source(connection.token_source.clone());
    Ok((client, connection))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_private_file_is_written_new_whatever_lies_at_its_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.json");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "keep").unwrap();
        let tmp = dir
            .path()
            .join(format!("login.json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&elsewhere, &tmp).unwrap();
        write_private_json(&path, &serde_json::json!({"token": "t"})).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A world-readable leftover does not lend the new file its mode.
        std::fs::write(&tmp, "old").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_json(&path, &serde_json::json!({"token": "u"})).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"u\""));
    }
}
