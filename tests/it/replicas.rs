//! Several `gatekeep serve` replicas on one PostgreSQL database (the cluster
//! `tests/postgres.sh` starts; its URL in `GATEKEEP_TEST_DATABASE_URL`). Without it these
//! tests fail under CI and say loudly elsewhere that they did not run.

use std::process::Command;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http, request_id};

const USERS: &[UserSpec<'_>] = &[
    ("alice", &["dev"], false),
    ("bob", &["ops"], true),
    ("carol", &["ops"], true),
];

const ONE: &str = "version: 1\nrules:\n  - id: touch\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [group:ops]}\n";
const TWO: &str = "version: 1\nrules:\n  - id: touch\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [group:ops], quorum: 2}\n";

/// The test cluster's URL, or `None` (said loudly) outside CI.
fn cluster() -> Option<String> {
    match std::env::var("GATEKEEP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "CI is set but GATEKEEP_TEST_DATABASE_URL is not: run the tests under tests/postgres.sh"
            )
        }
        _ => {
            eprintln!(
                "NOT RUN: GATEKEEP_TEST_DATABASE_URL is not set (run under tests/postgres.sh)"
            );
            None
        }
    }
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-Atc", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Two replicas on a fresh database with one shared signing key.
struct Pair {
    a: Service,
    b: Service,
    database: String,
}

/// A fresh, empty database on the test cluster; its URL.
fn fresh_database(cluster: &str) -> String {
    let name = format!("gk_{}", uuid::Uuid::new_v4().simple());
    psql(cluster, &format!("CREATE DATABASE {name}"));
    let mut url = url::Url::parse(cluster).unwrap();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A new signing key at `signing.key` in the test's directory.
fn keygen(env: &TestEnv) -> std::path::PathBuf {
    let key = env.root().join("signing.key");
    let made = env.gatekeep_std().arg("keygen").arg(&key).output().unwrap();
    assert!(made.status.success(), "{made:?}");
    key
}

fn pair(env: &TestEnv, extra: &str) -> Option<Pair> {
    let database = fresh_database(&cluster()?);
    let key = keygen(env);
    let tokens = Service::tokens_for(USERS);
    let extra = format!(
        "database: \"{database}\"\nsigning_key: {}\n{extra}",
        key.display()
    );
    let a = Service::start_replica(env, "a", USERS, &tokens, &extra);
    let b = Service::start_replica(env, "b", USERS, &tokens, &extra);
    Some(Pair { a, b, database })
}

fn approve(service: &Service, env: &TestEnv, user: &str, id: &str) -> std::process::Child {
    service
        .as_user(env, user)
        .args(["approve", id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn audit_count(service: &Service, event: &str) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(&service.data).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("audit-")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            count += text.matches(&format!("\"event\":\"{event}\"")).count();
        }
    }
    count
}

#[test]
fn a_waiter_on_one_replica_runs_after_an_approval_on_the_other() {
    let env = TestEnv::new();
    let Some(pair) = pair(&env, "") else { return };
    let policy = env.write("p.yaml", ONE).display().to_string();
    let marker = env.root().join("made");
    let (mut child, lines) = pair.a.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    assert!(approve(&pair.b, &env, "bob", &id).wait().unwrap().success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        lines.complete()
    );
    assert!(marker.exists());
    assert_eq!(pair.b.status("alice", &id), "consumed");
    assert_eq!(pair.a.status("alice", &id), "consumed");
    // Both replicas serve the one key clients pin.
    let keys = |s: &Service| {
        http()
            .get(format!("{}/v1/keys", s.url))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    assert_eq!(keys(&pair.a), keys(&pair.b));

    // Either replica's export holds what both recorded, as one chain in the database.
    for service in [&pair.a, &pair.b] {
        let lines = exported(service, "bob");
        assert_chained(&lines);
        let by = |event: &str| -> String {
            lines
                .iter()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|r| r["event"] == event && r["id"] == id.as_str())
                .unwrap_or_else(|| panic!("no {event} in {lines:?}"))["replica"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(by("request_created"), "a");
        assert_eq!(by("review"), "b");
        assert_eq!(by("request_approved"), "b");
        assert_eq!(by("request_consumed"), "a");
    }
}

/// Every record of the service's export (`GET /v1/export`, page by page) as `user`.
fn exported(service: &Service, user: &str) -> Vec<String> {
    exported_at(&service.url, service.token(user))
}

/// Every record of the export of the service at `base`, with `token`.
fn exported_at(base: &str, token: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let url = match after {
            Some(seq) => format!("{base}/v1/export?limit=3&after={seq}"),
            None => format!("{base}/v1/export?limit=3"),
        };
        let answer = http().get(url).bearer_auth(token).send().unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        let next = answer
            .headers()
            .get("gatekeep-next-after")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let body = answer.text().unwrap();
        if body.is_empty() {
            return lines;
        }
        lines.extend(body.lines().map(str::to_owned));
        after = next;
    }
}

/// Each record's `prev` is the SHA-256 of the line before it, and `seq` counts up by one.
fn assert_chained(lines: &[String]) {
    use sha2::Digest as _;
    for pair in lines.windows(2) {
        let (before, after): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(&pair[0]).unwrap(),
            serde_json::from_str(&pair[1]).unwrap(),
        );
        assert_eq!(
            after["seq"].as_u64(),
            Some(before["seq"].as_u64().unwrap() + 1)
        );
        assert_eq!(
            after["prev"].as_str().unwrap(),
            hex::encode(sha2::Sha256::digest(pair[0].as_bytes())),
            "{} does not chain to {}",
            pair[1],
            pair[0]
        );
    }
}

#[test]
fn two_approvals_at_once_on_two_replicas_issue_one_grant_and_keep_both_reviews() {
    let env = TestEnv::new();
    let Some(pair) = pair(&env, "") else { return };
    let policy = env.write("p.yaml", TWO).display().to_string();
    let marker = env.root().join("made");
    let (mut child, lines) = pair.a.run_in_background(
        &env,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    let mut bob = approve(&pair.a, &env, "bob", &id);
    let mut carol = approve(&pair.b, &env, "carol", &id);
    assert!(bob.wait().unwrap().success() && carol.wait().unwrap().success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        lines.complete()
    );
    let view: serde_json::Value = http()
        .get(format!("{}/v1/requests/{id}", pair.b.url))
        .bearer_auth(pair.b.token("alice"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(view["reviews"].as_array().unwrap().len(), 2);
    let mut by: Vec<&str> = view["grant"]["payload"]["approvals"][0]["approved_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    by.sort();
    assert_eq!(by, ["bob", "carol"]);
    assert_eq!(
        audit_count(&pair.a, "request_approved") + audit_count(&pair.b, "request_approved"),
        1,
        "one transaction approved it"
    );
}

#[test]
fn of_eight_consumers_on_two_replicas_exactly_one_succeeds() {
    let env = TestEnv::new();
    let Some(pair) = pair(&env, "") else { return };
    let policy = env.write("p.yaml", ONE).display().to_string();
    let filed = pair
        .a
        .as_user(&env, "alice")
        .args([
            "run",
            "--no-wait",
            "--json",
            "--policy",
            &policy,
            "--",
            "touch",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120), "{filed:?}");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&filed.stdout),
        String::from_utf8_lossy(&filed.stderr)
    );
    let id = text
        .split("\"request_id\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no request id in {text}"))
        .to_owned();
    assert!(approve(&pair.b, &env, "bob", &id).wait().unwrap().success());
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
    let mut threads = Vec::new();
    for n in 0..8 {
        let url = if n % 2 == 0 {
            pair.a.url.clone()
        } else {
            pair.b.url.clone()
        };
        let (token, id, barrier) = (
            pair.a.token("alice").to_owned(),
            id.clone(),
            barrier.clone(),
        );
        threads.push(std::thread::spawn(move || {
            barrier.wait();
            http()
                .post(format!("{url}/v1/requests/{id}/consume"))
                .bearer_auth(token)
                .send()
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut codes: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    codes.sort();
    assert_eq!(codes, [200, 409, 409, 409, 409, 409, 409, 409]);
}

#[test]
fn a_create_retried_on_the_other_replica_files_one_request() {
    let env = TestEnv::new();
    let Some(pair) = pair(&env, "") else { return };
    let mut body = serde_json::json!({
        "argv": ["touch", "x"], "cwd": "/tmp", "resolved_path": "/usr/bin/touch",
        "binary_sha256": "00", "host": "box", "user": "alice", "agent": false,
        "rules": ["touch"], "approvals": [{"rule": "touch", "approvers": ["group:ops"], "quorum": 1}],
        "digest": "",
    });
    let request: gatekeep::approval::NewRequest = serde_json::from_value(body.clone()).unwrap();
    body["digest"] = serde_json::json!(request.facts().digest());
    let create = |service: &Service| {
        let answer = http()
            .post(format!("{}/v1/requests", service.url))
            .bearer_auth(service.token("alice"))
            .header("idempotency-key", "run-0193")
            .json(&body)
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        let created: serde_json::Value = answer.json().unwrap();
        (
            status,
            created["id"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let (first, id) = create(&pair.a);
    let (again, same) = create(&pair.b);
    assert_eq!((first, again), (201, 200));
    assert_eq!(id, same);
    assert_eq!(psql(&pair.database, "SELECT count(*) FROM requests"), "1");
}

#[test]
fn a_client_whose_replica_dies_moves_to_the_next_without_filing_again() {
    let env = TestEnv::new();
    let Some(mut pair) = pair(&env, "") else {
        return;
    };
    let policy = env.write("p.yaml", ONE).display().to_string();
    let marker = env.root().join("made");
    let (mut child, lines) = pair.a.run_in_background_at(
        &env,
        &format!("{},{}", pair.a.url, pair.b.url),
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    pair.a.kill9();
    assert!(approve(&pair.b, &env, "bob", &id).wait().unwrap().success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        lines.complete()
    );
    assert!(marker.exists());
    assert_eq!(pair.b.status("alice", &id), "consumed");
    assert_eq!(psql(&pair.database, "SELECT count(*) FROM requests"), "1");
}

#[test]
fn expiry_with_two_sweepers_emits_one_event_delivered_once() {
    let env = TestEnv::new();
    let (hook, seen, _) = crate::service::endpoint("ok", false);
    let extra = format!(
        "requests: {{default_ttl: 1s, max_ttl: 1s}}\nwebhooks:\n  - {{url: \"{hook}/events\", secret: s3cret}}\n"
    );
    let Some(pair) = pair(&env, &extra) else {
        return;
    };
    let policy = env.write("p.yaml", ONE).display().to_string();
    let filed = pair
        .a
        .as_user(&env, "alice")
        .args(["run", "--no-wait", "--policy", &policy, "--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120), "{filed:?}");
    // Both sweepers run every second; wait (bounded) until the expiry is delivered.
    for _ in 0..600 {
        let expired = psql(
            &pair.database,
            "SELECT count(*) FROM events WHERE kind = 'request.expired'",
        );
        let open = psql(
            &pair.database,
            "SELECT count(*) FROM deliveries WHERE done_unix IS NULL",
        );
        if expired == "1" && open == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        psql(
            &pair.database,
            "SELECT count(*) FROM events WHERE kind = 'request.expired'"
        ),
        "1"
    );
    assert_eq!(
        psql(
            &pair.database,
            "SELECT count(*) FROM deliveries WHERE done_unix IS NULL"
        ),
        "0"
    );
    let received = seen.lock().unwrap().clone();
    let expired: Vec<_> = received
        .iter()
        .filter(|r| r.header("x-gatekeep-event") == "request.expired")
        .collect();
    assert_eq!(expired.len(), 1, "delivered once");
    assert_eq!(
        audit_count(&pair.a, "request_expired") + audit_count(&pair.b, "request_expired"),
        1
    );
}

#[test]
fn a_replica_refuses_another_signing_key_and_postgres_needs_one() {
    let env = TestEnv::new();
    let Some(pair) = pair(&env, "") else { return };
    let other = env.root().join("other.key");
    assert!(
        env.gatekeep_std()
            .arg("keygen")
            .arg(&other)
            .output()
            .unwrap()
            .status
            .success()
    );
    let config = env.write(
        "c/server.yaml",
        &format!(
            "database: \"{}\"\nsigning_key: {}\n",
            pair.database,
            other.display()
        ),
    );
    let refused = env
        .gatekeep_std()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(env.root().join("c/data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("is not the one this database was first used with"),
        "{stderr}"
    );
    let password = url::Url::parse(&pair.database)
        .unwrap()
        .password()
        .unwrap()
        .to_owned();
    assert!(
        !stderr.contains(&password),
        "the database password never shows"
    );
    let keyless = env.write(
        "d/server.yaml",
        &format!("database: \"{}\"\n", pair.database),
    );
    let refused = env
        .gatekeep_std()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&keyless)
        .arg("--data")
        .arg(env.root().join("d/data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(125), "{stderr}");
    assert!(stderr.contains("needs `signing_key: PATH`"), "{stderr}");
    // Neither replica's output ever shows the password either.
    assert!(!pair.a.log.text().contains(&password) && !pair.b.log.text().contains(&password));
}

/// The nginx example of docs/deploy.md, filled in for two replicas, listening on a free
/// port; nginx runs until the guard is dropped.
fn nginx(env: &TestEnv, a: &Service, b: &Service) -> (crate::service::KillOnDrop, String) {
    let nginx = which("nginx").unwrap_or_else(|| {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx is missing under CI"
        );
        panic!("nginx is missing: apt-get install nginx")
    });
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/deploy.md")).unwrap();
    let example = doc
        .split("```nginx\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/deploy.md has an nginx example");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let dir = env.root().join("nginx");
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n  fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n  scgi_temp_path {d}/tmp/scgi;\n{}\n}}\n",
        example
            .replace("REPLICA_A", a.url.trim_start_matches("http://"))
            .replace("REPLICA_B", b.url.trim_start_matches("http://"))
            .replace("LISTEN", &listen)
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(nginx)
        .args(["-p"])
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let guard = crate::service::KillOnDrop(child);
    let url = format!("http://{listen}");
    // Bounded: waits for nginx to answer, not a timing assertion.
    for _ in 0..200 {
        if http()
            .get(format!("{url}/readyz"))
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return (guard, url);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!(
        "nginx never answered: {}",
        std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
    );
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

#[test]
fn behind_nginx_a_client_finishes_when_the_replica_it_waited_on_dies() {
    let env = TestEnv::new();
    let Some(mut pair) = pair(&env, "") else {
        return;
    };
    let (_nginx, url) = nginx(&env, &pair.a, &pair.b);
    let policy = env.write("p.yaml", ONE).display().to_string();
    let marker = env.root().join("made");
    let (mut child, lines) = pair.a.run_in_background_at(
        &env,
        &url,
        "alice",
        &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
    );
    let id = request_id(&lines);
    // Whichever replica holds the long-poll, one of them dies now.
    pair.a.kill9();
    let approved = pair
        .b
        .as_user(&env, "bob")
        .env("GATEKEEP_SERVER", &url)
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(approved.status.success(), "{approved:?}");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        lines.complete()
    );
    assert!(marker.exists());
    assert_eq!(pair.b.status("alice", &id), "consumed");
    assert_eq!(psql(&pair.database, "SELECT count(*) FROM requests"), "1");
}

/// A PostgreSQL cluster of the test's own (one it may restart without disturbing the
/// others), from `tests/postgres.sh`; stopped and removed when dropped.
struct OwnCluster {
    script: std::process::Child,
    url: String,
    dir: String,
}

impl OwnCluster {
    fn start() -> Option<OwnCluster> {
        // The shared cluster's presence says PostgreSQL is meant to be tested here.
        cluster()?;
        use std::io::BufRead as _;
        let mut script = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/postgres.sh"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(script.stdout.take().unwrap());
        let (mut first, mut second) = (String::new(), String::new());
        out.read_line(&mut first).unwrap();
        out.read_line(&mut second).unwrap();
        let url = first
            .trim()
            .strip_prefix("GATEKEEP_TEST_DATABASE_URL=")
            .expect("the URL")
            .to_owned();
        let dir = second
            .strip_prefix("PostgreSQL is running in ")
            .and_then(|rest| rest.split(';').next())
            .expect("the directory")
            .to_owned();
        Some(OwnCluster { script, url, dir })
    }

    fn restart(&self) {
        let pg_ctl = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|mut versions| versions.next())
            .map(|v| v.unwrap().path().join("bin/pg_ctl"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| "pg_ctl".into());
        let data = format!("{}/data", self.dir);
        let log = format!("{}/server.log", self.dir);
        let mut command = if nix::unistd::geteuid().is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let out = command
            .args(["-D", &data, "-l", &log, "-m", "fast", "-w", "restart"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.script.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.script.wait();
    }
}

#[test]
fn clients_waiting_while_postgres_restarts_resume() {
    let env = TestEnv::new();
    let Some(own) = OwnCluster::start() else {
        return;
    };
    let key = keygen(&env);
    let tokens = Service::tokens_for(USERS);
    let extra = format!(
        "database: \"{}\"\nsigning_key: {}\n",
        own.url,
        key.display()
    );
    let a = Service::start_replica(&env, "a", USERS, &tokens, &extra);
    let b = Service::start_replica(&env, "b", USERS, &tokens, &extra);
    let policy = env.write("p.yaml", ONE).display().to_string();
    let mut waiting = Vec::new();
    for n in 0..3 {
        let marker = env.root().join(format!("made-{n}"));
        let (child, lines) = a.run_in_background(
            &env,
            "alice",
            &["--policy", &policy, "--", "touch", marker.to_str().unwrap()],
        );
        let id = request_id(&lines);
        waiting.push((child, lines, id, marker));
    }
    own.restart();
    for (_, _, id, _) in &waiting {
        assert!(approve(&b, &env, "bob", id).wait().unwrap().success());
    }
    for (mut child, lines, id, marker) in waiting {
        assert_eq!(
            child.wait().unwrap().code(),
            Some(0),
            "{}",
            lines.complete()
        );
        assert!(marker.exists());
        assert_eq!(a.status("alice", &id), "consumed");
    }
}

#[test]
fn an_event_a_dying_replica_was_delivering_is_delivered_again_under_the_same_id() {
    let env = TestEnv::new();
    let (hook, seen, release) = crate::service::endpoint("ok", true);
    let release = release.unwrap();
    let Some(cluster) = cluster() else { return };
    let database = fresh_database(&cluster);
    let key = keygen(&env);
    let tokens = Service::tokens_for(USERS);
    let extra = format!(
        "database: \"{database}\"\nsigning_key: {}\ndeliveries: {{lease: 1s}}\nwebhooks:\n  - {{url: \"{hook}/events\", secret: s3cret, events: [request.created]}}\n",
        key.display()
    );
    // Only A runs at first: it claims the event and hangs in the receiver.
    let mut a = Service::start_replica(&env, "a", USERS, &tokens, &extra);
    let policy = env.write("p.yaml", ONE).display().to_string();
    let filed = a
        .as_user(&env, "alice")
        .args(["run", "--no-wait", "--policy", &policy, "--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120), "{filed:?}");
    for _ in 0..600 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "A is delivering");
    a.kill9();
    // The receiver answers from now on; B takes the delivery over when A's lease ends.
    for _ in 0..8 {
        release.send(()).unwrap();
    }
    let _b = Service::start_replica(&env, "b", USERS, &tokens, &extra);
    for _ in 0..600 {
        if psql(
            &database,
            "SELECT count(*) FROM deliveries WHERE done_unix IS NULL",
        ) == "0"
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        psql(
            &database,
            "SELECT count(*) FROM deliveries WHERE done_unix IS NULL"
        ),
        "0"
    );
    let received = seen.lock().unwrap().clone();
    assert!(received.len() >= 2, "delivered again after A died");
    let ids: std::collections::BTreeSet<&str> = received
        .iter()
        .map(|r| r.header("x-gatekeep-delivery"))
        .collect();
    assert_eq!(ids.len(), 1, "one delivery id for the one event: {ids:?}");
    assert_eq!(
        psql(&database, "SELECT lease_owner IS NULL FROM deliveries"),
        "t"
    );
}

#[test]
fn a_key_change_is_an_explicit_rotation() {
    let env = TestEnv::new();
    let Some(mut pair) = pair(&env, "") else {
        return;
    };
    pair.a.kill9();
    pair.b.kill9();
    let new_key = env.root().join("new.key");
    let made = env
        .gatekeep_std()
        .arg("keygen")
        .arg(&new_key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let public = String::from_utf8_lossy(&made.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("public_key: ").map(str::to_owned))
        .expect("keygen prints the public key");
    // keygen never overwrites a key.
    let again = env
        .gatekeep_std()
        .arg("keygen")
        .arg(&new_key)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(125));
    let tokens = Service::tokens_for(USERS);
    let with_key = |key: &std::path::Path| {
        format!(
            "database: \"{}\"\nsigning_key: {}\n",
            pair.database,
            key.display()
        )
    };
    // Without --rotate-key the new key is refused (covered above); with it, recorded.
    let config = env.write(
        "rotate/server.yaml",
        &crate::service::config_text(USERS, &tokens, &with_key(&new_key)),
    );
    let mut rotated = env
        .gatekeep_std()
        .args([
            "serve",
            "--rotate-key",
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(&config)
        .arg("--data")
        .arg(env.root().join("rotate/data"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = crate::service::Lines::collect(rotated.stderr.take().unwrap());
    let mut rotated = crate::service::KillOnDrop(rotated);
    log.wait_for("the database's signing key is now");
    let url = crate::service::served_url(&log);
    let keys: serde_json::Value = http()
        .get(format!("{url}/v1/keys"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(keys["keys"][0]["public_key"], public.as_str());
    // The rotation and the start under the new key are in the service's records.
    let records: Vec<serde_json::Value> = exported_at(&url, &tokens["bob"])
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rotation = records
        .iter()
        .find(|r| r["event"] == "signing_key_rotated")
        .unwrap_or_else(|| panic!("{records:?}"));
    let started = records
        .iter()
        .rfind(|r| r["event"] == "service_started")
        .unwrap();
    assert_eq!(rotation["to"], started["key_id"]);
    assert_ne!(rotation["from"], rotation["to"]);
    rotated.kill().unwrap();
    rotated.wait().unwrap();
    // The old key is the stranger now.
    let old = env.root().join("signing.key");
    let config = env.write("old/server.yaml", &with_key(&old));
    let refused = env
        .gatekeep_std()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(env.root().join("old/data"))
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("not the one this database was first used with")
    );
}
