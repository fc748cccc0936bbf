//! sObject describe: an object's fields and their flags, cached per client.

use std::sync::{Arc, PoisonError};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{check_name, Call};
use super::errors::SalesforceError;
use super::SalesforceClient;

/// The describe of one sObject type.
///
/// Flags that some describe sources leave out are `Option`s, so "absent" is never read as
/// "false".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeSObject {
    /// The API name, such as `Lead`.
    pub name: String,
    /// The label shown in the UI.
    pub label: String,
    /// True for custom objects.
    #[serde(default)]
    pub custom: bool,
    /// The three-character id prefix, such as `00Q`.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Whether SOQL can read it.
    #[serde(default)]
    pub queryable: Option<bool>,
    /// Whether records can be created.
    #[serde(default)]
    pub createable: Option<bool>,
    /// Whether records can be updated.
    #[serde(default)]
    pub updateable: Option<bool>,
    /// Whether records can be deleted.
    #[serde(default)]
    pub deletable: Option<bool>,
    /// Whether getUpdated and getDeleted work on it.
    #[serde(default)]
    pub replicateable: Option<bool>,
    /// The fields visible to the connected user.
    pub fields: Vec<DescribeField>,
    /// Relationships from child objects to this one.
    #[serde(default)]
    pub child_relationships: Vec<ChildRelationship>,
    /// The record types.
    #[serde(default)]
    pub record_type_infos: Vec<RecordTypeInfo>,
}

impl DescribeSObject {
    /// Returns the field with this API name, compared case-insensitively as Salesforce does.
    pub fn field(&self, name: &str) -> Option<&DescribeField> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }
}

/// One field of a describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeField {
    /// The API name, such as `LastName`.
    pub name: String,
    /// The label shown in the UI.
    pub label: String,
    /// The field type: `string`, `email`, `picklist`, `boolean`, `reference`, `datetime`, …
    #[serde(rename = "type")]
    pub field_type: String,
    /// Whether the field may be empty.
    pub nillable: bool,
    /// Whether it may appear in a WHERE clause.
    #[serde(default)]
    pub filterable: Option<bool>,
    /// Whether it may appear in ORDER BY.
    #[serde(default)]
    pub sortable: Option<bool>,
    /// Whether it may appear in GROUP BY.
    #[serde(default)]
    pub groupable: Option<bool>,
    /// Whether it may be set on create.
    #[serde(default)]
    pub createable: Option<bool>,
    /// Whether it may be set on update.
    #[serde(default)]
    pub updateable: Option<bool>,
    /// Whether Salesforce fills it in on create when it is left out.
    #[serde(default)]
    pub defaulted_on_create: Option<bool>,
    /// The maximum length of text values, in characters.
    #[serde(default)]
    pub length: Option<u32>,
    /// Whether it is an external id (usable for upsert).
    #[serde(default)]
    pub external_id: Option<bool>,
    /// Whether it is unique.
    #[serde(default)]
    pub unique: Option<bool>,
    /// Whether it is a formula or roll-up field.
    #[serde(default)]
    pub calculated: Option<bool>,
    /// Whether a picklist accepts only its listed values.
    #[serde(default)]
    pub restricted_picklist: Option<bool>,
    /// The default value, when the field has one.
    #[serde(default)]
    pub default_value: Option<Value>,
    /// The allowed values of a picklist field.
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// The sObject types a reference field points to.
    #[serde(default)]
    pub reference_to: Vec<String>,
    /// The relationship name of a reference field, such as `ConvertedContact`.
    #[serde(default)]
    pub relationship_name: Option<String>,
    /// True for custom fields.
    #[serde(default)]
    pub custom: Option<bool>,
}

impl DescribeField {
    /// Returns whether a create must supply this field: createable, not nillable, not
    /// defaulted, and not a checkbox (checkboxes default to false). `None` when the describe
    /// lacks the `createable` or `defaultedOnCreate` flag.
    ///
    /// Validation rules and layouts can require more fields than describe shows.
    pub fn required_on_create(&self) -> Option<bool> {
        let createable = self.createable?;
        let defaulted = self.defaulted_on_create?;
        Some(createable && !self.nillable && !defaulted && self.field_type != "boolean")
    }

    /// Returns the values of the active picklist entries.
    pub fn active_picklist_values(&self) -> impl Iterator<Item = &str> {
        self.picklist_values
            .iter()
            .filter(|v| v.active)
            .map(|v| v.value.as_str())
    }
}

/// One picklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    /// The stored value.
    pub value: String,
    /// The label shown in the UI, when it differs from the value.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether the value may still be chosen.
    pub active: bool,
    /// Whether it is the field's default.
    #[serde(default)]
    pub default_value: bool,
}

/// A relationship from a child object to the described one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildRelationship {
    /// The child sObject type.
    #[serde(rename = "childSObject")]
    pub child_sobject: String,
    /// The child's reference field.
    pub field: String,
    /// The name used in subqueries, when the relationship can be queried.
    #[serde(default)]
    pub relationship_name: Option<String>,
}

/// A record type of the described object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordTypeInfo {
    /// The record type's name.
    pub name: String,
    /// Its id.
    pub record_type_id: String,
    /// Whether the connected user may use it.
    pub available: bool,
    /// Whether it is the user's default.
    #[serde(default)]
    pub default_record_type_mapping: bool,
}

impl SalesforceClient {
    /// Returns the describe of `object`, from the cache when it was fetched before.
    pub async fn describe(&self, object: &str) -> Result<Arc<DescribeSObject>, SalesforceError> {
        let cached = self
            .inner
            .describe_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(object)
            .cloned();
        match cached {
            Some(describe) => Ok(describe),
            None => self.refresh_describe(object).await,
        }
    }

    /// Fetches the describe of `object` again and replaces the cached copy, for use after the
    /// org's metadata changed.
    pub async fn refresh_describe(
        &self,
        object: &str,
    ) -> Result<Arc<DescribeSObject>, SalesforceError> {
        check_name("sObject", object)?;
        let call = Call::read("describe", object);
        let path = self.data_path(&format!("/sobjects/{object}/describe"));

        let describe: DescribeSObject = self
            .send(call, Method::GET, &path, &[], None)
            .await?
            .json(call.operation)?;
        let describe = Arc::new(describe);
        self.inner
            .describe_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(object.to_owned(), Arc::clone(&describe));
        Ok(describe)
    }
}
