//! Path ids as typed extractors: `InPath<ToolId>` for `/v1/tools/{id}`,
//! `InPath<(PersonaId, ToolId)>` for `/v1/personas/{id}/tools/{tool_id}`. An id that is not a
//! UUID is a 404 naming the resource, the same answer as a UUID that names nothing.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::problem::ApiError;
use crate::ids::ResourceId;

/// The path's ids, in the order the route names them.
#[derive(Debug, Clone, Copy)]
pub struct InPath<T>(pub T);

/// What can be read from a route's path segments.
pub trait PathIds: Sized {
    fn from_segments(segments: &[String]) -> Result<Self, ApiError>;
}

fn id<T: ResourceId>(segment: Option<&String>) -> Result<T, ApiError> {
    segment
        .and_then(|s| Uuid::parse_str(s).ok())
        .map(T::new)
        .ok_or_else(|| ApiError::not_found(T::WHAT))
}

impl<T: ResourceId> PathIds for T {
    fn from_segments(segments: &[String]) -> Result<Self, ApiError> {
        id(segments.first())
    }
}

/// Two ids, checked in order: a bad first one is reported before the second is looked at.
impl<A: ResourceId, B: ResourceId> PathIds for (A, B) {
    fn from_segments(segments: &[String]) -> Result<Self, ApiError> {
        Ok((id(segments.first())?, id(segments.get(1))?))
    }
}

impl<S: Send + Sync, T: PathIds> FromRequestParts<S> for InPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        // A segment that is not UTF-8 once decoded keeps axum's own answer, as before.
        let Path(segments) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        T::from_segments(&segments)
            .map(Self)
            .map_err(IntoResponse::into_response)
    }
}
