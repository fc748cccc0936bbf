//! The retry policy shared by both connectors: exponential backoff with full jitter, bounded in
//! attempts and in total time, built on backon.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder, Retryable};
use tracing::warn;

use super::ErrorClass;

/// How a connector retries transient failures.
///
/// Delays grow exponentially from `min_delay` up to `max_delay`; each delay is drawn uniformly
/// from zero to that cap ("full jitter") so concurrent callers spread out. Retrying stops after
/// `max_attempts` calls in total or once `max_elapsed` has passed since the first call,
/// whichever comes first, and the last error is returned.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Calls in total, the first one included. `1` disables retries.
    pub max_attempts: usize,
    /// Cap of the first delay.
    pub min_delay: Duration,
    /// Cap of any single delay.
    pub max_delay: Duration,
    /// Time after the first call past which no retry starts.
    pub max_elapsed: Duration,
    /// Longest wait for a rate-limit window to reset before the error is returned to the
    /// caller as [`ErrorClass::RateLimited`] instead.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(15),
        }
    }
}

/// Whether repeating a request can apply its effect twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// Reads, updates, upserts by external id and deletes: repeating them is harmless.
    Idempotent,
    /// Creates: a retry after a timeout could make a second record, so only failures that
    /// surely did not apply the request are retried.
    NotIdempotent,
}

/// A connector error as the retry policy sees it.
pub(crate) trait RetryableError: Display {
    /// The error's class.
    fn class(&self) -> ErrorClass;

    /// Returns true when the request may have reached the service and taken effect
    /// (a timeout after sending, a 500), so that repeating a create could duplicate it.
    fn may_have_applied(&self) -> bool;
}

impl RetryPolicy {
    /// Builds the sequence of delays for one operation, starting its time budget now.
    pub(crate) fn delays(&self) -> JitteredDelays {
        let retries = self.max_attempts.saturating_sub(1);
        let caps = ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(retries)
            .build();
        JitteredDelays {
            caps,
            deadline: Instant::now() + self.max_elapsed,
        }
    }

    /// Returns true when `error` should be retried under this policy.
    pub(crate) fn should_retry<E: RetryableError>(
        &self,
        error: &E,
        idempotency: Idempotency,
    ) -> bool {
        match error.class() {
            ErrorClass::Retryable => {
                idempotency == Idempotency::Idempotent || !error.may_have_applied()
            }
            ErrorClass::RateLimited {
                retry_after: Some(wait),
            } => wait <= self.max_rate_limit_wait,
            _ => false,
        }
    }

    /// Runs `call` until it succeeds, fails with an error this policy does not retry, or the
    /// attempts or time run out. Each retry is logged with the operation, the attempt number,
    /// the delay and `ids`.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        operation: &str,
        ids: &str,
        idempotency: Idempotency,
        call: F,
    ) -> Result<T, E>
    where
        E: RetryableError,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 1_usize;
        call.retry(self.delays())
            .sleep(tokio::time::sleep)
            .when(|error: &E| self.should_retry(error, idempotency))
            .adjust(|error: &E, delay| match (error.class(), delay) {
                (ErrorClass::RateLimited { retry_after }, Some(_)) => retry_after,
                (_, delay) => delay,
            })
            .notify(|error: &E, delay| {
                warn!(
                    operation,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    ids,
                    error = %error,
                    "Retrying a failed call"
                );
                attempt += 1;
            })
            .await
    }
}

/// Exponential delays with full jitter and a deadline; see [`RetryPolicy`].
pub(crate) struct JitteredDelays {
    caps: ExponentialBackoff,
    deadline: Instant,
}

impl Iterator for JitteredDelays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let cap = self.caps.next()?;
        let now = Instant::now();
        if now >= self.deadline {
            return None;
        }

        let cap_ms = cap.as_millis() as u64;
        let delay = Duration::from_millis(rand::random_range(0..=cap_ms));
        if now + delay > self.deadline {
            return None;
        }
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stop_after_max_attempts() {
        let policy = RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_elapsed: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(1),
        };

        let delays: Vec<Duration> = policy.delays().collect();

        assert_eq!(delays.len(), 3);
        assert!(delays[0] <= Duration::from_millis(10));
        assert!(delays[1] <= Duration::from_millis(20));
        assert!(delays[2] <= Duration::from_millis(40));
    }

    #[test]
    fn delays_stop_at_deadline() {
        let policy = RetryPolicy {
            max_attempts: 100,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
            max_elapsed: Duration::ZERO,
            max_rate_limit_wait: Duration::from_secs(1),
        };

        assert_eq!(policy.delays().next(), None);
    }

    #[test]
    fn delays_are_jittered_below_cap() {
        let policy = RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(1000),
            max_delay: Duration::from_millis(1000),
            max_elapsed: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(1),
        };

        let samples: Vec<Duration> = (0..50).filter_map(|_| policy.delays().next()).collect();

        assert_eq!(samples.len(), 50);
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(1000)));
        let distinct: std::collections::HashSet<_> = samples.iter().collect();
        assert!(distinct.len() > 1, "full jitter must vary the delay");
    }
}
