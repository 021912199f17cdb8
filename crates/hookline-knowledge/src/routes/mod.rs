//! The knowledge API's HTTP face: each handler reads its input, calls the service function of
//! the same name in [`crate::service`] and answers its view. The `#[utoipa::path]` blocks here
//! are this crate's part of the OpenAPI document.

pub mod documents;
pub mod folders;
mod problems;
pub mod search;
mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use hookline_core::http::CoreState;

use crate::embeddings::Embedder;
use upload::UploadSlots;
pub use upload::MAX_REQUEST_BYTES;

/// The knowledge routes; `embedder` sends a hybrid search's query to the embedding model.
pub fn router(state: CoreState, embedder: Embedder) -> Router {
    let slots = UploadSlots::new(state.settings.knowledge.uploads);
    Router::new()
        .route(
            "/v1/knowledge/folders",
            get(folders::list).post(folders::create),
        )
        .route(
            "/v1/knowledge/folders/{id}",
            get(folders::read)
                .patch(folders::update)
                .delete(folders::delete),
        )
        .route(
            "/v1/knowledge/folders/{id}/documents",
            get(documents::list)
                // Files are larger than the API's 1 MiB bodies.
                .post(documents::upload)
                .layer((DefaultBodyLimit::max(MAX_REQUEST_BYTES), Extension(slots))),
        )
        .route(
            "/v1/knowledge/documents/{id}",
            get(documents::read).delete(documents::delete),
        )
        .route(
            "/v1/knowledge/search",
            post(search::search).layer(Extension(embedder)),
        )
        .with_state(state)
}
