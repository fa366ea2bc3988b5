//! One faithful rendering, for people, of commands and of text a requester supplied: an
//! argument vector becomes words that bash reads back as the same vector, and every character
//! that could hide, reorder or redraw what is shown (controls, escape sequences, bidi and
//! zero-width characters, unassigned code points, …) is shown as an escape. No terminal IO:
//! callers print the strings, and each channel adds its own markup escaping on top.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Characters a channel wants shown as escapes as well, given the character that follows
/// (Slack: the backtick that would end a code span; Teams: `{{`, which starts a function).
pub type Also = fn(char, Option<char>) -> bool;

/// No characters besides the hidden ones.
pub fn nothing(_: char, _: Option<char>) -> bool {
    false
}

/// Code points that are invisible by definition (Unicode's Default_Ignorable_Code_Point),
/// plus the blank braille pattern, which looks like a space.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// Whether `c` must be shown as an escape. `after` is the character before it when that one
/// is shown as itself: a combining mark is shown only on a non-ASCII base (where scripts need
/// it), never on ASCII, where it could strike through or disguise a letter.
pub fn hidden(c: char, after: Option<char>) -> bool {
    use GeneralCategory as G;
    if c == ' ' {
        return false;
    }
    let code = u32::from(c);
    if INVISIBLE
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&code))
    {
        return true;
    }
    match get_general_category(c) {
        G::Control
        | G::Format
        | G::LineSeparator
        | G::ParagraphSeparator
        | G::SpaceSeparator
        | G::PrivateUse
        | G::Surrogate
        | G::Unassigned
        | G::EnclosingMark => true,
        G::NonspacingMark => after.is_none_or(|base| base.is_ascii()),
        _ => false,
    }
}

/// One piece of an argument: a character, or a byte that is not part of valid UTF-8.
#[derive(Clone, Copy)]
enum Unit {
    Char(char),
    Byte(u8),
}

fn units(bytes: &[u8]) -> Vec<Unit> {
    let mut out = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.extend(chunk.valid().chars().map(Unit::Char));
        out.extend(chunk.invalid().iter().map(|b| Unit::Byte(*b)));
    }
    out
}

/// How one unit is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// As itself, needing no quotes.
    Bare,
    /// As itself, inside quotes.
    Quoted,
    /// As an escape sequence.
    Escaped,
}

/// Characters bash reads literally outside quotes, anywhere in a word.
fn bare(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-+./:@%,=".contains(c) || !c.is_ascii()
}

/// Words that are special where a command name stands.
const RESERVED: &[&str] = &[
    "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in",
    "select", "then", "time", "until", "while",
];

/// The escape of one unit: `\n`, `\t`, `\r`, or `\xHH` for each byte.
fn escape(unit: Unit, out: &mut String) {
    match unit {
        Unit::Char('\n') => out.push_str("\\n"),
        Unit::Char('\t') => out.push_str("\\t"),
        Unit::Char('\r') => out.push_str("\\r"),
        Unit::Char(c) => {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
        Unit::Byte(byte) => {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

/// How each unit of a word is shown.
fn classify(units: &[Unit], also: Also) -> Vec<Shown> {
    let mut shown = Vec::with_capacity(units.len());
    let mut base: Option<char> = None;
    for (i, unit) in units.iter().enumerate() {
        let next = match units.get(i + 1) {
            Some(Unit::Char(c)) => Some(*c),
            _ => None,
        };
        let how = match *unit {
            Unit::Byte(_) => Shown::Escaped,
            Unit::Char(c) if hidden(c, base) || also(c, next) => Shown::Escaped,
            Unit::Char(c) if bare(c) => Shown::Bare,
            Unit::Char(_) => Shown::Quoted,
        };
        base = match (*unit, how) {
            (Unit::Char(c), Shown::Bare | Shown::Quoted) => Some(c),
            _ => None,
        };
        shown.push(how);
    }
    shown
}

/// One word as bash reads it back: bare when it can be, in single quotes when it needs
/// quoting, in `$'…'` with escapes when it holds anything hidden. `command` marks the word
/// in command position, where assignments, reserved words and job specs are special (bash
/// takes a command name starting with `%` as a job even when quoted: it is quoted all the
/// same, to stand out).
fn write_word(bytes: &[u8], command: bool, also: Also, out: &mut String) {
    if bytes.is_empty() {
        out.push_str("''");
        return;
    }
    let units = units(bytes);
    let shown = classify(&units, also);
    if shown.contains(&Shown::Escaped) {
        out.push_str("$'");
        for (unit, how) in units.iter().zip(&shown) {
            match (*unit, how) {
                (unit, Shown::Escaped) => escape(unit, out),
                (Unit::Char('\\'), _) => out.push_str("\\\\"),
                // Not `\'`: older shells' history expansion would end the quote there.
                (Unit::Char('\''), _) => out.push_str("\\x27"),
                (Unit::Char(c), _) => out.push(c),
                (unit @ Unit::Byte(_), _) => escape(unit, out),
            }
        }
        out.push('\'');
        return;
    }
    let text = String::from_utf8_lossy(bytes);
    let special_command = command
        && (text.contains('=') || text.starts_with('%') || RESERVED.contains(&text.as_ref()));
    if shown.contains(&Shown::Quoted) || special_command {
        out.push('\'');
        out.push_str(&text.replace('\'', r"'\''"));
        out.push('\'');
    } else {
        out.push_str(&text);
    }
}

/// One argument as bash reads it back (not in command position).
pub fn word(arg: impl AsRef<OsStr>) -> String {
    let mut out = String::new();
    write_word(arg.as_ref().as_bytes(), false, nothing, &mut out);
    out
}

/// An argument vector as a command line that bash reads back as the same vector.
pub fn command<S: AsRef<OsStr>>(argv: &[S]) -> String {
    command_with(argv, nothing)
}

/// [`command`], with the characters `also` names escaped as well.
pub fn command_with<S: AsRef<OsStr>>(argv: &[S], also: Also) -> String {
    let mut out = String::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_word(arg.as_ref().as_bytes(), i == 0, also, &mut out);
    }
    out
}

/// An analysed command: words known before it runs as [`command`] shows them, and words
/// only known at run time (`runtime`, by index) as their shell source (`$HOST`), hidden
/// characters escaped, in double quotes when they hold a blank.
pub fn analysed<S: AsRef<OsStr>>(argv: &[S], runtime: &[usize], also: Also) -> String {
    let mut out = String::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let bytes = arg.as_ref().as_bytes();
        if !runtime.contains(&i) {
            write_word(bytes, i == 0, also, &mut out);
            continue;
        }
        let source = String::from_utf8_lossy(bytes);
        let units: Vec<Unit> = source.chars().map(Unit::Char).collect();
        let shown = classify(&units, also);
        let blank = source.is_empty() || source.contains([' ', '\t', '\n']);
        if blank {
            out.push('"');
        }
        for (unit, how) in units.iter().zip(&shown) {
            match (*unit, how) {
                (unit, Shown::Escaped) => escape(unit, &mut out),
                (Unit::Char(c), _) => out.push(c),
                (unit @ Unit::Byte(_), _) => escape(unit, &mut out),
            }
        }
        if blank {
            out.push('"');
        }
    }
    out
}

/// A piece of requester-supplied text (a directory, a reason, a name, a description): shown
/// as itself, except that hidden characters become escapes and a backslash is doubled, so
/// the escapes cannot be confused with the text.
pub fn text(text: &str) -> String {
    text_with(text, nothing)
}

/// [`text`], with the characters `also` names escaped as well.
pub fn text_with(text: &str, also: Also) -> String {
    let units: Vec<Unit> = text.chars().map(Unit::Char).collect();
    let shown = classify(&units, also);
    let mut out = String::with_capacity(text.len());
    for (unit, how) in units.iter().zip(&shown) {
        match (*unit, how) {
            (unit, Shown::Escaped) => escape(unit, &mut out),
            (Unit::Char('\\'), _) => out.push_str("\\\\"),
            (Unit::Char(c), _) => out.push(c),
            (unit @ Unit::Byte(_), _) => escape(unit, &mut out),
        }
    }
    out
}

/// A message that may quote other renderings: hidden characters become escapes, and nothing
/// else changes (backslashes stay single, so renderings inside keep their form). The last
/// line of defence before a terminal, not a rendering of its own.
pub fn inert(message: &str) -> String {
    let units: Vec<Unit> = message.chars().map(Unit::Char).collect();
    let shown = classify(&units, nothing);
    if !shown.contains(&Shown::Escaped) {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len() + 8);
    for (unit, how) in units.iter().zip(&shown) {
        match (*unit, how) {
            (unit, Shown::Escaped) => escape(unit, &mut out),
            (Unit::Char(c), _) => out.push(c),
            (unit @ Unit::Byte(_), _) => escape(unit, &mut out),
        }
    }
    out
}

/// A JSON value on one line, with every hidden character in its strings written as a
/// `\uXXXX` escape: the same value for a program, inert on a terminal.
pub fn json_line(value: &serde_json::Value) -> String {
    let plain = value.to_string();
    if !plain.chars().any(|c| hidden(c, None)) {
        return plain;
    }
    let mut out = String::with_capacity(plain.len() + 16);
    let mut base: Option<char> = None;
    for c in plain.chars() {
        // Outside strings JSON has only ASCII punctuation, so every hidden character here is
        // inside a string, where `\u` escapes mean the same character.
        if hidden(c, base) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
            base = None;
        } else {
            out.push(c);
            base = Some(c);
        }
    }
    out
}

/// The part of a rendering that fits a size limit.
#[derive(Debug, PartialEq, Eq)]
pub struct Cut<'a> {
    pub kept: &'a str,
    /// Bytes of the rendering left out.
    pub omitted: usize,
}

impl Cut<'_> {
    /// `… 1,234 more bytes`, when anything was left out.
    pub fn note(&self) -> Option<String> {
        (self.omitted > 0).then(|| format!("… {} more bytes", thousands(self.omitted)))
    }
}

/// A number and its noun, in the plural unless the number is one: "1 segment",
/// "2 segments", "0 segments".
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A length of time as policies write it: "45s", "30m", "1h 30m", "2d".
pub fn duration(seconds: u64) -> String {
    let parts = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut rest = seconds;
    let mut out = Vec::new();
    for (size, unit) in parts {
        if rest >= size {
            out.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if out.is_empty() {
        "0s".to_owned()
    } else {
        out.join(" ")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The pieces a rendering may not be cut inside: `\xHH`, a backslash and the character it
/// escapes, `'\''`, and single characters.
fn pieces(rendered: &str) -> impl Iterator<Item = &str> {
    let mut rest = rendered;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let len = if rest.starts_with(r"'\''") {
            4
        } else if first == '\\' {
            let mut chars = rest.chars();
            chars.next();
            match chars.next() {
                Some('x')
                    if rest.len() >= 4
                        && rest.as_bytes()[2..4].iter().all(u8::is_ascii_hexdigit) =>
                {
                    4
                }
                Some(c) => 1 + c.len_utf8(),
                None => 1,
            }
        } else {
            first.len_utf8()
        };
        let (piece, tail) = rest.split_at(len);
        rest = tail;
        Some(piece)
    })
}

/// The longest start of `rendered` whose cost (the sum of `cost` over its pieces, e.g. the
/// length once a channel has escaped it) is at most `budget`, never ending inside an escape.
/// The start is what is kept: the program and the first words of a command.
pub fn cut(rendered: &str, budget: usize, cost: impl Fn(&str) -> usize) -> Cut<'_> {
    let mut spent = 0;
    let mut end = 0;
    for piece in pieces(rendered) {
        let price = cost(piece);
        if spent + price > budget {
            return Cut {
                kept: &rendered[..end],
                omitted: rendered.len() - end,
            };
        }
        spent += price;
        end += piece.len();
    }
    Cut {
        kept: rendered,
        omitted: 0,
    }
}

/// `rendered`, cut to `budget` (measured by `cost`) with the note of what was left out
/// appended after a space; the note's own cost is reserved within the budget.
pub fn fit(rendered: &str, budget: usize, cost: impl Fn(&str) -> usize) -> String {
    let whole: usize = pieces(rendered).map(&cost).sum();
    if whole <= budget {
        return rendered.to_owned();
    }
    let reserve = cost(&format!(" … {} more bytes", thousands(rendered.len())));
    let cut = cut(rendered, budget.saturating_sub(reserve), &cost);
    match cut.note() {
        Some(note) => format!("{} {note}", cut.kept),
        None => cut.kept.to_owned(),
    }
}

/// The first `chars` characters of `text` (all of it when shorter): a short form of an id
/// or a digest, safe on any text (a record may hold anything where a digest belongs).
pub fn prefix(text: &str, chars: usize) -> &str {
    text.char_indices()
        .nth(chars)
        .map_or(text, |(end, _)| &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn plain_words_stay_bare() {
        assert_eq!(
            command(&["pg_dump", "-h", "prod-db", "--port=5432", "a,b", "x@y:z/%"]),
            "pg_dump -h prod-db --port=5432 a,b x@y:z/%"
        );
        assert_eq!(command(&["ls", "été"]), "ls été");
    }

    #[test]
    fn a_space_inside_an_argument_is_quoted() {
        assert_eq!(
            command(&["chmod", "-R", "777", "/tmp/x /etc"]),
            "chmod -R 777 '/tmp/x /etc'"
        );
        assert_eq!(command(&["echo", "it's"]), r"echo 'it'\''s'");
        assert_eq!(command(&["echo", ""]), "echo ''");
        for special in ["!", "*", "~", "#x", "a;b", "$HOME", "`id`", "{a,b}", "x^y"] {
            assert!(word(special).starts_with('\''), "{special}");
        }
    }

    #[test]
    fn the_command_word_quotes_what_is_special_there() {
        assert_eq!(command(&["a=b", "c=d"]), "'a=b' c=d");
        assert_eq!(command(&["if", "then"]), "'if' then");
        assert_eq!(command(&["%1"]), "'%1'");
    }

    #[test]
    fn hidden_characters_are_escaped() {
        assert_eq!(
            command(&["bash", "-c", "pg_dump prod #\r\x1b[2K  command: ls -la"]),
            r"bash -c $'pg_dump prod #\r\x1b[2K  command: ls -la'"
        );
        assert_eq!(word("a\nb\tc\u{7f}"), r"$'a\nb\tc\x7f'");
        assert_eq!(word("\u{202e}gpj.exe"), r"$'\xe2\x80\xaegpj.exe'");
        assert_eq!(word("a\u{200b}b"), r"$'a\xe2\x80\x8bb'");
        assert_eq!(word("a\u{a0}b"), r"$'a\xc2\xa0b'");
        assert_eq!(word("\u{9b}31m"), r"$'\xc2\x9b31m'");
        assert_eq!(word("it's\n"), r"$'it\x27s\n'");
        assert_eq!(word("back\\slash\n"), r"$'back\\slash\n'");
    }

    #[test]
    fn invalid_utf8_is_escaped_byte_by_byte() {
        let arg = OsString::from_vec(b"caf\xe9 \xff".to_vec());
        assert_eq!(word(&arg), r"$'caf\xe9 \xff'");
    }

    #[test]
    fn combining_marks_only_on_non_ascii_letters() {
        assert_eq!(word("e\u{301}"), r"$'e\xcc\x81'");
        assert_eq!(word("\u{301}"), r"$'\xcc\x81'");
        // Devanagari: a letter with its vowel sign stays readable.
        assert_eq!(word("कि"), "कि");
    }

    #[test]
    fn text_escapes_without_quoting() {
        assert_eq!(text("/srv/my app"), "/srv/my app");
        assert_eq!(text("ok\r\x1b[2Kfine"), r"ok\r\x1b[2Kfine");
        assert_eq!(text(r"C:\tmp"), r"C:\\tmp");
        assert_eq!(text("a\u{2066}b"), r"a\xe2\x81\xa6b");
    }

    #[test]
    fn inert_keeps_renderings_as_they_are() {
        let rendered = command(&["x", "a\nb"]);
        assert_eq!(
            inert(&format!("cannot run {rendered}\x1b[2K")),
            format!("cannot run {rendered}\\x1b[2K")
        );
    }

    #[test]
    fn json_lines_carry_hidden_characters_as_escapes() {
        let value = serde_json::json!({"argv": ["a\u{9b}b", "\u{202e}x", "é"]});
        let line = json_line(&value);
        assert!(!line.chars().any(|c| hidden(c, None)), "{line}");
        assert!(
            line.contains(r"\u009b") && line.contains(r"\u202e"),
            "{line}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            value
        );
    }

    #[test]
    fn a_cut_keeps_the_start_and_never_splits_an_escape() {
        let rendered = word("\x1b\x1b\x1b");
        assert_eq!(rendered, r"$'\x1b\x1b\x1b'");
        let cut = cut(&rendered, 8, str::len);
        assert_eq!(cut.kept, r"$'\x1b");
        assert_eq!(cut.omitted, rendered.len() - 6);
        assert_eq!(cut.note().unwrap(), "… 9 more bytes");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        let long = command(&["psql", "-c", &"x y ".repeat(2000)]);
        let fitted = fit(&long, 100, str::len);
        assert!(fitted.len() <= 100, "{}", fitted.len());
        assert!(fitted.starts_with("psql -c 'x y x"), "{fitted}");
        assert!(fitted.ends_with("more bytes"), "{fitted}");
        assert_eq!(fit("short", 100, str::len), "short");
    }
}
