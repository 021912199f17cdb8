//! Settling a call: its end goes to the call log with its last event (`toolCallCompleted` or
//! `toolCallFailed`), it is counted, and the caller gets its answer. Also the pieces every path
//! that ends a call shares (the event data, the attempt-log entry), so a delivery or a browser's
//! answer records an end exactly as an awaited call does.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

use hookline_core::repo::tool_calls::{CallToStart, Finish};
use hookline_core::snapshot::SnapshotTool;
use hookline_core::{CallStatus, EventName};
use hookline_schema::ToolDefinition;

use super::{CallAnswer, Engine};
use crate::cache::CachedSession;
use crate::call_log::{CallRecorder, Entry};
use crate::outcome::Outcome;
use crate::views::{CallAnswerView, ToolCallEventData};

impl Engine {
    /// Records how a call ended, emits its last event, counts it, and answers the caller.
    pub(crate) async fn settle(
        &self,
        call: &StartedCall<'_>,
        request: Option<Value>,
        outcome: Outcome,
        attempts: i32,
    ) -> CallAnswer {
        let elapsed = call.started.elapsed();
        let ms = elapsed.as_millis() as i64;
        crate::metrics::record_call(call.tool.tool.definition.tool_type(), &outcome, elapsed);
        let now = Utc::now();
        // The answer and the event copy what they need; the call log then takes the rest whole.
        let body = CallAnswerView::ended(call.id, &call.tool_call_id, &outcome, ms);
        let (event, data) = call.end_event(&outcome, ms);
        let attempt = (attempts > 0).then(|| attempt_entry(now, &outcome, ms));
        let finish = Finish {
            id: call.id,
            status: CallStatus::of_end(outcome.completed),
            request,
            response: outcome.response,
            result: Some(outcome.result),
            error: outcome.error,
            http_status: outcome.http_status.map(i32::from),
            truncated: outcome.truncated,
            execution_time_ms: ms,
            attempts,
            attempt,
            next_attempt_at: None,
            completed_at: Some(now),
        };
        match &call.recorder {
            Some(recorder) => recorder.finish(finish, event, data),
            None => {
                self.log
                    .push(Entry::Finish {
                        session_id: call.session.id,
                        event,
                        data,
                        finish: Box::new(finish),
                    })
                    .await;
            }
        }
        CallAnswer {
            accepted: false,
            body,
            recorded: call.recorder.is_some(),
        }
    }

    /// Queues an event of a call: to its caller's recorder if it has one, else the call log.
    pub(crate) async fn record_event(&self, call: &StartedCall<'_>, event: EventName, data: Value) {
        match &call.recorder {
            Some(recorder) => recorder.event(event, data),
            None => self.log.event(call.session.id, event, data).await,
        }
    }
}

/// A call between its start and its end.
pub(crate) struct StartedCall<'a> {
    pub id: Uuid,
    pub tool_call_id: String,
    pub session: Arc<CachedSession>,
    pub tool: &'a SnapshotTool,
    /// The name the call was asked for when it is not the tool's own: an MCP source's tool
    /// (`<source>__<tool>`).
    pub llm_name: Option<String>,
    pub arguments: Value,
    pub started: Instant,
    /// Where this call's events go instead of the call log (see [`crate::CallRecorder`]).
    pub recorder: Option<Arc<dyn CallRecorder>>,
}

impl StartedCall<'_> {
    /// The call's row as it is first written: `pending` for delivery when fire-and-forget,
    /// else `running`.
    pub(crate) fn to_start(&self, fire_and_forget: bool) -> CallToStart {
        let definition = &self.tool.tool.definition;
        CallToStart {
            id: self.id,
            org_id: self.session.org_id,
            session_id: self.session.id,
            tool_call_id: self.tool_call_id.clone(),
            tool_name: definition.name().to_owned(),
            tool_type: definition.tool_type(),
            status: if fire_and_forget {
                CallStatus::Pending
            } else {
                CallStatus::Running
            },
            await_response: !fire_and_forget,
            arguments: self.arguments.clone(),
            next_attempt_at: fire_and_forget.then(Utc::now),
        }
    }

    /// The event data every tool-call event carries (the JS SDK's field names).
    pub(crate) fn event_data(&self) -> ToolCallEventData {
        let mut data = call_event_data(
            self.session.id,
            &self.tool_call_id,
            &self.tool.tool.definition,
            &self.arguments,
        );
        if let Some(name) = &self.llm_name {
            data.tool_name.clone_from(name);
        }
        data
    }

    pub(crate) fn end_event(&self, outcome: &Outcome, ms: i64) -> (EventName, Value) {
        end_event(outcome, ms, self.event_data())
    }
}

pub(crate) fn call_event_data(
    session_id: Uuid,
    tool_call_id: &str,
    definition: &ToolDefinition,
    arguments: &Value,
) -> ToolCallEventData {
    ToolCallEventData {
        event_uid: Uuid::now_v7(),
        session_id,
        tool_call_id: tool_call_id.to_owned(),
        tool_name: definition.name().to_owned(),
        tool_type: definition.tool_type(),
        tool_subtype: definition.subtype(),
        arguments: arguments.clone(),
        timestamp: Utc::now(),
        execution_time: None,
        result: None,
        error_message: None,
    }
}

/// `toolCallCompleted` with the result, or `toolCallFailed` with the error message.
pub(crate) fn end_event(
    outcome: &Outcome,
    ms: i64,
    mut data: ToolCallEventData,
) -> (EventName, Value) {
    data.execution_time = Some(ms);
    let event = if outcome.completed {
        data.result = Some(outcome.result.clone());
        EventName::ToolCallCompleted
    } else {
        let message = outcome.error_message().unwrap_or("the call failed");
        data.error_message = Some(message.to_owned());
        EventName::ToolCallFailed
    };
    (event, data.to_value())
}

/// One entry of a call's attempt log.
pub(crate) fn attempt_entry(at: chrono::DateTime<Utc>, outcome: &Outcome, ms: i64) -> Value {
    json!({
        "at": at,
        "outcome": outcome.label(),
        "httpStatus": outcome.http_status,
        "executionTime": ms,
    })
}
