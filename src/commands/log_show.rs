//! `gatekeep log show`: every record of one run, readable.

use std::io::Write as _;

use crate::audit;
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use serde_json::Value;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// A run id, or the seq of any record of the run.
    #[arg(value_name = "RUN_ID|SEQ")]
    pub id: String,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let records = audit::read_all(&path).map_err(|e| UserError::new(e.to_string()))?;
    let run_id = match args.id.parse::<u64>() {
        Ok(seq) => {
            let record = records
                .iter()
                .find(|r| r.seq() == Some(seq))
                .ok_or_else(|| UserError::new(format!("no record with seq {seq}")))?;
            match record.str("run_id") {
                Some(run_id) => run_id.to_owned(),
                None => {
                    print_record(record)?;
                    return Ok(Exit::Success);
                }
            }
        }
        Err(_) => args.id.clone(),
    };
    let mine: Vec<_> = records
        .iter()
        .filter(|r| r.str("run_id") == Some(run_id.as_str()))
        .collect();
    if mine.is_empty() {
        return Err(UserError::new(format!("no records for run {run_id}"))
            .hint("`gatekeep log tail` lists recent runs")
            .into());
    }
    for record in mine {
        print_record(record)?;
    }
    Ok(Exit::Success)
}

/// A field's value as people read it: an argument vector as its command, the analysed
/// commands one rendering each, strings and other values rendered.
fn shown(key: &str, value: &Value) -> String {
    let strings = |value: &Value| -> Option<Vec<String>> {
        value
            .as_array()?
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    match (key, value) {
        ("argv", value) if strings(value).is_some() => {
            render::command(&strings(value).unwrap_or_default())
        }
        ("commands", Value::Array(commands)) if commands.iter().all(|c| strings(c).is_some()) => {
            commands
                .iter()
                .map(|c| render::command(&strings(c).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" ; ")
        }
        (_, Value::String(s)) => render::text(s),
        (_, other) => render::json_line(other),
    }
}

fn print_record(record: &audit::Record) -> std::io::Result<()> {
    let mut out = anstream::stdout();
    let bold = anstyle::Style::new().bold();
    writeln!(
        out,
        "{bold}#{} {}{bold:#}  {}",
        record.seq().unwrap_or_default(),
        render::text(record.event()),
        render::text(record.str("ts").unwrap_or_default())
    )?;
    if let Some(map) = record.value.as_object() {
        for (key, value) in map {
            if matches!(key.as_str(), "seq" | "ts" | "event") {
                continue;
            }
            writeln!(out, "  {:<14} {}", render::text(key), shown(key, value))?;
        }
    }
    Ok(())
}
