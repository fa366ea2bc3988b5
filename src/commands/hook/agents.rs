//! Each agent's hook dialect: what its tool-call hook sends on stdin (read into one
//! [`Call`]) and how each [`Answer`] is written back on stdout. The contracts, and an
//! example of each, are kept in `tests/data/agents/`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::exit::UserError;

/// The agents whose tool-call hooks gatekeep answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Claude Code's PreToolUse (`.claude/settings.json`).
    ClaudeCode,
    /// OpenAI Codex's PreToolUse (`hooks.json` or `config.toml`).
    Codex,
    /// OpenAI Codex's PermissionRequest: the approval prompt for a command.
    CodexPermission,
    /// Gemini CLI's BeforeTool (`.gemini/settings.json`).
    Gemini,
    /// Cursor's beforeShellExecution and beforeMCPExecution (`.cursor/hooks.json`).
    Cursor,
}

impl Agent {
    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Codex => "codex",
            Agent::CodexPermission => "codex-permission",
            Agent::Gemini => "gemini",
            Agent::Cursor => "cursor",
        }
    }

    /// The agent for a name on a command line clap could not parse (Claude Code's shape
    /// for an unknown one: every answer is a denial anyway).
    pub fn named(name: Option<&str>) -> Agent {
        [
            Agent::Codex,
            Agent::CodexPermission,
            Agent::Gemini,
            Agent::Cursor,
        ]
        .into_iter()
        .find(|a| Some(a.name()) == name)
        .unwrap_or(Agent::ClaudeCode)
    }

    /// The agent can show its own permission prompt to the person in front of it, on the
    /// hook's word (`ask`).
    pub fn can_ask(self) -> bool {
        matches!(self, Agent::ClaudeCode | Agent::Cursor)
    }

    /// The agent runs a shell command rewritten by the hook.
    pub fn can_rewrite(self) -> bool {
        matches!(self, Agent::ClaudeCode | Agent::Codex | Agent::Gemini)
    }

    /// What the event is called in the agent's settings, for messages.
    fn events(self) -> &'static str {
        match self {
            Agent::ClaudeCode | Agent::Codex => "PreToolUse",
            Agent::CodexPermission => "PermissionRequest",
            Agent::Gemini => "BeforeTool",
            Agent::Cursor => "beforeShellExecution or beforeMCPExecution",
        }
    }
}

/// One tool call, whatever the agent's dialect.
#[derive(Debug, Default)]
pub struct Call {
    pub session_id: Option<String>,
    /// The directory the call runs in, as the agent gives it.
    pub cwd: Option<String>,
    /// The tool's name as policies see it (`Bash` for every agent's shell tool).
    pub tool_name: String,
    /// The tool's arguments; for a shell call, the object whose `command` is rewritten.
    pub tool_input: Value,
    pub tool_use_id: Option<String>,
    /// Claude Code's transcript (JSON Lines), read to decide on `defer`.
    pub transcript_path: Option<String>,
    /// The shell line, for a shell call.
    pub shell: Option<String>,
    /// What the agent says the call is for.
    pub description: Option<String>,
    /// Codex's PermissionRequest for network access rather than a command.
    pub network: bool,
    /// Claude Code's permission mode for the session (`default`, `plan`, `acceptEdits`,
    /// `bypassPermissions`…), when it says.
    pub permission_mode: Option<String>,
}

fn malformed(agent: Agent, error: impl std::fmt::Display) -> UserError {
    UserError::new(format!("malformed hook input: {error}")).hint(format!(
        "expected a {} JSON object on stdin",
        agent.events()
    ))
}

fn wrong_event(agent: Agent, event: &str) -> UserError {
    UserError::new(format!(
        "gatekeep hook answers {} events, not {event}",
        agent.events()
    ))
    .hint(format!(
        "register it under {} in the agent's hook settings",
        agent.events()
    ))
}

/// The shell line of a shell tool's arguments.
fn shell_line(tool: &str, input: &Value) -> Result<String, UserError> {
    input
        .get("command")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            UserError::new(format!(
                "malformed hook input: a {tool} tool call without tool_input.command"
            ))
        })
}

fn description(input: &Value) -> Option<String> {
    input
        .get("description")?
        .as_str()
        .filter(|d| !d.trim().is_empty())
        .map(str::to_owned)
}

/// Claude Code's and Codex's PreToolUse input (unknown fields are ignored: agents add some).
#[derive(Deserialize)]
struct PreToolUse {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    hook_event_name: Option<String>,
    tool_name: String,
    #[serde(default)]
    tool_input: Value,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    transcript_path: Option<String>,
    #[serde(default)]
    permission_mode: Option<String>,
}

/// Codex's PermissionRequest input: a closed schema, so a field it does not name is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionRequest {
    cwd: String,
    hook_event_name: String,
    #[allow(dead_code)]
    model: String,
    #[allow(dead_code)]
    permission_mode: String,
    session_id: String,
    tool_input: PermissionToolInput,
    tool_name: String,
    #[allow(dead_code)]
    transcript_path: Option<String>,
    #[allow(dead_code)]
    turn_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionToolInput {
    command: String,
    #[serde(default)]
    description: Option<String>,
}

/// Gemini CLI's BeforeTool input (its base fields grow between versions: unknown ones are
/// ignored).
#[derive(Deserialize)]
struct BeforeTool {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    transcript_path: Option<String>,
    cwd: String,
    hook_event_name: String,
    tool_name: String,
    tool_input: Map<String, Value>,
    /// For an MCP server's tool: which server and tool (Gemini names the tool
    /// `mcp_SERVER_TOOL`, which cannot be split where either name has a `_`).
    #[serde(default)]
    mcp_context: Option<GeminiMcp>,
}

#[derive(Deserialize)]
struct GeminiMcp {
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
}

/// An MCP tool as rules name it, whatever the agent calls it: `mcp__SERVER__TOOL`.
fn mcp_tool(server: &str, tool: &str) -> String {
    format!("mcp__{server}__{tool}")
}

/// Cursor's beforeShellExecution and beforeMCPExecution input.
#[derive(Deserialize)]
struct CursorInput {
    hook_event_name: String,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    generation_id: Option<String>,
    #[serde(default)]
    workspace_roots: Vec<String>,
    #[serde(default)]
    command: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
    /// An object, or the object serialised as a string (both shapes are documented).
    #[serde(default)]
    tool_input: Option<Value>,
}

/// The name of Gemini CLI's shell tool.
const GEMINI_SHELL: &str = "run_shell_command";

/// Reads one hook input in `agent`'s dialect.
pub fn read(agent: Agent, raw: &[u8]) -> Result<Call, UserError> {
    match agent {
        Agent::ClaudeCode | Agent::Codex => {
            let input: PreToolUse = serde_json::from_slice(raw).map_err(|e| malformed(agent, e))?;
            if let Some(event) = &input.hook_event_name
                && event != "PreToolUse"
            {
                return Err(wrong_event(agent, event));
            }
            let bash = input.tool_name == "Bash";
            Ok(Call {
                shell: if bash {
                    Some(shell_line("Bash", &input.tool_input)?)
                } else {
                    None
                },
                description: description(&input.tool_input),
                session_id: input.session_id,
                cwd: input.cwd,
                tool_name: input.tool_name,
                tool_input: input.tool_input,
                tool_use_id: input.tool_use_id,
                permission_mode: input.permission_mode,
                transcript_path: input.transcript_path,
                network: false,
            })
        }
        Agent::CodexPermission => {
            let input: PermissionRequest =
                serde_json::from_slice(raw).map_err(|e| malformed(agent, e))?;
            if input.hook_event_name != "PermissionRequest" {
                return Err(wrong_event(agent, &input.hook_event_name));
            }
            let network = match input.tool_name.as_str() {
                "Bash" => false,
                "NetworkAccess" => true,
                other => return Err(malformed(agent, format!("unknown tool_name `{other}`"))),
            };
            Ok(Call {
                session_id: Some(input.session_id),
                cwd: Some(input.cwd),
                tool_input: json!({"command": input.tool_input.command}),
                shell: Some(input.tool_input.command),
                description: input
                    .tool_input
                    .description
                    .filter(|d| !d.trim().is_empty()),
                tool_name: "Bash".to_owned(),
                network,
                ..Call::default()
            })
        }
        Agent::Gemini => {
            let input: BeforeTool = serde_json::from_slice(raw).map_err(|e| malformed(agent, e))?;
            if input.hook_event_name != "BeforeTool" {
                return Err(wrong_event(agent, &input.hook_event_name));
            }
            let tool_input = Value::Object(input.tool_input);
            let shell = input.tool_name == GEMINI_SHELL;
            // The shell tool runs in `dir_path` (older versions: `directory`), relative to
            // the project's directory.
            let mut cwd = input.cwd;
            if shell
                && let Some(dir) = ["dir_path", "directory"]
                    .iter()
                    .find_map(|k| tool_input.get(*k)?.as_str())
                    .filter(|d| !d.is_empty())
            {
                cwd = if dir.starts_with('/') {
                    dir.to_owned()
                } else {
                    format!("{cwd}/{dir}")
                };
            }
            Ok(Call {
                shell: if shell {
                    Some(shell_line(GEMINI_SHELL, &tool_input)?)
                } else {
                    None
                },
                description: description(&tool_input),
                session_id: input.session_id,
                cwd: Some(cwd),
                tool_name: if shell {
                    "Bash".to_owned()
                } else if let Some(GeminiMcp {
                    server_name: Some(server),
                    tool_name: Some(tool),
                }) = &input.mcp_context
                {
                    mcp_tool(server, tool)
                } else {
                    input.tool_name
                },
                tool_input,
                transcript_path: input.transcript_path,
                ..Call::default()
            })
        }
        Agent::Cursor => {
            let input: CursorInput =
                serde_json::from_slice(raw).map_err(|e| malformed(agent, e))?;
            let session_id = input
                .conversation_id
                .clone()
                .or(input.generation_id.clone());
            let cwd = input
                .cwd
                .filter(|c| !c.is_empty())
                .or_else(|| input.workspace_roots.first().cloned());
            match input.hook_event_name.as_str() {
                "beforeShellExecution" => {
                    let line = input
                        .command
                        .ok_or_else(|| malformed(agent, "beforeShellExecution without command"))?;
                    Ok(Call {
                        session_id,
                        cwd,
                        tool_name: "Bash".to_owned(),
                        tool_input: json!({"command": line}),
                        shell: Some(line),
                        ..Call::default()
                    })
                }
                "beforeMCPExecution" => {
                    let tool = input
                        .tool_name
                        .filter(|t| !t.is_empty())
                        .ok_or_else(|| malformed(agent, "beforeMCPExecution without tool_name"))?;
                    let arguments = match input.tool_input {
                        Some(Value::String(text)) => serde_json::from_str(&text).map_err(|e| {
                            malformed(agent, format!("tool_input is not a JSON object: {e}"))
                        })?,
                        Some(value) => value,
                        None => json!({}),
                    };
                    if !arguments.is_object() {
                        return Err(malformed(agent, "tool_input is not a JSON object"));
                    }
                    // Cursor gives the bare tool name and the server's command: the server
                    // is named from it, as `gatekeep mcp proxy` names one.
                    let server = input
                        .command
                        .as_deref()
                        .map(|c| {
                            crate::mcp::server_name(
                                &c.split_whitespace().map(str::to_owned).collect::<Vec<_>>(),
                            )
                        })
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "cursor".to_owned());
                    Ok(Call {
                        session_id,
                        cwd,
                        tool_name: mcp_tool(&server, &tool),
                        tool_input: arguments,
                        ..Call::default()
                    })
                }
                other => Err(wrong_event(agent, other)),
            }
        }
    }
}

/// What the hook tells the agent.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// No opinion: the agent's own permission rules decide (Codex's PermissionRequest:
    /// the person in front of it).
    Pass,
    /// Run the tool call, possibly rewritten.
    Allow {
        reason: String,
        updated_input: Option<Value>,
    },
    /// Do not run it; the reason is shown to the model.
    Deny(String),
    /// Show the agent's own permission prompt to the person in front of it.
    Ask(String),
    /// Claude Code in `-p`: stop the session at this call, to be resumed later.
    Defer(String),
}

impl Answer {
    pub fn name(&self) -> &'static str {
        match self {
            Answer::Pass => "none",
            Answer::Allow { .. } => "allow",
            Answer::Deny(_) => "deny",
            Answer::Ask(_) => "ask",
            Answer::Defer(_) => "defer",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Answer::Pass => None,
            Answer::Allow { reason, .. }
            | Answer::Deny(reason)
            | Answer::Ask(reason)
            | Answer::Defer(reason) => Some(reason),
        }
    }

    /// The answer the agent can take: one it cannot (an `ask` where it has no prompt, a
    /// rewrite it would not run) becomes a denial with the same reason.
    pub fn for_agent(self, agent: Agent) -> Answer {
        match self {
            Answer::Ask(reason) if !agent.can_ask() => Answer::Deny(reason),
            Answer::Defer(reason) if agent != Agent::ClaudeCode => Answer::Deny(reason),
            Answer::Allow {
                reason,
                updated_input: Some(_),
            } if !agent.can_rewrite() => Answer::Deny(format!(
                "gatekeep: {} cannot run a rewritten command ({reason}); the command was not allowed",
                agent.name()
            )),
            other => other,
        }
    }

    /// The JSON to print on stdout, if any, in `agent`'s dialect.
    pub fn render(&self, agent: Agent) -> Option<Value> {
        match agent {
            Agent::ClaudeCode | Agent::Codex => self.pre_tool_use(agent),
            Agent::CodexPermission => {
                let decision = match self {
                    // Quiet: Codex asks the person in front of it, as without the hook.
                    Answer::Pass | Answer::Ask(_) => return None,
                    Answer::Allow {
                        updated_input: None,
                        ..
                    } => json!({"behavior": "allow"}),
                    Answer::Allow { reason, .. } | Answer::Deny(reason) | Answer::Defer(reason) => {
                        json!({"behavior": "deny", "message": reason})
                    }
                };
                Some(json!({"hookSpecificOutput": {
                    "hookEventName": "PermissionRequest",
                    "decision": decision,
                }}))
            }
            Agent::Gemini => Some(match self {
                Answer::Pass => json!({}),
                Answer::Allow {
                    reason,
                    updated_input,
                } => {
                    let mut output = json!({"decision": "allow", "reason": reason});
                    if let Some(updated) = updated_input {
                        output["hookSpecificOutput"] =
                            json!({"hookEventName": "BeforeTool", "tool_input": updated});
                    }
                    output
                }
                Answer::Deny(reason) | Answer::Ask(reason) | Answer::Defer(reason) => {
                    json!({"decision": "deny", "reason": reason})
                }
            }),
            Agent::Cursor => Some(match self {
                Answer::Pass => json!({}),
                Answer::Allow {
                    updated_input: None,
                    ..
                } => json!({"permission": "allow"}),
                Answer::Ask(reason) => json!({
                    "permission": "ask",
                    "user_message": reason,
                    "agent_message": reason,
                }),
                Answer::Allow { reason, .. } | Answer::Deny(reason) | Answer::Defer(reason) => {
                    json!({
                        "permission": "deny",
                        "user_message": reason,
                        "agent_message": reason,
                    })
                }
            }),
        }
    }

    fn pre_tool_use(&self, agent: Agent) -> Option<Value> {
        let (decision, reason, updated) = match self {
            Answer::Pass => return None,
            // Codex refuses a bare `allow` (and then runs the call anyway under its own
            // rules); saying nothing has the same effect without a hook error.
            Answer::Allow {
                updated_input: None,
                ..
            } if agent == Agent::Codex => return None,
            Answer::Allow {
                reason,
                updated_input,
            } => ("allow", reason, updated_input.as_ref()),
            Answer::Ask(reason) if agent == Agent::ClaudeCode => ("ask", reason, None),
            Answer::Defer(reason) if agent == Agent::ClaudeCode => ("defer", reason, None),
            Answer::Deny(reason) | Answer::Ask(reason) | Answer::Defer(reason) => {
                ("deny", reason, None)
            }
        };
        let mut output = json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        });
        if let Some(updated) = updated {
            output["updatedInput"] = updated.clone();
        }
        Some(json!({ "hookSpecificOutput": output }))
    }
}

/// Whether Claude Code's transcript shows the call `tool_use_id` as the only tool call of
/// its assistant message: `defer` is honoured only for a call that has no siblings.
/// Anything unreadable counts as "no".
pub fn only_call_in_turn(transcript: &str, tool_use_id: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(transcript) else {
        return false;
    };
    let entries: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let uses = |entry: &Value| -> Vec<String> {
        entry["message"]["content"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|block| block["type"] == "tool_use")
            .filter_map(|block| block["id"].as_str().map(str::to_owned))
            .collect()
    };
    let Some(holder) = entries
        .iter()
        .find(|e| uses(e).iter().any(|id| id == tool_use_id))
    else {
        return false;
    };
    // One assistant message may be written as several entries, one per content block.
    let message = &holder["message"]["id"];
    let mut ids: Vec<String> = entries
        .iter()
        .filter(|e| !message.is_null() && &e["message"]["id"] == message)
        .flat_map(uses)
        .collect();
    if message.is_null() {
        ids = uses(holder);
    }
    ids.sort();
    ids.dedup();
    ids.len() == 1
}
