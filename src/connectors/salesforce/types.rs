//! sObject records, query results and save results as the REST API returns them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::errors::classify_code;
use super::id;
use crate::connectors::ErrorClass;

/// One sObject record: its normalized id, its type and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireRecord")]
pub struct Record {
    /// The record id in its 18-character form.
    pub id: String,
    /// The sObject type, such as `Lead` or `Contact`.
    pub object: String,
    /// The fields as returned, without the `attributes` entry. Nested query results (child
    /// relationships) stay as JSON objects.
    pub fields: Map<String, Value>,
}

impl Record {
    /// Returns a field's value, or `None` when it is absent or null.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|value| !value.is_null())
    }

    /// Returns a text field's value, or `None` when it is absent, null or not text.
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }
}

/// The wire shape of a record: `attributes` plus the fields.
#[derive(Deserialize)]
struct WireRecord {
    attributes: RecordAttributes,
    #[serde(flatten)]
    fields: Map<String, Value>,
}

/// The `attributes` entry of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAttributes {
    /// The sObject type.
    #[serde(rename = "type")]
    pub object: String,
    /// The record's REST path, ending in its id, absent for aggregate rows.
    #[serde(default)]
    pub url: Option<String>,
}

impl TryFrom<WireRecord> for Record {
    type Error = String;

    fn try_from(wire: WireRecord) -> Result<Self, Self::Error> {
        let raw_id = wire
            .fields
            .get("Id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| {
                let url = wire.attributes.url.as_deref()?;
                url.rsplit('/').next().map(str::to_owned)
            })
            .ok_or_else(|| {
                format!(
                    "a {} record has neither an Id field nor a url; select Id in the query",
                    wire.attributes.object
                )
            })?;
        let id = id::to_18(&raw_id).map_err(|e| e.to_string())?;

        Ok(Record {
            id,
            object: wire.attributes.object,
            fields: wire.fields,
        })
    }
}

/// One page of a SOQL query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResult {
    /// Rows matching the query in total, across all pages.
    pub total_size: u64,
    /// True on the last page.
    pub done: bool,
    /// The instance-relative path of the next page, present while `done` is false.
    #[serde(default)]
    pub next_records_url: Option<String>,
    /// The records of this page.
    pub records: Vec<Record>,
}

/// One error of a per-record save result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    /// The error code, named `statusCode` in collections and `errorCode` in single-record
    /// bodies.
    #[serde(alias = "errorCode")]
    pub status_code: String,
    /// Salesforce's message.
    pub message: String,
    /// The fields the error is about.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The outcome of saving one record: a create, update or upsert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    /// The record id in its 18-character form, absent when a create failed.
    #[serde(default, deserialize_with = "deserialize_optional_id")]
    pub id: Option<String>,
    /// True when the record was saved.
    pub success: bool,
    /// Why the record was not saved.
    #[serde(default)]
    pub errors: Vec<RecordError>,
    /// For upserts (API v46 and later): true when a record was created, false when updated.
    #[serde(default)]
    pub created: Option<bool>,
}

impl SaveResult {
    /// Classifies a failed result by its first error, or returns `None` when the record was
    /// saved.
    ///
    /// With `allOrNone`, records that were valid but rolled back report
    /// `ALL_OR_NONE_OPERATION_ROLLED_BACK`, which is classified as retryable.
    pub fn class(&self) -> Option<ErrorClass> {
        if self.success {
            return None;
        }
        let Some(first) = self.errors.first() else {
            return Some(ErrorClass::permanent(
                "UNKNOWN_ERROR",
                "save failed without an error",
                Vec::new(),
            ));
        };
        if first.status_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" {
            return Some(ErrorClass::Retryable);
        }
        Some(classify_code(
            &first.status_code,
            &first.message,
            &first.fields,
        ))
    }
}

/// Normalizes an id that may be absent or null; an id that is not a Salesforce id is kept as
/// Salesforce sent it, because a failed save result carries no id to normalize.
fn deserialize_optional_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let raw: Option<String> = Option::deserialize(deserializer)?;
    Ok(raw.map(|value| id::to_18(&value).unwrap_or(value)))
}

/// Salesforce datetimes: `2013-05-08T21:20:00.000+0000` in responses, `…Z` in SOQL and query
/// parameters.
pub mod datetime {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer};

    /// Parses a response datetime, with `+0000`, `+00:00` or `Z` as the offset.
    pub fn parse(value: &str) -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z")
            .or_else(|_| DateTime::parse_from_rfc3339(value))
            .map(|parsed| parsed.with_timezone(&Utc))
            .map_err(|e| format!("invalid Salesforce datetime {value:?}: {e}"))
    }

    /// Formats a datetime as a SOQL literal or query parameter, such as
    /// `2024-05-01T12:00:00Z`.
    pub fn format(value: DateTime<Utc>) -> String {
        value.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Deserializes a response datetime.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The getUpdated response: ids of records changed in a time window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedRecords {
    /// The changed record ids in their 18-character form.
    #[serde(deserialize_with = "deserialize_ids")]
    pub ids: Vec<String>,
    /// The end of the window Salesforce could cover; use it as the next window's start.
    #[serde(with = "datetime")]
    pub latest_date_covered: DateTime<Utc>,
}

/// One entry of the getDeleted response.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    /// The deleted record's id in its 18-character form.
    #[serde(deserialize_with = "deserialize_id")]
    pub id: String,
    /// When it was deleted.
    #[serde(with = "datetime")]
    pub deleted_date: DateTime<Utc>,
}

/// The getDeleted response: records deleted in a time window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecords {
    /// The deleted records.
    pub deleted_records: Vec<DeletedRecord>,
    /// The oldest point the delete log still covers; later than the requested start means
    /// deletes were purged and a full reconciliation is needed.
    #[serde(with = "datetime")]
    pub earliest_date_available: DateTime<Utc>,
    /// The end of the window Salesforce could cover.
    #[serde(with = "datetime")]
    pub latest_date_covered: DateTime<Utc>,
}

fn deserialize_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let raw = String::deserialize(deserializer)?;
    id::to_18(&raw).map_err(serde::de::Error::custom)
}

fn deserialize_ids<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let raw: Vec<String> = Vec::deserialize(deserializer)?;
    raw.iter()
        .map(|value| id::to_18(value).map_err(serde::de::Error::custom))
        .collect()
}
