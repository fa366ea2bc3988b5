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
pub struct Lines(Arc<Mutex<Vec<String>>>, Arc<std::sync::atomic::AtomicBool>);

impl Lines {
    pub fn collect(reader: impl std::io::Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                sink.0.lock().unwrap().push(line);
            }
            sink.1.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        lines
    }

    /// Everything written, once the writer closed its end (after the process exited, the
    /// reader may still be catching up). The bound only guards against a hang.
    pub fn complete(&self) -> String {
        for _ in 0..600 {
            if self.1.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.text()
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
        Service::start_on(env, "127.0.0.1:0", users, extra)
    }

    /// A service listening on `listen`; clients reach it through 127.0.0.1.
    pub fn start_on(env: &TestEnv, listen: &str, users: &[UserSpec<'_>], extra: &str) -> Service {
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
        Service::launch(env, config, data, listen, tokens)
    }

    /// One replica `name` of a service on a shared database: its own configuration file
    /// and data directory, the same users and tokens as its siblings.
    pub fn start_replica(
        env: &TestEnv,
        name: &str,
        users: &[UserSpec<'_>],
        tokens: &BTreeMap<String, String>,
        extra: &str,
    ) -> Service {
        let config = env.write(
            &format!("service-{name}/server.yaml"),
            &config_text(users, tokens, &format!("replica: {name}\n{extra}")),
        );
        let data = env.root().join(format!("service-{name}/data"));
        Service::launch(env, config, data, "127.0.0.1:0", tokens.clone())
    }

    /// Tokens for `users`, one each.
    pub fn tokens_for(users: &[UserSpec<'_>]) -> BTreeMap<String, String> {
        users
            .iter()
            .map(|(name, _, _)| {
                (
                    (*name).to_owned(),
                    format!("tok-{name}-{}", uuid::Uuid::new_v4()),
                )
            })
            .collect()
    }

    fn launch(
        env: &TestEnv,
        config: PathBuf,
        data: PathBuf,
        listen: &str,
        tokens: BTreeMap<String, String>,
    ) -> Service {
        Service::launch_with(env, config, data, listen, tokens, &[])
    }

    fn launch_with(
        env: &TestEnv,
        config: PathBuf,
        data: PathBuf,
        listen: &str,
        tokens: BTreeMap<String, String>,
        vars: &[(&str, &str)],
    ) -> Service {
        let mut child = env
            .gatekeep_std()
            .envs(vars.iter().copied())
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", listen, "--data"])
            .arg(&data)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let log = Lines::collect(child.stderr.take().unwrap());
        let url = served_url(&log);
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

    /// Stops the service and starts it again on the same address and data, with the
    /// environment variables `vars` added.
    pub fn restart_with(&mut self, env: &TestEnv, vars: &[(&str, &str)]) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let listen = self.url.trim_start_matches("http://").to_owned();
        let restarted = Service::launch_with(
            env,
            self.config.clone(),
            self.data.clone(),
            &listen,
            self.tokens.clone(),
            vars,
        );
        drop(std::mem::replace(self, restarted));
    }

    /// Rewrites the configuration file with `edit` and has the running service reload it
    /// (SIGHUP), waiting until it has.
    pub fn reconfigure(&self, edit: impl FnOnce(String) -> String) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, edit(text)).unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGHUP,
        )
        .unwrap();
        self.log.wait_for("identities reloaded");
    }

    /// Stops the service with SIGTERM (a graceful stop) and waits for it.
    pub fn stop(&mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        self.child.wait().unwrap();
    }

    /// Kills the service with SIGKILL, for good.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn token(&self, user: &str) -> &str {
        &self.tokens[user]
    }

    /// What `gatekeep ARGS` as `user` printed on stdout, read as JSON.
    pub fn json_of(&self, env: &TestEnv, user: &str, args: &[&str]) -> serde_json::Value {
        let output = self.as_user(env, user).args(args).output().unwrap();
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "gatekeep {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
    }

    /// A gatekeep command acting as `user` against this service.
    pub fn as_user(&self, env: &TestEnv, user: &str) -> std::process::Command {
        let mut cmd = env.gatekeep_std();
        cmd.env("GATEKEEP_SERVER", &self.url)
            .env("GATEKEEP_TOKEN", self.token(user));
        cmd
    }

    /// `gatekeep run --no-wait` of `argv` as `user` under `policy`: files the request and
    /// returns its id (exit 120, the id on stdout).
    pub fn file_no_wait(&self, env: &TestEnv, user: &str, policy: &str, argv: &[&str]) -> String {
        let output = self
            .as_user(env, user)
            .args(["run", "--no-wait", "--policy", policy, "--"])
            .args(argv)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(120),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    /// `gatekeep run` as `user`, in the background, with stderr collected; no terminal and
    /// nothing on stdin, as for a program calling it.
    pub fn run_in_background(
        &self,
        env: &TestEnv,
        user: &str,
        args: &[&str],
    ) -> (KillOnDrop, Lines) {
        self.run_in_background_at(env, &self.url, user, args)
    }

    /// The same, with the client pointed at `server` (a proxy, or a list of replicas)
    /// instead of this service.
    pub fn run_in_background_at(
        &self,
        env: &TestEnv,
        server: &str,
        user: &str,
        args: &[&str],
    ) -> (KillOnDrop, Lines) {
        let mut child = self
            .as_user(env, user)
            .env("GATEKEEP_SERVER", server)
            .arg("run")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Lines::collect(child.stderr.take().unwrap());
        (KillOnDrop(child), lines)
    }
}

/// The URL a starting `gatekeep serve` says it serves on (as clients reach it).
pub fn served_url(log: &Lines) -> String {
    let line = log.wait_for("serving on ");
    line.split("serving on ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .replace("0.0.0.0", "127.0.0.1")
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
    /// The service's public key, as `GET /v1/keys` gives it.
    pub fn public_key(&self) -> String {
        let keys: serde_json::Value = http()
            .get(format!("{}/v1/keys", self.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        keys["keys"][0]["public_key"].as_str().unwrap().to_owned()
    }

    /// The id of the one pending request `reviewer` sees, once there is one.
    pub fn pending_id(&self, reviewer: &str) -> String {
        for _ in 0..600 {
            let listed: serde_json::Value = http()
                .get(format!("{}/v1/requests", self.url))
                .bearer_auth(self.token(reviewer))
                .send()
                .unwrap()
                .json()
                .unwrap();
            if let Some(id) = listed["requests"][0]["id"].as_str() {
                return id.to_owned();
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no pending request appeared");
    }

    /// The request as the API shows it to `user`.
    pub fn view(&self, user: &str, id: &str) -> serde_json::Value {
        http()
            .get(format!("{}/v1/requests/{id}", self.url))
            .bearer_auth(self.token(user))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// The request's status, asked of the API as `user`.
    pub fn status(&self, user: &str, id: &str) -> String {
        self.view(user, id)["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// The request id a waiting `gatekeep run` announced.
pub fn request_id(lines: &Lines) -> String {
    lines.wait_for("approval required: request ");
    // The first line shows a short id; the review link carries the whole one.
    let line = lines.wait_for("review:    ");
    line.rsplit('/').next().unwrap().trim().to_owned()
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

/// One HTTP request a test endpoint received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

/// Requests an [`endpoint`] has received.
pub type Seen = Arc<Mutex<Vec<Received>>>;

/// A local HTTP endpoint standing in for a third-party service: it records every request
/// and answers 200 with `reply`. When `gated`, each answer waits for one message on the
/// returned sender (a barrier to prove callers do not wait for it).
pub fn endpoint(
    reply: &'static str,
    gated: bool,
) -> (String, Seen, Option<std::sync::mpsc::Sender<()>>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    let (release, gate) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() {
                    break;
                }
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    headers.push((name.trim().to_owned(), value.trim().to_owned()));
                }
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |h| h.1.parse().unwrap_or(0));
            let mut body = vec![0u8; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            sink.lock().unwrap().push(Received {
                path,
                headers,
                body,
            });
            if gated && gate.recv().is_err() {
                return;
            }
            let _ = stream.write_all(format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}", reply.len()).as_bytes());
        }
    });
    (base, seen, gated.then_some(release))
}

/// Waits until `path` was called `count` times; the bound only guards against a hang.
pub fn wait_for_calls(seen: &Seen, path: &str, count: usize) -> Vec<Received> {
    for _ in 0..600 {
        let found: Vec<Received> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect();
        if found.len() >= count {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{path} was not called {count} times: {:?}",
        seen.lock()
            .unwrap()
            .iter()
            .map(|r| r.path.clone())
            .collect::<Vec<_>>()
    );
}
