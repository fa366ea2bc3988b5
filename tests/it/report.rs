//! `gatekeep report` end to end: a real service and a real log, every item type, every
//! format, a signature the service gives and `report verify` checks.

use std::process::Stdio;

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, request_id};

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 2m}
rules:
  - id: touch-held
    decision: approve
    match: {program: touch}
    approval: {break_glass: true, max_window: 10m}
  - id: rm-root
    decision: deny
    match: {program: rm, args: ["-rf", "/"]}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
    ("audrey", &[], false),
    ("dave", &[], false),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Validates a report's JSON against docs/report.schema.json.
fn assert_schema(path: &std::path::Path) {
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let Some(checked) =
        crate::common::schema_check("json-schema-validate.py", &[&schema, path], "")
    else {
        return;
    };
    assert!(
        checked.status.success(),
        "{} does not follow docs/report.schema.json:\n{}{}",
        path.display(),
        text(&checked.stdout),
        text(&checked.stderr)
    );
}

#[test]
fn the_evidence_pack_covers_what_happened_in_every_format_and_its_signature_holds() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    service.reconfigure(|t| t.replace("{name: audrey,", "{name: audrey, auditor: true,"));
    // An approved command, run.
    let made = env.root().join("made");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            &policy,
            "--reason",
            "quarterly export",
            "--",
            "touch",
            made.to_str().unwrap(),
        ],
    );
    let id = request_id(&lines);
    let approve = service
        .as_user(&env, "bob")
        .args(["approve", &id, "-m", "looks fine", "--for", "10m"])
        .output()
        .unwrap();
    assert!(approve.status.success());
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    // The same command again, granted under the window bob opened; then the window is
    // revoked.
    let again = service
        .as_user(&env, "alice")
        .args([
            "run",
            "--policy",
            &policy,
            "--",
            "touch",
            made.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let revoked = service
        .as_user(&env, "bob")
        .args(["revoke", &id, "--reason", "export done"])
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    // A self-approval, refused.
    let own = service
        .as_user(&env, "alice")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert_ne!(own.status.code(), Some(0));
    // A denial.
    let denied = service
        .as_user(&env, "alice")
        .args(["run", "--policy", &policy, "--", "rm", "-rf", "/"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(denied.status.code(), Some(126));
    let report = |user: &str, args: &[&str]| {
        service
            .as_user(&env, user)
            .args(["report", "--since", "2020-01-01"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // JSON: the item, its times and its checks.
    let json = report("audrey", &["--format", "json"]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let pack: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(pack["format"], "gatekeep-report");
    let item = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{pack}"));
    assert_eq!(item["requester"], "alice");
    assert_eq!(item["approvers"][0], "bob");
    assert_eq!(item["comments"][0], "bob: looks fine");
    assert_eq!(item["reason"], "quarterly export");
    assert_eq!(item["outcome"], "approved and run");
    assert_eq!(item["exit_code"], 0);
    for field in ["requested_at", "approved_at", "exec_at", "exit_at"] {
        assert!(item[field].is_string(), "{field} missing: {item}");
    }
    for check in item["checks"].as_array().unwrap() {
        assert_eq!(check["outcome"], "pass", "{check}");
    }
    assert_eq!(pack["denials"][0]["argv"][0], "rm", "{pack}");
    assert!(
        !pack["denials"][0]["rules"].as_array().unwrap().is_empty(),
        "{pack}"
    );
    assert!(
        pack["covered"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["chain"] == "verified"),
        "{pack}"
    );
    assert_eq!(
        pack["refused_self_approvals"][0]["reviewer"], "alice",
        "{pack}"
    );
    // The window: who opened it, what it granted, who closed it.
    let window = &pack["windows"][0];
    assert_eq!(window["window"], id.as_str(), "{pack}");
    assert_eq!(window["requester"], "alice");
    assert_eq!(window["opened_by"], serde_json::json!(["bob"]));
    let used = window["uses"][0]
        .as_str()
        .expect("one command granted under it");
    let under = pack["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["request_id"] == used)
        .unwrap_or_else(|| panic!("{pack}"));
    assert_eq!(under["kind"], "window");
    assert_eq!(under["window"], id.as_str());
    assert_eq!(under["outcome"], "approved and run");
    for check in under["checks"].as_array().unwrap() {
        assert_eq!(check["outcome"], "pass", "{check}");
    }
    let closed = window["revoked"].as_str().unwrap();
    assert!(
        closed.starts_with("by bob at ") && closed.ends_with(": export done"),
        "{closed}"
    );
    // The service's own events: audrey made an auditor by a reload.
    let reload = pack["service_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "config_reloaded")
        .unwrap_or_else(|| panic!("{pack}"));
    assert!(
        reload["detail"].as_str().unwrap().contains("audrey"),
        "{reload}"
    );
    // CSV: one row per item.
    let csv = report("audrey", &["--format", "csv"]);
    let csv = text(&csv.stdout);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("approver_is_not_requester")
    );
    assert!(csv.contains(&id));
    // Someone who is neither a reviewer nor an auditor cannot read the service's records.
    let refused = report("dave", &["--format", "json"]);
    assert_ne!(refused.status.code(), Some(0));
    // Signed, checked, and an edited copy refused with or without its digest recomputed.
    let signed_path = env.root().join("report.json");
    let signed = report(
        "audrey",
        &[
            "--format",
            "json",
            "--sign",
            "-o",
            signed_path.to_str().unwrap(),
        ],
    );
    assert!(signed.status.success(), "{}", text(&signed.stderr));
    let verify = |path: &std::path::Path| {
        service
            .as_user(&env, "dave")
            .args(["report", "verify"])
            .arg(path)
            .output()
            .unwrap()
    };
    let ok = verify(&signed_path);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    // Its form, by the published schema (every section present here: items of each
    // kind, a denial, a refused self-approval, a window, service events, a signature).
    assert_schema(&signed_path);
    let mut broken: Value =
        serde_json::from_str(&std::fs::read_to_string(&signed_path).unwrap()).unwrap();
    broken["items"][0]["checks"][0]["outcome"] = Value::from("passed");
    let broken_path = env.root().join("broken.json");
    std::fs::write(&broken_path, broken.to_string()).unwrap();
    let caught = std::panic::catch_unwind(|| assert_schema(&broken_path));
    assert!(
        caught.is_err() || std::env::var_os("CI").is_none(),
        "the schema check catches an outcome it does not define"
    );
    let mut edited: Value =
        serde_json::from_str(&std::fs::read_to_string(&signed_path).unwrap()).unwrap();
    let first = edited["items"]
        .as_array()
        .unwrap()
        .iter()
        .position(|i| i["request_id"] == id.as_str())
        .unwrap();
    edited["items"][first]["approvers"][0] = Value::from("alice");
    let tampered = env.root().join("tampered.json");
    std::fs::write(&tampered, edited.to_string()).unwrap();
    let refused = verify(&tampered);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("changed after it was signed"));
    let report_type: gatekeep::report::Report = serde_json::from_value(edited.clone()).unwrap();
    edited["signature"]["digest"] = Value::from(gatekeep::report::sign::digest(&report_type));
    std::fs::write(&tampered, edited.to_string()).unwrap();
    let refused = verify(&tampered);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("does not verify"),
        "{}",
        text(&refused.stderr)
    );
    // HTML: self-contained, signed, and an edited page is refused.
    let page_path = env.root().join("report.html");
    let page = report("audrey", &["--sign", "-o", page_path.to_str().unwrap()]);
    assert!(page.status.success(), "{}", text(&page.stderr));
    let html = std::fs::read_to_string(&page_path).unwrap();
    assert!(html.contains("<svg") && html.contains("chart-decisions"));
    assert!(!html.contains("http://") || !html.contains("src=\"http"));
    assert!(verify(&page_path).status.success());
    // In a browser: nothing fetched, the charts drawn, readable and printable.
    let shot = crate::web::screenshot_dir("docs").join("report.png");
    let shown = crate::web::node(
        "report.mjs",
        &[page_path.to_str().unwrap(), shot.to_str().unwrap()],
    );
    assert_eq!(shown["fetched"], serde_json::json!([]), "{shown}");
    assert_eq!(shown["charts"], 4, "{shown}");
    assert!(shown["items"].as_u64().unwrap() >= 1, "{shown}");
    assert_eq!(shown["failed"], "0");
    assert!(
        shown["signature"]
            .as_str()
            .unwrap()
            .contains("Signed by the approval service")
    );
    assert!(shown["scrollWidth"].as_u64().unwrap() <= 1200, "{shown}");
    assert!(shown["pdfBytes"].as_u64().unwrap() > 10_000, "{shown}");
    std::fs::write(&page_path, html.replacen("looks fine", "looks great", 1)).unwrap();
    let refused = verify(&page_path);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("the page was changed"),
        "{}",
        text(&refused.stderr)
    );
}

/// The service's chain as the JSON report's "What was covered" entry sees it.
fn service_chain(service: &Service, env: &TestEnv) -> String {
    let output = service
        .as_user(env, "audrey")
        .args(["report", "--since", "2020-01-01", "--format", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let pack: Value = serde_json::from_slice(&output.stdout).unwrap();
    let covered = pack["covered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"].as_str().unwrap().starts_with("service "))
        .unwrap_or_else(|| panic!("{pack}"))
        .clone();
    assert!(
        covered["head"].as_str().unwrap().starts_with("record "),
        "{covered}"
    );
    covered["chain"].as_str().unwrap().to_owned()
}

/// `gatekeep serve` on the service's configuration and data, expected to refuse to start;
/// what it said.
fn refused_start(env: &TestEnv, service: &Service) -> String {
    let refused = env
        .gatekeep_std()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&service.config)
        .arg("--data")
        .arg(&service.data)
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(125),
        "{}",
        text(&refused.stderr)
    );
    text(&refused.stderr)
}

/// A record line chained after `prev`, as the service writes them.
fn line(seq: i64, prev: &str, event: &str, fields: Value) -> String {
    let mut record =
        serde_json::json!({"seq": seq, "ts": "2026-01-01T00:00:00Z", "event": event, "prev": prev});
    for (k, v) in fields.as_object().unwrap() {
        record[k] = v.clone();
    }
    record.to_string()
}

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn a_service_chain_changed_by_hand_is_found() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let mut service = Service::start(&env, USERS, "");
    service.reconfigure(|t| t.replace("{name: audrey,", "{name: audrey, auditor: true,"));
    let file = |service: &Service| {
        service.file_no_wait(&env, "alice", &policy, &["touch", "/tmp/gk-cut"]);
    };
    file(&service);
    file(&service);
    assert_eq!(service_chain(&service, &env), "verified");
    let database = service.data.join("gatekeep.db");
    let memory = service.data.join("audit.chain.json");
    let sql = |statement: &str| {
        rusqlite::Connection::open(&database)
            .unwrap()
            .execute_batch(statement)
            .unwrap();
    };
    let last = || -> i64 {
        rusqlite::Connection::open(&database)
            .unwrap()
            .query_row("SELECT max(seq) FROM audit_records", [], |r| r.get(0))
            .unwrap()
    };

    // The last records removed by hand: the replica, which remembers the last record it
    // saw (when it stopped), refuses to start.
    service.stop();
    let cut = last();
    sql(&format!(
        "DELETE FROM audit_records WHERE seq >= {}",
        cut - 1
    ));
    let said = refused_start(&env, &service);
    assert!(
        said.contains(&format!("the chain ends at record {}", cut - 2)),
        "{said}"
    );
    assert!(said.contains("outside gatekeep"), "{said}");
    // Without that memory, the chain carries on over the gap; the report, which remembers
    // the head it read, says what changed.
    std::fs::remove_file(&memory).unwrap();
    service.restart_with(&env, &[]);
    file(&service);
    let chain = service_chain(&service, &env);
    assert!(
        chain.starts_with(&format!(
            "broken: record {} is not the one an earlier report read",
            cut - 1
        )) || chain.starts_with(&format!(
            "broken: record {cut} is not the one an earlier report read"
        )),
        "{chain}"
    );

    // Every record replaced by a record and a retention record that says the ones before
    // were removed (chained, but not signed by the service): found, by the replica and by
    // the report.
    service.stop();
    let end = last();
    let first = line(end + 1, &"ab".repeat(32), "note", serde_json::json!({}));
    let chain_id: String = rusqlite::Connection::open(&database)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'audit_chain_id'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let retention = line(
        end + 2,
        &sha256(&first),
        "retention",
        serde_json::json!({"removed": [{"first_seq": 0, "last_seq": end, "last_hash": "ab".repeat(32)}],
            "first_kept_seq": end + 1, "first_kept_prev": "ab".repeat(32),
            "newest_removed_ts": "2025-01-01T00:00:00Z", "min_days": 90,
            "chain_id": chain_id, "signature": "00".repeat(64)}),
    );
    let insert = |seq: i64, line: &str| {
        format!(
            "INSERT INTO audit_records (seq, line) VALUES ({seq}, '{}');",
            line.replace('\'', "''")
        )
    };
    sql(&format!(
        "DELETE FROM audit_records; {} {}",
        insert(end + 1, &first),
        insert(end + 2, &retention)
    ));
    let said = refused_start(&env, &service);
    assert!(
        said.contains("does not hold: the service's key did not sign it"),
        "{said}"
    );
    std::fs::remove_file(&memory).unwrap();
    service.restart_with(&env, &[]);
    let chain = service_chain(&service, &env);
    assert!(
        chain.starts_with(&format!(
            "broken: the records before record {} are missing",
            end + 1
        )) && chain.ends_with("does not hold: the service's key did not sign it"),
        "{chain}"
    );

    // Every record removed, and the chain's id with them: the replica, which remembers
    // the chain, does not start on none.
    service.kill9();
    let database_copy = env.root().join("copy.db");
    std::fs::copy(&database, &database_copy).unwrap();
    sql("DELETE FROM audit_records; DELETE FROM meta WHERE key = 'audit_chain_id'");
    let said = refused_start(&env, &service);
    assert!(said.contains("the database holds no audit chain"), "{said}");
    // Every record removed, the chain's id kept: the service does not open a new chain
    // over them, even without the replica's memory.
    std::fs::copy(&database_copy, &database).unwrap();
    sql("DELETE FROM audit_records");
    std::fs::remove_file(&memory).unwrap();
    let said = refused_start(&env, &service);
    assert!(
        said.contains("has no records left: they were removed outside gatekeep"),
        "{said}"
    );
}
