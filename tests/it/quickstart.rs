//! The README's Quickstart, step by step: `gatekeep serve --dev` in the background, then
//! `gatekeep run` finds it, files a request, and runs the command once a reviewer approves.

use std::process::Stdio;

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, request_id};

#[test]
fn readme_quickstart_works_as_written() {
    let env = TestEnv::new();
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
            .unwrap();
    assert!(readme.contains("gatekeep serve --dev &"));
    assert!(
        readme.contains("gatekeep run --reason \"quickstart\" -- chmod -R 777 /tmp/gatekeep-demo")
    );
    assert!(readme.contains("gatekeep approve"));

    let mut server = KillOnDrop(
        env.gatekeep_std()
            .args(["serve", "--dev"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let printed = Lines::collect(server.stdout.take().unwrap());
    let _log = Lines::collect(server.stderr.take().unwrap());
    let reviewer = printed.wait_for("# reviewer");
    assert!(reviewer.starts_with('#'));
    let lines: Vec<String> = printed.text().lines().map(str::to_owned).collect();
    let export = lines
        .iter()
        .filter(|l| l.starts_with("export "))
        .nth(1)
        .expect("a reviewer export line")
        .clone();
    let vars: Vec<(String, String)> = export
        .trim_start_matches("export ")
        .split(' ')
        .filter_map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        })
        .collect();

    let demo = env.root().join("gatekeep-demo");
    std::fs::create_dir_all(&demo).unwrap();
    let mut run = KillOnDrop(
        env.gatekeep_std()
            .args(["run", "--reason", "quickstart", "--", "chmod", "-R", "777"])
            .arg(&demo)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let waiting = Lines::collect(run.stderr.take().unwrap());
    let id = request_id(&waiting);
    let mut approve = env.gatekeep_std();
    let approved = approve.envs(vars).args(["approve", &id]).output().unwrap();
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    assert_eq!(
        run.wait().unwrap().code(),
        Some(0),
        "{}",
        waiting.complete()
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
