//! Break-glass runs made while the approval service could not be reached: each is kept in
//! the data directory (0600, one file per run) until the service has recorded it, then
//! removed. Reporting is idempotent: the run id is the filing's idempotency key.

use std::path::{Path, PathBuf};

use crate::approval::NewRequest;
use crate::audit::AuditLog;
use crate::client::{ApiClient, ClientError};
use crate::paths::Paths;

/// Where unreported runs wait.
pub fn dir(paths: &Paths) -> PathBuf {
    paths.data_dir.join("break-glass")
}

/// Keeps the report of run `run_id` until the service can be told.
pub fn keep(paths: &Paths, run_id: &str, request: &NewRequest) -> std::io::Result<PathBuf> {
    super::credentials::write_private_json(&dir(paths).join(format!("{run_id}.json")), request)
}

/// The runs still to report: (run id, file).
pub fn pending(paths: &Paths) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir(paths)) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let run = path
                .file_name()?
                .to_str()?
                .strip_suffix(".json")?
                .to_owned();
            (!run.contains('.')).then_some((run, path))
        })
        .collect();
    found.sort();
    found
}

fn read(path: &Path) -> Result<NewRequest, String> {
    let text = crate::files::read_regular_text(path, crate::files::CONFIG_FILE_LIMIT)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// The runs the log itself records as break-glass made without the service, by run id:
/// only those are ever reported (a file put in the directory by anything else is not).
fn recorded_offline(log: &AuditLog) -> std::collections::BTreeSet<String> {
    crate::audit::read_all(log.path())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.event() == "break_glass" && r.value["offline"] == serde_json::json!(true))
        .filter_map(|r| r.str("run_id").map(str::to_owned))
        .collect()
}

/// Reports every kept run to the service, each once; answers a warning for each one that
/// could not be (it stays kept). Stops at the first the service cannot be reached for.
/// A file is reported only when it is what `run --break-glass` keeps: a person's
/// break-glass run with its time, which this log records as run offline under that id.
pub fn report(paths: &Paths, client: &ApiClient, log: &AuditLog) -> Vec<String> {
    let mut warnings = Vec::new();
    let kept = pending(paths);
    if kept.is_empty() {
        return warnings;
    }
    let recorded = recorded_offline(log);
    for (run, path) in kept {
        let request = match read(&path) {
            Ok(request) => request,
            Err(error) => {
                warnings.push(format!(
                    "cannot read the unreported break-glass run {}: {error}",
                    path.display()
                ));
                continue;
            }
        };
        if !request.break_glass
            || request.ran_at.is_none()
            || request.agent
            || !recorded.contains(&run)
        {
            warnings.push(format!(
                "{} is not a break-glass run this log recorded; it is not reported (remove it)",
                path.display()
            ));
            continue;
        }
        match client.create(&request, Some(&run)) {
            Ok(created) => {
                let _ = log.append(
                    "break_glass_reported",
                    serde_json::json!({"run_id": run, "request_id": created.id}),
                );
                if let Err(error) = std::fs::remove_file(&path) {
                    warnings.push(format!(
                        "reported break-glass run {run} as {}, but cannot remove {}: {error}",
                        created.id,
                        path.display()
                    ));
                }
            }
            Err(ClientError::Unreachable(_)) => break,
            Err(error) => warnings.push(format!(
                "cannot report the break-glass run {run} made without the service: {error}"
            )),
        }
    }
    warnings
}
