//! hookline-registry (filled in by its own issue).

use axum::Router;
use hookline_core::http::CoreState;

/// The routes of this service.
pub fn router(state: CoreState) -> Router {
    Router::new().with_state(state)
}
