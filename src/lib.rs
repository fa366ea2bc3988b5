//! gatekeep: a human approval in front of risky commands.
//!
//! See ARCHITECTURE.md for the map of modules and the rules they keep.

pub mod approval;
pub mod audit;
pub mod cache;
pub mod child;
pub mod cli;
pub mod client;
mod commands;
pub mod config;
pub mod decide;
pub mod env_vars;
pub mod environment;
pub mod events;
pub mod exit;
pub mod files;
pub mod flow;
pub mod layout;
pub mod manual;
pub mod mcp;
pub mod paths;
pub mod pin;
pub mod policy;
pub mod redact;
pub mod render;
pub mod report;
pub mod secrets;
pub mod server;
pub mod shell;
pub mod supervise;
pub mod term;
pub mod ui;
mod yaml;
