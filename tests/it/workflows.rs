//! Approval workflows end to end with the real service: windows an approval opens (and
//! what they refuse), revocation, escalation and reminders, break-glass and its review.

use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::TestEnv;
use crate::pty::Pty;
use crate::service::{Service, UserSpec, endpoint, request_id, wait_for_calls};

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 2m}
opaque: approve
rules:
  - id: touch-held
    description: Creating files is reviewed
    decision: approve
    match: {program: touch}
    approval: {max_window: 10m, break_glass: true, review_within: 1h}
  - id: mkdir-agents
    decision: approve
    match: {program: mkdir}
    approval: {windows: all}
  - id: ln-short
    decision: approve
    match: {program: ln}
    approval: {max_window: 1m}
  - id: rmdir-escalates
    decision: approve
    match: {program: rmdir}
    approval:
      approvers: ["user:bob"]
      escalate:
        - {after: 3s, notify: "group:leads"}
        - {after: 4s, add_approvers: "group:sre"}
  - id: chmod-no-glass
    decision: approve
    match: {program: chmod}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
    ("carol", &["sre"], true),
    ("dave", &["leads"], true),
];

struct Setup {
    env: TestEnv,
    service: Service,
    policy: String,
}

fn setup(extra: &str) -> Setup {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, extra);
    Setup {
        env,
        service,
        policy,
    }
}

impl Setup {
    /// `gatekeep ARGS` as `user`, to the end.
    fn as_user(&self, user: &str, args: &[&str]) -> Output {
        self.service
            .as_user(&self.env, user)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `gatekeep run --policy P EXTRA -- COMMAND` as alice, to the end.
    fn run(&self, extra: &[&str], command: &[&str]) -> Output {
        let mut args = vec!["run", "--policy", &self.policy];
        args.extend(extra);
        args.push("--");
        args.extend(command);
        self.as_user("alice", &args)
    }

    /// Files `command` as alice and leaves it pending; answers its id.
    fn file(&self, extra: &[&str], command: &[&str]) -> String {
        let mut args = vec!["run", "--no-wait", "--policy", &self.policy];
        args.extend(extra);
        args.push("--");
        args.extend(command);
        let output = self.as_user("alice", &args);
        assert_eq!(output.status.code(), Some(120), "{}", text(&output.stderr));
        text(&output.stdout).trim().to_owned()
    }

    /// Runs `command` as alice in the background, has bob approve it with `approve`
    /// (e.g. `--for 10m`), and waits for it to run.
    fn approved_run(&self, command: &[&str], approve: &[&str]) -> String {
        let mut args = vec!["--policy", self.policy.as_str(), "--"];
        args.extend(command);
        let (mut run, lines) = self.service.run_in_background(&self.env, "alice", &args);
        let id = request_id(&lines);
        let mut review = vec!["approve", id.as_str()];
        review.extend(approve);
        let given = self.as_user("bob", &review);
        assert!(given.status.success(), "{}", text(&given.stderr));
        assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
        id
    }

    fn view(&self, user: &str, id: &str) -> Value {
        self.service.view(user, id)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Waits until `check` holds for the view of `id`; the bound only guards against a hang.
fn until(setup: &Setup, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let view = setup.view("alice", id);
        if check(&view) {
            return view;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} never happened to {id}");
}

#[test]
fn a_window_covers_identical_commands_and_nothing_else_unless_widened() {
    let s = setup("");
    let target = s.env.root().join("one");
    let one = target.to_str().unwrap();
    let origin = s.approved_run(&["touch", one], &["--for", "10m", "-m", "incident 42"]);
    let window = s.view("alice", &origin)["window"].clone();
    assert_eq!(window["id"], origin.as_str());
    assert_eq!(window["scope"], "exact");
    assert_eq!(window["opened_by"][0], "bob");
    // Three identical commands: each runs at once, each with a single-use grant of its own.
    let mut granted = Vec::new();
    for _ in 0..3 {
        let output = s.run(&[], &["touch", one]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert!(
            stderr.contains(&format!("under window {origin}")),
            "{stderr}"
        );
        assert!(!stderr.contains("approval required"), "{stderr}");
        granted.push(stderr);
    }
    let window = s.view("bob", &origin)["window"].clone();
    let uses = window["uses"].as_array().unwrap();
    assert_eq!(uses.len(), 3, "{window}");
    for used in uses {
        let id = used["request_id"].as_str().unwrap();
        assert_ne!(id, origin);
        let view = s.view("alice", id);
        assert_eq!(view["status"], "consumed", "{view}");
        assert_eq!(view["under_window"], origin.as_str());
        assert_eq!(view["grant"]["payload"]["window"], origin.as_str());
        assert_eq!(view["reviews"].as_array().unwrap().len(), 0);
    }
    let log = std::fs::read_to_string(s.env.root().join("state/gatekeep/audit.jsonl")).unwrap();
    assert_eq!(
        log.matches(&format!("\"window\":\"{origin}\"")).count(),
        3,
        "each use is recorded with the window's id"
    );
    // A fourth command with other arguments is outside the exact window: it waits.
    let two = s.env.root().join("two");
    let other = s.file(&[], &["touch", two.to_str().unwrap()]);
    assert_eq!(s.service.status("alice", &other), "pending");
    // Widened to the program, it covers other arguments.
    let given = s.as_user(
        "bob",
        &["approve", &other, "--for", "5m", "--scope", "program"],
    );
    assert!(given.status.success(), "{}", text(&given.stderr));
    assert_eq!(s.view("alice", &other)["window"]["scope"], "program");
    let three = s.env.root().join("three");
    let output = s.run(&[], &["touch", three.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains(&format!("under window {other}")));
    assert!(three.exists());
    // Another program is outside both.
    let dir = s.env.root().join("d");
    let held = s.file(&[], &["mkdir", dir.to_str().unwrap()]);
    assert_eq!(s.service.status("alice", &held), "pending");
}

#[test]
fn opaque_and_default_decisions_never_get_a_window() {
    let s = setup("");
    // The line cannot be analysed: the policy's `opaque: approve` holds it.
    let id = s.file(&[], &["sh", "-c", "eval \"$1\"", "x", "true"]);
    assert_eq!(s.view("bob", &id)["rules"][0], "<opaque>");
    let refused = s.as_user("bob", &["approve", &id, "--for", "5m"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("never run under a window"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(s.service.status("alice", &id), "pending");
    // The command alone may still be approved.
    let given = s.as_user("bob", &["approve", &id]);
    assert!(given.status.success(), "{}", text(&given.stderr));
    assert!(s.view("alice", &id)["window"].is_null());
}

#[test]
fn an_agent_never_runs_under_a_persons_window_nor_gets_one_unless_the_rule_says_all() {
    let s = setup("");
    let target = s.env.root().join("f");
    let file = target.to_str().unwrap();
    let origin = s.approved_run(&["touch", file], &["--for", "10m"]);
    // The same command from an agent is filed and waits.
    let held = s.file(&["--agent"], &["touch", file]);
    let view = s.view("alice", &held);
    assert_eq!(view["status"], "pending", "{view}");
    assert!(view["under_window"].is_null());
    assert_eq!(
        s.view("bob", &origin)["window"]["uses"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // touch-held leaves `windows` at `humans`: no window for an agent's request.
    let refused = s.as_user("bob", &["approve", &held, "--for", "5m"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("gives agents no windows"),
        "{}",
        text(&refused.stderr)
    );
    // `windows: all`: an agent's window serves the agent, never a person.
    let dir = s.env.root().join("d");
    let dir = dir.to_str().unwrap();
    let agent = s.file(&["--agent"], &["mkdir", "-p", dir]);
    let given = s.as_user("bob", &["approve", &agent, "--for", "5m"]);
    assert!(given.status.success(), "{}", text(&given.stderr));
    assert_eq!(s.view("alice", &agent)["window"]["agent"], true);
    let output = s.run(&["--agent"], &["mkdir", "-p", dir]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let person = s.file(&[], &["mkdir", "-p", dir]);
    assert_eq!(s.service.status("alice", &person), "pending");
}

#[test]
fn revocation_stops_the_next_command() {
    let s = setup("");
    let target = s.env.root().join("f");
    let file = target.to_str().unwrap();
    let origin = s.approved_run(&["touch", file], &["--for", "10m"]);
    let output = s.run(&[], &["touch", file]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Someone who is not an approver of its rules cannot revoke it.
    let refused = s.as_user("carol", &["revoke", &origin]);
    assert_ne!(refused.status.code(), Some(0));
    let revoked = s.as_user("alice", &["revoke", &origin, "--reason", "done"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    assert!(text(&revoked.stderr).contains("1 command ran under it"));
    let window = &s.view("bob", &origin)["window"];
    assert_eq!(window["revoked"]["by"], "alice");
    assert_eq!(window["revoked"]["reason"], "done");
    let next = s.file(&[], &["touch", file]);
    assert_eq!(s.service.status("alice", &next), "pending");
    let again = s.as_user("bob", &["revoke", &origin]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("already revoked"));
    let audit = std::fs::read_to_string(s.service.data.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"window_revoked\""));
}

#[test]
fn a_window_that_closed_between_commands_grants_nothing() {
    let s = setup("");
    let target = s.env.root().join("f");
    let file = target.to_str().unwrap();
    let origin = s.approved_run(&["touch", file], &["--for", "1s"]);
    let ends: jiff::Timestamp = s.view("alice", &origin)["window"]["ends_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // Once the window's close has passed (same host, same clock), the next one waits.
    while jiff::Timestamp::now() <= ends + jiff::SignedDuration::from_millis(200) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let next = s.file(&[], &["touch", file]);
    assert_eq!(s.service.status("alice", &next), "pending");
    assert_eq!(
        s.view("bob", &origin)["window"]["uses"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_window_never_outlives_its_rules_max_window() {
    let s = setup("requests: {max_window: 5m}");
    let link = s.env.root().join("l");
    let id = s.file(&[], &["ln", "-s", "/tmp", link.to_str().unwrap()]);
    let refused = s.as_user("bob", &["approve", &id, "--for", "2m"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("at most 1m"),
        "{}",
        text(&refused.stderr)
    );
    // The service's own bound applies to rules that allow more.
    let target = s.env.root().join("f");
    let other = s.file(&[], &["touch", target.to_str().unwrap()]);
    let refused = s.as_user("bob", &["approve", &other, "--for", "10m"]);
    assert!(
        text(&refused.stderr).contains("at most 5m"),
        "{}",
        text(&refused.stderr)
    );
    let given = s.as_user("bob", &["approve", &id, "--for", "1m", "--start", "1m"]);
    assert!(given.status.success(), "{}", text(&given.stderr));
    let window = &s.view("alice", &id)["window"];
    let time = |field: &str| {
        window[field]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    assert_eq!(time("ends_at") - time("starts_at"), 60, "{window}");
    // It opens later: nothing is granted before.
    let early = s.file(&[], &["ln", "-s", "/tmp", link.to_str().unwrap()]);
    assert_eq!(s.service.status("alice", &early), "pending");
}

#[test]
fn escalation_lets_more_approvers_in_and_reminders_go_out() {
    let (url, seen, _) = endpoint("{}", false);
    let s = setup(&format!(
        "requests: {{remind_every: 1s}}\nwebhooks: [{{url: \"{url}/hook\", secret: s3cret}}]"
    ));
    let dir = s.env.root().join("d");
    std::fs::create_dir(&dir).unwrap();
    let (mut run, lines) = s.service.run_in_background(
        &s.env,
        "alice",
        &["--policy", &s.policy, "--", "rmdir", dir.to_str().unwrap()],
    );
    let id = request_id(&lines);
    // Before the step that lets group:sre in, carol is not an approver.
    let early = s.as_user("carol", &["approve", &id]);
    let before = s.view("alice", &id);
    if before["escalations"]
        .as_array()
        .is_none_or(|e| e.is_empty())
    {
        assert_ne!(
            early.status.code(),
            Some(0),
            "carol approved before escalation"
        );
    }
    let view = until(&s, &id, "the second escalation step", |v| {
        v["escalations"].as_array().is_some_and(|e| e.len() == 2)
    });
    assert_eq!(view["escalations"][0]["notify"][0], "group:leads");
    assert_eq!(view["escalations"][1]["add_approvers"][0], "group:sre");
    assert!(
        view["approvals"][0]["approvers"]
            .as_array()
            .unwrap()
            .contains(&Value::from("group:sre"))
    );
    let given = s.as_user("carol", &["approve", &id]);
    assert!(given.status.success(), "{}", text(&given.stderr));
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    let stderr = lines.complete();
    assert!(
        stderr.contains("escalated (rule rmdir-escalates): group:sre may approve too"),
        "{stderr}"
    );
    let kinds: Vec<String> = wait_for_calls(&seen, "/hook", 5)
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    let more = || {
        seen.lock()
            .unwrap()
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    for _ in 0..200 {
        let all = more();
        if ["request.escalated", "request.reminder", "request.approved"]
            .iter()
            .all(|k| all.iter().any(|seen| seen == k))
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "escalation and reminder events missing: {kinds:?} {:?}",
        more()
    );
}

/// `gatekeep run --break-glass` on a real terminal, answered `answer`.
fn break_glass_on_terminal(s: &Setup, extra_env: &[(&str, &str)], command: &[&str]) -> Pty {
    let mut cmd = s.service.as_user(&s.env, "alice");
    cmd.args([
        "run",
        "--break-glass",
        "--reason",
        "the database is down",
        "--policy",
        &s.policy,
        "--",
    ])
    .args(command);
    for (name, value) in extra_env {
        cmd.env(name, value);
    }
    // Held: a refusal printed just before the program exits is never lost with the
    // terminal's hang-up.
    Pty::spawn_held(cmd)
}

#[test]
fn break_glass_runs_at_once_tells_every_approver_and_is_reviewed_afterwards() {
    let (url, seen, _) = endpoint("{}", false);
    let s = setup(&format!(
        "webhooks: [{{url: \"{url}/hook\", secret: s3cret}}]"
    ));
    let target = s.env.root().join("glass");
    let mut pty = break_glass_on_terminal(&s, &[], &["touch", target.to_str().unwrap()]);
    pty.wait_for("Type yes to run it");
    assert!(!target.exists(), "nothing runs before the person confirms");
    pty.send(b"yes\n");
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert_eq!(pty.child.wait().unwrap().code(), Some(0), "{out}");
    assert!(target.exists());
    assert!(out.contains("by breaking glass"), "{out}");
    // Every approver was told at once: the event went out.
    let told = wait_for_calls(&seen, "/hook", 1);
    let mut glass = None;
    for _ in 0..200 {
        glass = seen
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.json())
            .find(|e| e["type"] == "request.break_glass");
        if glass.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let glass = glass.unwrap_or_else(|| panic!("no request.break_glass event in {told:?}"));
    let id = glass["request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(glass["request"]["reason"], "the database is down");
    let log = std::fs::read_to_string(s.env.root().join("state/gatekeep/audit.jsonl")).unwrap();
    assert!(log.contains("\"break_glass\":true"), "{log}");
    // Listed for review until an approver closes it; never by the one who ran it.
    let listed = s.as_user("bob", &["requests", "--break-glass", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str(), "{listed}");
    assert_eq!(listed[0]["status"], "consumed");
    let own = s.as_user("alice", &["acknowledge", &id]);
    assert_ne!(own.status.code(), Some(0));
    assert!(
        text(&own.stderr).contains("never review their own"),
        "{}",
        text(&own.stderr)
    );
    let closed = s.as_user("bob", &["acknowledge", &id, "-m", "checked the incident"]);
    assert!(closed.status.success(), "{}", text(&closed.stderr));
    let view = s.view("bob", &id);
    assert_eq!(view["break_glass"]["review"]["finding"], "acknowledge");
    assert_eq!(view["break_glass"]["review"]["reviewer"], "bob");
    let listed = s.as_user("bob", &["requests", "--break-glass", "--json"]);
    assert_eq!(text(&listed.stdout).trim(), "[]");
    let twice = s.as_user("bob", &["flag", &id]);
    assert_eq!(twice.status.code(), Some(1), "{}", text(&twice.stderr));
    let audit = std::fs::read_to_string(s.service.data.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"break_glass\""));
    assert!(audit.contains("\"event\":\"break_glass_reviewed\""));
}

#[test]
fn agents_and_programs_never_break_glass() {
    let s = setup("");
    let target = s.env.root().join("glass");
    let file = target.to_str().unwrap();
    // Under an agent's marker, on a terminal.
    let mut pty = break_glass_on_terminal(&s, &[("CLAUDECODE", "1")], &["touch", file]);
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert_ne!(pty.child.wait().unwrap().code(), Some(0));
    assert!(out.contains("agents may never break glass"), "{out}");
    // Without a terminal.
    let output = s.run(&["--break-glass", "--reason", "x"], &["touch", file]);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        text(&output.stderr).contains("no controlling terminal"),
        "{}",
        text(&output.stderr)
    );
    // As an agent.
    let output = s.run(
        &["--break-glass", "--agent", "--reason", "x"],
        &["touch", file],
    );
    assert_ne!(output.status.code(), Some(0));
    // Inside a supervised tree, even on a terminal.
    let gatekeep = env!("CARGO_BIN_EXE_gatekeep");
    let outer = s
        .env
        .write("outer.yaml", "version: 1\ndefault: allow\nopaque: allow\n");
    let mut cmd = s.service.as_user(&s.env, "alice");
    cmd.args(["run", "--supervise", "--policy"])
        .arg(&outer)
        .args(["--", gatekeep, "run", "--break-glass", "--reason", "x"])
        .args(["--policy", &s.policy, "--", "touch", file]);
    let mut pty = Pty::spawn_held(cmd);
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert!(out.contains("inside a supervised process tree"), "{out}");
    // A rule that does not allow it.
    let mut pty = break_glass_on_terminal(&s, &[], &["chmod", "600", file]);
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert!(
        out.contains("rule chmod-no-glass does not allow break-glass"),
        "{out}"
    );
    assert!(!target.exists());
    // And the service refuses an agent's break-glass request whatever the client says.
    assert!(s.service_refuses_agent_break_glass());
}

impl Setup {
    /// Files an agent's break-glass request straight through the API: refused.
    fn service_refuses_agent_break_glass(&self) -> bool {
        let argv = vec!["touch".to_owned(), "x".to_owned()];
        let facts = serde_json::json!({
            "argv": argv, "cwd": "/", "resolved_path": "/usr/bin/touch", "binary_sha256": "00",
        });
        let digest = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(
                gatekeep::approval::canonical_json(&facts).as_bytes(),
            ))
        };
        let body = serde_json::json!({
            "argv": argv, "cwd": "/", "resolved_path": "/usr/bin/touch", "binary_sha256": "00",
            "host": "h", "user": "u", "agent": true, "break_glass": true, "reason": "x",
            "approvals": [{"rule": "touch-held", "approvers": ["group:reviewers"], "quorum": 1,
                           "break_glass": true}],
            "rules": ["touch-held"], "digest": digest,
        });
        let answer = crate::service::http()
            .post(format!("{}/v1/requests", self.service.url))
            .bearer_auth(self.service.token("alice"))
            .json(&body)
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().unwrap();
        assert_eq!(status, 403, "{text}");
        text.contains("agents may never break glass")
    }
}

/// The CSRF token of a signed-in page.
fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_review_page_opens_lists_and_revokes_a_window() {
    let s = setup("");
    let target = s.env.root().join("<b>f");
    let file = target.to_str().unwrap();
    let id = s.file(&[], &["touch", file]);
    let (http, session) = crate::web::sign_in(&s.service, "bob");
    let page = |id: &str| {
        http.get(format!("{}/requests/{id}", s.service.url))
            .header("cookie", &session)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let before = page(&id);
    // The form offers windows up to the rule's max_window (10m), no longer.
    assert!(
        before.contains(r#"<option value="10m">for 10m</option>"#),
        "{before}"
    );
    assert!(!before.contains("for 15m"), "{before}");
    let approved = http
        .post(format!("{}/requests/{id}/review", s.service.url))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf_of(&before).as_str()),
            ("verdict", "approve"),
            ("window", "10m"),
            ("scope", "exact"),
        ])
        .send()
        .unwrap();
    assert_eq!(
        approved.status().as_u16(),
        303,
        "{}",
        approved.text().unwrap()
    );
    assert_eq!(s.view("alice", &id)["window"]["scope"], "exact");
    // The approved request itself, then one more under the window.
    let first = s.as_user(
        "alice",
        &[
            "run",
            "--request",
            &id,
            "--policy",
            &s.policy,
            "--",
            "touch",
            file,
        ],
    );
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let output = s.run(&[], &["touch", file]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let listed = page(&id);
    assert!(listed.contains(r#"id="window-uses""#), "{listed}");
    assert!(
        listed.contains("&lt;b&gt;f"),
        "the argv is escaped: {listed}"
    );
    assert!(!listed.contains("<b>f"), "{listed}");
    assert!(
        listed.contains(r#"<dd id="window-state">open</dd>"#),
        "{listed}"
    );
    let revoked = http
        .post(format!("{}/requests/{id}/revoke", s.service.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf_of(&listed).as_str()), ("reason", "enough")])
        .send()
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 303);
    let after = page(&id);
    assert!(after.contains("revoked by bob"), "{after}");
    assert!(!after.contains("Revoke the window"), "{after}");
    let next = s.file(&[], &["touch", file]);
    assert_eq!(s.service.status("alice", &next), "pending");
    // A forged form is refused.
    let forged = http
        .post(format!("{}/requests/{id}/revoke", s.service.url))
        .header("cookie", &session)
        .form(&[("csrf", "nope")])
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
}

#[test]
fn break_glass_without_the_service_only_where_an_administrator_allows_it_and_is_reported() {
    let s = setup("");
    let target = s.env.root().join("offline");
    let file = target.to_str().unwrap();
    let unreachable = [("GATEKEEP_SERVER", "http://127.0.0.1:1")];
    // Not allowed: refused, nothing runs.
    let mut pty = break_glass_on_terminal(&s, &unreachable, &["touch", file]);
    pty.wait_for("Type yes to run it");
    pty.send(b"yes\n");
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert_ne!(pty.child.wait().unwrap().code(), Some(0), "{out}");
    assert!(
        out.contains("break-glass needs the approval service"),
        "{out}"
    );
    assert!(
        out.contains("127.0.0.1:1"),
        "the message names the URL: {out}"
    );
    assert!(!target.exists());
    // Only an administrator's file may allow it.
    let user = s
        .env
        .write("user.yaml", "version: 1\nbreak_glass_offline: true\n");
    let lint = s.as_user("alice", &["policy", "lint", user.to_str().unwrap()]);
    assert_ne!(lint.status.code(), Some(0));
    let said = format!("{}{}", text(&lint.stdout), text(&lint.stderr));
    assert!(said.contains("belongs in an administrator file"), "{said}");
    // The administrator's file as docs/policy.md shows it.
    s.env.write(
        "admin-policies/glass.yaml",
        "version: 1\nbreak_glass_offline: true\n",
    );
    let mut pty = break_glass_on_terminal(&s, &unreachable, &["touch", file]);
    pty.wait_for("Type yes to run it");
    pty.send(b"yes\n");
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert_eq!(pty.child.wait().unwrap().code(), Some(0), "{out}");
    assert!(target.exists());
    assert!(
        out.contains("BREAK GLASS without the approval service"),
        "{out}"
    );
    let kept = s.env.root().join("data/gatekeep/break-glass");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1);
    let log = std::fs::read_to_string(s.env.root().join("state/gatekeep/audit.jsonl")).unwrap();
    assert!(log.contains("\"offline\":true"), "{log}");
    // The next time a flow reaches the service, the run is reported, once.
    let dir = s.env.root().join("d");
    s.file(&[], &["mkdir", dir.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_dir(&kept).unwrap().count(),
        0,
        "the report is gone once recorded"
    );
    let listed = s.as_user("bob", &["requests", "--break-glass", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let runs = listed.as_array().unwrap();
    assert_eq!(runs.len(), 1, "{listed}");
    assert_eq!(runs[0]["break_glass"]["offline"], true);
    assert!(runs[0]["break_glass"]["ran_at"].is_string());
    assert!(runs[0]["break_glass"]["objection"].is_null(), "{listed}");
    assert_eq!(runs[0]["status"], "consumed");
    assert_eq!(runs[0]["reason"], "the database is down");
    let log = std::fs::read_to_string(s.env.root().join("state/gatekeep/audit.jsonl")).unwrap();
    assert!(log.contains("\"event\":\"break_glass_reported\""), "{log}");
    let flagged = s.as_user(
        "bob",
        &[
            "flag",
            runs[0]["id"].as_str().unwrap(),
            "-m",
            "why offline?",
        ],
    );
    assert!(flagged.status.success(), "{}", text(&flagged.stderr));
}

#[test]
fn an_agent_never_uses_a_persons_approval_by_id_or_at_consume() {
    let s = setup("");
    let target = s.env.root().join("f");
    let file = target.to_str().unwrap();
    s.approved_run(&["touch", file], &["--for", "10m"]);
    // A person's command granted under the window, not used yet.
    let granted = s.file(&[], &["touch", file]);
    let view = s.view("alice", &granted);
    assert_eq!(view["status"], "approved", "{view}");
    // An agent naming it is refused, and it stays unused.
    let output = s.run(&["--agent", "--request", &granted], &["touch", file]);
    assert_ne!(output.status.code(), Some(0));
    assert!(
        text(&output.stderr).contains("is a person's request"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(s.service.status("alice", &granted), "approved");
    // So is a consume that says it is an agent's, whatever client sends it.
    let answer = crate::service::http()
        .post(format!("{}/v1/requests/{granted}/consume", s.service.url))
        .bearer_auth(s.service.token("alice"))
        .json(&serde_json::json!({"agent": true}))
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 409);
    assert!(answer.text().unwrap().contains("an agent cannot use it"));
    assert_eq!(s.service.status("alice", &granted), "approved");
}

#[test]
fn only_the_services_approvers_close_a_break_glass_review_and_a_traced_run_never_breaks_glass() {
    let env = TestEnv::new();
    let server = env.write(
        "service/policy.yaml",
        "version: 1\ndefault: allow\nopaque: allow\nrules:\n  - id: touch-sre\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:sre\"], break_glass: true}\n",
    );
    let service = Service::start(&env, USERS, &format!("policies: [{}]", server.display()));
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let s = Setup {
        env,
        service,
        policy,
    };
    let target = s.env.root().join("glass");
    let mut pty = break_glass_on_terminal(&s, &[], &["touch", target.to_str().unwrap()]);
    pty.wait_for("Type yes to run it");
    pty.send(b"yes\n");
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert_eq!(pty.child.wait().unwrap().code(), Some(0), "{out}");
    let listed = s.as_user("carol", &["requests", "--break-glass", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let id = listed[0]["id"].as_str().unwrap().to_owned();
    // bob approves under the requester's own rule only: the service's rule decides who
    // reviews the run.
    let refused = s.as_user("bob", &["acknowledge", &id]);
    assert_ne!(refused.status.code(), Some(0));
    assert!(
        text(&refused.stderr).contains("not among the approvers of rule server:touch-sre"),
        "{}",
        text(&refused.stderr)
    );
    let closed = s.as_user("carol", &["acknowledge", &id]);
    assert!(closed.status.success(), "{}", text(&closed.stderr));
    // Traced by a supervisor whose variables were taken away: still refused.
    let gatekeep = env!("CARGO_BIN_EXE_gatekeep");
    let outer = s
        .env
        .write("outer.yaml", "version: 1\ndefault: allow\nopaque: allow\n");
    let mut cmd = s.service.as_user(&s.env, "alice");
    cmd.args(["run", "--supervise", "--policy"])
        .arg(&outer)
        .args([
            "--",
            "env",
            "-u",
            "GATEKEEP_SUPERVISOR",
            gatekeep,
            "run",
            "--break-glass",
        ])
        .args(["--reason", "x", "--policy", &s.policy, "--", "touch", "y"]);
    let mut pty = Pty::spawn_held(cmd);
    let out = String::from_utf8_lossy(&pty.until_exit()).into_owned();
    assert!(
        out.contains("refused inside a supervised process tree"),
        "{out}"
    );
    assert!(!s.env.root().join("y").exists());
}

/// A request body as a client files it, for `argv` with the facts given.
fn raw_request(argv: &[&str], extra: Value) -> Value {
    let facts = serde_json::json!({
        "argv": argv, "cwd": "/", "resolved_path": "/usr/bin/touch", "binary_sha256": "00",
    });
    let digest = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(
            gatekeep::approval::canonical_json(&facts).as_bytes(),
        ))
    };
    let mut body = serde_json::json!({
        "argv": argv, "cwd": "/", "resolved_path": "/usr/bin/touch", "binary_sha256": "00",
        "host": "h", "user": "u", "rules": ["touch-held"], "digest": digest,
        "approvals": [{"rule": "touch-held", "approvers": ["group:reviewers"], "quorum": 1,
                       "break_glass": true}],
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn post(s: &Setup, user: &str, path: &str, body: &Value) -> (u16, String) {
    let answer = crate::service::http()
        .post(format!("{}{path}", s.service.url))
        .bearer_auth(s.service.token(user))
        .json(body)
        .send()
        .unwrap();
    (answer.status().as_u16(), answer.text().unwrap())
}

#[test]
fn a_reported_run_is_recorded_under_the_services_own_requirements_and_reviewers() {
    let env = TestEnv::new();
    let server = env.write(
        "service/policy.yaml",
        "version: 1\ndefault: allow\nopaque: allow\nrules:\n  - id: touch-sre\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:sre\"], break_glass: true}\n",
    );
    let service = Service::start(&env, USERS, &format!("policies: [{}]", server.display()));
    let s = Setup {
        policy: env.write("p.yaml", POLICY).display().to_string(),
        env,
        service,
    };
    let now = jiff::Timestamp::now().to_string();
    // A report naming its own "service" requirement with a reviewer of its choice.
    let forged = raw_request(
        &["touch", "x"],
        serde_json::json!({"break_glass": true, "reason": "outage", "ran_at": now,
            "approvals": [{"rule": "server:touch-sre", "approvers": ["user:dave"], "quorum": 1,
                           "break_glass": true},
                          {"rule": "touch-held", "approvers": ["group:reviewers"], "quorum": 1,
                           "break_glass": true}]}),
    );
    let (status, text) = post(&s, "alice", "/v1/requests", &forged);
    assert_eq!(status, 201, "{text}");
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let view = s.view("alice", &id);
    assert_eq!(view["status"], "consumed");
    let approvals = view["approvals"].to_string();
    assert!(!approvals.contains("user:dave"), "{approvals}");
    assert!(approvals.contains("group:sre"), "{approvals}");
    assert!(
        view["break_glass"]["objection"]
            .as_str()
            .unwrap()
            .contains("left out"),
        "{view}"
    );
    assert_ne!(
        s.as_user("dave", &["acknowledge", &id]).status.code(),
        Some(0)
    );
    let closed = s.as_user("carol", &["flag", &id, "-m", "forged requirement"]);
    assert!(closed.status.success(), "{}", text_of(&closed));
    // An agent's report, a time in the future, and a flood of escalation steps: refused.
    let agent = raw_request(
        &["touch", "y"],
        serde_json::json!({"break_glass": true, "reason": "x", "ran_at": now, "agent": true}),
    );
    assert_eq!(post(&s, "alice", "/v1/requests", &agent).0, 403);
    let future = raw_request(
        &["touch", "z"],
        serde_json::json!({"break_glass": true, "reason": "x", "ran_at": "2999-01-01T00:00:00Z"}),
    );
    assert_eq!(post(&s, "alice", "/v1/requests", &future).0, 422);
    let steps: Vec<Value> = (0..11)
        .map(|i| serde_json::json!({"after_seconds": i + 1, "notify": ["group:reviewers"]}))
        .collect();
    let flood = raw_request(
        &["touch", "w"],
        serde_json::json!({"approvals": [{"rule": "touch-held", "approvers": ["group:reviewers"],
                                          "quorum": 1, "escalate": steps}]}),
    );
    assert_eq!(post(&s, "alice", "/v1/requests", &flood).0, 422);
}

fn text_of(output: &Output) -> String {
    format!("{}{}", text(&output.stdout), text(&output.stderr))
}

#[test]
fn a_file_planted_among_unreported_runs_is_never_filed() {
    let s = setup("");
    let planted = raw_request(
        &["touch", "planted"],
        serde_json::json!({"break_glass": true, "reason": "x"}),
    );
    let dir = s.env.root().join("data/gatekeep/break-glass");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("0190aaaa-0000-7000-8000-000000000000.json"),
        planted.to_string(),
    )
    .unwrap();
    let target = s.env.root().join("f");
    let output = s.as_user(
        "alice",
        &[
            "run",
            "--no-wait",
            "--policy",
            &s.policy,
            "--",
            "touch",
            target.to_str().unwrap(),
        ],
    );
    assert!(
        text(&output.stderr).contains("is not a break-glass run this log recorded"),
        "{}",
        text(&output.stderr)
    );
    let listed = s.as_user("bob", &["requests", "--break-glass", "--json"]);
    assert_eq!(text(&listed.stdout).trim(), "[]");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "kept for a person to look at"
    );
}

#[test]
fn a_program_window_never_covers_any_code_an_interpreter_is_given() {
    let s = setup("");
    let policy = s.env.write(
        "interp.yaml",
        "version: 1\napproval: {approvers: [\"group:reviewers\"]}\nrules:\n  - id: python-held\n    decision: approve\n    match: {program: python3}\n  - id: touch-held\n    decision: approve\n    match: {program: touch}\n",
    );
    let script = s.env.write("ok.py", "print('ok')\n");
    let output = s.as_user(
        "alice",
        &[
            "run",
            "--no-wait",
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "python3",
            script.to_str().unwrap(),
        ],
    );
    let id = text(&output.stdout).trim().to_owned();
    let refused = s.as_user(
        "bob",
        &["approve", &id, "--for", "10m", "--scope", "program"],
    );
    assert_eq!(refused.status.code(), Some(1), "{}", text_of(&refused));
    assert!(text(&refused.stderr).contains("runs whatever code its arguments give it"));
    // The exact scope is fine.
    let given = s.as_user("bob", &["approve", &id, "--for", "10m"]);
    assert!(given.status.success(), "{}", text_of(&given));
}

#[test]
fn a_quorum_opens_a_window_only_when_every_counted_approval_asks_for_one() {
    let s = setup("");
    let policy = s.env.write(
        "quorum.yaml",
        "version: 1\nrules:\n  - id: two-eyes\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:reviewers\", \"group:sre\"], quorum: 2}\n",
    );
    let policy = policy.to_str().unwrap();
    let target = s.env.root().join("f");
    let file = target.to_str().unwrap();
    let filed = || {
        let output = s.as_user(
            "alice",
            &["run", "--no-wait", "--policy", policy, "--", "touch", file],
        );
        assert_eq!(output.status.code(), Some(120), "{}", text_of(&output));
        text(&output.stdout).trim().to_owned()
    };
    // One approval asks for a window, the other does not: the command alone is approved.
    let first = filed();
    assert!(
        s.as_user("bob", &["approve", &first, "--for", "10m"])
            .status
            .success()
    );
    let second = s.as_user("carol", &["approve", &first]);
    assert!(second.status.success(), "{}", text_of(&second));
    assert!(
        text(&second.stderr).contains("no window"),
        "{}",
        text_of(&second)
    );
    let view = s.view("alice", &first);
    assert_eq!(view["status"], "approved");
    assert!(view["window"].is_null(), "{view}");
    // Both ask: the shortest length and the narrowest scope.
    let again = filed();
    assert_ne!(again, first);
    assert!(
        s.as_user(
            "bob",
            &["approve", &again, "--for", "10m", "--scope", "program"]
        )
        .status
        .success()
    );
    assert!(
        s.as_user("carol", &["approve", &again, "--for", "5m"])
            .status
            .success()
    );
    let window = &s.view("alice", &again)["window"];
    assert_eq!(window["scope"], "exact", "{window}");
    let time = |field: &str| {
        window[field]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    };
    assert_eq!(time("ends_at") - time("starts_at"), 300);
    assert_eq!(window["opened_by"], serde_json::json!(["bob", "carol"]));
}
