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

/// One row of `audit_records`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub seq: i64,
    pub ts_unix: i64,
    pub event: String,
    /// The request the record is about (`id`, else `window`, else `request`), if any:
    /// retention keeps the records of a request still kept.
    pub request_id: Option<String>,
    pub line: String,
}

/// The request a record's fields are about.
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

/// The records of a transition, owned.
pub fn owned(records: &[(&'static str, Value)]) -> Records {
    records
        .iter()
        .map(|(event, fields)| ((*event).to_owned(), fields.clone()))
        .collect()
}

/// What the chain holds now, read in the appending transaction.
pub struct Last {
    pub seq: i64,
    pub line: String,
}

/// The rows for `records`, chained after `last`, or after a new `chain_open` record (whose
/// chain id is returned) when the chain is empty. Every record names the replica that
/// wrote it; all are stamped `at`, the database's clock.
pub fn rows(
    last: Option<Last>,
    records: &[(String, Value)],
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
            out.push(Row {
                seq: 0,
                ts_unix: at.as_second(),
                event: "chain_open".to_owned(),
                request_id: None,
                line,
            });
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
            event,
            &prev,
            &fields,
            at,
        );
        prev = line_hash(line.as_bytes());
        out.push(Row {
            seq,
            ts_unix: at.as_second(),
            event: event.clone(),
            request_id: request_of(&fields),
            line,
        });
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

/// The oldest records to remove: those before the first record stamped at or after
/// `before` and before the first record of a request still kept (open, or finished too
/// recently), never the last record, given the chain's (first seq, those two bounds, last
/// seq). `None`: nothing to remove.
pub fn removable(
    first: i64,
    first_young: Option<i64>,
    first_kept_request: Option<i64>,
    last: i64,
) -> Option<(i64, i64)> {
    let through = [first_young, first_kept_request]
        .into_iter()
        .flatten()
        .fold(last, i64::min)
        - 1;
    (through >= first).then_some((first, through))
}

/// The `retention` record for a removed run: the same shape as a local log's (one entry
/// under `removed`), with the hash the first kept record chains to.
pub fn retention_record(
    first: (&Row, &Row),
    min_days: u64,
    keep_days: u64,
    requests: u64,
) -> (String, Value) {
    let (oldest, newest) = first;
    let ts = |row: &Row| {
        serde_json::from_str::<Value>(&row.line)
            .ok()
            .and_then(|v| v.get("ts").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default()
    };
    let last_hash = line_hash(newest.line.as_bytes());
    (
        "retention".to_owned(),
        json!({
            "removed": [{
                "first_seq": oldest.seq,
                "last_seq": newest.seq,
                "records": newest.seq + 1 - oldest.seq,
                "last_hash": last_hash,
                "first_ts": ts(oldest),
                "last_ts": ts(newest),
            }],
            "first_kept_seq": newest.seq + 1,
            "first_kept_prev": last_hash,
            "newest_removed_ts": ts(newest),
            "min_days": min_days,
            "keep_days": keep_days,
            "requests_removed": requests,
        }),
    )
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

    #[test]
    fn removal_is_a_contiguous_prefix_that_keeps_the_last_record() {
        // Records 0..=9; the first stamped at or after the cut is 4.
        assert_eq!(removable(0, Some(4), None, 9), Some((0, 3)));
        // Everything is old: all but the last.
        assert_eq!(removable(0, None, None, 9), Some((0, 8)));
        // Nothing is old.
        assert_eq!(removable(5, Some(5), None, 9), None);
        // Only the last record exists.
        assert_eq!(removable(9, None, None, 9), None);
        // A request still open since record 2 keeps it and every record after.
        assert_eq!(removable(0, Some(6), Some(2), 9), Some((0, 1)));
        assert_eq!(removable(0, None, Some(0), 9), None);
    }
}
