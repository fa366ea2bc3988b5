//! `gatekeep run`: exit codes, signals, stdout, refusals.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use predicates::prelude::*;

use crate::common::TestEnv;

const POLICY: &str = r#"
version: 1
builtin: false
rules:
  - id: rm-root
    description: Recursive delete of the root
    decision: deny
    match: {program: rm, args: ["/"]}
  - id: prod-db-export
    decision: approve
    match: {program: pg_dump, options: {"-h|--host": "prod*"}}
"#;

fn run_env() -> (TestEnv, String) {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    (env, policy)
}

#[test]
fn exit_codes_pass_through() {
    let (env, policy) = run_env();
    for code in [0, 1, 42] {
        env.gatekeep()
            .args([
                "run",
                "--policy",
                &policy,
                "--",
                "sh",
                "-c",
                &format!("exit {code}"),
            ])
            .assert()
            .code(code);
    }
}

#[test]
fn signal_death_is_128_plus_n() {
    let (env, policy) = run_env();
    env.gatekeep()
        .args([
            "run",
            "--policy",
            &policy,
            "--",
            "sh",
            "-c",
            "kill -TERM $$",
        ])
        .assert()
        .code(143);
}

#[test]
fn sigint_sent_to_gatekeep_reaches_the_child() {
    let (env, policy) = run_env();
    let script = "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 0.05; done";
    let mut process = env
        .gatekeep_std()
        .args(["run", "--policy", &policy, "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(process.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-int");
    let status = process.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(7),
        "gatekeep survives SIGINT and reports the child's status"
    );
}

#[test]
fn stdout_is_byte_exact() {
    let (env, policy) = run_env();
    let data: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let file = env.root().join("blob");
    std::fs::write(&file, &data).unwrap();
    let output = env
        .gatekeep()
        .args(["run", "--policy", &policy, "--", "cat"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout, data);
}

#[test]
fn not_found_and_not_executable() {
    let (env, policy) = run_env();
    env.gatekeep()
        .args(["run", "--policy", &policy, "--", "no-such-command-here"])
        .assert()
        .code(127)
        .stderr(predicate::str::contains(
            "gatekeep: error: command not found: no-such-command-here",
        ));
    let script = env.write("plain.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.gatekeep()
        .args(["run", "--policy", &policy, "--"])
        .arg(&script)
        .assert()
        .code(125)
        .stderr(predicate::str::contains("is not executable"));
}

#[test]
fn deny_and_approve_do_not_run() {
    let (env, policy) = run_env();
    let marker = env.root().join("ran");
    env.gatekeep()
        .args(["run", "--policy", &policy, "--", "sh", "-c"])
        .arg(format!("touch {}; rm -rf /", marker.display()))
        .assert()
        .code(126)
        .stderr(predicate::str::contains(
            "denied by rule rm-root: Recursive delete of the root",
        ));
    assert!(!marker.exists());
    env.gatekeep()
        .args([
            "run", "--policy", &policy, "--", "pg_dump", "-h", "prod-db", "app",
        ])
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "approval required (rule prod-db-export) but no approval service is configured",
        ));
}

#[test]
fn unwritable_log_refuses_the_command() {
    let (env, policy) = run_env();
    let not_a_dir = env.write("plainfile", "x");
    let marker = env.root().join("ran");
    env.gatekeep()
        .args(["run", "--policy", &policy, "--log"])
        .arg(not_a_dir.join("audit.jsonl"))
        .args(["--", "touch"])
        .arg(&marker)
        .assert()
        .code(125)
        .stderr(predicate::str::contains("cannot write the audit log"));
    assert!(
        !marker.exists(),
        "the command must not run without its decision record"
    );
}

#[test]
fn secrets_never_reach_the_log() {
    let (env, policy) = run_env();
    let log = env.root().join("state/gatekeep/audit.jsonl");
    env.gatekeep()
        .args([
            "run",
            "--policy",
            &policy,
            "--",
            "env",
            "GITHUB_TOKEN=ghp_SECRET1",
            "sh",
            "-c",
            "true; mysql -pSECRET2 db; curl -H 'Authorization: Bearer SECRET3' x 2>/dev/null; true",
            "sh",
            "postgres://app:SECRET4@db/x",
            "--api-key",
            "SECRET5",
            "--password=SECRET6",
        ])
        .assert()
        .success();
    env.gatekeep()
        .args([
            "run",
            "--policy",
            &policy,
            "--reason",
            "rotating token=SECRET7",
            "--",
            "true",
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&log).unwrap();
    for n in 1..=7 {
        assert!(
            !text.contains(&format!("SECRET{n}")),
            "SECRET{n} leaked into the log:\n{text}"
        );
    }
    assert!(text.contains("***"));
}

/// Ctrl-C typed on a real terminal reaches the child through the foreground process group;
/// gatekeep must see that the signal came from the terminal and not deliver it again.
#[test]
fn terminal_sigint_is_not_delivered_twice() {
    let (env, policy) = run_env();
    // After the interrupt the child waits for a line, so gatekeep is still running it while
    // the test reads gatekeep's verdict on the signal.
    let script =
        "trap 'echo got-int; read line; exit 7' INT; echo ready; while :; do sleep 0.05; done";
    let mut cmd = env.gatekeep_std();
    cmd.env("RUST_LOG", "gatekeep=debug")
        .env("NO_COLOR", "1")
        .args(["run", "--policy", &policy, "--", "sh", "-c", script]);
    let mut terminal = crate::pty::Pty::spawn(cmd);
    terminal.wait_for("ready");
    terminal.send(&[0x03]);
    terminal.wait_for("got-int");
    terminal.wait_for("not forwarding signal=SIGINT from_terminal=true");
    terminal.send(b"done\n");
    assert_eq!(terminal.child.wait().unwrap().code(), Some(7));
    assert!(
        !terminal.seen.contains(" forwarding signal=SIGINT child="),
        "the terminal's SIGINT was forwarded again:\n{}",
        terminal.seen
    );
}

#[test]
fn invalid_configuration_fails_closed_with_location() {
    let (env, policy) = run_env();
    env.write(
        "config/gatekeep/config.yaml",
        "log_max_bytes: 100\nserverr: https://x\n",
    );
    let marker = env.root().join("ran");
    env.gatekeep()
        .args(["run", "--policy", &policy, "--", "touch"])
        .arg(&marker)
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "config.yaml:2:1: unknown field `serverr`",
        ))
        .stderr(predicate::str::contains("hint: see docs/config.md"));
    assert!(!marker.exists());
}

#[test]
fn a_variable_the_caller_sets_twice_reaches_the_command_as_it_was_judged() {
    // The caller's environment names DBHOST twice. gatekeep reads one value (the last);
    // the C library, the other (the first): the command must see the value judged.
    let env = TestEnv::new();
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: prod\n    description: production\n    decision: deny\n    match: {program: printenv, env: {DBHOST: \"prod*\"}}\n",
    );
    let mut vars: Vec<String> = env
        .vars()
        .into_iter()
        .map(|(name, value)| format!("{name}={}", value.to_string_lossy()))
        .collect();
    vars.extend(["DBHOST=prod-db".to_owned(), "DBHOST=dev-db".to_owned()]);
    let listed = env.write("env", &vars.join("\n"));
    let script = r#"import ctypes, sys
libc = ctypes.CDLL(None)
argv = [a.encode() for a in sys.argv[2:]]
envp = open(sys.argv[1], "rb").read().split(b"\n")
libc.execve(argv[0], (ctypes.c_char_p * (len(argv) + 1))(*argv, None),
            (ctypes.c_char_p * (len(envp) + 1))(*envp, None))
"#;
    let output = env
        .std_command("python3")
        .args(["-c", script])
        .arg(&listed)
        .arg(assert_cmd::cargo::cargo_bin("gatekeep"))
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "printenv", "DBHOST"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "dev-db\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
