//! Webhooks against a local receiver that checks the documented format and can hold the
//! service's delivery open (a barrier), proving the API does not wait for it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec};

struct Delivery {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Delivery {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// A receiver on 127.0.0.1:0. Each delivery waits for one message on the returned sender
/// before it is answered 200.
fn receiver() -> (String, Arc<Mutex<Vec<Delivery>>>, mpsc::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (release, gate) = mpsc::channel::<()>();
    let sink = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .unwrap()
                .1
                .parse()
                .unwrap();
            let mut body = vec![0u8; length];
            reader.read_exact(&mut body).unwrap();
            sink.lock().unwrap().push(Delivery { headers, body });
            if gate.recv().is_err() {
                return;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, seen, release)
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
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: hooked\n    decision: approve\n    match: {program: touch}\n",
    );
    // The receiver holds the first delivery open; filing the request must still succeed.
    let output = service
        .as_user(&env, "alice")
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
    let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
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
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: hooked\n    decision: approve\n    match: {program: touch}\n",
    );
    let output = service
        .as_user(&env, "alice")
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
    service.log.wait_for("failed for request.created");
    let audit = std::fs::read_to_string(service.data.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"event\":\"webhook_failed\""));
    assert!(audit.contains("gave up after 2 attempts"));
}
