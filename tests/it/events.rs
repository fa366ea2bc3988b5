//! `gatekeep run --json` and `--json-fd`: every event, snapshot-tested with the values that
//! change from run to run replaced by placeholders.

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, Service, UserSpec};

const POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"], timeout: 5m}
rules:
  - id: rm-root
    description: Recursive delete of the root
    decision: deny
    match: {program: rm, flags: ["-r|-R|--recursive"], args: [["/"]]}
  - id: touch-needs-ok
    description: Creating files needs a second pair of eyes
    decision: approve
    match: {program: touch}
  - id: ln-expires
    decision: approve
    match: {program: ln}
    approval: {timeout: 1s}
  - id: mkdir-why
    decision: approve
    match: {program: mkdir}
    approval: {reason_required: true}
"#;

const USERS: &[UserSpec<'static>] = &[("alice", &["reviewers"], true), ("agent", &[], false)];

/// The JSON events among `text`'s lines (a child's own lines are left out), checked to
/// carry the schema version and one run id.
fn events(text: &str) -> Vec<Value> {
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("gatekeep").is_some())
        .collect();
    assert!(!events.is_empty(), "no events in {text:?}");
    let run_id = &events[0]["run_id"];
    for event in &events {
        assert_eq!(event["gatekeep"], 1, "{event}");
        assert_eq!(&event["run_id"], run_id, "{event}");
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
    }
    events
}

/// The events as JSON lines, with run-specific values replaced by placeholders.
fn normalized(events: &[Value]) -> String {
    let mut out = String::new();
    for event in events {
        let mut event = event.clone();
        for (key, placeholder) in [
            ("run_id", "<run>"),
            ("time", "<time>"),
            ("pid", "<pid>"),
            ("duration_ms", "<ms>"),
            ("request_id", "<request>"),
            ("review_url", "<url>"),
            ("expires_at", "<expires>"),
        ] {
            if event.get(key).is_some_and(|v| !v.is_null()) {
                event[key] = Value::from(placeholder);
            }
        }
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

fn setup() -> (TestEnv, String) {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    (env, policy)
}

#[test]
fn events_without_a_service() {
    let (env, policy) = setup();
    let run = |args: &[&str]| {
        env.gatekeep()
            .args(["run", "--json", "--policy", &policy, "--"])
            .args(args)
            .output()
            .unwrap()
    };
    // Allowed: decision, exec, exit; the child's output is untouched on both streams.
    let output = run(&["sh", "-c", "echo out; echo child-err >&2; exit 3"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(output.stdout, b"out\n");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.lines().any(|l| l == "child-err"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| !l.starts_with('{')).count(),
        1,
        "gatekeep prints nothing but events: {stderr}"
    );
    insta::assert_snapshot!("events_allow", normalized(&events(&stderr)));
    // A signal is reported as such.
    let output = run(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(output.status.code(), Some(143));
    insta::assert_snapshot!(
        "events_signal",
        normalized(&events(&String::from_utf8(output.stderr).unwrap()))
    );
    // Denied: the decision is the last word, exit 126.
    let output = run(&["rm", "-rf", "/"]);
    assert_eq!(output.status.code(), Some(126));
    insta::assert_snapshot!(
        "events_deny",
        normalized(&events(&String::from_utf8(output.stderr).unwrap()))
    );
    // Not found: an error event with its own code, exit 127.
    let output = run(&["no-such-program-here"]);
    assert_eq!(output.status.code(), Some(127));
    insta::assert_snapshot!(
        "events_not_found",
        normalized(&events(&String::from_utf8(output.stderr).unwrap()))
    );
    // Approval needed and no service: an error event, exit 125.
    let output = run(&["touch", "x"]);
    assert_eq!(output.status.code(), Some(125));
    insta::assert_snapshot!(
        "events_no_service",
        normalized(&events(&String::from_utf8(output.stderr).unwrap()))
    );
    // An invalid policy is an error event too.
    let broken = env.write("broken.yaml", "version: 1\nrules: [{id: x}]\n");
    let output = env
        .gatekeep()
        .args(["run", "--json", "--policy"])
        .arg(&broken)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error = &events(&stderr)[0];
    assert_eq!(error["event"], "error");
    assert_eq!(error["code"], "policy_invalid");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // GATEKEEP_JSON=1 is the same as --json.
    let output = env
        .gatekeep()
        .env("GATEKEEP_JSON", "1")
        .args(["run", "--policy", &policy, "--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let names: Vec<String> = events(&String::from_utf8(output.stderr).unwrap())
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["decision", "exec", "exit"]);
}

#[test]
fn json_fd_is_a_channel_the_child_cannot_reach() {
    let (env, policy) = setup();
    let gatekeep = assert_cmd::cargo::cargo_bin("gatekeep");
    let events_file = env.root().join("events.jsonl");
    // The child prints a look-alike event on the shared stderr and checks that descriptor
    // 3 is not open in it.
    let child = r#"echo '{"event":"exit","gatekeep":1,"code":0}' >&2; if [ -e /proc/self/fd/3 ]; then exit 9; fi; exit 4"#;
    let output = env
        .std_command("bash")
        .arg("-c")
        .arg(r#"exec "$0" run --json-fd 3 --policy "$1" -- sh -c "$2" 3>"$3""#)
        .arg(&gatekeep)
        .arg(&policy)
        .arg(child)
        .arg(&events_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "{\"event\":\"exit\",\"gatekeep\":1,\"code\":0}\n",
        "stderr holds only the child's line"
    );
    let written = std::fs::read_to_string(&events_file).unwrap();
    let names: Vec<String> = events(&written)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["decision", "exec", "exit"]);
    assert_eq!(events(&written)[2]["code"], 4);
    // Standard descriptors and closed ones are refused before anything runs.
    for (fd, message) in [
        (
            "2",
            "--json-fd 2: standard descriptors are shared with the command",
        ),
        ("7", "--json-fd 7: the descriptor is not open"),
    ] {
        env.gatekeep()
            .args(["run", "--json-fd", fd, "--policy", &policy, "--", "true"])
            .assert()
            .code(125)
            .stderr(predicates::str::contains(message));
    }
}

/// `gatekeep run --json` as the agent, in the background, with stderr collected.
fn run_json(service: &Service, env: &TestEnv, policy: &str, args: &[&str]) -> (KillOnDrop, Lines) {
    let mut all = vec!["--json", "--agent-session", "sess-9", "--policy", policy];
    all.extend_from_slice(args);
    service.run_in_background(env, "agent", &all)
}

fn pending(lines: &Lines) -> String {
    let line = lines.wait_for("\"event\":\"pending\"");
    let event: Value = serde_json::from_str(&line).unwrap();
    event["request_id"].as_str().unwrap().to_owned()
}

#[test]
fn events_of_the_approval_outcomes() {
    let (env, policy) = setup();
    let service = Service::start(&env, USERS, "");
    let review = |verdict: &str, id: &str| {
        let output = service
            .as_user(&env, "alice")
            .args([verdict, id, "-m", &format!("alice says {verdict}")])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    // Approved, then run.
    let target = env.root().join("made");
    let (mut child, lines) = run_json(
        &service,
        &env,
        &policy,
        &["--", "touch", target.to_str().unwrap()],
    );
    let id = pending(&lines);
    review("approve", &id);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert!(target.exists());
    let all = events(&lines.complete());
    assert_eq!(all[2]["request_id"], id.as_str());
    assert!(
        all[2]["review_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/requests/{id}"))
    );
    insta::assert_snapshot!(
        "events_approved",
        normalized(&all).replace(&env.root().display().to_string(), "<tmp>")
    );
    // Rejected.
    let (mut child, lines) = run_json(&service, &env, &policy, &["--", "touch", "nope"]);
    let id = pending(&lines);
    review("reject", &id);
    assert_eq!(child.wait().unwrap().code(), Some(121));
    insta::assert_snapshot!("events_rejected", normalized(&events(&lines.complete())));
    // Expired (the rule's timeout is one second).
    let (mut child, lines) = run_json(&service, &env, &policy, &["--", "ln", "-s", "a", "b"]);
    assert_eq!(child.wait().unwrap().code(), Some(122));
    insta::assert_snapshot!("events_expired", normalized(&events(&lines.complete())));
    // Cancelled by SIGINT while waiting.
    let (mut child, lines) = run_json(&service, &env, &policy, &["--", "touch", "later"]);
    let id = pending(&lines);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(123));
    assert_eq!(service.status("alice", &id), "cancelled");
    insta::assert_snapshot!("events_cancelled", normalized(&events(&lines.complete())));
    // A required reason with no terminal: an error event, never a prompt.
    let (mut child, lines) = run_json(&service, &env, &policy, &["--", "mkdir", "d"]);
    assert_eq!(child.wait().unwrap().code(), Some(125));
    insta::assert_snapshot!(
        "events_reason_required",
        normalized(&events(&lines.complete()))
    );
    // --no-wait: the pending event, exit 120, nothing on stdout.
    let output = service
        .as_user(&env, "agent")
        .args([
            "run",
            "--json",
            "--no-wait",
            "--policy",
            &policy,
            "--",
            "touch",
            "queued",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(120));
    assert!(output.stdout.is_empty());
    insta::assert_snapshot!(
        "events_no_wait",
        normalized(&events(&String::from_utf8(output.stderr).unwrap()))
    );
}

#[test]
fn on_a_terminal_json_mode_neither_prompts_nor_draws() {
    let (env, policy) = setup();
    let service = Service::start(&env, USERS, "");
    let terminal_run = |args: &[&str]| {
        let mut cmd = service.as_user(&env, "agent");
        cmd.env("TERM", "xterm")
            .args(["run", "--json", "--policy", &policy, "--"])
            .args(args);
        crate::pty::Pty::spawn(cmd)
    };
    // A required reason is an error event even with a terminal to ask on.
    let mut terminal = terminal_run(&["mkdir", "d"]);
    terminal.wait_for("\"code\":\"reason_required\"");
    assert_eq!(terminal.child.wait().unwrap().code(), Some(125));
    assert!(!terminal.seen.contains("Reason for this command"));
    // Waiting draws no spinner: every line on the terminal is an event.
    let marker = env.root().join("made-on-a-terminal");
    let mut terminal = terminal_run(&["touch", marker.to_str().unwrap()]);
    terminal.wait_for("\"event\":\"pending\"");
    let line = terminal
        .seen
        .lines()
        .find(|l| l.contains("\"event\":\"pending\""))
        .unwrap()
        .to_owned();
    let id = serde_json::from_str::<Value>(line.trim()).unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let output = service
        .as_user(&env, "alice")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(output.status.success());
    terminal.wait_for("\"event\":\"exit\"");
    assert_eq!(terminal.child.wait().unwrap().code(), Some(0));
    assert!(marker.exists());
    for line in terminal.seen.lines().filter(|l| !l.trim().is_empty()) {
        let event: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|_| panic!("not an event: {line:?} in {:?}", terminal.seen));
        assert_eq!(event["gatekeep"], 1);
    }
    assert!(!terminal.seen.contains("waiting for approval"));
}

#[test]
fn the_command_cannot_reach_the_json_fd_through_proc() {
    // Root may open any process's descriptors; run as `nobody` to see what a user gets.
    if std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_err()
    {
        crate::common::cannot_run_here("setpriv (util-linux) is not installed");
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("gk-nobody")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let policy = dir.path().join("p.yaml");
    std::fs::write(&policy, "version: 1\nbuiltin: false\n").unwrap();
    let gatekeep = assert_cmd::cargo::cargo_bin("gatekeep");
    let root = dir.path().display().to_string();
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "env", "-i"])
        .arg(format!("HOME={root}"))
        .arg(format!("XDG_STATE_HOME={root}/state"))
        .arg(format!("XDG_CONFIG_HOME={root}/config"))
        .arg(format!("XDG_DATA_HOME={root}/data"))
        .arg("PATH=/usr/bin:/bin")
        .args(["bash", "-c"])
        .arg(r#"exec "$0" run --json-fd 3 --policy "$1" -- sh -c 'echo "{\"event\":\"exit\",\"gatekeep\":1}" > /proc/$PPID/fd/3 && echo reached' 3>"$2""#)
        .arg(&gatekeep)
        .arg(&policy)
        .arg(dir.path().join("events.jsonl"))
        .output()
        .unwrap();
    if String::from_utf8_lossy(&output.stderr).contains("Permission denied")
        && !dir.path().join("events.jsonl").exists()
    {
        crate::common::cannot_run_here(&format!("nobody cannot use this directory: {output:?}"));
        return;
    }
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("reached"),
        "the command wrote to the event channel: {output:?}"
    );
    let written = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let names: Vec<String> = events(&written)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["decision", "exec", "exit"]);
}
