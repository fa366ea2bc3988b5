//! Generic webhooks: every request event is POSTed as JSON to each configured URL, signed
//! with HMAC-SHA256. Events are outbox rows written with the change; the outbox worker of
//! any replica delivers them, retries with backoff, and the event id is the stable
//! delivery id receivers deduplicate on (delivery is at least once).

use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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
    "request.escalated",
    "request.reminder",
    "request.break_glass",
    "request.break_glass_reviewed",
    "request.break_glass_overdue",
    "window.opened",
    "window.used",
    "window.revoked",
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

/// The outbox receiver name of a webhook: a digest of its URL (which may carry a token),
/// the same on every replica configured with it.
pub fn sink(hook: &Webhook) -> String {
    use sha2::Digest as _;
    format!(
        "webhook:{}",
        &hex::encode(sha2::Sha256::digest(hook.url.as_bytes()))[..32]
    )
}

/// Whether `hook` wants events of `kind`.
pub fn wants(hook: &Webhook, kind: &str) -> bool {
    hook.events.is_empty() || hook.events.iter().any(|e| e == kind)
}

/// One attempt to deliver `event` to `hook`.
pub async fn deliver(
    client: &reqwest::Client,
    hook: &Webhook,
    event: &Event,
) -> Result<(), String> {
    let body = serde_json::to_vec(event).map_err(|e| e.to_string())?;
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
        .body(body)
        .send()
        .await;
    match answer {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => Err(format!("HTTP {}", answer.status())),
        Err(error) => Err(error.without_url().to_string()),
    }
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
