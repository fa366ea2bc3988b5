//! The service's own audit records, kept in its database as one hash chain every replica
//! appends to: the record lines of docs/audit-log.md, written in the transaction of the
//! change they record, so a change and its record commit together or not at all. Appends
//! are serialized (PostgreSQL: an advisory lock held until commit; SQLite: `BEGIN
//! IMMEDIATE`), so the chain never forks however many replicas write.
//!
//! Retention removes the oldest records as one contiguous run, never the last one, and
//! records what it removed (with the hash the first kept record chains to) in the chain
//! itself, in the same transaction.

use serde_json::{Value, json};

use crate::audit::{GENESIS, line_hash, render_at};

/// The advisory lock key audit appends run under (PostgreSQL).
pub const LOCK_KEY: i64 = 0x6761_7465_6175_6474; // "gateaudt"

/// The `meta` key holding the chain's id (record 0 may be removed by retention).
pub const CHAIN_ID_KEY: &str = "audit_chain_id";

/// The user the chain's `chain_open` record names.
const SERVICE_USER: &str = "gatekeep-service";

/// One row of `audit_records`: the record's line is all there is (anything beside it
/// would be a second, unchained account of the same record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub seq: i64,
    pub line: String,
}

/// The request a record's fields are about (`id`, else `window`, else `request`):
/// retention keeps the records of a request still kept.
fn request_of(fields: &Value) -> Option<String> {
    ["id", "window", "request"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

/// The error when the chain has no record but the database says it had one: its records
/// were removed outside gatekeep, and starting a new chain would hide that.
pub fn vanished(chain_id: &str) -> super::StoreError {
    super::StoreError(format!(
        "the service's audit chain {chain_id} has no records left: they were removed outside \
         gatekeep; restore the audit_records table from a backup (nothing is recorded, or \
         changed, until then)"
    ))
}

/// Records to append: (event, fields).
pub type Records = Vec<(String, Value)>;

/// What the chain holds now, read in the appending transaction.
pub struct Last {
    pub seq: i64,
    pub line: String,
}

/// The rows for `records`, chained after `last`, or after a new `chain_open` record (whose
/// chain id is returned) when the chain is empty. Every record names the replica that
/// wrote it; all are stamped `at`, the database's clock.
pub fn rows<E: AsRef<str>>(
    last: Option<Last>,
    records: &[(E, Value)],
    at: jiff::Timestamp,
    replica: &str,
) -> (Vec<Row>, Option<String>) {
    let mut out = Vec::with_capacity(records.len() + 1);
    let mut opened = None;
    let (mut seq, mut prev) = match last {
        Some(last) => (last.seq, line_hash(last.line.as_bytes())),
        None => {
            let chain_id = uuid::Uuid::new_v4().to_string();
            let line = render_at(
                0,
                "chain_open",
                GENESIS,
                &json!({"chain_id": chain_id, "host": replica, "user": SERVICE_USER}),
                at,
            );
            let hash = line_hash(line.as_bytes());
            out.push(Row { seq: 0, line });
            opened = Some(chain_id);
            (0, hash)
        }
    };
    for (event, fields) in records {
        seq += 1;
        let mut fields = fields.clone();
        if let Value::Object(map) = &mut fields {
            map.entry("replica")
                .or_insert_with(|| Value::String(replica.to_owned()));
        }
        let line = render_at(
            u64::try_from(seq).unwrap_or_default(),
            event.as_ref(),
            &prev,
            &fields,
            at,
        );
        prev = line_hash(line.as_bytes());
        out.push(Row { seq, line });
    }
    (out, opened)
}

/// The replica name every record carries, set once before serving.
#[derive(Default)]
pub struct Replica(std::sync::RwLock<String>);

impl Replica {
    pub fn get(&self) -> String {
        let name = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if name.is_empty() {
            crate::environment::hostname()
        } else {
            name
        }
    }

    pub fn set(&self, name: String) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = name;
    }
}

/// A page of the chain, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// The chain's id (none before the first record).
    pub chain_id: Option<String>,
    /// (seq, line) of each record.
    pub rows: Vec<(u64, String)>,
}

/// What a retention pass removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Audit records removed (a contiguous run from the oldest kept before).
    pub records: u64,
    /// Finished requests removed, with their events, deliveries and messages.
    pub requests: u64,
    /// The fields of the `retention` record appended, when anything was removed.
    pub record: Option<Value>,
}

/// The record of a signing key rotation.
pub fn key_rotated(from: Option<&str>, to: &str) -> (String, Value) {
    (
        "signing_key_rotated".to_owned(),
        json!({"from": from, "to": to}),
    )
}

/// Signs a message with the service's key (retention records).
pub type Signer = std::sync::Arc<dyn Fn(&[u8]) -> String + Send + Sync>;

/// The context of a retention record's signature, the first line of the signed message:
/// never a grant's (which signs JSON) nor a report's.
pub const RETENTION_CONTEXT: &str = "gatekeep-retention-v1";

/// The most records one retention pass reads (the rest wait for the next pass).
pub const SCAN_LIMIT: i64 = 100_000;

/// The bytes a retention record's signature covers: the chain, the run removed (its
/// seqs and the hash the next record chains to), the newest time removed and the minimum
/// age in force.
pub fn retention_message(
    chain_id: &str,
    first_seq: i64,
    last_seq: i64,
    last_hash: &str,
    newest_removed_ts: &str,
    min_days: u64,
) -> Vec<u8> {
    format!(
        "{RETENTION_CONTEXT}\n{chain_id}\n{first_seq}\n{last_seq}\n{last_hash}\n{newest_removed_ts}\n{min_days}"
    )
    .into_bytes()
}

/// A run of the oldest records retention may remove: (seq, line) of its first and last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub first: (i64, String),
    pub last: (i64, String),
}

/// What retention may remove, decided from the record lines themselves: the oldest
/// records, in order, while each is stamped before `before` and names no request
/// in `kept`, never the chain's last record (`last`). `rows` are the oldest records in
/// order (at most [`SCAN_LIMIT`] and one more). Records that do not chain to each other,
/// or to the record after the run, stop retention with an error: they were changed by
/// hand, and nothing is removed over them.
pub fn removable_run(
    rows: &[(i64, String)],
    before: i64,
    kept: &std::collections::HashSet<String>,
    last: i64,
) -> Result<Option<Run>, super::StoreError> {
    let broken = |seq: i64| {
        super::StoreError(format!(
            "the service's audit records do not chain at record {seq}: they were changed \
             outside gatekeep; retention removes nothing until they are restored"
        ))
    };
    let mut through: Option<usize> = None;
    for (index, (seq, line)) in rows.iter().enumerate() {
        if *seq >= last || index as i64 >= SCAN_LIMIT {
            break;
        }
        let value: Value = serde_json::from_str(line).map_err(|_| broken(*seq))?;
        if value.get("seq").and_then(Value::as_i64) != Some(*seq) {
            return Err(broken(*seq));
        }
        if index > 0 {
            let (before_seq, before_line) = &rows[index - 1];
            if *seq != before_seq + 1
                || value.get("prev").and_then(Value::as_str)
                    != Some(line_hash(before_line.as_bytes()).as_str())
            {
                return Err(broken(*seq));
            }
        }
        let stamped = value
            .get("ts")
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .ok_or_else(|| broken(*seq))?;
        if stamped.as_second() >= before || request_of(&value).is_some_and(|id| kept.contains(&id))
        {
            break;
        }
        through = Some(index);
    }
    let Some(through) = through else {
        return Ok(None);
    };
    // The first record kept must chain to the last one removed: the retention record
    // vouches for that link.
    let (last_seq, last_line) = &rows[through];
    if let Some((next_seq, next_line)) = rows.get(through + 1) {
        let next: Value = serde_json::from_str(next_line).map_err(|_| broken(*next_seq))?;
        if *next_seq != last_seq + 1
            || next.get("prev").and_then(Value::as_str)
                != Some(line_hash(last_line.as_bytes()).as_str())
        {
            return Err(broken(*next_seq));
        }
    } else {
        return Ok(None);
    }
    Ok(Some(Run {
        first: rows[0].clone(),
        last: (*last_seq, last_line.clone()),
    }))
}

/// The `retention` record for a removed run: the same shape as a local log's (one entry
/// under `removed`), with the hash the first kept record chains to, the chain's id and
/// the service's signature over them.
pub fn retention_record(
    run: &Run,
    chain_id: &str,
    min_days: u64,
    keep_days: u64,
    requests: u64,
    sign: &Signer,
) -> (String, Value) {
    let ts = |line: &str| {
        serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v.get("ts").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    };
    let (first_seq, first_line) = &run.first;
    let (last_seq, last_line) = &run.last;
    let last_hash = line_hash(last_line.as_bytes());
    let newest = ts(last_line);
    let signature = sign(&retention_message(
        chain_id, *first_seq, *last_seq, &last_hash, &newest, min_days,
    ));
    (
        "retention".to_owned(),
        json!({
            "removed": [{
                "first_seq": first_seq,
                "last_seq": last_seq,
                "records": last_seq + 1 - first_seq,
                "last_hash": last_hash,
                "first_ts": ts(first_line),
                "last_ts": newest,
            }],
            "first_kept_seq": last_seq + 1,
            "first_kept_prev": last_hash,
            "newest_removed_ts": newest,
            "min_days": min_days,
            "keep_days": keep_days,
            "requests_removed": requests,
            "chain_id": chain_id,
            "signature": signature,
        }),
    )
}

/// What one retention pass does when anything goes.
pub struct Pass {
    /// The `retention` record to append.
    pub record: (String, Value),
    /// The records to delete: first and last seq, when any go.
    pub removed: Option<(i64, i64)>,
}

/// What one retention pass records and removes, given the run the lines allow and how
/// many finished requests went (nothing when nothing went), the same for both stores.
pub fn retention_pass(
    run: Option<&Run>,
    chain_id: &str,
    min_days: u64,
    keep_days: u64,
    requests: u64,
    sign: &Signer,
) -> Option<Pass> {
    match run {
        Some(run) => Some(Pass {
            record: retention_record(run, chain_id, min_days, keep_days, requests, sign),
            removed: Some((run.first.0, run.last.0)),
        }),
        None => (requests > 0).then(|| Pass {
            record: (
                "retention".to_owned(),
                json!({"removed": [], "requests_removed": requests,
                       "min_days": min_days, "keep_days": keep_days}),
            ),
            removed: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_open_the_chain_and_link_each_record_to_the_one_before() {
        let at: jiff::Timestamp = "2026-05-01T00:00:00Z".parse().unwrap();
        let records = vec![
            ("review".to_owned(), json!({"id": "a"})),
            (
                "request_approved".to_owned(),
                json!({"id": "a", "replica": "kept"}),
            ),
        ];
        let (first, opened) = rows(None, &records, at, "r1");
        assert_eq!(first.len(), 3);
        let chain_id = opened.expect("the chain opened");
        let lines: Vec<&str> = first.iter().map(|r| r.line.as_str()).collect();
        let links = crate::audit::links(&lines, &chain_id).expect("one chain piece");
        assert_eq!(links[0].prev, GENESIS);
        let second: Value = serde_json::from_str(&first[1].line).unwrap();
        assert_eq!(second["replica"], "r1");
        let third: Value = serde_json::from_str(&first[2].line).unwrap();
        assert_eq!(
            third["replica"], "kept",
            "a record's own field is not replaced"
        );
        // The next batch continues the chain.
        let last = Last {
            seq: 2,
            line: first[2].line.clone(),
        };
        let (more, opened) = rows(Some(last), &records[..1], at, "r2");
        assert!(opened.is_none());
        let all: Vec<&str> = lines
            .iter()
            .copied()
            .chain(more.iter().map(|r| r.line.as_str()))
            .collect();
        assert_eq!(crate::audit::links(&all, &chain_id).unwrap().len(), 4);
    }

    /// A chain of `n` records stamped a day apart from 2026-01-01, record 2 about request
    /// `r2`.
    fn chain(n: i64) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = Vec::new();
        let mut prev = GENESIS.to_owned();
        for seq in 0..n {
            let at = jiff::Timestamp::from_second(1_767_225_600 + seq * 86_400).unwrap();
            let fields = if seq == 2 {
                json!({"id": "r2"})
            } else {
                json!({})
            };
            let line = render_at(u64::try_from(seq).unwrap(), "note", &prev, &fields, at);
            prev = line_hash(line.as_bytes());
            out.push((seq, line));
        }
        out
    }

    #[test]
    fn the_run_removed_is_read_from_the_lines_and_stops_where_they_say() {
        let rows = chain(10);
        let none = std::collections::HashSet::new();
        let day = |n: i64| 1_767_225_600 + n * 86_400;
        let run = |before, kept: &std::collections::HashSet<String>| {
            removable_run(&rows, before, kept, 9)
                .unwrap()
                .map(|r| (r.first.0, r.last.0))
        };
        // Stamped before day 4: records 0 to 3.
        assert_eq!(run(day(4), &none), Some((0, 3)));
        // Everything old: all but the last.
        assert_eq!(run(day(100), &none), Some((0, 8)));
        // Nothing old.
        assert_eq!(run(day(0), &none), None);
        // A request still kept since record 2 keeps it and every record after.
        let kept = std::collections::HashSet::from(["r2".to_owned()]);
        assert_eq!(run(day(100), &kept), Some((0, 1)));
        // A record changed by hand (here its time, to look old) stops retention.
        let mut forged = rows.clone();
        forged[5].1 = forged[5].1.replacen("2026-01-06", "2020-01-06", 1);
        let error = removable_run(&forged, day(100), &none, 9).unwrap_err();
        assert!(
            error.to_string().contains("do not chain at record 6"),
            "{error}"
        );
    }
}
