//! Intercom's rate-limit headers: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//! `X-RateLimit-Reset` (the Unix second at which the window refills).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};

/// Clock difference beyond which the server's `Date` header is trusted over the local clock.
const SKEW_TOLERANCE_SECS: f64 = 2.0;

/// The rate-limit window as the latest response described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// When the window refills, on the local monotonic clock.
    pub reset_at: Option<Instant>,
}

/// The latest [`RateLimitStatus`], shared by all calls of one client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    status: Mutex<RateLimitStatus>,
}

impl RateLimiter {
    pub(crate) fn new() -> Self {
        RateLimiter {
            status: Mutex::new(RateLimitStatus {
                limit: None,
                remaining: None,
                reset_at: None,
            }),
        }
    }

    pub(crate) fn status(&self) -> RateLimitStatus {
        *self.status.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns how long to wait before the next request, when the window is used up.
    pub(crate) fn wait_before_request(&self) -> Option<Duration> {
        let status = self.status();
        if status.remaining != Some(0) {
            return None;
        }
        let wait = status.reset_at?.checked_duration_since(Instant::now())?;
        (!wait.is_zero()).then_some(wait)
    }

    /// Records the rate-limit headers of a response and returns the time until the window
    /// resets, when the headers include it.
    pub(crate) fn record(&self, headers: &HeaderMap) -> Option<Duration> {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let until_reset = retry_after(headers).or_else(|| {
            let reset = number("X-RateLimit-Reset")?;
            Some(until_unix_second(reset, server_now(headers)))
        });

        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limit) = number("X-RateLimit-Limit") {
            status.limit = Some(limit);
        }
        if let Some(remaining) = number("X-RateLimit-Remaining") {
            status.remaining = Some(remaining);
        }
        if let Some(wait) = until_reset {
            status.reset_at = Some(Instant::now() + wait);
        }
        until_reset
    }
}

/// Reads `Retry-After` in seconds, when present.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Returns the current Unix time in seconds: the local clock, unless the response's `Date`
/// header differs from it by more than the tolerance (then the server's clock, which set the
/// reset time, is used).
fn server_now(headers: &HeaderMap) -> f64 {
    let local = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    let server = headers
        .get(DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|date| date.timestamp() as f64);
    match server {
        // The Date header has whole seconds, so the middle of that second is the best estimate.
        Some(server) if (server - local).abs() > SKEW_TOLERANCE_SECS => server + 0.5,
        _ => local,
    }
}

fn until_unix_second(reset: u64, now: f64) -> Duration {
    let wait = reset as f64 - now;
    if wait > 0.0 {
        Duration::from_secs_f64(wait)
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn record_reads_headers() {
        let limiter = RateLimiter::new();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut headers = HeaderMap::new();
        headers.insert("X-RateLimit-Limit", HeaderValue::from_static("166"));
        headers.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
        headers.insert(
            "X-RateLimit-Reset",
            HeaderValue::from_str(&(now + 3).to_string()).unwrap(),
        );

        let wait = limiter.record(&headers).expect("reset header gives a wait");

        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(3),
            "wait {wait:?}"
        );
        let status = limiter.status();
        assert_eq!(status.limit, Some(166));
        assert_eq!(status.remaining, Some(0));
        assert!(limiter.wait_before_request().is_some());
    }

    #[test]
    fn retry_after_header_wins() {
        let limiter = RateLimiter::new();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        headers.insert("X-RateLimit-Reset", HeaderValue::from_static("1"));

        assert_eq!(limiter.record(&headers), Some(Duration::from_secs(2)));
    }

    #[test]
    fn past_reset_means_no_wait() {
        let limiter = RateLimiter::new();
        let mut headers = HeaderMap::new();
        headers.insert("X-RateLimit-Remaining", HeaderValue::from_static("0"));
        headers.insert("X-RateLimit-Reset", HeaderValue::from_static("1000"));

        assert_eq!(limiter.record(&headers), Some(Duration::ZERO));
        assert_eq!(limiter.wait_before_request(), None);
    }
}
