//! Every example in README.md and docs/ is run or checked here.
//!
//! The line right above each fenced block says how, as an HTML comment the rendered page
//! does not show: `<!-- example: KIND ARGS -->`. A block without one fails the test, so a new
//! example cannot go unchecked. The kinds:
//!
//! - `policy`: a whole policy file; `policy lint` and `policy test` must pass on it.
//! - `rules`: a list of rules, checked as the `rules:` of a policy file.
//! - `config`: the client configuration file, loaded as gatekeep loads it.
//! - `server-config`: the service's configuration file, loaded as `gatekeep serve` loads it.
//! - `json [TYPE]`: JSON that parses; with a TYPE (see [`check_typed`]), every key it shows
//!   is one the real type reads and writes back.
//! - `toml`: TOML that parses.
//! - `shell [exits=A,B,…] [dev] [copy=FROM:TO]`: each command line runs in bash in a sealed
//!   environment (gatekeep first on PATH), exiting with the listed codes (0 when none are
//!   listed); `dev` starts `gatekeep serve --dev` first; `copy` puts a file or directory of
//!   the repository in the working directory under another name.
//!   `map=FROM:TO` puts the working directory's TO where a line names FROM (a system path);
//!   `stdin=TEXT` is each line's standard input.
//! - `console [dev] [background]`: a transcript; each `$ ` line runs as in `shell`, and every
//!   line shown under it (`…` standing for anything) appears in what it printed, in order;
//!   with `background` the command keeps running (a server) and is stopped once it has.
//! - `usage`: a usage line; every `--option` it names is in the subcommand's `--help`.
//! - `canonical`: canonical JSON (as signed and digested) that reads back the same.
//! - `canonical-of-above [KEY]`: the canonical JSON of the block above (of its KEY).
//! - `sha256-of-above`: the SHA-256 of the block above's one line, in hex.
//! - `script ARGS…`: the block is written to an executable file and run with ARGS; it
//!   must succeed.
//! - `python [prints-above] [append=FILE]`: runs in python3 and must succeed; with
//!   `prints-above`, what it prints is the block above it; `append` adds the repository's
//!   FILE to the program (calls that exercise what the example defines).
//! - `covered-by NAME`: the test or unit test `NAME` runs this example; its file must name
//!   the document.
//! - `skip REASON`: needs a service these tests cannot reach; the reason is required.
//! - `figure REASON`: a diagram or a format, not something to run; the reason is required.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One fenced block of a document.
#[derive(Debug)]
struct Block {
    /// `FILE:LINE` of the opening fence.
    at: String,
    doc: String,
    language: String,
    body: String,
    marker: Option<String>,
    /// The body of the block before this one in the same document.
    above: Option<String>,
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![repo().join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

fn blocks() -> Vec<Block> {
    let mut found = Vec::new();
    for path in documents() {
        let doc = path
            .strip_prefix(repo())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut above: Option<String> = None;
        let mut i = 0;
        while i < lines.len() {
            let Some(language) = lines[i].trim_start().strip_prefix("```") else {
                i += 1;
                continue;
            };
            let start = i;
            let indent = lines[i].len() - lines[i].trim_start().len();
            let end = (start + 1..lines.len())
                .find(|&j| lines[j].trim_start().starts_with("```"))
                .unwrap_or_else(|| panic!("{doc}:{}: unclosed code block", start + 1));
            let body: String = lines[start + 1..end]
                .iter()
                .map(|l| format!("{}\n", l.get(indent..).unwrap_or(l.trim_start())))
                .collect();
            let marker = start
                .checked_sub(1)
                .map(|k| lines[k].trim())
                .and_then(|l| l.strip_prefix("<!-- example:"))
                .and_then(|l| l.strip_suffix("-->"))
                .map(|l| l.trim().to_owned());
            found.push(Block {
                at: format!("{doc}:{}", start + 1),
                doc: doc.clone(),
                language: language.trim().to_owned(),
                body: body.clone(),
                marker,
                above: above.replace(body),
            });
            i = end + 1;
        }
    }
    found
}

#[test]
fn every_documented_example_is_marked_and_holds() {
    let blocks = blocks();
    assert!(blocks.len() > 50, "found only {} blocks", blocks.len());
    let mut failures = Vec::new();
    for block in &blocks {
        let outcome = match &block.marker {
            None => Err(format!(
                "no `<!-- example: KIND -->` line above this ```{} block",
                block.language
            )),
            Some(marker) => run_example(block, marker),
        };
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}", block.at));
        }
    }
    assert!(
        failures.is_empty(),
        "{} documented example(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn run_example(block: &Block, marker: &str) -> Result<(), String> {
    let mut words = marker.split_whitespace();
    let kind = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    match kind {
        "policy" => check_policy(&block.body),
        "rules" if block.body.starts_with("rules:") => {
            check_policy(&format!("version: 1\n{}", block.body))
        }
        "rules" => {
            let indented: String = block.body.lines().map(|l| format!("  {l}\n")).collect();
            check_policy(&format!("version: 1\nrules:\n{indented}"))
        }
        "config" => {
            let env = TestEnv::new();
            let path = env.write("config.yaml", &block.body);
            gatekeep::config::Config::load(&path)
                .map(drop)
                .map_err(|e| e.to_string())
        }
        "server-config" => {
            let env = TestEnv::new();
            let path = env.write("server.yaml", &block.body);
            gatekeep::server::ServerConfig::load(&path)
                .map(drop)
                .map_err(|e| e.to_string())
        }
        "json" if args.first() == Some(&"member") => {
            serde_json::from_str::<serde_json::Value>(&format!("{{{}}}", block.body))
                .map(drop)
                .map_err(|e| format!("not a JSON object member: {e}"))
        }
        "json" => {
            let value: serde_json::Value =
                serde_json::from_str(&block.body).map_err(|e| format!("not JSON: {e}"))?;
            match args.first() {
                Some(name) => check_typed(name, &value),
                None => Ok(()),
            }
        }
        "canonical" => {
            let value: serde_json::Value =
                serde_json::from_str(&block.body).map_err(|e| format!("not JSON: {e}"))?;
            same(&gatekeep::approval::canonical_json(&value), &block.body)
        }
        "canonical-of-above" => {
            let above: serde_json::Value =
                serde_json::from_str(block.above.as_deref().unwrap_or_default())
                    .map_err(|e| format!("the block above is not JSON: {e}"))?;
            let part = args.first().map_or(&above, |key| &above[*key]);
            same(&gatekeep::approval::canonical_json(part), &block.body)
        }
        "sha256-of-above" => {
            use sha2::Digest as _;
            let above = block.above.as_deref().unwrap_or_default();
            let digest = hex::encode(sha2::Sha256::digest(above.trim_end_matches('\n')));
            same(&digest, &block.body)
        }
        "usage" => check_usage(&block.body),
        "toml" => python(
            "import sys, tomllib\ntomllib.loads(sys.stdin.read())\n",
            &block.body,
        )
        .map(drop),
        "shell" => run_shell(block, &args),
        "console" => run_console(block, &args),
        "script" => run_script(block, &args),
        "python" => {
            let mut program = block.body.clone();
            for file in args.iter().filter_map(|a| a.strip_prefix("append=")) {
                program.push_str(&std::fs::read_to_string(repo().join(file)).unwrap());
            }
            let printed = python(&program, "")?;
            if args.contains(&"prints-above") {
                let above = block.above.as_deref().unwrap_or_default();
                if printed.trim() != above.trim() {
                    return Err(format!(
                        "prints {:?}, the block above says {:?}",
                        printed.trim(),
                        above.trim()
                    ));
                }
            }
            Ok(())
        }
        "covered-by" => covered_by(block, args.first().copied().unwrap_or_default()),
        "skip" | "figure" if !args.is_empty() => Ok(()),
        "skip" | "figure" => Err(format!("`{kind}` needs a reason")),
        other => Err(format!("unknown example kind `{other}`")),
    }
}

/// Whether a block says exactly `expected` (one line, or text ending in a newline).
fn same(expected: &str, body: &str) -> Result<(), String> {
    if expected.trim_end() == body.trim_end() {
        Ok(())
    } else {
        Err(format!("the block should read {:?}", expected.trim_end()))
    }
}

/// A usage line: every `--option` it names is one `gatekeep SUBCOMMAND --help` lists.
fn check_usage(body: &str) -> Result<(), String> {
    let words: Vec<&str> = body.split_whitespace().collect();
    if words.first() != Some(&"gatekeep") || words.len() < 2 {
        return Err("a usage line starts with `gatekeep SUBCOMMAND`".into());
    }
    // The subcommand's words (`mcp proxy`): up to the first option or placeholder.
    let depth = words[1..]
        .iter()
        .take_while(|w| {
            w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
        })
        .count()
        .max(1);
    let subcommand = words[1..=depth].join(" ");
    let env = TestEnv::new();
    let output = env
        .gatekeep_std()
        .args(&words[1..=depth])
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for word in &words[1 + depth..] {
        let option: String = word
            .trim_start_matches('[')
            .chars()
            .take_while(|c| *c == '-' || c.is_ascii_alphanumeric())
            .collect();
        if option.starts_with("--") && !help.contains(&option) {
            return Err(format!("`gatekeep {subcommand} --help` has no {option}"));
        }
    }
    Ok(())
}

fn check_policy(text: &str) -> Result<(), String> {
    let env = TestEnv::new();
    let path = env.write("example.yaml", text);
    for command in ["lint", "test"] {
        let output = env
            .gatekeep_std()
            .args(["policy", command])
            .arg(&path)
            .output()
            .unwrap();
        if !output.status.success() {
            return Err(format!(
                "`gatekeep policy {command}` fails: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(())
}

/// Keys of `shown` the type does not read back, as dotted paths.
fn unknown_keys(shown: &serde_json::Value, real: &serde_json::Value, path: &str) -> Vec<String> {
    use serde_json::Value;
    match (shown, real) {
        (Value::Object(shown), Value::Object(real)) => shown
            .iter()
            .flat_map(|(key, value)| match real.get(key) {
                None => vec![format!("{path}{key}")],
                Some(again) => unknown_keys(value, again, &format!("{path}{key}.")),
            })
            .collect(),
        (Value::Array(shown), Value::Array(real)) => shown
            .iter()
            .zip(real)
            .flat_map(|(a, b)| unknown_keys(a, b, path))
            .collect(),
        _ => Vec::new(),
    }
}

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: &serde_json::Value,
) -> Result<serde_json::Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    Ok(serde_json::to_value(typed).unwrap())
}

/// Reads `value` as the named wire type and writes it back: a key the type does not know
/// (a typo, a renamed field) is reported.
fn check_typed(name: &str, value: &serde_json::Value) -> Result<(), String> {
    use gatekeep::approval as api;
    let real = match name {
        "new-request" => round_trip::<api::NewRequest>(value),
        "request" => round_trip::<api::RequestView>(value),
        "created" => round_trip::<api::Created>(value),
        "review" => round_trip::<api::NewReview>(value),
        "error" => round_trip::<api::ApiError>(value),
        "witness-proof" => round_trip::<api::WitnessProof>(value),
        "witnessed" => round_trip::<api::Witnessed>(value),
        "list" => {
            let items = value["requests"]
                .as_array()
                .ok_or("no `requests` array")?
                .iter()
                .map(round_trip::<api::RequestView>)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(serde_json::json!({ "requests": items }))
        }
        other => return Err(format!("unknown JSON type `{other}`")),
    }
    .map_err(|e| format!("does not read as {name}: {e}"))?;
    let unknown = unknown_keys(value, &real, "");
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!("keys {name} does not have: {}", unknown.join(", ")))
    }
}

const WEBHOOK_SECRET: &str = "a long random string";
const WEBHOOK_BODY: &str = r#"{"type":"request.created"}"#;

fn python(program: &str, stdin: &str) -> Result<String, String> {
    // What the service's webhooks really send, for the receiver's example to check.
    let now = jiff::Timestamp::now().as_second();
    let header =
        gatekeep::server::webhooks::signature(WEBHOOK_SECRET, now, WEBHOOK_BODY.as_bytes());
    let mut child = Command::new("python3")
        .args(["-c", program])
        .current_dir(repo())
        .env("DOC_WEBHOOK_HEADER", header)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start python3: {e}"))?;
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        return Err(format!(
            "python3 fails: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A sealed environment for shell examples: gatekeep first on PATH, and optionally a
/// development server in the background, found by the clients through its file.
struct Sandbox {
    env: TestEnv,
    work: PathBuf,
    _server: Option<KillOnDrop>,
}

impl Sandbox {
    fn new(args: &[&str]) -> Result<Sandbox, String> {
        let env = TestEnv::new();
        let work = env.root().join("work");
        std::fs::create_dir_all(&work).unwrap();
        for copy in args.iter().filter_map(|a| a.strip_prefix("copy=")) {
            let (from, to) = copy.split_once(':').ok_or("copy=FROM:TO")?;
            let status = Command::new("cp")
                .arg("-r")
                .arg(repo().join(from))
                .arg(work.join(to))
                .status()
                .unwrap();
            if !status.success() {
                return Err(format!("cannot copy {from}"));
            }
        }
        let server = if args.contains(&"dev") {
            let mut child = env
                .gatekeep_std()
                .args(["serve", "--dev"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let printed = Lines::collect(child.stdout.take().unwrap());
            let _log = Lines::collect(child.stderr.take().unwrap());
            printed.wait_for("# reviewer");
            Some(KillOnDrop(child))
        } else {
            None
        };
        Ok(Sandbox {
            env,
            work,
            _server: server,
        })
    }

    /// Runs one command line in bash; its exit code and everything it printed.
    fn run(&self, line: &str) -> (i32, String) {
        self.run_with(line, "")
    }

    /// bash running `line` in the working directory, gatekeep first on PATH, its standard
    /// error joined to its output.
    fn bash(&self, line: &str) -> Command {
        let bin = assert_cmd::cargo::cargo_bin("gatekeep");
        let mut command = self.env.std_command("bash");
        command
            .args(["-c", &format!("exec 2>&1\n{line}")])
            .current_dir(&self.work)
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    bin.parent().unwrap().display()
                ),
            );
        command
    }

    /// As [`Sandbox::run`], with `stdin` on standard input.
    fn run_with(&self, line: &str, stdin: &str) -> (i32, String) {
        let mut command = self.bash(line);
        command
            .env("COLUMNS", "100")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = command.spawn().unwrap();
        use std::io::Write as _;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.replace("\\n", "\n").as_bytes());
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    }
}

impl Sandbox {
    /// Starts a command that keeps running (a server), waits until it has printed what the
    /// transcript shows, and stops it.
    fn watch(&self, command: &str, shown: &[&str]) -> Result<(), String> {
        let mut child = KillOnDrop(
            self.bash(&format!("exec {command}"))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let printed = Lines::collect(child.0.stdout.take().unwrap());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match transcript_holds(shown, &printed.text()) {
                Ok(()) => return Ok(()),
                Err(e) if std::time::Instant::now() > deadline => {
                    return Err(format!("`{command}`: {e}"));
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
}

fn command_lines(body: &str) -> Vec<String> {
    body.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn run_shell(block: &Block, args: &[&str]) -> Result<(), String> {
    let sandbox = Sandbox::new(args)?;
    let lines = command_lines(&block.body);
    let exits: Vec<i32> = match args.iter().find_map(|a| a.strip_prefix("exits=")) {
        Some(list) => list
            .split(',')
            .map(|c| c.parse().map_err(|_| format!("bad exit code {c}")))
            .collect::<Result<_, _>>()?,
        None => vec![0; lines.len()],
    };
    if exits.len() != lines.len() {
        return Err(format!(
            "{} command lines but {} exit codes",
            lines.len(),
            exits.len()
        ));
    }
    let stdin = args
        .iter()
        .find_map(|a| a.strip_prefix("stdin="))
        .unwrap_or_default();
    for (line, expected) in lines.iter().zip(exits) {
        let mut line = line.clone();
        for map in args.iter().filter_map(|a| a.strip_prefix("map=")) {
            let (from, to) = map.split_once(':').ok_or("map=FROM:TO")?;
            std::fs::create_dir_all(sandbox.work.join(to)).unwrap();
            line = line.replace(from, &sandbox.work.join(to).display().to_string());
        }
        let (code, printed) = sandbox.run_with(&line, stdin);
        if code != expected {
            return Err(format!(
                "`{line}` exits {code}, the example says {expected}: {printed}"
            ));
        }
    }
    Ok(())
}

/// Whether every line of `shown` appears in `printed`, in order; `…` in a shown line stands
/// for any text.
fn transcript_holds(shown: &[&str], printed: &str) -> Result<(), String> {
    let mut rest = printed.lines();
    for want in shown {
        let pieces: Vec<&str> = want.trim().split('…').filter(|p| !p.is_empty()).collect();
        if pieces.is_empty() {
            continue;
        }
        let found = rest.by_ref().any(|line| {
            let mut at = 0;
            pieces.iter().all(|piece| match line[at..].find(piece) {
                Some(i) => {
                    at += i + piece.len();
                    true
                }
                None => false,
            })
        });
        if !found {
            return Err(format!("`{want}` is not in the output:\n{printed}"));
        }
    }
    Ok(())
}

fn run_console(block: &Block, args: &[&str]) -> Result<(), String> {
    let sandbox = Sandbox::new(args)?;
    let mut steps: Vec<(String, Vec<&str>)> = Vec::new();
    for line in block.body.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_owned(), Vec::new())),
            None => steps
                .last_mut()
                .ok_or("a transcript starts with a `$ ` line")?
                .1
                .push(line),
        }
    }
    for (command, shown) in &steps {
        if args.contains(&"background") {
            sandbox.watch(command, shown)?;
            continue;
        }
        let (_, printed) = sandbox.run(command);
        transcript_holds(shown, &printed).map_err(|e| format!("`{command}`: {e}"))?;
    }
    Ok(())
}

fn run_script(block: &Block, args: &[&str]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new(&[])?;
    // A script's first line is its `#!` line; comments above it are the doc's.
    let body: String = block
        .body
        .lines()
        .skip_while(|l| !l.starts_with("#!"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = sandbox.work.join("example-script");
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let (code, printed) = sandbox.run(&format!("./example-script {}", quoted.join(" ")));
    if code == 0 {
        Ok(())
    } else {
        Err(format!("the script exits {code}: {printed}"))
    }
}

/// The test that runs a block must exist and must read the block's document.
fn covered_by(block: &Block, name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("`covered-by` needs a test name".into());
    }
    let needle = format!("fn {name}(");
    let mut dirs = vec![repo().join("tests/it"), repo().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if text.contains(&needle) {
                return if text.contains(&block.doc) {
                    Ok(())
                } else {
                    Err(format!(
                        "{} has `{name}` but never reads {}",
                        path.display(),
                        block.doc
                    ))
                };
            }
        }
    }
    Err(format!("no test named `{name}`"))
}

#[test]
fn a_transcript_line_must_appear_in_order() {
    assert!(transcript_holds(&["a…c", "d"], "abc\nd\n").is_ok());
    assert!(transcript_holds(&["d", "a…c"], "abc\nd\n").is_err());
    assert!(transcript_holds(&["x"], "abc\n").is_err());
}

#[test]
fn an_unmarked_block_is_reported() {
    let block = Block {
        at: "x.md:1".into(),
        doc: "x.md".into(),
        language: "json".into(),
        body: "{\"request\": 1}\n".into(),
        marker: None,
        above: None,
    };
    assert!(run_example(&block, "json").is_ok());
    assert!(run_example(&block, "json request").is_err());
    assert!(run_example(&block, "skip").is_err());
    assert!(run_example(&block, "frobnicate").is_err());
}
