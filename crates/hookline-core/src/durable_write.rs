//! How a background writer keeps what it must write while the database is away: the call log's
//! writers (ends of calls already answered) and a conversation turn's writer (its messages and
//! events). Their callers have moved on, so no one would see the write fail; dropping it would
//! leave a call answered 200 unfinished in the log for good.
//!
//! [`retry`] tries the write again for as long as the failure is an outage
//! ([`crate::error::is_outage`]: the connection lost, Postgres restarting or refusing
//! connections), waiting longer each time up to [`MAX_WAIT`]. The writer holds its batch
//! meanwhile and takes nothing new, so its bounded queue fills and the code queueing into it
//! waits (back-pressure) instead of memory growing. Any other failure is tried once more (a
//! statement can lose a race), then given back to the writer: trying a wrong statement forever
//! would only stop the writer.
//!
//! A write whose commit was sent but whose answer was lost with the connection may be written
//! twice; the batches are built so that this is rare and visible (a message's id is unique, so
//! its second insert fails and is reported), not silent.

use std::future::Future;
use std::time::Duration;

use crate::error::{StoreError, StoreResult};

/// The first wait after an outage's failure; doubled each time.
pub const FIRST_WAIT: Duration = Duration::from_millis(50);
/// The longest wait between two tries: a database back is noticed within it.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// Runs `write` until it succeeds, waiting out outages; returns the error of a write that failed
/// twice for another reason. `what` names the writer in the log.
pub async fn retry<T, F, Fut>(what: &str, mut write: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut wait = FIRST_WAIT;
    let mut outage_failures = 0_u32;
    let mut other_failures = 0_u32;
    loop {
        match write().await {
            Ok(done) => {
                if outage_failures > 0 {
                    tracing::info!(
                        writer = what,
                        tries = outage_failures + 1,
                        "written after the database came back"
                    );
                }
                return Ok(done);
            }
            Err(StoreError::Unavailable) => {
                // Once at the start of an outage, then about once a minute.
                if outage_failures.is_multiple_of(30) {
                    tracing::warn!(writer = what, waiting = ?wait, "the database is not available; holding the write and trying again");
                }
                outage_failures += 1;
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
            }
            Err(e) if other_failures == 0 => {
                tracing::warn!(writer = what, error = %e, "a write failed; trying it once more");
                other_failures += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
