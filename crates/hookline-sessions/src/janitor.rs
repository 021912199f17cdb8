//! Cleans up what has run out: session tokens an hour after they expired, and sessions (with
//! their call log and events) `SESSION_RETENTION` after they ended or expired. It also writes the
//! `sessionEnded` of a session whose process died while one of its calls was in flight.

use std::time::Duration;

use sqlx::PgPool;

pub const TOKEN_GRACE: chrono::Duration = chrono::Duration::hours(1);
pub const SESSION_RETENTION: chrono::Duration = chrono::Duration::days(7);
const EVERY: Duration = Duration::from_secs(300);

/// One sweep; returns (tokens, sessions) deleted.
pub async fn sweep(pool: &PgPool) -> Result<(u64, u64), hookline_core::StoreError> {
    let mut conn = pool.acquire().await?;
    hookline_core::repo::sessions::sweep(&mut conn, TOKEN_GRACE, SESSION_RETENTION).await
}

/// Sweeps every few minutes for as long as the process runs.
pub fn spawn(pool: PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match sweep(&pool).await {
                Ok((0, 0)) => {}
                Ok((tokens, sessions)) => {
                    tracing::info!(
                        tokens,
                        sessions,
                        "removed expired session tokens and old sessions"
                    );
                }
                Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
            }
            match hookline_core::session_end::announce_all_overdue(&pool).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "wrote overdue sessionEnded events"),
                Err(e) => tracing::warn!(error = %e, "could not write overdue sessionEnded events"),
            }
        }
    })
}
