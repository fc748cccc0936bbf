//! The composite resource: up to 25 subrequests in one API call, used here to run several
//! queries for the price of one request.

use std::collections::HashMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::Call;
use super::errors::{ApiError, SalesforceError};
use super::query::QueryScope;
use super::types::QueryResult;
use super::SalesforceClient;

/// Subrequests per composite call, the API's maximum.
pub const COMPOSITE_LIMIT: usize = 25;

/// One subrequest of a composite call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubrequest {
    /// `GET`, `POST`, `PATCH` or `DELETE`.
    pub method: String,
    /// The full path, starting with `/services/data/`.
    pub url: String,
    /// A name unique in the call, by which later subrequests may refer to it as `@{name.id}`.
    pub reference_id: String,
    /// The JSON body, for writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The body of a composite response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeResponse {
    /// One entry per subrequest, not necessarily in request order.
    pub composite_response: Vec<CompositeSubresponse>,
}

/// The outcome of one subrequest.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompositeSubresponse {
    /// The subrequest's own response body: a result, or a JSON error list.
    pub body: Value,
    /// Response headers of the subrequest, such as `Location`.
    #[serde(default)]
    pub http_headers: HashMap<String, String>,
    /// The subrequest's HTTP status.
    pub http_status_code: u16,
    /// The subrequest's `referenceId`.
    pub reference_id: String,
}

impl CompositeSubresponse {
    /// Returns the errors of a failed subrequest (status 300 or above), or `None` when it
    /// succeeded or its body is not an error list.
    pub fn errors(&self) -> Option<Vec<ApiError>> {
        if self.http_status_code < 300 {
            return None;
        }
        serde_json::from_value(self.body.clone()).ok()
    }
}

impl SalesforceClient {
    /// Sends up to 25 subrequests as one API call. With `all_or_none`, a failure rolls back
    /// every subrequest.
    pub async fn composite(
        &self,
        subrequests: &[CompositeSubrequest],
        all_or_none: bool,
    ) -> Result<Vec<CompositeSubresponse>, SalesforceError> {
        if subrequests.len() > COMPOSITE_LIMIT {
            return Err(SalesforceError::InvalidRequest(format!(
                "{} subrequests were given, but one composite call takes at most {COMPOSITE_LIMIT}",
                subrequests.len()
            )));
        }
        let writes = subrequests.iter().any(|s| s.method != "GET");
        let ids: Vec<&str> = subrequests
            .iter()
            .map(|s| s.reference_id.as_str())
            .collect();
        let ids = ids.join(",");
        let call = if writes {
            Call::create("composite", &ids)
        } else {
            Call::read("composite", &ids)
        };
        let body = json!({ "allOrNone": all_or_none, "compositeRequest": subrequests });
        let path = self.data_path("/composite");

        let response: CompositeResponse = self
            .send(call, Method::POST, &path, &[], Some(&body))
            .await?
            .json(call.operation)?;
        Ok(response.composite_response)
    }

    /// Runs several SOQL queries through composite calls of up to 25 queries each, and returns
    /// the first page of each, in input order. Follow a page's `next_records_url` with
    /// [`SalesforceClient::query_more`].
    ///
    /// Fails with the first failed query's error, classified like a direct query.
    pub async fn composite_queries(
        &self,
        queries: &[String],
    ) -> Result<Vec<QueryResult>, SalesforceError> {
        self.composite_queries_in(queries, QueryScope::Live).await
    }

    /// Like [`SalesforceClient::composite_queries`], with the scope of every query:
    /// [`QueryScope::IncludeDeleted`] runs them as `queryAll`.
    pub async fn composite_queries_in(
        &self,
        queries: &[String],
        scope: QueryScope,
    ) -> Result<Vec<QueryResult>, SalesforceError> {
        let operation = "composite_queries";
        let mut pages = Vec::with_capacity(queries.len());

        for (chunk_index, chunk) in queries.chunks(COMPOSITE_LIMIT).enumerate() {
            let base = chunk_index * COMPOSITE_LIMIT;
            let mut subrequests = Vec::with_capacity(chunk.len());
            for (offset, soql) in chunk.iter().enumerate() {
                // Form encoding writes a space as `+`; `%20` reads the same in every URL decoder.
                let encoded = serde_urlencoded::to_string([("q", soql)])
                    .map_err(|e| {
                        SalesforceError::InvalidRequest(format!(
                            "query {soql:?} cannot be encoded: {e}"
                        ))
                    })?
                    .replace('+', "%20");
                subrequests.push(CompositeSubrequest {
                    method: "GET".to_owned(),
                    url: self.data_path(&format!("{}?{encoded}", scope.resource())),
                    reference_id: format!("query{}", base + offset),
                    body: None,
                });
            }

            let mut by_reference: HashMap<String, CompositeSubresponse> = self
                .composite(&subrequests, false)
                .await?
                .into_iter()
                .map(|sub| (sub.reference_id.clone(), sub))
                .collect();

            for subrequest in &subrequests {
                let sub = by_reference
                    .remove(&subrequest.reference_id)
                    .ok_or_else(|| {
                        SalesforceError::InvalidRequest(format!(
                            "the composite response has no entry for {}",
                            subrequest.reference_id
                        ))
                    })?;
                if sub.http_status_code >= 300 {
                    return Err(SalesforceError::Api {
                        operation,
                        status: sub.http_status_code,
                        errors: sub.errors().unwrap_or_default(),
                    });
                }
                let page = serde_json::from_value(sub.body)
                    .map_err(|source| SalesforceError::Decode { operation, source })?;
                pages.push(page);
            }
        }
        Ok(pages)
    }
}
