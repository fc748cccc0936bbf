//! sObject Collections: create, update, upsert, delete and retrieve up to 200 records in one
//! call, with per-record results and optional all-or-none rollback.

use serde_json::{json, Value};

use super::api::{parse_body, ApiRequest};
use super::error::{ApiError, ApiResponse, ApiResult};
use super::ids::SObjectType;
use super::records::{render, resolve_field_list};
use super::state::SimState;

/// Records one collections call may carry.
pub const MAX_COLLECTION_RECORDS: usize = 200;

/// One record's outcome: its id when known, and the created flag for upserts.
type RecordResult = Result<(String, Option<bool>), (Option<String>, ApiError)>;

impl SimState {
    pub fn collections(&mut self, request: &ApiRequest, rest: &[&str]) -> ApiResult<ApiResponse> {
        match (request.method, rest) {
            ("GET", [object]) => self.collection_retrieve(request, object),
            ("DELETE", []) => {
                let ids: Vec<String> = request
                    .query
                    .get("ids")
                    .map(|ids| ids.split(',').map(str::trim).map(str::to_string).collect())
                    .unwrap_or_default();
                let all_or_none = request
                    .query
                    .get("allOrNone")
                    .is_some_and(|flag| flag == "true");
                check_size(ids.len())?;
                let results = self.apply_all(all_or_none, ids.len(), |state, index| {
                    let id = &ids[index];
                    state
                        .delete_record(None, id)
                        .map(|()| (id.clone(), None))
                        .map_err(|error| (Some(id.clone()), error))
                });
                Ok(ApiResponse::json(200, results))
            }
            ("POST" | "PATCH", []) | ("PATCH", [_, _]) => {
                let body = parse_body(request.body)?;
                let all_or_none = body
                    .get("allOrNone")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let records = body
                    .get("records")
                    .and_then(Value::as_array)
                    .ok_or_else(|| ApiError::json_parser("expected a records array"))?;
                check_size(records.len())?;
                let results = match rest {
                    [object, field] => {
                        let object =
                            SObjectType::from_name(object).ok_or_else(ApiError::not_found)?;
                        let field = self.external_id_field(object, field)?;
                        self.apply_all(all_or_none, records.len(), |state, index| {
                            state.collection_upsert(object, &field, &records[index])
                        })
                    }
                    _ if request.method == "POST" => {
                        self.apply_all(all_or_none, records.len(), |state, index| {
                            state.collection_create(&records[index])
                        })
                    }
                    _ => self.apply_all(all_or_none, records.len(), |state, index| {
                        state.collection_update(&records[index])
                    }),
                };
                Ok(ApiResponse::json(200, results))
            }
            _ => Err(ApiError::not_found()),
        }
    }

    /// Runs `operation` for each record index and renders the per-record results. With
    /// `all_or_none`, one failure rolls every record back.
    fn apply_all(
        &mut self,
        all_or_none: bool,
        count: usize,
        mut operation: impl FnMut(&mut SimState, usize) -> RecordResult,
    ) -> Value {
        let savepoint = self.store.savepoint();
        let mut results: Vec<RecordResult> = Vec::with_capacity(count);
        for index in 0..count {
            if let Some(fault) = self.record_fault.take() {
                results.push(Err((None, fault.record_error())));
                continue;
            }
            results.push(operation(self, index));
        }

        let failed = results.iter().any(Result::is_err);
        if all_or_none && failed {
            self.store.rollback(savepoint);
            let rolled_back = ApiError::new(
                400,
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was using AllOrNone header",
            )
            .with_fields(Vec::new());
            for result in results.iter_mut() {
                if result.is_ok() {
                    *result = Err((None, rolled_back.clone()));
                }
            }
        } else {
            self.store.release(savepoint);
        }
        Value::Array(results.into_iter().map(render_result).collect())
    }

    fn collection_create(&mut self, record: &Value) -> RecordResult {
        let object = record_type(record).map_err(|error| (None, error))?;
        let mut body = record.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.remove("attributes");
        }
        self.create_record(object, &body)
            .map(|id| (id, None))
            .map_err(|error| (None, error))
    }

    fn collection_update(&mut self, record: &Value) -> RecordResult {
        let id = record
            .get("id")
            .or_else(|| record.get("Id"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                (
                    None,
                    ApiError::new(
                        400,
                        "MISSING_ARGUMENT",
                        "Id not specified in an update call",
                    )
                    .with_fields(Vec::new()),
                )
            })?
            .to_string();
        let object = match record
            .get("attributes")
            .and_then(|attributes| attributes.get("type"))
        {
            Some(_) => Some(record_type(record).map_err(|error| (Some(id.clone()), error))?),
            None => None,
        };
        self.update_record(object, &id, record)
            .map(|()| (self.canonical_id(&id), None))
            .map_err(|error| (Some(id.clone()), error))
    }

    fn collection_upsert(
        &mut self,
        object: SObjectType,
        field: &str,
        record: &Value,
    ) -> RecordResult {
        let value = record
            .as_object()
            .and_then(|fields| {
                fields
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(field))
            })
            .and_then(|(_, value)| value.as_str())
            .ok_or_else(|| {
                let message = format!("Missing value for external ID field: {field}");
                (
                    None,
                    ApiError::new(400, "REQUIRED_FIELD_MISSING", message)
                        .with_fields(vec![field.to_string()]),
                )
            })?
            .to_string();
        let mut body = record.clone();
        if let Some(fields) = body.as_object_mut() {
            fields.remove("attributes");
        }
        self.upsert_record(object, field, &value, &body)
            .map(|outcome| (outcome.id, Some(outcome.created)))
            .map_err(|error| (None, error))
    }

    fn collection_retrieve(&self, request: &ApiRequest, object: &str) -> ApiResult<ApiResponse> {
        let object = SObjectType::from_name(object).ok_or_else(ApiError::not_found)?;
        let schema = self.schema.object(object);
        let ids = request.query.get("ids").map(String::as_str).unwrap_or("");
        let fields = request.query.get("fields").ok_or_else(|| {
            ApiError::new(400, "MISSING_ARGUMENT", "The fields parameter is required")
        })?;
        let fields = resolve_field_list(schema, fields)?;
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .collect();
        check_size(ids.len())?;
        let records: Vec<Value> = ids
            .iter()
            .map(|id| match self.live_record(Some(object), id) {
                Ok(record) => render(schema, record, Some(&fields), request.version),
                Err(_) => Value::Null,
            })
            .collect();
        Ok(ApiResponse::json(200, Value::Array(records)))
    }

    fn canonical_id(&self, id: &str) -> String {
        super::ids::normalize_id(id).unwrap_or_else(|| id.to_string())
    }
}

fn check_size(count: usize) -> ApiResult<()> {
    if count > MAX_COLLECTION_RECORDS {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        ));
    }
    Ok(())
}

fn record_type(record: &Value) -> ApiResult<SObjectType> {
    let name = record
        .get("attributes")
        .and_then(|attributes| attributes.get("type"))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::new(400, "INVALID_TYPE", "Must specify a type in attributes"))?;
    SObjectType::from_name(name).ok_or_else(|| {
        ApiError::new(
            400,
            "INVALID_TYPE",
            format!("sObject type '{name}' is not supported."),
        )
    })
}

fn render_result(result: RecordResult) -> Value {
    match result {
        Ok((id, created)) => {
            let mut body = json!({ "id": id, "success": true, "errors": [] });
            if let Some(created) = created {
                body["created"] = json!(created);
            }
            body
        }
        Err((id, error)) => {
            let mut body = json!({ "success": false, "errors": [error.to_collection_error()] });
            if let Some(id) = id {
                body["id"] = json!(id);
            }
            body
        }
    }
}
