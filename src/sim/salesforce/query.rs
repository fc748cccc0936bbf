//! The query and queryAll resources: running SOQL and paging through results with query
//! locators that expire after a period of inactivity.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::api::ApiRequest;
use super::error::{ApiError, ApiResponse, ApiResult};
use super::ids::make_id;
use super::records::render;
use super::soql_eval::{compile, run};
use super::state::{Cursor, SimState};

/// Rows per page unless `Sforce-Query-Options: batchSize` requests fewer.
pub const DEFAULT_PAGE_SIZE: usize = 2000;
/// Open query locators per user; opening one more releases the oldest, as Salesforce does.
const MAX_OPEN_CURSORS: usize = 10;

impl SimState {
    /// Runs the SOQL in `q` and returns the first page.
    pub fn start_query(
        &mut self,
        request: &ApiRequest,
        include_deleted: bool,
    ) -> ApiResult<ApiResponse> {
        let text = request.query.get("q").ok_or_else(|| {
            ApiError::new(
                400,
                "MALFORMED_QUERY",
                "A query string must be provided in the q parameter",
            )
        })?;
        let compiled = compile(text, &self.schema)?;
        if include_deleted {
            self.purge_recycle_bin();
        }
        let matches = run(&compiled, &self.store, include_deleted);

        let Some(fields) = &compiled.fields else {
            let body = json!({ "totalSize": matches.len(), "done": true, "records": [] });
            return Ok(ApiResponse::json(200, body));
        };
        let schema = self.schema.object(compiled.object);
        let rows: Vec<Value> = matches
            .iter()
            .map(|record| render(schema, record, Some(fields), request.version))
            .collect();
        let page_size = request
            .batch_size
            .map_or(DEFAULT_PAGE_SIZE, |size| size.clamp(200, DEFAULT_PAGE_SIZE));
        let total_size = rows.len();
        let cursor = Cursor {
            rows,
            next: 0,
            total_size,
            last_used: Instant::now(),
            page_size,
        };
        Ok(ApiResponse::json(
            200,
            self.page(cursor, None, request.version),
        ))
    }

    /// Returns the page behind a `nextRecordsUrl` locator such as `01g5S0000000001AAA-2000`.
    pub fn next_page(&mut self, locator: &str, version: &str) -> ApiResult<ApiResponse> {
        self.expire_cursors();
        let (cursor_id, offset) = locator.rsplit_once('-').ok_or_else(invalid_locator)?;
        let offset: usize = offset.parse().map_err(|_| invalid_locator())?;
        let mut cursor = self.cursors.remove(cursor_id).ok_or_else(invalid_locator)?;
        if offset != cursor.next {
            self.cursors.insert(cursor_id.to_string(), cursor);
            return Err(invalid_locator());
        }
        cursor.last_used = Instant::now();
        Ok(ApiResponse::json(
            200,
            self.page(cursor, Some(cursor_id.to_string()), version),
        ))
    }

    /// Cuts the next page from a cursor and keeps the cursor when rows remain.
    fn page(&mut self, mut cursor: Cursor, cursor_id: Option<String>, version: &str) -> Value {
        let end = (cursor.next + cursor.page_size).min(cursor.rows.len());
        let records: Vec<Value> = cursor.rows[cursor.next..end].to_vec();
        cursor.next = end;
        let mut body = json!({ "totalSize": cursor.total_size, "done": end >= cursor.rows.len() });
        if end < cursor.rows.len() {
            let cursor_id = cursor_id.unwrap_or_else(|| self.new_cursor_id());
            body["nextRecordsUrl"] =
                json!(format!("/services/data/v{version}/query/{cursor_id}-{end}"));
            self.cursors.insert(cursor_id, cursor);
            self.release_oldest_cursors();
        }
        body["records"] = Value::Array(records);
        body
    }

    fn new_cursor_id(&mut self) -> String {
        self.cursor_sequence += 1;
        // Query locators start with the key prefix 01g; the id type only supplies the body.
        let id = make_id(super::ids::SObjectType::Lead, self.cursor_sequence);
        format!("01g{}", &id[3..15])
    }

    fn expire_cursors(&mut self) {
        let ttl = Duration::from_millis(self.knobs.query_locator_ttl_ms);
        let now = Instant::now();
        self.cursors
            .retain(|_, cursor| now.duration_since(cursor.last_used) < ttl);
    }

    fn release_oldest_cursors(&mut self) {
        while self.cursors.len() > MAX_OPEN_CURSORS {
            let oldest = self
                .cursors
                .iter()
                .min_by_key(|(_, cursor)| cursor.last_used)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => self.cursors.remove(&id),
                None => break,
            };
        }
    }
}

fn invalid_locator() -> ApiError {
    ApiError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
}
