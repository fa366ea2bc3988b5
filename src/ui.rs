//! Terminal presentation shared by the commands that wait for a decision. Part of the
//! command layer: the domain modules never use it.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::approval::{Readable, RequestView};
use crate::client::Progress;
use crate::render;

/// The waiting display: a few lines about the request, then a spinner on a terminal.
pub struct Waiting {
    bar: ProgressBar,
    started: Instant,
}

impl Waiting {
    /// Announces request `id` on stderr; draws a spinner only when stderr is a terminal.
    pub fn start(id: &str, url: &str, approvers: &str, interactive: bool) -> Waiting {
        let (id, url, approvers) = (render::text(id), render::text(url), render::text(approvers));
        eprintln!("gatekeep: approval required: request {id}");
        eprintln!("gatekeep:   review: {url}");
        eprintln!("gatekeep:   approvers: {approvers}");
        let bar = if interactive {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("waiting for approval of {id}… (Ctrl-C cancels)"));
            bar
        } else {
            ProgressBar::hidden()
        };
        Waiting {
            bar,
            started: Instant::now(),
        }
    }

    /// Shows progress.
    pub fn progress(&self, progress: &Progress<'_>) {
        let elapsed = self.started.elapsed().as_secs();
        let message = match progress {
            Progress::Update(view) => {
                let approvals = view
                    .reviews
                    .iter()
                    .filter(|r| r.verdict == crate::approval::Verdict::Approve)
                    .count();
                let needed: u32 = view.approvals.iter().map(|a| a.quorum).max().unwrap_or(1);
                format!(
                    "waiting for approval of {} ({approvals}/{needed} approvals, {elapsed}s, Ctrl-C cancels)",
                    render::text(&view.id)
                )
            }
            Progress::Retrying(error) => {
                format!(
                    "{}; retrying ({elapsed}s)",
                    render::text(&error.to_string())
                )
            }
        };
        self.bar.set_message(message);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// "reviewer approved: comment" lines for a decided request, rendered.
pub fn verdicts(view: &RequestView) -> Vec<String> {
    Readable::of(view, render::nothing).reviews
}
