//! `gatekeep log tail`: recent records, one line each, optionally following new ones.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use crate::audit::{self, Record};
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Keep printing records as they are appended (across rotations).
    #[arg(short, long)]
    pub follow: bool,
    /// How many records to show first.
    #[arg(short = 'n', long = "lines", default_value_t = 10)]
    pub lines: usize,
    /// Print the raw JSON records (for log shippers).
    #[arg(long)]
    pub json: bool,
    /// Only records of this event (decision, exec, exit…).
    #[arg(long)]
    pub event: Option<String>,
    /// Only runs with this decision.
    #[arg(long)]
    pub decision: Option<String>,
    /// Only runs of this user.
    #[arg(long)]
    pub user: Option<String>,
}

/// The strings of an array field, each rendered, joined.
fn joined(record: &Record, key: &str, separator: &str) -> String {
    record
        .value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(render::text)
                .collect::<Vec<_>>()
                .join(separator)
        })
        .unwrap_or_default()
}

/// An argument vector field, rendered as the command it is.
fn command(record: &Record, key: &str) -> String {
    let argv: Vec<&str> = record
        .value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    render::command(&argv)
}

/// A string field, rendered.
fn field<'a>(record: &Record, key: &str, missing: &'a str) -> std::borrow::Cow<'a, str> {
    match record.str(key) {
        Some(value) => render::text(value).into(),
        None => missing.into(),
    }
}

/// What is known about each run from its decision record: user, decision, rules and
/// command, as they are shown (rendered), and the raw user and decision for the filters.
#[derive(Default)]
struct Runs {
    by_id: HashMap<String, (String, String, String, String)>,
}

impl Runs {
    fn learn(&mut self, record: &Record) {
        if record.event() != "decision" {
            return;
        }
        let Some(run_id) = record.str("run_id") else {
            return;
        };
        let argv = command(record, "argv");
        let rules = joined(record, "rules", ",");
        let user = record.str("user").unwrap_or_default().to_owned();
        let decision = record.str("decision").unwrap_or_default().to_owned();
        self.by_id
            .insert(run_id.to_owned(), (user, decision, rules, argv));
    }

    fn of(&self, record: &Record) -> Option<&(String, String, String, String)> {
        record.str("run_id").and_then(|id| self.by_id.get(id))
    }
}

impl Args {
    fn keep(&self, record: &Record, runs: &Runs) -> bool {
        let run = runs.of(record);
        self.event.as_deref().is_none_or(|e| record.event() == e)
            && self
                .decision
                .as_deref()
                .is_none_or(|d| run.is_some_and(|r| r.1 == d))
            && self
                .user
                .as_deref()
                .is_none_or(|u| run.map_or(record.str("user"), |r| Some(r.0.as_str())) == Some(u))
    }

    fn print(&self, out: &mut impl Write, record: &Record, runs: &Runs) -> std::io::Result<()> {
        if self.json {
            return writeln!(out, "{}", render::json_line(&record.value));
        }
        let ts = field(record, "ts", "");
        let seq = record.seq().unwrap_or_default();
        let dim = Style::new().dimmed();
        let (user, decision, rules, argv) = runs.of(record).cloned().unwrap_or_default();
        let (user, shown_decision) = (render::text(&user), render::text(&decision));
        let detail = match record.event() {
            "decision" => {
                let style = match decision.as_str() {
                    "allow" => AnsiColor::Green.on_default(),
                    "approve" => AnsiColor::Yellow.on_default(),
                    _ => AnsiColor::Red.on_default(),
                }
                .bold();
                let rules = if rules.is_empty() {
                    "-".to_owned()
                } else {
                    rules
                };
                format!("{user}  {style}{shown_decision}{style:#}  {rules}  {argv}")
            }
            "exec" => format!(
                "{user}  exec pid {}  {argv}",
                record.value.get("pid").unwrap_or(&Value::Null)
            ),
            "exit" => {
                let status = record
                    .value
                    .get("status")
                    .and_then(Value::as_u64)
                    .unwrap_or_default();
                let how = match (
                    record.value.get("signal").and_then(Value::as_i64),
                    record.str("error"),
                ) {
                    (_, Some(error)) => format!("exit {status} ({})", render::text(error)),
                    (Some(signal), _) => format!("exit {status} (signal {signal})"),
                    _ => format!(
                        "exit {status} ({} ms)",
                        record.value.get("duration_ms").unwrap_or(&Value::Null)
                    ),
                };
                format!("{user}  {how}  {argv}")
            }
            "refused" => {
                let red = AnsiColor::Red.on_default().bold();
                format!(
                    "{red}refused{red:#}  {}  {}",
                    field(record, "error", "-"),
                    command(record, "argv")
                )
            }
            "hook" => {
                let answer = field(record, "answer", "-");
                let session = record
                    .str("agent_session")
                    .map(|s| format!(" session {}", render::text(s)))
                    .unwrap_or_default();
                format!("{user}  hook answered {answer}{session}  {argv}")
            }
            event if event.starts_with("approval_") => {
                let id = field(record, "request_id", "-");
                let reviewers = Some(joined(record, "reviewers", ","))
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(" by {r}"))
                    .unwrap_or_default();
                format!(
                    "{user}  {}{reviewers}  {id}  {argv}",
                    render::text(event.trim_start_matches("approval_"))
                )
            }
            other => {
                let extra = ["chain_id", "previous", "records", "length"]
                    .iter()
                    .filter_map(|k| {
                        record
                            .value
                            .get(*k)
                            .map(|v| format!("{k}={}", render::json_line(v)))
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{} {extra}", render::text(other))
            }
        };
        writeln!(out, "{dim}{ts}{dim:#} {dim}#{seq}{dim:#} {detail}")
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    // Where following starts: measured before reading, so nothing appended in between is
    // missed; records already shown are skipped by their seq.
    let start = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let records = audit::read_all(&path).map_err(|e| UserError::new(e.to_string()))?;
    let last_seq = records.iter().filter_map(Record::seq).max();
    let mut runs = Runs::default();
    let mut shown = Vec::new();
    for record in &records {
        runs.learn(record);
        if args.keep(record, &runs) {
            shown.push(record);
        }
    }
    let mut out = anstream::stdout();
    for record in &shown[shown.len().saturating_sub(args.lines)..] {
        args.print(&mut out, record, &runs)?;
    }
    out.flush()?;
    if args.follow {
        follow(&args, &path, &mut runs, &mut out, start, last_seq)?;
    }
    Ok(Exit::Success)
}

/// Prints records appended after the current end, reopening the file when it is rotated.
fn follow(
    args: &Args,
    path: &Path,
    runs: &mut Runs,
    out: &mut impl Write,
    start: u64,
    shown: Option<u64>,
) -> anyhow::Result<()> {
    let open = |path: &Path| -> Option<(File, u64)> {
        let file = File::open(path).ok()?;
        let inode = file.metadata().ok()?.ino();
        Some((file, inode))
    };
    let mut current = open(path);
    if let Some((file, _)) = current.as_mut() {
        file.seek(SeekFrom::Start(start))?;
    }
    let mut pending: Vec<u8> = Vec::new();
    loop {
        if let Some((file, _)) = current.as_mut() {
            let mut fresh = Vec::new();
            file.read_to_end(&mut fresh)?;
            pending.extend_from_slice(&fresh);
            while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                if let Ok(value) = serde_json::from_slice::<Value>(&line[..line.len() - 1]) {
                    let record = Record { value };
                    if shown.is_some_and(|last| record.seq().is_some_and(|seq| seq <= last)) {
                        continue;
                    }
                    runs.learn(&record);
                    if args.keep(&record, runs) {
                        args.print(out, &record, runs)?;
                    }
                }
            }
            out.flush()?;
        }
        let now = std::fs::metadata(path).ok().map(|m| m.ino());
        let rotated = match (&current, now) {
            (Some((_, inode)), Some(now)) => *inode != now,
            (None, Some(_)) => true,
            _ => false,
        };
        if rotated {
            // Drain what the old file still held (the rename happens after the last write).
            if let Some((file, _)) = current.as_mut() {
                let mut rest = Vec::new();
                file.read_to_end(&mut rest)?;
                pending.extend_from_slice(&rest);
                if !rest.is_empty() {
                    continue;
                }
            }
            pending.clear();
            current = open(path);
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
