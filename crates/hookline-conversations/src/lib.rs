//! The conversation runtime: a persona that talks. A user message starts a turn; the runtime
//! sends the persona's system prompt, the conversation and the session's tools to the persona's
//! LLM (OpenAI Chat Completions or Anthropic Messages, streaming), passes the reply's text on as
//! events, runs each tool call the LLM asks for through the engine (`Engine::call`, exactly as
//! `/tool-calls` runs it) as soon as its arguments are complete, gives the results back, and asks
//! again, up to 8 rounds.
//!
//! Depends on `hookline-schema`, `hookline-core` and `hookline-engine`'s library API; nothing
//! below depends on it.

mod events;
pub mod followups;
mod history;
mod interrupts;
pub mod llm;
mod llm_trial;
mod message_rate;
mod openapi;
pub mod provider;
mod requests;
mod results;
mod routes;
pub mod runtime;
mod sse;
mod turn;
pub mod turn_lease;
pub mod views;
mod writer;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::post;
use axum::Router;
use hookline_core::http::cors::browser_cors;
use hookline_core::http::CoreState;

pub use events::{MESSAGE_HISTORY_UPDATED, MESSAGE_STREAM_EVENT, TURN_FAILED};
pub use openapi::ConversationsApi;
pub use runtime::Conversations;

/// What the conversation routes hold: the runtime, and the core state the extractors read.
#[derive(Clone, FromRef)]
pub struct ConversationState {
    pub core: CoreState,
    pub runtime: Arc<Conversations>,
}

/// The conversation routes (a browser may post messages with the session's client secret).
pub fn router(core: CoreState, runtime: Arc<Conversations>) -> Router {
    let cors = browser_cors(&core.settings);
    let runtime = ConversationState {
        core: core.clone(),
        runtime,
    };
    Router::new()
        .route(
            "/v1/sessions/{id}/messages",
            post(routes::post).get(routes::list).options(preflight),
        )
        .route(
            "/v1/sessions/{id}/followups",
            axum::routing::get(routes::list_follow_ups).options(preflight),
        )
        .layer(cors)
        .route("/v1/llms/{id}/test", post(llm_trial::test))
        .with_state(runtime)
}

async fn preflight() -> axum::http::StatusCode {
    axum::http::StatusCode::NO_CONTENT
}
