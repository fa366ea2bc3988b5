//! Policy compilation and evaluation with generated rule sets of 200 and 1,000 rules.
//!
//! `cargo bench --bench policy`; figures go in docs/performance.md.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gatekeep::policy::{Context, Policy, Source, embedded_sources};
use gatekeep::shell::{NoResolve, analyze_argv, analyze_script};

/// A policy with `n` rules over `n / 4` programs, mixing every kind of condition.
fn generated(n: usize) -> Vec<Source> {
    let mut text = String::from("version: 1\nrules:\n");
    for i in 0..n {
        let program = format!("tool{}", i / 4);
        let condition = match i % 4 {
            0 => format!("options: {{\"-h|--host\": \"prod{i}*\"}}"),
            1 => format!("flags: [\"-r|--recursive\", \"-f|--force\"], args: [\"/srv/{i}\"]"),
            2 => format!("args: [delete, [ns{i}, namespace{i}]]"),
            _ => format!("any_arg: [\"re:(?i)drop\\\\s+table{i}\"]"),
        };
        writeln!(text, "  - id: rule-{i}\n    decision: approve\n    match: {{program: {program}, {condition}}}").unwrap();
    }
    vec![Source {
        origin: format!("generated-{n}.yaml"),
        text,
    }]
}

fn bench(c: &mut Criterion) {
    let ctx = Context {
        user: "u".into(),
        host: "h".into(),
        cwd: "/".into(),
        ..Context::default()
    };
    let argv: Vec<String> = ["sudo", "-u", "postgres", "tool3", "-h", "prod-db", "app"]
        .map(String::from)
        .to_vec();
    let script = "cd /srv && timeout 30 bash -c 'tool7 --recursive --force /srv/29 | gzip > out' && echo done";
    for n in [200, 1000] {
        let sources = generated(n);
        c.bench_function(&format!("compile {n} rules"), |b| {
            b.iter(|| Policy::load(black_box(&sources)).unwrap())
        });
        let policy = Policy::load(&sources).unwrap();
        // What a cache hit costs instead of compiling (see `SourceSet::load_cached`): the
        // header; rules are read when a command needs them.
        let entry = cache_entry(&policy);
        c.bench_function(&format!("read compiled {n} rules from the cache"), |b| {
            b.iter(|| Policy::from_cache(black_box(entry.path())).unwrap())
        });
        c.bench_function(&format!("evaluate argv, {n} rules"), |b| {
            b.iter(|| policy.evaluate(&analyze_argv(black_box(&argv), &NoResolve), &ctx))
        });
        c.bench_function(&format!("evaluate shell-wrapped script, {n} rules"), |b| {
            b.iter(|| policy.evaluate(&analyze_script(black_box(script), &NoResolve), &ctx))
        });
    }
    let shipped = embedded_sources();
    c.bench_function("compile shipped library", |b| {
        b.iter(|| Policy::load(black_box(&shipped)).unwrap())
    });
    let entry = cache_entry(&Policy::load(&shipped).unwrap());
    c.bench_function("read compiled shipped library from the cache", |b| {
        b.iter(|| Policy::from_cache(black_box(entry.path())).unwrap())
    });
    // SQL is parsed only for the database clients' rules: what reading it costs.
    let library = Policy::load(&shipped).unwrap();
    let sql = "psql -h prod-db app <<'EOF'\n\\set t users\nselect 1;\n/* tidy */ DELETE FROM :t WHERE id = 4;\nEOF";
    c.bench_function("evaluate psql with a here-document, shipped library", |b| {
        b.iter(|| library.evaluate(&analyze_script(black_box(sql), &NoResolve), &ctx))
    });
}

/// The policy written as a cache entry, in a temporary file.
fn cache_entry(policy: &Policy) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), policy.to_cache().unwrap()).unwrap();
    file
}

criterion_group!(benches, bench);
criterion_main!(benches);
