//! Any text as a shell command line: analysis marks what it cannot follow as opaque, never
//! panics, and evaluating the result against the shipped rules never panics either.
#![no_main]

use std::sync::OnceLock;

use gatekeep::policy::{Context, Policy, embedded_sources};
use gatekeep::shell::{NoResolve, analyze_argv, analyze_script};
use libfuzzer_sys::fuzz_target;

fn shipped() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| Policy::load(&embedded_sources()).expect("the shipped rules load"))
}

fuzz_target!(|data: &[u8]| {
    // A panic inside the analysis (the bash parser has a few on odd input) is caught by
    // gatekeep and makes the command opaque, as in production; libFuzzer's own hook would
    // abort first, so it is kept for every other panic only.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !gatekeep::shell::analysing() {
                abort(info);
            }
        }));
    });
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = Context::default();
    let analysis = analyze_script(text, &NoResolve);
    let _ = shipped().evaluate(&analysis, &ctx);
    // The same bytes as an argument vector (split on NUL), as `gatekeep run` sees one.
    let argv: Vec<String> = text.split('\0').map(str::to_owned).collect();
    let _ = shipped().evaluate(&analyze_argv(&argv, &NoResolve), &ctx);
});
