//! What a rule says about approvals beyond one command: how long a reviewer may open a
//! window for (`max_window:`), who may use one (`windows:`), whom to bring in when nobody
//! answers (`escalate:`), and whether a person may run first and be reviewed afterwards
//! (`break_glass:`, `review_within:`). The same settings travel with each approval
//! requirement to the service, which enforces them.

use serde::{Deserialize, Serialize};

/// The longest window a rule allows when it does not say: one hour.
pub const DEFAULT_MAX_WINDOW: u64 = 60 * 60;
/// How long approvers have to review a break-glass run when the rule does not say.
pub const DEFAULT_REVIEW_WITHIN: u64 = 24 * 60 * 60;

/// Who may run commands under a window opened by an approval of this rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Windows {
    /// Nobody: every command is approved on its own.
    Never,
    /// People only: an agent's request never gets a window.
    #[default]
    Humans,
    /// People and agents (an agent's window serves agents only).
    All,
}

impl Windows {
    pub fn as_str(self) -> &'static str {
        match self {
            Windows::Never => "never",
            Windows::Humans => "humans",
            Windows::All => "all",
        }
    }

    fn is_default(&self) -> bool {
        *self == Windows::default()
    }
}

/// One step of escalation: when a request has waited `after_seconds`, tell `notify`,
/// and let `add_approvers` approve too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationStep {
    pub after_seconds: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_approvers: Vec<String>,
}

/// A rule's workflow settings. Every field left at its default is left out of JSON, so a
/// requirement without any reads as it always did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// The longest window a reviewer may open (seconds); [`DEFAULT_MAX_WINDOW`] if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_window_seconds: Option<u64>,
    #[serde(default, skip_serializing_if = "Windows::is_default")]
    pub windows: Windows,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate: Vec<EscalationStep>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// How long approvers have to review a break-glass run (seconds);
    /// [`DEFAULT_REVIEW_WITHIN`] if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_within_seconds: Option<u64>,
}

impl Workflow {
    pub fn max_window(&self) -> u64 {
        self.max_window_seconds.unwrap_or(DEFAULT_MAX_WINDOW)
    }

    pub fn review_within(&self) -> u64 {
        self.review_within_seconds.unwrap_or(DEFAULT_REVIEW_WITHIN)
    }
}
