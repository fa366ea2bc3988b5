//! Any text as a policy file: loading reports problems, never panics; a policy that loads
//! evaluates commands and tool calls without panicking.
#![no_main]

use gatekeep::policy::{Context, Policy, Source};
use gatekeep::shell::{NoResolve, analyze_script};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source {
        origin: "fuzz.yaml".to_owned(),
        text: text.to_owned(),
    };
    if let Ok(policy) = Policy::load(&[source]) {
        let ctx = Context::default();
        for command in [
            "rm -rf /",
            "sudo -u postgres psql -h prod -c 'drop table x'",
            "kubectl delete ns prod",
            "env -i A=1 bash -c 'cd /etc && tar --to-command=sh -xf x'",
        ] {
            let _ = policy.evaluate(&analyze_script(command, &NoResolve), &ctx);
        }
        let input = serde_json::json!({"file_path": "/etc/passwd", "n": 3, "list": ["a", 1]});
        let _ = policy.evaluate_tool("Write", &input, &ctx);
    }
});
