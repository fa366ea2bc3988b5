//! Policy layers: the built-in library, the administrator's, the user's and the project's
//! files, and what each may say about the others.
//!
//! Every layer's rules apply and the strictest decision wins. An administrator or user file
//! may leave the library out (`builtin: false`) or drop single built-in rules (`drop:`);
//! nothing drops an administrator's or a user's rule. A project's files sit where the agent
//! they judge can write, so they may only add holds: no `allow`, no opting out, no programs'
//! option tables (they change how every rule reads a command), no secrets, no protected
//! paths (they feed the guard of gatekeep's own files, which a bad one would switch off).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Location;

use super::compile::Problem;
use super::schema::FileSpec;
use super::{Decision, Source};

/// Where a policy file comes from. Ordered as the layers are listed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The library built into the binary.
    Builtin,
    /// The administrator's directory; applies to everyone on the host.
    Admin,
    /// The user's directory, or `--policy` / `GATEKEEP_POLICY`.
    #[default]
    User,
    /// The repository the command runs in.
    Project,
}

impl Layer {
    /// Every layer, in the order they are listed.
    pub const ALL: [Layer; 4] = [Layer::Builtin, Layer::Admin, Layer::User, Layer::Project];

    /// The name people read.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Builtin => "built-in",
            Layer::Admin => "administrator",
            Layer::User => "user",
            Layer::Project => "project",
        }
    }

    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Builtin => "builtin",
            Layer::Admin => "admin",
            Layer::User => "user",
            Layer::Project => "project",
        }
    }

    /// The order files are compiled in: the administrator's first, so among equally strict
    /// defaults its approvers are the ones asked, and a clash of rule ids is reported on the
    /// other file.
    pub(super) fn load_rank(self) -> u8 {
        match self {
            Layer::Admin => 0,
            Layer::Builtin => 1,
            Layer::User => 2,
            Layer::Project => 3,
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the files say about each other, read before any rule is compiled.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Where the library was switched off (`FILE:LINE:COL`), when it was.
    pub builtin_off: Option<String>,
    /// Built-in rule ids left out, each with where it was dropped.
    pub dropped: BTreeMap<String, String>,
    /// Where an administrator allowed break-glass without the service (`FILE:LINE:COL`).
    pub break_glass_offline: Option<String>,
    pub problems: Vec<Problem>,
}

fn problem(source: &Source, at: Location, message: impl Into<String>) -> Problem {
    Problem {
        origin: source.origin.clone(),
        line: at.line(),
        column: at.column(),
        message: message.into(),
    }
}

fn at(source: &Source, location: Location) -> String {
    format!(
        "{}:{}:{}",
        source.origin,
        location.line(),
        location.column()
    )
}

/// Reads `builtin:` and `drop:` of every file, and refuses what a project file may not say.
/// `with_library` is false when no built-in file is part of the load (a single set of
/// files, such as the service's): `drop:` ids cannot be checked then, and mean nothing.
pub(super) fn plan(files: &[(Layer, &Source, Option<&FileSpec>)], with_library: bool) -> Plan {
    let mut plan = Plan::default();
    let mut owners: BTreeMap<&str, Layer> = BTreeMap::new();
    for (layer, _, spec) in files {
        for rule in spec.iter().flat_map(|s| &s.rules) {
            owners.entry(rule.id.value.as_str()).or_insert(*layer);
        }
    }
    let builtin_ids: Vec<&str> = owners
        .iter()
        .filter(|(_, layer)| **layer == Layer::Builtin)
        .map(|(id, _)| *id)
        .collect();
    // Where an administrator requires the library, if one does.
    let required = files.iter().find_map(|(layer, source, spec)| {
        let flag = spec.as_ref()?.require_builtin.as_ref()?;
        (*layer == Layer::Admin && flag.value).then(|| at(source, flag.referenced))
    });
    plan.break_glass_offline = files.iter().find_map(|(layer, source, spec)| {
        let flag = spec.as_ref()?.break_glass_offline.as_ref()?;
        (*layer == Layer::Admin && flag.value).then(|| at(source, flag.referenced))
    });
    for (layer, source, spec) in files {
        let Some(spec) = spec else { continue };
        if let Some(flag) = spec.break_glass_offline.as_ref()
            && *layer != Layer::Admin
        {
            plan.problems.push(problem(
                source,
                flag.referenced,
                "`break_glass_offline:` belongs in an administrator file",
            ));
        }
        if let Some(flag) = spec.require_builtin.as_ref()
            && *layer != Layer::Admin
        {
            plan.problems.push(problem(
                source,
                flag.referenced,
                "`require_builtin:` belongs in an administrator file",
            ));
        }
        if *layer == Layer::User
            && let Some(required) = &required
        {
            let refuse = |at: Location, what: &str| {
                problem(
                    source,
                    at,
                    format!(
                        "the administrator requires the built-in library ({required}): a user file cannot {what}"
                    ),
                )
            };
            if let Some(flag) = spec.builtin.as_ref().filter(|f| !f.value) {
                plan.problems.push(refuse(flag.referenced, "switch it off"));
                continue;
            }
            if let Some(id) = spec.drop.first() {
                plan.problems.push(refuse(id.referenced, "drop its rules"));
                continue;
            }
        }
        match layer {
            Layer::Project => project(source, spec, &mut plan.problems),
            Layer::Builtin => {
                if let Some(flag) = &spec.builtin {
                    plan.problems.push(problem(
                        source,
                        flag.referenced,
                        "`builtin:` belongs in an administrator or user file",
                    ));
                }
            }
            Layer::Admin | Layer::User => {
                if let Some(flag) = spec.builtin.as_ref().filter(|f| !f.value) {
                    plan.builtin_off
                        .get_or_insert_with(|| at(source, flag.referenced));
                }
                if !with_library {
                    continue;
                }
                for id in &spec.drop {
                    match owners.get(id.value.as_str()) {
                        Some(Layer::Builtin) => {
                            plan.dropped
                                .entry(id.value.clone())
                                .or_insert_with(|| at(source, id.referenced));
                        }
                        Some(Layer::Admin) if *layer == Layer::User => {
                            plan.problems.push(problem(
                                source,
                                id.referenced,
                                format!(
                                    "`{}` is an administrator's rule: a user file cannot drop it",
                                    id.value
                                ),
                            ));
                        }
                        Some(owner) => plan.problems.push(problem(
                            source,
                            id.referenced,
                            format!(
                                "`{}` is a rule of the {} policies, not of the built-in library: `drop:` names built-in rules",
                                id.value, owner
                            ),
                        )),
                        None => plan.problems.push(problem(
                            source,
                            id.referenced,
                            format!(
                                "unknown built-in rule `{}`{}",
                                id.value,
                                close_ids(&id.value, &builtin_ids)
                            ),
                        )),
                    }
                }
            }
        }
    }
    plan
}

/// What a project file may not say: each an error at its place, never silently ignored.
fn project(source: &Source, spec: &FileSpec, problems: &mut Vec<Problem>) {
    const ONLY: &str = "project policies can only add holds";
    if let Some(flag) = spec.builtin.as_ref().filter(|f| !f.value) {
        problems.push(problem(
            source,
            flag.referenced,
            format!("a project policy cannot switch off the built-in library ({ONLY})"),
        ));
    }
    for id in &spec.drop {
        problems.push(problem(
            source,
            id.referenced,
            format!(
                "a project policy cannot drop rules (`{}`; {ONLY})",
                id.value
            ),
        ));
    }
    // `supervise` lets a command start at once (the hook answers the agent "allow", with
    // the command rewritten to run supervised): a project cannot ask for it either.
    let loosens = |d: Decision| matches!(d, Decision::Allow | Decision::Supervise);
    for (key, value) in [("default", &spec.default), ("opaque", &spec.opaque)] {
        if let Some(decision) = value.as_ref().filter(|d| loosens(d.value)) {
            problems.push(problem(
                source,
                decision.referenced,
                format!(
                    "a project policy cannot set `{key}: {}` ({ONLY}: approve or deny)",
                    decision.value.as_str()
                ),
            ));
        }
    }
    // The guard of gatekeep's own files protects these too, and a guard that cannot be set
    // up is left out of the run as a whole (with a warning): a path chosen to break it
    // would take the protection of the user's policies with it.
    for path in &spec.protect {
        problems.push(problem(
            source,
            path.referenced,
            format!(
                "a project policy cannot add protected paths (`{}`): ask for it in the user's or the administrator's policy",
                path.value
            ),
        ));
    }
    for (name, _) in spec.programs.iter().flat_map(|m| &m.0) {
        problems.push(problem(
            source,
            name.referenced,
            format!(
                "a project policy cannot declare how `{}` reads its options: that changes what every layer's rules see",
                name.value
            ),
        ));
    }
    // Asking the person at the agent's terminal instead of the reviewers loosens a hold.
    let local_asks = spec
        .approval
        .iter()
        .chain(spec.rules.iter().filter_map(|r| r.approval.as_ref()))
        .filter_map(|a| a.local_ask.as_ref())
        .filter(|flag| flag.value);
    for flag in local_asks {
        problems.push(problem(
            source,
            flag.referenced,
            format!("a project policy cannot set `local_ask: true` ({ONLY})"),
        ));
    }
    for rule in &spec.rules {
        if loosens(rule.decision.value) {
            problems.push(problem(
                source,
                rule.decision.referenced,
                format!(
                    "rule `{}`: a project policy cannot {} ({ONLY}: approve or deny)",
                    rule.id.value,
                    rule.decision.value.as_str()
                ),
            ));
        }
        for (name, _) in rule.secrets.iter().flat_map(|m| &m.0) {
            problems.push(problem(
                source,
                name.referenced,
                format!(
                    "rule `{}`: a project policy cannot release secrets (`{}`)",
                    rule.id.value, name.value
                ),
            ));
        }
    }
}

/// " (did you mean `a`, `b`?)" for the ids closest to `id`, or nothing.
pub fn close_ids(id: &str, known: &[&str]) -> String {
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (distance(id, k), *k))
        .filter(|(d, k)| *d <= id.len().max(3) / 2 || k.contains(id) || id.contains(*k))
        .collect();
    scored.sort();
    let names: Vec<String> = scored
        .iter()
        .take(3)
        .map(|(_, k)| format!("`{k}`"))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", names.join(", "))
    }
}

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_ids_suggest_near_names_only() {
        let known = ["rm-root", "rm-home", "git-push-force"];
        assert_eq!(
            close_ids("rm-rot", &known),
            " (did you mean `rm-root`, `rm-home`?)"
        );
        assert_eq!(close_ids("kubectl-delete", &known), "");
    }
}
