//! The registry: the REST API through which an organization manages its tools, personas, LLM
//! connections and API keys (the "Lab" API). Handlers parse and check input with `hookline-schema`, keep their SQL in
//! `hookline-core`'s repositories, and write in transactions so nothing is ever half-written.
//!
//! Depends on `hookline-schema` and `hookline-core` only.

mod api_keys;
mod llms;
mod merge;
mod openapi;
mod personas;
pub mod requests;
mod tools;
pub mod views;

use axum::routing::{get, post};
use axum::Router;
use hookline_core::http::CoreState;

pub use llms::llm_json;
pub use openapi::RegistryApi;
pub use views::{ApiKeyView, NewApiKeyView, PersonaView, ToolView};

/// The registry's routes.
pub fn router(state: CoreState) -> Router {
    Router::new()
        .route("/v1/tools", get(tools::list).post(tools::create))
        .route(
            "/v1/tools/{id}",
            get(tools::read)
                .put(tools::replace)
                .patch(tools::update)
                .delete(tools::delete),
        )
        .route("/v1/personas", get(personas::list).post(personas::create))
        .route(
            "/v1/personas/{id}",
            get(personas::read)
                .put(personas::replace)
                .patch(personas::update)
                .delete(personas::delete),
        )
        .route(
            "/v1/personas/{id}/tools/{tool_id}",
            post(personas::attach).delete(personas::detach),
        )
        .route("/v1/llms", get(llms::list).post(llms::create))
        .route(
            "/v1/llms/{id}",
            get(llms::read)
                .put(llms::put)
                .patch(llms::update)
                .delete(llms::delete),
        )
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", axum::routing::delete(api_keys::revoke))
        .with_state(state)
}
