//! `gatekeep check` through the binary.

use std::os::unix::fs::{PermissionsExt, symlink};

use predicates::prelude::*;

use crate::common::TestEnv;

const POLICY: &str = r#"
version: 1
builtin: false
rules:
  - id: prod-db-export
    description: Export of a production database
    decision: approve
    match: {program: pg_dump, options: {"-h|--host": "prod*"}}
    approval: {approvers: ["group:dba"], quorum: 2, timeout: 30m, reason_required: true}
  - id: rm-root
    description: Recursive delete of the root
    decision: deny
    match: {program: rm, flags: ["-r|-R|--recursive"], args: ["/"]}
  - id: agents-no-git-push
    decision: approve
    match: {program: git, args: [push], when: {agent: true}}
"#;

#[test]
fn json_report_has_the_documented_shape() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let json = env.check_json(&[
        "--policy",
        policy.to_str().unwrap(),
        "--",
        "sudo",
        "-u",
        "postgres",
        "pg_dump",
        "--host=prod-db",
        "app",
    ]);
    assert_eq!(json["decision"], "approve");
    assert_eq!(json["rules"][0]["id"], "prod-db-export");
    assert_eq!(json["rules"][0]["decision"], "approve");
    assert_eq!(
        json["commands"],
        serde_json::json!([
            ["sudo", "-u", "postgres", "pg_dump", "--host=prod-db", "app"],
            ["pg_dump", "--host=prod-db", "app"]
        ])
    );
    assert_eq!(
        json["approvals"],
        serde_json::json!([{"rule": "prod-db-export", "approvers": ["group:dba"], "quorum": 2}])
    );
    assert_eq!(json["timeout_seconds"], 1800);
    assert_eq!(json["reason_required"], true);
}

#[test]
fn human_report_names_rule_and_reason() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    env.gatekeep()
        .args([
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "rm",
            "-rf",
            "/",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("decision: deny"))
        .stdout(predicate::str::contains("rule rm-root"))
        .stdout(predicate::str::contains("Recursive delete of the root"))
        .stdout(predicate::str::contains("flag -r present"));
}

#[test]
fn allow_path_and_opaque() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let p = policy.to_str().unwrap();
    assert_eq!(
        env.check_json(&["--policy", p, "--", "ls", "-la"])["decision"],
        "allow"
    );
    let json = env.check_json(&["--policy", p, "--", "bash", "-c", "eval \"$X\""]);
    assert_eq!(json["decision"], "approve");
    assert_eq!(json["approvals"][0]["rule"], "<opaque>");
    assert!(json["opaque"][0].as_str().unwrap().contains("eval"));
}

#[test]
fn symlinks_hard_links_and_absolute_paths_hit_program_rules() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let bin = env.root().join("bin");
    let real = env.write("bin/pg_dump", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    symlink(&real, bin.join("backup")).unwrap();
    std::fs::hard_link(&real, bin.join("innocent")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    for program in ["backup", "innocent", real.to_str().unwrap()] {
        let output = env
            .gatekeep()
            .env("PATH", &path)
            .args([
                "check",
                "--json",
                "--policy",
                policy.to_str().unwrap(),
                "--",
                program,
                "-h",
                "prod-db",
            ])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["decision"], "approve", "{program}: {json}");
    }
}

#[test]
fn a_new_hard_link_to_a_gated_program_is_seen_through_the_cached_index() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let bin = env.root().join("bin");
    let tool = env.write("bin/tool", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Two names, neither gated: the index of gated programs is consulted, and kept.
    std::fs::hard_link(&tool, env.root().join("other")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let decision = || {
        let output = env
            .gatekeep()
            .env("PATH", &path)
            .env("GATEKEEP_TEST_SETTLED_SECS", "0")
            .args(["check", "--json", "--policy", policy.to_str().unwrap()])
            .args(["--", "tool", "-h", "prod-db"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["decision"].as_str().unwrap().to_owned()
    };
    assert_eq!(decision(), "allow");
    let cache = env.root().join("home/.cache/gatekeep");
    let kept = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("links-")
            })
            .count()
    };
    assert_eq!(kept(), 1, "the index was cached");
    // The same file now also has a gated name in a PATH directory.
    std::fs::hard_link(&tool, bin.join("pg_dump")).unwrap();
    assert_eq!(decision(), "approve");
    assert_eq!(kept(), 2);
}

#[test]
fn writes_are_matched_by_target_and_unknown_targets_are_unprovable() {
    let env = TestEnv::new();
    let decision = |agent: bool, line: &str| {
        let mut args = vec!["--"];
        if agent {
            args.insert(0, "--agent");
        }
        args.extend(["bash", "-c", line]);
        env.check_json(&args)["decision"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The shipped library: an agent's write to a shell start-up file is held, a person's
    // is not; writing the sudo configuration is held for everyone.
    assert_eq!(decision(true, "echo 'export X=1' >> ~/.bashrc"), "approve");
    assert_eq!(decision(false, "echo 'export X=1' >> ~/.bashrc"), "allow");
    assert_eq!(
        decision(false, "echo 'eve ALL=(ALL) ALL' | tee -a /etc/sudoers"),
        "approve"
    );
    assert_eq!(
        decision(false, "echo x > /proc/self/root/etc/passwd"),
        "approve"
    );
    assert_eq!(decision(false, "echo x > /dev/sda"), "deny");
    // A target only known at run time may be any of them.
    assert_eq!(decision(false, "echo x > \"$TARGET\""), "approve");
    assert_eq!(decision(false, "echo x > notes.txt"), "allow");
}

#[test]
fn sql_is_read_with_a_parser_wherever_the_line_shows_it() {
    let env = TestEnv::new();
    let decision = |args: &[&str]| {
        env.check_json(args)["decision"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A here-document is read as psql reads it: a variable set in it, a comment before
    // the statement and a harmless statement first hide nothing.
    let script = "psql app <<'EOF'\n\\set t users\nselect 1;\n/* tidy */ DROP TABLE :t;\nEOF";
    env.gatekeep()
        .args(["check", "--", "bash", "-c", script])
        .assert()
        .success()
        .stdout(predicate::str::contains("rule psql-destructive-sql"))
        .stdout(predicate::str::contains("`DROP TABLE users` drops (drop)"));
    assert_eq!(
        decision(&["--", "bash", "-c", "echo 'select 1' | psql app"]),
        "allow"
    );
    assert_eq!(
        decision(&["--", "psql", "-c", "select 1 \\! rm -rf ~"]),
        "approve"
    );
    // SQL the line does not show: this test's standard input is not a terminal, so psql
    // would read SQL nobody saw. Held for another server, not on this machine.
    assert_eq!(decision(&["--", "psql", "-h", "prod-db", "app"]), "approve");
    assert_eq!(decision(&["--", "psql", "app"]), "allow");
    assert_eq!(
        decision(&["--", "bash", "-c", "psql -h localhost -f migrate.sql"]),
        "allow"
    );
    assert_eq!(
        decision(&["--", "bash", "-c", "generate | psql -h prod-db"]),
        "approve"
    );
}

#[test]
fn a_hard_link_to_a_gated_program_replaced_behind_a_link_on_path_is_seen_through_the_cached_index()
{
    // PATH holds a symbolic link named pg_dump; the program it points to is replaced (an
    // upgrade writes a new file) while the PATH directory stays as it was.
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let bin = env.root().join("bin");
    let program = env.write("opt/pg_dump", "#!/bin/sh\nexit 0\n");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&program, bin.join("pg_dump")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let decision = |program: &str| {
        let output = env
            .gatekeep()
            .env("PATH", &path)
            .env("GATEKEEP_TEST_SETTLED_SECS", "0")
            .args(["check", "--json", "--policy", policy.to_str().unwrap()])
            .args(["--", program, "-h", "prod-db"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json["decision"].as_str().unwrap().to_owned()
    };
    std::fs::hard_link(&program, env.root().join("dumper")).unwrap();
    assert_eq!(
        decision("./dumper"),
        "approve",
        "the index is built and kept"
    );
    let upgraded = env.write("opt/pg_dump.new", "#!/bin/sh\nexit 1\n");
    std::fs::set_permissions(&upgraded, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&upgraded, &program).unwrap();
    std::fs::hard_link(&program, env.root().join("dumper2")).unwrap();
    assert_eq!(decision("./dumper2"), "approve");
}

#[test]
fn agent_markers_are_detected() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let p = policy.to_str().unwrap();
    assert_eq!(
        env.check_json(&["--policy", p, "--", "git", "push"])["decision"],
        "allow"
    );
    assert_eq!(
        env.check_json(&["--policy", p, "--agent", "--", "git", "push"])["decision"],
        "approve"
    );
    for marker in ["GATEKEEP_AGENT", "CLAUDECODE", "CODEX_SANDBOX"] {
        let output = env
            .gatekeep()
            .env(marker, "1")
            .args(["check", "--json", "--policy", p, "--", "git", "push"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["decision"], "approve", "{marker}");
    }
}

#[test]
fn invalid_policy_is_exit_125_with_location() {
    let env = TestEnv::new();
    let policy = env.write(
        "bad.yaml",
        "version: 1\nrules:\n  - id: x\n    decision: sometimes\n    match: {program: a}\n",
    );
    env.gatekeep()
        .args(["check", "--policy", policy.to_str().unwrap(), "--", "ls"])
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "bad.yaml:4:15: unknown variant `sometimes`",
        ))
        .stderr(predicate::str::contains("hint:"));
}

#[test]
fn usage_errors_are_exit_125() {
    let env = TestEnv::new();
    env.gatekeep()
        .args(["check", "--no-such-flag"])
        .assert()
        .code(125);
    env.gatekeep().arg("frobnicate").assert().code(125);
    env.gatekeep()
        .args(["check"])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("no command given"));
    env.gatekeep().arg("--help").assert().success();
}

#[test]
fn shell_scripts_can_be_checked() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let json = env.check_json(&[
        "--policy",
        policy.to_str().unwrap(),
        "--shell",
        "cd /tmp && { pg_dump -hprod x | gzip; } > out.gz",
    ]);
    assert_eq!(json["decision"], "approve");
}

#[test]
fn completions_are_printed() {
    let env = TestEnv::new();
    env.gatekeep()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_gatekeep"));
}

#[test]
fn human_report_snapshot() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let output = env
        .gatekeep()
        .args([
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "--shell",
            "sudo -u postgres pg_dump -hprod-db app | gzip; rm -rf $TARGET",
        ])
        .output()
        .unwrap();
    insta::assert_snapshot!(String::from_utf8_lossy(&output.stdout));
}

#[test]
fn very_deep_nesting_is_opaque_not_a_crash() {
    let env = TestEnv::new();
    let script = format!(
        "{}rm -rf /{}",
        "if true; then ".repeat(2000),
        "; fi".repeat(2000)
    );
    let json = env.check_json(&["--shell", &script]);
    assert_eq!(json["decision"], "approve");
    let parens = format!("{}ls{}", "( ".repeat(5000), " )".repeat(5000));
    assert_eq!(env.check_json(&["--shell", &parens])["decision"], "approve");
}

/// The option grammar of programs is built in: a policy set that replaces the library
/// (`--policy`) still reads `git push -o VALUE` as an option with its value, so a rule on
/// the positional arguments sees `origin main`, not `ci.skip origin`.
#[test]
fn replacing_the_library_keeps_the_built_in_option_grammar() {
    let env = TestEnv::new();
    let policy = env.write(
        "team.yaml",
        "version: 1\nrules:\n  - id: force-push-main\n    decision: approve\n    match:\n      \
         program: git\n      args: [push, \"*\", main]\n      flags: [\"--force\"]\n",
    );
    let policy = policy.to_str().unwrap();
    for argv in [
        ["git", "push", "-o", "ci.skip", "--force", "origin", "main"],
        [
            "git",
            "push",
            "--push-option",
            "x",
            "--force",
            "origin",
            "main",
        ],
    ] {
        let mut args = vec!["--policy", policy, "--"];
        args.extend(argv);
        let json = env.check_json(&args);
        assert_eq!(json["decision"], "approve", "{argv:?}: {json}");
    }
}

/// An administrator may add to a program's grammar; a built-in option stays declared.
#[test]
fn a_policy_adds_options_to_a_program_and_removes_none() {
    let env = TestEnv::new();
    let policy = env.write(
        "team.yaml",
        "version: 1\nbuiltin: false\nprograms:\n  kubectl:\n    value_options: [\"--password\"]\nrules:\n  \
         - id: kubectl-delete\n    decision: approve\n    match:\n      program: kubectl\n      \
         args: [delete]\n      unless: {any_arg: [\"--dry-run=client\"]}\n",
    );
    let policy = policy.to_str().unwrap();
    // The command as plain words, evaluated as an argument vector.
    let decide = |command: &str| {
        let mut args = vec!["--policy", policy, "--"];
        args.extend(command.split_whitespace());
        env.check_json(&args)["decision"].clone()
    };
    // Declared here: `--password` takes `x` as its value, and the dry run is provable.
    assert_eq!(
        decide("kubectl --password x delete ns prod --dry-run=client"),
        "allow"
    );
    // Built in: `-n` takes a value; the dry run after it still holds.
    assert_eq!(
        decide("kubectl -n prod delete ns prod --dry-run=client"),
        "allow"
    );
    // Undeclared: `--token-ttl` may take the next word, so the dry run is unprovable.
    assert_eq!(
        decide("kubectl --token-ttl --dry-run=client delete ns prod"),
        "approve"
    );
}

#[test]
fn a_relative_cd_above_the_workspace_takes_relative_paths_with_it() {
    let env = TestEnv::new();
    let project = env.root().join("work/projects/app");
    std::fs::create_dir_all(&project).unwrap();
    let decide = |line: &str| {
        let mut command = env.gatekeep();
        command.current_dir(&project);
        shell_decision(command, true, line)
    };
    // `build` after `cd ..` is the project's sibling, outside the agent's workspace.
    for line in [
        "cd .. && rm -rf build",
        "{ cd ..; echo ok; } && rm -rf build",
        "( cd ../..; rm -rf app )",
        "cleanup() { cd ..; }; cleanup && rm -rf build",
        "pushd .. && rm -rf build",
    ] {
        assert_eq!(decide(line), "approve", "{line}");
    }
    // Down into the workspace, or to an absolute place the rules know, it stays as before.
    for line in [
        "cd src && rm -rf target",
        "rm -rf build",
        "cd /tmp && rm -rf build",
    ] {
        assert_eq!(decide(line), "allow", "{line}");
    }
}

#[test]
fn tmpdir_is_read_from_the_callers_environment_unless_the_line_sets_it() {
    let env = TestEnv::new();
    let decide = |tmpdir: Option<&str>, line: &str| {
        let mut command = env.gatekeep();
        command.env_remove("TMPDIR");
        if let Some(dir) = tmpdir {
            command.env("TMPDIR", dir);
        }
        shell_decision(command, true, line)
    };
    let tmp = Some("/tmp/agent-7");
    assert_eq!(decide(tmp, "rm -rf $TMPDIR/build"), "allow");
    assert_eq!(decide(tmp, "rm -rf \"${TMPDIR}/build\""), "allow");
    // Unset, the shell expands it to nothing: the path is at the root.
    assert_eq!(decide(None, "rm -rf $TMPDIR/etc"), "deny");
    assert_eq!(decide(None, "rm -rf $TMPDIR/test-dir"), "approve");
    // A value the shell would split, or a line that sets the variable, stays unknown.
    assert_eq!(decide(Some("/tmp/a b"), "rm -rf $TMPDIR/build"), "approve");
    // A command's own prefix assignment reaches its environment, not its words: bash
    // expanded them before. Where the shell keeps it or assigned it too, it stays unknown.
    assert_eq!(decide(tmp, "TMPDIR=/ rm -rf $TMPDIR/etc"), "allow");
    assert_eq!(decide(tmp, "TMPDIR=/ :; rm -rf $TMPDIR/etc"), "approve");
    assert_eq!(
        decide(tmp, "TMPDIR=/a; TMPDIR=/ rm -rf $TMPDIR/etc"),
        "approve"
    );
    assert_eq!(
        decide(tmp, "f() { rm -rf $TMPDIR/etc; }; TMPDIR=/ f"),
        "approve"
    );
    assert_eq!(
        decide(
            tmp,
            "for i in 1 2; do TMPDIR=/b rm -rf $TMPDIR/x; TMPDIR=/; done"
        ),
        "approve"
    );
    assert_eq!(decide(tmp, "TMPDIR=/ sudo rm -rf $TMPDIR/etc"), "approve");
    assert_eq!(
        decide(tmp, "export TMPDIR=/; rm -rf $TMPDIR/etc"),
        "approve"
    );
    assert_eq!(decide(tmp, "unset TMPDIR; rm -rf $TMPDIR/etc"), "approve");
    assert_eq!(decide(tmp, "rm -rf $TMPDIR/../../etc"), "deny");
    assert_eq!(
        decide(tmp, "declare -n v=TMPDIR; unset v; rm -rf $TMPDIR/etc"),
        "approve"
    );
    assert_eq!(
        decide(tmp, "source ./env.sh; rm -rf $TMPDIR/etc"),
        "approve"
    );
    // A shell another program starts has an environment of its own.
    assert_eq!(decide(tmp, "sudo sh -c 'rm -rf $TMPDIR/etc'"), "approve");
    assert_eq!(
        decide(tmp, "systemd-run sh -c 'rm -rf $TMPDIR/etc'"),
        "approve"
    );
    assert_eq!(decide(tmp, "sudo rm -rf $TMPDIR/build"), "allow");
}

#[test]
fn cdpath_in_the_callers_environment_makes_a_relative_cd_land_anywhere() {
    let env = TestEnv::new();
    let decide = |cdpath: Option<&str>, line: &str| {
        let mut command = env.gatekeep();
        command.env_remove("CDPATH");
        if let Some(path) = cdpath {
            command.env("CDPATH", path);
        }
        shell_decision(command, false, line)
    };
    // With CDPATH=/, `cd etc` is /etc, and `rm -f passwd` removes /etc/passwd.
    assert_eq!(decide(Some("/"), "cd etc && rm -f passwd"), "approve");
    assert_eq!(decide(None, "cd etc && rm -f passwd"), "allow");
    assert_eq!(decide(Some(""), "cd etc && rm -f passwd"), "allow");
    // `..` and absolute directories are never searched.
    assert_eq!(decide(Some("/"), "cd /tmp && rm -f passwd"), "allow");
}

/// The decision `check --json --shell LINE` gives (as an agent's with `agent`), run as
/// `command`: gatekeep in its directory and environment.
fn shell_decision(mut command: assert_cmd::Command, agent: bool, line: &str) -> String {
    command.args(["check", "--json"]);
    if agent {
        command.arg("--agent");
    }
    let output = command.args(["--shell", line]).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    json["decision"].as_str().unwrap().to_owned()
}

/// Text that is not ASCII where an option name or a digest is shortened: read by
/// characters, never split inside one (a byte slice there aborted the analysis).
#[test]
fn a_multibyte_character_where_an_option_is_shortened_is_analysed() {
    let env = TestEnv::new();
    for argv in [
        &["parallel", "-éj", "echo", "hi"][..],
        &["parallel", "-ñ", "rm", "-rf", "/"][..],
    ] {
        let mut args = vec!["--"];
        args.extend(argv);
        let report = env.check_json(&args);
        assert!(report["decision"].is_string(), "{report}");
    }
}
