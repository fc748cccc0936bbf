//! Creates the Intercom data attributes that the mapped custom attributes need.

use tracing::{info, warn};

use crate::connectors::intercom::{AttributeModel, IntercomClient, NewDataAttribute};
use crate::sync::attributes::{AttributeMap, ValueKind};

/// The Intercom `data_type` of a value kind.
fn data_type(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Text => "string",
        ValueKind::Integer => "integer",
        ValueKind::Float => "float",
        ValueKind::Boolean => "boolean",
        ValueKind::Date => "date",
        ValueKind::DateTime => "datetime",
    }
}

/// Creates every mapped `custom_attributes.<name>` that the workspace lacks. A failure is
/// logged and leaves the start-up going: writes of that attribute then fail with a sync
/// error that names it.
pub async fn ensure_custom_attributes(intercom: &IntercomClient, attributes: &AttributeMap) {
    let wanted: Vec<(&str, ValueKind)> = attributes
        .entries()
        .iter()
        .filter_map(|entry| Some((entry.id.strip_prefix("custom_attributes.")?, entry.kind)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let existing = match intercom
        .list_data_attributes(AttributeModel::Contact, true)
        .await
    {
        Ok(existing) => existing,
        Err(error) => {
            warn!(%error, "Failed to list the Intercom data attributes; mapped custom attributes are not checked");
            return;
        }
    };
    for (name, kind) in wanted {
        if existing.iter().any(|attribute| attribute.name == name) {
            continue;
        }
        let attribute = NewDataAttribute {
            name: name.to_owned(),
            model: AttributeModel::Contact,
            data_type: data_type(kind).to_owned(),
            description: Some("Synced with Salesforce by intersync".to_owned()),
            options: Vec::new(),
            messenger_writable: None,
        };
        match intercom.create_data_attribute(&attribute).await {
            Ok(_) => info!(
                attribute = name,
                data_type = data_type(kind),
                "Created an Intercom data attribute"
            ),
            Err(error) => {
                warn!(attribute = name, %error, "Failed to create an Intercom data attribute")
            }
        }
    }
}
