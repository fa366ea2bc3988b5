//! The chat messages about a request: Slack Block Kit and Teams Adaptive Cards, built from
//! the one rendering every channel shows ([`Readable`]), each with its channel's own escaping
//! and size limits. A text that does not fit is cut at its end, visibly (`… 1,234 more
//! bytes`), next to a link to the review page where it is shown whole.

use serde_json::{Value, json};

use crate::approval::{CLAIMED, Readable, RequestView, Status};
use crate::render;

/// Slack's limit on the text of a section block (characters).
const SLACK_SECTION: usize = 3000;
/// Slack's limit on the text of one field of a section block.
const SLACK_FIELD: usize = 2000;
/// What one claim may take in the claims section (seven fit in [`SLACK_SECTION`]).
const SLACK_CLAIM: usize = 380;
/// The notification text (`text`), kept short: it is what a phone shows.
const SLACK_NOTIFICATION: usize = 300;

/// Teams refuses a message over 28 KB; these budgets (bytes of JSON) keep a card well under.
const TEAMS_COMMAND: usize = 6000;
const TEAMS_COMMANDS: usize = 6000;
const TEAMS_FIELD: usize = 700;
const TEAMS_REVIEWS: usize = 10;

/// Slack: a backtick would end the code span a value is shown in.
fn slack_also(c: char, _: Option<char>) -> bool {
    c == '`'
}

/// Teams: `{{` starts a date function even in plain text runs.
fn teams_also(c: char, next: Option<char>) -> bool {
    c == '{' && next == Some('{')
}

/// Slack's mrkdwn escapes: `&`, `<` and `>` as the entities Slack documents, so no text can
/// form a link or a mention (`<!channel>`, `<@U…>`).
fn mrkdwn(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The length Slack counts, once escaped.
fn slack_cost(piece: &str) -> usize {
    mrkdwn(piece).encode_utf16().count()
}

/// `rendered` in an inline code span (where mrkdwn formatting does not apply), cut to
/// `budget`; the note of a cut stays outside the span.
fn slack_code(rendered: &str, budget: usize) -> String {
    slack_code_cut(rendered, budget).0
}

/// [`slack_code`], and whether anything was cut.
fn slack_code_cut(rendered: &str, budget: usize) -> (String, bool) {
    if rendered.is_empty() {
        return ("_(empty)_".to_owned(), false);
    }
    let whole = render::cut(rendered, budget.saturating_sub(2), slack_cost);
    if whole.omitted == 0 {
        return (format!("`{}`", mrkdwn(rendered)), false);
    }
    let cut = render::cut(rendered, budget.saturating_sub(40), slack_cost);
    let note = cut.note().unwrap_or_default();
    (format!("`{}` _{note}_", mrkdwn(cut.kept)), true)
}

/// Whether the Slack message about `view` shows every field whole. Where it does not, the
/// message offers no Approve button (a reviewer approves only what they could read: the
/// review page shows it all), and an approval clicked in Slack is refused.
pub fn slack_shows_all(view: &RequestView) -> bool {
    slack_message(view).1
}

/// A mrkdwn text object that Slack shows as written: no automatic links or mentions.
fn slack_text(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

/// The notification text of a message about `view`.
pub fn slack_notification(view: &RequestView) -> String {
    let shown = Readable::of(view, slack_also);
    let lead = if view.status == Status::Pending {
        format!("Approval requested by `{}`: ", mrkdwn(&shown.filed_by))
    } else {
        format!(
            "{}: ",
            mrkdwn(&render::fit(&shown.outcome(), 1000, slack_cost))
        )
    };
    format!("{lead}{}", slack_code(&shown.command, SLACK_NOTIFICATION))
}

/// The Block Kit message for a request; with buttons while it is pending (Approve only
/// when nothing in it was cut, see [`slack_shows_all`]).
pub fn slack_blocks(view: &RequestView) -> Value {
    slack_message(view).0
}

/// The Block Kit message, and whether it shows every field whole.
fn slack_message(view: &RequestView) -> (Value, bool) {
    let shown = Readable::of(view, slack_also);
    let whole = std::cell::Cell::new(true);
    let code = |rendered: &str, budget: usize| {
        let (text, cut) = slack_code_cut(rendered, budget);
        if cut {
            whole.set(false);
        }
        text
    };
    let page = format!("<{}|the review page>", view.review_url);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": "Approval requested"}}),
    ];
    // The command, whole or its start: in a code block, where nothing is formatted.
    let frame = "*Command*\n``````".len() + page.len() + 60;
    let cut = render::cut(&shown.command, SLACK_SECTION - frame, slack_cost);
    let mut command = format!("*Command*\n```{}```", mrkdwn(cut.kept));
    if let Some(note) = cut.note() {
        whole.set(false);
        command.push_str(&format!("\n_{note}; the whole command is on {page}_"));
    }
    blocks.push(json!({"type": "section", "text": slack_text(command)}));
    if !shown.commands.is_empty() {
        let mut text = "*Commands in it* (the requester's analysis, one per line)".to_owned();
        let reserve = page.len() + 60;
        for (i, (command, rules)) in shown.commands.iter().enumerate() {
            let rules = if rules.is_empty() {
                "-"
            } else {
                rules.as_str()
            };
            let line = format!("\n{} rules: {}", code(command, 600), code(rules, 200));
            if text.encode_utf16().count() + line.encode_utf16().count() + reserve > SLACK_SECTION {
                whole.set(false);
                let left = shown.commands.len() - i;
                text.push_str(&format!("\n_… {left} more on {page}_"));
                break;
            }
            text.push_str(&line);
        }
        blocks.push(json!({"type": "section", "text": slack_text(text)}));
    }
    let field = |label: &str, value: &str| {
        slack_text(format!(
            "*{label}*\n{}",
            code(value, SLACK_FIELD - label.len() - 10)
        ))
    };
    if let Some(conflict) = &shown.log_conflict {
        blocks.push(json!({"type": "section", "text": slack_text(format!(
            "*Log conflict*\n{}",
            code(conflict, SLACK_FIELD)
        ))}));
    }
    blocks.push(json!({"type": "section", "fields": [
        field("Filed by (authenticated)", &shown.filed_by),
        field("Approvers", &shown.approvers),
        field("Program", &shown.program),
        field("Also runs", &shown.also_runs),
        field("Environment", &shown.environment),
        field("Secrets", shown.secrets.as_deref().unwrap_or("(none)")),
        field("Expires", &shown.expires_at),
    ]}));
    let mut claims = format!(
        "*{}* (the service cannot check these)",
        capitalised(CLAIMED)
    );
    for (label, value) in &shown.claims {
        claims.push_str(&format!("\n{label}: {}", code(value, SLACK_CLAIM)));
    }
    blocks.push(json!({"type": "section", "text": slack_text(claims)}));
    if let Some(window) = &view.window {
        let state = match &window.revoked {
            Some(revoked) => format!("revoked by {} at {}", revoked.by, revoked.at),
            None => format!(
                "open from {} until {}, {} used",
                window.starts_at,
                window.ends_at,
                render::count(window.uses.len() as u64, "time", "times")
            ),
        };
        blocks.push(json!({"type": "section", "text": slack_text(format!(
            "*Window* ({})\n{}",
            window.scope.as_str(),
            code(&state, SLACK_FIELD)
        ))}));
        if window.revoked.is_none() {
            blocks.push(json!({"type": "actions", "block_id": "gatekeep_window", "elements": [
                {"type": "button", "action_id": "gatekeep_revoke", "style": "danger", "value": view.id,
                 "text": {"type": "plain_text", "text": "Revoke window"}},
            ]}));
        }
    }
    if let Some(glass) = &view.break_glass {
        let state = match &glass.review {
            Some(done) => format!(
                "review closed by {} ({})",
                done.reviewer,
                done.finding.as_str()
            ),
            None => format!("review due by {}", glass.review_due),
        };
        let state = match &glass.objection {
            Some(objection) => format!("{state}; the service would have refused it: {objection}"),
            None => state,
        };
        blocks.push(json!({"type": "section", "text": slack_text(format!(
            "*Break-glass run*: it ran without approval\n{}",
            code(&state, SLACK_FIELD)
        ))}));
    }
    if view.status == Status::Pending {
        let approve = if whole.get() {
            json!({"type": "button", "action_id": "gatekeep_approve", "style": "primary", "value": view.id, "text": {"type": "plain_text", "text": "Approve"}})
        } else {
            // Parts of the request are not in this message: approve where all of it is shown.
            json!({"type": "button", "action_id": "gatekeep_open", "url": view.review_url, "text": {"type": "plain_text", "text": "Review all of it on the page"}})
        };
        blocks.push(json!({"type": "actions", "block_id": "gatekeep", "elements": [
            approve,
            {"type": "button", "action_id": "gatekeep_reject", "style": "danger", "value": view.id, "text": {"type": "plain_text", "text": "Reject"}},
        ]}));
    } else {
        let outcome = slack_code(&shown.outcome(), SLACK_FIELD);
        blocks.push(json!({"type": "context", "elements": [slack_text(outcome)]}));
    }
    blocks.push(json!({"type": "context", "elements": [slack_text(format!("<{}|Review page> · request `{}`", view.review_url, mrkdwn(&shown.id)))]}));
    (json!(blocks), whole.get())
}

/// What an event says out loud besides updating the request's message: escalation,
/// reminders, break-glass; `None` for the others. Every text a requester or reviewer
/// supplied goes through `quote` (Slack: an inline code span, escaped; Teams: as written,
/// in a text run that is never read as markdown), cut to its budget.
pub fn announcement(
    kind: &str,
    view: &RequestView,
    quote: &dyn Fn(&str, usize) -> String,
) -> Option<String> {
    let shown = Readable::of(view, slack_also);
    let command = quote(&shown.command, 300);
    let id = quote(&shown.id, 60);
    let by = quote(&shown.filed_by, 100);
    Some(match kind {
        "request.escalated" => {
            let step = view.escalations.last()?;
            format!(
                "Escalated: request {id} has waited since {}; {}. Command: {command}",
                view.created_at,
                quote(&crate::ui::escalation(step), 300)
            )
        }
        "request.reminder" => format!(
            "Reminder: request {id} still waits for {} (expires {}). Command: {command}",
            quote(&shown.approvers, 300),
            view.expires_at
        ),
        "request.break_glass" => {
            let glass = view.break_glass.as_ref()?;
            let objection = glass
                .objection
                .as_deref()
                .map(|o| format!(" The service would have refused it: {}.", quote(o, 300)))
                .unwrap_or_default();
            format!(
                "BREAK GLASS: {by} ran request {id} without approval{}; reason: {}. Approvers of {} must review it by {}.{objection} Command: {command}",
                if glass.offline {
                    " while the service could not be reached"
                } else {
                    ""
                },
                quote(&render::text(view.reason.as_deref().unwrap_or("")), 300),
                quote(&view.rules.join(", "), 200),
                glass.review_due
            )
        }
        "request.break_glass_overdue" => format!(
            "Overdue: the break-glass run {id} by {by} has not been reviewed. Command: {command}"
        ),
        _ => return None,
    })
}

/// Slack's quoting for [`announcement`]: an inline code span, escaped.
pub fn slack_quote(text: &str, budget: usize) -> String {
    slack_code(text, budget)
}

/// Teams' quoting for [`announcement`]: the text as written, cut to its budget.
pub fn teams_quote(text: &str, budget: usize) -> String {
    render::fit(text, budget, json_cost)
}

/// A Teams card that says `text` about `view`, with its review page.
pub fn teams_notice(text: &str, view: &RequestView) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "RichTextBlock", "inlines": [run(render::fit(text, 2000, json_cost))]}],
                "actions": [{"type": "Action.OpenUrl", "title": "Open the review page", "url": view.review_url}],
            },
        }],
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The length a piece takes in the card's JSON.
fn json_cost(piece: &str) -> usize {
    serde_json::to_string(piece).map_or(piece.len(), |s| s.len() - 2)
}

/// A text run: Adaptive Cards show its text as written, without markdown.
fn run(text: impl Into<String>) -> Value {
    json!({"type": "TextRun", "text": text.into()})
}

/// `label: value` as a rich text block, the value cut to `budget`.
fn teams_fact(label: &str, value: &str, budget: usize, url: &str) -> Value {
    let cut = render::cut(value, budget, json_cost);
    let mut inlines = vec![
        json!({"type": "TextRun", "text": format!("{label}: "), "weight": "Bolder"}),
        run(cut.kept),
    ];
    if let Some(note) = cut.note() {
        inlines.push(teams_note(&note, url));
    }
    json!({"type": "RichTextBlock", "inlines": inlines})
}

/// The note of a cut, opening the review page.
fn teams_note(note: &str, url: &str) -> Value {
    json!({"type": "TextRun", "text": format!(" {note} (open the review page)"), "italic": true,
           "selectAction": {"type": "Action.OpenUrl", "url": url}})
}

/// The Adaptive Card message Teams expects from an incoming webhook. Every text the
/// requester or a reviewer supplied is in a text run, which Teams does not read as markdown.
pub fn teams_card(view: &RequestView) -> Value {
    let shown = Readable::of(view, teams_also);
    let url = &view.review_url;
    let title = if view.status == Status::Pending {
        "Approval requested".to_owned()
    } else {
        format!("Request {}", shown.status)
    };
    let mut body = vec![
        json!({"type": "TextBlock", "size": "Large", "weight": "Bolder", "text": title, "wrap": true}),
    ];
    let cut = render::cut(&shown.command, TEAMS_COMMAND, json_cost);
    let mut command = vec![json!({"type": "TextRun", "text": cut.kept, "fontType": "Monospace"})];
    if let Some(note) = cut.note() {
        command.push(teams_note(&note, url));
    }
    body.push(json!({"type": "RichTextBlock", "inlines": command}));
    if !shown.commands.is_empty() {
        body.push(json!({"type": "TextBlock", "weight": "Bolder", "text": "Commands in it (the requester's analysis)", "wrap": true}));
        let mut spent = 0;
        for (i, (command, rules)) in shown.commands.iter().enumerate() {
            let line = render::fit(command, 1000, json_cost);
            let rules = render::fit(if rules.is_empty() { "-" } else { rules }, 200, json_cost);
            spent += json_cost(&line) + json_cost(&rules);
            if spent > TEAMS_COMMANDS {
                let left = shown.commands.len() - i;
                body.push(json!({"type": "RichTextBlock", "inlines": [teams_note(&format!("… {left} more"), url)]}));
                break;
            }
            body.push(json!({"type": "RichTextBlock", "inlines": [
                json!({"type": "TextRun", "text": line, "fontType": "Monospace"}),
                json!({"type": "TextRun", "text": format!("  rules: {rules}"), "isSubtle": true}),
            ]}));
        }
    }
    if let Some(conflict) = &shown.log_conflict {
        body.push(teams_fact("Log conflict", conflict, TEAMS_FIELD, url));
    }
    for (label, value) in [
        ("Filed by (authenticated)", shown.filed_by.as_str()),
        ("Approvers", &shown.approvers),
        ("Program", &shown.program),
        ("Also runs", &shown.also_runs),
        ("Environment", &shown.environment),
        ("Secrets", shown.secrets.as_deref().unwrap_or("(none)")),
        ("Expires", &shown.expires_at),
    ] {
        body.push(teams_fact(label, value, TEAMS_FIELD, url));
    }
    body.push(json!({"type": "TextBlock", "weight": "Bolder", "text": format!("{} (the service cannot check these)", capitalised(CLAIMED)), "wrap": true}));
    for (label, value) in &shown.claims {
        body.push(teams_fact(label, value, TEAMS_FIELD, url));
    }
    for review in shown.reviews.iter().take(TEAMS_REVIEWS) {
        body.push(teams_fact("Review", review, TEAMS_FIELD, url));
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
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": "Review", "url": url}],
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::approval::{AnalysedCommand, CommandFacts, Review, Verdict};
    use crate::policy::ApprovalRequirement;

    fn view(argv: Vec<String>, reason: &str) -> RequestView {
        RequestView {
            id: "0190a0a0-0000-7000-8000-000000000001".into(),
            status: Status::Pending,
            requester: "alice".into(),
            facts: CommandFacts {
                argv,
                cwd: "/srv".into(),
                resolved_path: "/usr/bin/psql".into(),
                binary_sha256: "ab".repeat(32),
                ..CommandFacts::default()
            },
            host: "db1".into(),
            user: "alice".into(),
            agent: true,
            agent_session: Some("s-1".into()),
            rules: vec!["prod-db".into()],
            descriptions: vec!["Production database".into()],
            rule_descriptions: [("prod-db".into(), "Production database".into())].into(),
            approvals: vec![ApprovalRequirement {
                rule: "prod-db".into(),
                approvers: vec!["group:dba".into()],
                quorum: 1,
                ..Default::default()
            }],
            progress: Vec::new(),
            reason: Some(reason.into()),
            digest: "00".repeat(32),
            created_at: "2026-01-01T00:00:00Z".into(),
            expires_at: "2026-01-01T00:15:00Z".into(),
            reviews: Vec::new(),
            review_url: "https://gatekeep.example.com/requests/0190a0a0".into(),
            grant: None,
            secrets: Vec::new(),
            commands: Vec::new(),
            log_head_conflict: None,
            window: None,
            under_window: None,
            escalations: Vec::new(),
            break_glass: None,
        }
    }

    fn slack_texts(blocks: &Value) -> Vec<String> {
        fn walk(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(text)) = map.get("text") {
                        out.push(text.clone());
                    }
                    map.values().for_each(|v| walk(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(blocks, &mut out);
        out
    }

    #[test]
    fn slack_neutralises_mentions_links_and_code_spans() {
        let v = view(
            vec!["psql".into(), "-c".into(), "select 1 -- `x` <@U1>".into()],
            "see <https://evil.example|the docs> & <!here> `now`",
        );
        let texts = slack_texts(&slack_blocks(&v));
        assert!(texts.contains(
            &"*Command*\n```psql -c $'select 1 -- \\x60x\\x60 &lt;@U1&gt;'```".to_owned()
        ));
        let claims = texts
            .iter()
            .find(|t| t.starts_with("*Claimed by the requester*"))
            .unwrap();
        assert_eq!(
            claims,
            "*Claimed by the requester* (the service cannot check these)\nagent: `yes, session s-1`\nhost: `db1`\nuser: `alice`\ndirectory: `/srv`\nreason: `see &lt;https://evil.example|the docs&gt; &amp; &lt;!here&gt; \\x60now\\x60`\nrules: `prod-db`\nwhy: `Production database`"
        );
    }

    #[test]
    fn slack_stays_within_its_limits_whatever_the_request() {
        let mut v = view(
            (0..400).map(|i| format!("<&>{i}\u{1b}")).collect(),
            &"<&>\u{202e}".repeat(3000),
        );
        v.commands = (0..300)
            .map(|i| AnalysedCommand {
                argv: vec!["rm".into(), format!("/{i}<&>").repeat(50)],
                runtime: Vec::new(),
                rules: vec!["r".into()],
            })
            .collect();
        v.descriptions = vec!["&".repeat(5000)];
        v.status = Status::Rejected;
        v.reviews = vec![Review {
            reviewer: "bob".into(),
            verdict: Verdict::Reject,
            comment: Some("<".repeat(5000)),
            at: "2026-01-01T00:01:00Z".into(),
            window: None,
        }];
        let blocks = slack_blocks(&v);
        for block in blocks.as_array().unwrap() {
            if let Some(text) = block["text"]["text"].as_str() {
                assert!(text.encode_utf16().count() <= SLACK_SECTION, "{text}");
            }
            for field in block["fields"].as_array().into_iter().flatten() {
                let text = field["text"].as_str().unwrap();
                assert!(text.encode_utf16().count() <= SLACK_FIELD, "{text}");
            }
        }
        let texts = slack_texts(&blocks);
        let command = texts.iter().find(|t| t.starts_with("*Command*")).unwrap();
        assert!(
            command.starts_with("*Command*\n```$'&lt;&amp;&gt;0\\x1b' "),
            "{command}"
        );
        assert!(command.contains("more bytes; the whole command is on <https://gatekeep.example.com/requests/0190a0a0|the review page>_"));
        let commands = texts
            .iter()
            .find(|t| t.starts_with("*Commands in it*"))
            .unwrap();
        assert!(
            commands.contains(
                "more on <https://gatekeep.example.com/requests/0190a0a0|the review page>_"
            ),
            "{commands}"
        );
        assert!(slack_notification(&v).encode_utf16().count() < 3000);
    }

    #[test]
    fn teams_cards_stay_under_28_kb_and_run_no_markdown() {
        let mut v = view(
            (0..400).map(|i| format!("\"\\{i}\u{1b}")).collect(),
            &"**bold** [x](https://evil.example) {{DATE(2017-02-14T06:00:00Z)}}\"\\".repeat(500),
        );
        v.commands = (0..300)
            .map(|i| AnalysedCommand {
                argv: vec!["rm".into(), format!("\"{i}\\").repeat(80)],
                runtime: Vec::new(),
                rules: vec!["r".repeat(300)],
            })
            .collect();
        v.reviews = (0..40)
            .map(|i| Review {
                reviewer: format!("r{i}"),
                verdict: Verdict::Approve,
                comment: Some("\"".repeat(3000)),
                at: "2026-01-01T00:01:00Z".into(),
                window: None,
            })
            .collect();
        let card = teams_card(&v);
        let size = card.to_string().len();
        assert!(size < 28_000, "{size} bytes");
        let body = card["attachments"][0]["content"]["body"]
            .as_array()
            .unwrap();
        for block in body {
            if block["type"] == "TextBlock" {
                assert!(!block["text"].as_str().unwrap().contains("**bold**"));
            }
        }
        let reason = body
            .iter()
            .find(|b| b["inlines"][0]["text"] == "reason: ")
            .unwrap();
        assert!(
            reason["inlines"][1]["text"]
                .as_str()
                .unwrap()
                .starts_with("**bold** [x](https://evil.example) \\x7b{DATE(")
        );
        assert_eq!(reason["inlines"][2]["selectAction"]["url"], v.review_url);
    }

    #[test]
    fn announcements_quote_what_requesters_wrote() {
        let mut v = view(vec!["touch".into(), "<!here>".into()], "<!channel> *now*");
        v.break_glass = Some(crate::approval::BreakGlass {
            review_due: "2026-12-04T00:00:00Z".into(),
            offline: false,
            review: None,
            overdue: false,
            objection: None,
            ran_at: None,
        });
        let slack = announcement("request.break_glass", &v, &slack_quote).unwrap();
        assert!(
            !slack.contains("<!channel>") && !slack.contains("<!here>"),
            "{slack}"
        );
        assert!(slack.contains("`&lt;!channel&gt; *now*`"), "{slack}");
        let teams = announcement("request.break_glass", &v, &teams_quote).unwrap();
        assert!(teams.contains("<!channel> *now*"), "{teams}");
        assert!(announcement("request.created", &v, &slack_quote).is_none());
    }
}
