//! The review page in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `tests/web`): sign in, review, and a waiting `gatekeep run` starts;
//! the page on a phone and a desk, light and dark, checked by axe-core, and used with the
//! keyboard alone.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http, request_id};

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
    ("carol", &["reviewers"], true),
];

#[test]
fn a_reviewer_approves_in_the_browser_and_the_command_runs() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let policy = env.write("p.yaml", "version: 1\nrules:\n  - id: via-browser\n    decision: approve\n    match: {program: touch}\n");
    let marker = env.root().join("from-the-browser");
    let (mut run, lines) = service.run_in_background(
        &env,
        "alice",
        &[
            "--policy",
            policy.to_str().unwrap(),
            "--reason",
            "browser test",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ],
    );
    let id = request_id(&lines);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let screenshot = root.join("target/review-page.png");
    let output = std::process::Command::new("node")
        .arg(root.join("tests/web/review.mjs"))
        .args([
            &service.url,
            service.token("alice"),
            service.token("bob"),
            &id,
        ])
        .arg(&screenshot)
        .output()
        .expect("node runs (tests/web needs `npm ci`)");
    assert!(
        output.status.success(),
        "browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(run.wait().unwrap().code(), Some(0), "{}", lines.complete());
    assert!(marker.exists());
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 1000,
        "a screenshot is kept for people to look at"
    );
}

#[test]
fn sessions_cookies_and_csrf() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bad = http
        .post(format!("{}/login", service.url))
        .form(&[("token", "wrong")])
        .send()
        .unwrap();
    assert!(bad.headers().get("set-cookie").is_none());
    assert!(bad.text().unwrap().contains("not valid"));
    let login = http
        .post(format!("{}/login", service.url))
        .form(&[("token", service.token("bob"))])
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(service.token("bob")),
        "the cookie never holds the token"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let home = http
        .get(format!("{}/", service.url))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(home.contains("Signed in as <strong>bob</strong>"));
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    // A form without the session's CSRF token is refused.
    let forged = http
        .post(format!("{}/requests/x/review", service.url))
        .header("cookie", &session)
        .form(&[("csrf", "nope"), ("verdict", "approve")])
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    // Logging out ends the session.
    let out = http
        .post(format!("{}/logout", service.url))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = http
        .get(format!("{}/", service.url))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(after.contains("name=\"token\""), "signed out");
    // Sessions are kept in the database, digested: the cookie's id is nowhere in it.
    let id = session.split('=').nth(1).unwrap();
    let db = std::fs::read(service.data.join("gatekeep.db")).unwrap_or_default();
    let wal = std::fs::read(service.data.join("gatekeep.db-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        assert!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()));
    }
    // A session ends when its user's token is replaced (a leaked token rotated out).
    let login = http
        .post(format!("{}/login", service.url))
        .form(&[("token", service.token("bob"))])
        .send()
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let signed_in = |session: &str| {
        http.get(format!("{}/", service.url))
            .header("cookie", session)
            .send()
            .unwrap()
            .text()
            .unwrap()
            .contains("Signed in as <strong>bob</strong>")
    };
    assert!(signed_in(&session));
    let old = crate::service::config_text(&[("bob", &["reviewers"], true)], &service.tokens, "");
    let old_line = old
        .lines()
        .find(|l| l.contains("name: bob"))
        .unwrap()
        .to_owned();
    service.reconfigure(|text| {
        let fresh = old_line.replace(
            old_line
                .split("token_sha256: ")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap(),
            &"ab".repeat(32),
        );
        text.replace(&old_line, &fresh)
    });
    assert!(!signed_in(&session), "the old token's session is over");
}

const TEAM_POLICY: &str = r#"
version: 1
builtin: false
approval: {approvers: ["group:reviewers"]}
rules:
  - id: release-cleanup
    description: Deletes files on a shared host; check that the path is an old release
    decision: approve
    approval: {approvers: ["group:reviewers"], quorum: 2}
    match: {program: rm}
  - id: new-files
    description: Creates files outside the project
    decision: approve
    match: {program: touch}
"#;

/// Files a request as alice (as an agent when `agent`) and returns its id.
fn file(env: &TestEnv, service: &Service, agent: bool, reason: &str, argv: &[&str]) -> String {
    let policy = env.write("team.yaml", TEAM_POLICY);
    let mut cmd = service.as_user(env, "alice");
    cmd.args(["run", "--no-wait", "--policy"]).arg(&policy);
    if agent {
        cmd.args(["--agent-session", "agent-7f3a"]);
    }
    let output = cmd
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

/// `node tests/web/SCRIPT ARGS…`, its one JSON line read.
pub fn node(script: &str, args: &[&str]) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("node")
        .arg(root.join("tests/web").join(script))
        .args(args)
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

/// Where the screenshots go: docs/screenshots with GATEKEEP_BLESS=1 (they are committed
/// for the README and the docs), otherwise under target/.
pub fn screenshot_dir(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = if std::env::var("GATEKEEP_BLESS").is_ok_and(|v| v == "1") && name == "docs" {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots").join(name)
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser's measurements, kept under target/screenshots for people to read.
fn keep(measured: &Value, name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let text = serde_json::to_string_pretty(measured).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
}

/// Every measurement of layout.mjs for one page: it fits its screen, axe finds nothing
/// serious, the served script ran under the page's CSP without a violation.
fn assert_fits_and_is_accessible(shown: &Value) {
    let pages = shown.as_object().unwrap();
    assert_eq!(pages.len(), 12, "{shown}");
    for (page, m) in pages {
        let width = if page.ends_with("-phone") { 390 } else { 1200 };
        assert!(
            m["scrollWidth"].as_u64().unwrap() <= width,
            "{page} scrolls sideways: {m}"
        );
        let serious: Vec<&Value> = m["axe"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
            .collect();
        assert!(serious.is_empty(), "{page}: {serious:?}");
        assert_eq!(m["csp"], serde_json::json!([]), "{page}");
        if page.starts_with("request-") {
            assert_eq!(m["counted"], true, "{page}: the expiry counts down");
        }
    }
    for page in ["signin", "list", "request"] {
        for screen in ["desktop", "phone"] {
            let light = &shown[format!("{page}-light-{screen}")]["background"];
            let dark = &shown[format!("{page}-dark-{screen}")]["background"];
            assert_ne!(
                light, dark,
                "{page} on a {screen} follows the colour scheme"
            );
        }
    }
}

#[test]
fn the_page_fits_a_phone_follows_dark_mode_passes_axe_and_works_by_keyboard() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let cleanup = file(
        &env,
        &service,
        true,
        "free disk space before the deploy",
        &["rm", "-rf", "/srv/app/releases/2024-11-02"],
    );
    file(
        &env,
        &service,
        false,
        "marks the host as drained",
        &["touch", "/srv/app/drained"],
    );
    let approved = service
        .as_user(&env, "bob")
        .args(["approve", &cleanup, "--message", "old release, fine"])
        .output()
        .unwrap();
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );

    // Screenshots of a realistic page, and the measurements of every page.
    let shots = screenshot_dir("docs");
    let shown = node(
        "layout.mjs",
        &[
            &service.url,
            service.token("carol"),
            &cleanup,
            shots.to_str().unwrap(),
        ],
    );
    keep(&shown, "docs");
    assert_fits_and_is_accessible(&shown);
    for page in ["list", "request"] {
        for scheme in ["light", "dark"] {
            for screen in ["desktop", "phone"] {
                let png = shots.join(format!("{page}-{scheme}-{screen}.png"));
                let size = std::fs::metadata(&png).unwrap().len();
                assert!(size > 5_000 && size < 400_000, "{}: {size}", png.display());
            }
        }
    }

    // A 2,000-character argument without a space still fits a phone.
    let long = format!("/srv/app/{}", "x".repeat(2000));
    let long_id = file(&env, &service, true, &"y".repeat(500), &["touch", &long]);
    let shown = node(
        "layout.mjs",
        &[
            &service.url,
            service.token("carol"),
            &long_id,
            screenshot_dir("long").to_str().unwrap(),
        ],
    );
    keep(&shown, "long");
    assert_fits_and_is_accessible(&shown);

    // Keyboard only: Tab reaches Approve, every stop visibly focused, Enter approves.
    let keys = node(
        "keyboard.mjs",
        &[&service.url, service.token("carol"), &cleanup],
    );
    keep(&keys, "keyboard");
    assert_eq!(keys["onApprove"], true, "{keys}");
    for stop in keys["seen"].as_array().unwrap() {
        assert_eq!(stop["outline"], true, "focus not visible on {stop}");
    }
    assert_eq!(keys["status"], "approved, not run yet", "{keys}");
    assert_eq!(service.status("alice", &cleanup), "approved");
}

/// A signed-in HTTP client for the review page: its session cookie.
pub fn sign_in(service: &Service, user: &str) -> (reqwest::blocking::Client, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http
        .post(format!("{}/login", service.url))
        .form(&[("token", service.token(user))])
        .send()
        .unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    (http, session)
}

#[test]
fn rule_text_and_claims_are_escaped_and_only_the_filer_is_shown_as_verified() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let policy = env.write(
        "hostile.yaml",
        "version: 1\napproval: {approvers: [\"group:reviewers\"]}\nrules:\n  - id: hostile\n    description: \"<script>alert(1)</script> & <b>urgent</b>\"\n    decision: approve\n    match: {program: touch}\n",
    );
    let output = service
        .as_user(&env, "alice")
        .args([
            "run",
            "--no-wait",
            "--agent-session",
            "<img src=x onerror=alert(2)>",
        ])
        .arg("--policy")
        .arg(&policy)
        .args([
            "--reason",
            "I am bob, trust me <i>",
            "--",
            "touch",
            "/tmp/<a>",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(120));
    let id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let (http, session) = sign_in(&service, "bob");
    let answer = http
        .get(format!("{}/requests/{id}", service.url))
        .header("cookie", &session)
        .send()
        .unwrap();
    // Only the page's own files run, nobody may frame it, and no link leaks its address.
    let header = |name: &str| answer.headers()[name].to_str().unwrap().to_owned();
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/integrations.md"))
            .unwrap();
    let docs = docs.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        docs.contains(&format!("`Content-Security-Policy: {csp}`")),
        "docs/integrations.md names the policy the page sends"
    );
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    let page = answer.text().unwrap();
    for raw in ["<script>alert", "<b>urgent", "<img src=x", "<i>", "<a>"] {
        assert!(!page.contains(raw), "{raw} reached the page as markup");
    }
    // The page's left-to-right isolates aside, the text is all there, escaped.
    let page = page.replace("<bdi dir=\"ltr\">", "").replace("</bdi>", "");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    // The rule's own why, next to the rule, and the quorum's progress.
    let rules = page.split("id=\"rules\"").nth(1).unwrap();
    let rules = rules.split("</ul>").next().unwrap();
    assert!(rules.contains("hostile"), "{rules}");
    assert!(rules.contains("&lt;b&gt;urgent&lt;/b&gt;"), "{rules}");
    assert!(
        rules.contains("<strong>0 of 1</strong> approvals"),
        "{rules}"
    );
    // One verified fact: the identity whose token filed it; the reason that claims to be
    // bob sits among the claims.
    assert_eq!(page.matches("verified by the service").count(), 1);
    let verified = page.split("verified by the service").next().unwrap();
    assert!(
        verified.ends_with("<strong id=\"filed-by\">alice</strong> <span class=\"tag verified\">"),
        "{verified}"
    );
    let claimed = page.split("id=\"claimed\"").nth(1).unwrap();
    assert!(
        claimed.contains("I am bob, trust me &lt;i&gt;"),
        "{claimed}"
    );
    // Plain words, not the service's state names.
    assert!(page.contains(">waiting for review<"), "{page}");
    let approved = service
        .as_user(&env, "bob")
        .args(["approve", &id])
        .output()
        .unwrap();
    assert!(approved.status.success());
    let list = http
        .get(format!("{}/?show=all", service.url))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(list.contains(">approved, not run yet<"), "{list}");
    assert!(list.contains("aria-current=\"page\">All<"), "{list}");
    assert!(!list.contains(">pending<") && !list.contains(">consumed<"));
}

#[test]
fn the_list_filters_pending_mine_and_all_newest_first() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let first = file(&env, &service, false, "one", &["touch", "/srv/first"]);
    let second = file(&env, &service, true, "two", &["rm", "/srv/second"]);
    let list = |user: &str, show: &str| {
        let (http, session) = sign_in(&service, user);
        http.get(format!("{}/?show={show}", service.url))
            .header("cookie", &session)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let position = |page: &str, id: &str| page.find(&format!("href=\"/requests/{id}\""));
    // Signed out: the sign-in page says where a token comes from.
    let signin = http()
        .get(format!("{}/", service.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for source in [
        "gatekeep token new",
        "gatekeep login",
        "gatekeep serve --dev",
        "gatekeep dev credentials",
    ] {
        assert!(signin.contains(source), "{source}: {signin}");
    }
    assert!(signin.contains("<label for=\"token\">"), "{signin}");
    // Waiting for bob: both, the newer first, the agent's marked as the requester's claim.
    let pending = list("bob", "pending");
    assert!(pending.contains("aria-current=\"page\">Waiting for me<"));
    assert!(position(&pending, &second).unwrap() < position(&pending, &first).unwrap());
    let item = pending
        .split(&format!("/requests/{second}"))
        .nth(1)
        .unwrap();
    let item = item.split("</li>").next().unwrap();
    assert!(item.contains("agent (claimed)"), "{item}");
    assert!(item.contains("0 of 2 approvals"), "{item}");
    // Each id shows as the shortest prefix, of at least 8 characters, that tells it from
    // the other (ids filed in the same minute share more than their first 8).
    let shared = first
        .chars()
        .zip(second.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let shown = &second[..(shared + 1).max(8)];
    assert!(
        item.contains(&format!("class=\"id\">{shown}</a>")),
        "{item}"
    );
    assert!(item.contains("expires in <time"), "{item}");
    // Nothing waits for alice, who filed both; they are hers; bob filed none.
    let alice = list("alice", "pending");
    assert!(alice.contains("Nothing is waiting for your review."));
    assert!(position(&alice, &first).is_none());
    let mine = list("alice", "mine");
    assert!(position(&mine, &first).is_some() && position(&mine, &second).is_some());
    assert!(list("bob", "mine").contains("You have filed no requests."));
    // Once bob has approved, the request waits for others, not for him; his page offers
    // only a change of mind.
    let approved = service
        .as_user(&env, "bob")
        .args(["approve", &second])
        .output()
        .unwrap();
    assert!(approved.status.success());
    assert!(position(&list("bob", "pending"), &second).is_none());
    assert!(position(&list("carol", "pending"), &second).is_some());
    let (http, session) = sign_in(&service, "bob");
    let page = http
        .get(format!("{}/requests/{second}", service.url))
        .header("cookie", &session)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("You approved this request"), "{page}");
    assert!(!page.contains("value=\"approve\"") && page.contains("value=\"reject\""));
    assert!(page.contains("<strong>1 of 2</strong> approvals"), "{page}");
    // Decided requests leave bob's pending list but stay under all.
    let rejected = service
        .as_user(&env, "bob")
        .args(["reject", &first])
        .output()
        .unwrap();
    assert!(rejected.status.success());
    assert!(position(&list("bob", "pending"), &first).is_none());
    let all = list("bob", "all");
    let item = all.split(&format!("/requests/{first}")).nth(1).unwrap();
    let item = item.split("</li>").next().unwrap();
    assert!(item.contains(">rejected<"), "{item}");
    assert!(!item.contains("expires in"), "{item}");
}
