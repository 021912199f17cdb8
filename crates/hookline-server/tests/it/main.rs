//! Integration tests: the real application on 127.0.0.1:0 with a fresh Postgres database per
//! test, and the real binary for the command line.

mod cli;
#[allow(dead_code)] // helpers for the API tests that follow
mod harness;
mod ops;
