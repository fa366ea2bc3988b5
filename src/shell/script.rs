//! Walks a parsed shell program and collects every simple command it may run.

use std::collections::BTreeMap;

use brush_parser::ast::{
    self, CommandPrefixOrSuffixItem, CompoundCommand, CompoundList, IoFileRedirectTarget,
    IoRedirect,
};
use brush_parser::{ParserOptions, word};

use super::words::{self, Mode};
use super::wrappers::{self, Edit, Step};
use super::{Analysis, Arg, CODE_LOADING_VARIABLES, Command, EnvChange, Input, Resolve};

/// How deeply wrappers and nested scripts may go before the analysis gives up.
const MAX_DEPTH: usize = 24;

/// Builtins that never look a program up in PATH.
const SHELL_BUILTINS: &[&str] = &[
    "export", "declare", "typeset", "local", "readonly", "unset", "cd", "pushd", "popd", "echo",
    "printf", "true", "false", ":", "test", "[", "read", "set", "shift", "return", "exit", "break",
    "continue", "let", "wait", "umask", "ulimit", "shopt", "type",
];

/// Variables that, set in a command line, make it opaque: besides
/// [`CODE_LOADING_VARIABLES`], those of other tools that load code, and gatekeep's own.
const HIJACK_VARIABLES: &[&str] = &[
    // gatekeep's own: they swap the policies a wrapped `gatekeep run` applies.
    "GATEKEEP_POLICY",
    "GATEKEEP_CONFIG",
    "GATEKEEP_TEST_ADMIN_POLICY_DIR",
    // Other tools' hooks, and the dynamic loader's.
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_CONFIG_COUNT",
    "GIT_PROXY_COMMAND",
    "KUBE_EDITOR",
    "SUDO_EDITOR",
    "BROWSER",
    "SHELL",
    "MAKEFLAGS",
    "TAR_OPTIONS",
    "PYTHONUSERBASE",
    "PYTHONHOME",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "BASH_FUNC",
    "DYLD_INSERT_LIBRARIES",
    // Database clients' start-up files, pagers and editors: SQL or programs nobody sees.
    "PSQLRC",
    "PSQL_PAGER",
    "PSQL_WATCH_PAGER",
    "PSQL_EDITOR",
    "MYSQL_HOME",
];

/// Variables whose value is a command line a program runs through the shell (with
/// arguments of its own after it): a known value is analysed like any other command
/// instead of making the line opaque.
const COMMAND_VARIABLES: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_PAGER",
    "GIT_EXTERNAL_DIFF",
    "GIT_PROXY_COMMAND",
    "KUBE_EDITOR",
    "SUDO_EDITOR",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "RSYNC_RSH",
    "AWS_PAGER",
    "SUDO_ASKPASS",
    "KUBECTL_EXTERNAL_DIFF",
];

/// The context a command inherits from the wrappers and shells around it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Frame {
    user: Option<String>,
    host: Option<String>,
    cwd: Option<String>,
    env: EnvChange,
    stdin_args: bool,
    /// Standard input given by a redirection or pipe around the command.
    stdin: Option<Input>,
    depth: usize,
    /// The words being read are a script some program runs, not the line itself.
    nested: bool,
    /// The depth at which `cwd` was set.
    cwd_depth: usize,
    /// What flows into the commands read here (see [`Command::reads`]).
    reads: Vec<Arg>,
}

impl Frame {
    fn apply(&self, edit: Edit) -> Frame {
        let mut next = self.clone();
        next.depth += 1;
        if edit.user.is_some() {
            next.user = edit.user;
        }
        if edit.host.is_some() {
            next.host = edit.host;
            next.env = EnvChange::default();
        }
        if edit.cwd.is_some() {
            next.cwd = edit.cwd;
            next.cwd_depth = next.depth;
        }
        if edit.clear_env {
            next.env = EnvChange {
                cleared: true,
                ..EnvChange::default()
            };
        }
        for name in edit.unset {
            next.env.set.remove(&name);
            next.env.unset.insert(name);
        }
        next.env.set.extend(edit.set);
        next.stdin_args |= edit.stdin_args;
        next
    }
}

pub(crate) struct Analyzer<'r> {
    resolver: &'r dyn Resolve,
    commands: Vec<Command>,
    opaque: Vec<String>,
    /// Variables assigned by the script; they may be exported to later commands.
    assigned: BTreeMap<String, Arg>,
    /// The prefix assignments of the simple command about to be recorded (see
    /// [`Command::own_assignments`]).
    pending_prefix: Vec<String>,
    /// The line sets `CDPATH`: a relative `cd` may land anywhere it lists.
    cdpath: bool,
    /// Where `cd` has taken the script: `None` the caller's directory, `Some(None)` somewhere
    /// only known at run time, `Some(Some(dir))` a known directory (relative to the caller's
    /// when not absolute).
    script_cwd: Option<Option<String>>,
    /// Arithmetic evaluation happens somewhere (it expands `$(…)` hidden in variables).
    arithmetic: bool,
    /// Some literal data contains command-substitution syntax.
    code_in_data: bool,
    /// Files written and configuration changed by the commands so far.
    state: super::state::LineState,
    /// Output redirections of the simple command being read, for the command it records.
    redirected: Vec<Arg>,
    /// Input redirections and what command substitutions read, for the simple command
    /// being read.
    fed: Vec<Arg>,
    /// Functions whose bodies are being read, innermost last.
    defining: Vec<String>,
    /// The functions the line defines, to read again where they are called.
    functions: BTreeMap<String, ast::FunctionBody>,
    /// The directories `pushd` left behind, as `script_cwd` values.
    directories: Vec<Option<Option<String>>>,
    /// The depth of the script `script_cwd` belongs to.
    script_depth: usize,
    /// Standard input given to the shell itself (`exec < FILE`), for every later command.
    shell_stdin: Option<Input>,
    /// Files the shell itself opened for reading (`exec 3< FILE`): any later command may
    /// read them through the descriptor.
    shell_reads: Vec<Arg>,
}

impl<'r> Analyzer<'r> {
    pub(crate) fn new(resolver: &'r dyn Resolve) -> Self {
        Self {
            resolver,
            commands: Vec::new(),
            opaque: Vec::new(),
            assigned: BTreeMap::new(),
            pending_prefix: Vec::new(),
            cdpath: false,
            script_cwd: None,
            arithmetic: false,
            code_in_data: false,
            state: super::state::LineState::default(),
            redirected: Vec::new(),
            fed: Vec::new(),
            defining: Vec::new(),
            functions: BTreeMap::new(),
            directories: Vec::new(),
            script_depth: 0,
            shell_stdin: None,
            shell_reads: Vec::new(),
        }
    }

    pub(crate) fn finish(mut self) -> Analysis {
        if self.arithmetic && self.code_in_data {
            self.opaque.push(
                "arithmetic evaluation may run command substitutions hidden in data".to_owned(),
            );
        }
        self.opaque.dedup();
        Analysis {
            commands: self.commands,
            opaque: self.opaque,
        }
    }

    fn opaque(&mut self, reason: String) {
        self.opaque.push(reason);
    }

    pub(crate) fn script(&mut self, source: &str, frame: &Frame) {
        if frame.depth > MAX_DEPTH {
            self.opaque("commands are nested too deeply".to_owned());
            return;
        }
        if too_nested(source) {
            self.opaque(format!(
                "the script `{}` is too large or too deeply nested to analyse",
                abbreviate(source)
            ));
            return;
        }
        // Control characters other than tab and newline have no place in a command line,
        // and some (a carriage return after `<<`) send the parser's tokenizer into an
        // endless loop that eats memory (found by fuzzing).
        if source
            .chars()
            .any(|c| c.is_ascii_control() && c != '\t' && c != '\n')
        {
            self.opaque(format!(
                "the script `{}` contains control characters",
                abbreviate(source).escape_debug()
            ));
            return;
        }
        let options = ParserOptions::default();
        let mut parser = brush_parser::Parser::new(source.as_bytes(), &options);
        match parser.parse_program() {
            Ok(program) => {
                let mut frame = Frame {
                    depth: frame.depth + 1,
                    // Only the line itself is read at depth 0.
                    nested: frame.nested || frame.depth > 0,
                    ..frame.clone()
                };
                // A script some program runs is another shell: it starts in the directory
                // its program gives it (a wrapper's, or where the line was), and its own
                // `cd` decides for its commands and goes no further.
                let outer = (
                    self.script_cwd.clone(),
                    self.directories.clone(),
                    self.script_depth,
                );
                if frame.depth > 1 {
                    match (&frame.cwd, &outer.0) {
                        (Some(_), _) | (None, None) => self.script_cwd = None,
                        (None, Some(Some(dir))) => {
                            frame.cwd = Some(dir.clone());
                            frame.cwd_depth = frame.depth;
                            self.script_cwd = None;
                        }
                        (None, Some(None)) => {}
                    }
                    self.directories.clear();
                    self.script_depth = frame.depth;
                }
                for list in &program.complete_commands {
                    self.list(list, &frame);
                }
                if frame.depth > 1 {
                    (self.script_cwd, self.directories, self.script_depth) = outer;
                }
            }
            Err(error) => self.opaque(format!(
                "cannot parse the shell script `{}`: {error}",
                abbreviate(source)
            )),
        }
    }

    fn list(&mut self, list: &CompoundList, frame: &Frame) {
        for item in &list.0 {
            let before = self.script_cwd.clone();
            for (_, pipeline) in item.0.iter() {
                // Each stage reads what the stages before it read and named, and what
                // the stage before it writes.
                let mut stage = frame.clone();
                let mut piped: Option<Input> = None;
                // The stages of a pipeline run in subshells: a `cd` there stays there.
                let subshells = pipeline.seq.len() > 1;
                for command in &pipeline.seq {
                    let start = self.commands.len();
                    let cwd = self.script_cwd.clone();
                    let here = match piped.take() {
                        Some(input) => Frame {
                            stdin: Some(input),
                            ..stage.clone()
                        },
                        None => stage.clone(),
                    };
                    self.node(command, &here);
                    if subshells {
                        self.script_cwd = cwd;
                    }
                    piped = Some(super::input::output_of(&self.commands[start..]));
                    let upstream = flowing(&self.commands[start..]);
                    stage.reads.extend(upstream);
                }
            }
            // A change of directory that may not have happened (a `cd` that fails, one
            // after `&&` or `||`, in a branch not taken) leaves the line in one of two
            // directories: unknown, unless the first is the caller's own (then the commands
            // after it stay where the caller would have them anyway).
            if self.script_cwd != before && before.is_some() {
                self.script_cwd = Some(None);
            }
        }
    }

    fn node(&mut self, command: &ast::Command, frame: &Frame) {
        match command {
            ast::Command::Simple(simple) => self.simple(simple, frame),
            ast::Command::Compound(compound, redirects) => {
                // `{ …; } < FILE`: the body reads the file, on its standard input.
                let mut body = frame.clone();
                for redirect in redirects.iter().flat_map(|r| &r.0) {
                    if let IoRedirect::File(
                        _,
                        ast::IoFileRedirectKind::Read,
                        IoFileRedirectTarget::Filename(word),
                    ) = redirect
                    {
                        body.reads
                            .extend(words::expand(&word.value, Mode::Single).args);
                    }
                }
                if let Some(input) = super::input::redirected(redirects.iter().flat_map(|r| &r.0)) {
                    body.stdin = Some(input);
                }
                let start = self.commands.len();
                self.compound(compound, &body);
                self.block_redirects(start, redirects.iter().flat_map(|r| &r.0), frame);
            }
            ast::Command::Function(function) => {
                // The body is judged where it is defined (a shell that stays open, an
                // agent's, may call it from a later line that looks harmless on its own),
                // and again where the line calls it, in the directory and state of then.
                self.functions
                    .insert(function.fname.value.clone(), function.body.clone());
                self.defining.push(function.fname.value.clone());
                // Defining a function moves nowhere: a `cd` in it counts where it is called.
                let (cwd, directories) = (self.script_cwd.clone(), self.directories.clone());
                let start = self.commands.len();
                self.compound(&function.body.0, frame);
                self.block_redirects(start, function.body.1.iter().flat_map(|r| &r.0), frame);
                (self.script_cwd, self.directories) = (cwd, directories);
                self.defining.pop();
            }
            ast::Command::ExtendedTest(test, redirects) => {
                self.arithmetic = true;
                let start = self.commands.len();
                self.test_expr(&test.expr, frame);
                self.block_redirects(start, redirects.iter().flat_map(|r| &r.0), frame);
            }
        }
    }

    /// The redirections of a block (`{ …; } > FILE`, a loop, a test, a function's body):
    /// every command recorded in it writes their targets, as bash opens them for the
    /// whole block. A block that records no command still opens them.
    fn block_redirects<'a>(
        &mut self,
        start: usize,
        redirects: impl Iterator<Item = &'a IoRedirect>,
        frame: &Frame,
    ) {
        let pending = std::mem::take(&mut self.redirected);
        self.redirects(redirects, frame);
        let targets = std::mem::replace(&mut self.redirected, pending);
        if targets.is_empty() {
            return;
        }
        if self.commands.len() == start {
            self.record_redirection_only(targets, frame);
        } else {
            for command in &mut self.commands[start..] {
                command.writes.extend(targets.iter().cloned());
            }
        }
    }

    /// A redirection with no command (`> FILE`, an empty block's): the shell opens, and
    /// creates or truncates, its targets. Recorded as the null command `:` writing them.
    fn record_redirection_only(&mut self, targets: Vec<Arg>, frame: &Frame) {
        self.redirected = targets;
        self.command(vec![Arg::literal(":")], frame.clone());
    }

    fn compound(&mut self, compound: &CompoundCommand, frame: &Frame) {
        match compound {
            CompoundCommand::BraceGroup(group) => self.list(&group.list, frame),
            CompoundCommand::Subshell(subshell) => {
                let cwd = self.script_cwd.clone();
                self.list(&subshell.list, frame);
                self.script_cwd = cwd;
            }
            CompoundCommand::ForClause(clause) => {
                for value in clause.values.iter().flatten() {
                    self.expand(&value.value, Mode::Command, frame);
                }
                // The loop variable takes each value in turn: which one a command sees is
                // known only at run time.
                self.unknown_variable(&clause.variable_name);
                self.loop_body(&clause.body.list, frame);
            }
            CompoundCommand::ArithmeticForClause(clause) => {
                self.arithmetic_text(
                    [&clause.initializer, &clause.condition, &clause.updater]
                        .into_iter()
                        .flatten()
                        .map(|e| e.value.as_str()),
                    frame,
                );
                self.loop_body(&clause.body.list, frame);
            }
            CompoundCommand::CaseClause(clause) => {
                self.expand(&clause.value.value, Mode::Single, frame);
                for case in &clause.cases {
                    for pattern in &case.patterns {
                        self.expand(&pattern.value, Mode::Single, frame);
                    }
                    if let Some(body) = &case.cmd {
                        self.list(body, frame);
                    }
                }
            }
            CompoundCommand::IfClause(clause) => {
                self.list(&clause.condition, frame);
                self.list(&clause.then, frame);
                for branch in clause.elses.iter().flatten() {
                    if let Some(condition) = &branch.condition {
                        self.list(condition, frame);
                    }
                    self.list(&branch.body, frame);
                }
            }
            CompoundCommand::WhileClause(clause) | CompoundCommand::UntilClause(clause) => {
                self.list(&clause.0, frame);
                self.loop_body(&clause.1.list, frame);
            }
            CompoundCommand::Arithmetic(arithmetic) => {
                self.arithmetic_text([arithmetic.expr.value.as_str()].into_iter(), frame)
            }
            CompoundCommand::Coprocess(coprocess) => self.node(&coprocess.body, frame),
        }
    }

    /// A loop's body: read once, and again when the first pass changed the directory or
    /// the line's state, as the next pass starts there.
    fn loop_body(&mut self, body: &CompoundList, frame: &Frame) {
        let (cwd, state) = (self.script_cwd.clone(), self.state.clone());
        self.list(body, frame);
        if self.script_cwd != cwd {
            // Each pass may move again: where the later ones run is unknown.
            self.script_cwd = Some(None);
        }
        if self.script_cwd != cwd || self.state != state {
            self.list(body, frame);
        }
    }

    /// Arithmetic commands: their command substitutions run first. Bash also reads
    /// `( (cmd) )` as nested subshells where the parser may see `((`, so the text is
    /// analysed as commands too (for real arithmetic that finds only harmless words).
    fn arithmetic_text<'a>(&mut self, texts: impl Iterator<Item = &'a str>, frame: &Frame) {
        self.arithmetic = true;
        for text in texts {
            let mut expansion = words::Expansion::default();
            words::arithmetic_substitutions(text, &mut expansion);
            self.opaque.extend(expansion.opaque);
            for script in &expansion.substitutions {
                self.script(script, frame);
            }
            self.script_quietly(text, frame);
        }
    }

    /// Analyses `source` as commands if it parses; says nothing when it does not.
    fn script_quietly(&mut self, source: &str, frame: &Frame) {
        let options = ParserOptions::default();
        if let Ok(program) = brush_parser::Parser::new(source.as_bytes(), &options).parse_program()
        {
            let frame = Frame {
                depth: frame.depth + 1,
                ..frame.clone()
            };
            for list in &program.complete_commands {
                self.list(list, &frame);
            }
        }
    }

    fn test_expr(&mut self, expr: &ast::ExtendedTestExpr, frame: &Frame) {
        match expr {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.test_expr(a, frame);
                self.test_expr(b, frame);
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
                self.test_expr(a, frame)
            }
            ast::ExtendedTestExpr::UnaryTest(_, word) => {
                self.expand(&word.value, Mode::Single, frame);
            }
            ast::ExtendedTestExpr::BinaryTest(_, left, right) => {
                self.expand(&left.value, Mode::Single, frame);
                self.expand(&right.value, Mode::Single, frame);
            }
        }
    }

    fn redirects<'a>(&mut self, redirects: impl Iterator<Item = &'a IoRedirect>, frame: &Frame) {
        use brush_parser::ast::IoFileRedirectKind as Kind;
        let cwd = frame
            .cwd
            .clone()
            .or_else(|| self.script_cwd.clone().flatten());
        for redirect in redirects {
            match redirect {
                IoRedirect::File(_, kind, target) => match target {
                    IoFileRedirectTarget::Filename(word) => {
                        let targets = self.expand(&word.value, Mode::Single, frame);
                        if matches!(kind, Kind::Read | Kind::ReadAndWrite) {
                            self.fed.extend(targets.iter().cloned());
                        }
                        if matches!(
                            kind,
                            Kind::Write | Kind::Append | Kind::Clobber | Kind::ReadAndWrite
                        ) {
                            for target in &targets {
                                self.state.wrote(target, cwd.as_deref());
                            }
                            self.redirected.extend(targets);
                        }
                    }
                    IoFileRedirectTarget::Duplicate(word) => {
                        self.expand(&word.value, Mode::Single, frame);
                    }
                    IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                        let start = self.commands.len();
                        self.list(&subshell.list, frame);
                        let read = flowing(&self.commands[start..]);
                        self.fed.extend(read);
                    }
                    IoFileRedirectTarget::Fd(_) => {}
                },
                IoRedirect::HereDocument(_, doc) => {
                    if doc.requires_expansion {
                        self.heredoc(&doc.doc.value, frame);
                    }
                }
                IoRedirect::HereString(_, word) => {
                    self.expand(&word.value, Mode::Single, frame);
                }
                IoRedirect::OutputAndError(word, _) => {
                    for target in self.expand(&word.value, Mode::Single, frame) {
                        self.state.wrote(&target, cwd.as_deref());
                        self.redirected.push(target);
                    }
                }
            }
        }
    }

    fn heredoc(&mut self, body: &str, frame: &Frame) {
        let options = ParserOptions::default();
        match word::parse_heredoc(body, &options) {
            Ok(pieces) => {
                let mut scripts = Vec::new();
                collect_substitutions(&pieces, &mut scripts);
                for script in scripts {
                    let start = self.commands.len();
                    self.script(&script, frame);
                    let read = flowing(&self.commands[start..]);
                    self.fed.extend(read);
                }
            }
            Err(_) => self.opaque("cannot parse a here-document".to_owned()),
        }
    }

    /// Expands a word, analysing the command substitutions it contains.
    fn expand(&mut self, raw: &str, mode: Mode, frame: &Frame) -> Vec<Arg> {
        let expansion = words::expand(raw, mode);
        self.arithmetic |= expansion.arithmetic;
        for name in &expansion.assigns {
            self.unknown_variable(name);
        }
        self.opaque.extend(expansion.opaque);
        for script in &expansion.substitutions {
            let start = self.commands.len();
            // A command substitution runs in a subshell: a `cd` there stays there.
            let cwd = self.script_cwd.clone();
            self.script(script, frame);
            self.script_cwd = cwd;
            let read = flowing(&self.commands[start..]);
            self.fed.extend(read);
        }
        if expansion
            .args
            .iter()
            .any(|arg| arg.known && (arg.text.contains("$(") || arg.text.contains('`')))
        {
            self.code_in_data = true;
        }
        expansion.args
    }

    /// One assignment. `prefix`: it stands before a command's words, so what it loads
    /// may be judged with that command (git's configuration in the environment).
    fn assign(
        &mut self,
        assignment: &ast::Assignment,
        frame: &Frame,
        prefix: bool,
    ) -> (String, Arg) {
        let name = match &assignment.name {
            ast::AssignmentName::VariableName(name) => {
                self.cdpath |= name == "CDPATH";
                name.clone()
            }
            ast::AssignmentName::ArrayElementName(name, index) => {
                // The subscript is evaluated as arithmetic, command substitutions included.
                self.arithmetic = true;
                if index.contains("$(") || index.contains('`') {
                    self.opaque(format!(
                        "command substitution inside the subscript `{name}[{index}]`"
                    ));
                }
                name.clone()
            }
        };
        let value = match &assignment.value {
            ast::AssignmentValue::Scalar(word) => {
                let mut args = self.expand(&word.value, Mode::Single, frame);
                let mut value = args.pop().unwrap_or_else(|| Arg::literal(""));
                if assignment.append {
                    value = Arg::dynamic(value.text);
                }
                value
            }
            ast::AssignmentValue::Array(elements) => {
                if elements.iter().any(|(key, _)| key.is_some()) {
                    self.arithmetic = true;
                }
                for (key, value) in elements {
                    if let Some(key) = key {
                        self.expand(&key.value, Mode::Single, frame);
                    }
                    self.expand(&value.value, Mode::Single, frame);
                }
                Arg::dynamic(format!("{name}=(…)"))
            }
        };
        if is_hijack_variable(&name)
            && !COMMAND_VARIABLES.contains(&name.as_str())
            && !(prefix && name == GIT_CONFIG_COUNT)
        {
            self.opaque(format!(
                "setting `{name}` lets a program load code of the caller's choosing"
            ));
        }
        (name, value)
    }

    fn simple(&mut self, simple: &ast::SimpleCommand, frame: &Frame) {
        let mut local = frame.clone();
        self.fed.clear();
        let mut argv = Vec::new();
        let mut prefix_assignments = Vec::new();
        for item in simple.prefix.iter().flat_map(|p| &p.0) {
            match item {
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, _) => {
                    prefix_assignments.push(self.assign(assignment, frame, true));
                }
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                    self.redirects(std::iter::once(redirect), frame)
                }
                CommandPrefixOrSuffixItem::Word(word) => {
                    argv.extend(self.expand(&word.value, Mode::Command, frame))
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list, frame)
                }
            }
        }
        if let Some(word) = &simple.word_or_name {
            argv.extend(self.expand(&word.value, Mode::Command, frame));
        }
        for item in simple.suffix.iter().flat_map(|s| &s.0) {
            match item {
                CommandPrefixOrSuffixItem::Word(word) => {
                    argv.extend(self.expand(&word.value, Mode::Command, frame))
                }
                CommandPrefixOrSuffixItem::AssignmentWord(assignment, word) => {
                    let (name, value) = self.assign(assignment, frame, false);
                    self.assigned.insert(name, value);
                    argv.extend(self.expand(&word.value, Mode::Single, frame));
                }
                CommandPrefixOrSuffixItem::IoRedirect(redirect) => {
                    self.redirects(std::iter::once(redirect), frame)
                }
                CommandPrefixOrSuffixItem::ProcessSubstitution(_, subshell) => {
                    self.list(&subshell.list, frame);
                    argv.push(Arg::dynamic("<(…)"));
                }
            }
        }
        let input = super::input::redirected(
            simple
                .prefix
                .iter()
                .flat_map(|p| &p.0)
                .chain(simple.suffix.iter().flat_map(|s| &s.0))
                .filter_map(|item| match item {
                    CommandPrefixOrSuffixItem::IoRedirect(redirect) => Some(redirect),
                    _ => None,
                }),
        );
        if let Some(input) = input {
            // `exec < FILE` gives the shell itself, and so every later command, that input.
            if argv.len() == 1 && argv[0].known && argv[0].text == "exec" {
                self.shell_stdin = Some(input.clone());
            }
            local.stdin = Some(input);
        }
        if argv.is_empty() {
            // A bare assignment changes the shell's variables for the commands after it.
            if prefix_assignments
                .iter()
                .any(|(n, _)| n == GIT_CONFIG_COUNT)
            {
                self.opaque(format!(
                    "setting `{GIT_CONFIG_COUNT}` lets a program load code of the caller's choosing"
                ));
            }
            self.assigned.extend(prefix_assignments);
            let targets = std::mem::take(&mut self.redirected);
            if !targets.is_empty() {
                self.record_redirection_only(targets, frame);
            }
            return;
        }
        // `declare -n`: a name reference; a later assignment to it may set any variable.
        if argv[0].known
            && matches!(argv[0].text.as_str(), "declare" | "typeset" | "local")
            && argv[1..].iter().any(|a| {
                !a.known
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains('n'))
            })
        {
            self.opaque(format!(
                "`{}` declares a name reference: an assignment through it may set any variable",
                argv[0].text
            ));
        }
        // Builtins that set variables from what they read or compute: the values are only
        // known at run time, and so is every later command's environment that has them.
        for name in assigned_by(&argv) {
            if name == "*" {
                self.opaque(format!(
                    "`{}` sets a variable whose name is only known at run time",
                    argv[0].text
                ));
            } else {
                self.unknown_variable(&name);
            }
        }
        for (name, value) in self
            .assigned
            .iter()
            .chain(prefix_assignments.iter().map(|(n, v)| (n, v)))
        {
            local.env.unset.remove(name);
            local.env.set.insert(name.clone(), value.clone());
        }
        if argv.len() == 1 && argv[0].known && argv[0].text == "exec" {
            self.shell_reads.extend(self.fed.iter().cloned());
        }
        // `shopt -s cdable_vars`: `cd NAME` may go to the directory in variable NAME.
        if argv[0].known
            && argv[0].text == "shopt"
            && argv[1..]
                .iter()
                .any(|a| !a.known || a.text == "cdable_vars")
        {
            self.cdpath = true;
        }
        local.reads.extend(std::mem::take(&mut self.fed));
        if argv[0].known && self.defining.contains(&argv[0].text) {
            self.opaque(format!(
                "the function `{}` calls itself: it may never end, or fill the machine with \
                 processes",
                argv[0].text
            ));
        } else if argv[0].known
            && let Some(body) = self.functions.get(&argv[0].text).cloned()
        {
            self.defining.push(argv[0].text.clone());
            let start = self.commands.len();
            self.compound(&body.0, &local);
            self.block_redirects(start, body.1.iter().flat_map(|r| &r.0), &local);
            self.defining.pop();
            if matches!(argv[0].text.as_str(), "cd" | "pushd" | "popd") {
                // A function in place of the builtin: its own `cd` decides.
                self.command(argv, local);
                self.script_cwd = Some(None);
                return;
            }
        }
        // A prefix assignment reaches the command's environment, not the words the shell
        // expanded for it: unless the shell assigned the variable itself (earlier, or in an
        // earlier round of a loop), or a special builtin keeps it, as a POSIX shell does.
        if !(argv[0].known && SPECIAL_BUILTINS.contains(&argv[0].text.as_str())) {
            self.pending_prefix = prefix_assignments
                .iter()
                .map(|(name, _)| name.clone())
                .filter(|name| !self.assigned.contains_key(name))
                .collect();
        }
        self.command(argv, local);
    }

    /// From here on, variable `name` holds a value known only at run time (and, as any
    /// variable the line sets, may be exported to the commands after it).
    fn unknown_variable(&mut self, name: &str) {
        // A CDPATH only known at run time may list any directory.
        self.cdpath |= name == "CDPATH";
        self.assigned
            .insert(name.to_owned(), Arg::dynamic(format!("${name}")));
    }

    /// Records one command and follows what it runs.
    pub(crate) fn command(&mut self, argv: Vec<Arg>, frame: Frame) {
        let own_assignments = std::mem::take(&mut self.pending_prefix);
        if frame.depth > MAX_DEPTH {
            self.opaque("commands are nested too deeply".to_owned());
            return;
        }
        // `time -- cmd` and the like: a leading `--` is not a program.
        let mut argv = argv;
        while argv.first().is_some_and(|a| a.known && a.text == "--") {
            argv.remove(0);
        }
        let Some(program) = argv.first() else { return };
        if !program.known {
            self.opaque(format!(
                "the command name `{}` is only known at run time",
                program.text
            ));
            return;
        }
        if program.free {
            self.opaque(format!("the command name `{}` is a glob", program.text));
            return;
        }
        if program.text.is_empty() {
            return;
        }
        if self.script_cwd == Some(None)
            && program.text.contains('/')
            && !program.text.starts_with('/')
        {
            self.opaque(format!(
                "`{}` is a relative path after a change of directory",
                program.text
            ));
        }
        let is_gatekeep = program.text.rsplit('/').next() == Some("gatekeep");
        // git's configuration given in its environment is its `-c NAME=VALUE`, read as such.
        let git_config = (program.text.rsplit('/').next() == Some("git"))
            .then(|| git_config_from_env(&frame.env))
            .flatten();
        let mut commands_in_variables = Vec::new();
        for (name, value) in &frame.env.set {
            // Where gatekeep finds the user's policies.
            let moves_policies = is_gatekeep
                && matches!(name.as_str(), "HOME" | "XDG_CONFIG_HOME" | "XDG_CACHE_HOME");
            if COMMAND_VARIABLES.contains(&name.as_str())
                && value.known
                && !value.free
                && super::wrappers::plain_viewer(&value.text)
            {
                // A plain editor or pager: nothing to analyse.
            } else if COMMAND_VARIABLES.contains(&name.as_str()) && value.known && !value.free {
                // A pager reads its standard input; the others get a file, a host or a
                // prompt after the command.
                commands_in_variables.push(match name.as_str() {
                    n if n.ends_with("PAGER") => value.text.clone(),
                    // git's own words after an ssh command: the host and what runs there.
                    "GIT_SSH_COMMAND" | "GIT_SSH" => {
                        format!("{} git-server git-upload-pack repository", value.text)
                    }
                    _ => format!("{} \"$1\"", value.text),
                });
            } else if name == GIT_CONFIG_COUNT
                && (git_config.is_some() || RUN_NO_GIT.contains(&program.text.as_str()))
            {
                // Read below as the options it stands for; these builtins run no git.
            } else if is_hijack_variable(name) || moves_policies {
                self.opaque(format!(
                    "setting `{name}` lets a program load code of the caller's choosing"
                ));
            }
            if !value.known
                && name == "PATH"
                && !program.text.contains('/')
                && !SHELL_BUILTINS.contains(&program.text.as_str())
            {
                self.opaque("PATH is only known at run time".to_owned());
            }
        }
        if !commands_in_variables.is_empty() {
            // What the variables name runs with the rest of this command's context, but
            // without them (so a value naming the variable does not recurse).
            let mut inner = frame.clone();
            inner.depth += 1;
            for name in COMMAND_VARIABLES {
                inner.env.set.remove(*name);
            }
            for line in commands_in_variables {
                self.script(&line, &inner);
            }
        }
        let argv = match git_config {
            Some(pairs) if !pairs.is_empty() => {
                let mut with_options = vec![argv[0].clone()];
                for pair in pairs {
                    with_options.push(Arg::literal("-c"));
                    with_options.push(Arg::literal(pair));
                }
                with_options.extend_from_slice(&argv[1..]);
                with_options
            }
            _ => argv,
        };
        let program = &argv[0];
        let basename = program
            .text
            .rsplit('/')
            .next()
            .unwrap_or(&program.text)
            .to_owned();
        let path_var = frame
            .env
            .set
            .get("PATH")
            .filter(|v| v.known)
            .map(|v| v.text.as_str());
        let resolved = self.resolver.resolve(&program.text, path_var);
        let canonical = canonical_name(&program.text);
        let mut names = vec![basename];
        names.extend(canonical);
        names.extend(resolved.names);
        names.dedup();
        let mut paths = Vec::new();
        if program.text.starts_with('/') {
            paths.push(program.text.clone());
        }
        paths.extend(resolved.paths);
        paths.dedup();

        // A directory a wrapper gives wins over the `cd` of the script around it; the `cd`
        // of a script the wrapper runs wins over the wrapper's.
        let scripted = frame.cwd.is_none() || self.script_depth >= frame.cwd_depth;
        let cwd_unknown = scripted && self.script_cwd == Some(None);
        let cwd = match (&frame.cwd, &self.script_cwd) {
            (Some(given), Some(Some(dir))) if scripted => Some(if dir.starts_with('/') {
                dir.clone()
            } else {
                super::normalize_path(&format!("{given}/{dir}"))
            }),
            (Some(given), _) => Some(given.clone()),
            (None, script) => script.clone().flatten(),
        };
        let recorded = Command {
            argv: argv.clone(),
            names: names.clone(),
            paths,
            env: frame.env.clone(),
            user: frame.user.clone(),
            host: frame.host.clone(),
            cwd,
            cwd_unknown,
            stdin_args: frame.stdin_args,
            nested: frame.nested,
            own_assignments,
            reads: frame
                .reads
                .iter()
                .chain(&self.shell_reads)
                .cloned()
                .collect(),
            stdin: frame
                .stdin
                .clone()
                .or_else(|| self.shell_stdin.clone())
                .map(|input| self.written_input(input, frame.cwd.as_deref())),
            scripts: Vec::new(),
            writes: std::mem::take(&mut self.redirected)
                .into_iter()
                // Files written in bulk (an archive extracted, a clone) are the program's
                // own business; a target only known at run time is kept, unknown.
                .chain(
                    super::state::written_by(&names[0], &argv[1..])
                        .into_iter()
                        .flatten(),
                )
                // Relative to a directory only known at run time, a target is unknown; so
                // is one under a descriptor (`/dev/fd/3/x`: whatever directory it holds).
                .map(|target| {
                    let under_descriptor = ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"]
                        .iter()
                        .any(|p| {
                            target
                                .text
                                .strip_prefix(p)
                                .is_some_and(|rest| rest.contains('/'))
                        });
                    if (cwd_unknown && target.known && !target.text.starts_with('/'))
                        || under_descriptor
                    {
                        Arg::dynamic(target.text)
                    } else {
                        target
                    }
                })
                .collect(),
        };
        // A file the line wrote earlier carries what went into it.
        let named: Vec<&Arg> = recorded.argv[1..].iter().chain(&recorded.reads).collect();
        let carried = self.state.sources_of(&named, recorded.cwd.as_deref());
        let mut recorded = recorded;
        recorded.reads.extend(carried);
        // A path through a symbolic link the line made names what the link points at.
        let through = recorded
            .argv
            .iter()
            .skip(1)
            .chain(&recorded.writes)
            .filter(|a| a.known)
            .find_map(|a| {
                self.state
                    .through_link(&a.text, recorded.cwd.as_deref())
                    .map(|link| (a.text.clone(), link.to_owned()))
            });
        if let Some((path, link)) = through {
            self.opaque(format!(
                "`{path}` goes through `{link}`, a symbolic link made earlier in the line"
            ));
        }
        let index = self.commands.len();
        self.commands.push(recorded);
        if matches!(names[0].as_str(), "source" | ".") && argv.get(1).is_some_and(|a| a.known) {
            self.commands[index].scripts.push(1);
        }

        // What the line wrote before this command started; what it runs in turn comes after.
        let before = self.state.clone();
        self.follow(index, &names, &argv, &frame);
        self.follow_state(&before, index, &names, &argv, &frame);
    }

    /// A file the line wrote before it is read holds text the line produced at run time.
    fn written_input(&self, input: Input, cwd: Option<&str>) -> Input {
        match input {
            Input::File(file)
                if self.state.may_have_written(
                    &file,
                    cwd.or(self.script_cwd.clone().flatten().as_deref()),
                ) =>
            {
                Input::Expanded(format!("`{}`, written earlier in the line", file.text))
            }
            other => other,
        }
    }

    /// Follows what a recorded command runs in turn.
    fn follow(&mut self, index: usize, names: &[String], argv: &[Arg], frame: &Frame) {
        if names[0] == "eval" && argv.len() > 1 && argv[1..].iter().all(|a| a.known && !a.free) {
            // `eval` with words all known runs them, joined, as a line of the shell.
            let line = argv[1..]
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.script(
                &line,
                &Frame {
                    depth: frame.depth + 1,
                    ..frame.clone()
                },
            );
            return;
        }
        if let Some(reason) = self.builtin(&names[0], argv) {
            self.opaque(reason);
            return;
        }
        let Some(steps) = names.iter().find_map(|name| wrappers::unwrap(name, argv)) else {
            return;
        };
        for step in steps {
            match step {
                Step::Exec(inner, edit) => self.command(inner, frame.apply(edit)),
                Step::Script(script, edit) if script.known => {
                    self.script(&script.text, &frame.apply(edit))
                }
                Step::Script(script, _) => {
                    self.opaque(format!(
                        "the script `{}` is only known at run time",
                        script.text
                    ));
                }
                Step::Opaque(reason) => self.opaque(reason),
                Step::Reads(word) if argv.get(word).is_some_and(|a| a.known && !a.free) => {
                    self.commands[index].scripts.push(word);
                }
                Step::Reads(_) => {}
            }
        }
    }

    /// Whether the command depends on what the line wrote or configured before it (then it
    /// is opaque), and what it writes or configures in turn.
    fn follow_state(
        &mut self,
        before: &super::state::LineState,
        index: usize,
        names: &[String],
        argv: &[Arg],
        frame: &Frame,
    ) {
        let cwd = frame
            .cwd
            .clone()
            .or_else(|| self.script_cwd.clone().flatten());
        let env: Vec<(&str, &Arg)> = frame
            .env
            .set
            .iter()
            .map(|(name, value)| (name.as_str(), value))
            .collect();
        if let Some(reason) = before.depends(
            names,
            argv,
            &env,
            &self.commands[index].scripts,
            cwd.as_deref(),
        ) {
            self.opaque(reason);
        }
        if let Some(program) = names.first() {
            let (reads, writes) = (
                self.commands[index].reads.clone(),
                self.commands[index].writes.clone(),
            );
            self.state.fed_files(argv, &reads, &writes, cwd.as_deref());
            self.state.after(program, argv, cwd.as_deref());
        }
    }

    /// Shell builtins that change how later commands are understood.
    fn builtin(&mut self, name: &str, argv: &[Arg]) -> Option<String> {
        let has_args = argv.len() > 1;
        match name {
            "eval" if has_args => Some("`eval` runs a string as code".to_owned()),
            "source" | "." => Some(format!("`{name}` runs commands from a file")),
            "fc" => Some("`fc` re-runs commands from history".to_owned()),
            "alias"
                if argv
                    .iter()
                    .skip(1)
                    .any(|a| a.text.contains('=') || !a.known) =>
            {
                Some("`alias` defines a command that runs other code".to_owned())
            }
            "enable" if argv.iter().any(|a| a.text.starts_with("-f")) => {
                Some("`enable -f` loads a builtin from a file".to_owned())
            }
            "export" | "declare" | "typeset" | "local" | "readonly"
                if argv
                    .iter()
                    .any(|a| !a.known || a.text.starts_with("CDPATH=")) =>
            {
                self.cdpath = true;
                None
            }
            "cd" | "pushd" | "popd" => {
                let target = argv
                    .iter()
                    .skip(1)
                    .find(|a| !(a.known && a.text.starts_with('-') && a.text.len() > 1));
                // The directory stack: `pushd DIR` keeps where the line was, `popd` goes
                // back there; rotations (`+N`, `-N`) and swaps go anywhere on it.
                let rotates = target.is_some_and(|t| {
                    t.known && (t.text.starts_with('+') || t.text.starts_with('-'))
                });
                match (name, target) {
                    ("popd", None) => {
                        self.script_cwd = self.directories.pop().unwrap_or(Some(None));
                        return None;
                    }
                    ("popd", Some(_)) | ("pushd", None) => {
                        self.directories.clear();
                        self.script_cwd = Some(None);
                        return None;
                    }
                    ("pushd", Some(_)) if rotates => {
                        self.directories.clear();
                        self.script_cwd = Some(None);
                        return None;
                    }
                    ("pushd", Some(_)) => self.directories.push(self.script_cwd.clone()),
                    _ => {}
                }
                self.script_cwd = Some(match (name, target) {
                    ("popd", _) | (_, None) => None,
                    (_, Some(dir))
                        if !dir.known
                            || dir.free
                            || dir.text == "-"
                            || dir.text.starts_with('~') =>
                    {
                        None
                    }
                    (_, Some(dir)) if dir.text.starts_with('/') => {
                        Some(super::normalize_path(&dir.text))
                    }
                    // With CDPATH set, `cd etc` may be `/etc` (only `./` and `../` do not
                    // search it).
                    (_, Some(dir))
                        if self.cdpath
                            && !(dir.text == "."
                                || dir.text == ".."
                                || dir.text.starts_with("./")
                                || dir.text.starts_with("../")) =>
                    {
                        None
                    }
                    (_, Some(dir)) => match &self.script_cwd {
                        Some(None) => None,
                        Some(Some(base)) => {
                            Some(super::normalize_path(&format!("{base}/{}", dir.text)))
                        }
                        None => Some(super::normalize_path(&dir.text)),
                    },
                });
                None
            }
            "compgen" | "complete" if argv.iter().any(|a| a.text.starts_with("-C") || !a.known) => {
                Some(format!("`{name} -C` runs a command"))
            }
            "mapfile" | "readarray"
                if argv.iter().any(|a| a.text.starts_with("-C") || !a.known) =>
            {
                Some(format!("`{name} -C` runs a callback"))
            }
            "hash" if argv.iter().any(|a| a.text.starts_with("-p") || !a.known) => {
                Some("`hash -p` rebinds a command name to another program".to_owned())
            }
            "bind" if argv.iter().any(|a| a.text.starts_with("-x") || !a.known) => {
                Some("`bind -x` binds a key to a command".to_owned())
            }
            // Builtins that evaluate subscripts and numbers as arithmetic.
            "let" | "declare" | "typeset" | "local" | "export" | "readonly" | "printf" | "read"
            | "test" | "[" | "unset" => {
                self.arithmetic = true;
                None
            }
            _ => None,
        }
    }
}

/// The variables a builtin sets from input or computation: `read`, `printf -v`,
/// `mapfile`/`readarray`, `getopts`, `wait -p`, and the targets of namerefs
/// (`declare -n REF=NAME`). An argument only known at run time may name any variable: then
/// every name the builtin might set is unknown, reported as `*`.
/// POSIX special builtins: a POSIX shell keeps their prefix assignments.
const SPECIAL_BUILTINS: &[&str] = &[
    ":", ".", "break", "continue", "eval", "exec", "exit", "export", "readonly", "return", "set",
    "shift", "times", "trap", "unset", "source",
];

/// Builtins that run nothing and keep no prefix assignment (unlike `:` or `export`, special
/// builtins, after which a POSIX shell keeps it).
const RUN_NO_GIT: &[&str] = &["echo", "printf", "true", "false", "test", "["];

/// The variable that makes git read `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n` pairs.
const GIT_CONFIG_COUNT: &str = "GIT_CONFIG_COUNT";

/// git's configuration in an environment, as the `NAME=VALUE` of the `-c` options it
/// stands for: `None` unless every word git reads is known (a count git accepts, each key
/// and value literal), in order.
fn git_config_from_env(env: &EnvChange) -> Option<Vec<String>> {
    let literal = |name: &str| {
        env.set
            .get(name)
            .filter(|v| v.known && !v.free)
            .map(|v| v.text.clone())
    };
    let Some(count) = env.set.get(GIT_CONFIG_COUNT) else {
        return Some(Vec::new());
    };
    if !count.known || count.free {
        return None;
    }
    let count: usize = count.text.parse().ok().filter(|n| *n <= 64)?;
    (0..count)
        .map(|i| {
            let key = literal(&format!("GIT_CONFIG_KEY_{i}"))?;
            let value = literal(&format!("GIT_CONFIG_VALUE_{i}"))?;
            (!key.is_empty() && !key.contains('=')).then(|| format!("{key}={value}"))
        })
        .collect()
}

fn assigned_by(argv: &[Arg]) -> Vec<String> {
    let Some(name) = argv.first().filter(|a| a.known).map(|a| a.text.as_str()) else {
        return Vec::new();
    };
    let args = &argv[1..];
    let names = |words: &[Arg]| -> Vec<String> {
        words
            .iter()
            .map(|w| {
                if w.known {
                    w.text.clone()
                } else {
                    "*".to_owned()
                }
            })
            .collect()
    };
    // Options and their values, then operands, for builtins with short options only.
    let split = |values: &str| -> (Vec<(char, Option<String>)>, Vec<Arg>) {
        let mut options = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let text = args[i].text.as_str();
            if !args[i].known || !text.starts_with('-') || text == "-" {
                break;
            }
            i += 1;
            if text == "--" {
                break;
            }
            for (at, c) in text[1..].char_indices() {
                if values.contains(c) {
                    let attached = &text[1 + at + c.len_utf8()..];
                    let value = if attached.is_empty() {
                        i += 1;
                        args.get(i - 1).map(|a| a.text.clone())
                    } else {
                        Some(attached.to_owned())
                    };
                    options.push((c, value));
                    break;
                }
                options.push((c, None));
            }
        }
        (options, args[i.min(args.len())..].to_vec())
    };
    match name {
        "read" => {
            let (options, operands) = split("adinNptu");
            let mut out = names(&operands);
            out.extend(
                options
                    .iter()
                    .filter(|(c, _)| *c == 'a')
                    .filter_map(|(_, v)| v.clone()),
            );
            if out.is_empty() {
                out.push("REPLY".to_owned());
            }
            out
        }
        "printf" => split("v")
            .0
            .into_iter()
            .filter(|(c, _)| *c == 'v')
            .filter_map(|(_, v)| v)
            .collect(),
        "mapfile" | "readarray" => {
            let (_, operands) = split("dnOsuCc");
            let out = names(&operands);
            if out.is_empty() {
                vec!["MAPFILE".to_owned()]
            } else {
                out
            }
        }
        "getopts" => {
            let mut out = names(args.get(1..2).unwrap_or_default());
            out.extend(["OPTARG".to_owned(), "OPTIND".to_owned()]);
            out
        }
        "wait" => split("p")
            .0
            .into_iter()
            .filter(|(c, _)| *c == 'p')
            .filter_map(|(_, v)| v)
            .collect(),
        "declare" | "typeset" | "local" | "export" | "readonly" => {
            let (options, operands) = split("");
            if !options.iter().any(|(c, _)| *c == 'n') {
                return Vec::new();
            }
            // A nameref: whatever is assigned through it lands in its target.
            operands
                .iter()
                .flat_map(|word| {
                    if !word.known {
                        return vec!["*".to_owned()];
                    }
                    match word.text.split_once('=') {
                        Some((reference, target)) => vec![reference.to_owned(), target.to_owned()],
                        None => vec![word.text.clone()],
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Scripts whose parse could exhaust the stack: very long, or with very many openings.
fn too_nested(source: &str) -> bool {
    const MAX_BYTES: usize = 256 * 1024;
    const MAX_OPENINGS: usize = 400;
    let openings = source
        .bytes()
        .filter(|b| matches!(b, b'(' | b'{' | b'`'))
        .count()
        + source
            .split_whitespace()
            .filter(|w| {
                matches!(
                    *w,
                    "if" | "while" | "until" | "for" | "case" | "select" | "function"
                )
            })
            .count();
    // The parser backtracks on deeply nested parentheses (an arithmetic `((` with thirty
    // open ones takes minutes); no real command line nests this deep.
    const MAX_PAREN_DEPTH: usize = 16;
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for byte in source.bytes() {
        match byte {
            b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    source.len() > MAX_BYTES || openings > MAX_OPENINGS || deepest > MAX_PAREN_DEPTH
}

/// What the commands of a pipeline stage or a command substitution pass on to the command
/// they feed: their known words and what they read in turn.
fn flowing(commands: &[Command]) -> Vec<Arg> {
    commands
        .iter()
        .flat_map(|c| {
            c.argv[1..]
                .iter()
                .filter(|a| a.known && !a.text.starts_with('-'))
                .chain(&c.reads)
                .cloned()
        })
        .collect()
}

/// The name a program answers to on a file system that ignores case or on Windows
/// (`GIT`, `git.exe`, `C:\\Git\\bin\\git.exe` are git there), when it differs from the
/// basename. Rules then see both, which can only make a match more likely.
fn canonical_name(program: &str) -> Option<String> {
    // GNU tools as Homebrew installs them beside the system's own (`grm`, `gdd`).
    const GNU: &[&str] = &[
        "rm", "cp", "mv", "dd", "ln", "chmod", "chown", "chgrp", "shred", "truncate", "tee",
        "install", "find", "xargs", "tar", "env", "timeout", "nice", "nohup", "stdbuf", "touch",
        "mkdir", "rmdir", "unlink", "split", "sort",
    ];
    let last = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let lower = last.to_lowercase();
    let bare = [".exe", ".cmd", ".bat", ".ps1", ".com"]
        .iter()
        .find_map(|suffix| lower.strip_suffix(suffix))
        .unwrap_or(&lower);
    let bare = bare
        .strip_prefix('g')
        .filter(|rest| GNU.contains(rest))
        .unwrap_or(bare);
    (bare != last && !bare.is_empty()).then(|| bare.to_owned())
}

fn is_hijack_variable(name: &str) -> bool {
    CODE_LOADING_VARIABLES.contains(&name)
        || HIJACK_VARIABLES.contains(&name)
        || name.starts_with("BASH_FUNC_")
}

fn collect_substitutions(pieces: &[word::WordPieceWithSource], out: &mut Vec<String>) {
    for piece in pieces {
        match &piece.piece {
            word::WordPiece::CommandSubstitution(script)
            | word::WordPiece::BackquotedCommandSubstitution(script) => {
                out.push(script.clone());
            }
            word::WordPiece::DoubleQuotedSequence(inner)
            | word::WordPiece::GettextDoubleQuotedSequence(inner) => {
                collect_substitutions(inner, out);
            }
            _ => {}
        }
    }
}

/// Shortens a script for a one-line message.
fn abbreviate(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut short: String = line.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
