//! Ties the pieces together for the commands that evaluate: find the policy sources, load
//! them, learn the caller's context, analyse a command and evaluate it.

use std::path::PathBuf;

use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;
use crate::policy::{Context, Evaluation, Policy, SourceSet};
use crate::shell::{self, Analysis, PathResolver};

/// The longest an analysis may take.
const ANALYSIS_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything needed to decide about commands in this process.
pub struct Decider {
    pub sources: SourceSet,
    pub policy: Policy,
    pub context: Context,
    resolver: PathResolver,
    /// Debug builds: every analysis overruns its limit (`GATEKEEP_TEST_SLOW_ANALYSIS`).
    stall_analysis: bool,
}

impl Decider {
    /// Loads the policies in force (`explicit` takes the place of the user's directory).
    pub fn new(
        env: &Environment,
        explicit: &[PathBuf],
        agent_flag: bool,
    ) -> Result<Decider, UserError> {
        Decider::with_context(env, explicit, env.context(agent_flag))
    }

    /// Loads the policies in force for commands that run in `context` (its `cwd` need not
    /// be this process's working directory).
    pub fn with_context(
        env: &Environment,
        explicit: &[PathBuf],
        context: Context,
    ) -> Result<Decider, UserError> {
        let paths = Paths::from_env(env);
        let sources =
            SourceSet::discover(&paths, env, explicit, std::path::Path::new(&context.cwd))?;
        let policy = sources.load_cached(&paths.cache_dir)?;
        let mut watched = policy.program_names();
        watched.extend(shell::runner_names().map(str::to_owned));
        let mut resolver = PathResolver::new(
            PathBuf::from(&context.cwd),
            env.get("PATH").map(str::to_owned),
            watched,
        );
        // The cache is the user's: not where an administrator's programs are looked up.
        if !sources.has_admin() {
            let settled = env
                .get(crate::env_vars::GATEKEEP_TEST_SETTLED_SECS)
                .filter(|_| cfg!(debug_assertions))
                .and_then(|s| s.parse().ok())
                .unwrap_or(2);
            resolver = resolver.with_cache(
                paths.cache_dir.clone(),
                std::time::Duration::from_secs(settled),
            );
        }
        Ok(Decider {
            sources,
            policy,
            context,
            resolver,
            stall_analysis: env
                .get(crate::env_vars::GATEKEEP_TEST_SLOW_ANALYSIS)
                .is_some(),
        })
    }

    /// Analyses a program and its arguments as they will be executed.
    pub fn analyze_argv(&self, argv: &[String]) -> Result<Analysis, UserError> {
        let argv = argv.to_vec();
        self.bounded(move |resolver| shell::analyze_argv(&argv, resolver))
    }

    /// Analyses a shell command line.
    pub fn analyze_script(&self, script: &str) -> Result<Analysis, UserError> {
        let script = script.to_owned();
        self.bounded(move |resolver| shell::analyze_script(&script, resolver))
    }

    /// Runs an analysis with a time limit. Analysis takes microseconds; one that takes
    /// seconds has met a pathological input (a parser backtracking), and waiting longer
    /// would let a hook time out, which an agent takes as "go ahead".
    fn bounded(
        &self,
        analyze: impl FnOnce(&PathResolver) -> Analysis + Send + 'static,
    ) -> Result<Analysis, UserError> {
        let resolver = self.resolver.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let stall = cfg!(debug_assertions) && self.stall_analysis;
        std::thread::spawn(move || {
            if stall {
                std::thread::sleep(ANALYSIS_LIMIT * 2);
            }
            let _ = tx.send(analyze(&resolver));
        });
        rx.recv_timeout(ANALYSIS_LIMIT).map_err(|error| {
            let message = match error {
                std::sync::mpsc::RecvTimeoutError::Timeout => format!(
                    "the command line takes too long to analyse (over {} s); nothing was run",
                    ANALYSIS_LIMIT.as_secs()
                ),
                std::sync::mpsc::RecvTimeoutError::Disconnected => {
                    "the analysis of the command line failed; nothing was run".to_owned()
                }
            };
            UserError::new(message)
                .hint("simplify the command, or run it from a script file the policy names")
                .kind("too_complex")
        })
    }

    /// What the caller should be told about the policies in force: one line each.
    pub fn warnings(&self) -> Vec<String> {
        self.policy
            .builtin_off()
            .map(|at| {
                format!("the built-in rule library is switched off by `builtin: false` at {at}")
            })
            .into_iter()
            .collect()
    }

    /// Evaluates an analysis against the loaded policy.
    pub fn evaluate(&self, analysis: &Analysis) -> Evaluation {
        self.policy.evaluate(analysis, &self.context)
    }

    /// Evaluates an agent's tool call: its tool rules, and the shell commands the call runs
    /// by the rules that say so (`command_from`), each analysed as a Bash command line; the
    /// strictest wins. A command that cannot be read or analysed in time is opaque.
    pub fn evaluate_tool(&self, tool: &str, input: &serde_json::Value) -> Evaluation {
        let analyses: Vec<Analysis> = self
            .policy
            .tool_commands(tool, input, &self.context)
            .into_iter()
            .map(|command| {
                match command.and_then(|line| self.analyze_script(&line).map_err(|e| e.message)) {
                    Ok(analysis) => analysis,
                    Err(why) => Analysis {
                        opaque: vec![why],
                        ..Analysis::default()
                    },
                }
            })
            .collect();
        self.policy
            .evaluate_tool_running(tool, input, &self.context, &analyses)
    }
}
