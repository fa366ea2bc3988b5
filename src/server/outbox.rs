//! The replica's background work over the shared database: the outbox worker, which
//! claims due deliveries (`SKIP LOCKED`, with a lease, `deliveries: {lease}`), delivers them and records the
//! outcome, and the sweeper, which expires requests whose time ran out. Every replica runs
//! both; a replica that dies mid-delivery leaves a lease that runs out, and another
//! replica delivers the event again under the same delivery id.

use std::sync::Weak;
use std::time::Duration;

use serde_json::json;

use super::AppState;
use super::store::Delivery;
use super::webhooks::{self, Event};

/// The outbox receiver name of the Slack channel.
pub const SLACK: &str = "slack";
/// The outbox receiver name of the Teams channel.
pub const TEAMS: &str = "teams";

/// How often the worker looks for work when nothing nudged it.
const POLL: Duration = Duration::from_secs(1);
/// How often the sweeper runs.
const SWEEP: Duration = Duration::from_secs(1);
/// Attempts for Slack and Teams deliveries before they are given up.
const CHANNEL_ATTEMPTS: u32 = 8;

/// The wait before attempt `attempts + 1`: one second, doubling, at most five minutes.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(1u64 << attempts.min(8)).min(Duration::from_secs(300))
}

pub fn start(state: Weak<AppState>) {
    crate::client::ensure_crypto_provider();
    tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
        {
            Ok(client) => client,
            Err(error) => {
                tracing::error!(%error, "event delivery disabled: no HTTP client");
                return;
            }
        };
        loop {
            let Some(live) = state.upgrade() else { return };
            let poke = std::sync::Arc::clone(&live.outbox_poke);
            let lease = Duration::from_secs(live.limits.delivery_lease);
            let claimed = live.store.claim(&live.replica, lease, 32).await;
            let busy = match claimed {
                Ok(deliveries) => {
                    let busy = !deliveries.is_empty();
                    for delivery in deliveries {
                        deliver(&live, &client, delivery).await;
                    }
                    busy
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot claim deliveries");
                    false
                }
            };
            drop(live);
            if !busy {
                let _ = tokio::time::timeout(POLL, poke.notified()).await;
            }
        }
    });
}

async fn deliver(state: &AppState, client: &reqwest::Client, delivery: Delivery) {
    let view = super::handlers::view(state, &delivery.request);
    let (attempts, outcome) = if let Some(url) = delivery.sink.strip_prefix("webhook:") {
        let hooks = state.webhooks();
        let Some(hook) = hooks.iter().find(|h| h.url == url) else {
            // No longer configured here: nothing to send it to.
            finish(
                state,
                &delivery,
                Some("the webhook is no longer configured"),
            )
            .await;
            return;
        };
        if !webhooks::wants(hook, &delivery.kind) {
            finish(state, &delivery, None).await;
            return;
        }
        let event = Event {
            id: delivery.event_id.clone(),
            kind: delivery.kind.clone(),
            created_at: delivery.created_at.clone(),
            request: webhooks::request_body(&view),
            display: webhooks::display_body(&view),
        };
        (
            hook.attempts.max(1),
            webhooks::deliver(client, hook, &event).await,
        )
    } else {
        let Some(channels) = state.channels() else {
            finish(
                state,
                &delivery,
                Some("the channel is no longer configured"),
            )
            .await;
            return;
        };
        (
            CHANNEL_ATTEMPTS,
            channels
                .deliver(&delivery.sink, &delivery.kind, &view)
                .await,
        )
    };
    match outcome {
        Ok(()) => finish(state, &delivery, None).await,
        Err(error) if delivery.attempts + 1 >= attempts => {
            let error = format!("gave up after {attempts} attempts: {error}");
            // Recorded first, then said: whoever reads the message finds the record.
            let (record, fields) = match delivery.sink.strip_prefix("webhook:") {
                Some(url) => ("webhook_failed", json!({"url": url})),
                None => ("delivery_failed", json!({"sink": delivery.sink})),
            };
            let mut fields = fields;
            fields["event"] = json!(delivery.kind);
            fields["delivery"] = json!(delivery.event_id);
            fields["request"] = json!(delivery.request_id);
            fields["error"] = json!(error);
            super::handlers::audit(state, record, fields);
            eprintln!(
                "gatekeep: {} failed for {} ({}): {error}",
                sink_name(&delivery.sink),
                delivery.kind,
                delivery.event_id
            );
            finish(state, &delivery, Some(&error)).await;
        }
        Err(error) => {
            tracing::debug!(sink = %sink_name(&delivery.sink), attempt = delivery.attempts + 1, %error, "delivery failed");
            if let Err(e) = state
                .store
                .retry_later(
                    &delivery.event_id,
                    &delivery.sink,
                    backoff(delivery.attempts),
                    &error,
                )
                .await
            {
                tracing::warn!(error = %e, "cannot record a failed delivery; its lease will run out");
            }
        }
    }
}

/// How a receiver is named in records and messages (a webhook by its URL).
fn sink_name(sink: &str) -> String {
    match sink.strip_prefix("webhook:") {
        Some(url) => format!("webhook {url}"),
        None => sink.to_owned(),
    }
}

async fn finish(state: &AppState, delivery: &Delivery, error: Option<&str>) {
    if let Err(e) = state
        .store
        .delivered(&delivery.event_id, &delivery.sink, error)
        .await
    {
        tracing::warn!(error = %e, "cannot record a delivery; it may be sent again");
    }
}

/// Expires requests whose time ran out, once each, and records it.
pub fn start_sweeper(state: Weak<AppState>) {
    tokio::spawn(async move {
        loop {
            let Some(live) = state.upgrade() else { return };
            match live.store.expire_due(100).await {
                Ok(moved) => {
                    for request in &moved {
                        super::handlers::audit(&live, "request_expired", json!({"id": request.id}));
                    }
                    if !moved.is_empty() {
                        live.outbox_poke.notify_one();
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot expire requests"),
            }
            drop(live);
            tokio::time::sleep(SWEEP).await;
        }
    });
}
