//! The one classification of connector failures that the rest of the server acts on.

use std::time::Duration;

/// What the caller should do about a failed connector call.
///
/// Every connector error maps to exactly one class through its `class()` method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// A transient failure (5xx, timeout, connection reset, row lock): trying again later
    /// is expected to succeed. The connector has already retried it within its policy.
    Retryable,
    /// The service refused the call because an allowance is used up. Pause this work until
    /// `retry_after` has passed (or, when it is `None`, until the usage figures show room).
    RateLimited {
        /// How long the service asked the client to wait, when it said so.
        retry_after: Option<Duration>,
    },
    /// The stored grant no longer works (revoked or expired refresh token, disabled API,
    /// deactivated user). An operator must authorize the connection again.
    NeedsReauthorization,
    /// The request itself is wrong for this record or org, so repeating it cannot succeed.
    Permanent {
        /// The service's error code, such as `REQUIRED_FIELD_MISSING` or `conflict`.
        code: String,
        /// The service's message.
        message: String,
        /// The fields the service named as the cause, if any.
        fields: Vec<String>,
    },
}

impl ErrorClass {
    /// Builds a permanent class from its parts.
    pub fn permanent(
        code: impl Into<String>,
        message: impl Into<String>,
        fields: Vec<String>,
    ) -> Self {
        ErrorClass::Permanent {
            code: code.into(),
            message: message.into(),
            fields,
        }
    }

    /// Returns true when the failure is transient and may be retried.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ErrorClass::Retryable)
    }
}
