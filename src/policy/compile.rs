//! Turns policy sources into a compiled [`Policy`], reporting every problem with its
//! file, line and column.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde_saphyr::{Location, Spanned};
use sha2::{Digest, Sha256};

use super::layers::{self, Layer};
use super::matcher::{InputKind, Matcher, OptionName, ValueOptions, When};
use super::pattern::Pattern;
use super::schema::{ApprovalSpec, FileSpec, MatchSpec, Patterns, RuleSpec};
use super::{Decision, Source};

/// Approval requirements of one rule.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Approval {
    /// `group:NAME` or `user:NAME` entries; any of them may approve.
    pub approvers: Vec<String>,
    /// Distinct approvals needed.
    pub quorum: u32,
    /// How long a request may wait, in seconds.
    pub timeout_seconds: u64,
    /// The requester must give a reason.
    pub reason_required: bool,
    /// A hook may ask the person at the agent's terminal instead of filing a request, when
    /// the service confirms that person may approve (`local_ask: true`).
    #[serde(default)]
    pub local_ask: bool,
    /// Windows, escalation and break-glass.
    #[serde(default)]
    pub workflow: super::Workflow,
}

impl Approval {
    /// What applies when neither a rule nor its file says otherwise.
    pub fn builtin() -> Self {
        Self {
            approvers: vec!["group:reviewers".to_owned()],
            quorum: 1,
            timeout_seconds: 15 * 60,
            reason_required: false,
            local_ask: false,
            workflow: super::Workflow::default(),
        }
    }
}

/// Where a released secret comes from.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// The approval service, with the grant.
    Server,
    /// The OS keyring (or its 0600 file fallback) on this host.
    Keyring,
}

/// One environment variable a rule releases to the command.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct SecretUse {
    /// The variable the command receives.
    pub env: String,
    pub from: SecretSource,
    /// The secret's name in its store.
    pub name: String,
    pub rule: String,
}

/// A compiled rule.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Rule {
    pub id: String,
    pub description: Option<String>,
    pub decision: Decision,
    pub approval: Approval,
    /// Where the rule was defined, as `origin:line:col`.
    pub origin: String,
    pub(super) alternatives: Vec<Matcher>,
    /// Option names used by this rule, which take a value when parsing commands for it.
    pub(super) value_options: ValueOptions,
    /// Example commands: (command, expected to match, location).
    pub tests: Vec<(String, bool, String)>,
    /// The examples run as an AI agent's commands.
    #[serde(default)]
    pub tests_as_agent: bool,
    pub secrets: Vec<SecretUse>,
    /// The layer of the file that defines it.
    #[serde(default)]
    pub layer: Layer,
}

/// One loaded file: its layer, and how many of its rules are in force.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub layer: Layer,
    pub origin: String,
    /// Rules in force.
    pub rules: usize,
    /// Built-in rules left out by `drop:`, or all of a built-in file's under `builtin: false`.
    pub dropped: usize,
}

/// A file's contribution to the global settings.
#[derive(Debug)]
pub(super) struct FileDefaults {
    pub layer: Layer,
    pub default: Decision,
    /// `None`: a built-in file that does not name it, and leaves it to the others.
    pub opaque: Option<Decision>,
    pub approval: Approval,
}

/// A loaded, validated set of policy sources, ready for evaluation.
/// Serialised (JSON) for the compiled-policy cache; see `SourceSet::load`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// Cached apart, one line each (see `Policy::to_cache`).
    #[serde(skip)]
    pub(super) rules: super::rules::Rules,
    /// Rules whose every alternative names literal programs, by program name.
    pub(super) index: HashMap<String, Vec<usize>>,
    /// Rules that must be tried on every command.
    pub(super) general: Vec<usize>,
    /// Rules about agents' tool calls.
    pub(super) tools: Vec<usize>,
    /// How programs read their options, as the library's and the administrator's files
    /// declare it: what their rules read commands with.
    pub(super) programs: HashMap<String, ValueOptions>,
    /// What the user's files declare besides: only the user's and the project's rules read
    /// commands with it, so no user file can change what a command means to a rule above
    /// it (declaring `rm -f` to take a value would make `rm -rf /` pass the library).
    #[serde(default)]
    pub(super) user_programs: HashMap<String, ValueOptions>,
    pub(super) default: (Decision, Approval),
    /// Each layer's default, for the commands none of that layer's rules speak about, in
    /// load order (the administrator's first).
    pub(super) layer_defaults: Vec<(Layer, Decision, Approval)>,
    /// The layer of each rule, in load order.
    pub(super) rule_layers: Vec<Layer>,
    pub(super) opaque: (Decision, Approval),
    digest: String,
    summaries: Vec<Summary>,
    /// Where the built-in library was switched off (`FILE:LINE:COL`).
    builtin_off: Option<String>,
    /// Built-in rules left out by `drop:`, each with where (`FILE:LINE:COL`).
    dropped: BTreeMap<String, String>,
    /// Where an administrator allowed break-glass without the service (`FILE:LINE:COL`).
    #[serde(default)]
    break_glass_offline: Option<String>,
    /// Paths every loaded file asks supervision to keep read-only.
    #[serde(default)]
    protect: Vec<String>,
    /// Some loaded file requires supervision wherever a run should be supervised.
    #[serde(default)]
    require_supervision: bool,
    /// Every variable some rule releases as a secret (kept apart from the rules, which a
    /// cached policy parses only when a command needs them).
    secret_names: Vec<String>,
}

/// One problem found in a policy source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub origin: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.origin, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found while loading policies.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{}", .problems.first().map(ToString::to_string).unwrap_or_default())]
pub struct PolicyError {
    pub problems: Vec<Problem>,
}

struct Compiler<'a> {
    origin: &'a str,
    problems: Vec<Problem>,
}

impl Compiler<'_> {
    fn problem(&mut self, at: Location, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: self.origin.to_owned(),
            line: at.line(),
            column: at.column(),
            message: message.into(),
        });
    }

    fn patterns(&mut self, patterns: &Patterns) -> Vec<Pattern> {
        let mut out = Vec::new();
        for spanned in &patterns.0 {
            match Pattern::new(&spanned.value) {
                Ok(pattern) => out.push(pattern),
                Err(message) => self.problem(spanned.referenced, message),
            }
        }
        out
    }

    fn option_names(&mut self, key: &Spanned<String>) -> Vec<OptionName> {
        let mut names = Vec::new();
        for name in key.value.split('|') {
            match OptionName::parse(name) {
                Some(parsed) => names.push(parsed),
                None => self.problem(
                    key.referenced,
                    format!("invalid option name `{name}` (options start with `-`)"),
                ),
            }
        }
        names
    }

    fn matcher(
        &mut self,
        spec: &MatchSpec,
        at: Location,
        value_options: &mut ValueOptions,
    ) -> Matcher {
        let empty = spec.program.is_none()
            && spec.options.is_none()
            && spec.env.is_none()
            && spec.args.is_none()
            && spec.flags.is_none()
            && spec.any_arg.is_none()
            && spec.writes.is_none()
            && spec.reads.is_none()
            && spec.stdin.is_none()
            && spec.stdin_from.is_none()
            && spec.when.is_none()
            && spec.tool.is_none();
        if empty {
            self.problem(at, "empty match: name at least one condition");
        }
        let command_keys = spec.program.is_some()
            || spec.options.is_some()
            || spec.env.is_some()
            || spec.args.is_some()
            || spec.flags.is_some()
            || spec.any_arg.is_some()
            || spec.writes.is_some()
            || spec.reads.is_some()
            || spec.stdin.is_some()
            || spec.stdin_from.is_some()
            || spec.unless.is_some();
        if spec.tool.is_some() && command_keys {
            self.problem(
                at,
                "`tool` matches an agent's tool calls: it cannot be combined with program, options, env, args, flags, any_arg or unless (use two alternatives)",
            );
        }
        if spec.input.is_some() && spec.tool.is_none() {
            self.problem(
                at,
                "`input` needs `tool`: it matches a tool call's input fields",
            );
        }
        let mut matcher = Matcher::default();
        if let Some(from) = &spec.command_from {
            match from.value.strip_prefix("input.").filter(|f| !f.is_empty()) {
                _ if spec.tool.is_none() => self.problem(
                    from.referenced,
                    "`command_from` needs `tool`: it names the input field of a tool that runs a shell command",
                ),
                Some(field) => matcher.command_from = Some(field.to_owned()),
                None => self.problem(
                    from.referenced,
                    format!(
                        "`command_from: {}`: name the tool's input field as `input.FIELD`",
                        from.value
                    ),
                ),
            }
        }
        if let Some(tool) = &spec.tool {
            matcher.tool = Some(self.patterns(tool));
        }
        for (field, patterns) in spec.input.iter().flat_map(|m| &m.0) {
            let patterns = self.patterns(patterns);
            matcher.input.push((field.value.clone(), patterns));
        }
        if let Some(program) = &spec.program {
            matcher.program = Some(self.patterns(program));
        }
        for (key, patterns) in spec.options.iter().flat_map(|m| &m.0) {
            let names = self.option_names(key);
            for name in &names {
                value_options.add(name);
            }
            let patterns = self.patterns(patterns);
            matcher.options.push((names, patterns));
        }
        for (name, patterns) in spec.env.iter().flat_map(|m| &m.0) {
            let patterns = self.patterns(patterns);
            matcher.env.push((name.value.clone(), patterns));
        }
        if let Some(args) = &spec.args {
            matcher.args = Some(args.iter().map(|p| self.patterns(p)).collect());
        }
        for flag in spec.flags.iter().flatten() {
            let names = self.option_names(flag);
            // What a rule names as a flag, it declares as taking no value.
            for name in &names {
                value_options.add_flag(name);
            }
            matcher.flags.push(names);
        }
        if let Some(any_arg) = &spec.any_arg {
            matcher.any_arg = Some(self.patterns(any_arg));
        }
        if let Some(writes) = &spec.writes {
            matcher.writes = Some(self.patterns(writes));
        }
        if let Some(reads) = &spec.reads {
            matcher.reads = Some(self.patterns(reads));
        }
        if let Some(stdin) = &spec.stdin {
            matcher.stdin = Some(self.patterns(stdin));
        }
        if let Some(kinds) = &spec.stdin_from {
            let mut known = Vec::new();
            for kind in kinds {
                match InputKind::NAMES.iter().find(|(n, _)| *n == kind.value) {
                    Some((_, k)) => known.push(*k),
                    None => self.problem(
                        kind.referenced,
                        format!(
                            "unknown standard input `{}` (use {})",
                            kind.value,
                            InputKind::NAMES.map(|(n, _)| n).join(", ")
                        ),
                    ),
                }
            }
            matcher.stdin_from = Some(known);
        }
        if let Some(when) = &spec.when {
            matcher.when = When {
                user: when.user.as_ref().map(|p| self.patterns(p)),
                host: when.host.as_ref().map(|p| self.patterns(p)),
                cwd: when.cwd.as_ref().map(|p| self.patterns(p)),
                agent: when.agent,
                tty: when.tty,
            };
        }
        if let Some(unless) = &spec.unless {
            for spec in &unless.0 {
                self.no_sql_exemption(spec);
            }
            matcher.unless = unless
                .0
                .iter()
                .map(|spec| self.matcher(spec, at, value_options))
                .collect();
        }
        matcher
    }

    /// A `sql:` pattern matches SQL it cannot read: in `unless`, that would exempt it.
    fn no_sql_exemption(&mut self, spec: &MatchSpec) {
        let lists = spec
            .options
            .iter()
            .flat_map(|m| m.0.iter().map(|(_, p)| p))
            .chain(spec.env.iter().flat_map(|m| m.0.iter().map(|(_, p)| p)))
            .chain(spec.args.iter().flatten())
            .chain(&spec.any_arg)
            .chain(&spec.writes)
            .chain(&spec.stdin);
        for pattern in lists.flat_map(|p| &p.0) {
            if pattern.value.starts_with("sql:") {
                self.problem(
                    pattern.referenced,
                    format!(
                        "`{}` cannot be used in `unless`: unreadable SQL matches it, so it would exempt SQL nobody read (match the SQL to hold in `match`)",
                        pattern.value
                    ),
                );
            }
        }
    }

    fn secrets(&mut self, rule: &RuleSpec) -> Vec<SecretUse> {
        let mut secrets = Vec::new();
        for (env, spec) in rule.secrets.iter().flat_map(|m| &m.0) {
            let valid_name = env
                .value
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && env
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                self.problem(
                    env.referenced,
                    format!("`{}` is not an environment variable name", env.value),
                );
            }
            let from = match spec.from.value.as_str() {
                "server" => SecretSource::Server,
                "keyring" => SecretSource::Keyring,
                other => {
                    self.problem(
                        spec.from.referenced,
                        format!("unknown secret source `{other}` (use `server` or `keyring`)"),
                    );
                    continue;
                }
            };
            if from == SecretSource::Server && rule.decision.value != Decision::Approve {
                self.problem(
                    spec.from.referenced,
                    "a secret `from: server` is released with an approval: the rule's decision must be `approve`",
                );
            }
            if rule.decision.value == Decision::Deny {
                self.problem(env.referenced, "a `deny` rule releases no secrets");
            }
            if spec.name.value.trim().is_empty() {
                self.problem(spec.name.referenced, "secret name must not be empty");
            }
            secrets.push(SecretUse {
                env: env.value.clone(),
                from,
                name: spec.name.value.clone(),
                rule: rule.id.value.clone(),
            });
        }
        secrets
    }

    fn approval(&mut self, spec: Option<&ApprovalSpec>, base: &Approval) -> Approval {
        let mut approval = base.clone();
        let Some(spec) = spec else { return approval };
        if let Some(approvers) = &spec.approvers {
            approval.approvers.clear();
            for approver in approvers {
                let valid = approver.value.split_once(':').is_some_and(|(kind, name)| {
                    matches!(kind, "group" | "user") && !name.is_empty()
                });
                if valid {
                    approval.approvers.push(approver.value.clone());
                } else {
                    self.problem(
                        approver.referenced,
                        format!(
                            "invalid approver `{}` (expected `group:NAME` or `user:NAME`)",
                            approver.value
                        ),
                    );
                }
            }
            if approvers.is_empty() {
                self.problem(Location::UNKNOWN, "approvers must not be empty");
            }
        }
        if let Some(quorum) = &spec.quorum {
            if quorum.value == 0 {
                self.problem(quorum.referenced, "quorum must be at least 1");
            }
            approval.quorum = quorum.value;
        }
        if let Some(timeout) = &spec.timeout {
            match parse_duration(&timeout.value) {
                Ok(seconds) => approval.timeout_seconds = seconds,
                Err(message) => self.problem(timeout.referenced, message),
            }
        }
        if let Some(required) = spec.reason_required {
            approval.reason_required = required;
        }
        if let Some(local) = &spec.local_ask {
            approval.local_ask = local.value;
        }
        self.workflow(spec, &mut approval.workflow);
        let users_only = approval.approvers.iter().all(|a| a.starts_with("user:"));
        if users_only
            && !approval.approvers.is_empty()
            && approval.quorum as usize > approval.approvers.len()
            && let Some(quorum) = &spec.quorum
        {
            {
                self.problem(
                    quorum.referenced,
                    format!(
                        "quorum {} can never be met by {} listed users",
                        approval.quorum,
                        approval.approvers.len()
                    ),
                );
            }
        }
        approval
    }
}

impl Compiler<'_> {
    /// The workflow settings of an `approval:` map over those it inherits.
    fn workflow(&mut self, spec: &ApprovalSpec, workflow: &mut super::Workflow) {
        if let Some(text) = &spec.max_window {
            match parse_duration(&text.value) {
                Ok(seconds) => workflow.max_window_seconds = Some(seconds),
                Err(message) => self.problem(text.referenced, message),
            }
        }
        if let Some(windows) = spec.windows {
            workflow.windows = windows;
        }
        if let Some(allowed) = spec.break_glass {
            workflow.break_glass = allowed;
        }
        if let Some(text) = &spec.review_within {
            match parse_duration(&text.value) {
                Ok(seconds) => workflow.review_within_seconds = Some(seconds),
                Err(message) => self.problem(text.referenced, message),
            }
        }
        let Some(steps) = &spec.escalate else { return };
        workflow.escalate.clear();
        let mut last = 0;
        for step in steps {
            let after = match parse_duration(&step.after.value) {
                Ok(seconds) => seconds,
                Err(message) => {
                    self.problem(step.after.referenced, message);
                    continue;
                }
            };
            if after <= last {
                self.problem(
                    step.after.referenced,
                    "escalation steps must come later one after another",
                );
            }
            last = after;
            let notify = step
                .notify
                .clone()
                .map(|n| n.into_vec())
                .unwrap_or_default();
            let add = step
                .add_approvers
                .clone()
                .map(|n| n.into_vec())
                .unwrap_or_default();
            for approver in notify.iter().chain(&add) {
                let valid = approver.split_once(':').is_some_and(|(kind, name)| {
                    matches!(kind, "group" | "user") && !name.is_empty()
                });
                if !valid {
                    self.problem(
                        step.after.referenced,
                        format!(
                            "invalid approver `{approver}` (expected `group:NAME` or `user:NAME`)"
                        ),
                    );
                }
            }
            if notify.is_empty() && add.is_empty() {
                self.problem(
                    step.after.referenced,
                    "an escalation step needs `notify:` or `add_approvers:`",
                );
            }
            workflow.escalate.push(super::EscalationStep {
                after_seconds: after,
                notify,
                add_approvers: add,
            });
        }
    }
}

/// Parses a duration such as `30s`, `15m`, `2h` or `1h 30m` into whole seconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let duration = jiff::SignedDuration::from_str(text.trim())
        .map_err(|_| format!("invalid duration `{text}` (examples: 30s, 15m, 2h)"))?;
    let seconds = duration.as_secs();
    if seconds <= 0 {
        return Err(format!("duration `{text}` must be at least one second"));
    }
    Ok(seconds.unsigned_abs())
}

fn yaml_problem(origin: &str, error: &serde_saphyr::Error) -> Problem {
    let (line, column, message) = crate::yaml::error_parts(error);
    Problem {
        origin: origin.to_owned(),
        line,
        column,
        message,
    }
}

impl Policy {
    /// Loads and validates `sources`, in order, as one layer. Every problem is reported,
    /// not just the first.
    pub fn load(sources: &[Source]) -> Result<Policy, PolicyError> {
        let files: Vec<(Layer, &Source)> = sources.iter().map(|s| (Layer::User, s)).collect();
        Policy::load_layers(&files)
    }

    /// Loads and validates the files of every layer (see [`layers`]): each layer's rules
    /// apply, the strictest decision wins.
    pub fn load_layers(sources: &[(Layer, &Source)]) -> Result<Policy, PolicyError> {
        let mut sources = sources.to_vec();
        sources.sort_by_key(|(layer, _)| layer.load_rank());
        let mut problems = Vec::new();
        let parsed: Vec<(Layer, &Source, Result<FileSpec, Problem>)> = sources
            .iter()
            .map(|(layer, source)| {
                let spec = serde_saphyr::from_str::<FileSpec>(&source.text)
                    .map_err(|error| yaml_problem(&source.origin, &error));
                (*layer, *source, spec)
            })
            .collect();
        let with_library = parsed.iter().any(|(l, _, _)| *l == Layer::Builtin);
        let plan = {
            let view: Vec<(Layer, &Source, Option<&FileSpec>)> = parsed
                .iter()
                .map(|(l, s, spec)| (*l, *s, spec.as_ref().ok()))
                .collect();
            layers::plan(&view, with_library)
        };
        problems.extend(plan.problems);
        let mut rules: Vec<Rule> = Vec::new();
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        let mut programs: HashMap<String, ValueOptions> = HashMap::new();
        let mut user_programs: HashMap<String, ValueOptions> = HashMap::new();
        let mut files = Vec::new();
        let mut protect: Vec<String> = Vec::new();
        let mut require_supervision = false;
        let mut summaries = Vec::new();
        let mut hasher = Sha256::new();
        for (layer, source, spec) in parsed {
            let summary = |rules, dropped| Summary {
                layer,
                origin: source.origin.clone(),
                rules,
                dropped,
            };
            if layer == Layer::Builtin && plan.builtin_off.is_some() {
                let count = spec.as_ref().map_or(0, |s| s.rules.len());
                summaries.push(summary(0, count));
                continue;
            }
            hasher.update(source.origin.as_bytes());
            hasher.update([0]);
            hasher.update((source.text.len() as u64).to_be_bytes());
            hasher.update(source.text.as_bytes());
            let spec = match spec {
                Ok(spec) => spec,
                Err(problem) => {
                    problems.push(problem);
                    summaries.push(summary(0, 0));
                    continue;
                }
            };
            let mut compiler = Compiler {
                origin: &source.origin,
                problems: Vec::new(),
            };
            if spec.version.value != 1 {
                compiler.problem(
                    spec.version.referenced,
                    format!(
                        "unsupported policy version {} (this gatekeep reads version 1)",
                        spec.version.value
                    ),
                );
            }
            let file_approval = compiler.approval(spec.approval.as_ref(), &Approval::builtin());
            protect.extend(spec.protect.iter().map(|p| p.value.clone()));
            require_supervision |= spec.require_supervision;
            files.push(FileDefaults {
                layer,
                default: spec.default.as_ref().map_or(Decision::Allow, |d| d.value),
                // A project's file speaks about `opaque` only when it names it.
                opaque: match (&spec.opaque, layer) {
                    (Some(d), _) => Some(d.value),
                    (None, Layer::Builtin | Layer::Project) => None,
                    (None, _) => Some(Decision::Approve),
                },
                approval: file_approval.clone(),
            });
            let table = match layer {
                Layer::Builtin | Layer::Admin => &mut programs,
                Layer::User | Layer::Project => &mut user_programs,
            };
            for (name, program) in spec.programs.iter().flat_map(|m| &m.0) {
                let entry = table.entry(name.value.clone()).or_default();
                let options = program.value_options.iter().map(|o| (o, false));
                for (option, flag) in options.chain(program.flags.iter().map(|o| (o, true))) {
                    match OptionName::parse(&option.value) {
                        Some(parsed) if flag => entry.add_flag(&parsed),
                        Some(parsed) => entry.add(&parsed),
                        None => compiler.problem(
                            option.referenced,
                            format!(
                                "invalid option name `{}` (options start with `-`)",
                                option.value
                            ),
                        ),
                    }
                }
            }
            let mut count = 0;
            let mut dropped = 0;
            for rule in &spec.rules {
                if layer == Layer::Builtin && plan.dropped.contains_key(&rule.id.value) {
                    dropped += 1;
                    continue;
                }
                count += 1;
                let at = rule.id.referenced;
                let origin = format!("{}:{}:{}", source.origin, at.line(), at.column());
                if rule.id.value.trim().is_empty() {
                    compiler.problem(at, "rule id must not be empty");
                }
                if rule.id.value.starts_with('<') {
                    // `<default>` and `<opaque>` name the defaults in evaluations and
                    // approval requirements; a rule by that name would stand in for them.
                    compiler.problem(
                        at,
                        format!(
                            "rule id `{}` is reserved (ids starting with `<` name the defaults)",
                            rule.id.value
                        ),
                    );
                }
                if layer == Layer::Project
                    && let Some(by) = plan.dropped.get(&rule.id.value)
                {
                    // The id is the administrator's or user's to reuse for the rule
                    // they replace it with.
                    compiler.problem(
                        at,
                        format!(
                            "rule id `{}` is a built-in rule dropped at {by}: a project policy cannot take its id",
                            rule.id.value
                        ),
                    );
                }
                if let Some(first) = ids.insert(rule.id.value.clone(), origin.clone()) {
                    compiler.problem(
                        at,
                        format!(
                            "duplicate rule id `{}` (first defined at {first})",
                            rule.id.value
                        ),
                    );
                }
                let mut value_options = ValueOptions::default();
                let alternatives: Vec<Matcher> = rule
                    .matcher
                    .value
                    .0
                    .iter()
                    .map(|spec| compiler.matcher(spec, rule.matcher.referenced, &mut value_options))
                    .collect();
                if alternatives.is_empty() {
                    compiler.problem(rule.matcher.referenced, "empty match list");
                }
                let approval = compiler.approval(rule.approval.as_ref(), &file_approval);
                let tool_rule = alternatives.iter().any(|a| a.tool.is_some());
                let mut tests = Vec::new();
                if let Some(spec) = &rule.tests {
                    for (list, expected) in [(&spec.matches, true), (&spec.no_match, false)] {
                        for example in list {
                            let at = example.referenced;
                            if tool_rule && ToolCall::parse(&example.value).is_err() {
                                compiler.problem(
                                    at,
                                    r#"examples of a tool rule are JSON tool calls: {"tool_name": "Write", "tool_input": {...}}"#,
                                );
                            }
                            tests.push((
                                example.value.clone(),
                                expected,
                                format!("{}:{}:{}", source.origin, at.line(), at.column()),
                            ));
                        }
                    }
                }
                let secrets = compiler.secrets(rule);
                rules.push(Rule {
                    id: rule.id.value.clone(),
                    description: rule.description.clone(),
                    decision: rule.decision.value,
                    approval,
                    origin,
                    alternatives,
                    value_options,
                    tests,
                    tests_as_agent: rule.tests.as_ref().is_some_and(|t| t.agent),
                    secrets,
                    layer,
                });
            }
            summaries.push(summary(count, dropped));
            problems.extend(compiler.problems);
        }
        if !problems.is_empty() {
            return Err(PolicyError { problems });
        }
        let mut index: HashMap<String, Vec<usize>> = HashMap::new();
        let mut general = Vec::new();
        let mut tools = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.alternatives.iter().any(|a| a.tool.is_some()) {
                tools.push(i);
            }
            if rule.alternatives.iter().all(|a| a.tool.is_some()) {
                continue;
            }
            match rule.literal_programs() {
                Some(names) => {
                    for name in names {
                        let slot = index.entry(name).or_default();
                        if slot.last() != Some(&i) {
                            slot.push(i);
                        }
                    }
                }
                None => general.push(i),
            }
        }
        let pick = |select: fn(&FileDefaults) -> Decision, fallback: Decision| {
            // The strictest wins; among equals, the first file (max_by_key keeps the last).
            files.iter().rev().max_by_key(|f| select(f)).map_or_else(
                || (fallback, Approval::builtin()),
                |f| (select(f), f.approval.clone()),
            )
        };
        let default = pick(|f| f.default, Decision::Allow);
        // The library does not name `opaque`, so a user's `opaque: supervise` holds with
        // it; without an administrator's or user's file the fallback `approve` stands, and
        // a project's file can only raise it.
        let fallback = !files
            .iter()
            .any(|f| matches!(f.layer, Layer::Admin | Layer::User));
        // The strictest decision of any layer, but another layer's approval settings: a
        // project's `approval:` is for its own rules and default, never for what nobody
        // could analyse.
        let builtin_approval = Approval::builtin();
        let candidates: Vec<(Decision, &Approval, Layer)> = files
            .iter()
            .filter_map(|f| Some((f.opaque?, &f.approval, f.layer)))
            .chain(fallback.then_some((Decision::Approve, &builtin_approval, Layer::Builtin)))
            .collect();
        let decision = candidates
            .iter()
            .map(|(d, _, _)| *d)
            .max()
            .unwrap_or(Decision::Approve);
        // Among equals, the first file's (max_by_key keeps the last).
        let approval = candidates
            .iter()
            .filter(|(_, _, layer)| *layer != Layer::Project)
            .rev()
            .max_by_key(|(d, _, _)| *d)
            .map_or_else(Approval::builtin, |(_, approval, _)| (*approval).clone());
        let opaque = (decision, approval);
        let mut layer_defaults: Vec<(Layer, Decision, Approval)> = Vec::new();
        for file in &files {
            match layer_defaults.iter_mut().find(|(l, _, _)| *l == file.layer) {
                // The strictest of the layer's files; among equals, the first.
                Some(slot) if file.default > slot.1 => {
                    *slot = (file.layer, file.default, file.approval.clone());
                }
                Some(_) => {}
                None => layer_defaults.push((file.layer, file.default, file.approval.clone())),
            }
        }
        let rule_layers = rules.iter().map(|r| r.layer).collect();
        let mut secret_names: Vec<String> = rules
            .iter()
            .flat_map(|r| r.secrets.iter().map(|s| s.env.clone()))
            .collect();
        secret_names.sort();
        secret_names.dedup();
        Ok(Policy {
            secret_names,
            rules: super::rules::Rules::new(rules),
            index,
            general,
            tools,
            programs,
            user_programs,
            default,
            layer_defaults,
            rule_layers,
            opaque,
            digest: hex::encode(hasher.finalize()),
            summaries,
            builtin_off: plan.builtin_off,
            dropped: plan.dropped,
            break_glass_offline: plan.break_glass_offline,
            protect,
            require_supervision,
        })
    }

    /// All rules, in load order.
    pub fn rules(&self) -> &super::rules::Rules {
        &self.rules
    }

    /// SHA-256 over every loaded source (origin, length and bytes), lowercase hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Each source: its layer and the number of its rules in force.
    pub fn summaries(&self) -> &[Summary] {
        &self.summaries
    }

    /// Where the built-in library was switched off (`FILE:LINE:COL` of `builtin: false`).
    pub fn builtin_off(&self) -> Option<&str> {
        self.builtin_off.as_deref()
    }

    /// Where an administrator allowed a person to break glass while the approval service
    /// cannot be reached (`FILE:LINE:COL`), if one did.
    pub fn break_glass_offline(&self) -> Option<&str> {
        self.break_glass_offline.as_deref()
    }

    /// Where built-in rule `id` was dropped, when it was.
    pub fn dropped(&self, id: &str) -> Option<&str> {
        self.dropped.get(id).map(String::as_str)
    }

    /// The layer of rule `id`.
    pub fn rule_layer(&self, id: &str) -> Option<Layer> {
        let index = self.rules.ids().iter().position(|i| i == id)?;
        self.rule_layers.get(index).copied()
    }

    /// The paths the policies ask supervision to keep read-only, `~/` expanded with `home`.
    pub fn protected(&self, home: Option<&str>) -> Vec<std::path::PathBuf> {
        self.protect
            .iter()
            .filter_map(|p| match (p.strip_prefix("~/"), home) {
                (Some(rest), Some(home)) => Some(std::path::Path::new(home).join(rest)),
                (Some(_), None) => None,
                (None, _) => Some(std::path::PathBuf::from(p)),
            })
            .collect()
    }

    /// Whether a policy requires supervision where a run should be supervised.
    pub fn require_supervision(&self) -> bool {
        self.require_supervision
    }

    /// Who approves, and how long a request waits, where no rule says (those of `opaque`): never a
    /// project's, whose `approval:` is for its own rules only.
    pub fn default_approval(&self) -> &Approval {
        &self.opaque.1
    }

    /// The decision when no rule matches, and for commands that cannot be analysed.
    pub fn defaults(&self) -> (Decision, Decision) {
        (self.default.0, self.opaque.0)
    }

    /// Literal program names the rules mention (for recognising hard links).
    /// Every variable some rule releases as a secret.
    pub fn secret_env_names(&self) -> Vec<String> {
        self.secret_names.clone()
    }

    /// The environment variables the rules `ids` name in their conditions (`env:`, in a
    /// match or an `unless`).
    pub fn env_names(&self, ids: &[&str]) -> Vec<String> {
        self.env_names_where(ids, |_| true)
    }

    /// Of `env_names`, those only project rules name: a repository's file may make a
    /// variable's value count, but never carry it to the service in clear.
    pub fn project_env_names(&self, ids: &[&str]) -> Vec<String> {
        let others = self.env_names_where(ids, |layer| layer != Layer::Project);
        self.env_names_where(ids, |layer| layer == Layer::Project)
            .into_iter()
            .filter(|name| !others.contains(name))
            .collect()
    }

    fn env_names_where(&self, ids: &[&str], of: impl Fn(Layer) -> bool) -> Vec<String> {
        fn walk(matcher: &Matcher, out: &mut Vec<String>) {
            out.extend(matcher.env.iter().map(|(name, _)| name.clone()));
            for unless in &matcher.unless {
                walk(unless, out);
            }
        }
        let mut names = Vec::new();
        for rule in ids
            .iter()
            .filter_map(|id| self.rules.find(id))
            .filter(|rule| of(rule.layer))
        {
            for alternative in &rule.alternatives {
                walk(alternative, &mut names);
            }
        }
        names.sort();
        names.dedup();
        names
    }

    pub fn program_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.index.keys().cloned().collect();
        names.sort();
        names
    }
}

/// An agent's tool call, as written in the examples of tool rules.
#[derive(Debug, serde::Deserialize)]
pub struct ToolCall {
    pub tool_name: String,
    #[serde(default)]
    pub tool_input: serde_json::Value,
}

impl ToolCall {
    /// Reads `{"tool_name": …, "tool_input": {…}}`.
    pub fn parse(text: &str) -> Result<ToolCall, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Rule {
    /// Whether the rule is about agents' tool calls rather than commands.
    pub fn is_tool_rule(&self) -> bool {
        self.alternatives.iter().any(|a| a.tool.is_some())
    }

    /// The literal program names of every alternative, or `None` when some alternative could
    /// match other programs.
    fn literal_programs(&self) -> Option<Vec<String>> {
        let mut names = Vec::new();
        for alternative in self.alternatives.iter().filter(|a| a.tool.is_none()) {
            let program = alternative.program.as_ref()?;
            for pattern in program {
                names.push(
                    pattern
                        .literal()
                        .filter(|name| !name.contains('/'))?
                        .to_owned(),
                );
            }
        }
        Some(names)
    }
}
