//! The fault suite: crashes, an unreachable or slow service, a full or read-only disk, and
//! bad input on every route. Each scenario checks state, never wall-clock time.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http, request_id};

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 60s}
rules:
  - id: touch-needs-ok
    decision: approve
    match: {program: touch}
  - id: mkdir-soon
    decision: approve
    match: {program: mkdir}
    approval: {timeout: 2s}
"#;

const USERS: &[UserSpec<'static>] = &[("alice", &[], true), ("bob", &["reviewers"], true)];

#[test]
fn kill_9_at_any_moment_loses_no_complete_record() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n").display().to_string();
    let mut finished = 0;
    for round in 0..40u64 {
        let mut child = env
            .gatekeep_std()
            .args(["run", "--policy", &policy, "--", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over start-up, policy load, the appends and the child's run.
        std::thread::sleep(Duration::from_micros((round * 211) % 4000));
        let _ = child.kill();
        if child.wait().unwrap().success() {
            finished += 1;
        }
    }
    // A clean run afterwards recovers a torn tail, if the last kill left one.
    env.gatekeep()
        .args(["run", "--policy", &policy, "--", "true"])
        .assert()
        .success();
    let verified = env.gatekeep().args(["log", "verify"]).output().unwrap();
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let all = env.log_records();
    let seqs: Vec<u64> = all.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap in {seqs:?}"
    );
    // Every run that finished has its exit record (plus the last clean run).
    let exits = all.iter().filter(|r| r["event"] == "exit").count();
    assert!(
        exits > finished,
        "{exits} exit records for {finished} finished runs"
    );
    // Every exec belongs to a decision written before it.
    for exec in all.iter().filter(|r| r["event"] == "exec") {
        assert!(
            all.iter()
                .any(|r| r["event"] == "decision" && r["run_id"] == exec["run_id"]),
            "{exec}"
        );
    }
}

#[test]
fn killed_service_with_several_waiting_clients_approves_each_once() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let mut service = Service::start(&env, USERS, "");
    let mut waiting = Vec::new();
    for n in 0..3 {
        let marker = env.root().join(format!("made-{n}"));
        let (child, lines) = service.run_in_background(
            &env,
            "alice",
            &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
        );
        let id = request_id(&lines);
        waiting.push((child, lines, id, marker));
    }
    service.kill9_and_restart(&env);
    for (_, _, id, _) in &waiting {
        assert_eq!(service.status("alice", id), "pending");
        let output = service
            .as_user(&env, "bob")
            .args(["approve", id])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    for (mut child, lines, id, marker) in waiting {
        assert_eq!(
            child.wait().unwrap().code(),
            Some(0),
            "{}",
            lines.complete()
        );
        assert!(marker.exists());
        assert_eq!(service.status("alice", &id), "consumed");
        let again = http()
            .post(format!("{}/v1/requests/{id}/consume", service.url))
            .bearer_auth(service.token("alice"))
            .send()
            .unwrap();
        assert_eq!(again.status().as_u16(), 409, "used once only");
    }
    // The service's own log verifies and approved each request once.
    let log = service.data.join("audit.jsonl");
    let verified = env
        .gatekeep()
        .args(["log", "verify", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.matches("\"event\":\"request_approved\"").count(), 3);
}

/// What a proxy in front of the service does with each connection.
#[derive(Clone, Copy)]
enum Trouble {
    /// Close it at once.
    Drop,
    /// Hold it without a word.
    Stall,
    /// Close the first `n` connections, then forward.
    DropFirst(usize),
}

/// A TCP proxy on 127.0.0.1 in front of `upstream`; returns its URL.
fn proxy(upstream: &str, trouble: Trouble) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let seen = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            match trouble {
                Trouble::Drop => drop(stream),
                Trouble::DropFirst(limit) if n < limit => drop(stream),
                Trouble::Stall => held.push(stream),
                Trouble::DropFirst(_) => {
                    let upstream = upstream.clone();
                    std::thread::spawn(move || forward(stream, &upstream));
                }
            }
        }
    });
    url
}

fn forward(client: TcpStream, upstream: &str) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        })
    };
    let a = pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
    let b = pipe(server, client);
    let _ = a.join();
    let _ = b.join();
}

#[test]
fn an_unreachable_or_silent_service_never_runs_the_command() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let key = service.public_key();
    for trouble in [Trouble::Drop, Trouble::Stall] {
        let url = proxy(&service.url, trouble);
        let marker = env.root().join("never");
        let output = env
            .gatekeep_std()
            .env("GATEKEEP_SERVER", &url)
            .env("GATEKEEP_TOKEN", service.token("alice"))
            .env("GATEKEEP_SERVER_KEY", &key)
            .args(["run", "--json", "--policy", &policy, "--", "mkdir"])
            .arg(&marker)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The rule's 2s timeout is the client's bound: expired, or refused for want of an
        // answer; never run.
        assert!(
            matches!(output.status.code(), Some(122) | Some(125)),
            "{stderr}"
        );
        assert!(!marker.exists());
        assert!(!stderr.contains("\"event\":\"exec\""), "{stderr}");
    }
    // A service that drops the first connections is retried until it answers.
    let url = proxy(&service.url, Trouble::DropFirst(3));
    let marker = env.root().join("after-retries");
    let mut child = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", service.token("alice"))
        .env("GATEKEEP_SERVER_KEY", &key)
        .args(["run", "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = crate::service::Lines::collect(child.stderr.take().unwrap());
    let id = request_id(&lines);
    assert!(
        service
            .as_user(&env, "bob")
            .args(["approve", &id])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        lines.complete()
    );
    assert!(marker.exists());
    assert!(
        lines.complete().contains("retrying"),
        "{}",
        lines.complete()
    );
}

/// Runs `script` as root in a private mount namespace, or says why it cannot.
fn in_mount_namespace(env: &TestEnv, script: &str) -> Result<std::process::Output, String> {
    let probe = std::process::Command::new("unshare")
        .args(["-m", "true"])
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => return Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        Err(e) => return Err(e.to_string()),
    }
    Ok(env
        .std_command("unshare")
        .args(["-m", "sh", "-c", script])
        .env("GK", assert_cmd::cargo::cargo_bin("gatekeep"))
        .output()
        .unwrap())
}

#[test]
fn a_full_or_read_only_disk_refuses_the_command() {
    let env = TestEnv::new();
    env.write("p.yaml", "version: 1\n");
    std::fs::create_dir_all(env.root().join("mnt")).unwrap();
    // A 64 KiB file system, filled up.
    let full = in_mount_namespace(
        &env,
        r#"mount -t tmpfs -o size=64k tmpfs mnt && dd if=/dev/zero of=mnt/filler bs=4k count=64 2>/dev/null; "$GK" run --policy p.yaml --log mnt/audit.jsonl -- touch ran-on-full; echo "exit=$?""#,
    );
    let full = match full {
        Ok(output) => output,
        Err(why) => {
            crate::common::cannot_run_here(&format!(
                "no private mount namespace here ({})",
                why.trim()
            ));
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&full.stdout);
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(stdout.contains("exit=125"), "{stdout}{stderr}");
    assert!(stderr.contains("cannot write the audit log"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(!env.root().join("ran-on-full").exists());
    // Read-only, even for root.
    let read_only = in_mount_namespace(
        &env,
        r#"mount -t tmpfs tmpfs mnt && mount -o remount,ro mnt && "$GK" run --policy p.yaml --log mnt/audit.jsonl -- touch ran-on-ro; echo "exit=$?""#,
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&read_only.stdout);
    let stderr = String::from_utf8_lossy(&read_only.stderr);
    assert!(stdout.contains("exit=125"), "{stdout}{stderr}");
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(!env.root().join("ran-on-ro").exists());
}

/// Every route of the service, from docs/openapi.yaml and the review page's routes.
fn routes() -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(root.join("docs/openapi.yaml")).unwrap())
            .unwrap();
    let mut all = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post"] {
            if item.get(method).is_some() {
                all.push((method.to_owned(), path.clone()));
            }
        }
    }
    for (method, path) in [
        ("get", "/"),
        ("post", "/login"),
        ("post", "/logout"),
        ("get", "/requests/{id}"),
        ("post", "/requests/{id}/review"),
        ("post", "/requests/{id}/revoke"),
        ("post", "/requests/{id}/after-review"),
    ] {
        all.push((method.to_owned(), path.to_owned()));
    }
    all
}

#[test]
fn bad_input_on_every_route_is_a_clear_4xx() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let client = http();
    let oversized = "x".repeat(300 * 1024);
    let bodies: Vec<(&str, Option<String>)> = vec![
        ("no body", None),
        ("not JSON", Some("{not json".to_owned())),
        (
            "wrong types",
            Some(r#"{"argv": 5, "verdict": 7, "head": "x"}"#.to_owned()),
        ),
        ("an array", Some("[1, 2, 3]".to_owned())),
        ("oversized", Some(oversized)),
    ];
    let unknown = "01a20fa3-0000-7000-8000-000000000000";
    let mut checked = 0;
    for (method, path) in routes() {
        let path = path
            .replace("{id}", unknown)
            .replace("{host}", "no-host")
            .replace("{user}", "no-user")
            .replace("{chain_id}", unknown);
        let url = format!("{}{path}", service.url);
        for token in [None, Some("wrong-token"), Some(service.token("alice"))] {
            for (what, body) in &bodies {
                let mut request = match method.as_str() {
                    "get" => client.get(&url),
                    _ => client.post(&url),
                };
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(body) = body {
                    request = request
                        .header("content-type", "application/json")
                        .body(body.clone());
                }
                let answer = request.send().unwrap();
                let status = answer.status().as_u16();
                let json = answer
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.to_str().unwrap_or("").contains("json"));
                let text = answer.text().unwrap_or_default();
                let context =
                    format!("{method} {path} token={token:?} body={what}: {status} {text:.200}");
                assert!(status < 500, "server error: {context}");
                if path.starts_with("/v1/") && status >= 400 {
                    assert!(json, "not JSON: {context}");
                    let parsed: Value = serde_json::from_str(&text).unwrap();
                    assert!(parsed["error"].is_string(), "{context}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 16 * 15, "{checked} calls");
    // The service is still up and sound afterwards.
    let health = client
        .get(format!("{}/healthz", service.url))
        .send()
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
}

/// Whether the server closed `stream` (a read sees the end) rather than keeping it open
/// (a read would block).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match stream.read(&mut byte) {
        Ok(0) => true,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
        Ok(_) => false,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

/// Waits (bounded; not a timing assertion) until the server closes `stream`.
fn until_closed(stream: &mut TcpStream) -> bool {
    (0..400).any(|_| {
        let closed = closed_by_server(stream);
        if !closed {
            std::thread::sleep(Duration::from_millis(50));
        }
        closed
    })
}

#[test]
fn a_client_that_says_nothing_is_let_go() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "connections: {header_timeout: 1s}");
    let address = service.url.trim_start_matches("http://").to_owned();
    // Silent, or stuck halfway through its headers: closed after the header timeout.
    let mut silent = TcpStream::connect(&address).unwrap();
    let mut halfway = TcpStream::connect(&address).unwrap();
    halfway
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(until_closed(&mut silent), "a silent connection is let go");
    assert!(until_closed(&mut halfway), "a half-sent request is let go");
}

/// A keep-alive connection that has been answered once (so the server holds it).
fn held_connection(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"ok\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "answered: {seen:?}");
        seen.push(byte[0]);
    }
    stream
}

#[test]
fn connections_past_the_cap_are_closed_unanswered() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "connections: {max: 3}");
    let address = service.url.trim_start_matches("http://").to_owned();
    let mut held: Vec<TcpStream> = (0..3).map(|_| held_connection(&address)).collect();
    let mut fourth = TcpStream::connect(&address).unwrap();
    let _ = fourth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = Vec::new();
    let _ = fourth.read_to_end(&mut answer);
    assert!(answer.is_empty(), "over the cap: closed unanswered");
    // A slot given back serves again (bounded: the server notices the close).
    drop(held.pop());
    let served = (0..200).any(|_| {
        let ok = http()
            .get(format!("{}/healthz", service.url))
            .send()
            .is_ok_and(|r| r.status().is_success());
        if !ok {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok
    });
    assert!(served);
}

#[test]
fn one_identity_holds_only_so_many_long_polls() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "requests: {max_waits_per_user: 1}");
    let filed = service
        .as_user(&env, "alice")
        .args(["run", "--no-wait", "--policy", &policy, "--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120), "{filed:?}");
    let stderr = String::from_utf8_lossy(&filed.stderr);
    let id = stderr
        .split("approval requested: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no request id in {stderr}"))
        .to_owned();
    let url = format!("{}/v1/requests/{id}?wait=20", service.url);
    let probe = format!("{}/v1/requests/{id}?wait=1", service.url);
    let token = service.token("alice").to_owned();
    // The long one asks again while the short probe below holds the one slot.
    let first = {
        let (url, token) = (url.clone(), token.clone());
        std::thread::spawn(move || {
            for _ in 0..200 {
                let status = http()
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .unwrap()
                    .status()
                    .as_u16();
                if status != 429 {
                    return status;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            429
        })
    };
    // A second is refused while the first waits (bounded until the first is held).
    let mut second = 0;
    for _ in 0..200 {
        second = http()
            .get(&probe)
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status()
            .as_u16();
        if second == 429 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(second, 429);
    let cancelled = http()
        .post(format!("{}/v1/requests/{id}/cancel", service.url))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert!(cancelled.status().is_success());
    assert_eq!(first.join().unwrap(), 200);
    let after = http().get(&url).bearer_auth(&token).send().unwrap();
    assert_eq!(after.status().as_u16(), 200, "the slot was given back");
}
