//! `policy lint` and `policy test` on fixtures and on the shipped library.

use std::path::Path;

use predicates::prelude::*;

use crate::common::TestEnv;

fn fixtures(kind: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn invalid_fixtures_report_file_line_and_column() {
    let env = TestEnv::new();
    let files = fixtures("invalid");
    assert!(files.len() >= 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .unwrap()
            .strip_prefix("# expect: ")
            .expect("fixture names its expected error");
        let (location, message) = expect.split_once(": ").unwrap();
        let wanted = format!("{}:{location}: {message}", file.display());
        env.gatekeep()
            .args(["policy", "lint"])
            .arg(&file)
            .assert()
            .code(125)
            .stdout(predicate::str::contains(wanted));
    }
}

#[test]
fn valid_fixtures_lint_clean_and_pass_their_tests() {
    let env = TestEnv::new();
    for file in fixtures("valid") {
        env.gatekeep()
            .args(["policy", "lint"])
            .arg(&file)
            .assert()
            .success();
        env.gatekeep()
            .args(["policy", "test"])
            .arg(&file)
            .assert()
            .success();
    }
}

#[test]
fn shipped_policies_lint_clean_and_pass_their_tests() {
    let env = TestEnv::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    env.gatekeep()
        .args(["policy", "lint"])
        .arg(&dir)
        .assert()
        .success();
    env.gatekeep()
        .args(["policy", "test"])
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains(" 0 failed"));
    // The embedded copy is the same library.
    env.gatekeep().args(["policy", "test"]).assert().success();
}

#[test]
fn failing_examples_are_reported_with_rule_and_command() {
    let env = TestEnv::new();
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: wrong\n    decision: deny\n    match: {program: rm}\n    tests:\n      match: [\"ls\"]\n      no_match: [\"sudo rm x\"]\n",
    );
    env.gatekeep()
        .args(["policy", "test"])
        .arg(&policy)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL wrong should match: `ls`"))
        .stdout(predicate::str::contains(
            "FAIL wrong should not match: `sudo rm x`",
        ))
        .stdout(predicate::str::contains("0 passed, 2 failed"));
}

/// A policy's examples and ids are text its author chose: `policy test` shows them with
/// every control character escaped, so a failing example cannot redraw the report.
#[test]
fn failing_examples_cannot_redraw_the_report() {
    let env = TestEnv::new();
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: \"x\\e[2K\"\n    decision: deny\n    match: {program: rm}\n    tests:\n      match: [\"ls \\r\\e[2Kall good\"]\n",
    );
    let output = env
        .gatekeep()
        .args(["policy", "test"])
        .arg(&policy)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains(r"FAIL x\x1b[2K should match: `ls \r\x1b[2Kall good`"),
        "{stdout:?}"
    );
}
