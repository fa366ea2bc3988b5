//! A real approval service on 127.0.0.1 for tests, and background gatekeep processes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::common::TestEnv;

/// One user of a test service: name, groups, may review.
pub type UserSpec<'a> = (&'a str, &'a [&'a str], bool);

/// Lines a child process writes, collected by a thread.
#[derive(Clone, Default)]
pub struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    pub fn collect(reader: impl std::io::Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                sink.0.lock().unwrap().push(line);
            }
        });
        lines
    }

    /// Waits until a line contains `needle` and returns it. The bound only guards against a
    /// hang; it is not a timing assertion.
    pub fn wait_for(&self, needle: &str) -> String {
        for _ in 0..600 {
            if let Some(line) = self.0.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "no line with {needle:?} in:\n{}",
            self.0.lock().unwrap().join("\n")
        );
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// A running `gatekeep serve`.
pub struct Service {
    child: Child,
    pub url: String,
    pub config: PathBuf,
    pub data: PathBuf,
    pub tokens: BTreeMap<String, String>,
    pub log: Lines,
}

pub fn config_text(
    users: &[UserSpec<'_>],
    tokens: &BTreeMap<String, String>,
    extra: &str,
) -> String {
    let mut text = format!("{extra}\nusers:\n");
    for (name, groups, can_review) in users {
        let hash = hex::encode(Sha256::digest(tokens[*name].as_bytes()));
        text.push_str(&format!("  - {{name: {name}, token_sha256: {hash}, groups: {groups:?}, can_review: {can_review}}}\n"));
    }
    text
}

impl Service {
    pub fn start(env: &TestEnv, users: &[UserSpec<'_>], extra: &str) -> Service {
        let tokens: BTreeMap<String, String> = users
            .iter()
            .map(|(name, _, _)| {
                (
                    (*name).to_owned(),
                    format!("tok-{name}-{}", uuid::Uuid::new_v4()),
                )
            })
            .collect();
        let config = env.write("service/server.yaml", &config_text(users, &tokens, extra));
        let data = env.root().join("service/data");
        Service::launch(env, config, data, "127.0.0.1:0", tokens)
    }

    fn launch(
        env: &TestEnv,
        config: PathBuf,
        data: PathBuf,
        listen: &str,
        tokens: BTreeMap<String, String>,
    ) -> Service {
        let mut child = env
            .gatekeep_std()
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", listen, "--data"])
            .arg(&data)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let log = Lines::collect(child.stderr.take().unwrap());
        let line = log.wait_for("serving on ");
        let url = line
            .split("serving on ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        Service {
            child,
            url,
            config,
            data,
            tokens,
            log,
        }
    }

    /// Kills the service with SIGKILL and starts it again on the same address and data.
    pub fn kill9_and_restart(&mut self, env: &TestEnv) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let listen = self.url.trim_start_matches("http://").to_owned();
        let restarted = Service::launch(
            env,
            self.config.clone(),
            self.data.clone(),
            &listen,
            self.tokens.clone(),
        );
        drop(std::mem::replace(self, restarted));
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn token(&self, user: &str) -> &str {
        &self.tokens[user]
    }

    /// A gatekeep command acting as `user` against this service.
    pub fn as_user(&self, env: &TestEnv, user: &str) -> std::process::Command {
        let mut cmd = env.gatekeep_std();
        cmd.env("GATEKEEP_SERVER", &self.url)
            .env("GATEKEEP_TOKEN", self.token(user));
        cmd
    }

    /// `gatekeep run` as `user`, in the background, with stderr collected.
    pub fn run_in_background(
        &self,
        env: &TestEnv,
        user: &str,
        args: &[&str],
    ) -> (KillOnDrop, Lines) {
        let mut child = self
            .as_user(env, user)
            .arg("run")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Lines::collect(child.stderr.take().unwrap());
        (KillOnDrop(child), lines)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP client for talking to the API directly.
pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No connection reuse: a server may close a connection after refusing a body.
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

impl Service {
    /// The request's status, asked of the API as `user`.
    pub fn status(&self, user: &str, id: &str) -> String {
        let answer: serde_json::Value = http()
            .get(format!("{}/v1/requests/{id}", self.url))
            .bearer_auth(self.token(user))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["status"].as_str().unwrap_or_default().to_owned()
    }
}

/// The request id a waiting `gatekeep run` announced.
pub fn request_id(lines: &Lines) -> String {
    let line = lines.wait_for("approval required: request ");
    line.rsplit(' ').next().unwrap().to_owned()
}

/// A child process that is killed when the test ends, passing or not, so no orphan keeps
/// the test's output pipes open.
pub struct KillOnDrop(pub Child);

impl std::ops::Deref for KillOnDrop {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
