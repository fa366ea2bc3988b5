//! One module per subcommand: its clap `Args` and its `run`. Only this layer prints.

pub mod approve;
pub mod check;
pub mod completions;
pub mod dev_credentials;
pub mod hook;
pub mod keygen;
pub mod log_rotate;
pub mod log_show;
pub mod log_tail;
pub mod log_verify;
pub mod log_witness;
pub mod login;
pub mod policy_lint;
pub mod policy_list;
pub mod policy_test;
pub mod requests;
pub mod review;
pub mod run;
pub mod secret;
pub mod serve;
pub mod shell_prefix;
pub mod status;
pub mod token;
pub mod wait;
pub mod whoami;
