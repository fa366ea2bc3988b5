//! gatekeep: a human approval in front of risky commands.
//!
//! See ARCHITECTURE.md for the map of modules and the rules they keep.

pub mod cli;
mod commands;
pub mod config;
pub mod decide;
pub mod env_vars;
pub mod environment;
pub mod exit;
pub mod paths;
pub mod policy;
pub mod shell;
mod yaml;
