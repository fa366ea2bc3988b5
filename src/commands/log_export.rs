//! `gatekeep log export`: the log's records for a SIEM, as gatekeep's JSON Lines, OCSF or
//! ECS, optionally following new ones.

use std::io::Write;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::audit::export::{Exporter, Format, Origin};
use crate::audit::{self, AuditError};
use crate::cli::LogArgs;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub log: LogArgs,
    /// What to write: gatekeep's own records (jsonl), OCSF events or ECS documents.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// Keep writing records as they are appended (across rotations) until interrupted.
    #[arg(short, long)]
    pub follow: bool,
}

/// How often `--follow` looks at the live segment.
const POLL: Duration = Duration::from_millis(100);

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let path = args.log.resolve(env)?;
    let interrupted = Arc::new(AtomicBool::new(false));
    if args.follow {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, Arc::clone(&interrupted))?;
        }
    }
    let mut exporter = Exporter::new(args.format, Origin::Client);
    let mut out = std::io::stdout().lock();
    let (mut next, _) = write_from(&path, 0, None, &mut exporter, &mut out)?;
    if !args.follow {
        return Ok(Exit::Success);
    }
    // The live segment's identity and size: a change (an append, or a rotation that put a
    // new file in its place) is read from the next `seq` on, across segments.
    let stamp = |path: &Path| std::fs::metadata(path).ok().map(|m| (m.ino(), m.len()));
    let mut seen = None;
    // A record missing between two reads may be a segment being renamed while the
    // directory was listed: read again before writing past it; a gap still there on the
    // second read is the log's own.
    let mut gap = None;
    while !interrupted.load(Ordering::Relaxed) {
        let now = stamp(&path);
        if now != seen || gap.is_some() {
            seen = now;
            let (written, missing) = write_from(&path, next, gap, &mut exporter, &mut out)?;
            next = written;
            gap = missing;
        }
        std::thread::sleep(POLL);
    }
    Ok(Exit::Success)
}

/// Writes every record from `seq` `from` on, and returns the `seq` to read from next. When
/// `from` is not followed by the next `seq` and `past` is not that `seq`, stops there and
/// returns it as the gap to read past next time (`None`: write past any gap).
fn write_from(
    path: &Path,
    from: u64,
    past: Option<u64>,
    exporter: &mut Exporter,
    out: &mut impl Write,
) -> anyhow::Result<(u64, Option<u64>)> {
    let mut next = from;
    let careful = from > 0;
    let read = audit::each_record_line(path, from, u64::MAX, |seq, line| {
        if careful && seq != next && past != Some(next) {
            return Err(Failed::Gap);
        }
        if let Some(exported) = exporter.line(line) {
            writeln!(out, "{exported}").map_err(Written)?;
        }
        next = seq + 1;
        Ok::<_, Failed>(())
    });
    let mut gap = None;
    match read {
        Ok(()) => {}
        Err(Failed::Gap) => gap = Some(next),
        Err(Failed::Audit(error)) => return Err(UserError::new(error.to_string()).into()),
        Err(Failed::Write(Written(error))) => return Err(error.into()),
    }
    out.flush()?;
    Ok((next, gap))
}

struct Written(std::io::Error);

enum Failed {
    /// A record is missing before the next one read.
    Gap,
    Audit(AuditError),
    Write(Written),
}

impl From<AuditError> for Failed {
    fn from(error: AuditError) -> Failed {
        Failed::Audit(error)
    }
}

impl From<Written> for Failed {
    fn from(error: Written) -> Failed {
        Failed::Write(error)
    }
}
