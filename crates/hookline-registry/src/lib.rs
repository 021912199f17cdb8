//! The registry: how an organization manages its tools, personas, LLM connections, connections
//! (OAuth2 credentials of webhook tools) and API keys (the "Lab" API). Two layers: [`service`] is the library an internal service links and calls
//! without HTTP (`hookline_registry::tools::create`, re-exported at the crate root), and
//! [`routes`] is the REST API over it, whose handlers only parse, call and answer. Input is
//! checked with `hookline-schema`, SQL stays in `hookline-core`'s repositories, and every write
//! runs in one transaction so nothing is ever half-written.
//!
//! Depends on `hookline-schema` and `hookline-core` only.

pub mod connection_wire;
pub mod import_wire;
mod openapi;
pub mod requests;
pub mod routes;
pub mod service;
pub mod views;

pub use openapi::RegistryApi;
pub use routes::router;
pub use service::{api_keys, connections, llms, personas, tools};
pub use views::{ApiKeyView, LlmView, NewApiKeyView, PersonaView, ToolView};
