//! The program table: what gatekeep knows about programs, as data (`programs.yaml`,
//! checked and compiled in by build.rs). The shell analysis reads from it which programs
//! run other programs and where their command starts; the rule matcher reads which
//! options take a value; the hard-link watch list and docs/programs.md are built from it.
//! The few programs whose grammar data cannot say keep a handler in `wrappers.rs`.

use super::Arg;
use super::wrappers::{Edit, Step};

/// Where the command a program runs starts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Command {
    /// The operands after the options, skipping this many (a duration, a profile, a new
    /// root), are the program and its arguments.
    Operands(usize),
    /// As `Operands`, and every word after the skipped operands is the command's, options
    /// included (`docker run IMAGE -h …`: `-h` is the command's).
    OperandsThen(usize),
    /// The words after `--`.
    AfterDashes,
    /// Each operand is a shell command line.
    EachOperandIsShell,
    /// Only its options run commands (`script -c`).
    None,
}

/// Who the command runs as.
#[derive(Clone, Copy, Debug)]
pub(crate) enum User {
    /// The last value of these options, or the default when none is given.
    Options(&'static [&'static str], Option<&'static str>),
    /// This operand (`gosu USER CMD`).
    Operand(usize),
}

/// One entry of the table; `programs.yaml` describes each field.
#[derive(Debug)]
pub(crate) struct Program {
    /// The program and its subcommand words (`["ip", "netns", "exec"]`).
    pub words: &'static [&'static str],
    pub about: &'static str,
    pub values: &'static [&'static str],
    pub optional: &'static [&'static str],
    pub flags: &'static [&'static str],
    /// Options that take two words (`nix --arg NAME EXPR`).
    pub pairs: &'static [&'static str],
    /// Flags that make the command's words one shell line (`pnpm exec -c`).
    pub shell_flags: &'static [&'static str],
    pub abbreviate: bool,
    pub any_long_attached: bool,
    /// Every long option has a `--no-` form that takes no value and takes it back.
    pub negatable: bool,
    pub command: Option<Command>,
    pub shell: &'static [&'static str],
    pub program: &'static [&'static str],
    pub rest: &'static [&'static str],
    pub place: Option<(usize, &'static str)>,
    pub user: Option<User>,
    pub cwd: &'static [&'static str],
    pub inert: &'static [&'static str],
    pub interactive: bool,
    pub same_as: &'static [&'static str],
    pub called_as: &'static [&'static str],
    pub prepend: &'static [&'static str],
    pub package_operand: bool,
    pub opaque: Option<&'static str>,
    pub harmless: &'static [&'static str],
    pub code: &'static [&'static str],
    pub code_operands: bool,
    pub old_style: bool,
    pub reason: Option<&'static str>,
    #[cfg_attr(not(test), allow(dead_code))]
    pub examples: &'static [&'static str],
}

/// Every entry, sorted by its words.
pub(crate) static PROGRAMS: &[Program] = include!(concat!(env!("OUT_DIR"), "/programs.rs"));

impl Program {
    /// Whether the analysis reads this entry (rather than only the rule matcher).
    pub fn runs_code(&self) -> bool {
        self.command.is_some()
            || self.opaque.is_some()
            || !self.code.is_empty()
            || self.code_operands
            || !self.same_as.is_empty()
    }

    /// The role of an option: what follows it.
    fn role(&self, name: &str) -> Option<Role> {
        let is = |list: &[&str]| list.contains(&name);
        Some(if is(self.shell) {
            Role::Shell
        } else if is(self.program) {
            Role::Program
        } else if is(self.rest) {
            Role::Rest
        } else if is(self.values) {
            Role::Value
        } else if is(self.optional) {
            Role::Optional
        } else if is(self.pairs) {
            Role::Pair
        } else if is(self.flags) || is(self.shell_flags) || is(self.inert) || is(self.code) {
            Role::Flag
        } else {
            return None;
        })
    }

    /// The declared long option `given` names: an exact name or, where the program
    /// allows it, an unambiguous abbreviation.
    fn long_name(&self, given: &str) -> Option<&'static str> {
        let longs = || self.options().filter(|n| n.starts_with("--"));
        if let Some(exact) = longs().find(|n| *n == given) {
            return Some(exact);
        }
        if !self.abbreviate || given.len() < 3 {
            return None;
        }
        let mut matches = longs().filter(|n| n.starts_with(given));
        let first = matches.next()?;
        matches.all(|n| n == first).then_some(first)
    }

    /// The declared option spelled exactly `text`, as a `'static` name.
    fn whole(&self, text: &str) -> Option<&'static str> {
        self.options().find(|n| *n == text)
    }

    /// Every option the entry declares, whatever its role.
    fn options(&self) -> impl Iterator<Item = &'static str> + use<> {
        [
            self.values,
            self.optional,
            self.flags,
            self.pairs,
            self.shell_flags,
            self.shell,
            self.program,
            self.rest,
            self.inert,
            self.code,
        ]
        .into_iter()
        .flatten()
        .copied()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Value,
    Pair,
    Optional,
    Flag,
    Shell,
    Program,
    Rest,
}

/// What the table has for a command.
pub(crate) enum Found {
    /// This entry, and how many of the arguments its subcommand words (and the program's
    /// own options before them) take.
    Entry(&'static Program, usize),
    /// A subcommand that runs other programs may stand after an option the program is not
    /// declared to have: where it starts is uncertain.
    Uncertain(String),
}

/// The entry for `name` and its subcommand words (the longest that matches), which may
/// follow the program's own options (`kubectl -n prod exec`).
pub(crate) fn find(name: &str, args: &[Arg]) -> Option<Found> {
    let entries = entries(name).iter();
    let at = |p: &&Program, from: usize| {
        args.len() >= from + p.words.len() - 1
            && p.words[1..]
                .iter()
                .zip(&args[from..])
                .all(|(w, a)| a.known && a.text == *w)
    };
    let longest = |from: usize| {
        entries
            .clone()
            .filter(|p| p.words.len() > 1 && at(p, from))
            .max_by_key(|p| p.words.len())
    };
    if let Some(p) = longest(0) {
        return Some(Found::Entry(p, p.words.len() - 1));
    }
    let own = entries.clone().next().filter(|p| p.words.len() == 1);
    if entries.clone().any(|p| p.words.len() > 1) {
        // Skip the program's own options; one it is not declared to have may take the
        // next word as its value.
        let mut i = 0;
        let mut uncertain = false;
        while let Some(arg) = args.get(i).filter(|a| a.known) {
            let text = arg.text.as_str();
            if !text.starts_with('-') || text == "-" || text == "--" {
                break;
            }
            let option = match text.strip_prefix("--") {
                Some(long) => {
                    let given = long.split_once('=').map_or(long, |(n, _)| n);
                    own.and_then(|p| p.long_name(&format!("--{given}")))
                }
                None => own.and_then(|p| {
                    // The whole word, or its first letter with what follows attached.
                    let letter = text
                        .char_indices()
                        .nth(2)
                        .map_or(text, |(at, _)| &text[..at]);
                    p.whole(text).or_else(|| p.whole(letter))
                }),
            };
            let attached = text.contains('=') || (!text.starts_with("--") && text.len() > 2);
            match option.and_then(|o| own.and_then(|p| p.role(o))) {
                Some(Role::Flag | Role::Optional) => i += 1,
                Some(Role::Pair) => i += if attached { 2 } else { 3 },
                Some(_) => i += if attached { 1 } else { 2 },
                None => {
                    if !attached && longest(i + 2).is_some() {
                        return Some(Found::Uncertain(format!(
                            "`{name}` is given `{text}`, an option gatekeep does not know, \
                             before a subcommand that runs other programs"
                        )));
                    }
                    uncertain = true;
                    i += 1;
                }
            }
        }
        if let Some(p) = longest(i).filter(|_| i > 0) {
            if uncertain {
                return Some(Found::Uncertain(format!(
                    "`{name}` is given an option gatekeep does not know before `{}`",
                    p.words[1..].join(" ")
                )));
            }
            return Some(Found::Entry(p, i + p.words.len() - 1));
        }
    }
    own.map(|p| Found::Entry(p, 0))
}

/// The entry of the program `name` itself (no subcommand words), for its option grammar.
pub(crate) fn grammar(name: &str) -> Option<(usize, &'static Program)> {
    let start = PROGRAMS.partition_point(|p| p.words[0] < name);
    PROGRAMS
        .get(start)
        .filter(|p| p.words == [name])
        .map(|p| (start, p))
}

/// The entries whose first word is `name`: together in the table, which is sorted by
/// words.
fn entries(name: &str) -> &'static [Program] {
    let start = PROGRAMS.partition_point(|p| p.words[0] < name);
    let len = PROGRAMS[start..].partition_point(|p| p.words[0] == name);
    &PROGRAMS[start..start + len]
}

/// Every name the analysis reads an entry for, other names included (for recognising
/// hard links to them).
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    PROGRAMS
        .iter()
        .filter(|p| p.runs_code())
        .flat_map(|p| std::iter::once(p.words[0]).chain(p.called_as.iter().copied()))
}

/// The steps of a program the table describes as running code (`None` when it does not).
pub(crate) fn unwrap(name: &str, args: &[Arg]) -> Option<Vec<Step>> {
    let found = find(name, args);
    if let Some(Found::Uncertain(why)) = found {
        return Some(vec![Step::Opaque(why)]);
    }
    let Some(Found::Entry(program, used)) = found else {
        // Another name of a program, given as its first operand (`linux32`).
        let program = PROGRAMS.iter().find(|p| p.called_as.contains(&name))?;
        let mut with_name = vec![Arg::literal(name)];
        with_name.extend(args.iter().cloned());
        return unwrap(program.words[0], &with_name);
    };
    if !program.runs_code() {
        return None;
    }
    let args = &args[used..];
    let label = program.words.join(" ");
    let opaque = |why: String| vec![Step::Opaque(format!("`{label}` {why}"))];
    if !program.same_as.is_empty() {
        let mut argv: Vec<Arg> = program.same_as.iter().map(|w| Arg::literal(*w)).collect();
        argv.extend(args.iter().cloned());
        return Some(vec![Step::Exec(argv, Edit::default())]);
    }
    if let Some(why) = program.opaque {
        let harmless = !args.is_empty()
            && args
                .iter()
                .all(|a| a.known && program.harmless.contains(&a.text.as_str()));
        return Some(if harmless {
            Vec::new()
        } else {
            opaque(why.to_owned())
        });
    }
    if program.command.is_none() && !program.code_operands {
        return Some(code_options(program, args, &label));
    }
    Some(scan(program, args).unwrap_or_else(opaque))
}

/// A program that runs code only when given one of its `code` options: is it?
fn code_options(program: &Program, args: &[Arg], label: &str) -> Vec<Step> {
    let reason = program
        .reason
        .unwrap_or("runs code that cannot be analysed");
    let letters = |word: &str| {
        program
            .code
            .iter()
            .filter_map(|c| c.strip_prefix('-').filter(|l| l.len() == 1))
            .any(|l| word.contains(l))
    };
    let hit = args.iter().enumerate().any(|(at, a)| {
        if !a.known {
            return true;
        }
        let text = a.text.as_str();
        if at == 0 && program.old_style && !text.starts_with('-') {
            return text.chars().all(|c| c.is_ascii_alphabetic()) && letters(text);
        }
        if text.starts_with("--") {
            let name = text.split_once('=').map_or(text, |(n, _)| n);
            return program.code.iter().any(|c| {
                *c == name || (c.starts_with("--") && c.len() > 3 && c.starts_with(name))
            });
        }
        text.starts_with('-')
            && text.len() > 1
            && (program
                .code
                .iter()
                .any(|c| c.len() > 2 && !c.starts_with("--") && text.starts_with(c))
                || letters(&text[1..]))
    });
    if hit {
        vec![Step::Opaque(format!("`{label}` {reason}"))]
    } else {
        Vec::new()
    }
}

/// Reads a program's options as the program does, up to where its command starts, and
/// returns what it runs; `Err` with the reason when that cannot be known.
fn scan(program: &Program, args: &[Arg]) -> Result<Vec<Step>, String> {
    let mut operands: Vec<Arg> = Vec::new();
    let mut after_dashes: Option<Vec<Arg>> = None;
    let mut scripts: Vec<Arg> = Vec::new();
    let mut run: Option<Arg> = None;
    let mut given: Vec<(&'static str, Option<Arg>)> = Vec::new();
    let mode = program.command.unwrap_or(Command::None);
    // Whether, with `count` operands read, the command has started.
    let started = |count: usize| match mode {
        Command::Operands(skip) => count > skip,
        Command::OperandsThen(skip) => count >= skip.max(1) && (skip > 0 || count > 0),
        _ => false,
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if started(operands.len()) {
            // The command has started: the rest is its own.
            operands.extend(args[i - 1..].iter().cloned());
            break;
        }
        if !arg.known {
            return Err("is given words only known at run time".to_owned());
        }
        let text = arg.text.as_str();
        if text == "--" {
            after_dashes = Some(args[i..].to_vec());
            break;
        }
        if text == "--help" && program.long_name(text).is_none() {
            // Before its command starts, the program prints its usage and runs nothing.
            return Ok(Vec::new());
        }
        if !text.starts_with('-') || text == "-" {
            operands.push(arg.clone());
            if started(operands.len()) && matches!(mode, Command::Operands(_)) {
                // The program itself: the rest is its own.
                operands.extend(args[i..].iter().cloned());
                break;
            }
            continue;
        }
        let attached = |value: &str| {
            Some(Arg {
                text: value.to_owned(),
                ..arg.clone()
            })
        };
        // (name, role, attached value)
        let (option, role, value) = if let Some(long) = text.strip_prefix("--") {
            let (given_name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match program.long_name(&format!("--{given_name}")) {
                Some(option) => (option, program.role(option), value.and_then(attached)),
                None if program.any_long_attached && value.is_some() => continue,
                None => return Err(unknown(text)),
            }
        } else if let Some(option) = program.whole(text).filter(|_| text.len() > 2) {
            // A single-dash option of several letters (`-ff`, `-chdir`).
            (option, program.role(option), None)
        } else {
            // A bundle of letters: flags, then at most one option that takes the rest
            // of the word (or the next word) as its value.
            let mut found = None;
            for (offset, c) in text[1..].char_indices() {
                let letter = &text[1 + offset..1 + offset + c.len_utf8()];
                let Some(option) = program.whole(&format!("-{letter}")) else {
                    return Err(unknown(&format!("-{letter}")));
                };
                let role = program.role(option);
                let rest = &text[1 + offset + c.len_utf8()..];
                if role == Some(Role::Flag) {
                    given.push((option, None));
                    continue;
                }
                let value = if rest.is_empty() {
                    None
                } else {
                    attached(rest)
                };
                found = Some((option, role, value));
                break;
            }
            match found {
                Some(found) => found,
                None => continue,
            }
        };
        let mut value = value;
        if value.is_none()
            && matches!(
                role,
                Some(Role::Value | Role::Pair | Role::Shell | Role::Program | Role::Rest)
            )
        {
            value = args.get(i).cloned();
            i += 1;
        }
        if role == Some(Role::Pair) {
            // The second word of the pair.
            i += 1;
        }
        match role {
            Some(Role::Shell) => match value.clone() {
                Some(script) => scripts.push(script),
                None => return Err(format!("`{option}` has no command")),
            },
            Some(Role::Program) => run = value.clone(),
            Some(Role::Rest) => {
                let mut words: Vec<Arg> = value.clone().into_iter().collect();
                words.extend(args.get(i..).unwrap_or_default().iter().cloned());
                after_dashes = Some(words);
                given.push((option, value));
                break;
            }
            _ => {}
        }
        given.push((option, value));
    }
    let has = |names: &[&str]| given.iter().any(|(n, _)| names.contains(n));
    if has(program.inert) {
        return Ok(Vec::new());
    }
    if program.code_operands || has(program.code) {
        // Every operand is code, and so is what a `code` option names.
        if has(program.code) || !operands.is_empty() || after_dashes.is_some() {
            return Err(program
                .reason
                .unwrap_or("runs code that cannot be analysed")
                .to_owned());
        }
        return Ok(Vec::new());
    }
    let last = |names: &[&str]| {
        given
            .iter()
            .rev()
            .find(|(n, _)| names.contains(n))
            .map(|(_, v)| v.clone())
    };
    let mut edit = Edit::default();
    if let Some((at, kind)) = program.place {
        match operands.get(at) {
            Some(place) if place.known => edit.host = Some(format!("{kind}:{}", place.text)),
            Some(_) => return Err(format!("runs in a {kind} only known at run time")),
            None => {}
        }
    }
    match program.user {
        Some(User::Options(names, default)) => {
            edit.user = match last(names) {
                Some(Some(user)) if user.known => Some(user.text),
                Some(_) => Some("$?".to_owned()),
                None => default.map(str::to_owned),
            };
        }
        Some(User::Operand(at)) => {
            edit.user = operands.get(at).map(|u| {
                if u.known {
                    u.text.clone()
                } else {
                    "$?".to_owned()
                }
            });
        }
        None => {}
    }
    if let Some(dir) = last(program.cwd) {
        match dir {
            Some(dir) if dir.known => edit.cwd = Some(dir.text),
            Some(_) => return Err("runs in a directory only known at run time".to_owned()),
            None => {}
        }
    }
    let mut steps: Vec<Step> = scripts
        .into_iter()
        .map(|script| Step::Script(script, edit.clone()))
        .collect();
    let mut command: Vec<Arg> = match mode {
        // `--` before the command only ends the program's options.
        Command::Operands(skip) | Command::OperandsThen(skip) => {
            operands.extend(after_dashes.unwrap_or_default());
            operands.get(skip..).unwrap_or_default().to_vec()
        }
        Command::AfterDashes => after_dashes.unwrap_or_default(),
        Command::EachOperandIsShell => {
            steps.extend(
                operands
                    .into_iter()
                    .map(|script| Step::Script(script, edit.clone())),
            );
            Vec::new()
        }
        Command::None => Vec::new(),
    };
    if let Some(program) = run {
        command.insert(0, program);
    }
    if has(program.shell_flags) && !command.is_empty() {
        // The command's words, joined, are one shell line.
        let known = command.iter().all(|a| a.known);
        let line = command
            .iter()
            .map(|a| a.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        steps.push(Step::Script(
            if known {
                Arg::literal(line)
            } else {
                Arg::dynamic(line)
            },
            edit,
        ));
        return Ok(steps);
    }
    // A package runner's operand may name a package and version (`@scope/tool@1.2`): the
    // program is the package's name.
    if let Some(first) = command.first_mut()
        && first.known
        && program.package_operand
    {
        let bare = first.text.trim_start_matches('@');
        let bare = bare.rsplit('/').next().unwrap_or(bare);
        let bare = bare.split(['@', '=']).next().unwrap_or(bare);
        if !bare.is_empty() && bare != first.text {
            first.text = bare.to_owned();
        }
    }
    if !command.is_empty() {
        let mut argv: Vec<Arg> = program.prepend.iter().map(|w| Arg::literal(*w)).collect();
        argv.extend(command);
        steps.push(Step::Exec(argv, edit));
    } else if steps.is_empty() && program.interactive {
        return Err("starts an interactive shell".to_owned());
    }
    Ok(steps)
}

fn unknown(option: &str) -> String {
    format!(
        "is given `{option}`, an option gatekeep does not know: where the command starts is uncertain"
    )
}

/// docs/programs.md: the table as documentation (generated, checked fresh by a test).
pub(crate) fn markdown() -> String {
    use std::fmt::Write as _;
    let code = |items: &[&str]| {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut out = String::from(
        "# Programs gatekeep knows\n\n\
         Generated from the program table (`src/shell/programs.yaml`) that the analysis and the \
         rule matcher share; do not edit by hand. An option a program that runs other programs \
         is not declared to have makes it opaque (where its command starts is uncertain); \
         for the rule matcher, it makes every exemption after it unprovable. Administrators \
         add option grammars under `programs:` in a policy file (see [policy.md](policy.md)); \
         built-in entries cannot be removed.\n\n\
         ## Programs that run other programs\n\n\
         | Program | What it does | Its command | Context it sets |\n\
         |---|---|---|---|\n",
    );
    for p in PROGRAMS
        .iter()
        .filter(|p| p.command.is_some() || !p.same_as.is_empty())
    {
        let name = p.words.join(" ");
        let start = match (p.command, p.same_as) {
            (_, same) if !same.is_empty() => format!("the same as `{}`", same.join(" ")),
            (Some(Command::Operands(0)), _) => "its operands".to_owned(),
            (Some(Command::Operands(1)), _) => "its operands after the first".to_owned(),
            (Some(Command::Operands(n)), _) => format!("its operands after the first {n}"),
            (Some(Command::OperandsThen(0)), _) => "every word after its options".to_owned(),
            (Some(Command::OperandsThen(1)), _) => "every word after its first operand".to_owned(),
            (Some(Command::OperandsThen(n)), _) => {
                format!("every word after its first {n} operands")
            }
            (Some(Command::AfterDashes), _) => "the words after `--`".to_owned(),
            (Some(Command::EachOperandIsShell), _) => "each operand, as a shell line".to_owned(),
            (Some(Command::None) | None, _) => "none of its operands".to_owned(),
        };
        let mut runs = vec![start];
        if !p.shell.is_empty() {
            runs.push(format!("the shell line of {}", code(p.shell)));
        }
        if !p.program.is_empty() {
            runs.push(format!("the program named by {}", code(p.program)));
        }
        if !p.rest.is_empty() {
            runs.push(format!("the words from {} on", code(p.rest)));
        }
        if !p.inert.is_empty() {
            runs.push(format!("nothing with {}", code(p.inert)));
        }
        if p.interactive {
            runs.push("a shell when given no command".to_owned());
        }
        let mut context = Vec::new();
        if let Some((at, kind)) = p.place {
            context.push(format!("{kind}: operand {}", at + 1));
        }
        match p.user {
            Some(User::Options(names, default)) => context.push(format!(
                "user: {}{}",
                code(names),
                default
                    .map(|d| format!(" (default {d})"))
                    .unwrap_or_default()
            )),
            Some(User::Operand(at)) => context.push(format!("user: operand {}", at + 1)),
            None => {}
        }
        if !p.cwd.is_empty() {
            context.push(format!("directory: {}", code(p.cwd)));
        }
        let mut names = format!("`{name}`");
        if !p.called_as.is_empty() {
            write!(names, " (also {})", code(p.called_as)).unwrap();
        }
        writeln!(
            out,
            "| {names} | {} | {} | {} |",
            p.about,
            runs.join("; "),
            context.join("; ")
        )
        .unwrap();
    }
    out.push_str(
        "\n## Programs that run code gatekeep cannot read\n\n\
         | Program | What it does | Opaque when |\n|---|---|---|\n",
    );
    for p in PROGRAMS
        .iter()
        .filter(|p| p.opaque.is_some() || !p.code.is_empty() || p.code_operands)
    {
        let when = if p.opaque.is_some() {
            match p.harmless {
                [] => "always".to_owned(),
                harmless => format!("with any argument but {}", code(harmless)),
            }
        } else {
            let mut when = Vec::new();
            if !p.code.is_empty() {
                when.push(format!("given {}", code(p.code)));
            }
            if p.code_operands {
                when.push("given any operand".to_owned());
            }
            when.join(", or ")
        };
        writeln!(out, "| `{}` | {} | {when} |", p.words.join(" "), p.about).unwrap();
    }
    out.push_str(
        "\n## Option grammars\n\n\
         The options each program is declared to have, by arity. Options that take a value \
         take the next word or an attached one; optional values are attached only.\n\n",
    );
    for p in PROGRAMS
        .iter()
        .filter(|p| !p.values.is_empty() || !p.flags.is_empty() || !p.optional.is_empty())
    {
        writeln!(out, "### `{}`\n", p.words.join(" ")).unwrap();
        for (label, items) in [
            ("take a value", p.values),
            ("take an attached value, if any", p.optional),
            ("take no value", p.flags),
        ] {
            if !items.is_empty() {
                writeln!(out, "- {label}: {}", code(items)).unwrap();
            }
        }
        if p.negatable {
            out.push_str(
                "- every long option's `--no-` form takes no value and takes it back; \
                 the last word naming an option decides\n",
            );
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::shell::{NoResolve, analyze_script};

    /// The analysis of `line` as text: each command with the context it runs in, then
    /// why anything is opaque.
    fn render(line: &str) -> String {
        let analysis = analyze_script(line, &NoResolve);
        let mut out = String::new();
        for command in &analysis.commands {
            let words: Vec<String> = command
                .argv
                .iter()
                .map(|a| match (a.known, a.text.contains([' ', '\''])) {
                    (false, _) => format!("<{}>", a.text),
                    (true, true) => format!("{:?}", a.text),
                    (true, false) => a.text.clone(),
                })
                .collect();
            write!(out, "  {}", words.join(" ")).unwrap();
            for (key, value) in [
                ("user", &command.user),
                ("host", &command.host),
                ("cwd", &command.cwd),
            ] {
                if let Some(value) = value {
                    write!(out, "  [{key}={value}]").unwrap();
                }
            }
            out.push('\n');
        }
        for why in &analysis.opaque {
            writeln!(out, "  opaque: {why}").unwrap();
        }
        out
    }

    /// Each entry's examples, analysed, are kept as a snapshot: a change to the table or
    /// to the analysis shows here as a reviewed difference.
    #[test]
    fn the_examples_of_every_entry_are_analysed_as_the_snapshot_says() {
        let mut out = String::new();
        for program in PROGRAMS.iter().filter(|p| !p.examples.is_empty()) {
            writeln!(out, "## {}", program.words.join(" ")).unwrap();
            for example in program.examples {
                writeln!(out, "$ {example}").unwrap();
                out.push_str(&render(example));
            }
        }
        insta::assert_snapshot!("program_examples", out);
    }

    #[test]
    fn every_entry_the_analysis_reads_has_an_example_and_a_description() {
        for program in PROGRAMS.iter().filter(|p| p.runs_code()) {
            let name = program.words.join(" ");
            assert!(!program.examples.is_empty(), "`{name}` has no example");
            assert!(!program.about.is_empty(), "`{name}` has no description");
        }
    }

    #[test]
    fn options_are_read_with_their_arity() {
        // An optional value is attached or absent: `-w ls` runs `ls`.
        assert_eq!(render("nsenter -w ls"), "  nsenter -w ls\n  ls\n");
        assert_eq!(
            render("nsenter -w/srv -t 1 rm -rf data"),
            "  nsenter -w/srv -t 1 rm -rf data\n  rm -rf data  [cwd=/srv]\n"
        );
        // A required value may be attached to its letter, after flags.
        assert_eq!(
            render("doas -nuroot rm x"),
            "  doas -nuroot rm x\n  rm x  [user=root]\n"
        );
        // GNU abbreviations of long options, where the program allows them.
        assert_eq!(
            render("timeout --sig=KILL 5 rm x"),
            "  timeout --sig=KILL 5 rm x\n  rm x\n"
        );
        // An option the table does not know: where the command starts is uncertain.
        assert!(render("timeout --bogus 5 rm x").contains("opaque"));
        // With an option that acts on a running process, it runs nothing.
        assert_eq!(render("ionice -p 42 -c 3"), "  ionice -p 42 -c 3\n");
    }

    #[test]
    fn an_option_before_a_subcommand_is_read_by_characters() {
        // A letter of several bytes: read as an unknown option, not cut in the middle.
        let analysis = render("kubectl -é exec pod -- rm x");
        assert!(
            analysis.contains("an option gatekeep does not know"),
            "{analysis}"
        );
    }

    #[test]
    fn crontab_lists_without_installing_anything() {
        assert_eq!(render("crontab -u alice -l"), "  crontab -u alice -l\n");
        assert!(render("crontab -u alice -").contains("installs commands"));
        assert!(render("crontab -u alice -e").contains("installs commands"));
    }
}
