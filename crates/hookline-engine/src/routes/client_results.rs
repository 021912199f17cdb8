//! `POST /v1/sessions/{id}/tool-calls/{toolCallId}/result`: parse, call
//! [`crate::client_results::answer`], answer 204.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use hookline_core::http::problem::responses::{
    BadRequest, Invalid, TooLarge, Unauthorized, Unavailable,
};
use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{ApiError, Check, InPath, JsonBody};
use hookline_core::ids::SessionId;

use super::EngineState;
use crate::requests::ClientResultRequest;
use crate::service::client_results;

#[utoipa::path(
    post, path = "/v1/sessions/{id}/tool-calls/{toolCallId}/result", tag = "tool-calls",
    summary = "The browser answers a client tool call: `{result?: any, error?: string}`",
    operation_id = "postClientToolResult",
    security(("clientSecret" = []), ("apiKey" = [])),
    params(("id" = uuid::Uuid, Path), ("toolCallId" = String, Path)),
    request_body = ClientResultRequest,
    responses(
        (status = 204, description = "Recorded; a waiting call returns it"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, description = "No such client call in this session", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The call was answered already, or timed out", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 422, response = Invalid),
        (status = 503, response = Unavailable)
    )
)]
pub async fn post(
    State(state): State<EngineState>,
    credential: SessionCredential,
    InPath(SessionId(id)): InPath<SessionId>,
    // The caller's own call id, any string: only the session id is a UUID.
    Path((_session, tool_call_id)): Path<(String, String)>,
    body: JsonBody,
) -> Result<StatusCode, ApiError> {
    let session = credential.session(&state.core, id).await?;
    // The path before the body: an id that names no call is a 404 whatever the body holds.
    client_results::check_call_id(&tool_call_id)?;
    let answer =
        ClientResultRequest::check(&body.0, &state.core.settings).map_err(ApiError::invalid)?;
    client_results::answer(&state.core, &session, &tool_call_id, answer).await?;
    Ok(StatusCode::NO_CONTENT)
}
