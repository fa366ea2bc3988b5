//! Word expansion as far as it can be done before run time: brace expansion, quote
//! removal, escapes and ANSI-C strings. Expansions that need run-time state are kept as
//! unknown words, and the command substitutions inside them are handed back for analysis.

use brush_parser::ParserOptions;
use brush_parser::word::{
    self, BraceExpressionMember, BraceExpressionOrText, TildeExpr, WordPiece, WordPieceWithSource,
};

use super::Arg;

/// The most words one brace expression may produce before the analysis gives up.
const MAX_BRACE_WORDS: usize = 1024;
/// Most `{` in one word that brace expansion is attempted on.
const MAX_BRACES: usize = 10;

/// The result of expanding one source word.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    /// The words it becomes.
    pub args: Vec<Arg>,
    /// Scripts of command substitutions met on the way; they run too.
    pub substitutions: Vec<String>,
    /// Reasons the word cannot be analysed.
    pub opaque: Vec<String>,
    /// The word contains arithmetic expansion.
    pub arithmetic: bool,
    /// Variables the word assigns as it expands (`${NAME:=word}`, `${NAME=word}`).
    pub assigns: Vec<String>,
}

/// How a word is expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A command word: brace expansion, field splitting and globbing apply.
    Command,
    /// An assignment value or here-document: a single word, no splitting.
    Single,
}

pub(crate) fn expand(raw: &str, mode: Mode) -> Expansion {
    let options = ParserOptions::default();
    let mut out = Expansion::default();
    // A number longer than any 64-bit one (in `{1..N}`, `~N`) makes the word grammar panic;
    // such a word is not parsed.
    let longest_digits = raw
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_digits > 18 && raw.contains(['~', '{']) {
        out.opaque.push(format!(
            "the word `{}` has a number too large to expand",
            raw.chars().take(40).collect::<String>()
        ));
        out.args.push(Arg::dynamic(raw.to_owned()));
        return out;
    }
    let raws = if mode == Mode::Command {
        match brace_expand(raw, &options) {
            Ok(words) => words,
            Err(reason) => {
                out.opaque.push(reason);
                vec![raw.to_owned()]
            }
        }
    } else {
        vec![raw.to_owned()]
    };
    for raw in raws {
        match word::parse(&raw, &options) {
            Ok(pieces) => {
                let mut builder = Builder {
                    source: &raw,
                    arg: Arg::literal(""),
                    out: &mut out,
                };
                builder.pieces(&pieces, mode == Mode::Single);
                let arg = builder.arg;
                out.args.push(arg);
            }
            Err(_) => {
                out.opaque.push(format!("cannot parse the word `{raw}`"));
                out.args.push(Arg {
                    text: raw.clone(),
                    known: false,
                    free: true,
                });
            }
        }
    }
    out
}

struct Builder<'a> {
    source: &'a str,
    arg: Arg,
    out: &'a mut Expansion,
}

impl Builder<'_> {
    fn pieces(&mut self, pieces: &[WordPieceWithSource], quoted: bool) {
        for piece in pieces {
            let source = self
                .source
                .get(piece.start_index..piece.end_index)
                .unwrap_or_default();
            match &piece.piece {
                WordPiece::Text(text) => {
                    if !quoted && has_glob(text) {
                        self.arg.free = true;
                    }
                    self.arg.text.push_str(text);
                }
                WordPiece::SingleQuotedText(text) => self.arg.text.push_str(text),
                WordPiece::AnsiCQuotedText(text) => {
                    // Bash ends the string at a NUL byte, and so does execve.
                    let decoded = ansi_c_decode(text);
                    self.arg
                        .text
                        .push_str(decoded.split('\0').next().unwrap_or_default());
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(inner, true);
                }
                WordPiece::TildeExpansion(tilde) => self.arg.text.push_str(&tilde_text(tilde)),
                WordPiece::EscapeSequence(escape) => {
                    let escaped = escape.strip_prefix('\\').unwrap_or(escape);
                    if escaped != "\n" {
                        self.arg.text.push_str(escaped);
                    }
                }
                WordPiece::ParameterExpansion(_) => {
                    if let Some(name) = default_assignment(source) {
                        self.out.assigns.push(name);
                    }
                    if ["$(", "`", "<(", ">("].iter().any(|s| source.contains(s)) {
                        self.out.opaque.push(format!(
                            "command substitution inside the expansion `{source}`"
                        ));
                    }
                    if source.contains("@P") {
                        self.out.opaque.push(format!(
                            "prompt expansion `{source}` runs code hidden in data"
                        ));
                    }
                    // Subscripts, indirection and offsets are evaluated as arithmetic.
                    if source.contains(['[', '!', ':']) {
                        self.out.arithmetic = true;
                    }
                    self.unknown(source, !quoted || source.contains('@'));
                }
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    self.out.substitutions.push(script.clone());
                    self.unknown(source, !quoted);
                }
                WordPiece::ArithmeticExpression(expr) => {
                    self.out.arithmetic = true;
                    arithmetic_substitutions(&expr.value, self.out);
                    // The result is a number: it never splits into several words.
                    self.unknown(source, false);
                }
            }
        }
    }

    fn unknown(&mut self, source: &str, splits: bool) {
        self.arg.text.push_str(source);
        self.arg.known = false;
        self.arg.free |= splits;
    }
}

/// The variable `${NAME:=word}` or `${NAME=word}` assigns when it is unset (or empty).
fn default_assignment(source: &str) -> Option<String> {
    let inner = source.strip_prefix("${")?;
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(end);
    (!name.is_empty() && (rest.starts_with(":=") || rest.starts_with('='))).then(|| name.to_owned())
}

/// Collects the command substitutions inside an arithmetic expression (they run before the
/// arithmetic is evaluated); an expression that cannot be read that way is opaque.
pub(crate) fn arithmetic_substitutions(text: &str, out: &mut Expansion) {
    if !(text.contains("$(") || text.contains('`')) {
        return;
    }
    match word::parse(text, &ParserOptions::default()) {
        Ok(pieces) => {
            let before = out.substitutions.len();
            collect(&pieces, &mut out.substitutions);
            if out.substitutions.len() == before {
                out.opaque
                    .push(format!("command substitution inside arithmetic `{text}`"));
            }
        }
        Err(_) => out
            .opaque
            .push(format!("command substitution inside arithmetic `{text}`")),
    }
}

fn collect(pieces: &[WordPieceWithSource], out: &mut Vec<String>) {
    for piece in pieces {
        match &piece.piece {
            WordPiece::CommandSubstitution(script)
            | WordPiece::BackquotedCommandSubstitution(script) => out.push(script.clone()),
            WordPiece::DoubleQuotedSequence(inner)
            | WordPiece::GettextDoubleQuotedSequence(inner) => collect(inner, out),
            WordPiece::ArithmeticExpression(expr) => {
                if let Ok(inner) = word::parse(&expr.value, &ParserOptions::default()) {
                    collect(&inner, out);
                }
            }
            _ => {}
        }
    }
}

/// Unquoted text that pathname expansion would rewrite.
/// Whether an unquoted piece is a pattern: `*`, `?`, a bracket expression, or an extended
/// pattern (`@(…)`, `!(…)`, `+(…)`), which `shopt -s extglob`, `bash -O extglob` or the
/// environment may turn on anywhere before the line runs.
fn has_glob(text: &str) -> bool {
    text.contains(['*', '?'])
        || ["@(", "!(", "+("].iter().any(|open| text.contains(open))
        || text
            .find('[')
            .is_some_and(|open| text[open..].contains(']'))
}

fn tilde_text(tilde: &TildeExpr) -> String {
    match tilde {
        TildeExpr::Home => "~".to_owned(),
        TildeExpr::UserHome(user) => format!("~{user}"),
        TildeExpr::WorkingDir => "~+".to_owned(),
        TildeExpr::OldWorkingDir => "~-".to_owned(),
        TildeExpr::NthDirFromTopOfDirStack { n, plus_used } => {
            format!("~{}{n}", if *plus_used { "+" } else { "" })
        }
        TildeExpr::NthDirFromBottomOfDirStack { n } => format!("~-{n}"),
    }
}

/// Expands brace expressions (`{a,b}`, `{1..3}`) into separate raw words.
fn brace_expand(raw: &str, options: &ParserOptions) -> Result<Vec<String>, String> {
    if !raw.contains('{') {
        return Ok(vec![raw.to_owned()]);
    }
    // The brace grammar backtracks: unbalanced braces make its time grow exponentially
    // (`{a,` sixteen times takes seconds). A word with this many is not analysed.
    if raw.matches('{').count() > MAX_BRACES {
        return Err(format!(
            "the word `{}` has too many braces to analyse",
            raw.chars().take(40).collect::<String>()
        ));
    }
    let Ok(Some(parts)) = word::parse_brace_expansions(raw, options) else {
        return Ok(vec![raw.to_owned()]);
    };
    let words = expand_parts(&parts)?;
    if words.len() > MAX_BRACE_WORDS {
        return Err(format!("brace expansion of `{raw}` is too large"));
    }
    Ok(words)
}

fn expand_parts(parts: &[BraceExpressionOrText]) -> Result<Vec<String>, String> {
    let mut words = vec![String::new()];
    for part in parts {
        let alternatives = match part {
            BraceExpressionOrText::Text(text) => vec![text.clone()],
            BraceExpressionOrText::Expr(members) => {
                let mut all = Vec::new();
                for member in members {
                    all.extend(expand_member(member)?);
                }
                all
            }
        };
        let mut next = Vec::with_capacity(words.len() * alternatives.len());
        for prefix in &words {
            for alternative in &alternatives {
                next.push(format!("{prefix}{alternative}"));
            }
        }
        if next.len() > MAX_BRACE_WORDS {
            return Err("brace expansion is too large".to_owned());
        }
        words = next;
    }
    Ok(words)
}

fn expand_member(member: &BraceExpressionMember) -> Result<Vec<String>, String> {
    match member {
        BraceExpressionMember::Child(parts) => expand_parts(parts),
        BraceExpressionMember::NumberSequence {
            start,
            end,
            increment,
        } => {
            let step = increment.unsigned_abs().max(1);
            let count = start.abs_diff(*end) / step + 1;
            if count > MAX_BRACE_WORDS as u64 {
                return Err("brace sequence is too large".to_owned());
            }
            let direction: i64 = if end >= start { 1 } else { -1 };
            Ok((0..count)
                .map(|i| (start + direction * (i * step) as i64).to_string())
                .collect())
        }
        BraceExpressionMember::CharSequence {
            start,
            end,
            increment,
        } => {
            let (low, high) = (u32::from(*start), u32::from(*end));
            let step = usize::try_from(increment.unsigned_abs().max(1)).unwrap_or(1);
            let mut chars: Vec<String> = if low <= high {
                (low..=high)
                    .step_by(step)
                    .filter_map(char::from_u32)
                    .map(String::from)
                    .collect()
            } else {
                (high..=low)
                    .rev()
                    .step_by(step)
                    .filter_map(char::from_u32)
                    .map(String::from)
                    .collect()
            };
            chars.truncate(MAX_BRACE_WORDS + 1);
            Ok(chars)
        }
    }
}

/// Decodes the body of a `$'…'` string the way bash does.
fn ansi_c_decode(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match escape {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'e' | 'E' => Some('\u{1b}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' | '\'' | '"' | '?' => Some(escape),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.push(decoded);
            continue;
        }
        let (radix, max_digits) = match escape {
            '0'..='7' => (8, 3),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            'c' => {
                if let Some(control) = chars.next() {
                    out.push(char::from((control as u8) & 0x1f));
                }
                continue;
            }
            other => {
                out.push('\\');
                out.push(other);
                continue;
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(escape);
        }
        while digits.len() < max_digits {
            match chars.peek() {
                Some(d) if d.is_digit(radix) => {
                    digits.push(*d);
                    chars.next();
                }
                _ => break,
            }
        }
        match u32::from_str_radix(&digits, radix)
            .ok()
            .and_then(char::from_u32)
        {
            Some(decoded) => out.push(decoded),
            None => {
                out.push('\\');
                out.push(escape);
                out.push_str(if radix == 8 { &digits[1..] } else { &digits });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(raw: &str) -> Vec<String> {
        expand(raw, Mode::Command)
            .args
            .into_iter()
            .map(|a| a.text)
            .collect()
    }

    #[test]
    fn removes_quotes_like_the_shell() {
        assert_eq!(texts("p''g_dump"), ["pg_dump"]);
        assert_eq!(texts("\"pg_dump\""), ["pg_dump"]);
        assert_eq!(texts(r"r\m"), ["rm"]);
        assert_eq!(texts("$'r\\x6d'"), ["rm"]);
        assert_eq!(texts("'a b'\"c\""), ["a bc"]);
    }

    #[test]
    fn expands_braces_outside_quotes_only() {
        assert_eq!(texts("{pg_dump,-h,prod}"), ["pg_dump", "-h", "prod"]);
        assert_eq!(texts("a{1..3}"), ["a1", "a2", "a3"]);
        assert_eq!(texts("'{a,b}'"), ["{a,b}"]);
    }

    #[test]
    fn marks_run_time_values() {
        let expansion = expand("\"$HOST\"", Mode::Command);
        assert!(!expansion.args[0].known && !expansion.args[0].free);
        let expansion = expand("$HOST", Mode::Command);
        assert!(!expansion.args[0].known && expansion.args[0].free);
        let expansion = expand("x$(rm -rf /)", Mode::Command);
        assert_eq!(expansion.substitutions, ["rm -rf /"]);
        assert!(expand("/usr/bin/pg_dum?", Mode::Command).args[0].free);
        assert!(!expand("'*'", Mode::Command).args[0].free);
    }
}
