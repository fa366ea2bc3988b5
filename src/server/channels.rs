//! Reviewer channels: Slack (Block Kit messages with Approve / Reject buttons, updated in
//! place) and Microsoft Teams (Adaptive Cards that open the review page). Messages go out
//! from background tasks, so a slow chat service never delays the API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::Store;
use crate::approval::{RequestView, Status, Verdict};

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

/// Slack's mrkdwn escapes.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace("```", "'''")
}

fn approvers(view: &RequestView) -> String {
    view.approvals
        .iter()
        .map(|a| format!("{} of {}", a.quorum, a.approvers.join(" or ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn outcome(view: &RequestView) -> String {
    let verdicts: Vec<String> = view
        .reviews
        .iter()
        .map(|r| {
            let verb = if r.verdict == Verdict::Approve {
                "Approved"
            } else {
                "Rejected"
            };
            match &r.comment {
                Some(c) if !c.is_empty() => format!("{verb} by {}: {}", r.reviewer, c),
                _ => format!("{verb} by {}", r.reviewer),
            }
        })
        .collect();
    let state = format!("Request {}", view.status.as_str());
    if verdicts.is_empty() {
        state
    } else {
        format!("{state}. {}", verdicts.join("; "))
    }
}

/// The Block Kit message for a request; with buttons while it is pending.
pub fn slack_blocks(view: &RequestView) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "Approval requested"}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("```{}```", escape(&view.facts.argv.join(" ")))}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": escape(&if view.descriptions.is_empty() { view.rules.join(", ") } else { view.descriptions.join("\n") })}}),
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": format!("*Requester*\n{}", escape(&view.requester_line()))},
            {"type": "mrkdwn", "text": format!("*Directory*\n`{}`", escape(&view.facts.cwd))},
            {"type": "mrkdwn", "text": format!("*Rules*\n{}", escape(&view.rules.join(", ")))},
            {"type": "mrkdwn", "text": format!("*Approvers*\n{}", escape(&approvers(view)))},
            {"type": "mrkdwn", "text": format!("*Reason*\n{}", escape(view.reason.as_deref().unwrap_or("(none given)")))},
            {"type": "mrkdwn", "text": format!("*Expires*\n{}", view.expires_at)},
            {"type": "mrkdwn", "text": format!("*Secrets*\n{}", escape(&view.secrets_line().unwrap_or_else(|| "(none)".to_owned())))},
        ]}),
    ];
    if let Some(conflict) = &view.log_head_conflict {
        blocks.insert(1, json!({"type": "section", "text": {"type": "mrkdwn", "text": format!(":warning: *Log conflict*\n{}", escape(conflict))}}));
    }
    if view.status == Status::Pending {
        blocks.push(json!({"type": "actions", "block_id": "gatekeep", "elements": [
            {"type": "button", "action_id": "gatekeep_approve", "style": "primary", "value": view.id, "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "gatekeep_reject", "style": "danger", "value": view.id, "text": {"type": "plain_text", "text": "Reject"}},
        ]}));
    } else {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(&outcome(view))}]}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{}|Review page> · request `{}`", view.review_url, view.id)}]}));
    json!(blocks)
}

/// The Adaptive Card message Teams expects from an incoming webhook.
pub fn teams_card(view: &RequestView) -> Value {
    let title = if view.status == Status::Pending {
        "Approval requested".to_owned()
    } else {
        outcome(view)
    };
    let mut facts = json!([
        {"title": "Requester", "value": view.requester_line()},
        {"title": "Directory", "value": view.facts.cwd},
        {"title": "Rules", "value": view.rules.join(", ")},
        {"title": "Why", "value": view.descriptions.join(" ")},
        {"title": "Approvers", "value": approvers(view)},
        {"title": "Reason", "value": view.reason.as_deref().unwrap_or("(none given)")},
        {"title": "Expires", "value": view.expires_at},
        {"title": "Secrets", "value": view.secrets_line().unwrap_or_else(|| "(none)".to_owned())},
    ]);
    if let (Some(conflict), Some(all)) = (&view.log_head_conflict, facts.as_array_mut()) {
        all.insert(0, json!({"title": "Log conflict", "value": conflict}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": title, "wrap": true},
                    {"type": "TextBlock", "fontType": "Monospace", "text": view.facts.argv.join(" "), "wrap": true},
                    {"type": "FactSet", "facts": facts},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Review", "url": view.review_url}],
            },
        }],
    })
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

    /// Sends what an event calls for, in the background.
    pub fn on_event(self: &Arc<Self>, kind: &str, view: &RequestView) {
        let view = view.clone();
        let this = Arc::clone(self);
        let kind = kind.to_owned();
        tokio::spawn(async move {
            match kind.as_str() {
                "request.created" => this.created(&view).await,
                "request.approved" | "request.rejected" | "request.expired"
                | "request.cancelled" => this.resolved(&view).await,
                _ => {}
            }
        });
    }

    async fn created(&self, view: &RequestView) {
        if let Some(slack) = &self.slack {
            for channel in targets(&slack.channels, view) {
                let body = json!({"channel": channel, "text": format!("Approval requested: {}", view.facts.argv.join(" ")), "blocks": slack_blocks(view)});
                match self.slack_call(slack, "chat.postMessage", &body).await {
                    Ok(answer) => {
                        let (Some(channel), Some(ts)) =
                            (answer["channel"].as_str(), answer["ts"].as_str())
                        else {
                            continue;
                        };
                        if let Err(error) = self.store.put_message(&view.id, "slack", channel, ts) {
                            tracing::warn!(%error, "cannot remember the Slack message");
                        }
                    }
                    Err(error) => eprintln!(
                        "gatekeep: slack chat.postMessage failed for {}: {error}",
                        view.id
                    ),
                }
            }
        }
        if let Some(teams) = &self.teams {
            for url in targets(&teams.groups, view) {
                self.teams_post(&url, view).await;
            }
        }
    }

    async fn resolved(&self, view: &RequestView) {
        if let Some(slack) = &self.slack {
            for (kind, channel, ts) in self.store.messages(&view.id).unwrap_or_default() {
                if kind != "slack" {
                    continue;
                }
                let body = json!({"channel": channel, "ts": ts, "text": outcome(view), "blocks": slack_blocks(view)});
                if let Err(error) = self.slack_call(slack, "chat.update", &body).await {
                    eprintln!(
                        "gatekeep: slack chat.update failed for {}: {error}",
                        view.id
                    );
                }
            }
        }
        if let Some(teams) = &self.teams {
            for url in targets(&teams.groups, view) {
                self.teams_post(&url, view).await;
            }
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

    async fn teams_post(&self, url: &str, view: &RequestView) {
        let result = self.http.post(url).json(&teams_card(view)).send().await;
        match result {
            Ok(answer) if answer.status().is_success() => {}
            Ok(answer) => eprintln!(
                "gatekeep: teams webhook answered {} for {}",
                answer.status(),
                view.id
            ),
            Err(error) => eprintln!(
                "gatekeep: teams webhook failed for {}: {}",
                view.id,
                error.without_url()
            ),
        }
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
