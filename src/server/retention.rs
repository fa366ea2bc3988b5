//! The service's retention (`retention:` in its configuration): when the service starts
//! and once an hour after, the audit records and finished requests older than
//! `keep_days` by the database's clock are removed, never anything younger than
//! `min_days`; the removal is itself a record of the chain (see the store's `prune`).

use std::time::Duration;

use super::AppState;
use super::store::StoreError;
use super::store::audit::Pruned;

/// How often a replica applies retention.
pub const EVERY: Duration = Duration::from_secs(3600);

const DAY: i64 = 86_400;

/// Applies the configured retention once; nothing when none is configured.
pub async fn apply(state: &AppState) -> Result<Pruned, StoreError> {
    let Some(retention) = state.limits.retention else {
        return Ok(Pruned::default());
    };
    let now = state.store.now().await?;
    // Validated when loaded; kept here too, so no path removes a young record.
    let days = retention.keep_days.max(retention.min_days);
    let before = now.as_second().saturating_sub(
        i64::try_from(days)
            .unwrap_or(i64::MAX / DAY)
            .saturating_mul(DAY),
    );
    let key = std::sync::Arc::clone(&state.key);
    let sign: super::store::audit::Signer = std::sync::Arc::new(move |m| key.sign_message(m));
    let pruned = state
        .store
        .prune(before, retention.min_days, retention.keep_days, sign)
        .await?;
    if let Some(record) = &pruned.record {
        state.mirror("retention", record.clone());
        super::chain_head::remember(state).await;
        tracing::info!(
            records = pruned.records,
            requests = pruned.requests,
            "retention removed the service's oldest records"
        );
    }
    Ok(pruned)
}
