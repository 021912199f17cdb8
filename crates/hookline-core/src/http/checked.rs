//! `Checked<T>`: a request body read as the type a route takes. The body is read as JSON the way
//! every route reads it ([`JsonBody`]: bounded, any content type, NUL refused), then `T` reads
//! itself from it with [`Check`], reporting every problem at once, each by its field path (a
//! first-error-only reading, as serde's, would make a client fix one field per round trip).
//! The same `T` is the route's `request_body` in the OpenAPI document, so the rules a client
//! reads and the rules the server applies are stated on one type.

use axum::extract::{FromRef, FromRequest, Request};
use serde_json::Value;

use super::body::JsonBody;
use super::problem::ApiError;
use super::CoreState;
use crate::settings::Settings;
use hookline_schema::Violations;

/// A request type that reads itself from a JSON body.
pub trait Check: Sized {
    /// Reads the body, reporting every violation (an unknown field is one). `settings` holds
    /// what some rules depend on (the destinations a URL may name, the bounds of a session).
    fn check(body: &Value, settings: &Settings) -> Result<Self, Violations>;
}

/// A body read and checked as `T`; a body that is not JSON is a 400, a `T` with violations a
/// 422 listing them all (a 400 when the body is not even an object).
#[derive(Debug)]
pub struct Checked<T>(pub T);

impl<S, T> FromRequest<S> for Checked<T>
where
    S: Send + Sync,
    CoreState: FromRef<S>,
    T: Check,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBody(body) = JsonBody::from_request(req, state).await?;
        let core = CoreState::from_ref(state);
        T::check(&body, &core.settings)
            .map(Checked)
            .map_err(ApiError::invalid)
    }
}

// The tool model's own types (hookline-schema knows nothing of settings or HTTP) are checked here.

impl Check for hookline_schema::PersonaFields {
    fn check(body: &Value, _: &Settings) -> Result<Self, Violations> {
        Self::parse(body, "")
    }
}

impl Check for hookline_schema::ToolDefinition {
    fn check(body: &Value, settings: &Settings) -> Result<Self, Violations> {
        Self::parse(body, "", &settings.destinations)
    }
}

impl Check for hookline_schema::LlmFields {
    fn check(body: &Value, settings: &Settings) -> Result<Self, Violations> {
        Self::parse(body, &settings.destinations)
    }
}

impl Check for hookline_schema::ConnectionFields {
    fn check(body: &Value, settings: &Settings) -> Result<Self, Violations> {
        Self::parse(body, &settings.destinations)
    }
}
