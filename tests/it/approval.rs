//! The approval service and the waiting client, end to end on 127.0.0.1.

use std::time::Duration;

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, request_id};

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 30s}
rules:
  - id: touch-needs-ok
    description: Creating files needs a second pair of eyes
    decision: approve
    match: {program: touch}
  - id: mkdir-quorum
    decision: approve
    match: {program: mkdir}
    approval: {approvers: ["group:dba"], quorum: 2}
  - id: ln-expires
    decision: approve
    match: {program: ln}
    approval: {timeout: 2s}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers", "dba"], true),
    ("carol", &["dba"], true),
    ("dave", &[], true),
    ("agent", &[], false),
];

fn setup() -> (TestEnv, Service, String) {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "requests: {grant_lifetime: 5m}");
    (env, service, policy)
}

fn review(
    service: &Service,
    env: &TestEnv,
    user: &str,
    verdict: &str,
    id: &str,
) -> std::process::Output {
    service
        .as_user(env, user)
        .args([verdict, id, "-m", &format!("{user} says {verdict}")])
        .output()
        .unwrap()
}

fn status_of(service: &Service, _env: &TestEnv, user: &str, id: &str) -> String {
    service.status(user, id)
}

#[test]
fn approve_flow_end_to_end() {
    let (env, service, policy) = setup();
    let marker = env.root().join("approved-file");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            &policy,
            "--reason",
            "deploy prep",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    let id = request_id(&lines);
    let listed = service
        .as_user(&env, "bob")
        .args(["requests", "--json"])
        .output()
        .unwrap();
    let pending: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(pending[0]["id"], id.as_str());
    assert_eq!(pending[0]["requester"], "alice");
    assert_eq!(pending[0]["reason"], "deploy prep");
    assert_eq!(pending[0]["rules"][0], "touch-needs-ok");
    assert!(!marker.exists(), "nothing runs before approval");
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", lines.complete());
    assert!(marker.exists());
    assert!(lines.complete().contains("approved by bob"));
    assert!(
        !lines.complete().contains("waiting for approval of"),
        "no spinner without a terminal"
    );
    let log = std::fs::read_to_string(env.root().join("state/gatekeep/audit.jsonl")).unwrap();
    for event in [
        "\"approval_requested\"",
        "\"approval_granted\"",
        "\"exec\"",
        "\"exit\"",
    ] {
        assert!(log.contains(event), "{event} missing from the log");
    }
    assert_eq!(status_of(&service, &env, "alice", &id), "consumed");
}

#[test]
fn rejection_is_121_with_the_reviewers_comment() {
    let (env, service, policy) = setup();
    let marker = env.root().join("rejected-file");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    assert!(
        review(&service, &env, "bob", "reject", &id)
            .status
            .success()
    );
    assert_eq!(run.wait().unwrap().code(), Some(121));
    assert!(
        lines.complete().contains("bob rejected: bob says reject"),
        "{}",
        lines.complete()
    );
    assert!(!marker.exists());
}

#[test]
fn expiry_is_122() {
    let (env, service, policy) = setup();
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "ln", "-s", "/nonexistent", "x"],
    );
    let id = request_id(&lines);
    assert_eq!(
        run.wait().unwrap().code(),
        Some(122),
        "{}",
        lines.complete()
    );
    assert_eq!(status_of(&service, &env, "alice", &id), "expired");
    let late = review(&service, &env, "bob", "approve", &id);
    assert!(!late.status.success());
    assert!(String::from_utf8_lossy(&late.stderr).contains("expired"));
}

#[test]
fn ctrl_c_cancels_the_request_with_123() {
    let (env, service, policy) = setup();
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", "never"],
    );
    let id = request_id(&lines);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(run.wait().unwrap().code(), Some(123));
    assert_eq!(status_of(&service, &env, "alice", &id), "cancelled");
    assert!(!env.root().join("never").exists());
}

#[test]
fn no_wait_then_wait_then_request() {
    let (env, service, policy) = setup();
    let marker = env.root().join("later");
    let output = service
        .as_user(&env, "alice")
        .args(["run", "--no-wait", "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(120));
    let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    let waited = service
        .as_user(&env, "alice")
        .args(["wait", &id])
        .output()
        .unwrap();
    assert_eq!(waited.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&waited.stdout).trim(), "approved");
    // Another command under this approval is refused.
    let other = service
        .as_user(&env, "alice")
        .args(["run", "--request", &id, "--policy", &policy, "--", "touch"])
        .arg(env.root().join("other"))
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(122));
    assert!(
        String::from_utf8_lossy(&other.stderr)
            .contains("approved another command: the arguments differ"),
        "{other:?}"
    );
    assert!(!env.root().join("other").exists());
    assert_eq!(status_of(&service, &env, "alice", &id), "approved");
    // The approved command runs once.
    let ran = service
        .as_user(&env, "alice")
        .args(["run", "--request", &id, "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    let again = service
        .as_user(&env, "alice")
        .args(["run", "--request", &id, "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    assert_ne!(
        again.status.code(),
        Some(0),
        "a consumed approval cannot be reused"
    );
    assert!(!marker.exists());
}

#[test]
fn quorum_of_two_distinct_approvers() {
    let (env, service, policy) = setup();
    let dir = env.root().join("quorum-dir");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "mkdir", dir.to_str().unwrap()],
    );
    let id = request_id(&lines);
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    assert_eq!(
        review(&service, &env, "bob", "approve", &id).status.code(),
        Some(1),
        "a second approval by the same reviewer is not recorded, and says so"
    );
    assert_eq!(
        status_of(&service, &env, "alice", &id),
        "pending",
        "the same reviewer twice counts once"
    );
    assert!(!dir.exists());
    assert!(
        review(&service, &env, "carol", "approve", &id)
            .status
            .success()
    );
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(dir.exists());
}

#[test]
fn nobody_approves_their_own_request_and_only_approvers_review() {
    let (env, service, policy) = setup();
    let (mut run, lines) =
        service.run_in_background(&env, "alice", &["--policy", &policy, "--", "touch", "x"]);
    let id = request_id(&lines);
    // alice is in the approver group, but she filed the request.
    let own = review(&service, &env, "alice", "approve", &id);
    assert_eq!(own.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&own.stderr).contains("never review their own request"));
    let outsider = review(&service, &env, "dave", "approve", &id);
    assert!(String::from_utf8_lossy(&outsider.stderr).contains("not among the approvers"));
    let agent = review(&service, &env, "agent", "approve", &id);
    assert!(String::from_utf8_lossy(&agent.stderr).contains("may not review"));
    // The API says the same, whatever the client.
    let http = crate::service::http();
    let answer = http
        .post(format!("{}/v1/requests/{id}/reviews", service.url))
        .bearer_auth(service.token("alice"))
        .json(&serde_json::json!({"verdict": "approve"}))
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    assert_eq!(status_of(&service, &env, "alice", &id), "pending");
    // An agent session cannot review from the CLI at all, even with a reviewer's token.
    for (marker, command) in [
        ("CLAUDECODE", vec!["approve", &id]),
        ("CODEX_THREAD_ID", vec!["reject", &id]),
        ("GATEKEEP_AGENT", vec!["review"]),
    ] {
        let from_agent = service
            .as_user(&env, "bob")
            .env(marker, "1")
            .args(&command)
            .output()
            .unwrap();
        assert_eq!(from_agent.status.code(), Some(125));
        assert!(
            String::from_utf8_lossy(&from_agent.stderr).contains(&format!(
                "reviews cannot be given from an agent session ({marker} is set)"
            )),
            "{from_agent:?}"
        );
    }
    assert_eq!(status_of(&service, &env, "alice", &id), "pending");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    run.wait().unwrap();
}

#[test]
fn grant_signed_by_another_key_is_refused() {
    let (env, service, policy) = setup();
    let marker = env.root().join("forged");
    let wrong_key = "ab".repeat(32);
    let mut cmd = service.as_user(&env, "alice");
    cmd.env("GATEKEEP_SERVER_KEY", &wrong_key)
        .args(["run", "--policy", &policy, "--", "touch"])
        .arg(&marker);
    let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let collected = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    // Find the request through the reviewer's list instead of the waiting output.
    let id = {
        let mut found = None;
        for _ in 0..200 {
            let out = service
                .as_user(&env, "bob")
                .args(["requests", "--json"])
                .output()
                .unwrap();
            let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if let Some(id) = list[0]["id"].as_str() {
                found = Some(id.to_owned());
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        found.expect("the request was filed")
    };
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    let status = child.wait().unwrap();
    let text = collected.join().unwrap().join("\n");
    assert_eq!(status.code(), Some(125), "{text}");
    assert!(text.contains("does not verify"), "{text}");
    assert!(!marker.exists());
}

#[test]
fn killed_service_restarts_and_the_waiting_client_completes() {
    let (env, mut service, policy) = setup();
    let marker = env.root().join("after-restart");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    service.kill9_and_restart(&env);
    assert_eq!(
        status_of(&service, &env, "alice", &id),
        "pending",
        "the request survived the crash"
    );
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(marker.exists());
}

#[test]
fn removed_tokens_stop_working_after_sighup() {
    let (env, service, _policy) = setup();
    service
        .as_user(&env, "carol")
        .args(["requests"])
        .assert_success();
    let users: Vec<UserSpec<'_>> = USERS
        .iter()
        .copied()
        .filter(|(name, _, _)| *name != "carol")
        .collect();
    service.reconfigure(|_| {
        crate::service::config_text(&users, &service.tokens, "requests: {grant_lifetime: 5m}")
    });
    let refused = service
        .as_user(&env, "carol")
        .args(["requests"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("invalid token"));
    service
        .as_user(&env, "bob")
        .args(["requests"])
        .assert_success();
}

#[test]
fn witness_catches_truncation_and_replacement() {
    let (env, service, policy) = setup();
    let log = env.root().join("state/gatekeep/audit.jsonl");
    for _ in 0..3 {
        service
            .as_user(&env, "alice")
            .args(["run", "--policy", &policy, "--", "true"])
            .assert_success();
    }
    service
        .as_user(&env, "alice")
        .args(["log", "witness"])
        .assert_success();
    service
        .as_user(&env, "alice")
        .args(["log", "verify", "--witness"])
        .assert_success();
    // Truncate: drop the last records.
    let text = std::fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = text.lines().take(4).collect();
    std::fs::write(&log, format!("{}\n", kept.join("\n"))).unwrap();
    let truncated = service
        .as_user(&env, "alice")
        .args(["log", "verify", "--witness"])
        .output()
        .unwrap();
    assert_eq!(truncated.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&truncated.stdout).contains("truncated"));
    // Replace: a brand-new chain.
    std::fs::remove_file(&log).unwrap();
    service
        .as_user(&env, "alice")
        .args(["run", "--policy", &policy, "--", "true"])
        .assert_success();
    let replaced = service
        .as_user(&env, "alice")
        .args(["log", "verify", "--witness"])
        .output()
        .unwrap();
    assert_eq!(replaced.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replaced.stdout).contains("replaced"));
}

trait AssertSuccess {
    fn assert_success(&mut self);
}

impl AssertSuccess for std::process::Command {
    fn assert_success(&mut self) {
        let output = self.output().unwrap();
        assert!(
            output.status.success(),
            "{:?} failed: {}",
            self.get_args().collect::<Vec<_>>(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn unknown_ids_bad_tokens_and_oversized_bodies_are_clear_4xx() {
    let (_env, service, _policy) = setup();
    let http = crate::service::http();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{}{path}", service.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap().status().as_u16()
    };
    assert_eq!(get("/healthz", None), 200);
    assert_eq!(get("/v1/keys", None), 200);
    assert_eq!(get("/v1/requests", None), 401);
    assert_eq!(get("/v1/requests", Some("wrong")), 401);
    assert_eq!(get("/v1/requests/nope", Some(service.token("bob"))), 404);
    assert_eq!(
        get("/v1/requests?status=bogus", Some(service.token("bob"))),
        400
    );
    let big = "x".repeat(300 * 1024);
    let answer = http
        .post(format!("{}/v1/requests", service.url))
        .bearer_auth(service.token("alice"))
        .body(big)
        .header("content-type", "application/json")
        .send();
    // The service refuses the body: 413, or it closes the connection before reading it all.
    if let Ok(answer) = answer {
        assert_eq!(answer.status().as_u16(), 413);
    }
    let status = http
        .post(format!("{}/v1/requests", service.url))
        .bearer_auth(service.token("alice"))
        .json(&serde_json::json!({"argv": 1}))
        .send()
        .unwrap();
    assert!(status.status().is_client_error(), "{}", status.status());
    let body: Value = status.json().expect("errors are JSON");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let bad_wait = http
        .get(format!("{}/v1/requests/x?wait=soon", service.url))
        .bearer_auth(service.token("bob"))
        .send()
        .unwrap();
    assert_eq!(bad_wait.status().as_u16(), 400);
    assert!(bad_wait.json::<Value>().unwrap()["error"].is_string());
}

#[test]
fn login_pins_the_key_and_stores_the_token_then_logout_forgets() {
    let (env, service, _policy) = setup();
    let login = |token: &str| {
        env.gatekeep()
            .args(["login", "--server", &service.url])
            .write_stdin(token)
            .output()
            .unwrap()
    };
    let output = login(service.token("bob"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("pinned the service key sha256:"));
    let file = env.root().join("config/gatekeep/login.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let stored = std::fs::read_to_string(&file).unwrap();
    // The token is either in the OS keyring or, where there is none, in the 0600 file.
    assert_eq!(
        stored.contains(service.token("bob")),
        stderr.contains("OS keyring is not available"),
        "{stderr}"
    );
    let listed = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .args(["requests", "--json"])
        .output()
        .unwrap();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(env.gatekeep_std().arg("logout").status().unwrap().success());
    let after = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .args(["requests"])
        .output()
        .unwrap();
    assert_eq!(after.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&after.stderr).contains("no token"));
    let refused = env
        .gatekeep_std()
        .args(["login", "--server", "http://gatekeep.example.com"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("plain http"));
    let wrong = login("not-a-valid-token");
    assert!(!wrong.status.success());
}

#[test]
fn a_required_reason_without_a_terminal_is_an_error() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\nrules:\n  - id: why\n    decision: approve\n    match: {program: touch}\n    approval: {reason_required: true}\n");
    let service = Service::start(&env, USERS, "");
    let output = service
        .as_user(&env, "alice")
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a reason is required"));
    assert!(
        service
            .as_user(&env, "bob")
            .args(["requests", "--json"])
            .output()
            .unwrap()
            .stdout
            .starts_with(b"[]")
    );
}

#[test]
fn the_service_keeps_its_own_verifiable_log() {
    let (env, service, policy) = setup();
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", "logged"],
    );
    let id = request_id(&lines);
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    assert_eq!(run.wait().unwrap().code(), Some(0));
    let log = service.data.join("audit.jsonl");
    let verified = env
        .gatekeep_std()
        .args(["log", "verify", "--json", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let text = std::fs::read_to_string(&log).unwrap();
    for event in [
        "request_created",
        "review",
        "request_approved",
        "request_consumed",
    ] {
        assert!(
            text.contains(&format!("\"event\":\"{event}\"")),
            "{event} missing"
        );
    }
}

/// A certificate and key for localhost, as the `tls:` line of a service configuration.
fn tls_line(env: &TestEnv) -> String {
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&leaf_key)
        .unwrap();
    let cert = env.write("tls/cert.pem", &leaf.pem());
    let key = env.write("tls/key.pem", &leaf_key.serialize_pem());
    format!("tls: {{cert: {}, key: {}}}", cert.display(), key.display())
}

#[test]
fn tls_handshakes_are_bounded_in_time_and_number() {
    use std::io::Read as _;
    let env = TestEnv::new();
    let extra = format!(
        "{}\nconnections: {{header_timeout: 3s, max: 2}}",
        tls_line(&env)
    );
    let service = Service::start(&env, USERS, &extra);
    let address = service.url.trim_start_matches("https://").to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::blocking::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let healthz = format!("{}/healthz", service.url);
    let mut silent: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    // Two handshakes under way (never started by their clients): a third client is
    // turned away, however well it would shake hands.
    assert!(
        client.get(&healthz).send().is_err(),
        "over the number under way"
    );
    // A handshake that never starts is given up after the timeout: the connection closes,
    // and its place serves again.
    for stream in &mut silent {
        let mut byte = [0u8; 1];
        assert!(matches!(stream.read(&mut byte), Ok(0) | Err(_)), "closed");
    }
    let served = (0..100).any(|_| {
        let ok = client
            .get(&healthz)
            .send()
            .is_ok_and(|r| r.status().is_success());
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok
    });
    assert!(served);
}

#[test]
fn the_service_speaks_tls_with_a_private_ca() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let env = TestEnv::new();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let cert = env.write("tls/cert.pem", &leaf.pem());
    let key = env.write("tls/key.pem", &leaf_key.serialize_pem());
    let ca_file = env.write("tls/ca.pem", &ca.pem());
    let tls = format!("tls: {{cert: {}, key: {}}}", cert.display(), key.display());
    let service = Service::start(&env, USERS, &tls);
    assert!(
        service.url.starts_with("https://127.0.0.1:"),
        "{}",
        service.url
    );
    let url = service.url.replace("127.0.0.1", "localhost");
    // Clients that connect and never start a handshake hold only their own connection.
    let address = service.url.trim_start_matches("https://").to_owned();
    let silent: Vec<std::net::TcpStream> = (0..3)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    let trusted = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", service.token("bob"))
        .env("GATEKEEP_CA_CERT", &ca_file)
        .args(["requests", "--json"])
        .output()
        .unwrap();
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    // Served while the silent ones still wait for their handshakes: none was given up
    // on (closed) to make way for it.
    for mut stream in silent {
        use std::io::Read as _;
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let read = stream.read(&mut byte);
        assert!(
            matches!(&read, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a silent connection was closed before the other was served: {read:?}"
        );
    }
    let untrusted = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", service.token("bob"))
        .args(["requests"])
        .output()
        .unwrap();
    assert_eq!(
        untrusted.status.code(),
        Some(125),
        "an unknown certificate is refused"
    );
}

#[test]
fn on_a_terminal_the_reason_is_asked_and_a_spinner_shows_the_request() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\nrules:\n  - id: why\n    decision: approve\n    match: {program: touch}\n    approval: {reason_required: true}\n");
    let service = Service::start(&env, USERS, "");
    let marker = env.root().join("asked");
    let mut cmd = service.as_user(&env, "alice");
    cmd.env("TERM", "xterm")
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "touch"])
        .arg(&marker);
    let mut terminal = crate::pty::Pty::spawn(cmd);
    terminal.wait_for("Reason for this command");
    terminal.send(b"rotating the logs\r");
    terminal.wait_for("approval required: request ");
    terminal.wait_for("waiting for approval");
    let id = terminal.request_id();
    let pending: Value = service.json_of(&env, "bob", &["requests", "--json"]);
    assert_eq!(pending[0]["reason"], "rotating the logs");
    assert!(
        review(&service, &env, "bob", "approve", &id)
            .status
            .success()
    );
    assert_eq!(
        terminal.child.wait().unwrap().code(),
        Some(0),
        "{}",
        terminal.seen
    );
    assert!(marker.exists());
}

#[test]
fn token_new_prints_a_token_and_its_hash() {
    use sha2::Digest as _;
    let env = TestEnv::new();
    let output = env.gatekeep_std().args(["token", "new"]).output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap();
    let hash = text
        .lines()
        .find_map(|l| l.strip_prefix("token_sha256: "))
        .unwrap();
    assert!(token.len() >= 40);
    assert_eq!(hash, hex::encode(sha2::Sha256::digest(token.as_bytes())));
    let again = env.gatekeep_std().args(["token", "new"]).output().unwrap();
    assert_ne!(again.stdout, output.stdout, "tokens are random");
}

#[test]
fn interactive_review_on_a_terminal() {
    let (env, service, policy) = setup();
    let marker = env.root().join("reviewed");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    let mut cmd = service.as_user(&env, "bob");
    cmd.env("TERM", "xterm").arg("review");
    let mut terminal = crate::pty::Pty::spawn(cmd);
    terminal.wait_for("pending (Enter reads one, Esc or q leaves)");
    terminal.send(b"\r");
    terminal.wait_for("filed by:  alice");
    terminal.wait_for("Decision");
    // The decision defaults to "skip": move up twice to "approve".
    terminal.send(b"\x1b[A\x1b[A\r");
    terminal.wait_for("Comment");
    terminal.send(b"looks fine\r");
    terminal.wait_for("is now ");
    terminal.wait_for("no pending requests");
    assert_eq!(terminal.child.wait().unwrap().code(), Some(0));
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(marker.exists());
    assert!(
        terminal.seen.contains(&id[..8]),
        "the list shows the request id"
    );
}
