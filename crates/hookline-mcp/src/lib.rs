//! Hookline as an MCP server: a persona's server tools offered to any MCP client (Claude
//! Desktop, Cursor, agent SDKs) over MCP's Streamable HTTP transport at
//! `/v1/mcp/personas/{id}`, authenticated by the organization's API key. Each MCP session is a
//! Hookline session, and each `tools/call` runs through the engine's library API exactly as
//! `POST /v1/sessions/{id}/tool-calls` does (validation, SSRF rules, signing, call log, events).
//!
//! The JSON-RPC and MCP messages are small typed structs of our own ([`jsonrpc`], [`protocol`]):
//! a server of tools alone needs a handful of them, fewer than an MCP SDK would bring to compile.
//!
//! Sits above `hookline-engine` and `hookline-sessions`; nothing below depends on it.

pub mod jsonrpc;
pub mod protocol;
pub mod routes;
pub mod sessions;
pub mod stream;

use std::sync::Arc;

use axum::routing::post;
use axum::{middleware, Router};
use hookline_core::http::CoreState;
use hookline_engine::Engine;
use hookline_sessions::OpenStreams;
use utoipa::OpenApi;

use routes::McpState;
use sessions::KeptSessions;

#[derive(OpenApi)]
#[openapi(
    paths(routes::post, routes::get, routes::delete),
    components(schemas(jsonrpc::McpMessage, jsonrpc::Reply, jsonrpc::RpcError)),
    tags((name = "mcp", description = "Hookline as an MCP server (Streamable HTTP): a persona's tools for any MCP client")),
)]
pub struct McpApi;

/// The MCP server's routes. `streams` counts the instance's open streams, the `GET` streams
/// among them.
pub fn router(core: CoreState, engine: Arc<Engine>, streams: OpenStreams) -> Router {
    let state = McpState {
        kept: Arc::new(KeptSessions::start(&core.hub)),
        core: core.clone(),
        engine,
        streams,
    };
    Router::new()
        .route(
            "/v1/mcp/personas/{id}",
            post(routes::post).get(routes::get).delete(routes::delete),
        )
        .route_layer(middleware::from_fn_with_state(
            core.settings.clone(),
            routes::check_origin,
        ))
        .with_state(state)
}
