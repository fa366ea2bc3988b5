//! The witness: the service keeps, for each client log (host, local user, path), the hash
//! of every record it was shown and every head it accepted, and accepts a new head only
//! with the record lines that chain it to what it already holds. A request's log head is
//! checked against the same records.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::handlers::{Body, Caller, Failure, Params, audit, fail, now};
use super::lifecycle::stamp;
use super::store::{LogKey, WitnessLog};
use super::{AppState, Store, StoreError};
use crate::approval::{LogHead, WitnessProof, Witnessed, WitnessedHead};
use crate::audit::{self, Link};

/// Most record lines one call may carry; longer gaps are sent in several calls.
pub const MAX_LINES: usize = 10_000;

/// The witness refuses a `retention` record that removed records it accepted less than
/// this many days ago, or that the record itself dates within them.
pub const RETENTION_MIN_DAYS: u64 = 90;

/// Why a proof does not extend the witnessed chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("nothing is witnessed for this log yet: the first call must start at record 0")]
    NotFromGenesis,
    #[error("this log was witnessed as chain {witnessed}, not {sent}: the log was replaced")]
    Replaced { witnessed: String, sent: String },
    #[error("the witness holds this log up to record {latest} only: start at record {}", latest + 1)]
    Gap { latest: u64 },
    #[error(
        "record {seq} differs from the witnessed record (witnessed up to record {latest}, last by {by} at {at}): the log does not extend the witnessed chain; it was rewritten"
    )]
    Differs {
        seq: u64,
        latest: u64,
        by: String,
        at: String,
    },
    #[error(
        "record {seq} removes records up to {removed_through}, which {why}, younger than the witness's minimum of {min_days} days: history may not be dropped that young"
    )]
    YoungRemoved {
        seq: u64,
        removed_through: u64,
        why: String,
        min_days: u64,
    },
}

/// Checks every `retention` record among `lines` (their `links`) against the witness's
/// minimum age: the records it removes must have been accepted by the witness (the first
/// head at or past them, from `heads`; now, when not yet witnessed) at least `min_days`
/// before `now`, and the newest removed record must date from before that too, as the
/// `retention` record states it.
pub fn check_retention<L: AsRef<str>>(
    lines: &[L],
    links: &[Link],
    heads: &[WitnessedHead],
    now: jiff::Timestamp,
    min_days: u64,
) -> Result<(), Refusal> {
    #[derive(Deserialize)]
    struct Removed {
        last_seq: u64,
    }
    #[derive(Deserialize)]
    struct Retention {
        #[serde(default)]
        removed: Vec<Removed>,
        #[serde(default)]
        newest_removed_ts: Option<String>,
    }
    let floor = now - jiff::SignedDuration::from_hours(24 * min_days as i64);
    for (line, link) in lines.iter().zip(links) {
        if link.event != "retention" {
            continue;
        }
        let retention: Retention =
            serde_json::from_str(line.as_ref()).map_err(|_| Refusal::YoungRemoved {
                seq: link.seq,
                removed_through: link.seq,
                why: "the record does not say which".to_owned(),
                min_days,
            })?;
        let Some(through) = retention.removed.iter().map(|r| r.last_seq).max() else {
            continue;
        };
        let young = |why: String| Refusal::YoungRemoved {
            seq: link.seq,
            removed_through: through,
            why,
            min_days,
        };
        let accepted = heads
            .iter()
            .filter(|h| h.seq >= through)
            .filter_map(|h| h.at.parse::<jiff::Timestamp>().ok())
            .min();
        match accepted {
            None => return Err(young("the witness never accepted".to_owned())),
            Some(at) if at > floor => {
                return Err(young(format!("the witness accepted at {at}")));
            }
            Some(_) => {}
        }
        match retention
            .newest_removed_ts
            .as_deref()
            .map(str::parse::<jiff::Timestamp>)
        {
            Some(Ok(ts)) if ts <= floor => {}
            Some(Ok(ts)) => return Err(young(format!("the record dates at {ts}"))),
            _ => return Err(young("the record does not date".to_owned())),
        }
    }
    Ok(())
}

/// What a checked proof adds: the record hashes the witness does not hold yet.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    pub new: Vec<(u64, String)>,
}

/// Decides whether `links` (checked among themselves) extend what the witness holds for
/// the log: `log` (none when new) and `held`, its record hashes from the record before the
/// first link up to the last link.
pub fn plan(
    log: Option<&WitnessLog>,
    chain_id: &str,
    links: &[Link],
    held: &[(u64, String)],
) -> Result<Plan, Refusal> {
    let first = &links[0];
    // A log is stored together with its first head: one without is new.
    let Some((log, latest)) = log.and_then(|l| Some((l, l.latest.as_ref()?))) else {
        if first.seq != 0 {
            return Err(Refusal::NotFromGenesis);
        }
        return Ok(Plan {
            new: links.iter().map(|l| (l.seq, l.hash.clone())).collect(),
        });
    };
    if log.chain_id != chain_id {
        return Err(Refusal::Replaced {
            witnessed: log.chain_id.clone(),
            sent: chain_id.to_owned(),
        });
    }
    let differs = |seq: u64| Refusal::Differs {
        seq,
        latest: latest.seq,
        by: latest.identity.clone(),
        at: latest.at.clone(),
    };
    let held_at = |seq: u64| {
        held.iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, hash)| hash.as_str())
    };
    if first.seq > 0 {
        match held_at(first.seq - 1) {
            None => return Err(Refusal::Gap { latest: latest.seq }),
            Some(hash) if hash != first.prev => return Err(differs(first.seq - 1)),
            Some(_) => {}
        }
    }
    let mut new = Vec::new();
    for link in links {
        match held_at(link.seq) {
            Some(hash) if hash != link.hash => return Err(differs(link.seq)),
            Some(_) => {}
            None => new.push((link.seq, link.hash.clone())),
        }
    }
    Ok(Plan { new })
}

fn unprocessable(message: impl Into<String>) -> Failure {
    fail(StatusCode::UNPROCESSABLE_ENTITY, message)
}

/// The checks on the fields that name the log.
fn check_names(proof: &WitnessProof) -> Result<(), Failure> {
    let printable = |s: &str| !s.is_empty() && s.len() <= 4096 && !s.chars().any(char::is_control);
    if !printable(&proof.host) || !printable(&proof.user) {
        return Err(unprocessable("host and user must be non-empty text"));
    }
    if !printable(&proof.path) || !proof.path.starts_with('/') {
        return Err(unprocessable("path must be the log's absolute path"));
    }
    let uuid_like = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
    };
    if !uuid_like(&proof.chain_id) {
        return Err(unprocessable("chain_id must be the chain's UUID"));
    }
    if proof.lines.is_empty() || proof.lines.len() > MAX_LINES {
        return Err(unprocessable(format!(
            "a call carries 1 to {MAX_LINES} record lines; send longer gaps in several calls"
        )));
    }
    Ok(())
}

/// `POST /v1/witness`.
pub async fn put_witness(
    State(state): State<Arc<AppState>>,
    Caller(caller): Caller,
    Body(proof): Body<WitnessProof>,
) -> Result<Json<Witnessed>, Failure> {
    check_names(&proof)?;
    // Hashing a large proof is CPU work: off the async threads.
    let (proof, links) = tokio::task::spawn_blocking(move || {
        let links = audit::links(&proof.lines, &proof.chain_id);
        (proof, links)
    })
    .await
    .map_err(|_| fail(StatusCode::INTERNAL_SERVER_ERROR, "proof check failed"))?;
    let links = links.map_err(|e| unprocessable(format!("the lines do not chain: {e}")))?;
    let last = links.last().expect("links are never empty");
    if i64::try_from(last.seq).is_err() {
        return Err(unprocessable("seq out of range"));
    }
    let key = LogKey {
        host: &proof.host,
        user: &proof.user,
        path: &proof.path,
    };
    // One witness change at a time on this replica; across replicas the store refuses a
    // write when the log's latest head is no longer the one the proof was checked
    // against.
    let _write = state.witness_writes.lock().await;
    let log = state.store.witness_log(key).await?;
    let held = match &log {
        Some(log) => {
            state
                .store
                .witness_hashes(log.id, links[0].seq.saturating_sub(1), last.seq)
                .await?
        }
        None => Vec::new(),
    };
    let plan = match plan(log.as_ref(), &proof.chain_id, &links, &held) {
        Ok(plan) => plan,
        Err(refusal) => {
            audit(
                &state,
                "witness_refused",
                json!({"by": caller.name, "host": proof.host, "user": proof.user, "path": proof.path,
                       "chain_id": proof.chain_id, "head_seq": last.seq, "hash": last.hash, "error": refusal.to_string()}),
            ).await;
            tracing::warn!(identity = %caller.name, host = %proof.host, user = %proof.user, error = %refusal, "witness refused");
            return Err(fail(StatusCode::CONFLICT, refusal.to_string()));
        }
    };
    if links.iter().any(|l| l.event == "retention") {
        let heads = state
            .store
            .witnessed_logs(&proof.host, &proof.user, Some(&proof.path))
            .await?
            .into_iter()
            .flat_map(|l| l.heads)
            .collect::<Vec<_>>();
        let at = now(&state).await?;
        if let Err(refusal) = check_retention(&proof.lines, &links, &heads, at, RETENTION_MIN_DAYS)
        {
            audit(
                &state,
                "witness_refused",
                json!({"by": caller.name, "host": proof.host, "user": proof.user, "path": proof.path,
                       "chain_id": proof.chain_id, "head_seq": last.seq, "hash": last.hash, "error": refusal.to_string()}),
            ).await;
            tracing::warn!(identity = %caller.name, host = %proof.host, user = %proof.user, error = %refusal, "witness refused");
            return Err(fail(StatusCode::CONFLICT, refusal.to_string()));
        }
    }
    let latest = log.as_ref().and_then(|l| l.latest.clone());
    let head = match plan.new.last() {
        Some((seq, hash)) => {
            let head = WitnessedHead {
                seq: *seq,
                hash: hash.clone(),
                at: stamp(now(&state).await?),
                identity: caller.name.clone(),
            };
            state
                .store
                .witness_extend(
                    key,
                    &proof.chain_id,
                    latest.as_ref().map(|h| h.seq),
                    &plan.new,
                    &head,
                )
                .await?;
            audit(
                &state,
                "witness",
                json!({"by": caller.name, "host": proof.host, "user": proof.user, "path": proof.path,
                       "chain_id": proof.chain_id, "head_seq": head.seq, "hash": head.hash, "added": plan.new.len()}),
            ).await;
            head
        }
        // Everything sent was already held: the witness is ahead of this call.
        None => latest.ok_or_else(|| fail(StatusCode::INTERNAL_SERVER_ERROR, "no head"))?,
    };
    Ok(Json(Witnessed {
        chain_id: proof.chain_id,
        head,
        added: plan.new.len() as u64,
    }))
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    path: Option<String>,
}

/// `GET /v1/witness/{host}/{user}`.
pub async fn list_witnesses(
    State(state): State<Arc<AppState>>,
    Caller(_): Caller,
    Path((host, user)): Path<(String, String)>,
    Params(query): Params<ListQuery>,
) -> Result<Json<Value>, Failure> {
    let logs = state
        .store
        .witnessed_logs(&host, &user, query.path.as_deref())
        .await?;
    Ok(Json(json!({ "logs": logs })))
}

/// How a request's log head contradicts the witnessed log, if it does: another chain at
/// the witnessed path, or a record the witness holds with another hash. A head past the
/// witnessed records, or of a log the witness does not know, cannot be checked.
pub async fn head_conflict(
    store: &dyn Store,
    host: &str,
    user: &str,
    head: &LogHead,
) -> Result<Option<String>, StoreError> {
    let Some(path) = &head.path else {
        return Ok(None);
    };
    let key = LogKey { host, user, path };
    let Some(log) = store.witness_log(key).await? else {
        return Ok(None);
    };
    let Some(latest) = &log.latest else {
        return Ok(None);
    };
    let witnessed = format!(
        "witnessed up to record {}, last by {} at {}",
        latest.seq, latest.identity, latest.at
    );
    if head.chain_id != log.chain_id {
        return Ok(Some(format!(
            "the requester's log is not the chain witnessed at its path ({witnessed}): it was replaced"
        )));
    }
    if head.seq > latest.seq {
        return Ok(None);
    }
    let held = store.witness_hashes(log.id, head.seq, head.seq).await?;
    Ok(match held.first() {
        Some((_, hash)) if *hash != head.hash => Some(format!(
            "record {} of the requester's log differs from the witnessed record ({witnessed}): the log was rewritten or truncated",
            head.seq
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(seq: u64, prev: &str, hash: &str) -> Link {
        Link {
            seq,
            prev: prev.into(),
            event: "exit".into(),
            hash: hash.into(),
        }
    }

    fn log(latest: u64) -> WitnessLog {
        WitnessLog {
            id: 1,
            chain_id: "c1".into(),
            latest: Some(WitnessedHead {
                seq: latest,
                hash: format!("h{latest}"),
                at: "2026-01-01T00:00:00Z".into(),
                identity: "alice".into(),
            }),
        }
    }

    fn held(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, String)> {
        range.map(|s| (s, format!("h{s}"))).collect()
    }

    #[test]
    fn extends_from_the_latest_head_or_overlaps_it() {
        let links = [link(3, "h2", "h3"), link(4, "h3", "h4")];
        assert_eq!(
            plan(Some(&log(2)), "c1", &links, &held(2..=2)),
            Ok(Plan {
                new: vec![(3, "h3".into()), (4, "h4".into())]
            })
        );
        // A call that started before another extended the log: the overlap must agree.
        assert_eq!(
            plan(Some(&log(3)), "c1", &links, &held(2..=3)),
            Ok(Plan {
                new: vec![(4, "h4".into())]
            })
        );
        assert_eq!(
            plan(Some(&log(4)), "c1", &links, &held(2..=4)),
            Ok(Plan { new: vec![] })
        );
    }

    #[test]
    fn retention_of_young_records_is_refused() {
        let head = |seq: u64, at: &str| WitnessedHead {
            seq,
            hash: format!("h{seq}"),
            at: at.into(),
            identity: "alice".into(),
        };
        let heads = [
            head(10, "2026-01-01T00:00:00Z"),
            head(20, "2026-05-01T00:00:00Z"),
        ];
        let now: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let line = |through: u64, ts: &str| {
            format!(
                "{{\"seq\":30,\"event\":\"retention\",\"removed\":[{{\"last_seq\":{through}}}],\"newest_removed_ts\":\"{ts}\"}}"
            )
        };
        let retention = |through: u64, ts: &str| {
            let lines = [line(through, ts)];
            let links = [Link {
                seq: 30,
                prev: String::new(),
                event: "retention".into(),
                hash: String::new(),
            }];
            check_retention(&lines, &links, &heads, now, 90)
        };
        // Accepted in January, dated January: old enough.
        assert_eq!(retention(9, "2026-01-01T00:00:00Z"), Ok(()));
        // Record 15 was first accepted with head 20, in May.
        assert!(matches!(
            retention(15, "2026-01-01T00:00:00Z"),
            Err(Refusal::YoungRemoved {
                removed_through: 15,
                ..
            })
        ));
        // Never witnessed.
        assert!(retention(25, "2026-01-01T00:00:00Z").is_err());
        // The record itself says the removed records are young.
        assert!(retention(9, "2026-05-01T00:00:00Z").is_err());
    }

    #[test]
    fn refuses_what_does_not_extend() {
        let forged = [link(3, "x2", "x3")];
        assert!(matches!(
            plan(Some(&log(2)), "c1", &forged, &held(2..=2)),
            Err(Refusal::Differs { seq: 2, .. })
        ));
        let fork = [link(3, "h2", "x3"), link(4, "x3", "x4")];
        assert!(matches!(
            plan(Some(&log(3)), "c1", &fork, &held(2..=3)),
            Err(Refusal::Differs { seq: 3, .. })
        ));
        assert_eq!(
            plan(Some(&log(2)), "c1", &[link(5, "h4", "h5")], &[]),
            Err(Refusal::Gap { latest: 2 })
        );
        assert!(matches!(
            plan(Some(&log(2)), "c2", &[link(3, "h2", "h3")], &held(2..=2)),
            Err(Refusal::Replaced { .. })
        ));
        assert_eq!(
            plan(None, "c1", &[link(3, "h2", "h3")], &[]),
            Err(Refusal::NotFromGenesis)
        );
    }
}
