//! Integration tests: the binary and the library driven the way users drive them.

mod approval;
mod audit;
mod binding;
mod channels;
mod check;
mod common;
mod corpus;
mod deception;
mod docs;
mod events;
mod faults;
mod generated;
mod hook;
mod lint;
mod pty;
mod quickstart;
mod render;
mod run;
mod secrets;
mod server_policy;
mod service;
mod sources;
mod supervise;
mod web;
mod webhooks;
mod witness;
