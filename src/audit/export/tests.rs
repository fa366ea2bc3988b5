use serde_json::{Value, json};

use super::*;

const RUN: &str = "0193a0b0-0000-7000-8000-000000000001";

/// A line as the log writes it: `seq`, `ts`, `event`, `prev`, then the fields.
fn line(seq: u64, event: &str, fields: Value) -> Vec<u8> {
    let mut value = json!({"seq": seq, "ts": "2026-12-03T19:44:31.448123Z", "event": event,
                           "prev": "00".repeat(32)});
    for (k, v) in fields.as_object().unwrap() {
        value[k] = v.clone();
    }
    serde_json::to_vec(&value).unwrap()
}

/// A client log's first records: the chain and a run's decision.
fn exporter(format: Format) -> Exporter {
    let mut exporter = Exporter::new(format, Origin::Client);
    exporter.line(&line(
        0,
        "chain_open",
        json!({"chain_id": "c1", "host": "box", "user": "ana"}),
    ));
    exporter.line(&line(
        1,
        "decision",
        json!({"run_id": RUN, "argv": ["rm", "-rf", "/tmp/a b"], "cwd": "/srv", "user": "ana",
               "host": "box", "decision": "approve", "rules": ["rm-rf"], "pid": 10}),
    ));
    exporter
}

/// Every event with fields as its writer sets them, and the class, activity and outcome
/// documented for it.
fn samples() -> Vec<(&'static str, Value, Class, u32, Outcome)> {
    use Class::{Authorization as A, Base as B, Process as P};
    use Outcome::{Failure as F, Success as S, Unknown as U};
    let run = json!({"run_id": RUN});
    let with = |extra: Value| {
        let mut v = run.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    vec![
        (
            "chain_open",
            json!({"chain_id": "c1", "host": "box", "user": "ana"}),
            B,
            99,
            U,
        ),
        (
            "segment_open",
            json!({"chain_id": "c1", "previous": "audit.0.jsonl"}),
            B,
            99,
            U,
        ),
        (
            "segment_close",
            json!({"records": 3, "head": "ab"}),
            B,
            99,
            U,
        ),
        (
            "recovered",
            json!({"offset": 1, "length": 2, "sha256": "ab"}),
            B,
            99,
            U,
        ),
        (
            "decision",
            with(json!({"decision": "allow", "argv": ["ls"], "user": "ana"})),
            A,
            1,
            S,
        ),
        (
            "refused",
            with(json!({"argv": ["x"], "error": "too slow"})),
            A,
            1,
            F,
        ),
        (
            "hook",
            with(json!({"answer": "deny", "decision": "deny"})),
            A,
            1,
            F,
        ),
        (
            "approval_requested",
            with(json!({"request_id": "r1", "digest": "d"})),
            A,
            99,
            U,
        ),
        (
            "approval_granted",
            with(json!({"request_id": "r1", "reviewers": ["bo"]})),
            A,
            1,
            S,
        ),
        (
            "approval_rejected",
            with(json!({"request_id": "r1", "status": "rejected"})),
            A,
            1,
            F,
        ),
        (
            "approval_expired",
            with(json!({"request_id": "r1", "status": "expired"})),
            A,
            1,
            F,
        ),
        (
            "approval_cancelled",
            with(json!({"request_id": "r1", "cancelled": true})),
            A,
            99,
            U,
        ),
        (
            "approval_refused",
            with(json!({"request_id": "r1", "error": "forged"})),
            A,
            1,
            F,
        ),
        (
            "break_glass",
            with(json!({"offline": true, "reason": "down"})),
            A,
            1,
            S,
        ),
        (
            "break_glass_declined",
            with(json!({"argv": ["x"]})),
            A,
            99,
            U,
        ),
        (
            "break_glass_reported",
            with(json!({"request_id": "r1"})),
            A,
            99,
            U,
        ),
        ("exec", with(json!({"pid": 42})), P, 1, S),
        (
            "exit",
            with(json!({"code": 0, "signal": null, "status": 0, "duration_ms": 3})),
            P,
            2,
            S,
        ),
        (
            "exec_summary",
            with(json!({"allowed": 2, "programs": ["ls"]})),
            B,
            99,
            S,
        ),
        (
            "exec_refused",
            with(json!({"pid": 7, "argv": ["curl"], "exe": "/usr/bin/curl"})),
            P,
            1,
            F,
        ),
        (
            "exec_leftovers",
            with(json!({"killed": [8], "reason": "still running"})),
            P,
            2,
            S,
        ),
        (
            "guard_refused",
            with(json!({"pid": 7, "call": "openat", "path": "/etc/gk"})),
            B,
            99,
            F,
        ),
        (
            "supervision_unavailable",
            with(json!({"error": "no ptrace"})),
            B,
            99,
            F,
        ),
        (
            "mcp_proxy",
            with(json!({"mcp_server": "fs", "argv": ["srv"], "pid": 9})),
            B,
            99,
            S,
        ),
        (
            "mcp_call",
            with(json!({"mcp_server": "fs", "tool": "rm", "answer": "deny"})),
            A,
            1,
            F,
        ),
        (
            "mcp_result",
            with(json!({"mcp_server": "fs", "bytes": 3, "is_error": false})),
            B,
            99,
            S,
        ),
        (
            "mcp_refused",
            with(json!({"mcp_server": "fs", "from": "client"})),
            B,
            99,
            F,
        ),
        (
            "mcp_tools",
            with(json!({"mcp_server": "fs", "pinned": ["rm"]})),
            B,
            99,
            S,
        ),
        (
            "mcp_trusted",
            with(json!({"mcp_server": "fs", "tool": "rm", "request_id": "r1"})),
            A,
            1,
            S,
        ),
        (
            "request_created",
            json!({"id": "r1", "requester": "ana", "argv": ["x"]}),
            A,
            99,
            U,
        ),
        (
            "request_denied",
            json!({"requester": "ana", "argv": ["x"]}),
            A,
            1,
            F,
        ),
        (
            "review",
            json!({"id": "r1", "reviewer": "bo", "verdict": "approve"}),
            A,
            1,
            S,
        ),
        (
            "request_approved",
            json!({"id": "r1", "reviewers": ["bo"]}),
            A,
            1,
            S,
        ),
        ("request_rejected", json!({"id": "r1"}), A, 1, F),
        ("request_cancelled", json!({"id": "r1"}), A, 99, U),
        ("request_consumed", json!({"id": "r1"}), A, 1, S),
        ("request_expired", json!({"id": "r1"}), A, 1, F),
        (
            "request_escalated",
            json!({"id": "r1", "step": 1}),
            A,
            99,
            U,
        ),
        (
            "request_reminded",
            json!({"id": "r1", "reminder": 1}),
            A,
            99,
            U,
        ),
        (
            "break_glass_reviewed",
            json!({"id": "r1", "reviewer": "bo", "finding": "flag"}),
            A,
            99,
            F,
        ),
        ("break_glass_overdue", json!({"id": "r1"}), A, 99, U),
        (
            "window_opened",
            json!({"id": "r1", "window": "w1"}),
            A,
            1,
            S,
        ),
        ("window_used", json!({"id": "r2", "window": "w1"}), A, 1, S),
        (
            "window_revoked",
            json!({"window": "w1", "by": "bo"}),
            A,
            99,
            U,
        ),
        (
            "secrets_released",
            json!({"id": "r1", "to": "ana", "secrets": ["DB"]}),
            A,
            1,
            S,
        ),
        (
            "slack_review",
            json!({"id": "r1", "reviewer": "bo", "slack_user": "U1"}),
            B,
            99,
            U,
        ),
        (
            "slack_revoke",
            json!({"id": "r1", "by": "bo", "slack_user": "U1"}),
            B,
            99,
            U,
        ),
        (
            "witness",
            json!({"by": "ana", "host": "laptop", "user": "ana", "path": "/l"}),
            B,
            99,
            U,
        ),
        (
            "witness_refused",
            json!({"by": "ana", "host": "laptop", "path": "/l"}),
            B,
            99,
            F,
        ),
        (
            "webhook_failed",
            json!({"url": "https://x", "error": "gave up"}),
            B,
            99,
            F,
        ),
        (
            "delivery_failed",
            json!({"sink": "slack", "error": "gave up"}),
            B,
            99,
            F,
        ),
        (
            "review_refused",
            json!({"id": "r1", "reviewer": "ana", "why": "requesters never review their own requests"}),
            A,
            1,
            F,
        ),
        (
            "report_signed",
            json!({"digest": "ab".repeat(32), "by": "audrey", "replica": "gk-1"}),
            B,
            99,
            S,
        ),
        (
            "config_reloaded",
            json!({"users": ["ana", "bo"], "secrets": [], "policy": null}),
            B,
            99,
            S,
        ),
        (
            "config_reload_failed",
            json!({"error": "server.yaml:3:1: unknown field"}),
            B,
            99,
            F,
        ),
        (
            "service_started",
            json!({"version": "0.1.0", "key_id": "ab".repeat(32), "store": "sqlite",
                   "users": ["ana"], "policy": null, "retention": null,
                   "local_log": {"path": "/var/lib/gatekeep/audit.jsonl", "head_seq": 4}}),
            B,
            99,
            S,
        ),
        (
            "signing_key_rotated",
            json!({"from": "ab".repeat(32), "to": "cd".repeat(32)}),
            B,
            99,
            S,
        ),
        (
            "retention",
            json!({"removed": [{"first_seq": 0, "last_seq": 9}], "first_kept_seq": 10,
                   "first_kept_prev": "ab".repeat(32), "min_days": 90}),
            B,
            99,
            S,
        ),
    ]
}

/// Where the OCSF validator's Python packages are (`ocsf-json-schema` with the published
/// schemas, and `jsonschema`): `GATEKEEP_OCSF_PYTHONPATH`, else `target/ocsf-python`, as
/// `.ci/run` installs them.
fn ocsf_python_path() -> std::path::PathBuf {
    std::env::var_os("GATEKEEP_OCSF_PYTHONPATH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ocsf-python")
        })
}

#[test]
fn every_event_conforms_to_the_published_ocsf_schema() {
    use std::io::Write as _;
    let path = ocsf_python_path();
    let here = std::process::Command::new("python3")
        .env("PYTHONPATH", &path)
        .args(["-c", "import jsonschema, ocsf_json_schema"])
        .output();
    if !here.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the OCSF schema packages are not in {} (.ci/run installs them)",
            path.display()
        );
        eprintln!(
            "NOT RUN: the OCSF schema packages are not in {} (python3 -m pip install --target {} -r tests/data/ocsf-requirements.txt)",
            path.display(),
            path.display()
        );
        return;
    }
    // Every event, from a client's log and from the service's, as the exporters write it.
    let mut lines = String::new();
    for (origin, format) in [
        (Origin::Client, Format::Ocsf),
        (Origin::Service, Format::Ocsf),
    ] {
        for (event, fields, _, _, _) in samples() {
            let mut exporter = match origin {
                Origin::Client => exporter(format),
                Origin::Service => Exporter::new(format, origin),
            };
            if origin == Origin::Service {
                exporter.line(&line(
                    0,
                    "chain_open",
                    json!({"chain_id": "c2", "host": "gk-1", "user": "gatekeep-service"}),
                ));
            }
            lines.push_str(&exporter.line(&line(5, event, fields)).unwrap());
            lines.push('\n');
        }
    }
    // Records of a log read from the middle, with no host or user known: still valid.
    for (event, fields) in [
        ("exec", json!({"pid": 7})),
        ("hook", json!({"answer": "ask"})),
    ] {
        let mut bare = Exporter::new(Format::Ocsf, Origin::Client);
        lines.push_str(&bare.line(&line(9, event, fields)).unwrap());
        lines.push('\n');
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ocsf-validate.py");
    let mut child = std::process::Command::new("python3")
        .env("PYTHONPATH", &path)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains(&format!(
            "{} events of classes [0, 1007, 3003] conform",
            2 * EVENTS.len() + 2
        )),
        "{said}"
    );
}

#[test]
fn every_event_is_sampled_and_every_sample_is_listed() {
    let sampled: Vec<&str> = samples().iter().map(|s| s.0).collect();
    assert_eq!(sampled, EVENTS);
}

#[test]
fn each_event_maps_to_its_class_with_the_required_attributes() {
    for (event, fields, class, activity, outcome) in samples() {
        let mut exporter = exporter(Format::Ocsf);
        let bytes = line(5, event, fields);
        let out: Value = serde_json::from_str(&exporter.line(&bytes).unwrap()).unwrap();
        let (class_uid, _, category_uid, _) = class.ids();
        assert_eq!(out["class_uid"], json!(class_uid), "{event}");
        assert_eq!(out["category_uid"], json!(category_uid), "{event}");
        assert_eq!(out["activity_id"], json!(activity), "{event}");
        assert_eq!(
            out["type_uid"],
            json!(u64::from(class_uid) * 100 + u64::from(activity)),
            "{event}"
        );
        let status = match outcome {
            Outcome::Success => 1,
            Outcome::Failure => 2,
            Outcome::Unknown => 0,
        };
        assert_eq!(out["status_id"], json!(status), "{event}");
        for attribute in class.required() {
            assert!(
                out.get(*attribute).is_some_and(|v| !v.is_null()),
                "{event}: {attribute} missing in {out}"
            );
        }
        // Deduplicable: the line's own hash, the same every time it is exported.
        assert_eq!(
            out["metadata"]["uid"],
            json!(super::super::line_hash(&bytes))
        );
        assert_eq!(out["metadata"]["sequence"], json!(5));
        assert_eq!(out["metadata"]["product"]["name"], "gatekeep");
        assert_eq!(out["time"], json!(1_796_327_071_448_i64), "{event}");
        assert_eq!(out["message"], json!(event));

        let mut ecs = exporter_for(Format::Ecs);
        let doc: Value = serde_json::from_str(&ecs.line(&bytes).unwrap()).unwrap();
        assert_eq!(doc["event"]["action"], json!(event));
        assert_eq!(doc["event"]["sequence"], json!(5));
        assert_eq!(doc["event"]["id"], out["metadata"]["uid"]);
        let expected = match outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        };
        assert_eq!(doc["event"]["outcome"], json!(expected), "{event}");
        assert_eq!(doc["@timestamp"], "2026-12-03T19:44:31.448123Z");
    }
}

fn exporter_for(format: Format) -> Exporter {
    exporter(format)
}

#[test]
fn exec_and_exit_take_the_command_user_and_host_of_their_run() {
    let mut ocsf = exporter(Format::Ocsf);
    let exec: Value = serde_json::from_str(
        &ocsf
            .line(&line(2, "exec", json!({"run_id": RUN, "pid": 42})))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(exec["process"]["cmd_line"], "rm -rf '/tmp/a b'");
    assert_eq!(exec["process"]["pid"], 42);
    assert_eq!(exec["process"]["working_directory"], "/srv");
    assert_eq!(exec["process"]["uid"], RUN);
    assert_eq!(exec["actor"]["user"]["name"], "ana");
    assert_eq!(exec["device"]["hostname"], "box");
    assert_eq!(exec["metadata"]["correlation_uid"], RUN);
    assert_eq!(exec["type_uid"], 100_701);
    assert_eq!(exec["unmapped"]["run_id"], RUN);

    let mut ecs = exporter(Format::Ecs);
    let exit: Value = serde_json::from_str(
        &ecs.line(&line(
            3,
            "exit",
            json!({"run_id": RUN, "code": 3, "signal": null, "status": 3, "duration_ms": 5}),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(exit["event"]["category"], json!(["process"]));
    assert_eq!(exit["event"]["type"], json!(["end"]));
    assert_eq!(exit["event"]["outcome"], "failure");
    assert_eq!(exit["process"]["exit_code"], 3);
    assert_eq!(exit["process"]["args"], json!(["rm", "-rf", "/tmp/a b"]));
    assert_eq!(exit["user"]["name"], "ana");
    assert_eq!(exit["host"]["name"], "box");
    assert_eq!(exit["gatekeep"]["duration_ms"], 5);
    assert_eq!(exit["gatekeep"]["chain_id"], "c1");
}

#[test]
fn a_decision_is_an_authorization_naming_the_rules_as_privileges() {
    let mut ocsf = exporter(Format::Ocsf);
    let out: Value = serde_json::from_str(
        &ocsf
            .line(&line(
                2,
                "decision",
                json!({"run_id": RUN, "argv": ["sudo", "x"], "user": "bo", "host": "h2",
                       "decision": "deny", "rules": ["sudo"], "policy_digest": "pd"}),
            ))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out["class_uid"], 3003);
    assert_eq!(out["type_uid"], 300_301);
    assert_eq!(out["user"]["name"], "bo");
    assert_eq!(out["device"]["hostname"], "h2");
    assert_eq!(out["privileges"], json!(["sudo"]));
    assert_eq!(out["disposition"], "Blocked");
    assert_eq!(out["unmapped"]["policy_digest"], "pd");
    assert_eq!(out["unmapped"]["decision"], "deny");
}

#[test]
fn service_records_name_the_reviewer_and_the_service_host() {
    let mut ecs = Exporter::new(Format::Ecs, Origin::Service);
    ecs.line(&line(
        0,
        "chain_open",
        json!({"chain_id": "s", "host": "svc", "user": "gk"}),
    ));
    let witness: Value = serde_json::from_str(
        &ecs.line(&line(
            1,
            "witness",
            json!({"by": "ana", "host": "laptop", "user": "ana", "path": "/l"}),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(witness["host"]["name"], "svc");
    assert_eq!(witness["user"]["name"], "ana");
    assert_eq!(witness["gatekeep"]["host"], "laptop");
    assert_eq!(witness["event"]["dataset"], "gatekeep.service");
    let review: Value = serde_json::from_str(
        &ecs.line(&line(
            2,
            "review",
            json!({"id": "r1", "requester": "ana", "reviewer": "bo", "verdict": "approve"}),
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(review["user"]["name"], "bo");
    assert_eq!(review["event"]["type"], json!(["allowed"]));
    assert_eq!(review["gatekeep"]["id"], "r1");
}

#[test]
fn jsonl_is_the_line_itself_and_unknown_events_are_base_events() {
    let mut jsonl = exporter(Format::Jsonl);
    let bytes = line(2, "exec", json!({"run_id": RUN, "pid": 1}));
    assert_eq!(jsonl.line(&bytes).unwrap().as_bytes(), bytes.as_slice());
    let mut ocsf = exporter(Format::Ocsf);
    let out: Value = serde_json::from_str(
        &ocsf
            .line(&line(2, "something_new", json!({"x": 1})))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out["class_uid"], 0);
    assert_eq!(out["type_uid"], 99);
    assert_eq!(out["unmapped"]["x"], 1);
    assert!(ocsf.line(b"not json").is_none());
}
