//! `gatekeep approve ID` and `gatekeep reject ID`: record a verdict.

use std::path::PathBuf;

use crate::approval::{NewReview, RequestView, Review, Status, Verdict, WindowAsk, WindowScope};
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
    /// Approve for a window: more commands like this one, by the same requester on the
    /// same host, are granted without another review until it closes (at most the
    /// rules' `max_window`). Each still gets its own single-use grant.
    #[arg(long = "for", value_name = "DURATION")]
    pub window: Option<String>,
    /// What the window covers: `exact` (this command only, the default), `program` (the
    /// same program file, any arguments) or `rule` (any command held only by these rules).
    #[arg(long, value_name = "SCOPE", requires = "window", value_parser = ["exact", "program", "rule"])]
    pub scope: Option<String>,
    /// When the window opens (RFC 3339, or a duration from now such as `2h`); at once when
    /// not given.
    #[arg(long, value_name = "TIME", requires = "window")]
    pub start: Option<String>,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The window `args` ask for, if any.
fn window_ask(args: &Args, verdict: Verdict) -> Result<Option<WindowAsk>, UserError> {
    let Some(length) = &args.window else {
        return Ok(None);
    };
    if verdict != Verdict::Approve {
        return Err(
            UserError::new("a window goes with an approval, not a rejection")
                .hint("leave out --for"),
        );
    }
    let seconds =
        crate::policy::parse_duration(length).map_err(|e| UserError::new(format!("--for: {e}")))?;
    let starts_at = match &args.start {
        None => None,
        Some(text) => Some(match text.parse::<jiff::Timestamp>() {
            Ok(at) => at.to_string(),
            Err(_) => {
                let after = crate::policy::parse_duration(text).map_err(|_| {
                    UserError::new(format!(
                        "--start: `{text}` is neither an RFC 3339 time nor a duration"
                    ))
                    .hint("for example 2026-12-04T02:00:00Z, or 2h")
                })?;
                (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(after as i64)).to_string()
            }
        }),
    };
    Ok(Some(WindowAsk {
        seconds,
        scope: args
            .scope
            .as_deref()
            .and_then(WindowScope::parse)
            .unwrap_or_default(),
        starts_at,
    }))
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
    let window = window_ask(&args, verdict)?;
    let id = client::request_id(&client, &args.id)?;
    let review = NewReview {
        verdict,
        comment: args.comment.clone(),
        window,
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
    if let Some(window) = &view.window {
        eprintln!(
            "gatekeep:   window {} open from {} until {} (scope {}); `gatekeep revoke {}` closes it",
            render::text(&window.id),
            render::text(&window.starts_at),
            render::text(&window.ends_at),
            window.scope.as_str(),
            render::text(&window.id)
        );
    } else if view.status != Status::Pending && view.reviews.iter().any(|r| r.window.is_some()) {
        eprintln!(
            "gatekeep:   no window: not every approval counted asked for one, so this command alone is approved"
        );
    }
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
            // Still pending: the service refused this review itself (a window it cannot
            // open, say), and its answer says why.
            let message = match client.get(id, 0) {
                Ok(now) if now.status != Status::Pending => decided(&now),
                _ => render::text(&body.error),
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
