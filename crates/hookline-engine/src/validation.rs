//! Argument checks off the async runtime, bounded in concurrency and time.
//!
//! Validation is CPU work whose cost depends on a customer's schema and an LLM's arguments. The
//! definition-time budget (`hookline_schema::expansion`) keeps it small; a check that is bounded
//! small work (`ArgumentValidator::is_cheap_for`, the usual case) runs where the call runs, and
//! every other check, and every compile, is kept off the runtime's worker threads: it runs on a
//! blocking thread, at most [`PARALLEL`] at
//! once, and a caller waits at most [`TIME_BUDGET`] (for a permit and the check together) before
//! its call fails as `invalid_arguments`. A check cannot be interrupted once it runs; it keeps its
//! permit until it ends, so a slow one can only ever occupy its own slot.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use hookline_schema::Violations;

/// Most argument checks running at once in one process.
pub const PARALLEL: usize = 4;
/// Longest a caller waits for its check.
pub const TIME_BUDGET: Duration = Duration::from_secs(2);

pub struct Checker {
    permits: Arc<Semaphore>,
    budget: Duration,
}

impl Default for Checker {
    fn default() -> Self {
        Self::new(PARALLEL, TIME_BUDGET)
    }
}

impl Checker {
    pub fn new(parallel: usize, budget: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(parallel)),
            budget,
        }
    }

    /// Runs `check` on a blocking thread; its problems, or one under `arguments` when it could
    /// not finish within the budget.
    pub async fn run(&self, check: impl FnOnce() -> Violations + Send + 'static) -> Violations {
        let permits = self.permits.clone();
        let job = async move {
            let permit = permits.acquire_owned().await.expect("never closed");
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                check()
            })
            .await
        };
        match tokio::time::timeout(self.budget, job).await {
            Ok(Ok(found)) => found,
            Ok(Err(panicked)) => {
                tracing::error!(error = %panicked, "an argument check failed");
                Violations::single("arguments", "could not be checked (an error on our side)")
            }
            Err(_) => Violations::single(
                "arguments",
                format!(
                    "could not be checked within {} seconds; the tool's schema or the arguments \
                     are too large to validate",
                    self.budget.as_secs_f32()
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_check_neither_blocks_the_runtime_nor_the_caller_past_the_budget() {
        let checker = Checker::new(1, Duration::from_millis(200));
        // On a single-threaded runtime, a ticker only advances if the check runs elsewhere.
        let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = ticks.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        let started = Instant::now();
        let found = checker
            .run(|| {
                std::thread::sleep(Duration::from_secs(1));
                Violations::new()
            })
            .await;
        assert!(started.elapsed() < Duration::from_millis(900));
        assert_eq!(found.errors()[0].field, "arguments");
        assert!(found.errors()[0].message.contains("within 0.2 seconds"));
        assert!(ticks.load(std::sync::atomic::Ordering::Relaxed) >= 5);
        // The slow check still holds the only permit: the next caller fails at the budget too.
        let found = checker.run(Violations::new).await;
        assert!(!found.is_empty());
        ticker.abort();
    }
}
