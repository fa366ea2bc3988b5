//! One module per subcommand: its clap `Args` and its `run`. Only this layer prints.

pub mod check;
pub mod completions;
pub mod policy_lint;
pub mod policy_list;
pub mod policy_test;
