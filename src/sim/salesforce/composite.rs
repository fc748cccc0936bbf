//! The composite resource: up to 25 subrequests in one call, later ones referring to earlier
//! results with `@{referenceId.path}`, counted as a single API call.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::api::{dispatch, parse_body, ApiRequest};
use super::error::{ApiError, ApiResponse, ApiResult};
use super::state::SimState;

/// Subrequests one composite call may carry.
pub const MAX_SUBREQUESTS: usize = 25;

const HALTED_MESSAGE: &str =
    "The transaction was rolled back since another operation in the same transaction failed.";

impl SimState {
    pub fn composite(&mut self, request: &ApiRequest) -> ApiResult<ApiResponse> {
        let body = parse_body(request.body)?;
        let all_or_none = body
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let subrequests = body
            .get("compositeRequest")
            .and_then(Value::as_array)
            .ok_or_else(|| ApiError::json_parser("expected a compositeRequest array"))?;
        if subrequests.len() > MAX_SUBREQUESTS {
            // NOTE: the error code for more than 25 subrequests is not confirmed against a
            // live org.
            return Err(ApiError::new(
                400,
                "LIMIT_EXCEEDED",
                format!("Composite requests cannot have more than {MAX_SUBREQUESTS} subrequests"),
            ));
        }

        let savepoint = self.store.savepoint();
        let mut outputs: HashMap<String, Value> = HashMap::new();
        let mut responses: Vec<Value> = Vec::new();
        let mut failed_at = None;
        for (index, subrequest) in subrequests.iter().enumerate() {
            let reference_id = subrequest
                .get("referenceId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if failed_at.is_some() {
                responses.push(halted(&reference_id, HALTED_MESSAGE));
                continue;
            }
            let response = match self.run_subrequest(subrequest, &outputs, request.version) {
                Ok(response) => response,
                Err(message) => {
                    responses.push(halted(&reference_id, &message));
                    if all_or_none {
                        failed_at = Some(index);
                    }
                    continue;
                }
            };
            if response.status >= 400 && all_or_none {
                failed_at = Some(index);
            }
            if let Some(body) = &response.body {
                outputs.insert(reference_id.clone(), body.clone());
            }
            responses.push(composite_entry(&reference_id, response));
        }

        match failed_at {
            Some(failed) => {
                self.store.rollback(savepoint);
                for (index, entry) in responses.iter_mut().enumerate() {
                    if index != failed {
                        let reference_id = entry["referenceId"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        *entry = halted(&reference_id, HALTED_MESSAGE);
                    }
                }
            }
            None => self.store.release(savepoint),
        }
        Ok(ApiResponse::json(
            200,
            json!({ "compositeResponse": responses }),
        ))
    }

    /// Runs one subrequest after substituting references; `Err` carries the message of a
    /// reference that could not be resolved.
    fn run_subrequest(
        &mut self,
        subrequest: &Value,
        outputs: &HashMap<String, Value>,
        version: &str,
    ) -> Result<ApiResponse, String> {
        let method = subrequest
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let url = subrequest
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let url = substitute(url, outputs)?;
        let body = match subrequest.get("body") {
            Some(body) => substitute(&body.to_string(), outputs)?.into_bytes(),
            None => Vec::new(),
        };

        let (path, query_string) = url.split_once('?').unwrap_or((url.as_str(), ""));
        let Some((sub_version, segments)) = split_data_path(path) else {
            return Ok(ApiError::not_found().into());
        };
        if segments.first() == Some(&"composite") && segments.len() == 1 {
            return Ok(ApiError::new(
                400,
                "INVALID_API_INPUT",
                "Composite requests cannot be nested",
            )
            .into());
        }
        let query = serde_urlencoded::from_str::<Vec<(String, String)>>(query_string)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let request = ApiRequest {
            method: &method,
            segments,
            query,
            body: &body,
            version: if sub_version.is_empty() {
                version
            } else {
                sub_version
            },
            batch_size: None,
            if_modified_since: None,
        };
        Ok(dispatch(self, &request))
    }
}

/// Splits `/services/data/v60.0/a/b` into the version `60.0` and the segments `a`, `b`.
pub fn split_data_path(path: &str) -> Option<(&str, Vec<&str>)> {
    let rest = path.strip_prefix("/services/data/")?;
    let mut parts = rest.split('/');
    let version = parts.next()?.strip_prefix('v')?;
    let valid = version
        .strip_suffix(".0")
        .is_some_and(|major| !major.is_empty() && major.bytes().all(|byte| byte.is_ascii_digit()));
    if !valid {
        return None;
    }
    Some((version, parts.filter(|part| !part.is_empty()).collect()))
}

/// Replaces each `@{referenceId.path}` with the value at that path in the earlier output.
fn substitute(text: &str, outputs: &HashMap<String, Value>) -> Result<String, String> {
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        result.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("Unterminated reference in {text}"))?;
        let expression = &after[..end];
        let value = resolve(expression, outputs).ok_or_else(|| {
            format!("Invalid reference specified. No value for {expression} found in the results of earlier subrequests.")
        })?;
        result.push_str(&value);
        rest = &after[end + 1..];
    }
    result.push_str(rest);
    Ok(result)
}

fn resolve(expression: &str, outputs: &HashMap<String, Value>) -> Option<String> {
    let mut parts = expression.split('.');
    let mut value = outputs.get(parts.next()?)?;
    for part in parts {
        let (name, index) = match part.split_once('[') {
            Some((name, index)) => (name, index.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            value = value.get(name)?;
        }
        if let Some(index) = index {
            value = value.get(index)?;
        }
    }
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn composite_entry(reference_id: &str, response: ApiResponse) -> Value {
    let headers: Map<String, Value> = response
        .headers
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    json!({
        "body": response.body.unwrap_or(Value::Null),
        "httpHeaders": headers,
        "httpStatusCode": response.status,
        "referenceId": reference_id,
    })
}

fn halted(reference_id: &str, message: &str) -> Value {
    json!({
        "body": [{ "errorCode": "PROCESSING_HALTED", "message": message }],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference_id,
    })
}
