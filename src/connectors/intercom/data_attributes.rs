//! Intercom data attributes: the standard and custom attributes of contacts and companies,
//! listed to check mapped attributes and created to add list options.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::Call;
use super::errors::IntercomError;
use super::timestamp;
use super::IntercomClient;

/// The model a data attribute belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeModel {
    /// Contacts (users and leads).
    Contact,
    /// Companies.
    Company,
    /// Conversations.
    Conversation,
}

impl AttributeModel {
    fn as_str(self) -> &'static str {
        match self {
            AttributeModel::Contact => "contact",
            AttributeModel::Company => "company",
            AttributeModel::Conversation => "conversation",
        }
    }
}

/// One data attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataAttribute {
    /// The id, which only custom attributes have.
    #[serde(default)]
    pub id: Option<i64>,
    /// The model it belongs to.
    pub model: AttributeModel,
    /// The name, such as `plan`.
    pub name: String,
    /// The path used in search and updates, such as `custom_attributes.plan`.
    pub full_name: String,
    /// The label shown in Intercom.
    #[serde(default)]
    pub label: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// `string`, `integer`, `float`, `boolean`, `date` (and `options` from API 2.16).
    pub data_type: String,
    /// The allowed values of a list attribute: strings in API 2.11, `{"value": …}` objects
    /// later; read them with [`DataAttribute::option_values`].
    #[serde(default)]
    pub options: Vec<Value>,
    /// Whether the REST API may write it.
    #[serde(default)]
    pub api_writable: Option<bool>,
    /// Whether the Messenger may write it.
    #[serde(default)]
    pub messenger_writable: Option<bool>,
    /// Whether admins may edit it in the UI.
    #[serde(default)]
    pub ui_writable: Option<bool>,
    /// True for custom attributes.
    #[serde(default)]
    pub custom: bool,
    /// True when archived. Archived attributes cannot be written.
    #[serde(default)]
    pub archived: bool,
    /// When a custom attribute was created.
    #[serde(default, with = "timestamp::option")]
    pub created_at: Option<DateTime<Utc>>,
    /// When a custom attribute last changed.
    #[serde(default, with = "timestamp::option")]
    pub updated_at: Option<DateTime<Utc>>,
    /// The admin who created a custom attribute.
    #[serde(default)]
    pub admin_id: Option<String>,
}

impl DataAttribute {
    /// Returns the allowed values of a list attribute, in both wire forms.
    pub fn option_values(&self) -> Vec<String> {
        self.options
            .iter()
            .filter_map(|option| match option {
                Value::String(value) => Some(value.clone()),
                Value::Object(fields) => fields
                    .get("value")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                _ => None,
            })
            .collect()
    }
}

/// The list returned by `GET /data_attributes`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DataAttributeList {
    /// Always `list`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The attributes.
    pub data: Vec<DataAttribute>,
}

/// A custom attribute to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDataAttribute {
    /// The name.
    pub name: String,
    /// `contact` or `company`.
    pub model: AttributeModel,
    /// `string`, `integer`, `float`, `boolean`, `datetime` or `date`.
    pub data_type: String,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The allowed values, for a list attribute (with `data_type` `string` in API 2.11).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether the Messenger may write it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messenger_writable: Option<bool>,
}

impl IntercomClient {
    /// Lists the data attributes of `model`, archived ones included when asked.
    pub async fn list_data_attributes(
        &self,
        model: AttributeModel,
        include_archived: bool,
    ) -> Result<Vec<DataAttribute>, IntercomError> {
        let call = Call::read("list_data_attributes", model.as_str());
        let query = [
            ("model", model.as_str()),
            (
                "include_archived",
                if include_archived { "true" } else { "false" },
            ),
        ];
        let list: DataAttributeList = self
            .send_json(call, Method::GET, "/data_attributes", &query, None)
            .await?;
        Ok(list.data)
    }

    /// Creates a custom data attribute.
    pub async fn create_data_attribute(
        &self,
        attribute: &NewDataAttribute,
    ) -> Result<DataAttribute, IntercomError> {
        let call = Call::create("create_data_attribute", &attribute.name);
        let body = serde_json::to_value(attribute).map_err(|e| {
            IntercomError::InvalidRequest(format!("cannot encode the data attribute: {e}"))
        })?;
        self.send_json(call, Method::POST, "/data_attributes", &[], Some(&body))
            .await
    }
}
