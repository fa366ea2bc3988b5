//! The evidence pack for auditors: every gated command in a period, from the local audit
//! logs and the service's own records, with the checks an auditor asks for (the approver
//! is not the requester, approval came before the exec, the grant was used once, the
//! approved digest is the one requested), each `pass`, `fail` or `cannot_verify` with why;
//! never a silent pass. Order is each log's hash chain and the service's record order,
//! never a comparison of clocks of different machines.
//!
//! Building the report does no IO: the command layer reads the logs and the service's
//! export and hands the records in.

pub mod html;
pub mod sign;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The report format's name and version.
pub const FORMAT: &str = "gatekeep-report";
pub const VERSION: u32 = 2;

/// One local log as read: its path, its records (in chain order) and what verifying its
/// chain found.
pub struct LocalLog {
    pub path: String,
    pub records: Vec<Value>,
    pub intact: bool,
    /// The first break, when the chain does not verify.
    pub problem: Option<String>,
    /// What the witness says of it (the heads it holds match, disagree, none, not checked).
    pub witness: String,
}

/// What the report covers.
pub struct Inputs {
    pub since: jiff::Timestamp,
    pub until: jiff::Timestamp,
    pub logs: Vec<LocalLog>,
    /// The service's records in its order, when a service was covered; `None` when not.
    pub service: Option<ServiceRecords>,
    pub generated_at: jiff::Timestamp,
}

/// The service's own records, as its export gave them.
pub struct ServiceRecords {
    pub url: String,
    pub records: Vec<Value>,
    pub intact: bool,
    /// Why they are not intact.
    pub problem: Option<String>,
    /// The first record kept and when retention removed those before it, when it did.
    pub retained_from: Option<(u64, String)>,
    /// The last record read: (seq, hash of its line).
    pub head: Option<(u64, String)>,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    CannotVerify,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::CannotVerify => "cannot_verify",
        }
    }
}

/// One check of one item, and why it came out as it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub check: String,
    pub outcome: Outcome,
    pub why: String,
}

/// The checks every item gets, in this order.
pub const CHECKS: [&str; 4] = [
    "approver_is_not_requester",
    "approved_before_exec",
    "grant_used_once",
    "digest_matched",
];

/// One gated command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub request_id: String,
    /// `approval`, `break_glass` or `window` (granted under a window).
    pub kind: String,
    pub requester: Option<String>,
    pub host: Option<String>,
    pub user: Option<String>,
    pub agent: bool,
    pub argv: Vec<String>,
    pub rules: Vec<String>,
    pub reason: Option<String>,
    pub approvers: Vec<String>,
    pub comments: Vec<String>,
    pub requested_at: Option<String>,
    pub approved_at: Option<String>,
    pub exec_at: Option<String>,
    pub exit_at: Option<String>,
    pub exit_code: Option<i64>,
    pub window: Option<String>,
    /// approved and run, rejected, expired, cancelled, approved (not run), pending.
    pub outcome: String,
    /// For a break-glass run: its review (`open`, `overdue`, `acknowledged by X`, `flagged by X`).
    pub break_glass_review: Option<String>,
    pub checks: Vec<Check>,
}

/// A command that was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    pub at: String,
    /// `policy` (the requester's policy) or `service` (the service's own).
    pub by: String,
    pub requester: Option<String>,
    pub argv: Vec<String>,
    pub rules: Vec<String>,
}

/// A self-approval the service refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedReview {
    pub at: String,
    pub request_id: String,
    pub reviewer: String,
}

/// A window an approval opened in the period: a standing approval, with what it granted
/// and whether it was revoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSummary {
    /// The window's id: the id of the request whose approval opened it.
    pub window: String,
    pub requester: Option<String>,
    pub scope: String,
    pub starts_at: String,
    pub ends_at: String,
    pub opened_by: Vec<String>,
    /// The requests granted under it, in the service's order.
    pub uses: Vec<String>,
    /// `by WHO at TIME: REASON`, when it was revoked.
    pub revoked: Option<String>,
}

/// One of the service's own events that changes no request: a configuration reload, a
/// retention pass, a report signed, a witness head refused, a delivery given up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub at: String,
    pub event: String,
    /// The replica that recorded it.
    pub replica: Option<String>,
    /// Who caused it, when someone did.
    pub by: Option<String>,
    pub detail: String,
}

/// The service events the report lists, in the service's order.
const SERVICE_EVENTS: &[&str] = &[
    "service_started",
    "signing_key_rotated",
    "config_reloaded",
    "config_reload_failed",
    "retention",
    "report_signed",
    "witness_refused",
    "webhook_failed",
    "delivery_failed",
];

/// One log covered, and whether its chain verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Covered {
    pub source: String,
    pub records: usize,
    pub chain: String,
    pub witness: String,
    /// The last record read, `record N, sha256 HASH` (the service's records), so two
    /// reports can be compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// The totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub items: usize,
    pub denials: usize,
    pub break_glass: usize,
    pub break_glass_open: usize,
    pub checks_failed: usize,
    pub checks_cannot_verify: usize,
    /// Decisions per day: (day, allow, approve, deny).
    pub decisions_per_day: Vec<(String, u64, u64, u64)>,
    /// Seconds from request to approval, for each approved item the service covered.
    pub approval_seconds: Vec<i64>,
    pub top_rules: Vec<(String, u64)>,
    pub top_requesters: Vec<(String, u64)>,
}

/// The evidence pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub version: u32,
    pub generated_at: String,
    pub since: String,
    pub until: String,
    pub covered: Vec<Covered>,
    pub items: Vec<Item>,
    pub denials: Vec<Denial>,
    /// Self-approvals the service refused.
    pub refused_self_approvals: Vec<RefusedReview>,
    /// Windows opened in the period (from version 2; left out when there are none, so a
    /// version 1 report reads back as it was signed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<WindowSummary>,
    /// The service's own events in the period (from version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_events: Vec<ServiceEvent>,
    pub totals: Totals,
    /// The service's signature over the rest, when it was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<sign::Signature>,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    value
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn time(value: &Value) -> Option<jiff::Timestamp> {
    value.get("ts").and_then(Value::as_str)?.parse().ok()
}

/// Where a local record is: (log, seq), the chain's order within one log.
type Place = (usize, u64);

/// What the local logs say about one request.
#[derive(Default)]
struct Local {
    requested: Option<(Place, Value)>,
    decision: Option<Value>,
    granted: Vec<(Place, Value)>,
    exec: Option<(Place, Value)>,
    exit: Option<Value>,
    ended: Option<Value>,
}

/// What the service's records say about one request.
#[derive(Default)]
struct Service {
    created: Option<(usize, Value)>,
    reviews: Vec<(usize, Value)>,
    approved: Option<(usize, Value)>,
    consumed: Vec<(usize, Value)>,
    ended: Option<Value>,
    break_glass: Option<Value>,
    reviewed_after: Option<Value>,
    overdue: bool,
    under_window: Option<String>,
}

fn in_period(inputs: &Inputs, value: &Value) -> bool {
    time(value).is_some_and(|t| t >= inputs.since && t < inputs.until)
}

/// Builds the report (unsigned).
pub fn build(inputs: &Inputs) -> Report {
    let mut covered = Vec::new();
    let mut local: BTreeMap<String, Local> = BTreeMap::new();
    let mut first_seen: BTreeMap<String, (u8, usize, u64)> = BTreeMap::new();
    let mut denials = Vec::new();
    let mut per_day: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for (index, log) in inputs.logs.iter().enumerate() {
        covered.push(Covered {
            source: log.path.clone(),
            records: log.records.len(),
            chain: if log.intact {
                "verified".to_owned()
            } else {
                format!(
                    "broken: {}",
                    log.problem
                        .as_deref()
                        .unwrap_or("the chain does not verify")
                )
            },
            witness: log.witness.clone(),
            head: None,
        });
        // Records of one run, by run id: its decision and what followed.
        let mut runs: BTreeMap<String, String> = BTreeMap::new();
        let mut decisions: BTreeMap<String, Value> = BTreeMap::new();
        for record in &log.records {
            if !in_period(inputs, record) {
                continue;
            }
            let seq = record.get("seq").and_then(Value::as_u64).unwrap_or(0);
            let place = (index, seq);
            let run = text(record, "run_id").unwrap_or_default();
            let event = text(record, "event").unwrap_or_default();
            match event.as_str() {
                "decision" => {
                    let decision = text(record, "decision").unwrap_or_default();
                    if let Some(t) = time(record) {
                        let day = t.strftime("%Y-%m-%d").to_string();
                        let counts = per_day.entry(day).or_default();
                        match decision.as_str() {
                            "deny" => counts.2 += 1,
                            "approve" => counts.1 += 1,
                            _ => counts.0 += 1,
                        }
                    }
                    if decision == "deny" {
                        denials.push(Denial {
                            at: text(record, "ts").unwrap_or_default(),
                            by: "policy".to_owned(),
                            requester: text(record, "user").map(|u| {
                                format!("{u}@{}", text(record, "host").unwrap_or_default())
                            }),
                            argv: strings(record, "argv"),
                            rules: strings(record, "rules"),
                        });
                    }
                    decisions.insert(run, record.clone());
                }
                "approval_requested" | "approval_granted" | "approval_rejected"
                | "approval_expired" | "approval_cancelled" => {
                    let Some(id) = text(record, "request_id") else {
                        continue;
                    };
                    runs.insert(run.clone(), id.clone());
                    first_seen.entry(id.clone()).or_insert((0, index, seq));
                    let entry = local.entry(id).or_default();
                    if entry.decision.is_none() {
                        entry.decision = decisions.get(&run).cloned();
                    }
                    match event.as_str() {
                        "approval_requested" => entry.requested = Some((place, record.clone())),
                        "approval_granted" => entry.granted.push((place, record.clone())),
                        _ => entry.ended = Some(record.clone()),
                    }
                }
                "exec" | "exit" => {
                    let Some(id) = runs.get(&run) else { continue };
                    let entry = local.entry(id.clone()).or_default();
                    if event == "exec" {
                        entry.exec.get_or_insert((place, record.clone()));
                    } else {
                        entry.exit.get_or_insert(record.clone());
                    }
                }
                _ => {}
            }
        }
    }
    let mut service: BTreeMap<String, Service> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut windows: Vec<WindowSummary> = Vec::new();
    let mut service_events = Vec::new();
    if let Some(records) = &inputs.service {
        covered.push(Covered {
            source: format!("service {}", records.url),
            records: records.records.len(),
            chain: match (records.intact, &records.retained_from) {
                (true, None) => "verified".to_owned(),
                (true, Some((seq, at))) => format!(
                    "verified from record {seq} (retention removed the records before it at {at})"
                ),
                (false, _) => format!(
                    "broken: {}",
                    records
                        .problem
                        .as_deref()
                        .unwrap_or("the service's records do not verify")
                ),
            },
            head: records
                .head
                .as_ref()
                .map(|(seq, hash)| format!("record {seq}, sha256 {hash}")),
            witness: "the service's own records".to_owned(),
        });
        for (order, record) in records.records.iter().enumerate() {
            if !in_period(inputs, record) {
                continue;
            }
            let event = text(record, "event").unwrap_or_default();
            if SERVICE_EVENTS.contains(&event.as_str()) {
                service_events.push(service_event(&event, record));
                continue;
            }
            match event.as_str() {
                "window_opened" => {
                    let window = text(record, "window").unwrap_or_default();
                    windows.push(WindowSummary {
                        requester: service
                            .get(&window)
                            .and_then(|s| s.created.as_ref())
                            .and_then(|(_, c)| text(c, "requester")),
                        window,
                        scope: match record.get("scope") {
                            Some(Value::String(scope)) => scope.clone(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        },
                        starts_at: text(record, "starts_at").unwrap_or_default(),
                        ends_at: text(record, "ends_at").unwrap_or_default(),
                        opened_by: strings(record, "opened_by"),
                        uses: Vec::new(),
                        revoked: None,
                    });
                }
                "window_used" | "window_revoked" => {
                    let id = text(record, "window");
                    if let Some(window) =
                        windows.iter_mut().find(|w| Some(&w.window) == id.as_ref())
                    {
                        if event == "window_used" {
                            window.uses.extend(text(record, "id"));
                        } else {
                            window.revoked = Some(format!(
                                "by {} at {}: {}",
                                text(record, "by").unwrap_or_default(),
                                text(record, "ts").unwrap_or_default(),
                                text(record, "reason").unwrap_or_else(|| "no reason given".into())
                            ));
                        }
                    }
                }
                _ => {}
            }
            if event == "review_refused" {
                refused.push(RefusedReview {
                    at: text(record, "ts").unwrap_or_default(),
                    request_id: text(record, "id").unwrap_or_default(),
                    reviewer: text(record, "reviewer").unwrap_or_default(),
                });
                continue;
            }
            if event == "request_denied" {
                denials.push(Denial {
                    at: text(record, "ts").unwrap_or_default(),
                    by: "service".to_owned(),
                    requester: text(record, "requester"),
                    argv: strings(record, "argv"),
                    rules: strings(record, "rules"),
                });
                continue;
            }
            let Some(id) = text(record, "id") else {
                continue;
            };
            first_seen.entry(id.clone()).or_insert((1, 0, order as u64));
            let entry = service.entry(id.clone()).or_default();
            match event.as_str() {
                "request_created" => entry.created = Some((order, record.clone())),
                "review" => entry.reviews.push((order, record.clone())),
                "request_approved" => {
                    entry.approved.get_or_insert((order, record.clone()));
                    entry.under_window = text(record, "window");
                }
                "request_consumed" => entry.consumed.push((order, record.clone())),
                "request_rejected" | "request_expired" | "request_cancelled" => {
                    entry.ended = Some(record.clone());
                }
                "break_glass" => entry.break_glass = Some(record.clone()),
                "break_glass_reviewed" => entry.reviewed_after = Some(record.clone()),
                "break_glass_overdue" => entry.overdue = true,
                _ => {}
            }
        }
    }
    let mut ids: Vec<(&(u8, usize, u64), &String)> =
        first_seen.iter().map(|(id, at)| (at, id)).collect();
    ids.sort();
    let mut items = Vec::new();
    for (_, id) in ids {
        let here = local.get(id);
        let there = service.get(id);
        // Only gated commands: a request the period shows something of.
        if here.is_none() && there.is_none_or(|s| s.created.is_none() && s.break_glass.is_none()) {
            continue;
        }
        items.push(item(id, here, there, inputs.service.is_some()));
    }
    let totals = totals(&items, &denials, per_day, inputs);
    Report {
        format: FORMAT.to_owned(),
        version: VERSION,
        generated_at: crate::server::lifecycle::stamp(inputs.generated_at),
        since: crate::server::lifecycle::stamp(inputs.since),
        until: crate::server::lifecycle::stamp(inputs.until),
        covered,
        items,
        denials,
        refused_self_approvals: refused,
        windows,
        service_events,
        totals,
        signature: None,
    }
}

/// A service event as the report lists it: who, and what it said in a line.
fn service_event(event: &str, record: &Value) -> ServiceEvent {
    let list = |key: &str| strings(record, key).join(", ");
    // A key id or digest, shortened.
    let short = |key: &str| {
        text(record, key)
            .map(|k| crate::render::prefix(&k, 16).to_owned())
            .unwrap_or_default()
    };
    let policy = || match text(record, "policy") {
        Some(_) => format!("service policy {}", short("policy")),
        None => "no service policy".to_owned(),
    };
    let detail = match event {
        "config_reloaded" => {
            let mut parts = vec![format!("users: {}", list("users"))];
            match text(record, "policy_error") {
                Some(error) => parts.push(format!("policy kept, the new one failed: {error}")),
                None => parts.push(policy()),
            }
            if let Some(error) = text(record, "secrets_error") {
                parts.push(format!("secrets kept, the new ones failed: {error}"));
            }
            parts.join("; ")
        }
        "service_started" => format!(
            "version {}, key {}, {} store, users: {}; {}; retention {}",
            text(record, "version").unwrap_or_default(),
            short("key_id"),
            text(record, "store").unwrap_or_default(),
            list("users"),
            policy(),
            match record.get("retention") {
                Some(r) if r.is_object() =>
                    format!("{} days (at least {})", r["keep_days"], r["min_days"]),
                _ => "off".to_owned(),
            }
        ),
        "signing_key_rotated" => format!("from key {} to {}", short("from"), short("to")),
        "config_reload_failed" => text(record, "error").unwrap_or_default(),
        "retention" => {
            let records = record
                .get("removed")
                .and_then(Value::as_array)
                .map_or(0, |r| {
                    r.iter().filter_map(|x| x["records"].as_u64()).sum::<u64>()
                });
            let kept = match record["first_kept_seq"].as_u64() {
                Some(seq) => format!(" (kept from record {seq})"),
                None => String::new(),
            };
            format!(
                "{records} records removed{kept}, {} finished requests",
                record["requests_removed"].as_u64().unwrap_or(0)
            )
        }
        "report_signed" => format!("digest {}", text(record, "digest").unwrap_or_default()),
        "witness_refused" => format!(
            "{}@{} {}: {}",
            text(record, "user").unwrap_or_default(),
            text(record, "host").unwrap_or_default(),
            text(record, "path").unwrap_or_default(),
            text(record, "error").unwrap_or_default()
        ),
        _ => format!(
            "{} {}: {}",
            text(record, "url")
                .or_else(|| text(record, "sink"))
                .unwrap_or_default(),
            text(record, "event_type").unwrap_or_default(),
            text(record, "error").unwrap_or_default()
        ),
    };
    ServiceEvent {
        at: text(record, "ts").unwrap_or_default(),
        event: event.to_owned(),
        replica: text(record, "replica"),
        by: text(record, "by"),
        detail,
    }
}

/// Whether a retention record accounts for the records before `first`: the run it names
/// ends just before it with the hash it chains to, it comes after it in the chain, it is
/// of this chain, what it removed was at least 90 days (and its own minimum) old when it
/// was removed, and the service's key signed it. Its time when it holds.
pub fn retention_holds(
    record: &serde_json::Value,
    first: &crate::audit::Link,
    chain_id: &str,
    key: &str,
) -> Result<String, String> {
    let removed = &record["removed"][0];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let (first_seq, last_seq) = (removed["first_seq"].as_i64(), removed["last_seq"].as_i64());
    let (Some(first_seq), Some(last_seq)) = (first_seq, last_seq) else {
        return Err("it names no run of records".into());
    };
    if u64::try_from(last_seq).ok().and_then(|s| s.checked_add(1)) != Some(first.seq)
        || text(&removed["last_hash"]) != first.prev
        || text(&record["first_kept_prev"]) != first.prev
    {
        return Err(format!(
            "the run it names does not end just before record {}",
            first.seq
        ));
    }
    if record["seq"].as_u64().is_none_or(|seq| seq <= first.seq) {
        return Err("it comes before the records it says it kept".into());
    }
    if !chain_id.is_empty() && text(&record["chain_id"]) != chain_id {
        return Err("it is of another chain".into());
    }
    let min_days = record["min_days"].as_u64().unwrap_or(0);
    let floor = min_days.max(crate::audit::DEFAULT_MIN_DAYS);
    let newest = text(&record["newest_removed_ts"]);
    let at = text(&record["ts"]);
    match (
        newest.parse::<jiff::Timestamp>(),
        at.parse::<jiff::Timestamp>(),
    ) {
        (Ok(newest), Ok(at))
            if newest.as_second() + i64::try_from(floor).unwrap_or(i64::MAX / 2) * 86_400
                <= at.as_second() => {}
        _ => {
            return Err(format!(
                "it removed records younger than {floor} days (the newest from {newest}, removed at {at})"
            ));
        }
    }
    let message = crate::server::store::audit::retention_message(
        &text(&record["chain_id"]),
        first_seq,
        last_seq,
        &text(&removed["last_hash"]),
        &newest,
        min_days,
    );
    if !crate::approval::verify_message(key, &message, &text(&record["signature"])) {
        return Err("the service's key did not sign it".into());
    }
    Ok(at)
}

/// Whether a retention record among `records` accounts for the records before `first`
/// (see [`retention_holds`]): the time of the one that does, or why none does. The
/// service's key is asked for only when there is a record to check.
pub fn retention_vouches<'a>(
    records: impl IntoIterator<Item = &'a Value>,
    first: &crate::audit::Link,
    chain_id: &str,
    key: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let candidates: Vec<&Value> = records
        .into_iter()
        .filter(|r| r["event"] == "retention" && r["first_kept_seq"].as_u64() == Some(first.seq))
        .collect();
    if candidates.is_empty() {
        return Err("no retention record says they were removed".into());
    }
    let does_not_hold = |why: String| {
        format!("the retention record that says they were removed does not hold: {why}")
    };
    let key =
        key().map_err(|e| does_not_hold(format!("the service's key could not be read: {e}")))?;
    let mut why = None;
    for record in candidates {
        match retention_holds(record, first, chain_id, &key) {
            Ok(at) => return Ok(at),
            Err(e) => {
                why.get_or_insert(e);
            }
        }
    }
    Err(does_not_hold(why.unwrap_or_default()))
}

fn check(name: &str, outcome: Outcome, why: impl Into<String>) -> Check {
    Check {
        check: name.to_owned(),
        outcome,
        why: why.into(),
    }
}

fn item(id: &str, here: Option<&Local>, there: Option<&Service>, service_covered: bool) -> Item {
    let empty_local = Local::default();
    let empty_service = Service::default();
    let l = here.unwrap_or(&empty_local);
    let s = there.unwrap_or(&empty_service);
    let created = s.created.as_ref().map(|(_, v)| v);
    let decision = l.decision.as_ref();
    let mut item = Item {
        request_id: id.to_owned(),
        ..Item::default()
    };
    item.requester = created
        .and_then(|c| text(c, "requester"))
        .or_else(|| decision.and_then(|d| text(d, "user")));
    item.host = created
        .and_then(|c| text(c, "host"))
        .or_else(|| decision.and_then(|d| text(d, "host")));
    item.user = created
        .and_then(|c| text(c, "user"))
        .or_else(|| decision.and_then(|d| text(d, "user")));
    item.agent = created
        .and_then(|c| c.get("agent"))
        .or_else(|| decision.and_then(|d| d.get("agent")))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    item.argv = created
        .map(|c| strings(c, "argv"))
        .filter(|a| !a.is_empty())
        .or_else(|| decision.map(|d| strings(d, "argv")))
        .unwrap_or_default();
    item.rules = created
        .map(|c| strings(c, "rules"))
        .filter(|r| !r.is_empty())
        .or_else(|| decision.map(|d| strings(d, "rules")))
        .unwrap_or_default();
    item.reason = decision
        .and_then(|d| text(d, "reason"))
        .or_else(|| s.break_glass.as_ref().and_then(|b| text(b, "reason")));
    let mut approvers: Vec<String> = s
        .reviews
        .iter()
        .filter(|(_, r)| text(r, "verdict").as_deref() == Some("approve"))
        .filter_map(|(_, r)| text(r, "reviewer"))
        .collect();
    if approvers.is_empty() {
        approvers = s
            .approved
            .as_ref()
            .map(|(_, a)| strings(a, "reviewers"))
            .or_else(|| l.granted.first().map(|(_, g)| strings(g, "reviewers")))
            .unwrap_or_default();
    }
    approvers.sort();
    approvers.dedup();
    item.approvers = approvers.clone();
    item.comments = s
        .reviews
        .iter()
        .filter_map(|(_, r)| {
            text(r, "comment").map(|c| format!("{}: {c}", text(r, "reviewer").unwrap_or_default()))
        })
        .collect();
    item.requested_at = created
        .and_then(|c| text(c, "ts"))
        .or_else(|| l.requested.as_ref().and_then(|(_, r)| text(r, "ts")));
    item.approved_at = s
        .approved
        .as_ref()
        .and_then(|(_, a)| text(a, "ts"))
        .or_else(|| s.break_glass.as_ref().and_then(|b| text(b, "ts")))
        .or_else(|| l.granted.first().and_then(|(_, g)| text(g, "ts")));
    item.exec_at = l.exec.as_ref().and_then(|(_, e)| text(e, "ts"));
    item.exit_at = l.exit.as_ref().and_then(|e| text(e, "ts"));
    item.exit_code = l
        .exit
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    item.window = s
        .under_window
        .clone()
        .or_else(|| l.granted.first().and_then(|(_, g)| text(g, "window")));
    let break_glass = s.break_glass.is_some()
        || l.granted
            .iter()
            .any(|(_, g)| g.get("break_glass") == Some(&Value::Bool(true)));
    item.kind = if break_glass {
        "break_glass"
    } else if item.window.is_some() {
        "window"
    } else {
        "approval"
    }
    .to_owned();
    if break_glass {
        item.break_glass_review = Some(match &s.reviewed_after {
            Some(r) => format!(
                "{} by {}",
                match text(r, "finding").as_deref() {
                    Some("flag") => "flagged",
                    _ => "acknowledged",
                },
                text(r, "reviewer").unwrap_or_default()
            ),
            None if s.overdue => "overdue".to_owned(),
            None => "open".to_owned(),
        });
    }
    item.outcome = if l.exec.is_some() {
        "approved and run"
    } else if let Some(ended) = s.ended.as_ref().or(l.ended.as_ref()) {
        match text(ended, "event").as_deref() {
            Some("request_rejected" | "approval_rejected") => "rejected",
            Some("request_cancelled" | "approval_cancelled") => "cancelled",
            _ => "expired",
        }
    } else if s.approved.is_some() || !l.granted.is_empty() {
        "approved, not run"
    } else {
        "pending"
    }
    .to_owned();
    item.checks = checks(l, s, &item, service_covered, break_glass);
    item
}

fn checks(
    l: &Local,
    s: &Service,
    item: &Item,
    service_covered: bool,
    break_glass: bool,
) -> Vec<Check> {
    let mut out = Vec::new();
    let requester = item.requester.as_deref();
    // Approver is not the requester: the service's reviews say who approved.
    out.push(if break_glass {
        check(
            CHECKS[0],
            Outcome::CannotVerify,
            "a break-glass run has no approver; its review afterwards is listed instead",
        )
    } else if !service_covered {
        check(
            CHECKS[0],
            Outcome::CannotVerify,
            "the service's records are not covered, and only they say who approved",
        )
    } else if item.approvers.is_empty() && item.window.is_none() {
        check(
            CHECKS[0],
            if s.approved.is_some() || !l.granted.is_empty() {
                Outcome::Fail
            } else {
                Outcome::CannotVerify
            },
            "no approval is recorded",
        )
    } else {
        match requester {
            Some(who) if item.approvers.iter().any(|a| a == who) => check(
                CHECKS[0],
                Outcome::Fail,
                format!("{who} approved their own request"),
            ),
            Some(_) => check(
                CHECKS[0],
                Outcome::Pass,
                format!("approved by {}", item.approvers.join(", ")),
            ),
            None => check(
                CHECKS[0],
                Outcome::CannotVerify,
                "the requester is not recorded",
            ),
        }
    });
    // Approved before exec: in the chain of the log that ran it.
    out.push(match (&l.exec, l.granted.first()) {
        (None, _) => check(
            CHECKS[1],
            Outcome::CannotVerify,
            "no exec record: not run, or the log that ran it is not covered",
        ),
        (Some(_), None) => check(
            CHECKS[1],
            Outcome::Fail,
            "the command ran with no grant recorded before it",
        ),
        (Some(((log_e, exec), _)), Some(((log_g, granted), _))) => {
            if log_e == log_g && granted < exec {
                check(
                    CHECKS[1],
                    Outcome::Pass,
                    format!("grant at record {granted}, exec at record {exec} of the same chain"),
                )
            } else if log_e == log_g {
                check(
                    CHECKS[1],
                    Outcome::Fail,
                    format!("exec at record {exec} comes before the grant at record {granted}"),
                )
            } else {
                check(
                    CHECKS[1],
                    Outcome::CannotVerify,
                    "the grant and the exec are in different logs, whose order no chain fixes",
                )
            }
        }
    });
    // Grant used once: every local use and every consume the service recorded.
    let uses = l.granted.len();
    let consumes = s.consumed.len();
    out.push(if uses > 1 || consumes > 1 {
        check(
            CHECKS[2],
            Outcome::Fail,
            format!(
                "used {uses} times in the logs covered, consumed {consumes} times by the service"
            ),
        )
    } else if uses == 1 && (consumes == 1 || !service_covered) {
        check(
            CHECKS[2],
            if service_covered {
                Outcome::Pass
            } else {
                Outcome::CannotVerify
            },
            if service_covered {
                "used once, consumed once".to_owned()
            } else {
                "used once here; the service's records are not covered".to_owned()
            },
        )
    } else if uses == 0 && consumes == 0 {
        check(
            CHECKS[2],
            Outcome::CannotVerify,
            "no use of a grant is recorded",
        )
    } else if uses == 0 {
        check(
            CHECKS[2],
            Outcome::CannotVerify,
            "the service recorded a consume, but no log covered records its use",
        )
    } else {
        check(
            CHECKS[2],
            Outcome::Fail,
            "used here, but the service recorded no consume",
        )
    });
    // Digest matched: what was requested here is what the service was asked to approve.
    let requested = l.requested.as_ref().and_then(|(_, r)| text(r, "digest"));
    let filed = s.created.as_ref().and_then(|(_, c)| text(c, "digest"));
    out.push(match (requested, filed) {
        (Some(a), Some(b)) if a == b => check(
            CHECKS[3],
            Outcome::Pass,
            format!("digest {}", crate::render::prefix(&a, 16)),
        ),
        (Some(a), Some(b)) => check(
            CHECKS[3],
            Outcome::Fail,
            format!(
                "requested {} but the service recorded {}",
                crate::render::prefix(&a, 16),
                crate::render::prefix(&b, 16)
            ),
        ),
        (None, _) => check(
            CHECKS[3],
            Outcome::CannotVerify,
            "no approval_requested record in the logs covered",
        ),
        (_, None) => check(
            CHECKS[3],
            Outcome::CannotVerify,
            "no request_created record in the service's records covered",
        ),
    });
    out
}

fn totals(
    items: &[Item],
    denials: &[Denial],
    per_day: BTreeMap<String, (u64, u64, u64)>,
    inputs: &Inputs,
) -> Totals {
    let mut rules: BTreeMap<String, u64> = BTreeMap::new();
    let mut requesters: BTreeMap<String, u64> = BTreeMap::new();
    let mut approval_seconds = Vec::new();
    for item in items {
        for rule in &item.rules {
            *rules.entry(rule.clone()).or_default() += 1;
        }
        if let Some(who) = &item.requester {
            *requesters.entry(who.clone()).or_default() += 1;
        }
        // Both times are the service's own clock: a difference of one clock.
        if inputs.service.is_some()
            && item.kind == "approval"
            && let (Some(a), Some(b)) = (&item.requested_at, &item.approved_at)
            && let (Ok(a), Ok(b)) = (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>())
        {
            approval_seconds.push((b.as_second() - a.as_second()).max(0));
        }
    }
    let top = |map: BTreeMap<String, u64>| {
        let mut all: Vec<(String, u64)> = map.into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(10);
        all
    };
    let checks = items.iter().flat_map(|i| &i.checks);
    Totals {
        items: items.len(),
        denials: denials.len(),
        break_glass: items.iter().filter(|i| i.kind == "break_glass").count(),
        break_glass_open: items
            .iter()
            .filter(|i| matches!(i.break_glass_review.as_deref(), Some("open" | "overdue")))
            .count(),
        checks_failed: checks
            .clone()
            .filter(|c| c.outcome == Outcome::Fail)
            .count(),
        checks_cannot_verify: checks
            .filter(|c| c.outcome == Outcome::CannotVerify)
            .count(),
        decisions_per_day: per_day
            .into_iter()
            .map(|(day, (a, p, d))| (day, a, p, d))
            .collect(),
        approval_seconds,
        top_rules: top(rules),
        top_requesters: top(requesters),
    }
}

/// The report as CSV: one row per item, its checks as columns (`OUTCOME: why`).
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "request_id",
        "kind",
        "requester",
        "host",
        "user",
        "agent",
        "argv",
        "rules",
        "reason",
        "approvers",
        "comments",
        "requested_at",
        "approved_at",
        "exec_at",
        "exit_at",
        "exit_code",
        "window",
        "outcome",
        "break_glass_review",
    ];
    header.extend(CHECKS);
    writer.write_record(&header)?;
    for item in &report.items {
        let mut row = vec![
            item.request_id.clone(),
            item.kind.clone(),
            item.requester.clone().unwrap_or_default(),
            item.host.clone().unwrap_or_default(),
            item.user.clone().unwrap_or_default(),
            item.agent.to_string(),
            crate::render::command(&item.argv),
            item.rules.join(" "),
            item.reason.clone().unwrap_or_default(),
            item.approvers.join(" "),
            item.comments.join(" | "),
            item.requested_at.clone().unwrap_or_default(),
            item.approved_at.clone().unwrap_or_default(),
            item.exec_at.clone().unwrap_or_default(),
            item.exit_at.clone().unwrap_or_default(),
            item.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            item.window.clone().unwrap_or_default(),
            item.outcome.clone(),
            item.break_glass_review.clone().unwrap_or_default(),
        ];
        for name in CHECKS {
            row.push(
                item.checks
                    .iter()
                    .find(|c| c.check == name)
                    .map(|c| format!("{}: {}", c.outcome.as_str(), c.why))
                    .unwrap_or_default(),
            );
        }
        writer.write_record(&row)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests;
