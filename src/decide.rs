//! Ties the pieces together for the commands that evaluate: find the policy sources, load
//! them, learn the caller's context, analyse a command and evaluate it.

use std::path::PathBuf;

use crate::environment::Environment;
use crate::exit::UserError;
use crate::paths::Paths;
use crate::policy::{Context, Evaluation, Policy, SourceSet};
use crate::shell::{self, Analysis, PathResolver, WRAPPERS};

/// Everything needed to decide about commands in this process.
pub struct Decider {
    pub sources: SourceSet,
    pub policy: Policy,
    pub context: Context,
    resolver: PathResolver,
}

impl Decider {
    /// Loads the policies in force (`explicit` replaces the user-level sources).
    pub fn new(
        env: &Environment,
        explicit: &[PathBuf],
        agent_flag: bool,
    ) -> Result<Decider, UserError> {
        let paths = Paths::from_env(env);
        let sources = SourceSet::discover(&paths, env, explicit)?;
        let policy = sources.load()?;
        let context = env.context(agent_flag);
        let mut watched = policy.program_names();
        watched.extend(WRAPPERS.iter().map(|s| (*s).to_owned()));
        let resolver = PathResolver::new(
            PathBuf::from(&context.cwd),
            env.get("PATH").map(str::to_owned),
            watched,
        );
        Ok(Decider {
            sources,
            policy,
            context,
            resolver,
        })
    }

    /// Analyses a program and its arguments as they will be executed.
    pub fn analyze_argv(&self, argv: &[String]) -> Analysis {
        shell::analyze_argv(argv, &self.resolver)
    }

    /// Analyses a shell command line.
    pub fn analyze_script(&self, script: &str) -> Analysis {
        shell::analyze_script(script, &self.resolver)
    }

    /// Evaluates an analysis against the loaded policy.
    pub fn evaluate(&self, analysis: &Analysis) -> Evaluation {
        self.policy.evaluate(analysis, &self.context)
    }
}
