//! `gatekeep shell-prefix`: the entry point for an agent's shell prefix (Claude Code's
//! `CLAUDE_CODE_SHELL_PREFIX`). The agent runs every shell command, hook command and stdio
//! MCP server through it: one argument is a shell command line, several are a program and
//! its arguments. Each is judged and run the way `gatekeep run --agent --supervise` would,
//! so nothing the agent starts escapes both layers.

use std::os::unix::process::CommandExt as _;
use std::path::Path;

use crate::cli::PolicyArgs;
use crate::commands::run;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The command: one shell command line, or a program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let command = match args.command.as_slice() {
        [line] => {
            // A command the hook already had approved, rewritten to run under its grant:
            // that run consumes the grant and is supervised itself, so it is not asked for a
            // second time.
            if let Some((assignments, words)) = approved_run(line, env) {
                let error = std::process::Command::new(&words[0])
                    .args(&words[1..])
                    .envs(assignments)
                    .exec();
                return Err(UserError::new(format!("cannot run gatekeep: {error}")).into());
            }
            let shell = crate::flow::program(&["bash".to_owned()], env, &cwd())?;
            vec![shell.display().to_string(), "-c".to_owned(), line.clone()]
        }
        argv => argv.to_vec(),
    };
    run::run(
        run::Args {
            policy: PolicyArgs::default(),
            reason: None,
            log: None,
            agent: true,
            agent_session: None,
            json: false,
            json_fd: None,
            no_wait: false,
            request: None,
            token_file: None,
            supervise: true,
            break_glass: false,
            command,
        },
        env,
    )
}

/// Variables set for one command, in order.
type Assignments = Vec<(String, String)>;

fn cwd() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default()
}

/// The variables and words of `line` when it is exactly the command the hook writes for an
/// approved request: the bound variables' approved values, then this gatekeep's
/// `run --agent [--agent-session S] --request ID -- …`, with no option that would change
/// its policies, log or service. Variables that would change gatekeep itself (code loading,
/// its configuration and state locations) are taken this way only when they keep the value
/// this process has.
fn approved_run(line: &str, env: &Environment) -> Option<(Assignments, Vec<String>)> {
    let mut words = shlex::split(line)?;
    let mut assignments = Vec::new();
    while let Some((name, value)) = words.first().and_then(|w| w.split_once('=')) {
        let plain = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        let steers_gatekeep = name.starts_with("LD_")
            || name.starts_with("GATEKEEP_")
            || name.starts_with("XDG_")
            || name == "HOME"
            || crate::shell::CODE_LOADING_VARIABLES.contains(&name);
        if !plain || (steers_gatekeep && env.get(name) != Some(value)) {
            return None;
        }
        let assignment = (name.to_owned(), value.to_owned());
        assignments.push(assignment);
        words.remove(0);
    }
    let own = std::env::current_exe().ok()?.canonicalize().ok()?;
    if Path::new(words.first()?).canonicalize().ok()? != own || words.get(1)? != "run" {
        return None;
    }
    let mut rest = words[2..].iter();
    let mut request = false;
    while let Some(word) = rest.next() {
        match word.as_str() {
            "--agent" => {}
            "--agent-session" => {
                rest.next()?;
            }
            "--request" => {
                rest.next()?;
                request = true;
            }
            "--" => return request.then_some((assignments, words)),
            _ => return None,
        }
    }
    None
}
