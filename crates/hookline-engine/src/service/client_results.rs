//! The browser's answer to a client tool call: stored as the call's end, with the call's last
//! event (`toolCallCompleted` or `toolCallFailed`), whose announcement also wakes the call
//! waiting for the answer, on whichever instance it waits.

use std::time::Duration;

use serde_json::Value;

use hookline_core::http::problem::ProblemType;
use hookline_core::http::{ApiError, CoreState};
use hookline_core::repo::sessions::Session;
use hookline_core::repo::{events, tool_calls};
use hookline_core::{CallStatus, ErrorKind};
use hookline_schema::ToolType;

use crate::call::{call_event_data, end_event};
use crate::outcome::Outcome;
use crate::requests::ClientResultRequest;

/// A caller's call id names no call when it holds U+0000: such an id is refused when a call
/// starts, and Postgres text cannot hold one. A 404, as for any id that names nothing.
pub fn check_call_id(tool_call_id: &str) -> Result<(), ApiError> {
    if tool_call_id.contains('\0') {
        Err(ApiError::not_found("client tool call"))
    } else {
        Ok(())
    }
}

/// Records `answer` as the end of the client call `tool_call_id` of `session`: an `error`
/// fails the call (`client_error`), otherwise `result` (default null) completes it. A call that
/// has ended already (answered, timed out) is a 409 saying how; no client call of that id in the
/// session is a 404.
pub async fn answer(
    state: &CoreState,
    session: &Session,
    tool_call_id: &str,
    answer: ClientResultRequest,
) -> Result<(), ApiError> {
    check_call_id(tool_call_id)?;
    let outcome = match answer.error {
        Some(message) => Outcome::failed(ErrorKind::ClientError, message),
        None => Outcome::completed(answer.result.unwrap_or(Value::Null)),
    };
    let mut tx = state.pool.begin().await?;
    let Some(record) = tool_calls::settle_client_call(
        &mut *tx,
        session.id,
        tool_call_id,
        CallStatus::of_end(outcome.completed),
        Some(&outcome.result),
        outcome.error.as_ref(),
    )
    .await?
    else {
        return match tool_calls::by_tool_call_id(&mut *tx, session.id, tool_call_id).await? {
            Some(r) if r.tool_type == ToolType::Client => Err(ApiError::conflict(format!(
                "the call is {} already",
                r.status
            ))
            .typed(ProblemType::CallSettled)),
            _ => Err(ApiError::not_found("client tool call")),
        };
    };
    let ms = record.execution_time_ms.unwrap_or_default();
    let mut notes = Vec::new();
    if let Some(tool) = session.config.0.tool(&record.tool_name) {
        let data = call_event_data(
            session.id,
            tool_call_id,
            &tool.tool.definition,
            &record.arguments.0,
        );
        let (event, data) = end_event(&outcome, ms, data);
        notes = events::append(&mut tx, session.id, event, &data).await?;
    }
    tx.commit().await?;
    // The announcement also wakes the call waiting for this answer, on whichever instance.
    events::notify(&state.pool, &notes).await?;
    crate::metrics::record_call(
        ToolType::Client,
        &outcome,
        Duration::from_millis(ms.max(0) as u64),
    );
    Ok(())
}
