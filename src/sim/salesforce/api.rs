//! Routing of the data API (`/services/data/vNN.0/...`), shared by top-level calls and
//! composite subrequests.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::error::{ApiError, ApiResponse, ApiResult};
use super::ids::SObjectType;
use super::state::SimState;

/// One data API call, after authentication.
pub struct ApiRequest<'a> {
    pub method: &'a str,
    /// Path segments after `/services/data/vNN.0`, empty segments removed.
    pub segments: Vec<&'a str>,
    pub query: HashMap<String, String>,
    pub body: &'a [u8],
    /// API version without the `v`, such as `60.0`.
    pub version: &'a str,
    /// Page size requested with `Sforce-Query-Options: batchSize=N`.
    pub batch_size: Option<usize>,
    /// The `If-Modified-Since` header, which describe calls honour with 304.
    pub if_modified_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Names the endpoint kind of a call, as counted in `/_sim/stats` and matched by fault rules.
pub fn endpoint_kind(segments: &[&str]) -> &'static str {
    match segments {
        [] => "resources",
        ["query" | "queryAll", ..] => "query",
        ["composite", "sobjects", ..] => "collections",
        ["composite", ..] => "composite",
        ["limits", ..] => "limits",
        ["sobjects"] => "describe",
        ["sobjects", _, "describe", ..] => "describe",
        ["sobjects", _, "updated", ..] => "getupdated",
        ["sobjects", _, "deleted", ..] => "getdeleted",
        ["sobjects", ..] => "sobject",
        _ => "other",
    }
}

/// Runs one data API call against the state.
pub fn dispatch(state: &mut SimState, request: &ApiRequest) -> ApiResponse {
    match route(state, request) {
        Ok(response) => response,
        Err(error) => error.into(),
    }
}

fn route(state: &mut SimState, request: &ApiRequest) -> ApiResult<ApiResponse> {
    let version = request.version;
    match (request.method, request.segments.as_slice()) {
        ("GET", []) => Ok(ApiResponse::json(200, resources(version))),
        ("GET", ["limits"]) => Ok(ApiResponse::json(200, state.limits_body())),
        ("GET", ["query"]) => state.start_query(request, false),
        ("GET", ["queryAll"]) => state.start_query(request, true),
        ("GET", ["query" | "queryAll", locator]) => state.next_page(locator, version),
        ("POST", ["composite"]) => state.composite(request),
        (_, ["composite", "sobjects", rest @ ..]) => state.collections(request, rest),
        ("GET", ["sobjects"]) => Ok(ApiResponse::json(200, state.describe_global(version))),
        (_, ["sobjects", object, rest @ ..]) => {
            let object = SObjectType::from_name(object).ok_or_else(|| {
                ApiError::new(404, "NOT_FOUND", format!("The requested resource does not exist: sObject type '{object}' is not supported."))
            })?;
            sobject_route(state, request, object, rest)
        }
        (_, ["query" | "queryAll" | "limits" | "composite" | "sobjects", ..]) => {
            Err(method_not_allowed(request.method))
        }
        _ => Err(ApiError::not_found()),
    }
}

fn sobject_route(
    state: &mut SimState,
    request: &ApiRequest,
    object: SObjectType,
    rest: &[&str],
) -> ApiResult<ApiResponse> {
    let version = request.version;
    match (request.method, rest) {
        ("GET", []) => {
            let summary = state.schema.object(object).summary(version);
            Ok(ApiResponse::json(
                200,
                json!({ "objectDescribe": summary, "recentItems": [] }),
            ))
        }
        ("POST", []) => {
            let body = parse_body(request.body)?;
            let id = state.create_record(object, &body)?;
            let location = format!("/services/data/v{version}/sobjects/{object}/{id}");
            Ok(
                ApiResponse::json(201, json!({ "id": id, "success": true, "errors": [] }))
                    .with_header("Location", location),
            )
        }
        ("GET", ["describe"]) => {
            // HTTP dates have whole seconds, so the comparison drops the sub-second part.
            let changed = state.schema_changed_at.timestamp();
            let last_modified = state
                .schema_changed_at
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string();
            if request
                .if_modified_since
                .is_some_and(|since| changed <= since.timestamp())
            {
                return Ok(ApiResponse {
                    status: 304,
                    body: None,
                    headers: Vec::new(),
                });
            }
            let describe = state
                .schema
                .object(object)
                .describe(version, &state.instance_url);
            Ok(ApiResponse::json(200, describe).with_header("Last-Modified", last_modified))
        }
        ("GET", ["updated"]) => state.get_updated(object, &request.query),
        ("GET", ["deleted"]) => state.get_deleted(object, &request.query),
        ("GET", [id]) => {
            let record = state.live_record(Some(object), id)?;
            Ok(ApiResponse::json(
                200,
                state.render_with_fields(record, &request.query, version)?,
            ))
        }
        ("PATCH", [id]) => {
            let body = parse_body(request.body)?;
            state.update_record(Some(object), id, &body)?;
            Ok(ApiResponse::no_content())
        }
        ("DELETE", [id]) => {
            state.delete_record(Some(object), id)?;
            Ok(ApiResponse::no_content())
        }
        ("GET", [field, value]) => {
            let field = state.external_id_field(object, field)?;
            let record = state
                .store
                .find_by_external_id(object, &field, value)
                .ok_or_else(ApiError::not_found)?;
            Ok(ApiResponse::json(
                200,
                state.render_with_fields(record, &request.query, version)?,
            ))
        }
        ("PATCH", [field, value]) => {
            let body = parse_body(request.body)?;
            let outcome = state.upsert_record(object, field, value, &body)?;
            let status = if outcome.created { 201 } else { 200 };
            let body = json!({
                "id": outcome.id,
                "success": true,
                "errors": [],
                "created": outcome.created,
            });
            Ok(ApiResponse::json(status, body))
        }
        _ => Err(method_not_allowed(request.method)),
    }
}

impl SimState {
    fn render_with_fields(
        &self,
        record: &super::store::Record,
        query: &HashMap<String, String>,
        version: &str,
    ) -> ApiResult<Value> {
        let schema = self.schema.object(record.object);
        let fields = query
            .get("fields")
            .map(|list| super::records::resolve_field_list(schema, list))
            .transpose()?;
        Ok(super::records::render(
            schema,
            record,
            fields.as_deref(),
            version,
        ))
    }

    fn describe_global(&self, version: &str) -> Value {
        let sobjects: Vec<Value> = SObjectType::ALL
            .into_iter()
            .map(|object| self.schema.object(object).summary(version))
            .collect();
        json!({ "encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects })
    }

    /// Builds the `/limits` body; only `DailyApiRequests` reflects real usage.
    pub fn limits_body(&self) -> Value {
        let max = self.knobs.daily_api_limit;
        let remaining = max.saturating_sub(self.api_usage);
        json!({
            "ConcurrentAsyncGetReportInstances": { "Max": 200, "Remaining": 200 },
            "ConcurrentSyncReportRuns": { "Max": 20, "Remaining": 20 },
            "DailyApiRequests": { "Max": max, "Remaining": remaining },
            "DailyAsyncApexExecutions": { "Max": 250000, "Remaining": 250000 },
            "DailyBulkApiRequests": { "Max": 5000, "Remaining": 5000 },
            "DailyDurableStreamingApiEvents": { "Max": 10000, "Remaining": 10000 },
            "DailyGenericStreamingApiEvents": { "Max": 10000, "Remaining": 10000 },
            "DailyStreamingApiEvents": { "Max": 10000, "Remaining": 10000 },
            "DataStorageMB": { "Max": 5, "Remaining": 5 },
            "FileStorageMB": { "Max": 20, "Remaining": 20 },
            "HourlyTimeBasedWorkflow": { "Max": 50, "Remaining": 50 },
            "SingleEmail": { "Max": 15, "Remaining": 15 },
            "StreamingApiConcurrentClients": { "Max": 20, "Remaining": 20 },
        })
    }
}

fn resources(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    json!({
        "sobjects": format!("{base}/sobjects"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "composite": format!("{base}/composite"),
        "limits": format!("{base}/limits"),
    })
}

/// Parses a JSON request body, reporting malformed JSON as Salesforce does.
pub fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.is_empty() {
        return Err(ApiError::json_parser("the request body is empty"));
    }
    serde_json::from_slice(body).map_err(ApiError::json_parser)
}

fn method_not_allowed(method: &str) -> ApiError {
    ApiError::new(
        405,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE,POST,HEAD"),
    )
}
