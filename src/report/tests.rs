use serde_json::{Value, json};

use super::*;

fn at(minute: u32) -> String {
    format!("2026-11-02T10:{minute:02}:00Z")
}

fn record(seq: u64, minute: u32, event: &str, fields: Value) -> Value {
    let mut value = fields;
    value["seq"] = json!(seq);
    value["ts"] = json!(at(minute));
    value["event"] = json!(event);
    value
}

/// A run on the requester's host: decision, request, grant, exec, exit (in this order
/// unless `exec_first`).
fn local_run(id: &str, digest: &str, exec_first: bool) -> Vec<Value> {
    let run = json!({"run_id": "run-1"});
    let fields = |extra: Value| {
        let mut v = run.clone();
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let decision = fields(
        json!({"decision": "approve", "argv": ["pg_dump", "app"], "rules": ["db-dump"],
                                 "user": "alice", "host": "laptop", "reason": "migration"}),
    );
    let requested = fields(json!({"request_id": id, "digest": digest}));
    let granted = fields(json!({"request_id": id, "reviewers": ["bob"]}));
    let exec = fields(json!({"pid": 42}));
    let exit = fields(json!({"code": 0}));
    let mut out = vec![
        record(1, 0, "decision", decision),
        record(2, 0, "approval_requested", requested),
    ];
    if exec_first {
        out.push(record(3, 1, "exec", exec));
        out.push(record(4, 1, "approval_granted", granted));
    } else {
        out.push(record(3, 1, "approval_granted", granted));
        out.push(record(4, 1, "exec", exec));
    }
    out.push(record(5, 2, "exit", exit));
    out
}

fn service_run(id: &str, digest: &str, reviewer: &str, consumes: usize) -> Vec<Value> {
    let mut out = vec![
        record(
            1,
            0,
            "request_created",
            json!({"id": id, "requester": "alice", "argv": ["pg_dump", "app"],
            "host": "laptop", "user": "alice", "agent": false, "rules": ["db-dump"], "digest": digest}),
        ),
        record(
            2,
            1,
            "review",
            json!({"id": id, "reviewer": reviewer, "verdict": "approve", "comment": "ok"}),
        ),
        record(
            3,
            1,
            "request_approved",
            json!({"id": id, "reviewers": [reviewer]}),
        ),
    ];
    for n in 0..consumes {
        out.push(record(
            4 + n as u64,
            1,
            "request_consumed",
            json!({"id": id}),
        ));
    }
    out
}

fn inputs(logs: Vec<Vec<Value>>, service: Option<Vec<Value>>) -> Inputs {
    Inputs {
        since: "2026-11-01T00:00:00Z".parse().unwrap(),
        until: "2026-12-01T00:00:00Z".parse().unwrap(),
        logs: logs
            .into_iter()
            .enumerate()
            .map(|(i, records)| LocalLog {
                path: format!("log-{i}.jsonl"),
                records,
                intact: true,
                problem: None,
                witness: "not checked".into(),
            })
            .collect(),
        service: service.map(|records| ServiceRecords {
            url: "https://gatekeep.example".into(),
            records,
            intact: true,
            problem: None,
            retained_from: None,
            head: None,
        }),
        generated_at: "2026-12-02T00:00:00Z".parse().unwrap(),
    }
}

fn outcomes(report: &Report) -> Vec<(&str, Outcome)> {
    report.items[0]
        .checks
        .iter()
        .map(|c| (c.check.as_str(), c.outcome))
        .collect()
}

#[test]
fn a_clean_approval_passes_every_check_and_reads_as_recorded() {
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    assert_eq!(report.items.len(), 1);
    let item = &report.items[0];
    assert_eq!(item.requester.as_deref(), Some("alice"));
    assert_eq!(item.approvers, ["bob"]);
    assert_eq!(item.comments, ["bob: ok"]);
    assert_eq!(item.outcome, "approved and run");
    assert_eq!(item.exit_code, Some(0));
    assert_eq!(item.reason.as_deref(), Some("migration"));
    assert!(
        outcomes(&report).iter().all(|(_, o)| *o == Outcome::Pass),
        "{:?}",
        item.checks
    );
    assert_eq!(report.totals.checks_failed, 0);
    assert_eq!(report.totals.approval_seconds, [60]);
}

#[test]
fn each_check_fails_or_cannot_be_verified_as_its_evidence_says() {
    // Self-approval.
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "alice", 1)),
    ));
    assert_eq!(
        outcomes(&report)[0],
        ("approver_is_not_requester", Outcome::Fail)
    );
    // Exec before the grant, in the same chain.
    let report = build(&inputs(
        vec![local_run("r1", "d1", true)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    assert_eq!(
        outcomes(&report)[1],
        ("approved_before_exec", Outcome::Fail)
    );
    // A grant used twice: two logs, or two consumes.
    let report = build(&inputs(
        vec![local_run("r1", "d1", false), local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    assert_eq!(outcomes(&report)[2], ("grant_used_once", Outcome::Fail));
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 2)),
    ));
    assert_eq!(outcomes(&report)[2], ("grant_used_once", Outcome::Fail));
    // A digest that is not the one the service was asked about.
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d2", "bob", 1)),
    ));
    assert_eq!(outcomes(&report)[3], ("digest_matched", Outcome::Fail));
    // Missing records: no service covered, or no exec record.
    let report = build(&inputs(vec![local_run("r1", "d1", false)], None));
    let got = outcomes(&report);
    assert_eq!(got[0].1, Outcome::CannotVerify);
    assert_eq!(got[1].1, Outcome::Pass);
    assert_eq!(got[2].1, Outcome::CannotVerify);
    assert_eq!(got[3].1, Outcome::CannotVerify);
    let report = build(&inputs(Vec::new(), Some(service_run("r1", "d1", "bob", 1))));
    let got = outcomes(&report);
    assert_eq!(got[0].1, Outcome::Pass);
    assert_eq!(got[1].1, Outcome::CannotVerify);
    assert!(report.items[0].checks[1].why.contains("not covered"));
    assert_eq!(got[3].1, Outcome::CannotVerify);
    assert!(report.totals.checks_cannot_verify >= 3);
}

#[test]
fn refused_self_approvals_are_listed() {
    let mut service = service_run("r1", "d1", "bob", 1);
    service.push(record(
        9,
        3,
        "review_refused",
        json!({"id": "r1", "reviewer": "alice",
        "why": "a requester can never review their own request"}),
    ));
    let report = build(&inputs(Vec::new(), Some(service)));
    assert_eq!(report.refused_self_approvals.len(), 1);
    assert_eq!(report.refused_self_approvals[0].reviewer, "alice");
    assert!(html::render(&report).contains("Self-approvals refused"));
}

#[test]
fn records_outside_the_period_are_left_out_and_denials_counted() {
    let mut records = local_run("r1", "d1", false);
    for r in &mut records {
        r["ts"] = json!("2026-10-02T10:00:00Z");
    }
    records.push(record(
        6,
        5,
        "decision",
        json!({"run_id": "run-2", "decision": "deny",
        "argv": ["rm", "-rf", "/"], "rules": ["rm-root"], "user": "alice", "host": "laptop"}),
    ));
    let report = build(&inputs(vec![records], None));
    assert!(report.items.is_empty());
    assert_eq!(report.denials.len(), 1);
    assert_eq!(report.denials[0].rules, ["rm-root"]);
    assert_eq!(
        report.totals.decisions_per_day,
        [("2026-11-02".to_owned(), 0, 0, 1)]
    );
}

#[test]
fn break_glass_runs_carry_the_state_of_their_review() {
    let mut service = vec![
        record(
            1,
            0,
            "request_created",
            json!({"id": "g1", "requester": "alice", "argv": ["psql"], "rules": ["db"], "digest": "d"}),
        ),
        record(
            2,
            0,
            "break_glass",
            json!({"id": "g1", "requester": "alice", "reason": "outage"}),
        ),
    ];
    let report = build(&inputs(Vec::new(), Some(service.clone())));
    assert_eq!(report.items[0].kind, "break_glass");
    assert_eq!(report.items[0].break_glass_review.as_deref(), Some("open"));
    assert_eq!(report.totals.break_glass_open, 1);
    service.push(record(
        3,
        9,
        "break_glass_reviewed",
        json!({"id": "g1", "reviewer": "carol", "finding": "flag"}),
    ));
    let report = build(&inputs(Vec::new(), Some(service)));
    assert_eq!(
        report.items[0].break_glass_review.as_deref(),
        Some("flagged by carol")
    );
    assert_eq!(report.totals.break_glass_open, 0);
}

#[test]
fn the_page_embeds_its_report_and_an_edited_page_is_caught() {
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    let page = html::render(&report);
    assert!(page.contains("<svg"));
    assert!(!page.contains("<script>") && !page.contains("src=\"http"));
    assert_eq!(html::embedded(&page).unwrap(), report);
    // The visible page alone edited (the data after it left as it was).
    let edited = page.replacen("approved and run", "approved and ran", 1);
    assert!(html::embedded(&edited).unwrap_err().contains("changed"));
}

#[test]
fn a_signed_report_verifies_and_an_edited_one_never_does() {
    let key = crate::approval::KeyPair::from_seed([7; 32]);
    let mut report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    let digest = sign::digest(&report);
    report.signature = Some(sign::Signature {
        context: sign::CONTEXT.into(),
        digest: digest.clone(),
        signature: key.sign_message(&sign::message(&digest)),
        key_id: key.key_id(),
        signed_by: "auditor".into(),
        signed_at: at(0),
    });
    sign::verify(&report, &key.public_hex()).unwrap();
    // Edited, the digest left as it was.
    let mut edited = report.clone();
    edited.items[0].approvers = vec!["mallory".into()];
    assert!(
        sign::verify(&edited, &key.public_hex())
            .unwrap_err()
            .contains("changed")
    );
    // Edited, the digest recomputed.
    let recomputed = sign::digest(&edited);
    edited.signature.as_mut().unwrap().digest = recomputed;
    assert!(
        sign::verify(&edited, &key.public_hex())
            .unwrap_err()
            .contains("does not verify")
    );
    // Another key.
    let other = crate::approval::KeyPair::from_seed([8; 32]);
    assert!(sign::verify(&report, &other.public_hex()).is_err());
}

#[test]
fn csv_has_one_row_per_item_with_its_checks() {
    let report = build(&inputs(
        vec![local_run("r1", "d1", false)],
        Some(service_run("r1", "d1", "bob", 1)),
    ));
    let text = csv(&report).unwrap();
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "grant_used_once"));
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][column("request_id")], "r1");
    assert_eq!(&rows[0][column("approvers")], "bob");
    assert!(rows[0][column("digest_matched")].starts_with("pass"));
}

#[test]
fn a_version_1_report_reads_back_as_it_was_signed() {
    let mut service = service_run("r-1", "d1", "bob", 1);
    service.push(record(
        9,
        3,
        "window_opened",
        json!({"window": "r-1", "scope": "exact", "starts_at": at(1), "ends_at": at(9), "opened_by": ["bob"]}),
    ));
    service.push(record(
        10,
        3,
        "config_reloaded",
        json!({"users": ["alice", "bob"], "policy": null}),
    ));
    let report = build(&inputs(vec![local_run("r-1", "d1", false)], Some(service)));
    assert_eq!(report.version, VERSION);
    assert_eq!(report.windows.len(), 1);
    assert_eq!(report.service_events[0].event, "config_reloaded");
    assert!(html::render(&report).contains("Windows opened"));
    // What an earlier version wrote: no windows, no service events, version 1. Its JSON
    // and its page read back unchanged, so its digest (and signature) still hold.
    let mut old = report.clone();
    old.version = 1;
    old.windows.clear();
    old.service_events.clear();
    let json = serde_json::to_value(&old).unwrap();
    assert!(json.get("windows").is_none() && json.get("service_events").is_none());
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(sign::digest(&back), sign::digest(&old));
    let page = html::render(&old);
    assert!(!page.contains("Windows opened") && !page.contains("own events"));
    assert_eq!(html::embedded(&page).unwrap(), old);
}

/// A retention record as the service writes it for records 0 to 9 of chain `c1`, the
/// next record's `prev` being `ab…`, signed by `key`, stamped a year after what it
/// removed.
fn retention(key: &crate::approval::KeyPair) -> Value {
    let message = crate::server::store::audit::retention_message(
        "c1",
        0,
        9,
        &"ab".repeat(32),
        "2025-01-01T00:00:00Z",
        90,
    );
    json!({"seq": 12, "ts": "2026-01-01T00:00:00Z", "event": "retention",
           "removed": [{"first_seq": 0, "last_seq": 9, "last_hash": "ab".repeat(32)}],
           "first_kept_seq": 10, "first_kept_prev": "ab".repeat(32),
           "newest_removed_ts": "2025-01-01T00:00:00Z", "min_days": 90,
           "chain_id": "c1", "signature": key.sign_message(&message)})
}

#[test]
fn a_retention_record_vouches_for_a_trimmed_chain_only_when_every_part_holds() {
    let key = crate::approval::KeyPair::from_seed([7; 32]);
    let first = crate::audit::Link {
        seq: 10,
        prev: "ab".repeat(32),
        event: "note".into(),
        hash: "cd".repeat(32),
    };
    let public = || Ok(key.public_hex());
    let good = retention(&key);
    assert_eq!(
        retention_vouches([&good], &first, "c1", public),
        Ok("2026-01-01T00:00:00Z".to_owned())
    );
    let refused = |edit: &dyn Fn(&mut Value), why: &str| {
        let mut record = good.clone();
        edit(&mut record);
        let said = retention_vouches([&record], &first, "c1", public).unwrap_err();
        assert!(said.contains(why), "{said}");
    };
    refused(
        &|r| r["removed"][0]["last_seq"] = json!(8),
        "does not end just before record 10",
    );
    refused(
        &|r| r["first_kept_prev"] = json!("ee".repeat(32)),
        "does not end just before",
    );
    refused(
        &|r| r["seq"] = json!(10),
        "comes before the records it says it kept",
    );
    refused(&|r| r["chain_id"] = json!("c2"), "it is of another chain");
    refused(
        &|r| r["ts"] = json!("2025-02-01T00:00:00Z"),
        "younger than 90 days",
    );
    refused(&|r| r["min_days"] = json!(400), "younger than 400 days");
    refused(
        &|r| r["newest_removed_ts"] = json!("2024-01-01T00:00:00Z"),
        "did not sign it",
    );
    refused(
        &|r| r["first_kept_seq"] = json!(11),
        "no retention record says",
    );
    // Signed by another key.
    let other = retention(&crate::approval::KeyPair::from_seed([8; 32]));
    let said = retention_vouches([&other], &first, "c1", public).unwrap_err();
    assert!(said.contains("did not sign it"), "{said}");
    // The key could not be read: nothing vouches.
    let said = retention_vouches([&good], &first, "c1", || Err("refused".into())).unwrap_err();
    assert!(
        said.contains("the service's key could not be read: refused"),
        "{said}"
    );
}

#[test]
fn text_that_is_not_ascii_where_a_digest_belongs_is_shortened_by_characters() {
    let mut service = service_run("r-1", "d1", "bob", 1);
    service.push(record(
        9,
        3,
        "config_reloaded",
        json!({"users": ["alice"], "policy": "aééééééééééééééééé"}),
    ));
    let mut local = local_run("r-1", "d1", false);
    local[1]["digest"] = json!("aééééééééééééééééééé");
    let report = build(&inputs(vec![local], Some(service)));
    let detail = &report.service_events[0].detail;
    assert!(
        detail.ends_with(&format!("service policy a{}", "é".repeat(15))),
        "{detail}"
    );
    let check = &report.items[0].checks[3];
    assert_eq!(check.outcome, Outcome::Fail, "{check:?}");
}
