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

    // `run` says a denial in red, and plainly into a pipe.
    let run = |color: &str| {
        env.gatekeep_std()
            .args(["run", "--color", color, "--policy"])
            .arg(&policy)
            .args(["--", "rm", "x"])
            .output()
            .unwrap()
    };
    let denied = run("always");
    assert_eq!(denied.status.code(), Some(126));
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("\x1b[31mdenied\x1b[0m by rule no-rm"),
        "{denied:?}"
    );
    let plain = run("auto");
    assert_eq!(
        String::from_utf8_lossy(&plain.stderr),
        "gatekeep: denied by rule no-rm: removing files is refused\n"
    );

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
    let id = terminal.request_id();
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

/// A request of alice's waiting for two DBAs, filed by a `run` in the background.
fn pending_request(
    env: &TestEnv,
    service: &crate::service::Service,
) -> (crate::service::KillOnDrop, String) {
    let policy = env.write("p.yaml", QUORUM);
    let (run, lines) = service.run_in_background(
        env,
        "alice",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "touch",
            env.root().join("ran").to_str().unwrap(),
        ],
    );
    (run, crate::service::request_id(&lines))
}

#[test]
fn esc_and_q_leave_review() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let (_run, id) = pending_request(&env, &service);
    // From the list: q, then Esc. From a request's decision: q.
    for (keys, at_decision) in [(&b"q"[..], false), (&b"\x1b"[..], false), (&b"q"[..], true)] {
        let mut cmd = service.as_user(&env, "bob");
        cmd.env("TERM", "xterm").arg("review");
        let mut terminal = crate::pty::Pty::spawn_sized(cmd, 40, 120);
        terminal.wait_for("Esc or q leaves");
        terminal.wait_for(&id[..8]);
        if at_decision {
            terminal.send(b"\r");
            terminal.wait_for("Decision (Esc or q leaves)");
        }
        terminal.send(keys);
        terminal.until_exit();
        assert_eq!(
            terminal.child.wait().unwrap().code(),
            Some(0),
            "{keys:?} leaves review:\n{}",
            terminal.seen
        );
        assert_eq!(
            service.status("bob", &id),
            "pending",
            "nothing was reviewed"
        );
    }
}

#[test]
fn the_review_list_aligns_its_columns() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let (_one, first) = pending_request(&env, &service);
    let policy = env.write(
        "q.yaml",
        &QUORUM.replace("db-write", "schema-change-with-a-long-id"),
    );
    let (_two, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "touch",
            "/tmp/second",
        ],
    );
    let second = crate::service::request_id(&lines);
    let mut cmd = service.as_user(&env, "bob");
    cmd.env("TERM", "xterm").arg("review");
    let mut terminal = crate::pty::Pty::spawn_sized(cmd, 40, 120);
    terminal.wait_for("2 requests pending");
    terminal.wait_for("/tmp/second");
    let screen = terminal.screen(40, 120);
    terminal.send(b"q");
    terminal.until_exit();
    let row = |command: &str| {
        screen
            .lines()
            .find(|l| l.contains(command))
            .unwrap_or_else(|| panic!("{command} not listed:\n{screen}"))
            .trim_start_matches(['>', ' '])
            .to_owned()
    };
    let (a, b) = (row("/ran"), row("/tmp/second"));
    // Each row starts with the shortest prefix that tells the ids apart (ids of the same
    // minute share more than eight characters).
    let (shown_a, shown_b) = (a.split(' ').next().unwrap(), b.split(' ').next().unwrap());
    assert!(
        first.starts_with(shown_a) && second.starts_with(shown_b),
        "{screen}"
    );
    assert!(shown_a.len() >= 8 && shown_a != shown_b && !second.starts_with(shown_a));
    assert_eq!(
        a.find("touch"),
        b.find("touch"),
        "the commands line up:\n{screen}"
    );
    assert!(
        a.contains("db-write") && b.contains("schema-change-with-a-long-id"),
        "{screen}"
    );
}

#[test]
fn reviewing_twice_or_too_late_says_so_and_fails() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let (mut run, id) = pending_request(&env, &service);
    let review = |user: &str, verdict: &str| {
        service
            .as_user(&env, user)
            .args([verdict, &id, "-m", "checked"])
            .output()
            .unwrap()
    };
    assert!(review("bob", "approve").status.success());
    let again = review("bob", "approve");
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("is already approved by you; still waiting for 1 of 2 from group:dba"),
        "{said}"
    );
    // The service tells a repeat (200) from a recorded review (201), and counts it once.
    let post = |user: &str| {
        crate::service::http()
            .post(format!("{}/v1/requests/{id}/reviews", service.url))
            .bearer_auth(service.token(user))
            .json(&serde_json::json!({"verdict": "approve"}))
            .send()
            .unwrap()
    };
    let repeat = post("bob");
    assert_eq!(repeat.status().as_u16(), 200);
    let view: serde_json::Value = repeat.json().unwrap();
    assert_eq!(view["reviews"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["status"], "pending");
    assert_eq!(post("carol").status().as_u16(), 201);
    assert_eq!(run.wait().unwrap().code(), Some(0));
    assert_eq!(post("carol").status().as_u16(), 409);
    let late = review("bob", "reject");
    assert_eq!(late.status.code(), Some(1), "{late:?}");
    let said = String::from_utf8_lossy(&late.stderr);
    assert!(
        said.contains("was already approved by bob, carol at "),
        "{said}"
    );

    let (mut run, id) = pending_request(&env, &service);
    let reject = service
        .as_user(&env, "carol")
        .args(["reject", &id])
        .output()
        .unwrap();
    assert!(reject.status.success());
    assert_eq!(run.wait().unwrap().code(), Some(121));
    let late = service
        .as_user(&env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert_eq!(late.status.code(), Some(1));
    let said = String::from_utf8_lossy(&late.stderr);
    assert!(said.contains("is already rejected by carol at "), "{said}");
    assert!(said.contains("hint: nothing was changed"), "{said}");
}

#[test]
fn requests_wrap_to_the_width_with_descriptions_indented() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let policy = env.write("p.yaml", QUORUM);
    let reason = "the nightly migration of the orders table failed halfway and this finishes it";
    let (_run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--reason",
            reason,
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "touch",
            "/tmp/x",
        ],
    );
    let id = crate::service::request_id(&lines);
    let listed = service
        .as_user(&env, "bob")
        .env("COLUMNS", "60")
        .arg("requests")
        .output()
        .unwrap();
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.starts_with("1 request pending for you to review\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n{}  pending  expires in ", &id[..8])),
        "{text}"
    );
    // Commands and links are never broken; everything else fits.
    assert!(
        text.lines()
            .filter(|l| !l.starts_with("  review at:"))
            .all(|l| l.chars().count() <= 60),
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("    reason:    the nightly"))
        .unwrap();
    // The reason goes on under itself.
    assert!(lines[at + 1].starts_with(&" ".repeat(15)), "{text}");
    assert!(
        lines[at + 1]
            .trim_start()
            .starts_with(|c: char| c.is_alphabetic())
    );
    assert!(
        text.contains("    why:       writes need two DBAs"),
        "{text}"
    );
    assert!(!has_ansi(&listed.stdout));
}

/// A log with a few runs in it (each run three records, after the chain's opening).
fn log_with_runs(env: &TestEnv, runs: usize) {
    let policy = env.write(
        "allow.yaml",
        "version: 1\nrules:\n  - {id: sh-ok, decision: allow, match: {program: sh}}\n",
    );
    for n in 0..runs {
        let status = env
            .gatekeep_std()
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--", "sh", "-c", &format!("exit {n}")])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(n as i32));
    }
}

#[test]
fn log_tail_has_a_header_on_a_terminal_and_fixed_width_times() {
    let env = TestEnv::new();
    log_with_runs(&env, 4);
    let mut cmd = env.gatekeep_std();
    cmd.env("TERM", "xterm").args(["log", "tail", "-n", "20"]);
    let mut terminal = crate::pty::Pty::spawn_sized(cmd, 40, 160);
    terminal.until_exit();
    let screen = terminal.screen(40, 160);
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines[0].starts_with("TIME "), "{screen}");
    let time = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  +\d+ ").unwrap();
    let records = &lines[1..];
    assert_eq!(records.len(), 13, "{screen}");
    for line in records {
        assert!(time.is_match(line), "{line:?}");
    }
    // The columns line up with the header's.
    let detail = lines[0].find("DETAIL").unwrap();
    let event = lines[0].find("EVENT").unwrap();
    for line in records {
        let word = &line[event..];
        assert!(!word.starts_with(' '), "{line:?} under EVENT");
        assert_eq!(&line[detail - 1..detail], " ", "{line:?}");
    }
    assert!(screen.contains(" exit       status 3 ("), "{screen}");

    // A pipe gets the records alone; --local shows this host's zone.
    let piped = env
        .gatekeep_std()
        .env("TZ", "Asia/Kolkata")
        .args(["log", "tail", "--local", "-n", "2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&piped.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    let local = regex::Regex::new(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+05:30 ").unwrap();
    assert!(text.lines().all(|l| local.is_match(l)), "{text}");
}

#[test]
fn counts_in_messages_are_singular_for_one() {
    let env = TestEnv::new();
    log_with_runs(&env, 1);
    let verified = env.gatekeep_std().args(["log", "verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(
        text.contains("ok: 4 records in 1 segment, chain intact"),
        "{text}"
    );
    let policy = env.write(
        "one.yaml",
        "version: 1\nrules:\n  - {id: sh-ok, decision: allow, match: {program: sh}}\n",
    );
    let linted = env
        .gatekeep_std()
        .args(["policy", "lint"])
        .arg(&policy)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&linted.stderr);
    assert!(text.contains("1 rule in 1 file, no problems"), "{text}");
}

#[test]
fn help_and_man_pages_show_examples_exit_status_environment_and_files() {
    let env = TestEnv::new();
    for (command, examples) in [
        ("run", gatekeep::manual::RUN),
        ("check", gatekeep::manual::CHECK),
    ] {
        let help = env
            .gatekeep_std()
            .args([command, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&help.stdout);
        assert!(text.contains("Examples:"), "{text}");
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("man/gatekeep-{command}.1")),
        )
        .unwrap();
        assert!(page.contains(".SH EXAMPLES"), "{page}");
        for example in examples {
            assert!(text.contains(example.command), "{command} --help: {text}");
            assert!(
                page.contains(&example.command.replace('-', "\\-")),
                "{page}"
            );
        }
    }
    let main = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/gatekeep.1"),
    )
    .unwrap();
    for section in [
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH ENVIRONMENT",
        ".SH FILES",
    ] {
        assert!(main.contains(section), "{section} missing");
    }
    for exit in gatekeep::exit::Exit::ALL {
        assert!(main.contains(&gatekeep::manual::roff_text(exit.meaning())));
    }
    for (name, _) in gatekeep::manual::variables() {
        assert!(
            main.contains(&format!("\\fB{}\\fR", gatekeep::manual::roff_text(&name))),
            "{name}"
        );
    }
    assert!(main.contains("~/.config/gatekeep/config.yaml"));
    assert!(main.contains("/etc/gatekeep/policies"));
}

#[test]
fn the_readme_installs_completions_and_man_pages_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme.split("## Completions and man pages").nth(1).unwrap();
    let block = section
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let env = TestEnv::new();
    let home = env.root().join("home");
    let status = std::process::Command::new("bash")
        .args(["-euc", block])
        .current_dir(root)
        .env_clear()
        .env("HOME", &home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(status.success());
    for installed in [
        ".local/share/bash-completion/completions/gatekeep",
        ".zfunc/_gatekeep",
        ".config/fish/completions/gatekeep.fish",
        ".local/share/man/man1/gatekeep.1",
        ".local/share/man/man1/gatekeep-run.1",
    ] {
        assert!(home.join(installed).is_file(), "{installed}");
    }
}

#[test]
fn the_terminal_echoes_control_characters_again_once_the_wait_is_over() {
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, USERS, "");
    let policy = env.write(
        "stty.yaml",
        "version: 1\nrules:\n  - id: tty\n    decision: approve\n    match: {program: stty}\n    approval: {approvers: [\"group:dba\"]}\n",
    );
    let mut cmd = service.as_user(&env, "alice");
    cmd.env("TERM", "xterm")
        .args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "stty", "-a"]);
    let mut terminal = crate::pty::Pty::spawn_sized(cmd, 30, 200);
    terminal.wait_for("Ctrl-C cancels");
    let id = terminal.request_id();
    let approved = service
        .as_user(&env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(approved.status.success(), "{approved:?}");
    terminal.until_exit();
    assert_eq!(
        terminal.child.wait().unwrap().code(),
        Some(0),
        "{}",
        terminal.seen
    );
    // What the approved command finds: the terminal as it was before the spinner.
    let settings = terminal.seen.rsplit("approved").next().unwrap();
    assert!(settings.contains(" echoctl"), "{settings}");
    assert!(!settings.contains("-echoctl"), "{settings}");
}

#[test]
fn progress_is_counted_as_the_service_counts_it() {
    // bob is a DBA and not in security: his approval counts for one requirement only,
    // which the client alone could not know.
    let users: &[crate::service::UserSpec<'static>] = &[
        ("alice", &["dev"], true),
        ("bob", &["dba"], true),
        ("erin", &["security"], true),
    ];
    let env = TestEnv::new();
    let service = crate::service::Service::start(&env, users, "");
    let policy = env.write(
        "p.yaml",
        "version: 1\nrules:\n  - id: db-write\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:dba\"]}\n  - id: audited\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:security\"]}\n",
    );
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "touch",
            env.root().join("ran").to_str().unwrap(),
        ],
    );
    let id = crate::service::request_id(&lines);
    let approve = |user: &str| {
        service
            .as_user(&env, user)
            .args(["approve", &id])
            .output()
            .unwrap()
    };
    assert!(approve("bob").status.success());
    let again = approve("bob");
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("still waiting for 1 of 1 from group:dba; 0 of 1 from group:security"),
        "{said}"
    );
    let view = service.view("alice", &id);
    let progress = &view["progress"];
    assert_eq!(
        progress[0]["approved_by"],
        serde_json::json!(["bob"]),
        "{view}"
    );
    assert_eq!(progress[1]["approved_by"], serde_json::json!([]), "{view}");
    assert!(approve("erin").status.success());
    assert_eq!(run.wait().unwrap().code(), Some(0));
}
