//! `gatekeep approve ID` and `gatekeep reject ID`: record a verdict.

use std::path::PathBuf;

use crate::approval::{NewReview, RequestView, Review, Status, Verdict};
use crate::client::{self, ApiClient, ClientError};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;
use crate::term;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The request id, or a unique prefix of at least 8 characters.
    pub id: String,
    /// A comment for the requester (and the record).
    #[arg(short = 'm', long = "message", value_name = "COMMENT")]
    pub comment: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// Refuses to review from a process that looks like an AI agent. Defence in depth: the
/// service's rule that a requester never reviews their own request is the boundary.
pub fn refuse_agents(env: &Environment) -> Result<(), UserError> {
    match env.agent_marker() {
        Some(marker) => Err(UserError::new(format!(
            "reviews cannot be given from an agent session ({marker} is set)"
        ))
        .hint("a person reviews from their own shell, the web page, Slack or Teams")),
        None => Ok(()),
    }
}

pub fn run(args: Args, env: &Environment, verdict: Verdict) -> anyhow::Result<Exit> {
    refuse_agents(env)?;
    let (client, _) = client::connect(env, args.token_file.as_deref())?;
    let id = client::request_id(&client, &args.id)?;
    let review = NewReview {
        verdict,
        comment: args.comment.clone(),
    };
    let view = give(&client, &id, &review)?;
    let done = term::paint(term::decision(past(verdict)), past(verdict));
    let status = view.status.as_str();
    anstream::eprintln!(
        "gatekeep: {done} {}; the request is now {}",
        render::text(&view.id),
        term::paint(term::decision(status), status)
    );
    eprintln!("gatekeep:   command: {}", render::command(&view.facts.argv));
    Ok(Exit::Success)
}

/// "approved" or "rejected".
fn past(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Approve => "approved",
        Verdict::Reject => "rejected",
    }
}

/// Records `review` of request `id`. A verdict the service did not record because this
/// reviewer gave it before, or because the request was already decided, is an error that
/// says so plainly (exit 1): the service answers the first with the unchanged request and
/// the second with 409.
pub fn give(client: &ApiClient, id: &str, review: &NewReview) -> Result<RequestView, UserError> {
    let shown = render::text(id);
    match client.review(id, review) {
        Ok((view, recorded)) => {
            if !recorded && view.status == Status::Pending {
                return Err(UserError::new(format!(
                    "request {shown} is already {} by you; still waiting for {}",
                    past(review.verdict),
                    crate::ui::approval_progress(&view.approvals, Some(&view))
                ))
                .hint("a reviewer's verdict counts once; another approver must review it")
                .exit(Exit::Failure));
            }
            Ok(view)
        }
        Err(ClientError::Api {
            status: 409, body, ..
        }) => {
            let message = match client.get(id, 0) {
                Ok(now) => decided(&now),
                Err(_) => render::text(&body.error),
            };
            Err(UserError::new(message)
                .hint("nothing was changed; `gatekeep requests` lists what is still pending")
                .exit(Exit::Failure))
        }
        Err(e) => Err(UserError::new(format!(
            "cannot review {shown}: {}",
            render::text(&e.to_string())
        ))),
    }
}

/// "request 0193… is already rejected by alice at 2026-…", in plain words.
fn decided(view: &RequestView) -> String {
    let id = render::text(&view.id);
    let by = |verdict: Verdict| {
        let reviews: Vec<&Review> = view
            .reviews
            .iter()
            .filter(|r| r.verdict == verdict)
            .collect();
        let names: Vec<String> = reviews.iter().map(|r| render::text(&r.reviewer)).collect();
        match reviews.last() {
            Some(last) => format!(" by {} at {}", names.join(", "), render::text(&last.at)),
            None => String::new(),
        }
    };
    match view.status {
        Status::Rejected => format!("request {id} is already rejected{}", by(Verdict::Reject)),
        Status::Approved => format!("request {id} is already approved{}", by(Verdict::Approve)),
        Status::Consumed => format!(
            "request {id} was already approved{} and has been used",
            by(Verdict::Approve)
        ),
        Status::Expired => format!(
            "request {id} expired at {} without a decision",
            render::text(&view.expires_at)
        ),
        Status::Cancelled => format!("request {id} was cancelled by its requester"),
        Status::Pending => format!("request {id} cannot be reviewed now"),
    }
}
