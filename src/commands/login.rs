//! `gatekeep login` and `gatekeep logout`: keep a token per service and identity, pin the
//! service's key, and say exactly what was stored or removed.

use std::io::{IsTerminal, Read};

use crate::client::logins::{Added, Login, Logins};
use crate::client::{ApiClient, is_loopback_url, keyring};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service's base URL (https://…, or http:// on loopback).
    #[arg(long, value_name = "URL")]
    pub server: String,
    /// The identity to use for this service: switches to a stored login of that name
    /// without asking for a token; otherwise the token given must be that identity's.
    #[arg(long = "as", value_name = "NAME")]
    pub identity: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The service to log out of (default: GATEKEEP_SERVER, then the configuration's
    /// `server`, then the only service logged in to).
    #[arg(long, value_name = "URL", conflicts_with = "all")]
    pub server: Option<String>,
    /// The identity to log out (default: GATEKEEP_IDENTITY, then the one in use).
    #[arg(long = "as", value_name = "NAME", conflicts_with = "all")]
    pub identity: Option<String>,
    /// Remove every stored login, of every service and identity.
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let server = args.server.trim_end_matches('/').to_owned();
    if !server.starts_with("https://") && !is_loopback_url(&server) {
        return Err(UserError::new(format!(
            "refusing {server}: plain http is only accepted for loopback addresses"
        ))
        .into());
    }
    let paths = Paths::from_env(env);
    let mut logins = Logins::read(&paths)?;
    if let Some(name) = &args.identity
        && logins
            .for_server(&server)
            .any(|l| l.identity.as_deref() == Some(name))
    {
        logins.use_identity(&server, name);
        write(&logins, &paths)?;
        eprintln!("gatekeep: now using {name} for {server} (a stored login; no token asked)");
        return Ok(Exit::Success);
    }
    let token = read_token()?;
    let client = ApiClient::new(&server, &token).map_err(|e| e.to_user_error("cannot log in"))?;
    let key = client
        .public_key()
        .map_err(|e| e.to_user_error("cannot fetch the service key"))?;
    let identity = match client.me() {
        Ok(me) => Some(me.name),
        // A service from before `/v1/me`: the token is checked, its owner stays unknown.
        Err(crate::client::ClientError::Api { status: 404, .. }) if args.identity.is_none() => {
            client
                .pending()
                .map_err(|e| e.to_user_error("the service did not accept the token"))?;
            None
        }
        Err(e) => {
            return Err(e
                .to_user_error("the service did not accept the token")
                .into());
        }
    };
    if let Some(wanted) = &args.identity
        && Some(wanted) != identity.as_ref()
    {
        return Err(UserError::new(format!(
            "the token given is {}'s, not {wanted}'s; nothing was stored",
            identity.as_deref().unwrap_or("someone else")
        ))
        .hint("give the token of the identity named by --as, or leave --as out")
        .into());
    }
    for other in logins.for_server(&server) {
        if other.public_key != key {
            eprintln!(
                "gatekeep: warning: the service now serves the key {}, but the login of {} pinned {}",
                fingerprint(&key),
                other.who(),
                fingerprint(&other.public_key)
            );
        }
    }
    let mut login = Login {
        server: server.clone(),
        identity: identity.clone(),
        public_key: key.clone(),
        token: None,
    };
    let in_keyring = keyring::store(keyring::TOKENS, &login.keyring_account(), &token);
    if in_keyring.is_err() {
        login.token = Some(token);
    }
    let account = login.keyring_account();
    let (added, dropped) = logins.add(login);
    for old in &dropped {
        if old.keyring_account() != account {
            keyring::delete(keyring::TOKENS, &old.keyring_account());
        }
    }
    let path = write(&logins, &paths)?;
    let who = identity.as_deref().unwrap_or("(identity unknown)");
    match added {
        Added::New => eprintln!("gatekeep: logged in to {server} as {who}"),
        Added::Replaced => eprintln!(
            "gatekeep: logged in to {server} as {who} (replacing the stored login of {who})"
        ),
    }
    let others: Vec<&str> = logins
        .for_server(&server)
        .map(Login::who)
        .filter(|other| *other != who)
        .collect();
    if !others.is_empty() {
        eprintln!(
            "gatekeep: {who} is now in use for {server}; also stored: {} (`gatekeep login --server {server} --as NAME` switches)",
            others.join(", ")
        );
    }
    eprintln!(
        "gatekeep: pinned the service key {} — compare it with your administrator's",
        fingerprint(&key)
    );
    match in_keyring {
        Ok(()) => eprintln!(
            "gatekeep: token stored in the OS keyring (entry {account}); key pinned in {}",
            path.display()
        ),
        Err(why) => eprintln!(
            "gatekeep: token stored in {} (mode 0600): the OS keyring is not available ({why})",
            path.display()
        ),
    }
    Ok(Exit::Success)
}

pub fn logout(args: LogoutArgs, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let mut logins = Logins::read(&paths)?;
    let path = Logins::path(&paths);
    if args.all {
        if logins.logins.is_empty() {
            eprintln!("gatekeep: not logged in anywhere");
            return Ok(Exit::Success);
        }
        for login in std::mem::take(&mut logins.logins) {
            eprintln!("gatekeep: {}", forget(&login, &path));
        }
        logins.in_use.clear();
        write(&logins, &paths)?;
        eprintln!("gatekeep: removed {}", path.display());
        return Ok(Exit::Success);
    }
    let config = crate::config::Config::load(&paths.config_file)?;
    let server = match args
        .server
        .or_else(|| env.get(crate::env_vars::GATEKEEP_SERVER).map(str::to_owned))
        .or(config.server)
    {
        Some(server) => server,
        None => {
            let mut servers: Vec<&str> = logins.logins.iter().map(|l| l.server.as_str()).collect();
            servers.sort_unstable();
            servers.dedup();
            match servers.as_slice() {
                [] => {
                    eprintln!("gatekeep: not logged in");
                    return Ok(Exit::Success);
                }
                [one] => (*one).to_owned(),
                several => {
                    return Err(UserError::new(format!(
                        "logged in to several services: {}",
                        several.join(", ")
                    ))
                    .hint("name one with --server URL, or remove every login with --all")
                    .into());
                }
            }
        }
    };
    let wanted = args.identity.or_else(|| {
        env.get(crate::env_vars::GATEKEEP_IDENTITY)
            .map(str::to_owned)
    });
    let login = match logins.pick(&server, wanted.as_deref()) {
        Ok(Some(login)) => login.clone(),
        Ok(None) => {
            eprintln!("gatekeep: not logged in to {server}");
            return Ok(Exit::Success);
        }
        Err(names) => {
            return Err(UserError::new(format!(
                "which login for {server}? stored: {}",
                names.join(", ")
            ))
            .hint("name one with --as NAME, or remove every login with --all")
            .into());
        }
    };
    logins.remove(&login.server, login.identity.as_deref());
    write(&logins, &paths)?;
    eprintln!("gatekeep: {}", forget(&login, &path));
    let left: Vec<&str> = logins.for_server(&server).map(Login::who).collect();
    if !left.is_empty() {
        eprintln!(
            "gatekeep: still stored for {server}: {} (`gatekeep login --server {server} --as NAME` picks one)",
            left.join(", ")
        );
    }
    Ok(Exit::Success)
}

/// Deletes the keyring entry of `login` and says what was removed.
fn forget(login: &Login, file: &std::path::Path) -> String {
    let account = login.keyring_account();
    let token = if login.token.is_some() {
        format!("its token and pinned key from {}", file.display())
    } else if keyring::load(keyring::TOKENS, &account).is_some() {
        keyring::delete(keyring::TOKENS, &account);
        format!(
            "its token from the OS keyring (entry {account}) and its pinned key from {}",
            file.display()
        )
    } else {
        format!(
            "its pinned key from {} (no token was left in the OS keyring)",
            file.display()
        )
    };
    format!(
        "logged out {} at {}: removed {token}",
        login.who(),
        login.server
    )
}

fn write(logins: &Logins, paths: &Paths) -> Result<std::path::PathBuf, UserError> {
    logins
        .write(paths)
        .map_err(|e| UserError::new(format!("cannot store the logins: {e}")))
}

fn read_token() -> Result<String, UserError> {
    let token = if std::io::stdin().is_terminal() {
        dialoguer::Password::new()
            .with_prompt("Token")
            .interact()
            .map_err(|e| UserError::new(format!("cannot read the token: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| UserError::new(format!("cannot read the token: {e}")))?;
        text.trim().to_owned()
    };
    if token.is_empty() {
        return Err(UserError::new("no token given")
            .hint("paste the token at the prompt, or pipe it on stdin")
            .kind("no_service"));
    }
    Ok(token)
}

/// A service key as people compare it: `sha256:` and the digest of its bytes.
pub fn fingerprint(key_hex: &str) -> String {
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(
            hex::decode(key_hex).unwrap_or_default()
        ))
    )
}
