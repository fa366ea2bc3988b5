//! `gatekeep log rotate`: close the current segment and start a new file, then apply the
//! configured retention.

use crate::audit::AuditLog;
use crate::cli::LogArgs;
use crate::environment::{self, Environment};
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    if !path.exists() {
        return Err(UserError::new(format!("no audit log at {}", path.display())).into());
    }
    let log = AuditLog::new(
        path.clone(),
        None,
        environment::hostname(),
        environment::current_user(),
    );
    let segment = log.rotate().map_err(|e| UserError::new(e.to_string()))?;
    eprintln!("gatekeep: rotated to {}", segment.display());
    let paths = crate::paths::Paths::from_env(env);
    if let Some(retention) = crate::config::Config::load(&paths.config_file)?.retention() {
        super::log_prune::describe(&super::log_prune::apply(&path, &retention)?);
    }
    Ok(Exit::Success)
}
