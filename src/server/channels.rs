//! Reviewer channels: Slack (Block Kit messages with Approve / Reject buttons, updated in
//! place) and Microsoft Teams (Adaptive Cards that open the review page). Messages go out
//! from the outbox worker, so a slow chat service never delays the API, a failed post is
//! retried, and a retry never posts twice where a post already went through.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::Store;
use super::messages::{slack_blocks, slack_notification, teams_card};
use crate::approval::RequestView;

/// Slack app settings.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Bot token (`xoxb-…`) for chat.postMessage and chat.update.
    pub bot_token: String,
    /// Signing secret of the app, to verify interaction requests.
    pub signing_secret: String,
    /// Web API base URL (tests point it at a local server).
    #[serde(default = "slack_api")]
    pub api_base: String,
    /// Channel id per approver group; `"*"` for any other group.
    #[serde(default)]
    pub channels: BTreeMap<String, String>,
}

fn slack_api() -> String {
    "https://slack.com/api".to_owned()
}

/// Microsoft Teams settings: an incoming-webhook (or Workflows) URL per approver group.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TeamsConfig {
    #[serde(default)]
    pub groups: BTreeMap<String, String>,
}

/// The channels of one running service.
pub struct Channels {
    slack: Option<SlackConfig>,
    teams: Option<TeamsConfig>,
    store: Arc<dyn Store>,
    http: reqwest::Client,
}

/// Destinations for a request: each configured target named by one of its approver groups
/// (or the `*` entry), once.
fn targets(map: &BTreeMap<String, String>, view: &RequestView) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for approver in view.approvals.iter().flat_map(|a| &a.approvers) {
        let group = approver.strip_prefix("group:").unwrap_or_default();
        if let Some(target) = map.get(group).or_else(|| map.get("*"))
            && !found.contains(target)
        {
            found.push(target.clone());
        }
    }
    found
}

impl Channels {
    pub fn new(
        slack: Option<SlackConfig>,
        teams: Option<TeamsConfig>,
        store: Arc<dyn Store>,
    ) -> Option<Arc<Channels>> {
        if slack.is_none() && teams.is_none() {
            return None;
        }
        crate::client::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .ok()?;
        Some(Arc::new(Channels {
            slack,
            teams,
            store,
            http,
        }))
    }

    pub fn slack(&self) -> Option<&SlackConfig> {
        self.slack.as_ref()
    }

    /// Sends what an event calls for to Slack (`sink` [`super::outbox::SLACK`]) or Teams.
    /// Each post that went through is remembered, so a retry only sends what failed.
    pub async fn deliver(
        &self,
        sink: &str,
        kind: &str,
        event_id: &str,
        view: &RequestView,
    ) -> Result<(), String> {
        let created = kind == "request.created";
        // The message is brought up to date in place.
        let resolved = matches!(
            kind,
            "request.approved"
                | "request.rejected"
                | "request.expired"
                | "request.cancelled"
                | "request.break_glass_reviewed"
                | "window.opened"
                | "window.revoked"
        );
        // Said out loud as well: a reply in the message's thread, shown in the channel.
        let loud = super::messages::announcement(kind, view, &super::messages::teams_quote);
        let loud_slack = super::messages::announcement(kind, view, &super::messages::slack_quote);
        if !created && !resolved && loud.is_none() {
            return Ok(());
        }
        let posted = self
            .store
            .messages(&view.id)
            .await
            .map_err(|e| e.to_string())?;
        let mut errors = Vec::new();
        match (sink, &self.slack, &self.teams) {
            (super::outbox::SLACK, Some(slack), _) if created => {
                for channel in targets(&slack.channels, view) {
                    if posted.iter().any(|(k, c, _)| k == "slack" && *c == channel) {
                        continue;
                    }
                    let body = json!({"channel": channel, "text": slack_notification(view), "blocks": slack_blocks(view)});
                    match self.slack_call(slack, "chat.postMessage", &body).await {
                        Ok(answer) => {
                            let (Some(channel), Some(ts)) =
                                (answer["channel"].as_str(), answer["ts"].as_str())
                            else {
                                continue;
                            };
                            self.store
                                .put_message(&view.id, "slack", channel, ts)
                                .await
                                .map_err(|e| e.to_string())?;
                        }
                        Err(error) => errors.push(format!("chat.postMessage: {error}")),
                    }
                }
            }
            (super::outbox::SLACK, Some(slack), _) => {
                let said = format!("slack {event_id}");
                for (_, channel, ts) in posted.iter().filter(|(k, _, _)| k == "slack") {
                    let body = json!({"channel": channel, "ts": ts, "text": slack_notification(view), "blocks": slack_blocks(view)});
                    if let Err(error) = self.slack_call(slack, "chat.update", &body).await {
                        errors.push(format!("chat.update: {error}"));
                    }
                    let Some(text) = &loud_slack else { continue };
                    if posted.iter().any(|(k, c, _)| *k == said && c == channel) {
                        continue;
                    }
                    let body = json!({"channel": channel, "thread_ts": ts, "reply_broadcast": true,
                                      "text": text});
                    match self.slack_call(slack, "chat.postMessage", &body).await {
                        Ok(_) => self
                            .store
                            .put_message(&view.id, &said, channel, "")
                            .await
                            .map_err(|e| e.to_string())?,
                        Err(error) => errors.push(format!("chat.postMessage: {error}")),
                    }
                }
            }
            (super::outbox::TEAMS, _, Some(teams)) => {
                // One card per event (reminders and escalation steps come more than once).
                let done = if loud.is_some() {
                    format!("teams {event_id}")
                } else {
                    format!("teams {kind}")
                };
                for url in targets(&teams.groups, view) {
                    // The URL carries the webhook's secret: only its digest is kept.
                    let digest = hex::encode(sha2::Sha256::digest(url.as_bytes()));
                    if posted.iter().any(|(k, c, _)| *k == done && *c == digest) {
                        continue;
                    }
                    let card = match &loud {
                        Some(text) => super::messages::teams_notice(text, view),
                        None => teams_card(view),
                    };
                    match self.http.post(&url).json(&card).send().await {
                        Ok(answer) if answer.status().is_success() => self
                            .store
                            .put_message(&view.id, &done, &digest, "")
                            .await
                            .map_err(|e| e.to_string())?,
                        Ok(answer) => {
                            errors.push(format!("teams webhook answered {}", answer.status()))
                        }
                        Err(error) => {
                            errors.push(format!("teams webhook: {}", error.without_url()))
                        }
                    }
                }
            }
            _ => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    async fn slack_call(
        &self,
        slack: &SlackConfig,
        method: &str,
        body: &Value,
    ) -> Result<Value, String> {
        let url = format!("{}/{method}", slack.api_base.trim_end_matches('/'));
        let answer = self
            .http
            .post(url)
            .bearer_auth(&slack.bot_token)
            .header("content-type", "application/json; charset=utf-8")
            .json(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let value: Value = answer.json().await.map_err(|e| e.to_string())?;
        if value["ok"] == json!(true) {
            Ok(value)
        } else {
            Err(value["error"].as_str().unwrap_or("not ok").to_owned())
        }
    }

    /// Opens the modal that asks a rejecting reviewer for a reason.
    pub fn ask_reason(self: &Arc<Self>, trigger_id: String, request_id: String) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let Some(slack) = &this.slack else { return };
            let view = json!({
                "type": "modal",
                "callback_id": "gatekeep_reject",
                "private_metadata": request_id,
                "title": {"type": "plain_text", "text": "Reject request"},
                "submit": {"type": "plain_text", "text": "Reject"},
                "close": {"type": "plain_text", "text": "Cancel"},
                "blocks": [{
                    "type": "input",
                    "block_id": "reason",
                    "label": {"type": "plain_text", "text": "Why is it rejected?"},
                    "element": {"type": "plain_text_input", "action_id": "text", "multiline": true},
                }],
            });
            if let Err(error) = this
                .slack_call(
                    slack,
                    "views.open",
                    &json!({"trigger_id": trigger_id, "view": view}),
                )
                .await
            {
                eprintln!("gatekeep: slack views.open failed: {error}");
            }
        });
    }

    /// Answers a Slack user privately through the interaction's `response_url`.
    pub fn ephemeral(self: &Arc<Self>, response_url: String, text: String) {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let body =
                json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            if let Err(error) = this.http.post(&response_url).json(&body).send().await {
                tracing::warn!(error = %error.without_url(), "cannot answer the Slack user");
            }
        });
    }
}

/// Checks a Slack request signature as Slack documents it: `v0=` + hex HMAC-SHA256 of
/// `v0:TIMESTAMP:BODY` keyed with the signing secret, compared in constant time, with the
/// timestamp at most five minutes from `now`.
pub fn verify_slack(secret: &str, timestamp: &str, body: &[u8], signature: &str, now: i64) -> bool {
    use hmac::{KeyInit, Mac};
    let Ok(ts) = timestamp.parse::<i64>() else {
        return false;
    };
    if (now - ts).abs() > 300 {
        return false;
    }
    let Some(given) = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
    else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::verify_slack;

    /// The example in Slack's documentation of request signing.
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_example_vector() {
        assert!(verify_slack(
            SECRET,
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            1_531_420_618
        ));
        assert!(!verify_slack(
            "wrong",
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            1_531_420_618
        ));
        assert!(!verify_slack(
            SECRET,
            TIMESTAMP,
            format!("{BODY}x").as_bytes(),
            SIGNATURE,
            1_531_420_618
        ));
        assert!(
            !verify_slack(
                SECRET,
                TIMESTAMP,
                BODY.as_bytes(),
                SIGNATURE,
                1_531_420_618 + 301
            ),
            "too old"
        );
    }
}
