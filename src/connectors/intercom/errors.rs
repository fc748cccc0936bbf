//! Intercom connector errors and their classification.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::connectors::retry::RetryableError;
use crate::connectors::ErrorClass;

/// The `error.list` body Intercom sends with an error status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorList {
    /// Always `error.list`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Intercom's id of the request, for support tickets.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The errors, main cause first.
    pub errors: Vec<IntercomApiError>,
}

/// One entry of an `error.list`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IntercomApiError {
    /// The error code, such as `not_found`, `conflict` or `rate_limit_exceeded`.
    pub code: String,
    /// Intercom's message.
    #[serde(default)]
    pub message: String,
    /// The request field the error is about, when Intercom names one.
    #[serde(default)]
    pub field: Option<String>,
}

impl fmt::Display for IntercomApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field: {field})")?;
        }
        Ok(())
    }
}

/// A failure of an Intercom connector call.
#[derive(Debug, Error)]
pub enum IntercomError {
    /// Intercom responded with an error status and an `error.list`.
    #[error("Intercom {operation} failed with HTTP {status}: {}{}", join_errors(.errors), request_suffix(.request_id))]
    Api {
        /// The connector operation, such as `get_contact`.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// Intercom's request id.
        request_id: Option<String>,
        /// The listed errors.
        errors: Vec<IntercomApiError>,
        /// For 429: the time until the rate-limit window resets.
        retry_after: Option<Duration>,
    },
    /// Intercom responded with an error status and a body that is not an `error.list`.
    #[error("Intercom {operation} failed with HTTP {status}: {body_excerpt}")]
    Http {
        /// The connector operation.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body_excerpt: String,
        /// For 429: the time until the rate-limit window resets.
        retry_after: Option<Duration>,
    },
    /// The request could not be sent or its response not received.
    #[error("Intercom {operation} could not reach the server: {source}")]
    Transport {
        /// The connector operation.
        operation: &'static str,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// A response body did not have the expected shape.
    #[error("Intercom {operation} returned a body that could not be decoded: {source}")]
    Decode {
        /// The connector operation.
        operation: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The rate-limit window is used up and resets later than the retry policy waits.
    #[error("the Intercom rate limit is used up for {} ms more; {operation} was not sent", .retry_after.as_millis())]
    RateLimitWait {
        /// The connector operation.
        operation: &'static str,
        /// The time until the window resets.
        retry_after: Duration,
    },
    /// The caller passed a value the connector cannot send.
    #[error("invalid Intercom request: {0}")]
    InvalidRequest(String),
}

fn join_errors(errors: &[IntercomApiError]) -> String {
    if errors.is_empty() {
        return "no error details".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn request_suffix(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" (request {id})"),
        None => String::new(),
    }
}

/// Error codes that mean the access token no longer works.
const REAUTHORIZE_CODES: &[&str] = &[
    "unauthorized",
    "token_revoked",
    "token_blocked",
    "token_not_found",
    "token_unauthorized",
    "token_expired",
    "missing_authorization",
];

/// Error codes of transient conditions.
const RETRYABLE_CODES: &[&str] = &["server_error", "service_unavailable", "request_timeout"];

impl IntercomError {
    /// Classifies this failure as an [`ErrorClass`].
    pub fn class(&self) -> ErrorClass {
        match self {
            IntercomError::Api {
                status,
                errors,
                retry_after,
                ..
            } => {
                let first = errors.first();
                let code = first.map(|e| e.code.as_str()).unwrap_or("");
                if *status == 429 || code == "rate_limit_exceeded" || code == "too_many_requests" {
                    ErrorClass::RateLimited {
                        retry_after: *retry_after,
                    }
                } else if *status == 401 || REAUTHORIZE_CODES.contains(&code) {
                    ErrorClass::NeedsReauthorization
                } else if matches!(*status, 408 | 500..=599) || RETRYABLE_CODES.contains(&code) {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::permanent(
                        if code.is_empty() {
                            format!("http_{status}")
                        } else {
                            code.to_owned()
                        },
                        first.map(|e| e.message.clone()).unwrap_or_default(),
                        first.and_then(|e| e.field.clone()).into_iter().collect(),
                    )
                }
            }
            IntercomError::Http {
                status,
                body_excerpt,
                retry_after,
                ..
            } => match status {
                429 => ErrorClass::RateLimited {
                    retry_after: *retry_after,
                },
                401 => ErrorClass::NeedsReauthorization,
                408 | 500..=599 => ErrorClass::Retryable,
                _ => ErrorClass::permanent(
                    format!("http_{status}"),
                    body_excerpt.clone(),
                    Vec::new(),
                ),
            },
            IntercomError::Transport { .. } => ErrorClass::Retryable,
            IntercomError::RateLimitWait { retry_after, .. } => ErrorClass::RateLimited {
                retry_after: Some(*retry_after),
            },
            IntercomError::Decode { source, .. } => {
                ErrorClass::permanent("invalid_response", source.to_string(), Vec::new())
            }
            IntercomError::InvalidRequest(message) => {
                ErrorClass::permanent("invalid_request", message.clone(), Vec::new())
            }
        }
    }

    /// Returns Intercom's error code, such as `not_found`.
    pub fn code(&self) -> Option<&str> {
        match self {
            IntercomError::Api { errors, .. } => errors.first().map(|e| e.code.as_str()),
            _ => None,
        }
    }

    /// Returns the HTTP status of Intercom's response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            IntercomError::Api { status, .. } | IntercomError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Returns true when the contact (or other resource) does not exist, including a contact
    /// merged into another (404 in API 2.11, 410 `contact_merged` in later versions).
    pub fn is_not_found(&self) -> bool {
        matches!(self.status(), Some(404 | 410))
    }
}

impl RetryableError for IntercomError {
    fn class(&self) -> ErrorClass {
        IntercomError::class(self)
    }

    fn may_have_applied(&self) -> bool {
        match self {
            IntercomError::Transport { source, .. } => !source.is_connect(),
            IntercomError::Api { status, .. } | IntercomError::Http { status, .. } => {
                !matches!(*status, 429 | 502 | 503)
            }
            _ => false,
        }
    }
}
