//! Write-time validation against the describe flags and the JSON shape of returned records.

use serde_json::{json, Map, Value};

use super::describe::{FieldDef, FieldType, ObjectSchema};
use super::error::{ApiError, ApiResult};
use super::ids::normalize_id;
use super::store::{parse_datetime, Record};

/// Whether a write creates a record or changes an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Create,
    Update,
}

/// Checks a create or update body against the object's fields and returns the values under
/// their canonical names. Checks run in the order Salesforce reports them: unknown fields,
/// read-only fields, value types and sizes, then missing required fields.
pub fn validate_write(
    schema: &ObjectSchema,
    body: &Map<String, Value>,
    mode: WriteMode,
) -> ApiResult<Map<String, Value>> {
    let mut values = Map::new();
    let mut read_only = Vec::new();
    for (key, value) in body {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") {
            if mode == WriteMode::Create {
                return Err(ApiError::invalid_field(
                    "The Id field should not be specified in the sobject data.",
                ));
            }
            continue;
        }
        let field = schema.field(key).ok_or_else(|| {
            ApiError::invalid_field(format!(
                "No such column '{key}' on sobject of type {}",
                schema.object
            ))
        })?;
        let writable = match mode {
            WriteMode::Create => field.createable,
            WriteMode::Update => field.updateable,
        };
        if !writable {
            read_only.push(field.name.clone());
            continue;
        }
        values.insert(field.name.clone(), value.clone());
    }

    if !read_only.is_empty() {
        let verb = if mode == WriteMode::Create {
            "create"
        } else {
            "update"
        };
        return Err(ApiError::new(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to {verb} fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                read_only.join(", ")
            ),
        )
        .with_fields(read_only));
    }

    let mut missing = Vec::new();
    for (name, value) in values.iter_mut() {
        let Some(field) = schema.field(name) else {
            continue;
        };
        if value.is_null() {
            if !field.nillable && field.field_type != FieldType::Boolean {
                missing.push(field.name.clone());
            }
            continue;
        }
        *value = check_value(field, value)?;
    }
    if mode == WriteMode::Create {
        for field in schema.visible_fields() {
            let supplied = values
                .get(&field.name)
                .is_some_and(|value| !value.is_null());
            if field.is_required_on_create() && !supplied && !missing.contains(&field.name) {
                missing.push(field.name.clone());
            }
        }
    }
    if !missing.is_empty() {
        return Err(ApiError::new(
            400,
            "REQUIRED_FIELD_MISSING",
            format!("Required fields are missing: [{}]", missing.join(", ")),
        )
        .with_fields(missing));
    }
    Ok(values)
}

/// Checks one non-null value against its field's type, length and picklist, and returns it
/// in the form Salesforce stores.
fn check_value(field: &FieldDef, value: &Value) -> ApiResult<Value> {
    let type_error = || {
        ApiError::json_parser(format!(
            "Cannot deserialize instance of {} from {} value {value} for field {}",
            field_type_label(field.field_type),
            json_kind(value),
            field.name
        ))
    };
    match field.field_type {
        FieldType::Boolean => value.as_bool().map(Value::Bool).ok_or_else(type_error),
        FieldType::Int | FieldType::Double | FieldType::Currency => {
            let number = match value {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(type_error)?;
            if field.field_type == FieldType::Int {
                Ok(json!(number as i64))
            } else {
                Ok(json!(number))
            }
        }
        FieldType::Date => {
            let text = value.as_str().ok_or_else(type_error)?;
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| type_error())?;
            Ok(value.clone())
        }
        FieldType::DateTime => {
            let text = value.as_str().ok_or_else(type_error)?;
            let moment = parse_datetime(text).ok_or_else(type_error)?;
            Ok(json!(super::store::format_datetime(moment)))
        }
        FieldType::Id | FieldType::Reference => {
            let text = value.as_str().ok_or_else(type_error)?;
            let id = normalize_id(text).ok_or_else(|| {
                ApiError::new(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{}: id value of incorrect type: {text}", field.label),
                )
                .with_fields(vec![field.name.clone()])
            })?;
            Ok(Value::String(id))
        }
        _ => {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                Value::Bool(flag) => flag.to_string(),
                _ => return Err(type_error()),
            };
            check_text(field, &text)?;
            Ok(Value::String(text))
        }
    }
}

fn check_text(field: &FieldDef, text: &str) -> ApiResult<()> {
    if field.length > 0 && text.chars().count() > field.length {
        return Err(ApiError::new(
            400,
            "STRING_TOO_LONG",
            format!(
                "{}: data value too large: {text} (max length={})",
                field.label, field.length
            ),
        )
        .with_fields(vec![field.name.clone()]));
    }
    if field.field_type == FieldType::Picklist
        && field.restricted_picklist
        && !field.picklist_values.iter().any(|allowed| allowed == text)
    {
        return Err(ApiError::new(
            400,
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            format!(
                "{}: bad value for restricted picklist field: {text}",
                field.label
            ),
        )
        .with_fields(vec![field.name.clone()]));
    }
    if field.field_type == FieldType::Email && !is_plausible_email(text) {
        return Err(ApiError::new(
            400,
            "INVALID_EMAIL_ADDRESS",
            format!("{}: invalid email address: {text}", field.label),
        )
        .with_fields(vec![field.name.clone()]));
    }
    Ok(())
}

fn is_plausible_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !text.contains(' ')
        }
        None => false,
    }
}

fn field_type_label(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Boolean => "boolean",
        FieldType::Int => "int",
        FieldType::Double | FieldType::Currency => "double",
        FieldType::Date => "date",
        FieldType::DateTime => "datetime",
        _ => "string",
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

/// Renders a record as the REST API returns it: `attributes`, then the requested fields in
/// describe order (all visible fields when `fields` is `None`), absent values as `null`.
pub fn render(
    schema: &ObjectSchema,
    record: &Record,
    fields: Option<&[String]>,
    version: &str,
) -> Value {
    let mut body = Map::new();
    body.insert("attributes".to_string(), attributes(record, version));
    match fields {
        Some(names) => {
            for name in names {
                let value = record.fields.get(name).cloned().unwrap_or(Value::Null);
                body.insert(name.clone(), value);
            }
        }
        None => {
            for field in schema.visible_fields() {
                let value = record
                    .fields
                    .get(&field.name)
                    .cloned()
                    .unwrap_or(Value::Null);
                body.insert(field.name.clone(), value);
            }
        }
    }
    Value::Object(body)
}

pub fn attributes(record: &Record, version: &str) -> Value {
    json!({
        "type": record.object.name(),
        "url": format!("/services/data/v{version}/sobjects/{}/{}", record.object, record.id()),
    })
}

/// Resolves a comma-separated `fields` parameter to canonical names.
pub fn resolve_field_list(schema: &ObjectSchema, list: &str) -> ApiResult<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            schema.field(name).map(|field| field.name.clone()).ok_or_else(|| {
                ApiError::invalid_field(format!(
                    "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    schema.object
                ))
            })
        })
        .collect()
}
