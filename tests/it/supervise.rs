//! Supervision while running: command lines that static analysis lets through (the policy
//! says `opaque: allow`) still cannot start a gated program without approval, because
//! every exec of the tree is judged. A TCP listener on 127.0.0.1 stands in for the
//! database: the gated "pg_dump" (a copy of curl) connects to it when it really runs.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, request_id};

const POLICY: &str = r#"
version: 1
builtin: false
opaque: allow
approval: {approvers: ["group:dba"], timeout: 30s}
rules:
  - id: dump
    description: A database dump needs a DBA
    decision: approve
    match: {program: pg_dump}
  - id: no-wipe
    description: never wipe disks
    decision: deny
    match: {program: wipefs}
"#;

const USERS: &[UserSpec<'static>] = &[("alice", &[], false), ("bob", &["dba"], true)];

/// A listener that counts the connections the gated program makes.
struct Database {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Database {
    fn start() -> Database {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buffer = [0u8; 1024];
                let _ = stream.read(&mut buffer);
                let _ = stream.write_all(b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        });
        Database { port, connections }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

struct Setup {
    env: TestEnv,
    service: Service,
    policy: String,
    db: Database,
    path: String,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let bin = env.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/usr/bin/curl", bin.join("pg_dump")).unwrap();
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let service = Service::start(&env, USERS, "");
    Setup {
        env,
        service,
        policy,
        db: Database::start(),
        path,
    }
}

/// How a supervised attempt ended.
struct Attempt {
    code: Option<i32>,
    stderr: String,
}

impl Setup {
    /// Runs `line` through `bash -c` under supervision as alice; a held program is
    /// approved by bob when `approve`, rejected otherwise.
    fn attempt(&self, line: &str, approve: bool) -> Attempt {
        let line = line.replace("URL", &self.db.url());
        let mut command = self.service.as_user(&self.env, "alice");
        command
            .env("PATH", &self.path)
            .args(["run", "--supervise", "--policy", &self.policy, "--"])
            .args(["bash", "-c", &line])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut child = crate::service::KillOnDrop(command.spawn().unwrap());
        let lines = crate::service::Lines::collect(child.0.stderr.take().unwrap());
        let id = request_id(&lines);
        let verdict = if approve { "approve" } else { "reject" };
        let reviewed = self
            .service
            .as_user(&self.env, "bob")
            .args([verdict, &id, "-m", "checked"])
            .output()
            .unwrap();
        assert!(
            reviewed.status.success(),
            "{}",
            String::from_utf8_lossy(&reviewed.stderr)
        );
        let status = child.0.wait().unwrap();
        Attempt {
            code: status.code(),
            stderr: lines.complete(),
        }
    }

    /// Runs `line` through `bash -c` as alice's agent, whose held programs wait one second.
    fn agent_with_short_wait(&self, line: &str) -> std::process::Output {
        self.env
            .write("config/gatekeep/config.yaml", "hook_wait: 1s\n");
        self.service
            .as_user(&self.env, "alice")
            .env("PATH", &self.path)
            .args([
                "run",
                "--agent",
                "--policy",
                &self.policy,
                "--",
                "bash",
                "-c",
            ])
            .arg(line.replace("URL", &self.db.url()))
            .output()
            .unwrap()
    }

    /// Rejected: the program never starts; approved: it starts once.
    fn gated(&self, line: &str) {
        let rejected = self.attempt(line, false);
        assert_eq!(rejected.code, Some(121), "{}", rejected.stderr);
        assert!(
            rejected.stderr.contains("killed"),
            "the held program is killed: {}",
            rejected.stderr
        );
        assert_eq!(
            self.db.connections(),
            0,
            "{line}: the gated program ran without approval"
        );
        let approved = self.attempt(line, true);
        assert_eq!(approved.code, Some(0), "{}", approved.stderr);
        assert_eq!(
            self.db.connections(),
            1,
            "{line}: the approved program ran once"
        );
    }
}

fn gated(line: &str) {
    gated_in(&setup(), line);
}

fn gated_in(setup: &Setup, line: &str) {
    // Static analysis alone lets the line through.
    let check = setup
        .env
        .gatekeep()
        .env("PATH", &setup.path)
        .args([
            "check",
            "--json",
            "--policy",
            &setup.policy,
            "--",
            "bash",
            "-c",
        ])
        .arg(line.replace("URL", &setup.db.url()))
        .output()
        .unwrap();
    let check: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(check["decision"], "allow", "{line}: {check}");
    setup.gated(line);
}

#[test]
fn an_interpreter_calling_the_program() {
    gated(r#"perl -e 'exec "pg_dump", "-s", "-o", "/dev/null", $ARGV[0]' URL"#);
}

#[test]
fn a_script_written_and_run_in_the_same_line() {
    gated(r#"printf '#!/bin/sh\npg_dump -s -o /dev/null URL\n' > s.sh && chmod +x s.sh && ./s.sh"#);
}

#[test]
fn a_copy_of_the_binary_under_another_name() {
    gated(r#"cp "$(command -v pg_dump)" ./backup-tool && ./backup-tool -s -o /dev/null URL"#);
}

#[test]
fn a_git_alias() {
    // An alias given with `-c` is read before anything runs; one from the user's git
    // configuration is only seen when it runs.
    let setup = setup();
    setup.env.write(
        "config/git/config",
        &format!(
            "[alias]\n\tx = !pg_dump -s -o /dev/null {}\n",
            setup.db.url()
        ),
    );
    gated_in(&setup, "git x");
}

#[test]
fn a_make_recipe() {
    gated(r#"printf 'all:\n\tpg_dump -s -o /dev/null URL\n' > M && make -s -f M"#);
}

#[test]
fn a_variable_set_by_read() {
    gated(r#"read p <<< pg_dump; $p -s -o /dev/null URL"#);
}

#[test]
fn a_double_forked_setsid_daemon() {
    gated(
        r#"p=pg_dump; setsid sh -c "(sleep 0.2; exec $p -s -o /dev/null URL) &" </dev/null; sleep 1"#,
    );
}

#[test]
fn a_thread_calling_exec() {
    gated(
        r#"python3 -c 'import os, sys, threading, time
threading.Thread(target=lambda: os.execvp("pg_dump", ["pg_dump", "-s", "-o", "/dev/null", sys.argv[1]])).start()
time.sleep(5)' URL"#,
    );
}

#[test]
fn denied_programs_are_killed_and_the_rest_goes_on() {
    let setup = setup();
    let bin = setup.env.root().join("bin");
    std::fs::copy("/bin/true", bin.join("wipefs")).unwrap();
    let (code, stdout, stderr) = unserviced(&setup, "w=wipefs; $w /dev/null; echo after=$?");
    assert_eq!(code, Some(126));
    assert_eq!(stdout, "after=137\n");
    assert!(
        stderr.contains("killed wipefs") && stderr.contains("denied by rule no-wipe"),
        "{stderr}"
    );
    let records = setup.env.log_records();
    let refused: Vec<_> = records
        .iter()
        .filter(|r| r["event"] == "exec_refused")
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["argv"][0], "wipefs");
    assert!(refused[0]["pid"].as_i64().unwrap() > 0);
    assert!(refused[0]["ppid"].as_i64().unwrap() > 0);
    let summary = records
        .iter()
        .find(|r| r["event"] == "exec_summary")
        .expect("one summary record");
    assert_eq!(summary["allowed"], 0, "bash itself is the approved command");
}

#[test]
fn without_a_service_a_held_program_is_killed() {
    let setup = setup();
    let (code, stdout, stderr) =
        unserviced(&setup, "p=pg_dump; $p -s -o /dev/null URL; echo after=$?");
    assert_eq!(code, Some(125));
    assert_eq!(stdout, "after=137\n");
    assert!(stderr.contains("no approval service"), "{stderr}");
    assert_eq!(setup.db.connections(), 0);
}

/// What the kernel says to two refused system calls, as the escape one-liners print it.
const TWICE_REFUSED: &str = "-1 Operation not permitted\n-1 Operation not permitted\n";

/// A perl one-liner that tries to get out of supervision and prints what the kernel said.
fn escape(code: &str) -> String {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let output = env
        .gatekeep()
        .args([
            "run",
            "--supervise",
            "--policy",
            &policy,
            "--",
            "bash",
            "-c",
        ])
        .arg(format!("perl -e '{code}' $PPID"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn untraced_clones_are_refused() {
    // clone(CLONE_UNTRACED | SIGCHLD): the child would run unseen.
    let out = escape(
        r#"my $r = syscall(56, 0x00800000 | 17, 0, 0, 0, 0); if ($r == 0) { exit 0 } print "$r $!\n""#,
    );
    assert_eq!(out, "-1 Operation not permitted\n");
}

#[test]
fn clone3_falls_back_to_clone() {
    let out = escape(r#"my $r = syscall(435, 0, 0); print "$r $!\n""#);
    assert_eq!(out, "-1 Function not implemented\n");
}

#[test]
fn the_supervisor_cannot_be_traced() {
    // PTRACE_ATTACH to gatekeep.
    let out = escape(r#"my $r = syscall(101, 16, $ARGV[0] + 0, 0, 0); print "$r $!\n""#);
    assert_eq!(out, "-1 Operation not permitted\n");
}

#[test]
fn the_supervisors_memory_cannot_be_written() {
    let out = escape(
        r#"if (open(my $f, "+<", "/proc/$ARGV[0]/mem")) { print "opened\n" } else { print "refused: $!\n" }"#,
    );
    assert!(out.starts_with("refused: "), "{out}");
}

#[test]
fn process_vm_writev_and_pidfd_getfd_are_refused() {
    let out = escape(
        r#"my $a = syscall(311, $ARGV[0] + 0, 0, 0, 0, 0, 0); print "$a $!\n"; my $b = syscall(438, 0, 0, 0); print "$b $!\n""#,
    );
    assert_eq!(out, TWICE_REFUSED);
}

#[test]
fn io_uring_is_not_available_to_the_tree() {
    // Its file operations (IORING_OP_MKDIRAT, _OPENAT, _RENAMEAT…) run in the kernel with
    // no system call the watch could stop at: an agent's settings directory created that
    // way would go unseen.
    let out = escape(r#"my $p = "\0" x 120; my $r = syscall(425, 1, $p); print "$r $!\n""#);
    assert_eq!(out, "-1 Function not implemented\n");
}

#[test]
fn a_file_handle_does_not_open_a_protected_file_for_writing() {
    // open_by_handle_at opens a file by its identity through the mount of the descriptor it
    // is given: `/`, writable, past the read-only mount of the file (a root tree can).
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let env = TestEnv::new();
    let config = env.write("config/gatekeep/config.yaml", "hook_wait: 40s\n");
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let code = r#"use Fcntl;
my $h = pack("LL", 128, 0) . ("\0" x 128); my $m = "\0" x 8;
if (syscall(303, -100, $ARGV[0], $h, $m, 0) < 0) { print "name: $!\n"; exit }
sysopen(my $root, "/", O_RDONLY | O_DIRECTORY) or die;
my $fd = syscall(304, fileno($root), $h, O_WRONLY | O_APPEND);
if ($fd < 0) { print "open: $!\n"; exit }
open(my $f, ">>&=", $fd) or die; print $f "supervise: never\n"; close $f; print "written\n";"#;
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args(["perl", "-e", code])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "hook_wait: 40s\n",
        "{stdout}"
    );
    assert_eq!(stdout, "open: Operation not permitted\n");
}

#[test]
fn descendants_outliving_the_command_are_killed_after_the_grace_period() {
    let env = TestEnv::new();
    env.write("config/gatekeep/config.yaml", "supervise_linger: 1s\n");
    let marker: PathBuf = env.root().join("late");
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--", "bash", "-c"])
        .arg(format!(
            "setsid sh -c 'sleep 30; touch {}' </dev/null >/dev/null 2>&1 &",
            marker.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records = env.log_records();
    let leftovers = records
        .iter()
        .find(|r| r["event"] == "exec_leftovers")
        .expect("the killed descendants are recorded");
    assert!(!leftovers["killed"].as_array().unwrap().is_empty());
    assert!(!marker.exists());
}

#[test]
fn agents_are_supervised_by_default() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    std::fs::copy("/bin/true", env.root().join("wipefs")).unwrap();
    let output = env
        .gatekeep()
        .args(["run", "--agent", "--policy", &policy, "--", "bash", "-c"])
        .arg("w=./wipefs; $w")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(126));
    let human = env
        .gatekeep()
        .args(["run", "--policy", &policy, "--", "bash", "-c"])
        .arg("w=./wipefs; $w")
        .output()
        .unwrap();
    assert_eq!(
        human.status.code(),
        Some(0),
        "people opt in through the configuration"
    );
}

/// Hands the test's directories to `nobody` and returns a gatekeep command running as it.
fn as_nobody(env: &TestEnv) -> assert_cmd::Command {
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(env.root())
        .status()
        .unwrap();
    assert!(chown.success());
    let mut command = env.gatekeep_std();
    std::os::unix::process::CommandExt::uid(&mut command, 65534);
    std::os::unix::process::CommandExt::gid(&mut command, 65534);
    assert_cmd::Command::from_std(command)
}

#[test]
fn a_setuid_program_is_refused_with_a_way_to_run_it() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    // Unsupervised, the set-user-ID program does what it does.
    let plain = as_nobody(&env)
        .args(["run", "--policy", &policy, "--", "bash", "-c"])
        .arg("p=su; $p --version")
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let supervised = as_nobody(&env)
        .args([
            "run",
            "--supervise",
            "--policy",
            &policy,
            "--",
            "bash",
            "-c",
        ])
        .arg("p=su; $p --version; echo after=$?")
        .output()
        .unwrap();
    assert_eq!(supervised.status.code(), Some(126));
    assert_eq!(String::from_utf8_lossy(&supervised.stdout), "after=137\n");
    let stderr = String::from_utf8_lossy(&supervised.stderr);
    assert!(
        stderr.contains("killed su")
            && stderr.contains("set-user-ID")
            && stderr.contains("gatekeep run -- su"),
        "{stderr}"
    );
}

#[test]
fn tracers_inside_the_tree_are_refused() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args(["strace", "-o", "/dev/null", "true"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("Operation not permitted"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn an_already_traced_gatekeep_runs_unsupervised_with_a_warning_or_refuses() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let gatekeep = assert_cmd::cargo::cargo_bin("gatekeep");
    let traced = || {
        let mut command = env.std_command("strace");
        command
            .args(["-f", "-o", "/dev/null"])
            .arg(&gatekeep)
            .args([
                "run",
                "--supervise",
                "--policy",
                &policy,
                "--",
                "echo",
                "ran",
            ]);
        command.output().unwrap()
    };
    let output = traced();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "ran\n");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("running without supervision"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        env.log_records()
            .iter()
            .any(|r| r["event"] == "supervision_unavailable")
    );
    env.write("config/gatekeep/config.yaml", "require_supervision: true\n");
    let output = traced();
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("supervision cannot start"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

const SUPERVISE_OPAQUE: &str = r#"
version: 1
builtin: false
opaque: supervise
approval: {approvers: ["group:dba"], timeout: 30s}
rules:
  - id: no-wipe
    description: never wipe disks
    decision: deny
    match: {program: wipefs}
"#;

#[test]
fn the_supervise_decision_runs_without_a_person_and_judges_every_exec() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", SUPERVISE_OPAQUE).display().to_string();
    std::fs::copy("/bin/true", env.root().join("wipefs")).unwrap();
    let check = env.check_json(&["--policy", &policy, "--", "bash", "-c", "p=./wipefs; $p"]);
    assert_eq!(check["decision"], "supervise");
    assert_eq!(check["supervised"], true);
    // A person's run, no service: what the line starts is judged instead of asking anyone.
    let fine = env
        .gatekeep()
        .args(["run", "--policy", &policy, "--", "bash", "-c", "p=true; $p"])
        .output()
        .unwrap();
    assert_eq!(
        fine.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fine.stderr)
    );
    let wipe = env
        .gatekeep()
        .args([
            "run",
            "--policy",
            &policy,
            "--",
            "bash",
            "-c",
            "p=./wipefs; $p",
        ])
        .output()
        .unwrap();
    assert_eq!(wipe.status.code(), Some(126));
    let records = env.log_records();
    assert!(records.iter().any(|r| r["event"] == "exec_refused"));
    assert!(!records.iter().any(|r| r["event"] == "approval_requested"));
}

#[test]
fn check_says_whether_a_run_would_be_supervised() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let human = env.check_json(&["--policy", &policy, "--", "ls"]);
    assert_eq!(human["supervised"], false);
    let agent = env.check_json(&["--agent", "--policy", &policy, "--", "ls"]);
    assert_eq!(agent["supervised"], true);
    env.write("config/gatekeep/config.yaml", "supervise: always\n");
    let always = env.check_json(&["--policy", &policy, "--", "ls"]);
    assert_eq!(always["supervised"], true);
}

#[test]
fn the_hook_runs_a_supervise_decision_under_supervision_without_a_request() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", SUPERVISE_OPAQUE).display().to_string();
    let input = serde_json::json!({
        "session_id": "sess-1",
        "cwd": env.root(),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "p=true; $p", "description": "check"},
    });
    let output = env
        .gatekeep()
        .args(["hook", "claude-code", "--policy", &policy])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let out = &answer["hookSpecificOutput"];
    assert_eq!(out["permissionDecision"], "allow", "{answer}");
    let rewritten = out["updatedInput"]["command"].as_str().unwrap();
    assert!(rewritten.contains(" --supervise -- "), "{rewritten}");
    assert!(!rewritten.contains("--request"), "{rewritten}");
    // The rewritten command runs, supervised, as the agent would run it.
    let ran = env
        .std_command("bash")
        .args(["-c", rewritten])
        .output()
        .unwrap();
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert!(
        env.log_records()
            .iter()
            .any(|r| r["event"] == "exec" && r["supervised"] == true)
    );
}

#[test]
fn work_handed_outside_the_tree_is_held_by_the_static_rules() {
    let env = TestEnv::new();
    for line in [
        "tmux new-session -d 'pg_dump -h prod-db app'",
        "tmux send-keys -t work 'pg_dump -h prod-db app' Enter",
        "screen -dm pg_dump -h prod-db app",
        "docker exec db pg_dump app",
        "ssh localhost pg_dump app",
        "ssh me@127.0.0.1 'pg_dump app'",
        "systemd-run --user pg_dump -h prod-db app",
        "echo 'pg_dump -h prod-db app' | at now",
        "echo '* * * * * pg_dump' | crontab -",
    ] {
        let judged = env.check_json(&["--agent", "--shell", line]);
        assert_eq!(judged["decision"], "approve", "{line}: {judged}");
        let rules: Vec<&str> = judged["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert!(
            rules.iter().any(|r| r.starts_with("handoff-")),
            "{line}: {rules:?}"
        );
    }
    // People use tmux and docker by hand all day; only agents are held.
    let human = env.check_json(&["--shell", "docker exec db ls"]);
    assert_eq!(human["decision"], "allow");
    // Run by an agent without a service, nothing is handed over.
    let output = env
        .gatekeep()
        .args(["run", "--agent", "--", "systemd-run", "--user", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("handoff-scheduler"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The agent's session, as Claude Code sets it for every command it runs.
const SESSION: (&str, &str) = ("CLAUDE_CODE_SESSION_ID", "sess-prefix");

#[test]
fn the_shell_prefix_judges_and_supervises_what_the_agent_runs() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    std::fs::copy("/bin/true", env.root().join("wipefs")).unwrap();
    let prefix = |args: &[&str]| {
        env.gatekeep()
            .env("GATEKEEP_POLICY", &policy)
            .env(SESSION.0, SESSION.1)
            .arg("shell-prefix")
            .args(args)
            .output()
            .unwrap()
    };
    // A Bash tool call: one shell-quoted string.
    let fine = prefix(&["echo \"hi $((1 + 1))\""]);
    assert_eq!(String::from_utf8_lossy(&fine.stdout), "hi 2\n");
    assert_eq!(fine.status.code(), Some(0));
    let hidden = prefix(&["w=./wipefs; $w; echo after=$?"]);
    assert_eq!(String::from_utf8_lossy(&hidden.stdout), "after=137\n");
    assert_eq!(hidden.status.code(), Some(126));
    // A stdio MCP server launch: a program and its arguments, kept apart.
    let server = prefix(&["printf", "%s|", "a b", "$HOME"]);
    assert_eq!(String::from_utf8_lossy(&server.stdout), "a b|$HOME|");
    let records = env.log_records();
    let decisions: Vec<_> = records
        .iter()
        .filter(|r| r["event"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 3);
    assert!(decisions.iter().all(|r| r["agent"] == true));
    assert!(decisions.iter().all(|r| r["agent_session"] == SESSION.1));
    assert_eq!(
        records
            .iter()
            .filter(|r| r["event"] == "exec" && r["supervised"] == true)
            .count(),
        3
    );
}

#[test]
fn a_command_approved_through_the_hook_and_run_through_the_shell_prefix_is_asked_for_once() {
    let setup = setup();
    let env = &setup.env;
    let marker = env.root().join("made");
    let line = format!("pg_dump -s -o {} {}", marker.display(), setup.db.url());
    let input = serde_json::json!({
        "session_id": SESSION.1,
        "cwd": env.root(),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": line, "description": "dump"},
    });
    let mut hook = setup.service.as_user(env, "alice");
    // Policies come from the environment the agent starts with, as an administrator
    // would set them: the rewritten command then carries no --policy of its own.
    hook.env("PATH", &setup.path)
        .env("GATEKEEP_POLICY", &setup.policy)
        .args(["hook", "claude-code", "--wait", "30s"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = crate::service::KillOnDrop(hook.spawn().unwrap());
    child
        .0
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    // Wait for the request, then approve it.
    let id = loop {
        let listed = setup
            .service
            .as_user(env, "bob")
            .args(["requests", "--json"])
            .output()
            .unwrap();
        let pending: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        if let Some(id) = pending[0]["id"].as_str() {
            break id.to_owned();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let approved = setup
        .service
        .as_user(env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(approved.status.success());
    let mut out = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rewritten = answer["hookSpecificOutput"]["updatedInput"]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    // Claude Code now runs the rewritten command through its shell prefix.
    let ran = setup
        .service
        .as_user(env, "alice")
        .env("PATH", &setup.path)
        .env("GATEKEEP_POLICY", &setup.policy)
        .env(SESSION.0, SESSION.1)
        .args(["shell-prefix", &rewritten])
        .output()
        .unwrap();
    assert_eq!(
        ran.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    assert_eq!(setup.db.connections(), 1);
    let records = env.log_records();
    let count = |event: &str| records.iter().filter(|r| r["event"] == event).count();
    assert_eq!(count("approval_requested"), 1, "one request");
    assert_eq!(count("exec"), 1, "one exec");
    assert_eq!(count("exec_refused"), 0);
}

#[test]
fn the_shell_prefix_passes_through_only_gatekeeps_own_approved_runs() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let marker = env.root().join("ran");
    let gatekeep = assert_cmd::cargo::cargo_bin("gatekeep");
    std::fs::copy("/bin/true", env.root().join("wipefs")).unwrap();
    // A denied program first: nothing may get as far as the marker.
    let touch = format!("sh -c './wipefs && touch {}'", marker.display());
    for line in [
        // An id nobody approved: the inner run refuses it.
        format!(
            "{} run --agent --request 0190a0a0-0000-7000-8000-000000000001 -- {touch}",
            gatekeep.display()
        ),
        // Another policy for the inner run: judged as a command line instead, and its
        // programs by the supervisor's policy, whatever the inner run was told.
        format!(
            "GATEKEEP_POLICY=/dev/null {} run --agent --request 0190a0a0-0000-7000-8000-000000000001 -- {touch}",
            gatekeep.display()
        ),
    ] {
        let output = env
            .gatekeep()
            .env("GATEKEEP_POLICY", &policy)
            .args(["shell-prefix", &line])
            .output()
            .unwrap();
        assert_ne!(output.status.code(), Some(0), "{line}");
        assert!(!marker.exists(), "{line}");
    }
}

/// Tries to change each protected file a different way from inside a supervised tree and
/// prints what happened; returns (stdout, stderr).
fn tamper(env: &TestEnv, nobody: bool) -> (String, String) {
    let home = env.root().join("home");
    let project = env.root().join("project");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::create_dir_all(home.join(".claude")).unwrap();
    std::fs::create_dir_all(home.join(".codex")).unwrap();
    std::fs::write(project.join(".claude/settings.json"), "{}").unwrap();
    std::fs::write(home.join(".claude/settings.json"), "{}").unwrap();
    std::fs::write(home.join(".codex/config.toml"), "").unwrap();
    std::fs::create_dir_all(home.join(".cursor")).unwrap();
    std::fs::write(home.join(".cursor/hooks.json"), "{}").unwrap();
    std::fs::create_dir_all(project.join(".cursor")).unwrap();
    std::fs::write(project.join(".cursor/hooks.json"), "{}").unwrap();
    env.write("config/gatekeep/config.yaml", "hook_wait: 40s\n");
    std::os::unix::fs::symlink(env.root().join("config"), env.root().join("cfg-link")).unwrap();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    // The files are the user's own, so only the guard stands in the way.
    let mut gatekeep = if nobody {
        as_nobody(env)
    } else {
        env.gatekeep()
    };
    let script = r#"
c=$ROOT/config/gatekeep/config.yaml
try() { "$@" 2>/dev/null && echo "$1 WON" || echo "$1 refused"; }
try sh -c "echo x >> $c"
try sh -c "echo x >> $ROOT/cfg-link/gatekeep/config.yaml"
try sh -c "echo x >> $ROOT/config/../config/gatekeep/config.yaml"
try sh -c "echo x >> /proc/self/root$c"
try truncate -s 0 "$c"
try rm -f "$c"
try sh -c "echo new > $ROOT/new && mv -f $ROOT/new $c"
try ln "$c" "$ROOT/hard"
try sh -c "echo x > $ROOT/state/gatekeep/audit.jsonl"
try sh -c "echo '{}' > $HOME/.claude/settings.json"
try sh -c "echo '{}' > $HOME/.claude/settings.local.json"
try sh -c "echo x > $HOME/.codex/config.toml"
try sh -c "echo '{}' > $ROOT/project/.claude/settings.local.json"
try sh -c "echo '{}' > $HOME/.cursor/hooks.json"
try sh -c "echo '{}' > $ROOT/project/.cursor/hooks.json"
try mv "$ROOT/config" "$ROOT/config-old"
try mv "$ROOT/state" "$ROOT/state-old"
try mv "$ROOT/project" "$ROOT/project-old"
try sh -c "echo fine > $ROOT/project/notes.txt"
"#;
    let output = gatekeep
        .current_dir(&project)
        .env("ROOT", env.root())
        .args([
            "run",
            "--supervise",
            "--policy",
            &policy,
            "--",
            "bash",
            "-c",
            script,
        ])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_guarded(env: &TestEnv, out: &str, err: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 19, "{out}\n{err}");
    let (last, guarded) = lines.split_last().unwrap();
    assert_eq!(*last, "sh WON", "other files stay writable: {out}");
    for line in guarded {
        assert!(line.ends_with("refused"), "{out}\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(env.root().join("config/gatekeep/config.yaml")).unwrap(),
        "hook_wait: 40s\n"
    );
    assert!(
        !env.root()
            .join("project/.claude/settings.local.json")
            .exists()
    );
    // The directories above protected files stay where they are: none was moved away to
    // be replaced by one of the tree's.
    for moved in ["config-old", "state-old", "project-old"] {
        assert!(!env.root().join(moved).exists(), "{moved}: {out}");
    }
}

#[test]
fn a_working_directory_inside_a_protected_directory_does_not_reach_around_the_guard() {
    // The run starts in gatekeep's configuration directory (an agent's shell went there):
    // the directory it inherits is the one under the read-only mount.
    let env = TestEnv::new();
    let config = env.write("config/gatekeep/config.yaml", "hook_wait: 40s\n");
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let output = env
        .gatekeep()
        .current_dir(config.parent().unwrap())
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args([
            "bash",
            "-c",
            "echo 'supervise: never' >> config.yaml; echo $?",
        ])
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "hook_wait: 40s\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n");
}

#[test]
fn gatekeeps_own_files_and_agent_settings_are_read_only_for_the_tree() {
    let env = TestEnv::new();
    let (out, err) = tamper(&env, false);
    assert_guarded(&env, &out, &err);
    let exec = env
        .log_records()
        .into_iter()
        .find(|r| r["event"] == "exec")
        .unwrap();
    assert_eq!(exec["guarded"], true);
}

#[test]
fn a_refused_change_to_a_protected_file_is_a_permission_error_and_recorded() {
    let env = TestEnv::new();
    let (_, err) = tamper(&env, false);
    let records = env.log_records();
    let refused: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["event"] == "guard_refused")
        .collect();
    let config = env.root().join("config/gatekeep/config.yaml");
    let config = config.canonicalize().unwrap();
    // Every way of naming the file is recorded as the file itself.
    for call in ["openat", "unlinkat", "renameat", "linkat"] {
        assert!(
            refused
                .iter()
                .any(|r| r["call"].as_str().unwrap().starts_with(call)
                    && r["path"] == config.display().to_string()),
            "{call}: {refused:#?}\n{err}"
        );
    }
    // Moving a directory above a protected file away is refused and recorded too.
    let above = env.root().join("config").canonicalize().unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r["call"].as_str().unwrap().starts_with("rename")
                && r["path"] == above.display().to_string()),
        "{refused:#?}"
    );
    for record in &refused {
        assert!(record["pid"].as_u64().is_some(), "{record}");
    }
    let summary = records
        .iter()
        .find(|r| r["event"] == "exec_summary")
        .unwrap();
    assert_eq!(summary["guard_refused"], refused.len(), "{summary}");
    // What the program sees is a permission error.
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--"])
        .args(["sh", "-c"])
        .arg(format!("echo x >> {}", config.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
}

#[test]
fn a_protected_path_that_does_not_exist_yet_cannot_be_created() {
    let env = TestEnv::new();
    let home = env.root().join("home");
    let gemini = home.join(".gemini");
    let policies = env.root().join("config/gatekeep/policies");
    assert!(!gemini.exists() && !policies.exists());
    for (what, line) in [
        (
            &gemini,
            // awk writes the file itself: what the analysis of the line cannot see.
            format!(
                "mkdir {0} && awk 'BEGIN {{ print \"{{}}\" > \"{0}/settings.json\" }}'; echo after",
                gemini.display()
            ),
        ),
        (
            &policies,
            format!(
                "mkdir -p {0} && awk 'BEGIN {{ print \"version: 1\" > \"{0}/mine.yaml\" }}'; echo after",
                policies.display()
            ),
        ),
    ] {
        let output = env
            .gatekeep()
            .args(["run", "--supervise", "--", "bash", "-c", &line])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(126), "{line}: {stderr}");
        assert!(
            String::from_utf8_lossy(&output.stdout).is_empty(),
            "the tree was stopped"
        );
        assert!(!what.exists(), "{} was removed", what.display());
        assert!(stderr.contains("which gatekeep protects"), "{stderr}");
        let records = env.log_records();
        // The first protected path the line created (the policies' parent directory,
        // which is gatekeep's too, comes first).
        assert!(
            records.iter().any(|r| r["event"] == "guard_refused"
                && r["created"] == true
                && what.starts_with(r["path"].as_str().unwrap())),
            "{records:#?}"
        );
    }
}

#[test]
fn a_settings_directory_that_is_a_link_cannot_be_swapped_for_another() {
    // ~/.claude is a link into a dotfiles repository (as GNU stow makes it): the settings
    // it points to are read-only, the link is an entry of the home directory.
    let env = TestEnv::new();
    let dotfiles = env.root().join("dotfiles/claude");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("settings.json"), "{\"hooks\": {}}").unwrap();
    std::fs::write(dotfiles.join("settings.local.json"), "{}").unwrap();
    let link = env.root().join("home/.claude");
    std::os::unix::fs::symlink(&dotfiles, &link).unwrap();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args(["bash", "-c"])
        .arg(format!(
            "rm {0} && mkdir {0} && echo '{{}}' > {0}/settings.json; echo after",
            link.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(126), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{stderr}");
    assert_eq!(std::fs::read_link(&link).unwrap(), dotfiles, "{stderr}");
    assert_eq!(
        std::fs::read_to_string(link.join("settings.json")).unwrap(),
        "{\"hooks\": {}}"
    );
    assert!(
        env.log_records()
            .iter()
            .any(|r| r["event"] == "guard_refused" && r["unlinked"] == true),
        "{stderr}"
    );
}

#[test]
fn a_socket_bound_at_a_protected_path_is_a_creation_too() {
    // Binding a Unix socket to a path makes a file there without any call that opens,
    // makes a directory or links.
    let env = TestEnv::new();
    let gemini = env.root().join("home/.gemini");
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args([
            "python3",
            "-c",
            "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\nprint('bound')",
        ])
        .arg(&gemini)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(126), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "", "{stderr}");
    assert!(gemini.symlink_metadata().is_err(), "{stderr}");
}

#[test]
fn removing_a_created_protected_path_follows_no_link_the_tree_made() {
    // `~/.deploy/gatekeep` is protected and does not exist, nor does `~/.deploy`. The tree
    // makes `~/.deploy` a link to the state directory: the protected path now exists, and
    // is gatekeep's audit log directory. What goes is the link, not the log.
    let env = TestEnv::new();
    let policy = env
        .write(
            "p.yaml",
            &format!("{POLICY}protect: [\"~/.deploy/gatekeep\"]\n"),
        )
        .display()
        .to_string();
    let kept = env.write("state/gatekeep/kept", "");
    let link = env.root().join("home/.deploy");
    let output = env
        .gatekeep()
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args(["ln", "-s"])
        .arg(env.root().join("state"))
        .arg(&link)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(126), "{stderr}");
    assert!(
        kept.exists(),
        "gatekeep removed its own directory: {stderr}"
    );
    assert!(link.symlink_metadata().is_err(), "the link stays: {stderr}");
    assert!(
        env.log_records()
            .iter()
            .any(|r| r["event"] == "guard_refused" && r["created"] == true),
        "{stderr}"
    );
}

#[test]
fn the_guard_holds_for_an_unprivileged_user() {
    let env = TestEnv::new();
    let (out, err) = tamper(&env, true);
    assert_guarded(&env, &out, &err);
}

/// Runs `line` through `bash -c` under supervision with no approval service; returns the
/// exit code, stdout and stderr.
fn unserviced(setup: &Setup, line: &str) -> (Option<i32>, String, String) {
    let output = setup
        .env
        .gatekeep()
        .env("PATH", &setup.path)
        .args(["run", "--supervise", "--policy", &setup.policy, "--"])
        .args(["bash", "-c"])
        .arg(line.replace("URL", &setup.db.url()))
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The dynamic loader, as a shell word that finds it on this host.
const LOADER: &str =
    "$(ls /lib64/ld-linux-*.so.* /lib/ld-linux*.so.* /lib/ld-musl-*.so.* 2>/dev/null | head -n 1)";

#[test]
fn a_variable_set_twice_with_different_values_is_refused() {
    // A fetch from production needs approval. The environment names DBHOST twice: the C
    // library reads the first value, a map of the environment keeps the last.
    let setup = setup();
    let policy = setup
        .env
        .write(
            "prod.yaml",
            &format!(
                "{POLICY}  - id: prod-fetch\n    description: production\n    decision: approve\n    match: {{program: fetch, env: {{DBHOST: \"prod*\"}}}}\n"
            ),
        )
        .display()
        .to_string();
    let bin = setup.env.root().join("bin");
    // curl with one byte more: not the gated copy named pg_dump.
    let mut fetch = std::fs::read("/usr/bin/curl").unwrap();
    fetch.push(0);
    std::fs::write(bin.join("fetch"), fetch).unwrap();
    std::fs::set_permissions(
        bin.join("fetch"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let script = r#"import ctypes, sys
libc = ctypes.CDLL(None)
argv = [sys.argv[1].encode(), b"-s", b"-o", b"/dev/null", sys.argv[2].encode()]
env = [b"DBHOST=prod-db", b"DBHOST=dev-db"]
libc.execve(argv[0], (ctypes.c_char_p * 6)(*argv, None), (ctypes.c_char_p * 3)(*env, None))
"#;
    let output = setup
        .env
        .gatekeep()
        .env("PATH", &setup.path)
        .args(["run", "--supervise", "--policy", &policy, "--"])
        .args(["python3", "-c", script])
        .arg(bin.join("fetch"))
        .arg(setup.db.url())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(setup.db.connections(), 0, "{stderr}");
    assert_eq!(output.status.code(), Some(126), "{stderr}");
    assert!(stderr.contains("DBHOST more than once"), "{stderr}");
}

#[test]
fn the_dynamic_loader_running_the_program_is_refused() {
    // `ld.so PROGRAM` maps and runs the program itself: the only exec is the loader's.
    let setup = setup();
    for line in [
        format!(r#"l={LOADER}; $l "$(command -v pg_dump)" -s -o /dev/null URL; echo after=$?"#),
        // A copy of the loader under another name is still the loader.
        format!(
            r#"cp {LOADER} ./runner && ./runner --argv0 x "$(command -v pg_dump)" -s -o /dev/null URL; echo after=$?"#
        ),
    ] {
        let (code, stdout, stderr) = unserviced(&setup, &line);
        assert_eq!(
            setup.db.connections(),
            0,
            "{line}: the gated program ran: {stderr}"
        );
        assert_eq!(code, Some(126), "{stderr}");
        assert_eq!(stdout, "after=137\n", "{stderr}");
        assert!(stderr.contains("dynamic loader"), "{stderr}");
    }
    // Listing a program's libraries (ldd) runs none of its code and still works.
    let (code, stdout, stderr) = unserviced(
        &setup,
        r#"ldd "$(command -v pg_dump)" >/dev/null; echo after=$?"#,
    );
    assert_eq!((code, stdout.as_str()), (Some(0), "after=0\n"), "{stderr}");
}

#[test]
fn a_held_programs_arguments_cannot_be_rewritten_while_it_waits() {
    // The parent writes the held child's memory through /proc while the reviewer reads the
    // request: the reviewer approves a dump of 127.0.0.9, the program would dump 127.0.0.1.
    let setup = setup();
    let marker = setup.env.root().join("rewritten");
    let real = setup.db.url();
    let shown = real.replace("127.0.0.1", "127.0.0.9");
    let script = r#"import os, sys, time
shown, real, marker = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
pid = os.fork()
if pid == 0:
    os.execvp("pg_dump", ["pg_dump", "-s", "-o", "/dev/null", shown])
while "pg_dump" not in os.readlink("/proc/%d/exe" % pid):
    time.sleep(0.01)
start = int(open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[45])
args = open("/proc/%d/cmdline" % pid, "rb").read()
try:
    with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
        mem.seek(start + args.index(shown))
        mem.write(real)
    open(marker, "w").write("written")
except OSError as e:
    open(marker, "w").write("refused: %s" % e)
os.waitpid(pid, 0)
"#;
    let mut command = setup.service.as_user(&setup.env, "alice");
    command
        .env("PATH", &setup.path)
        .args(["run", "--supervise", "--policy", &setup.policy, "--"])
        .args(["python3", "-c", script, &shown, &real])
        .arg(&marker)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = crate::service::KillOnDrop(command.spawn().unwrap());
    let lines = crate::service::Lines::collect(child.0.stderr.take().unwrap());
    let id = request_id(&lines);
    // The bound only guards against a hang.
    for _ in 0..600 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let shown_to_reviewer = setup
        .service
        .as_user(&setup.env, "bob")
        .args(["requests"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown_to_reviewer.stdout).contains("127.0.0.9"),
        "{}",
        String::from_utf8_lossy(&shown_to_reviewer.stdout)
    );
    let reviewed = setup
        .service
        .as_user(&setup.env, "bob")
        .args(["approve", &id, "-m", "dump of .9 is fine"])
        .output()
        .unwrap();
    assert!(reviewed.status.success());
    child.0.wait().unwrap();
    let stderr = lines.complete();
    let written = std::fs::read_to_string(&marker).unwrap_or_default();
    assert_eq!(
        setup.db.connections(),
        0,
        "the approved program ran with arguments the reviewer never saw ({written}): {stderr}"
    );
    assert!(written.starts_with("refused: "), "{written}");
}

#[test]
fn the_rest_of_the_tree_goes_on_while_a_program_is_held() {
    let setup = setup();
    let marker = setup.env.root().join("marker");
    // While the dump waits for its reviewer, the loop starts programs and writes files.
    // (The variable hides the dump from the analysis of the line: the exec is what is held.)
    let line = format!(
        "p=pg_dump; ($p -s -o /dev/null {url}; echo dumped=$? >> {m}.log) & \
         for i in 1 2 3; do /bin/true; echo tick >> {m}.log; done; echo ready > {m}; wait",
        url = setup.db.url(),
        m = marker.display()
    );
    let mut command = setup.service.as_user(&setup.env, "alice");
    command
        .env("PATH", &setup.path)
        .args(["run", "--supervise", "--policy", &setup.policy, "--"])
        .args(["bash", "-c", &line])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = crate::service::KillOnDrop(command.spawn().unwrap());
    let lines = crate::service::Lines::collect(child.0.stderr.take().unwrap());
    let id = request_id(&lines);
    // The bound only guards against a hang.
    for _ in 0..600 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        marker.exists(),
        "the tree stood still: {}",
        lines.complete()
    );
    assert_eq!(setup.service.status("bob", &id), "pending");
    assert_eq!(setup.db.connections(), 0);
    let reviewed = setup
        .service
        .as_user(&setup.env, "bob")
        .args(["approve", &id, "-m", "fine"])
        .output()
        .unwrap();
    assert!(reviewed.status.success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", lines.complete());
    let log = std::fs::read_to_string(marker.with_extension("log")).unwrap();
    assert_eq!(log, "tick\ntick\ntick\ndumped=0\n");
    assert_eq!(setup.db.connections(), 1);
}

#[test]
fn an_approval_resumes_no_process_that_took_the_number_of_a_held_one() {
    // The reviewer reads a dump of 127.0.0.9. The tree kills that held program and forks
    // until a new process gets its number, which execs a dump of the real database and is
    // held in turn. The approval of the first request is for a process that is gone.
    // Numbers come round quickly in a PID namespace of 400 (pid_max per namespace).
    let setup = setup();
    let real = setup.db.url();
    let shown = real.replace("127.0.0.1", "127.0.0.9");
    let marker = setup.env.root().join("reused");
    let script = format!(
        r#"p=pg_dump
until (exit) & c=$!; wait $c; [ $c -ge 310 ]; do :; done
$p -s -o /dev/null {shown} & a=$!
sleep 0.5; kill -9 $a; wait $a
while :; do
  until (exit) & c=$!; wait $c; [ $c -eq $((a - 1)) ]; do :; done
  $p -s -o /dev/null {real} & b=$!
  [ $b -eq $a ] && break
  kill -9 $b; wait $b
done
echo $a > {marker}
wait $b"#,
        marker = marker.display()
    );
    let run = setup.service.as_user(&setup.env, "alice");
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .args([
            "sh",
            "-c",
            "echo 400 > /proc/sys/kernel/pid_max || exit 99; exec \"$@\"",
        ])
        .arg("sh")
        .arg(run.get_program())
        .args(["run", "--supervise", "--policy", &setup.policy, "--"])
        .args(["bash", "-c", &script])
        .env_clear()
        .current_dir(setup.env.root())
        .envs(run.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("PATH", &setup.path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = crate::service::KillOnDrop(command.spawn().unwrap());
    let lines = crate::service::Lines::collect(child.0.stderr.take().unwrap());
    // The bound only guards against a hang.
    for _ in 0..1200 {
        if marker.exists() || child.0.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if !marker.exists() {
        let status = child.0.wait().unwrap();
        if status.code() == Some(99) {
            return crate::common::cannot_run_here("the kernel has no pid_max per namespace");
        }
        panic!("no number came round: {status:?} {}", lines.complete());
    }
    let first = request_id(&lines);
    let bob = |args: &[&str]| {
        let output = setup
            .service
            .as_user(&setup.env, "bob")
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        output.stdout
    };
    bob(&["approve", &first, "-m", "a dump of .9 is fine"]);
    // The program that took the number asked for itself: the reviewer refuses that.
    let pending: serde_json::Value = serde_json::from_slice(&bob(&["requests", "--json"])).unwrap();
    for request in pending.as_array().unwrap() {
        let id = request["id"].as_str().unwrap();
        if id != first {
            // Its requester may have given up on it meanwhile, which ends it as well.
            let output = setup
                .service
                .as_user(&setup.env, "bob")
                .args(["reject", id, "-m", "no"])
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&output.stderr);
            assert!(
                output.status.success()
                    || (output.status.code() == Some(1)
                        && said.contains("was cancelled by its requester")),
                "{output:?}"
            );
        }
    }
    child.0.wait().unwrap();
    assert_eq!(
        setup.db.connections(),
        0,
        "the approval resumed another program: {}",
        lines.complete()
    );
}

#[test]
fn the_same_command_held_twice_at_once_shares_one_request() {
    let setup = setup();
    let output = setup.agent_with_short_wait(
        "p=pg_dump; $p -s -o /dev/null URL & $p -s -o /dev/null URL & wait; echo done",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "done\n",
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(120), "{stderr}");
    let records = setup.env.log_records();
    let count = |event: &str| records.iter().filter(|r| r["event"] == event).count();
    assert_eq!(count("approval_requested"), 1, "{stderr}");
    assert_eq!(count("exec_refused"), 2, "{stderr}");
    assert_eq!(setup.db.connections(), 0);
}

#[test]
fn x32_system_calls_are_refused() {
    // On x86_64 the same numbers with bit 30 set are the x32 ABI's, which a filter of the
    // 64-bit numbers does not see (x32 clone with CLONE_UNTRACED, x32 ptrace).
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let out = escape(
        r#"my $a = syscall(0x40000000 | 56, 0x00800000 | 17, 0, 0, 0, 0); if ($a == 0) { exit 0 } print "$a $!\n"; my $b = syscall(0x40000000 | 521, 16, $ARGV[0] + 0, 0, 0); print "$b $!\n""#,
    );
    assert_eq!(out, TWICE_REFUSED);
}

#[test]
fn a_gated_program_as_another_programs_elf_interpreter_is_judged() {
    // An ELF file names its interpreter (PT_INTERP); the kernel loads and starts that
    // program, not a dynamic loader, and /proc/PID/exe names only the carrier. (A statically
    // linked gated program runs this way; the copy of curl here is dynamic and would crash,
    // so the proof is that it is held, not a connection.)
    held_as_interpreter("pg_dump", "");
}

#[test]
fn a_gated_program_named_like_a_dynamic_loader_is_still_judged_as_an_interpreter() {
    // A loader's name is not a pass: the interpreter is identified by its content.
    held_as_interpreter("ld-linux-x.so", "cp pg_dump ld-linux-x.so && ");
}

/// Runs a copy of /bin/true whose ELF interpreter is `./NAME` (made by `prepare`, run in
/// the test's bin directory) and checks the gated program it is was held.
fn held_as_interpreter(name: &str, prepare: &str) {
    let setup = setup();
    let mut carrier = std::fs::read("/bin/true").unwrap();
    let loader = carrier
        .windows(4)
        .position(|w| w == b"/lib")
        .expect("a dynamically linked /bin/true");
    let end = loader + carrier[loader..].iter().position(|b| *b == 0).unwrap();
    let name = format!("./{name}");
    assert!(end - loader >= name.len());
    carrier[loader..end].fill(0);
    carrier[loader..loader + name.len()].copy_from_slice(name.as_bytes());
    let bin = setup.env.root().join("bin");
    std::fs::write(bin.join("carrier"), carrier).unwrap();
    let line = format!(
        "chmod +x {0}/carrier && cd {0} && {prepare}./carrier -s -o /dev/null URL; echo after=$?",
        bin.display()
    );
    let (code, stdout, stderr) = unserviced(&setup, &line);
    assert_eq!(setup.db.connections(), 0);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(125), "after=137\n"),
        "{stderr}"
    );
    assert!(stderr.contains("no approval service"), "{stderr}");
}

#[test]
fn a_gatekeep_run_inside_a_supervised_tree_asks_once() {
    let setup = setup();
    let gatekeep = assert_cmd::cargo::cargo_bin("gatekeep");
    // Static analysis of the outer line sees `gatekeep run -- CMD` as CMD; hide it so the
    // nesting itself is what is tested.
    let line = format!(
        "g={}; $g run -- pg_dump -s -o /dev/null URL",
        gatekeep.display()
    );
    setup.gated(&line);
    let records = setup.env.log_records();
    let count = |event: &str| records.iter().filter(|r| r["event"] == event).count();
    // Two attempts (rejected, then approved): one request each, no second one from inside.
    assert_eq!(count("approval_requested"), 2);
    assert_eq!(count("exec"), 2, "the outer runs only");
}

#[test]
fn an_agents_held_program_waits_no_longer_than_the_hook_wait_and_names_its_request() {
    let setup = setup();
    let output = setup.agent_with_short_wait("p=pg_dump; $p -s -o /dev/null URL");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(120), "{stderr}");
    let id = crate::service::request_id(&crate::service::Lines::collect(std::io::Cursor::new(
        output.stderr.clone(),
    )));
    assert!(
        stderr.contains(&format!("request {id} is still waiting for a reviewer")),
        "{stderr}"
    );
    assert_eq!(
        setup.service.status("bob", &id),
        "pending",
        "left for a retry"
    );
    assert_eq!(setup.db.connections(), 0);
}

#[test]
fn policies_add_protected_paths_and_can_require_supervision() {
    let env = TestEnv::new();
    let deploy = env.write("home/.deploy/keys.conf", "original\n");
    let policy = env
        .write(
            "p.yaml",
            &format!("{POLICY}protect: [\"~/.deploy\"]\nrequire_supervision: true\n"),
        )
        .display()
        .to_string();
    let output = env
        .gatekeep()
        .args([
            "run",
            "--supervise",
            "--policy",
            &policy,
            "--",
            "bash",
            "-c",
        ])
        .arg(format!("echo changed > {}; echo $?", deploy.display()))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n");
    assert_eq!(std::fs::read_to_string(&deploy).unwrap(), "original\n");
    // Where supervision cannot start, the policy's requirement refuses the command.
    let traced = env
        .std_command("strace")
        .args(["-f", "-o", "/dev/null"])
        .arg(assert_cmd::cargo::cargo_bin("gatekeep"))
        .args([
            "run",
            "--supervise",
            "--policy",
            &policy,
            "--",
            "echo",
            "ran",
        ])
        .output()
        .unwrap();
    assert_eq!(traced.status.code(), Some(125));
    assert_eq!(String::from_utf8_lossy(&traced.stdout), "");
}

#[test]
fn the_tree_cannot_signal_its_supervisor() {
    // SIGSTOP would freeze the run with the tree held; SIGKILL would end it without its
    // records.
    let out = escape(
        r#"for my $s ("STOP", "KILL") { if (kill($s, $ARGV[0] + 0)) { print "$s sent\n" } else { print "$s refused: $!\n" } }"#,
    );
    assert_eq!(
        out,
        "STOP refused: Operation not permitted\nKILL refused: Operation not permitted\n"
    );
}

#[test]
fn the_same_held_command_twice_in_a_run_files_one_request() {
    let setup = setup();
    let output =
        setup.agent_with_short_wait("p=pg_dump; for i in 1 2 3; do $p -s -o /dev/null URL; done");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(120), "{stderr}");
    let records = setup.env.log_records();
    let requested: Vec<_> = records
        .iter()
        .filter(|r| r["event"] == "approval_requested")
        .collect();
    assert_eq!(requested.len(), 1, "{stderr}");
    let id = requested[0]["request_id"].as_str().unwrap();
    let refused: Vec<_> = records
        .iter()
        .filter(|r| r["event"] == "exec_refused")
        .collect();
    assert_eq!(refused.len(), 3);
    for record in refused {
        assert!(record["reason"].as_str().unwrap().contains(id), "{record}");
    }
    assert_eq!(setup.db.connections(), 0);
}

/// A stricter `approve` from one rule does not take away what another said by
/// `supervise`: once approved, the run is watched, and a denied program it starts is
/// killed.
#[test]
fn an_approved_run_is_still_supervised_when_a_rule_said_supervise() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    env.write(
        "admin-policies/base.yaml",
        "version: 1\napproval: {approvers: [\"group:dba\"]}\nrules:\n  - {id: watch-bash, decision: supervise, match: {program: bash}}\n  - {id: no-wipe, decision: deny, match: {program: wipefs}}\n",
    );
    let policy = env
        .write(
            "p.yaml",
            "version: 1\nbuiltin: false\napproval: {approvers: [\"group:dba\"]}\nrules:\n  - {id: bash-needs-review, decision: approve, match: {program: bash}}\n",
        )
        .display()
        .to_string();
    std::fs::copy("/bin/true", env.root().join("wipefs")).unwrap();
    let script = env.write("run.sh", "./wipefs\necho after\n");
    let script = script.to_str().unwrap();
    let check = env.check_json(&["--policy", &policy, "--", "bash", script]);
    assert_eq!(check["decision"], "approve", "{check}");
    assert_eq!(check["supervised"], true, "{check}");
    let mut command = service.as_user(&env, "alice");
    command
        .current_dir(env.root())
        .args(["run", "--policy", &policy, "--", "bash", script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = crate::service::KillOnDrop(command.spawn().unwrap());
    let lines = crate::service::Lines::collect(child.0.stderr.take().unwrap());
    let id = request_id(&lines);
    let approved = service
        .as_user(&env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(approved.status.success());
    child.0.wait().unwrap();
    let said = lines.complete();
    assert!(said.contains("denied by rule no-wipe"), "{said}");
    let records = env.log_records();
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "exec_refused" && r.to_string().contains("wipefs")),
        "{records:?}"
    );
}
