//! Errors of the simulated REST API, rendered in the exact bodies Salesforce sends.

use serde_json::{json, Value};

/// One REST API error: an HTTP status plus the `errorCode`, `message` and optional `fields`
/// of Salesforce's error body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// Field names the error is about; `None` leaves the key out, as Salesforce does for
    /// session and routing errors.
    pub fields: Option<Vec<String>>,
    /// Extra keys merged into the error object, such as `duplicateResult`.
    pub details: Option<Box<serde_json::Map<String, Value>>>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: None,
            details: None,
        }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> ApiError {
        self.fields = Some(fields);
        self
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    pub fn invalid_session() -> ApiError {
        ApiError::new(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    pub fn entity_is_deleted() -> ApiError {
        ApiError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(Vec::new())
    }

    pub fn malformed_id(id: &str) -> ApiError {
        ApiError::new(400, "MALFORMED_ID", format!("malformed id {id}")).with_fields(Vec::new())
    }

    pub fn json_parser(detail: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            400,
            "JSON_PARSER_ERROR",
            format!("The JSON body is invalid: {detail}"),
        )
    }

    pub fn invalid_field(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "INVALID_FIELD", message)
    }

    /// Renders the body of a non-collection endpoint, a JSON array with one error.
    pub fn to_rest_body(&self) -> Value {
        let mut error = json!({ "message": self.message, "errorCode": self.code });
        if let Some(fields) = &self.fields {
            error["fields"] = json!(fields);
        }
        if let (Some(details), Value::Object(error)) = (&self.details, &mut error) {
            error.extend(details.as_ref().clone());
        }
        json!([error])
    }

    /// Renders the entry inside an sObject Collections result, which names the code
    /// `statusCode`.
    pub fn to_collection_error(&self) -> Value {
        let mut error = json!({
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields.clone().unwrap_or_default(),
        });
        if let (Some(details), Value::Object(error)) = (&self.details, &mut error) {
            error.extend(details.as_ref().clone());
        }
        error
    }
}

/// A response of the data API before it is turned into HTTP, so composite subrequests can run
/// through the same code as top-level calls.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(String, String)>,
}

impl ApiResponse {
    pub fn json(status: u16, body: Value) -> ApiResponse {
        ApiResponse {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> ApiResponse {
        ApiResponse {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: String) -> ApiResponse {
        self.headers.push((name.to_string(), value));
        self
    }
}

impl From<ApiError> for ApiResponse {
    fn from(error: ApiError) -> ApiResponse {
        ApiResponse::json(error.status, error.to_rest_body())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
