//! `gatekeep report`: the evidence pack of a period, from the local audit logs and the
//! service's records; `gatekeep report verify FILE` checks a signed one.

use std::io::Write as _;
use std::path::PathBuf;

use crate::audit;
use crate::client::{self, ClientError};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::report::{self, Inputs, LocalLog, Report, ServiceRecords, sign};
use crate::server::chain_head::Head as SeenHead;

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

/// Every record the service's export holds, page by page, and whether they chain; read
/// again when a retention pass removed records between two pages.
fn service_records(
    client: &client::ApiClient,
    seen_path: &std::path::Path,
) -> Result<ServiceRecords, ClientError> {
    let mut read = read_chain(client)?;
    for _ in 0..2 {
        match audit::links(&read.1, &read.0) {
            Err(audit::ChainError::NotConsecutive { .. }) => read = read_chain(client)?,
            _ => break,
        }
    }
    let (chain_id, lines) = read;
    let records: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut problem = None;
    let links = audit::links(&lines, &chain_id);
    if let Err(e) = &links {
        problem = Some(format!("the service's records do not chain: {e}"));
    }
    let links = links.unwrap_or_default();
    // A chain that does not start at record 0 is whole only when a retention record of
    // the chain, signed by the service, says what went before and what the first kept
    // record chains to.
    let mut retained_from = None;
    if problem.is_none()
        && let Some(first) = links.first().filter(|l| l.seq > 0)
    {
        let key = || client.public_key().map_err(|e| e.to_string());
        match report::retention_vouches(&records, first, &chain_id, key) {
            Ok(at) => retained_from = Some((first.seq, at)),
            Err(why) => {
                problem = Some(format!(
                    "the records before record {} are missing, and {why}",
                    first.seq
                ));
            }
        }
    }
    // What earlier reports read of this chain must still be there.
    let mut seen = SeenHeads::read(seen_path);
    let url = client.base().to_owned();
    if problem.is_none()
        && let Err(why) = against_seen(seen.services.get(&url), &chain_id, &links)
    {
        problem = Some(why);
    }
    let head = links.last().map(|l| (l.seq, l.hash.clone()));
    if problem.is_none()
        && let Some((seq, hash)) = &head
    {
        seen.services.insert(
            url.clone(),
            SeenHead {
                chain_id: chain_id.clone(),
                seq: *seq,
                hash: hash.clone(),
            },
        );
        if let Err(error) = crate::client::credentials::write_private_json(seen_path, &seen) {
            tracing::warn!(%error, path = %seen_path.display(), "cannot remember the service chain's head");
        }
    }
    Ok(ServiceRecords {
        url,
        records,
        intact: problem.is_none() && !lines.is_empty(),
        problem,
        retained_from,
        head,
    })
}

/// The chain's id and every record line of the service's export, page by page.
fn read_chain(client: &client::ApiClient) -> Result<(String, Vec<String>), ClientError> {
    let mut lines: Vec<String> = Vec::new();
    let mut after = None;
    let mut chain_id = None;
    loop {
        let page = client.export_page(after)?;
        chain_id = chain_id.or(page.chain_id);
        let before = lines.len();
        lines.extend(
            page.text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
        match page.next {
            Some(next) if lines.len() > before => after = Some(next),
            _ => break,
        }
    }
    Ok((chain_id.unwrap_or_default(), lines))
}

/// The heads of the service chains earlier reports on this account read, by service URL
/// (`report-heads.json` in the state directory), in the form a replica remembers its own.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SeenHeads {
    services: std::collections::BTreeMap<String, SeenHead>,
}

impl SeenHeads {
    fn read(path: &std::path::Path) -> SeenHeads {
        crate::files::read_regular(path, crate::files::CONFIG_FILE_LIMIT)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

/// Whether the chain read now still holds what an earlier report read: the same chain,
/// at least as long, and the same record where that report's head was (unless retention
/// has since removed it, which the caller checked against the chain's retention record).
fn against_seen(
    seen: Option<&SeenHead>,
    chain_id: &str,
    links: &[audit::Link],
) -> Result<(), String> {
    let (Some(seen), Some(first), Some(last)) = (seen, links.first(), links.last()) else {
        return Ok(());
    };
    if !seen.chain_id.is_empty() && !chain_id.is_empty() && seen.chain_id != chain_id {
        return Err(format!(
            "this is chain {chain_id}, but an earlier report read chain {} from this service",
            seen.chain_id
        ));
    }
    if seen.seq > last.seq {
        return Err(format!(
            "the records end at record {}, but an earlier report read up to record {}",
            last.seq, seen.seq
        ));
    }
    if seen.seq >= first.seq {
        let at = &links[usize::try_from(seen.seq - first.seq)
            .unwrap_or(usize::MAX)
            .min(links.len() - 1)];
        if at.seq != seen.seq || at.hash != seen.hash {
            return Err(format!(
                "record {} is not the one an earlier report read (its hash was {})",
                seen.seq,
                crate::render::prefix(&seen.hash, 16)
            ));
        }
    }
    Ok(())
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
    let seen_path = crate::paths::Paths::from_env(env)
        .log_file
        .with_file_name("report-heads.json");
    let service = match &connection {
        Some(client) => Some(service_records(client, &seen_path).map_err(|e| {
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
        crate::render::prefix(&signature.key_id, 16),
        signature.signed_by,
        signature.signed_at
    );
    Ok(Exit::Success)
}
