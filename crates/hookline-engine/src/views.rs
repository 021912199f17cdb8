//! What the engine answers: one type per shape, serialized as it goes on the wire (and returned
//! by [`crate::Engine::call`] to library callers) and described in the OpenAPI document by the
//! same derive. Arguments, results, requests and answers of webhooks stay free-form JSON.

use chrono::{DateTime, Utc};
use hookline_core::repo::tool_calls::CallRecord;
use hookline_core::{CallFailure, CallStatus};
use hookline_schema::ToolType;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::outcome::Outcome;

/// The answer to `POST /v1/sessions/{id}/tool-calls`: a call that ended (`completed` or
/// `failed`, with its result), or one still going on (`pending`, `running`: no result yet).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallAnswerView {
    /// The call's id in the call log.
    pub id: Uuid,
    pub tool_call_id: String,
    pub status: CallStatus,
    /// What the LLM should see (any JSON); present once the call has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Milliseconds; present once the call has ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<i64>,
    /// Why the call failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CallFailure>,
    /// The webhook's HTTP status, when it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// Present (and true) when the answer was cut to the size cap.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(value_type = Option<bool>)]
    pub truncated: bool,
}

impl CallAnswerView {
    /// A call that goes on without the caller.
    pub fn pending(id: Uuid, tool_call_id: &str) -> Self {
        Self {
            id,
            tool_call_id: tool_call_id.to_owned(),
            status: CallStatus::Pending,
            result: None,
            execution_time: None,
            error: None,
            http_status: None,
            truncated: false,
        }
    }

    /// A call that has ended with `outcome` after `ms` milliseconds.
    pub fn ended(id: Uuid, tool_call_id: &str, outcome: &Outcome, ms: i64) -> Self {
        Self {
            id,
            tool_call_id: tool_call_id.to_owned(),
            status: CallStatus::of_end(outcome.completed),
            result: Some(outcome.result.clone()),
            execution_time: Some(ms),
            error: outcome.error.clone(),
            http_status: outcome.http_status,
            truncated: outcome.truncated,
        }
    }

    /// A call already stored: with its result when it has ended.
    pub fn of_record(r: &CallRecord) -> Self {
        if !r.status.is_settled() {
            return Self {
                status: r.status,
                ..Self::pending(r.id, &r.tool_call_id)
            };
        }
        Self {
            id: r.id,
            tool_call_id: r.tool_call_id.clone(),
            status: r.status,
            result: Some(r.result.as_ref().map_or(Value::Null, |j| j.0.clone())),
            execution_time: Some(r.execution_time_ms.unwrap_or_default()),
            error: r.error.as_ref().map(|j| j.0.clone()),
            http_status: r.http_status.and_then(|s| u16::try_from(s).ok()),
            truncated: r.truncated,
        }
    }
}

/// A call as the log shows it: the request exactly as sent (header values masked), the capped
/// answer, and every attempt of a retried call.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    pub id: Uuid,
    pub session_id: Uuid,
    pub tool_call_id: String,
    pub tool_name: String,
    pub tool_type: ToolType,
    pub status: CallStatus,
    pub await_response: bool,
    #[schema(minimum = 0)]
    pub attempts: i32,
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// `{method, url, headers, body}` as sent, header values masked.
    #[schema(value_type = Option<Object>)]
    pub request: Value,
    /// `{status, headers, body}` as received, capped.
    #[schema(value_type = Option<Object>)]
    pub response: Value,
    /// What the LLM saw (any JSON).
    pub result: Value,
    /// Why the call failed; null otherwise.
    pub error: Option<CallFailure>,
    pub http_status: Option<i32>,
    pub truncated: bool,
    /// Milliseconds.
    pub execution_time: Option<i64>,
    /// `[{at, outcome, httpStatus, executionTime}]`, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub attempt_log: Value,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<&CallRecord> for CallView {
    fn from(r: &CallRecord) -> Self {
        let inner =
            |j: &Option<sqlx::types::Json<Value>>| j.as_ref().map_or(Value::Null, |j| j.0.clone());
        Self {
            id: r.id,
            session_id: r.session_id,
            tool_call_id: r.tool_call_id.clone(),
            tool_name: r.tool_name.clone(),
            tool_type: r.tool_type,
            status: r.status,
            await_response: r.await_response,
            attempts: r.attempts,
            arguments: r.arguments.0.clone(),
            request: inner(&r.request),
            response: inner(&r.response),
            result: inner(&r.result),
            error: r.error.as_ref().map(|j| j.0.clone()),
            http_status: r.http_status,
            truncated: r.truncated,
            execution_time: r.execution_time_ms,
            attempt_log: r.attempt_log.0.clone(),
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
            completed_at: r.completed_at,
        }
    }
}

/// The secrets that sign requests now, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SigningSecretsView {
    pub data: Vec<SigningSecretView>,
}

/// One signing secret, in full: receivers need it to verify.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningSecretView {
    pub id: Uuid,
    /// `whsec_…`.
    pub secret: String,
    pub created_at: DateTime<Utc>,
    /// When a rotated-out secret stops signing; null for the newest.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a tool test sent and what came back.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolTestView {
    /// `{method, url, headers (masked), body}`; null when no request could be built.
    #[schema(value_type = Option<Object>)]
    pub request: Option<Value>,
    /// `{status, headers, body}`; null for a dry run or when nothing came back.
    #[schema(value_type = Option<Object>)]
    pub response: Option<Value>,
    /// What the LLM would be given of a completed answer: its body shaped by the tool's
    /// `response` (select, maxBytes); absent for a dry run or a failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Milliseconds (0 for a dry run).
    #[schema(minimum = 0)]
    pub execution_time: i64,
    /// Why the attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CallFailure>,
}

impl ToolTestView {
    /// What an attempt begun at `started` sent and got back. `shaped`: the answer is a
    /// webhook's, shaped by the tool's `response`, and its `result` is what the LLM would be
    /// given; an MCP probe has none.
    pub fn attempt(
        request: Option<Value>,
        outcome: Outcome,
        started: std::time::Instant,
        shaped: bool,
    ) -> Self {
        Self {
            request,
            result: (shaped && outcome.completed).then_some(outcome.result),
            response: outcome.response,
            execution_time: started.elapsed().as_millis() as i64,
            error: outcome.error,
        }
    }
}

/// The data of `toolCallStarted`, `toolCallCompleted` and `toolCallFailed` on the session's event
/// stream (the JS SDK's field names); the last three fields come with the end of a call.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolCallEventData {
    pub event_uid: Uuid,
    pub session_id: Uuid,
    pub tool_call_id: String,
    pub tool_name: String,
    pub tool_type: ToolType,
    #[schema(value_type = Option<String>)]
    pub tool_subtype: Option<&'static str>,
    #[schema(value_type = Object)]
    pub arguments: Value,
    pub timestamp: DateTime<Utc>,
    /// Milliseconds; `toolCallCompleted` and `toolCallFailed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time: Option<i64>,
    /// What the LLM sees (any JSON); `toolCallCompleted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why the call failed; `toolCallFailed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl ToolCallEventData {
    /// As stored with the event.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("event data always serializes")
    }
}
