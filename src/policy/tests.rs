//! Matcher tests through one helper: a policy, a command line, the expected decision.

use proptest::prelude::*;

use super::{Context, Decision, Policy, Source};
use crate::shell::{NoResolve, analyze_script};

fn policy(yaml: &str) -> Policy {
    Policy::load(&[Source {
        origin: "test.yaml".to_owned(),
        text: yaml.to_owned(),
    }])
    .expect("test policy is valid")
}

fn decide(policy: &Policy, cmd: &str) -> Decision {
    let ctx = Context {
        user: "tester".into(),
        host: "testhost".into(),
        cwd: "/home/tester".into(),
        ..Context::default()
    };
    policy
        .evaluate(&analyze_script(cmd, &NoResolve), &ctx)
        .decision
}

#[track_caller]
fn check(yaml: &str, cmd: &str, expected: Decision) {
    let policy = policy(yaml);
    assert_eq!(decide(&policy, cmd), expected, "command: {cmd}");
}

const PG: &str = r#"
version: 1
rules:
  - id: prod-db
    decision: approve
    match: {program: [pg_dump], options: {"-h|--host": "prod*"}}
"#;

const RM: &str = r#"
version: 1
rules:
  - id: rm-root
    decision: deny
    match: {program: rm, flags: ["-r|-R|--recursive", "-f|--force"], args: [["/", "/[*]"]]}
"#;

use Decision::{Allow, Approve, Deny};

#[test]
fn option_spellings() {
    for cmd in [
        "pg_dump -h prod x",
        "pg_dump -hprod x",
        "pg_dump --host=prod x",
        "pg_dump --host prod x",
        "pg_dump --ho prod x",
        "pg_dump x -h prod",
    ] {
        check(PG, cmd, Approve);
    }
    for cmd in [
        "pg_dump -h localhost prod",
        "pg_dump x",
        "pg_dump -- -h prod",
        "echo pg_dump -h prod",
    ] {
        check(PG, cmd, Allow);
    }
}

#[test]
fn flag_bundles() {
    for cmd in [
        "rm -rf /",
        "rm -fr /",
        "rm -r -f /",
        "rm --recursive --force /",
        "rm -Rf /",
        "rm -rfv /",
        "rm --recur --forc /",
        "rm -rf -- /",
    ] {
        check(RM, cmd, Deny);
    }
    for cmd in ["rm -r /", "rm -rf ./target", "rm -f /"] {
        check(RM, cmd, Allow);
    }
}

#[test]
fn unknown_words_make_rules_unprovable() {
    check(RM, "rm -rf $DIR", Approve);
    check(RM, "echo / | xargs rm -rf", Approve);
    check(RM, "rm -rf \"$DIR\"", Approve);
    check(PG, "pg_dump -h \"$HOST\" app", Approve);
    check(PG, "ls $DIR", Allow);
}

#[test]
fn unless_cancels_and_when_restricts() {
    let yaml = r#"
version: 1
rules:
  - id: tf
    decision: approve
    match: {program: terraform, args: [apply], unless: {flags: ["--dry-run"]}, when: {agent: false}}
"#;
    check(yaml, "terraform apply", Approve);
    check(yaml, "terraform apply --dry-run", Allow);
    check(yaml, "terraform apply --dry", Approve);
}

#[test]
fn unless_needs_every_repeated_option_to_match() {
    let yaml = r#"
version: 1
rules:
  - id: remote-dump
    decision: approve
    match: {program: pg_dump, options: {"-h|--host": "*"}, unless: {options: {"-h|--host": "localhost"}}}
"#;
    check(yaml, "pg_dump -h localhost app", Allow);
    check(yaml, "pg_dump -h localhost -h prod app", Approve);
    check(yaml, "pg_dump -h prod --host=localhost app", Approve);
    check(yaml, "pg_dump -h prod app", Approve);
}

#[test]
fn a_flag_exempts_only_while_its_last_word_turns_it_on() {
    let yaml = r#"
version: 1
rules:
  - id: prune
    decision: approve
    match: {program: restic, args: [prune], unless: {flags: ["-n|--dry-run"]}}
"#;
    for cmd in [
        "restic prune --dry-run",
        "restic prune -n",
        "restic prune --dry-run=true",
        "restic prune -n=1",
        "restic prune --dry-run=false --dry-run",
    ] {
        check(yaml, cmd, Allow);
    }
    for cmd in [
        "restic prune",
        "restic prune --dry-run=false",
        "restic prune -n=false",
        "restic prune --dry-run --dry-run=false",
        "restic prune -n --no-dry-run",
        // `--weird` may take the next word as its value, or not: then the negation counts.
        "restic prune --dry-run --weird --no-dry-run",
        "restic prune -n --weird --dry-run=0",
    ] {
        check(yaml, cmd, Approve);
    }
}

#[test]
fn strictest_decision_and_defaults() {
    let yaml = format!(
        "{PG}\n  - id: rm-root\n    decision: deny\n    match: {{program: rm, args: ['/']}}\n"
    );
    check(&yaml, "pg_dump -h prod x; rm /", Deny);
    check("version: 1\ndefault: deny\n", "ls", Deny);
    check("version: 1\nopaque: deny\n", "eval \"$CMD\"", Deny);
    check("version: 1\n", "eval \"$CMD\"", Approve);
    // Words all known: `eval` runs them as a line, analysed like any other.
    check("version: 1\nopaque: deny\n", "eval ls", Allow);
}

#[test]
fn env_and_wrappers() {
    let yaml = "version: 1\nrules:\n  - id: pghost\n    decision: approve\n    match: {program: pg_dump, env: {PGHOST: 'prod*'}}\n";
    check(yaml, "PGHOST=prod pg_dump app", Approve);
    check(yaml, "export PGHOST=prod; pg_dump app", Approve);
    check(yaml, "env PGHOST=prod pg_dump app", Approve);
    check(yaml, "sudo PGHOST=prod pg_dump app", Approve);
    check(yaml, "env -i pg_dump app", Allow);
    check(yaml, "PGHOST=localhost pg_dump app", Allow);
}

#[test]
fn effective_user() {
    let yaml = "version: 1\nrules:\n  - id: as-postgres\n    decision: deny\n    match: {program: psql, when: {user: postgres}}\n";
    check(yaml, "sudo -u postgres psql", Deny);
    check(yaml, "sudo --user=postgres psql", Deny);
    check(yaml, "su postgres -c psql", Deny);
    check(yaml, "psql", Allow);
}

#[test]
fn report_lists_every_requirement() {
    let yaml = r#"
version: 1
approval: {approvers: ["group:ops"], timeout: 1h}
rules:
  - id: a
    decision: approve
    match: {program: a}
    approval: {approvers: ["group:dba"], quorum: 2, timeout: 30m}
  - id: b
    decision: approve
    match: {program: b}
    approval: {reason_required: true}
"#;
    let policy = policy(yaml);
    let ctx = Context::default();
    let evaluation = policy.evaluate(&analyze_script("a && b", &NoResolve), &ctx);
    assert_eq!(evaluation.decision, Approve);
    assert_eq!(evaluation.approvals.len(), 2);
    assert_eq!(evaluation.approvals[0].approvers, ["group:dba"]);
    assert_eq!(evaluation.approvals[0].quorum, 2);
    assert_eq!(evaluation.approvals[1].approvers, ["group:ops"]);
    assert_eq!(evaluation.timeout_seconds, Some(1800));
    assert!(evaluation.reason_required);
}

fn spellings() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-h prod-db".to_owned()),
        Just("-hprod-db".to_owned()),
        Just("--host=prod-db".to_owned()),
        Just("--host prod-db".to_owned()),
        Just("--hos prod-db".to_owned()),
        Just("-h=prod-db".to_owned()),
    ]
}

proptest! {
    #[test]
    fn every_option_spelling_is_equivalent(spelling in spellings(), extra in prop::sample::select(vec!["", "-v", "--verbose", "-Fc", "--format=c", "-f out.sql"]), db in "[a-z]{1,8}") {
        let policy = policy(PG);
        let cmd = format!("pg_dump {extra} {spelling} {db}");
        prop_assert_eq!(decide(&policy, &cmd), Approve, "{}", cmd);
    }

    #[test]
    fn every_flag_bundle_is_equivalent(order in Just(vec!['r', 'f', 'v']).prop_shuffle(), split in 0usize..3, long in any::<bool>()) {
        let policy = policy(RM);
        let flags = if long {
            "--recursive --force -v".to_owned()
        } else {
            let (a, b) = order.split_at(split.min(order.len()));
            let mut parts = Vec::new();
            if !a.is_empty() { parts.push(format!("-{}", a.iter().collect::<String>())); }
            if !b.is_empty() { parts.push(format!("-{}", b.iter().collect::<String>())); }
            parts.join(" ")
        };
        let cmd = format!("rm {flags} /");
        prop_assert_eq!(decide(&policy, &cmd), Deny, "{}", cmd);
    }
}
