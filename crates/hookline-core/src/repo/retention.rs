//! Deleting what the retention settings no longer keep, a batch at a time: session tokens past
//! their use, and sessions over (ended, or expired) before a cutoff with their call log, events
//! and messages. A session of a long conversation can hold hundreds of thousands of rows, so
//! its rows go first, at most `limit` of each table per statement (each statement its own short
//! transaction, locking only the rows it deletes), and its row last, once nothing refers to it.
//!
//! Several instances may sweep at once: each statement takes its rows `FOR UPDATE SKIP LOCKED`,
//! so two sweeps delete different rows rather than wait for each other.
//!
//! A session is over at `LEAST(expires_at, COALESCE(ended_at, expires_at))`, the expression
//! `sessions_over_idx` (migration 0009) indexes, so the sessions to clear are found without
//! reading the others. The deletes are planned on indexes ([`plan_on_indexes`]): left to
//! itself, Postgres found a batch's rows with a sequential scan of the call log or the events
//! (cheap while the old rows sit at the front of the table, not once they are spread among the
//! active sessions' rows or the statistics lag behind a sweep's deletes).

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};

use crate::error::StoreResult;
use crate::repo::tool_calls::plan_on_indexes;

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

/// What one statement of [`delete_session_rows`] deleted, by table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SessionRows {
    pub calls: u64,
    pub events: u64,
    pub messages: u64,
}

/// Deletes up to `limit` call-log rows, `limit` events and `limit` conversation messages of
/// sessions over before `cutoff`, in one statement.
pub async fn delete_session_rows(
    pool: &PgPool,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> StoreResult<SessionRows> {
    let mut tx = pool.begin().await?;
    plan_on_indexes(&mut tx).await?;
    let row = sqlx::query!(
        r#"WITH over AS MATERIALIZED (
              SELECT id FROM sessions
              WHERE LEAST(expires_at, COALESCE(ended_at, expires_at)) < $1),
            calls AS (
              DELETE FROM tool_calls t USING (
                  SELECT t.id FROM over JOIN tool_calls t ON t.session_id = over.id
                  LIMIT $2 FOR UPDATE OF t SKIP LOCKED) old
              WHERE t.id = old.id RETURNING 1),
            events AS (
              DELETE FROM session_events e USING (
                  SELECT e.session_id, e.seq FROM over JOIN session_events e ON e.session_id = over.id
                  LIMIT $2 FOR UPDATE OF e SKIP LOCKED) old
              WHERE e.session_id = old.session_id AND e.seq = old.seq RETURNING 1),
            msgs AS (
              DELETE FROM conversation_messages m USING (
                  SELECT m.seq FROM over JOIN conversation_messages m ON m.session_id = over.id
                  LIMIT $2 FOR UPDATE OF m SKIP LOCKED) old
              WHERE m.seq = old.seq RETURNING 1)
           SELECT (SELECT count(*) FROM calls) AS "calls!",
                  (SELECT count(*) FROM events) AS "events!",
                  (SELECT count(*) FROM msgs) AS "messages!""#,
        cutoff,
        limit,
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(SessionRows {
        calls: count(row.calls),
        events: count(row.events),
        messages: count(row.messages),
    })
}

/// Deletes up to `limit` sessions over before `cutoff` whose call log, events and messages are
/// gone already (the cascade then removes only their turn's row, and whatever a late write
/// added meanwhile).
pub async fn delete_sessions(pool: &PgPool, cutoff: DateTime<Utc>, limit: i64) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    plan_on_indexes(&mut tx).await?;
    let deleted = sqlx::query!(
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
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}
