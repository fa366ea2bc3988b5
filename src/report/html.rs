//! The report as one self-contained HTML file: no network, no script, readable on screen
//! and on paper, with charts drawn as inline SVG. The report's JSON travels inside it
//! (`<script type="application/json">`, data a browser never runs), and the page is
//! rendered from that JSON alone, byte for byte the same every time: `report verify`
//! renders it again and compares, so an edited page is caught as an edited report.

use super::{Item, Outcome, Report};

/// The element id of the embedded JSON.
pub const DATA_ID: &str = "gatekeep-report";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Text shown to people: hidden characters made visible, then escaped.
fn shown(text: &str) -> String {
    escape(&crate::render::text(text))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d232b}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #ccd;padding:.3rem .45rem;vertical-align:top;text-align:left}
th{background:#eef1f5}code{font:12px ui-monospace,monospace;word-break:break-all}
.pass{color:#126b2e}.fail{color:#a3161b;font-weight:bold}.cannot_verify{color:#7a5a00}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1rem}
figure{margin:0;border:1px solid #ccd;padding:.5rem}figcaption{font-weight:bold;margin-bottom:.3rem}
.totals td{font-variant-numeric:tabular-nums}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr,figure{break-inside:avoid}}";

/// The page for `report`.
pub fn render(report: &Report) -> String {
    let data = serde_json::to_string(report)
        .expect("a report serialises")
        .replace("</", "<\\/");
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">");
    out.push_str(&format!(
        "<title>gatekeep evidence {} to {}</title><style>{STYLE}</style></head><body>",
        escape(&report.since),
        escape(&report.until)
    ));
    out.push_str(&format!(
        "<h1>gatekeep evidence report</h1><p>Period <strong>{}</strong> to <strong>{}</strong> · generated {}</p>",
        escape(&report.since),
        escape(&report.until),
        escape(&report.generated_at)
    ));
    out.push_str(&match &report.signature {
        Some(signature) => format!(
            "<p id=\"signature\">Signed by the approval service (key {}) at the request of {} at {} · digest <code>{}</code> · check it with <code>gatekeep report verify FILE</code></p>",
            escape(crate::render::prefix(&signature.key_id, 16)),
            shown(&signature.signed_by),
            escape(&signature.signed_at),
            escape(&signature.digest)
        ),
        None => "<p id=\"signature\">Not signed.</p>".to_owned(),
    });
    totals(&mut out, report);
    charts(&mut out, report);
    out.push_str(
        "<h2>What was covered</h2><table><tr><th>Source</th><th>Records</th><th>Chain</th><th>Witness</th></tr>",
    );
    for covered in &report.covered {
        // The head read (version 2), to compare with another report's.
        let head = match &covered.head {
            Some(head) if report.version >= 2 => {
                format!("<br><small>head: {}</small>", shown(head))
            }
            _ => String::new(),
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}{head}</td><td>{}</td></tr>",
            shown(&covered.source),
            covered.records,
            shown(&covered.chain),
            shown(&covered.witness)
        ));
    }
    out.push_str("</table>");
    break_glass(&mut out, report);
    out.push_str("<h2 id=\"items\">Gated commands</h2>");
    for item in &report.items {
        render_item(&mut out, item);
    }
    if report.items.is_empty() {
        out.push_str("<p>No gated command in this period.</p>");
    }
    out.push_str("<h2>Denials</h2><table><tr><th>At</th><th>By</th><th>Requester</th><th>Command</th><th>Rules</th></tr>");
    for denial in &report.denials {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&denial.at),
            escape(&denial.by),
            shown(denial.requester.as_deref().unwrap_or("")),
            shown(&crate::render::command(&denial.argv)),
            shown(&denial.rules.join(", "))
        ));
    }
    out.push_str("</table>");
    out.push_str("<h2>Self-approvals refused</h2><table><tr><th>At</th><th>Request</th><th>Who tried</th></tr>");
    for refused in &report.refused_self_approvals {
        out.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&refused.at),
            escape(&refused.request_id),
            shown(&refused.reviewer)
        ));
    }
    if report.refused_self_approvals.is_empty() {
        out.push_str("<tr><td colspan=\"3\">None in this period.</td></tr>");
    }
    out.push_str("</table>");
    // Sections a version 1 report did not have: its page reads back as it was signed.
    if report.version >= 2 {
        windows(&mut out, report);
        service_events(&mut out, report);
    }
    out.push_str(&format!(
        "<script type=\"application/json\" id=\"{DATA_ID}\">{data}</script></body></html>\n"
    ));
    out
}

fn windows(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"windows\">Windows opened</h2><table><tr><th>Window</th><th>Requester</th><th>Scope</th><th>Open</th><th>Opened by</th><th>Commands granted</th><th>Revoked</th></tr>");
    for window in &report.windows {
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&window.window),
            shown(window.requester.as_deref().unwrap_or("")),
            shown(&window.scope),
            escape(&window.starts_at),
            escape(&window.ends_at),
            shown(&window.opened_by.join(", ")),
            window.uses.len(),
            shown(window.revoked.as_deref().unwrap_or("no"))
        ));
    }
    if report.windows.is_empty() {
        out.push_str("<tr><td colspan=\"7\">None in this period.</td></tr>");
    }
    out.push_str("</table>");
}

fn service_events(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"service-events\">The service's own events</h2><table><tr><th>At</th><th>Event</th><th>Replica</th><th>By</th><th>Detail</th></tr>");
    for event in &report.service_events {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&event.at),
            escape(&event.event),
            shown(event.replica.as_deref().unwrap_or("")),
            shown(event.by.as_deref().unwrap_or("")),
            shown(&event.detail)
        ));
    }
    if report.service_events.is_empty() {
        out.push_str("<tr><td colspan=\"5\">None in this period.</td></tr>");
    }
    out.push_str("</table>");
}

fn totals(out: &mut String, report: &Report) {
    let t = &report.totals;
    out.push_str(&format!(
        "<h2>Totals</h2><table class=\"totals\"><tr><th>Gated commands</th><td id=\"total-items\">{}</td><th>Denials</th><td>{}</td></tr><tr><th>Break-glass runs</th><td>{}</td><th>Their reviews still open</th><td id=\"total-open\">{}</td></tr><tr><th>Checks failed</th><td id=\"total-failed\" class=\"{}\">{}</td><th>Checks that cannot be verified</th><td>{}</td></tr></table>",
        t.items,
        t.denials,
        t.break_glass,
        t.break_glass_open,
        if t.checks_failed > 0 { "fail" } else { "pass" },
        t.checks_failed,
        t.checks_cannot_verify
    ));
}

/// Horizontal bars for (label, count) pairs.
fn bars(title: &str, id: &str, rows: &[(String, u64)]) -> String {
    let width = 320.0;
    let height = 22 * rows.len().max(1) + 8;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1) as f64;
    let mut svg = format!(
        "<figure id=\"{id}\"><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" width=\"100%\" viewBox=\"0 0 480 {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(title),
        escape(title)
    );
    for (i, (label, count)) in rows.iter().enumerate() {
        let y = 4 + i * 22;
        let w = (*count as f64 / max * width).max(1.0);
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"150\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#3b6ea5\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"11\">{count}</text>",
            y + 12,
            shown(crate::render::cut(label, 24, |p| p.chars().count()).kept),
            150.0 + w + 4.0,
            y + 12
        ));
    }
    if rows.is_empty() {
        svg.push_str("<text x=\"0\" y=\"16\" font-size=\"11\">nothing in this period</text>");
    }
    svg.push_str("</svg></figure>");
    svg
}

fn charts(out: &mut String, report: &Report) {
    let t = &report.totals;
    out.push_str("<h2>At a glance</h2><div class=\"charts\">");
    // Decisions per day, stacked: allowed, held for approval, denied.
    let days = &t.decisions_per_day;
    let max = days
        .iter()
        .map(|(_, a, p, d)| a + p + d)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = if days.is_empty() {
        0.0
    } else {
        440.0 / days.len() as f64
    };
    let mut svg = String::from(
        "<figure id=\"chart-decisions\"><figcaption>Decisions per day (allowed, held for approval, denied)</figcaption><svg role=\"img\" aria-label=\"Decisions per day\" width=\"100%\" viewBox=\"0 0 480 180\" xmlns=\"http://www.w3.org/2000/svg\">",
    );
    for (i, (day, allow, approve, deny)) in days.iter().enumerate() {
        let x = 30.0 + i as f64 * step;
        let mut y = 160.0;
        for (count, colour) in [(allow, "#7fb069"), (approve, "#e6aa68"), (deny, "#ca3c25")] {
            let h = *count as f64 / max * 140.0;
            y -= h;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>{} {count}</title></rect>",
                (step * 0.8).max(1.0),
                escape(day)
            ));
        }
        if days.len() <= 14 || i % (days.len() / 7).max(1) == 0 {
            svg.push_str(&format!(
                "<text x=\"{x:.1}\" y=\"174\" font-size=\"9\">{}</text>",
                escape(day.get(5..).unwrap_or(day))
            ));
        }
    }
    if days.is_empty() {
        svg.push_str("<text x=\"10\" y=\"90\" font-size=\"11\">no decision in this period</text>");
    }
    svg.push_str("</svg></figure>");
    out.push_str(&svg);
    // Approval latency, in buckets.
    let buckets = [
        ("under 1 min", 0, 60),
        ("1–5 min", 60, 300),
        ("5–15 min", 300, 900),
        ("15–60 min", 900, 3600),
        ("over 1 h", 3600, i64::MAX),
    ];
    let rows: Vec<(String, u64)> = buckets
        .iter()
        .map(|(label, from, to)| {
            (
                (*label).to_owned(),
                t.approval_seconds
                    .iter()
                    .filter(|s| **s >= *from && **s < *to)
                    .count() as u64,
            )
        })
        .collect();
    out.push_str(&bars(
        "Time from request to approval",
        "chart-latency",
        &rows,
    ));
    out.push_str(&bars("Top rules", "chart-rules", &t.top_rules));
    out.push_str(&bars(
        "Top requesters",
        "chart-requesters",
        &t.top_requesters,
    ));
    out.push_str("</div>");
}

fn break_glass(out: &mut String, report: &Report) {
    out.push_str("<h2 id=\"break-glass\">Break-glass runs</h2><table><tr><th>Request</th><th>Requester</th><th>Command</th><th>Reason</th><th>Review</th></tr>");
    let mut any = false;
    for item in report.items.iter().filter(|i| i.kind == "break_glass") {
        any = true;
        let review = item.break_glass_review.as_deref().unwrap_or("");
        let class = if matches!(review, "open" | "overdue") {
            "fail"
        } else {
            "pass"
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            escape(&item.request_id),
            shown(item.requester.as_deref().unwrap_or("")),
            shown(&crate::render::command(&item.argv)),
            shown(item.reason.as_deref().unwrap_or("")),
            shown(review)
        ));
    }
    if !any {
        out.push_str("<tr><td colspan=\"5\">None in this period.</td></tr>");
    }
    out.push_str("</table>");
}

fn render_item(out: &mut String, item: &Item) {
    let field =
        |label: &str, value: &str| format!("<tr><th>{label}</th><td>{}</td></tr>", shown(value));
    out.push_str(&format!(
        "<table class=\"item\" id=\"item-{}\"><tr><th colspan=\"2\">{} <code>{}</code></th></tr>",
        escape(&item.request_id),
        escape(&item.kind),
        escape(&item.request_id)
    ));
    out.push_str(&format!(
        "<tr><th>Command</th><td><code>{}</code></td></tr>",
        shown(&crate::render::command(&item.argv))
    ));
    let requester = format!(
        "{}{} on {} as {}",
        item.requester.as_deref().unwrap_or("(not recorded)"),
        if item.agent { " (agent)" } else { "" },
        item.host.as_deref().unwrap_or("?"),
        item.user.as_deref().unwrap_or("?")
    );
    out.push_str(&field("Requested by", &requester));
    out.push_str(&field("Rules", &item.rules.join(", ")));
    out.push_str(&field("Reason", item.reason.as_deref().unwrap_or("")));
    out.push_str(&field("Approved by", &item.approvers.join(", ")));
    out.push_str(&field("Comments", &item.comments.join(" | ")));
    for (label, value) in [
        ("Requested", &item.requested_at),
        ("Approved", &item.approved_at),
        ("Started", &item.exec_at),
        ("Ended", &item.exit_at),
    ] {
        out.push_str(&field(label, value.as_deref().unwrap_or("")));
    }
    out.push_str(&field(
        "Exit code",
        &item.exit_code.map(|c| c.to_string()).unwrap_or_default(),
    ));
    out.push_str(&field("Window", item.window.as_deref().unwrap_or("")));
    out.push_str(&field("Outcome", &item.outcome));
    if let Some(review) = &item.break_glass_review {
        out.push_str(&field("Review afterwards", review));
    }
    for check in &item.checks {
        out.push_str(&format!(
            "<tr><th>{}</th><td class=\"{}\">{}: {}</td></tr>",
            escape(&check.check.replace('_', " ")),
            check.outcome.as_str(),
            match check.outcome {
                Outcome::Pass => "pass",
                Outcome::Fail => "FAIL",
                Outcome::CannotVerify => "cannot be verified",
            },
            shown(&check.why)
        ));
    }
    out.push_str("</table>");
}

/// The report inside a page rendered by [`render`], and whether the page is exactly that
/// rendering.
pub fn embedded(page: &str) -> Result<Report, String> {
    let start = format!("<script type=\"application/json\" id=\"{DATA_ID}\">");
    let from = page.find(&start).ok_or("the page carries no report data")? + start.len();
    let to = page[from..]
        .find("</script>")
        .ok_or("the page's report data is not closed")?
        + from;
    // `<\/` is JSON's own escape of `/`: the data reads back as it was.
    let report: Report = serde_json::from_str(&page[from..to])
        .map_err(|e| format!("the page's report data cannot be read: {e}"))?;
    if render(&report) != page {
        return Err(
            "the page was changed: it is not the rendering of the report it carries".into(),
        );
    }
    Ok(report)
}
