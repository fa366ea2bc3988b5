//! The replica's background work over the shared database: the outbox worker, which
//! claims due deliveries (`SKIP LOCKED`, with a lease, `deliveries: {lease}`), delivers them and records the
//! outcome, and the sweeper, which expires requests whose time ran out. Every replica runs
//! both; a replica that dies mid-delivery leaves a lease that runs out, and another
//! replica delivers the event again under the same delivery id.

use std::sync::{Arc, Weak};
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
            // Each send gets half the lease, and none starts unless it would end inside
            // the lease: once the lease runs out (and another replica may send the same
            // event), nothing of this replica's is still on its way.
            let budget = (lease / 2).max(Duration::from_millis(500));
            let claimed_at = tokio::time::Instant::now();
            let claimed = live.store.claim(&live.replica, lease, 8).await;
            let busy = match claimed {
                Ok(deliveries) => {
                    let busy = !deliveries.is_empty();
                    for delivery in deliveries {
                        if claimed_at.elapsed() + budget > lease {
                            break;
                        }
                        let sent =
                            tokio::time::timeout(budget, deliver(&live, &client, &delivery)).await;
                        let outcome = sent.unwrap_or_else(|_| {
                            Sent::Failed(format!("no answer within {} ms", budget.as_millis()))
                        });
                        record(&live, &delivery, outcome).await;
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

/// What one attempt came to.
enum Sent {
    Done,
    /// Nothing to send (no longer configured, or not wanted): done, with why.
    Skipped(Option<&'static str>),
    Failed(String),
}

/// The webhook configured here for an outbox receiver name.
fn hook_for(state: &AppState, sink: &str) -> Option<webhooks::Webhook> {
    state
        .webhooks()
        .into_iter()
        .find(|h| webhooks::sink(h) == sink)
}

/// Attempts a receiver gets before a delivery is given up.
fn attempts_for(state: &AppState, sink: &str) -> u32 {
    if sink.starts_with("webhook:") {
        hook_for(state, sink).map_or(1, |h| h.attempts.max(1))
    } else {
        CHANNEL_ATTEMPTS
    }
}

async fn deliver(state: &AppState, client: &reqwest::Client, delivery: &Delivery) -> Sent {
    let view = super::handlers::view(state, &delivery.request);
    if delivery.sink.starts_with("webhook:") {
        let Some(hook) = hook_for(state, &delivery.sink) else {
            return Sent::Skipped(Some("the webhook is no longer configured"));
        };
        if !webhooks::wants(&hook, &delivery.kind) {
            return Sent::Skipped(None);
        }
        let event = Event {
            id: delivery.event_id.clone(),
            kind: delivery.kind.clone(),
            created_at: delivery.created_at.clone(),
            request: webhooks::request_body(&view),
            display: webhooks::display_body(&view),
        };
        match webhooks::deliver(client, &hook, &event).await {
            Ok(()) => Sent::Done,
            Err(error) => Sent::Failed(error),
        }
    } else {
        let Some(channels) = state.channels() else {
            return Sent::Skipped(Some("the channel is no longer configured"));
        };
        match channels
            .deliver(&delivery.sink, &delivery.kind, &delivery.event_id, &view)
            .await
        {
            Ok(()) => Sent::Done,
            Err(error) => Sent::Failed(error),
        }
    }
}

/// Records what an attempt came to: done, given up (audited), or due again later.
async fn record(state: &AppState, delivery: &Delivery, sent: Sent) {
    let error = match sent {
        Sent::Done => return finish(state, delivery, None).await,
        Sent::Skipped(why) => return finish(state, delivery, why).await,
        Sent::Failed(error) => error,
    };
    let attempts = attempts_for(state, &delivery.sink);
    if delivery.attempts + 1 >= attempts {
        let error = format!("gave up after {attempts} attempts: {error}");
        let name = sink_name(state, &delivery.sink);
        let (record, mut fields) = match delivery.sink.starts_with("webhook:") {
            true => (
                "webhook_failed",
                json!({"url": name.trim_start_matches("webhook ")}),
            ),
            false => ("delivery_failed", json!({"sink": name})),
        };
        fields["event_type"] = json!(delivery.kind);
        fields["delivery"] = json!(delivery.event_id);
        fields["request"] = json!(delivery.request_id);
        fields["error"] = json!(error);
        // Recorded first, then said: whoever reads the message finds the record.
        super::handlers::audit(state, record, fields).await;
        eprintln!(
            "gatekeep: {name} failed for {} ({}): {error}",
            delivery.kind, delivery.event_id
        );
        finish(state, delivery, Some(&error)).await;
    } else {
        tracing::debug!(sink = %delivery.sink, attempt = delivery.attempts + 1, %error, "delivery failed");
        if let Err(e) = state
            .store
            .retry_later(
                &state.replica,
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

/// How a receiver is named in records and messages: a webhook by its URL as
/// configured here (the database keeps only a digest of it).
fn sink_name(state: &AppState, sink: &str) -> String {
    match hook_for(state, sink) {
        Some(hook) => format!("webhook {}", hook.url),
        None => sink.to_owned(),
    }
}

async fn finish(state: &AppState, delivery: &Delivery, error: Option<&str>) {
    if let Err(e) = state
        .store
        .delivered(&state.replica, &delivery.event_id, &delivery.sink, error)
        .await
    {
        tracing::warn!(error = %e, "cannot record a delivery; it may be sent again");
    }
}

/// Escalation steps, reminders and overdue break-glass reviews that are due: each
/// request's in a transaction of its own holding its row, so of two replicas only one
/// acts (the other finds nothing due).
async fn tick_due(state: &Arc<AppState>) {
    let ids = match state.store.due(100).await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::warn!(%error, "cannot look for escalations and reminders");
            return;
        }
    };
    let every = state.limits.remind_every;
    for id in ids {
        let rule = Box::new(move |r: &mut super::StoredRequest, now| {
            Ok(super::lifecycle::tick(r, every, now))
        });
        match state.store.change(&id, rule).await {
            Ok(Some(Ok((_, transition)))) => state.committed(&transition),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, %id, "cannot escalate or remind"),
        }
    }
}

/// Expires requests whose time ran out, once each, and records it; takes the escalation
/// steps and reminders that are due; applies retention when it is time.
pub fn start_sweeper(state: Weak<AppState>) {
    tokio::spawn(async move {
        let mut retention_due = tokio::time::Instant::now();
        let mut remember_due = tokio::time::Instant::now() + super::chain_head::EVERY;
        loop {
            let Some(live) = state.upgrade() else { return };
            if tokio::time::Instant::now() >= remember_due {
                remember_due += super::chain_head::EVERY;
                super::chain_head::remember(&live).await;
            }
            if tokio::time::Instant::now() >= retention_due {
                retention_due += super::retention::EVERY;
                if let Err(error) = super::retention::apply(&live).await {
                    tracing::warn!(%error, "cannot apply retention to the service's records");
                }
            }
            match live.store.expire_due(100).await {
                Ok(moved) => {
                    for request in &moved {
                        // In the database with the change; here for this replica's file.
                        live.mirror("request_expired", json!({"id": request.id}));
                    }
                    if !moved.is_empty() {
                        live.outbox_poke.notify_one();
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot expire requests"),
            }
            tick_due(&live).await;
            drop(live);
            tokio::time::sleep(SWEEP).await;
        }
    });
}
