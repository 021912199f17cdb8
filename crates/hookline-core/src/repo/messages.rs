//! The conversation of a session with a built-in runtime: user messages, persona replies (with
//! the tool calls the LLM asked for) and tool results, in the order they were stored.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::conversation::{Role, StoredCall};
use crate::error::StoreResult;

#[derive(Debug, Clone)]
pub struct Message {
    pub seq: i64,
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub role: Role,
    pub content: String,
    /// A persona message's calls.
    pub tool_calls: Option<Json<Vec<StoredCall>>>,
    pub tool_call_id: Option<String>,
    /// A tool message whose call failed or was refused.
    pub is_error: bool,
    pub interrupted: bool,
    pub created_at: DateTime<Utc>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub role: Role,
    pub content: &'a str,
    pub tool_calls: Option<&'a [StoredCall]>,
    pub tool_call_id: Option<&'a str>,
    pub is_error: bool,
    pub interrupted: bool,
}

/// A user message as [`accept_user`] stores it, with its `messageStreamEvent`'s data.
pub struct UserMessage<'a> {
    pub id: Uuid,
    pub session_id: Uuid,
    pub turn_id: Uuid,
    pub content: &'a str,
    /// The `messageStreamEvent` that tells the message, as JSON text.
    pub stream_event: &'a str,
    /// `messageHistoryUpdated`'s timestamp, as its JSON string (without the quotes).
    pub timestamp: &'a str,
}

/// Where [`accept_user`] stored a message: its place in the conversation and its last event.
#[derive(Debug, Clone, Copy)]
pub struct Accepted {
    pub seq: i64,
    pub last_event: i64,
}

/// Stores a user message with its two events, `messageStreamEvent` then `messageHistoryUpdated`
/// (the text conversation, built by Postgres), in one statement: one round trip, and one commit
/// without a transaction around it. Nothing is stored unless the session is active at that
/// moment (`None`), so a message never lands on an ended session. The events are numbered under
/// the session row's lock, held to the commit, as [`crate::repo::events::append_many`] numbers
/// them; the session being active, it has no `sessionEnded` to announce.
pub async fn accept_user(
    db: impl PgExecutor<'_>,
    m: &UserMessage<'_>,
) -> StoreResult<Option<Accepted>> {
    // The history is read beside the insert, which the same statement cannot see: the new
    // message is added to it from the insert's RETURNING.
    let row = sqlx::query!(
        r#"WITH s AS (
              UPDATE sessions SET event_seq = event_seq + 2
              WHERE id = $2 AND ended_at IS NULL AND expires_at > now()
              RETURNING event_seq - 2 AS base),
            msg AS (
              INSERT INTO conversation_messages (id, session_id, turn_id, role, content, interrupted)
              SELECT $1::uuid, $2, $3::uuid, 'user', $4::text, false FROM s
              RETURNING seq, id, role, content, interrupted),
            texts AS (
              SELECT COALESCE(json_agg(json_build_object(
                         'id', id, 'role', role, 'content', content, 'interrupted', interrupted)
                       ORDER BY seq), '[]'::json) AS messages
              FROM (SELECT seq, id, role, content, interrupted FROM conversation_messages
                    WHERE session_id = $2 AND role <> 'tool' AND content <> ''
                    UNION ALL SELECT seq, id, role, content, interrupted FROM msg) m),
            ev AS (
              INSERT INTO session_events (session_id, seq, event, data)
              SELECT $2, s.base + 1, 'messageStreamEvent', $5::text::json FROM s
              UNION ALL
              SELECT $2, s.base + 2, 'messageHistoryUpdated',
                     json_build_object('messages', texts.messages, 'timestamp', $6::text)
              FROM s, texts)
           SELECT msg.seq AS "seq!", s.base + 2 AS "last_event!" FROM msg, s"#,
        m.id,
        m.session_id,
        m.turn_id,
        m.content,
        m.stream_event,
        m.timestamp,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Accepted {
        seq: r.seq,
        last_event: r.last_event,
    }))
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
        r#"SELECT seq, id, session_id, turn_id, role AS "role: _", content,
               tool_calls AS "tool_calls: _", tool_call_id, is_error, interrupted, created_at
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
        r#"SELECT seq, id, session_id, turn_id, role AS "role: _", content,
               tool_calls AS "tool_calls: _", tool_call_id, is_error, interrupted, created_at
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
