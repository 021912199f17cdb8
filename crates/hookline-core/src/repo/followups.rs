//! `follow_ups`: turns a persona scheduled for itself (`schedule_followup`), claimed when due by
//! one instance under a lease, as deliveries are (see `migrations/0014_follow_ups.sql`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::conversation::FollowUpStatus;
use crate::error::StoreResult;

/// A follow-up as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub id: Uuid,
    pub org_id: Uuid,
    pub session_id: Uuid,
    pub note: String,
    pub due_at: DateTime<Utc>,
    pub status: FollowUpStatus,
    pub turn_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Stores a follow-up of an active session, unless the session already has `max_pending`
/// follow-ups still to run; `None` then (or when the session is not active). The session's row
/// is locked first, so calls scheduling at once are counted one after the other.
pub async fn schedule(
    pool: &sqlx::PgPool,
    org_id: Uuid,
    session_id: Uuid,
    note: &str,
    after: Duration,
    max_pending: i64,
) -> StoreResult<Option<FollowUp>> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "SELECT id FROM sessions WHERE id = $1 AND org_id = $2 FOR NO KEY UPDATE",
        session_id,
        org_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let row = sqlx::query_as!(
        FollowUp,
        r#"INSERT INTO follow_ups (id, org_id, session_id, note, due_at)
           SELECT $1, $2, $3, $4, now() + make_interval(secs => $5)
           FROM sessions s
           WHERE s.id = $3 AND s.org_id = $2 AND s.ended_at IS NULL AND s.expires_at > now()
             AND (SELECT count(*) FROM follow_ups f
                  WHERE f.session_id = $3 AND f.status IN ('pending', 'claimed')) < $6
           RETURNING id, org_id, session_id, note, due_at, status AS "status: _", turn_id, created_at"#,
        Uuid::now_v7(),
        org_id,
        session_id,
        note,
        after.as_secs_f64(),
        max_pending,
    )
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Claims up to `limit` due follow-ups for `holder` (pending ones, and claims whose lease ended).
pub async fn claim_due(
    db: impl PgExecutor<'_>,
    holder: Uuid,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<FollowUp>> {
    let rows = sqlx::query_as!(
        FollowUp,
        // The ids are taken first (ARRAY): joined as a table, the planner read the whole of
        // follow_ups to match 256 ids (9 ms at 10,000 rows), where each is one index look-up.
        r#"UPDATE follow_ups SET status = 'claimed', holder = $1,
               lease_until = now() + make_interval(secs => $2)
           WHERE id = ANY(ARRAY(
               SELECT id FROM follow_ups
               WHERE due_at <= now()
                 AND (status = 'pending' OR (status = 'claimed' AND lease_until < now()))
               ORDER BY due_at
               LIMIT $3
               FOR UPDATE SKIP LOCKED))
           RETURNING id, org_id, session_id, note, due_at, status AS "status: _", turn_id, created_at"#,
        holder,
        lease.as_secs_f64(),
        limit,
    )
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Extends `holder`'s claim; false when it is no longer theirs.
pub async fn renew(
    db: impl PgExecutor<'_>,
    id: Uuid,
    holder: Uuid,
    lease: Duration,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE follow_ups SET lease_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND holder = $2 AND status = 'claimed'",
        id,
        holder,
        lease.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `holder`'s claim started by `turn_id`; false when it is no longer theirs (it ran out
/// and another instance has it, or the session's end cancelled it) or its session is no longer
/// active.
pub async fn start(
    db: impl PgExecutor<'_>,
    id: Uuid,
    holder: Uuid,
    turn_id: Uuid,
) -> StoreResult<bool> {
    let done = sqlx::query!(
        "UPDATE follow_ups f SET status = 'started', turn_id = $3, lease_until = NULL
         FROM sessions s
         WHERE f.id = $1 AND f.holder = $2 AND f.status = 'claimed'
           AND s.id = f.session_id AND s.ended_at IS NULL AND s.expires_at > now()",
        id,
        holder,
        turn_id,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes a follow-up started by `turn_id` due again at once (that turn never began: a user
/// message overtook it).
pub async fn put_back(db: impl PgExecutor<'_>, id: Uuid, turn_id: Uuid) -> StoreResult<()> {
    sqlx::query!(
        "UPDATE follow_ups SET status = 'pending', holder = NULL, turn_id = NULL
         WHERE id = $1 AND turn_id = $2 AND status = 'started'",
        id,
        turn_id,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Cancels what is still to run of a session's follow-ups (its end, or it could not run them).
pub async fn cancel_session(db: impl PgExecutor<'_>, session_id: Uuid) -> StoreResult<u64> {
    let done = sqlx::query!(
        "UPDATE follow_ups SET status = 'cancelled', lease_until = NULL
         WHERE session_id = $1 AND status IN ('pending', 'claimed')",
        session_id,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Gives back `holder`'s claims that have not started (a stopping instance): they are due again
/// at once for the other instances.
pub async fn give_back(db: impl PgExecutor<'_>, holder: Uuid) -> StoreResult<u64> {
    let done = sqlx::query!(
        "UPDATE follow_ups SET status = 'pending', holder = NULL, lease_until = NULL
         WHERE holder = $1 AND status = 'claimed'",
        holder,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A page of a session's follow-ups, oldest first, and how many it has.
pub async fn page(
    db: &mut sqlx::PgConnection,
    session_id: Uuid,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<FollowUp>, i64)> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "total!" FROM follow_ups WHERE session_id = $1"#,
        session_id,
    )
    .fetch_one(&mut *db)
    .await?;
    let rows = sqlx::query_as!(
        FollowUp,
        r#"SELECT id, org_id, session_id, note, due_at, status AS "status: _", turn_id, created_at
           FROM follow_ups WHERE session_id = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"#,
        session_id,
        limit,
        offset,
    )
    .fetch_all(&mut *db)
    .await?;
    Ok((rows, total))
}
