//! Each replica's own memory of the service's audit chain: the chain's id and the last
//! record it saw (`STEM.chain.json` beside its audit file, mode 0600), written when it
//! starts, every minute while it serves, after each of its retention passes and when it
//! stops. At the next start the database must
//! still hold that record, unchanged, or a signed retention record that removed it; a
//! chain replaced, cut short or rewritten by hand stops the replica before it serves.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::AppState;
use crate::audit::{self, line_hash};

/// How often a serving replica writes down the chain's head.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// What a replica remembers of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub chain_id: String,
    pub seq: u64,
    pub hash: String,
}

/// Where `state`'s replica keeps it.
pub fn path(state: &AppState) -> PathBuf {
    state.audit.path().with_extension("chain.json")
}

fn read(path: &std::path::Path) -> Option<Head> {
    let bytes = crate::files::read_regular(path, crate::files::CONFIG_FILE_LIMIT).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Why the database's chain is not the one this replica last saw, if it is not.
pub async fn check(state: &AppState) -> Result<(), String> {
    let path = path(state);
    let Some(seen) = read(&path) else {
        return Ok(());
    };
    let store = &state.store;
    let named = |why: String| {
        format!(
            "{why}: the service's audit records were removed or replaced outside gatekeep \
             (this replica last saw chain {}, record {}, remembered in {})",
            seen.chain_id,
            seen.seq,
            path.display()
        )
    };
    let first = store
        .audit_page(None, 1)
        .await
        .map_err(|e| format!("cannot read the service's audit records: {e}"))?;
    if first.chain_id.as_deref() != Some(seen.chain_id.as_str()) {
        return Err(named(match &first.chain_id {
            Some(id) => format!("the database holds chain {id}"),
            None => "the database holds no audit chain".to_owned(),
        }));
    }
    let last = store
        .audit_record(None)
        .await
        .map_err(|e| format!("cannot read the service's audit records: {e}"))?;
    match last {
        Some((seq, _)) if seq >= seen.seq => {}
        Some((seq, _)) => return Err(named(format!("the chain ends at record {seq}"))),
        None => return Err(named("the chain has no records".to_owned())),
    }
    match store
        .audit_record(Some(seen.seq))
        .await
        .map_err(|e| format!("cannot read the service's audit records: {e}"))?
    {
        Some((_, line)) if line_hash(line.as_bytes()) == seen.hash => Ok(()),
        Some(_) => Err(named(format!("record {} is not the one it saw", seen.seq))),
        // Gone: only a retention record the service's key signed may have removed it.
        None => removed_by_retention(state, &seen, &first.rows)
            .await
            .map_err(named),
    }
}

/// Whether a signed retention record removed the run that held `seen`, given the chain's
/// first record (`first`, as read).
async fn removed_by_retention(
    state: &AppState,
    seen: &Head,
    first: &[(u64, String)],
) -> Result<(), String> {
    let Some((first_seq, first_line)) = first.first() else {
        return Err("the chain has no records".to_owned());
    };
    if *first_seq <= seen.seq {
        return Err(format!("record {} is missing from the chain", seen.seq));
    }
    let first = audit::link(first_line.as_bytes()).ok_or("its first record does not read")?;
    // The chain's retention records (few), read page by page.
    let mut retentions = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .audit_page(after, 1000)
            .await
            .map_err(|e| e.to_string())?;
        let Some((last, _)) = page.rows.last() else {
            break;
        };
        after = Some(*last);
        retentions.extend(
            page.rows
                .iter()
                .filter_map(|(_, line)| serde_json::from_str::<serde_json::Value>(line).ok())
                .filter(|record| record["event"] == "retention"),
        );
    }
    let key = || Ok(state.key.public_hex());
    crate::report::retention_vouches(&retentions, &first, &seen.chain_id, key)
        .map(drop)
        .map_err(|why| format!("record {} is gone, and {why}", seen.seq))
}

/// Remembers the chain's last record as this replica's; a failure is logged (the next
/// start then checks against an older record).
pub async fn remember(state: &AppState) {
    let path = path(state);
    let head = async {
        let chain_id = state.store.audit_page(None, 1).await.ok()?.chain_id?;
        let (seq, line) = state.store.audit_record(None).await.ok()??;
        Some(Head {
            chain_id,
            seq,
            hash: line_hash(line.as_bytes()),
        })
    }
    .await;
    if let Some(head) = head
        && let Err(error) = crate::client::credentials::write_private_json(&path, &head)
    {
        tracing::warn!(%error, path = %path.display(), "cannot remember the audit chain's head");
    }
}
