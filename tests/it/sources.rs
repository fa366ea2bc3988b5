//! Which policy sources are in force.

use predicates::prelude::*;

use crate::common::TestEnv;

const DENY_RM: &str =
    "version: 1\nrules:\n  - id: admin-no-rm\n    decision: deny\n    match: {program: rm}\n";
const APPROVE_LS: &str =
    "version: 1\nrules:\n  - id: user-ls\n    decision: approve\n    match: {program: ls}\n";

#[test]
fn embedded_library_is_the_default() {
    let env = TestEnv::new();
    env.gatekeep()
        .args(["policy", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("built-in library"))
        .stdout(predicate::str::contains("builtin:"));
    assert_eq!(
        env.check_json(&["--", "rm", "-rf", "/"])["decision"],
        "deny"
    );
    assert_eq!(env.check_json(&["--", "ls"])["decision"], "allow");
}

#[test]
fn administrator_policies_cannot_be_switched_off() {
    let env = TestEnv::new();
    env.write("admin-policies/base.yaml", DENY_RM);
    let user = env.write("user.yaml", APPROVE_LS);
    let json = env.check_json(&["--policy", user.to_str().unwrap(), "--", "rm", "x"]);
    assert_eq!(json["decision"], "deny");
    let output = env
        .gatekeep()
        .env("GATEKEEP_POLICY", user.to_str().unwrap())
        .args(["check", "--json", "--", "rm", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"deny\""));
    assert_eq!(
        env.check_json(&["--policy", user.to_str().unwrap(), "--", "ls"])["decision"],
        "approve"
    );
}

#[test]
fn a_user_file_adds_to_the_library_and_env_list_takes_the_directorys_place() {
    let env = TestEnv::new();
    env.write("config/gatekeep/policies/mine.yaml", APPROVE_LS);
    assert_eq!(env.check_json(&["--", "ls"])["decision"], "approve");
    // The library still applies: a policy file of one's own switches nothing off.
    let json = env.check_json(&["--", "rm", "-rf", "/"]);
    assert_eq!(json["decision"], "deny", "{json}");
    assert_eq!(json["rules"][0]["id"], "rm-recursive-system-path", "{json}");
    assert_eq!(json["warnings"], serde_json::json!([]));
    let a = env.write("a.yaml", DENY_RM);
    let b = env.write("b.yaml", "version: 1\ndefault: approve\n");
    let list = format!("{}:{}", a.display(), b.display());
    let output = env
        .gatekeep()
        .env("GATEKEEP_POLICY", &list)
        .args(["check", "--json", "--", "ls"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["decision"], "approve");
    assert_eq!(json["approvals"][0]["rule"], "<default>");
    // The list replaces the user's directory, not the library.
    let output = env
        .gatekeep()
        .env("GATEKEEP_POLICY", &list)
        .args(["check", "--json", "--", "rm", "-rf", "/"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["decision"], "deny");
    assert_eq!(json["rules"][0]["id"], "rm-recursive-system-path", "{json}");
    assert_eq!(
        env.check_json(&["--policy", a.to_str().unwrap(), "--", "ls"])["decision"],
        "allow",
        "--policy takes the directory's place: its `ls` rule is not in force"
    );
}

#[test]
fn missing_policy_path_fails_closed() {
    let env = TestEnv::new();
    env.gatekeep()
        .args(["check", "--policy", "/nonexistent/p.yaml", "--", "ls"])
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "cannot read policy /nonexistent/p.yaml",
        ));
}

#[test]
fn compiled_policies_are_cached_by_content_and_never_for_admin_rules() {
    let env = TestEnv::new();
    let cache = env.root().join("home/.cache/gatekeep");
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&cache)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    };
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: no-rm\n    decision: deny\n    match: {program: rm}\n",
    );
    let decision = |cmd: &str| {
        let json = env.check_json(&["--policy", policy.to_str().unwrap(), "--", cmd]);
        json["decision"].as_str().unwrap().to_owned()
    };
    assert_eq!(decision("rm"), "deny");
    assert_eq!(entries().len(), 1, "one compiled entry");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&entries()[0])
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // A hit gives the same answer.
    assert_eq!(decision("rm"), "deny");
    assert_eq!(decision("ls"), "allow");
    // A changed file is another entry: the new rules apply at once.
    std::fs::write(
        &policy,
        "version: 1\nrules:\n  - id: no-ls\n    decision: deny\n    match: {program: ls}\n",
    )
    .unwrap();
    assert_eq!(decision("ls"), "deny");
    assert_eq!(decision("rm"), "allow");
    assert_eq!(entries().len(), 2);
    // A damaged entry is ignored and rewritten: one that does not parse, and one that
    // parses but no longer matches its digest.
    for entry in entries() {
        std::fs::write(entry, b"{ not a policy").unwrap();
    }
    assert_eq!(decision("ls"), "deny");
    for entry in entries() {
        let text = std::fs::read_to_string(&entry).unwrap();
        if text.contains("no-ls") {
            assert!(text.contains(r#""decision":"deny""#), "{text}");
            std::fs::write(
                &entry,
                text.replace(r#""decision":"deny""#, r#""decision":"allow""#),
            )
            .unwrap();
        }
    }
    // The rule is read when a command needs it, no longer matches its digest, and denies.
    assert_eq!(decision("ls"), "deny");
    let output = env
        .gatekeep()
        .args(["check", "--policy", policy.to_str().unwrap(), "--", "ls"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("no longer reads back from the compiled-policy cache"),
        "{text}"
    );
    // With administrator rules in force nothing is cached: they must come from their files.
    std::fs::remove_dir_all(&cache).unwrap();
    env.write(
        "admin-policies/admin.yaml",
        "version: 1\nrules:\n  - id: admin-no-dd\n    decision: deny\n    match: {program: dd}\n",
    );
    assert_eq!(decision("dd"), "deny");
    assert!(entries().is_empty(), "{:?}", entries());
}

#[test]
fn the_cache_keeps_only_the_newest_entries() {
    let env = TestEnv::new();
    let cache = env.root().join("home/.cache/gatekeep");
    for n in 0..20 {
        let policy = env.write(
            "p.yaml",
            &format!("version: 1\nrules:\n  - id: r{n}\n    decision: deny\n    match: {{program: p{n}}}\n"),
        );
        let json = env.check_json(&["--policy", policy.to_str().unwrap(), "--", &format!("p{n}")]);
        assert_eq!(json["decision"], "deny");
    }
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 16);
}

/// A cache entry whose header is rewritten with a new digest (anyone who can write the
/// cache can compute one) and rule lengths past its end, or a FIFO in its place, is a
/// miss: gatekeep reads the policy from its files and answers, never aborting.
#[test]
fn a_forged_or_blocking_cache_entry_is_a_miss() {
    use sha2::Digest as _;
    let env = TestEnv::new();
    let cache = env.root().join("home/.cache/gatekeep");
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: no-rm\n    decision: deny\n    match: {program: rm}\n",
    );
    let decision = || {
        let json = env.check_json(&["--policy", policy.to_str().unwrap(), "--", "rm", "x"]);
        json["decision"].as_str().unwrap().to_owned()
    };
    assert_eq!(decision(), "deny");
    let entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("policy-")
        })
        .unwrap();
    let text = std::fs::read_to_string(&entry).unwrap();
    let mut lines = text.splitn(3, '\n');
    let (_, header, rest) = (
        lines.next().unwrap(),
        lines.next().unwrap(),
        lines.next().unwrap(),
    );
    let mut parsed: serde_json::Value = serde_json::from_str(header).unwrap();
    for rule in parsed["rules"].as_array_mut().unwrap() {
        rule[1] = serde_json::json!(1u64 << 40);
    }
    let forged = parsed.to_string();
    let digest = hex::encode(sha2::Sha256::digest(forged.as_bytes()));
    std::fs::write(&entry, format!("{digest}\n{forged}\n{rest}")).unwrap();
    assert_eq!(decision(), "deny");
    std::fs::remove_file(&entry).unwrap();
    nix::unistd::mkfifo(&entry, nix::sys::stat::Mode::S_IRWXU).unwrap();
    assert_eq!(decision(), "deny");
}
