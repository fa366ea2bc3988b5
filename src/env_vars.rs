//! Every environment variable gatekeep reads, in one place. `docs/config.md` lists the same
//! set, and a test keeps the two in step.

/// Colon-separated policy files or directories; replaces the user-level policy sources.
pub const GATEKEEP_POLICY: &str = "GATEKEEP_POLICY";
/// Path of the client configuration file.
pub const GATEKEEP_CONFIG: &str = "GATEKEEP_CONFIG";
/// Marks the caller as an AI agent (any value but empty or `0`).
pub const GATEKEEP_AGENT: &str = "GATEKEEP_AGENT";
/// The agent's session id for `run` (default: the agent's own variable, see
/// [`AGENT_SESSION_VARS`]).
pub const GATEKEEP_AGENT_SESSION: &str = "GATEKEEP_AGENT_SESSION";
/// When set to 1 (or `true`), `run` writes JSON Lines events instead of messages.
pub const GATEKEEP_JSON: &str = "GATEKEEP_JSON";
/// Where `gatekeep secret set` keeps values: `auto` (the OS keyring, else a 0600 file),
/// `keyring` or `file`.
pub const GATEKEEP_SECRET_STORE: &str = "GATEKEEP_SECRET_STORE";
/// Path of the audit log.
pub const GATEKEEP_LOG: &str = "GATEKEEP_LOG";
/// Base URL of the approval service.
pub const GATEKEEP_SERVER: &str = "GATEKEEP_SERVER";
/// Bearer token for the approval service.
pub const GATEKEEP_TOKEN: &str = "GATEKEEP_TOKEN";
/// Which of several logins for the configured service to use (an identity's name), instead
/// of the one `gatekeep login` marked in use.
pub const GATEKEEP_IDENTITY: &str = "GATEKEEP_IDENTITY";
/// The service's Ed25519 public key (hex), when not pinned by `gatekeep login`.
pub const GATEKEEP_SERVER_KEY: &str = "GATEKEEP_SERVER_KEY";
/// PEM file of extra CA certificates to trust for the approval service.
pub const GATEKEEP_CA_CERT: &str = "GATEKEEP_CA_CERT";
/// The approval service's database (a SQLite path or a `postgres://` URL); overrides
/// `database:` in its configuration.
pub const GATEKEEP_DATABASE_URL: &str = "GATEKEEP_DATABASE_URL";
/// Default for `run --reason`.
pub const GATEKEEP_REASON: &str = "GATEKEEP_REASON";
/// Set by a supervising `gatekeep run` for its tree: the name of its socket, by which a
/// `gatekeep run` inside the tree recognises it (see `supervise::Mark`).
pub const GATEKEEP_SUPERVISOR: &str = "GATEKEEP_SUPERVISOR";
/// When set to 1, tests rewrite committed generated files (completions, man pages).
pub const GATEKEEP_BLESS: &str = "GATEKEEP_BLESS";
/// Debug builds only: the administrator's policy directory, so tests need not touch `/etc`.
/// Release builds ignore it, so a user can never switch the administrator's policies off.
pub const GATEKEEP_TEST_ADMIN_POLICY_DIR: &str = "GATEKEEP_TEST_ADMIN_POLICY_DIR";
/// Debug builds only: makes `gatekeep hook` panic, to test that a panic still answers
/// `deny`. Release builds ignore it.
pub const GATEKEEP_TEST_PANIC: &str = "GATEKEEP_TEST_PANIC";
/// Debug builds only: makes `gatekeep hook` stall before deciding, to test that it still
/// answers `deny` by its deadline. Release builds ignore it.
pub const GATEKEEP_TEST_STALL: &str = "GATEKEEP_TEST_STALL";
/// Debug builds only: every command analysis overruns its time limit, to test that this
/// refuses the command. Release builds ignore it.
pub const GATEKEEP_TEST_SLOW_ANALYSIS: &str = "GATEKEEP_TEST_SLOW_ANALYSIS";
/// Debug builds only: the path of a FIFO at which `run` pauses between hashing an approved
/// program and executing it (it writes a line, then reads until the test writes back), so
/// tests can swap files at exactly that moment. Release builds ignore it.
pub const GATEKEEP_TEST_EXEC_PAUSE: &str = "GATEKEEP_TEST_EXEC_PAUSE";
/// Debug builds only: how many seconds the PATH directories must have been unchanged for
/// their index of hard links to be cached (2 otherwise), so tests can see the cache used.
/// Release builds ignore it.
pub const GATEKEEP_TEST_SETTLED_SECS: &str = "GATEKEEP_TEST_SETTLED_SECS";
/// Debug builds only: the time (RFC 3339) audit records are stamped with and log retention
/// measures ages from, so tests can build a log of several ages. Release builds ignore it.
pub const GATEKEEP_TEST_NOW: &str = "GATEKEEP_TEST_NOW";
/// Log filter for diagnostics on stderr (`tracing` syntax, e.g. `gatekeep=debug`).
pub const RUST_LOG: &str = "RUST_LOG";
/// Disables colour when set and not empty (an explicit `--color always` still colours).
pub const NO_COLOR: &str = "NO_COLOR";
/// The terminal's width in columns, for lists when the terminal does not say.
pub const COLUMNS: &str = "COLUMNS";
/// Base of the configuration and policy directory (default `~/.config`).
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Base of the audit log's directory (default `~/.local/state`).
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// Base of the data directory (default `~/.local/share`).
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
/// Base of the compiled-policy cache (default `~/.cache`).
pub const XDG_CACHE_HOME: &str = "XDG_CACHE_HOME";
/// The home directory, the base of the XDG defaults.
pub const HOME: &str = "HOME";

/// Variables set by AI coding agents, each of which marks the caller as an agent.
pub const AGENT_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CODEX_SANDBOX",
    "CODEX_SANDBOX_NETWORK_DISABLED",
    "GEMINI_CLI",
    "CURSOR_AGENT",
    "AIDER_MODEL",
    "CODEX_THREAD_ID",
    "CLAUDE_CODE_SESSION_ID",
];

/// Variables in which agents expose their session id to the commands they run.
pub const AGENT_SESSION_VARS: &[&str] = &["CLAUDE_CODE_SESSION_ID", "CODEX_THREAD_ID"];

/// Every variable above, for the documentation check.
pub const ALL: &[&str] = &[
    GATEKEEP_POLICY,
    GATEKEEP_CONFIG,
    GATEKEEP_AGENT,
    GATEKEEP_AGENT_SESSION,
    GATEKEEP_JSON,
    GATEKEEP_SECRET_STORE,
    GATEKEEP_LOG,
    GATEKEEP_REASON,
    GATEKEEP_SUPERVISOR,
    GATEKEEP_SERVER,
    GATEKEEP_TOKEN,
    GATEKEEP_IDENTITY,
    GATEKEEP_SERVER_KEY,
    GATEKEEP_CA_CERT,
    GATEKEEP_DATABASE_URL,
    GATEKEEP_BLESS,
    GATEKEEP_TEST_ADMIN_POLICY_DIR,
    GATEKEEP_TEST_PANIC,
    GATEKEEP_TEST_STALL,
    GATEKEEP_TEST_SLOW_ANALYSIS,
    GATEKEEP_TEST_EXEC_PAUSE,
    GATEKEEP_TEST_SETTLED_SECS,
    GATEKEEP_TEST_NOW,
    RUST_LOG,
    NO_COLOR,
    COLUMNS,
    XDG_CONFIG_HOME,
    XDG_STATE_HOME,
    XDG_DATA_HOME,
    XDG_CACHE_HOME,
    HOME,
];
