//! Exports for SIEMs: `gatekeep log export` in each format (and following a live log), and
//! the service's paged `GET /v1/export` for reviewers and auditors only.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Service, UserSpec, http};

fn log_path(env: &TestEnv) -> std::path::PathBuf {
    env.root().join("state/gatekeep/audit.jsonl")
}

/// Every line of every segment of the log, oldest first.
fn log_lines(log: &Path) -> Vec<String> {
    let dir = log.parent().unwrap();
    let mut rotated: Vec<(u64, std::path::PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name
                .strip_prefix("audit.")?
                .strip_suffix(".jsonl")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .collect();
    rotated.sort();
    let mut files: Vec<_> = rotated.into_iter().map(|(_, p)| p).collect();
    files.push(log.to_owned());
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn export(env: &TestEnv, format: &str) -> Vec<String> {
    let output = env
        .gatekeep()
        .args(["log", "export", "--format", format])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Validates OCSF events against the published schema of their version and profiles
/// (tests/data/ocsf-validate.py).
fn assert_ocsf_conforms(lines: &[String]) {
    let Some(output) =
        crate::common::schema_check("ocsf-validate.py", &[], &(lines.join("\n") + "\n"))
    else {
        return;
    };
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn log_export_writes_every_record_in_each_format_across_segments() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    let run = |code: i32| {
        env.gatekeep()
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "sh", "-c", &format!("exit {code}")])
            .assert()
            .code(code);
    };
    run(0);
    env.gatekeep().args(["log", "rotate"]).assert().success();
    run(3);
    let lines = log_lines(&log_path(&env));

    // jsonl: the records byte for byte, so their chain can be checked downstream.
    assert_eq!(export(&env, "jsonl"), lines);

    let ocsf_lines = export(&env, "ocsf");
    assert_ocsf_conforms(&ocsf_lines);
    let ocsf: Vec<Value> = ocsf_lines.iter().map(|l| json(l)).collect();
    assert_eq!(ocsf.len(), lines.len());
    let mut uids = BTreeSet::new();
    for (event, line) in ocsf.iter().zip(&lines) {
        let record = json(line);
        let class = event["class_uid"].as_u64().unwrap();
        let activity = event["activity_id"].as_u64().unwrap();
        assert_eq!(event["type_uid"].as_u64(), Some(class * 100 + activity));
        assert_eq!(event["metadata"]["product"]["name"], "gatekeep");
        assert_eq!(
            event["metadata"]["uid"].as_str().unwrap(),
            hex::encode(Sha256::digest(line.as_bytes()))
        );
        assert_eq!(event["metadata"]["sequence"], record["seq"]);
        assert_eq!(event["message"], record["event"]);
        assert!(event["time"].as_i64().unwrap() > 0);
        assert!(event["severity_id"].as_u64().is_some());
        uids.insert(event["metadata"]["uid"].as_str().unwrap().to_owned());
        let expected = match record["event"].as_str().unwrap() {
            "exec" | "exit" => 1007,
            "decision" => 3003,
            _ => 0,
        };
        assert_eq!(class, expected, "{line}");
        if class == 1007 {
            assert_eq!(event["actor"]["user"]["name"], json(&lines[1])["user"]);
            assert!(event["device"]["hostname"].as_str().is_some());
            let cmd_line = event["process"]["cmd_line"].as_str().unwrap();
            assert!(cmd_line.starts_with("sh -c 'exit "), "{cmd_line}");
        }
    }
    assert_eq!(uids.len(), lines.len(), "every event is told apart");
    let exit = ocsf.iter().rfind(|e| e["message"] == "exit").unwrap();
    assert_eq!(exit["activity_id"], 2);
    assert_eq!(exit["status"], "Failure");
    assert_eq!(exit["exit_code"], 3);

    let ecs: Vec<Value> = export(&env, "ecs").iter().map(|l| json(l)).collect();
    assert_eq!(ecs.len(), lines.len());
    for (doc, line) in ecs.iter().zip(&lines) {
        let record = json(line);
        assert_eq!(doc["@timestamp"], record["ts"]);
        assert_eq!(doc["event"]["action"], record["event"]);
        assert_eq!(doc["event"]["sequence"], record["seq"]);
        assert_eq!(doc["gatekeep"]["prev"], record["prev"]);
    }
    let exec = ecs.iter().find(|d| d["event"]["action"] == "exec").unwrap();
    assert_eq!(exec["event"]["category"], serde_json::json!(["process"]));
    assert_eq!(exec["event"]["type"], serde_json::json!(["start"]));
    assert_eq!(
        exec["process"]["args"],
        serde_json::json!(["sh", "-c", "exit 0"])
    );
    assert!(exec["user"]["name"].as_str().is_some());
    assert!(exec["host"]["name"].as_str().is_some());
}

#[test]
fn log_export_follows_new_records_and_rotations_until_interrupted() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    let run = |code: i32| {
        env.gatekeep()
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "sh", "-c", &format!("exit {code}")])
            .assert()
            .code(code);
    };
    run(1);
    let mut follower = KillOnDrop(
        env.gatekeep_std()
            .args(["log", "export", "--follow", "--format", "ecs"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(follower.0.stdout.take().unwrap()).lines();
    let mut next = || json(&lines.next().unwrap().unwrap());
    // What was there: chain_open, decision, exec, exit.
    let actions: Vec<Value> = (0..4).map(|_| next()["event"]["action"].clone()).collect();
    assert_eq!(actions, ["chain_open", "decision", "exec", "exit"]);
    run(2);
    let fresh: Vec<Value> = (0..3).map(|_| next()).collect();
    assert_eq!(fresh[0]["event"]["action"], "decision");
    assert_eq!(fresh[2]["event"]["action"], "exit");
    assert_eq!(fresh[2]["process"]["exit_code"], 2);
    assert_eq!(fresh[2]["event"]["sequence"], 6);
    // A rotation closes the live segment and opens a new one: both are read, in order.
    env.gatekeep().args(["log", "rotate"]).assert().success();
    run(4);
    let after: Vec<Value> = (0..5).map(|_| next()).collect();
    let actions: Vec<&str> = after
        .iter()
        .map(|d| d["event"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["segment_close", "segment_open", "decision", "exec", "exit"]
    );
    assert_eq!(after[4]["process"]["exit_code"], 4);
    assert_eq!(after[4]["event"]["sequence"], 11);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(follower.0.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(follower.0.wait().unwrap().code(), Some(0));
}

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 2m}
rules:
  - id: touch-held
    decision: approve
    match: {program: touch}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
    ("erin", &["reviewers"], true),
    ("mallory", &[], false),
];

/// `GET /v1/export?QUERY` as `user`: status, the next cursor, the body's lines.
fn page(service: &Service, user: &str, query: &str) -> (u16, Option<u64>, Vec<String>) {
    let answer = http()
        .get(format!("{}/v1/export?{query}", service.url))
        .bearer_auth(service.token(user))
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    if status == 200 {
        assert_eq!(
            answer.headers()["content-type"].to_str().unwrap(),
            "application/x-ndjson"
        );
    }
    let next = answer
        .headers()
        .get("gatekeep-next-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let body = answer.text().unwrap();
    (status, next, body.lines().map(str::to_owned).collect())
}

#[test]
fn an_auditor_reads_every_request_and_the_export_and_reviews_nothing() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    // erin is named an auditor: whatever else her entry says, she reviews nothing.
    service.reconfigure(|text| text.replace("{name: erin,", "{name: erin, auditor: true,"));
    let file = |command: &str| service.file_no_wait(&env, "alice", &policy, &["touch", command]);
    let first = file("/tmp/gk-export-a");
    let second = file("/tmp/gk-export-b");

    // She reads every request, one by one and listed.
    assert_eq!(service.view("erin", &first)["requester"], "alice");
    let listed: Value = http()
        .get(format!("{}/v1/requests", service.url))
        .bearer_auth(service.token("erin"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let ids: BTreeSet<&str> = listed["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from([first.as_str(), second.as_str()]));
    // And reviews none of them, by the API or the CLI.
    let refused = http()
        .post(format!("{}/v1/requests/{first}/reviews", service.url))
        .bearer_auth(service.token("erin"))
        .json(&serde_json::json!({"verdict": "approve"}))
        .send()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let cli = service
        .as_user(&env, "erin")
        .args(["approve", &first])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!cli.status.success());
    assert!(String::from_utf8_lossy(&cli.stderr).contains("may not review"));
    assert_eq!(service.status("bob", &first), "pending");
    let given = service
        .as_user(&env, "bob")
        .args(["approve", &first])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        given.status.success(),
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );

    // Neither a reviewer nor an auditor: no export.
    assert_eq!(page(&service, "mallory", "format=jsonl").0, 403);
    assert_eq!(page(&service, "erin", "format=xml").0, 400);
    assert_eq!(page(&service, "erin", "limit=1001").0, 400);

    // Paged: two records at a time, each page resuming after the last, until none.
    let (status, _, whole) = page(&service, "erin", "format=jsonl&limit=1000");
    assert_eq!(status, 200);
    let events: Vec<String> = whole
        .iter()
        .map(|l| json(l)["event"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "chain_open",
        "service_started",
        "request_created",
        "review",
        "request_approved",
        // erin's reconfiguration, with who the service knows now.
        "config_reloaded",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }
    let reload = whole
        .iter()
        .map(|l| json(l))
        .find(|r| r["event"] == "config_reloaded")
        .unwrap();
    assert_eq!(reload["users"][2], "erin");
    assert!(whole[1..].iter().all(|l| json(l)["replica"].is_string()));
    let mut paged = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let query = match after {
            Some(seq) => format!("format=jsonl&limit=2&after={seq}"),
            None => "format=jsonl&limit=2".to_owned(),
        };
        let (status, next, lines) = page(&service, "erin", &query);
        assert_eq!(status, 200);
        assert!(lines.len() <= 2);
        if lines.is_empty() {
            break;
        }
        assert_eq!(next, json(lines.last().unwrap())["seq"].as_u64());
        paged.extend(lines);
        after = next;
    }
    assert_eq!(paged, whole);

    // The same records as OCSF and ECS, for a reviewer too.
    let (_, _, ocsf) = page(&service, "bob", "format=ocsf&limit=1000");
    assert_ocsf_conforms(&ocsf);
    assert_eq!(ocsf.len(), whole.len());
    for (event, line) in ocsf.iter().map(|l| json(l)).zip(&whole) {
        assert_eq!(
            event["metadata"]["uid"].as_str().unwrap(),
            hex::encode(Sha256::digest(line.as_bytes()))
        );
        assert_eq!(event["metadata"]["log_name"], "gatekeep.service");
        let class = event["class_uid"].as_u64().unwrap();
        assert_eq!(
            event["type_uid"].as_u64(),
            Some(class * 100 + event["activity_id"].as_u64().unwrap())
        );
        if event["message"] == "review" {
            assert_eq!(class, 3003);
            assert_eq!(event["user"]["name"], "bob");
            assert_eq!(event["status"], "Success");
        }
    }
    let (_, _, ecs) = page(&service, "erin", "format=ecs&limit=1000&after=0");
    assert_eq!(ecs.len(), whole.len() - 1);
    let created = ecs
        .iter()
        .map(|l| json(l))
        .find(|d| d["event"]["action"] == "request_created")
        .unwrap();
    assert_eq!(created["user"]["name"], "alice");
    assert_eq!(created["process"]["args"][0], "touch");
    assert!(created["host"]["name"].as_str().is_some());
}

/// Every record of the service's export as `user`, page by page.
fn all_pages(service: &Service, user: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let query = match after {
            Some(seq) => format!("limit=5&after={seq}"),
            None => "limit=5".to_owned(),
        };
        let (status, next, lines) = page(service, user, &query);
        assert_eq!(status, 200);
        if lines.is_empty() {
            return out;
        }
        out.extend(lines.iter().map(|l| json(l)));
        after = next;
    }
}

#[test]
fn the_service_keeps_its_records_for_keep_days_and_records_what_retention_removed() {
    let env = TestEnv::new();
    // Below the minimum age, or a minimum below the floor: refused when the service
    // starts, naming the setting.
    for (retention, said) in [
        ("{keep_days: 30}", "keep_days 30 is below min_days 90"),
        (
            "{keep_days: 30, min_days: 10}",
            "min_days 10 is below 90; the service keeps its records at least 90 days",
        ),
    ] {
        let refused = env.write(
            "short.yaml",
            &format!("retention: {retention}\nusers: []\n"),
        );
        let output = env
            .gatekeep_std()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&refused)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(said), "{stderr}");
    }

    let policy = env.write("p.yaml", POLICY).display().to_string();
    let mut service = Service::start(&env, USERS, "retention: {keep_days: 100}\n");
    let id = service.file_no_wait(&env, "alice", &policy, &["touch", "/tmp/gk-kept"]);
    let rejected = service
        .as_user(&env, "bob")
        .args(["reject", &id, "--message", "not today"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(rejected.status.success(), "{rejected:?}");
    let before = all_pages(&service, "erin");
    assert_eq!(before[0]["event"], "chain_open");

    // Fifty days on: younger than keep_days, nothing goes.
    let later = |days: i64| {
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days);
        at.to_string()
    };
    service.restart_with(&env, &[("GATEKEEP_TEST_NOW", &later(50))]);
    assert_eq!(all_pages(&service, "erin")[..before.len()], before[..]);
    assert_eq!(service.view("erin", &id)["status"], "rejected");

    // Two hundred days on: the retention pass at start removes everything before the cut
    // but the last record, and the finished request, and says so in the chain.
    service.restart_with(&env, &[("GATEKEEP_TEST_NOW", &later(200))]);
    let after = all_pages(&service, "erin");
    let retention = after
        .iter()
        .find(|r| r["event"] == "retention")
        .unwrap_or_else(|| panic!("no retention record in {after:?}"));
    let first = &after[0];
    assert!(first["seq"].as_u64().unwrap() > 0, "{first}");
    assert_eq!(retention["first_kept_seq"], first["seq"]);
    assert_eq!(retention["first_kept_prev"], first["prev"]);
    assert_eq!(retention["removed"][0]["first_seq"], 0);
    assert_eq!(retention["keep_days"], 100);
    assert_eq!(retention["min_days"], 90);
    assert_eq!(retention["requests_removed"], 1);
    assert!(after.iter().all(|r| r["event"] != "request_created"));
    let gone = http()
        .get(format!("{}/v1/requests/{id}", service.url))
        .bearer_auth(service.token("erin"))
        .send()
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);

    // The report over the service's records says from where they verify, and why not
    // before.
    let report = service
        .as_user(&env, "erin")
        .args([
            "report",
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(report.status.success(), "{report:?}");
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    let covered = report["covered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"].as_str().unwrap().starts_with("service "))
        .unwrap();
    let chain = covered["chain"].as_str().unwrap();
    assert!(
        chain.starts_with(&format!("verified from record {}", first["seq"])),
        "{chain}"
    );
}
