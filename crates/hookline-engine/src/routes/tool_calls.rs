//! `POST /v1/sessions/{id}/tool-calls`: the conversation runtime asks for a call.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookline_core::http::problem::responses::{BadRequest, NotFound, TooLarge, Unauthorized};

use hookline_core::http::{ApiError, Caller, Checked, InPath};
use hookline_core::ids::SessionId;

use super::EngineState;
use crate::call::CallError;
use crate::requests::ToolCallRequest;
use crate::views::CallAnswerView;

#[utoipa::path(
    post, path = "/v1/sessions/{id}/tool-calls", tag = "tool-calls",
    summary = "Run a tool call of the session (the conversation runtime's route)",
    description = "Body `{toolCallId?, toolName, arguments}`; `arguments` is an object or, as OpenAI \
        sends it, a string holding a JSON object. Awaited calls answer 200 with \
        `{id, toolCallId, status, result, error?, executionTime, httpStatus?, truncated?}`; \
        fire-and-forget calls and client calls without `awaitResult` answer 202 with \
        `{id, toolCallId, status: \"pending\"}` once stored. A repeated toolCallId returns the stored call.",
    operation_id = "runToolCall",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path)),
    request_body = ToolCallRequest,
    responses(
        (status = 200, description = "The call ran: completed or failed", body = CallAnswerView),
        (status = 202, description = "Accepted; it goes on without the caller", body = CallAnswerView),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 409, description = "The session has ended or expired", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 413, response = TooLarge),
        (status = 422, description = "Unknown tool name, or a malformed request", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json"),
        (status = 503, description = "The database is busy or not reachable, or a client-tool call awaits its result while this instance already waits for as many as it may (`HOOKLINE_CLIENT_WAITS`); try again after `Retry-After` seconds", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json", headers(("Retry-After" = u32, description = "Seconds to wait before trying again")))
    )
)]
pub async fn run(
    State(state): State<EngineState>,
    caller: Caller,
    InPath(SessionId(session_id)): InPath<SessionId>,
    Checked(request): Checked<ToolCallRequest>,
) -> Result<(StatusCode, Json<CallAnswerView>), ApiError> {
    match state
        .engine
        .call(caller.org_id, session_id, request.into())
        .await
    {
        Ok(answer) => {
            let status = if answer.accepted {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(answer.body)))
        }
        Err(CallError::NoSession) => Err(ApiError::not_found("session")),
        Err(CallError::SessionEnded) => Err(ApiError::session_closed(false)),
        Err(CallError::SessionExpired) => Err(ApiError::session_closed(true)),
        Err(CallError::Invalid(v)) => Err(ApiError::invalid(v)),
        Err(e @ CallError::Busy) => Err(ApiError::busy(e.to_string())),
        Err(CallError::Store(e)) => Err(e.into()),
    }
}
