//! Evaluation: every analysed command against the rules that may concern it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::compile::{Approval, Policy, SecretUse};
use super::matcher::{self, Mode, ValueOptions};
use super::{Decision, Layer};
use crate::shell::{Analysis, Arg, Command};

/// Who runs the command, where. Filled by the command layer; tests build it directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub user: String,
    pub host: String,
    pub cwd: String,
    pub agent: bool,
    pub tty: bool,
    pub env: BTreeMap<String, String>,
    /// Variables whose values are not known here (the service: those a request does not
    /// carry in clear). An `env:` condition on one is possibly met, never proven either way.
    pub unknown_env: Vec<String>,
}

/// A rule that matched one analysed command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hit {
    pub rule: String,
    pub decision: Decision,
    /// The rule matched only because part of the command is known at run time; the
    /// decision is the policy's `opaque` one.
    pub unprovable: bool,
    /// Index into [`Evaluation::commands`].
    pub command: usize,
    pub description: Option<String>,
    /// Which condition matched which word.
    pub reasons: Vec<String>,
}

/// One approval requirement, as a reviewer service must enforce it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ApprovalRequirement {
    pub rule: String,
    pub approvers: Vec<String>,
    pub quorum: u32,
    /// Windows, escalation and break-glass (left out of JSON where the defaults apply).
    #[serde(flatten, default)]
    pub workflow: super::Workflow,
}

impl ApprovalRequirement {
    /// "2 of group:dba or alice": how many approvals, from whom.
    pub fn describe(&self) -> String {
        format!("{} of {}", self.quorum, self.approvers.join(" or "))
    }

    /// Every requirement, described and joined with "; ".
    pub fn describe_all(requirements: &[ApprovalRequirement]) -> String {
        requirements
            .iter()
            .map(ApprovalRequirement::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The outcome of evaluating one command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub hits: Vec<Hit>,
    pub commands: Vec<Vec<String>>,
    /// For each command, the indexes of its words known only at run time: their text is
    /// the shell source (`$HOST`), not the value.
    pub runtime_words: Vec<Vec<usize>>,
    /// Why parts of the command line could not be analysed.
    pub opaque: Vec<String>,
    pub approvals: Vec<ApprovalRequirement>,
    /// Some rule, default or `opaque` said `supervise`: the command runs supervised
    /// whatever decides it, also once a stricter `approve` has been approved (never when
    /// the decision is `deny`).
    pub supervised: bool,
    /// Where the decision is `approve` and also `supervised`: the approvals of what said
    /// `supervise`, which apply too where supervision cannot start.
    pub supervise_approvals: Vec<ApprovalRequirement>,
    pub timeout_seconds: Option<u64>,
    pub reason_required: bool,
    /// Every rule that asks for approval opted in to `local_ask`.
    pub local_ask: bool,
    /// Variables to release to the command, from the rules that matched it exactly (none
    /// when the decision is `deny`). One per variable: the first rule in load order wins.
    pub secrets: Vec<SecretUse>,
}

/// The hits of one analysis, before the strictest decision is drawn.
struct Judged<'a> {
    hits: Vec<Hit>,
    commands: Vec<Vec<String>>,
    runtime_words: Vec<Vec<usize>>,
    opaque: Vec<String>,
    unmatched: Vec<(Decision, &'a Approval)>,
}

impl Evaluation {
    /// "rule ID: description" for each rule that denied, in order.
    pub fn denials(&self) -> Vec<String> {
        self.hits
            .iter()
            .filter(|h| h.decision == Decision::Deny)
            .map(|h| {
                format!(
                    "rule {}: {}",
                    h.rule,
                    h.description.as_deref().unwrap_or("no description")
                )
            })
            .collect()
    }
}

/// Pseudo rule id for commands that could not be analysed.
pub const OPAQUE_RULE: &str = "<opaque>";
/// Pseudo rule id for the default decision.
pub const DEFAULT_RULE: &str = "<default>";

impl Policy {
    /// Decides what happens to the analysed command line.
    pub fn evaluate(&self, analysis: &Analysis, ctx: &Context) -> Evaluation {
        let judged = self.judge_commands(analysis, ctx, 0);
        let unmatched: Vec<(Decision, &Approval)> = judged.unmatched.clone();
        self.conclude(
            judged.hits,
            (judged.commands, judged.runtime_words),
            judged.opaque,
            &unmatched,
        )
    }

    /// The hits of every command of an analysis (their indexes shifted by `offset`), and the
    /// layer defaults that apply to it.
    fn judge_commands(&self, analysis: &Analysis, ctx: &Context, offset: usize) -> Judged<'_> {
        let resolved = with_caller_tmpdir(analysis, ctx);
        let analysis = resolved.as_ref().unwrap_or(analysis);
        let searched = with_caller_cdpath(analysis, ctx);
        let analysis = searched.as_ref().unwrap_or(analysis);
        let mut hits = Vec::new();
        for (index, command) in analysis.commands.iter().enumerate() {
            self.evaluate_command(index, command, ctx, &mut hits);
        }
        // Each layer's default applies when some command none of its rules spoke about: a
        // rule of one layer never stands in for another layer's default.
        let nothing = analysis.commands.is_empty() && analysis.opaque.is_empty();
        let unmatched: Vec<(Decision, &Approval)> = self
            .layer_defaults
            .iter()
            .filter(|(layer, _, _)| {
                nothing
                    || (0..analysis.commands.len()).any(|i| {
                        !hits
                            .iter()
                            .any(|h| h.command == i && self.rule_layer(&h.rule) == Some(*layer))
                    })
            })
            .map(|(_, decision, approval)| (*decision, approval))
            .collect();
        let runtime_words = analysis
            .commands
            .iter()
            .map(|c| (0..c.argv.len()).filter(|i| !c.argv[*i].known).collect())
            .collect();
        for hit in &mut hits {
            hit.command += offset;
        }
        Judged {
            hits,
            commands: analysis.commands.iter().map(Command::argv_text).collect(),
            runtime_words,
            opaque: analysis.opaque.clone(),
            unmatched,
        }
    }

    /// Decides about an agent's tool call (hook mode). Only rules with a `tool` match
    /// apply; a call no rule names gets no default decision (no hits, `allow`).
    pub fn evaluate_tool(
        &self,
        tool: &str,
        input: &serde_json::Value,
        ctx: &Context,
    ) -> Evaluation {
        self.evaluate_tool_running(tool, input, ctx, &[])
    }

    /// Whether a rule denies every call of the tool, whatever its input: a `deny` rule
    /// that names the tool with no input condition and no command to judge.
    pub fn denies_tool_outright(&self, tool: &str, ctx: &Context) -> bool {
        let no_input = serde_json::Value::Object(serde_json::Map::new());
        self.tools.iter().any(|&i| {
            self.rules.get(i).is_some_and(|rule| {
                rule.decision == Decision::Deny
                    && rule.alternatives.iter().any(|a| {
                        a.input.is_empty()
                            && a.command_from.is_none()
                            && a.matches_tool(tool, &no_input, ctx, &mut Vec::new())
                    })
            })
        })
    }

    /// The shell commands a tool call runs, by the rules that declare it
    /// (`command_from: input.FIELD`) and match the call: the field's text, or `Err` with why
    /// it cannot be read as a command line. The caller analyses them (analysis does IO,
    /// matching does not) and hands them to [`Policy::evaluate_tool_running`].
    pub fn tool_commands(
        &self,
        tool: &str,
        input: &serde_json::Value,
        ctx: &Context,
    ) -> Vec<Result<String, String>> {
        let mut found = Vec::new();
        for &i in &self.tools {
            let Some(rule) = self.rules.get(i) else {
                continue;
            };
            for alternative in &rule.alternatives {
                let Some(field) = &alternative.command_from else {
                    continue;
                };
                if !alternative.matches_tool(tool, input, ctx, &mut Vec::new()) {
                    continue;
                }
                let command = match input.get(field) {
                    Some(serde_json::Value::String(text)) => Ok(text.clone()),
                    Some(_) => Err(format!(
                        "input field `{field}` of {tool} is not a string (rule {})",
                        rule.id
                    )),
                    None => Err(format!(
                        "input field `{field}` of {tool} is missing (rule {})",
                        rule.id
                    )),
                };
                if !found.contains(&command) {
                    found.push(command);
                }
            }
        }
        found
    }

    /// Decides about a tool call and the shell commands it runs (analysed by the caller;
    /// see [`Policy::tool_commands`]): the tool's rules and every command's, as for a Bash
    /// command line, the strictest winning. `opaque` holds commands that could not be read.
    pub fn evaluate_tool_running(
        &self,
        tool: &str,
        input: &serde_json::Value,
        ctx: &Context,
        analyses: &[Analysis],
    ) -> Evaluation {
        let mut hits = Vec::new();
        for &i in &self.tools {
            let Some(rule) = self.rules.get(i) else {
                hits.push(self.damaged(i, 0));
                continue;
            };
            let mut reasons = Vec::new();
            let matched = rule.alternatives.iter().any(|alternative| {
                reasons.clear();
                alternative.matches_tool(tool, input, ctx, &mut reasons)
            });
            if matched {
                hits.push(Hit {
                    rule: rule.id.clone(),
                    decision: rule.decision,
                    unprovable: false,
                    command: 0,
                    description: rule.description.clone(),
                    reasons,
                });
            }
        }
        let mut commands = vec![vec![tool.to_owned()]];
        let mut runtime_words = vec![Vec::new()];
        let mut opaque = Vec::new();
        let mut unmatched: Vec<(Decision, &Approval)> = Vec::new();
        for analysis in analyses {
            let judged = self.judge_commands(analysis, ctx, commands.len());
            hits.extend(judged.hits);
            commands.extend(judged.commands);
            runtime_words.extend(judged.runtime_words);
            opaque.extend(judged.opaque);
            for default in judged.unmatched {
                if !unmatched.contains(&default) {
                    unmatched.push(default);
                }
            }
        }
        self.conclude(hits, (commands, runtime_words), opaque, &unmatched)
    }

    /// The decision from the rules that matched: the strictest wins.
    fn conclude(
        &self,
        hits: Vec<Hit>,
        (commands, runtime_words): (Vec<Vec<String>>, Vec<Vec<usize>>),
        opaque: Vec<String>,
        unmatched: &[(Decision, &Approval)],
    ) -> Evaluation {
        let opaque_decision = self.opaque.0;
        let mut contributions: Vec<(Decision, String, &Approval)> = Vec::new();
        for hit in &hits {
            let rule = self.rules.find(&hit.rule).map(|r| &r.approval);
            contributions.push((
                hit.decision,
                hit.rule.clone(),
                rule.unwrap_or(&self.opaque.1),
            ));
        }
        if !opaque.is_empty() {
            contributions.push((opaque_decision, OPAQUE_RULE.to_owned(), &self.opaque.1));
        }
        for (decision, approval) in unmatched {
            contributions.push((*decision, DEFAULT_RULE.to_owned(), approval));
        }
        let decision = contributions
            .iter()
            .map(|(d, _, _)| *d)
            .max()
            .unwrap_or(Decision::Allow);
        let supervised = decision != Decision::Deny
            && contributions
                .iter()
                .any(|(d, _, _)| *d == Decision::Supervise);
        let mut approvals = Vec::new();
        let mut supervise_approvals = Vec::new();
        let mut timeout = None::<u64>;
        let mut reason_required = false;
        let mut local_ask = true;
        // For `supervise`: the approvals that apply where supervision cannot start.
        if decision == Decision::Approve || decision == Decision::Supervise {
            for (d, id, approval) in &contributions {
                let into = if *d == decision {
                    &mut approvals
                } else if *d == Decision::Supervise {
                    &mut supervise_approvals
                } else {
                    continue;
                };
                if into.iter().any(|a: &ApprovalRequirement| &a.rule == id) {
                    continue;
                }
                into.push(ApprovalRequirement {
                    rule: id.clone(),
                    approvers: approval.approvers.clone(),
                    quorum: approval.quorum,
                    workflow: approval.workflow.clone(),
                });
                if *d == decision {
                    timeout = Some(timeout.map_or(approval.timeout_seconds, |t| {
                        t.min(approval.timeout_seconds)
                    }));
                    reason_required |= approval.reason_required;
                    local_ask &= approval.local_ask;
                }
            }
        }
        let local_ask = local_ask && !approvals.is_empty();
        let mut secrets: Vec<SecretUse> = Vec::new();
        if decision != Decision::Deny {
            for hit in hits.iter().filter(|h| !h.unprovable) {
                let Some(rule) = self.rules.find(&hit.rule) else {
                    continue;
                };
                for secret in &rule.secrets {
                    if secrets.iter().all(|s| s.env != secret.env) {
                        secrets.push(secret.clone());
                    }
                }
            }
        }
        Evaluation {
            decision,
            hits,
            commands,
            runtime_words,
            opaque,
            approvals,
            supervised,
            supervise_approvals,
            timeout_seconds: timeout,
            reason_required,
            local_ask,
            secrets,
        }
    }

    /// A rule that could not be read back from the compiled-policy cache: whatever it
    /// would have said, the command it concerns is denied, naming the damaged entry.
    fn damaged(&self, index: usize, command: usize) -> Hit {
        let entry = self
            .rules
            .entry_path()
            .map_or_else(String::new, |p| format!(" ({})", p.display()));
        Hit {
            rule: self.rules.ids()[index].clone(),
            decision: Decision::Deny,
            unprovable: false,
            command,
            description: Some(format!(
                "this rule no longer reads back from the compiled-policy cache{entry}; delete the entry and run the command again"
            )),
            reasons: Vec::new(),
        }
    }

    fn evaluate_command(
        &self,
        index: usize,
        command: &Command,
        ctx: &Context,
        hits: &mut Vec<Hit>,
    ) {
        let mut candidates: Vec<usize> = self.general.clone();
        for name in &command.names {
            if let Some(rules) = self.index.get(name) {
                candidates.extend(rules);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut declared = ValueOptions::default();
        for name in &command.names {
            if let Some(known) = builtin_options(name) {
                declared.merge(known);
            }
            if let Some(known) = self.programs.get(name) {
                declared.merge(known);
            }
        }
        // The user's declarations are read only by the user's and the project's rules.
        let mut declared_by_user = declared.clone();
        for name in &command.names {
            if let Some(known) = self.user_programs.get(name) {
                declared_by_user.merge(known);
            }
        }
        let unknowns = command.has_unknowns() || !ctx.unknown_env.is_empty();
        for i in candidates {
            let Some(rule) = self.rules.get(i) else {
                hits.push(self.damaged(i, index));
                continue;
            };
            let declared = match rule.layer {
                Layer::Builtin | Layer::Admin => &declared,
                Layer::User | Layer::Project => &declared_by_user,
            };
            let parsed = matcher::parse(command, declared, &rule.value_options, &ctx.cwd, false);
            // An abbreviated option may be one that takes no value: both readings are tried.
            let other = parsed
                .abbreviated
                .then(|| matcher::parse(command, declared, &rule.value_options, &ctx.cwd, true));
            let readings = || std::iter::once(&parsed).chain(other.as_ref());
            let mut reasons = Vec::new();
            let exact = rule.alternatives.iter().any(|alternative| {
                readings().any(|parsed| {
                    reasons.clear();
                    alternative.matches(command, parsed, ctx, Mode::Match, &mut reasons)
                })
            });
            // A rule that cannot be proven either way counts, with the `opaque` decision,
            // when it could make things stricter.
            let unprovable = !exact
                && unknowns
                && rule.decision > Decision::Allow
                && rule.alternatives.iter().any(|alternative| {
                    readings().any(|parsed| {
                        reasons.clear();
                        alternative.matches(command, parsed, ctx, Mode::Possible, &mut reasons)
                    })
                });
            if exact || unprovable {
                hits.push(Hit {
                    rule: rule.id.clone(),
                    // Unproven, it counts as what cannot be analysed; a project's hold,
                    // though, never less than it says (no project file lowers anything).
                    decision: if exact {
                        rule.decision
                    } else if rule.layer == Layer::Project {
                        rule.decision.max(self.opaque.0)
                    } else {
                        self.opaque.0
                    },
                    unprovable,
                    command: index,
                    description: rule.description.clone(),
                    reasons,
                });
            }
        }
    }
}

/// The option grammar the program table gives `program`, as the matcher reads it (built
/// once per program per process).
fn builtin_options(program: &str) -> Option<&'static ValueOptions> {
    static BUILT: std::sync::OnceLock<Vec<std::sync::OnceLock<ValueOptions>>> =
        std::sync::OnceLock::new();
    let grammar = crate::shell::grammar(program)?;
    let built = BUILT.get_or_init(|| {
        (0..crate::shell::grammar_count())
            .map(|_| std::sync::OnceLock::new())
            .collect()
    });
    Some(built[grammar.index].get_or_init(|| {
        let mut options = ValueOptions::default();
        for name in grammar
            .values
            .iter()
            .filter_map(|n| matcher::OptionName::parse(n))
        {
            options.add(&name);
        }
        for name in grammar
            .flags
            .iter()
            .filter_map(|n| matcher::OptionName::parse(n))
        {
            options.add_flag(&name);
        }
        for name in grammar
            .optional
            .iter()
            .filter_map(|n| matcher::OptionName::parse(n))
        {
            options.add_optional(&name);
        }
        if grammar.negatable {
            options.set_negatable();
        }
        options
    }))
}

/// `$TMPDIR` as the caller's shell expands it: its value in the caller's environment
/// (empty when unset, as the shell makes it), for words that are nothing but `$TMPDIR` and
/// a literal rest (`"$TMPDIR/build"`, `${TMPDIR}/x`). A line that sets `TMPDIR` itself
/// keeps such words unknown (a script may change the variable between commands), except
/// by a command's own prefix assignment: bash expands that command's words before it
/// takes effect. `None` when nothing changes.
fn with_caller_tmpdir(analysis: &Analysis, ctx: &Context) -> Option<Analysis> {
    const NAME: &str = "TMPDIR";
    let mentions = |arg: &Arg| !arg.known && arg.text.contains(NAME);
    if !analysis
        .commands
        .iter()
        .any(|c| c.argv.iter().chain(&c.writes).any(mentions))
    {
        return None;
    }
    // Builtins that may change the variable in ways the analysis does not follow (`unset`,
    // a nameref, a sourced file): if one may touch it, no word is trusted.
    let may_change = analysis.commands.iter().any(|c| {
        let name = c.argv[0].text.as_str();
        matches!(name, "source" | ".")
            || (matches!(
                name,
                "unset"
                    | "declare"
                    | "typeset"
                    | "local"
                    | "readonly"
                    | "export"
                    | "read"
                    | "mapfile"
                    | "readarray"
                    | "printf"
                    | "getopts"
                    | "eval"
                    | "let"
            ) && c.argv[1..]
                .iter()
                .any(|a| !a.known || a.text.contains(NAME)))
    });
    // A line that sets the variable anywhere (a function or a loop body may run after the
    // assignment, though read before it), or sets IFS (which splits the value), keeps it
    // unknown everywhere; a command's own prefix assignment of it does not (bash expands
    // the words before it takes effect, and it reaches that command's environment only).
    let set_anywhere = analysis.commands.iter().any(|c| {
        ["IFS", NAME].iter().any(|n| {
            (c.env.set.contains_key(*n) || c.env.unset.contains(*n))
                && !(*n == NAME && c.own_assignments.iter().any(|o| o == NAME))
        })
    });
    if may_change || set_anywhere || !analysis.opaque.is_empty() {
        return None;
    }
    let value = ctx.env.get(NAME).map_or("", String::as_str);
    // A value with characters the shell would split or glob stays unknown.
    if value.contains(|c: char| c.is_whitespace() || "*?[]{}$`\\\"'".contains(c)) {
        return None;
    }
    let expand = |arg: &Arg| -> Option<Arg> {
        // `${TMPDIR:-/tmp}`: the default stands when the value is empty.
        if let Some(after) = arg.text.strip_prefix("${TMPDIR:-")
            && let Some((default, rest)) = after.split_once('}')
            && !format!("{default}{rest}").contains(|c: char| "$`\\\"'*?[{".contains(c))
        {
            let base = if value.is_empty() { default } else { value };
            return Some(Arg::literal(format!("{base}{rest}")));
        }
        let rest = arg.text.strip_prefix("${TMPDIR}").or_else(|| {
            arg.text
                .strip_prefix("$TMPDIR")
                .filter(|r| !r.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
        })?;
        // The rest must be literal text: no other expansion, quote or glob.
        if rest.contains(|c: char| "$`\\\"'*?[{".contains(c)) {
            return None;
        }
        Some(Arg::literal(format!("{value}{rest}")))
    };
    let mut resolved = analysis.clone();
    for command in &mut resolved.commands {
        // A shell some program started expands its words in its own environment.
        let own = command.own_assignments.iter().any(|o| o == NAME);
        if command.nested || (command.env.lookup(NAME).is_some() && !own) {
            continue;
        }
        for arg in command
            .argv
            .iter_mut()
            .skip(1)
            .chain(command.writes.iter_mut())
        {
            if mentions(arg)
                && let Some(known) = expand(arg)
            {
                *arg = known;
            }
        }
    }
    Some(resolved)
}

/// With `CDPATH` in the caller's environment, `cd NAME` may land in any directory it lists
/// (only `/`, `.`, `..` and what starts with `./` or `../` are not searched): where a
/// relative `cd` took a command is then only known at run time. `None` when nothing
/// changes.
fn with_caller_cdpath(analysis: &Analysis, ctx: &Context) -> Option<Analysis> {
    let searched = ctx
        .env
        .get("CDPATH")
        .is_some_and(|path| path.split(':').any(|dir| !dir.is_empty() && dir != "."));
    let lands_anywhere = |command: &Command| {
        command.cwd.as_deref().is_some_and(|dir| {
            !dir.starts_with(['/', '~']) && dir != "." && dir != ".." && !dir.starts_with("../")
        }) && !command.cwd_unknown
    };
    if !searched || !analysis.commands.iter().any(lands_anywhere) {
        return None;
    }
    let mut resolved = analysis.clone();
    for command in &mut resolved.commands {
        if lands_anywhere(command) {
            command.cwd_unknown = true;
        }
    }
    Some(resolved)
}
