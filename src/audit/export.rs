//! Records for SIEMs: gatekeep's own JSON Lines, OCSF 1.x events and Elastic Common Schema
//! documents, as pure functions over records read back (the mapping is documented field by
//! field in docs/audit-log.md, "Exports for SIEMs").
//!
//! Records are redacted when they are written; nothing here adds a value that was not in
//! a record (no environment, no clock).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::Record;
use crate::render;

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.5.0";
/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// gatekeep's own records, byte for byte.
    Jsonl,
    /// Open Cybersecurity Schema Framework 1.x events.
    Ocsf,
    /// Elastic Common Schema documents.
    Ecs,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "jsonl" => Some(Format::Jsonl),
            "ocsf" => Some(Format::Ocsf),
            "ecs" => Some(Format::Ecs),
            _ => None,
        }
    }
}

/// Which log the records come from: a client's (`run`, `hook`, …) or the approval
/// service's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Client,
    Service,
}

impl Origin {
    fn log_name(self) -> &'static str {
        match self {
            Origin::Client => "gatekeep.audit",
            Origin::Service => "gatekeep.service",
        }
    }
}

/// The OCSF class an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Process Activity (System Activity).
    Process,
    /// Authorize Session (Identity & Access Management).
    Authorization,
    /// Base Event (Uncategorized).
    Base,
}

impl Class {
    /// (class_uid, class_name, category_uid, category_name)
    pub fn ids(self) -> (u32, &'static str, u32, &'static str) {
        match self {
            Class::Process => (1007, "Process Activity", 1, "System Activity"),
            Class::Authorization => (3003, "Authorize Session", 3, "Identity & Access Management"),
            Class::Base => (0, "Base Event", 0, "Uncategorized"),
        }
    }

    /// The attributes OCSF requires of an event of this class.
    pub fn required(self) -> &'static [&'static str] {
        const BASE: &[&str] = &[
            "activity_id",
            "category_uid",
            "class_uid",
            "metadata",
            "severity_id",
            "time",
            "type_uid",
        ];
        match self {
            Class::Process => &[
                "activity_id",
                "actor",
                "category_uid",
                "class_uid",
                "device",
                "metadata",
                "process",
                "severity_id",
                "time",
                "type_uid",
            ],
            Class::Authorization => &[
                "activity_id",
                "category_uid",
                "class_uid",
                "metadata",
                "severity_id",
                "time",
                "type_uid",
                "user",
            ],
            Class::Base => BASE,
        }
    }
}

/// Whether what a record reports went through, was refused, or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Unknown,
}

/// How one record is classified, shared by the OCSF and ECS mappings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub class: Class,
    /// OCSF `activity_id` within the class (99: other).
    pub activity: u32,
    pub outcome: Outcome,
    /// OCSF `severity_id`: 1 informational, 2 low, 3 medium, 4 high.
    pub severity: u32,
    /// ECS `event.category`.
    pub category: &'static str,
}

/// Every event the client's and the service's logs write, for the documentation and the
/// tests; an event not listed is mapped to a Base Event.
pub const EVENTS: &[&str] = &[
    // client
    "chain_open",
    "segment_open",
    "segment_close",
    "recovered",
    "decision",
    "refused",
    "hook",
    "approval_requested",
    "approval_granted",
    "approval_rejected",
    "approval_expired",
    "approval_cancelled",
    "approval_refused",
    "break_glass",
    "break_glass_declined",
    "break_glass_reported",
    "exec",
    "exit",
    "exec_summary",
    "exec_refused",
    "exec_leftovers",
    "guard_refused",
    "supervision_unavailable",
    "mcp_proxy",
    "mcp_call",
    "mcp_result",
    "mcp_refused",
    "mcp_tools",
    "mcp_trusted",
    // service
    "request_created",
    "request_denied",
    "review",
    "request_approved",
    "request_rejected",
    "request_cancelled",
    "request_consumed",
    "request_expired",
    "request_escalated",
    "request_reminded",
    "break_glass_reviewed",
    "break_glass_overdue",
    "window_opened",
    "window_used",
    "window_revoked",
    "secrets_released",
    "slack_review",
    "slack_revoke",
    "witness",
    "witness_refused",
    "webhook_failed",
    "delivery_failed",
    "review_refused",
    "report_signed",
    "config_reloaded",
    "config_reload_failed",
    "service_started",
    "signing_key_rotated",
    // both
    "retention",
];

/// The classification of `record`.
pub fn mapping(record: &Record) -> Mapping {
    use Outcome::{Failure, Success, Unknown};
    let v = &record.value;
    let process = |activity, outcome, severity| Mapping {
        class: Class::Process,
        activity,
        outcome,
        severity,
        category: "process",
    };
    // Authorize Session: 1 assign privileges (a privilege given or refused), 99 other (a
    // step of the procedure that decides nothing by itself).
    let authz = |activity, outcome, severity| Mapping {
        class: Class::Authorization,
        activity,
        outcome,
        severity,
        category: "iam",
    };
    let base = |outcome, severity, category| Mapping {
        class: Class::Base,
        activity: 99,
        outcome,
        severity,
        category,
    };
    match record.event() {
        "exec" => process(1, Success, 1),
        "exit" => {
            let ok = v.get("status").and_then(Value::as_u64) == Some(0)
                && v.get("error").is_none_or(Value::is_null);
            process(2, if ok { Success } else { Failure }, 1)
        }
        "exec_refused" => process(1, Failure, 3),
        "exec_leftovers" => process(2, Success, 2),
        "decision" => match record.str("decision") {
            Some("allow") => authz(1, Success, 1),
            Some("deny") => authz(1, Failure, 2),
            _ => authz(1, Unknown, 1),
        },
        "hook" => match record.str("answer") {
            Some("allow") => authz(1, Success, 1),
            Some("deny") => authz(1, Failure, 2),
            _ => authz(1, Unknown, 1),
        },
        "mcp_call" => match record.str("answer") {
            Some("forwarded") => authz(1, Success, 1),
            Some("cancelled") => authz(1, Unknown, 1),
            _ => authz(1, Failure, 2),
        },
        "approval_granted" | "request_approved" | "window_used" | "request_consumed"
        | "secrets_released" | "mcp_trusted" => authz(1, Success, 1),
        "window_opened" => authz(1, Success, 2),
        "approval_rejected" | "approval_expired" | "approval_refused" | "request_rejected"
        | "request_denied" | "request_expired" => authz(1, Failure, 2),
        "refused" => authz(1, Failure, 3),
        "review_refused" => authz(1, Failure, 3),
        "review" => match record.str("verdict") {
            Some("approve") => authz(1, Success, 1),
            Some("reject") => authz(1, Failure, 1),
            _ => authz(99, Unknown, 1),
        },
        "break_glass" => authz(1, Success, 4),
        "break_glass_overdue" => authz(99, Unknown, 4),
        "break_glass_reviewed" => match record.str("finding") {
            Some("flag") => authz(99, Failure, 4),
            _ => authz(99, Success, 2),
        },
        "approval_cancelled" | "request_cancelled" | "window_revoked" => authz(99, Unknown, 1),
        "approval_requested"
        | "request_created"
        | "break_glass_declined"
        | "break_glass_reported"
        | "request_escalated"
        | "request_reminded" => authz(99, Unknown, 1),
        "guard_refused" => base(Failure, 4, "file"),
        "mcp_refused" => base(Failure, 3, "process"),
        "supervision_unavailable" => base(Failure, 3, "host"),
        "witness_refused" => base(Failure, 4, "configuration"),
        "config_reload_failed" => base(Failure, 3, "configuration"),
        "config_reloaded" | "report_signed" | "service_started" | "signing_key_rotated" => {
            base(Success, 2, "configuration")
        }
        "retention" => base(Success, 2, "file"),
        "webhook_failed" | "delivery_failed" => base(Failure, 3, "network"),
        "recovered" => base(Unknown, 3, "file"),
        "mcp_proxy" | "mcp_result" | "mcp_tools" | "exec_summary" => base(Success, 1, "process"),
        _ => base(Unknown, 1, "host"),
    }
}

/// What is known of one run from its `decision` record: exec and exit records name only
/// the run.
#[derive(Clone, Debug, Default)]
struct Run {
    user: Option<String>,
    host: Option<String>,
    argv: Option<Vec<String>>,
    cwd: Option<String>,
}

/// Maps records in order, keeping what earlier records said (the log's host and user from
/// `chain_open`, each run's user, host and command from its `decision`).
#[derive(Debug)]
pub struct Exporter {
    format: Format,
    origin: Origin,
    version: String,
    chain_id: Option<String>,
    host: Option<String>,
    user: Option<String>,
    runs: HashMap<String, Run>,
}

impl Exporter {
    pub fn new(format: Format, origin: Origin) -> Exporter {
        Exporter {
            format,
            origin,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            chain_id: None,
            host: None,
            user: None,
            runs: HashMap::new(),
        }
    }

    /// Names the chain the records belong to, for a reader that starts after its
    /// `chain_open` record (or whose `chain_open` retention removed).
    pub fn in_chain(&mut self, chain_id: &str) {
        self.chain_id = Some(chain_id.to_owned());
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// One exported line (without its newline) for the record read from `line`.
    pub fn line(&mut self, line: &[u8]) -> Option<String> {
        if self.format == Format::Jsonl {
            let value = serde_json::from_slice::<Value>(line).ok()?;
            self.learn(&Record { value });
            return Some(String::from_utf8_lossy(line).into_owned());
        }
        let value = serde_json::from_slice::<Value>(line).ok()?;
        let record = Record { value };
        let hash = super::line_hash(line);
        self.learn(&record);
        let event = match self.format {
            Format::Ocsf => self.ocsf(&record, &hash),
            Format::Ecs | Format::Jsonl => self.ecs(&record, &hash),
        };
        Some(render::json_line(&event))
    }

    fn learn(&mut self, record: &Record) {
        match record.event() {
            "chain_open" | "segment_open" => {
                for (key, slot) in [
                    ("chain_id", &mut self.chain_id),
                    ("host", &mut self.host),
                    ("user", &mut self.user),
                ] {
                    if let Some(value) = record.str(key) {
                        *slot = Some(value.to_owned());
                    }
                }
            }
            "decision" => {
                if let Some(run_id) = record.str("run_id") {
                    let run = Run {
                        user: record.str("user").map(str::to_owned),
                        host: record.str("host").map(str::to_owned),
                        argv: strings(&record.value, "argv"),
                        cwd: record.str("cwd").map(str::to_owned),
                    };
                    self.runs.insert(run_id.to_owned(), run);
                }
            }
            _ => {}
        }
    }

    fn run(&self, record: &Record) -> Run {
        record
            .str("run_id")
            .and_then(|id| self.runs.get(id))
            .cloned()
            .unwrap_or_default()
    }

    /// The facts both mappings share, each where the record or its run says it.
    fn facts(&self, record: &Record) -> Facts {
        let run = self.run(record);
        let v = &record.value;
        // Who acted: the reviewer, the one who revoked or received, the requester, or the
        // run's (or the log's) user.
        let actor = ["reviewer", "by", "to", "requester", "user"]
            .iter()
            .find_map(|k| record.str(k))
            .map(str::to_owned)
            .or(run.user.clone())
            .or_else(|| self.user.clone());
        let argv = strings(v, "argv").or(run.argv);
        let host = match self.origin {
            // A witness record's `host` is the witnessed log's, not the service's: the
            // replica that wrote the record, or the one that opened the log.
            Origin::Service => record
                .str("replica")
                .map(str::to_owned)
                .or(self.host.clone()),
            Origin::Client => record.str("host").map(str::to_owned).or(run.host),
        }
        .or_else(|| self.host.clone());
        Facts {
            actor,
            host,
            cmd_line: argv.as_deref().map(render::command),
            argv,
            cwd: record.str("cwd").map(str::to_owned).or(run.cwd),
            pid: v.get("pid").and_then(Value::as_i64),
            request: record
                .str("request_id")
                .or_else(|| record.str("id"))
                .map(str::to_owned),
        }
    }

    /// The record's fields that the mapping has no home for, under their own names.
    fn rest(record: &Record, mapped: &[&str]) -> Map<String, Value> {
        record
            .value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !mapped.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The record as an OCSF event.
    pub fn ocsf(&self, record: &Record, hash: &str) -> Value {
        let m = mapping(record);
        let facts = self.facts(record);
        let (class_uid, class_name, category_uid, category_name) = m.class.ids();
        let time = millis(record);
        let (status_id, status) = match m.outcome {
            Outcome::Success => (1, "Success"),
            Outcome::Failure => (2, "Failure"),
            Outcome::Unknown => (0, "Unknown"),
        };
        let activity_name = match (m.class, m.activity) {
            (Class::Process, 1) => "Launch",
            (Class::Process, 2) => "Terminate",
            (Class::Authorization, 1) => "Assign Privileges",
            _ => "Other",
        };
        let mut metadata = json!({
            "version": OCSF_VERSION,
            "product": {"name": "gatekeep", "vendor_name": "gatekeep", "version": self.version},
            "uid": hash,
            "sequence": record.seq(),
            "log_name": self.origin.log_name(),
            "original_time": record.str("ts"),
        });
        if let Some(chain_id) = &self.chain_id {
            metadata["log_provider"] = json!(chain_id);
        }
        if let Some(correlation) = record.str("run_id").or(facts.request.as_deref()) {
            metadata["correlation_uid"] = json!(correlation);
        }
        let user = match &facts.actor {
            Some(name) => json!({"name": name}),
            None => json!({"name": "unknown"}),
        };
        let mut event = json!({
            "class_uid": class_uid,
            "class_name": class_name,
            "category_uid": category_uid,
            "category_name": category_name,
            "activity_id": m.activity,
            "activity_name": activity_name,
            "type_uid": u64::from(class_uid) * 100 + u64::from(m.activity),
            "time": time,
            "severity_id": m.severity,
            "severity": severity_name(m.severity),
            "status_id": status_id,
            "status": status,
            "message": record.event(),
            "metadata": metadata,
            "actor": {"user": user},
            "device": {"hostname": facts.host, "type_id": 0},
        });
        // `actor` and `device` outside Process Activity come with the host profile;
        // a disposition with the security control profile.
        let mut profiles = vec!["host"];
        // What the class has no attribute for stays under `unmapped`.
        let mut mapped: Vec<&str> = vec!["ts", "event", "seq"];
        if m.class == Class::Process {
            let mut process = Map::new();
            // OCSF asks for a pid or a uid: the run's id names the process before it
            // has a pid, and after.
            if let Some(pid) = facts.pid {
                process.insert("pid".into(), json!(pid));
            }
            if let Some(uid) = record.str("run_id").or(facts.request.as_deref()) {
                process.insert("uid".into(), json!(uid));
            }
            if let Some(cmd_line) = &facts.cmd_line {
                process.insert("cmd_line".into(), json!(cmd_line));
            }
            if let Some(cwd) = &facts.cwd {
                process.insert("working_directory".into(), json!(cwd));
            }
            if let Some(exe) = record.str("exe") {
                process.insert(
                    "file".into(),
                    json!({"path": exe, "name": file_name(exe), "type_id": 1}),
                );
            }
            event["process"] = Value::Object(process);
            mapped.extend(["argv", "cwd", "pid", "exe"]);
            if record.event() == "exit"
                && let Some(code) = record.value.get("status")
            {
                event["exit_code"] = code.clone();
            }
        }
        if m.class == Class::Authorization {
            event["user"] = event["actor"]["user"].clone();
            let privileges = strings(&record.value, "rules").unwrap_or_default();
            event["privileges"] = json!(privileges);
        }
        if blocked(record, m) {
            event["disposition_id"] = json!(2);
            event["disposition"] = json!("Blocked");
            profiles.push("security_control");
        }
        event["metadata"]["profiles"] = json!(profiles);
        // A device with no name is no device, except where the class requires one.
        if facts.host.is_none() {
            if m.class == Class::Process {
                event["device"]["name"] = json!("unknown");
            } else {
                event["device"] = Value::Null;
            }
        }
        // OCSF has no null attributes: what is not known is left out.
        drop_nulls(&mut event);
        event["unmapped"] = Value::Object(Self::rest(record, &mapped));
        event
    }

    /// The record as an ECS document.
    pub fn ecs(&self, record: &Record, hash: &str) -> Value {
        let m = mapping(record);
        let facts = self.facts(record);
        let kind_type = match (m.class, m.activity, m.outcome) {
            (Class::Process, 1, Outcome::Failure) => json!(["start", "denied"]),
            (Class::Process, 1, _) => json!(["start"]),
            (Class::Process, _, _) => json!(["end"]),
            (_, _, Outcome::Success) if m.class == Class::Authorization => json!(["allowed"]),
            (_, _, Outcome::Failure) => json!(["denied"]),
            _ => json!(["info"]),
        };
        let outcome = match m.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Unknown => "unknown",
        };
        let mut event = json!({
            "@timestamp": record.str("ts"),
            "ecs": {"version": ECS_VERSION},
            "event": {
                "kind": "event",
                "category": [m.category],
                "type": kind_type,
                "action": record.event(),
                "outcome": outcome,
                "sequence": record.seq(),
                "id": hash,
                "severity": m.severity,
                "provider": "gatekeep",
                "module": "gatekeep",
                "dataset": self.origin.log_name(),
            },
            "observer": {"product": "gatekeep", "vendor": "gatekeep", "version": self.version},
        });
        if let Some(actor) = &facts.actor {
            event["user"] = json!({"name": actor});
        }
        if let Some(host) = &facts.host {
            event["host"] = json!({"name": host, "hostname": host});
        }
        let mut process = Map::new();
        if let Some(pid) = facts.pid {
            process.insert("pid".into(), json!(pid));
        }
        if let Some(argv) = &facts.argv {
            process.insert("args".into(), json!(argv));
            process.insert("args_count".into(), json!(argv.len()));
        }
        if let Some(cmd_line) = &facts.cmd_line {
            process.insert("command_line".into(), json!(cmd_line));
        }
        if let Some(cwd) = &facts.cwd {
            process.insert("working_directory".into(), json!(cwd));
        }
        if let Some(exe) = record.str("exe") {
            process.insert("executable".into(), json!(exe));
        }
        if record.event() == "exit"
            && let Some(code) = record.value.get("status")
        {
            process.insert("exit_code".into(), code.clone());
        }
        if !process.is_empty() {
            event["process"] = Value::Object(process);
        }
        if let Some(path) = record
            .str("path")
            .filter(|_| record.event() == "guard_refused")
        {
            event["file"] = json!({"path": path});
        }
        let mut rest = Self::rest(record, &["ts", "event", "seq"]);
        if let Some(chain_id) = &self.chain_id {
            rest.entry("chain_id").or_insert(json!(chain_id));
        }
        event["gatekeep"] = Value::Object(rest);
        event
    }
}

/// Whether the record reports something gatekeep stopped (not a command that failed by
/// itself, nor a delivery or review that went wrong).
fn blocked(record: &Record, m: Mapping) -> bool {
    m.outcome == Outcome::Failure
        && !matches!(
            record.event(),
            "exit"
                | "webhook_failed"
                | "delivery_failed"
                | "supervision_unavailable"
                | "break_glass_reviewed"
        )
}

struct Facts {
    actor: Option<String>,
    host: Option<String>,
    argv: Option<Vec<String>>,
    cmd_line: Option<String>,
    cwd: Option<String>,
    pid: Option<i64>,
    request: Option<String>,
}

fn strings(value: &Value, key: &str) -> Option<Vec<String>> {
    value.get(key).and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

/// Removes null attributes from `value`, at every depth.
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The record's time in milliseconds since the epoch (0 when it has none).
fn millis(record: &Record) -> i64 {
    record
        .str("ts")
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_millisecond())
}

fn severity_name(id: u32) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests;
