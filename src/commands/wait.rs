//! `gatekeep wait ID`: block until a request is decided (without using its approval).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::approval::Status;
use crate::client::{self, Outcome, wait_for_decision};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::ui::{Waiting, verdicts};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id, or a unique prefix of at least 8 characters.
    pub id: String,
    /// Give up after this long (e.g. 10m; default: until the request expires).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let id = client::request_id(&client, &args.id)?;
    let client = Arc::new(client);
    let view = client
        .get(&id, 0)
        .map_err(|e| e.to_user_error(&format!("cannot fetch request {id}")))?;
    let seconds = match &args.timeout {
        Some(text) => crate::policy::parse_duration(text).map_err(UserError::new)?,
        None => {
            let expires = view
                .expires_at
                .parse::<jiff::Timestamp>()
                .map(|t| t.as_second())
                .unwrap_or(0);
            (expires - jiff::Timestamp::now().as_second()).max(1) as u64 + 2
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let _guard = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let waiting = Waiting::start(
        &view.id,
        &view.review_url,
        &view.approvals,
        &view.expires_at,
        std::io::stderr().is_terminal(),
    );
    let outcome = if view.status == Status::Pending {
        wait_for_decision(
            &client,
            &id,
            Instant::now() + Duration::from_secs(seconds),
            &interrupted,
            &mut |p| waiting.progress(&p),
        )
    } else {
        Outcome::Decided(Box::new(view))
    };
    waiting.finish();
    match outcome {
        Outcome::Decided(view) => {
            eprintln!(
                "gatekeep: request {} {}",
                crate::render::text(&view.id),
                view.status.as_str()
            );
            for line in verdicts(&view) {
                eprintln!("gatekeep:   {line}");
            }
            println!("{}", view.status.as_str());
            Ok(match view.status {
                Status::Approved | Status::Consumed => Exit::Success,
                Status::Rejected => Exit::Rejected,
                Status::Cancelled => Exit::Cancelled,
                Status::Expired | Status::Pending => Exit::Expired,
            })
        }
        Outcome::TimedOut => Ok(Exit::Expired),
        Outcome::Interrupted => Ok(Exit::Cancelled),
        Outcome::Failed(error) => Err(UserError::new(error.to_string()).into()),
    }
}
