//! Deleting what the retention settings no longer keep, a batch at a time: session tokens past
//! their use, and sessions over (ended, or expired) before a cutoff with their call log, events
//! and messages. A session of a long conversation can hold hundreds of thousands of rows, so
//! its rows go first, `limit` per statement (each its own short transaction, locking only the
//! rows it deletes), and its row last, once nothing refers to it.
//!
//! Several instances may sweep at once: each statement takes its rows `FOR UPDATE SKIP LOCKED`,
//! so two sweeps delete different rows rather than wait for each other.
//!
//! A session is over at `LEAST(expires_at, COALESCE(ended_at, expires_at))`, the expression
//! `sessions_over_idx` (migration 0009) indexes, so the sessions to clear are found without
//! reading the others.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::error::StoreResult;

/// Deletes up to `limit` session tokens that expired before `cutoff`.
pub async fn delete_tokens(
    db: impl PgExecutor<'_>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM session_tokens WHERE token_hash IN (
             SELECT token_hash FROM session_tokens WHERE expires_at < $1
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
        cutoff,
        limit,
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` events of sessions over before `cutoff`.
pub async fn delete_events(
    db: impl PgExecutor<'_>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM session_events e USING (
             SELECT e.session_id, e.seq FROM sessions s
             JOIN session_events e ON e.session_id = s.id
             WHERE LEAST(s.expires_at, COALESCE(s.ended_at, s.expires_at)) < $1
             LIMIT $2 FOR UPDATE OF e SKIP LOCKED) old
         WHERE e.session_id = old.session_id AND e.seq = old.seq",
        cutoff,
        limit,
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` call-log rows of sessions over before `cutoff`.
pub async fn delete_calls(
    db: impl PgExecutor<'_>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM tool_calls t USING (
             SELECT t.id FROM sessions s
             JOIN tool_calls t ON t.session_id = s.id
             WHERE LEAST(s.expires_at, COALESCE(s.ended_at, s.expires_at)) < $1
             LIMIT $2 FOR UPDATE OF t SKIP LOCKED) old
         WHERE t.id = old.id",
        cutoff,
        limit,
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` conversation messages of sessions over before `cutoff`.
pub async fn delete_messages(
    db: impl PgExecutor<'_>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM conversation_messages m USING (
             SELECT m.seq FROM sessions s
             JOIN conversation_messages m ON m.session_id = s.id
             WHERE LEAST(s.expires_at, COALESCE(s.ended_at, s.expires_at)) < $1
             LIMIT $2 FOR UPDATE OF m SKIP LOCKED) old
         WHERE m.seq = old.seq",
        cutoff,
        limit,
    )
    .execute(db)
    .await?
    .rows_affected())
}

/// Deletes up to `limit` sessions over before `cutoff` whose call log, events and messages are
/// gone already (the cascade then removes only their turn's row, and whatever a late write
/// added meanwhile).
pub async fn delete_sessions(
    db: impl PgExecutor<'_>,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<u64> {
    Ok(sqlx::query!(
        "DELETE FROM sessions WHERE id IN (
             SELECT s.id FROM sessions s
             WHERE LEAST(s.expires_at, COALESCE(s.ended_at, s.expires_at)) < $1
               AND NOT EXISTS (SELECT 1 FROM tool_calls t WHERE t.session_id = s.id)
               AND NOT EXISTS (SELECT 1 FROM session_events e WHERE e.session_id = s.id)
               AND NOT EXISTS (SELECT 1 FROM conversation_messages m WHERE m.session_id = s.id)
             LIMIT $2 FOR UPDATE SKIP LOCKED)",
        cutoff,
        limit,
    )
    .execute(db)
    .await?
    .rows_affected())
}
