//! The command-line clients' own commands, read before the SQL is parsed.
//!
//! Each client reads its input with a lexer of its own: it finds its commands outside
//! quotes and comments, and substitutes its variables. These readers follow the clients'
//! documented grammar and take out what the SQL parser must not see: comments (so that
//! the parser cannot read a comment where the server reads code), the clients' commands
//! (judged here), and variables (substituted when the text sets them, unreadable when they
//! come from elsewhere). Where a reader cannot be sure how the client splits the text, the
//! text is unreadable.

use std::collections::HashMap;

use super::{Class, Dialect, Finding};

/// How many variable substitutions one text may make before it is unreadable.
const MAX_SUBSTITUTIONS: usize = 64;

/// The SQL a client sends, and what its own commands do.
#[derive(Debug, Default)]
pub(super) struct Script {
    pub sql: String,
    pub findings: Vec<Finding>,
}

impl Script {
    fn class(&mut self, class: Class, what: String) {
        self.findings.push(Finding::class(class, what));
    }

    fn unreadable(&mut self, what: String) {
        self.findings.push(Finding::unreadable(what));
    }
}

/// Reads `text` as the usual client of `dialect` does. Where a server setting the text
/// cannot show changes how strings end (PostgreSQL's `standard_conforming_strings`, MySQL's
/// `NO_BACKSLASH_ESCAPES`), it is read both ways, and whatever either reading finds counts.
pub(super) fn read(dialect: Dialect, text: &str) -> Vec<Script> {
    let both = text.contains('\\');
    match dialect {
        Dialect::Postgres if both => vec![psql(text, false), psql(text, true)],
        Dialect::Postgres => vec![psql(text, false)],
        Dialect::Mysql if both => vec![mysql(text, true), mysql(text, false)],
        Dialect::Mysql => vec![mysql(text, true)],
        Dialect::Sqlite | Dialect::Duckdb => vec![dot_commands(text)],
        Dialect::Mssql => vec![sqlcmd(text)],
        _ => vec![Script {
            sql: text.to_owned(),
            findings: Vec::new(),
        }],
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// The index just past the end of a line (its newline excluded).
fn line_end(chars: &[char], from: usize) -> usize {
    chars[from..]
        .iter()
        .position(|&c| c == '\n')
        .map_or(chars.len(), |p| from + p)
}

/// Where a `--` (or `#`) comment starting at `from` ends: at a line feed or a carriage
/// return. A client that only ends it at a line feed reads more as comment, never less.
fn comment_end(chars: &[char], from: usize) -> usize {
    chars[from..]
        .iter()
        .position(|&c| c == '\n' || c == '\r')
        .map_or(chars.len(), |p| from + p)
}

fn string(chars: &[char]) -> String {
    chars.iter().collect()
}

// ---------------------------------------------------------------------------------------
// psql

/// psql meta-commands that only describe, format, connect or control the flow of the
/// script. Any other is judged below, or unreadable.
const PSQL_HARMLESS: &[&str] = &[
    "a",
    "bind",
    "bind_named",
    "c",
    "connect",
    "C",
    "cd",
    "close_prepared",
    "conninfo",
    "copyright",
    "crosstabview",
    "echo",
    "elif",
    "else",
    "endif",
    "endpipeline",
    "errverbose",
    "f",
    "flush",
    "flushrequest",
    "g",
    "gdesc",
    "getenv",
    "getresults",
    "gset",
    "gx",
    "h",
    "help",
    "H",
    "html",
    "if",
    "l",
    "list",
    "lo_export",
    "lo_import",
    "lo_list",
    "o",
    "out",
    "p",
    "print",
    "parse",
    "password",
    "prompt",
    "pset",
    "q",
    "quit",
    "qecho",
    "r",
    "reset",
    "restrict",
    "s",
    "sendpipeline",
    "set",
    "sf",
    "startpipeline",
    "sv",
    "syncpipeline",
    "t",
    "T",
    "timing",
    "unrestrict",
    "unset",
    "w",
    "write",
    "warn",
    "watch",
    "x",
    "z",
    "?",
    ".",
];

/// Meta-commands that send the query buffer (they end a statement).
const PSQL_SENDS: &[&str] = &[
    "g",
    "gx",
    "gset",
    "gdesc",
    "gexec",
    "watch",
    "crosstabview",
    "sendpipeline",
];

/// One argument of a psql meta-command.
struct MetaArg {
    text: String,
    /// Its value is certain (no variable only known at run time).
    known: bool,
    /// Written as a quoted string (`'|cmd'` is a file name, not a pipe).
    quoted: bool,
}

/// Reads a psql script: SQL, meta-commands (`\…`), variables (`:name`). A text given with
/// `-c` that does not start with a backslash is sent to the server as it is, without
/// meta-commands or variables; reading it as a script is stricter, never laxer. With
/// `backslash_strings`, a backslash escapes in every string, as when the server runs with
/// `standard_conforming_strings` off.
fn psql(text: &str, backslash_strings: bool) -> Script {
    let mut out = Script::default();
    // Where psql splits strings depends on the client encoding: a text that changes it is
    // not read.
    if text.to_lowercase().contains("client_encoding") {
        out.unreadable(
            "the SQL changes `client_encoding`, which changes how psql splits it".to_owned(),
        );
    }
    let mut chars: Vec<char> = text.chars().collect();
    let mut vars: HashMap<String, Option<String>> = HashMap::new();
    let mut substitutions = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let prev_ident = i > 0 && ident_char(chars[i - 1]);
        match c {
            '-' if next == Some('-') => {
                i = comment_end(&chars, i);
                out.sql.push(' ');
            }
            '/' if next == Some('*') => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.sql.push(' ');
            }
            '\'' => {
                let escapes = backslash_strings
                    || (i > 0
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !(i > 1 && ident_char(chars[i - 2])));
                let end = quoted_end(&chars, i, '\'', escapes);
                if escapes && backslash_after_wide(&chars[i..end]) {
                    out.unreadable(
                        "a backslash after a non-ASCII character in an escape string may be read differently in another client encoding".to_owned(),
                    );
                }
                // The parser gets the string as this reading ends it: a plain literal.
                match string_value(&chars, i, end, '\'', escapes) {
                    Some(value) => {
                        if escapes && !backslash_strings {
                            out.sql.pop();
                        }
                        out.sql.push('\'');
                        out.sql.push_str(&value.replace('\'', "''"));
                        out.sql.push('\'');
                    }
                    None => out.sql.extend(&chars[i..end]),
                }
                i = end;
            }
            '"' => {
                let end = quoted_end(&chars, i, '"', false);
                out.sql.extend(&chars[i..end]);
                i = end;
            }
            '$' if !prev_ident => match dollar_tag(&chars, i) {
                Some(tag) => {
                    let body = i + tag.len();
                    let end = find(&chars, body, &tag).map_or(chars.len(), |e| e + tag.len());
                    out.sql.extend(&chars[i..end]);
                    i = end;
                }
                None => {
                    out.sql.push(c);
                    i += 1;
                }
            },
            '\\' if next == Some(';') => {
                out.sql.push(';');
                i += 2;
            }
            '\\' if next == Some('\\') => i += 2,
            '\\' => i = psql_meta(&chars, i, &mut vars, &mut out),
            ':' if next == Some(':') => {
                out.sql.push_str("::");
                i += 2;
            }
            ':' if !(i > 0 && chars[i - 1] == ':') => {
                match interpolation(&chars, i) {
                    Some((name, _, end)) if name.is_empty() => {
                        out.sql.push_str("TRUE");
                        i = end;
                    }
                    Some((name, style, end)) => {
                        let value = vars.get(&name).cloned().flatten();
                        let Some(value) = value else {
                            out.unreadable(format!(
                                "the psql variable `:{name}` is only known at run time"
                            ));
                            out.sql.push(' ');
                            i = end;
                            continue;
                        };
                        substitutions += 1;
                        if substitutions > MAX_SUBSTITUTIONS {
                            out.unreadable("psql variables expand too many times".to_owned());
                            break;
                        }
                        match style {
                            // The value is read again as part of the script.
                            None => {
                                chars.splice(i..end, value.chars());
                            }
                            Some(quote) => {
                                out.sql.push(quote);
                                for ch in value.chars() {
                                    if ch == quote {
                                        out.sql.push(ch);
                                    }
                                    out.sql.push(ch);
                                }
                                out.sql.push(quote);
                                i = end;
                            }
                        }
                    }
                    None => {
                        out.sql.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                out.sql.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Where a quoted string or identifier that opens at `start` ends (just past its closing
/// quote; the end of the text when it never closes). A doubled quote stands for itself;
/// with `escapes`, a backslash escapes the next character.
fn quoted_end(chars: &[char], start: usize, quote: char, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if escapes => i += 2,
            c if c == quote => {
                if chars.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    chars.len()
}

/// The value of the closed string literal between `start` (its opening quote) and `end`
/// (just past its closing one); `None` when it never closes.
fn string_value(
    chars: &[char],
    start: usize,
    end: usize,
    quote: char,
    escapes: bool,
) -> Option<String> {
    if end <= start + 1 || end > chars.len() || chars[end - 1] != quote {
        return None;
    }
    // An escaped closing quote at the very end means the string never closed.
    let inner = &chars[start + 1..end - 1];
    let mut out = String::new();
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            '\\' if escapes => {
                let next = *inner.get(i + 1)?;
                out.push(match next {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '0' => '\0',
                    other => other,
                });
                i += 2;
            }
            c if c == quote => {
                out.push(c);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// In a client encoding such as SJIS or GBK, a backslash after a multi-byte character can
/// be that character's second byte: it then escapes nothing.
fn backslash_after_wide(chars: &[char]) -> bool {
    chars.windows(2).any(|w| !w[0].is_ascii() && w[1] == '\\')
}

/// `$tag$` opening a dollar-quoted string at `at`, if one does.
fn dollar_tag(chars: &[char], at: usize) -> Option<Vec<char>> {
    let mut j = at + 1;
    if chars.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || !chars[j].is_ascii())
    {
        j += 1;
    }
    (chars.get(j) == Some(&'$')).then(|| chars[at..=j].to_vec())
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..=chars.len().saturating_sub(needle.len()))
        .find(|&k| k + needle.len() <= chars.len() && chars[k..k + needle.len()] == *needle)
}

/// A psql variable reference at `at` (`:name`, `:'name'`, `:"name"`, `:{?name}`): its name,
/// its quoting (`None`: spliced in as text) and where it ends.
fn interpolation(chars: &[char], at: usize) -> Option<(String, Option<char>, usize)> {
    let var_char = |c: char| c.is_alphanumeric() || c == '_' || !c.is_ascii();
    match chars.get(at + 1)? {
        q @ ('\'' | '"') => {
            let start = at + 2;
            let mut j = start;
            while j < chars.len() && var_char(chars[j]) {
                j += 1;
            }
            (j > start && chars.get(j) == Some(q))
                .then(|| (string(&chars[start..j]), Some(*q), j + 1))
        }
        '{' => {
            // `:{?name}` tests whether a variable is set: TRUE or FALSE, never code. It is
            // returned with an empty name.
            if chars.get(at + 2) != Some(&'?') {
                return None;
            }
            let close = chars[at..].iter().position(|&c| c == '}')? + at;
            Some((String::new(), None, close + 1))
        }
        c if var_char(*c) => {
            let start = at + 1;
            let mut j = start;
            while j < chars.len() && var_char(chars[j]) {
                j += 1;
            }
            Some((string(&chars[start..j]), None, j))
        }
        _ => None,
    }
}

/// Reads the meta-command at `at` (a backslash); returns where the script goes on.
fn psql_meta(
    chars: &[char],
    at: usize,
    vars: &mut HashMap<String, Option<String>>,
    out: &mut Script,
) -> usize {
    let start = at + 1;
    let mut j = start;
    while j < chars.len() && !chars[j].is_whitespace() && chars[j] != '\\' {
        j += 1;
    }
    let name = string(&chars[start..j]);
    let shown = format!("\\{name}");
    if name.is_empty() {
        out.unreadable("a lone backslash in a psql script".to_owned());
        return j;
    }
    // `\!` and `\copy` take the rest of the line as it is.
    if name.starts_with('!') {
        let end = line_end(chars, j);
        out.class(
            Class::Shell,
            format!("`{}` runs a shell command", string(&chars[at..end]).trim()),
        );
        return end;
    }
    if name == "copy" {
        let end = line_end(chars, j);
        let line = string(&chars[j..end]);
        if line
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("program"))
        {
            out.class(
                Class::Shell,
                format!("`\\copy{line}` runs a program on this machine"),
            );
        }
        return end;
    }
    let (args, end) = meta_args(chars, j, vars, out);
    let base = name.trim_end_matches(['+', 'S', 'x']);
    // `\g (format=csv) |cmd`: the output target may follow options.
    let pipe = args.iter().find(|a| !a.quoted && a.text.starts_with('|'));
    match name.as_str() {
        "o" | "out" | "g" | "gx" | "w" | "write" if pipe.is_some() => out.class(
            Class::Shell,
            format!(
                "`{shown} {}` pipes into a shell command",
                pipe.map_or("", |p| p.text.as_str())
            ),
        ),
        "setenv" => out.class(
            Class::Shell,
            format!("`{shown}` changes the environment of the programs psql runs"),
        ),
        "e" | "edit" | "ef" | "ev" => out.class(Class::Shell, format!("`{shown}` runs an editor")),
        "i" | "include" | "ir" | "include_relative" => out.unreadable(format!(
            "`{shown}` runs SQL from a file the analysis cannot read"
        )),
        "gexec" => out.unreadable(format!("`{shown}` runs the query's results as SQL")),
        "encoding" => out.unreadable(format!(
            "`{shown}` changes the client encoding, which changes how psql splits the script"
        )),
        "lo_unlink" => out.class(Class::Drop, format!("`{shown}` deletes a large object")),
        "set" => {
            if let Some(var) = args.first() {
                let value = args[1..].iter().all(|a| a.known).then(|| {
                    args[1..]
                        .iter()
                        .map(|a| a.text.as_str())
                        .collect::<String>()
                });
                vars.insert(var.text.clone(), value.filter(|_| var.known));
            }
        }
        "unset" => {
            if let Some(var) = args.first() {
                vars.remove(&var.text);
            }
        }
        _ if PSQL_HARMLESS.contains(&name.as_str())
            || PSQL_HARMLESS.contains(&base)
            || name.starts_with('d') => {}
        _ => out.unreadable(format!(
            "`{shown}` is not a psql command the analysis knows"
        )),
    }
    if PSQL_SENDS.contains(&name.as_str()) {
        out.sql.push_str(";\n");
    }
    if name == "." {
        // The end of `COPY … FROM STDIN` data, for the SQL parser.
        out.sql.push_str("\\.\n");
    }
    end
}

/// The arguments of a meta-command starting at `from`: up to the end of the line, or to an
/// unquoted backslash (`\\` ends them and goes back to SQL). Backquotes run a shell
/// command; variables are substituted.
fn meta_args(
    chars: &[char],
    from: usize,
    vars: &HashMap<String, Option<String>>,
    out: &mut Script,
) -> (Vec<MetaArg>, usize) {
    let mut args = Vec::new();
    let mut i = from;
    loop {
        while i < chars.len() && chars[i] != '\n' && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= chars.len() || chars[i] == '\n' {
            return (args, i);
        }
        if chars[i] == '\\' {
            // `\\` ends the arguments; another backslash starts the next meta-command.
            let end = if chars.get(i + 1) == Some(&'\\') {
                i + 2
            } else {
                i
            };
            return (args, end);
        }
        let mut arg = MetaArg {
            text: String::new(),
            known: true,
            quoted: false,
        };
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '\\' {
            match chars[i] {
                '\'' => {
                    arg.quoted = true;
                    let end = quoted_end(chars, i, '\'', true);
                    let inner = &chars[i + 1..end.saturating_sub(1).max(i + 1)];
                    arg.text.push_str(&unescape(inner));
                    i = end;
                }
                '"' => {
                    let end = quoted_end(chars, i, '"', false);
                    arg.text.extend(&chars[i..end]);
                    i = end;
                }
                '`' => {
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&c| c == '`')
                        .map_or(chars.len(), |p| i + 1 + p + 1);
                    out.class(
                        Class::Shell,
                        format!(
                            "`{}` in a psql meta-command runs a shell command",
                            string(&chars[i..end])
                        ),
                    );
                    arg.known = false;
                    i = end;
                }
                ':' => match interpolation(chars, i) {
                    Some((name, _, end)) if !name.is_empty() => {
                        match vars.get(&name).cloned().flatten() {
                            Some(value) => arg.text.push_str(&value),
                            None => arg.known = false,
                        }
                        i = end;
                    }
                    _ => {
                        arg.text.push(':');
                        i += 1;
                    }
                },
                c => {
                    arg.text.push(c);
                    i += 1;
                }
            }
        }
        args.push(arg);
    }
}

/// The value of a single-quoted meta-command argument: `''` and backslash escapes.
fn unescape(chars: &[char]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(match chars[i + 1] {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                i += 2;
            }
            '\'' if chars.get(i + 1) == Some(&'\'') => {
                out.push('\'');
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// mysql and mariadb

/// The mysql client's commands: long name, short letter, and what they do.
enum MysqlCommand {
    Harmless,
    /// Ends the statement (`go`, `ego`).
    Sends,
    Shell,
    Unreadable(&'static str),
    Delimiter,
}

fn mysql_command(name: &str) -> Option<MysqlCommand> {
    use MysqlCommand::*;
    Some(match name {
        "?"
        | "help"
        | "\\?"
        | "\\h"
        | "clear"
        | "\\c"
        | "connect"
        | "\\r"
        | "exit"
        | "quit"
        | "\\q"
        | "nopager"
        | "\\n"
        | "notee"
        | "\\t"
        | "nowarning"
        | "\\w"
        | "print"
        | "\\p"
        | "prompt"
        | "\\R"
        | "rehash"
        | "\\#"
        | "status"
        | "\\s"
        | "use"
        | "\\u"
        | "warnings"
        | "\\W"
        | "resetconnection"
        | "\\x"
        | "tee"
        | "\\T"
        | "query_attributes"
        | "ssl_session_data_print" => Harmless,
        "go" | "\\g" | "ego" | "\\G" => Sends,
        "system" | "\\!" | "pager" | "\\P" | "edit" | "\\e" => Shell,
        "source" | "\\." => Unreadable("runs SQL from a file the analysis cannot read"),
        "charset" | "\\C" => {
            Unreadable("changes the character set, which changes how mysql splits the text")
        }
        "delimiter" | "\\d" => Delimiter,
        _ => return None,
    })
}

/// Reads text as the mysql client does: its commands (long names first on a line, `\x`
/// anywhere outside quotes), `DELIMITER`, comments (`#`, `-- `, `/* */`) and the
/// executable comments the server runs (`/*! … */`, `/*M! … */`). Without
/// `backslash_escapes`, a backslash escapes nothing in strings, as with the server's
/// `NO_BACKSLASH_ESCAPES` mode.
fn mysql(text: &str, backslash_escapes: bool) -> Script {
    let mut out = Script::default();
    let chars: Vec<char> = text.chars().collect();
    let mut delimiter: Vec<char> = vec![';'];
    let mut statement_empty = true;
    let mut in_executable = false;
    let mut i = 0;
    while i < chars.len() {
        let line_start = i == 0 || chars[i - 1] == '\n';
        if line_start {
            let first = (i..line_end(&chars, i))
                .find(|&k| !chars[k].is_whitespace())
                .unwrap_or(i);
            let word_end = (first..chars.len())
                .find(|&k| chars[k].is_whitespace() || chars[k] == ';')
                .unwrap_or(chars.len());
            let word = text_lower(&chars[first..word_end]);
            if let Some(command) = mysql_command(&word).filter(|_| !word.starts_with('\\')) {
                // mysql reads a long command only where no statement is pending; a
                // command that runs or hides something counts wherever it stands.
                let risky = !matches!(command, MysqlCommand::Harmless | MysqlCommand::Sends);
                if statement_empty || risky {
                    // A harmless command ends at its `;`; the rest of the line is read on.
                    let end = if risky {
                        line_end(&chars, i)
                    } else {
                        (first..line_end(&chars, i))
                            .find(|&k| chars[k] == ';')
                            .map_or_else(|| line_end(&chars, i), |k| k + 1)
                    };
                    let line = string(&chars[first..end]);
                    i = mysql_apply(command, &word, &line, &mut delimiter, &mut out, end);
                    statement_empty = true;
                    continue;
                }
            }
        }
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if in_executable && c == '*' && next == Some('/') {
            in_executable = false;
            out.sql.push(' ');
            i += 2;
            continue;
        }
        if chars[i..].starts_with(&delimiter) && delimiter != [';'] {
            out.sql.push_str(";\n");
            statement_empty = true;
            i += delimiter.len();
            continue;
        }
        match c {
            '\'' | '"' | '`' => {
                let escapes = c != '`' && backslash_escapes;
                let end = quoted_end(&chars, i, c, escapes);
                if escapes && backslash_after_wide(&chars[i..end]) {
                    out.unreadable(
                        "a backslash after a non-ASCII character in a string may be read differently in another character set".to_owned(),
                    );
                }
                // The parser gets each string as this reading ends it.
                match string_value(&chars, i, end, c, escapes).filter(|_| c != '`') {
                    Some(value) => {
                        out.sql.push('\'');
                        out.sql
                            .push_str(&value.replace('\\', "\\\\").replace('\'', "''"));
                        out.sql.push('\'');
                    }
                    None => out.sql.extend(&chars[i..end]),
                }
                statement_empty = false;
                i = end;
            }
            '#' => {
                i = comment_end(&chars, i);
                out.sql.push(' ');
            }
            '-' if next == Some('-') => {
                if chars
                    .get(i + 2)
                    .is_none_or(|c| c.is_whitespace() || c.is_control())
                {
                    i = comment_end(&chars, i);
                    out.sql.push(' ');
                } else {
                    // Not a comment to mysql: keep the parser from reading one.
                    out.sql.push_str("- ");
                    statement_empty = false;
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                let rest = &chars[i + 2..];
                let executable = rest.first() == Some(&'!')
                    || (rest.first() == Some(&'M') && rest.get(1) == Some(&'!'));
                if executable && !in_executable {
                    // The server runs what is inside: read it as SQL.
                    let mut k = i + 2 + if rest[0] == 'M' { 2 } else { 1 };
                    while k < chars.len() && chars[k].is_ascii_digit() {
                        k += 1;
                    }
                    in_executable = true;
                    out.sql.push(' ');
                    i = k;
                } else {
                    let end = find(&chars, i + 2, &['*', '/']).map_or(chars.len(), |e| e + 2);
                    out.sql.push(' ');
                    i = end;
                }
            }
            '\\' if next.is_some() => {
                let short = format!("\\{}", next.unwrap_or_default());
                match mysql_command(&short) {
                    Some(command) => {
                        let end = line_end(&chars, i);
                        let line = string(&chars[i..end]);
                        let after = match command {
                            // These take the rest of the line.
                            MysqlCommand::Shell
                            | MysqlCommand::Unreadable(_)
                            | MysqlCommand::Delimiter => end,
                            // These take an argument, up to `;` or the end of the line.
                            _ if matches!(short.as_str(), "\\u" | "\\r" | "\\R" | "\\T") => {
                                (i..end).find(|&k| chars[k] == ';').map_or(end, |k| k + 1)
                            }
                            _ => i + 2,
                        };
                        if matches!(command, MysqlCommand::Sends) {
                            statement_empty = true;
                        }
                        i = mysql_apply(command, &short, &line, &mut delimiter, &mut out, after);
                    }
                    None => {
                        out.unreadable(format!(
                            "`{short}` is not a mysql command the analysis knows"
                        ));
                        i += 2;
                    }
                }
            }
            ';' => {
                out.sql.push(';');
                statement_empty = true;
                i += 1;
            }
            c => {
                out.sql.push(c);
                if !c.is_whitespace() {
                    statement_empty = false;
                }
                i += 1;
            }
        }
    }
    out
}

fn text_lower(chars: &[char]) -> String {
    string(chars).to_lowercase()
}

/// Applies one mysql command written as `line`; returns `resume`.
fn mysql_apply(
    command: MysqlCommand,
    name: &str,
    line: &str,
    delimiter: &mut Vec<char>,
    out: &mut Script,
    resume: usize,
) -> usize {
    let line = line.trim();
    match command {
        MysqlCommand::Harmless => {}
        MysqlCommand::Sends => out.sql.push_str(";\n"),
        MysqlCommand::Shell => out.class(
            Class::Shell,
            format!("`{line}` makes the mysql client run a program"),
        ),
        MysqlCommand::Unreadable(why) => out.unreadable(format!("`{line}` {why}")),
        MysqlCommand::Delimiter => {
            let value = line[name.len().min(line.len())..]
                .split_whitespace()
                .next()
                .unwrap_or_default();
            if value.is_empty() || value.contains('\\') {
                out.unreadable(format!(
                    "`{line}` sets a delimiter the analysis cannot follow"
                ));
            } else {
                *delimiter = value.chars().collect();
                out.sql.push_str(";\n");
            }
        }
    }
    resume
}

// ---------------------------------------------------------------------------------------
// sqlite3 and duckdb

/// Reads text as the sqlite3 (and duckdb) shell does: a line starting with `.` outside a
/// string or comment is a dot-command. Those that only read or format are skipped; `.shell`
/// and `.system` run programs, and any other (`.read`, `.load`, `.output`, `.import`…) can
/// run code or programs the analysis cannot read.
fn dot_commands(text: &str) -> Script {
    let mut out = Script::default();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let line_start = i == 0 || chars[i - 1] == '\n';
        if line_start {
            let first = (i..line_end(&chars, i)).find(|&k| !chars[k].is_whitespace());
            if let Some(first) = first.filter(|&k| chars[k] == '.') {
                let end = line_end(&chars, i);
                let line = string(&chars[first..end]);
                let word = line.split_whitespace().next().unwrap_or_default();
                if matches!(word, ".shell" | ".system") {
                    out.class(
                        Class::Shell,
                        format!("`{}` runs a shell command", line.trim()),
                    );
                } else if !crate::shell::sqlite_read_only_dot(word) {
                    out.unreadable(format!(
                        "`{}` can run code or programs the analysis cannot read",
                        line.trim()
                    ));
                }
                out.sql.push_str(";\n");
                i = end;
                continue;
            }
        }
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let end = match c {
            '\'' | '"' | '`' => quoted_end(&chars, i, c, false),
            '[' => chars[i..]
                .iter()
                .position(|&c| c == ']')
                .map_or(chars.len(), |p| i + p + 1),
            '-' if next == Some('-') => comment_end(&chars, i),
            '/' if next == Some('*') => {
                find(&chars, i + 2, &['*', '/']).map_or(chars.len(), |e| e + 2)
            }
            _ => i + 1,
        };
        if matches!(c, '-' | '/') && end > i + 1 {
            out.sql.push(' ');
        } else {
            out.sql.extend(&chars[i..end]);
        }
        i = end;
    }
    out
}

// ---------------------------------------------------------------------------------------
// sqlcmd (SQL Server)

/// Reads text as sqlcmd does: commands at the start of a line (`GO`, `:r`, `!!`, `:setvar`,
/// `:connect`…) and scripting variables `$(name)` everywhere.
fn sqlcmd(text: &str) -> Script {
    let mut out = Script::default();
    let mut vars: HashMap<String, String> = HashMap::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        let lower = trimmed.to_lowercase();
        let word = lower.split_whitespace().next().unwrap_or_default();
        let bare = word.strip_prefix(':').unwrap_or(word);
        if word == "go" {
            out.sql.push_str(";\n");
            continue;
        }
        if lower.starts_with("!!") || lower.starts_with(":!!") {
            out.class(Class::Shell, format!("`{trimmed}` runs a shell command"));
            continue;
        }
        let command = word.starts_with(':') || matches!(bare, "reset" | "ed" | "quit" | "exit");
        if command && !bare.starts_with("exit(") {
            match bare {
                "setvar" => {
                    let mut parts = trimmed.splitn(3, char::is_whitespace).skip(1);
                    if let Some(name) = parts.next() {
                        let value = parts.next().unwrap_or_default().trim();
                        let value = value
                            .strip_prefix('"')
                            .and_then(|v| v.strip_suffix('"'))
                            .unwrap_or(value);
                        vars.insert(name.to_lowercase(), value.to_owned());
                    }
                }
                "ed" => out.class(Class::Shell, format!("`{trimmed}` runs an editor")),
                "r" => out.unreadable(format!(
                    "`{trimmed}` runs SQL from a file the analysis cannot read"
                )),
                "connect" | "out" | "error" | "on" | "xml" | "list" | "listvar" | "help"
                | "serverlist" | "perftrace" | "reset" | "quit" | "exit" => {}
                _ => out.unreadable(format!(
                    "`{trimmed}` is not a sqlcmd command the analysis knows"
                )),
            }
            continue;
        }
        if bare.starts_with("exit(") {
            out.unreadable(format!(
                "`{trimmed}` runs a query the analysis does not read"
            ));
            continue;
        }
        // Scripting variables are substituted everywhere, strings included.
        let mut rest = line;
        while let Some(at) = rest.find("$(") {
            out.sql.push_str(&rest[..at]);
            let Some(close) = rest[at..].find(')') else {
                out.sql.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let name = &rest[at + 2..at + close];
            match vars.get(&name.to_lowercase()) {
                Some(value) => out.sql.push_str(value),
                None => out.unreadable(format!(
                    "the sqlcmd variable `$({name})` is only known at run time"
                )),
            }
            rest = &rest[at + close + 1..];
        }
        out.sql.push_str(rest);
    }
    out
}
