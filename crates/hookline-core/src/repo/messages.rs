//! The conversation of a session with a built-in runtime: user messages, persona replies (with
//! the tool calls the LLM asked for) and tool results, in the order they were stored.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::json_text;

pub const ROLE_USER: &str = "user";
pub const ROLE_PERSONA: &str = "persona";
pub const ROLE_TOOL: &str = "tool";

#[derive(Debug, Clone)]
pub struct Message {
    pub seq: i64,
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub role: String,
    pub content: String,
    /// A persona message's calls: `[{"toolCallId", "toolName", "arguments"}]`, arguments as the
    /// LLM wrote them (text).
    pub tool_calls: Option<Json<Value>>,
    pub tool_call_id: Option<String>,
    pub interrupted: bool,
    pub created_at: DateTime<Utc>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub role: &'static str,
    pub content: &'a str,
    pub tool_calls: Option<&'a Value>,
    pub tool_call_id: Option<&'a str>,
    pub interrupted: bool,
}

pub async fn insert(db: impl PgExecutor<'_>, m: &NewMessage<'_>) -> StoreResult<Message> {
    Ok(sqlx::query_as!(
        Message,
        r#"INSERT INTO conversation_messages
               (id, session_id, turn_id, role, content, tool_calls, tool_call_id, interrupted)
           VALUES ($1, $2, $3, $4, $5, $6::text::json, $7, $8)
           RETURNING seq, id, session_id, turn_id, role, content, tool_calls AS "tool_calls: _",
               tool_call_id, interrupted, created_at"#,
        m.id,
        m.session_id,
        m.turn_id,
        m.role,
        m.content,
        m.tool_calls.map(json_text),
        m.tool_call_id,
        m.interrupted,
    )
    .fetch_one(db)
    .await?)
}

/// The session's most recent `limit` messages, oldest first.
pub async fn recent(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    // Newest first, to take the last `limit`, then turned around.
    let mut rows = sqlx::query_as!(
        Message,
        r#"SELECT seq, id, session_id, turn_id, role, content, tool_calls AS "tool_calls: _",
               tool_call_id, interrupted, created_at
           FROM conversation_messages WHERE session_id = $1
           ORDER BY seq DESC LIMIT $2"#,
        session_id,
        limit,
    )
    .fetch_all(db)
    .await?;
    rows.reverse();
    Ok(rows)
}

/// The session's text conversation for `messageHistoryUpdated`, oldest first: user and persona
/// messages with text (tool exchanges and persona messages that only carried calls left out),
/// as `[{"id", "role", "content", "interrupted"}]`. Postgres builds the array, so only those
/// four fields travel, whatever the length of the conversation.
pub async fn text_history(db: impl PgExecutor<'_>, session_id: Uuid) -> StoreResult<Value> {
    Ok(sqlx::query_scalar!(
        r#"SELECT COALESCE(json_agg(json_build_object(
                      'id', id, 'role', role, 'content', content, 'interrupted', interrupted)
                    ORDER BY seq), '[]'::json) AS "texts!"
           FROM conversation_messages
           WHERE session_id = $1 AND role <> 'tool' AND content <> ''"#,
        session_id,
    )
    .fetch_one(db)
    .await?)
}

/// One page of the session's messages, oldest first, with the total count.
pub async fn page(
    db: &mut PgConnection,
    session_id: Uuid,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Message>, i64)> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM conversation_messages WHERE session_id = $1"#,
        session_id,
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        Message,
        r#"SELECT seq, id, session_id, turn_id, role, content, tool_calls AS "tool_calls: _",
               tool_call_id, interrupted, created_at
           FROM conversation_messages WHERE session_id = $1
           ORDER BY seq LIMIT $2 OFFSET $3"#,
        session_id,
        limit,
        offset,
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}

/// The seq of the session's latest user message (0 when none): a turn started for an older one
/// has been overtaken by a newer message.
pub async fn latest_user_seq(db: impl PgExecutor<'_>, session_id: Uuid) -> StoreResult<i64> {
    let seq = sqlx::query_scalar!(
        "SELECT max(seq) FROM conversation_messages WHERE session_id = $1 AND role = 'user'",
        session_id,
    )
    .fetch_one(db)
    .await?;
    Ok(seq.unwrap_or(0))
}

/// Completes a message stored when it began (a persona's reply keeps its place in the
/// conversation from its first word): its text, calls and whether it was cut off, under its
/// final id.
pub async fn complete(db: impl PgExecutor<'_>, id: Uuid, m: &NewMessage<'_>) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE conversation_messages SET id = $2, content = $3, tool_calls = $4::text::json,
             interrupted = $5
         WHERE id = $1",
        id,
        m.id,
        m.content,
        m.tool_calls.map(json_text),
        m.interrupted,
    )
    .execute(db)
    .await?;
    Ok(())
}
