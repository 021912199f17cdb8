//! The execution engine: runs tool calls. It validates arguments against the tool's schema,
//! builds and signs the HTTP request, sends it through an SSRF-safe pooled client with timeouts
//! and a size cap, turns the answer into a result an LLM can use, keeps a call log, emits the
//! session's events, answers client and system tools, and delivers fire-and-forget calls
//! durably. A library first (`Engine::call`, and [`service`]'s `client_results::answer` for a
//! browser's answer), with its HTTP routes beside it, which only parse, call and answer.
//!
//! Depends on `hookline-schema` and `hookline-core` only.

pub mod cache;
pub mod call;
pub mod call_log;
pub mod delivery;
pub mod mcp_client;
pub mod metrics;
pub mod outbound;
pub mod outcome;
pub mod outgoing;
pub mod requests;
pub mod retry;
pub mod routes;
pub mod service;
pub mod signing;
pub mod starter;
pub mod validation;
pub mod views;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use hookline_core::http::cors::browser_cors;
use hookline_core::http::CoreState;
use utoipa::OpenApi;

pub use call::{CallAnswer, CallError, CallRequest, Engine};
pub use call_log::CallRecorder;
use routes::{calls, mcp_probe, signing_secrets, tool_calls, tool_trial, EngineState};
pub use service::client_results;

#[derive(OpenApi)]
#[openapi(
    paths(
        tool_calls::run, calls::list, calls::read, routes::client_results::post, tool_trial::test,
        mcp_probe::list, mcp_probe::call, signing_secrets::list, signing_secrets::rotate,
    ),
    components(schemas(
        views::CallAnswerView, views::CallView, hookline_core::http::ListPage<views::CallView>, views::SigningSecretsView,
        views::SigningSecretView, views::ToolTestView, views::ToolCallEventData, requests::ToolCallRequest, requests::ToolCallArguments,
        requests::ClientResultRequest, requests::ToolTestRequest, mcp_probe::Probe,
    )),
    tags(
        (name = "tool-calls", description = "Running tool calls, and the call log"),
        (name = "signing", description = "Standard Webhooks signing secrets"),
    )
)]
pub struct EngineApi;

/// The engine's routes.
pub fn router(core: CoreState, engine: Arc<Engine>) -> Router {
    let state = EngineState {
        core: core.clone(),
        engine,
    };
    let browser = Router::new()
        .route(
            "/v1/sessions/{id}/tool-calls/{tool_call_id}/result",
            post(routes::client_results::post).options(preflight),
        )
        .layer(browser_cors(&core.settings));
    Router::new()
        .route(
            "/v1/sessions/{id}/tool-calls",
            post(tool_calls::run).get(calls::list),
        )
        .route("/v1/tool-calls/{id}", get(calls::read))
        .route("/v1/tools/{id}/test", post(tool_trial::test))
        .route("/v1/tools/mcp/list", post(mcp_probe::list))
        .route("/v1/tools/mcp/call", post(mcp_probe::call))
        .route("/v1/signing-secrets", get(signing_secrets::list))
        .route("/v1/signing-secrets/rotate", post(signing_secrets::rotate))
        .merge(browser)
        .with_state(state)
}

async fn preflight() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
