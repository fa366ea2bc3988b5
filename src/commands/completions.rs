//! `gatekeep completions SHELL`: print a completion script.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "gatekeep",
        &mut std::io::stdout(),
    );
    Ok(Exit::Success)
}
