//! The witness: the approval service keeps every head of a client's audit log and accepts
//! a new head only with the records that chain it to the last one.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

mod background;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec};

const USERS: &[UserSpec<'static>] = &[("alice", &[], true), ("bob", &["reviewers"], true)];

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 30s}
rules:
  - id: no-rm
    description: Removing files is not allowed
    decision: deny
    match: {program: rm}
  - id: touch-needs-ok
    decision: approve
    match: {program: touch}
"#;

struct Setup {
    env: TestEnv,
    service: Service,
    policy: String,
    log: PathBuf,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    let log = env.root().join("state/gatekeep/audit.jsonl");
    Setup {
        env,
        service,
        policy,
        log,
    }
}

impl Setup {
    fn gatekeep(&self, args: &[&str]) -> std::process::Output {
        self.service
            .as_user(&self.env, "alice")
            .args(args)
            .output()
            .unwrap()
    }

    /// `gatekeep run` of an allowed command, as alice.
    fn run_true(&self, extra: &[&str]) {
        let mut args = vec!["run", "--policy", &self.policy];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "true"]);
        let output = self.gatekeep(&args);
        assert!(output.status.success(), "{}", stderr(&output));
    }

    fn witness(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["log", "witness"];
        args.extend_from_slice(extra);
        self.gatekeep(&args)
    }

    fn verify_witness(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["log", "verify", "--witness"];
        args.extend_from_slice(extra);
        self.gatekeep(&args)
    }
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// Sets every record's `prev` to the hash of the line before it: the rewrite a careful
/// attacker makes so that the chain verifies again.
fn rehash(lines: &mut [String]) {
    for i in 1..lines.len() {
        let prev = hash(&lines[i - 1]);
        let at = lines[i].find("\"prev\":\"").unwrap() + "\"prev\":\"".len();
        lines[i].replace_range(at..at + 64, &prev);
    }
}

fn write_lines(log: &Path, lines: &[String]) {
    std::fs::write(
        log,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// A directory whose `rm` does nothing, put first on PATH: should the policy ever fail to
/// deny, nothing is removed.
fn harmless_rm(env: &TestEnv) -> String {
    let bin = env.root().join("harmless-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rm = bin.join("rm");
    std::fs::write(&rm, "#!/bin/sh\nexit 0\n").unwrap();
    let mut permissions = std::fs::metadata(&rm).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&rm, permissions).unwrap();
    format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display())
}

#[test]
fn a_rewritten_log_is_refused_and_reported_after_a_witness() {
    let s = setup();
    s.run_true(&[]);
    let denied = s
        .service
        .as_user(&s.env, "alice")
        .env("PATH", harmless_rm(&s.env))
        .args(["run", "--policy", &s.policy, "--", "rm", "-rf", "/"])
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(126), "{}", stderr(&denied));
    s.run_true(&[]);
    let witnessed = s.witness(&[]);
    assert!(witnessed.status.success(), "{}", stderr(&witnessed));

    // The attacker turns the denied `rm -rf /` into an allowed `ls` and re-hashes the
    // chain so that it verifies, then makes it longer than the witnessed one.
    let mut all = lines(&s.log);
    let at = all
        .iter()
        .position(|l| l.contains("\"argv\":[\"rm\",\"-rf\",\"/\"]"))
        .unwrap();
    all[at] = all[at]
        .replace("\"argv\":[\"rm\",\"-rf\",\"/\"]", "\"argv\":[\"ls\"]")
        .replace(
            "\"commands\":[[\"rm\",\"-rf\",\"/\"]]",
            "\"commands\":[[\"ls\"]]",
        )
        .replace("\"rules\":[\"no-rm\"]", "\"rules\":[]")
        .replace("\"decision\":\"deny\"", "\"decision\":\"allow\"");
    assert!(all[at].contains("\"argv\":[\"ls\"]") && all[at].contains("\"decision\":\"allow\""));
    rehash(&mut all);
    write_lines(&s.log, &all);
    let local = s.gatekeep(&["log", "verify"]);
    assert!(local.status.success(), "the forged chain verifies locally");
    s.run_true(&[]);
    s.run_true(&[]);

    // The service refuses the forged head...
    let again = s.witness(&[]);
    assert_eq!(again.status.code(), Some(125), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("does not extend"),
        "{}",
        stderr(&again)
    );
    // ...and verifying against the witness reports the rewrite, and who witnessed what.
    let verified = s.verify_witness(&[]);
    assert_eq!(verified.status.code(), Some(1), "{}", stdout(&verified));
    let text = stdout(&verified);
    assert!(text.contains("the log was rewritten"), "{text}");
    assert!(text.contains("sent by alice"), "{text}");
    assert!(text.contains("differs from the local record"), "{text}");

    // A client of the attacker's own making fares no better, from the witnessed head or
    // from record 0.
    let forged = lines(&s.log);
    let head = witnessed_log(&s)["heads"][0].clone();
    let next = head["seq"].as_u64().unwrap() as usize + 1;
    for from in [next, 0] {
        let answer = post_witness(&s, "alice", &forged[from..]);
        assert_eq!(answer.status().as_u16(), 409, "from record {from}");
        let body: serde_json::Value = answer.json().unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("does not extend the witnessed chain"),
            "{body}"
        );
    }
    // Nothing of the forged chain was taken: still the one head.
    assert_eq!(witnessed_log(&s)["heads"].as_array().unwrap().len(), 1);
}

/// This machine's name and the test's user, as gatekeep names them.
fn host_and_user() -> (String, String) {
    (
        gatekeep::environment::hostname(),
        gatekeep::environment::current_user(),
    )
}

/// `POST /v1/witness` of `lines` for the default log, as `user`.
fn post_witness(s: &Setup, user: &str, lines: &[String]) -> reqwest::blocking::Response {
    try_post_witness(s, user, lines).unwrap()
}

fn try_post_witness(
    s: &Setup,
    user: &str,
    lines: &[String],
) -> reqwest::Result<reqwest::blocking::Response> {
    let (host, local_user) = host_and_user();
    crate::service::http()
        .post(format!("{}/v1/witness", s.service.url))
        .bearer_auth(s.service.token(user))
        .json(&serde_json::json!({
            "host": host,
            "user": local_user,
            "path": gatekeep::client::witness::absolute(&s.log),
            "chain_id": chain_id(&s.log),
            "lines": lines,
        }))
        .send()
}

fn chain_id(log: &Path) -> String {
    let first: serde_json::Value = serde_json::from_str(&lines(log)[0]).unwrap();
    first["chain_id"].as_str().unwrap().to_owned()
}

/// What the service holds for the default log (`null` when nothing).
fn witnessed_log(s: &Setup) -> serde_json::Value {
    witnessed_at(s, &s.log)
}

fn witnessed_at(s: &Setup, log: &Path) -> serde_json::Value {
    let (host, user) = host_and_user();
    let answer: serde_json::Value = crate::service::http()
        .get(format!("{}/v1/witness/{host}/{user}", s.service.url))
        .query(&[("path", gatekeep::client::witness::absolute(log))])
        .bearer_auth(s.service.token("bob"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    answer["logs"][0].clone()
}

fn verify_json(s: &Setup, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["log", "verify", "--json"];
    args.extend_from_slice(extra);
    let output = s.gatekeep(&args);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("json: {} {}", stdout(&output), stderr(&output)))
}

#[test]
fn verify_says_whether_the_log_was_checked_against_a_witness() {
    let s = setup();
    s.run_true(&[]);
    let plain = s.gatekeep(&["log", "verify"]);
    assert!(plain.status.success());
    assert!(
        stdout(&plain).contains(
            "not witnessed: without a witness, truncation and a consistent rewrite cannot be detected"
        ),
        "{}",
        stdout(&plain)
    );
    assert_eq!(verify_json(&s, &[])["witnessed"], false);
    // Asked for, but the service holds nothing yet: still not witnessed, and said so.
    let json = verify_json(&s, &["--witness"]);
    assert_eq!(
        (json["ok"].clone(), json["witnessed"].clone()),
        (true.into(), false.into())
    );
    assert!(stdout(&s.verify_witness(&[])).contains("holds no head of this log"));
    assert!(s.witness(&[]).status.success());
    let json = verify_json(&s, &["--witness"]);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["witnessed"], true, "{json}");
    let head = &json["witness"]["heads"][0];
    assert_eq!(head["identity"], "alice", "{json}");
    assert_eq!(head["status"], "matches", "{json}");
    assert_eq!(head["seq"], 3, "{json}");
    assert_eq!(json["witness"]["chain_id"], chain_id(&s.log));
    // Without --witness it is still not witnessed.
    assert_eq!(verify_json(&s, &[])["witnessed"], false);
}

#[test]
fn every_head_is_kept_with_the_identity_that_sent_it() {
    let s = setup();
    s.run_true(&[]);
    assert!(s.witness(&[]).status.success());
    s.run_true(&[]);
    // Another identity of the same person (a second token) on the same host and log.
    let by_bob = s
        .service
        .as_user(&s.env, "bob")
        .args(["log", "witness"])
        .output()
        .unwrap();
    assert!(by_bob.status.success(), "{}", stderr(&by_bob));
    s.run_true(&[]);
    assert!(s.witness(&[]).status.success());
    let again = s.witness(&[]);
    assert!(
        stderr(&again).contains("already witnessed"),
        "{}",
        stderr(&again)
    );
    let heads: Vec<(u64, String)> = witnessed_log(&s)["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["seq"].as_u64().unwrap(),
                h["identity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        heads,
        [(3, "alice".into()), (6, "bob".into()), (9, "alice".into())]
    );
    let verified = s.verify_witness(&[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    let text = stdout(&verified);
    assert!(text.contains("witnessed: 3 of 3 heads"), "{text}");
    assert!(
        text.contains("sent by alice: 2 heads, the latest seq 9"),
        "{text}"
    );
    assert!(
        text.contains("sent by bob: 1 head, the latest seq 6"),
        "{text}"
    );
    // Every head is checked, not only the latest: truncating below an older head is
    // found there.
    let kept: Vec<String> = lines(&s.log).into_iter().take(5).collect();
    write_lines(&s.log, &kept);
    let truncated = s.verify_witness(&[]);
    assert_eq!(truncated.status.code(), Some(1));
    let text = stdout(&truncated);
    assert!(text.contains("record 6, witnessed by bob"), "{text}");
    assert!(text.contains("the log was truncated"), "{text}");
}

#[test]
fn a_second_log_of_the_same_user_has_its_own_chain() {
    let s = setup();
    let other = s.env.root().join("state/gatekeep/other.jsonl");
    let other = other.to_str().unwrap();
    s.run_true(&[]);
    s.run_true(&["--log", other]);
    s.run_true(&["--log", other]);
    assert!(s.witness(&[]).status.success());
    assert!(s.witness(&["--log", other]).status.success());
    for log in [&[][..], &["--log", other][..]] {
        let verified = s.verify_witness(log);
        assert!(verified.status.success(), "{log:?}: {}", stdout(&verified));
        assert!(!stdout(&verified).contains("replaced"));
    }
    assert_eq!(witnessed_log(&s)["heads"][0]["seq"], 3);
    assert_eq!(witnessed_at(&s, Path::new(other))["heads"][0]["seq"], 6);
    // A new chain at the same path is another matter.
    std::fs::remove_file(&s.log).unwrap();
    s.run_true(&[]);
    let replaced = s.witness(&[]);
    assert_eq!(replaced.status.code(), Some(125));
    assert!(
        stderr(&replaced).contains("it was replaced"),
        "{}",
        stderr(&replaced)
    );
    assert!(stdout(&s.verify_witness(&[])).contains("the log was replaced"));
}

#[test]
fn an_extension_may_span_rotated_segments() {
    let s = setup();
    s.env.write(
        "config/gatekeep/config.yaml",
        "log_max_bytes: 1500
",
    );
    s.run_true(&[]);
    assert!(s.witness(&[]).status.success());
    let first = witnessed_log(&s)["heads"][0]["seq"].as_u64().unwrap();
    for _ in 0..4 {
        s.run_true(&[]);
    }
    // The records since the first head lie in more than one file.
    let segments = gatekeep::audit::segments(&s.log).unwrap();
    assert!(segments.len() >= 3, "{segments:?}");
    let sent = s.witness(&[]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    let heads = witnessed_log(&s)["heads"].clone();
    assert_eq!(heads.as_array().unwrap().len(), 2, "{heads}");
    assert!(heads[1]["seq"].as_u64().unwrap() > first + 12, "{heads}");
    let verified = s.verify_witness(&[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
    assert!(stdout(&verified).contains("witnessed: 2 of 2 heads"));
}

#[test]
fn a_long_gap_is_sent_in_chunks_each_extending_the_chain() {
    let s = setup();
    s.run_true(&[]);
    assert!(s.witness(&[]).status.success());
    // Records of about 2 KB each: 5,000 of them are more than one call may carry.
    let (host, user) = host_and_user();
    let log = gatekeep::audit::AuditLog::new(s.log.clone(), None, host, user);
    let padding = "x".repeat(2000);
    let records: Vec<(&str, serde_json::Value)> = (0..5000)
        .map(|i| ("note", serde_json::json!({"i": i, "padding": padding})))
        .collect();
    log.append_all(&records).unwrap();
    let all = lines(&s.log);
    // One call with all of it is refused: 413, or the connection closed before the body
    // was read; either way nothing is taken.
    if let Ok(answer) = try_post_witness(&s, "alice", &all[4..]) {
        assert_eq!(answer.status().as_u16(), 413);
    }
    assert_eq!(witnessed_log(&s)["heads"].as_array().unwrap().len(), 1);
    let sent = s.witness(&[]);

    assert!(sent.status.success(), "{}", stderr(&sent));
    let said = stderr(&sent);
    let calls: usize = said
        .split("5000 new records in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!(calls >= 9, "about 1 MiB per call: {said}");
    let heads = witnessed_log(&s)["heads"].clone();
    let seqs: Vec<u64> = heads
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 1 + calls, "a head per call: {seqs:?}");
    assert_eq!(*seqs.last().unwrap(), 5003);
    let verified = s.verify_witness(&[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}

#[test]
fn the_first_head_is_proved_from_record_zero() {
    let s = setup();
    s.run_true(&[]);
    s.run_true(&[]);
    let all = lines(&s.log);
    // Not from the middle, and not a chain that does not open with its own id.
    let answer = post_witness(&s, "alice", &all[3..]);
    assert_eq!(answer.status().as_u16(), 409);
    let body: serde_json::Value = answer.json().unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("start at record 0"),
        "{body}"
    );
    let mut other = all.clone();
    other[0] = other[0].replace(&chain_id(&s.log), "00000000-0000-0000-0000-000000000000");
    rehash(&mut other);
    assert_eq!(post_witness(&s, "alice", &other).status().as_u16(), 422);
    // Lines that do not chain among themselves.
    let mut gap = all.clone();
    gap.remove(2);
    assert_eq!(post_witness(&s, "alice", &gap).status().as_u16(), 422);
    assert_eq!(post_witness(&s, "alice", &all).status().as_u16(), 200);
    assert_eq!(witnessed_log(&s)["heads"][0]["seq"], 6);
}

#[test]
fn a_request_whose_log_head_contradicts_the_witness_is_flagged() {
    let s = setup();
    let marker = s.env.root().join("touched");
    let touch = [
        "--policy",
        &s.policy,
        "--",
        "touch",
        marker.to_str().unwrap(),
    ];
    // A request from an intact log carries no warning.
    let (mut first, lines_seen) = s.service.run_in_background(&s.env, "alice", &touch);
    let id = crate::service::request_id(&lines_seen);
    let listed = s
        .service
        .as_user(&s.env, "bob")
        .arg("requests")
        .output()
        .unwrap();
    assert!(stdout(&listed).contains(&id), "{}", stdout(&listed));
    assert!(!stdout(&listed).contains("WARNING"), "{}", stdout(&listed));
    let rejected = s
        .service
        .as_user(&s.env, "bob")
        .args(["reject", &id, "-m", "not now"])
        .output()
        .unwrap();
    assert!(rejected.status.success(), "{}", stderr(&rejected));
    assert_eq!(first.wait().unwrap().code(), Some(121));
    for _ in 0..3 {
        s.run_true(&[]);
    }
    assert!(s.witness(&[]).status.success());
    let witnessed = witnessed_log(&s)["heads"][0]["seq"].as_u64().unwrap();
    // Someone drops the last runs from the log; the next decision takes a witnessed seq.
    let kept: Vec<String> = lines(&s.log)
        .into_iter()
        .take(witnessed as usize - 5)
        .collect();
    write_lines(&s.log, &kept);
    let (_run, lines_seen) = s.service.run_in_background(&s.env, "alice", &touch);
    let id = crate::service::request_id(&lines_seen);
    let listed = s
        .service
        .as_user(&s.env, "bob")
        .env("COLUMNS", "400")
        .arg("requests")
        .output()
        .unwrap();
    let text = stdout(&listed);
    let expected = format!(
        "log:       WARNING record {} of the requester's log differs from the witnessed record (witnessed up to record {witnessed}, last by alice",
        witnessed - 5
    );
    assert!(text.contains(&expected), "{text}");
    assert!(
        text.contains("the log was rewritten or truncated"),
        "{text}"
    );
    let json = s
        .service
        .as_user(&s.env, "bob")
        .args(["requests", "--json"])
        .output()
        .unwrap();
    let views: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let view = views
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap();
    assert!(
        view["log_head_conflict"]
            .as_str()
            .unwrap()
            .starts_with(&format!(
                "record {} of the requester's log differs",
                witnessed - 5
            )),
        "{view}"
    );
    // The interactive review shows it too.
    let mut cmd = s.service.as_user(&s.env, "bob");
    cmd.env("TERM", "xterm").arg("review");
    let mut terminal = crate::pty::Pty::spawn(cmd);
    terminal.wait_for("pending (Enter reads one, Esc or q leaves)");
    terminal.send(b"\r");
    terminal.wait_for("log:       ");
    terminal.wait_for("WARNING");
    terminal.wait_for("of the requester's log differs");
    terminal.wait_for("Decision");
}

#[test]
fn a_request_from_a_replaced_log_is_flagged_in_every_review_channel() {
    let env = TestEnv::new();
    let (chat, seen, _) =
        crate::service::endpoint(r#"{"ok":true,"channel":"C42","ts":"1.2"}"#, false);
    let extra = format!(
        "slack: {{bot_token: xoxb-test, signing_secret: s3cret, api_base: \"{chat}\", channels: {{reviewers: C42}}}}\nteams: {{groups: {{reviewers: \"{chat}/teams-hook\"}}}}"
    );
    let service = Service::start(&env, USERS, &extra);
    let s = Setup {
        policy: env.write("p.yaml", POLICY).display().to_string(),
        log: env.root().join("state/gatekeep/audit.jsonl"),
        env,
        service,
    };
    s.run_true(&[]);
    assert!(s.witness(&[]).status.success());
    std::fs::remove_file(&s.log).unwrap();
    let marker = s.env.root().join("touched");
    let (_run, lines_seen) = s.service.run_in_background(
        &s.env,
        "alice",
        &[
            "--policy",
            &s.policy,
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    let id = crate::service::request_id(&lines_seen);
    let view: serde_json::Value = crate::service::http()
        .get(format!("{}/v1/requests/{id}", s.service.url))
        .bearer_auth(s.service.token("bob"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let conflict = view["log_head_conflict"].as_str().unwrap_or_default();
    assert!(
        conflict.starts_with("the requester's log is not the chain witnessed at its path")
            && conflict.ends_with("it was replaced"),
        "{view}"
    );
    let slack = crate::service::wait_for_calls(&seen, "/chat.postMessage", 1)[0].json();
    assert!(
        slack.to_string().contains("*Log conflict*")
            && slack.to_string().contains("it was replaced"),
        "{slack}"
    );
    let teams = crate::service::wait_for_calls(&seen, "/teams-hook", 1)[0].json();
    // One block of the card names the conflict, first among the facts.
    let body = teams["attachments"][0]["content"]["body"]
        .as_array()
        .unwrap();
    let conflict = body
        .iter()
        .find(|block| block.to_string().contains("Log conflict: "))
        .unwrap_or_else(|| panic!("{teams}"));
    assert!(conflict.to_string().contains("it was replaced"), "{teams}");
    // The review page, signed in as a reviewer.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/login", s.service.url))
        .form(&[("token", s.service.token("bob"))])
        .send()
        .unwrap();
    let session = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{}/requests/{id}", s.service.url))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let row = page
        .split("<p id=\"log\" class=\"warning\"><strong>Warning:</strong> ")
        .nth(1)
        .unwrap_or_else(|| panic!("{page}"));
    assert!(
        row.contains("log is not the chain witnessed at its path"),
        "{page}"
    );
}

/// The witness dates records by when it accepted them, not by what the log says: records
/// stamped 200 days ago but witnessed just now may not be removed by retention.
#[test]
fn the_witness_refuses_a_head_whose_history_dropped_young_records() {
    let s = setup();
    let now = jiff::Timestamp::now();
    let past = (now - jiff::SignedDuration::from_hours(24 * 200)).to_string();
    let at = |when: &str, args: &[&str]| {
        s.service
            .as_user(&s.env, "alice")
            .env("GATEKEEP_TEST_NOW", when)
            .args(args)
            .output()
            .unwrap()
    };
    let run = ["run", "--policy", &s.policy, "--", "true"];
    assert!(at(&past, &run).status.success());
    assert!(at(&past, &["log", "witness"]).status.success());
    assert!(at(&past, &["log", "rotate"]).status.success());
    assert!(at(&past, &run).status.success());
    let witnessed = at(&past, &["log", "witness"]);
    assert!(witnessed.status.success(), "{}", stderr(&witnessed));
    // The client believes the first segment is 200 days old; its own rule lets it go.
    s.env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_days: 90}\n",
    );
    let pruned = at(&now.to_string(), &["log", "prune"]);
    assert!(pruned.status.success(), "{}", stderr(&pruned));
    assert!(stderr(&pruned).contains("the removal is recorded"));
    assert!(!s.log.with_file_name("audit.0.jsonl").exists());
    let local = s.gatekeep(&["log", "verify"]);
    assert!(local.status.success(), "{}", stdout(&local));
    // The witness accepted those records moments ago: it refuses the head.
    let refused = s.witness(&[]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("minimum of 90 days")
            && stderr(&refused).contains("witness accepted"),
        "{}",
        stderr(&refused)
    );
    // The witnessed heads in the removed records are reported as removed, not missing.
    let checked = s.verify_witness(&["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    let statuses: Vec<&str> = json["witness"]["heads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"removed"), "{json}");
    // ...and since they were witnessed moments ago, their removal is a problem.
    assert_eq!(json["ok"], false);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("removed by retention less than 90 days"),
        "{json}"
    );
}
