//! `gatekeep login` and `gatekeep logout`: store a token for the service and pin its key.

use std::io::{IsTerminal, Read};

use crate::client::{ApiClient, Pinned, is_loopback_url, keyring};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service's base URL (https://…, or http:// on loopback).
    #[arg(long, value_name = "URL")]
    pub server: String,
}

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let server = args.server.trim_end_matches('/').to_owned();
    if !server.starts_with("https://") && !is_loopback_url(&server) {
        return Err(UserError::new(format!(
            "refusing {server}: plain http is only accepted for loopback addresses"
        ))
        .into());
    }
    let token = if std::io::stdin().is_terminal() {
        dialoguer::Password::new()
            .with_prompt("Token")
            .interact()
            .map_err(|e| UserError::new(format!("cannot read the token: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text.trim().to_owned()
    };
    if token.is_empty() {
        return Err(UserError::new("no token given")
            .hint("paste the token at the prompt, or pipe it on stdin")
            .into());
    }
    let client = ApiClient::new(&server, &token).map_err(|e| UserError::new(e.to_string()))?;
    let key = client
        .public_key()
        .map_err(|e| UserError::new(format!("cannot fetch the service key: {e}")))?;
    client
        .pending()
        .map_err(|e| UserError::new(format!("the service did not accept the token: {e}")))?;
    let paths = Paths::from_env(env);
    let in_keyring = keyring::store(keyring::TOKENS, &server, &token);
    let pinned = Pinned {
        server: server.clone(),
        public_key: key.clone(),
        token: in_keyring.is_err().then_some(token),
    };
    let path = pinned
        .write(&paths)
        .map_err(|e| UserError::new(format!("cannot store the login: {e}")))?;
    let key_id = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(hex::decode(&key).unwrap_or_default()))
    };
    eprintln!("gatekeep: logged in to {server}");
    eprintln!(
        "gatekeep: pinned the service key sha256:{key_id} — compare it with your administrator's"
    );
    match in_keyring {
        Ok(()) => eprintln!(
            "gatekeep: token stored in the OS keyring; key pinned in {}",
            path.display()
        ),
        Err(why) => eprintln!(
            "gatekeep: token stored in {} (mode 0600): the OS keyring is not available ({why})",
            path.display()
        ),
    }
    Ok(Exit::Success)
}

pub fn logout(_args: LogoutArgs, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    if let Some(pinned) = Pinned::read(&paths) {
        keyring::delete(keyring::TOKENS, &pinned.server);
    }
    let path = Pinned::path(&paths);
    match std::fs::remove_file(&path) {
        Ok(()) => eprintln!("gatekeep: logged out"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => eprintln!("gatekeep: not logged in"),
        Err(e) => {
            return Err(UserError::new(format!("cannot remove {}: {e}", path.display())).into());
        }
    }
    Ok(Exit::Success)
}
