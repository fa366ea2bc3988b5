//! Generic webhooks: every request event is POSTed as JSON to each configured URL, signed
//! with HMAC-SHA256, retried with backoff, and never in the way of the API: handlers only
//! queue events, a background task delivers them.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One configured receiver.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Shared secret for the signature.
    pub secret: String,
    /// Event types to send (default: all).
    #[serde(default)]
    pub events: Vec<String>,
    /// Attempts before giving up (default 5).
    #[serde(default = "attempts")]
    pub attempts: u32,
}

fn attempts() -> u32 {
    5
}

/// The event types.
pub const EVENTS: &[&str] = &[
    "request.created",
    "request.reviewed",
    "request.approved",
    "request.rejected",
    "request.expired",
    "request.cancelled",
    "request.consumed",
];

/// What is sent.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub request: Value,
    /// The request as people read it (see [`crate::approval::Readable`]): for receivers
    /// that show it, every text rendered and the requester's claims set apart.
    pub display: Value,
}

/// The header value `t=UNIX_SECONDS,v1=HEX` for `body`: HMAC-SHA256 keyed with the secret
/// over `UNIX_SECONDS`, a dot, and the raw body bytes.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The sending side: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub struct Outbox {
    queue: Option<mpsc::UnboundedSender<Event>>,
}

impl Outbox {
    /// No webhooks: events are dropped.
    pub fn none() -> Outbox {
        Outbox { queue: None }
    }

    /// Starts the delivery task on the current runtime. `failed` is told of every delivery
    /// that gave up.
    pub fn start(
        hooks: Vec<Webhook>,
        failed: impl Fn(&Webhook, &Event, String) + Send + Sync + 'static,
    ) -> Outbox {
        if hooks.is_empty() {
            return Outbox::none();
        }
        let (queue, mut events) = mpsc::unbounded_channel::<Event>();
        let failed = std::sync::Arc::new(failed);
        crate::client::ensure_crypto_provider();
        tokio::spawn(async move {
            let client = match reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
            {
                Ok(client) => client,
                Err(error) => {
                    tracing::error!(%error, "webhooks disabled: no HTTP client");
                    return;
                }
            };
            while let Some(event) = events.recv().await {
                for hook in hooks
                    .iter()
                    .filter(|h| h.events.is_empty() || h.events.contains(&event.kind))
                {
                    let (client, hook, event, failed) = (
                        client.clone(),
                        hook.clone(),
                        event.clone(),
                        std::sync::Arc::clone(&failed),
                    );
                    tokio::spawn(async move {
                        if let Err(error) = deliver(&client, &hook, &event).await {
                            failed(&hook, &event, error);
                        }
                    });
                }
            }
        });
        Outbox { queue: Some(queue) }
    }

    /// Queues an event of `kind` about `request`, with its `display` form.
    pub fn send(&self, kind: &str, request: Value, display: Value) {
        if let Some(queue) = &self.queue {
            let event = Event {
                id: uuid::Uuid::now_v7().to_string(),
                kind: kind.to_owned(),
                created_at: jiff::Timestamp::now()
                    .round(jiff::Unit::Second)
                    .unwrap_or_else(|_| jiff::Timestamp::now())
                    .to_string(),
                request,
                display,
            };
            let _ = queue.send(event);
        }
    }
}

async fn deliver(client: &reqwest::Client, hook: &Webhook, event: &Event) -> Result<(), String> {
    let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
    let mut delay = Duration::from_millis(500);
    let mut last = String::new();
    for attempt in 1..=hook.attempts.max(1) {
        let timestamp = jiff::Timestamp::now().as_second();
        let answer = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("x-gatekeep-event", &event.kind)
            .header("x-gatekeep-delivery", &event.id)
            .header(
                "x-gatekeep-signature",
                signature(&hook.secret, timestamp, &body),
            )
            .body(body.clone())
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status().is_success() => return Ok(()),
            Ok(answer) => last = format!("HTTP {}", answer.status()),
            Err(error) => last = error.without_url().to_string(),
        }
        tracing::debug!(url = %hook.url, attempt, error = %last, "webhook delivery failed");
        if attempt < hook.attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
    Err(format!(
        "gave up after {} attempts: {last}",
        hook.attempts.max(1)
    ))
}

/// A request view for webhooks: the grant is left out (it is the requester's to use).
pub fn request_body(view: &crate::approval::RequestView) -> Value {
    let mut value = json!(view);
    if let Some(map) = value.as_object_mut() {
        map.remove("grant");
    }
    value
}

/// The request as people read it, for receivers that show it.
pub fn display_body(view: &crate::approval::RequestView) -> Value {
    crate::approval::Readable::of(view, crate::render::nothing).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_over_timestamp_dot_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        let expected =
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686";
        assert_eq!(signature("secret", 1_700_000_000, br#"{"a":1}"#), expected);
    }
}
