//! The one rendering of commands, read back by a real bash: every argument vector, valid
//! UTF-8 or not, survives the round trip, and nothing in a rendering can drive a terminal.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::process::Command;

use gatekeep::render;
use proptest::prelude::*;

/// Pieces of arguments: plain words, everything the shell treats specially, controls,
/// escape sequences, invisible and bidi characters, other scripts, and lone bytes that are
/// not UTF-8.
fn atom() -> impl Strategy<Value = Vec<u8>> {
    let special = vec![
        " ",
        "  ",
        "'",
        "\"",
        "\\",
        "\\x41",
        "!",
        "!!",
        "$",
        "${x}",
        "$(id)",
        "`",
        "*",
        "?",
        "[",
        "]",
        "{",
        "}",
        "{a,b}",
        "~",
        "~root",
        "#",
        ";",
        "&",
        "|",
        "<",
        ">",
        "(",
        ")",
        "^",
        "%",
        ",",
        ":",
        "@",
        "=",
        "\n",
        "\t",
        "\r",
        "\x1b[2K",
        "\x1b]0;t\x07",
        "\x7f",
        "\x01",
        "\u{9b}",
        "\u{85}",
        "\u{202e}",
        "\u{2066}",
        "\u{200b}",
        "\u{200f}",
        "\u{61c}",
        "\u{a0}",
        "\u{3000}",
        "\u{2028}",
        "\u{301}",
        "\u{20dd}",
        "é",
        "日本",
        "कि",
        "😀",
        "\u{fe0f}",
        "\u{e000}",
        "\u{378}",
        "\u{e0041}",
        "\u{feff}",
    ];
    prop_oneof![
        4 => "[a-zA-Z0-9_./=+-]{1,4}".prop_map(String::into_bytes),
        4 => prop::sample::select(special).prop_map(|s| s.as_bytes().to_vec()),
        1 => (0x80u8..=0xff).prop_map(|b| vec![b]),
    ]
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(atom(), 0..5).prop_map(|atoms| atoms.concat())
}

fn argv() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(arg(), 1..5)
}

/// Runs `lines` through `bash -c` with no startup files, in `locale`; every line prints the
/// argument vector it ran as NUL-terminated fields, the count first. Returns the vectors.
fn bash_reads(lines: &[String], locale: &str) -> Vec<Vec<Vec<u8>>> {
    let script = format!(
        "f() {{ printf '%s\\0' \"$#\" \"$@\"; }}\ncommand_not_found_handle() {{ printf '%s\\0' \"$#\" \"$@\"; }}\n{}\n",
        lines.join("\n")
    );
    let output = Command::new(bash())
        .args(["--norc", "--noprofile", "-c"])
        .arg(&script)
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("LC_ALL", locale)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "bash failed on\n{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut fields = output.stdout.split(|b| *b == 0);
    let mut vectors = Vec::new();
    while let Some(count) = fields.next() {
        if count.is_empty() {
            break;
        }
        let count: usize = std::str::from_utf8(count).unwrap().parse().unwrap();
        vectors.push(
            (0..count)
                .map(|_| fields.next().unwrap().to_vec())
                .collect(),
        );
    }
    vectors
}

/// The bash on this machine's PATH (the script itself runs with a PATH that finds nothing).
fn bash() -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("bash"))
        .find(|path| path.is_file())
        .expect("bash is installed")
}

fn os(args: &[Vec<u8>]) -> Vec<OsString> {
    args.iter().map(|a| OsString::from_vec(a.clone())).collect()
}

/// A rendering holds nothing a terminal acts on or hides.
fn inert(rendered: &str) -> bool {
    render::inert(rendered) == rendered && !rendered.chars().any(|c| c.is_control())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Arguments rendered after a command name, and whole commands in command position
    /// (bash's `command_not_found_handle` prints what it was asked to run): bash reads back
    /// exactly the vector, in a UTF-8 locale and in the C locale.
    #[test]
    fn bash_reads_back_every_argument_vector(batch in prop::collection::vec(argv(), 24)) {
        let mut lines = Vec::new();
        let mut expected = Vec::new();
        for args in &batch {
            let rendered = render::command(&os(args));
            prop_assert!(inert(&rendered), "{}", rendered);
            lines.push(format!("f {rendered}"));
            expected.push(args.clone());
            // The same words with a program name bash will not find: no slash (a path is
            // not looked up), and a prefix that is no builtin or keyword.
            let mut command = args.clone();
            let mut program = b"zz".to_vec();
            program.extend(command[0].iter().map(|b| if *b == b'/' { b'_' } else { *b }));
            command[0] = program;
            lines.push(render::command(&os(&command)));
            expected.push(command);
        }
        for locale in ["C.UTF-8", "C"] {
            prop_assert_eq!(&bash_reads(&lines, locale), &expected, "{}", lines.join("\n"));
        }
    }

    /// Requester text: inert on a terminal, and the escapes decode back to the text.
    #[test]
    fn text_is_inert_and_reversible(pieces in prop::collection::vec(atom(), 0..8)) {
        let text = String::from_utf8_lossy(&pieces.concat()).into_owned();
        let rendered = render::text(&text);
        prop_assert!(inert(&rendered), "{}", rendered);
        prop_assert_eq!(unescape(&rendered), text.as_bytes());
    }
}

/// Decodes the escapes of [`render::text`]: `\\`, `\n`, `\t`, `\r`, `\xHH`.
fn unescape(rendered: &str) -> Vec<u8> {
    let bytes = rendered.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes[i + 1] {
            b'x' => {
                let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 4;
            }
            other => {
                out.push(match other {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b => b,
                });
                i += 2;
            }
        }
    }
    out
}

#[test]
fn words_special_in_command_position_are_quoted_there() {
    let lines: Vec<String> = [vec!["a=b", "c=d"], vec!["if", "x"], vec!["time", "-p"]]
        .iter()
        .map(|argv| render::command(argv))
        .collect();
    let read = bash_reads(&lines, "C.UTF-8");
    assert_eq!(
        read,
        vec![
            vec![b"a=b".to_vec(), b"c=d".to_vec()],
            vec![b"if".to_vec(), b"x".to_vec()],
            vec![b"time".to_vec(), b"-p".to_vec()],
        ],
        "{lines:?}"
    );
}
