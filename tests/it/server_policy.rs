//! The service sets the bar: its own policy judges every request, whatever the requester's
//! client claims, and the client in turn refuses a grant below its own bar.

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http, request_id};

/// The team lead's rules, on the service.
const SERVER_POLICY: &str = r#"
version: 1
rules:
  - id: prod-export
    description: Export of the production database
    decision: approve
    match: {program: pg_dump, options: {"-h|--host": "prod*"}}
    approval: {approvers: ["group:dba"], quorum: 2}
  - id: no-drop
    description: Dropping a database
    decision: deny
    match: {program: dropdb}
  - id: agent-mkdir
    description: Agents creating directories
    decision: approve
    match: {program: mkdir, when: {agent: true}}
    approval: {approvers: ["group:dba"], quorum: 1}
  - id: touch
    decision: approve
    match: {program: touch}
    approval: {approvers: ["group:reviewers"], quorum: 1}
"#;

/// The requester's own policy: a much lower bar for the same commands.
const WEAK_POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"], quorum: 1, timeout: 5m}
rules:
  - {id: pg-dump, decision: approve, match: {program: pg_dump}}
  - {id: dropdb, decision: approve, match: {program: dropdb}}
  - {id: mkdir, decision: approve, match: {program: mkdir}}
  - {id: touch, decision: approve, match: {program: touch}}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers", "dba"], true),
    ("carol", &["dba"], true),
    ("robot", &[], true),
];

struct Setup {
    env: TestEnv,
    service: Service,
    server_policy: PathBuf,
    weak: String,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let server_policy = env.write("service/policy.yaml", SERVER_POLICY);
    let weak = env.write("weak.yaml", WEAK_POLICY).display().to_string();
    // Stand-ins for the database tools: each leaves a mark when it really runs.
    for tool in ["pg_dump", "dropdb"] {
        let script = env.write(
            &format!("bin/{tool}"),
            &format!("#!/bin/sh\ntouch {tool}.ran\n"),
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let service = Service::start(
        &env,
        USERS,
        &format!("policies: [{}]", server_policy.display()),
    );
    Setup {
        env,
        service,
        server_policy,
        weak,
    }
}

impl Setup {
    fn review(&self, user: &str, verdict: &str, id: &str) {
        let output = self
            .service
            .as_user(&self.env, user)
            .args([verdict, id])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{user} {verdict}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The request as its requester sees it through the API.
    fn show(&self, user: &str, id: &str) -> Value {
        http()
            .get(format!("{}/v1/requests/{id}", self.service.url))
            .bearer_auth(self.service.token(user))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// `POST /v1/requests` as `user`, made by hand: `body` with a digest that fits it.
    fn post(&self, user: &str, mut body: Value) -> (u16, Value) {
        body["digest"] = json!("");
        let request: gatekeep::approval::NewRequest = serde_json::from_value(body).unwrap();
        let mut body = serde_json::to_value(&request).unwrap();
        body["digest"] = json!(request.facts().digest());
        let answer = http()
            .post(format!("{}/v1/requests", self.service.url))
            .bearer_auth(self.service.token(user))
            .json(&body)
            .send()
            .unwrap();
        (answer.status().as_u16(), answer.json().unwrap())
    }

    fn ran(&self, tool: &str) -> bool {
        self.env.root().join(format!("{tool}.ran")).exists()
    }
}

/// A request body as a client would send it, for `argv`, with `approvals`.
fn body(argv: &[&str], approvals: Value) -> Value {
    json!({
        "argv": argv, "cwd": "/srv", "resolved_path": format!("/usr/bin/{}", argv[0]),
        "binary_sha256": "00".repeat(32), "host": "ws-alice", "user": "alice",
        "approvals": approvals,
    })
}

fn rules(approvals: &Value) -> Vec<String> {
    approvals
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_client_claiming_a_lower_bar_waits_for_the_services() {
    let s = setup();
    // The requester's own policy asks one reviewer; the service's rule asks two of dba.
    let (mut run, lines) = s.service.run_in_background(
        &s.env,
        "alice",
        &[
            "--policy",
            &s.weak,
            "--",
            "./bin/pg_dump",
            "-h",
            "prod-db",
            "app",
        ],
    );
    let id = request_id(&lines);
    s.review("bob", "approve", &id);
    let view = s.show("alice", &id);
    assert_eq!(
        view["status"], "pending",
        "one approval is not the bar: {view}"
    );
    assert_eq!(rules(&view["approvals"]), ["pg-dump", "server:prod-export"]);
    assert!(view["grant"].is_null());
    assert!(!s.ran("pg_dump"));
    s.review("carol", "approve", &id);
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(s.ran("pg_dump"));
    // The grant records every requirement and who met it.
    let grant = &s.show("alice", &id)["grant"]["payload"]["approvals"];
    assert_eq!(rules(grant), ["pg-dump", "server:prod-export"]);
    assert_eq!(grant[1]["quorum"], 2);
    assert_eq!(grant[1]["approved_by"], json!(["bob", "carol"]));
    assert!(
        lines.complete().contains("of 2 from group:dba"),
        "the waiting line names the service's requirement: {}",
        lines.complete()
    );
}

#[test]
fn a_hand_made_request_gets_the_services_requirements() {
    let s = setup();
    // No requirement at all: filed anyway, with the service's.
    let (status, created) = s.post("alice", body(&["pg_dump", "-h", "prod-db"], json!([])));
    assert_eq!(status, 201, "{created}");
    assert_eq!(rules(&created["approvals"]), ["server:prod-export"]);
    // A quorum of one from the requester's friends: the service's two of dba still apply.
    let (status, created) = s.post(
        "alice",
        body(
            &["pg_dump", "--host=prod-db"],
            json!([{"rule": "mine", "approvers": ["user:bob"], "quorum": 1}]),
        ),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    s.review("bob", "approve", id);
    assert_eq!(s.show("alice", id)["status"], "pending");
    s.review("carol", "approve", id);
    let view = s.show("alice", id);
    assert_eq!(view["status"], "approved");
    assert_eq!(
        rules(&view["grant"]["payload"]["approvals"]),
        ["mine", "server:prod-export"]
    );
    // A command the service has no rule for, with no requirement, is still not a request.
    let (status, answer) = s.post("alice", body(&["pg_dump", "-h", "localhost"], json!([])));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["error"], "no approval requirements");
    // The service's names cannot be borrowed by the requester.
    let (status, answer) = s.post(
        "alice",
        body(
            &["ls"],
            json!([{"rule": "server:prod-export", "approvers": ["user:bob"], "quorum": 1}]),
        ),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("named like one of the service's own requirements")
    );
}

#[test]
fn a_command_the_service_denies_is_refused_and_never_runs() {
    let s = setup();
    let output = s
        .service
        .as_user(&s.env, "alice")
        .args(["run", "--policy", &s.weak, "--", "./bin/dropdb", "prod"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(126), "{stderr}");
    assert!(!s.ran("dropdb"));
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(
        errors,
        [
            "gatekeep: error: the service's policy denies this command: rule server:no-drop (Dropping a database)"
        ],
        "{stderr}"
    );
    // Nothing was filed; the service said so and recorded it.
    let listed = s
        .service
        .as_user(&s.env, "bob")
        .args(["requests", "--json"])
        .output()
        .unwrap();
    assert!(listed.stdout.starts_with(b"[]"));
    s.service
        .log
        .wait_for("request denied by the service's policy");
    let audit = std::fs::read_to_string(s.service.data.join("audit.jsonl")).unwrap();
    let denied: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["event"] == "request_denied")
        .collect();
    assert_eq!(denied.len(), 1, "{audit}");
    assert_eq!(denied[0]["rules"], json!(["server:no-drop"]));
    assert_eq!(denied[0]["requester"], "alice");
    // The API answer names the rule for programs; JSON mode ends with the same code.
    let (status, answer) = s.post(
        "alice",
        body(
            &["bash", "-c", "dropdb prod"],
            json!([{"rule": "x", "approvers": ["group:reviewers"], "quorum": 1}]),
        ),
    );
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["denied_by"], json!(["server:no-drop"]));
    let json_run = s
        .service
        .as_user(&s.env, "alice")
        .args([
            "run",
            "--json",
            "--policy",
            &s.weak,
            "--",
            "./bin/dropdb",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(json_run.status.code(), Some(126));
    let last: Value = serde_json::from_str(
        String::from_utf8_lossy(&json_run.stderr)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["event"], "error");
    assert_eq!(last["code"], "service_denied");
    assert_eq!(last["exit"], 126);
    assert!(!s.ran("dropdb"));
}

#[test]
fn approvers_nobody_configured_can_be_are_refused() {
    let s = setup();
    let typo = s.env.write(
        "typo.yaml",
        "version: 1\nrules:\n  - {id: pg-dump, decision: approve, match: {program: pg_dump}, approval: {approvers: [\"group:dbas\"]}}\n",
    );
    let output = s
        .service
        .as_user(&s.env, "alice")
        .args(["run", "--policy"])
        .arg(&typo)
        .args(["--", "./bin/pg_dump", "-h", "localhost"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("no configured identity can meet this request: rule pg-dump names group:dbas, a group no configured user belongs to"),
        "{stderr}"
    );
    assert!(!s.ran("pg_dump"));
    // The same for a group the service's own rule names.
    std::fs::write(
        &s.server_policy,
        SERVER_POLICY.replace(
            "[\"group:dba\"], quorum: 2",
            "[\"group:security\"], quorum: 2",
        ),
    )
    .unwrap();
    s.service.reconfigure(|text| text);
    let (status, answer) = s.post("alice", body(&["pg_dump", "-h", "prod-db"], json!([])));
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"],
        "no configured identity can meet this request: rule server:prod-export names group:security, a group no configured user belongs to"
    );
    // And for a quorum larger than the reviewers who could give it (alice is the requester).
    let (status, answer) = s.post(
        "alice",
        body(
            &["ls"],
            json!([{"rule": "x", "approvers": ["group:reviewers"], "quorum": 2}]),
        ),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .ends_with("needs 2 approvals from group:reviewers, but only 1 configured reviewer other than the requester can give one")
    );
}

#[test]
fn a_broken_policy_on_reload_keeps_the_one_in_force() {
    let s = setup();
    let dropdb = || {
        s.post(
            "alice",
            body(
                &["dropdb", "prod"],
                json!([{"rule": "x", "approvers": ["group:reviewers"], "quorum": 1}]),
            ),
        )
        .0
    };
    assert_eq!(dropdb(), 403);
    std::fs::write(
        &s.server_policy,
        "version: 1\nrules:\n  - id: no-drop\n    decision: maybe\n    match: {program: dropdb}\n",
    )
    .unwrap();
    s.service.reconfigure(|text| text);
    let said = s.service.log.wait_for("policies not reloaded");
    assert_eq!(
        said,
        format!(
            "gatekeep: policies not reloaded, keeping the ones in force: invalid server policy: {}:4:15: unknown variant `maybe`, expected one of allow, supervise, approve, deny",
            s.server_policy.display()
        )
    );
    assert_eq!(dropdb(), 403, "the old policy is still in force");
    // A valid policy replaces it.
    std::fs::write(&s.server_policy, "version: 1\n").unwrap();
    s.service.reconfigure(|text| text);
    s.service.log.wait_for("policies reloaded");
    assert_eq!(dropdb(), 201);
}

#[test]
fn serve_refuses_to_start_on_a_broken_policy() {
    let env = TestEnv::new();
    let policy = env.write(
        "policy.yaml",
        "version: 1\nrules:\n  - id: x\n    decision: deny\n    match: {program: [}\n",
    );
    let config = env.write(
        "server.yaml",
        &format!("policies: [{}]\n", policy.display()),
    );
    let output = env
        .gatekeep()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(env.root().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(
        errors,
        [format!(
            "gatekeep: error: invalid server policy: {}:5:22: mismatched bracket '[' closed by '}}'",
            policy.display()
        )],
        "{stderr}"
    );
    assert!(!stderr.contains("serving on"));
}

#[test]
fn an_identity_configured_as_an_agent_is_one_whatever_it_claims() {
    let s = setup();
    s.service.reconfigure(|text| {
        text.lines()
            .map(|line| {
                if line.contains("name: robot,") {
                    line.replace("can_review: true}", "can_review: true, agent: true}")
                } else {
                    line.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    let dir = s.env.root().join("made-by-robot");
    // No agent marker and no --agent: the robot's client claims a person.
    let (mut run, lines) = s.service.run_in_background(
        &s.env,
        "robot",
        &["--policy", &s.weak, "--", "mkdir", dir.to_str().unwrap()],
    );
    let id = request_id(&lines);
    let view = s.show("robot", &id);
    assert_eq!(view["agent"], true, "{view}");
    assert_eq!(rules(&view["approvals"]), ["mkdir", "server:agent-mkdir"]);
    s.review("alice", "approve", &id);
    assert_eq!(s.show("robot", &id)["status"], "pending");
    s.review("carol", "approve", &id);
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(dir.exists());
    // The same command from a person meets only the person's bar.
    let (_, created) = s.post(
        "alice",
        body(
            &["mkdir", "x"],
            json!([{"rule": "x", "approvers": ["group:dba"], "quorum": 1}]),
        ),
    );
    assert_eq!(rules(&created["approvals"]), ["x"]);
    // An agent identity never reviews, even with `can_review: true`.
    let (_, created) = s.post(
        "alice",
        body(
            &["true"],
            json!([{"rule": "x", "approvers": ["group:reviewers", "user:robot"], "quorum": 1}]),
        ),
    );
    let review = s
        .service
        .as_user(&s.env, "robot")
        .args(["approve", created["id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&review.stderr).contains("robot may not review requests"),
        "{review:?}"
    );
}

#[test]
fn a_grant_below_the_clients_own_bar_is_refused() {
    let s = setup();
    // The client's bar for touch: two reviewers. The service's: one.
    let strict = s.env.write(
        "strict.yaml",
        "version: 1\nrules:\n  - {id: touch, decision: approve, match: {program: touch}, approval: {approvers: [\"group:reviewers\"], quorum: 2}}\n",
    );
    let file = s.env.root().join("below-the-bar");
    // Filed under a lower claim (one reviewer), and approved by one: the service's bar is met.
    let filed = s
        .service
        .as_user(&s.env, "carol")
        .args(["run", "--no-wait", "--policy", &s.weak, "--", "touch"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120));
    let id = String::from_utf8_lossy(&filed.stdout).trim().to_owned();
    s.review("alice", "approve", &id);
    let view = s.show("carol", &id);
    assert_eq!(view["status"], "approved");
    assert_eq!(
        rules(&view["grant"]["payload"]["approvals"]),
        ["touch", "server:touch"]
    );
    // The client checks the grant against its own policy, and refuses it.
    let output = s
        .service
        .as_user(&s.env, "carol")
        .args(["run", "--request", &id, "--policy"])
        .arg(&strict)
        .args(["--", "touch"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains(
            "the grant does not satisfy this command's approval requirement for rule touch"
        ),
        "{stderr}"
    );
    assert!(!file.exists());
    assert_eq!(s.show("carol", &id)["status"], "approved", "not consumed");
    // Its own policy's bar is what lets it through.
    let output = s
        .service
        .as_user(&s.env, "carol")
        .args(["run", "--request", &id, "--policy", &s.weak, "--", "touch"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(file.exists());
}

#[test]
fn an_agents_hook_gets_the_services_deny() {
    let s = setup();
    let input = json!({
        "session_id": "sess-1", "cwd": s.env.root(), "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": "cd /tmp && dropdb prod"},
    });
    let output = s
        .service
        .as_user(&s.env, "robot")
        .args(["hook", "claude-code", "--policy", &s.weak])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.to_string().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    let out = &answer["hookSpecificOutput"];
    assert_eq!(out["permissionDecision"], "deny", "{answer}");
    assert!(
        out["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("rule server:no-drop (Dropping a database)"),
        "{answer}"
    );
}

/// A rule of the service that looks at a variable the request does not carry in clear (one
/// clients do not bind, or one bound by its hash because it looks secret) cannot be judged
/// false: the service takes its condition as possibly met, and its requirement applies.
#[test]
fn a_condition_on_a_variable_the_service_cannot_see_still_sets_the_bar() {
    let env = TestEnv::new();
    let server_policy = env.write(
        "service/policy.yaml",
        r#"
version: 1
rules:
  - id: touch
    decision: approve
    match: {program: touch}
    approval: {approvers: ["group:reviewers"], quorum: 1}
  - id: prod-stage
    description: Anything run against production
    decision: approve
    match: {program: touch, env: {STAGE: prod}}
    approval: {approvers: ["group:dba"], quorum: 2}
  - id: prod-url
    description: The production database
    decision: approve
    match: {program: touch, env: {DATABASE_URL: "*prod-db*"}}
    approval: {approvers: ["group:dba"], quorum: 2}
"#,
    );
    let weak = env.write("weak.yaml", WEAK_POLICY);
    let service = Service::start(
        &env,
        USERS,
        &format!("policies: [{}]", server_policy.display()),
    );
    let file = env.root().join("touched");
    let filed = |vars: &[(&str, &str)]| -> Vec<String> {
        let mut run = service.as_user(&env, "alice");
        run.args(["run", "--no-wait", "--policy"])
            .arg(&weak)
            .args(["--", "touch"])
            .arg(&file);
        for (name, value) in vars {
            run.env(name, value);
        }
        let output = run.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(120),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let view = service.view("alice", &id);
        rules(&view["approvals"])
    };
    // A variable no client binds: the service cannot tell, so the rule counts.
    assert_eq!(
        filed(&[("STAGE", "prod")]),
        ["touch", "server:touch", "server:prod-stage"]
    );
    // A secret-looking value reaches the service as its hash only: the same.
    let url = "postgres://app:Zq8vW2xLr5Tn@prod-db.internal/app";
    let rules_seen = filed(&[("DATABASE_URL", url)]);
    assert!(
        rules_seen.contains(&"server:prod-url".to_owned()),
        "{rules_seen:?}"
    );
}
