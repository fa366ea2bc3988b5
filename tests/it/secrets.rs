//! Credential gating: secrets reach the command's environment only once it may run, and
//! nowhere else.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http};

/// The value the service holds; it must show up only in the command's output.
const DB_PASSWORD: &str = "db-Pa55-7f3e9c1d-server-held";
/// The value this host's secret store holds.
const AWS_KEY: &str = "aws-6b1f0e2a-local-held";

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["engineers"], true),
    ("bob", &["reviewers"], true),
    ("carol", &["reviewers", "dba"], true),
    ("dave", &[], true),
];

struct Setup {
    env: TestEnv,
    service: Service,
    policy: String,
    script: PathBuf,
}

fn setup() -> Setup {
    setup_listening("127.0.0.1:0")
}

fn setup_listening(listen: &str) -> Setup {
    let env = TestEnv::new();
    // The command prints what it received; the caller's own values must not get through.
    let script = env.write(
        "bin/show-secrets",
        "#!/bin/sh\necho \"PG=${PGPASSWORD-unset} AWS=${AWS_SECRET_ACCESS_KEY-unset} LDLP=${LD_LIBRARY_PATH-unset} BASHENV=${BASH_ENV-unset} PGHOSTADDR=${PGHOSTADDR-unset}\"\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = env
        .write(
            "p.yaml",
            r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 5m}
rules:
  - id: prod-db-export
    description: Export from the production database
    decision: approve
    match: {program: "*/show-secrets", args: [export]}
    secrets:
      PGPASSWORD: {from: server, name: prod-db-readonly}
  - id: prod-db-short
    decision: approve
    match: {program: "*/show-secrets", args: [hurry]}
    approval: {timeout: 1s}
    secrets:
      PGPASSWORD: {from: server, name: prod-db-readonly}
  - id: aws-tools
    decision: allow
    match: {program: "*/show-secrets", args: [aws]}
    secrets:
      AWS_SECRET_ACCESS_KEY: {from: keyring, name: prod-aws}
"#,
        )
        .display()
        .to_string();
    let secret_file = env.write("service/db-password", &format!("{DB_PASSWORD}\n"));
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let service = Service::start_on(
        &env,
        listen,
        USERS,
        &format!(
            "secrets:\n  prod-db-readonly: {{file: {}, approvers: [\"group:dba\"], quorum: 1, requesters: [\"user:alice\", \"user:bob\"]}}",
            secret_file.display()
        ),
    );
    Setup {
        env,
        service,
        policy,
        script,
    }
}

impl Setup {
    /// `gatekeep run --json` of the script as `user`, in the background, with the caller's
    /// own (hostile) values of the variables involved.
    fn run(
        &self,
        user: &str,
        arg: &str,
    ) -> (
        crate::service::KillOnDrop,
        crate::service::Lines,
        crate::service::Lines,
    ) {
        let mut child = self
            .service
            .as_user(&self.env, user)
            .env("PGPASSWORD", "caller-value")
            .env("LD_LIBRARY_PATH", "/tmp/hijack")
            .env("BASH_ENV", "/tmp/hijack.sh")
            .env("PGHOSTADDR", "10.9.8.7")
            .args(["run", "--json", "--policy", &self.policy, "--"])
            .arg(&self.script)
            .arg(arg)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = crate::service::Lines::collect(child.stdout.take().unwrap());
        let stderr = crate::service::Lines::collect(child.stderr.take().unwrap());
        (crate::service::KillOnDrop(child), stdout, stderr)
    }

    /// Files a request as `user` without waiting, has carol (dba) approve it, and returns
    /// its id.
    fn file_approved(&self, user: &str) -> String {
        let filed = self
            .service
            .as_user(&self.env, user)
            .args(["run", "--no-wait", "--policy", &self.policy, "--"])
            .arg(&self.script)
            .arg("export")
            .output()
            .unwrap();
        assert_eq!(filed.status.code(), Some(120), "{filed:?}");
        let id = String::from_utf8(filed.stdout).unwrap().trim().to_owned();
        self.review("carol", "approve", &id);
        id
    }

    fn review(&self, user: &str, verdict: &str, id: &str) {
        let output = self
            .service
            .as_user(&self.env, user)
            .args([verdict, id])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
}

fn pending_id(stderr: &crate::service::Lines) -> String {
    let line = stderr.wait_for("\"event\":\"pending\"");
    serde_json::from_str::<Value>(&line).unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every byte under `dir`, file by file.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
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

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn server_secret_is_released_only_after_approval_and_nowhere_else() {
    let s = setup();
    let mut events = String::new();
    // Rejected: nothing runs, nothing is released.
    let (mut child, stdout, stderr) = s.run("alice", "export");
    let id = pending_id(&stderr);
    s.review("carol", "reject", &id);
    assert_eq!(child.wait().unwrap().code(), Some(121));
    assert_eq!(stdout.complete(), "");
    events.push_str(&stderr.complete());
    // Cancelled while waiting.
    let (mut child, stdout, stderr) = s.run("alice", "export");
    pending_id(&stderr);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(123));
    assert_eq!(stdout.complete(), "");
    events.push_str(&stderr.complete());
    // Expired (that rule waits one second).
    let (mut child, stdout, stderr) = s.run("alice", "hurry");
    assert_eq!(child.wait().unwrap().code(), Some(122));
    assert_eq!(stdout.complete(), "");
    events.push_str(&stderr.complete());
    // The secret's own requirement joins the rule's: bob (reviewers) alone is not enough.
    let (mut child, stdout, stderr) = s.run("alice", "export");
    let id = pending_id(&stderr);
    s.review("bob", "approve", &id);
    assert_eq!(s.service.status("alice", &id), "pending");
    let shown: Value = http()
        .get(format!("{}/v1/requests/{id}", s.service.url))
        .bearer_auth(s.service.token("carol"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(shown["secrets"], serde_json::json!(["prod-db-readonly"]));
    assert_eq!(
        shown["env"]["PGHOSTADDR"], "10.9.8.7",
        "reviewers see where it goes"
    );
    assert!(
        shown["approvals"]
            .to_string()
            .contains(r#""rule":"secret:prod-db-readonly""#),
        "{shown}"
    );
    s.review("carol", "approve", &id);
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        stderr.complete()
    );
    // The service's value replaces the caller's; loader and start-up variables are gone.
    assert_eq!(
        stdout.complete(),
        format!("PG={DB_PASSWORD} AWS=unset LDLP=unset BASHENV=unset PGHOSTADDR=10.9.8.7")
    );
    events.push_str(&stderr.complete());
    assert!(events.contains("\"secrets\":[\"PGPASSWORD\"]"), "{events}");
    // Replayed: the grant is used up, and nothing is released again.
    let replay = s
        .service
        .as_user(&s.env, "alice")
        .env("PGHOSTADDR", "10.9.8.7")
        .args([
            "run",
            "--json",
            "--request",
            &id,
            "--policy",
            &s.policy,
            "--",
        ])
        .arg(&s.script)
        .arg("export")
        .output()
        .unwrap();
    assert_eq!(replay.status.code(), Some(122));
    assert!(replay.stdout.is_empty());
    events.push_str(&String::from_utf8_lossy(&replay.stderr));
    // The value never reached anything else: the audit logs, the service's database and
    // files, its own log output, the events.
    let mut places = all_files(&s.env.root().join("state"));
    places.extend(all_files(&s.service.data));
    assert!(places.iter().any(|(p, _)| p.ends_with("gatekeep.db")));
    places.push(("service stderr".into(), s.service.log.text().into_bytes()));
    places.push(("events".into(), events.into_bytes()));
    for (place, bytes) in &places {
        assert!(
            !contains(bytes, DB_PASSWORD),
            "the secret is in {}",
            place.display()
        );
    }
    // The log records what was released, by name.
    let log = all_files(&s.env.root().join("state"))
        .into_iter()
        .map(|(_, b)| String::from_utf8_lossy(&b).into_owned())
        .collect::<String>();
    assert!(log.contains(r#""secrets":[{"env":"PGPASSWORD","from":"server","name":"prod-db-readonly","rule":"prod-db-export"}]"#), "{log}");
}

#[test]
fn requesters_and_connections_the_secret_is_not_for_get_nothing() {
    let s = setup();
    // dave may not receive it: the request is refused when filed.
    let output = s
        .service
        .as_user(&s.env, "dave")
        .args(["run", "--policy", &s.policy, "--"])
        .arg(&s.script)
        .arg("export")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("secret prod-db-readonly is not released to dave"),
        "{output:?}"
    );
}

#[test]
fn plain_http_releases_secrets_only_to_this_host() {
    let Some(address) = local_non_loopback_address() else {
        crate::common::cannot_run_here("this machine has no non-loopback address to connect from");
        return;
    };
    let s = setup_listening("0.0.0.0:0");
    let id = s.file_approved("bob");
    let port = s.service.url.rsplit(':').next().unwrap().to_owned();
    let consume = |host: String| {
        http()
            .post(format!("http://{host}:{port}/v1/requests/{id}/consume"))
            .bearer_auth(s.service.token("bob"))
            .send()
            .unwrap()
    };
    let remote = consume(address.to_string());
    assert_eq!(remote.status().as_u16(), 403);
    let body = remote.text().unwrap();
    assert!(!body.contains(DB_PASSWORD));
    assert!(
        body.contains("only over TLS or to a client on this host"),
        "{body}"
    );
    assert_eq!(s.service.status("bob", &id), "approved");
    // From this host, once, with no caching.
    let local = consume("127.0.0.1".to_owned());
    assert_eq!(local.status().as_u16(), 200);
    assert_eq!(local.headers()["cache-control"], "no-store");
    let body: Value = local.json().unwrap();
    assert_eq!(body["secret_values"]["prod-db-readonly"], DB_PASSWORD);
    assert_eq!(consume("127.0.0.1".to_owned()).status().as_u16(), 409);
}

/// This machine's address towards the outside, if it has one (no packet is sent).
fn local_non_loopback_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[test]
fn local_secrets_are_stored_listed_released_and_removed() {
    let env = TestEnv::new();
    let s = setup();
    let secret = |args: &[&str], stdin: &str| {
        env.gatekeep()
            .env("GATEKEEP_SECRET_STORE", "file")
            .arg("secret")
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap()
    };
    let set = secret(&["set", "prod-aws"], &format!("{AWS_KEY}\n"));
    assert!(set.status.success(), "{set:?}");
    assert!(String::from_utf8_lossy(&set.stderr).contains("stored in the 0600 secrets file"));
    let index = env.root().join("data/gatekeep/secrets.json");
    assert_eq!(
        std::fs::metadata(&index).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let listed = secret(&["list"], "");
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(listed.starts_with("prod-aws\tfile\t"), "{listed}");
    assert!(!listed.contains(AWS_KEY));
    // Released to an allowed command that needs it.
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = env.gatekeep_std();
        cmd.env("GATEKEEP_SECRET_STORE", "file")
            .env("AWS_SECRET_ACCESS_KEY", "caller-value")
            .env("PGPASSWORD", "caller-value")
            .args(["run", "--json", "--policy", &s.policy, "--"])
            .arg(&s.script)
            .arg("aws");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("PG=unset AWS={AWS_KEY} LDLP=unset BASHENV=unset PGHOSTADDR=unset\n")
    );
    assert!(!contains(&output.stderr, AWS_KEY));
    for (path, bytes) in all_files(&env.root().join("state")) {
        assert!(!contains(&bytes, AWS_KEY), "in {}", path.display());
    }
    // Removed: the command is refused, not run without it.
    assert!(secret(&["rm", "prod-aws"], "").status.success());
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(125));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"code\":\"secret_missing\""));
    let again = secret(&["rm", "prod-aws"], "");
    assert_eq!(again.status.code(), Some(125));
    // Never from arguments; an empty value stores nothing.
    assert_eq!(secret(&["set", "x", "value"], "").status.code(), Some(125));
    assert_eq!(secret(&["set", "x"], "").status.code(), Some(125));
}

#[test]
fn gated_variables_are_stripped_from_other_commands() {
    let s = setup();
    let env = &s.env;
    let echo = |config: Option<&str>| {
        let mut cmd = env.gatekeep_std();
        if let Some(text) = config {
            let path = env.write("config/gatekeep/config.yaml", text);
            cmd.env("GATEKEEP_CONFIG", path);
        }
        cmd.env("PGPASSWORD", "caller-value")
            .env("AWS_SECRET_ACCESS_KEY", "caller-aws")
            .args(["run", "--policy", &s.policy, "--", "sh", "-c"])
            .arg("echo ${PGPASSWORD-unset} ${AWS_SECRET_ACCESS_KEY-unset}");
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(echo(None), "unset unset\n");
    assert_eq!(
        echo(Some("strip_secret_env: false\n")),
        "caller-value caller-aws\n"
    );
}

#[test]
fn the_kernel_keyring_store_where_it_is_usable() {
    let env = TestEnv::new();
    let output = env
        .gatekeep()
        .env("GATEKEEP_SECRET_STORE", "keyring")
        .args(["secret", "set", "kr-test"])
        .write_stdin("kr-value\n")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("the OS keyring is not available") {
        crate::common::cannot_run_here(&format!(
            "the kernel keyring is not usable here ({})",
            stderr.trim()
        ));
        return;
    }
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stored in the OS keyring"), "{stderr}");
    let index = std::fs::read_to_string(env.root().join("data/gatekeep/secrets.json")).unwrap();
    assert!(
        index.contains("\"keyring\"") && !index.contains("kr-value"),
        "{index}"
    );
    let listed = env.gatekeep().args(["secret", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).starts_with("kr-test\tkeyring\t"));
    assert!(
        env.gatekeep()
            .args(["secret", "rm", "kr-test"])
            .output()
            .unwrap()
            .status
            .success()
    );
}

#[test]
fn what_steers_a_secret_run_is_bound_or_removed() {
    use std::os::unix::ffi::OsStrExt as _;
    let s = setup();
    // Filed and approved with the ordinary PATH.
    let id = s.file_approved("alice");
    let under_grant = |path: &str| {
        s.service
            .as_user(&s.env, "alice")
            .env("PATH", path)
            // Not text: gatekeep cannot read it, so the command must not get it either.
            .env(
                "BASH_ENV",
                std::ffi::OsStr::from_bytes(b"/tmp/hijack-\xff.sh"),
            )
            .args(["run", "--request", &id, "--policy", &s.policy, "--"])
            .arg(&s.script)
            .arg("export")
            .output()
            .unwrap()
    };
    // Another PATH is another command: refused, nothing released.
    let hijacked = under_grant("/tmp/evil-bin:/usr/local/bin:/usr/bin:/bin");
    assert_eq!(hijacked.status.code(), Some(122));
    assert!(hijacked.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&hijacked.stderr)
            .contains("approved another command: PATH differs"),
        "{hijacked:?}"
    );
    assert_eq!(s.service.status("alice", &id), "approved");
    // The same PATH runs, and the unreadable variable is gone.
    let ran = under_grant("/usr/local/bin:/usr/bin:/bin");
    assert_eq!(ran.status.code(), Some(0), "{ran:?}");
    assert_eq!(
        String::from_utf8_lossy(&ran.stdout),
        format!("PG={DB_PASSWORD} AWS=unset LDLP=unset BASHENV=unset PGHOSTADDR=unset\n")
    );
}

#[test]
fn on_a_terminal_the_value_is_typed_twice_and_never_echoed() {
    let env = TestEnv::new();
    let mut cmd = env.gatekeep_std();
    cmd.env("TERM", "xterm")
        .env("GATEKEEP_SECRET_STORE", "file")
        .args(["secret", "set", "typed"]);
    let mut terminal = crate::pty::Pty::spawn(cmd);
    terminal.wait_for("Value of typed");
    terminal.wait_for_no_echo();
    terminal.send(b"s3cr3t-typed\r");
    terminal.wait_for("Again");
    terminal.wait_for_no_echo();
    terminal.send(b"s3cr3t-typed\r");
    terminal.wait_for("stored in");
    assert_eq!(terminal.child.wait().unwrap().code(), Some(0));
    assert!(!terminal.seen.contains("s3cr3t-typed"), "{}", terminal.seen);
    let index = std::fs::read_to_string(env.root().join("data/gatekeep/secrets.json")).unwrap();
    assert!(index.contains("\"value\": \"s3cr3t-typed\""), "{index}");
}

#[test]
fn a_repeated_consume_gets_the_same_secret_only_with_the_nonce_and_while_unchanged() {
    let s = setup();
    let (mut child, _stdout, stderr) = s.run("alice", "export");
    let id = pending_id(&stderr);
    s.review("bob", "approve", &id);
    s.review("carol", "approve", &id);
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        stderr.complete()
    );
    let show = |user: &str| -> Value {
        http()
            .get(format!("{}/v1/requests/{id}", s.service.url))
            .bearer_auth(s.service.token(user))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    // Reviewers never see the grant, so never its nonce; the requester does.
    assert!(show("carol")["grant"].is_null());
    let nonce = show("alice")["grant"]["payload"]["nonce"]
        .as_str()
        .unwrap()
        .to_owned();
    let consume = |nonce: &str| {
        let answer = http()
            .post(format!("{}/v1/requests/{id}/consume", s.service.url))
            .bearer_auth(s.service.token("alice"))
            .json(&serde_json::json!({ "nonce": nonce }))
            .send()
            .unwrap();
        let status = answer.status().as_u16();
        (status, answer.json::<Value>().unwrap())
    };
    // The run consumed with the grant's nonce; its repeat gets the same answer.
    let (status, again) = consume(&nonce);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["secret_values"]["prod-db-readonly"], DB_PASSWORD);
    assert_eq!(consume("another-nonce").0, 409);
    // A value changed since is not handed out on a repeat.
    let file = s.env.root().join("service/db-password");
    std::fs::write(&file, "rotated-value\n").unwrap();
    s.service.reconfigure(|text| text);
    let (status, refused) = consume(&nonce);
    assert_eq!(status, 409, "{refused}");
    assert!(!refused.to_string().contains("rotated-value"));
}
