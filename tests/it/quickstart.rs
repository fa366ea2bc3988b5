//! The walk-throughs of README.md and docs/api.md, step by step: `gatekeep serve --dev` in
//! the background, then `gatekeep run` finds it, files a request, and runs the command once
//! a reviewer approves.

use std::process::Stdio;

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, request_id};

fn read(relative: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative))
        .unwrap()
}

/// A development server in the background and the reviewer's variables it printed.
fn dev_server(env: &TestEnv) -> (KillOnDrop, Lines, Vec<(String, String)>) {
    let mut server = KillOnDrop(
        env.gatekeep_std()
            .args(["serve", "--dev"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let printed = Lines::collect(server.stdout.take().unwrap());
    let log = Lines::collect(server.stderr.take().unwrap());
    let reviewer = printed.wait_for("# reviewer");
    assert!(reviewer.starts_with('#'));
    let lines: Vec<String> = printed.text().lines().map(str::to_owned).collect();
    let export = lines
        .iter()
        .filter(|l| l.starts_with("export "))
        .nth(1)
        .expect("a reviewer export line")
        .clone();
    let vars = export
        .trim_start_matches("export ")
        .split(' ')
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();
    (server, log, vars)
}

/// `gatekeep run ARGS` waits for a reviewer; the reviewer runs each of `review` (the
/// request's id in place of `ID`); the run then ends with 0. Returns what the run printed.
fn approved_run(
    env: &TestEnv,
    reviewer: &[(String, String)],
    run: &[&str],
    review: &[&[&str]],
) -> String {
    let mut child = KillOnDrop(
        env.gatekeep_std()
            .arg("run")
            .args(run)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let waiting = Lines::collect(child.stderr.take().unwrap());
    let id = request_id(&waiting);
    for step in review {
        let args: Vec<&str> = step
            .iter()
            .map(|a| if *a == "ID" { id.as_str() } else { a })
            .collect();
        let done = env
            .gatekeep_std()
            .envs(reviewer.iter().cloned())
            .args(&args)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "gatekeep {args:?}: {}",
            String::from_utf8_lossy(&done.stderr)
        );
    }
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "{}",
        waiting.complete()
    );
    waiting.complete()
}

#[test]
fn readme_quickstart_works_as_written() {
    let env = TestEnv::new();
    let readme = read("README.md");
    assert!(readme.contains("gatekeep serve --dev &"));
    assert!(
        readme.contains("gatekeep run --reason \"quickstart\" -- chmod -R 777 /tmp/gatekeep-demo")
    );
    assert!(readme.contains("gatekeep requests "));
    assert!(readme.contains("gatekeep approve <request-id>"));

    let (mut server, _log, reviewer) = dev_server(&env);
    let demo = env.root().join("gatekeep-demo");
    std::fs::create_dir_all(&demo).unwrap();
    approved_run(
        &env,
        &reviewer,
        &[
            "--reason",
            "quickstart",
            "--",
            "chmod",
            "-R",
            "777",
            demo.to_str().unwrap(),
        ],
        &[&["requests"], &["approve", "ID"]],
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&demo).unwrap().permissions().mode() & 0o777,
        0o777
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(server.wait().unwrap().success());
    assert!(
        !env.root().join("state/gatekeep/dev-server.json").exists(),
        "the dev server cleans up after itself"
    );
}

#[test]
fn api_walkthrough_works_as_written() {
    let env = TestEnv::new();
    let doc = read("docs/api.md");
    let policy = doc
        .split("# demo.yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("docs/api.md shows demo.yaml");
    let policy: String = policy
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("   ").unwrap_or(l)))
        .collect();
    env.write("demo.yaml", &policy);
    let run = "gatekeep run --policy demo.yaml --reason \"try the service\" -- touch hello.txt";
    assert!(doc.contains(&format!("$ {run}")));
    assert!(doc.contains("$ gatekeep approve 019caedc-… -m \"fine\""));

    let (_server, _log, reviewer) = dev_server(&env);
    let printed = approved_run(
        &env,
        &reviewer,
        &[
            "--policy",
            "demo.yaml",
            "--reason",
            "try the service",
            "--",
            "touch",
            "hello.txt",
        ],
        &[&["requests"], &["approve", "ID", "-m", "fine"]],
    );
    assert!(
        printed.contains("gatekeep: using the development server at http://127.0.0.1:"),
        "{printed}"
    );
    assert!(env.root().join("hello.txt").exists());
}
