//! `gatekeep keygen PATH`: a new Ed25519 signing key for the approval service, shared by
//! every replica (`signing_key: PATH` in each one's configuration).

use std::path::PathBuf;

use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the key (created 0600; an existing file is never overwritten).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let key = crate::server::write_new_key(&args.path).map_err(|e| {
        let error = UserError::new(format!("cannot write {}: {e}", args.path.display()));
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            error.hint(
                "a key is never overwritten: choose another path, or remove the old key on purpose",
            )
        } else {
            error
        }
    })?;
    println!("key_id: {}", key.key_id());
    println!("public_key: {}", key.public_hex());
    eprintln!(
        "gatekeep: wrote {}; give every replica this file as signing_key, and keep it secret",
        args.path.display()
    );
    Ok(Exit::Success)
}
