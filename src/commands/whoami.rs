//! `gatekeep whoami`: the service in use, the identity it knows the token as (groups,
//! review rights, agent or not), where the token came from, and the pinned service key.
//! Never the token itself.

use std::io::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::client::{self, ApiClient, Connection};
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object (`"gatekeep": 1` is its schema version).
    #[arg(long)]
    pub json: bool,
    /// Read the approval service token from this file.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// What `whoami --json` prints.
#[derive(Debug, Serialize)]
struct Report {
    gatekeep: u32,
    /// The service URL in use.
    service: String,
    /// Every URL configured (replicas).
    servers: Vec<String>,
    identity: String,
    groups: Vec<String>,
    can_review: bool,
    agent: bool,
    token: Token,
    /// The identity of the stored login in use, when the token or key came from one.
    login: Option<String>,
    key: Key,
}

#[derive(Debug, Serialize)]
struct Token {
    /// `env`, `token_file`, `keyring`, `login_file` or `dev_server`.
    source: &'static str,
    /// The same for people: the variable, file or keyring entry.
    from: String,
}

/// The service key: the one pinned and the one served.
#[derive(Debug, Serialize)]
pub struct Key {
    /// `sha256:` fingerprint of the pinned key.
    pub pinned: Option<String>,
    /// `GATEKEEP_SERVER_KEY`, `login` or `development server`.
    pub pinned_from: Option<&'static str>,
    /// `sha256:` fingerprint of the key the service serves now.
    pub served: Option<String>,
    /// Whether the two are the same (none when either is missing).
    pub matches: Option<bool>,
}

impl Key {
    /// The pinned key of `connection` against the one the service serves.
    pub fn check(connection: &Connection, client: &ApiClient) -> Key {
        let served = client.public_key().ok();
        let pinned = connection.public_key.as_deref();
        Key {
            pinned: pinned.map(super::login::fingerprint),
            pinned_from: connection.key_source,
            served: served.as_deref().map(super::login::fingerprint),
            matches: pinned
                .zip(served.as_deref())
                .map(|(p, s)| p.eq_ignore_ascii_case(s)),
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match (&self.pinned, &self.served, self.matches) {
            (Some(pinned), _, Some(true)) => format!(
                "{pinned} (pinned from {}; the service serves the same key)",
                self.pinned_from.unwrap_or("?")
            ),
            (Some(pinned), Some(served), _) => format!(
                "{pinned} (pinned from {}) DIFFERS from the key the service serves, {served}",
                self.pinned_from.unwrap_or("?")
            ),
            (Some(pinned), None, _) => format!(
                "{pinned} (pinned from {}; the service did not say its key)",
                self.pinned_from.unwrap_or("?")
            ),
            (None, Some(served), _) => format!("not pinned (the service serves {served})"),
            (None, None, _) => "not pinned".to_owned(),
        }
    }
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let (client, connection) = client::connect(env, args.token_file.as_deref())?;
    let me = client
        .me()
        .map_err(|e| e.to_user_error("cannot ask the service who you are"))?;
    let key = Key::check(&connection, &client);
    let report = Report {
        gatekeep: 1,
        service: client.base().to_owned(),
        servers: client::split_servers(&connection.server),
        identity: me.name,
        groups: me.groups,
        can_review: me.can_review,
        agent: me.agent,
        token: Token {
            source: connection.token_source.kind(),
            from: connection.token_source.to_string(),
        },
        login: connection.login.as_ref().map(|l| l.who().to_owned()),
        key,
    };
    let mut out = anstream::stdout();
    if args.json {
        writeln!(
            out,
            "{}",
            render::json_line(&serde_json::to_value(&report)?)
        )?;
    } else {
        for (label, value) in lines(&report) {
            writeln!(out, "{label:<13}{}", render::inert(&value))?;
        }
    }
    if report.key.matches == Some(false) {
        return Err(UserError::new(format!(
            "the service key differs from the one pinned from {}",
            report.key.pinned_from.unwrap_or("?")
        ))
        .hint("ask your administrator whether the key changed; if it did, log in again")
        .exit(Exit::Failure)
        .into());
    }
    Ok(Exit::Success)
}

fn lines(report: &Report) -> Vec<(&'static str, String)> {
    let mut lines = vec![("service", report.service.clone())];
    if report.servers.len() > 1 {
        lines.push(("replicas", report.servers.join(", ")));
    }
    lines.push(("identity", report.identity.clone()));
    lines.push((
        "groups",
        if report.groups.is_empty() {
            "(none)".to_owned()
        } else {
            report.groups.join(", ")
        },
    ));
    lines.push((
        "reviews",
        if report.can_review {
            "may review requests that name this identity or its groups".to_owned()
        } else {
            "may not review requests".to_owned()
        },
    ));
    lines.push((
        "agent",
        if report.agent {
            "yes: the service treats its requests as an AI agent's".to_owned()
        } else {
            "no".to_owned()
        },
    ));
    lines.push(("token from", report.token.from.clone()));
    if let Some(login) = report.login.as_deref()
        && login != report.identity
    {
        lines.push((
            "login",
            format!("{login} (in use for this service; the token given is another's)"),
        ));
    }
    lines.push(("service key", report.key.describe()));
    lines
}
