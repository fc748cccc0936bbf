//! The Intercom error envelope (`{"type": "error.list", ...}`) and the errors the simulator returns.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// An error answered in Intercom's `error.list` envelope.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Intercom's machine-readable error code, such as `not_found` or `conflict`.
    pub code: &'static str,
    pub message: String,
    /// The request field the error is about, when there is one.
    pub field: Option<String>,
    /// Extra response headers, such as `X-RateLimit-*` on a 429 or `Link` on a 410.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct ErrorList<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    request_id: String,
    errors: [ErrorItem<'a>; 1],
}

#[derive(Serialize)]
struct ErrorItem<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            headers: Vec::new(),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Access Token Invalid",
        )
    }

    pub fn contact_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "User Not Found")
    }

    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Resource not found: {path}"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn parameter_invalid(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "parameter_invalid", message).with_field(field)
    }

    pub fn parameter_missing(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "parameter_not_found", message).with_field(field)
    }

    pub fn conflict(existing_id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("A contact matching those details already exists with id={existing_id}"),
        )
    }

    /// Renders the `error.list` body; a fresh `request_id` per response, as Intercom sends.
    pub fn body(&self) -> String {
        let envelope = ErrorList {
            kind: "error.list",
            request_id: uuid::Uuid::new_v4().to_string(),
            errors: [ErrorItem {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            }],
        };
        serde_json::to_string(&envelope).expect("the error envelope serializes")
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("application/json; charset=utf-8");
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.body(self.body())
    }
}
