//! The review page in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `tests/web`): sign in, review, and a waiting `gatekeep run` starts.

use std::path::Path;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, request_id};

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers"], true),
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
