//! `gatekeep report`: the evidence pack of a period, from the local audit logs and the
//! service's records; `gatekeep report verify FILE` checks a signed one.

use std::io::Write as _;
use std::path::PathBuf;

use crate::audit;
use crate::client::{self, ClientError};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::report::{self, Inputs, LocalLog, Report, ServiceRecords, sign};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Html,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub verify: Option<Verify>,
    /// The start of the period: a date (`2026-11-01`, midnight UTC) or an RFC 3339 time
    /// (default: 30 days before `--until`).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// The end of the period, not included (default: now).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    #[arg(long, value_enum, default_value = "html")]
    pub format: Format,
    /// Write the report here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// An audit log to cover (repeat for several; default: this host's log in force).
    #[arg(long = "log", value_name = "PATH")]
    pub logs: Vec<PathBuf>,
    /// Leave the service's records out even when a service is configured.
    #[arg(long)]
    pub no_service: bool,
    /// Have the approval service sign the report (HTML and JSON).
    #[arg(long, conflicts_with = "no_service")]
    pub sign: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Verify {
    /// Check a signed report: its signature by the service, and that nothing in it changed.
    Verify(VerifyArgs),
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The report (HTML or JSON).
    pub file: PathBuf,
    /// The service's public key (hex); default: asked of the configured service.
    #[arg(long, value_name = "HEX")]
    pub key: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// A date or a time as `--since`/`--until` take it.
fn moment(text: &str, flag: &str) -> Result<jiff::Timestamp, UserError> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Ok(at);
    }
    text.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|date| format!("{date}T00:00:00Z").parse::<jiff::Timestamp>().ok())
        .ok_or_else(|| {
            UserError::new(format!(
                "{flag}: `{text}` is neither a date nor an RFC 3339 time"
            ))
            .hint("for example 2026-11-01, or 2026-11-01T09:00:00Z")
        })
}

fn local(path: &std::path::Path) -> Result<LocalLog, UserError> {
    let records = audit::read_all(path).map_err(|e| {
        UserError::new(format!("cannot read the audit log {}: {e}", path.display()))
            .hint("name each log with --log PATH")
    })?;
    let (intact, problem) = match audit::verify(path) {
        Ok(found) => match found.first_break {
            None => (true, None),
            Some(b) => (
                false,
                Some(format!("chain broken at seq {} ({})", b.seq, b.kind)),
            ),
        },
        Err(e) => (false, Some(e.to_string())),
    };
    Ok(LocalLog {
        path: path.display().to_string(),
        records: records.into_iter().map(|r| r.value).collect(),
        intact,
        problem,
        witness: "not checked: no service covered".to_owned(),
    })
}

/// What the witness holds for the log at `path` (as this host and user name it).
fn witnessed(client: &client::ApiClient, path: &std::path::Path) -> String {
    match crate::client::witness::check(client, path) {
        Ok(None) => "nothing witnessed for it (as this host and user name it)".to_owned(),
        Ok(Some(checked)) => match checked.problem {
            Some(problem) => format!("disagrees: {problem}"),
            None => format!(
                "{} of chain {} match",
                crate::render::count(
                    checked.heads.len() as u64,
                    "witnessed head",
                    "witnessed heads"
                ),
                checked.chain_id
            ),
        },
        Err(e) => format!("cannot be checked: {e}"),
    }
}

/// Every record the service's export holds, page by page, and whether they chain.
fn service_records(client: &client::ApiClient) -> Result<ServiceRecords, ClientError> {
    let mut lines: Vec<String> = Vec::new();
    let mut after = None;
    loop {
        let (page, next) = client.export_page(after)?;
        let before = lines.len();
        lines.extend(page.lines().filter(|l| !l.is_empty()).map(str::to_owned));
        match next {
            Some(next) if lines.len() > before => after = Some(next),
            _ => break,
        }
    }
    let chain_id = lines
        .first()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .and_then(|v| {
            v.get("chain_id")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let records: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let links = audit::links(&lines, &chain_id);
    // A chain that does not start at record 0 is whole only when a retention record of
    // the chain says what went before, and what the first kept record chains to.
    let retained = match links.as_ref().ok().and_then(|l| l.first()) {
        Some(first) if first.seq > 0 => Some(
            records
                .iter()
                .find(|r| {
                    r["event"] == "retention"
                        && r["first_kept_seq"].as_u64() == Some(first.seq)
                        && r["first_kept_prev"].as_str() == Some(first.prev.as_str())
                })
                .map(|r| (first.seq, r["ts"].as_str().unwrap_or_default().to_owned())),
        ),
        _ => None,
    };
    Ok(ServiceRecords {
        url: client.base().to_owned(),
        records,
        intact: links.is_ok() && retained.as_ref().is_none_or(Option::is_some),
        retained_from: retained.flatten(),
    })
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    if let Some(Verify::Verify(verify)) = &args.verify {
        return check(verify, env);
    }
    let until = match &args.until {
        Some(text) => moment(text, "--until")?,
        None => jiff::Timestamp::now(),
    };
    let since = match &args.since {
        Some(text) => moment(text, "--since")?,
        None => until - jiff::SignedDuration::from_hours(24 * 30),
    };
    if since >= until {
        return Err(UserError::new("--since must come before --until").into());
    }
    let paths = if args.logs.is_empty() {
        vec![crate::cli::LogArgs { log: None }.resolve(env)?]
    } else {
        args.logs.clone()
    };
    let logs = paths
        .iter()
        .map(|p| local(p))
        .collect::<Result<Vec<_>, _>>()?;
    let connection = if args.no_service {
        None
    } else {
        match client::connect(env, args.token_file.as_deref()) {
            Ok((client, _)) => Some(client),
            // A report of the local logs alone needs no service.
            Err(_) if !args.sign => None,
            Err(e) => return Err(e.into()),
        }
    };
    let mut logs = logs;
    if let Some(client) = &connection {
        for (log, path) in logs.iter_mut().zip(&paths) {
            log.witness = witnessed(client, path);
        }
    }
    let service = match &connection {
        Some(client) => Some(service_records(client).map_err(|e| {
            e.to_user_error("cannot read the service's records")
                .hint("only reviewers and auditors may read them; --no-service leaves them out")
        })?),
        None => None,
    };
    let mut built = report::build(&Inputs {
        since,
        until,
        logs,
        service,
        generated_at: jiff::Timestamp::now(),
    });
    if args.sign {
        if args.format == Format::Csv {
            return Err(UserError::new("a CSV report cannot carry a signature")
                .hint("sign the HTML or JSON form")
                .into());
        }
        let client = connection.as_ref().expect("--sign needs the service");
        let signature = client
            .sign_report(&sign::digest(&built))
            .map_err(|e| e.to_user_error("the service did not sign the report"))?;
        built.signature = Some(signature);
    }
    let text = match args.format {
        Format::Html => report::html::render(&built),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&built)?),
        Format::Csv => report::csv(&built)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| UserError::new(format!("cannot write {}: {e}", path.display())))?,
        None => anstream::stdout().write_all(text.as_bytes())?,
    }
    let t = &built.totals;
    eprintln!(
        "gatekeep: {} gated, {} denied, {} checks failed, {} cannot be verified{}",
        t.items,
        t.denials,
        t.checks_failed,
        t.checks_cannot_verify,
        if built.signature.is_some() {
            "; signed"
        } else {
            ""
        }
    );
    Ok(Exit::Success)
}

/// `report verify`: the report read back (a page must be exactly the rendering of the
/// report it carries), its signature checked with the service's key.
fn check(args: &VerifyArgs, env: &Environment) -> anyhow::Result<Exit> {
    let text = crate::files::read_regular_text(&args.file, 256 * 1024 * 1024)
        .map_err(|e| UserError::new(format!("cannot read {}: {e}", args.file.display())))?;
    let parsed: Result<Report, String> = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| format!("it is not a gatekeep report: {e}"))
    } else {
        report::html::embedded(&text)
    };
    let refused =
        |why: String| UserError::new(format!("{}: {why}", args.file.display())).exit(Exit::Failure);
    let report = parsed.map_err(refused)?;
    let key = match &args.key {
        Some(key) => key.clone(),
        None => {
            let (client, _) = client::connect(env, args.token_file.as_deref())?;
            client
                .public_key()
                .map_err(|e| e.to_user_error("cannot fetch the service's key"))?
        }
    };
    sign::verify(&report, &key).map_err(refused)?;
    let signature = report.signature.as_ref().expect("verified");
    eprintln!(
        "gatekeep: {} is intact: signed by the service (key {}) for {} at {}",
        args.file.display(),
        &signature.key_id[..signature.key_id.len().min(16)],
        signature.signed_by,
        signature.signed_at
    );
    Ok(Exit::Success)
}
