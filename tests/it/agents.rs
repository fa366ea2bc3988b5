//! `gatekeep hook gemini|cursor|codex-permission`, `local_ask` and Claude Code's `defer`:
//! each agent's documented input in, and the answer checked field by field against the
//! agent's contract kept in `tests/data/agents/`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, Service, UserSpec};

const POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"], timeout: 5m}
rules:
  - id: ls-is-fine
    decision: allow
    match: {program: ls}
  - id: rm-root
    description: Recursive delete of the root
    decision: deny
    match: {program: rm, flags: ["-r|-R|--recursive"], args: [["/", "/*"]]}
  - id: touch-needs-ok
    description: Creating files needs a second pair of eyes
    decision: approve
    match: {program: touch}
  - id: mkdir-ask-here
    description: New directories, decided at the terminal by a reviewer
    decision: approve
    approval: {local_ask: true}
    match: {program: mkdir}
  - id: no-etc-writes
    description: Writing under /etc
    decision: deny
    match: {tool: [Write, write_file], input: {file_path: "/etc/**"}}
  - id: no-etc-mcp-writes
    description: An MCP server writing under /etc
    decision: deny
    match: {tool: "mcp__*__write_file", input: {path: "/etc/**"}}
  - id: no-drops
    description: Dropping tables
    decision: deny
    match: {tool: "mcp__*__query", input: {sql: "re:(?i)drop"}}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
    ("agent", &[], false),
];

fn data(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/agents")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Checks `value` against the subset of JSON Schema the kept contracts use: `type`, `const`,
/// `enum`, `properties`, `additionalProperties: false`, `required`, `items`, `$ref`,
/// `allOf`. Returns the first place that breaks the contract.
fn conforms(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/definitions/");
        return conforms(root, &root["definitions"][name], value, at);
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        conforms(root, part, value, at)?;
    }
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match &schema["type"] {
        Value::String(t) if t != kind(value) => {
            return Err(format!("{at}: {} where the contract says {t}", kind(value)));
        }
        Value::Array(types) if !types.iter().any(|t| t == kind(value)) => {
            return Err(format!("{at}: {} is none of {types:?}", kind(value)));
        }
        _ => {}
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        return Err(format!("{at}: {value} is not {expected}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Value::Object(fields) = value {
        let properties = &schema["properties"];
        for (key, field) in fields {
            match properties.get(key) {
                Some(property) => conforms(root, property, field, &format!("{at}.{key}"))?,
                None if schema["additionalProperties"] == false => {
                    return Err(format!("{at}.{key}: not a field of the contract"));
                }
                None => {}
            }
        }
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            if !fields.contains_key(key) {
                return Err(format!("{at}.{key}: required by the contract, missing"));
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, element) in items.iter().enumerate() {
            conforms(root, item, element, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[track_caller]
fn assert_conforms(schema_file: &str, value: &Value) {
    let schema = data(schema_file);
    if let Err(problem) = conforms(&schema, &schema, value, "$") {
        panic!("{value} breaks {schema_file}: {problem}");
    }
}

/// Runs the hook to completion: (exit status, stdout parsed, or None when empty).
fn hook(
    mut cmd: Command,
    agent: &str,
    policy: &str,
    extra: &[&str],
    input: &[u8],
) -> Option<Value> {
    cmd.args(["hook", agent, "--policy", policy]).args(extra);
    let output = assert_cmd::Command::from_std(cmd)
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "a hook always exits 0; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    if text.trim().is_empty() {
        return None;
    }
    assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
    Some(serde_json::from_str(&text).expect("stdout is JSON"))
}

fn gemini_input(tool: &str, tool_input: Value, cwd: &Path) -> Value {
    let mut input = data("gemini.before-tool.input.json");
    input["cwd"] = json!(cwd);
    input["tool_name"] = json!(tool);
    input["tool_input"] = tool_input;
    input
}

fn cursor_shell(command: &str, cwd: &Path) -> Value {
    let mut input = data("cursor.before-shell-execution.input.json");
    input["command"] = json!(command);
    input["cwd"] = json!(cwd);
    input["workspace_roots"] = json!([cwd]);
    input
}

fn codex_permission(command: &str, cwd: &Path) -> Value {
    let mut input = data("codex.permission-request.input.json");
    input["tool_input"] = json!({"command": command});
    input["cwd"] = json!(cwd);
    input
}

fn claude_input(command: &str, cwd: &Path, transcript: &Path) -> Value {
    json!({
        "session_id": "sess-77",
        "transcript_path": transcript,
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "make room"},
        "tool_use_id": "toolu_07",
    })
}

#[test]
fn the_kept_examples_follow_the_kept_contracts() {
    assert_conforms(
        "gemini.before-tool.input.schema.json",
        &data("gemini.before-tool.input.json"),
    );
    assert_conforms(
        "codex.permission-request.input.schema.json",
        &data("codex.permission-request.input.json"),
    );
    for example in [
        "cursor.before-shell-execution.input.json",
        "cursor.before-mcp-execution.input.json",
    ] {
        assert_conforms("cursor.before-execution.input.schema.json", &data(example));
    }
    // The checker itself refuses what breaks a contract.
    let schema = data("codex.permission-request.output.schema.json");
    let wrong = json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "ask"}}});
    assert!(conforms(&schema, &schema, &wrong, "$").is_err());
    let extra = json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "permissionDecision": "allow"}});
    assert!(conforms(&schema, &schema, &extra, "$").is_err());
}

#[test]
fn gemini_answers_in_its_own_shape() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let cwd = env.root();
    let ask = |input: &[u8]| {
        let output = hook(env.gatekeep_std(), "gemini", &policy, &[], input)
            .expect("Gemini always gets a JSON object");
        assert_conforms("gemini.before-tool.output.schema.json", &output);
        output
    };
    let shell = |command: &str| {
        gemini_input(
            "run_shell_command",
            json!({"command": command, "description": "look"}),
            cwd,
        )
        .to_string()
    };
    // The documented example, as it comes: an explicit allow rule.
    let mut example = data("gemini.before-tool.input.json");
    example["cwd"] = json!(cwd);
    assert_eq!(
        ask(example.to_string().as_bytes()),
        json!({"decision": "allow", "reason": "allowed by gatekeep rule ls-is-fine"})
    );
    assert_eq!(
        ask(shell("rm -rf /").as_bytes()),
        json!({"decision": "deny", "reason": "gatekeep: denied by rule rm-root: Recursive delete of the root"})
    );
    // Only the default: an empty object, so Gemini's own rules decide.
    assert_eq!(ask(shell("echo hi").as_bytes()), json!({}));
    let write = gemini_input(
        "write_file",
        json!({"file_path": "/etc/sudoers.d/agent", "content": "ALL"}),
        cwd,
    );
    assert_eq!(
        ask(write.to_string().as_bytes()),
        json!({"decision": "deny", "reason": "gatekeep: denied by rule no-etc-writes: Writing under /etc"})
    );
    // The shell tool's own directory is where the command is judged.
    std::fs::create_dir_all(cwd.join("sub")).unwrap();
    let sub = gemini_input(
        "run_shell_command",
        json!({"command": "ls", "dir_path": "sub"}),
        cwd,
    );
    assert_eq!(ask(sub.to_string().as_bytes())["decision"], "allow");
    let inside = gemini_input(
        "run_shell_command",
        json!({"command": "ls", "dir_path": "nowhere"}),
        cwd,
    );
    let output = ask(inside.to_string().as_bytes());
    assert_eq!(output["decision"], "deny");
    assert!(
        output["reason"]
            .as_str()
            .unwrap()
            .contains("cannot enter the tool call's directory"),
        "{output}"
    );
    // Malformed input, another event, a missing field: deny.
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"not json".to_vec(),
            "gatekeep: malformed hook input: expected ident at line 1 column 2 (expected a BeforeTool JSON object on stdin)",
        ),
        (
            {
                let mut other = data("gemini.before-tool.input.json");
                other["hook_event_name"] = json!("AfterTool");
                other.to_string().into_bytes()
            },
            "gatekeep: gatekeep hook answers BeforeTool events, not AfterTool (register it under BeforeTool in the agent's hook settings)",
        ),
        (
            gemini_input("run_shell_command", json!({"description": "x"}), cwd)
                .to_string()
                .into_bytes(),
            "gatekeep: malformed hook input: a run_shell_command tool call without tool_input.command",
        ),
    ];
    for (input, reason) in cases {
        assert_eq!(ask(&input), json!({"decision": "deny", "reason": reason}));
    }
    // Arguments clap cannot parse: a deny in Gemini's shape.
    let output = env
        .gatekeep()
        .args(["hook", "gemini", "--no-such-flag"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["decision"], "deny");
    assert_conforms("gemini.before-tool.output.schema.json", &parsed);
    // An MCP server's tool: Gemini names it mcp_SERVER_TOOL and says which in
    // mcp_context; rules see it as mcp__SERVER__TOOL.
    let mut mcp = gemini_input(
        "mcp_fs_write_file",
        json!({"path": "/etc/cron.d/job", "content": "x"}),
        cwd,
    );
    mcp["mcp_context"] = json!({"server_name": "fs", "tool_name": "write_file", "command": "npx"});
    let held = ask(mcp.to_string().as_bytes());
    assert_eq!(held["decision"], "deny", "{held}");
    assert!(
        held["reason"]
            .as_str()
            .unwrap()
            .contains("no-etc-mcp-writes"),
        "{held}"
    );
}

#[test]
fn cursor_answers_shell_and_mcp_calls_in_its_own_shape() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let cwd = env.root();
    let ask = |input: &Value| {
        let output = hook(
            env.gatekeep_std(),
            "cursor",
            &policy,
            &[],
            input.to_string().as_bytes(),
        )
        .expect("Cursor always gets a JSON object");
        assert_conforms("cursor.before-execution.output.schema.json", &output);
        output
    };
    let mut example = data("cursor.before-shell-execution.input.json");
    example["cwd"] = json!(cwd);
    assert_eq!(ask(&example), json!({"permission": "allow"}));
    let denied = "gatekeep: denied by rule rm-root: Recursive delete of the root";
    assert_eq!(
        ask(&cursor_shell("rm -rf /", cwd)),
        json!({"permission": "deny", "user_message": denied, "agent_message": denied})
    );
    assert_eq!(ask(&cursor_shell("echo hi", cwd)), json!({}));
    // An MCP call: its arguments as Cursor sends them (a JSON text), or as an object.
    let mut mcp = data("cursor.before-mcp-execution.input.json");
    mcp["workspace_roots"] = json!([cwd]);
    assert_eq!(ask(&mcp), json!({}));
    mcp["tool_input"] = json!(r#"{"sql": "DROP TABLE users"}"#);
    let dropped = "gatekeep: denied by rule no-drops: Dropping tables";
    assert_eq!(
        ask(&mcp),
        json!({"permission": "deny", "user_message": dropped, "agent_message": dropped})
    );
    mcp["tool_input"] = json!({"sql": "drop table users"});
    assert_eq!(ask(&mcp)["permission"], "deny");
    // Cursor names the tool alone: rules see it as mcp__SERVER__TOOL, the server named
    // from its command, as the MCP gateway names it.
    let mut fs = data("cursor.before-mcp-execution.input.json");
    fs["workspace_roots"] = json!([cwd]);
    fs["tool_name"] = json!("write_file");
    fs["command"] = json!("npx -y @modelcontextprotocol/server-filesystem /srv");
    fs["tool_input"] = json!({"path": "/etc/cron.d/job", "content": "x"});
    let held = ask(&fs);
    assert_eq!(held["permission"], "deny", "{held}");
    assert!(
        held["agent_message"]
            .as_str()
            .unwrap()
            .contains("no-etc-mcp-writes"),
        "{held}"
    );
    // Malformed: arguments that are no JSON object, an event it does not answer.
    mcp["tool_input"] = json!("not json");
    let output = ask(&mcp);
    assert_eq!(output["permission"], "deny");
    assert!(
        output["agent_message"]
            .as_str()
            .unwrap()
            .starts_with("gatekeep: malformed hook input: tool_input is not a JSON object"),
        "{output}"
    );
    let mut other = cursor_shell("ls", cwd);
    other["hook_event_name"] = json!("afterShellExecution");
    assert_eq!(ask(&other)["permission"], "deny");
    // Approval needed, no service: deny (Cursor's own prompt is not a reviewer).
    assert_eq!(ask(&cursor_shell("touch x", cwd))["permission"], "deny");
    assert!(!cwd.join("x").exists());
}

#[test]
fn codex_permission_request_allows_only_what_a_rule_allows() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let cwd = env.root();
    let ask = |input: &Value| {
        let output = hook(
            env.gatekeep_std(),
            "codex-permission",
            &policy,
            &[],
            input.to_string().as_bytes(),
        );
        if let Some(output) = &output {
            assert_conforms("codex.permission-request.output.schema.json", output);
        }
        output
    };
    let mut example = data("codex.permission-request.input.json");
    example["cwd"] = json!(cwd);
    assert_eq!(
        ask(&example),
        Some(
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}})
        )
    );
    assert_eq!(
        ask(&codex_permission("rm -rf /", cwd)),
        Some(
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {
                "behavior": "deny",
                "message": "gatekeep: denied by rule rm-root: Recursive delete of the root",
            }}})
        )
    );
    // The default, a command needing approval, a line only partly allowed: the person in
    // front of Codex decides (no answer), never a blanket allow.
    assert_eq!(ask(&codex_permission("echo hi", cwd)), None);
    assert_eq!(ask(&codex_permission("touch x", cwd)), None);
    assert_eq!(ask(&codex_permission("ls; curl example.com", cwd)), None);
    // Network access on an allowed command's behalf is not the command.
    let mut network = codex_permission("ls", cwd);
    network["tool_name"] = json!("NetworkAccess");
    assert_eq!(ask(&network), None);
    // The contract is closed: an unknown field, a missing one, another tool: deny.
    let deny = |output: Option<Value>| {
        let output = output.expect("an answer");
        assert_eq!(
            output["hookSpecificOutput"]["decision"]["behavior"], "deny",
            "{output}"
        );
        output["hookSpecificOutput"]["decision"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut unknown = codex_permission("ls", cwd);
    unknown["sandbox"] = json!("workspace-write");
    assert!(deny(ask(&unknown)).contains("unknown field `sandbox`"));
    let mut unknown = codex_permission("ls", cwd);
    unknown["tool_input"]["justification"] = json!("please");
    assert!(deny(ask(&unknown)).contains("unknown field `justification`"));
    let mut missing = codex_permission("ls", cwd);
    missing.as_object_mut().unwrap().remove("turn_id");
    assert!(deny(ask(&missing)).contains("missing field `turn_id`"));
    let mut tool = codex_permission("ls", cwd);
    tool["tool_name"] = json!("Write");
    assert!(deny(ask(&tool)).contains("unknown tool_name `Write`"));
    assert!(deny(ask(&json!("nope"))).starts_with("gatekeep: malformed hook input"));
}

/// The hook as `user`, in the background.
fn in_background(
    service: &Service,
    env: &TestEnv,
    user: &str,
    agent: &str,
    args: &[&str],
    input: &Value,
) -> (KillOnDrop, Lines) {
    let mut child = service
        .as_user(env, user)
        .args(["hook", agent])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.to_string().as_bytes()).unwrap();
    drop(stdin);
    let lines = Lines::collect(child.stdout.take().unwrap());
    (KillOnDrop(child), lines)
}

fn finish(mut child: KillOnDrop, lines: &Lines) -> Value {
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    serde_json::from_str(&lines.complete()).unwrap()
}

fn review(service: &Service, env: &TestEnv, verdict: &str, id: &str, comment: &str) {
    let output = service
        .as_user(env, "alice")
        .args([verdict, id, "-m", comment])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

/// How many requests the hooks filed, from the audit log.
fn requests(env: &TestEnv) -> usize {
    env.log_records()
        .iter()
        .filter(|r| r["event"] == "approval_requested")
        .count()
}

#[test]
fn approved_from_the_cli_gemini_runs_the_rewritten_command_and_cursor_uses_the_grant() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "requests: {grant_lifetime: 5m}");
    let work = env.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Gemini: approved, the command comes back rewritten in hookSpecificOutput.tool_input.
    let input = gemini_input(
        "run_shell_command",
        json!({"command": "touch made-by-gemini", "description": "make a file"}),
        &work,
    );
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "gemini",
        &["--policy", &policy],
        &input,
    );
    let id = service.pending_id("alice");
    review(&service, &env, "approve", &id, "fine");
    let output = finish(child, &lines);
    assert_conforms("gemini.before-tool.output.schema.json", &output);
    assert_eq!(output["decision"], "allow");
    assert_eq!(
        output["reason"],
        format!("gatekeep: request {id} approved by alice")
    );
    assert_eq!(output["hookSpecificOutput"]["hookEventName"], "BeforeTool");
    assert_eq!(
        output["hookSpecificOutput"]["tool_input"]["description"],
        "make a file"
    );
    let rewritten = output["hookSpecificOutput"]["tool_input"]["command"]
        .as_str()
        .unwrap();
    assert!(
        rewritten.contains(&format!(" --request {id} -- ")),
        "{rewritten}"
    );
    let ran = env
        .std_command("bash")
        .args(["-c", rewritten])
        .current_dir(&work)
        .env("GATEKEEP_SERVER", &service.url)
        .env("GATEKEEP_TOKEN", service.token("agent"))
        .output()
        .unwrap();
    assert!(ran.status.success(), "{ran:?}");
    assert!(work.join("made-by-gemini").exists());
    assert_eq!(service.status("agent", &id), "consumed");

    // Cursor cannot run a rewritten command: the hook uses the grant and answers allow.
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "cursor",
        &["--policy", &policy],
        &cursor_shell("touch made-by-cursor", &work),
    );
    let id = service.pending_id("alice");
    review(&service, &env, "approve", &id, "ok");
    let output = finish(child, &lines);
    assert_conforms("cursor.before-execution.output.schema.json", &output);
    assert_eq!(output, json!({"permission": "allow"}));
    assert_eq!(service.status("agent", &id), "consumed");

    // Rejected: deny, with the reviewer's comment for the agent and the person.
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "cursor",
        &["--policy", &policy],
        &cursor_shell("touch never", &work),
    );
    let id = service.pending_id("alice");
    review(&service, &env, "reject", &id, "not today");
    let output = finish(child, &lines);
    assert_conforms("cursor.before-execution.output.schema.json", &output);
    let reason = format!(
        "gatekeep: request {id} was rejected by alice: not today; do not retry this command unless the situation changes"
    );
    assert_eq!(
        output,
        json!({"permission": "deny", "user_message": reason, "agent_message": reason})
    );
    // The log names each agent's hook.
    let vias: Vec<String> = env
        .log_records()
        .iter()
        .filter(|r| r["event"] == "decision")
        .filter_map(|r| r["via"].as_str().map(str::to_owned))
        .collect();
    assert!(vias.contains(&"hook gemini".to_owned()), "{vias:?}");
    assert!(vias.contains(&"hook cursor".to_owned()), "{vias:?}");
}

#[test]
fn local_ask_only_for_opted_in_rules_and_a_reviewer_at_the_terminal() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let cwd = env.root();
    let transcript = env.write("t.jsonl", "");
    let wait = ["--policy", policy.as_str(), "--wait", "1s"];
    let reason = "gatekeep: rule mkdir-ask-here lets the person at this terminal decide (alice, who may approve it)";
    // The service says alice may review under group:reviewers: Claude Code asks her.
    let (child, lines) = in_background(
        &service,
        &env,
        "alice",
        "claude-code",
        &wait,
        &claude_input("mkdir new", cwd, &transcript),
    );
    let output = finish(child, &lines);
    assert_conforms("claude-code.pre-tool-use.output.schema.json", &output);
    assert_eq!(
        output,
        json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "ask", "permissionDecisionReason": reason}})
    );
    // So does Cursor.
    let (child, lines) = in_background(
        &service,
        &env,
        "alice",
        "cursor",
        &wait,
        &cursor_shell("mkdir new", cwd),
    );
    let output = finish(child, &lines);
    assert_conforms("cursor.before-execution.output.schema.json", &output);
    assert_eq!(
        output,
        json!({"permission": "ask", "user_message": reason, "agent_message": reason})
    );
    assert_eq!(requests(&env), 0, "nothing filed for a local ask");
    // A rule without local_ask is never asked locally, even of a reviewer.
    let (child, lines) = in_background(
        &service,
        &env,
        "alice",
        "claude-code",
        &wait,
        &claude_input("touch x", cwd, &transcript),
    );
    let output = finish(child, &lines);
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert_eq!(requests(&env), 1);
    // The agent's own identity cannot review: the remote request is filed instead, and the
    // agent is told to retry the identical command.
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &wait,
        &claude_input("mkdir new", cwd, &transcript),
    );
    let output = finish(child, &lines);
    let said = output["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(said.contains("is waiting for a reviewer"), "{said}");
    assert!(said.contains("Retry the identical command"), "{said}");
    assert_eq!(requests(&env), 2);
    // Nor has Codex: its PreToolUse hook files the request and names it.
    let mut codex = claude_input("mkdir third", cwd, &transcript);
    codex.as_object_mut().unwrap().remove("transcript_path");
    let (child, lines) = in_background(&service, &env, "alice", "codex", &wait, &codex);
    let output = finish(child, &lines);
    let said = output["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap();
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(said.contains("is waiting for a reviewer"), "{said}");
    assert!(said.contains("Retry the identical command"), "{said}");
    assert_eq!(requests(&env), 3);
    // Gemini has no prompt to hand over: even for alice, the request is filed.
    let (child, lines) = in_background(
        &service,
        &env,
        "alice",
        "gemini",
        &wait,
        &gemini_input("run_shell_command", json!({"command": "mkdir other"}), cwd),
    );
    let output = finish(child, &lines);
    assert_eq!(output["decision"], "deny");
    assert!(
        output["reason"]
            .as_str()
            .unwrap()
            .contains("is waiting for a reviewer"),
        "{output}"
    );
    assert_eq!(requests(&env), 4);
    assert!(!cwd.join("new").exists() && !cwd.join("other").exists());
}

#[test]
fn project_policies_cannot_opt_in_to_local_ask() {
    let env = TestEnv::new();
    let repo = env.root().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join(".gatekeep/policies")).unwrap();
    std::fs::write(
        repo.join(".gatekeep/policies/p.yaml"),
        "version: 1\nrules:\n  - id: here\n    decision: approve\n    approval: {local_ask: true}\n    match: {program: mkdir}\n",
    )
    .unwrap();
    let output = env
        .gatekeep()
        .args(["check", "--", "mkdir", "x"])
        .current_dir(&repo)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("a project policy cannot set `local_ask: true`"),
        "{stderr}"
    );
}

/// A Claude Code transcript whose assistant message holds these tool calls.
fn transcript(env: &TestEnv, name: &str, calls: &[&str]) -> std::path::PathBuf {
    let mut text = String::new();
    text.push_str(
        &json!({"type": "user", "message": {"role": "user", "content": "tidy"}}).to_string(),
    );
    text.push('\n');
    // One entry per content block, as Claude Code writes them.
    for call in calls {
        let entry = json!({"type": "assistant", "message": {"id": "msg_01", "role": "assistant", "content": [
            {"type": "tool_use", "id": call, "name": "Bash", "input": {"command": "mkdir new"}}
        ]}});
        text.push_str(&entry.to_string());
        text.push('\n');
    }
    env.write(name, &text)
}

#[test]
fn defer_only_for_a_lone_call_still_pending_at_the_bound() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let cwd = env.root();
    let lone = transcript(&env, "lone.jsonl", &["toolu_07"]);
    let pair = transcript(&env, "pair.jsonl", &["toolu_07", "toolu_08"]);
    let args = ["--policy", policy.as_str(), "--wait", "1s", "--defer"];
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &args,
        &claude_input("touch later", cwd, &lone),
    );
    let output = finish(child, &lines);
    assert_conforms("claude-code.pre-tool-use.output.schema.json", &output);
    let id = service.pending_id("alice");
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "defer");
    assert!(
        output["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains(&format!("request {id} is waiting")),
        "{output}"
    );
    // A sibling call would be dropped on resume, so Claude Code ignores defer there: deny.
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &args,
        &claude_input("touch later", cwd, &pair),
    );
    let output = finish(child, &lines);
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    // Without --defer, or with an unreadable transcript: deny.
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &args[..4],
        &claude_input("touch later", cwd, &lone),
    );
    assert_eq!(
        finish(child, &lines)["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &args,
        &claude_input("touch later", cwd, &cwd.join("missing.jsonl")),
    );
    assert_eq!(
        finish(child, &lines)["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    // In a session that asks for nothing, Claude Code would ignore defer and run the call
    // under its own rules: deny.
    let mut bypassing = claude_input("touch later", cwd, &lone);
    bypassing["permission_mode"] = json!("bypassPermissions");
    let (child, lines) = in_background(&service, &env, "agent", "claude-code", &args, &bypassing);
    assert_eq!(
        finish(child, &lines)["hookSpecificOutput"]["permissionDecision"],
        "deny"
    );
    // Once approved, the resumed call (the same command) runs under the grant.
    review(&service, &env, "approve", &id, "go");
    let (child, lines) = in_background(
        &service,
        &env,
        "agent",
        "claude-code",
        &args,
        &claude_input("touch later", cwd, &lone),
    );
    let output = finish(child, &lines);
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "allow");
    // --defer is Claude Code's: another agent's hook refuses it.
    let output = hook(
        env.gatekeep_std(),
        "gemini",
        &policy,
        &["--defer"],
        gemini_input("run_shell_command", json!({"command": "ls"}), cwd)
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(output["decision"], "deny");
}
