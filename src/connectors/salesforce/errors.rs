//! Salesforce connector errors and their classification.

use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use super::id::InvalidId;
use crate::connectors::retry::RetryableError;
use crate::connectors::ErrorClass;

/// One entry of a Salesforce REST error body (a JSON array of these).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// The error code, such as `INVALID_SESSION_ID` or `REQUIRED_FIELD_MISSING`.
    pub error_code: String,
    /// Salesforce's message.
    pub message: String,
    /// The fields the error is about, often absent.
    #[serde(default)]
    pub fields: Vec<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// The body of a failed OAuth token request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthError {
    /// The OAuth error code, such as `invalid_grant`.
    pub error: String,
    /// Salesforce's explanation, such as `expired access/refresh token`.
    #[serde(default)]
    pub error_description: String,
}

/// A failure of a Salesforce connector call.
#[derive(Debug, Error)]
pub enum SalesforceError {
    /// Salesforce responded with an error status and a JSON error list.
    #[error("Salesforce {operation} failed with HTTP {status}: {}", join_errors(.errors))]
    Api {
        /// The connector operation, such as `query` or `collections_update`.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The errors Salesforce listed, main cause first.
        errors: Vec<ApiError>,
    },
    /// Salesforce responded with an error status and a body that is not a JSON error list
    /// (gateways and maintenance pages send HTML).
    #[error("Salesforce {operation} failed with HTTP {status}: {body_excerpt}")]
    Http {
        /// The connector operation.
        operation: &'static str,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body_excerpt: String,
    },
    /// The request could not be sent or its response not received (connection refused or
    /// reset, timeout).
    #[error("Salesforce {operation} could not reach the server: {source}")]
    Transport {
        /// The connector operation.
        operation: &'static str,
        /// The underlying error, with its URL removed.
        #[source]
        source: reqwest::Error,
    },
    /// The OAuth token endpoint rejected a code exchange or refresh.
    #[error("Salesforce OAuth {grant} request was rejected with HTTP {status}: {} ({})", .error.error, .error.error_description)]
    OAuth {
        /// `authorization_code` or `refresh_token`.
        grant: &'static str,
        /// The HTTP status.
        status: u16,
        /// The OAuth error body.
        error: OAuthError,
    },
    /// The stored grant was rejected earlier, so calls fail fast until the connection is
    /// authorized again.
    #[error("the Salesforce connection needs re-authorization: {reason}; run the OAuth authorization again")]
    NeedsReauthorization {
        /// Why the grant stopped working.
        reason: String,
    },
    /// No tokens are stored yet.
    #[error(
        "no Salesforce tokens are stored; authorize the connection with the OAuth web flow first"
    )]
    NotAuthorized,
    /// A response body did not have the expected shape.
    #[error("Salesforce {operation} returned a body that could not be decoded: {source}")]
    Decode {
        /// The connector operation.
        operation: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A record id from the caller or from Salesforce is not a valid id.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// An upsert by external id matched several records, so nothing was written.
    #[error("upsert of {object} by {field} = {value:?} matched {} records; make the external id unique", .matches.len())]
    MultipleMatches {
        /// The sObject type.
        object: String,
        /// The external id field.
        field: String,
        /// The external id value.
        value: String,
        /// The URLs of the matching records.
        matches: Vec<String>,
    },
    /// The credential store could not load or save tokens.
    #[error("the Salesforce credential store failed: {0}")]
    CredentialStore(#[from] CredentialStoreError),
    /// The caller passed a value the connector cannot send.
    #[error("invalid Salesforce request: {0}")]
    InvalidRequest(String),
}

/// A failure reported by a [`super::CredentialStore`] implementation.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct CredentialStoreError(pub Box<dyn std::error::Error + Send + Sync>);

impl CredentialStoreError {
    /// Wraps any error of a store implementation.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        CredentialStoreError(error.into())
    }
}

fn join_errors(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no error details".to_owned();
    }
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Error codes that mean the org or user can no longer use the API with this grant.
const REAUTHORIZE_CODES: &[&str] = &[
    "API_DISABLED_FOR_ORG",
    "API_CURRENTLY_DISABLED",
    "INVALID_SESSION_ID",
];

/// Error codes of transient conditions that a later attempt is expected to clear.
const RETRYABLE_CODES: &[&str] = &["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "QUERY_TIMEOUT"];

/// Classifies one Salesforce error code, as found in an error body or a per-record result.
pub fn classify_code(code: &str, message: &str, fields: &[String]) -> ErrorClass {
    if code == "REQUEST_LIMIT_EXCEEDED" {
        // Salesforce sends no Retry-After, so the caller pauses until the usage header shows room.
        ErrorClass::RateLimited { retry_after: None }
    } else if RETRYABLE_CODES.contains(&code) {
        ErrorClass::Retryable
    } else if REAUTHORIZE_CODES.contains(&code) {
        ErrorClass::NeedsReauthorization
    } else {
        ErrorClass::permanent(code, message, fields.to_vec())
    }
}

impl SalesforceError {
    /// Classifies this failure as an [`ErrorClass`].
    pub fn class(&self) -> ErrorClass {
        match self {
            SalesforceError::Api { status, errors, .. } => match errors.first() {
                Some(first) if !matches!(*status, 500..=599 | 429) => {
                    classify_code(&first.error_code, &first.message, &first.fields)
                }
                Some(first) if first.error_code == "REQUEST_LIMIT_EXCEEDED" => {
                    ErrorClass::RateLimited { retry_after: None }
                }
                _ => classify_status(*status, "", ""),
            },
            SalesforceError::Http {
                status,
                body_excerpt,
                ..
            } => classify_status(*status, "HTTP_ERROR", body_excerpt),
            SalesforceError::Transport { .. } => ErrorClass::Retryable,
            // invalid_grant, invalid_client, unsupported_grant_type and invalid_request all
            // need a person to authorize again.
            SalesforceError::OAuth { status, .. } if *status < 500 => {
                ErrorClass::NeedsReauthorization
            }
            SalesforceError::OAuth { .. } => ErrorClass::Retryable,
            SalesforceError::NeedsReauthorization { .. } | SalesforceError::NotAuthorized => {
                ErrorClass::NeedsReauthorization
            }
            SalesforceError::Decode { source, .. } => {
                ErrorClass::permanent("INVALID_RESPONSE", source.to_string(), Vec::new())
            }
            SalesforceError::InvalidId(error) => {
                ErrorClass::permanent("MALFORMED_ID", error.to_string(), Vec::new())
            }
            SalesforceError::MultipleMatches { field, .. } => {
                ErrorClass::permanent("MULTIPLE_CHOICES", self.to_string(), vec![field.clone()])
            }
            SalesforceError::CredentialStore(error) => {
                ErrorClass::permanent("CREDENTIAL_STORE", error.to_string(), Vec::new())
            }
            SalesforceError::InvalidRequest(message) => {
                ErrorClass::permanent("INVALID_REQUEST", message.clone(), Vec::new())
            }
        }
    }

    /// Returns the Salesforce error code of an API error, such as `ENTITY_IS_DELETED`.
    pub fn code(&self) -> Option<&str> {
        match self {
            SalesforceError::Api { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            SalesforceError::OAuth { error, .. } => Some(error.error.as_str()),
            _ => None,
        }
    }

    /// Returns the HTTP status of Salesforce's response, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            SalesforceError::Api { status, .. }
            | SalesforceError::Http { status, .. }
            | SalesforceError::OAuth { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Returns true for HTTP 401 (`INVALID_SESSION_ID`): the access token was rejected.
    pub(crate) fn is_session_rejected(&self) -> bool {
        self.status() == Some(401)
    }
}

fn classify_status(status: u16, code: &str, message: &str) -> ErrorClass {
    match status {
        401 => ErrorClass::NeedsReauthorization,
        408 | 429 | 500..=599 => ErrorClass::Retryable,
        _ => ErrorClass::permanent(
            if code.is_empty() {
                format!("HTTP_{status}")
            } else {
                code.to_owned()
            },
            message,
            Vec::new(),
        ),
    }
}

impl RetryableError for SalesforceError {
    fn class(&self) -> ErrorClass {
        SalesforceError::class(self)
    }

    fn may_have_applied(&self) -> bool {
        match self {
            SalesforceError::Transport { source, .. } => !source.is_connect(),
            SalesforceError::Api { status, errors, .. } => {
                let lock = errors.iter().any(|e| e.error_code == "UNABLE_TO_LOCK_ROW");
                !lock && !matches!(*status, 429 | 502 | 503)
            }
            SalesforceError::Http { status, .. } => !matches!(*status, 429 | 502 | 503),
            _ => false,
        }
    }
}
