//! Retention of the audit log: compressed closed segments, removal of the oldest past the
//! configured age or size but never younger than the minimum, each removal recorded so the
//! chain still verifies (here and by the independent verifier).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::TestEnv;

const NOW: &str = "2026-09-01T00:00:00Z";

/// A log with three closed segments whose newest records are from January, March and
/// mid-June 2026, and a current file from September: (environment, log path, the closed
/// segments in order).
fn aged_log() -> (TestEnv, PathBuf, Vec<PathBuf>) {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    let log = env.root().join("state/gatekeep/audit.jsonl");
    let mut closed = Vec::new();
    for (when, rotate) in [
        ("2026-01-01T00:00:00Z", true),
        ("2026-03-01T00:00:00Z", true),
        ("2026-06-15T00:00:00Z", true),
        (NOW, false),
    ] {
        for _ in 0..3 {
            env.gatekeep()
                .env("GATEKEEP_TEST_NOW", when)
                .args(["run", "--policy"])
                .arg(&policy)
                .args(["--", "true"])
                .assert()
                .success();
        }
        if rotate {
            let output = env
                .gatekeep()
                .env("GATEKEEP_TEST_NOW", when)
                .args(["log", "rotate"])
                .output()
                .unwrap();
            assert!(output.status.success());
            let said = String::from_utf8_lossy(&output.stderr);
            let segment = said.trim().strip_prefix("gatekeep: rotated to ").unwrap();
            closed.push(PathBuf::from(segment));
        }
    }
    (env, log, closed)
}

fn gz(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push(".gz");
    path.with_file_name(name)
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn gzip(path: &Path, bytes: &[u8]) {
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap();
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

fn prune(env: &TestEnv, now: &str) -> Value {
    let output = env
        .gatekeep()
        .env("GATEKEEP_TEST_NOW", now)
        .args(["log", "prune", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The independent verifier over the files of the log, oldest first.
fn python(files: &[PathBuf]) -> std::process::Output {
    std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_chain.py"))
        .args(files)
        .output()
        .unwrap()
}

fn records(path: &Path) -> Vec<Value> {
    String::from_utf8(std::fs::read(path).unwrap())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn retention_compresses_removes_old_segments_records_it_and_still_verifies() {
    let (env, log, closed) = aged_log();
    let before = verify_json(&env);
    assert_eq!(before["ok"], true);
    // By size everything closed would go; the minimum age keeps June's segment.
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_bytes: 1, min_days: 80, compress: true}\n",
    );
    let pruned = prune(&env, NOW);
    let removed: Vec<&str> = pruned["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap())
        .collect();
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_owned();
    // Compressed first, then removed.
    assert_eq!(removed, [name(&gz(&closed[0])), name(&gz(&closed[1]))]);
    assert_eq!(
        pruned["removed"][1]["last_ts"].as_str().unwrap().get(..10),
        Some("2026-03-01")
    );
    assert_eq!(pruned["compressed"].as_array().unwrap().len(), 3);
    assert!(!closed[0].exists() && !gz(&closed[0]).exists());
    assert!(!closed[1].exists() && !gz(&closed[1]).exists());
    assert!(!closed[2].exists() && gz(&closed[2]).exists());

    // The removal is a record of the chain, naming what went and what the first kept
    // record chains to.
    let current = records(&log);
    let retention = current.iter().find(|r| r["event"] == "retention").unwrap();
    assert_eq!(retention["seq"], pruned["record_seq"]);
    assert_eq!(retention["min_days"], 80);
    let kept = String::from_utf8(gunzip(&gz(&closed[2]))).unwrap();
    let first_kept: Value = serde_json::from_str(kept.lines().next().unwrap()).unwrap();
    assert_eq!(retention["first_kept_seq"], first_kept["seq"]);
    assert_eq!(retention["first_kept_prev"], first_kept["prev"]);
    assert_eq!(retention["removed"][1]["last_hash"], first_kept["prev"]);
    assert_eq!(retention["removed"][0]["first_seq"], 0);

    // `log verify` verifies from the first kept record and says what retention removed.
    let after = verify_json(&env);
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(after["retention"]["first_kept_seq"], first_kept["seq"]);
    assert_eq!(after["retention"]["record_seq"], retention["seq"]);
    assert_eq!(
        after["records"].as_u64().unwrap() + first_kept["seq"].as_u64().unwrap(),
        before["records"].as_u64().unwrap() + 1
    );
    env.gatekeep()
        .args(["log", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("removed by retention"));
    let output = python(&[gz(&closed[2]), log.clone()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("removed by retention"));

    // Nothing else is old enough: a second pass changes nothing.
    let again = prune(&env, NOW);
    assert_eq!(again["removed"], serde_json::json!([]));
    assert_eq!(again["record_seq"], Value::Null);

    // Deleting the first kept segment is not retention: no record vouches for that gap.
    std::fs::remove_file(gz(&closed[2])).unwrap();
    let broken = verify_json(&env);
    assert_eq!(broken["ok"], false);
    assert_eq!(broken["kind"], "missing_segment");
    assert!(!python(std::slice::from_ref(&log)).status.success());
}

#[test]
fn nothing_younger_than_the_minimum_age_is_removed() {
    let (env, _log, closed) = aged_log();
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_days: 90, keep_bytes: 1}\n",
    );
    // On April 15th every closed segment but January's is younger than the default 90 days.
    let pruned = prune(&env, "2026-04-15T00:00:00Z");
    assert_eq!(pruned["removed"].as_array().unwrap().len(), 1);
    assert!(!closed[0].exists());
    assert!(closed[1].exists() && closed[2].exists(), "not compressed");
    assert_eq!(verify_json(&env)["ok"], true);
    // A keep below the minimum is refused as a configuration error.
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_days: 30}\n",
    );
    env.gatekeep()
        .args(["log", "prune"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "keep_days 30 is below min_days 90",
        ));
    assert!(closed[1].exists());
}

#[test]
fn a_tampered_compressed_segment_is_detected() {
    let (env, log, closed) = aged_log();
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_days: 3650, compress: true}\n",
    );
    prune(&env, NOW);
    let segment = gz(&closed[1]);
    assert!(segment.exists());
    assert_eq!(verify_json(&env)["ok"], true);
    let files = [gz(&closed[0]), segment.clone(), gz(&closed[2]), log.clone()];
    assert!(python(&files).status.success());
    let original = gunzip(&segment);
    let text = String::from_utf8(original.clone()).unwrap();
    gzip(
        &segment,
        text.replacen("\"true\"", "\"fals\"", 1).as_bytes(),
    );
    let json = verify_json(&env);
    assert_eq!(json["ok"], false);
    assert_eq!(json["kind"], "edited");
    assert!(!python(&files).status.success());
    // Retention removes nothing that does not verify.
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_bytes: 1, min_days: 80}\n",
    );
    env.gatekeep()
        .env("GATEKEEP_TEST_NOW", NOW)
        .args(["log", "prune"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("broken at seq"));
    assert!(gz(&closed[0]).exists() && segment.exists());
    assert!(!records(&log).iter().any(|r| r["event"] == "retention"));
    // A cut-short compressed file cannot be read: not intact either.
    let bytes = std::fs::read(gz(&closed[0])).unwrap();
    gzip(&segment, &original);
    std::fs::write(gz(&closed[0]), &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(verify_json(&env)["ok"], false);
}

#[test]
fn an_interrupted_compression_is_harmless() {
    let (env, log, closed) = aged_log();
    // A crash while writing the compressed copy: half a temporary file.
    let tmp = closed[0].with_file_name(format!(
        "{}.gz.tmp",
        closed[0].file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&tmp, b"\x1f\x8b\x08half").unwrap();
    // A crash after the compressed copy was renamed into place but before the original
    // was removed: both forms.
    gzip(&gz(&closed[1]), &std::fs::read(&closed[1]).unwrap());
    assert_eq!(verify_json(&env)["ok"], true);
    let files = [
        closed[0].clone(),
        closed[1].clone(),
        closed[2].clone(),
        log.clone(),
    ];
    assert!(python(&files).status.success());
    env.write(
        "config/gatekeep/config.yaml",
        "retention: {keep_days: 3650, compress: true}\n",
    );
    let pruned = prune(&env, NOW);
    assert_eq!(pruned["cleaned"].as_array().unwrap().len(), 1);
    assert!(!tmp.exists());
    for segment in &closed {
        assert!(
            !segment.exists() && gz(segment).exists(),
            "{}",
            segment.display()
        );
    }
    assert_eq!(verify_json(&env)["ok"], true);
}

#[test]
fn rotation_applies_the_configured_retention() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", "version: 1\n");
    env.write(
        "config/gatekeep/config.yaml",
        "log_max_bytes: 1500\nretention: {keep_days: 100, compress: true}\n",
    );
    for when in ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", NOW, NOW] {
        env.gatekeep()
            .env("GATEKEEP_TEST_NOW", when)
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "true"])
            .assert()
            .success();
    }
    let dir = env.root().join("state/gatekeep");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".jsonl") || n == "audit.jsonl"),
        "closed segments compressed: {names:?}"
    );
    assert!(
        env.log_records().iter().any(|r| r["event"] == "retention"),
        "January's segments removed on a rotation in September"
    );
    assert_eq!(verify_json(&env)["ok"], true);
}
