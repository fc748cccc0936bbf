//! The per-window request limit behind `X-RateLimit-*` headers and 429 `rate_limit_exceeded`.
//!
//! A window opens with the first request after the previous one ended and lasts a fixed time
//! (10 seconds by default, as Intercom enforces its per-minute budget in 10-second windows).

use std::sync::Mutex;
use std::time::Duration;

/// The outcome of one request against the limit, with the values for the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// Requests allowed per window (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Requests left in the window (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// Unix seconds at which the window refills (`X-RateLimit-Reset`).
    pub reset_at: i64,
}

#[derive(Debug)]
struct Window {
    started_ms: i64,
    used: u32,
}

/// A request counter per fixed window.
#[derive(Debug)]
pub struct RateLimiter {
    window_ms: i64,
    window: Mutex<Option<Window>>,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        RateLimiter {
            window_ms: window.as_millis().max(1) as i64,
            window: Mutex::new(None),
        }
    }

    /// Counts one request at `now_ms` against `limit` requests per window.
    pub fn check(&self, limit: u32, now_ms: i64) -> RateDecision {
        let mut guard = self.window.lock().expect("rate limiter lock");
        let window = match guard.as_mut() {
            Some(window) if now_ms < window.started_ms + self.window_ms => window,
            _ => guard.insert(Window {
                started_ms: now_ms,
                used: 0,
            }),
        };
        let reset_at = (window.started_ms + self.window_ms + 999).div_euclid(1000);
        let allowed = window.used < limit;
        if allowed {
            window.used += 1;
        }
        RateDecision {
            allowed,
            limit,
            remaining: limit.saturating_sub(window.used),
            reset_at,
        }
    }

    /// Forgets the current window, so the next request opens a fresh one.
    pub fn reset(&self) {
        *self.window.lock().expect("rate limiter lock") = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_rejects_past_budget() {
        let limiter = RateLimiter::new(Duration::from_secs(10));
        let first = limiter.check(2, 1_000);
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert_eq!(first.reset_at, 11);
        assert!(limiter.check(2, 2_000).allowed);
        let third = limiter.check(2, 3_000);
        assert!(!third.allowed);
        assert_eq!(third.remaining, 0);
    }

    #[test]
    fn window_refills_after_its_end() {
        let limiter = RateLimiter::new(Duration::from_secs(10));
        assert!(limiter.check(1, 0).allowed);
        assert!(!limiter.check(1, 9_999).allowed);
        let next = limiter.check(1, 10_000);
        assert!(next.allowed);
        assert_eq!(next.reset_at, 20);
    }
}
