//! Errors on the way to the service name the URL and the cause: a refused connection, a
//! name that does not resolve, the certificate problem, and a refused token with its source.

use serde_json::Value;

use crate::common::TestEnv;
use crate::service::{Service, UserSpec, http};

const USERS: &[UserSpec<'static>] = &[("bob", &["reviewers"], true)];

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `gatekeep requests` against `server` with `token`: its exit code and error line.
fn requests_error(env: &TestEnv, server: &str, token: &str) -> (Option<i32>, String) {
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", server)
        .env("GATEKEEP_TOKEN", token)
        .arg("requests")
        .output()
        .unwrap();
    (output.status.code(), text(&output.stderr))
}

#[test]
fn network_errors_name_the_url_and_the_cause() {
    let env = TestEnv::new();
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, said) = requests_error(&env, &url, "t");
    assert_eq!(code, Some(125));
    assert!(
        said.contains(&format!(
            "cannot reach the approval service at {url}: connection refused"
        )),
        "{said}"
    );
    assert!(said.contains("hint: nothing listens there"), "{said}");
    // A name that never resolves.
    let (code, said) = requests_error(&env, "https://gatekeep.invalid", "t");
    assert_eq!(code, Some(125));
    assert!(
        said.contains("at https://gatekeep.invalid: cannot resolve the host name"),
        "{said}"
    );
    assert!(
        said.contains("hint: the host name does not resolve"),
        "{said}"
    );
}

#[test]
fn a_certificate_the_client_does_not_trust_is_named() {
    let env = TestEnv::new();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&leaf_key)
        .unwrap();
    let cert = env.write("tls/cert.pem", &leaf.pem());
    let key = env.write("tls/key.pem", &leaf_key.serialize_pem());
    let tls = format!("tls: {{cert: {}, key: {}}}", cert.display(), key.display());
    let service = Service::start(&env, USERS, &tls);
    let url = service.url.replace("127.0.0.1", "localhost");
    let (code, said) = requests_error(&env, &url, service.token("bob"));
    assert_eq!(code, Some(125));
    assert!(
        said.contains(&format!(
            "cannot reach the approval service at {url}: TLS handshake failed: the certificate's issuer is unknown"
        )),
        "{said}"
    );
    assert!(said.contains("GATEKEEP_CA_CERT"), "{said}");
    // Trusted, but not issued for the name used.
    let (_, said) = {
        let output = env
            .gatekeep_std()
            .env("GATEKEEP_SERVER", &service.url)
            .env("GATEKEEP_TOKEN", service.token("bob"))
            .env("GATEKEEP_CA_CERT", &cert)
            .arg("requests")
            .output()
            .unwrap();
        (output.status.code(), text(&output.stderr))
    };
    assert!(
        said.contains(&format!(
            "at {}: TLS handshake failed: the certificate is not valid for this host name",
            service.url
        )),
        "{said}"
    );
}

#[test]
fn an_expired_certificate_is_named() {
    let env = TestEnv::new();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    let leaf = params.self_signed(&leaf_key).unwrap();
    let cert = env.write("tls/cert.pem", &leaf.pem());
    let key = env.write("tls/key.pem", &leaf_key.serialize_pem());
    let tls = format!("tls: {{cert: {}, key: {}}}", cert.display(), key.display());
    let service = Service::start(&env, USERS, &tls);
    let url = service.url.replace("127.0.0.1", "localhost");
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", service.token("bob"))
        .env("GATEKEEP_CA_CERT", &cert)
        .arg("requests")
        .output()
        .unwrap();
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        said.contains(&format!(
            "at {url}: TLS handshake failed: the certificate has expired"
        )),
        "{said}"
    );
}

#[test]
fn a_refused_token_names_where_it_came_from() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let (code, said) = requests_error(&env, &service.url, "wrong-token");
    assert_eq!(code, Some(125));
    assert!(
        said.contains(&format!(
            "{} answered 401: invalid token (the token from GATEKEEP_TOKEN)",
            service.url
        )),
        "{said}"
    );
    assert!(!said.contains("wrong-token"), "{said}");
    let key: Value = http()
        .get(format!("{}/v1/keys", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let file = env.write(
        "config/gatekeep/login.json",
        &serde_json::json!({
            "logins": [{"server": service.url, "identity": "bob",
                        "public_key": key["keys"][0]["public_key"], "token": "stale"}],
            "in_use": {},
        })
        .to_string(),
    );
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .arg("requests")
        .output()
        .unwrap();
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(125));
    assert!(
        said.contains(&format!(
            "answered 401: invalid token (the token from the login file {})",
            file.display()
        )),
        "{said}"
    );
    assert!(
        said.contains("hint: the service does not know this token"),
        "{said}"
    );
}

#[test]
fn a_service_that_never_answers_is_named_as_timed_out() {
    let env = TestEnv::new();
    env.write(
        "config/gatekeep/policies/slow.yaml",
        "version: 1\nbuiltin: false\ndefault: allow\nrules:\n  - id: wait-for-me\n    decision: approve\n    match: {program: touch}\n    approval: {approvers: [\"group:reviewers\"], timeout: 1s}\n",
    );
    // Takes connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(4).flatten() {
            open.push(stream);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let marker = env.root().join("ran");
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &url)
        .env("GATEKEEP_TOKEN", "t")
        .args(["run", "--", "touch"])
        .arg(&marker)
        .output()
        .unwrap();
    let said = text(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{said}");
    assert!(said.contains(&format!("at {url}: timed out")), "{said}");
    assert!(
        said.contains("hint: the service did not answer in time"),
        "{said}"
    );
    assert!(!marker.exists(), "the command ran without an approval");
    drop(held);
}

#[test]
fn a_broken_login_file_stops_only_what_needs_it() {
    let env = TestEnv::new();
    let service = Service::start(&env, USERS, "");
    let file = env.write("config/gatekeep/login.json", "{\"logins\": [");
    // The login file may hold the pinned key: unread, nothing goes to the service.
    let (code, said) = requests_error(&env, &service.url, service.token("bob"));
    assert_eq!(code, Some(125), "{said}");
    assert!(
        said.contains(&format!("cannot read {}", file.display())),
        "{said}"
    );
    assert!(said.contains("hint: fix or remove the file"), "{said}");
    // Given the token and the key, the file is not needed.
    let key: Value = http()
        .get(format!("{}/v1/keys", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let output = env
        .gatekeep_std()
        .env("GATEKEEP_SERVER", &service.url)
        .env("GATEKEEP_TOKEN", service.token("bob"))
        .env(
            "GATEKEEP_SERVER_KEY",
            key["keys"][0]["public_key"].as_str().unwrap(),
        )
        .arg("requests")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    // And it is left as it was.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"logins\": [");
}
