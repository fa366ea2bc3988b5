//! Every environment variable gatekeep reads, in one place. `docs/config.md` lists the same
//! set, and a test keeps the two in step.

/// Colon-separated policy files or directories; replaces the user-level policy sources.
pub const GATEKEEP_POLICY: &str = "GATEKEEP_POLICY";
/// Path of the client configuration file.
pub const GATEKEEP_CONFIG: &str = "GATEKEEP_CONFIG";
/// Marks the caller as an AI agent (any value but empty or `0`).
pub const GATEKEEP_AGENT: &str = "GATEKEEP_AGENT";
/// Path of the audit log.
pub const GATEKEEP_LOG: &str = "GATEKEEP_LOG";
/// Base URL of the approval service.
pub const GATEKEEP_SERVER: &str = "GATEKEEP_SERVER";
/// Bearer token for the approval service.
pub const GATEKEEP_TOKEN: &str = "GATEKEEP_TOKEN";
/// The service's Ed25519 public key (hex), when not pinned by `gatekeep login`.
pub const GATEKEEP_SERVER_KEY: &str = "GATEKEEP_SERVER_KEY";
/// PEM file of extra CA certificates to trust for the approval service.
pub const GATEKEEP_CA_CERT: &str = "GATEKEEP_CA_CERT";
/// Default for `run --reason`.
pub const GATEKEEP_REASON: &str = "GATEKEEP_REASON";
/// When set to 1, tests rewrite committed generated files (completions, man pages).
pub const GATEKEEP_BLESS: &str = "GATEKEEP_BLESS";
/// Debug builds only: the administrator's policy directory, so tests need not touch `/etc`.
/// Release builds ignore it, so a user can never switch the administrator's policies off.
pub const GATEKEEP_TEST_ADMIN_POLICY_DIR: &str = "GATEKEEP_TEST_ADMIN_POLICY_DIR";
/// Log filter for diagnostics on stderr (`tracing` syntax, e.g. `gatekeep=debug`).
pub const RUST_LOG: &str = "RUST_LOG";
/// Disables colour when set to anything.
pub const NO_COLOR: &str = "NO_COLOR";
/// XDG base directories.
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
pub const XDG_DATA_HOME: &str = "XDG_DATA_HOME";
pub const HOME: &str = "HOME";

/// Variables set by AI coding agents, each of which marks the caller as an agent.
pub const AGENT_MARKERS: &[&str] = &[
    "CLAUDECODE",
    "CODEX_SANDBOX",
    "CODEX_SANDBOX_NETWORK_DISABLED",
    "GEMINI_CLI",
    "CURSOR_AGENT",
    "AIDER_MODEL",
];

/// Every variable above, for the documentation check.
pub const ALL: &[&str] = &[
    GATEKEEP_POLICY,
    GATEKEEP_CONFIG,
    GATEKEEP_AGENT,
    GATEKEEP_LOG,
    GATEKEEP_REASON,
    GATEKEEP_SERVER,
    GATEKEEP_TOKEN,
    GATEKEEP_SERVER_KEY,
    GATEKEEP_CA_CERT,
    GATEKEEP_BLESS,
    GATEKEEP_TEST_ADMIN_POLICY_DIR,
    RUST_LOG,
    NO_COLOR,
    XDG_CONFIG_HOME,
    XDG_STATE_HOME,
    XDG_DATA_HOME,
    HOME,
];
