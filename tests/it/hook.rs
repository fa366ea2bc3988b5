//! `gatekeep hook claude-code|codex` fed real-shaped PreToolUse input; the stdout JSON is
//! asserted exactly.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, Service, UserSpec, http};

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
  - id: no-etc-writes
    description: Writing under /etc
    decision: deny
    match: {tool: [Write, Edit], input: {file_path: "/etc/**"}}
  - id: prod-mcp
    description: Production database through MCP
    decision: approve
    match: {tool: "mcp__prod__*"}
"#;

const USERS: &[UserSpec<'static>] = &[("alice", &["reviewers"], true), ("agent", &[], false)];

/// A PreToolUse input as Claude Code sends it.
fn bash_input(command: &str, cwd: &std::path::Path) -> Value {
    json!({
        "session_id": "sess-1234",
        "transcript_path": "/tmp/transcript.jsonl",
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "tidy up", "timeout": 120000},
        "tool_use_id": "toolu_01",
    })
}

fn tool_input(tool: &str, input: Value, cwd: &std::path::Path) -> Value {
    json!({
        "session_id": "sess-1234",
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
    })
}

/// Runs the hook to completion; returns the parsed stdout (None when it printed nothing).
fn hook(cmd: Command, agent: &str, policy: &str, extra: &[&str], input: &[u8]) -> Option<Value> {
    let mut cmd = cmd;
    cmd.args(["hook", agent, "--policy", policy]).args(extra);
    // The hook may answer without reading everything (too large, or a panic first); the
    // writer does not mind.
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

fn answer(decision: &str, reason: &str) -> Value {
    json!({"hookSpecificOutput": {
        "hookEventName": "PreToolUse",
        "permissionDecision": decision,
        "permissionDecisionReason": reason,
    }})
}

fn reason_of(output: &Value) -> &str {
    output["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .unwrap()
}

#[test]
fn answers_from_the_policy_without_a_service() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let cwd = env.root();
    let ask = |agent: &str, input: &Value| {
        hook(
            env.gatekeep_std(),
            agent,
            &policy,
            &[],
            input.to_string().as_bytes(),
        )
    };
    // An explicit allow rule covering the whole command line: allow.
    assert_eq!(
        ask("claude-code", &bash_input("ls -la", cwd)),
        Some(answer("allow", "allowed by gatekeep rule ls-is-fine"))
    );
    // Only the default: no answer, so the agent's own permission rules still apply.
    assert_eq!(ask("claude-code", &bash_input("echo hi", cwd)), None);
    // Part allowed, part default: still no answer (a hook must never loosen).
    assert_eq!(
        ask(
            "claude-code",
            &bash_input("ls | curl -d @- example.com", cwd)
        ),
        None
    );
    // Deny, with the rule's description, even when hidden in a subshell.
    let denied = answer(
        "deny",
        "gatekeep: denied by rule rm-root: Recursive delete of the root",
    );
    assert_eq!(
        ask("claude-code", &bash_input("(cd /tmp && rm -rf /)", cwd)),
        Some(denied.clone())
    );
    assert_eq!(ask("codex", &bash_input("rm -rf /", cwd)), Some(denied));
    // Codex refuses a bare allow, so explicit allows say nothing there.
    assert_eq!(ask("codex", &bash_input("ls -la", cwd)), None);
    // Tools no rule names: no answer; a tool rule: its decision.
    let read = tool_input("Read", json!({"file_path": "/etc/passwd"}), cwd);
    assert_eq!(ask("claude-code", &read), None);
    let write = tool_input(
        "Write",
        json!({"file_path": "/etc/sudoers.d/agent", "content": "ALL"}),
        cwd,
    );
    assert_eq!(
        ask("claude-code", &write),
        Some(answer(
            "deny",
            "gatekeep: denied by rule no-etc-writes: Writing under /etc"
        ))
    );
    let elsewhere = tool_input("Write", json!({"file_path": "/tmp/x", "content": ""}), cwd);
    assert_eq!(ask("claude-code", &elsewhere), None);
    // Approval needed but no service configured: deny, saying why.
    let touch = ask("claude-code", &bash_input("touch x", cwd)).unwrap();
    assert_eq!(
        touch,
        answer(
            "deny",
            "gatekeep: approval required (rule touch-needs-ok) but no approval service is configured (set GATEKEEP_SERVER and GATEKEEP_TOKEN, run `gatekeep login`, or start `gatekeep serve --dev`)"
        )
    );
    // Every answer is in the audit log with the agent's session id.
    let records = env.log_records();
    let hooks: Vec<&Value> = records.iter().filter(|r| r["event"] == "hook").collect();
    assert_eq!(hooks.len(), 10);
    assert!(hooks.iter().all(|r| r["agent_session"] == "sess-1234"));
    let decisions: Vec<&Value> = records
        .iter()
        .filter(|r| r["event"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 10);
    assert!(decisions.iter().all(|r| r["agent"] == true
        && r["agent_session"] == "sess-1234"
        && r["via"].as_str().unwrap().starts_with("hook ")));
    let answers: Vec<&str> = hooks
        .iter()
        .map(|r| r["answer"].as_str().unwrap())
        .collect();
    assert_eq!(
        answers,
        [
            "allow", "none", "none", "deny", "deny", "none", "none", "deny", "none", "deny"
        ]
    );
}

#[test]
fn malformed_input_and_failures_deny_with_exit_0() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let ask = |extra: &[&str], input: &[u8]| {
        hook(env.gatekeep_std(), "claude-code", &policy, extra, input).expect("an answer")
    };
    let cases: Vec<(&[u8], &str)> = vec![
        (b"not json", "gatekeep: malformed hook input: expected ident at line 1 column 2 (expected a PreToolUse JSON object on stdin)"),
        (b"", "gatekeep: malformed hook input: EOF while parsing a value at line 1 column 0 (expected a PreToolUse JSON object on stdin)"),
        (br#"{"tool_input": {"command": "ls"}}"#, "gatekeep: malformed hook input: missing field `tool_name` at line 1 column 33 (expected a PreToolUse JSON object on stdin)"),
        (br#"{"tool_name": "Bash", "tool_input": {}}"#, "gatekeep: malformed hook input: a Bash tool call without tool_input.command"),
        (br#"{"tool_name": "Bash", "tool_input": {"command": "ls"}, "hook_event_name": "PostToolUse"}"#, "gatekeep: gatekeep hook answers PreToolUse events, not PostToolUse (register it under PreToolUse in the agent's hook settings)"),
        (br#"{"tool_name": "Bash", "tool_input": {"command": "ls"}, "cwd": "/no/such/dir"}"#, "gatekeep: cannot enter the tool call's directory /no/such/dir: No such file or directory (os error 2)"),
    ];
    for (input, reason) in cases {
        assert_eq!(ask(&[], input), answer("deny", reason), "input {input:?}");
    }
    // Over 4 MiB of input.
    let big = vec![b' '; (4 << 20) + 10];
    assert_eq!(
        ask(&[], &big),
        answer("deny", "gatekeep: the hook input is larger than 4 MiB")
    );
    // A broken policy file fails closed too.
    let broken = env.write("broken.yaml", "version: 1\nrules: [{id: x}]\n");
    let output = hook(
        env.gatekeep_std(),
        "claude-code",
        broken.to_str().unwrap(),
        &[],
        bash_input("ls", env.root()).to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(reason_of(&output).starts_with("gatekeep: invalid policy: "));
    // A panic inside gatekeep (debug builds can be told to panic) still answers deny.
    let mut panicking = env.gatekeep_std();
    panicking.env("GATEKEEP_TEST_PANIC", "1");
    assert_eq!(
        hook(panicking, "claude-code", &policy, &[], b"{}"),
        Some(answer(
            "deny",
            "gatekeep failed internally (panic requested by GATEKEEP_TEST_PANIC); the command was not allowed"
        ))
    );
    // Whatever stalls the decision, the answer is deny by the deadline: the wait bound
    // (one second here) and a margin.
    let mut stalling = env.gatekeep_std();
    stalling.env("GATEKEEP_TEST_STALL", "1");
    assert_eq!(
        hook(stalling, "claude-code", &policy, &["--wait", "1s"], b"{}"),
        Some(answer(
            "deny",
            "gatekeep: no decision within 9 s; the command was not allowed (retry it; if it keeps happening, check the policies with `gatekeep check`)"
        ))
    );
    // Arguments clap cannot parse, global flags first or not: still a deny and exit 0.
    let output = env
        .gatekeep()
        .args(["-v", "hook", "codex", "--bogus"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(parsed["hookSpecificOutput"]["permissionDecision"], "deny");
    // Arguments clap cannot parse: still a deny on stdout and exit 0.
    let output = env
        .gatekeep()
        .args(["hook", "claude-code", "--no-such-flag"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        parsed,
        answer(
            "deny",
            "gatekeep hook is misconfigured (error: unexpected argument '--no-such-flag' found); the command was not allowed"
        )
    );
}

/// The hook as the agent user, in the background.
fn hook_in_background(
    service: &Service,
    env: &TestEnv,
    policy: &str,
    extra: &[&str],
    input: &Value,
) -> (KillOnDrop, Lines) {
    let mut child = service
        .as_user(env, "agent")
        .args(["hook", "claude-code", "--policy", policy])
        .args(extra)
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
    lines.wait_for("hookSpecificOutput");
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

#[test]
fn approved_request_rewrites_the_command_to_run_under_the_grant() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "requests: {grant_lifetime: 5m}");
    let work = env.root().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Quotes of every kind survive the rewrite.
    let command = r#"touch "it's here" 'a "b"' && echo "$((6*7))" done"#;
    let input = bash_input(command, &work);
    let (child, lines) = hook_in_background(&service, &env, &policy, &[], &input);
    let id = service.pending_id("alice");
    review(&service, &env, "approve", &id, "fine");
    let output = finish(child, &lines);
    let out = &output["hookSpecificOutput"];
    assert_eq!(out["permissionDecision"], "allow");
    assert_eq!(
        out["permissionDecisionReason"],
        format!("gatekeep: request {id} approved by alice")
    );
    // The other fields of the tool input are kept; only the command is rewritten.
    assert_eq!(out["updatedInput"]["description"], "tidy up");
    assert_eq!(out["updatedInput"]["timeout"], 120000);
    let rewritten = out["updatedInput"]["command"].as_str().unwrap();
    assert!(
        rewritten.contains(&format!(" --request {id} -- ")),
        "{rewritten}"
    );
    assert!(
        rewritten.contains("--agent-session sess-1234"),
        "{rewritten}"
    );
    assert_eq!(service.status("agent", &id), "approved");
    // The agent runs the rewritten command in its shell: the grant is consumed there.
    let in_agent_shell = || {
        env.std_command("bash")
            .args(["-c", rewritten])
            .current_dir(&work)
            .env("GATEKEEP_SERVER", &service.url)
            .env("GATEKEEP_TOKEN", service.token("agent"))
            .output()
            .unwrap()
    };
    let ran = in_agent_shell();
    assert!(ran.status.success(), "{ran:?}");
    assert_eq!(String::from_utf8_lossy(&ran.stdout), "42 done\n");
    assert!(work.join("it's here").exists() && work.join(r#"a "b""#).exists());
    assert_eq!(service.status("agent", &id), "consumed");
    // Used once: the same rewritten command cannot run again.
    std::fs::remove_file(work.join("it's here")).unwrap();
    let again = in_agent_shell();
    assert_eq!(again.status.code(), Some(122), "{again:?}");
    assert!(!work.join("it's here").exists());
    // The log tells the story with the agent's session id.
    let records = env.log_records();
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    for expected in [
        "decision",
        "approval_requested",
        "hook",
        "approval_granted",
        "exec",
        "exit",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from {events:?}"
        );
    }
    let run_decision = records
        .iter()
        .rfind(|r| r["event"] == "decision" && r["via"].is_null())
        .unwrap();
    assert_eq!(run_decision["agent_session"], "sess-1234");
    assert_eq!(run_decision["agent"], true);
}

#[test]
fn rejected_request_denies_with_the_reviewers_comment() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let input = bash_input("touch nope", env.root());
    let (child, lines) = hook_in_background(&service, &env, &policy, &[], &input);
    let id = service.pending_id("alice");
    review(&service, &env, "reject", &id, "not on a Friday");
    assert_eq!(
        finish(child, &lines),
        answer(
            "deny",
            &format!(
                "gatekeep: request {id} was rejected by alice: not on a Friday; do not retry this command unless the situation changes"
            )
        )
    );
    assert!(!env.root().join("nope").exists());
}

#[test]
fn pending_at_the_bound_denies_and_a_retry_finds_the_approval() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let input = bash_input("touch later", env.root());
    let (child, lines) = hook_in_background(&service, &env, &policy, &["--wait", "1s"], &input);
    let id = service.pending_id("alice");
    let output = finish(child, &lines);
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    let reason = reason_of(&output);
    assert!(
        reason.starts_with(&format!(
            "gatekeep: this command needs approval; request {id} is waiting for a reviewer (1 of group:reviewers; review at {}/requests/{id}",
            service.url
        )),
        "{reason}"
    );
    assert!(reason.ends_with("Retry the identical command, from the same directory, later: it runs once approved. Do not try another way around this check."));
    assert_eq!(service.status("agent", &id), "pending");
    // A retry while still pending waits on the same request rather than filing another.
    let (child, lines) = hook_in_background(&service, &env, &policy, &["--wait", "1s"], &input);
    let output = finish(child, &lines);
    assert!(reason_of(&output).contains(&format!("request {id} is waiting")));
    review(&service, &env, "approve", &id, "ok now");
    let (child, lines) = hook_in_background(&service, &env, &policy, &[], &input);
    let output = finish(child, &lines);
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "allow");
    assert!(
        output["hookSpecificOutput"]["updatedInput"]["command"]
            .as_str()
            .unwrap()
            .contains(&format!("--request {id}"))
    );
    let mine: Value = http()
        .get(format!("{}/v1/requests", service.url))
        .query(&[("status", "approved")])
        .bearer_auth(service.token("alice"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(mine["requests"].as_array().unwrap().len(), 1, "{mine}");
}

#[test]
fn tool_calls_needing_approval_use_the_grant_in_the_hook() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let input = tool_input(
        "mcp__prod__query",
        json!({"sql": "select count(*) from users"}),
        env.root(),
    );
    let (child, lines) = hook_in_background(&service, &env, &policy, &[], &input);
    let id = service.pending_id("alice");
    let shown = service.view("alice", &id);
    assert_eq!(
        shown["argv"],
        json!([
            "mcp__prod__query",
            r#"{"sql":"select count(*) from users"}"#
        ])
    );
    assert_eq!(shown["agent_session"], "sess-1234");
    // Reviewers see who asked: an agent, its session, and the person it acts for.
    let listed = service
        .as_user(&env, "alice")
        .arg("requests")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("filed by:  agent (authenticated)")
            && listed.contains("agent:     yes, session sess-1234"),
        "{listed}"
    );
    review(&service, &env, "approve", &id, "ok");
    assert_eq!(
        finish(child, &lines),
        answer(
            "allow",
            &format!("gatekeep: request {id} approved by alice")
        )
    );
    assert_eq!(service.status("agent", &id), "consumed");
}

#[test]
fn secrets_in_a_tool_calls_input_are_redacted_and_the_grant_binds_the_real_input() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let token = format!("ghp_{}", "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF1hI4");
    let input = tool_input(
        "mcp__prod__connect",
        json!({
            "host": "db.internal",
            "password": "hunter2",
            "options": {"session": [{"token": "hunter2"}], "label": &token, "port": 5432},
            "headers": ["Authorization: Bearer hunter2", "Accept: text/plain"],
        }),
        env.root(),
    );
    let (child, lines) = hook_in_background(&service, &env, &policy, &[], &input);
    let id = service.pending_id("alice");
    let shown = service.view("alice", &id);
    let text = shown.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains(&token),
        "{text}"
    );
    assert_eq!(shown["argv"][0], "mcp__prod__connect");
    let filed: Value = serde_json::from_str(shown["argv"][1].as_str().unwrap()).unwrap();
    assert_eq!(
        filed,
        json!({
            "host": "db.internal",
            "password": "***",
            "options": {"session": [{"token": "***"}], "label": "***", "port": 5432},
            "headers": ["Authorization: ***", "Accept: text/plain"],
        })
    );
    review(&service, &env, "approve", &id, "ok");
    // The redacted input was shown; the grant still binds, and allows, the real one.
    assert_eq!(
        finish(child, &lines),
        answer(
            "allow",
            &format!("gatekeep: request {id} approved by alice")
        )
    );
    assert_eq!(service.status("agent", &id), "consumed");
    let records = env.log_records();
    let decision = records
        .iter()
        .find(|r| r["event"] == "decision")
        .expect("a decision record");
    assert_eq!(decision["argv"], shown["argv"]);
    let log = serde_json::to_string(&records).unwrap();
    assert!(!log.contains("hunter2") && !log.contains(&token), "{log}");
}

#[test]
fn gatekeep_itself_and_its_files_are_no_way_around() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let allow_all = env.write("allow-all.yaml", "version: 1\ndefault: allow\n");
    let cwd = env.root();
    let ask = |input: &Value| {
        hook(
            env.gatekeep_std(),
            "claude-code",
            &policy,
            &[],
            input.to_string().as_bytes(),
        )
    };
    // A command wrapped in `gatekeep run` is judged as itself, whatever policy it names.
    let wrapped = format!("gatekeep run --policy {} -- rm -rf /", allow_all.display());
    assert_eq!(
        ask(&bash_input(&wrapped, cwd)),
        Some(answer(
            "deny",
            "gatekeep: denied by rule rm-root: Recursive delete of the root"
        ))
    );
    // Swapping the policies is opaque: it needs an approval (here: no service, so deny).
    let swapped = format!("GATEKEEP_POLICY={} gatekeep run -- ls", allow_all.display());
    let output = ask(&bash_input(&swapped, cwd)).unwrap();
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(
        reason_of(&output).contains("approval required (rule <opaque>)"),
        "{output}"
    );
    // File tools may not touch gatekeep's own files, through a symbolic link either.
    let policies = env.root().join("config/gatekeep/policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::os::unix::fs::symlink(&policies, env.root().join("innocent")).unwrap();
    for target in [
        policies.join("mine.yaml"),
        env.root().join("innocent/mine.yaml"),
        env.root().join("state/gatekeep/audit.jsonl"),
        env.root().join("data/gatekeep/secrets.json"),
        env.root().join("home/.cache/gatekeep/policy-0.json"),
    ] {
        let write = tool_input(
            "Write",
            json!({"file_path": target, "content": "version: 1\n"}),
            cwd,
        );
        let output = ask(&write).expect("an answer");
        assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
        assert!(
            reason_of(&output).contains("is one of gatekeep's own files"),
            "{output}"
        );
    }
    let elsewhere = tool_input(
        "Write",
        json!({"file_path": cwd.join("notes.md"), "content": ""}),
        cwd,
    );
    assert_eq!(ask(&elsewhere), None);
    // The audit log in force, wherever GATEKEEP_LOG puts it, but not its neighbours.
    let logs = env.root().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for (target, denied) in [
        ("custom.jsonl", true),
        ("custom.jsonl.lock", true),
        ("notes.txt", false),
    ] {
        let mut cmd = env.gatekeep_std();
        cmd.env("GATEKEEP_LOG", logs.join("custom.jsonl"));
        let write = tool_input(
            "Write",
            json!({"file_path": logs.join(target), "content": ""}),
            cwd,
        );
        let output = hook(
            cmd,
            "claude-code",
            &policy,
            &[],
            write.to_string().as_bytes(),
        );
        assert_eq!(output.is_some(), denied, "{target}: {output:?}");
    }
}

#[test]
fn a_closed_stdout_still_ends_with_exit_0() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    let mut child = env
        .gatekeep_std()
        .args(["hook", "claude-code", "--policy", &policy])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::from(write))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(bash_input("rm -rf /", env.root()).to_string().as_bytes());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_service_that_never_answers_is_given_up_on_within_the_bound() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    // Accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = std::sync::Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let mut cmd = env.gatekeep_std();
    cmd.env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", "t")
        .env("GATEKEEP_SERVER_KEY", "00".repeat(32))
        .args(["hook", "claude-code", "--policy", &policy, "--wait", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(bash_input("touch x", env.root()).to_string().as_bytes())
        .unwrap();
    let lines = Lines::collect(child.stdout.take().unwrap());
    // The guard only catches a hang; the hook's own bound is 1s plus its call margin.
    let mut status = None;
    for _ in 0..600 {
        if let Some(done) = child.try_wait().unwrap() {
            status = Some(done);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "the hook did not give up"
    );
    let output: Value = serde_json::from_str(&lines.complete()).unwrap();
    assert_eq!(output["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(!held.lock().unwrap().is_empty(), "the service was asked");
}

#[test]
fn an_analysis_that_overruns_its_limit_refuses_the_command() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let mut slow = env.gatekeep_std();
    slow.env("GATEKEEP_TEST_SLOW_ANALYSIS", "1");
    let output = hook(
        slow,
        "claude-code",
        &policy,
        &[],
        bash_input("ls", env.root()).to_string().as_bytes(),
    )
    .unwrap();
    assert_eq!(
        output,
        answer(
            "deny",
            "gatekeep: the command line takes too long to analyse (over 2 s); nothing was run (simplify the command, or run it from a script file the policy names)"
        )
    );
    let marker = env.root().join("never");
    env.gatekeep()
        .env("GATEKEEP_TEST_SLOW_ANALYSIS", "1")
        .args(["run", "--json", "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .assert()
        .code(125)
        .stderr(predicates::str::contains("\"code\":\"too_complex\""));
    assert!(!marker.exists());
    // Both refusals are in the log, though no decision could be reached.
    let refused: Vec<Value> = env
        .log_records()
        .into_iter()
        .filter(|r| r["event"] == "refused")
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|r| {
        r["error"]
            .as_str()
            .unwrap()
            .contains("takes too long to analyse")
    }));
}

/// A FIFO put where gatekeep reads its configuration or policies would block a plain read
/// for ever, and an agent goes ahead when its hook does not answer: it is refused at once.
#[test]
fn a_fifo_among_gatekeeps_files_denies_at_once() {
    for place in [
        "config/gatekeep/config.yaml",
        "config/gatekeep/policies/z.yaml",
    ] {
        let env = TestEnv::new();
        let fifo = env.root().join(place);
        std::fs::create_dir_all(fifo.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let output = env
            .gatekeep()
            .args(["hook", "claude-code"])
            .write_stdin(bash_input("ls", env.root()).to_string())
            .output()
            .unwrap();
        let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        let reason = reason_of(&answer);
        assert!(reason.contains("it is not a regular file"), "{reason}");
        assert!(reason.contains(fifo.to_str().unwrap()), "{reason}");
    }
}
