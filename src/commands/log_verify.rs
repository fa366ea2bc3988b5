//! `gatekeep log verify`: check the audit log's hash chain.

use std::io::Write as _;

use serde::Serialize;

use crate::audit;
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct VerifyJson {
    ok: bool,
    records: u64,
    segments: usize,
    recovered: usize,
    first_bad_seq: Option<u64>,
    kind: Option<audit::BreakKind>,
    error: Option<String>,
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let mut out = anstream::stdout();
    let report = match audit::verify(&path) {
        Ok(report) => report,
        Err(error) => {
            if args.json {
                let json = VerifyJson {
                    ok: false,
                    records: 0,
                    segments: 0,
                    recovered: 0,
                    first_bad_seq: None,
                    kind: None,
                    error: Some(error.to_string()),
                };
                writeln!(out, "{}", serde_json::to_string(&json)?)?;
                return Ok(Exit::Error);
            }
            return Err(UserError::new(error.to_string())
                .hint("check the path (--log, GATEKEEP_LOG)")
                .into());
        }
    };
    let error = report.first_break.as_ref().map(|b| {
        format!(
            "chain broken at seq {} ({}) in {} line {}",
            b.seq,
            b.kind,
            b.file.display(),
            b.line
        )
    });
    if args.json {
        let json = VerifyJson {
            ok: report.first_break.is_none(),
            records: report.records,
            segments: report.segments,
            recovered: report.recovered.len(),
            first_bad_seq: report.first_break.as_ref().map(|b| b.seq),
            kind: report.first_break.as_ref().map(|b| b.kind),
            error: error.clone(),
        };
        writeln!(out, "{}", serde_json::to_string(&json)?)?;
    } else {
        for (file, offset, length) in &report.recovered {
            writeln!(
                out,
                "recovered: a torn write of {length} bytes at offset {offset} in {} (a crash mid-append)",
                file.display()
            )?;
        }
        match &error {
            None => writeln!(
                out,
                "ok: {} records in {} segments, chain intact",
                report.records, report.segments
            )?,
            Some(error) => writeln!(
                out,
                "broken: {error}; {} records verified before it",
                report.records
            )?,
        }
    }
    Ok(if report.first_break.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
