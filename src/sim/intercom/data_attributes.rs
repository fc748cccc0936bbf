//! Data attributes: the standard contact and company attributes, custom attributes created
//! through `POST /data_attributes`, and the check of a contact's `custom_attributes` against them.

use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;

/// One data attribute as `GET /data_attributes` returns it.
#[derive(Debug, Clone, Serialize)]
pub struct DataAttribute {
    /// Set on custom attributes only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub full_name: String,
    pub label: String,
    pub description: String,
    /// One of `string`, `integer`, `float`, `boolean` and `date`.
    pub data_type: &'static str,
    /// The allowed values of a list attribute; empty for free values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    pub api_writable: bool,
    pub ui_writable: bool,
    pub messenger_writable: bool,
    pub custom: bool,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<i64>,
    pub model: &'static str,
}

/// The admin id custom attributes are recorded as created by.
const SIM_ADMIN_ID: &str = "991200001";

/// Standard attributes: model, name, label, data type and whether the API can write them.
const STANDARD: &[(&str, &str, &str, &str, bool)] = &[
    ("contact", "id", "ID", "string", false),
    ("contact", "role", "Role", "string", true),
    ("contact", "external_id", "User ID", "string", true),
    ("contact", "email", "Email", "string", true),
    ("contact", "phone", "Phone", "string", true),
    ("contact", "name", "Name", "string", true),
    ("contact", "avatar", "Avatar", "string", true),
    ("contact", "owner_id", "Owner", "integer", true),
    (
        "contact",
        "unsubscribed_from_emails",
        "Unsubscribed from emails",
        "boolean",
        true,
    ),
    ("contact", "created_at", "Signed up", "date", false),
    ("contact", "updated_at", "Last updated", "date", false),
    ("contact", "signed_up_at", "Signed up", "date", true),
    ("contact", "last_seen_at", "Last seen", "date", true),
    ("contact", "email_domain", "Email domain", "string", false),
    ("company", "id", "ID", "string", false),
    ("company", "company_id", "Company ID", "string", false),
    ("company", "name", "Company name", "string", true),
    ("company", "website", "Company website", "string", true),
    ("company", "size", "Company size", "integer", true),
    ("company", "created_at", "Created at", "date", false),
];

/// The attribute registry of the simulated workspace.
#[derive(Debug)]
pub struct DataAttributes {
    attributes: Vec<DataAttribute>,
    next_id: u64,
}

impl Default for DataAttributes {
    fn default() -> Self {
        let attributes = STANDARD
            .iter()
            .map(
                |&(model, name, label, data_type, api_writable)| DataAttribute {
                    id: None,
                    kind: "data_attribute",
                    name: name.to_string(),
                    full_name: name.to_string(),
                    label: label.to_string(),
                    description: format!("The {} of a {model}", label.to_lowercase()),
                    data_type,
                    options: Vec::new(),
                    api_writable,
                    ui_writable: false,
                    messenger_writable: true,
                    custom: false,
                    archived: false,
                    admin_id: None,
                    created_at: None,
                    updated_at: None,
                    model: if model == "contact" {
                        "contact"
                    } else {
                        "company"
                    },
                },
            )
            .collect();
        DataAttributes {
            attributes,
            next_id: 1,
        }
    }
}

impl DataAttributes {
    /// Lists the attributes of `model` (every model when `None`).
    pub fn list(&self, model: Option<&str>, include_archived: bool) -> Vec<&DataAttribute> {
        self.attributes
            .iter()
            .filter(|a| model.map_or(true, |m| a.model == m))
            .filter(|a| include_archived || !a.archived)
            .collect()
    }

    /// Creates a custom attribute from a `POST /data_attributes` body.
    pub fn create(
        &mut self,
        body: &Map<String, Value>,
        now: i64,
    ) -> Result<DataAttribute, ApiError> {
        let name = required_text(body, "name")?;
        if name.contains('.') || name.contains('$') || name.trim().is_empty() {
            return Err(ApiError::parameter_invalid(
                "name",
                format!("Invalid name {name:?}: names cannot be blank or contain '.' or '$'"),
            ));
        }
        let model = match required_text(body, "model")?.as_str() {
            "contact" => "contact",
            "company" => "company",
            other => {
                return Err(ApiError::parameter_invalid(
                    "model",
                    format!("Invalid model {other:?}: expected \"contact\" or \"company\""),
                ))
            }
        };
        let requested_type = required_text(body, "data_type")?;
        let data_type = match requested_type.as_str() {
            "string" | "options" => "string",
            "integer" => "integer",
            "float" => "float",
            "boolean" => "boolean",
            "date" | "datetime" => "date",
            other => {
                return Err(ApiError::parameter_invalid(
                    "data_type",
                    format!(
                        "Invalid data_type {other:?}: expected string, integer, float, boolean, \
                         datetime, date or options"
                    ),
                ))
            }
        };
        let options = parse_options(body.get("options"))?;
        if requested_type == "options" && options.len() < 2 {
            return Err(ApiError::parameter_invalid(
                "options",
                "A list attribute needs at least two options",
            ));
        }
        if self.attributes.iter().any(|a| {
            a.model == model
                && (a.name.eq_ignore_ascii_case(&name) || a.full_name.eq_ignore_ascii_case(&name))
        }) {
            return Err(ApiError::parameter_invalid(
                "name",
                format!("Same name already exists: {name:?} is taken on model {model}"),
            ));
        }

        let attribute = DataAttribute {
            id: Some(self.next_id),
            kind: "data_attribute",
            full_name: format!("custom_attributes.{name}"),
            label: name.clone(),
            name,
            description: optional_text(body, "description")?.unwrap_or_default(),
            data_type,
            options,
            api_writable: true,
            ui_writable: true,
            messenger_writable: body
                .get("messenger_writable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            custom: true,
            archived: false,
            admin_id: Some(SIM_ADMIN_ID.to_string()),
            created_at: Some(now),
            updated_at: Some(now),
            model,
        };
        self.next_id += 1;
        self.attributes.push(attribute.clone());
        Ok(attribute)
    }

    /// Edits a custom attribute from a `PUT /data_attributes/{id}` body: `archived`,
    /// `description`, `options` and `messenger_writable`.
    pub fn update(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
        now: i64,
    ) -> Result<DataAttribute, ApiError> {
        let options = match body.get("options") {
            Some(value) => Some(parse_options(Some(value))?),
            None => None,
        };
        let description = optional_text(body, "description")?;
        let attribute = self
            .attributes
            .iter_mut()
            .find(|a| a.id == Some(id))
            .ok_or_else(|| {
                ApiError::new(
                    actix_web::http::StatusCode::NOT_FOUND,
                    "not_found",
                    format!("Data attribute {id} not found"),
                )
            })?;
        if let Some(archived) = body.get("archived").and_then(Value::as_bool) {
            attribute.archived = archived;
        }
        if let Some(flag) = body.get("messenger_writable").and_then(Value::as_bool) {
            attribute.messenger_writable = flag;
        }
        if let Some(description) = description {
            attribute.description = description;
        }
        if let Some(options) = options {
            attribute.options = options;
        }
        attribute.updated_at = Some(now);
        Ok(attribute.clone())
    }

    /// Checks that each key of a contact's `custom_attributes` names a live custom contact
    /// attribute and that each value fits its data type and options. A `null` value always fits
    /// because it clears the attribute.
    pub fn validate_contact_values(&self, values: &Map<String, Value>) -> Result<(), ApiError> {
        for (key, value) in values {
            let attribute = self
                .attributes
                .iter()
                .find(|a| a.custom && a.model == "contact" && !a.archived && &a.name == key)
                .ok_or_else(|| {
                    ApiError::parameter_missing(
                        &format!("custom_attributes.{key}"),
                        format!(
                            "Custom attribute '{key}' does not exist: create it with POST /data_attributes first"
                        ),
                    )
                })?;
            if value.is_null() {
                continue;
            }
            let fits = match attribute.data_type {
                "string" => value.is_string(),
                "integer" | "date" => value.is_i64(),
                "float" => value.is_number(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !fits {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::BAD_REQUEST,
                    "type_mismatch",
                    format!(
                        "Invalid value {value} for custom attribute '{key}': expected {}",
                        attribute.data_type
                    ),
                )
                .with_field(format!("custom_attributes.{key}")));
            }
            if let (false, Some(text)) = (attribute.options.is_empty(), value.as_str()) {
                if !attribute.options.iter().any(|o| o == text) {
                    return Err(ApiError::parameter_invalid(
                        &format!("custom_attributes.{key}"),
                        format!(
                            "Invalid value {text:?} for list attribute '{key}': expected one of {:?}",
                            attribute.options
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn required_text(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match body.get(key) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(ApiError::parameter_invalid(
            key,
            format!("Invalid {key} {other}: expected a string"),
        )),
        None => Err(ApiError::parameter_missing(
            key,
            format!("Missing {key}: the request body needs it"),
        )),
    }
}

fn optional_text(body: &Map<String, Value>, key: &str) -> Result<Option<String>, ApiError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => required_text(body, key).map(Some),
    }
}

/// Reads options given as strings or as `{"value": ...}` objects.
fn parse_options(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let invalid = || {
        ApiError::parameter_invalid(
            "options",
            format!(
                "Invalid options {value}: expected a list of strings or of {{\"value\": string}}"
            ),
        )
    };
    let items = value.as_array().ok_or_else(invalid)?;
    items
        .iter()
        .map(|item| match item {
            Value::String(text) => Ok(text.clone()),
            Value::Object(map) => map
                .get("value")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(invalid),
            _ => Err(invalid()),
        })
        .collect()
}
