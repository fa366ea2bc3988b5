//! Audit log throughput: durable appends per second from 1, 4 and 8 concurrent processes
//! on one log, and `verify` speed on a 1,000,000-record log.
//!
//! `cargo bench --bench audit` (prints a table; figures go in docs/performance.md). The
//! writers are this same program started again with `GATEKEEP_BENCH_WRITER` set, so the
//! appends really come from separate processes that take the lock in turn.

use std::path::{Path, PathBuf};
use std::time::Instant;

use gatekeep::audit::{self, AuditLog};
use serde_json::json;

/// Appends per writer process in the concurrency runs.
const PER_WRITER: usize = 400;
/// Records in the verify run.
const VERIFY_RECORDS: usize = 1_000_000;

fn log(path: &Path) -> AuditLog {
    AuditLog::new(path.to_owned(), None, "bench-host".into(), "bench".into())
}

/// A record shaped like a real `decision`.
fn record(i: usize) -> serde_json::Value {
    json!({
        "run_id": format!("01a20fa3-7752-756c-af0a-{i:012}"),
        "argv": ["pg_dump", "-h", "prod-db", "app"],
        "commands": [["pg_dump", "-h", "prod-db", "app"]],
        "cwd": "/srv/app", "user": "alice", "uid": 1000, "host": "ws-alice",
        "pid": 4242, "ppid": 4200, "tty": null, "agent": false,
        "rules": ["prod-db-export"], "opaque": [], "decision": "approve",
        "policy_digest": "6968082344353a167345e7e482ede5fec8a1aba56252d0a4a666a5d7de2bedaf",
        "reason": "nightly export",
    })
}

fn writer(path: &Path, count: usize) {
    let log = log(path);
    for i in 0..count {
        log.append("decision", record(i)).expect("append");
    }
}

fn concurrent(dir: &Path, processes: usize) -> f64 {
    let path = dir.join(format!("concurrent-{processes}.jsonl"));
    let me = std::env::current_exe().unwrap();
    let start = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            std::process::Command::new(&me)
                .env("GATEKEEP_BENCH_WRITER", &path)
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let report = audit::verify(&path).unwrap();
    assert!(report.first_break.is_none());
    assert_eq!(report.records as usize, processes * PER_WRITER + 1);
    (processes * PER_WRITER) as f64 / elapsed
}

fn build_big_log(path: &Path) -> u64 {
    let log = log(path);
    let batch = 10_000;
    for start in (0..VERIFY_RECORDS).step_by(batch) {
        let records: Vec<(&str, serde_json::Value)> = (start..start + batch)
            .map(|i| ("decision", record(i)))
            .collect();
        log.append_all(&records).unwrap();
    }
    std::fs::metadata(path).unwrap().len()
}

fn main() {
    if let Some(path) = std::env::var_os("GATEKEEP_BENCH_WRITER") {
        writer(&PathBuf::from(path), PER_WRITER);
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing to run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir =
        tempfile::tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| ".".into())).unwrap();
    println!("durable appends (fdatasync per record), {PER_WRITER} per process:");
    for processes in [1, 4, 8] {
        let rate = concurrent(dir.path(), processes);
        println!("  {processes} process(es): {rate:8.0} appends/s");
    }
    let big = dir.path().join("big.jsonl");
    let bytes = build_big_log(&big);
    let start = Instant::now();
    let report = audit::verify(&big).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(report.first_break.is_none());
    assert_eq!(report.records as usize, VERIFY_RECORDS + 1);
    println!(
        "verify: {} records, {:.0} MB in {elapsed:.2} s = {:.0} MB/s ({:.0} records/s)",
        report.records,
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / elapsed,
        report.records as f64 / elapsed
    );
}
