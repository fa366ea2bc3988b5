//! What an approval binds: the program that runs is the one hashed (swaps by rename and by
//! in-place write lose the race, every time), the programs and script files inside the
//! command line, and the variables that steer it.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, Service, UserSpec, http, request_id};

const POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"], timeout: 5m}
rules:
  - id: tool-needs-ok
    description: The tool needs a second pair of eyes
    decision: approve
    match: {program: "*/tool"}
  - id: pg-dump
    decision: approve
    match: {program: pg_dump}
"#;

const USERS: &[UserSpec<'static>] = &[("alice", &[], false), ("bob", &["reviewers"], true)];

/// How many times each race is run.
const TRIES: usize = 200;

/// The approved program: prints its first argument, which must be `approved`.
const APPROVED_SCRIPT: &str = "#!/bin/sh\necho \"$1\"\n";

struct Setup {
    env: TestEnv,
    service: Service,
    policy: String,
    /// When set, gatekeep runs as `nobody` with this directory as its home.
    nobody: Option<tempfile::TempDir>,
}

fn setup() -> Setup {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "requests: {grant_lifetime: 5m}");
    Setup {
        env,
        service,
        policy,
        nobody: None,
    }
}

/// A setup whose gatekeep runs as `nobody` (uid 65534), to see what a user who cannot
/// write the program gets; `None` where that cannot be arranged (not root, no setpriv).
fn setup_as_nobody() -> Option<Setup> {
    let home = tempfile::Builder::new()
        .prefix("gk-nobody")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut s = setup();
    let policy = home.path().join("p.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    std::fs::set_permissions(&policy, std::fs::Permissions::from_mode(0o644)).unwrap();
    s.policy = policy.display().to_string();
    s.nobody = Some(home);
    let probe = s.gatekeep(Path::new("/"), &[]).arg("--version").output();
    match probe {
        Ok(output) if output.status.success() => Some(s),
        other => {
            crate::common::cannot_run_here(&format!(
                "gatekeep cannot run as nobody here: {other:?}"
            ));
            None
        }
    }
}

fn executable(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The bytes of a real ELF program that prints its arguments.
fn echo_binary() -> Vec<u8> {
    let path = ["/usr/bin/echo", "/bin/echo"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("an echo binary");
    std::fs::read(path).unwrap()
}

/// What an attacker puts in the program's place: a shell binary, which run as
/// `bin/tool approved` runs the script `approved` in the working directory, which says
/// `evil`.
fn evil_binary(dir: &Path) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("approved"), "echo evil\n").unwrap();
    std::fs::read("/bin/sh").unwrap()
}

impl Setup {
    /// `gatekeep run` as alice in `dir`, with `extra` variables.
    fn gatekeep(&self, dir: &Path, extra: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = match &self.nobody {
            None => self.service.as_user(&self.env, "alice"),
            Some(home) => {
                let home = home.path();
                let mut cmd = std::process::Command::new("setpriv");
                cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                    .arg(assert_cmd::cargo::cargo_bin("gatekeep"))
                    .env_clear()
                    .env("HOME", home)
                    .env("XDG_STATE_HOME", home.join("state"))
                    .env("XDG_CONFIG_HOME", home.join("config"))
                    .env("XDG_DATA_HOME", home.join("data"))
                    .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                    .env("GATEKEEP_TEST_ADMIN_POLICY_DIR", home.join("admin"))
                    .env("GATEKEEP_SERVER", &self.service.url)
                    .env("GATEKEEP_TOKEN", self.service.token("alice"));
                cmd
            }
        };
        cmd.current_dir(dir)
            .arg("run")
            .args(["--policy", &self.policy]);
        for (name, value) in extra {
            cmd.env(name, value);
        }
        cmd
    }

    /// Files `command` without waiting and has bob approve it; returns the request id.
    fn approved(&self, dir: &Path, extra: &[(&str, &str)], command: &[&str]) -> String {
        let filed = self
            .gatekeep(dir, extra)
            .arg("--no-wait")
            .arg("--")
            .args(command)
            .output()
            .unwrap();
        assert_eq!(filed.status.code(), Some(120), "{filed:?}");
        let id = String::from_utf8(filed.stdout).unwrap().trim().to_owned();
        self.approve(&id);
        id
    }

    /// Bob approves request `id`.
    fn approve(&self, id: &str) {
        let reviewed = http()
            .post(format!("{}/v1/requests/{id}/reviews", self.service.url))
            .bearer_auth(self.service.token("bob"))
            .json(&json!({"verdict": "approve"}))
            .send()
            .unwrap();
        assert!(reviewed.status().is_success(), "{reviewed:?}");
    }

    /// `gatekeep run --request ID -- command`, to completion.
    fn under_grant(
        &self,
        dir: &Path,
        extra: &[(&str, &str)],
        id: &str,
        command: &[&str],
    ) -> Output {
        self.gatekeep(dir, extra)
            .args(["--request", id, "--"])
            .args(command)
            .output()
            .unwrap()
    }

    /// Runs `command` under the grant of request `id` (`--request`), or files it and has bob
    /// approve it while it waits (`None`), stopping it between hashing and exec to `attack`.
    fn race(
        &self,
        dir: &Path,
        id: Option<&str>,
        command: &[&str],
        attack: impl FnOnce(),
    ) -> Output {
        let fifo = dir.join(format!("pause-{}", uuid::Uuid::new_v4()));
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        if self.nobody.is_some() {
            std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o666)).unwrap();
        }
        let mut run = self.gatekeep(dir, &[("GATEKEEP_TEST_EXEC_PAUSE", fifo.to_str().unwrap())]);
        if let Some(id) = id {
            run.args(["--request", id]);
        }
        let child = run
            .arg("--")
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let stderr = Lines::collect(child.stderr.take().unwrap());
        if id.is_none() {
            self.approve(&request_id(&stderr));
        }
        paused(&fifo, &mut child);
        attack();
        resume(&fifo, &mut child);
        let mut stdout = Vec::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        let status = child.wait().unwrap();
        std::fs::remove_file(&fifo).unwrap();
        Output {
            status,
            stdout,
            stderr: stderr.complete().into_bytes(),
        }
    }

    fn status(&self, id: &str) -> String {
        self.service.status("alice", id)
    }
}

/// Waits until the run stopped at the pause point and said so.
fn paused(fifo: &Path, child: &mut Child) {
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(fifo)
        .unwrap();
    let mut got = Vec::new();
    while !got.ends_with(b"\n") {
        let mut buffer = [0u8; 64];
        match reader.read(&mut buffer) {
            Ok(n) if n > 0 => got.extend_from_slice(&buffer[..n]),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => panic!("{error}"),
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its pause point");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got, b"pinned\n");
}

/// Lets the paused run go on.
fn resume(fifo: &Path, child: &mut Child) {
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::libc::O_NONBLOCK)
            .open(fifo)
        {
            // Closing the write end is the signal.
            Ok(_) => return,
            Err(error) if error.raw_os_error() == Some(nix::libc::ENXIO) => {}
            Err(error) => panic!("{error}"),
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) while paused");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The approved program of try `n`: an ELF binary on even tries, a `#!` script on odd ones.
fn approved_program(n: usize) -> Vec<u8> {
    if n.is_multiple_of(2) {
        echo_binary()
    } else {
        APPROVED_SCRIPT.as_bytes().to_vec()
    }
}

/// Runs `tries` approvals of `bin/tool approved` in `dir`, each raced by `attack` at the
/// pause point, and returns how many times something else ran.
fn wins(
    s: &Setup,
    dir: &Path,
    tries: usize,
    program: impl Fn(usize) -> Vec<u8>,
    attack: impl Fn(&Path),
) -> usize {
    let tool = dir.join("bin/tool");
    let mut wins = 0;
    for n in 0..tries {
        executable(&tool, &program(n));
        let output = s.race(dir, None, &["bin/tool", "approved"], || attack(&tool));
        let stdout = String::from_utf8_lossy(&output.stdout);
        if stdout.contains("evil") {
            wins += 1;
        } else {
            assert_eq!(stdout, "approved\n", "try {n}: {output:?}");
            assert_eq!(output.status.code(), Some(0), "try {n}: {output:?}");
        }
    }
    wins
}

#[test]
fn renaming_another_file_over_the_program_never_wins() {
    let s = setup();
    let dir = s.env.root().join("work");
    let evil = evil_binary(&dir);
    let wins = wins(&s, &dir, TRIES, approved_program, |tool| {
        rename_over(tool, &evil);
    });
    assert_eq!(wins, 0, "the swapped program ran {wins} times in {TRIES}");
}

fn rename_over(tool: &Path, evil: &[u8]) {
    let swapped = tool.with_file_name("tool.evil");
    executable(&swapped, evil);
    std::fs::rename(&swapped, tool).unwrap();
}

/// For a requester who cannot write the program, nothing is copied: the descriptor the
/// program was hashed from is what runs, and a rename over it changes nothing.
#[test]
fn renaming_over_a_program_the_requester_cannot_write_never_wins() {
    let Some(s) = setup_as_nobody() else { return };
    let dir = s.nobody.as_ref().unwrap().path().to_owned();
    let evil = evil_binary(&dir);
    // bin/ and the program are root's; the working directory is nobody's to use.
    let wins = wins(
        &s,
        &dir,
        TRIES / 4,
        |_| echo_binary(),
        |tool| {
            assert_eq!(std::fs::metadata(tool).unwrap().uid(), 0);
            rename_over(tool, &evil);
        },
    );
    assert_eq!(
        wins,
        0,
        "the swapped program ran {wins} times in {}",
        TRIES / 4
    );
}

#[test]
fn rewriting_the_program_in_place_never_wins() {
    let s = setup();
    let dir = s.env.root().join("work");
    let evil = evil_binary(&dir);
    let wins = wins(&s, &dir, TRIES, approved_program, |tool| {
        // Same inode, new content.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(tool)
            .unwrap();
        file.write_all(&evil).unwrap();
    });
    assert_eq!(wins, 0, "the rewritten program ran {wins} times in {TRIES}");
}

/// The request as the API shows it to its reviewer.
fn view(s: &Setup, id: &str) -> Value {
    http()
        .get(format!("{}/v1/requests/{id}", s.service.url))
        .bearer_auth(s.service.token("bob"))
        .send()
        .unwrap()
        .json()
        .unwrap()
}

/// Asserts that a run was refused as another command (122, nothing run, the reason given
/// and recorded) and that the grant is still unused.
fn assert_refused(s: &Setup, id: &str, output: &Output, reason: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(122), "{output:?}");
    assert!(output.stdout.is_empty(), "{output:?}");
    assert!(
        stderr.contains(&format!("request {id} approved another command: "))
            && stderr.contains(reason),
        "{reason:?} not in {stderr}"
    );
    assert_eq!(s.status(id), "approved", "the grant must stay unused");
    let refused = s
        .env
        .log_records()
        .into_iter()
        .rfind(|r| r["event"] == "approval_refused" && r["request_id"] == id)
        .expect("an approval_refused record");
    assert!(
        refused["error"].as_str().unwrap().contains(reason),
        "{refused}"
    );
}

#[test]
fn programs_inside_a_shell_line_are_bound_by_path_and_content() {
    let s = setup();
    let dir = s.env.root().join("work");
    let tool = dir.join("bin/tool");
    let pg_dump = dir.join("pgbin/pg_dump");
    executable(&tool, b"#!/bin/sh\necho tool ran\n");
    executable(&pg_dump, b"#!/bin/sh\necho dumped\n");
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        pg_dump.parent().unwrap().display()
    );
    let extra = [("PATH", path.as_str())];
    let line = ["bash", "-c", "./bin/tool && pg_dump"];
    let id = s.approved(&dir, &extra, &line);
    // The reviewer sees both, with their hashes.
    let shown = view(&s, &id);
    let hash = |bytes: &[u8]| hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
    assert_eq!(
        shown["programs"][tool.to_str().unwrap()],
        hash(b"#!/bin/sh\necho tool ran\n"),
        "{shown}"
    );
    assert_eq!(
        shown["programs"][pg_dump.to_str().unwrap()],
        hash(b"#!/bin/sh\necho dumped\n")
    );
    // The tool rewritten after approval: refused, the grant kept.
    executable(&tool, b"#!/bin/sh\necho evil\n");
    let output = s.under_grant(&dir, &extra, &id, &line);
    assert_refused(&s, &id, &output, &format!("{} changed", tool.display()));
    executable(&tool, b"#!/bin/sh\necho tool ran\n");
    // pg_dump replaced by another file: refused.
    let swapped = dir.join("pgbin/pg_dump.new");
    executable(&swapped, b"#!/bin/sh\necho evil\n");
    std::fs::rename(&swapped, &pg_dump).unwrap();
    let output = s.under_grant(&dir, &extra, &id, &line);
    assert_refused(&s, &id, &output, &format!("{} changed", pg_dump.display()));
    // Another pg_dump found first on PATH: another program.
    let earlier = dir.join("earlier/pg_dump");
    executable(&earlier, b"#!/bin/sh\necho dumped\n");
    executable(&pg_dump, b"#!/bin/sh\necho dumped\n");
    let shadowed = format!("{}:{path}", earlier.parent().unwrap().display());
    let output = s.under_grant(&dir, &[("PATH", shadowed.as_str())], &id, &line);
    assert_refused(
        &s,
        &id,
        &output,
        &format!(
            "it now runs {}, which was not there when approved",
            earlier.display()
        ),
    );
    // As approved: it runs, once.
    let output = s.under_grant(&dir, &extra, &id, &line);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "tool ran\ndumped\n"
    );
    assert_eq!(s.status(&id), "consumed");
}

#[test]
fn a_script_an_interpreter_reads_is_bound_and_runs_from_a_sealed_copy() {
    let s = setup();
    let dir = s.env.root().join("work");
    let script = dir.join("x.sh");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&script, "echo script ran from \"$0\"\n").unwrap();
    let line = ["bash", "x.sh"];
    let id = s.approved(&dir, &[], &line);
    assert!(
        view(&s, &id)["scripts"][script.to_str().unwrap()].is_string(),
        "{}",
        view(&s, &id)
    );
    // Changed after approval: refused.
    std::fs::write(&script, "echo evil\n").unwrap();
    let output = s.under_grant(&dir, &[], &id, &line);
    assert_refused(&s, &id, &output, &format!("{} changed", script.display()));
    // Changed between the check and the exec: the hashed copy runs (the test user may
    // write the file, so bash reads a sealed copy).
    std::fs::write(&script, "echo script ran from \"$0\"\n").unwrap();
    let output = s.race(&dir, Some(&id), &line, || {
        std::fs::write(&script, "echo evil\n").unwrap();
    });
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("script ran from /dev/fd/"), "{stdout}");
    assert_eq!(s.status(&id), "consumed");
}

#[test]
fn changed_steering_variables_are_refused_and_secret_values_never_leave() {
    let s = setup();
    let dir = s.env.root().join("work");
    let tool = dir.join("bin/tool");
    executable(&tool, APPROVED_SCRIPT.as_bytes());
    // A token by its shape, a password by its name.
    let token = "FwoGZXIvYXdzEJr7b2Xq9LmT4kPz8Qw3Rn6Vh1Yc5Ju0Sd";
    let password = "pg-hunter2-7c1e4b9a";
    let approved_env = [
        ("PGHOST", "db1.internal"),
        ("KUBECONFIG", "/srv/kube/prod.yaml"),
        ("AWS_SESSION_TOKEN", token),
        ("PGPASSWORD", password),
    ];
    let command = ["bin/tool", "approved"];
    let id = s.approved(&dir, &approved_env, &command);
    let shown = view(&s, &id);
    let hashed = |v: &str| {
        format!(
            "sha256:{}",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(v.as_bytes()))
        )
    };
    assert_eq!(shown["env"]["PGHOST"], "db1.internal", "{shown}");
    assert_eq!(shown["env"]["KUBECONFIG"], "/srv/kube/prod.yaml");
    assert_eq!(shown["env"]["PATH"], "/usr/local/bin:/usr/bin:/bin");
    assert_eq!(shown["env"]["AWS_SESSION_TOKEN"], hashed(token));
    assert_eq!(shown["env"]["PGPASSWORD"], hashed(password));
    let with =
        |name: &'static str, value: Option<&'static str>| -> Vec<(&'static str, &'static str)> {
            approved_env
                .iter()
                .filter(|(n, _)| *n != name)
                .copied()
                .chain(value.map(|v| (name, v)))
                .collect()
        };
    let run = |vars: Vec<(&str, &str)>| s.under_grant(&dir, &vars, &id, &command);
    let output = run(with(
        "PATH",
        Some("/tmp/evil-bin:/usr/local/bin:/usr/bin:/bin"),
    ));
    assert_refused(&s, &id, &output, "PATH differs");
    let output = run(with("PGHOST", Some("db2.elsewhere")));
    assert_refused(&s, &id, &output, "PGHOST differs");
    let output = run(with("KUBECONFIG", None));
    assert_refused(
        &s,
        &id,
        &output,
        "KUBECONFIG was set when approved but is not now",
    );
    let output = run(with(
        "AWS_SESSION_TOKEN",
        Some("FwoGZXIvYXdzEJr7b2Xq9LmT4kPz8Qw3Rn6Vh1Yc5Ju0Se"),
    ));
    assert_refused(&s, &id, &output, "AWS_SESSION_TOKEN differs");
    let output = run(with("LD_PRELOAD", Some("/tmp/hook.so")));
    assert_refused(
        &s,
        &id,
        &output,
        "LD_PRELOAD is set but was not when approved",
    );
    // As approved: it runs.
    let output = run(with("", None));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "approved\n");
    // The secret-looking values reached no request, log or database in clear.
    let mut places = files_under(&s.env.root().join("state"));
    places.extend(files_under(&s.service.data));
    places.push(("service output".into(), s.service.log.text().into_bytes()));
    places.push(("the request".into(), shown.to_string().into_bytes()));
    assert!(places.iter().any(|(p, _)| p.ends_with("gatekeep.db")));
    for (place, bytes) in &places {
        for secret in [token, password] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in {}",
                place.display()
            );
        }
    }
}

/// Every file under `dir` and its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                found.push((path, bytes));
            }
        }
    }
    found
}

#[test]
fn a_hook_binds_the_agents_environment_and_its_rewrite_restores_it() {
    let s = setup();
    let dir = s.env.root().join("work");
    executable(
        &dir.join("bin/tool"),
        b"#!/bin/sh\necho \"$1 PGHOST=${PGHOST-unset}\"\n",
    );
    let input = json!({
        "session_id": "sess-1",
        "cwd": dir,
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "./bin/tool approved"},
    });
    // The hook runs in the agent's environment, as the agent saw it then.
    let mut hook = s
        .service
        .as_user(&s.env, "alice")
        .env("PGHOST", "db1.internal")
        .args(["hook", "claude-code", "--policy", &s.policy])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    hook.stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let id = loop {
        let pending: Value = http()
            .get(format!("{}/v1/requests", s.service.url))
            .bearer_auth(s.service.token("bob"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        if let Some(id) = pending["requests"][0]["id"].as_str() {
            break id.to_owned();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(view(&s, &id)["env"]["PGHOST"], "db1.internal");
    http()
        .post(format!("{}/v1/requests/{id}/reviews", s.service.url))
        .bearer_auth(s.service.token("bob"))
        .json(&json!({"verdict": "approve"}))
        .send()
        .unwrap();
    let answer: Value = serde_json::from_slice(&hook.wait_with_output().unwrap().stdout).unwrap();
    let rewritten = answer["hookSpecificOutput"]["updatedInput"]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        rewritten.starts_with("HOME=") && rewritten.contains(" PGHOST=db1.internal "),
        "{rewritten}"
    );
    // The agent's shell differs from the hook's environment.
    let in_agent_shell = |extra: &[(&str, &str)]| {
        let mut shell = s.env.std_command("bash");
        shell
            .args(["-c", &rewritten])
            .current_dir(&dir)
            .env("GATEKEEP_SERVER", &s.service.url)
            .env("GATEKEEP_TOKEN", s.service.token("alice"))
            .env("PATH", "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin");
        for (name, value) in extra {
            shell.env(name, value);
        }
        shell.output().unwrap()
    };
    // A bound variable the hook did not see: refused, named, the grant kept.
    let output = in_agent_shell(&[("KUBECONFIG", "/home/agent/.kube/prod")]);
    assert_refused(
        &s,
        &id,
        &output,
        "KUBECONFIG is set but was not when approved",
    );
    // The rewrite gives the command the approved PATH and PGHOST back.
    let output = in_agent_shell(&[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "approved PGHOST=db1.internal\n"
    );
    assert_eq!(s.status(&id), "consumed");
}

/// Variables that change what a program does, beyond the well-known ones: each set after
/// the approval makes the run another command (122, the grant unused). `TAR_OPTIONS` runs
/// a command from tar, `TF_CLI_ARGS_apply=-destroy` turns an apply into a destroy,
/// `CDPATH` moves a script's `cd`, `SHELL` is what `sudo -s` runs, `RAILS_ENV` picks the
/// production database, and names shaped like options, hosts, editors or credentials steer
/// tools nobody listed.
#[test]
fn every_variable_that_steers_a_program_is_bound() {
    let s = setup();
    let dir = s.env.root().join("work");
    let tool = dir.join("bin/tool");
    executable(&tool, APPROVED_SCRIPT.as_bytes());
    let command = ["bin/tool", "approved"];
    let id = s.approved(&dir, &[], &command);
    for (name, value) in [
        (
            "TAR_OPTIONS",
            "--checkpoint=1 --checkpoint-action=exec=/tmp/x",
        ),
        ("TF_CLI_ARGS_apply", "-destroy -auto-approve"),
        ("TF_WORKSPACE", "prod"),
        ("CDPATH", "/"),
        ("SHELL", "/tmp/evil-shell"),
        ("RSYNC_RSH", "/tmp/evil-rsh"),
        ("MAKEFLAGS", "-e"),
        ("MAKEFILES", "/tmp/evil.mk"),
        ("SUDO_ASKPASS", "/tmp/evil-askpass"),
        ("CLASSPATH", "/tmp/evil.jar"),
        ("PHPRC", "/tmp/evil.ini"),
        ("LUA_INIT", "os.execute('id')"),
        ("DOTNET_STARTUP_HOOKS", "/tmp/evil.dll"),
        ("GH_REPO", "acme/production"),
        ("CONTAINER_HOST", "ssh://prod"),
        ("GNUPGHOME", "/tmp/evil-gnupg"),
        ("RAILS_ENV", "production"),
        ("NODE_ENV", "production"),
        ("ACME_CLI_OPTS", "--force"),
        ("ACME_API_URL", "https://prod.example"),
        ("ACME_EDITOR", "/tmp/evil"),
        ("ACME_DEPLOY_TOKEN", "a-token-value"),
    ] {
        let output = s.under_grant(&dir, &[(name, value)], &id, &command);
        assert_refused(
            &s,
            &id,
            &output,
            &format!("{name} is set but was not when approved"),
        );
    }
    // gatekeep's own variables steer gatekeep, not the command: not bound.
    let output = s.under_grant(&dir, &[("GATEKEEP_REASON", "x")], &id, &command);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "approved\n");
}

#[test]
fn under_supervision_a_program_inside_the_line_is_checked_again_at_its_exec() {
    // The line's programs are hashed just before the grant is used, but the shell starts
    // them later, by path. Supervised, each such exec is compared with what was approved
    // when nothing can change it any more.
    let s = setup();
    s.env
        .write("config/gatekeep/config.yaml", "supervise: always\n");
    let dir = s.env.root().join("nested");
    let tool = dir.join("bin/tool");
    executable(&tool, &echo_binary());
    let evil = evil_binary(&dir);
    let line = ["bash", "-c", "bin/tool approved; echo after=$?"];
    let output = s.race(&dir, None, &line, || executable(&tool, &evil));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stdout.contains("evil"), "{stdout}{stderr}");
    assert_eq!(stdout, "after=137\n", "{stderr}");
    assert!(stderr.contains("changed since it was approved"), "{stderr}");
    assert_eq!(output.status.code(), Some(122), "{stderr}");
}
