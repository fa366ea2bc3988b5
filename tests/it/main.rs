//! Integration tests: the binary and the library driven the way users drive them.

mod check;
mod common;
mod corpus;
mod docs;
mod generated;
mod lint;
mod sources;
