//! What a Slack interaction says, read from its payload (`application/x-www-form-urlencoded`
//! with one `payload` field holding JSON), after its signature was checked. No IO.

use serde_json::Value;

use crate::approval::Verdict;

/// One interaction, as far as gatekeep acts on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// The clicking Slack user's id, and the name to show.
    pub slack_user: String,
    pub username: String,
    /// Where to answer the user privately (may be empty).
    pub response_url: String,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The reason modal was submitted: reject `id` with `reason`.
    RejectWithReason { id: String, reason: String },
    /// A button: `verdict` on request `id`; a trigger id when Slack sent one (a modal may
    /// be opened with it).
    Button {
        verdict: Verdict,
        id: String,
        trigger_id: Option<String>,
    },
    /// The "Revoke window" button on request `id`'s message.
    Revoke { id: String },
    /// Anything else (other buttons, other modals): acknowledged, nothing done.
    Ignored,
}

impl Interaction {
    /// "via Slack by NAME", the comment a review through Slack carries.
    pub fn via(&self) -> String {
        format!("via Slack by {}", self.username)
    }
}

/// Reads an interaction request's body; `None` when it holds no JSON payload.
pub fn parse(body: &[u8]) -> Option<Interaction> {
    let payload = url::form_urlencoded::parse(body)
        .find(|(key, _)| key == "payload")
        .and_then(|(_, value)| serde_json::from_str::<Value>(&value).ok())?;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let slack_user = text(&payload["user"]["id"]);
    let username = payload["user"]["username"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| slack_user.clone());
    let action = if payload["type"] == "view_submission"
        && payload["view"]["callback_id"] == "gatekeep_reject"
    {
        Action::RejectWithReason {
            id: text(&payload["view"]["private_metadata"]),
            reason: text(&payload["view"]["state"]["values"]["reason"]["text"]["value"])
                .trim()
                .to_owned(),
        }
    } else {
        let action = &payload["actions"][0];
        if action["action_id"] == "gatekeep_revoke" {
            return Some(Interaction {
                slack_user,
                username,
                response_url: text(&payload["response_url"]),
                action: Action::Revoke {
                    id: text(&action["value"]),
                },
            });
        }
        let verdict = match action["action_id"].as_str() {
            Some("gatekeep_approve") => Some(Verdict::Approve),
            Some("gatekeep_reject") => Some(Verdict::Reject),
            _ => None,
        };
        match verdict {
            Some(verdict) => Action::Button {
                verdict,
                id: text(&action["value"]),
                trigger_id: payload["trigger_id"].as_str().map(str::to_owned),
            },
            None => Action::Ignored,
        }
    };
    Some(Interaction {
        slack_user,
        username,
        response_url: text(&payload["response_url"]),
        action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(payload: Value) -> Vec<u8> {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    #[test]
    fn buttons_modals_and_the_rest() {
        let click = parse(&body(serde_json::json!({
            "type": "block_actions", "user": {"id": "U1", "username": "bob"},
            "response_url": "https://hooks.example/r", "trigger_id": "t1",
            "actions": [{"action_id": "gatekeep_approve", "value": "req-1"}],
        })))
        .unwrap();
        assert_eq!(click.via(), "via Slack by bob");
        assert_eq!(
            click.action,
            Action::Button {
                verdict: Verdict::Approve,
                id: "req-1".into(),
                trigger_id: Some("t1".into())
            }
        );
        let modal = parse(&body(serde_json::json!({
            "type": "view_submission", "user": {"id": "U1"},
            "view": {"callback_id": "gatekeep_reject", "private_metadata": "req-1",
                     "state": {"values": {"reason": {"text": {"value": "  not now "}}}}},
        })))
        .unwrap();
        assert_eq!(modal.username, "U1");
        assert_eq!(
            modal.action,
            Action::RejectWithReason {
                id: "req-1".into(),
                reason: "not now".into()
            }
        );
        let other = parse(&body(
            serde_json::json!({"type": "block_actions", "actions": [{"action_id": "x"}]}),
        ));
        assert_eq!(other.unwrap().action, Action::Ignored);
        assert!(parse(b"payload=not-json").is_none());
        assert!(parse(b"").is_none());
    }
}
