//! The command-line interface: the clap definition, logging set-up, dispatch, and the one
//! place where errors are printed and turned into exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::env_vars;
use crate::environment::Environment;
use crate::exit::{Exit, UserError};
use crate::render;

/// Put a human approval in front of risky commands.
#[derive(Debug, Parser)]
#[command(name = "gatekeep", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to colour the output: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t, global = true)]
    pub color: crate::term::ColorWhen,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate a command against the policies without running it.
    #[command(after_help = crate::manual::help("check"))]
    Check(commands::check::Args),
    /// Inspect, validate and test policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run a command if the policy allows it, recording every step in the audit log.
    #[command(after_help = crate::manual::help("run"))]
    Run(commands::run::Args),
    /// Run the approval service.
    Serve(commands::serve::Args),
    /// Wait for a request to be decided.
    Wait(commands::wait::Args),
    /// List the pending requests you may review.
    Requests(commands::requests::Args),
    /// Approve a request.
    Approve(commands::approve::Args),
    /// Reject a request.
    Reject(commands::approve::Args),
    /// The evidence pack of a period for auditors (HTML, JSON or CSV), or `report verify`.
    Report(commands::report::Args),
    /// Revoke the window an approval opened.
    Revoke(commands::revoke::Args),
    /// Close the review of a break-glass run: it was a fair use.
    Acknowledge(commands::after_review::Args),
    /// Close the review of a break-glass run: it needs a follow-up.
    Flag(commands::after_review::Args),
    /// Review pending requests interactively.
    Review(commands::review::Args),
    /// Store a token for the approval service and pin its key.
    Login(commands::login::Args),
    /// Forget a stored login (token and pinned key), or every one with --all.
    Logout(commands::login::LogoutArgs),
    /// Show the service, the identity it knows you as, the token's source and the pinned key.
    Whoami(commands::whoami::Args),
    /// Check the service, its key, the policies, the audit log and supervision.
    Status(commands::status::Args),
    /// The development server (`serve --dev`).
    #[command(subcommand)]
    Dev(DevCommand),
    /// Store, list and remove the secrets this host releases to commands.
    #[command(subcommand)]
    Secret(commands::secret::Command),
    /// Manage service tokens.
    Token(commands::token::Args),
    /// Write a new signing key for the approval service (shared by its replicas).
    Keygen(commands::keygen::Args),
    /// Read, verify and rotate the audit log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Answer an AI agent's tool-call hook (JSON on stdin and stdout; always exits 0).
    Hook(commands::hook::Args),
    /// Run an agent's command as its shell prefix would: judged, then run supervised.
    ShellPrefix(commands::shell_prefix::Args),
    /// Put the gateway between an agent and an MCP server; trust changed tool definitions.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Print a shell completion script.
    Completions(commands::completions::Args),
}

/// `gatekeep policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files; problems are printed as FILE:LINE:COL: message.
    Lint(commands::policy_lint::Args),
    /// Run every rule's example commands through the full engine.
    Test(commands::policy_test::Args),
    /// Show the policy layers in force, their files and rule counts (--rules: every rule).
    List(commands::policy_list::Args),
    /// Print one rule in force as written, with its file, line and layer.
    Show(commands::policy_show::Args),
    /// Write a commented starter policy file that adds to the built-in library.
    Init(commands::policy_init::Args),
}

/// `gatekeep dev …`
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Print the running development server's `export` lines again.
    Credentials(commands::dev_credentials::Args),
}

/// `gatekeep mcp …`
#[derive(Debug, Subcommand)]
pub enum McpCommand {
    /// Run an MCP server over stdio, gating its tool calls by policy and approval.
    Proxy(commands::mcp_proxy::Args),
    /// Ask the approval service to trust a tool definition the proxy holds back.
    Trust(commands::mcp_trust::Args),
}

/// `gatekeep log …`
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Check the hash chain of every segment; exit 0 intact, 1 broken, 125 unreadable.
    Verify(commands::log_verify::Args),
    /// Show recent records, one line each; -f follows new ones.
    Tail(commands::log_tail::Args),
    /// Show every record of one run.
    Show(commands::log_show::Args),
    /// Close the current segment and start a new file (then apply `retention:`).
    Rotate(commands::log_rotate::Args),
    /// Compress and remove old closed segments as `retention:` says; removals are recorded.
    Prune(commands::log_prune::Args),
    /// Send the log's head to the approval service as a witness.
    Witness(commands::log_witness::Args),
    /// Write every record for a SIEM (jsonl, OCSF or ECS); -f follows new ones.
    Export(commands::log_export::Args),
}

/// Audit log selection shared by the `log` commands.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// Audit log path (default: GATEKEEP_LOG, the configuration, then the XDG state dir).
    #[arg(long = "log", value_name = "PATH")]
    pub log: Option<PathBuf>,
}

impl LogArgs {
    /// The log path in force.
    pub fn resolve(&self, env: &Environment) -> Result<PathBuf, UserError> {
        let paths = crate::paths::Paths::from_env(env);
        let config = crate::config::Config::load(&paths.config_file)?;
        Ok(paths.audit_log(self.log.as_deref(), env, config.log.as_deref()))
    }
}

/// Policy selection shared by the commands that evaluate.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// Policy file or directory of *.yaml; repeatable. Takes the place of the user's policy
    /// directory (the built-in library, the administrator's and the project's still apply).
    #[arg(long = "policy", value_name = "PATH")]
    pub policies: Vec<PathBuf>,
}

/// Parses this process's command line. The commands on the allow path (`run`, `hook`,
/// `shell-prefix`) are parsed by a parser of that one subcommand: building every
/// subcommand's arguments costs a good part of the time `gatekeep run` may add to a
/// command. The same definitions make both parsers; anything else, and every error, help
/// or version request, takes the full parser and its messages.
fn parse() -> Result<Cli, clap::Error> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(cli) = parse_hot(&args) {
        return Ok(cli);
    }
    Cli::try_parse_from(args)
}

fn parse_hot(args: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::{Args as _, FromArgMatches as _};
    let name = args.get(1)?.to_str()?;
    let subcommand = clap::Command::new(name.to_owned());
    let subcommand = match name {
        "run" => commands::run::Args::augment_args(subcommand),
        "hook" => commands::hook::Args::augment_args(subcommand),
        "shell-prefix" => commands::shell_prefix::Args::augment_args(subcommand),
        _ => return None,
    };
    let matches = clap::Command::new("gatekeep")
        .arg(
            clap::Arg::new("verbose")
                .short('v')
                .long("verbose")
                .action(clap::ArgAction::Count)
                .global(true),
        )
        .arg(
            clap::Arg::new("color")
                .long("color")
                .value_parser(clap::builder::EnumValueParser::<crate::term::ColorWhen>::new())
                .global(true),
        )
        .subcommand(subcommand)
        .subcommand_required(true)
        .try_get_matches_from(args)
        .ok()?;
    Some(Cli {
        verbose: matches.get_count("verbose"),
        color: matches
            .get_one::<crate::term::ColorWhen>("color")
            .copied()
            .unwrap_or_default(),
        command: Command::from_arg_matches(&matches).ok()?,
    })
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(error) => {
            // A hook that cannot even parse its arguments must still say no.
            let words: Vec<String> = std::env::args()
                .skip(1)
                .skip_while(|w| w.starts_with('-'))
                .take(2)
                .collect();
            if words.first().map(String::as_str) == Some("hook") && error.use_stderr() {
                commands::hook::usage_error(words.get(1).map(String::as_str), &error.to_string());
                return Exit::Success.into();
            }
            let _ = error.print();
            return if error.use_stderr() {
                Exit::Error.into()
            } else {
                Exit::Success.into()
            };
        }
    };
    let env = Environment::from_process();
    crate::term::init_color(cli.color, &env);
    init_tracing(cli.verbose, &env);
    // Panics inside an analysis are caught and make the command opaque: say nothing of them
    // (in JSON mode a message would break the event stream).
    let report_panic = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::shell::analysing() {
            report_panic(info);
        }
    }));
    match run(cli, &env) {
        Ok(exit) => exit.into(),
        Err(error) => report(&error).into(),
    }
}

fn run(cli: Cli, env: &Environment) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Check(args) => commands::check::run(args, env),
        Command::Policy(PolicyCommand::Lint(args)) => commands::policy_lint::run(args, env),
        Command::Policy(PolicyCommand::Test(args)) => commands::policy_test::run(args, env),
        Command::Policy(PolicyCommand::List(args)) => commands::policy_list::run(args, env),
        Command::Policy(PolicyCommand::Show(args)) => commands::policy_show::run(args, env),
        Command::Policy(PolicyCommand::Init(args)) => commands::policy_init::run(args, env),
        Command::Run(args) => commands::run::run(args, env),
        Command::Serve(args) => commands::serve::run(args, env),
        Command::Token(args) => commands::token::run(args),
        Command::Keygen(args) => commands::keygen::run(args),
        Command::Secret(command) => commands::secret::run(command, env),
        Command::Wait(args) => commands::wait::run(args, env),
        Command::Requests(args) => commands::requests::run(args, env),
        Command::Approve(args) => {
            commands::approve::run(args, env, crate::approval::Verdict::Approve)
        }
        Command::Revoke(args) => commands::revoke::run(args, env),
        Command::Report(args) => commands::report::run(args, env),
        Command::Acknowledge(args) => {
            commands::after_review::run(args, env, crate::approval::Finding::Acknowledge)
        }
        Command::Flag(args) => {
            commands::after_review::run(args, env, crate::approval::Finding::Flag)
        }
        Command::Reject(args) => {
            commands::approve::run(args, env, crate::approval::Verdict::Reject)
        }
        Command::Review(args) => commands::review::run(args, env),
        Command::Login(args) => commands::login::run(args, env),
        Command::Logout(args) => commands::login::logout(args, env),
        Command::Whoami(args) => commands::whoami::run(args, env),
        Command::Status(args) => commands::status::run(args, env),
        Command::Dev(DevCommand::Credentials(args)) => commands::dev_credentials::run(args, env),
        Command::Log(LogCommand::Verify(args)) => commands::log_verify::run(args, env),
        Command::Log(LogCommand::Tail(args)) => commands::log_tail::run(args, env),
        Command::Log(LogCommand::Show(args)) => commands::log_show::run(args, env),
        Command::Log(LogCommand::Rotate(args)) => commands::log_rotate::run(args, env),
        Command::Log(LogCommand::Prune(args)) => commands::log_prune::run(args, env),
        Command::Log(LogCommand::Witness(args)) => commands::log_witness::run(args, env),
        Command::Log(LogCommand::Export(args)) => commands::log_export::run(args, env),
        Command::Hook(args) => commands::hook::run(args, env),
        Command::ShellPrefix(args) => commands::shell_prefix::run(args, env),
        Command::Mcp(McpCommand::Proxy(args)) => commands::mcp_proxy::run(args, env),
        Command::Mcp(McpCommand::Trust(args)) => commands::mcp_trust::run(args, env),
        Command::Completions(args) => commands::completions::run(args),
    }
}

/// Prints an error for people and picks the exit code.
fn report(error: &anyhow::Error) -> Exit {
    // A reader that went away (`gatekeep log tail | head`) is not an error.
    let broken_pipe = error
        .chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return Exit::Success;
    }
    let mut stderr = anstream::stderr();
    use std::io::Write as _;
    let (red, hint_style) = (crate::term::ERROR, crate::term::HINT);
    // Messages quote commands and text from elsewhere: nothing in them reaches the terminal
    // as a control.
    if let Some(user) = error.downcast_ref::<UserError>() {
        let _ = writeln!(
            stderr,
            "gatekeep: {red}error{red:#}: {}",
            render::inert(&user.message)
        );
        if let Some(hint) = &user.hint {
            let _ = writeln!(
                stderr,
                "  {hint_style}hint:{hint_style:#} {}",
                render::inert(hint)
            );
        }
        return user.exit;
    }
    let _ = writeln!(
        stderr,
        "gatekeep: {red}error{red:#}: {}",
        render::inert(&format!("{error:#}"))
    );
    Exit::Error
}

fn init_tracing(verbose: u8, env: &Environment) {
    use tracing_subscriber::filter::LevelFilter;
    let ansi = crate::term::stderr_colored();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time();
    // A plain level filter unless RUST_LOG asks for more: building an EnvFilter compiles
    // regular expressions, which the allow path should not pay for.
    let result = match env
        .get(env_vars::RUST_LOG)
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
    {
        Some(filter) => builder
            .with_env_filter(filter)
            .try_init()
            .map_err(|e| e.to_string()),
        None => {
            let level = match verbose {
                0 => LevelFilter::WARN,
                1 => LevelFilter::INFO,
                2 => LevelFilter::DEBUG,
                _ => LevelFilter::TRACE,
            };
            // The certificate verifier logs its refusal as an error of its own; the
            // client's error names the certificate problem already, on one line.
            let targets = tracing_subscriber::filter::Targets::new()
                .with_default(level)
                .with_target(
                    "rustls_platform_verifier",
                    if verbose >= 2 {
                        level
                    } else {
                        LevelFilter::OFF
                    },
                );
            use tracing_subscriber::layer::SubscriberExt as _;
            use tracing_subscriber::util::SubscriberInitExt as _;
            builder
                .with_max_level(level)
                .finish()
                .with(targets)
                .try_init()
                .map_err(|e| e.to_string())
        }
    };
    let _ = result;
}

/// Generated files: completions for every shell and man pages from the clap definition,
/// and docs/programs.md from the program table.
/// Paths are relative to the repository root.
pub fn generated_files() -> Vec<(PathBuf, Vec<u8>)> {
    use clap_complete::{Generator as _, Shell};
    let mut files = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut out = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "gatekeep", &mut out);
        let name = shell.file_name("gatekeep");
        files.push((PathBuf::from("completions").join(name), out));
    }
    let mut command = Cli::command();
    command.build();
    man_pages(&command, "gatekeep", &mut files);
    files.push((
        PathBuf::from("docs/programs.md"),
        crate::shell::programs_markdown().into_bytes(),
    ));
    files
}

fn man_pages(command: &clap::Command, name: &str, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    let page = command.clone().name(name.to_owned());
    let man = clap_mangen::Man::new(page);
    let mut out = Vec::new();
    let mut render = || -> std::io::Result<()> {
        man.render_title(&mut out)?;
        man.render_name_section(&mut out)?;
        man.render_synopsis_section(&mut out)?;
        man.render_description_section(&mut out)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut out)?;
        }
        if command.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut out)?;
        }
        // Examples, exit status, environment and files from their one source (the
        // examples `--help` shows after the options among them).
        let path = name.strip_prefix("gatekeep").unwrap_or(name);
        out.extend_from_slice(crate::manual::man_sections(path.trim_start_matches('-')).as_bytes());
        if command.get_version().is_some() {
            man.render_version_section(&mut out)?;
        }
        Ok(())
    };
    render().expect("rendering to memory cannot fail");
    files.push((PathBuf::from("man").join(format!("{name}.1")), out));
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        man_pages(sub, &format!("{name}-{}", sub.get_name()), files);
    }
}
