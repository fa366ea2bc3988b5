//! Policies: loading, validation and evaluation of rules against analysed commands.
//!
//! Matching does no IO: everything it needs is in the [`Policy`], the
//! [`shell::Analysis`](crate::shell::Analysis) and the [`Context`].

mod compile;
mod eval;
mod layers;
mod matcher;
mod pattern;
pub use pattern::{REGEX_SIZE_LIMIT, build_regex};
mod rules;
mod schema;
mod sources;
mod sql;
mod workflow;
pub use workflow::{DEFAULT_MAX_WINDOW, DEFAULT_REVIEW_WITHIN, EscalationStep, Windows, Workflow};

use serde::{Deserialize, Serialize};

pub use compile::{
    Approval, Policy, PolicyError, Problem, Rule, SecretSource, SecretUse, Summary, ToolCall,
    parse_duration,
};
pub use eval::{ApprovalRequirement, Context, DEFAULT_RULE, Evaluation, Hit, OPAQUE_RULE};
pub use layers::{Layer, close_ids};
pub use sources::{
    LayerSources, PROJECT_DIR, Source, SourceSet, embedded_sources, project_root, read_path,
};

/// What happens to a command. Ordered from least to most strict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Runs at once.
    Allow,
    /// Runs at once under supervision: every program it starts is judged before it runs
    /// (where supervision cannot start, this is `Approve`).
    Supervise,
    /// Runs after the required approvals.
    Approve,
    /// Never runs.
    Deny,
}

impl Decision {
    /// The lowercase name used in policies and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Supervise => "supervise",
            Decision::Approve => "approve",
            Decision::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
