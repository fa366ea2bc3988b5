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

const USERS: &[crate::service::UserSpec<'static>] = &[
    ("alice", &["dev"], true),
    ("bob", &["dba"], true),
    ("carol", &["dba"], true),
];

const QUORUM: &str = "version: 1\nrules:\n  - id: db-write\n    decision: approve\n    description: writes need two DBAs\n    match: {program: touch}\n    approval: {approvers: [\"group:dba\"], quorum: 2, timeout: 10m}\n";

/// `gatekeep run -- touch MARKER` as alice on a terminal, waiting for two DBAs.
fn waiting_run(env: &TestEnv, service: &crate::service::Service) -> (crate::pty::Pty, String) {
    let policy = env.write("p.yaml", QUORUM);
    let mut cmd = service.as_user(env, "alice");
    cmd.env("TERM", "xterm")
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "touch"])
        .arg(env.root().join("ran"));
    // Narrower than the waiting line, which wraps.
    let mut terminal = crate::pty::Pty::spawn_sized(cmd, 30, 60);
    terminal.wait_for("Ctrl-C cancels");
    let id = terminal
        .seen
        .split("/requests/")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (terminal, id)
}

#[test]
fn waiting_shows_the_request_its_progress_and_the_comments() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let (mut terminal, id) = waiting_run(&env, &service);
    let first = terminal
        .seen
        .lines()
        .find(|l| l.contains("approval required"))
        .unwrap()
        .to_owned();
    assert!(first.contains(&id[..13]), "{first}");
    assert!(
        !first.contains(&id),
        "the first line shows a short id: {first}"
    );
    for shown in [
        "rule:     db-write",
        "approvers: 0 of 2 from group:dba",
        "expires:   in ",
        "review:    ",
        "waiting for approval: 0 of 2 from group:dba",
        "expires in ",
    ] {
        assert!(
            terminal.seen.contains(shown),
            "{shown:?} in:\n{}",
            terminal.seen
        );
    }
    let approve = |user: &str| {
        let output = service
            .as_user(&env, user)
            .args(["approve", &id, "-m", &format!("{user} checked the table")])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    };
    approve("bob");
    terminal.wait_for("waiting for approval: 1 of 2 from group:dba");
    approve("carol");
    terminal.wait_for("carol approved: carol checked the table");
    assert_eq!(
        terminal.child.wait().unwrap().code(),
        Some(0),
        "{}",
        terminal.seen
    );
    terminal.until_exit();
    assert!(
        terminal
            .seen
            .contains("bob approved: bob checked the table")
    );
    assert!(env.root().join("ran").exists());
    let screen = terminal.screen(50, 200);
    assert!(
        !screen.contains("Ctrl-C cancels"),
        "the spinner is gone:\n{screen}"
    );
}

#[test]
fn ctrl_c_cancels_and_clears_the_waiting_line() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let (mut terminal, id) = waiting_run(&env, &service);
    terminal.send(&[0x03]);
    terminal.wait_for("cancelled request");
    terminal.until_exit();
    assert_eq!(terminal.child.wait().unwrap().code(), Some(123));
    assert_eq!(service.status("bob", &id), "cancelled");
    let screen = terminal.screen(30, 60);
    assert!(
        !screen.contains("Ctrl-C cancels") && !screen.contains("waiting for approval:"),
        "no spinner text is left on the screen:\n{screen}"
    );
    assert!(!env.root().join("ran").exists());
}
