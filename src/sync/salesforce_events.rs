//! Salesforce rows from a poll as state-machine events.
//!
//! The poller selects the fields named by [`poll_fields`]; each row becomes one event ordered
//! by its own `SystemModstamp`.

use intersync_fsm::{
    Event, MappingKey, PersonChange, PersonRef, SalesforceId, SalesforceObject, SalesforceRef,
    Timestamp,
};
use serde_json::{Map, Value};

use super::attributes::{parse_salesforce_datetime, AttributeMap, KEY_ATTRIBUTE};
use crate::actors::registry::Target;

/// The reasons a row gives no event.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RowError {
    #[error("row has an invalid Id {0:?}")]
    InvalidId(String),
    #[error("row {id} has an invalid SystemModstamp {value:?}")]
    InvalidModstamp { id: String, value: String },
}

/// Lists the fields a poll of `object` selects, besides the mapped ones.
pub fn poll_fields(object: SalesforceObject) -> &'static [&'static str] {
    match object {
        SalesforceObject::Lead => &[
            "Id",
            "SystemModstamp",
            "CreatedDate",
            "IsDeleted",
            "IsConverted",
            "ConvertedContactId",
        ],
        SalesforceObject::Contact => &["Id", "SystemModstamp", "CreatedDate", "IsDeleted"],
    }
}

/// Returns the sObject name of `object`, as SOQL and the REST paths spell it.
pub fn object_name(object: SalesforceObject) -> &'static str {
    match object {
        SalesforceObject::Lead => "Lead",
        SalesforceObject::Contact => "Contact",
    }
}

/// Lists the fields to select from `object`: those [`event_of`] reads, then every mapped one.
pub fn select_fields(object: SalesforceObject, attributes: &AttributeMap) -> Vec<&str> {
    let mut fields: Vec<&str> = poll_fields(object).to_vec();
    for field in attributes.salesforce_select_fields() {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    fields
}

/// Returns a row's id and `SystemModstamp` in Unix milliseconds: the poll cursor's unit.
pub fn row_position(row: &Map<String, Value>) -> Result<(i64, String), RowError> {
    let id = row.get("Id").and_then(Value::as_str).unwrap_or_default();
    let id = SalesforceId::parse(id).map_err(|_| RowError::InvalidId(id.to_owned()))?;
    let stamp = row
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let time = parse_salesforce_datetime(stamp).ok_or_else(|| RowError::InvalidModstamp {
        id: id.as_str().to_owned(),
        value: stamp.to_owned(),
    })?;
    Ok((time.timestamp_millis(), id.as_str().to_owned()))
}

/// Converts one row of `object` into its event and the person it is routed to.
pub fn event_of(
    object: SalesforceObject,
    row: &Map<String, Value>,
    attributes: &AttributeMap,
) -> Result<(Target, Event), RowError> {
    let (stamp_ms, id) = row_position(row)?;
    let id = SalesforceId::parse(&id).map_err(|_| RowError::InvalidId(id.clone()))?;
    let at = Timestamp::from_millis(stamp_ms);
    let person = PersonRef::Salesforce(SalesforceRef {
        id: id.clone(),
        object,
    });
    let target = Target::Person(person.clone());

    if row.get("IsDeleted").and_then(Value::as_bool) == Some(true) {
        return Ok((target, Event::PersonDeleted { person, at }));
    }
    let converted_to = row
        .get("ConvertedContactId")
        .and_then(Value::as_str)
        .filter(|_| row.get("IsConverted").and_then(Value::as_bool) == Some(true));
    if let Some(contact) = converted_to {
        let contact =
            SalesforceId::parse(contact).map_err(|_| RowError::InvalidId(contact.to_owned()))?;
        return Ok((
            target,
            Event::LeadConverted {
                lead: id,
                contact,
                at,
            },
        ));
    }

    let change = person_change(person, row, attributes, at);
    let created = row.get("CreatedDate") == row.get("SystemModstamp");
    let event = if created {
        Event::PersonCreated(change)
    } else {
        Event::PersonUpdated(change)
    };
    Ok((target, event))
}

/// Reads a record into a person change.
pub fn person_change(
    person: PersonRef,
    row: &Map<String, Value>,
    attributes: &AttributeMap,
    at: Timestamp,
) -> PersonChange {
    let values = attributes.read_salesforce(row);
    let key = match values.get(KEY_ATTRIBUTE) {
        Some(intersync_fsm::Value::Text(text)) => MappingKey::normalize(text).ok(),
        _ => None,
    };
    PersonChange {
        person,
        key,
        attributes: values,
        at,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::SyncSettings;

    fn attributes() -> AttributeMap {
        AttributeMap::from_settings(&SyncSettings::default()).unwrap()
    }

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn converted_lead_becomes_lead_converted() {
        let lead = row(
            json!({"Id": "00Q5e00000AbCdEFGH", "SystemModstamp": "2024-07-24T14:05:58.000+0000",
            "IsDeleted": false, "IsConverted": true, "ConvertedContactId": "0035e00000XyZabCDE"}),
        );
        let (_, event) = event_of(SalesforceObject::Lead, &lead, &attributes()).unwrap();
        assert!(matches!(event, Event::LeadConverted { .. }), "{event:?}");
    }

    #[test]
    fn deleted_row_becomes_person_deleted() {
        let contact = row(
            json!({"Id": "0035e00000XyZabCDE", "SystemModstamp": "2024-07-24T14:05:58.000+0000",
            "IsDeleted": true}),
        );
        let (_, event) = event_of(SalesforceObject::Contact, &contact, &attributes()).unwrap();
        assert!(matches!(event, Event::PersonDeleted { .. }), "{event:?}");
    }

    #[test]
    fn updated_row_carries_key_and_time() {
        let contact = row(
            json!({"Id": "0035e00000XyZabCDE", "SystemModstamp": "2024-07-24T14:05:58.000+0000",
            "CreatedDate": "2024-07-01T00:00:00.000+0000", "IsDeleted": false, "Email": "Jane@Acme.com "}),
        );
        let (_, event) = event_of(SalesforceObject::Contact, &contact, &attributes()).unwrap();
        let Event::PersonUpdated(change) = event else {
            panic!("expected an update");
        };
        assert_eq!(change.key.unwrap().as_str(), "jane@acme.com");
        assert_eq!(change.at, Timestamp::from_millis(1_721_829_958_000));
    }

    #[test]
    fn bad_modstamp_is_an_error() {
        let contact = row(json!({"Id": "0035e00000XyZabCDE", "SystemModstamp": "yesterday"}));
        let error = event_of(SalesforceObject::Contact, &contact, &attributes()).unwrap_err();
        assert!(matches!(error, RowError::InvalidModstamp { .. }));
    }
}
