//! The `hookline` binary's library half: the command line, the composed application (every
//! service's router, the operational endpoints, metrics and shutdown) and logging.
//!
//! It wires the service crates together and holds no business logic of its own.

pub mod app;
pub mod cli;
mod event_conn;
mod health;
pub mod lab;
pub mod openapi;
pub mod telemetry;
