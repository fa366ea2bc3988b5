//! `gatekeep log verify`: check the audit log's hash chain.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::audit;
use crate::cli::LogArgs;
use crate::client::witness;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also check the log against every head the approval service witnessed for it.
    #[arg(long)]
    pub witness: bool,
    /// Read the approval service token from this file (with --witness).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<std::path::PathBuf>,
}

/// Checks the log against every head the service witnessed for it; `None` when the
/// service holds none.
fn witnessed(
    args: &Args,
    env: &Environment,
    path: &std::path::Path,
) -> Result<Option<witness::Checked>, UserError> {
    let (client, connection) = crate::client::connect(env, args.token_file.as_deref())?;
    witness::check(&client, path).map_err(|e| {
        UserError::new(format!(
            "cannot check the log against the witness at {}: {e}",
            connection.server
        ))
    })
}

/// The human summary of a check against the witness: who sent which heads, and every
/// head that does not match.
fn describe(checked: &witness::Checked, out: &mut impl Write) -> std::io::Result<()> {
    let matching = checked
        .heads
        .iter()
        .filter(|h| {
            matches!(
                h.status,
                witness::HeadStatus::Matches | witness::HeadStatus::Removed
            )
        })
        .count();
    writeln!(
        out,
        "witnessed: {matching} of {} of chain {} {} the local log",
        crate::render::count(checked.heads.len() as u64, "head", "heads"),
        checked.chain_id,
        if matching == 1 { "matches" } else { "match" }
    )?;
    let removed = checked
        .heads
        .iter()
        .filter(|h| h.status == witness::HeadStatus::Removed)
        .count();
    if removed > 0 {
        writeln!(
            out,
            "  {} of them removed by retention, as the log's retention record says",
            crate::render::count(removed as u64, "head", "heads")
        )?;
    }
    let mut by: BTreeMap<&str, Vec<&witness::CheckedHead>> = BTreeMap::new();
    for head in &checked.heads {
        by.entry(head.head.identity.as_str())
            .or_default()
            .push(head);
    }
    for (identity, heads) in by {
        let last = heads[heads.len() - 1];
        writeln!(
            out,
            "  sent by {identity}: {}, the latest seq {} at {}",
            crate::render::count(heads.len() as u64, "head", "heads"),
            last.head.seq,
            last.head.at
        )?;
    }
    for head in &checked.heads {
        let what = match head.status {
            witness::HeadStatus::Matches | witness::HeadStatus::Removed => continue,
            witness::HeadStatus::Differs => "differs from the local record",
            witness::HeadStatus::Missing => "is missing from the local log",
            witness::HeadStatus::OtherChain => "is of another chain",
        };
        writeln!(
            out,
            "  seq {} ({}), sent by {} at {}, {what}",
            head.head.seq,
            &head.head.hash[..16.min(head.head.hash.len())],
            head.head.identity,
            head.head.at
        )?;
    }
    Ok(())
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
    /// Whether the log was checked against heads the approval service witnessed: without
    /// that, truncation and a consistent rewrite cannot be detected.
    witnessed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    witness: Option<witness::Checked>,
    /// When the oldest records were removed by retention: the first `seq` kept and the
    /// `retention` record that removed the ones before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    retention: Option<RetentionJson>,
}

#[derive(Serialize)]
struct RetentionJson {
    first_kept_seq: u64,
    record_seq: u64,
    newest_removed_ts: Option<String>,
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
                    witnessed: false,
                    witness: None,
                    retention: None,
                };
                writeln!(out, "{}", serde_json::to_string(&json)?)?;
                return Ok(Exit::Error);
            }
            return Err(UserError::new(error.to_string())
                .hint("check the path (--log, GATEKEEP_LOG)")
                .into());
        }
    };
    let mut error = report.first_break.as_ref().map(|b| {
        format!(
            "chain broken at seq {} ({}) in {} line {}",
            b.seq,
            b.kind,
            b.file.display(),
            b.line
        )
    });
    let mut checked = None;
    if args.witness && error.is_none() {
        checked = witnessed(&args, env, &path)?;
        error = checked.as_ref().and_then(|c| c.problem.clone());
    }
    if args.json {
        let json = VerifyJson {
            ok: error.is_none(),
            records: report.records,
            segments: report.segments,
            recovered: report.recovered.len(),
            first_bad_seq: report.first_break.as_ref().map(|b| b.seq),
            kind: report.first_break.as_ref().map(|b| b.kind),
            error: error.clone(),
            witnessed: checked.is_some(),
            witness: checked,
            retention: report.retained.as_ref().map(|r| RetentionJson {
                first_kept_seq: r.first_kept_seq,
                record_seq: r.record_seq,
                newest_removed_ts: r.newest_removed_ts.clone(),
            }),
        };
        writeln!(out, "{}", serde_json::to_string(&json)?)?;
    } else {
        for (file, offset, length) in &report.recovered {
            writeln!(
                out,
                "recovered: a torn write of {} at offset {offset} in {} (a crash mid-append)",
                crate::render::count(*length, "byte", "bytes"),
                file.display()
            )?;
        }
        if let Some(retained) = &report.retained {
            writeln!(
                out,
                "retention: records 0-{} were removed by retention, as the record at seq {} says (the newest removed from {}); the chain is verified from seq {}",
                retained.first_kept_seq - 1,
                retained.record_seq,
                retained
                    .newest_removed_ts
                    .as_deref()
                    .unwrap_or("an unknown time"),
                retained.first_kept_seq
            )?;
        }
        match (&error, &report.first_break) {
            (None, _) => writeln!(
                out,
                "ok: {} in {}, chain intact",
                crate::render::count(report.records as u64, "record", "records"),
                crate::render::count(report.segments as u64, "segment", "segments")
            )?,
            (Some(error), Some(_)) => writeln!(
                out,
                "broken: {error}; {} verified before it",
                crate::render::count(report.records as u64, "record", "records")
            )?,
            (Some(error), None) => writeln!(
                out,
                "broken: {error} (the {} chain intact among themselves)",
                crate::render::count(report.records as u64, "record", "records")
            )?,
        }
        match &checked {
            Some(checked) => describe(checked, &mut out)?,
            None if args.witness && report.first_break.is_none() => writeln!(
                out,
                "not witnessed: the approval service holds no head of this log, so truncation and a consistent rewrite cannot be detected yet; `gatekeep log witness` sends one"
            )?,
            None if report.first_break.is_none() => writeln!(
                out,
                "not witnessed: without a witness, truncation and a consistent rewrite cannot be detected; `gatekeep log verify --witness` checks against the approval service"
            )?,
            None => {}
        }
    }
    Ok(if error.is_none() {
        Exit::Success
    } else {
        Exit::Failure
    })
}
