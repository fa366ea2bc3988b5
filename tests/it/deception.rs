//! Deceptive commands and requester text, tried in every channel a reviewer reads: the
//! terminal (read through a terminal emulator), the review page in Chromium, Slack, Teams,
//! webhooks, and `log tail`. Each must show the command that will run, and show the
//! requester's text with its controls as visible escapes, labelled as the requester's claim.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Seen, Service, UserSpec, endpoint, wait_for_calls};

const POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"]}
rules:
  - id: db-dump
    description: Dump of a production database
    decision: approve
    match: {program: pg_dump}
  - id: wide-permissions
    decision: approve
    match: {program: chmod}
  - id: harmless
    decision: allow
    match: {program: ["true", "false"]}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
];

/// A Bash command that, printed raw, returns to the start of the line, erases it, and
/// prints a harmless command in its place.
const OVERDRAW: &str = "pg_dump prod #\r\x1b[2K  command: ls -la";
/// How every channel shows it: the escapes visible, bash reads it back unchanged.
const OVERDRAW_SHOWN: &str = r"bash -c $'pg_dump prod #\r\x1b[2K  command: ls -la'";

/// A reason that tries every channel's markup and the terminal's controls.
const REASON: &str = "routine <!channel> <@U024BE7LH> *urgent* `x` {{DATE(2017-02-14T06:00:00Z, SHORT)}} <script>alert(1)</script>\r\x1b[2Kreason: approved by security\u{2066}";
const REASON_SHOWN: &str = r"routine <!channel> <@U024BE7LH> *urgent* `x` {{DATE(2017-02-14T06:00:00Z, SHORT)}} <script>alert(1)</script>\r\x1b[2Kreason: approved by security\xe2\x81\xa6";

/// A directory whose name redraws the line and reverses what follows.
const DIR: &str = "work\r\x1b[2Kdirectory: safe\u{202e}";
const DIR_SHOWN: &str = r"work\r\x1b[2Kdirectory: safe\xe2\x80\xae";

/// `gatekeep run --no-wait` as alice from `cwd`: files the request and returns its id.
fn file(env: &TestEnv, service: &Service, cwd: &Path, reason: &str, argv: &[&str]) -> String {
    let policy = env.write("p.yaml", POLICY);
    let output = service
        .as_user(env, "alice")
        .current_dir(cwd)
        .args(["run", "--no-wait", "--policy"])
        .arg(&policy)
        .args(["--reason", reason, "--"])
        .args(argv)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(120),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// What `gatekeep ARGS` as `user` shows on a terminal, through a terminal emulator.
fn on_terminal(env: &TestEnv, service: &Service, user: &str, args: &[&str]) -> (String, Vec<u8>) {
    let mut cmd = service.as_user(env, user);
    cmd.env("TERM", "xterm").args(args);
    let mut terminal = crate::pty::Pty::spawn_sized(cmd, 200, 250);
    let raw = terminal.until_exit();
    (terminal.screen(200, 250), raw)
}

/// The lines of a screen, without the blanks a terminal pads them with.
fn lines(screen: &str) -> Vec<&str> {
    screen.lines().map(str::trim_end).collect()
}

#[test]
fn requests_on_a_terminal_show_what_will_run() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    file(
        &env,
        &service,
        env.root(),
        "backup",
        &["bash", "-c", OVERDRAW],
    );
    file(
        &env,
        &service,
        env.root(),
        "fix",
        &["chmod", "-R", "777", "/tmp/x /etc"],
    );
    file(
        &env,
        &service,
        env.root(),
        "nightly",
        &["bash", "-c", "pg_dump prod | gzip > \"$OUT\"; ls -la"],
    );
    let (screen, _) = on_terminal(&env, &service, "bob", &["requests"]);
    let lines = lines(&screen);
    assert!(
        lines.contains(&format!("  command:   {OVERDRAW_SHOWN}").as_str()),
        "the real command is on screen:\n{screen}"
    );
    assert!(
        !lines.iter().any(|l| l.trim() == "command: ls -la"),
        "the overdrawn line never shows:\n{screen}"
    );
    assert!(
        lines.contains(&"  command:   chmod -R 777 '/tmp/x /etc'"),
        "one argument with a space stays one argument:\n{screen}"
    );
    assert!(!screen.contains("chmod -R 777 /tmp/x /etc"), "{screen}");
    // A script's simple commands, one per line, with the rule each matched.
    for line in [
        r#"  command:   bash -c 'pg_dump prod | gzip > "$OUT"; ls -la'"#,
        "    runs:    pg_dump prod  [db-dump]",
        "    runs:    gzip  [-]",
        "    runs:    ls -la  [-]",
    ] {
        assert!(lines.contains(&line), "{line:?} missing:\n{screen}");
    }
    // The facts only the requester vouches for are labelled so, apart from the identity
    // the service authenticated.
    assert!(
        lines.contains(&"  filed by:  alice (authenticated)"),
        "{screen}"
    );
    assert!(
        lines.contains(&"  claimed by the requester (the service cannot check these):"),
        "{screen}"
    );
    assert!(lines.contains(&"    agent:     no"), "{screen}");
}

/// Local stand-ins for Slack, Teams and a webhook receiver, and a service that uses them.
fn service_with_channels(env: &TestEnv) -> (Service, Seen, Seen, Seen) {
    let (slack, slack_seen, _) = endpoint(
        r#"{"ok":true,"channel":"C42","ts":"1700000000.000100"}"#,
        false,
    );
    let (teams, teams_seen, _) = endpoint("", false);
    let (hooks, hooks_seen, _) = endpoint("", false);
    let extra = format!(
        "slack: {{bot_token: xoxb-test, signing_secret: s, api_base: \"{slack}\", channels: {{reviewers: C42}}}}\nteams: {{groups: {{reviewers: \"{teams}/teams-hook\"}}}}\nwebhooks: [{{url: \"{hooks}/hook\", secret: s3cret}}]"
    );
    let service = Service::start(env, USERS, &extra);
    (service, slack_seen, teams_seen, hooks_seen)
}

/// Every `text` in a Block Kit or Adaptive Card value, with the object that holds it.
fn texts(value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(text)) = map.get("text") {
                out.push((text.clone(), value.clone()));
            }
            map.values().for_each(|v| texts(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        _ => {}
    }
}

/// No character of `text` acts on or hides from a reader, besides the channel's own line
/// breaks.
fn no_controls(text: &str) -> bool {
    text.chars()
        .all(|c| c == '\n' || !gatekeep::render::hidden(c, Some('é')))
}

#[test]
fn a_deceptive_directory_and_reason_in_every_channel() {
    let env = TestEnv::new();
    let (service, slack, teams, hooks) = service_with_channels(&env);
    let cwd = env.root().join(DIR);
    std::fs::create_dir(&cwd).unwrap();
    let argv = ["chmod", "-R", "777", "/tmp/x /etc"];
    let id = file(&env, &service, &cwd, REASON, &argv);
    let dir_shown = format!("{}/{DIR_SHOWN}", env.root().display());

    // The terminal.
    let (screen, _) = on_terminal(&env, &service, "bob", &["requests"]);
    let lines = lines(&screen);
    for line in [
        format!("    reason:    {REASON_SHOWN}"),
        format!("    directory: {dir_shown}"),
        "  command:   chmod -R 777 '/tmp/x /etc'".to_owned(),
    ] {
        assert!(
            lines.contains(&line.as_str()),
            "{line:?} missing:\n{screen}"
        );
    }
    assert!(
        !lines.iter().any(|l| l.starts_with("reason: approved")),
        "{screen}"
    );

    // Slack: mrkdwn escaped (no mention, link or formatting can form), shown verbatim.
    let posted = wait_for_calls(&slack, "/chat.postMessage", 1)[0].json();
    let mut slack_texts = Vec::new();
    texts(&posted["blocks"], &mut slack_texts);
    let command = slack_texts
        .iter()
        .find(|(t, _)| t.starts_with("*Command*"))
        .unwrap();
    assert_eq!(command.0, "*Command*\n```chmod -R 777 '/tmp/x /etc'```");
    let claims = slack_texts
        .iter()
        .find(|(t, _)| t.starts_with("*Claimed by the requester*"))
        .unwrap();
    let claim_lines: Vec<&str> = claims.0.lines().collect();
    assert!(
        claim_lines.contains(&r"reason: `routine &lt;!channel&gt; &lt;@U024BE7LH&gt; *urgent* \x60x\x60 {{DATE(2017-02-14T06:00:00Z, SHORT)}} &lt;script&gt;alert(1)&lt;/script&gt;\r\x1b[2Kreason: approved by security\xe2\x81\xa6`"),
        "{}",
        claims.0
    );
    assert!(
        claim_lines.contains(&format!("directory: `{dir_shown}`").as_str()),
        "{}",
        claims.0
    );
    for (text, object) in &slack_texts {
        assert!(no_controls(text), "{text:?}");
        if object["type"] == "mrkdwn" {
            assert_eq!(object["verbatim"], true, "{object}");
            for raw in ["<!", "<@", "<#", "<script"] {
                assert!(!text.contains(raw), "{raw} in {text}");
            }
        }
    }
    let notification = posted["text"].as_str().unwrap();
    assert_eq!(
        notification,
        "Approval requested by `alice`: `chmod -R 777 '/tmp/x /etc'`"
    );

    // Teams: requester text only in text runs (never read as markdown), `{{` broken.
    let card = wait_for_calls(&teams, "/teams-hook", 1)[0].json();
    let body = &card["attachments"][0]["content"]["body"];
    let mut card_texts = Vec::new();
    texts(body, &mut card_texts);
    for (text, object) in &card_texts {
        assert!(no_controls(text), "{text:?}");
        if object["type"] == "TextBlock" {
            assert!(
                [
                    "Approval requested",
                    "Claimed by the requester (the service cannot check these)"
                ]
                .contains(&text.as_str()),
                "only fixed text outside text runs: {text}"
            );
        }
    }
    let fact = |label: &str| -> String {
        body.as_array()
            .unwrap()
            .iter()
            .find(|b| b["inlines"][0]["text"] == format!("{label}: "))
            .map(|b| b["inlines"][1]["text"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no {label} in {body}"))
    };
    assert_eq!(
        fact("reason"),
        r"routine <!channel> <@U024BE7LH> *urgent* `x` \x7b{DATE(2017-02-14T06:00:00Z, SHORT)}} <script>alert(1)</script>\r\x1b[2Kreason: approved by security\xe2\x81\xa6"
    );
    assert_eq!(fact("directory"), dir_shown);
    assert_eq!(fact("Filed by (authenticated)"), "alice");
    assert_eq!(body[1]["inlines"][0]["text"], "chmod -R 777 '/tmp/x /etc'");

    // Webhooks: the raw request for programs, and its display form for people.
    let event = wait_for_calls(&hooks, "/hook", 1)[0].json();
    assert_eq!(event["request"]["reason"], REASON);
    assert_eq!(event["display"]["command"], "chmod -R 777 '/tmp/x /etc'");
    assert_eq!(event["display"]["filed_by"], "alice");
    let claimed = &event["display"]["claimed_by_requester"];
    assert_eq!(claimed["reason"], REASON_SHOWN);
    assert_eq!(claimed["directory"], dir_shown.as_str());
    assert_eq!(claimed["agent"], "no");

    // The review page, in Chromium.
    let shown = inspect_page(&service, &id);
    assert_eq!(shown["command"], "chmod -R 777 '/tmp/x /etc'");
    assert_eq!(shown["filedBy"], "alice");
    assert_eq!(shown["claimed"]["reason"], REASON_SHOWN);
    assert_eq!(shown["claimed"]["directory"], dir_shown.as_str());
    assert_eq!(shown["claimed"]["agent"], "no");
    assert_eq!(shown["markup"], 0, "{shown}");
    assert_eq!(shown["scripts"], 0, "{shown}");
    assert_eq!(shown["dialogs"], 0, "{shown}");
    assert_eq!(shown["listed"], 1, "{shown}");
}

/// The review page of request `id` as bob sees it in headless Chromium.
fn inspect_page(service: &Service, id: &str) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshot: PathBuf = root.join("target/deceptive-request.png");
    let output = std::process::Command::new("node")
        .arg(root.join("tests/web/inspect.mjs"))
        .args([&service.url, service.token("bob"), id])
        .arg(&screenshot)
        .output()
        .expect("node runs (tests/web needs `npm ci`)");
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn long_commands_are_cut_visibly_with_the_whole_one_a_click_away() {
    let env = TestEnv::new();
    let (service, slack, teams, hooks) = service_with_channels(&env);
    let long = "x y ".repeat(3000);
    let argv = ["chmod", "-R", "777", long.as_str()];
    let id = file(&env, &service, env.root(), "bulk", &argv);
    let whole = gatekeep::render::command(&argv);
    let review_url = format!("{}/requests/{id}", service.url);

    let posted = wait_for_calls(&slack, "/chat.postMessage", 1)[0].json();
    let mut slack_texts = Vec::new();
    texts(&posted["blocks"], &mut slack_texts);
    let command = &slack_texts
        .iter()
        .find(|(t, _)| t.starts_with("*Command*"))
        .unwrap()
        .0;
    assert!(command.chars().count() <= 3000, "{}", command.len());
    assert!(
        command.starts_with("*Command*\n```chmod -R 777 'x y x y"),
        "{command}"
    );
    let note = command.lines().last().unwrap();
    let kept = command["*Command*\n```".len()..]
        .split("```")
        .next()
        .unwrap();
    assert_eq!(
        note,
        format!(
            "_… {} more bytes; the whole command is on <{review_url}|the review page>_",
            gatekeep::render::thousands(whole.len() - kept.len())
        )
    );
    for (text, _) in &slack_texts {
        assert!(text.chars().count() <= 3000, "{}", text.len());
    }

    let card = wait_for_calls(&teams, "/teams-hook", 1).remove(0);
    assert!(card.body.len() < 28_000, "{} bytes", card.body.len());
    let card = card.json();
    let runs = &card["attachments"][0]["content"]["body"][1]["inlines"];
    let kept = runs[0]["text"].as_str().unwrap();
    assert!(whole.starts_with(kept) && kept.starts_with("chmod -R 777 'x y"));
    assert_eq!(
        runs[1]["text"],
        format!(
            " … {} more bytes (open the review page)",
            gatekeep::render::thousands(whole.len() - kept.len())
        )
    );
    assert_eq!(runs[1]["selectAction"]["url"], review_url.as_str());

    // Webhooks and the review page carry the whole command.
    let event = wait_for_calls(&hooks, "/hook", 1)[0].json();
    assert_eq!(event["display"]["command"], whole.as_str());
}

#[test]
fn log_tail_on_a_terminal_passes_no_control_from_any_field() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY);
    let hostile = "\x1b]0;title\x07\x1b[2J\u{9b}31m\u{202e}\r";
    let cwd = env.root().join(DIR);
    std::fs::create_dir(&cwd).unwrap();
    for argv in [
        vec!["true", hostile],
        vec!["false", "\x1b[1A\x1b[2Kok"],
        // Refused before it runs: the program cannot be found.
        vec!["no\x1b[2Jsuch-program"],
    ] {
        let _ = env
            .gatekeep_std()
            .current_dir(&cwd)
            .args(["run", "--policy"])
            .arg(&policy)
            .args(["--reason", REASON, "--"])
            .args(&argv)
            .output()
            .unwrap();
    }
    let sgr = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    for args in [
        vec!["log", "tail", "-n", "100"],
        vec!["log", "tail", "-n", "100", "--json"],
        vec!["log", "show", "2"],
        vec!["log", "show", "3"],
    ] {
        let mut cmd = env.gatekeep_std();
        cmd.env("TERM", "xterm").args(&args);
        let mut terminal = crate::pty::Pty::spawn(cmd);
        let raw = terminal.until_exit();
        let text = String::from_utf8(raw).expect("UTF-8 on the terminal");
        // Colours are gatekeep's own; nothing else may act on the terminal.
        let plain = sgr.replace_all(&text, "");
        for c in plain.chars() {
            assert!(
                c == '\r' || c == '\n' || !gatekeep::render::hidden(c, Some('é')),
                "{args:?} passed {c:?} to the terminal:\n{plain}"
            );
        }
        assert!(
            plain.contains(r"\x1b") || plain.contains(r"\u001b"),
            "{args:?} shows the escapes:\n{plain}"
        );
    }
}
