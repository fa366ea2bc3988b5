//! Policy layers: the built-in library, the administrator's, the user's and the project's
//! files together, strictest wins; opting out of the library only explicitly; a project's
//! files, which the agent they judge can write, only ever adding holds.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::TestEnv;

/// A repository under the test root, with a `src/` directory to run commands in.
fn repository(env: &TestEnv) -> PathBuf {
    let root = env.root().join("repo");
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    root
}

/// `gatekeep check --json ARGS` run in `dir`: exit code, stdout as JSON (or null), stderr.
fn check_in(env: &TestEnv, dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let output = env
        .gatekeep()
        .current_dir(dir)
        .args(["check", "--json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (
        output.status.code(),
        json,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn decision_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Value {
    let (code, json, stderr) = check_in(env, dir, args);
    assert_eq!(code, Some(0), "{stderr}");
    json["decision"].clone()
}

/// Replaces the test root in output, so snapshots do not depend on it.
fn redact(env: &TestEnv, text: &str) -> String {
    let text = text.replace(&env.root().display().to_string(), "[ROOT]");
    without_digest(&text)
}

/// Replaces the policy digest (it covers file paths, which differ per run).
fn without_digest(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("sha256:") {
            Some((head, _)) => format!("{head}sha256:[DIGEST]"),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const USER_LS: &str =
    "version: 1\nrules:\n  - id: user-ls\n    decision: approve\n    match: {program: ls}\n";

#[test]
fn builtin_false_switches_the_library_off_and_says_where() {
    let env = TestEnv::new();
    let file = env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nbuiltin: false\nrules: []\n",
    );
    let at = format!("{}:2:10", file.display());
    let (code, json, stderr) = check_in(&env, env.root(), &["--", "rm", "-rf", "/"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(json["decision"], "allow", "{json}");
    let warning = format!("the built-in rule library is switched off by `builtin: false` at {at}");
    assert_eq!(json["warnings"], json!([warning]));
    // The report warns on stderr, one line.
    let output = env
        .gatekeep()
        .args(["check", "--", "rm", "-rf", "/"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end(), format!("gatekeep: warning: {warning}"));
    let output = env.gatekeep().args(["policy", "list"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        format!("gatekeep: warning: {warning}")
    );
    assert!(
        stdout.contains(&format!(
            "built-in (built-in library): off (`builtin: false` at {at})"
        )),
        "{stdout}"
    );
    // An administrator's file may do the same.
    let env = TestEnv::new();
    let admin = env.write("admin-policies/base.yaml", "version: 1\nbuiltin: false\n");
    let (_, json, _) = check_in(&env, env.root(), &["--", "rm", "-rf", "/"]);
    assert_eq!(json["decision"], "allow");
    assert!(
        json["warnings"][0]
            .as_str()
            .unwrap()
            .ends_with(&format!("{}:2:10", admin.display())),
        "{json}"
    );
}

#[test]
fn a_built_in_rule_is_dropped_by_id_and_only_that_one() {
    let env = TestEnv::new();
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop: [git-force-push-main]\n",
    );
    let json = env.check_json(&["--", "git", "push", "--force", "origin", "main"]);
    assert!(
        json["rules"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != "git-force-push-main"),
        "{json}"
    );
    assert_eq!(
        env.check_json(&["--", "rm", "-rf", "/"])["decision"],
        "deny"
    );
    let output = env.gatekeep().args(["policy", "list"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("(1 dropped)"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    env.gatekeep()
        .args(["policy", "show", "git-force-push-main"])
        .assert()
        .code(125)
        .stderr(predicates::str::contains(
            "built-in rule `git-force-push-main` is not in force: it is dropped at",
        ));
}

#[test]
fn dropping_an_unknown_id_fails_closed_naming_the_place() {
    let env = TestEnv::new();
    let file = env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop:\n  - rm-recursive-system-pat\n",
    );
    let (code, json, stderr) = check_in(&env, env.root(), &["--", "ls"]);
    assert_eq!(code, Some(125), "{json}");
    assert!(
        stderr.contains(&format!(
            "{}:3:5: unknown built-in rule `rm-recursive-system-pat` (did you mean `rm-recursive-system-path`",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_user_file_cannot_drop_or_outvote_the_administrators_rules() {
    let env = TestEnv::new();
    env.write(
        "admin-policies/base.yaml",
        "version: 1\ndefault: approve\napproval: {approvers: [\"group:security\"]}\nrules:\n  - id: admin-no-dd\n    decision: deny\n    match: {program: dd}\n",
    );
    let user = env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop: [admin-no-dd]\n",
    );
    let (code, _, stderr) = check_in(&env, env.root(), &["--", "dd"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains(&format!(
            "{}:2:8: `admin-no-dd` is an administrator's rule: a user file cannot drop it",
            user.display()
        )),
        "{stderr}"
    );
    // A user's allow rule does not stand in for the administrator's default.
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nbuiltin: false\nrules:\n  - {id: ls-ok, decision: allow, match: {program: ls}}\n",
    );
    let json = env.check_json(&["--", "ls"]);
    assert_eq!(json["decision"], "approve", "{json}");
    assert_eq!(json["approvals"][0]["rule"], "<default>");
    assert_eq!(json["approvals"][0]["approvers"], json!(["group:security"]));
}

#[test]
fn a_project_file_adds_rules_for_commands_run_in_its_repository() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write("config/gatekeep/policies/mine.yaml", USER_LS);
    env.write(
        "repo/.gatekeep/policies/team.yaml",
        "version: 1\nrules:\n  - id: no-cat\n    decision: deny\n    match: {program: cat}\n",
    );
    let src = repo.join("src");
    assert_eq!(decision_in(&env, &src, &["--", "cat", "x"]), "deny");
    // The other layers still apply.
    assert_eq!(decision_in(&env, &src, &["--", "ls"]), "approve");
    assert_eq!(decision_in(&env, &src, &["--", "rm", "-rf", "/"]), "deny");
    // Outside the repository the project's rule is not in force.
    assert_eq!(decision_in(&env, env.root(), &["--", "cat", "x"]), "allow");
    // A changed project file applies at once (the compiled-policy cache keys it too).
    env.write(
        "repo/.gatekeep/policies/team.yaml",
        "version: 1\nrules:\n  - id: no-cat\n    decision: approve\n    match: {program: cat}\n",
    );
    assert_eq!(decision_in(&env, &src, &["--", "cat", "x"]), "approve");
}

#[test]
fn the_hook_reads_the_project_of_the_agents_directory() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "repo/.gatekeep/policies/team.yaml",
        "version: 1\nrules:\n  - id: no-cat\n    decision: deny\n    match: {program: cat}\n",
    );
    let input = json!({
        "session_id": "s",
        "cwd": repo.join("src"),
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "cat x"},
    });
    // The hook process itself runs elsewhere; the tool call's directory decides.
    let output = env
        .gatekeep()
        .current_dir(env.root())
        .args(["hook", "claude-code"])
        .write_stdin(input.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let answer: Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(
        answer["hookSpecificOutput"]["permissionDecision"], "deny",
        "{answer}"
    );
    assert!(
        answer["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("no-cat"),
        "{answer}"
    );
}

/// Every way a project file could try to loosen: each is refused with its place, and the
/// command does not pass.
#[test]
fn a_project_file_that_tries_to_loosen_is_refused_with_its_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "version: 1\nbuiltin: false\n",
            "2:10",
            "a project policy cannot switch off the built-in library",
        ),
        (
            "version: 1\ndrop: [rm-recursive-system-path]\n",
            "2:8",
            "a project policy cannot drop rules",
        ),
        (
            "version: 1\nrules:\n  - id: rm-ok\n    decision: allow\n    match: {program: rm}\n",
            "4:15",
            "rule `rm-ok`: a project policy cannot allow",
        ),
        (
            "version: 1\ndefault: allow\n",
            "2:10",
            "a project policy cannot set `default: allow`",
        ),
        (
            "version: 1\nopaque: allow\n",
            "2:9",
            "a project policy cannot set `opaque: allow`",
        ),
        // A supervised command starts at once: the hook would answer the agent "allow"
        // where, without the project's file, the agent's own rules would have asked.
        (
            "version: 1\nrules:\n  - id: watch-all\n    decision: supervise\n    match: {program: \"*\"}\n",
            "4:15",
            "rule `watch-all`: a project policy cannot supervise",
        ),
        (
            "version: 1\ndefault: supervise\n",
            "2:10",
            "a project policy cannot set `default: supervise`",
        ),
        (
            "version: 1\nopaque: supervise\n",
            "2:9",
            "a project policy cannot set `opaque: supervise`",
        ),
        // Declaring `-r` as taking a value would make `rm -r -f /` read differently for
        // every layer's rules.
        (
            "version: 1\nprograms:\n  rm:\n    value_options: [-r]\n",
            "3:3",
            "a project policy cannot declare how `rm` reads its options",
        ),
        (
            "version: 1\nrules:\n  - id: curl-token\n    decision: approve\n    match: {program: curl}\n    secrets:\n      TOKEN: {from: keyring, name: github}\n",
            "7:7",
            "rule `curl-token`: a project policy cannot release secrets",
        ),
        // A protected path feeds the guard of gatekeep's own files; one that cannot be
        // mounted would leave the whole guard out of a supervised run.
        (
            "version: 1\nprotect: [/proc/self/mem]\n",
            "2:11",
            "a project policy cannot add protected paths (`/proc/self/mem`)",
        ),
        // An id that shadows another layer's rule.
        (
            "version: 1\nrules:\n  - id: rm-recursive-system-path\n    decision: approve\n    match: {program: rm}\n",
            "3:9",
            "duplicate rule id `rm-recursive-system-path`",
        ),
        (
            "version: 1\nrules:\n  - id: user-ls\n    decision: deny\n    match: {program: nothing-here}\n",
            "3:9",
            "duplicate rule id `user-ls`",
        ),
        // An id that would stand in for the defaults in approval requirements.
        (
            "version: 1\nrules:\n  - id: <default>\n    decision: approve\n    match: {program: rm}\n",
            "3:9",
            "rule id `<default>` is reserved",
        ),
        ("version: 1\nrules: [{id: x\n", "", "team.yaml:"),
    ];
    for (text, at, message) in cases {
        let env = TestEnv::new();
        let repo = repository(&env);
        env.write("config/gatekeep/policies/mine.yaml", USER_LS);
        let file = env.write("repo/.gatekeep/policies/team.yaml", text);
        let (code, json, stderr) = check_in(&env, &repo.join("src"), &["--", "rm", "-rf", "/"]);
        assert_eq!(code, Some(125), "{text}: {json} {stderr}");
        let place = if at.is_empty() {
            String::new()
        } else {
            format!("{}:{at}: ", file.display())
        };
        assert!(
            stderr.contains(&format!("{place}{message}")),
            "{text}: expected `{place}{message}` in {stderr}"
        );
        // `run` refuses too: nothing runs.
        let marker = env.root().join("ran");
        let output = env
            .gatekeep()
            .current_dir(repo.join("src"))
            .args(["run", "--", "touch"])
            .arg(&marker)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(125), "{text}");
        assert!(!marker.exists(), "{text}: the command ran");
    }
}

/// A project's rule never stands in for another layer's default, and an `unless` can only
/// narrow the project's own rule.
#[test]
fn a_project_rule_cannot_lower_what_other_layers_decide() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let src = repo.join("src");
    env.write(
        "admin-policies/base.yaml",
        "version: 1\ndefault: approve\napproval: {approvers: [\"group:security\"], quorum: 2}\n",
    );
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nrules:\n  - {id: no-shred, decision: deny, match: {program: shred}}\n",
    );
    env.write(
        "repo/.gatekeep/policies/team.yaml",
        "version: 1\napproval: {approvers: [\"user:agent\"], quorum: 1}\nrules:\n  \
         - {id: make-ok, decision: approve, match: {program: make, unless: {any_arg: \"*\"}}}\n  \
         - {id: shred-ok, decision: approve, match: {program: shred}}\n  \
         - id: rm-unless\n    decision: approve\n    match: {program: rm, unless: {any_arg: \"*\"}}\n",
    );
    // `make` would have needed the administrator's default: it still does, from the
    // administrator's approvers.
    let (_, json, stderr) = check_in(&env, &src, &["--", "make"]);
    assert_eq!(json["decision"], "approve", "{json} {stderr}");
    assert!(
        json["approvals"]
            .as_array()
            .unwrap()
            .contains(&json!({"rule": "<default>", "approvers": ["group:security"], "quorum": 2})),
        "{json}"
    );
    // The user's deny stays a deny.
    assert_eq!(decision_in(&env, &src, &["--", "shred", "f"]), "deny");
    // The library's deny stays a deny.
    assert_eq!(decision_in(&env, &src, &["--", "rm", "-rf", "/"]), "deny");
}

#[test]
fn a_project_directory_or_file_that_is_a_link_or_not_a_file_is_refused() {
    use std::os::unix::fs::symlink;
    // The policies directory pointing elsewhere.
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "elsewhere/team.yaml",
        "version: 1\nrules:\n  - {id: no-cat, decision: deny, match: {program: cat}}\n",
    );
    std::fs::create_dir_all(repo.join(".gatekeep")).unwrap();
    symlink(
        env.root().join("elsewhere"),
        repo.join(".gatekeep/policies"),
    )
    .unwrap();
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("/repo/.gatekeep/policies: it is a symbolic link"),
        "{stderr}"
    );
    // `.gatekeep` itself a link.
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write("elsewhere/policies/team.yaml", "version: 1\n");
    symlink(env.root().join("elsewhere"), repo.join(".gatekeep")).unwrap();
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("/repo/.gatekeep: it is a symbolic link"),
        "{stderr}"
    );
    // One file a link.
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write("elsewhere.yaml", "version: 1\n");
    std::fs::create_dir_all(repo.join(".gatekeep/policies")).unwrap();
    symlink(
        env.root().join("elsewhere.yaml"),
        repo.join(".gatekeep/policies/a.yaml"),
    )
    .unwrap();
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(stderr.contains("a.yaml: it is a symbolic link"), "{stderr}");
    // A FIFO would block a reader forever: refused at once.
    let env = TestEnv::new();
    let repo = repository(&env);
    std::fs::create_dir_all(repo.join(".gatekeep/policies")).unwrap();
    nix::unistd::mkfifo(
        &repo.join(".gatekeep/policies/a.yaml"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("a.yaml: it is not a regular file"),
        "{stderr}"
    );
    // A huge file, and too many files.
    let env = TestEnv::new();
    let repo = repository(&env);
    let mut big = "version: 1\n".to_owned();
    big.push_str(&"# padding\n".repeat(30_000));
    env.write("repo/.gatekeep/policies/big.yaml", &big);
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(stderr.contains("big.yaml: larger than 256 KiB"), "{stderr}");
    let env = TestEnv::new();
    let repo = repository(&env);
    for n in 0..65 {
        env.write(
            &format!("repo/.gatekeep/policies/p{n:02}.yaml"),
            "version: 1\n",
        );
    }
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("65 files (at most 64 are read)"),
        "{stderr}"
    );
}

#[test]
fn nothing_above_the_repository_is_read() {
    let env = TestEnv::new();
    // A `.gatekeep` above the repository, with a file that would be refused if read and a
    // rule that would deny.
    env.write(
        ".gatekeep/policies/above.yaml",
        "version: 1\ndefault: allow\nrules:\n  - {id: no-cat, decision: deny, match: {program: cat}}\n",
    );
    let repo = repository(&env);
    assert_eq!(
        decision_in(&env, &repo.join("src"), &["--", "cat", "x"]),
        "allow"
    );
    // Without any repository, no project layer at all.
    let plain = env.root().join("plain");
    std::fs::create_dir_all(plain.join(".gatekeep/policies")).unwrap();
    env.write(
        "plain/.gatekeep/policies/p.yaml",
        "version: 1\nrules:\n  - {id: no-cat, decision: deny, match: {program: cat}}\n",
    );
    assert_eq!(decision_in(&env, &plain, &["--", "cat", "x"]), "allow");
}

#[test]
fn policy_list_shows_every_layer_and_every_rules_origin() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "admin-policies/base.yaml",
        "version: 1\nrules:\n  - {id: admin-no-dd, decision: deny, match: {program: dd}}\n",
    );
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop: [git-force-push-main]\nrules:\n  - {id: user-ls, decision: approve, match: {program: ls}}\n",
    );
    env.write(
        "repo/.gatekeep/policies/team.yaml",
        "version: 1\nrules:\n  - {id: no-cat, decision: deny, match: {program: cat}}\n",
    );
    let output = env
        .gatekeep()
        .current_dir(&repo)
        .args(["policy", "list"])
        .output()
        .unwrap();
    assert!(output.status.success());
    // The library's own files and counts change with it: only its one dropped rule and
    // the other layers are kept as they are.
    let listing: Vec<String> = redact(&env, &String::from_utf8_lossy(&output.stdout))
        .lines()
        .filter(|l| !l.starts_with("  builtin:") || l.contains("dropped"))
        .map(|l| {
            if l.starts_with("built-in") || l.starts_with("  builtin:") || l.starts_with("in force")
            {
                l.replace(|c: char| c.is_ascii_digit(), "N")
                    .replace("NN", "N")
                    .replace("NN", "N")
            } else {
                l.to_owned()
            }
        })
        .collect();
    insta::assert_snapshot!("policy_list_layers", listing.join("\n"));
    let output = env
        .gatekeep()
        .current_dir(&repo)
        .args(["policy", "list", "--rules"])
        .output()
        .unwrap();
    let text = redact(&env, &String::from_utf8_lossy(&output.stdout));
    let line = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no line for {id}: {text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line("admin-no-dd"),
        "admin-no-dd deny administrator [ROOT]/admin-policies/base.yaml:3:10"
    );
    assert_eq!(
        line("user-ls"),
        "user-ls approve user [ROOT]/config/gatekeep/policies/mine.yaml:4:10"
    );
    assert_eq!(
        line("no-cat"),
        "no-cat deny project [ROOT]/repo/.gatekeep/policies/team.yaml:3:10"
    );
    assert!(
        line("rm-recursive-system-path")
            .starts_with("rm-recursive-system-path deny built-in builtin:filesystem.yaml:"),
        "{text}"
    );
    assert!(!text.contains("git-force-push-main "), "dropped: {text}");
    let output = env
        .gatekeep()
        .current_dir(&repo)
        .args(["policy", "list", "--json", "--rules"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let layers: Vec<&str> = json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["layer"].as_str().unwrap())
        .collect();
    assert_eq!(layers, ["builtin", "admin", "user", "project"]);
    assert_eq!(json["layers"][3]["rules"], 1);
    assert_eq!(json["layers"][1]["files"][0]["rules"], 1);
    let rule = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "no-cat")
        .unwrap();
    assert_eq!(rule["layer"], "project");
}

#[test]
fn policy_show_prints_the_rule_as_written_with_its_place() {
    let env = TestEnv::new();
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nrules:\n  # Listing is fine, but ask first.\n  - id: user-ls\n    description: listing\n    decision: approve\n    match:\n      program: ls\n\n  - id: other\n    decision: deny\n    match: {program: x}\n",
    );
    let output = env
        .gatekeep()
        .args(["policy", "show", "user-ls"])
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!(
        "policy_show_user_rule",
        redact(&env, &String::from_utf8_lossy(&output.stdout))
    );
    let output = env
        .gatekeep()
        .args(["policy", "show", "--json", "user-ls"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["layer"], "user");
    assert_eq!(json["decision"], "approve");
    assert!(
        json["yaml"]
            .as_str()
            .unwrap()
            .starts_with("- id: user-ls\n")
    );
    // A built-in rule shows its place in the library.
    let output = env
        .gatekeep()
        .args(["policy", "show", "rm-recursive-system-path"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with("# built-in rule, builtin:filesystem.yaml:"),
        "{text}"
    );
    assert!(text.contains("- id: rm-recursive-system-path\n"), "{text}");
    // An unknown id: an error with the close ones.
    env.gatekeep()
        .args(["policy", "show", "user-l"])
        .assert()
        .code(125)
        .stderr(predicates::str::contains(
            "no rule `user-l` in the policies in force (did you mean `user-ls`",
        ))
        .stderr(predicates::str::contains("gatekeep policy list --rules"));
}

#[test]
fn policy_init_writes_a_starter_that_keeps_the_library() {
    let env = TestEnv::new();
    let output = env.gatekeep().args(["policy", "init"]).output().unwrap();
    assert!(output.status.success());
    let path = env.root().join("config/gatekeep/policies/local.yaml");
    assert_eq!(
        redact(&env, &String::from_utf8_lossy(&output.stdout)),
        "wrote [ROOT]/config/gatekeep/policies/local.yaml\nit adds to the built-in library; `gatekeep policy list` shows every layer"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.lines().any(|l| l.starts_with("builtin:")), "{text}");
    // It loads, and the library is still in force.
    env.gatekeep().args(["policy", "lint"]).assert().success();
    assert_eq!(
        env.check_json(&["--", "rm", "-rf", "/"])["decision"],
        "deny"
    );
    // It never overwrites without --force.
    std::fs::write(&path, "version: 1\n# mine\n").unwrap();
    env.gatekeep()
        .args(["policy", "init"])
        .assert()
        .code(125)
        .stderr(predicates::str::contains("local.yaml already exists"))
        .stderr(predicates::str::contains("--force"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "version: 1\n# mine\n"
    );
    env.gatekeep()
        .args(["policy", "init", "--force"])
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    // The project's: at the repository's root, from anywhere inside it.
    let repo = repository(&env);
    let output = env
        .gatekeep()
        .current_dir(repo.join("src"))
        .args(["policy", "init", "--project"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with(&format!(
            "wrote {}",
            repo.join(".gatekeep/policies/project.yaml").display()
        )),
    );
    env.gatekeep()
        .current_dir(repo.join("src"))
        .args(["policy", "lint"])
        .assert()
        .success();
    // Outside a repository there is no project to write for.
    env.gatekeep()
        .args(["policy", "init", "--project"])
        .assert()
        .code(125)
        .stderr(predicates::str::contains("is not inside a git repository"));
}

/// The library names no `opaque`: a user's `opaque: supervise` holds with it, and a
/// project's stricter one raises it.
#[test]
fn a_users_opaque_choice_holds_with_the_library_and_a_projects_cannot_lower_it() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let opaque = ["--shell", "eval \"$X\""];
    assert_eq!(decision_in(&env, &repo, &opaque), "approve");
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nopaque: supervise\n",
    );
    assert_eq!(decision_in(&env, &repo, &opaque), "supervise");
    // The library's rules still apply around it.
    assert_eq!(decision_in(&env, &repo, &["--", "rm", "-rf", "/"]), "deny");
    // A project's stricter `opaque` raises it.
    env.write(
        "repo/.gatekeep/policies/p.yaml",
        "version: 1\nopaque: deny\n",
    );
    assert_eq!(decision_in(&env, &repo, &opaque), "deny");
}

/// A project's `approval:` settles who approves its own rules and default, never what
/// nobody could analyse: there the other layers' approvers and timeout hold, also when the
/// project's stricter `opaque` decides.
#[test]
fn a_projects_approval_settings_never_reach_what_cannot_be_analysed() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let opaque = ["--shell", "eval \"$X\""];
    let (_, before, _) = check_in(&env, &repo, &opaque);
    env.write(
        "repo/.gatekeep/policies/p.yaml",
        "version: 1\napproval: {approvers: [\"user:mallory\"], timeout: 720h}\n",
    );
    let (_, after, stderr) = check_in(&env, &repo, &opaque);
    assert_eq!(after["decision"], "approve", "{stderr}");
    assert_eq!(after["approvals"], before["approvals"], "{after}");
    assert_eq!(
        after["timeout_seconds"], before["timeout_seconds"],
        "{after}"
    );
    // With a user's `opaque: supervise`, a project's `opaque: approve` raises the
    // decision, and the user's approvers are asked.
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nopaque: supervise\napproval: {approvers: [\"group:ops\"], timeout: 10m}\n",
    );
    env.write(
        "repo/.gatekeep/policies/p.yaml",
        "version: 1\nopaque: approve\napproval: {approvers: [\"user:mallory\"], timeout: 720h}\n",
    );
    let (_, raised, stderr) = check_in(&env, &repo, &opaque);
    assert_eq!(raised["decision"], "approve", "{stderr}");
    assert_eq!(
        raised["approvals"],
        json!([{"rule": "<opaque>", "approvers": ["group:ops"], "quorum": 1}])
    );
    assert_eq!(raised["timeout_seconds"], 600);
}

/// A project's rule may make a variable's value count, but the value reaches the service
/// only as a digest: a cloned repository cannot copy the user's variables out.
#[test]
fn a_variable_only_a_project_rule_names_is_filed_as_a_digest() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let service = crate::service::Service::start(
        &env,
        &[("alice", &[], false), ("bob", &["reviewers"], true)],
        "",
    );
    env.write(
        "repo/.gatekeep/policies/p.yaml",
        "version: 1\nrules:\n  - {id: legacy, decision: approve, match: {program: touch, env: {LEGACY_VAL: \"*\"}}}\n",
    );
    let output = service
        .as_user(&env, "alice")
        .current_dir(&repo)
        .env("LEGACY_VAL", "dbpass=Tr0ub4dor")
        .env("PGHOST", "db1")
        .args(["run", "--no-wait", "--json", "--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(120),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pending = service.json_of(&env, "bob", &["requests", "--json"]);
    let filed = &pending[0]["env"];
    assert_eq!(
        filed["LEGACY_VAL"],
        "sha256:72f55124af7fab9a0cc242c35180b09c7f9736a9684660cced8234dc921cb012",
        "{pending}"
    );
    assert!(!pending.to_string().contains("Tr0ub4dor"), "{pending}");
}

/// A repository may plant links where `policy init --project` writes: it refuses to write
/// through them, even with --force, and the file they point at keeps its text.
#[test]
fn policy_init_never_writes_through_a_link_in_the_repository() {
    use std::os::unix::fs::symlink;
    let env = TestEnv::new();
    let mine = env.write(
        "config/gatekeep/policies/local.yaml",
        "version: 1\ndefault: approve\n",
    );
    for link in [
        ".gatekeep",
        ".gatekeep/policies",
        ".gatekeep/policies/project.yaml",
    ] {
        let env_repo = env.root().join(format!("repo-{}", link.len()));
        std::fs::create_dir_all(env_repo.join(".git")).unwrap();
        let at = env_repo.join(link);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        let target = match link {
            ".gatekeep" => mine.parent().unwrap().parent().unwrap().to_owned(),
            ".gatekeep/policies" => mine.parent().unwrap().to_owned(),
            _ => mine.clone(),
        };
        symlink(&target, &at).unwrap();
        env.gatekeep()
            .current_dir(&env_repo)
            .args(["policy", "init", "--project", "--force"])
            .assert()
            .code(125)
            .stderr(predicates::str::contains(
                "is a symbolic link; nothing was written",
            ));
        assert_eq!(
            std::fs::read_to_string(&mine).unwrap(),
            "version: 1\ndefault: approve\n",
            "{link}"
        );
    }
}

/// A built-in rule the user dropped leaves its id to the user, not to the repository.
#[test]
fn a_project_cannot_take_the_id_of_a_dropped_builtin_rule() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop: [rm-recursive-system-path]\n",
    );
    env.write(
        "repo/.gatekeep/policies/p.yaml",
        "version: 1\nrules:\n  - {id: rm-recursive-system-path, decision: deny, match: {program: rmdir}}\n",
    );
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125), "{stderr}");
    assert!(
        stderr.contains(
            "p.yaml:3:10: rule id `rm-recursive-system-path` is a built-in rule dropped at"
        ),
        "{stderr}"
    );
}

/// A policy file's extension counts in any case: a `TEAM.YAML` is read, not skipped.
#[test]
fn policy_files_are_found_whatever_the_case_of_their_extension() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "repo/.gatekeep/policies/TEAM.YAML",
        "version: 1\nrules:\n  - {id: no-shred, decision: deny, match: {program: shred}}\n",
    );
    env.write(
        "config/gatekeep/policies/Mine.Yml",
        "version: 1\nrules:\n  - {id: no-dd, decision: deny, match: {program: dd}}\n",
    );
    assert_eq!(decision_in(&env, &repo, &["--", "shred", "f"]), "deny");
    assert_eq!(decision_in(&env, &repo, &["--", "dd", "if=a"]), "deny");
}

/// An administrator may require the library: then no user file, wherever it comes from
/// (the user's directory, `--policy`, `GATEKEEP_POLICY`), switches it off or drops a rule.
#[test]
fn an_administrator_can_require_the_library() {
    let env = TestEnv::new();
    let repo = repository(&env);
    // The administrator's file as docs/policy.md shows it.
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/policy.md")).unwrap();
    let shown = doc
        .split("```yaml\n")
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("require_builtin: true"))
        .expect("docs/policy.md shows require_builtin");
    env.write("admin-policies/base.yaml", shown);
    let off = env.write("elsewhere/off.yaml", "version: 1\nbuiltin: false\n");
    let output = env
        .gatekeep()
        .current_dir(&repo)
        .env("GATEKEEP_POLICY", &off)
        .args(["check", "--", "rm", "-rf", "/"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(125));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("off.yaml:2:10: the administrator requires the built-in library (")
            && said.contains("base.yaml:2:18): a user file cannot switch it off"),
        "{said}"
    );
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\ndrop: [rm-recursive-system-path]\n",
    );
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("mine.yaml:2:8: the administrator requires the built-in library"),
        "{stderr}"
    );
    // Only an administrator's file may say it.
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nrequire_builtin: false\n",
    );
    let (code, _, stderr) = check_in(&env, &repo, &["--", "ls"]);
    assert_eq!(code, Some(125));
    assert!(
        stderr.contains("`require_builtin:` belongs in an administrator file"),
        "{stderr}"
    );
    // Without a user file saying otherwise, the library holds as always.
    std::fs::remove_file(env.root().join("config/gatekeep/policies/mine.yaml")).unwrap();
    assert_eq!(decision_in(&env, &repo, &["--", "rm", "-rf", "/"]), "deny");
}

/// How a user's file says a program reads its options changes what the user's own rules
/// see, never what the library's or the administrator's rules see in a command.
#[test]
fn a_users_program_table_never_changes_what_rules_above_it_read() {
    let env = TestEnv::new();
    let repo = repository(&env);
    env.write(
        "admin-policies/base.yaml",
        "version: 1\nrules:\n  - {id: no-destroy, decision: deny, match: {program: terraform, args: [destroy]}}\n",
    );
    env.write(
        "config/gatekeep/policies/mine.yaml",
        "version: 1\nprograms:\n  rm: {value_options: [-f, --force, -v, -d]}\n  terraform: {value_options: [--verbose]}\nrules:\n  - {id: my-plan, decision: approve, match: {program: terraform, args: [plan]}}\n",
    );
    for line in ["rm -rf /", "rm -r -f /", "rm -v -r /"] {
        assert_eq!(
            decision_in(&env, &repo, &["--shell", line]),
            "deny",
            "{line}"
        );
    }
    assert_eq!(
        decision_in(&env, &repo, &["--shell", "terraform --verbose destroy"]),
        "deny"
    );
    // The user's own rules read commands with the user's table.
    assert_eq!(
        decision_in(&env, &repo, &["--shell", "terraform --verbose x plan"]),
        "approve"
    );
}

/// What the hook answers with a project's file is never looser than without it: an
/// unproven match of a project's hold counts as that hold, not as another layer's `opaque`
/// (which may be supervise or allow, answered "allow").
#[test]
fn a_project_file_never_makes_the_hook_answer_allow() {
    let env = TestEnv::new();
    let repo = repository(&env);
    let hook = |line: &str| -> Value {
        let input = json!({
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": line},
            "cwd": repo,
            "session_id": "s1",
        });
        let output = env
            .gatekeep()
            .args(["hook", "claude-code"])
            .write_stdin(input.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    };
    let decision = |answer: &Value| answer["hookSpecificOutput"]["permissionDecision"].clone();
    for opaque in ["supervise", "allow"] {
        env.write(
            "config/gatekeep/policies/mine.yaml",
            &format!("version: 1\nopaque: {opaque}\n"),
        );
        let _ = std::fs::remove_dir_all(repo.join(".gatekeep"));
        let lines = ["git commit -m \"$(date)\"", "echo $X"];
        let before: Vec<Value> = lines.iter().map(|l| decision(&hook(l))).collect();
        env.write(
            "repo/.gatekeep/policies/p.yaml",
            "version: 1\nrules:\n  - {id: any-hold, decision: approve, match: {any_arg: zzz-never}}\n  - {id: hold-echo, decision: approve, match: {program: echo, any_arg: secret}}\n",
        );
        for (line, before) in lines.iter().zip(&before) {
            let after = decision(&hook(line));
            assert_ne!(after, json!("allow"), "{opaque}: {line} (before: {before})");
        }
    }
}
