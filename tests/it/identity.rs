//! Who the client is and how it connects: `whoami`, `status`, logins per service and
//! identity, request ids by prefix, `dev credentials`. The errors on the way to the
//! service are in `connection_errors.rs`.

use std::process::{Output, Stdio};

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{KillOnDrop, Lines, Service, UserSpec, http};

const POLICY: &str = r#"
version: 1
approval: {approvers: ["group:reviewers"], timeout: 5m}
rules:
  - id: touch-needs-ok
    decision: approve
    match: {program: touch}
"#;

const USERS: &[UserSpec<'static>] = &[
    ("alice", &["reviewers"], true),
    ("bob", &["reviewers", "dba"], true),
    ("carol", &["reviewers"], true),
    ("dave", &[], true),
    ("robot", &[], false),
];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `output`'s stdout and stderr with what changes from run to run replaced: the service
/// URL, key fingerprints, the test's directory.
fn stable(env: &TestEnv, service: &Service, output: &str) -> String {
    let fingerprint = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap();
    let shown = output
        .replace(&service.url, "[URL]")
        .replace(&env.root().display().to_string(), "[ROOT]");
    fingerprint.replace_all(&shown, "sha256:[KEY]").into_owned()
}

fn login(env: &TestEnv, service: &Service, token: &str, extra: &[&str]) -> Output {
    env.gatekeep()
        .args(["login", "--server", &service.url])
        .args(extra)
        .write_stdin(token)
        .output()
        .unwrap()
}

#[test]
fn whoami_names_the_identity_its_rights_and_where_the_token_came_from() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let output = service.as_user(&env, "bob").arg("whoami").output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let shown = stable(&env, &service, &text(&output.stdout));
    assert!(!shown.contains(service.token("bob")));
    insta::assert_snapshot!("whoami_env_token", shown);
    let json = service
        .as_user(&env, "bob")
        .args(["whoami", "--json"])
        .output()
        .unwrap();
    insta::assert_snapshot!("whoami_json", stable(&env, &service, &text(&json.stdout)));
    // The service says an identity configured as an agent is one, and that it may not
    // review, whatever its entry says.
    service.reconfigure(|config| config.replace("name: robot,", "agent: true, name: robot,"));
    let robot: Value = serde_json::from_slice(
        &service
            .as_user(&env, "robot")
            .args(["whoami", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(robot["agent"], true);
    assert_eq!(robot["can_review"], false);
    assert_eq!(robot["identity"], "robot");
    // /v1/me says nothing but the caller's own identity.
    let me: Value = http()
        .get(format!("{}/v1/me", service.url))
        .bearer_auth(service.token("alice"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        me,
        serde_json::json!({"name": "alice", "groups": ["reviewers"], "can_review": true, "agent": false})
    );
    let anonymous = http().get(format!("{}/v1/me", service.url)).send().unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[test]
fn status_says_what_is_in_place_and_fails_when_the_service_cannot_be_used() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let output = service.as_user(&env, "bob").arg("status").output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stdout));
    // The policies' and supervision's lines depend on the library and the machine.
    let shown: Vec<String> = stable(&env, &service, &text(&output.stdout))
        .lines()
        .map(|line| match line.split_whitespace().nth(1) {
            Some("policies") => "ok    policies     [POLICIES]".to_owned(),
            Some("supervision") => "[SUPERVISION]".to_owned(),
            _ => line.to_owned(),
        })
        .filter(|line| !(line.trim_start().starts_with("hint:") && line.contains("supervis")))
        .collect();
    insta::assert_snapshot!("status_ok", shown.join("\n"));
    let json: Value = serde_json::from_slice(
        &service
            .as_user(&env, "bob")
            .args(["status", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["gatekeep"], 1);
    assert_eq!(json["ok"], true);
    let names: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "service",
            "service key",
            "policies",
            "audit log",
            "supervision"
        ]
    );
    // A service key that is not the one served fails; so does a refused token.
    let other_key = "11".repeat(32);
    let wrong_key = service
        .as_user(&env, "bob")
        .env("GATEKEEP_SERVER_KEY", &other_key)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(wrong_key.status.code(), Some(1));
    let shown = stable(&env, &service, &text(&wrong_key.stdout));
    assert!(
        shown.contains("fail  service key  sha256:[KEY] (pinned from GATEKEEP_SERVER_KEY) DIFFERS"),
        "{shown}"
    );
    let refused = service
        .as_user(&env, "bob")
        .env("GATEKEEP_TOKEN", "not-a-token")
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    insta::assert_snapshot!(
        "status_refused_token",
        stable(&env, &service, &text(&refused.stdout))
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Without any service: a warning, not a failure.
    let alone = env.gatekeep_std().arg("status").output().unwrap();
    assert!(alone.status.success(), "{}", text(&alone.stdout));
    assert!(
        text(&alone.stdout).starts_with("warn  service      no approval service is configured")
    );
}

#[test]
fn logins_are_kept_per_service_and_identity_and_logout_says_what_it_removed() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let whoami = |extra: &[(&str, &str)]| {
        let output = env
            .gatekeep_std()
            .env("GATEKEEP_SERVER", &service.url)
            .envs(extra.iter().copied())
            .args(["whoami", "--json"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let bob = login(&env, &service, service.token("bob"), &[]);
    assert!(bob.status.success(), "{}", text(&bob.stderr));
    assert!(text(&bob.stderr).contains(&format!("logged in to {} as bob", service.url)));
    assert_eq!(whoami(&[])["identity"], "bob");
    let source = whoami(&[])["token"]["source"].clone();
    assert!(source == "keyring" || source == "login_file", "{source}");
    // Another identity for the same service is added, never written over the first.
    let carol = login(&env, &service, service.token("carol"), &[]);
    let said = text(&carol.stderr);
    assert!(carol.status.success(), "{said}");
    assert!(
        said.contains("carol is now in use") && said.contains("also stored: bob"),
        "{said}"
    );
    assert_eq!(whoami(&[])["identity"], "carol");
    assert_eq!(whoami(&[("GATEKEEP_IDENTITY", "bob")])["identity"], "bob");
    // --as switches to a stored login without a token.
    let switched = login(&env, &service, "", &["--as", "bob"]);
    assert!(switched.status.success(), "{}", text(&switched.stderr));
    assert!(text(&switched.stderr).contains("now using bob"));
    assert_eq!(whoami(&[])["identity"], "bob");
    // --as with a token of someone else stores nothing.
    let mismatch = login(&env, &service, service.token("dave"), &["--as", "carol2"]);
    assert_eq!(mismatch.status.code(), Some(125));
    assert!(text(&mismatch.stderr).contains("the token given is dave's, not carol2's"));
    // Logout removes the login in use, and says so.
    let logout = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .arg("logout")
        .output()
        .unwrap();
    let said = text(&logout.stderr);
    assert!(logout.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "logged out bob at {}: removed its token",
            service.url
        )),
        "{said}"
    );
    assert!(
        said.contains("still stored for") && said.contains("carol"),
        "{said}"
    );
    assert_eq!(whoami(&[])["identity"], "carol");
    let all = env
        .gatekeep_std()
        .args(["logout", "--all"])
        .output()
        .unwrap();
    let said = text(&all.stderr);
    assert!(said.contains("logged out carol at"), "{said}");
    assert!(!env.root().join("config/gatekeep/login.json").exists());
}

#[test]
fn a_login_file_of_the_older_shape_still_reads() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let key: Value = http()
        .get(format!("{}/v1/keys", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = key["keys"][0]["public_key"].as_str().unwrap();
    let file = env.write(
        "config/gatekeep/login.json",
        &serde_json::json!({"server": service.url, "public_key": key, "token": service.token("dave")})
            .to_string(),
    );
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .arg("whoami")
        .output()
        .unwrap();
    let shown = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(shown.contains("identity     dave"), "{shown}");
    assert!(
        shown.contains(&format!("token from   the login file {}", file.display())),
        "{shown}"
    );
    assert!(shown.contains("the service serves the same key"), "{shown}");
}

/// `gatekeep run --no-wait` as alice: the new request's id.
fn file_request(env: &TestEnv, service: &Service, policy: &str) -> String {
    let output = service
        .as_user(env, "alice")
        .args(["run", "--no-wait", "--policy", policy, "--", "touch", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(120), "{}", text(&output.stderr));
    text(&output.stdout).trim().to_owned()
}

#[test]
fn request_ids_are_taken_by_a_unique_prefix_of_eight_or_more_characters() {
    let env = TestEnv::new();
    let policy = env.write("p.yaml", POLICY).display().to_string();
    let service = Service::start(&env, USERS, "");
    // Two requests whose ids share their first eight characters (made in the same
    // minute; a third when the first two straddle a boundary).
    let mut ids = vec![file_request(&env, &service, &policy)];
    loop {
        ids.push(file_request(&env, &service, &policy));
        if ids[ids.len() - 1][..8] == ids[ids.len() - 2][..8] {
            break;
        }
        assert!(ids.len() < 3, "{ids:?}");
    }
    let (first, second) = (&ids[ids.len() - 2], &ids[ids.len() - 1]);
    let common = &first[..8];
    let review = |user: &str, id: &str| {
        service
            .as_user(&env, user)
            .args(["approve", id])
            .output()
            .unwrap()
    };
    let ambiguous = review("bob", common);
    assert_eq!(ambiguous.status.code(), Some(125));
    let said = text(&ambiguous.stderr);
    assert!(
        said.contains(&format!("request id {common} is ambiguous")),
        "{said}"
    );
    assert!(said.contains("alice, pending, touch x"), "{said}");
    let short = review("bob", &first[..7]);
    assert_eq!(short.status.code(), Some(125));
    assert!(text(&short.stderr).contains("too short: give at least 8 characters"));
    // The shortest unique prefix approves the one request.
    let unique = first
        .char_indices()
        .map(|(i, _)| &first[..=i])
        .find(|p| p.len() >= 8 && !second.starts_with(p))
        .unwrap();
    let approved = review("bob", unique);
    assert!(approved.status.success(), "{}", text(&approved.stderr));
    assert!(text(&approved.stderr).contains(&format!("approved {first}")));
    // The requester waits by prefix too.
    let waited = service
        .as_user(&env, "alice")
        .args(["wait", unique])
        .output()
        .unwrap();
    assert_eq!(
        text(&waited.stdout).trim(),
        "approved",
        "{}",
        text(&waited.stderr)
    );
    // And runs the approved command by it.
    let ran = service
        .as_user(&env, "alice")
        .args([
            "run",
            "--request",
            unique,
            "--policy",
            &policy,
            "--",
            "touch",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(ran.status.code(), Some(0), "{}", text(&ran.stderr));
    assert!(env.root().join("x").exists());
    // Someone who may not see them learns nothing from a prefix: not even that it is
    // ambiguous.
    let stranger = review("dave", common);
    assert_eq!(stranger.status.code(), Some(125));
    assert!(
        text(&stranger.stderr).contains(&format!(
            "no request you may see has an id starting with {common}"
        )),
        "{}",
        text(&stranger.stderr)
    );
    let listed: Value = http()
        .get(format!("{}/v1/requests?prefix={common}", service.url))
        .bearer_auth(service.token("dave"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["requests"], serde_json::json!([]));
    let too_short = http()
        .get(format!(
            "{}/v1/requests?prefix={}",
            service.url,
            &common[..7]
        ))
        .bearer_auth(service.token("bob"))
        .send()
        .unwrap();
    assert_eq!(too_short.status().as_u16(), 400);
}

#[test]
fn dev_credentials_prints_the_export_lines_again_with_a_warning() {
    let env = TestEnv::new();
    let mut child = env
        .gatekeep_std()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Lines::collect(child.stdout.take().unwrap());
    let log = Lines::collect(child.stderr.take().unwrap());
    let server = KillOnDrop(child);
    let reviewer = out.wait_for("# review page:");
    crate::service::served_url(&log);
    let served = out.text();
    assert!(served.contains("not a security boundary"), "{served}");
    let exports: Vec<&str> = served
        .lines()
        .filter(|l| l.starts_with("export "))
        .collect();
    assert_eq!(exports.len(), 2, "{served}");
    let again = env
        .gatekeep_std()
        .args(["dev", "credentials"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again.stderr));
    let printed = text(&again.stdout);
    let printed: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("export "))
        .collect();
    assert_eq!(printed, exports);
    assert!(text(&again.stdout).contains(reviewer.trim()));
    assert_eq!(
        text(&again.stderr).trim(),
        "gatekeep: warning: development mode is not a security boundary: any process of this user can read these tokens"
    );
    // The reviewer's line works as printed.
    let token = exports[1].rsplit("GATEKEEP_TOKEN=").next().unwrap();
    let me: Value = http()
        .get(format!(
            "{}/v1/me",
            exports[1]
                .split(' ')
                .find_map(|w| w.strip_prefix("GATEKEEP_SERVER="))
                .unwrap()
        ))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["name"], "dev-reviewer");
    // Killed, the server leaves its file behind; what it names no longer answers.
    let mut server = server;
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let stale = env
        .gatekeep_std()
        .args(["dev", "credentials"])
        .output()
        .unwrap();
    assert_eq!(stale.status.code(), Some(125));
    let said = text(&stale.stderr);
    assert!(said.contains("the development server named in"), "{said}");
    assert!(said.contains("connection refused"), "{said}");
    assert!(said.contains("hint: it has stopped"), "{said}");
    assert!(
        text(&stale.stdout).is_empty(),
        "the stale tokens were printed"
    );
    // Stopped as it should be, it takes its file with it: there is nothing to print.
    let mut child = env
        .gatekeep_std()
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Lines::collect(child.stdout.take().unwrap());
    let log = Lines::collect(child.stderr.take().unwrap());
    let mut server = KillOnDrop(child);
    out.wait_for("# review page:");
    crate::service::served_url(&log);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    server.0.wait().unwrap();
    let gone = env
        .gatekeep_std()
        .args(["dev", "credentials"])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(125));
    assert!(text(&gone.stderr).contains("no development server is running"));
}
