//! The registry's HTTP face: each handler reads its input (path ids, query, body), calls the
//! service function of the same name in [`crate::service`], and answers its view. The
//! `#[utoipa::path]` blocks here are the registry's part of the OpenAPI document.

pub mod api_keys;
pub mod connections;
pub mod import;
pub mod llms;
pub mod personas;
mod problems;
pub mod tools;

use axum::routing::{delete, get, post};
use axum::Router;
use hookline_core::http::CoreState;

/// The registry's routes.
pub fn router(state: CoreState) -> Router {
    Router::new()
        .route("/v1/tools", get(tools::list).post(tools::create))
        .route("/v1/tools/import", post(import::import))
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
        .route(
            "/v1/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/v1/connections/{id}",
            get(connections::read)
                .put(connections::put)
                .patch(connections::update)
                .delete(connections::delete),
        )
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route("/v1/api-keys/{id}", delete(api_keys::revoke))
        .with_state(state)
}
