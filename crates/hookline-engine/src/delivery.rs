//! Durable delivery of fire-and-forget calls. A call is stored before its 202; workers in every
//! process claim due calls with `FOR UPDATE SKIP LOCKED` under a lease, so no two deliver one
//! attempt and a process that dies only delays its calls until the lease runs out. Connection
//! errors, timeouts, 5xx and 429 are retried with exponential backoff and jitter (`Retry-After`
//! honoured, up to the longest backoff); other answers settle the call.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

use hookline_core::repo::events;
use hookline_core::repo::tool_calls::{self, Due, Finish};
use hookline_core::settings::DeliverySettings;
use hookline_core::StoreError;

use crate::engine::{attempt_entry, call_event_data, end_event, Engine};
use crate::outcome::{ErrorKind, Outcome};

const IDLE_POLL: Duration = Duration::from_millis(250);
const STATS_EVERY: Duration = Duration::from_secs(5);
/// How long a stopping process lets attempts in flight finish before giving them back.
const DRAIN: Duration = Duration::from_secs(20);

/// Runs the delivery workers until `stop` turns true; then finishes or gives back what it holds.
pub fn spawn(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = Uuid::now_v7();
        let settings = engine.settings.delivery.clone();
        let workers = settings.workers;
        let permits = Arc::new(Semaphore::new(workers));
        let mut stats_at = tokio::time::Instant::now();
        while !*stop.borrow() {
            if stats_at.elapsed() >= STATS_EVERY {
                stats_at = tokio::time::Instant::now();
                if let Ok((depth, oldest)) = tool_calls::queue_stats(&engine.pool).await {
                    crate::metrics::queue(depth, oldest);
                }
            }
            let free = permits.available_permits();
            let claimed = if free == 0 {
                Vec::new()
            } else {
                tool_calls::claim(
                    &engine.pool,
                    owner,
                    settings.lease.as_secs_f64(),
                    free.min(64) as i64,
                )
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not claim due calls");
                    Vec::new()
                })
            };
            let asked = free.min(64);
            let full = !claimed.is_empty() && claimed.len() == asked;
            for due in claimed {
                let permit = permits.clone().acquire_owned().await.expect("never closed");
                let engine = engine.clone();
                let settings = settings.clone();
                tokio::spawn(async move {
                    if let Err(e) = deliver(&engine, &settings, &due).await {
                        tracing::error!(error = %e, call_id = %due.id, "a delivery attempt could not be recorded; it will run again when its lease ends");
                    }
                    drop(permit);
                });
            }
            if !full {
                tokio::select! {
                    () = engine.wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        // Stopping: let attempts in flight finish, then give back whatever is still held.
        let all = u32::try_from(workers).unwrap_or(u32::MAX);
        let drained = tokio::time::timeout(DRAIN, permits.acquire_many(all))
            .await
            .is_ok();
        match tool_calls::release(&engine.pool, owner).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "gave back calls still in flight"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not give back held calls; their leases will run out")
            }
        }
        tracing::info!(drained, "delivery workers stopped");
    })
}

/// The wait before attempt `n + 1` after `n` attempts: the base doubled each time, capped, with
/// jitter (between half and all of it); or what `Retry-After` asked, capped likewise.
pub fn backoff(settings: &DeliverySettings, attempts: i32, retry_after: Option<u64>) -> Duration {
    if let Some(seconds) = retry_after {
        return Duration::from_secs(seconds).min(settings.backoff_max);
    }
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let full = settings
        .backoff_base
        .saturating_mul(1u32 << exponent)
        .min(settings.backoff_max);
    full.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

async fn deliver(
    engine: &Engine,
    settings: &DeliverySettings,
    due: &Due,
) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let session = engine
        .caches
        .session(&engine.pool, due.org_id, due.session_id)
        .await?;
    let tool = session.as_ref().and_then(|s| s.config.tool(&due.tool_name));
    let attempts = due.attempts + 1;
    let (request, outcome) = match tool {
        Some(tool) => {
            engine
                .attempt(
                    due.org_id,
                    &tool.tool,
                    &due.arguments.0,
                    &due.id.to_string(),
                )
                .await
        }
        None => {
            let mut gone = Outcome::failed(
                ErrorKind::Connection,
                "the call's session or tool no longer exists",
            );
            // Nothing to send, now or later.
            gone.retryable = false;
            (None, gone)
        }
    };
    let ms = started.elapsed().as_millis() as i64;
    let now = Utc::now();
    let retry = !outcome.completed
        && outcome.retryable
        && u32::try_from(attempts).unwrap_or(u32::MAX) < settings.max_attempts;
    let next_attempt_at = retry.then(|| {
        let wait = backoff(settings, attempts, outcome.retry_after);
        now + chrono::Duration::from_std(wait).unwrap_or_default()
    });
    let status = match (outcome.completed, retry) {
        (true, _) => "completed",
        (false, true) => "pending",
        (false, false) => "failed",
    };
    let settled = status != "pending";
    if settled {
        // The call's toolCallStarted may still sit in this instance's call-log queue; it must be
        // numbered before the end.
        engine.log.flush().await;
    }
    let total_ms = (now - due.created_at).num_milliseconds();
    let mut tx = engine.pool.begin().await?;
    tool_calls::finish(
        &mut *tx,
        &Finish {
            id: due.id,
            status: status.into(),
            request,
            response: outcome.response.clone(),
            result: Some(outcome.result.clone()),
            error: outcome.error.clone(),
            http_status: outcome.http_status.map(i32::from),
            truncated: outcome.truncated,
            execution_time_ms: if settled { total_ms } else { ms },
            attempts,
            attempt: Some(attempt_entry(now, &outcome, ms)),
            next_attempt_at,
            completed_at: settled.then_some(now),
        },
    )
    .await?;
    let mut notes = Vec::new();
    if settled {
        if let Some(tool) = tool {
            let (event, data) = end_event(&outcome, total_ms, |extra| {
                call_event_data(
                    due.session_id,
                    &due.tool_call_id,
                    &tool.tool.definition,
                    &due.arguments.0,
                    Some(extra),
                )
            });
            let new = events::NewEvent {
                session_id: due.session_id,
                event,
                data,
            };
            notes = events::append_many(&mut tx, &[new]).await?;
        }
    }
    tx.commit().await?;
    if let Err(e) = events::notify(&engine.pool, &notes).await {
        tracing::warn!(error = %e, "could not announce a delivered call");
    }
    crate::metrics::delivery_attempt(&outcome, settled);
    if settled {
        crate::metrics::record_call("server", &outcome, started.elapsed());
    }
    tracing::debug!(call_id = %due.id, attempts, status, "delivery attempt");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let s = DeliverySettings {
            max_attempts: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(10),
            workers: 1,
            lease: Duration::from_secs(90),
        };
        for _ in 0..50 {
            let first = backoff(&s, 1, None);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let third = backoff(&s, 3, None);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
            assert!(backoff(&s, 20, None) <= Duration::from_secs(10));
        }
        assert_eq!(backoff(&s, 1, Some(3)), Duration::from_secs(3));
        assert_eq!(backoff(&s, 1, Some(3600)), Duration::from_secs(10));
    }
}
