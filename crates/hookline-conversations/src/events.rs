//! The conversation's events on the session's numbered stream, with the Anam JS SDK's names.
//! Each is appended in its own transaction and announced after the commit, as the engine does.

use chrono::Utc;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use hookline_core::repo::events::{self, NewEvent};
use hookline_core::repo::messages::{self, ROLE_TOOL};
use hookline_core::{EventName, StoreError};

pub const MESSAGE_STREAM_EVENT: EventName = EventName::MessageStreamEvent;
pub const MESSAGE_HISTORY_UPDATED: EventName = EventName::MessageHistoryUpdated;
pub const TURN_FAILED: EventName = EventName::TurnFailed;

/// Appends one event and announces it.
pub async fn emit(
    pool: &PgPool,
    session_id: Uuid,
    event: EventName,
    data: Value,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    // A speech delta is not a promise: like the engine's call log, it does not wait for the disk
    // (a crash may lose the last few milliseconds of a stream, never their order).
    sqlx::query("SET LOCAL synchronous_commit TO off")
        .execute(&mut *tx)
        .await?;
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
    pub role: &'static str,
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

/// `messageHistoryUpdated`: the whole text conversation so far (tool exchanges and empty
/// persona messages, which only carried tool calls, left out).
pub async fn history_updated(pool: &PgPool, session_id: Uuid) -> Result<(), StoreError> {
    let all = messages::recent(pool, session_id, i64::MAX).await?;
    let texts: Vec<Value> = all
        .iter()
        .filter(|m| m.role != ROLE_TOOL && !m.content.is_empty())
        .map(|m| json!({"id": m.id, "role": m.role, "content": m.content, "interrupted": m.interrupted}))
        .collect();
    emit(
        pool,
        session_id,
        MESSAGE_HISTORY_UPDATED,
        json!({"messages": texts, "timestamp": Utc::now()}),
    )
    .await
}

pub async fn turn_failed(
    pool: &PgPool,
    session_id: Uuid,
    turn_id: Uuid,
    kind: &str,
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
