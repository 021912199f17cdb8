//! Cleans up what has run out: session tokens an hour after they expired, and sessions, with
//! their call log, events and messages, once the retention (`HOOKLINE_SESSION_RETENTION_DAYS`)
//! has passed since they ended or expired. Rows go [`BATCH`] a statement, each statement a short
//! transaction of its own ([`hookline_core::repo::retention`]), so a sweep holds no long locks
//! and every instance may run one. It also writes the `sessionEnded` of a session whose process
//! died while one of its calls was in flight.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use hookline_core::db::away::Away;
use hookline_core::repo::retention;
use hookline_core::{StoreError, StoreResult};

pub const TOKEN_GRACE: chrono::Duration = chrono::Duration::hours(1);
/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;
const EVERY: Duration = Duration::from_secs(60);

/// What a sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub tokens: u64,
    pub calls: u64,
    pub events: u64,
    pub messages: u64,
    pub sessions: u64,
}

/// One sweep, `batch` rows a statement; `retention` `None` keeps every session.
pub async fn sweep(pool: &PgPool, retention: Option<Duration>, batch: i64) -> StoreResult<Swept> {
    let now = Utc::now();
    let mut swept = Swept {
        tokens: drain(batch, || {
            retention::delete_tokens(pool, now - TOKEN_GRACE, batch)
        })
        .await?,
        ..Swept::default()
    };
    // A retention too long to subtract from now keeps everything.
    let Some(cutoff) = retention
        .and_then(|kept| chrono::Duration::from_std(kept).ok())
        .and_then(|kept| now.checked_sub_signed(kept))
    else {
        return Ok(swept);
    };
    let full = u64::try_from(batch).unwrap_or(0);
    loop {
        let rows = retention::delete_session_rows(pool, cutoff, batch).await?;
        swept.calls += rows.calls;
        swept.events += rows.events;
        swept.messages += rows.messages;
        if rows.calls < full && rows.events < full && rows.messages < full {
            break;
        }
    }
    swept.sessions = drain(batch, || retention::delete_sessions(pool, cutoff, batch)).await?;
    Ok(swept)
}

/// Runs a batch's statement until a batch comes back short; returns the rows deleted.
async fn drain<F, Fut>(batch: i64, mut statement: F) -> StoreResult<u64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<u64>>,
{
    let mut total = 0;
    loop {
        let deleted = statement().await?;
        total += deleted;
        if deleted < u64::try_from(batch).unwrap_or(0) {
            return Ok(total);
        }
    }
}

/// Sweeps every minute for as long as the process runs. A minute when the database is known to
/// be away (`db::away`) is skipped: the sweep would only fail, and the outage is said once.
pub fn spawn(pool: PgPool, retention: Option<Duration>, away: Away) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if away.is_away() {
                continue;
            }
            match sweep(&pool, retention, BATCH).await {
                Ok(swept) if swept == Swept::default() => {}
                Ok(swept) => {
                    tracing::info!(?swept, "removed expired session tokens and old sessions")
                }
                Err(StoreError::Unavailable) => away.noticed(),
                Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
            }
            match hookline_core::session_end::announce_all_overdue(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "wrote overdue sessionEnded events"),
                Err(StoreError::Unavailable) => away.noticed(),
                Err(e) => tracing::warn!(error = %e, "could not write overdue sessionEnded events"),
            }
        }
    })
}
