//! Single-record calls on `/sobjects`: get, create, update, upsert by external id, delete.

use reqwest::Method;
use serde_json::{Map, Value};

use super::client::{check_name, Call};
use super::errors::SalesforceError;
use super::id;
use super::types::{Record, SaveResult};
use super::SalesforceClient;
use crate::connectors::wire::path_segment;

impl SalesforceClient {
    /// Fetches one record, with only `fields` when given.
    pub async fn get(
        &self,
        object: &str,
        record_id: &str,
        fields: Option<&[&str]>,
    ) -> Result<Record, SalesforceError> {
        check_name("sObject", object)?;
        let record_id = id::to_18(record_id)?;
        let call = Call::read("get", &record_id);
        let path = self.data_path(&format!("/sobjects/{object}/{record_id}"));

        let field_list = fields.map(|names| names.join(","));
        let query: Vec<(&str, &str)> = field_list
            .iter()
            .map(|list| ("fields", list.as_str()))
            .collect();
        self.send(call, Method::GET, &path, &query, None)
            .await?
            .json(call.operation)
    }

    /// Creates one record and returns its 18-character id.
    ///
    /// A create is not repeated after a timeout, because Salesforce may have saved the record.
    /// Use [`SalesforceClient::upsert`] on an external id when a create must be retried safely.
    pub async fn create(
        &self,
        object: &str,
        fields: &Map<String, Value>,
    ) -> Result<String, SalesforceError> {
        check_name("sObject", object)?;
        let call = Call::create("create", object);
        let path = self.data_path(&format!("/sobjects/{object}"));
        let body = Value::Object(fields.clone());

        let result: SaveResult = self
            .send(call, Method::POST, &path, &[], Some(&body))
            .await?
            .json(call.operation)?;
        result.id.ok_or_else(|| {
            SalesforceError::InvalidRequest(format!("create of {object} returned no id"))
        })
    }

    /// Updates the given fields of one record. A field set to JSON null is cleared.
    pub async fn update(
        &self,
        object: &str,
        record_id: &str,
        fields: &Map<String, Value>,
    ) -> Result<(), SalesforceError> {
        check_name("sObject", object)?;
        let record_id = id::to_18(record_id)?;
        let call = Call::read("update", &record_id);
        let path = self.data_path(&format!("/sobjects/{object}/{record_id}"));
        let body = Value::Object(fields.clone());

        self.send(call, Method::PATCH, &path, &[], Some(&body))
            .await?;
        Ok(())
    }

    /// Creates or updates the record whose external id `field` equals `value`.
    ///
    /// Returns the save result, whose `created` flag shows which happened. When several
    /// records carry the value, nothing is written and [`SalesforceError::MultipleMatches`]
    /// lists them.
    pub async fn upsert(
        &self,
        object: &str,
        field: &str,
        value: &str,
        fields: &Map<String, Value>,
    ) -> Result<SaveResult, SalesforceError> {
        check_name("sObject", object)?;
        check_name("external id field", field)?;
        let call = Call::read("upsert", value);
        let encoded = path_segment(value);
        let path = self.data_path(&format!("/sobjects/{object}/{field}/{encoded}"));
        let body = Value::Object(fields.clone());

        let reply = self
            .send(call, Method::PATCH, &path, &[], Some(&body))
            .await?;
        match reply.status {
            300 => Err(SalesforceError::MultipleMatches {
                object: object.to_owned(),
                field: field.to_owned(),
                value: value.to_owned(),
                matches: reply.json(call.operation)?,
            }),
            204 => Ok(SaveResult {
                id: None,
                success: true,
                errors: Vec::new(),
                created: Some(false),
            }),
            _ => reply.json(call.operation),
        }
    }

    /// Deletes one record (it goes to the Recycle Bin).
    pub async fn delete(&self, object: &str, record_id: &str) -> Result<(), SalesforceError> {
        check_name("sObject", object)?;
        let record_id = id::to_18(record_id)?;
        let call = Call::read("delete", &record_id);
        let path = self.data_path(&format!("/sobjects/{object}/{record_id}"));

        self.send(call, Method::DELETE, &path, &[], None).await?;
        Ok(())
    }
}
