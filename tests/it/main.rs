//! Integration tests: the binary and the library driven the way users drive them.

mod approval;
mod audit;
mod channels;
mod check;
mod common;
mod corpus;
mod docs;
mod events;
mod faults;
mod generated;
mod hook;
mod lint;
mod pty;
mod quickstart;
mod run;
mod secrets;
mod service;
mod sources;
mod web;
mod webhooks;
mod witness;
