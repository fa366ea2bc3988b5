//! `gatekeep serve`: run the approval service.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::client::DevServer;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::paths::Paths;
use crate::server::{self, AppState, Identities, Limits, ServerConfig, Setup, User};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Service configuration file (YAML).
    #[arg(long, value_name = "PATH", conflicts_with = "dev")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8787; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Data directory (database, signing key, audit log).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Development mode: throw-away data, two generated users, loopback only.
    #[arg(long)]
    pub dev: bool,
    /// Make the configured signing key the database's key from now on (after a
    /// deliberate key change; grants signed with the old key stop verifying).
    #[arg(long, conflicts_with = "dev")]
    pub rotate_key: bool,
}

fn random_token() -> Result<String, UserError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| UserError::new(format!("no randomness: {e}")))?;
    Ok(format!("gk_{}", hex::encode(bytes)))
}

pub fn run(args: Args, env: &Environment) -> anyhow::Result<Exit> {
    let paths = Paths::from_env(env);
    let (config, config_path) = match &args.config {
        Some(path) => (ServerConfig::load(path)?, Some(path.clone())),
        None => (ServerConfig::default(), None),
    };
    let limits: Limits = config.limits().map_err(UserError::new)?;
    let mut listen = args
        .listen
        .or(config.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787)));
    let mut users = config.users.clone();
    let mut dev_tokens = None;
    let data_dir = if args.dev {
        if args.listen.is_none() {
            listen = SocketAddr::from(([127, 0, 0, 1], 0));
        }
        if !listen.ip().is_loopback() {
            return Err(UserError::new("--dev listens on loopback addresses only").into());
        }
        let requester = random_token()?;
        let reviewer = random_token()?;
        users = vec![
            User {
                name: "dev-requester".into(),
                token_sha256: server::token_sha256(&requester),
                groups: vec![],
                can_review: true,
                agent: false,
                auditor: false,
                slack_id: None,
                email: None,
            },
            User {
                name: "dev-reviewer".into(),
                token_sha256: server::token_sha256(&reviewer),
                groups: vec!["reviewers".into(), "*".into()],
                can_review: true,
                agent: false,
                auditor: false,
                slack_id: None,
                email: None,
            },
        ];
        dev_tokens = Some((requester, reviewer));
        args.data.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("gatekeep-dev-{}", uuid::Uuid::new_v4()))
        })
    } else {
        args.data
            .clone()
            .or(config.data_dir.clone())
            .unwrap_or_else(|| paths.data_dir.join("server"))
    };
    if users.is_empty() {
        crate::term::warn("no users are configured; every API call will be refused");
    }
    let tls = config.tls.as_ref().map(server::tls_acceptor).transpose()?;
    let secrets = config.load_secrets(|var| env.get(var).map(str::to_owned))?;
    // A service whose own policy is broken does not start: it would set no bar at all.
    let policy = config.load_policy()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| UserError::new(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            UserError::new(format!("cannot listen on {listen}: {e}"))
                .hint("pick another address with --listen")
        })?;
        let local = listener.local_addr()?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{local}"));
        let database = env
            .get(crate::env_vars::GATEKEEP_DATABASE_URL)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or(config.database.clone())
            .map(|d| server::Database::parse(&d))
            .transpose()
            .map_err(|e| {
                UserError::new(e).hint("database: takes a postgres:// URL or a SQLite file path")
            })?;
        if args.rotate_key {
            rotate_key(&database, config.signing_key.as_deref(), &data_dir).await?;
        }
        let state = AppState::open(Setup {
            data_dir: data_dir.clone(),
            database,
            signing_key: config.signing_key.clone(),
            replica: config.replica.clone(),
            users,
            limits,
            public_url: Some(url.clone()),
            tls: tls.is_some(),
            secrets,
            policy,
        })
        .await?;
        record_start(&state).await?;
        state.start(
            config.webhooks.clone(),
            config.slack.clone(),
            config.teams.clone(),
        );
        let mut dev_file = None;
        if let Some((requester, reviewer)) = &dev_tokens {
            let dev = DevServer {
                url: url.clone(),
                requester_token: requester.clone(),
                reviewer_token: reviewer.clone(),
                public_key: state.key.public_hex(),
            };
            dev_file =
                Some(dev.write(&paths).map_err(|e| {
                    UserError::new(format!("cannot write the dev server file: {e}"))
                })?);
            let mut out = std::io::stdout();
            writeln!(
                out,
                "# gatekeep development server: data in {} (throw-away)",
                data_dir.display()
            )?;
            writeln!(
                out,
                "# {}; `gatekeep dev credentials` prints these lines again",
                super::dev_credentials::NOT_A_BOUNDARY
            )?;
            super::dev_credentials::exports(&mut out, &dev)?;
            out.flush()?;
        }
        // SIGHUP is caught before the service says it is up: a reload sent as soon as it
        // is must not kill it (the default action).
        let catch = |kind: tokio::signal::unix::SignalKind| {
            tokio::signal::unix::signal(kind)
                .map_err(|e| UserError::new(format!("cannot catch signals: {e}")))
        };
        let mut hangups = catch(tokio::signal::unix::SignalKind::hangup())?;
        let mut term = catch(tokio::signal::unix::SignalKind::terminate())?;
        let mut interrupt = catch(tokio::signal::unix::SignalKind::interrupt())?;
        eprintln!(
            "gatekeep: serving on {scheme}://{local} (key {}, {} database, replica {})",
            &state.key.key_id()[..16],
            state.store.kind(),
            state.replica
        );
        let reload_state = Arc::clone(&state);
        let reload_env = env.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                // What the reload changed, and what it kept, for the audit record.
                let mut record = serde_json::Map::new();
                match config_path.as_deref().map(ServerConfig::load) {
                    Some(Ok(fresh)) => {
                        match fresh.load_secrets(|var| reload_env.get(var).map(str::to_owned)) {
                            Ok(secrets) => {
                                record.insert(
                                    "secrets".into(),
                                    serde_json::json!(secrets.keys().collect::<Vec<_>>()),
                                );
                                reload_state.replace_secrets(secrets);
                            }
                            Err(error) => {
                                eprintln!(
                                    "gatekeep: secrets not reloaded, keeping the current ones: {error}"
                                );
                                record.insert("secrets_error".into(), error.to_string().into());
                            }
                        }
                        // A broken policy leaves the one in force: never no bar at all.
                        match fresh.load_policy() {
                            Ok(policy) => {
                                if policy.is_some() {
                                    eprintln!("gatekeep: policies reloaded");
                                }
                                record.insert(
                                    "policy".into(),
                                    serde_json::json!(policy.as_ref().map(|p| p.digest())),
                                );
                                reload_state.replace_policy(policy);
                            }
                            Err(error) => {
                                eprintln!(
                                    "gatekeep: policies not reloaded, keeping the ones in force: {error}"
                                );
                                record.insert("policy_error".into(), error.to_string().into());
                            }
                        }
                        let names: Vec<String> = fresh.users.iter().map(|u| u.name.clone()).collect();
                        record.insert("users".into(), serde_json::json!(names));
                        reload_state.replace_identities(Identities::new(fresh.users));
                        eprintln!("gatekeep: identities reloaded");
                        reload_state
                            .record_or_log("config_reloaded", serde_json::Value::Object(record))
                            .await;
                    }
                    Some(Err(error)) => {
                        eprintln!(
                            "gatekeep: reload failed, keeping the current identities: {error}"
                        );
                        reload_state
                            .record_or_log(
                                "config_reload_failed",
                                serde_json::json!({"error": error.to_string()}),
                            )
                            .await;
                    }
                    None => eprintln!("gatekeep: no configuration file to reload"),
                }
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        };
        let kept = Arc::clone(&state);
        server::serve(listener, state, tls, shutdown).await?;
        // The chain's head as this replica leaves it, for its next start to check.
        server::chain_head::remember(&kept).await;
        if let Some(file) = dev_file {
            let _ = std::fs::remove_file(file);
            // Only a directory this process made up is thrown away, never one given with --data.
            if args.data.is_none() {
                let _ = std::fs::remove_dir_all(&data_dir);
            }
        }
        eprintln!("gatekeep: stopped");
        Ok::<_, anyhow::Error>(Exit::Success)
    })
}

/// Records the start in the service's audit chain, with what this replica serves under and
/// the head of its own log file (where a version that kept records only there left
/// them). A chain that cannot take it (its records removed by hand) stops the service
/// here rather than at the first request.
async fn record_start(state: &AppState) -> anyhow::Result<()> {
    // The chain must still be the one this replica last saw.
    server::chain_head::check(state).await.map_err(|why| {
        UserError::new(why).hint(
            "restore the database from a backup; if it was replaced on purpose, remove the file named",
        )
    })?;
    let users: Vec<String> = state.identities().users().map(|u| u.name.clone()).collect();
    let local_log = state.audit.last().map(|head| {
        serde_json::json!({"path": state.audit.path(), "chain_id": state.audit.chain_id(),
                           "head_seq": head.seq, "hash": head.hash})
    });
    let fields = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "key_id": state.key.key_id(),
        "store": state.store.kind(),
        "users": users,
        "policy": state.policy().map(|p| p.digest().to_owned()),
        "retention": state.limits.retention.map(|r| {
            serde_json::json!({"keep_days": r.keep_days, "min_days": r.min_days})
        }),
        "local_log": local_log,
    });
    state.record("service_started", fields).await.map_err(|e| {
        UserError::new(format!(
            "cannot record the start in the service's audit records: {e}"
        ))
    })?;
    server::chain_head::remember(state).await;
    Ok(())
}

/// `serve --rotate-key`: records the configured key as the database's signing key.
async fn rotate_key(
    database: &Option<server::Database>,
    signing_key: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let path = signing_key
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| data_dir.join("signing.key"));
    let key = server::read_key(&path).map_err(|e| {
        UserError::new(format!(
            "cannot read the signing key {}: {e}",
            path.display()
        ))
    })?;
    let database = database
        .clone()
        .unwrap_or_else(|| server::Database::Sqlite(data_dir.join("gatekeep.db")));
    let store = server::store::open(&database).await.map_err(|e| {
        UserError::new(format!(
            "cannot open the database {}: {e}",
            database.display()
        ))
    })?;
    // The new key and its record, in one transaction: both or neither.
    store
        .rotate_signing_key(&key.key_id())
        .await
        .map_err(|e| UserError::new(format!("cannot record the new key: {e}")))?;
    eprintln!(
        "gatekeep: the database's signing key is now {} ({}); restart every replica with this key",
        &key.key_id()[..16],
        path.display()
    );
    Ok(())
}
