//! When to try a request again, one rule for every client Hookline has (webhook deliveries, the
//! LLM client, a tool's pause after a 429): what an answer's `Retry-After` asks, and otherwise a
//! backoff that doubles from a base up to a cap, with jitter so that the callers a failure hit
//! at once do not all come back at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The wait an answer's `Retry-After` asks for: a number of seconds, or a date (RFC 9110
/// §10.2.3; a date already past is no wait). `None` when the header is absent or unreadable.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// Doubling waits between attempts, from `base` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after `attempts` failed attempts: what `retry_after` asked, capped at `max`;
    /// else the base doubled for each attempt after the first, capped, and then between half and
    /// all of it.
    pub fn wait(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max);
        }
        let exponent = attempts.saturating_sub(1).min(30);
        let full = self.base.saturating_mul(1u32 << exponent).min(self.max);
        full.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn asking(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(retry_after(&asking("7")), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&asking(" 0 ")), Some(Duration::ZERO));
        let later = (Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let waited = retry_after(&asking(&later.replace("+0000", "GMT"))).unwrap();
        assert!(waited > Duration::from_secs(110) && waited <= Duration::from_secs(120));
        assert_eq!(
            retry_after(&asking("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&asking("soon")), None);
        assert_eq!(retry_after(&asking("-3")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn backoff_doubles_caps_jitters_and_honours_retry_after() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        for _ in 0..50 {
            let first = b.wait(1, None);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1));
            let third = b.wait(3, None);
            assert!(third >= Duration::from_secs(2) && third <= Duration::from_secs(4));
            assert!(b.wait(40, None) <= Duration::from_secs(10));
        }
        assert_eq!(
            b.wait(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            b.wait(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
    }
}
