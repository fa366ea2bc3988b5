//! Terminal presentation shared by the commands that wait for a decision. Part of the
//! command layer: the domain modules never use it.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::approval::{Readable, RequestView, Verdict};
use crate::client::Progress;
use crate::policy::ApprovalRequirement;
use crate::render;
use crate::term;

/// How many characters of a request id `run` and `wait` show: the UUIDv7 timestamp to the
/// millisecond. The review link carries the whole id.
pub const SHORT_ID: usize = 13;

/// The waiting display: a few lines about the request, then a spinner on a terminal.
pub struct Waiting {
    bar: ProgressBar,
    approvals: Vec<ApprovalRequirement>,
    echo: Option<QuietControls>,
    /// Escalation steps already told.
    escalated: std::cell::Cell<usize>,
}

/// The terminal's echo of control characters, switched off while the spinner is drawn: a
/// Ctrl-C echoed as `^C` at the end of the spinner's line moves the cursor to a new line,
/// and the spinner could no longer find the line to clear.
struct QuietControls(nix::sys::termios::Termios);

impl QuietControls {
    fn on_stderr() -> Option<QuietControls> {
        use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
        let stderr = std::io::stderr();
        let saved = tcgetattr(&stderr).ok()?;
        if !saved.local_flags.contains(LocalFlags::ECHOCTL) {
            return None;
        }
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHOCTL);
        tcsetattr(&stderr, SetArg::TCSANOW, &quiet).ok()?;
        Some(QuietControls(saved))
    }
}

impl Drop for QuietControls {
    fn drop(&mut self) {
        use nix::sys::termios::{SetArg, tcsetattr};
        let _ = tcsetattr(std::io::stderr(), SetArg::TCSANOW, &self.0);
    }
}

/// `id` cut to [`SHORT_ID`] characters, rendered.
pub fn short_id(id: &str) -> String {
    render::text(&id.chars().take(SHORT_ID).collect::<String>())
}

/// Seconds until `expires_at` (RFC 3339) by this host's clock, if it parses.
fn seconds_left(expires_at: &str) -> Option<i64> {
    let expires = expires_at.parse::<jiff::Timestamp>().ok()?;
    Some(expires.as_second() - jiff::Timestamp::now().as_second())
}

/// "1 of 2 from group:dba", one per requirement, joined by "; ", as the service counts
/// (`progress` in the view). From an older service without it, an estimate: the client
/// does not know who is in which group, so an approval counts for a requirement that names
/// its reviewer, or lists a group and is not the one requirement naming that reviewer
/// elsewhere.
pub fn approval_progress(approvals: &[ApprovalRequirement], view: Option<&RequestView>) -> String {
    // The service's own count, when it gives one.
    if let Some(view) = view.filter(|v| v.progress.len() == approvals.len()) {
        return view
            .progress
            .iter()
            .map(|p| {
                format!(
                    "{} of {} from {}",
                    p.approved_by.len().min(p.quorum as usize),
                    p.quorum,
                    render::text(&p.approvers.join(" or "))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    // An older service gives none: an estimate from the reviews.
    let approvers: Vec<&str> = view
        .map(|v| {
            v.reviews
                .iter()
                .filter(|r| r.verdict == Verdict::Approve)
                .map(|r| r.reviewer.as_str())
                .collect()
        })
        .unwrap_or_default();
    let named = |reviewer: &str, requirement: &ApprovalRequirement| {
        requirement
            .approvers
            .iter()
            .any(|a| a == reviewer || a.strip_prefix("user:") == Some(reviewer))
    };
    approvals
        .iter()
        .map(|requirement| {
            let has_group = requirement
                .approvers
                .iter()
                .any(|a| a.starts_with("group:"));
            let counted = approvers
                .iter()
                .filter(|reviewer| {
                    named(reviewer, requirement)
                        || (has_group && !approvals.iter().any(|other| named(reviewer, other)))
                })
                .count()
                .min(requirement.quorum as usize);
            format!(
                "{counted} of {} from {}",
                requirement.quorum,
                render::text(&requirement.approvers.join(" or "))
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Waiting {
    /// Announces request `id` on stderr: its short id, the rules that need approval, who
    /// must approve, when it expires and where to review it. Draws a spinner with the
    /// progress and a countdown only when stderr is a terminal.
    pub fn start(
        id: &str,
        url: &str,
        approvals: &[ApprovalRequirement],
        expires_at: &str,
        interactive: bool,
    ) -> Waiting {
        let mut rules: Vec<&str> = approvals.iter().map(|a| a.rule.as_str()).collect();
        rules.dedup();
        let bold = term::BOLD;
        anstream::eprintln!(
            "gatekeep: {}{bold}{}{bold:#}",
            // The trailing space inside the colour keeps the words together for readers
            // that search the text.
            term::paint(term::decision("approve"), "approval required: request "),
            short_id(id)
        );
        if !rules.is_empty() {
            anstream::eprintln!(
                "gatekeep:   {}    {}",
                if rules.len() == 1 { "rule: " } else { "rules:" },
                render::text(&rules.join(", "))
            );
        }
        anstream::eprintln!(
            "gatekeep:   approvers: {}",
            approval_progress(approvals, None)
        );
        let left = seconds_left(expires_at);
        let expiry = match left {
            Some(left) => format!(
                "in {} ({})",
                term::countdown(left),
                render::text(expires_at)
            ),
            None => render::text(expires_at),
        };
        anstream::eprintln!("gatekeep:   expires:   {expiry}");
        anstream::eprintln!("gatekeep:   review:    {}", render::text(url));
        let echo = interactive.then(QuietControls::on_stderr).flatten();
        let bar = if interactive {
            let expires = expires_at.to_owned();
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} · expires in {left} · Ctrl-C cancels",
                )
                .map(|style| {
                    style.with_key(
                        "left",
                        move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            let left = seconds_left(&expires).unwrap_or(0);
                            let _ = w.write_str(&term::countdown(left));
                        },
                    )
                })
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            // The message first: the ticker may draw the first frame at once.
            bar.set_message(format!(
                "waiting for approval: {}",
                approval_progress(approvals, None)
            ));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Waiting {
            bar,
            approvals: approvals.to_vec(),
            echo,
            escalated: std::cell::Cell::new(0),
        }
    }

    /// Shows progress.
    pub fn progress(&self, progress: &Progress<'_>) {
        let message = match progress {
            Progress::Update(view) => {
                for step in view.escalations.iter().skip(self.escalated.get()) {
                    let line = escalation(step);
                    if self.bar.is_hidden() {
                        anstream::eprintln!("gatekeep: {line}");
                    } else {
                        self.bar.println(format!("gatekeep: {line}"));
                    }
                }
                self.escalated
                    .set(view.escalations.len().max(self.escalated.get()));
                // The service's requirements as they are now (escalation may have let
                // more approvers in); a service that predates `approvals` in its answer
                // to filing.
                let approvals = if self.approvals.is_empty() || !view.escalations.is_empty() {
                    &view.approvals
                } else {
                    &self.approvals
                };
                format!(
                    "waiting for approval: {}",
                    approval_progress(approvals, Some(view))
                )
            }
            Progress::Retrying(error) => {
                format!("{}; retrying", render::text(&error.to_string()))
            }
        };
        self.bar.set_message(message);
    }

    /// Takes the spinner off the terminal, leaving no trace of it.
    pub fn finish(mut self) {
        self.bar.finish_and_clear();
        self.echo.take();
    }
}

/// One escalation step, for the waiting requester: "escalated (rule R): told group:leads;
/// group:sre may approve too".
pub fn escalation(step: &crate::approval::Escalated) -> String {
    let mut said = Vec::new();
    if !step.notify.is_empty() {
        said.push(format!("told {}", step.notify.join(", ")));
    }
    if !step.add_approvers.is_empty() {
        said.push(format!("{} may approve too", step.add_approvers.join(", ")));
    }
    render::text(&format!(
        "escalated (rule {}): {}",
        step.rule,
        said.join("; ")
    ))
}

/// "gatekeep: OUTCOME REST" on stderr, the outcome word in its colour (`approved` green;
/// `rejected`, `expired`, `cancelled` red) and the rest made inert.
pub fn outcome(word: &str, rest: &str) {
    anstream::eprintln!(
        "gatekeep: {}{}",
        term::paint(term::decision(word), word),
        render::inert(rest)
    );
}

/// "reviewer approved: comment" lines for a decided request, rendered.
pub fn verdicts(view: &RequestView) -> Vec<String> {
    Readable::of(view, render::nothing).reviews
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requirement(rule: &str, approvers: &[&str], quorum: u32) -> ApprovalRequirement {
        ApprovalRequirement {
            rule: rule.into(),
            approvers: approvers.iter().map(|a| (*a).to_owned()).collect(),
            quorum,
            ..Default::default()
        }
    }

    #[test]
    fn progress_per_requirement() {
        let approvals = [
            requirement("db", &["group:dba"], 2),
            requirement("owner", &["alice"], 1),
        ];
        assert_eq!(
            approval_progress(&approvals, None),
            "0 of 2 from group:dba; 0 of 1 from alice"
        );
    }
}
