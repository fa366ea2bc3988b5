//! What people see on a terminal: colour and when it is off, the waiting line of `run`,
//! the `review` keys, and the layout of lists.

use crate::common::TestEnv;

const DENY: &str = "version: 1\nrules:\n  - id: no-rm\n    decision: deny\n    description: removing files is refused\n    match: {program: rm}\n";

fn has_ansi(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\x1b[")
}

#[test]
fn color_always_colours_decisions_and_errors_even_into_a_pipe() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", DENY);
    let check = |color: &[&str]| {
        env.gatekeep_std()
            .args(color)
            .args(["check", "--policy"])
            .arg(&policy)
            .args(["--", "rm", "x"])
            .output()
            .unwrap()
    };
    let always = check(&["--color", "always"]);
    assert!(has_ansi(&always.stdout), "{always:?}");
    assert!(
        String::from_utf8_lossy(&always.stdout).contains("\x1b[1m\x1b[31mdeny"),
        "deny is red: {always:?}"
    );
    let piped = check(&[]);
    assert!(!has_ansi(&piped.stdout), "a pipe gets no colour: {piped:?}");
    let never = check(&["--color", "never"]);
    assert!(!has_ansi(&never.stdout));

    // Errors and their hints, in the one place errors are printed.
    let error = |color: &str| {
        env.gatekeep_std()
            .args(["check", "--color", color])
            .output()
            .unwrap()
    };
    let coloured = error("always");
    assert_eq!(coloured.status.code(), Some(125));
    let text = String::from_utf8_lossy(&coloured.stderr);
    assert!(text.contains("\x1b[31merror"), "{text}");
    assert!(text.contains("\x1b[36mhint:"), "{text}");
    assert!(!has_ansi(&error("never").stderr));
    assert!(!has_ansi(&error("auto").stderr));
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", DENY);
    let on_terminal = |no_color: Option<&str>| {
        let mut cmd = env.gatekeep_std();
        cmd.env("TERM", "xterm")
            .args(["check", "--policy"])
            .arg(&policy)
            .args(["--", "rm", "x"]);
        if let Some(value) = no_color {
            cmd.env("NO_COLOR", value);
        }
        let mut terminal = crate::pty::Pty::spawn(cmd);
        terminal.until_exit()
    };
    let plain = on_terminal(None);
    assert!(has_ansi(&plain), "{}", String::from_utf8_lossy(&plain));
    let no_color = on_terminal(Some("1"));
    assert!(String::from_utf8_lossy(&no_color).contains("deny"));
    assert!(
        !has_ansi(&no_color),
        "{}",
        String::from_utf8_lossy(&no_color)
    );
}
