//! What the conversation routes answer: one type per shape, serialized as it goes on the wire and
//! described in the OpenAPI document by the same derive. The runtime fills a [`TurnReport`] with
//! these pieces as a turn goes, so `?wait=true` answers what the turn itself recorded.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use hookline_core::repo::followups::FollowUp;
use hookline_core::repo::messages::Message;
use hookline_core::{FollowUpStatus, Role, StoredCall};

/// A user message accepted: its turn answers through the session's events.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostedMessage {
    /// The user message's id.
    pub id: Uuid,
    pub turn_id: Uuid,
}

/// The persona's reply in a turn.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyView {
    pub id: Uuid,
    /// The whole text of the persona's reply in this turn.
    pub content: String,
    pub interrupted: bool,
}

/// A tool call the LLM asked for in a turn, and how it ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnCall {
    /// Hookline's id of the call (`/v1/tool-calls/{id}`); null when it was refused before it
    /// was stored (unknown tool, arguments that are not JSON).
    pub id: Option<Uuid>,
    /// The LLM's own id of the call.
    pub tool_call_id: String,
    pub tool_name: String,
    pub status: TurnCallStatus,
    /// Why a `refused` call was not run; left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<CallRefusal>,
}

/// How a call of a turn ended: `completed`, `failed`, `pending` (sent on without waiting: a
/// fire-and-forget webhook, a client tool) or `refused` (never run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TurnCallStatus {
    Completed,
    Failed,
    Pending,
    Refused,
}

impl TurnCallStatus {
    /// The LLM is told this call's result is an error.
    pub fn is_error(self) -> bool {
        matches!(self, Self::Failed | Self::Refused)
    }
}

/// Why a call of a turn was not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallRefusal {
    pub kind: RefusalKind,
    pub message: String,
}

/// Why a call was not run: its arguments did not fit (or were not a JSON object), no tool of the
/// session has its name, the LLM asked for more calls than a response or a turn may run, the
/// session was over, too many client-tool calls were waiting, or it could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    InvalidArguments,
    UnknownTool,
    TooManyCalls,
    SessionEnded,
    SessionExpired,
    Busy,
    Internal,
}

impl RefusalKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArguments => "invalid_arguments",
            Self::UnknownTool => "unknown_tool",
            Self::TooManyCalls => "too_many_calls",
            Self::SessionEnded => "session_ended",
            Self::SessionExpired => "session_expired",
            Self::Busy => "busy",
            Self::Internal => "internal",
        }
    }
}

/// Why a turn (or an LLM test) did not end with a reply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TurnError {
    pub kind: TurnErrorKind,
    pub message: String,
}

impl TurnError {
    pub fn new(kind: TurnErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// Why a turn ended without a reply: the LLM could not be reached, took too long or answered
/// an error; it asked for tools in every round; its reply passed a bound; a newer message
/// interrupted it; or something failed on our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnErrorKind {
    LlmUnavailable,
    LlmTimeout,
    LlmError,
    RoundLimit,
    ReplyTooLong,
    Interrupted,
    Internal,
}

impl TurnErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LlmUnavailable => "llm_unavailable",
            Self::LlmTimeout => "llm_timeout",
            Self::LlmError => "llm_error",
            Self::RoundLimit => "round_limit",
            Self::ReplyTooLong => "reply_too_long",
            Self::Interrupted => "interrupted",
            Self::Internal => "internal",
        }
    }
}

/// How a turn ended, as `?wait=true` reports it.
#[derive(Debug, Clone, Default)]
pub struct TurnReport {
    pub reply: Option<ReplyView>,
    pub tool_calls: Vec<TurnCall>,
    pub session_ended: bool,
    pub error: Option<TurnError>,
    /// The turn could not begin because the database was unavailable (it stored nothing):
    /// `?wait=true` answers 503 rather than a failed turn.
    pub database_unavailable: bool,
}

/// A turn's outcome (`?wait=true`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TurnResult {
    /// The user message's id.
    pub id: Uuid,
    pub turn_id: Uuid,
    pub reply: Option<ReplyView>,
    pub tool_calls: Vec<TurnCall>,
    pub session_ended: bool,
    /// Left out when the turn ended with a reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TurnError>,
}

impl TurnResult {
    /// The outcome of the turn `turn_id` of the user message `id`.
    pub fn new(posted: PostedMessage, report: TurnReport) -> Self {
        Self {
            id: posted.id,
            turn_id: posted.turn_id,
            reply: report.reply,
            tool_calls: report.tool_calls,
            session_ended: report.session_ended,
            error: report.error,
        }
    }
}

/// One message of the conversation.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: Uuid,
    pub turn_id: Uuid,
    pub role: Role,
    /// Text; for a tool message, the result as the LLM was given it (JSON text).
    pub content: String,
    pub interrupted: bool,
    pub created_at: DateTime<Utc>,
    /// A persona message's calls. Left out when the message has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<StoredCall>>,
    /// A tool message's call. Left out on other messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            turn_id: m.turn_id,
            role: m.role,
            content: m.content.clone(),
            interrupted: m.interrupted,
            created_at: m.created_at,
            tool_calls: m.tool_calls.as_ref().map(|calls| calls.0.clone()),
            tool_call_id: m.tool_call_id.clone(),
        }
    }
}

/// A follow-up the persona scheduled (`schedule_followup`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FollowUpView {
    pub id: Uuid,
    pub session_id: Uuid,
    /// What the persona noted for itself.
    pub note: String,
    /// When it is (or was) due.
    pub at: DateTime<Utc>,
    pub status: FollowUpStatus,
    /// The turn it started; left out until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&FollowUp> for FollowUpView {
    fn from(f: &FollowUp) -> Self {
        Self {
            id: f.id,
            session_id: f.session_id,
            note: f.note.clone(),
            at: f.due_at,
            status: f.status,
            turn_id: f.turn_id,
            created_at: f.created_at,
        }
    }
}

/// What one short request to an LLM showed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LlmTestResult {
    pub ok: bool,
    /// Milliseconds, retries included.
    pub execution_time: i64,
    /// What the LLM answered (to "Reply with the single word: OK"), or for an embedding entry
    /// the length of the vector it made for one word (`a vector of 1536 dimensions`); left out
    /// when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// `llm_unavailable`, `llm_timeout` or `llm_error`, with a message; left out when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TurnError>,
}
