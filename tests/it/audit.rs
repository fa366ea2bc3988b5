//! The audit log: tamper detection, torn writes, concurrency, rotation, reading.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use predicates::prelude::*;
use serde_json::Value;

use crate::common::TestEnv;

/// An environment with `runs` allowed runs already logged (3 records each, after record 0).
fn logged(runs: usize) -> (TestEnv, PathBuf) {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    for i in 0..runs {
        env.gatekeep()
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "sh", "-c", &format!("exit {}", i % 3)])
            .assert()
            .code((i % 3) as i32);
    }
    let log = env.root().join("state/gatekeep/audit.jsonl");
    (env, log)
}

fn verify_json(env: &TestEnv) -> Value {
    let output = env
        .gatekeep()
        .args(["log", "verify", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("json: {}", String::from_utf8_lossy(&output.stdout)))
}

fn lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(log: &Path, lines: &[String]) {
    std::fs::write(
        log,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

#[test]
fn intact_log_verifies() {
    let (env, _) = logged(3);
    let json = verify_json(&env);
    assert_eq!(json["ok"], true);
    assert_eq!(json["records"], 10);
    assert_eq!(json["first_bad_seq"], Value::Null);
    assert_eq!(json["error"], Value::Null);
    env.gatekeep()
        .args(["log", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok: 10 records"));
}

#[test]
fn tampering_is_detected_with_seq_and_kind() {
    type Tamper = fn(&mut Vec<String>);
    let cases: [(&str, Tamper, u64, &str); 4] = [
        (
            "edit a byte",
            |l| l[4] = l[4].replacen("\"decision\":\"allow\"", "\"decision\":\"deny\"", 1),
            4,
            "edited",
        ),
        (
            "delete a line",
            |l| {
                l.remove(5);
            },
            5,
            "deleted",
        ),
        (
            "insert a line",
            |l| {
                let copy = l[3].clone();
                l.insert(4, copy);
            },
            4,
            "inserted",
        ),
        ("swap two lines", |l| l.swap(4, 5), 4, "reordered"),
    ];
    for (name, tamper, seq, kind) in cases {
        let (env, log) = logged(3);
        let mut all = lines(&log);
        tamper(&mut all);
        write_lines(&log, &all);
        let json = verify_json(&env);
        assert_eq!(json["ok"], false, "{name}");
        assert_eq!(json["first_bad_seq"], seq, "{name}: {json}");
        assert_eq!(json["kind"], kind, "{name}: {json}");
        env.gatekeep().args(["log", "verify"]).assert().code(1);
    }
}

#[test]
fn torn_tail_is_reported_then_recovered_without_loss() {
    let (env, log) = logged(2);
    let before = lines(&log);
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"seq\":7,\"ts\":\"2026-");
    std::fs::write(&log, &bytes).unwrap();
    let json = verify_json(&env);
    assert_eq!(json["ok"], false);
    assert_eq!(json["kind"], "torn_tail");
    assert_eq!(json["first_bad_seq"], 7);
    // The next writer terminates the fragment and records it; nothing complete is lost.
    let policy = env.write("p2.yaml", "version: 1\n");
    env.gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "true"])
        .assert()
        .success();
    let after = lines(&log);
    assert_eq!(&after[..before.len()], &before[..]);
    assert!(after[before.len()].starts_with("{\"seq\":7,\"ts\":\"2026-"));
    let recovered: Value = serde_json::from_str(&after[before.len() + 1]).unwrap();
    assert_eq!(recovered["event"], "recovered");
    assert_eq!(recovered["length"], 20);
    let json = verify_json(&env);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["recovered"], 1);
    env.gatekeep()
        .args(["log", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "recovered: a torn write of 20 bytes",
        ));
}

#[test]
fn independent_python_verifier_agrees() {
    let (env, log) = logged(2);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_chain.py");
    let python = |files: &[PathBuf]| {
        std::process::Command::new("python3")
            .arg(&script)
            .args(files)
            .output()
            .unwrap()
    };
    let output = python(std::slice::from_ref(&log));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "ok 7 records"
    );
    env.gatekeep().args(["log", "rotate"]).assert().success();
    let policy = env.write("p2.yaml", "version: 1\n");
    env.gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "true"])
        .assert()
        .success();
    let output = python(&[log.with_file_name("audit.0.jsonl"), log.clone()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut all = lines(&log);
    all[0] = all[0].replace("segment_open", "segment_opeN");
    write_lines(&log, &all);
    assert!(
        !python(&[log.with_file_name("audit.0.jsonl"), log.clone()])
            .status
            .success()
    );
}

#[test]
fn concurrent_writers_keep_one_valid_chain() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    let (processes, runs) = (8, 200);
    let script = format!(
        "i=0; while [ $i -lt {runs} ]; do \"$0\" run --policy \"$1\" -- true || exit 1; i=$((i+1)); done"
    );
    let binary = assert_cmd::cargo::cargo_bin("gatekeep");
    let children: Vec<_> = (0..processes)
        .map(|_| {
            env.std_command("sh")
                .args(["-c", &script])
                .arg(&binary)
                .arg(&policy)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let json = verify_json(&env);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["records"], 1 + processes * runs * 3);
}

#[test]
fn rotation_continues_the_chain_and_missing_segments_are_found() {
    let (env, log) = logged(2);
    env.gatekeep().args(["log", "rotate"]).assert().success();
    let policy = env.write("p2.yaml", "version: 1\n");
    env.gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "true"])
        .assert()
        .success();
    let segment = log.with_file_name("audit.0.jsonl");
    let closed = lines(&segment);
    assert!(
        closed
            .last()
            .unwrap()
            .contains("\"event\":\"segment_close\"")
    );
    assert!(lines(&log)[0].contains("\"previous\":\"audit.0.jsonl\""));
    let json = verify_json(&env);
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["segments"], 2);
    assert_eq!(json["records"], 7 + 1 + 1 + 3);
    std::fs::remove_file(&segment).unwrap();
    let json = verify_json(&env);
    assert_eq!(json["kind"], "missing_segment", "{json}");
}

#[test]
fn size_limit_rotates_automatically() {
    let env = TestEnv::new();
    env.write("config/gatekeep/config.yaml", "log_max_bytes: 2000\n");
    let policy = env.write("p.yaml", "version: 1\n");
    for _ in 0..6 {
        env.gatekeep()
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "true"])
            .assert()
            .success();
    }
    let dir = env.root().join("state/gatekeep");
    let segments = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("audit.")
                && e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".jsonl")
        })
        .count();
    assert!(segments >= 3, "expected rotated segments, found {segments}");
    assert_eq!(verify_json(&env)["ok"], true);
}

#[test]
fn tail_filters_and_show_groups_a_run() {
    let (env, log) = logged(2);
    env.gatekeep()
        .args(["log", "tail", "-n", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("status 1").and(predicate::str::contains(" exec ")));
    let output = env
        .gatekeep()
        .args(["log", "tail", "--json", "--event", "decision"])
        .output()
        .unwrap();
    let records: Vec<Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["event"] == "decision"));
    let run_id = records[0]["run_id"].as_str().unwrap().to_owned();
    env.gatekeep()
        .args(["log", "show", &run_id])
        .assert()
        .success()
        .stdout(predicate::str::contains("#1 decision").and(predicate::str::contains("#3 exit")));
    env.gatekeep()
        .args(["log", "show", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#1 decision"));
    let _ = log;
}

#[test]
fn tail_follows_appends_and_rotations() {
    let (env, _log) = logged(1);
    let policy = env.write("p2.yaml", "version: 1\n");
    env.gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "sh", "-c", "exit 5"])
        .assert()
        .code(5);
    // The last record already there is shown first: once it is, the tail is following,
    // and nothing appended after can slip past it.
    let mut tail = env
        .gatekeep_std()
        .args(["log", "tail", "-f", "-n", "1", "--event", "exit"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().contains("status 5"));
    env.gatekeep().args(["log", "rotate"]).assert().success();
    env.gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "sh", "-c", "exit 6"])
        .assert()
        .code(6);
    assert!(lines.next().unwrap().unwrap().contains("status 6"));
    tail.kill().unwrap();
    tail.wait().unwrap();
}
