//! The conversation's events on the session's numbered stream, with the Anam JS SDK's names.
//! A turn writes its own through its [`crate::writer::TurnWriter`]; a user message's are written
//! with the message ([`crate::runtime::Conversations::accept`]); `turnFailed` is appended here
//! in a transaction of its own and announced after the commit, as the engine does.

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::repo::events::{self, NewEvent};
use hookline_core::{EventName, Role, StoreError};

use crate::views::TurnErrorKind;

pub const MESSAGE_STREAM_EVENT: EventName = EventName::MessageStreamEvent;
pub const MESSAGE_HISTORY_UPDATED: EventName = EventName::MessageHistoryUpdated;
pub const TURN_FAILED: EventName = EventName::TurnFailed;
pub const TOOL_CALL_REFUSED: EventName = EventName::ToolCallRefused;

/// `toolCallRefused`: a call the LLM asked for that was not run, and why.
pub fn refused_data(turn_id: Uuid, tool_call_id: &str, tool_name: &str, error: &Value) -> Value {
    json!({
        "toolCallId": tool_call_id,
        "toolName": tool_name,
        "turnId": turn_id,
        "error": error,
        "timestamp": Utc::now(),
    })
}

/// Appends one event and announces it. `pool` is the runtime's pool whose commits do not wait
/// for the disk (`synchronous_commit = off`): like the engine's call log, not a promise.
async fn emit(
    pool: &PgPool,
    session_id: Uuid,
    event: EventName,
    data: Value,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let notes = events::append_many(
        &mut tx,
        &[NewEvent {
            session_id,
            event,
            data,
        }],
    )
    .await?;
    tx.commit().await?;
    if let Err(e) = events::notify(pool, &notes).await {
        // Streams still find the event on their next look at the table.
        tracing::warn!(error = %e, "could not announce a conversation event");
    }
    Ok(())
}

/// A piece of speech: a user message once, or a delta of the persona's reply.
pub struct Speech<'a> {
    pub id: Uuid,
    pub role: Role,
    pub content: &'a str,
    pub end_of_speech: bool,
    pub interrupted: bool,
    pub turn_id: Uuid,
}

pub fn stream_data(s: &Speech) -> Value {
    json!({
        "id": s.id,
        "role": s.role,
        "content": s.content,
        "endOfSpeech": s.end_of_speech,
        "interrupted": s.interrupted,
        "turnId": s.turn_id,
        "timestamp": Utc::now(),
    })
}

/// Appends and announces `turnFailed` (through `pool`, the runtime's non-waiting pool).
pub async fn turn_failed(
    pool: &PgPool,
    session_id: Uuid,
    turn_id: Uuid,
    kind: TurnErrorKind,
    message: &str,
) -> Result<(), StoreError> {
    emit(
        pool,
        session_id,
        TURN_FAILED,
        json!({"turnId": turn_id, "error": {"kind": kind, "message": message}, "timestamp": Utc::now()}),
    )
    .await
}

/// Appends and announces `followUpStarted`: a follow-up's own turn began.
pub async fn follow_up_started(
    pool: &PgPool,
    session_id: Uuid,
    follow_up_id: Uuid,
    turn_id: Uuid,
) -> Result<(), StoreError> {
    emit(
        pool,
        session_id,
        EventName::FollowUpStarted,
        json!({"followUpId": follow_up_id, "turnId": turn_id, "timestamp": Utc::now()}),
    )
    .await
}
