//! The corpus of tricky command lines (tests/data/corpus.txt) against the shipped library.

use gatekeep::policy::{Context, Decision, Policy, embedded_sources};
use gatekeep::shell::{NoResolve, analyze_script};

#[test]
fn corpus_decisions_hold() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus.txt");
    let text = std::fs::read_to_string(&path).expect("tests/data/corpus.txt is readable");
    let policy = Policy::load(&embedded_sources()).expect("shipped policies load");
    let ctx = Context {
        user: "tester".into(),
        host: "testhost".into(),
        cwd: "/home/tester".into(),
        ..Context::default()
    };
    let mut failures = Vec::new();
    let mut cases = 0;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (expected, command) = line
            .split_once('\t')
            .unwrap_or_else(|| panic!("line {}: expected DECISION<TAB>COMMAND", number + 1));
        // `agent:DECISION`: the decision expected when an AI agent runs the line.
        let (agent, expected) = match expected.trim().strip_prefix("agent:") {
            Some(decision) => (true, decision),
            None => (false, expected.trim()),
        };
        let expected: Decision =
            serde_json::from_value(serde_json::Value::String(expected.to_owned()))
                .unwrap_or_else(|_| panic!("line {}: unknown decision {expected}", number + 1));
        cases += 1;
        let as_caller = Context {
            agent,
            ..ctx.clone()
        };
        let evaluation = policy.evaluate(&analyze_script(command, &NoResolve), &as_caller);
        if evaluation.decision != expected {
            let rules: Vec<&str> = evaluation.hits.iter().map(|h| h.rule.as_str()).collect();
            failures.push(format!(
                "line {}: `{command}`{}: expected {expected}, got {} (rules {rules:?}, opaque {:?})",
                number + 1,
                if agent { " as an agent" } else { "" },
                evaluation.decision,
                evaluation.opaque
            ));
        }
    }
    assert!(cases >= 150, "the corpus has only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
