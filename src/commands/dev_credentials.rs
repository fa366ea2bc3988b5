//! `gatekeep dev credentials`: the running development server's `export` lines again,
//! read from the file `serve --dev` leaves for local clients.

use std::io::Write;

use crate::client::{ApiClient, DevServer};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// The warning every printing of the development tokens carries.
pub const NOT_A_BOUNDARY: &str =
    "development mode is not a security boundary: any process of this user can read these tokens";

/// How long a running development server takes to answer, at most.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

pub fn run(_args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let path = DevServer::path(&paths);
    let dev = DevServer::read(&paths).ok_or_else(|| {
        UserError::new(format!(
            "no development server is running (no readable {})",
            path.display()
        ))
        .hint("start one with `gatekeep serve --dev`")
    })?;
    // A server that was killed leaves its file behind: ask it who the reviewer is.
    let client = ApiClient::new(&dev.url, &dev.reviewer_token)
        .map_err(|e| e.to_user_error("the development server cannot be asked"))?;
    client.set_deadline(std::time::Instant::now() + ANSWER_WITHIN);
    if let Err(e) = client.me() {
        return Err(UserError::new(format!(
            "the development server named in {} cannot be asked: {}",
            path.display(),
            e
        ))
        .hint("it has stopped; start one with `gatekeep serve --dev`")
        .into());
    }
    eprintln!("gatekeep: warning: {NOT_A_BOUNDARY}");
    let mut out = std::io::stdout();
    writeln!(
        out,
        "# gatekeep development server (from {})",
        path.display()
    )?;
    exports(&mut out, &dev)?;
    out.flush()?;
    Ok(Exit::Success)
}

/// The requester's and the reviewer's `export` lines, with a comment line before each.
pub fn exports(out: &mut impl Write, dev: &DevServer) -> std::io::Result<()> {
    let url = &dev.url;
    writeln!(
        out,
        "# requester (gatekeep run finds this server by itself while it runs):"
    )?;
    writeln!(
        out,
        "export GATEKEEP_SERVER={url} GATEKEEP_TOKEN={}",
        dev.requester_token
    )?;
    writeln!(
        out,
        "# reviewer, in another shell (gatekeep requests / approve / reject):"
    )?;
    writeln!(
        out,
        "export GATEKEEP_SERVER={url} GATEKEEP_TOKEN={}",
        dev.reviewer_token
    )?;
    writeln!(out, "# review page: {url}/")
}
