//! The request lifecycle as pure rules: each takes the request as stored, the time by the
//! database's clock and who is acting, and either changes the request and says what
//! happened (events to deliver, records for the service's audit log) or refuses. They do
//! no IO: the store runs them inside its transaction, handlers only extract and respond.
//!
//! ```text
//! pending ──review (quorum met)──► approved ──consume──► consumed
//!    │  └──review (reject)──► rejected        │
//!    ├──cancel──► cancelled                    └──(grant expires)──► expired
//!    └──(time runs out)──► expired
//! ```
//!
//! Expiry is computed on every read ([`status_at`]) and never emits anything there; only
//! the sweeper's [`expire`] moves a request to `expired`, once.

use serde_json::{Value, json};

use super::config::{Identities, User};
use super::store::StoredRequest;
use crate::approval::{GrantPayload, NewReview, Review, SatisfiedApproval, Status, Verdict};

/// Why a rule refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not do this to this request (HTTP 403).
    Forbidden(String),
    /// The caller may not even see the request (HTTP 404).
    Hidden(String),
    /// The request is not in a state that allows it (HTTP 409).
    Conflict(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::Forbidden(m) | Refusal::Hidden(m) | Refusal::Conflict(m) => m,
        }
    }
}

/// What a rule did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transition {
    /// Event types to deliver (`request.approved`…), in order.
    pub events: Vec<&'static str>,
    /// Records for the service's audit log: (event, fields).
    pub audit: Vec<(&'static str, Value)>,
    /// Secret values released by a consume (never stored).
    pub secret_values: std::collections::BTreeMap<String, String>,
    /// Nothing was changed: the rule answered a retry with what it answered before.
    pub replay: bool,
}

impl Transition {
    fn event(mut self, kind: &'static str) -> Self {
        self.events.push(kind);
        self
    }

    fn audit(mut self, event: &'static str, fields: Value) -> Self {
        self.audit.push((event, fields));
        self
    }

    /// Whether the request was changed (and must be written).
    pub fn changed(&self) -> bool {
        !self.replay
    }
}

/// A time the service stored (RFC 3339) as Unix seconds; `None` when it is not one.
pub fn unix(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// A time as the API writes it: RFC 3339, whole seconds.
pub fn stamp(ts: jiff::Timestamp) -> String {
    ts.round(jiff::Unit::Second).unwrap_or(ts).to_string()
}

/// When the request stops being usable: its own expiry, or its grant's (the store keeps
/// it as a column, so the sweeper finds what is due with an index).
pub fn deadline(r: &StoredRequest) -> Option<i64> {
    match r.status {
        Status::Pending => Some(r.expires_unix),
        Status::Approved => r
            .grant
            .as_ref()
            .and_then(|g| g.payload.expires_at.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second())
            .or(Some(r.expires_unix)),
        _ => None,
    }
}

/// Whether the request's time has run out at `now` (it is pending or approved, and past
/// its expiry or its grant's).
pub fn is_due(r: &StoredRequest, now: jiff::Timestamp) -> bool {
    deadline(r).is_some_and(|d| now.as_second() >= d)
}

/// The status a reader sees at `now`: past its time, a pending or approved request is
/// expired whether or not the sweeper has got to it.
pub fn status_at(r: &StoredRequest, now: jiff::Timestamp) -> Status {
    if is_due(r, now) {
        Status::Expired
    } else {
        r.status
    }
}

/// The request as a reader sees it at `now`.
pub fn as_seen(mut r: StoredRequest, now: jiff::Timestamp) -> StoredRequest {
    r.status = status_at(&r, now);
    r
}

fn not_now(r: &StoredRequest, now: jiff::Timestamp) -> Refusal {
    Refusal::Conflict(format!(
        "request {} is {}",
        r.id,
        status_at(r, now).as_str()
    ))
}

/// Whether `user` may review `r`: never the requester, only reviewers, only named approvers.
pub fn may_review(user: &User, r: &StoredRequest) -> Result<(), Refusal> {
    if user.name == r.requester {
        return Err(Refusal::Forbidden(
            "a requester can never review their own request".into(),
        ));
    }
    if !user.can_review {
        return Err(Refusal::Forbidden(format!(
            "{} may not review requests",
            user.name
        )));
    }
    if !r
        .request
        .approvals
        .iter()
        .any(|a| Identities::is_approver(user, &a.approvers))
    {
        return Err(Refusal::Forbidden(format!(
            "{} is not among the approvers of this request",
            user.name
        )));
    }
    Ok(())
}

/// Whether `user` may see `r` at all: its requester, one who may review it, or an auditor.
pub fn may_see(user: &User, r: &StoredRequest) -> bool {
    user.auditor || user.name == r.requester || may_review(user, r).is_ok()
}

/// Each requirement with the distinct approvers who count towards it so far (as
/// `identities` are configured now): the quorum's progress, for reviewers to read.
pub fn progress(identities: &Identities, r: &StoredRequest) -> Vec<SatisfiedApproval> {
    r.request
        .approvals
        .iter()
        .map(|requirement| {
            let mut by: Vec<String> = r
                .reviews
                .iter()
                .filter(|v| v.verdict == Verdict::Approve && v.reviewer != r.requester)
                .filter(|v| {
                    identities.get(&v.reviewer).is_some_and(|u| {
                        u.can_review && Identities::is_approver(u, &requirement.approvers)
                    })
                })
                .map(|v| v.reviewer.clone())
                .collect();
            by.sort();
            by.dedup();
            SatisfiedApproval {
                rule: requirement.rule.clone(),
                approvers: requirement.approvers.clone(),
                quorum: requirement.quorum,
                approved_by: by,
            }
        })
        .collect()
}

/// Each requirement with the distinct approvers who meet it (as `identities` are
/// configured now), when all are met.
pub fn satisfied(identities: &Identities, r: &StoredRequest) -> Option<Vec<SatisfiedApproval>> {
    let all = progress(identities, r);
    all.iter()
        .all(|a| a.approved_by.len() >= a.quorum as usize)
        .then_some(all)
}

/// What a grant is issued with besides the request: its lifetime and a fresh nonce.
pub struct Issue<'a> {
    pub grant_lifetime: u64,
    /// The longest window the service lets any approval open (seconds).
    pub window_cap: u64,
    pub nonce: String,
    /// Signs the payload (the only IO-free step that needs the key).
    pub sign: &'a dyn Fn(GrantPayload) -> crate::approval::Grant,
}

/// A review by `user`. A rejection ends the request; an approval that completes every
/// requirement approves it, and only then is the grant signed, so of two concurrent
/// approvals exactly one transaction issues it.
pub fn review(
    r: &mut StoredRequest,
    user: &User,
    identities: &Identities,
    review: &NewReview,
    now: jiff::Timestamp,
    issue: Issue<'_>,
) -> Result<Transition, Refusal> {
    may_review(user, r)?;
    if status_at(r, now) != Status::Pending {
        return Err(not_now(r, now));
    }
    if let Some(ask) = &review.window {
        if review.verdict != Verdict::Approve {
            return Err(Refusal::Conflict(
                "a window goes with an approval, not a rejection".into(),
            ));
        }
        super::windows::check_ask(r, ask, issue.window_cap, now)?;
    }
    // An approval given again with another window ask replaces the earlier one.
    if review.verdict == Verdict::Approve
        && let Some(earlier) = r.reviews.iter().position(|v| {
            v.reviewer == user.name && v.verdict == Verdict::Approve && v.window != review.window
        })
    {
        r.reviews.remove(earlier);
    }
    let duplicate = r.reviews.iter().any(|v| {
        v.reviewer == user.name && v.verdict == review.verdict && v.window == review.window
    });
    // A reviewer's verdict counts once: a repeat changes nothing, and is neither audited
    // nor announced again (unless the approvals now suffice: the groups have changed).
    if duplicate && satisfied(identities, r).is_none() {
        return Ok(Transition {
            replay: true,
            ..Transition::default()
        });
    }
    if !duplicate {
        r.reviews.push(Review {
            reviewer: user.name.clone(),
            verdict: review.verdict,
            comment: review.comment.clone(),
            at: stamp(now),
            window: review.window.clone(),
        });
    }
    let mut done = Transition::default()
        .audit(
            "review",
            json!({"id": r.id, "reviewer": user.name, "verdict": review.verdict, "comment": review.comment,
                   "window": review.window}),
        )
        .event("request.reviewed");
    if review.verdict == Verdict::Reject {
        r.status = Status::Rejected;
        done = done
            .audit(
                "request_rejected",
                json!({"id": r.id, "reviewer": user.name}),
            )
            .event("request.rejected");
    } else if let Some(approvals) = satisfied(identities, r) {
        let lifetime = now
            .checked_add(jiff::SignedDuration::from_secs(issue.grant_lifetime as i64))
            .unwrap_or(now);
        let expires = if lifetime.as_second() > r.expires_unix {
            jiff::Timestamp::from_second(r.expires_unix).unwrap_or(lifetime)
        } else {
            lifetime
        };
        r.window = super::windows::opened(r, &approvals, issue.window_cap, now);
        r.grant = Some((issue.sign)(GrantPayload {
            request_id: r.id.clone(),
            digest: r.request.digest.clone(),
            requester: r.requester.clone(),
            approvals,
            issued_at: stamp(now),
            expires_at: stamp(expires),
            nonce: issue.nonce,
            window: None,
            break_glass: false,
        }));
        r.status = Status::Approved;
        r.next_unix = 0;
        done = done
            .audit(
                "request_approved",
                json!({"id": r.id, "reviewers": r.reviews.iter().map(|v| &v.reviewer).collect::<Vec<_>>()}),
            )
            .event("request.approved");
        if let Some(window) = &r.window {
            done = done
                .audit(
                    "window_opened",
                    json!({"window": window.id, "scope": window.scope, "starts_at": window.starts_at,
                           "ends_at": window.ends_at, "opened_by": window.opened_by}),
                )
                .event("window.opened");
        }
    }
    Ok(done)
}

/// Whether `request` may break glass: never an agent's, always with a reason, and only
/// where every requirement (the service's own and its secrets' among them) names a rule
/// that allows it.
pub fn may_break_glass(request: &crate::approval::NewRequest) -> Result<(), Refusal> {
    if request.agent {
        return Err(Refusal::Forbidden("agents may never break glass".into()));
    }
    if request
        .reason
        .as_deref()
        .is_none_or(|t| t.trim().is_empty())
    {
        return Err(Refusal::Forbidden("breaking glass needs a reason".into()));
    }
    for requirement in &request.approvals {
        if !requirement.workflow.break_glass || !super::windows::named(requirement) {
            return Err(Refusal::Forbidden(format!(
                "rule {} does not allow break-glass",
                requirement.rule
            )));
        }
    }
    Ok(())
}

/// When a break-glass run of `r` made at `now` must be reviewed by: the shortest
/// `review_within` of its rules.
fn review_due(r: &StoredRequest, now: jiff::Timestamp) -> jiff::Timestamp {
    let within = r
        .request
        .approvals
        .iter()
        .map(|a| a.workflow.review_within())
        .min()
        .unwrap_or(crate::policy::DEFAULT_REVIEW_WITHIN);
    now.checked_add(jiff::SignedDuration::from_secs(within as i64))
        .unwrap_or(now)
}

/// A person breaks glass: `r` (just filed, pending) is granted at once, without
/// approvals, when every one of its rules allows it and no agent asks; its review after
/// the fact is due within the shortest `review_within` of its rules.
pub fn break_glass(
    r: &mut StoredRequest,
    now: jiff::Timestamp,
    issue: Issue<'_>,
) -> Result<Transition, Refusal> {
    if r.status != Status::Pending || !r.request.break_glass {
        return Err(not_now(r, now));
    }
    may_break_glass(&r.request)?;
    let due = review_due(r, now);
    let lifetime = now
        .checked_add(jiff::SignedDuration::from_secs(issue.grant_lifetime as i64))
        .unwrap_or(now);
    let approvals = r
        .request
        .approvals
        .iter()
        .map(|a| SatisfiedApproval {
            rule: a.rule.clone(),
            approvers: a.approvers.clone(),
            quorum: a.quorum,
            approved_by: Vec::new(),
        })
        .collect();
    r.grant = Some((issue.sign)(GrantPayload {
        request_id: r.id.clone(),
        digest: r.request.digest.clone(),
        requester: r.requester.clone(),
        approvals,
        issued_at: stamp(now),
        expires_at: stamp(lifetime),
        nonce: issue.nonce,
        window: None,
        break_glass: true,
    }));
    r.status = Status::Approved;
    r.expires_unix = r.expires_unix.max(lifetime.as_second());
    r.break_glass = Some(crate::approval::BreakGlass {
        review_due: stamp(due),
        offline: false,
        review: None,
        overdue: false,
        objection: None,
        ran_at: None,
    });
    r.next_unix = due.as_second();
    Ok(Transition::default()
        .audit(
            "break_glass",
            json!({"id": r.id, "requester": r.requester, "argv": r.request.argv, "reason": r.request.reason,
                   "rules": r.request.rules, "review_due": stamp(due)}),
        )
        .event("request.break_glass"))
}

/// A break-glass run made while the service could not be reached, reported afterwards:
/// `r` (just filed) is recorded as used, its review opened. Nothing is refused here (the
/// run happened); what the service would have refused is kept as the objection.
pub fn reported(
    r: &mut StoredRequest,
    objection: Option<String>,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    if r.status != Status::Pending || !r.request.break_glass || r.request.ran_at.is_none() {
        return Err(not_now(r, now));
    }
    let objection = objection.or_else(|| {
        may_break_glass(&r.request)
            .err()
            .map(|refusal| refusal.message().to_owned())
    });
    let due = review_due(r, now);
    r.status = Status::Consumed;
    r.consumed_at = Some(stamp(now));
    r.break_glass = Some(crate::approval::BreakGlass {
        review_due: stamp(due),
        offline: true,
        review: None,
        overdue: false,
        objection: objection.clone(),
        ran_at: r.request.ran_at.clone(),
    });
    r.next_unix = due.as_second();
    Ok(Transition::default()
        .audit(
            "break_glass",
            json!({"id": r.id, "requester": r.requester, "argv": r.request.argv, "reason": r.request.reason,
                   "rules": r.request.rules, "review_due": stamp(due), "offline": true,
                   "ran_at": r.request.ran_at, "objection": objection}),
        )
        .event("request.break_glass"))
}

/// Whether `user` may close the review of break-glass run `r`: never its requester, and
/// only an approver of every requirement the service set (its policy's and its secrets'),
/// or, where it set none, of every requirement: a rule the requester's client added cannot
/// pick who reviews the run.
pub fn may_close_review(user: &User, r: &StoredRequest) -> Result<(), Refusal> {
    may_review(user, r)?;
    let services: Vec<&crate::policy::ApprovalRequirement> = r
        .request
        .approvals
        .iter()
        .filter(|a| {
            a.rule.starts_with(super::bar::SERVER_RULE)
                || a.rule.starts_with(super::bar::SECRET_RULE)
        })
        .collect();
    let all: Vec<&crate::policy::ApprovalRequirement> = if services.is_empty() {
        r.request.approvals.iter().collect()
    } else {
        services
    };
    match all
        .iter()
        .find(|a| !Identities::is_approver(user, &a.approvers))
    {
        Some(missing) => Err(Refusal::Forbidden(format!(
            "{} is not among the approvers of rule {}, which this run's review needs",
            user.name, missing.rule
        ))),
        None => Ok(()),
    }
}

/// A break-glass grant whose answer was lost on the way: its client ran the command
/// without the service and reports it with `ran_at`. The run is recorded as used, once.
pub fn ran_offline(
    r: &mut StoredRequest,
    ran_at: &str,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    let Some(glass) = r.break_glass.as_mut() else {
        return Err(not_now(r, now));
    };
    if r.status != Status::Approved && r.status != Status::Expired {
        return Err(not_now(r, now));
    }
    glass.offline = true;
    glass.ran_at = Some(ran_at.to_owned());
    r.status = Status::Consumed;
    r.consumed_at = Some(stamp(now));
    Ok(Transition::default()
        .audit(
            "break_glass_ran_offline",
            json!({"id": r.id, "ran_at": ran_at}),
        )
        .event("request.consumed"))
}

/// An approver closes a break-glass run's review: acknowledged, or flagged for a
/// follow-up. Never its requester.
pub fn after_review(
    r: &mut StoredRequest,
    user: &User,
    review: &crate::approval::NewAfterReview,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    may_close_review(user, r)?;
    let Some(glass) = r.break_glass.as_mut() else {
        return Err(Refusal::Conflict(format!(
            "request {} was not a break-glass run",
            r.id
        )));
    };
    if let Some(done) = &glass.review {
        return Err(Refusal::Conflict(format!(
            "the review of {} was closed by {} ({})",
            r.id,
            done.reviewer,
            done.finding.as_str()
        )));
    }
    glass.review = Some(crate::approval::AfterReview {
        reviewer: user.name.clone(),
        finding: review.finding,
        comment: review.comment.clone(),
        at: stamp(now),
    });
    r.next_unix = 0;
    Ok(Transition::default()
        .audit(
            "break_glass_reviewed",
            json!({"id": r.id, "reviewer": user.name, "finding": review.finding, "comment": review.comment}),
        )
        .event("request.break_glass_reviewed"))
}

/// When the sweeper next has something to do for `r`: its next escalation step, its
/// next reminder (every `remind_every` seconds, 0 for none), or its overdue break-glass
/// review; 0 for nothing.
pub fn schedule(r: &StoredRequest, remind_every: u64) -> i64 {
    if let Some(glass) = &r.break_glass {
        return match (&glass.review, glass.overdue) {
            (None, false) => unix(&glass.review_due).unwrap_or(0),
            _ => 0,
        };
    }
    if r.status != Status::Pending {
        return 0;
    }
    let next = steps_to_take(r)
        .into_iter()
        .map(|(due, ..)| due)
        .chain(reminder_due(r, remind_every))
        .min()
        .unwrap_or(i64::MAX);
    if next == i64::MAX || next >= r.expires_unix {
        0
    } else {
        next
    }
}

/// The escalation steps of `r` not taken yet: when each is due (Unix seconds), its rule,
/// its index in that rule's `escalate:` list, and the step.
fn steps_to_take(r: &StoredRequest) -> Vec<(i64, String, usize, crate::policy::EscalationStep)> {
    let created = unix(&r.created_at).unwrap_or(0);
    let mut steps = Vec::new();
    for requirement in &r.request.approvals {
        for (index, step) in requirement.workflow.escalate.iter().enumerate() {
            let taken = r
                .escalations
                .iter()
                .any(|e| e.rule == requirement.rule && e.step == index);
            if !taken {
                let due = created.saturating_add(step.after_seconds as i64);
                steps.push((due, requirement.rule.clone(), index, step.clone()));
            }
        }
    }
    steps
}

/// When the next reminder of `r` is due (every `remind_every` seconds from its filing or
/// its last reminder); `None` without reminders.
fn reminder_due(r: &StoredRequest, remind_every: u64) -> Option<i64> {
    (remind_every > 0).then(|| {
        let last = if r.reminded_unix > 0 {
            r.reminded_unix
        } else {
            unix(&r.created_at).unwrap_or(0)
        };
        last.saturating_add(remind_every as i64)
    })
}

/// The sweeper's work on `r` at `now`: escalation steps that are due (their `notify`
/// told, their `add_approvers` let in), a reminder to the current approvers, a
/// break-glass review become overdue. Does nothing (a replay) when nothing is due.
pub fn tick(r: &mut StoredRequest, remind_every: u64, now: jiff::Timestamp) -> Transition {
    let mut done = Transition::default();
    let at = now.as_second();
    if let Some(glass) = r.break_glass.as_mut() {
        let due = unix(&glass.review_due).unwrap_or(i64::MAX);
        if glass.review.is_none() && !glass.overdue && at >= due {
            glass.overdue = true;
            done = done
                .audit(
                    "break_glass_overdue",
                    json!({"id": r.id, "review_due": glass.review_due}),
                )
                .event("request.break_glass_overdue");
        }
    } else if status_at(r, now) == Status::Pending {
        let due: Vec<_> = steps_to_take(r)
            .into_iter()
            .filter(|(due, ..)| at >= *due)
            .collect();
        for (_, rule, index, step) in due {
            if let Some(requirement) = r.request.approvals.iter_mut().find(|a| a.rule == rule) {
                for approver in &step.add_approvers {
                    if !requirement.approvers.contains(approver) {
                        requirement.approvers.push(approver.clone());
                    }
                }
            }
            r.escalations.push(crate::approval::Escalated {
                rule: rule.clone(),
                step: index,
                at: stamp(now),
                notify: step.notify.clone(),
                add_approvers: step.add_approvers.clone(),
            });
            done = done.audit(
                "request_escalated",
                json!({"id": r.id, "rule": rule, "step": index, "notify": step.notify,
                       "add_approvers": step.add_approvers}),
            );
        }
        // One announcement however many steps came due together.
        if done
            .audit
            .iter()
            .any(|(event, _)| *event == "request_escalated")
        {
            done = done.event("request.escalated");
        }
        if reminder_due(r, remind_every).is_some_and(|due| at >= due) {
            r.reminders += 1;
            r.reminded_unix = at;
            done = done
                .audit(
                    "request_reminded",
                    json!({"id": r.id, "reminder": r.reminders}),
                )
                .event("request.reminder");
        }
    }
    let next = schedule(r, remind_every);
    if done.events.is_empty() && next == r.next_unix {
        done.replay = true;
    }
    r.next_unix = next;
    done
}

fn requester_only(user: &User, r: &StoredRequest) -> Result<(), Refusal> {
    if r.requester != user.name {
        return Err(Refusal::Forbidden("only the requester may do this".into()));
    }
    Ok(())
}

/// The requester withdraws a pending request.
pub fn cancel(
    r: &mut StoredRequest,
    user: &User,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    requester_only(user, r)?;
    if status_at(r, now) != Status::Pending {
        return Err(not_now(r, now));
    }
    r.status = Status::Cancelled;
    r.next_unix = 0;
    Ok(Transition::default()
        .audit("request_cancelled", json!({"id": r.id}))
        .event("request.cancelled"))
}

/// How long after a consume a repeat of it (its answer lost on the way) is answered
/// again.
pub const REPLAY_SECONDS: i64 = 120;

/// The requester uses an approved request, once. A repeat within [`REPLAY_SECONDS`] that
/// names the nonce the consume itself named gets the same answer (the first answer may
/// have been lost); anything else is refused once the request is consumed.
pub fn consume(
    r: &mut StoredRequest,
    user: &User,
    nonce: Option<&str>,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    requester_only(user, r)?;
    let grant_nonce = r.grant.as_ref().map(|g| g.payload.nonce.as_str());
    let consumed_at = r
        .consumed_at
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    if r.status == Status::Consumed
        && nonce.is_some()
        && r.consumed_nonce.as_deref() == nonce
        && consumed_at.is_some_and(|at| now.as_second() - at.as_second() <= REPLAY_SECONDS)
    {
        return Ok(Transition {
            replay: true,
            ..Transition::default()
        });
    }
    if status_at(r, now) != Status::Approved {
        return Err(not_now(r, now));
    }
    if nonce.is_some() && nonce != grant_nonce {
        return Err(Refusal::Conflict(format!(
            "request {} was approved with another grant",
            r.id
        )));
    }
    r.status = Status::Consumed;
    r.consumed_at = Some(stamp(now));
    r.consumed_nonce = nonce.map(str::to_owned);
    Ok(Transition::default()
        .audit("request_consumed", json!({"id": r.id}))
        .event("request.consumed"))
}

/// The sweeper: a request whose time ran out becomes `expired`, once.
pub fn expire(r: &mut StoredRequest, now: jiff::Timestamp) -> Result<Transition, Refusal> {
    if !is_due(r, now) {
        return Err(not_now(r, now));
    }
    r.status = Status::Expired;
    if r.break_glass.is_none() {
        r.next_unix = 0;
    }
    Ok(Transition::default()
        .audit("request_expired", json!({"id": r.id}))
        .event("request.expired"))
}

#[cfg(test)]
mod tests;
