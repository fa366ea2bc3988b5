//! The background witness `run` starts by itself: when, and never in anyone's way.

use super::{host_and_user, setup, stderr, stdout, witnessed_log};
use crate::common::TestEnv;

#[test]
fn run_witnesses_in_the_background_after_enough_records() {
    let s = setup();
    s.env.write(
        "config/gatekeep/config.yaml",
        "witness_records: 6\nwitness_interval: off\n",
    );
    // The first run only starts the count: it witnesses nothing.
    s.run_true(&[]);
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.env.root().join("state/gatekeep/audit.jsonl.witness")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["seq"], 3, "{state}");
    assert_eq!(witnessed_log(&s), serde_json::Value::Null);
    s.run_true(&[]);
    s.run_true(&[]);
    // Six records on: the run that wrote them started a witness of its own. It runs
    // detached; wait for the service to hold it (the bound only guards against a hang).
    let mut head = serde_json::Value::Null;
    for _ in 0..600 {
        head = witnessed_log(&s)["heads"][0].clone();
        if !head.is_null() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(head["seq"], 9, "{head}");
    assert_eq!(head["identity"], "alice", "{head}");
    let verified = s.verify_witness(&[]);
    assert!(verified.status.success(), "{}", stdout(&verified));
}

#[test]
fn witness_settings_are_checked() {
    let env = TestEnv::new();
    env.write("config/gatekeep/config.yaml", "witness_interval: soon\n");
    let policy = env.write("p.yaml", "version: 1\n");
    let output = env
        .gatekeep()
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    assert!(
        stderr(&output).contains("witness_interval"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_does_not_wait_for_its_background_witness() {
    use std::io::Read as _;
    // A service that takes the witness's call and never answers it.
    let (url, seen, release) = crate::service::endpoint("{}", true);
    let env = TestEnv::new();
    env.write("config/gatekeep/config.yaml", "witness_records: 1\n");
    let policy = env.write("p.yaml", "version: 1\n");
    let first = env
        .gatekeep()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", "tok")
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    // The second run is due to witness. Its caller hands it a pipe as descriptor 3, as
    // callers may, and reads that pipe to its end.
    let mut caller = env
        .std_command("sh")
        .args([
            "-c",
            r#"exec "$0" run --policy "$1" -- true 3>&1 >/dev/null 2>&1"#,
        ])
        .arg(assert_cmd::cargo::cargo_bin("gatekeep"))
        .arg(&policy)
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", "tok")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = caller.stdout.take().unwrap();
    let (ended, pipe_ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = pipe.read_to_end(&mut Vec::new());
        let _ = ended.send(());
    });
    assert!(caller.wait().unwrap().success());
    // The run is over; the witness it started asks the service for its head and waits for
    // an answer that does not come. The bounds only guard against a hang.
    let (host, user) = host_and_user();
    let prefix = format!("/v1/witness/{host}/{user}?path=");
    let mut called = false;
    for _ in 0..600 {
        called = seen
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.path.starts_with(&prefix));
        if called {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        called,
        "the background witness asked the service for its head"
    );
    assert!(
        pipe_ended
            .recv_timeout(std::time::Duration::from_secs(30))
            .is_ok(),
        "the caller's pipe ended while the witness still runs"
    );
    drop(release);
}

#[test]
fn a_quiet_witness_steps_aside_while_another_runs() {
    let s = setup();
    s.run_true(&[]);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(s.env.root().join("state/gatekeep/audit.jsonl.witness.lock"))
        .unwrap();
    lock.lock().unwrap();
    let quiet = s.witness(&["--quiet"]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    assert_eq!(witnessed_log(&s), serde_json::Value::Null);
    drop(lock);
    let quiet = s.witness(&["--quiet"]);
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    assert_eq!(witnessed_log(&s)["heads"][0]["seq"], 3);
}
