//! `gatekeep mcp trust --name SERVER TOOL`: asks the approval service to trust the changed
//! (or new) definition of an MCP server's tool that the proxy holds back. The request shows
//! the pinned definition and the new one side by side; the pin changes only after a
//! reviewer approved and the grant was verified and used, so an agent cannot trust a tool
//! by running this command.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use crate::cli::PolicyArgs;
use crate::config::Config;
use crate::decide::Decider;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::flow::{
    self, Extra, Flow, OnStop, Redeemed, Requested, Sink, Step, Subject, WaitPolicy,
};
use crate::mcp::pins::PinFile;
use crate::paths::Paths;
use crate::policy::{ApprovalRequirement, Decision, Evaluation, Hit};

/// The rule id trust requests carry.
const RULE: &str = "mcp-trust";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's name, as the proxy was given it (`--name`) or derived it.
    #[arg(long, value_name = "SERVER")]
    pub name: String,
    /// The tool whose waiting definition to trust.
    pub tool: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// Says on stderr where the request is, in the words `run` uses.
struct Notes;

impl Sink for Notes {
    fn step(&self, step: &Step<'_>) {
        let line = match step {
            Step::Warning(text) => format!("gatekeep: warning: {text}"),
            Step::Filed { created, .. } => format!(
                "gatekeep: approval required: request {}\n  review:    {}",
                created.id, created.review_url
            ),
            _ => return,
        };
        eprintln!("{}", crate::render::inert(&line));
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    if !crate::mcp::valid_name(&args.name) {
        return Err(UserError::new(format!(
            "`{}` cannot name an MCP server",
            crate::render::text(&args.name)
        ))
        .into());
    }
    let paths = Paths::from_env(env);
    let state_dir = paths
        .log_file
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let pins = PinFile::new(&state_dir, &args.name);
    let known = pins.read()?.unwrap_or_default();
    let Some(waiting) = known.waiting.get(&args.tool).cloned() else {
        return Err(UserError::new(format!(
            "no changed or new definition of {} waits for trust on MCP server {}",
            crate::render::text(&args.tool),
            args.name
        ))
        .hint("the proxy records one when the server lists a tool whose definition is not the pinned one")
        .into());
    };
    let old = known.tools.get(&args.tool).map(|p| p.definition.clone());
    let config = Config::load(&paths.config_file)?;
    let decider = Decider::new(env, &args.policy.policies, false)?;
    let (redactor, log) =
        crate::flow::redactor_and_log(env, &config, &decider, args.log.as_deref())?;
    let approval = decider.policy.default_approval().clone();
    let evaluation = Evaluation {
        decision: Decision::Approve,
        hits: vec![Hit {
            rule: RULE.to_owned(),
            decision: Decision::Approve,
            unprovable: false,
            command: 0,
            description: Some(
                "Trusting a changed or new MCP tool definition: the agent will see and may call it"
                    .to_owned(),
            ),
            reasons: Vec::new(),
        }],
        commands: vec![vec![format!("mcp-trust:{}", args.name)]],
        runtime_words: vec![Vec::new()],
        opaque: Vec::new(),
        approvals: vec![ApprovalRequirement {
            rule: RULE.to_owned(),
            approvers: approval.approvers.clone(),
            quorum: approval.quorum,
            ..Default::default()
        }],
        supervised: false,
        supervise_approvals: Vec::new(),
        local_ask: false,
        timeout_seconds: Some(approval.timeout_seconds),
        reason_required: false,
        secrets: Vec::new(),
    };
    let input = json!({
        "server": args.name,
        "tool": args.tool,
        "pinned": old.clone().unwrap_or(Value::Null),
        "new": waiting.definition,
        "new_digest": waiting.digest,
    });
    let flow = Flow {
        env,
        config,
        decider,
        redactor,
        log,
        run_id: uuid::Uuid::now_v7().to_string(),
        agent_session: None,
        token_file: args.token_file.clone(),
        sink: &Notes,
    };
    let reason = changes(old.as_ref(), &waiting.definition);
    let mut extra = Extra::new();
    extra.insert("via".to_owned(), json!("mcp trust"));
    extra.insert("mcp_server".to_owned(), json!(args.name));
    extra.insert("tool".to_owned(), json!(args.tool));
    let decided = flow.decide_evaluated(
        Subject::Tool {
            name: format!("mcp-trust:{}", args.name),
            input,
        },
        evaluation,
        Some(&reason),
        extra,
    )?;
    let connected = flow.connect(&decided, None)?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let _int = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let _term = signal_hook::flag::register(signal_hook::consts::SIGTERM, Arc::clone(&interrupted));
    let wait = WaitPolicy {
        reuse: false,
        no_wait: false,
        bound: None,
        interrupted,
        on_stop: OnStop::End,
        break_glass: false,
    };
    let requested = flow.request(&decided, &connected, Some(reason), &wait)?;
    let Requested::Approved(approval) = requested else {
        let exit = flow::exit_of(&requested);
        if let Requested::Ended(view) = &requested {
            eprintln!(
                "gatekeep: request {} was {}; {} stays held back",
                view.id,
                view.status.as_str(),
                crate::render::text(&args.tool)
            );
        }
        return Ok(exit);
    };
    match flow.redeem(&decided, &approval, true)? {
        Redeemed::Granted { .. } => {}
        Redeemed::Unusable => return Ok(Exit::Expired),
    }
    pins.trust(&args.tool, &waiting.digest)?;
    flow.record(
        "mcp_trusted",
        json!({"mcp_server": args.name, "tool": args.tool, "digest": waiting.digest, "request_id": approval.view.id}),
    );
    eprintln!(
        "gatekeep: {} of MCP server {} is trusted (request {}); the agent sees it on its next tools/list",
        crate::render::text(&args.tool),
        args.name,
        approval.view.id
    );
    Ok(Exit::Success)
}

/// The requester's summary of what changed, next to the two definitions.
fn changes(old: Option<&Value>, new: &Value) -> String {
    let Some(old) = old else {
        return "a tool the server did not list when it was first pinned".to_owned();
    };
    let changed: Vec<&str> = ["name", "description", "inputSchema"]
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .collect();
    format!("changed since it was pinned: {}", changed.join(", "))
}
