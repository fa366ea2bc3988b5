//! Webhooks against a local receiver that checks the documented format and can hold the
//! service's delivery open (a barrier), proving the API does not wait for it.

use std::net::TcpListener;
use std::sync::mpsc;

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Seen, Service, UserSpec, endpoint};

/// A receiver on 127.0.0.1:0 whose every answer waits for one message on the sender.
fn receiver() -> (String, Seen, mpsc::Sender<()>) {
    let (base, seen, release) = endpoint("", true);
    (
        format!("{base}/hook"),
        seen,
        release.expect("a gated endpoint"),
    )
}

/// `gatekeep run --no-wait` of a command that needs approval, as alice; the request id.
fn file_request(env: &TestEnv, service: &Service) -> String {
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: hooked\n    decision: approve\n    match: {program: touch}\n",
    );
    let output = service
        .as_user(env, "alice")
        .args(["run", "--no-wait", "--policy"])
        .arg(&policy)
        .args(["--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(120),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

const USERS: &[UserSpec<'static>] = &[("alice", &[], true), ("bob", &["reviewers"], true)];

#[test]
fn events_are_signed_as_documented_and_never_block_the_api() {
    let env = TestEnv::new();
    let (url, seen, release) = receiver();
    let service = Service::start(
        &env,
        USERS,
        &format!("webhooks: [{{url: \"{url}\", secret: s3cret}}]"),
    );
    // The receiver holds the first delivery open; filing the request must still succeed.
    let id = file_request(&env, &service);
    let approve = service
        .as_user(&env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(
        approve.status.success(),
        "the API answers while a webhook is blocked"
    );
    for _ in 0..3 {
        release.send(()).unwrap();
    }
    let mut kinds = Vec::new();
    for _ in 0..600 {
        kinds = seen
            .lock()
            .unwrap()
            .iter()
            .map(|d| d.header("x-gatekeep-event").to_owned())
            .collect::<Vec<_>>();
        if kinds.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    kinds.sort();
    assert_eq!(
        kinds,
        ["request.approved", "request.created", "request.reviewed"]
    );
    // Each body is the documented JSON, signed as documented: check with the snippet from
    // docs/integrations.md, run by Python.
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/integrations.md"),
    )
    .unwrap();
    let snippet = doc
        .split("```python\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    for delivery in seen.lock().unwrap().iter() {
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(body["type"], delivery.header("x-gatekeep-event"));
        assert_eq!(body["id"], delivery.header("x-gatekeep-delivery"));
        assert_eq!(body["request"]["id"], id.as_str());
        assert_eq!(body["request"]["requester"], "alice");
        assert!(
            body["request"].get("grant").is_none(),
            "grants are not broadcast"
        );
        let body_file = env.write("body.json", "");
        std::fs::write(&body_file, &delivery.body).unwrap();
        let check = format!(
            "{snippet}\nimport sys\nbody = open(sys.argv[1], 'rb').read()\nassert verify('s3cret', sys.argv[2], body)\nassert not verify('wrong', sys.argv[2], body)\nassert not verify('s3cret', sys.argv[2], body + b' ')\n"
        );
        let status = std::process::Command::new("python3")
            .arg("-c")
            .arg(&check)
            .arg(&body_file)
            .arg(delivery.header("x-gatekeep-signature"))
            .status()
            .unwrap();
        assert!(
            status.success(),
            "the documented snippet verifies the signature"
        );
    }
}

#[test]
fn failed_deliveries_are_retried_then_reported() {
    let env = TestEnv::new();
    // Nothing listens on this port: every attempt fails at once.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    let service = Service::start(
        &env,
        USERS,
        &format!(
            "webhooks: [{{url: \"{url}\", secret: x, attempts: 2, events: [request.created]}}]"
        ),
    );
    file_request(&env, &service);
    service.log.wait_for("failed for request.created");
    let audit = std::fs::read_to_string(service.data.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"webhook_failed\""));
    assert!(audit.contains("gave up after 2 attempts"));
}
