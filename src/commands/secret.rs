//! `gatekeep secret set|list|rm`: the secrets this host releases to commands
//! (`from: keyring`). Values are read from a prompt or stdin, never from arguments.

use std::io::{IsTerminal, Read as _, Write as _};

use crate::client::secret_store::SecretStore;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Store a secret: typed at a prompt, or read from stdin (one trailing newline dropped).
    Set {
        /// The secret's name, as policies refer to it (`from: keyring, name: NAME`).
        name: String,
    },
    /// List stored secrets: names and where they are, never values.
    List,
    /// Forget a secret.
    Rm { name: String },
}

pub fn run(command: Command, env: &Environment) -> anyhow::Result<Exit> {
    let store = SecretStore::open(env)?;
    match command {
        Command::Set { name } => {
            let value = read_value(&name)?;
            let place = store.set(&name, &value)?;
            let place = match place {
                "keyring" => "the OS keyring",
                _ => "the 0600 secrets file (the OS keyring is not available)",
            };
            eprintln!("gatekeep: secret {name} stored in {place}");
        }
        Command::List => {
            let mut out = std::io::stdout().lock();
            for listed in store.list()? {
                writeln!(out, "{}\t{}\t{}", listed.name, listed.store, listed.set_at)?;
            }
        }
        Command::Rm { name } => {
            if !store.remove(&name)? {
                return Err(UserError::new(format!("no secret {name}"))
                    .hint("`gatekeep secret list` shows the stored ones")
                    .into());
            }
            eprintln!("gatekeep: secret {name} removed");
        }
    }
    Ok(Exit::Success)
}

fn read_value(name: &str) -> Result<String, UserError> {
    let value = if std::io::stdin().is_terminal() {
        dialoguer::Password::new()
            .with_prompt(format!("Value of {name}"))
            .with_confirmation("Again", "the two entries differ")
            .interact()
            .map_err(|e| UserError::new(format!("cannot read the value: {e}")))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| UserError::new(format!("cannot read the value from stdin: {e}")))?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.strip_suffix('\r').unwrap_or(text).to_owned()
    };
    if value.is_empty() {
        return Err(UserError::new("empty value; nothing stored")
            .hint("type the value at the prompt, or pipe it on stdin"));
    }
    Ok(value)
}
