//! `POST /v1/sessions/{id}/tool-calls/{toolCallId}/result`: the browser's answer to a client tool.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;

use hookline_core::http::session_auth::SessionCredential;
use hookline_core::http::{ApiError, InPath, JsonBody};
use hookline_core::ids::SessionId;
use hookline_core::repo::{events, tool_calls};
use hookline_schema::fields::Fields;
use hookline_schema::Violations;

use super::EngineState;
use crate::engine::{call_event_data, end_event};
use crate::outcome::Outcome;
use crate::requests::ClientResultRequest;
use hookline_core::http::problem::responses::{
    BadRequest, Invalid, TooLarge, Unauthorized, Unavailable,
};
use hookline_core::{CallStatus, ErrorKind};
use hookline_schema::ToolType;

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
    // No call id holds U+0000 (it is refused when a call starts), and Postgres text cannot.
    if tool_call_id.contains('\0') {
        return Err(ApiError::not_found("client tool call"));
    }
    let mut v = Violations::new();
    let (result, message) = match body.0.as_object() {
        None => {
            v.wrong_type("", "a JSON object");
            (None, None)
        }
        Some(map) => {
            let mut f = Fields::new(map, "", &mut v);
            let result = f.get("result").cloned();
            let message = f.string("error").map(str::to_owned);
            f.finish("a client tool result");
            (result, message)
        }
    };
    v.into_result(()).map_err(ApiError::invalid)?;
    let outcome = match &message {
        Some(m) => Outcome::failed(ErrorKind::ClientError, m.clone()),
        None => Outcome::completed(result.clone().unwrap_or(Value::Null)),
    };
    let mut tx = state.core.pool.begin().await?;
    let Some(record) = tool_calls::settle_client_call(
        &mut *tx,
        id,
        &tool_call_id,
        CallStatus::of_end(outcome.completed),
        Some(&outcome.result),
        outcome.error.as_ref(),
    )
    .await?
    else {
        return match tool_calls::by_tool_call_id(&mut *tx, id, &tool_call_id).await? {
            Some(r) if r.tool_type == ToolType::Client => Err(ApiError::conflict(format!(
                "the call is {} already",
                r.status
            ))),
            _ => Err(ApiError::not_found("client tool call")),
        };
    };
    let ms = record.execution_time_ms.unwrap_or_default();
    let mut notes = Vec::new();
    if let Some(tool) = session.config.0.tool(&record.tool_name) {
        let data = call_event_data(
            id,
            &tool_call_id,
            &tool.tool.definition,
            &record.arguments.0,
        );
        let (event, data) = end_event(&outcome, ms, data);
        notes = events::append(&mut tx, id, event, &data).await?;
    }
    tx.commit().await?;
    // The announcement also wakes the call waiting for this answer, on whichever instance.
    events::notify(&state.core.pool, &notes).await?;
    crate::metrics::record_call(
        ToolType::Client,
        &outcome,
        std::time::Duration::from_millis(ms.max(0) as u64),
    );
    Ok(StatusCode::NO_CONTENT)
}
