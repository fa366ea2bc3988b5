//! What a command reads on its standard input, when the line says: a here-document or
//! here-string, a file, or the output of the command before it in a pipeline.

use brush_parser::ast::{IoFileRedirectKind, IoFileRedirectTarget, IoRedirect};

use super::words::{self, Mode};
use super::{Arg, Command, Input};

/// The standard input the redirections give a command (the last one for descriptor 0
/// wins, as in bash); `None` when they leave it alone.
pub(crate) fn redirected<'a>(redirects: impl Iterator<Item = &'a IoRedirect>) -> Option<Input> {
    let mut input = None;
    for redirect in redirects {
        match redirect {
            IoRedirect::File(fd, kind, target) if fd.unwrap_or(0) == 0 => {
                input = match (kind, target) {
                    (
                        IoFileRedirectKind::Read | IoFileRedirectKind::ReadAndWrite,
                        IoFileRedirectTarget::Filename(word),
                    ) => Some(Input::File(single(&word.value))),
                    // `<&3`, `< <(…)`: text the line may show, only known at run time.
                    (IoFileRedirectKind::Read | IoFileRedirectKind::DuplicateInput, target) => {
                        Some(Input::Expanded(format!("<{}", shown(target))))
                    }
                    _ => input,
                };
            }
            IoRedirect::HereDocument(fd, doc) if fd.unwrap_or(0) == 0 => {
                let mut body = doc.doc.value.clone();
                if doc.remove_tabs {
                    body = body
                        .split_inclusive('\n')
                        .map(|line| line.trim_start_matches('\t'))
                        .collect();
                }
                input = Some(if !doc.requires_expansion {
                    Input::Text(body)
                } else {
                    heredoc_text(&body).map_or(Input::Expanded(body), Input::Text)
                });
            }
            IoRedirect::HereString(fd, word) if fd.unwrap_or(0) == 0 => {
                let value = single(&word.value);
                input = Some(if value.known {
                    Input::Text(format!("{}\n", value.text))
                } else {
                    Input::Expanded(value.text)
                });
            }
            _ => {}
        }
    }
    input
}

/// The text of a here-document whose delimiter is not quoted, when it expands nothing: a
/// backslash only escapes `$`, `` ` ``, `\` and a newline there.
fn heredoc_text(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '$' | '`' => return None,
            '\\' => match chars.next() {
                Some(next @ ('$' | '`' | '\\')) => out.push(next),
                Some('\n') => {}
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Some(out)
}

fn shown(target: &IoFileRedirectTarget) -> String {
    match target {
        IoFileRedirectTarget::Filename(word) | IoFileRedirectTarget::Duplicate(word) => {
            word.value.clone()
        }
        IoFileRedirectTarget::Fd(fd) => format!("&{fd}"),
        IoFileRedirectTarget::ProcessSubstitution(..) => "(…)".to_owned(),
    }
}

/// A word expanded as one value (a file name, a here-string).
fn single(raw: &str) -> Arg {
    let expansion = words::expand(raw, Mode::Single);
    match expansion.args.as_slice() {
        [arg] if expansion.opaque.is_empty() && arg.known && !arg.free => arg.clone(),
        _ => Arg::dynamic(raw.to_owned()),
    }
}

/// What the commands recorded for one stage of a pipeline write to the next: the text of a
/// literal `echo` or `printf`, what `cat` and `tee` pass on (their own input, or one file).
/// Output computed at run time from text the line shows (printed with escapes, decoded,
/// rewritten) is that text hidden: only known at run time, but from the line. Anything
/// else (a generator, a program reading files) is input the line does not show.
pub(crate) fn output_of(commands: &[Command]) -> Input {
    let from_line = commands.iter().any(|c| {
        matches!(c.stdin, Some(Input::Text(_) | Input::Expanded(_)))
            || matches!(c.names.first().map(String::as_str), Some("echo" | "printf"))
    });
    let unknown = |what: &str| {
        if from_line {
            Input::Expanded(format!(
                "the output of `{what}`, computed from text in the line"
            ))
        } else {
            Input::Unknown(format!("the output of `{what}`"))
        }
    };
    let [command] = commands else {
        return unknown("several commands");
    };
    let program = command.names.first().map_or("", String::as_str);
    let args = &command.argv[1..];
    if args.iter().any(|a| !a.known || a.free) {
        return unknown(program);
    }
    let texts: Vec<&str> = args.iter().map(|a| a.text.as_str()).collect();
    let passed_on = || command.stdin.clone().unwrap_or_else(|| unknown(program));
    match program {
        "echo" => echo(&texts).map_or_else(|| unknown(program), Input::Text),
        "printf" => printf(&texts).map_or_else(|| unknown(program), Input::Text),
        "cat" => match texts.as_slice() {
            [] | ["-"] => passed_on(),
            [file] if !file.starts_with('-') => Input::File(Arg::literal(*file)),
            _ => unknown(program),
        },
        // `tee FILE…` writes its input to the files and passes it on.
        "tee" => passed_on(),
        _ => unknown(program),
    }
}

/// What `echo` prints, when no escape sequence could change it.
fn echo(args: &[&str]) -> Option<String> {
    let mut newline = true;
    let mut rest = args;
    while let Some((first, tail)) = rest.split_first() {
        let flags = first
            .strip_prefix('-')
            .filter(|f| !f.is_empty() && f.chars().all(|c| matches!(c, 'n' | 'e' | 'E')));
        let Some(flags) = flags else { break };
        newline &= !flags.contains('n');
        rest = tail;
    }
    let text = rest.join(" ");
    // Some `echo`s read escapes without `-e` (dash's): text with a backslash is not certain.
    if text.contains('\\') {
        return None;
    }
    Some(if newline { text + "\n" } else { text })
}

/// What `printf` prints, for formats made of text, `%s`, `%%` and `\n`.
fn printf(args: &[&str]) -> Option<String> {
    let (format, values) = args.split_first()?;
    let format = format.replace("\\n", "\n");
    if format.contains('\\') {
        return None;
    }
    let pieces: Vec<&str> = format.split("%%").collect();
    let directives = pieces.iter().map(|p| p.matches('%').count()).sum::<usize>();
    if pieces.iter().any(|p| {
        p.match_indices('%')
            .any(|(at, _)| !p[at + 1..].starts_with('s'))
    }) {
        return None;
    }
    if values.iter().any(|v| v.contains('\\')) {
        return None;
    }
    let mut out = String::new();
    let mut values = values.iter();
    // The format is used again while values remain (at least once).
    loop {
        for (k, piece) in pieces.iter().enumerate() {
            if k > 0 {
                out.push('%');
            }
            let mut parts = piece.split("%s");
            out.push_str(parts.next().unwrap_or_default());
            for part in parts {
                out.push_str(values.next().copied().unwrap_or_default());
                out.push_str(part);
            }
        }
        if directives == 0 || values.len() == 0 {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_producers_print_what_the_shell_would() {
        assert_eq!(echo(&["drop", "table", "t"]).unwrap(), "drop table t\n");
        assert_eq!(echo(&["-n", "x"]).unwrap(), "x");
        assert_eq!(echo(&["-e", "a\\nb"]), None);
        assert_eq!(printf(&["drop table t"]).unwrap(), "drop table t");
        assert_eq!(printf(&["%s\\n", "a", "b"]).unwrap(), "a\nb\n");
        assert_eq!(printf(&["100%% %s", "x"]).unwrap(), "100% x");
        assert_eq!(printf(&["%d", "1"]), None);
        assert_eq!(printf(&["\\x44ROP TABLE t"]), None);
    }

    #[test]
    fn unquoted_here_documents_are_text_until_they_expand() {
        assert_eq!(
            heredoc_text("\\set t users\ndrop table :t;\n").unwrap(),
            "\\set t users\ndrop table :t;\n"
        );
        assert_eq!(heredoc_text("price \\$5\n").unwrap(), "price $5\n");
        assert_eq!(heredoc_text("drop table $T\n"), None);
        assert_eq!(heredoc_text("x `id`"), None);
    }
}
