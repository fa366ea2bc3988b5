//! Slack and Teams against a local HTTP endpoint that records what the service sends, the
//! way those services document it.

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::common::TestEnv;
use crate::service::{Received, Seen, Service, UserSpec, endpoint, request_id, wait_for_calls};

/// A stand-in for Slack's Web API and Teams' webhooks.
fn stub() -> (String, Seen) {
    let (base, seen, _) = endpoint(
        r#"{"ok":true,"channel":"C42","ts":"1700000000.000100"}"#,
        false,
    );
    (base, seen)
}

fn wait_for(seen: &Seen, path: &str, count: usize) -> Vec<Received> {
    wait_for_calls(seen, path, count)
}

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
];
const SECRET: &str = "test-signing-secret";

/// Signs and sends a Slack interaction as Slack would.
fn click(
    service: &Service,
    respond: &str,
    slack_user: &str,
    action: &str,
    id: &str,
    timestamp: i64,
    secret: &str,
) -> u16 {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": slack_user, "username": slack_user.to_lowercase()},
        "actions": [{"action_id": action, "value": id, "type": "button"}],
        "channel": {"id": "C42"},
        "message": {"ts": "1700000000.000100"},
        "response_url": format!("{respond}/respond"),
    });
    send(service, &payload, timestamp, secret).0
}

/// Signs and sends any interaction payload; returns the status and body.
fn send(service: &Service, payload: &Value, timestamp: i64, secret: &str) -> (u16, String) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let answer = crate::service::http()
        .post(format!("{}/v1/slack/interactions", service.url))
        .header("x-slack-request-timestamp", timestamp.to_string())
        .header("x-slack-signature", signature)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().unwrap_or_default())
}

#[test]
fn slack_buttons_approve_a_waiting_run_and_the_message_is_updated() {
    let env = TestEnv::new();
    let (slack_api, seen) = stub();
    let (teams, teams_seen) = stub();
    let extra = format!(
        "slack: {{bot_token: xoxb-test, signing_secret: {SECRET}, api_base: \"{slack_api}\", channels: {{reviewers: C42}}}}\nteams: {{groups: {{reviewers: \"{teams}/teams-hook\"}}}}"
    );
    let service = Service::start(&env, USERS, &extra);
    // Link Slack ids: rewrite the users with slack_id and reload.
    service.reconfigure(|text| {
        text.replace("{name: alice,", "{name: alice, slack_id: UALICE,")
            .replace("{name: bob,", "{name: bob, slack_id: UBOB,")
    });
    let policy = env.write("p.yaml", "version: 1\nrules:\n  - id: chat-approved\n    decision: approve\n    match: {program: touch}\n");
    let marker = env.root().join("from-slack");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--reason",
            "hotfix",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    let id = request_id(&lines);

    let posted = wait_for(&seen, "/chat.postMessage", 1);
    let message = posted[0].json();
    assert_eq!(posted[0].header("authorization"), "Bearer xoxb-test");
    assert_eq!(message["channel"], "C42");
    let blocks = message["blocks"].to_string();
    for expected in [
        "touch",
        "alice",
        "chat-approved",
        "hotfix",
        "gatekeep_approve",
        "gatekeep_reject",
    ] {
        assert!(
            blocks.contains(expected),
            "{expected} missing from {blocks}"
        );
    }
    let card = wait_for(&teams_seen, "/teams-hook", 1)[0].json();
    assert_eq!(card["type"], "message");
    assert_eq!(
        card["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["attachments"][0]["content"]["type"], "AdaptiveCard");
    assert_eq!(
        card["attachments"][0]["content"]["actions"][0]["type"],
        "Action.OpenUrl"
    );
    assert!(
        card["attachments"][0]["content"]["actions"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with(&id)
    );

    let now = jiff::Timestamp::now().as_second();
    // Signatures: wrong secret, old timestamp.
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UBOB",
            "gatekeep_approve",
            &id,
            now,
            "wrong-secret"
        ),
        401
    );
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UBOB",
            "gatekeep_approve",
            &id,
            now - 600,
            SECRET
        ),
        401
    );
    // The requester cannot approve from Slack either.
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UALICE",
            "gatekeep_approve",
            &id,
            now,
            SECRET
        ),
        200
    );
    assert_eq!(service.status("alice", &id), "pending");
    let refusal = wait_for(&seen, "/respond", 1)[0].json();
    assert_eq!(refusal["response_type"], "ephemeral");
    assert!(
        refusal["text"]
            .as_str()
            .unwrap()
            .contains("never review their own request"),
        "{refusal}"
    );
    // bob can.
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UBOB",
            "gatekeep_approve",
            &id,
            now,
            SECRET
        ),
        200
    );
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(marker.exists());
    let updated = wait_for(&seen, "/chat.update", 1)[0].json();
    assert_eq!(updated["channel"], "C42");
    assert_eq!(updated["ts"], "1700000000.000100");
    assert!(
        updated["text"].as_str().unwrap().contains("bob approved"),
        "{updated}"
    );
    assert!(
        !updated["blocks"].to_string().contains("gatekeep_approve"),
        "buttons are gone once decided"
    );
    wait_for(&teams_seen, "/teams-hook", 2);
}

#[test]
fn slack_reject_asks_for_a_reason_in_a_modal() {
    let env = TestEnv::new();
    let (slack_api, seen) = stub();
    let users: &[UserSpec<'static>] = &[
        ("alice", &["reviewers"], true),
        ("bob", &["reviewers"], true),
    ];
    let service = Service::start(
        &env,
        users,
        &format!(
            "slack: {{bot_token: xoxb-test, signing_secret: {SECRET}, api_base: \"{slack_api}\", channels: {{\"*\": C42}}}}"
        ),
    );
    service.reconfigure(|text| text.replace("{name: bob,", "{name: bob, slack_id: UBOB,"));
    let policy = env.write("p.yaml", "version: 1\nrules:\n  - id: chat-rejected\n    description: Creating files in tests\n    decision: approve\n    match: {program: touch}\n");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &["--policy", policy.to_str().unwrap(), "--", "touch", "never"],
    );
    let id = request_id(&lines);
    let posted = wait_for(&seen, "/chat.postMessage", 1)[0].json();
    assert!(
        posted["blocks"]
            .to_string()
            .contains("Creating files in tests"),
        "the rule's description is shown"
    );
    let now = jiff::Timestamp::now().as_second();
    let payload = json!({
        "type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "user": {"id": "UBOB", "username": "bob"},
        "actions": [{"action_id": "gatekeep_reject", "value": id, "type": "button"}],
        "response_url": format!("{slack_api}/respond"),
    });
    assert_eq!(send(&service, &payload, now, SECRET).0, 200);
    let modal = wait_for(&seen, "/views.open", 1)[0].json();
    assert_eq!(
        modal["trigger_id"],
        "13345224609.738474920.8088930838d88f008e0"
    );
    assert_eq!(modal["view"]["type"], "modal");
    assert_eq!(modal["view"]["private_metadata"], id.as_str());
    assert_eq!(
        service.status("alice", &id),
        "pending",
        "nothing is recorded before the reason"
    );
    let submission = json!({
        "type": "view_submission",
        "user": {"id": "UBOB", "username": "bob"},
        "view": {"callback_id": "gatekeep_reject", "private_metadata": id, "state": {"values": {"reason": {"text": {"type": "plain_text_input", "value": "not during the freeze"}}}}},
    });
    assert_eq!(send(&service, &submission, now, SECRET).0, 200);
    assert_eq!(run.wait().unwrap().code(), Some(121));
    assert!(
        lines.complete().contains("not during the freeze"),
        "{}",
        lines.complete()
    );
    let updated = wait_for(&seen, "/chat.update", 1)[0].json();
    assert!(
        updated["text"]
            .as_str()
            .unwrap()
            .contains("bob rejected: not during the freeze")
    );
    // A second submission on a decided request shows an error in the modal.
    let (status, body) = send(&service, &submission, now, SECRET);
    assert_eq!(status, 200);
    assert!(
        body.contains("response_action") && body.contains("rejected"),
        "{body}"
    );
}

/// A command too long for a Slack message is shown cut, with the rest on the review page:
/// the message then offers no Approve button, and an approval clicked in Slack anyway is
/// refused. What follows the cut (`rm -rf /srv/prod`) was never in front of the reviewer.
#[test]
fn slack_offers_no_approval_of_a_command_it_shows_cut() {
    let env = TestEnv::new();
    let (slack_api, seen) = stub();
    let extra = format!(
        "slack: {{bot_token: xoxb-test, signing_secret: {SECRET}, api_base: \"{slack_api}\", channels: {{reviewers: C42}}}}"
    );
    let service = Service::start(&env, USERS, &extra);
    service.reconfigure(|text| text.replace("{name: bob,", "{name: bob, slack_id: UBOB,"));
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: shell\n    decision: approve\n    match: {program: bash}\n",
    );
    let line = format!("{} rm -rf /srv/prod", "echo harmless; ".repeat(400));
    let filed = service
        .as_user(&env, "alice")
        .args(["run", "--no-wait", "--policy"])
        .arg(&policy)
        .args(["--", "bash", "-c", &line])
        .output()
        .unwrap();
    assert_eq!(filed.status.code(), Some(120), "{filed:?}");
    let id = String::from_utf8_lossy(&filed.stdout).trim().to_owned();
    let message = wait_for(&seen, "/chat.postMessage", 1)[0].json();
    let blocks = message["blocks"].to_string();
    assert!(blocks.contains("more bytes"), "the cut is shown: {blocks}");
    assert!(!blocks.contains("rm -rf /srv/prod"), "{blocks}");
    assert!(
        !blocks.contains("gatekeep_approve"),
        "no Approve button under a cut command: {blocks}"
    );
    assert!(blocks.contains("gatekeep_reject"), "{blocks}");
    assert!(blocks.contains(&format!("/requests/{id}")), "{blocks}");
    // A click on an Approve button all the same (an older message, a crafted one).
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UBOB",
            "gatekeep_approve",
            &id,
            now,
            SECRET
        ),
        200
    );
    let refusal = wait_for(&seen, "/respond", 1)[0].json();
    assert!(
        refusal["text"]
            .as_str()
            .unwrap()
            .contains("too long to show whole in Slack"),
        "{refusal}"
    );
    assert_eq!(service.status("alice", &id), "pending");
}

#[test]
fn chat_messages_follow_escalation_reminders_expiry_and_windows() {
    let env = TestEnv::new();
    let (slack_api, seen) = stub();
    let (teams, teams_seen) = stub();
    let extra = format!(
        "requests: {{remind_every: 1s}}\nslack: {{bot_token: xoxb-test, signing_secret: {SECRET}, api_base: \"{slack_api}\", channels: {{reviewers: C42}}}}\nteams: {{groups: {{reviewers: \"{teams}/teams-hook\"}}}}"
    );
    let service = Service::start(&env, USERS, &extra);
    service.reconfigure(|text| {
        text.replace("{name: alice,", "{name: alice, slack_id: UALICE,")
            .replace("{name: bob,", "{name: bob, slack_id: UBOB,")
    });
    let policy = env.write(
        "p.yaml",
        "version: 1\napproval: {approvers: [\"group:reviewers\"]}\nrules:\n  - id: short-lived\n    decision: approve\n    match: {program: touch}\n    approval:\n      timeout: 4s\n      escalate: [{after: 1s, notify: \"group:leads\"}]\n  - id: windowed\n    decision: approve\n    match: {program: mkdir}\n",
    );
    let policy = policy.to_str().unwrap();
    let file = |args: &[&str]| {
        let output = service
            .as_user(&env, "alice")
            .args(["run", "--no-wait", "--policy", policy, "--"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(120));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let short = file(&["touch", "x"]);
    // Escalation and reminders are replies in the message's thread, shown in the channel.
    let said = |needle: &str| {
        for _ in 0..400 {
            let found = seen.lock().unwrap().iter().any(|r| {
                r.path == "/chat.postMessage"
                    && r.json()["thread_ts"] == "1700000000.000100"
                    && r.json()["reply_broadcast"] == true
                    && r.json()["text"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(needle)
            });
            if found {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no thread reply saying {needle}");
    };
    said("Escalated: request");
    said("told group:leads");
    said("Reminder: request");
    // Once it expires, the message is updated in place to say so, never left pending.
    for _ in 0..400 {
        let updated = seen.lock().unwrap().iter().any(|r| {
            r.path == "/chat.update"
                && r.json()["text"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("expired")
        });
        if updated {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(service.status("alice", &short), "expired");
    let expired = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/chat.update")
        .map(|r| r.json())
        .find(|m| m["text"].as_str().unwrap_or_default().contains("expired"))
        .expect("the message says the request expired");
    assert!(!expired["blocks"].to_string().contains("gatekeep_approve"));
    // A window's message offers to revoke it; the button revokes it as the clicker.
    let windowed = file(&["mkdir", "-p", "d"]);
    let approve = service
        .as_user(&env, "bob")
        .args(["approve", &windowed, "--for", "10m"])
        .output()
        .unwrap();
    assert!(approve.status.success());
    for _ in 0..400 {
        let offered = seen.lock().unwrap().iter().any(|r| {
            r.path == "/chat.update" && r.json()["blocks"].to_string().contains("gatekeep_revoke")
        });
        if offered {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(
        click(
            &service,
            &slack_api,
            "UBOB",
            "gatekeep_revoke",
            &windowed,
            now,
            SECRET
        ),
        200
    );
    let view = service.view("bob", &windowed);
    assert_eq!(view["window"]["revoked"]["by"], "bob", "{view}");
    assert!(
        view["window"]["revoked"]["reason"]
            .as_str()
            .unwrap()
            .contains("via Slack")
    );
    // Teams got a card for the escalation as well.
    let cards = wait_for(&teams_seen, "/teams-hook", 2);
    assert!(
        cards
            .iter()
            .any(|c| c.json().to_string().contains("Escalated")),
        "{cards:?}"
    );
}
