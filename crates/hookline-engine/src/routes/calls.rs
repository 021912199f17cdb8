//! The call log: `GET /v1/sessions/{id}/tool-calls` and `GET /v1/tool-calls/{id}`.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use hookline_core::http::{parse_id, ApiError, Caller, ListPage, Pagination, QueryMap};
use hookline_core::repo::sessions;
use hookline_core::repo::tool_calls::{self, CallRecord};

use super::EngineState;

/// A call as the log shows it: the request exactly as sent (header values masked), the capped
/// answer, and every attempt of a retried call.
pub fn record_json(r: &CallRecord) -> Value {
    let inner =
        |j: &Option<sqlx::types::Json<Value>>| j.as_ref().map_or(Value::Null, |j| j.0.clone());
    json!({
        "id": r.id,
        "sessionId": r.session_id,
        "toolCallId": r.tool_call_id,
        "toolName": r.tool_name,
        "toolType": r.tool_type,
        "status": r.status,
        "awaitResponse": r.await_response,
        "attempts": r.attempts,
        "arguments": r.arguments.0,
        "request": inner(&r.request),
        "response": inner(&r.response),
        "result": inner(&r.result),
        "error": inner(&r.error),
        "httpStatus": r.http_status,
        "truncated": r.truncated,
        "executionTime": r.execution_time_ms,
        "attemptLog": r.attempt_log.0,
        "nextAttemptAt": r.next_attempt_at,
        "createdAt": r.created_at,
        "completedAt": r.completed_at,
    })
}

#[utoipa::path(
    get, path = "/v1/sessions/{id}/tool-calls", tag = "tool-calls", summary = "A session's calls, oldest first",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path), ("page" = Option<i64>, Query), ("perPage" = Option<i64>, Query)),
    responses(
        (status = 200, description = "`{data: [call], meta}`"),
        (status = 404, description = "No such session", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn list(
    State(state): State<EngineState>,
    caller: Caller,
    Path(id): Path<String>,
    query: QueryMap,
) -> Result<Json<ListPage>, ApiError> {
    let id = parse_id(&id, "session")?;
    let page = Pagination::from_query(&query)?;
    let mut conn = state.core.pool.acquire().await?;
    sessions::get(&mut *conn, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("session"))?;
    let (rows, total) = tool_calls::list(&mut conn, id, page).await?;
    Ok(Json(ListPage::new(
        rows.iter().map(record_json).collect(),
        total,
        page,
    )))
}

#[utoipa::path(
    get, path = "/v1/tool-calls/{id}", tag = "tool-calls", summary = "One call, with its request, answer and attempts",
    security(("apiKey" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, description = "The call"),
        (status = 404, description = "No such call", body = hookline_core::http::ProblemDocument, content_type = "application/problem+json")
    )
)]
pub async fn read(
    State(state): State<EngineState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "tool call")?;
    let record = tool_calls::get(&state.core.pool, caller.org_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("tool call"))?;
    Ok(Json(record_json(&record)))
}
