//! Ending a session, the one way every service does it (the end route, the `end_call` system tool,
//! the conversation runtime): the session is marked ended at once, so no new call starts, and
//! gets exactly one `sessionEnded`, numbered after the events of every call answered before the
//! end (see [`crate::repo::events::announce_ends`]). Its follow-ups still to run are cancelled.

use std::time::Duration;

use sqlx::PgPool;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::repo::sessions::{self, Session};
use crate::repo::{events, followups};

/// How long an awaited call may still run after its session ended (the longest tool timeout, with
/// a margin). If the process running it dies before recording its end, `sessionEnded` is written
/// anyway once this has passed.
pub const LONGEST_CALL: Duration = Duration::from_secs(65);

/// Ends the organization's session (idempotent). `None` when there is no such session.
pub async fn end(pool: &PgPool, org_id: Uuid, id: Uuid) -> StoreResult<Option<Session>> {
    let mut tx = pool.begin().await?;
    // The update takes the session row's lock first; the check for running calls that follows
    // then reads what every earlier writer of this session committed.
    let Some(session) = sessions::end(&mut *tx, org_id, id).await? else {
        return Ok(None);
    };
    let notes = events::announce_ends(&mut tx, &[id], false).await?;
    followups::cancel_session(&mut *tx, id).await?;
    tx.commit().await?;
    announce(pool, &notes).await;
    if !session.end_announced && notes.is_empty() {
        let pool = pool.clone();
        tokio::spawn(async move {
            tokio::time::sleep(LONGEST_CALL).await;
            if let Err(e) = announce_overdue(&pool, id).await {
                tracing::warn!(error = %e, session_id = %id, "could not write a late sessionEnded");
            }
        });
    }
    Ok(Some(session))
}

/// Writes `sessionEnded` for a session that ended and still has none, whatever still runs.
async fn announce_overdue(pool: &PgPool, id: Uuid) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let notes = events::announce_ends(&mut tx, &[id], true).await?;
    tx.commit().await?;
    announce(pool, &notes).await;
    Ok(())
}

/// Writes `sessionEnded` for every session that ended more than [`LONGEST_CALL`] ago without one
/// (its process died with a call in flight); returns how many. Run by the janitor.
pub async fn announce_all_overdue(pool: &PgPool) -> StoreResult<usize> {
    let ids = sessions::ended_unannounced(pool, LONGEST_CALL).await?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let notes = events::announce_ends(&mut tx, &ids, true).await?;
    tx.commit().await?;
    announce(pool, &notes).await;
    Ok(notes.len())
}

async fn announce(pool: &PgPool, notes: &[String]) {
    if let Err(e) = events::notify(pool, notes).await {
        // Streams still find the event on their next look at the table.
        tracing::warn!(error = %e, "could not announce sessionEnded");
    }
}
