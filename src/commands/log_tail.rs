//! `gatekeep log tail`: recent records, one line each, optionally following new ones.

use std::collections::HashMap;
use std::fs::File;
use std::io::{IsTerminal as _, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::audit::{self, Record};
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use crate::term;

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
    /// Show times in this host's time zone instead of UTC.
    #[arg(long)]
    pub local: bool,
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

    /// A record's time in the fixed format of the `TIME` column: milliseconds always,
    /// UTC, or this host's zone with `--local`.
    fn time(&self, record: &Record) -> String {
        let Some(ts) = record
            .str("ts")
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        else {
            return render::text(record.str("ts").unwrap_or("-"));
        };
        if self.local {
            let zoned = ts.to_zoned_datetime(jiff::tz::TimeZone::system());
            zoned.strftime("%Y-%m-%d %H:%M:%S%.3f %:z").to_string()
        } else {
            ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        }
    }

    /// The column header, on a terminal.
    fn header(&self, out: &mut impl Write, columns: &Columns) -> std::io::Result<()> {
        let time_width = if self.local { 30 } else { 24 };
        let dim = term::DIM;
        writeln!(
            out,
            "{dim}{:<time_width$} {:>seq$} {:<user$} {:<EVENT_WIDTH$} DETAIL{dim:#}",
            "TIME",
            "SEQ",
            "USER",
            "EVENT",
            seq = columns.seq,
            user = columns.user,
        )
    }

    fn print(
        &self,
        out: &mut impl Write,
        record: &Record,
        runs: &Runs,
        columns: &Columns,
    ) -> std::io::Result<()> {
        if self.json {
            return writeln!(out, "{}", render::json_line(&record.value));
        }
        let (user, event, detail) = line(record, runs);
        let dim = term::DIM;
        let seq = record
            .seq()
            .map_or_else(|| "-".to_owned(), |s| s.to_string());
        // Padded before it is painted: escapes take no room on the screen.
        let padded = format!("{event:<EVENT_WIDTH$}");
        let event_style = match event.as_str() {
            "refused" => term::ERROR,
            _ => anstyle::Style::new(),
        };
        writeln!(
            out,
            "{dim}{}{dim:#} {dim}{seq:>width$}{dim:#} {user:<user_width$} {} {detail}",
            self.time(record),
            term::paint(event_style, &padded),
            width = columns.seq,
            user_width = columns.user,
        )
    }
}

/// The width of the `EVENT` column.
const EVENT_WIDTH: usize = 10;

/// The widths of the columns that vary: wide enough for the records shown first (and the
/// headers); later records (`-f`) may push a line further right.
struct Columns {
    seq: usize,
    user: usize,
}

impl Columns {
    fn of(records: &[&Record], runs: &Runs) -> Columns {
        let seq = records
            .iter()
            .filter_map(|r| r.seq())
            .max()
            .map_or(1, |s| s.to_string().len());
        let user = records
            .iter()
            .map(|r| line(r, runs).0.chars().count())
            .max()
            .unwrap_or(0);
        Columns {
            seq: seq.max(3),
            user: user.max(4),
        }
    }
}

/// A record as (user, event, detail), each rendered; the decision painted.
fn line(record: &Record, runs: &Runs) -> (String, String, String) {
    let (user, decision, rules, argv) = runs.of(record).cloned().unwrap_or_default();
    let user = if user.is_empty() {
        record.str("user").map(render::text).unwrap_or_default()
    } else {
        render::text(&user)
    };
    let event = record.event();
    let detail = match event {
        "decision" => {
            let shown = render::text(&decision);
            let rules = if rules.is_empty() {
                "-".to_owned()
            } else {
                rules
            };
            // Padded to the longest decision before it is painted.
            let padded = format!("{shown:<9}");
            format!(
                "{} {rules}  {argv}",
                term::paint(term::decision(&decision), &padded)
            )
        }
        "exec" => format!(
            "pid {}  {argv}",
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
                (_, Some(error)) => format!("status {status} ({})", render::text(error)),
                (Some(signal), _) => format!("status {status} (signal {signal})"),
                _ => format!(
                    "status {status} ({} ms)",
                    record.value.get("duration_ms").unwrap_or(&Value::Null)
                ),
            };
            format!("{how}  {argv}")
        }
        "refused" => format!(
            "{}  {}",
            field(record, "error", "-"),
            command(record, "argv")
        ),
        "hook" => {
            let answer = field(record, "answer", "-");
            let session = record
                .str("agent_session")
                .map(|s| format!(" session {}", render::text(s)))
                .unwrap_or_default();
            format!("answered {answer}{session}  {argv}")
        }
        event if event.starts_with("approval_") => {
            let id = field(record, "request_id", "-");
            let reviewers = Some(joined(record, "reviewers", ","))
                .filter(|r| !r.is_empty())
                .map(|r| format!(" by {r}"))
                .unwrap_or_default();
            format!(
                "{}{reviewers}  {id}  {argv}",
                render::text(event.trim_start_matches("approval_"))
            )
        }
        _ => ["chain_id", "previous", "records", "length"]
            .iter()
            .filter_map(|k| {
                record
                    .value
                    .get(*k)
                    .map(|v| format!("{k}={}", render::json_line(v)))
            })
            .collect::<Vec<_>>()
            .join(" "),
    };
    let event = if event.starts_with("approval_") {
        "approval".to_owned()
    } else {
        render::text(event)
    };
    (user, event, detail)
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
    let shown = &shown[shown.len().saturating_sub(args.lines)..];
    let columns = Columns::of(shown, &runs);
    // The header is for people: a pipe gets the records alone.
    if !args.json && std::io::stdout().is_terminal() {
        args.header(&mut out, &columns)?;
    }
    for record in shown {
        args.print(&mut out, record, &runs, &columns)?;
    }
    out.flush()?;
    if args.follow {
        follow(&args, &path, &mut runs, &mut out, start, last_seq, &columns)?;
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
    columns: &Columns,
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
                        args.print(out, &record, runs, columns)?;
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
