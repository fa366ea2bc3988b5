//! Matching one rule condition against one analysed command.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use super::eval::Context;
use super::pattern::{Pattern, first_match};
use crate::shell::{Arg, Command, Input};

/// An option name as written in a rule: `-h`, `--host` or a single-dash long name such as
/// terraform's `-destroy`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptionName {
    Short(char),
    Long(String),
    SingleDashLong(String),
}

impl OptionName {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if let Some(long) = text.strip_prefix("--") {
            return (!long.is_empty() && !long.contains('='))
                .then(|| OptionName::Long(long.to_owned()));
        }
        let rest = text.strip_prefix('-')?;
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Some(OptionName::Short(c)),
            (Some(_), Some(_)) if !rest.contains('=') => {
                Some(OptionName::SingleDashLong(rest.to_owned()))
            }
            _ => None,
        }
    }
}

/// What is declared about a program's options: those that consume a value when a command
/// is parsed, and those that never do. An option that is neither is undeclared: it might
/// take the next word as its value, so nothing after it proves an exemption.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ValueOptions {
    short: Vec<char>,
    long: Vec<String>,
    single: Vec<String>,
    #[serde(default)]
    flag_short: Vec<char>,
    #[serde(default)]
    flag_long: Vec<String>,
    /// Short options whose value can only be attached (`-pSECRET`): the rest of the bundle.
    #[serde(default)]
    optional_short: Vec<char>,
    /// Every long option has a `--no-` form that takes no value and takes it back, and
    /// the last word naming an option decides (git's option parser).
    #[serde(default)]
    negatable: bool,
}

impl ValueOptions {
    pub fn add(&mut self, name: &OptionName) {
        match name {
            OptionName::Short(c) if !self.short.contains(c) => self.short.push(*c),
            OptionName::Long(l) if !self.long.contains(l) => self.long.push(l.clone()),
            OptionName::SingleDashLong(l) if !self.single.contains(l) => {
                self.single.push(l.clone())
            }
            _ => {}
        }
    }

    /// Declares `name` as an option that takes no value.
    pub fn add_flag(&mut self, name: &OptionName) {
        match name {
            OptionName::Short(c) if !self.flag_short.contains(c) => self.flag_short.push(*c),
            OptionName::Long(l) | OptionName::SingleDashLong(l) if !self.flag_long.contains(l) => {
                self.flag_long.push(l.clone())
            }
            _ => {}
        }
    }

    /// Declares `name` as an option whose value, if any, is attached (`-pSECRET`,
    /// `--password=SECRET`).
    pub fn add_optional(&mut self, name: &OptionName) {
        match name {
            OptionName::Short(c) if !self.optional_short.contains(c) => {
                self.optional_short.push(*c)
            }
            OptionName::Short(_) => {}
            other => self.add_flag(other),
        }
    }

    /// Declares that every long option has a `--no-` form that takes it back.
    pub fn set_negatable(&mut self) {
        self.negatable = true;
    }

    pub fn merge(&mut self, other: &ValueOptions) {
        self.negatable |= other.negatable;
        for c in &other.optional_short {
            self.add_optional(&OptionName::Short(*c));
        }
        for c in &other.flag_short {
            self.add_flag(&OptionName::Short(*c));
        }
        for l in &other.flag_long {
            self.add_flag(&OptionName::Long(l.clone()));
        }
        for c in &other.short {
            self.add(&OptionName::Short(*c));
        }
        for l in &other.long {
            self.add(&OptionName::Long(l.clone()));
        }
        for l in &other.single {
            self.add(&OptionName::SingleDashLong(l.clone()));
        }
    }

    /// Whether a long option (or its `--no-` negation) is declared to take no value.
    fn long_is_flag(&self, name: &str, extra: &ValueOptions) -> bool {
        let name = name
            .strip_prefix("no-")
            .filter(|n| !n.is_empty())
            .unwrap_or(name);
        let hit = |set: &ValueOptions| set.flag_long.iter().any(|l| l == name);
        hit(self) || hit(extra)
    }

    /// Whether a long option takes the next word: exactly a declared value option, or
    /// only by abbreviation. A program may have options gatekeep does not know, so an
    /// abbreviation is never certain (`git push --de` is `--delete`, not `--depth`).
    fn long_takes_value(&self, name: &str, extra: Option<&ValueOptions>) -> Takes {
        let sets = || std::iter::once(self).chain(extra);
        if sets().any(|set| set.long.iter().any(|l| l == name)) {
            return Takes::Value;
        }
        if sets().any(|set| set.flag_long.iter().any(|l| l == name)) {
            return Takes::Nothing;
        }
        if name.len() >= 2 && sets().any(|set| set.long.iter().any(|l| l.starts_with(name))) {
            return Takes::Abbreviated;
        }
        Takes::Nothing
    }
}

/// Whether a long option takes the next word as its value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Value,
    Nothing,
    /// It abbreviates a value option, and may abbreviate one gatekeep does not know.
    Abbreviated,
}

/// How strictly to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Exact names only, unknown words never match: used for `unless`, which may only
    /// ever make a rule stricter to escape.
    Strict,
    /// Abbreviated long options count; unknown words never match.
    Match,
    /// As `Match`, but any word known only at run time may match anything.
    Possible,
}

/// The arguments of a command split into options, flags and positionals.
#[derive(Debug, Default)]
pub struct Parsed<'a> {
    positionals: Vec<&'a Arg>,
    /// Options and long flags: (name without dashes or the short letter, value).
    options: Vec<(OptionName, Option<Cow<'a, Arg>>)>,
    short_flags: Vec<char>,
    /// Tokens that start with a single dash, whole (for single-dash long names).
    singles: Vec<&'a Arg>,
    /// Some word may become anything at run time (unknown, globbed, or from stdin).
    wild: bool,
    /// The command's working directory when known (absolute), for resolving relative paths.
    cwd: Option<String>,
    /// The command line itself changed directory (`cd`), so bare relative words are paths
    /// relative to a directory the policy author never saw.
    moved: bool,
    /// Where a relative `cd` took the command, relative to the caller's directory (`..`):
    /// a relative path then also has a form relative to the caller's directory
    /// (`cd .. && rm -rf build` removes `../build`).
    relative_cwd: Option<String>,
    /// Where each positional, option and short flag stood among the arguments.
    positional_at: Vec<usize>,
    option_at: Vec<usize>,
    short_flag_at: Vec<usize>,
    single_at: Vec<usize>,
    /// The first argument that is an undeclared option (one that may take the next word
    /// as its value): from there on, the parse is not certain enough to exempt anything.
    undeclared_at: Option<usize>,
    /// Arguments that are patterns read as the text they are written (see [`fixed_pattern`]):
    /// good enough to match a rule, never to prove an exemption.
    patterns_at: Vec<usize>,
    /// A long option abbreviated a value option: the program may read it as another option
    /// that takes no value, so the other reading is tried too.
    pub abbreviated: bool,
    /// The program reads `--no-NAME` as taking back `--NAME`, the last word deciding.
    negatable: bool,
}

impl Parsed<'_> {
    /// Whether what stands at argument `at` can prove something in `mode`: for an
    /// exemption (`Strict`), only what comes before any undeclared option (or is it).
    fn provable(&self, at: usize, mode: Mode) -> bool {
        mode != Mode::Strict
            || (self.undeclared_at.is_none_or(|u| at <= u) && !self.patterns_at.contains(&at))
    }
}

/// A glob argument that can be judged by its text: a URL (`?`, `*` and `&` are part of
/// it, and a shell glob would match no file), or a pattern whose fixed part names a
/// directory below the root (`/tmp/build-*` can only name things in `/tmp`, and a rule
/// written for `/etc/*` sees that text as it is). A pattern at the top of the file system
/// (`/h*`) or with no fixed part (`*`) can be anything.
fn fixed_pattern(text: &str, cwd: Option<&str>) -> bool {
    if text.contains("://") {
        return true;
    }
    let first = text
        .find(['*', '?', '['])
        .into_iter()
        .chain(["@(", "!(", "+("].iter().filter_map(|o| text.find(o)))
        .min()
        .unwrap_or(text.len());
    let head = &text[..first];
    if let Some(rest) = head.strip_prefix('/') {
        // A directory named below the root: `/tmp/…`, not `/h*`.
        return rest.trim_start_matches('/').contains('/');
    }
    if head.starts_with("~/") {
        return true;
    }
    if head.starts_with('~') {
        return false;
    }
    // Relative: judged where it resolves.
    match cwd {
        Some(cwd) if cwd.starts_with('/') => fixed_pattern(
            &crate::shell::normalize_path(&format!("{cwd}/{text}")),
            None,
        ),
        _ => false,
    }
}

/// Parses `command`'s arguments with the given value-taking options.
///
/// An abbreviated long option is read as the value option it abbreviates, or with
/// `abbreviation_is_flag` as an option that takes no value.
pub fn parse<'a>(
    command: &'a Command,
    declared: &ValueOptions,
    rule: &ValueOptions,
    caller_cwd: &str,
    abbreviation_is_flag: bool,
) -> Parsed<'a> {
    let cwd = match (&command.cwd, command.cwd_unknown) {
        (_, true) => None,
        (Some(dir), _) if dir.starts_with('/') => Some(dir.clone()),
        (Some(dir), _) => Some(crate::shell::normalize_path(&format!("{caller_cwd}/{dir}"))),
        (None, _) => Some(caller_cwd.to_owned()).filter(|c| c.starts_with('/')),
    };
    // After `cd` somewhere only known at run time, a relative path may name anything.
    let relative_unknown = command.cwd_unknown
        && command.argv[1..]
            .iter()
            .any(|a| a.known && !a.text.starts_with('/') && !a.text.starts_with('-'));
    let mut parsed = Parsed {
        wild: command.stdin_args || relative_unknown,
        cwd,
        moved: command.cwd.is_some(),
        relative_cwd: command
            .cwd
            .as_ref()
            .filter(|dir| !command.cwd_unknown && !dir.starts_with(['/', '~']))
            .cloned(),
        negatable: declared.negatable,
        ..Parsed::default()
    };
    let args = &command.argv[1..];
    let mut i = 0;
    let mut end_of_options = false;
    let takes_short = |c: char| declared.short.contains(&c) || rule.short.contains(&c);
    let takes_single = |s: &str| declared.single.iter().chain(&rule.single).any(|n| n == s);
    let flag_short = |c: char| declared.flag_short.contains(&c) || rule.flag_short.contains(&c);
    let optional_short = |c: char| declared.optional_short.contains(&c);
    let undeclared = |parsed: &mut Parsed<'_>, at: usize| {
        parsed.undeclared_at.get_or_insert(at);
    };
    while i < args.len() {
        let arg = &args[i];
        let at = i;
        i += 1;
        // Keep each kind's positions in step with its entries.
        let (positionals, options, flags, singles) = (
            parsed.positionals.len(),
            parsed.options.len(),
            parsed.short_flags.len(),
            parsed.singles.len(),
        );
        let record = |parsed: &mut Parsed<'_>| {
            let added = |now: usize, before: usize| now - before;
            for _ in 0..added(parsed.positionals.len(), positionals) {
                parsed.positional_at.push(at);
            }
            for _ in 0..added(parsed.options.len(), options) {
                parsed.option_at.push(at);
            }
            for _ in 0..added(parsed.short_flags.len(), flags) {
                parsed.short_flag_at.push(at);
            }
            for _ in 0..added(parsed.singles.len(), singles) {
                parsed.single_at.push(at);
            }
        };
        if end_of_options {
            parsed.wild |= !arg.known || arg.free;
            parsed.positionals.push(arg);
            record(&mut parsed);
            continue;
        }
        if arg.known && arg.free && fixed_pattern(&arg.text, parsed.cwd.as_deref()) {
            parsed.patterns_at.push(at);
        } else if !arg.known || arg.free {
            parsed.wild = true;
            parsed.positionals.push(arg);
            // A word known only at run time may be any option.
            undeclared(&mut parsed, at);
            record(&mut parsed);
            continue;
        }
        let text = arg.text.as_str();
        if text == "--" {
            end_of_options = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, value)) => {
                    let value = Arg {
                        text: value.to_owned(),
                        ..arg.clone()
                    };
                    parsed
                        .options
                        .push((OptionName::Long(name.to_owned()), Some(Cow::Owned(value))));
                }
                None => {
                    // `--no-NAME` of a negatable program takes no value, whatever NAME is.
                    let negation = declared.negatable
                        && long.strip_prefix("no-").is_some_and(|n| !n.is_empty());
                    let takes = if negation {
                        Takes::Nothing
                    } else {
                        declared.long_takes_value(long, Some(rule))
                    };
                    if takes == Takes::Abbreviated {
                        // Either reading may be the program's: no exemption after it.
                        parsed.abbreviated = true;
                        undeclared(&mut parsed, at);
                    }
                    let value = match takes {
                        Takes::Value => true,
                        Takes::Abbreviated => !abbreviation_is_flag,
                        Takes::Nothing => {
                            if !negation && !declared.long_is_flag(long, rule) {
                                undeclared(&mut parsed, at);
                            }
                            false
                        }
                    };
                    let value = value.then(|| args.get(i).map(Cow::Borrowed)).flatten();
                    if value.is_some() {
                        i += 1;
                    }
                    parsed
                        .options
                        .push((OptionName::Long(long.to_owned()), value));
                }
            }
            record(&mut parsed);
            continue;
        }
        let Some(bundle) = text.strip_prefix('-').filter(|b| !b.is_empty()) else {
            parsed.positionals.push(arg);
            record(&mut parsed);
            continue;
        };
        parsed.singles.push(arg);
        let name = bundle.split_once('=').map_or(bundle, |(n, _)| n);
        if bundle.chars().count() > 1 && takes_single(name) {
            let value = match bundle.split_once('=') {
                Some((_, value)) => Some(Cow::Owned(Arg {
                    text: value.to_owned(),
                    ..arg.clone()
                })),
                None => {
                    i += 1;
                    args.get(i - 1).map(Cow::Borrowed)
                }
            };
            parsed
                .options
                .push((OptionName::SingleDashLong(name.to_owned()), value));
            record(&mut parsed);
            continue;
        }
        // A single-dash long flag (`-destroy`) declared as such is certain as a whole.
        let whole_flag = bundle.chars().count() > 1
            && declared
                .flag_long
                .iter()
                .chain(&rule.flag_long)
                .any(|f| f == name);
        for (offset, c) in bundle.char_indices() {
            let attached = &bundle[offset + c.len_utf8()..];
            if optional_short(c) && !takes_short(c) && !whole_flag {
                // The rest of the bundle is its value (`-pSECRET`), or it has none.
                let value = (!attached.is_empty()).then(|| {
                    Cow::Owned(Arg {
                        text: attached.to_owned(),
                        ..arg.clone()
                    })
                });
                parsed.options.push((OptionName::Short(c), value));
                break;
            }
            if !takes_short(c) && !flag_short(c) && !whole_flag {
                undeclared(&mut parsed, at);
            }
            if takes_short(c) {
                let value = if attached.is_empty() {
                    i += 1;
                    args.get(i - 1).map(Cow::Borrowed)
                } else {
                    Some(Cow::Owned(Arg {
                        text: attached.to_owned(),
                        ..arg.clone()
                    }))
                };
                parsed.options.push((OptionName::Short(c), value));
                break;
            }
            // `-n=false`: Go tools read a flag's own value after `=`.
            if let Some(value) = attached.strip_prefix('=').filter(|_| !whole_flag) {
                let value = Arg {
                    text: value.to_owned(),
                    ..arg.clone()
                };
                parsed
                    .options
                    .push((OptionName::Short(c), Some(Cow::Owned(value))));
                break;
            }
            parsed.short_flags.push(c);
        }
        record(&mut parsed);
    }
    parsed
}

/// Conditions on the context.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct When {
    pub user: Option<Vec<Pattern>>,
    pub host: Option<Vec<Pattern>>,
    pub cwd: Option<Vec<Pattern>>,
    pub agent: Option<bool>,
    pub tty: Option<bool>,
}

/// One compiled `match` map.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Matcher {
    pub program: Option<Vec<Pattern>>,
    pub options: Vec<(Vec<OptionName>, Vec<Pattern>)>,
    pub env: Vec<(String, Vec<Pattern>)>,
    pub args: Option<Vec<Vec<Pattern>>>,
    pub flags: Vec<Vec<OptionName>>,
    pub any_arg: Option<Vec<Pattern>>,
    /// Files the command writes.
    #[serde(default)]
    pub writes: Option<Vec<Pattern>>,
    /// Files whose contents may reach the command.
    #[serde(default)]
    pub reads: Option<Vec<Pattern>>,
    /// The text the command reads on standard input, when the line shows it.
    #[serde(default)]
    pub stdin: Option<Vec<Pattern>>,
    /// Where the command's standard input comes from.
    #[serde(default)]
    pub stdin_from: Option<Vec<InputKind>>,
    /// Any of these cancels the match.
    pub unless: Vec<Matcher>,
    pub when: When,
    /// Tool names: the matcher is about an agent's tool calls, never about commands.
    pub tool: Option<Vec<Pattern>>,
    /// Input field name and the patterns one of its values must match.
    pub input: Vec<(String, Vec<Pattern>)>,
    /// The input field holding a shell command the tool runs (`command_from: input.FIELD`).
    #[serde(default)]
    pub command_from: Option<String>,
}

/// Whether the option as written in a command (`given`) is the rule's option (`wanted`).
fn same_option(given: &OptionName, wanted: &OptionName, mode: Mode) -> bool {
    match (given, wanted) {
        (OptionName::Short(a), OptionName::Short(b)) => a == b,
        (OptionName::Long(a), OptionName::Long(b)) => {
            a == b || (mode != Mode::Strict && a.len() >= 2 && b.starts_with(a.as_str()))
        }
        // Go-style tools accept `--name` for `-name`.
        (OptionName::Long(a) | OptionName::SingleDashLong(a), OptionName::SingleDashLong(b)) => {
            a == b
        }
        _ => false,
    }
}

/// The ways a word may name a file: normalised (`/tmp/../etc` is `/etc`), and resolved
/// against the working directory when it is a relative path.
/// A path through a process's `/proc/PID/root` or `/proc/PID/cwd` link, as the file it
/// names: the links are followed before any `..` after them, so the rest is read from the
/// root (for `root`, and for another process's `cwd`, whose directory is unknown and is
/// most often the root) or from the command's own directory (`/proc/self/cwd`).
fn through_proc(text: &str, cwd: Option<&str>) -> Vec<String> {
    let mut segments: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
    // A thread's links are its process's: `/proc/PID/task/TID/root`.
    if segments.get(2) == Some(&"task") && segments.len() > 4 {
        segments.drain(2..4);
    }
    let [first, pid, link, rest @ ..] = segments.as_slice() else {
        return Vec::new();
    };
    if *first != "proc" || !matches!(*link, "root" | "cwd") {
        return Vec::new();
    }
    let rest = rest.join("/");
    let mut forms = vec![crate::shell::normalize_path(&format!("/{rest}"))];
    if *link == "cwd"
        && matches!(*pid, "self" | "thread-self")
        && let Some(cwd) = cwd
    {
        forms.push(crate::shell::normalize_path(&format!("{cwd}/{rest}")));
    }
    forms
}

/// A path with `..` after a directory that is a symbolic link on usual systems
/// (`/var/run` is `/run`, `/bin` is `/usr/bin`): `..` steps out of the link's target, not
/// out of the name, so `/var/run/../etc` is `/etc`.
fn through_links(text: &str) -> Vec<String> {
    const LINKS: &[(&str, &str)] = &[
        ("/var/run", "/run"),
        ("/var/lock", "/run/lock"),
        ("/bin", "/usr/bin"),
        ("/sbin", "/usr/sbin"),
        ("/lib", "/usr/lib"),
        ("/lib32", "/usr/lib32"),
        ("/lib64", "/usr/lib64"),
        ("/libx32", "/usr/libx32"),
        ("/etc", "/private/etc"),
        ("/tmp", "/private/tmp"),
        ("/var", "/private/var"),
    ];
    if !text.contains("..") {
        return Vec::new();
    }
    let squeezed = text
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>();
    let squeezed = format!("/{}", squeezed.join("/"));
    LINKS
        .iter()
        .filter_map(|(link, target)| {
            let rest = squeezed.strip_prefix(link)?;
            rest.starts_with('/').then(|| {
                let resolved = crate::shell::normalize_path(&format!("{target}{rest}"));
                // Back under /private: the name macOS users see.
                resolved
                    .strip_prefix("/private")
                    .filter(|r| r.starts_with('/'))
                    .map_or(resolved.clone(), str::to_owned)
            })
        })
        .collect()
}

fn path_forms(text: &str, parsed: Option<&Parsed<'_>>) -> Vec<String> {
    let mut forms = path_forms_of(text, parsed);
    // A directory written as such (`DIR/`: what is put in it, an archive extracted there,
    // a tree deleted) keeps its slash, so `/etc/sudoers.d/*` sees it.
    if text.ends_with('/') && text.len() > 1 {
        for form in &mut forms {
            if !form.ends_with('/') {
                form.push('/');
            }
        }
    }
    forms
}

fn path_forms_of(text: &str, parsed: Option<&Parsed<'_>>) -> Vec<String> {
    let mut forms = Vec::new();
    if let Some(rest) = text.strip_prefix("~/") {
        // `~/.ssh/./authorized_keys` is `~/.ssh/authorized_keys`.
        let normal = crate::shell::normalize_path(&format!("/{rest}"));
        let normal = format!("~{normal}");
        if normal != text {
            forms.push(normal);
        }
        return forms;
    }
    if text.starts_with('/') {
        let normal = crate::shell::normalize_path(text);
        let cwd = parsed.and_then(|p| p.cwd.as_deref());
        forms.extend(through_proc(text, cwd));
        // `/proc/self/../self/root`: the links again after `.` and `..` are read.
        forms.extend(through_proc(&normal, cwd));
        forms.extend(through_links(text));
        // macOS keeps /etc, /var and /tmp under /private.
        if let Some(rest) = normal.strip_prefix("/private/") {
            forms.push(format!("/{rest}"));
        }
        if normal != text {
            forms.push(normal);
        }
    } else if let Some((key, value)) = text.split_once('=').filter(|(_, v)| v.starts_with('/')) {
        // `of=//dev/sda`, `--target=/./etc`
        let normal = crate::shell::normalize_path(value);
        if normal != value {
            forms.push(format!("{key}={normal}"));
        }
    } else if let Some(parsed) = parsed
        && let Some(cwd) = &parsed.cwd
        && !text.starts_with('-')
        && !text.contains("://")
        && !text.starts_with('~')
        && (text.contains('/') || text == "." || text == ".." || parsed.moved)
    {
        forms.push(crate::shell::normalize_path(&format!("{cwd}/{text}")));
        if let Some(dir) = &parsed.relative_cwd {
            let from_caller = crate::shell::normalize_path(&format!("{dir}/{text}"));
            if from_caller != text {
                forms.push(from_caller);
            }
        }
    }
    forms
}

fn value_matches(
    value: &Arg,
    patterns: &[Pattern],
    mode: Mode,
    parsed: Option<&Parsed<'_>>,
) -> Option<String> {
    if !value.known {
        return (mode == Mode::Possible).then(|| value.text.clone());
    }
    let moved_path = parsed.is_some_and(|p| moved_path(p, &value.text));
    let mut candidates: Vec<String> = std::iter::once(value.text.clone())
        .chain(value.text.strip_prefix('=').map(str::to_owned))
        .collect();
    candidates.extend(path_forms(&value.text, parsed));
    for (at, text) in candidates.iter().enumerate() {
        // A `sql:` pattern judges the value as it is written, never a path form of it.
        let hit = patterns
            .iter()
            .filter(|p| {
                if at == 0 {
                    !moved_path || p.is_sql()
                } else {
                    !p.is_sql()
                }
            })
            .find(|p| p.is_match(text));
        if let Some(pattern) = hit {
            return Some(explain(text, pattern));
        }
    }
    None
}

/// "`TEXT` matched `PATTERN`", with what a `sql:` pattern found.
fn explain(text: &str, pattern: &Pattern) -> String {
    let mut shown: String = text.chars().take(120).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    match pattern.detail(text) {
        Some(detail) => format!("`{shown}` matched `{}`: {detail}", pattern.source()),
        None => format!("`{shown}` matched `{}`", pattern.source()),
    }
}

/// Where a command's standard input comes from, as `stdin_from` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputKind {
    /// Text the line shows (a here-document, a here-string, a literal `echo` piped in).
    Text,
    /// A file (`< FILE`).
    File,
    /// Something only known at run time: another program's output, an expanded
    /// here-document.
    Runtime,
    /// The caller's own standard input, when it is not a terminal.
    Caller,
    /// The caller's terminal.
    Terminal,
}

impl InputKind {
    pub const NAMES: [(&'static str, InputKind); 5] = [
        ("text", InputKind::Text),
        ("file", InputKind::File),
        ("runtime", InputKind::Runtime),
        ("caller", InputKind::Caller),
        ("terminal", InputKind::Terminal),
    ];

    fn of(input: Option<&Input>, ctx: &Context) -> Self {
        match input {
            Some(Input::Text(_)) => InputKind::Text,
            Some(Input::File(_)) => InputKind::File,
            Some(Input::Unknown(_) | Input::Expanded(_)) => InputKind::Runtime,
            None if ctx.tty => InputKind::Terminal,
            None => InputKind::Caller,
        }
    }
}

impl Matcher {
    /// Whether the command satisfies every condition. `why` collects explanations.
    pub fn matches(
        &self,
        command: &Command,
        parsed: &Parsed<'_>,
        ctx: &Context,
        mode: Mode,
        why: &mut Vec<String>,
    ) -> bool {
        if self.tool.is_some() {
            return false;
        }
        let wild = mode == Mode::Possible && parsed.wild;
        if let Some(programs) = &self.program {
            let hit = programs.iter().find_map(|pattern| {
                let candidates = if pattern.source().contains('/') {
                    &command.paths
                } else {
                    &command.names
                };
                candidates
                    .iter()
                    .find(|c| pattern.is_match(c))
                    .map(|c| (c, pattern))
            });
            match hit {
                Some((name, pattern)) => {
                    why.push(format!("program `{name}` matched `{}`", pattern.source()))
                }
                None => return false,
            }
        }
        let place = (
            command.user.as_deref().unwrap_or(&ctx.user),
            command.host.as_deref().unwrap_or(&ctx.host),
            command.cwd.as_deref().unwrap_or(&ctx.cwd),
        );
        if !self.when_matches(place, ctx, why) {
            return false;
        }
        for (name, patterns) in &self.env {
            let value: Option<Cow<'_, Arg>> = match command.env.lookup(name) {
                Some(set) => set.map(Cow::Borrowed),
                None if command.env.cleared => None,
                None => match ctx.env.get(name) {
                    Some(v) => Some(Cow::Owned(Arg::literal(v.clone()))),
                    None if ctx.unknown_env.contains(name) => {
                        Some(Cow::Owned(Arg::dynamic(format!("${name}"))))
                    }
                    None => None,
                },
            };
            match value.and_then(|v| value_matches(&v, patterns, mode, None)) {
                Some(explained) => why.push(format!("env {name}: {explained}")),
                None => return false,
            }
        }
        for (names, patterns) in &self.options {
            let occurrences: Vec<_> = parsed
                .options
                .iter()
                .zip(&parsed.option_at)
                .filter(|((given, _), _)| {
                    names.iter().any(|wanted| same_option(given, wanted, mode))
                })
                .collect();
            // An exemption needs every occurrence where the parse is certain.
            if occurrences
                .iter()
                .any(|(_, at)| !parsed.provable(**at, mode))
            {
                return false;
            }
            let occurrences: Vec<_> = occurrences.into_iter().map(|(o, _)| o).collect();
            let explain = |(given, value): &&(OptionName, Option<Cow<'_, Arg>>)| {
                value
                    .as_ref()
                    .and_then(|v| value_matches(v, patterns, mode, Some(parsed)))
                    .map(|e| format!("option {}: {e}", display_option(given)))
            };
            // For `unless`, every occurrence must match: a tool that takes the last of
            // repeated options must not get past a rule through an earlier, harmless one.
            let hit = if mode == Mode::Strict {
                let all: Option<Vec<String>> = occurrences.iter().map(explain).collect();
                all.filter(|a| !a.is_empty()).map(|a| a.join("; "))
            } else {
                occurrences.iter().find_map(explain)
            };
            match hit {
                Some(explained) => why.push(explained),
                None if wild => why.push("options are only known at run time".to_owned()),
                None => return false,
            }
        }
        for names in &self.flags {
            let present = flag_given(parsed, names, mode);
            match present {
                Some(flag) => why.push(format!("flag {} present", display_option(flag))),
                None if wild => why.push("flags are only known at run time".to_owned()),
                None => return false,
            }
        }
        if let Some(groups) = &self.args {
            if !subsequence(parsed, groups, mode) && !wild {
                return false;
            }
            let shown: Vec<&str> = groups
                .iter()
                .map(|g| g.first().map_or("", |p| p.source()))
                .collect();
            why.push(format!("arguments matched [{}]", shown.join(", ")));
        }
        if let Some(patterns) = &self.any_arg {
            let hit = command.argv[1..]
                .iter()
                .enumerate()
                .filter(|(at, _)| parsed.provable(*at, mode))
                .find_map(|(_, arg)| value_matches(arg, patterns, mode, Some(parsed)));
            match hit {
                Some(explained) => why.push(format!("argument {explained}")),
                None if wild => why.push("arguments are only known at run time".to_owned()),
                None => return false,
            }
        }
        if let Some(patterns) = &self.writes {
            let hit = command
                .writes
                .iter()
                .find_map(|target| value_matches(target, patterns, mode, Some(parsed)));
            // A write to a file only known at run time may be to any of them.
            let unknown = command
                .writes
                .iter()
                .any(|t| !t.known || (t.free && !fixed_pattern(&t.text, parsed.cwd.as_deref())));
            match hit {
                Some(explained) => why.push(format!("writes {explained}")),
                None if unknown && mode == Mode::Possible => {
                    why.push("writes a file only known at run time".to_owned())
                }
                None => return false,
            }
        }
        if let Some(patterns) = &self.reads {
            let hit = command
                .reads
                .iter()
                .find_map(|source| value_matches(source, patterns, mode, Some(parsed)));
            let unknown = command
                .reads
                .iter()
                .any(|s| !s.known || (s.free && !fixed_pattern(&s.text, parsed.cwd.as_deref())));
            match hit {
                Some(explained) => why.push(format!("reads {explained}")),
                None if unknown && mode == Mode::Possible => {
                    why.push("reads a file only known at run time".to_owned())
                }
                None => return false,
            }
        }
        if let Some(patterns) = &self.stdin {
            // Text the line shows; text with run-time expansions may be anything; input
            // the line does not show at all is for `stdin_from`.
            match &command.stdin {
                Some(Input::Text(text)) => match first_match(patterns, text) {
                    Some(pattern) => why.push(format!("standard input {}", explain(text, pattern))),
                    None => return false,
                },
                Some(Input::Expanded(text)) if mode == Mode::Possible => why.push(format!(
                    "standard input `{}` is only known at run time",
                    text.chars().take(120).collect::<String>()
                )),
                _ => return false,
            }
        }
        if let Some(kinds) = &self.stdin_from {
            let kind = InputKind::of(command.stdin.as_ref(), ctx);
            if !kinds.contains(&kind) {
                return false;
            }
            let from = match &command.stdin {
                Some(Input::File(file)) => format!("the file `{}`", file.text),
                Some(Input::Unknown(what)) => what.clone(),
                Some(Input::Expanded(_)) => "text with run-time expansions".to_owned(),
                Some(Input::Text(_)) => "text the line shows".to_owned(),
                None if ctx.tty => "the terminal".to_owned(),
                None => "the caller's standard input, which is not a terminal".to_owned(),
            };
            why.push(format!("standard input comes from {from}"));
        }
        if self
            .unless
            .iter()
            .any(|unless| unless.matches(command, parsed, ctx, Mode::Strict, &mut Vec::new()))
        {
            return false;
        }
        true
    }

    /// Whether an agent's tool call satisfies every condition.
    pub fn matches_tool(
        &self,
        tool: &str,
        input: &serde_json::Value,
        ctx: &Context,
        why: &mut Vec<String>,
    ) -> bool {
        let Some(names) = &self.tool else {
            return false;
        };
        match first_match(names, tool) {
            Some(p) => why.push(format!("tool `{tool}` matched `{}`", p.source())),
            None => return false,
        }
        for (field, patterns) in &self.input {
            let values: Vec<String> = match input.get(field) {
                Some(serde_json::Value::Array(items)) => items.iter().map(scalar_text).collect(),
                Some(value) => vec![scalar_text(value)],
                None => return false,
            };
            // An absolute path is also compared in its normalised form (`/srv/../etc` is
            // `/etc`); SQL and other text only as written.
            let normalised: Vec<String> = values
                .iter()
                .filter(|v| v.starts_with('/'))
                .map(|v| crate::shell::normalize_path(v))
                .filter(|n| !values.contains(n))
                .collect();
            let hit = values
                .iter()
                .find_map(|v| first_match(patterns, v).map(|p| (v, p)))
                .or_else(|| {
                    normalised.iter().find_map(|v| {
                        patterns
                            .iter()
                            .find(|p| !p.is_sql() && p.is_match(v))
                            .map(|p| (v, p))
                    })
                });
            match hit {
                Some((value, p)) => {
                    why.push(format!("input {field} `{value}` matched `{}`", p.source()))
                }
                None => return false,
            }
        }
        self.when_matches((&ctx.user, &ctx.host, &ctx.cwd), ctx, why)
    }

    /// `place` is the user, host and working directory the command runs as, on and in.
    fn when_matches(
        &self,
        place: (&str, &str, &str),
        ctx: &Context,
        why: &mut Vec<String>,
    ) -> bool {
        let when = &self.when;
        let checks = [
            ("user", &when.user, place.0),
            ("host", &when.host, place.1),
            ("cwd", &when.cwd, place.2),
        ];
        for (key, patterns, value) in checks {
            if let Some(patterns) = patterns {
                match first_match(patterns, value) {
                    Some(p) => why.push(format!("{key} `{value}` matched `{}`", p.source())),
                    None => return false,
                }
            }
        }
        if when.agent.is_some_and(|agent| agent != ctx.agent)
            || when.tty.is_some_and(|tty| tty != ctx.tty)
        {
            return false;
        }
        if let Some(agent) = when.agent {
            why.push(format!(
                "caller is {}an agent",
                if agent { "" } else { "not " }
            ));
        }
        true
    }
}

fn display_option(name: &OptionName) -> String {
    match name {
        OptionName::Short(c) => format!("-{c}"),
        OptionName::Long(l) => format!("--{l}"),
        OptionName::SingleDashLong(l) => format!("-{l}"),
    }
}

/// The spelling by which a flag (given as all its spellings) is given, if it is. For an
/// exemption (`Strict`) its last word counts, as the programs read it: a later `--no-`
/// negation of a long spelling (or of an abbreviation of it, `--no-dry` for
/// `--no-dry-run`), or a spelling given a false value (`--dry-run=false`, `-n=false`, as
/// Go tools accept), takes it back. The last word that stands where the parse is certain
/// decides, and a negation where it is not certain (after an option that may or may not
/// take it as its value) leaves the flag unproven.
///
/// For matching, any word that names the flag counts, except where the program is
/// negatable (git) and the last word naming it is its exact `--no-` negation, standing
/// where the parse is certain: `git rm --force --no-force` does not force.
fn flag_given<'r>(
    parsed: &Parsed<'_>,
    all: &'r [OptionName],
    mode: Mode,
) -> Option<&'r OptionName> {
    let options = || parsed.options.iter().zip(&parsed.option_at);
    // Every word that gives the flag: where it stands, whether it turns the flag on, and
    // which spelling it is.
    let mut seen: Vec<(usize, bool, &OptionName)> = Vec::new();
    // Where an exact `--no-` negation stands (matching reads only those).
    let mut negations: Vec<usize> = Vec::new();
    for wanted in all {
        match wanted {
            OptionName::Short(c) => {
                seen.extend(
                    parsed
                        .short_flags
                        .iter()
                        .zip(&parsed.short_flag_at)
                        .filter(|(given, _)| *given == c)
                        .map(|(_, at)| (*at, true, wanted)),
                );
                seen.extend(
                    options()
                        .filter(|((given, _), _)| given == wanted)
                        .map(|((_, value), at)| (*at, turns_on(value.as_deref()), wanted)),
                );
            }
            OptionName::Long(long) => {
                for ((given, value), at) in options() {
                    if same_option(given, wanted, mode) {
                        seen.push((*at, turns_on(value.as_deref()), wanted));
                    } else if let OptionName::Long(name) = given
                        && let Some(negated) = name.strip_prefix("no-")
                        && !negated.is_empty()
                        && long.starts_with(negated)
                    {
                        if negated == long {
                            negations.push(*at);
                        }
                        // An abbreviated negation may take it back too: never an exemption.
                        if mode == Mode::Strict {
                            seen.push((*at, false, wanted));
                        }
                    }
                }
            }
            OptionName::SingleDashLong(long) => {
                for (arg, at) in parsed.singles.iter().zip(&parsed.single_at) {
                    let body = &arg.text[1..];
                    if body == long {
                        seen.push((*at, true, wanted));
                    } else if let Some((name, value)) = body.split_once('=')
                        && name == long
                    {
                        seen.push((*at, is_true(value), wanted));
                    }
                }
                seen.extend(
                    options()
                        .filter(|((given, _), _)| same_option(given, wanted, mode))
                        .map(|((_, value), at)| (*at, turns_on(value.as_deref()), wanted)),
                );
            }
        }
    }
    if mode != Mode::Strict {
        let last = seen.iter().map(|(at, _, _)| *at).max();
        if parsed.negatable
            && let Some(&negation) = negations.iter().max()
            && last.is_none_or(|last| negation > last)
            && parsed.provable(negation, Mode::Strict)
        {
            return None;
        }
        // Matching: any word that names the flag, whatever value it gives it.
        return seen.first().map(|(_, _, spelling)| *spelling);
    }
    seen.sort_by_key(|(at, _, _)| *at);
    if seen
        .iter()
        .any(|(at, on, _)| !on && !parsed.provable(*at, mode))
    {
        return None;
    }
    seen.iter()
        .rev()
        .find(|(at, _, _)| parsed.provable(*at, mode))
        .filter(|(_, on, _)| *on)
        .map(|(_, _, spelling)| *spelling)
}

/// Whether a flag's word turns it on: without a value, or with a true one.
fn turns_on(value: Option<&Arg>) -> bool {
    value.is_none_or(|v| v.known && is_true(&v.text))
}

/// The values Go's flag parsing reads as true (`strconv.ParseBool`).
fn is_true(text: &str) -> bool {
    matches!(text, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

/// Whether the groups of patterns appear, in order, among the positionals.
/// After a relative `cd`, a relative path as written names another file than the policy
/// author would read it as (`cd src && rm -rf ../build` removes `build`): only its
/// resolved forms count.
fn moved_path(parsed: &Parsed<'_>, text: &str) -> bool {
    parsed.relative_cwd.is_some()
        && !text.starts_with(['/', '~', '-'])
        && !text.contains("://")
        && (text.contains('/') || text == "..")
}

fn subsequence(parsed: &Parsed<'_>, groups: &[Vec<Pattern>], mode: Mode) -> bool {
    let mut remaining = parsed
        .positionals
        .iter()
        .zip(&parsed.positional_at)
        .filter(|(_, at)| parsed.provable(**at, mode))
        .map(|(arg, _)| arg);
    'groups: for group in groups {
        for arg in remaining.by_ref() {
            let hit = if arg.known {
                (!moved_path(parsed, &arg.text) && first_match(group, &arg.text).is_some())
                    || path_forms(&arg.text, Some(parsed))
                        .iter()
                        .any(|f| first_match(group, f).is_some())
            } else {
                mode == Mode::Possible
            };
            if hit {
                continue 'groups;
            }
        }
        return false;
    }
    true
}

/// A JSON value as text for matching: strings as they are, other values as JSON.
fn scalar_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
