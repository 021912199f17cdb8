//! The shapes of the conversation routes, for the OpenAPI document.

use chrono::{DateTime, Utc};
use hookline_core::http::ListMeta;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

/// A user message.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PostMessage {
    /// 1–10,000 characters.
    content: String,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct PostedMessage {
    /// The user message's id.
    id: Uuid,
    turn_id: Uuid,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReplyView {
    id: Uuid,
    /// The whole text of the persona's reply in this turn.
    content: String,
    interrupted: bool,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TurnCall {
    /// Hookline's id of the call (`/v1/tool-calls/{id}`); null when it was refused before it
    /// was stored (unknown tool, arguments that are not JSON).
    id: Option<Uuid>,
    /// The LLM's own id of the call.
    tool_call_id: String,
    tool_name: String,
    /// `completed`, `failed`, `pending` (sent on without waiting) or `refused`.
    status: String,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TurnError {
    /// `llm_unavailable`, `llm_timeout`, `llm_error`, `round_limit`, `interrupted` or `internal`.
    kind: String,
    message: String,
}

/// A turn's outcome (`?wait=true`).
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct TurnResult {
    id: Uuid,
    turn_id: Uuid,
    reply: Option<ReplyView>,
    tool_calls: Vec<TurnCall>,
    session_ended: bool,
    error: Option<TurnError>,
}

/// One message of the conversation.
#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct MessageView {
    id: Uuid,
    turn_id: Uuid,
    /// `user`, `persona` or `tool`.
    role: String,
    /// Text; for a tool message, the result as the LLM was given it (JSON text).
    content: String,
    /// A persona message's calls: `[{toolCallId, toolName, arguments}]` (arguments as the LLM
    /// wrote them).
    tool_calls: Option<Vec<serde_json::Value>>,
    /// A tool message's call.
    tool_call_id: Option<String>,
    interrupted: bool,
    created_at: DateTime<Utc>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MessageList {
    data: Vec<MessageView>,
    meta: ListMeta,
}

#[derive(ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct LlmTestResult {
    ok: bool,
    /// Milliseconds, retries included.
    execution_time: i64,
    /// What the LLM answered (to "Reply with the single word: OK").
    reply: Option<String>,
    /// `llm_unavailable`, `llm_timeout` or `llm_error`, with a message.
    error: Option<TurnError>,
}

#[derive(OpenApi)]
#[openapi(
    paths(crate::routes::post, crate::routes::list, crate::llm_test::test),
    components(schemas(
        PostMessage, PostedMessage, ReplyView, TurnCall, TurnError, TurnResult, MessageView,
        MessageList, LlmTestResult
    )),
    tags((name = "conversations", description = "The built-in conversation runtime"))
)]
pub struct ConversationsApi;
