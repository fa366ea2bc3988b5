//! `gatekeep mcp proxy`: runs an MCP server over stdio behind the gateway (see
//! [`crate::mcp`]). Its standard input and output are the client's; its messages for
//! people go to stderr, which MCP clients keep as the server's log.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::json;

use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::flow::{Flow, Sink, Step};
use crate::mcp::pins::PinFile;
use crate::mcp::proxy::Proxy;
use crate::paths::Paths;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's name in rules (`mcp__NAME__TOOL`) and pins (default: from the command).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Keep tools a rule denies outright in `tools/list` answers (default: left out).
    #[arg(long)]
    pub show_denied: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// The MCP server's command and arguments, executed directly (no shell).
    #[arg(required = true, last = true, value_name = "SERVER_COMMAND")]
    pub command: Vec<String>,
}

/// Tells people on stderr what the flow does with held calls.
struct Notes;

impl Sink for Notes {
    fn step(&self, step: &Step<'_>) {
        let line = match step {
            Step::Warning(text) => format!("gatekeep: warning: {text}"),
            Step::Filed { created, .. } => format!(
                "gatekeep: a tool call needs approval: request {} (review: {})",
                created.id, created.review_url
            ),
            Step::Ended { view } => {
                format!("gatekeep: request {} was {}", view.id, view.status.as_str())
            }
            _ => return,
        };
        eprintln!("{}", crate::render::inert(&line));
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let server = match &args.name {
        Some(name) if crate::mcp::valid_name(name) => name.clone(),
        Some(name) => {
            return Err(UserError::new(format!(
                "`{}` cannot name an MCP server",
                crate::render::text(name)
            ))
            .hint("use letters, digits, `-` and `_` (at most 64)")
            .into());
        }
        None => crate::mcp::server_name(&args.command),
    };
    let paths = Paths::from_env(env);
    let state_dir = paths
        .log_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let make_flow = || -> Result<Flow<'_>, UserError> {
        let config = Config::load(&paths.config_file)?;
        let decider = Decider::new(env, &args.policy.policies, true)?;
        let (redactor, log) =
            crate::flow::redactor_and_log(env, &config, &decider, args.log.as_deref())?;
        Ok(Flow {
            env,
            config,
            decider,
            redactor,
            log,
            run_id: uuid::Uuid::now_v7().to_string(),
            agent_session: None,
            token_file: args.token_file.clone(),
            sink: &Notes,
        })
    };
    let flow = make_flow()?;
    let mut child = std::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            UserError::new(format!(
                "cannot start the MCP server {}: {e}",
                crate::render::text(&args.command[0])
            ))
            .exit(if e.kind() == std::io::ErrorKind::NotFound {
                Exit::NotFound
            } else {
                Exit::Error
            })
        })?;
    flow.record(
        "mcp_proxy",
        json!({"mcp_server": server, "argv": flow.redactor.argv(&args.command), "pid": child.id()}),
    );
    let (Some(server_in), Some(server_out)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(UserError::new("the MCP server's standard streams are not pipes").into());
    };
    let proxy = Proxy {
        flow: &flow,
        held_flow: &make_flow,
        pins: PinFile::new(&state_dir, &server),
        server,
        hide_denied: !args.show_denied,
    };
    proxy.relay(server_in, server_out);
    let status = child
        .wait()
        .map_err(|e| UserError::new(format!("waiting for the MCP server: {e}")))?;
    Ok(match status.code() {
        Some(0) | None => Exit::Success,
        Some(code) => Exit::Child(u8::try_from(code).unwrap_or(1)),
    })
}
