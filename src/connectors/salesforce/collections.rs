//! sObject Collections: create, update and upsert of up to 200 records in one API call, with
//! per-record results and a retry of only the records that failed transiently.

use reqwest::Method;
use serde_json::{json, Map, Value};
use tracing::warn;

use super::client::{check_name, Call};
use super::errors::SalesforceError;
use super::id;
use super::types::SaveResult;
use super::SalesforceClient;
use crate::connectors::ErrorClass;

/// Records per sObject Collections request, the API's maximum.
pub const COLLECTION_LIMIT: usize = 200;

/// The new field values of one existing record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    /// The record id, 15 or 18 characters.
    pub id: String,
    /// The fields to set. JSON null clears a field.
    pub fields: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CollectionKind {
    Create,
    Update,
    Upsert,
}

impl CollectionKind {
    fn operation(self) -> &'static str {
        match self {
            CollectionKind::Create => "collections_create",
            CollectionKind::Update => "collections_update",
            CollectionKind::Upsert => "collections_upsert",
        }
    }
}

/// The records of one request with the labels that name them in logs.
struct Batch<'a> {
    kind: CollectionKind,
    path: String,
    records: Vec<Value>,
    labels: Vec<String>,
    all_or_none: bool,
    object: &'a str,
}

impl SalesforceClient {
    /// Creates records of one type. Returns one result per input record, in input order.
    ///
    /// Records that fail with a transient error (such as `UNABLE_TO_LOCK_ROW`) are sent again
    /// on their own, and records that were saved are not sent again. More than 200 records are
    /// split into several calls, which `all_or_none` cannot span, so it then rejects the input.
    pub async fn collections_create(
        &self,
        object: &str,
        records: &[Map<String, Value>],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        check_name("sObject", object)?;
        let bodies = records
            .iter()
            .map(|fields| record_body(object, fields, None))
            .collect();
        let labels = (0..records.len()).map(|i| format!("#{i}")).collect();
        let path = self.data_path("/composite/sobjects");
        self.save_all(
            CollectionKind::Create,
            object,
            path,
            bodies,
            labels,
            all_or_none,
        )
        .await
    }

    /// Updates records of one type by id. Returns one result per input record, in input order,
    /// retrying only the records that failed transiently, as [`Self::collections_create`] does.
    pub async fn collections_update(
        &self,
        object: &str,
        records: &[RecordUpdate],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        check_name("sObject", object)?;
        let mut bodies = Vec::with_capacity(records.len());
        let mut labels = Vec::with_capacity(records.len());
        for record in records {
            let record_id = id::to_18(&record.id)?;
            bodies.push(record_body(object, &record.fields, Some(&record_id)));
            labels.push(record_id);
        }
        let path = self.data_path("/composite/sobjects");
        self.save_all(
            CollectionKind::Update,
            object,
            path,
            bodies,
            labels,
            all_or_none,
        )
        .await
    }

    /// Creates or updates records of one type matched on `external_id_field`, which every
    /// record must contain. Returns one result per input record, in input order, with
    /// `created` showing which happened. Retries work as in [`Self::collections_create`].
    pub async fn collections_upsert(
        &self,
        object: &str,
        external_id_field: &str,
        records: &[Map<String, Value>],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        check_name("sObject", object)?;
        check_name("external id field", external_id_field)?;
        let mut labels = Vec::with_capacity(records.len());
        for (i, fields) in records.iter().enumerate() {
            match fields.get(external_id_field) {
                Some(Value::String(value)) => labels.push(value.clone()),
                Some(value) if !value.is_null() => labels.push(value.to_string()),
                _ => {
                    return Err(SalesforceError::InvalidRequest(format!(
                        "record #{i} has no value for the external id field {external_id_field}"
                    )))
                }
            }
        }
        let bodies = records
            .iter()
            .map(|fields| record_body(object, fields, None))
            .collect();
        let path = self.data_path(&format!("/composite/sobjects/{object}/{external_id_field}"));
        self.save_all(
            CollectionKind::Upsert,
            object,
            path,
            bodies,
            labels,
            all_or_none,
        )
        .await
    }

    async fn save_all(
        &self,
        kind: CollectionKind,
        object: &str,
        path: String,
        records: Vec<Value>,
        labels: Vec<String>,
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        if all_or_none && records.len() > COLLECTION_LIMIT {
            return Err(SalesforceError::InvalidRequest(format!(
                "{} records were given with all_or_none, but one call takes at most {COLLECTION_LIMIT}; split them or drop all_or_none",
                records.len()
            )));
        }

        let mut results = Vec::with_capacity(records.len());
        let mut records = records.into_iter();
        let mut labels = labels.into_iter();
        loop {
            let chunk: Vec<Value> = records.by_ref().take(COLLECTION_LIMIT).collect();
            if chunk.is_empty() {
                break;
            }
            let batch = Batch {
                kind,
                path: path.clone(),
                labels: labels.by_ref().take(chunk.len()).collect(),
                records: chunk,
                all_or_none,
                object,
            };
            results.extend(self.save_batch(&batch).await?);
        }
        Ok(results)
    }

    /// Saves one batch, then sends again only the records whose result is retryable, until
    /// none is left or the retry policy runs out.
    async fn save_batch(&self, batch: &Batch<'_>) -> Result<Vec<SaveResult>, SalesforceError> {
        let operation = batch.kind.operation();
        let mut results: Vec<Option<SaveResult>> = vec![None; batch.records.len()];
        let mut pending: Vec<usize> = (0..batch.records.len()).collect();
        let mut delays = self.inner.config.retry.delays();
        let mut attempt = 1;

        loop {
            let sent: Vec<&Value> = pending.iter().map(|&i| &batch.records[i]).collect();
            let answered = self.send_batch(batch, &sent, &pending).await?;

            let mut retry = Vec::new();
            let mut permanent_failure = false;
            for (&position, result) in pending.iter().zip(answered) {
                match result.class() {
                    Some(ErrorClass::Retryable) => retry.push(position),
                    Some(_) => permanent_failure = true,
                    None => {}
                }
                results[position] = Some(result);
            }

            // With allOrNone, the valid records were rolled back beside the failing one;
            // sending them alone would break the caller's all-or-none request.
            if retry.is_empty() || (batch.all_or_none && permanent_failure) {
                break;
            }
            let Some(delay) = delays.next() else {
                break;
            };
            let ids: Vec<&str> = retry.iter().map(|&i| batch.labels[i].as_str()).collect();
            warn!(
                operation,
                object = batch.object,
                attempt,
                delay_ms = delay.as_millis() as u64,
                ids = %ids.join(","),
                "Retrying the records of a collection that failed transiently"
            );
            tokio::time::sleep(delay).await;
            pending = retry;
            attempt += 1;
        }

        Ok(results
            .into_iter()
            .map(|result| result.expect("every position has been answered at least once"))
            .collect())
    }

    async fn send_batch(
        &self,
        batch: &Batch<'_>,
        records: &[&Value],
        positions: &[usize],
    ) -> Result<Vec<SaveResult>, SalesforceError> {
        let operation = batch.kind.operation();
        let ids: Vec<&str> = positions
            .iter()
            .map(|&i| batch.labels[i].as_str())
            .collect();
        let ids = ids.join(",");
        let call = match batch.kind {
            CollectionKind::Create => Call::create(operation, &ids),
            CollectionKind::Update | CollectionKind::Upsert => Call::read(operation, &ids),
        };
        let method = match batch.kind {
            CollectionKind::Create => Method::POST,
            CollectionKind::Update | CollectionKind::Upsert => Method::PATCH,
        };
        let body = json!({ "allOrNone": batch.all_or_none, "records": records });

        let results: Vec<SaveResult> = self
            .send(call, method, &batch.path, &[], Some(&body))
            .await?
            .json(operation)?;
        if results.len() != records.len() {
            return Err(SalesforceError::InvalidRequest(format!(
                "{operation} sent {} records but Salesforce returned {} results",
                records.len(),
                results.len()
            )));
        }
        Ok(results)
    }
}

/// Builds a collection record: `attributes.type`, the fields and, for updates, the id.
fn record_body(object: &str, fields: &Map<String, Value>, record_id: Option<&str>) -> Value {
    let mut body = Map::with_capacity(fields.len() + 2);
    body.insert("attributes".to_owned(), json!({ "type": object }));
    for (name, value) in fields {
        if name != "attributes" && !name.eq_ignore_ascii_case("id") {
            body.insert(name.clone(), value.clone());
        }
    }
    if let Some(record_id) = record_id {
        body.insert("id".to_owned(), Value::String(record_id.to_owned()));
    }
    Value::Object(body)
}
