//! A request id as a person types it: the whole id, or a unique prefix of at least
//! `approval::ids::MIN_PREFIX` characters, resolved by the service among the requests the
//! caller may see.

use crate::approval::ids::{MIN_PREFIX, check_prefix, shortest_unique_prefixes};
use crate::exit::UserError;
use crate::render;

use super::ApiClient;

/// How long a whole id is (a UUID in its text form).
const WHOLE: usize = 36;
/// How much of each candidate's command an ambiguity error shows.
const COMMAND_BUDGET: usize = 40;

/// The whole id of the request `typed` names. A whole id is taken as it is (the call that
/// uses it says when there is none); a prefix is looked up.
pub fn request_id(client: &ApiClient, typed: &str) -> Result<String, UserError> {
    let typed = typed.trim();
    if let Some(why) = check_prefix(typed) {
        return Err(UserError::new(why)
            .hint(format!(
                "give the whole id or a prefix of at least {MIN_PREFIX} characters, as `gatekeep requests` shows it"
            ))
            .kind("bad_request_id"));
    }
    let typed = typed.to_ascii_lowercase();
    if typed.len() == WHOLE {
        return Ok(typed);
    }
    let found = client
        .by_prefix(&typed)
        .map_err(|e| e.to_user_error(&format!("cannot look up request {typed}")))?;
    match found.as_slice() {
        [] => Err(UserError::new(format!(
            "no request you may see has an id starting with {typed}"
        ))
        .hint("`gatekeep requests` lists the ones you may review")
        .kind("no_request")),
        [one] => Ok(one.id.clone()),
        several => {
            let ids: Vec<&str> = several.iter().map(|v| v.id.as_str()).collect();
            let short = shortest_unique_prefixes(&ids, MIN_PREFIX);
            let candidates: Vec<String> = several
                .iter()
                .zip(&short)
                .map(|(view, short)| {
                    let command = render::fit(
                        &render::command(&view.facts.argv),
                        COMMAND_BUDGET,
                        |piece| piece.chars().count(),
                    );
                    format!(
                        "{short} ({}, {}, {command})",
                        render::text(&view.requester),
                        view.status.as_str()
                    )
                })
                .collect();
            Err(UserError::new(format!(
                "request id {typed} is ambiguous: {} requests start with it: {}",
                several.len(),
                candidates.join("; ")
            ))
            .hint("give more of the id: one of the prefixes listed")
            .kind("ambiguous_request_id"))
        }
    }
}
