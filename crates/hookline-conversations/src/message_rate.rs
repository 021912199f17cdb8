//! How fast one session may post user messages: a token bucket per session (the burst, refilled
//! at a steady rate), so a holder of a session's client secret cannot make its LLM run turns at
//! whatever rate it likes. Kept in this instance's memory: with N instances behind a load
//! balancer a session may post up to N times the rate. A bucket left alone until it would be full
//! again is forgotten, so the memory follows the sessions that are posting, not all sessions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Buckets held at most; past it the oldest are forgotten (their sessions start full again).
const MAX_BUCKETS: u64 = 100_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct MessageRate {
    per_second: f64,
    burst: f64,
    buckets: moka::sync::Cache<Uuid, Arc<Mutex<Bucket>>>,
}

impl MessageRate {
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst);
        let refill = Duration::from_secs_f64((burst / per_second).clamp(1.0, 86_400.0));
        Self {
            per_second,
            burst,
            buckets: moka::sync::Cache::builder()
                .max_capacity(MAX_BUCKETS)
                .time_to_idle(refill)
                .build(),
        }
    }

    /// Takes one message's token for `session_id`; when the bucket is empty, how long until the
    /// next token.
    pub fn take(&self, session_id: Uuid) -> Result<(), Duration> {
        let now = Instant::now();
        let bucket = self.buckets.get_with(session_id, || {
            Arc::new(Mutex::new(Bucket {
                tokens: self.burst,
                at: now,
            }))
        });
        let mut bucket = bucket.lock().expect("never poisoned");
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - bucket.tokens) / self.per_second,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let rate = MessageRate::new(2.0, 3);
        let session = Uuid::now_v7();
        for _ in 0..3 {
            rate.take(session).unwrap();
        }
        let wait = rate.take(session).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another session has its own bucket.
        rate.take(Uuid::now_v7()).unwrap();
        std::thread::sleep(wait);
        rate.take(session).unwrap();
    }
}
