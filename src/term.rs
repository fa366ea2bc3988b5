//! The terminal as the command layer sees it: whether to colour, the styles of decisions,
//! errors, warnings and hints, the width to lay text out in, plurals and countdowns. The
//! domain modules never use it.

use std::io::IsTerminal as _;

use anstyle::{AnsiColor, Style};

use crate::env_vars;
use crate::environment::Environment;

/// When to colour output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

/// Sets the colour choice of every `anstream` writer of this process. `auto` colours a
/// stream only when it is a terminal and `NO_COLOR` is unset or empty.
pub fn init_color(when: ColorWhen, env: &Environment) {
    choice(when, env).write_global();
}

fn choice(when: ColorWhen, env: &Environment) -> anstream::ColorChoice {
    match when {
        ColorWhen::Always => anstream::ColorChoice::AlwaysAnsi,
        ColorWhen::Never => anstream::ColorChoice::Never,
        ColorWhen::Auto if env.get(env_vars::NO_COLOR).is_some_and(|v| !v.is_empty()) => {
            anstream::ColorChoice::Never
        }
        ColorWhen::Auto => anstream::ColorChoice::Auto,
    }
}

/// Whether stderr gets colour under the choice in force (for writers that are not
/// `anstream`'s, such as the diagnostics).
pub fn stderr_colored() -> bool {
    match anstream::ColorChoice::global() {
        anstream::ColorChoice::Always | anstream::ColorChoice::AlwaysAnsi => true,
        anstream::ColorChoice::Never => false,
        anstream::ColorChoice::Auto => std::io::stderr().is_terminal(),
    }
}

/// Errors and refusals.
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
/// Warnings.
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
/// Hints: what to do next.
pub const HINT: Style = AnsiColor::Cyan.on_default();
/// What matters less: timestamps, sequence numbers, column headers.
pub const DIM: Style = Style::new().dimmed();
/// Ids and names that head a block.
pub const BOLD: Style = Style::new().bold();

/// The style of a decision or outcome word: `deny`, `rejected` … red; `approve`, `pending`
/// yellow; `allow`, `approved` green; `supervise` cyan.
pub fn decision(word: &str) -> Style {
    match word {
        "allow" | "approved" | "consumed" | "used" => AnsiColor::Green.on_default().bold(),
        "approve" | "pending" => AnsiColor::Yellow.on_default().bold(),
        "supervise" => AnsiColor::Cyan.on_default().bold(),
        _ => ERROR,
    }
}

/// `text` in `style` (the codes are removed again by `anstream` where colour is off).
pub fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// "gatekeep: warning: MESSAGE" on stderr.
pub fn warn(message: &str) {
    anstream::eprintln!(
        "gatekeep: {}: {}",
        paint(WARNING, "warning"),
        crate::render::inert(message)
    );
}

/// The width to lay text out in: the terminal's, else `COLUMNS`, else 80.
pub fn width(env: &Environment) -> usize {
    terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .filter(|w| *w > 0)
        .or_else(|| {
            env.get(env_vars::COLUMNS)
                .and_then(|c| c.trim().parse().ok())
                .filter(|w| *w > 0)
        })
        .unwrap_or(80)
}

/// "1 segment", "2 segments", "0 segments" (one home for plurals: [`render::count`]).
pub use crate::render::count;

/// A duration left, for people: "45s", "4m 05s", "2h 03m", "3d 04h"; "0s" when past.
pub fn countdown(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86400, s % 86400 / 3600),
    }
}

/// `text` broken at spaces into lines of at most `width` characters (a word longer than a
/// line is cut), the first line after `first` characters already used and every further
/// line indented by `indent` spaces. Only the space a line breaks at is replaced; every
/// other character, runs of spaces included, is kept. Lines are never narrower than 20
/// characters of text.
pub fn wrap(text: &str, width: usize, first: usize, indent: usize) -> String {
    let width = width.max(indent + 20);
    let mut out = String::new();
    let mut used = first;
    let mut line_empty = true;
    for word in text.split(' ') {
        let mut rest: Vec<char> = word.chars().collect();
        loop {
            let gap = usize::from(!line_empty);
            if used + gap + rest.len() <= width {
                if !line_empty {
                    out.push(' ');
                }
                out.extend(rest.iter());
                used += gap + rest.len();
                // An empty word is a space of a run: the line is no longer empty.
                line_empty = false;
                break;
            }
            if line_empty {
                // Longer than a whole line: cut it.
                let take = width.saturating_sub(used).max(1);
                out.extend(rest.drain(..take));
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            used = indent;
            line_empty = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(count(0u64, "segment", "segments"), "0 segments");
        assert_eq!(count(1u64, "segment", "segments"), "1 segment");
        assert_eq!(count(2u32, "request", "requests"), "2 requests");
    }

    #[test]
    fn countdowns_keep_their_width() {
        assert_eq!(countdown(-3), "0s");
        assert_eq!(countdown(59), "59s");
        assert_eq!(countdown(65), "1m 05s");
        assert_eq!(countdown(3600 * 2 + 180), "2h 03m");
        assert_eq!(countdown(86400 * 3 + 3600 * 4), "3d 04h");
    }

    #[test]
    fn wrapping_at_spaces_with_an_indent() {
        assert_eq!(wrap("aaa bbb ccc", 20, 0, 2), "aaa bbb ccc");
        assert_eq!(
            wrap("aaaa bbbb cccc dddd eeee ffff", 22, 0, 2),
            "aaaa bbbb cccc dddd\n  eeee ffff"
        );
        assert_eq!(wrap("aaaa bbbb", 24, 18, 4), "aaaa\n    bbbb");
        assert_eq!(wrap("a  b", 24, 0, 2), "a  b", "runs of spaces are kept");
        let long = "x".repeat(50);
        let wrapped = wrap(&long, 22, 0, 2);
        assert!(
            wrapped.lines().all(|l| l.chars().count() <= 22),
            "{wrapped}"
        );
        assert_eq!(wrapped.replace(['\n', ' '], ""), long);
    }

    #[test]
    fn colour_follows_the_flag_then_no_color() {
        let none = Environment::from_pairs([("HOME", "/h")]);
        let no_color = Environment::from_pairs([("NO_COLOR", "1")]);
        let empty = Environment::from_pairs([("NO_COLOR", "")]);
        assert_eq!(choice(ColorWhen::Auto, &none), anstream::ColorChoice::Auto);
        assert_eq!(
            choice(ColorWhen::Auto, &no_color),
            anstream::ColorChoice::Never
        );
        assert_eq!(choice(ColorWhen::Auto, &empty), anstream::ColorChoice::Auto);
        assert_eq!(
            choice(ColorWhen::Always, &no_color),
            anstream::ColorChoice::AlwaysAnsi
        );
        assert_eq!(
            choice(ColorWhen::Never, &none),
            anstream::ColorChoice::Never
        );
    }
}
