//! Windows: one approval covering more commands of the same person for a while. Pure rules
//! like the lifecycle's: what a reviewer may ask for, the window an approval opens, whether
//! a new request falls under an open window, the grant it gets there, a use checked at
//! consume, revocation.
//!
//! A window never stands in for a grant: every command under it is a request of its own,
//! judged by the service's policy, given its own single-use grant in a transaction holding
//! the window's row (so a committed revocation stops the very next one), and listed on the
//! window.

use serde_json::json;

use super::bar::{SECRET_RULE, SERVER_RULE};
use super::config::{Identities, User};
use super::lifecycle::{Issue, Refusal, Transition, stamp};
use super::store::StoredRequest;
use crate::approval::{
    GrantPayload, Revoked, SatisfiedApproval, Status, Verdict, Window, WindowAsk, WindowScope,
    WindowUse,
};
use crate::policy::{ApprovalRequirement, DEFAULT_RULE, OPAQUE_RULE, Windows};

/// The latest a window may start: a week ahead.
const LATEST_START_SECONDS: i64 = 7 * 24 * 60 * 60;

/// Whether a requirement names a rule (not the `opaque` or `default` decision): only
/// those may open windows or break glass.
pub fn named(requirement: &ApprovalRequirement) -> bool {
    let bare = requirement
        .rule
        .strip_prefix(SERVER_RULE)
        .unwrap_or(&requirement.rule);
    bare != OPAQUE_RULE && bare != DEFAULT_RULE
}

/// Why the requirements of a request (by an agent or not) allow no window, if they do not.
pub fn not_allowed(requirements: &[ApprovalRequirement], agent: bool) -> Option<String> {
    for requirement in requirements {
        if !named(requirement) {
            return Some(
                "commands decided by the `opaque` or `default` decision never run under a window"
                    .into(),
            );
        }
        match requirement.workflow.windows {
            Windows::Never => {
                return Some(format!("rule {} allows no windows", requirement.rule));
            }
            Windows::Humans if agent => {
                return Some(format!(
                    "rule {} gives agents no windows (it would need `windows: all`)",
                    requirement.rule
                ));
            }
            _ => {}
        }
    }
    None
}

/// The longest window `r` may get: the shortest `max_window` of its rules, and never more
/// than the service allows (`cap`).
pub fn longest(r: &StoredRequest, cap: u64) -> u64 {
    r.request
        .approvals
        .iter()
        .map(|a| a.workflow.max_window())
        .chain([cap])
        .min()
        .unwrap_or(cap)
}

/// Checks a reviewer's ask for a window on `r`; answers when it would start and end.
pub fn check_ask(
    r: &StoredRequest,
    ask: &WindowAsk,
    cap: u64,
    now: jiff::Timestamp,
) -> Result<(i64, i64), Refusal> {
    if r.request.break_glass {
        return Err(Refusal::Conflict("a break-glass run gets no window".into()));
    }
    if let Some(why) = not_allowed(&r.request.approvals, r.request.agent) {
        return Err(Refusal::Conflict(why));
    }
    if ask.scope != WindowScope::Exact {
        if let Some(secret) = r
            .request
            .approvals
            .iter()
            .find(|a| a.rule.starts_with(SECRET_RULE))
        {
            return Err(Refusal::Conflict(format!(
                "a command that is given a secret ({}) gets exact windows only",
                secret.rule
            )));
        }
        if ask.scope == WindowScope::Program {
            let name = |path: &str| path.rsplit('/').next().unwrap_or(path).to_owned();
            let named = [
                name(&r.request.resolved_path),
                r.request.argv.first().map(|a| name(a)).unwrap_or_default(),
            ];
            if let Some(runner) = named.iter().find(|n| crate::shell::runs_code(n)) {
                return Err(Refusal::Conflict(format!(
                    "{runner} runs whatever code its arguments give it: a window over any of its arguments would cover any code; approve it with the exact scope"
                )));
            }
        }
    }
    let longest = longest(r, cap);
    if ask.seconds == 0 {
        return Err(Refusal::Conflict(
            "a window lasts at least one second".into(),
        ));
    }
    if ask.seconds > longest {
        return Err(Refusal::Conflict(format!(
            "this request allows windows of at most {} (the rules' max_window, and the service's)",
            crate::render::duration(longest)
        )));
    }
    let start = match &ask.starts_at {
        None => now.as_second(),
        Some(text) => {
            let at: jiff::Timestamp = text.parse().map_err(|_| {
                Refusal::Conflict(format!("the window's start {text} is not an RFC 3339 time"))
            })?;
            at.as_second().max(now.as_second())
        }
    };
    if start - now.as_second() > LATEST_START_SECONDS {
        return Err(Refusal::Conflict(
            "a window starts within a week of its approval".into(),
        ));
    }
    Ok((start, start.saturating_add(ask.seconds as i64)))
}

/// The window an approval that completed every requirement opens, if every approval
/// counted asked for one: the shortest length, the narrowest scope, the latest start.
/// One counted approval without a window means the command alone is approved.
pub fn opened(
    r: &StoredRequest,
    approvals: &[SatisfiedApproval],
    cap: u64,
    now: jiff::Timestamp,
) -> Option<Window> {
    let mut counted: Vec<&str> = approvals
        .iter()
        .flat_map(|a| a.approved_by.iter().map(String::as_str))
        .collect();
    counted.sort_unstable();
    counted.dedup();
    let asks: Vec<&WindowAsk> = counted
        .iter()
        .map(|name| {
            r.reviews
                .iter()
                .rev()
                .find(|v| v.reviewer == *name && v.verdict == Verdict::Approve)
                .and_then(|v| v.window.as_ref())
        })
        .collect::<Option<Vec<_>>>()?;
    let seconds = asks.iter().map(|a| a.seconds).min()?;
    let scope = asks.iter().map(|a| a.scope).min()?;
    let mut start = now.as_second();
    for ask in &asks {
        let (from, _) = check_ask(r, ask, cap, now).ok()?;
        start = start.max(from);
    }
    let end = start.saturating_add(seconds as i64);
    let time = |unix: i64| {
        jiff::Timestamp::from_second(unix)
            .map(stamp)
            .unwrap_or_default()
    };
    Some(Window {
        id: r.id.clone(),
        scope,
        starts_at: time(start),
        ends_at: time(end),
        opened_by: counted.iter().map(|s| (*s).to_owned()).collect(),
        approvals: approvals.to_vec(),
        agent: r.request.agent,
        revoked: None,
        uses: Vec::new(),
    })
}

/// A window's time as Unix seconds (0 when unreadable: a window then never opens).
fn unix(text: &str) -> i64 {
    super::lifecycle::unix(text).unwrap_or(0)
}

/// Whether `window` is open at `now`: started, not closed, not revoked.
fn open_at(window: &Window, now: jiff::Timestamp) -> Result<(), String> {
    if let Some(revoked) = &window.revoked {
        return Err(format!(
            "window {} was revoked by {} at {}",
            window.id, revoked.by, revoked.at
        ));
    }
    if now.as_second() < unix(&window.starts_at) {
        return Err(format!(
            "window {} opens at {}",
            window.id, window.starts_at
        ));
    }
    if now.as_second() >= unix(&window.ends_at) {
        return Err(format!("window {} closed at {}", window.id, window.ends_at));
    }
    Ok(())
}

/// Whether the window `origin` opened covers request `new` at `now`; answers the
/// approvals the window gives each of its requirements. Everything is checked again here
/// (the requester, host and local user, agent or person, scope, every requirement met by
/// the window's approvers as configured now), whatever found the window.
pub fn covers(
    origin: &StoredRequest,
    new: &StoredRequest,
    identities: &Identities,
    now: jiff::Timestamp,
) -> Result<Vec<SatisfiedApproval>, String> {
    let window = origin
        .window
        .as_ref()
        .ok_or_else(|| format!("request {} opened no window", origin.id))?;
    open_at(window, now)?;
    if origin.id == new.id || new.status != Status::Pending || new.request.break_glass {
        return Err("this request cannot use a window".into());
    }
    if origin.requester != new.requester
        || origin.request.host != new.request.host
        || origin.request.user != new.request.user
    {
        return Err("a window serves its requester on its host only".into());
    }
    if new.request.supervised && !window.agent {
        return Err("a program a supervised run starts never runs under a person's window".into());
    }
    if window.agent != new.request.agent {
        return Err(if new.request.agent {
            "an agent's command never runs under a person's window".into()
        } else {
            "a person's command never runs under an agent's window".into()
        });
    }
    if let Some(why) = not_allowed(&new.request.approvals, new.request.agent) {
        return Err(why);
    }
    if window.scope != WindowScope::Exact
        && new
            .request
            .approvals
            .iter()
            .any(|a| a.rule.starts_with(SECRET_RULE))
    {
        return Err("a command that is given a secret runs under an exact window only".into());
    }
    // Any arguments, but the same program file and the same files and variables bound
    // with it: a script or an interpreter behind it is part of what was approved.
    let fits = match window.scope {
        WindowScope::Exact => new.request.digest == origin.request.digest,
        WindowScope::Program => {
            new.request.resolved_path == origin.request.resolved_path
                && new.request.binary_sha256 == origin.request.binary_sha256
                && new.request.scripts == origin.request.scripts
                && new.request.programs == origin.request.programs
                && new.request.env == origin.request.env
        }
        WindowScope::Rule => true,
    };
    if !fits {
        return Err(format!(
            "the command is outside window {}'s scope ({})",
            window.id,
            window.scope.as_str()
        ));
    }
    // The rules as they are now bound the window: a `max_window` lowered since it opened
    // closes it sooner.
    let longest = new
        .request
        .approvals
        .iter()
        .map(|a| a.workflow.max_window())
        .min()
        .unwrap_or(0);
    if now.as_second() >= unix(&window.starts_at).saturating_add(longest as i64) {
        return Err(format!(
            "window {} has lasted as long as these rules allow now",
            window.id
        ));
    }
    let mut satisfied = Vec::new();
    for requirement in &new.request.approvals {
        // Who may approve under the rule: its approvers, and those its escalation lets in.
        let mut approvers = requirement.approvers.clone();
        for step in &requirement.workflow.escalate {
            approvers.extend(step.add_approvers.iter().cloned());
        }
        let mut by: Vec<String> = window
            .approvals
            .iter()
            .filter(|a| a.rule == requirement.rule)
            .flat_map(|a| a.approved_by.iter())
            .filter(|name| **name != new.requester)
            .filter(|name| {
                identities
                    .get(name)
                    .is_some_and(|u| u.can_review && Identities::is_approver(u, &approvers))
            })
            .cloned()
            .collect();
        by.sort();
        by.dedup();
        if by.len() < requirement.quorum as usize {
            return Err(format!(
                "window {}'s approvals do not meet rule {}",
                window.id, requirement.rule
            ));
        }
        satisfied.push(SatisfiedApproval {
            rule: requirement.rule.clone(),
            approvers: requirement.approvers.clone(),
            quorum: requirement.quorum,
            approved_by: by,
        });
    }
    Ok(satisfied)
}

/// Grants `new` under the window `origin` opened: a single-use grant of its own, no later
/// than the window's close, recorded on the window.
pub fn grant_under(
    origin: &mut StoredRequest,
    new: &mut StoredRequest,
    identities: &Identities,
    now: jiff::Timestamp,
    issue: Issue<'_>,
) -> Result<(Transition, Transition), Refusal> {
    let approvals = covers(origin, new, identities, now).map_err(Refusal::Conflict)?;
    let window = origin.window.as_mut().expect("covers checked the window");
    let mut expires = now.as_second().saturating_add(issue.grant_lifetime as i64);
    expires = expires.min(unix(&window.ends_at)).min(new.expires_unix);
    let expires = jiff::Timestamp::from_second(expires).unwrap_or(now);
    new.grant = Some((issue.sign)(GrantPayload {
        request_id: new.id.clone(),
        digest: new.request.digest.clone(),
        requester: new.requester.clone(),
        approvals,
        issued_at: stamp(now),
        expires_at: stamp(expires),
        nonce: issue.nonce,
        window: Some(window.id.clone()),
        break_glass: false,
    }));
    new.status = Status::Approved;
    new.under_window = Some(window.id.clone());
    window.uses.push(WindowUse {
        request_id: new.id.clone(),
        argv: new.request.argv.clone(),
        cwd: new.request.cwd.clone(),
        at: stamp(now),
    });
    let mut granted = Transition::default();
    granted.audit.push((
        "request_approved",
        json!({"id": new.id, "window": window.id, "reviewers": window.opened_by}),
    ));
    granted.events.push("request.approved");
    let mut used = Transition::default();
    used.audit.push((
        "window_used",
        json!({"window": window.id, "id": new.id, "argv": new.request.argv}),
    ));
    used.events.push("window.used");
    Ok((used, granted))
}

/// A use of `r`'s grant under `origin`'s window: only while the window is still open.
pub fn check_use(origin: &StoredRequest, now: jiff::Timestamp) -> Result<(), Refusal> {
    let window = origin
        .window
        .as_ref()
        .ok_or_else(|| Refusal::Conflict(format!("request {} opened no window", origin.id)))?;
    open_at(window, now).map_err(Refusal::Conflict)
}

/// Revokes the window `r` opened: its requester, or any approver of its rules.
pub fn revoke(
    r: &mut StoredRequest,
    user: &User,
    reason: Option<String>,
    now: jiff::Timestamp,
) -> Result<Transition, Refusal> {
    let approver = user.can_review
        && r.request
            .approvals
            .iter()
            .any(|a| Identities::is_approver(user, &a.approvers));
    if user.name != r.requester && !approver {
        if super::lifecycle::may_see(user, r) {
            return Err(Refusal::Forbidden(format!(
                "{} is not among the approvers of this window's rules",
                user.name
            )));
        }
        return Err(Refusal::Hidden(format!("no request {}", r.id)));
    }
    let Some(window) = r.window.as_mut() else {
        return Err(Refusal::Conflict(format!(
            "request {} opened no window",
            r.id
        )));
    };
    if let Some(revoked) = &window.revoked {
        return Err(Refusal::Conflict(format!(
            "window {} was already revoked by {} at {}",
            window.id, revoked.by, revoked.at
        )));
    }
    if now.as_second() >= unix(&window.ends_at) {
        return Err(Refusal::Conflict(format!(
            "window {} closed at {}",
            window.id, window.ends_at
        )));
    }
    window.revoked = Some(Revoked {
        by: user.name.clone(),
        at: stamp(now),
        reason: reason.clone(),
    });
    let mut done = Transition::default();
    done.audit.push((
        "window_revoked",
        json!({"window": window.id, "by": user.name, "reason": reason, "uses": window.uses.len()}),
    ));
    done.events.push("window.revoked");
    Ok(done)
}
