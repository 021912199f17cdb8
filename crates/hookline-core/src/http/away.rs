//! The layer in front of the API's routes that answers 503 at once while the database is known
//! to be away ([`crate::db::away`]), and tells that state when a request found it unavailable.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::db::away::Away;
use crate::http::problem::DatabaseUnavailable;
use crate::http::ApiError;

/// Every API route needs the database (its key, its session, its call row), so while it is away
/// the answer is the 503 the route would give after waiting for a connection, without the wait.
/// A CORS preflight needs nothing and passes.
pub async fn database_gate(State(away): State<Away>, request: Request, next: Next) -> Response {
    if away.is_away() && request.method() != Method::OPTIONS {
        return ApiError::database_unavailable("the database is not reachable; try again shortly")
            .into_response();
    }
    let response = next.run(request).await;
    if response.extensions().get::<DatabaseUnavailable>().is_some() {
        away.noticed();
    }
    response
}
