//! The review page's HTML: the layout every page shares, the request list and a request's
//! page. Every text from a request, an identity or a policy goes through [`escape`] (or
//! [`isolated`]) after the one rendering in [`crate::render`]; what the requester claims is
//! never laid out as what the service checked.

use crate::approval::{Readable, RequestView, SatisfiedApproval, Status, ids};
use crate::render;

use super::super::bar::{SECRET_RULE, SERVER_RULE};

/// The page's stylesheet and script: served as files, so the Content-Security-Policy
/// allows no inline code at all.
pub const STYLESHEET: &str = include_str!("assets/page.css");
pub const SCRIPT: &str = include_str!("assets/page.js");
pub const STYLESHEET_PATH: &str = "/assets/page.css";
pub const SCRIPT_PATH: &str = "/assets/page.js";

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `text` escaped, with every run between blanks and slashes in a left-to-right isolate:
/// right-to-left letters keep their own order inside a word, but cannot reorder the words
/// (or a path's parts) a reviewer reads. The isolates add nothing to copied text.
pub fn isolated(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            out.push_str(&format!("<bdi dir=\"ltr\">{}</bdi>", escape(word)));
            word.clear();
        }
    };
    for c in text.chars() {
        if c == ' ' || c == '/' || c == '\n' {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Who is signed in, for the page's header.
pub struct Signed<'a> {
    pub user: &'a str,
    pub csrf: &'a str,
}

/// A whole page. `refresh`: the page's script reloads it now and then while nobody is
/// using it (without the script, people reload it themselves).
pub fn page(title: &str, body: &str, signed: Option<&Signed<'_>>, refresh: bool) -> String {
    let account = match signed {
        Some(signed) => format!(
            r#"<span class="who">Signed in as <strong>{user}</strong></span><form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="quiet">Sign out</button></form>"#,
            user = escape(signed.user),
            csrf = escape(signed.csrf),
        ),
        None => String::new(),
    };
    let refresh = if refresh { " data-refresh=\"10\"" } else { "" };
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark"><title>{title} · gatekeep</title><link rel="stylesheet" href="{STYLESHEET_PATH}"><script src="{SCRIPT_PATH}" defer></script></head>
<body{refresh}><a class="skip" href="#main">Skip to content</a><header><nav aria-label="gatekeep"><a href="/" class="home">gatekeep</a>{account}</nav></header>
<main id="main"><h1>{title}</h1>{body}</main></body></html>"##,
        title = escape(title)
    )
}

/// A request's status in plain words.
pub fn status_words(status: Status) -> &'static str {
    match status {
        Status::Pending => "waiting for review",
        Status::Approved => "approved, not run yet",
        Status::Consumed => "approved and used",
        Status::Rejected => "rejected",
        Status::Expired => "expired",
        Status::Cancelled => "withdrawn by the requester",
    }
}

fn status_badge(status: Status, id: Option<&str>) -> String {
    let id = id.map_or_else(String::new, |id| format!(" id=\"{id}\""));
    format!(
        r#"<span{id} class="status s-{}">{}</span>"#,
        status.as_str(),
        status_words(status)
    )
}

/// "14 min 05 s": how long is left, as people read it (the script counts it down the same way).
pub fn remaining(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// The time left until `expires_at`, rendered now and counted down by the script.
fn countdown(expires_at: &str, left: i64) -> String {
    if left <= 0 {
        return "expired".to_owned();
    }
    format!(
        r#"expires in <time class="countdown" datetime="{at}" data-left="{left}">{shown}</time>"#,
        at = escape(expires_at),
        shown = remaining(left)
    )
}

/// "1 of 2": the approvals that count towards one requirement so far.
fn tally(a: &SatisfiedApproval) -> String {
    format!(
        "{} of {}",
        a.approved_by.len().min(a.quorum as usize),
        a.quorum
    )
}

/// The list's filters.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Waiting for the signed-in reviewer.
    Pending,
    /// Filed by the signed-in identity.
    Mine,
    /// Everything the signed-in identity may see.
    All,
}

impl Filter {
    pub fn parse(value: Option<&str>) -> Filter {
        match value {
            Some("mine") => Filter::Mine,
            Some("all") => Filter::All,
            _ => Filter::Pending,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Filter::Pending => "pending",
            Filter::Mine => "mine",
            Filter::All => "all",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Filter::Pending => "Waiting for me",
            Filter::Mine => "Filed by me",
            Filter::All => "All",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Filter::Pending => "Waiting for your review",
            Filter::Mine => "Your requests",
            Filter::All => "All requests you can see",
        }
    }

    fn empty(self) -> &'static str {
        match self {
            Filter::Pending => "Nothing is waiting for your review.",
            Filter::Mine => "You have filed no requests.",
            Filter::All => "There are no requests you can see.",
        }
    }
}

/// One request as the list shows it.
pub struct Listed {
    pub view: RequestView,
    pub progress: Vec<SatisfiedApproval>,
    /// Seconds until it expires, by the database's clock.
    pub left: i64,
}

/// The list page's body: filters, then the requests, newest first; `more` older ones
/// left out.
pub fn list(filter: Filter, requests: &[Listed], more: usize) -> String {
    let mut out = String::from(r#"<nav aria-label="Filter requests" class="filters"><ul>"#);
    for f in [Filter::Pending, Filter::Mine, Filter::All] {
        let current = if f == filter {
            r#" aria-current="page""#
        } else {
            ""
        };
        out.push_str(&format!(
            r#"<li><a href="/?show={key}"{current}>{label}</a></li>"#,
            key = f.key(),
            label = f.label()
        ));
    }
    out.push_str(&format!(
        r#"</ul></nav><p class="muted">Newest first. <a href="/?show={}">Reload</a> for the latest.</p>"#,
        filter.key()
    ));
    if requests.is_empty() {
        out.push_str(&format!(
            r#"<p id="empty">{}</p><ul id="requests" class="requests"></ul>"#,
            filter.empty()
        ));
        return out;
    }
    out.push_str(r#"<ul id="requests" class="requests">"#);
    // Each id as the shortest prefix that tells it apart from the others shown.
    let ids: Vec<&str> = requests.iter().map(|l| l.view.id.as_str()).collect();
    let prefixes = ids::shortest_unique_prefixes(&ids, ids::MIN_PREFIX);
    for (listed, prefix) in requests.iter().zip(&prefixes) {
        out.push_str(&item(listed, prefix));
    }
    out.push_str("</ul>");
    if more > 0 {
        out.push_str(&format!(
            r#"<p class="muted" id="more">{} older not shown.</p>"#,
            render::thousands(more)
        ));
    }
    if requests.iter().any(|l| l.view.agent) {
        out.push_str(r#"<p class="muted">“agent” is what the requester's client says about itself; only the name after “filed by” is verified by the service.</p>"#);
    }
    out
}

fn item(listed: &Listed, prefix: &str) -> String {
    let view = &listed.view;
    let shown = Readable::of(view, render::nothing);
    // The list shows the start of long commands; the request's page shows all of it.
    let command = render::fit(&shown.command, 300, str::len);
    let agent = if view.agent {
        r#" <span class="tag claimed">agent (claimed)</span>"#
    } else {
        ""
    };
    let rules: Vec<String> = listed
        .progress
        .iter()
        .map(|a| {
            format!(
                r#"<span class="rule"><code>{}</code> {} approvals</span>"#,
                isolated(&render::text(&a.rule)),
                tally(a)
            )
        })
        .collect();
    let expiry = if view.status == Status::Pending {
        format!(" · {}", countdown(&view.expires_at, listed.left))
    } else {
        String::new()
    };
    format!(
        r#"<li class="request"><p class="head"><a href="/requests/{id}" class="id">{short}</a> {status}{agent}</p><code class="command">{command}</code><p class="meta">{rules}</p><p class="meta">filed by <strong>{who}</strong>{expiry}</p></li>"#,
        id = escape(&view.id),
        short = escape(&render::text(prefix)),
        status = status_badge(view.status, None),
        command = isolated(&command),
        rules = rules.join(" · "),
        who = escape(&shown.filed_by),
    )
}

/// The start of a request id, as a request's page title shows it.
pub fn short(id: &str) -> String {
    id.chars().take(13).collect()
}

/// What the request page shows besides the request: who looks, and what they may do.
pub struct Viewer<'a> {
    pub user: &'a str,
    pub csrf: &'a str,
    /// They may review this request now.
    pub may_review: bool,
    /// They have approved it already (it waits for others).
    pub approved: bool,
    /// The longest window an approval may open (seconds); `None` when none may be.
    pub max_window: Option<u64>,
    /// They may revoke the window it opened, or close its break-glass review.
    pub may_act: bool,
}

/// The lengths the review form offers for a window, up to `longest` seconds.
fn window_lengths(longest: u64) -> Vec<u64> {
    let mut lengths: Vec<u64> = [15 * 60, 30 * 60, 60 * 60, 2 * 3600, 4 * 3600, 8 * 3600]
        .into_iter()
        .filter(|s| *s < longest)
        .collect();
    lengths.push(longest);
    lengths
}

/// The window a request opened, what ran under it, and the revoke form.
fn window_section(view: &RequestView, viewer: &Viewer<'_>, now: i64) -> String {
    let mut out = String::new();
    if let Some(window) = &view.under_window {
        out.push_str(&format!(
            r#"<p id="under-window" class="note">Granted under the window of <a href="/requests/{id}">{short}</a>, without a review of its own.</p>"#,
            id = escape(window),
            short = escape(&short(window)),
        ));
    }
    let Some(window) = &view.window else {
        return out;
    };
    let ends = window
        .ends_at
        .parse::<jiff::Timestamp>()
        .map_or(0, |t| t.as_second());
    let state = match &window.revoked {
        Some(revoked) => format!(
            "revoked by {} at {}{}",
            escape(&render::text(&revoked.by)),
            escape(&revoked.at),
            revoked
                .reason
                .as_deref()
                .map(|r| format!(": {}", escape(&render::text(r))))
                .unwrap_or_default()
        ),
        None if now >= ends => "closed".to_owned(),
        None => "open".to_owned(),
    };
    out.push_str(&format!(
        r#"<h2 id="window">Window</h2><dl class="facts"><div><dt>State</dt><dd id="window-state">{state}</dd></div><div><dt>Covers</dt><dd id="window-scope">{scope}</dd></div><div><dt>From</dt><dd class="mono">{from}</dd></div><div><dt>Until</dt><dd id="window-until" class="mono">{until}</dd></div><div><dt>Opened by</dt><dd>{by}</dd></div></dl>"#,
        scope = match window.scope {
            crate::approval::WindowScope::Exact => "this exact command",
            crate::approval::WindowScope::Program => "this program, any arguments",
            crate::approval::WindowScope::Rule => "any command held only by these rules",
        },
        from = escape(&window.starts_at),
        until = escape(&window.ends_at),
        by = escape(&render::text(&window.opened_by.join(", "))),
    ));
    out.push_str(r#"<h3>Ran under it</h3><ol id="window-uses" class="plain">"#);
    for used in &window.uses {
        out.push_str(&format!(
            r#"<li><a href="/requests/{id}" class="mono">{command}</a> <span class="muted">{at}</span></li>"#,
            id = escape(&used.request_id),
            command = isolated(&render::command(&used.argv)),
            at = escape(&used.at),
        ));
    }
    if window.uses.is_empty() {
        out.push_str(r#"<li class="muted">Nothing yet.</li>"#);
    }
    out.push_str("</ol>");
    if viewer.may_act && window.revoked.is_none() && now < ends {
        out.push_str(&format!(
            r#"<form method="post" action="/requests/{id}/revoke" class="review"><input type="hidden" name="csrf" value="{csrf}"><label for="revoke-reason">Reason <span class="muted">(optional)</span></label><input id="revoke-reason" name="reason" type="text"><div class="buttons"><button class="reject" type="submit">Revoke the window</button></div></form>"#,
            id = escape(&view.id),
            csrf = escape(viewer.csrf),
        ));
    }
    out
}

/// A break-glass run: its reason, its review's state, and the form that closes it.
fn break_glass_section(view: &RequestView, viewer: &Viewer<'_>) -> String {
    let Some(glass) = &view.break_glass else {
        return String::new();
    };
    let state = match &glass.review {
        Some(done) => format!(
            "{} by {} at {}{}",
            match done.finding {
                crate::approval::Finding::Acknowledge => "acknowledged",
                crate::approval::Finding::Flag => "flagged",
            },
            escape(&render::text(&done.reviewer)),
            escape(&done.at),
            done.comment
                .as_deref()
                .map(|c| format!(": {}", escape(&render::text(c))))
                .unwrap_or_default()
        ),
        None if glass.overdue => format!("open, overdue since {}", escape(&glass.review_due)),
        None => format!("open, due by {}", escape(&glass.review_due)),
    };
    let mut out = format!(
        r#"<h2 id="break-glass">Break-glass run</h2><p class="warning">It ran without waiting for approval{offline}; approvers review it afterwards.</p>"#,
        offline = match &glass.ran_at {
            Some(at) if glass.offline => format!(
                ", at {} while the service could not be reached (as its client reported)",
                escape(&render::text(at))
            ),
            _ if glass.offline => ", while the service could not be reached".to_owned(),
            _ => String::new(),
        },
    );
    if let Some(objection) = &glass.objection {
        out.push_str(&format!(
            r#"<p id="objection" class="warning"><strong>The service would have refused it:</strong> {}</p>"#,
            escape(&render::text(objection))
        ));
    }
    out.push_str(&format!(
        r#"<dl class="facts"><div><dt>Review</dt><dd id="break-glass-review">{state}</dd></div></dl>"#
    ));
    if viewer.may_act && glass.review.is_none() {
        out.push_str(&format!(
            r#"<form method="post" action="/requests/{id}/after-review" class="review"><input type="hidden" name="csrf" value="{csrf}"><label for="after-comment">Comment</label><textarea id="after-comment" name="comment" rows="2"></textarea><div class="buttons"><button class="approve" type="submit" name="finding" value="acknowledge">Acknowledge</button><button class="reject" type="submit" name="finding" value="flag">Flag</button></div></form>"#,
            id = escape(&view.id),
            csrf = escape(viewer.csrf),
        ));
    }
    out
}

/// A request's page: everything about it, never cut, and the review form when the viewer
/// may review it.
pub fn request(
    view: &RequestView,
    progress: &[SatisfiedApproval],
    left: i64,
    viewer: &Viewer<'_>,
) -> String {
    let shown = Readable::of(view, render::nothing);
    let mut out = String::new();
    let expiry = match view.status {
        Status::Pending => format!(" · {}", countdown(&view.expires_at, left)),
        _ => String::new(),
    };
    out.push_str(&format!(
        r#"<p class="state">{}{expiry}</p>"#,
        status_badge(view.status, Some("status"))
    ));
    if let Some(conflict) = &shown.log_conflict {
        out.push_str(&format!(
            r#"<p id="log" class="warning"><strong>Warning:</strong> {}</p>"#,
            escape(conflict)
        ));
    }
    out.push_str(&format!(
        r#"<h2>Command</h2><pre id="command">{}</pre>"#,
        isolated(&shown.command)
    ));
    if !shown.commands.is_empty() {
        out.push_str(r#"<h2>Commands in it</h2><p class="muted">Each simple command the requester's analysis found, and the rules it matched.</p><ul id="commands" class="plain">"#);
        for (command, rules) in &shown.commands {
            let rules = if rules.is_empty() {
                "no rule".to_owned()
            } else {
                escape(rules)
            };
            out.push_str(&format!(
                r#"<li><code>{}</code><span class="muted"> matched: {rules}</span></li>"#,
                isolated(command)
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str(&why(view, progress));
    out.push_str(&identity(&shown));
    out.push_str(&format!(
        r#"<h2>What an approval covers</h2><dl class="facts"><div><dt>Program</dt><dd id="program" class="mono">{program}</dd></div><div><dt>Also runs</dt><dd id="also-runs" class="mono">{also}</dd></div><div><dt>Environment</dt><dd id="environment" class="mono">{env}</dd></div><div><dt>Secrets</dt><dd id="secrets" class="mono">{secrets}</dd></div><div><dt>Approvers</dt><dd id="approvers" class="mono">{approvers}</dd></div><div><dt>Expires</dt><dd id="expires" class="mono">{expires}</dd></div></dl>"#,
        program = isolated(&shown.program),
        also = isolated(&shown.also_runs),
        env = isolated(&shown.environment),
        secrets = isolated(shown.secrets.as_deref().unwrap_or("(none)")),
        approvers = isolated(&shown.approvers),
        expires = isolated(&shown.expires_at),
    ));
    out.push_str(r#"<h2>Reviews</h2><ul id="reviews" class="plain">"#);
    for review in &shown.reviews {
        out.push_str(&format!("<li>{}</li>", isolated(review)));
    }
    if shown.reviews.is_empty() {
        out.push_str("<li class=\"muted\">No reviews yet.</li>");
    }
    out.push_str("</ul>");
    if !view.escalations.is_empty() {
        out.push_str(r#"<h2>Escalation</h2><ul id="escalations" class="plain">"#);
        for step in &view.escalations {
            let mut said = Vec::new();
            if !step.notify.is_empty() {
                said.push(format!("told {}", step.notify.join(", ")));
            }
            if !step.add_approvers.is_empty() {
                said.push(format!("{} may approve too", step.add_approvers.join(", ")));
            }
            out.push_str(&format!(
                r#"<li>{}: {} <span class="muted">{}</span></li>"#,
                escape(&render::text(&step.rule)),
                escape(&render::text(&said.join("; "))),
                escape(&step.at)
            ));
        }
        out.push_str("</ul>");
    }
    let now = jiff::Timestamp::now().as_second();
    out.push_str(&window_section(view, viewer, now));
    out.push_str(&break_glass_section(view, viewer));
    match (viewer.may_review, view.status) {
        (true, Status::Pending) => {
            // Once approved, only a change of mind is left to give.
            let (note, approve) = if viewer.approved {
                (
                    r#"<p id="note">You approved this request; it waits for the other approvals. You can still reject it.</p>"#,
                    "",
                )
            } else {
                (
                    "",
                    r#"<button class="approve" type="submit" name="verdict" value="approve">Approve</button>"#,
                )
            };
            let window = match viewer.max_window {
                Some(longest) if !viewer.approved => {
                    let options: String = window_lengths(longest)
                        .into_iter()
                        .map(|s| {
                            let d = render::duration(s);
                            format!(r#"<option value="{d}">for {d}</option>"#)
                        })
                        .collect();
                    format!(
                        r#"<label for="window">Approve <span class="muted">(a window grants more commands like this one without asking again)</span></label><select id="window" name="window"><option value="">this command only</option>{options}</select><label for="scope">A window covers</label><select id="scope" name="scope"><option value="exact">this exact command</option><option value="program">this program, any arguments</option><option value="rule">any command held only by these rules</option></select>"#
                    )
                }
                _ => String::new(),
            };
            out.push_str(&format!(
                r#"<h2 id="decide">Your review</h2>{note}<form method="post" action="/requests/{id}/review" class="review"><input type="hidden" name="csrf" value="{csrf}"><label for="comment">Comment <span class="muted">(optional; the requester sees it)</span></label><textarea id="comment" name="comment" rows="2"></textarea>{window}<div class="buttons">{approve}<button class="reject" type="submit" name="verdict" value="reject">Reject</button></div></form>"#,
                id = escape(&view.id),
                csrf = escape(viewer.csrf),
            ));
        }
        (false, Status::Pending) if view.requester == viewer.user => out
            .push_str(r#"<p id="note">This is your own request: someone else must review it.</p>"#),
        _ => {}
    }
    out
}

/// Each requirement with its rule's own "why" and the quorum's progress.
fn why(view: &RequestView, progress: &[SatisfiedApproval]) -> String {
    let mut out = String::from(r#"<h2>Why it needs approval</h2><ul id="rules" class="rules">"#);
    for a in progress {
        let source = if let Some(rule) = a.rule.strip_prefix(SERVER_RULE) {
            format!(
                "rule <code>{}</code> of the service's own policy",
                isolated(&render::text(rule))
            )
        } else if let Some(secret) = a.rule.strip_prefix(SECRET_RULE) {
            format!(
                "releases the service's secret <code>{}</code>",
                isolated(&render::text(secret))
            )
        } else {
            format!(
                "rule <code>{}</code> of the requester's policy",
                isolated(&render::text(&a.rule))
            )
        };
        let reason = match view.rule_descriptions.get(&a.rule) {
            Some(text) => format!(r#"<p class="why">{}</p>"#, isolated(&render::text(text))),
            None => String::new(),
        };
        let by = if a.approved_by.is_empty() {
            "no approvals yet".to_owned()
        } else {
            format!(
                "approved by {}",
                a.approved_by
                    .iter()
                    .map(|name| format!("<strong>{}</strong>", escape(&render::text(name))))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let whom = a
            .approvers
            .iter()
            .map(|name| isolated(&render::text(name)))
            .collect::<Vec<_>>()
            .join(" or ");
        out.push_str(&format!(
            r#"<li><p class="source">{source}</p>{reason}<p class="progress"><strong>{tally}</strong> approvals from {whom} · {by}</p></li>"#,
            tally = tally(a),
        ));
    }
    out.push_str("</ul>");
    // Requests from older clients carry their rules' descriptions without the rule.
    if view.rule_descriptions.is_empty() && !view.descriptions.is_empty() {
        out.push_str(&format!(
            r#"<p class="why">{}</p>"#,
            isolated(
                &view
                    .descriptions
                    .iter()
                    .map(|d| render::text(d))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        ));
    }
    out
}

/// The identity the service verified, and apart from it what the requester says.
fn identity(shown: &Readable) -> String {
    let mut out = format!(
        r#"<h2>Who asked</h2><dl class="facts verified"><div><dt>Filed by</dt><dd><strong id="filed-by">{}</strong> <span class="tag verified">verified by the service</span></dd></div></dl><h3>Claimed by the requester <span class="tag claimed">not verified</span></h3><p class="muted">The service cannot check these: they are what the requester's client says.</p><dl id="claimed" class="facts claimed">"#,
        escape(&shown.filed_by)
    );
    for (label, value) in &shown.claims {
        out.push_str(&format!(
            r#"<div><dt>{label}</dt><dd id="claimed-{label}"><code>{}</code></dd></div>"#,
            isolated(value)
        ));
    }
    out.push_str("</dl>");
    out
}

/// The sign-in page's body; `message` says why the last attempt failed.
pub fn sign_in(message: &str) -> String {
    let note = if message.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p class="warning" role="alert" id="message">{}</p>"#,
            escape(message)
        )
    };
    format!(
        r#"{note}<form method="post" action="/login" class="signin"><label for="token">Token</label><input id="token" type="password" name="token" autocomplete="off" required autofocus><button type="submit">Sign in</button></form>
<h2>Where a token comes from</h2><ul id="token-help">
<li>Your administrator makes one with <code>gatekeep token new</code>, keeps only its digest in the service's configuration, and gives the token to you. It is the same token the command line uses (<code>gatekeep login</code>, or <code>GATEKEEP_TOKEN</code>).</li>
<li>On a development service started with <code>gatekeep serve --dev</code>, it is the <code>GATEKEEP_TOKEN</code> of the reviewer's <code>export …</code> line it printed; <code>gatekeep dev credentials</code> prints that line again.</li>
</ul><p class="muted">The browser keeps only a session cookie, never the token.</p>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_and_path_part_is_its_own_left_to_right_isolate() {
        // Between two right-to-left words, a bare space would join them into one run and
        // show them swapped: `mv 'ב' 'א'` for `mv 'א' 'ב'`.
        assert_eq!(
            isolated("mv 'א' /tmp/ב<x"),
            "<bdi dir=\"ltr\">mv</bdi> <bdi dir=\"ltr\">&#39;א&#39;</bdi> /<bdi dir=\"ltr\">tmp</bdi>/<bdi dir=\"ltr\">ב&lt;x</bdi>"
        );
        assert_eq!(isolated(""), "");
    }

    #[test]
    fn time_left_reads_as_hours_minutes_or_seconds() {
        assert_eq!(remaining(45), "45 s");
        assert_eq!(remaining(870), "14 min 30 s");
        assert_eq!(remaining(3900), "1 h 05 min");
        assert_eq!(remaining(-3), "0 s");
    }

    #[test]
    fn no_state_is_shown_by_its_internal_name() {
        for status in [
            Status::Pending,
            Status::Approved,
            Status::Consumed,
            Status::Rejected,
            Status::Expired,
            Status::Cancelled,
        ] {
            assert!(!status_words(status).contains("consumed"));
            assert!(!status_words(status).contains("pending"));
        }
    }
}
