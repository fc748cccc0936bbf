//! Intercom webhook notifications as state-machine events.
//!
//! A notification is a hint that a contact changed; the event carries the contact's own
//! `updated_at` so the machine orders changes by the source's clock, not by arrival.

use intersync_fsm::{
    Event, IntercomId, IntercomRef, IntercomRole, MappingKey, PersonChange, PersonRef, Timestamp,
};
use serde_json::Value;

use super::attributes::{AttributeMap, KEY_ATTRIBUTE};
use super::notification::Notification;
use crate::actors::registry::Target;

/// The reasons a stored notification gives no event.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConvertError {
    #[error("topic {0} does not change a person")]
    UnusedTopic(String),
    #[error("{topic} notification has an invalid contact id {id:?}")]
    InvalidContactId { topic: String, id: String },
}

/// Converts a notification into its event and the person it is routed to.
pub fn event_of(
    notification: &Notification,
    attributes: &AttributeMap,
) -> Result<(Target, Event), ConvertError> {
    let item = &notification.item;
    let person = intercom_ref(&notification.topic, item)?;
    let target = Target::Person(PersonRef::Intercom(person.clone()));
    let change = || person_change(&person, item, attributes, notification.created_at);

    let event = match notification.topic.as_str() {
        "contact.user.created" | "contact.lead.created" | "contact.unarchive" => {
            Event::PersonCreated(change())
        }
        "contact.user.updated"
        | "contact.lead.updated"
        | "contact.subscribed"
        | "contact.unsubscribed" => Event::PersonUpdated(change()),
        "contact.email.updated" => Event::KeyUpdated(change()),
        "contact.deleted" | "contact.archived" => Event::PersonDeleted {
            person: PersonRef::Intercom(person),
            at: deletion_time(item, notification.created_at),
        },
        "contact.lead.signed_up" => Event::LeadBecameUser {
            lead: person.id.clone(),
            user: person.id,
            at: source_time(item, notification.created_at),
        },
        "contact.merged" => {
            // The surviving contact names the lead in `merged_from`; a notification without
            // it is still a hint that the surviving contact changed.
            let Some(lead_id) = item.pointer("/merged_from/id").and_then(Value::as_str) else {
                return Ok((target, Event::PersonUpdated(change())));
            };
            let lead = IntercomRef {
                id: parse_id(&notification.topic, lead_id)?,
                role: IntercomRole::Lead,
            };
            let at = source_time(item, notification.created_at);
            return Ok((
                Target::Person(PersonRef::Intercom(lead.clone())),
                Event::LeadBecameUser {
                    lead: lead.id,
                    user: person.id,
                    at,
                },
            ));
        }
        other => return Err(ConvertError::UnusedTopic(other.to_owned())),
    };
    Ok((target, event))
}

/// Reads the contact's reference. A deleted contact's item carries no role and reads as a user.
fn intercom_ref(topic: &str, item: &Value) -> Result<IntercomRef, ConvertError> {
    let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    let role = match item.get("role").and_then(Value::as_str) {
        Some("lead") => IntercomRole::Lead,
        _ => IntercomRole::User,
    };
    Ok(IntercomRef {
        id: parse_id(topic, id)?,
        role,
    })
}

fn parse_id(topic: &str, id: &str) -> Result<IntercomId, ConvertError> {
    IntercomId::parse(id).map_err(|_| ConvertError::InvalidContactId {
        topic: topic.to_owned(),
        id: id.to_owned(),
    })
}

/// Reads a contact object into a person change.
pub fn person_change(
    person: &IntercomRef,
    contact: &Value,
    attributes: &AttributeMap,
    fallback_secs: i64,
) -> PersonChange {
    let values = attributes.read_intercom(contact);
    let key = values.get(KEY_ATTRIBUTE).and_then(|value| match value {
        intersync_fsm::Value::Text(text) => MappingKey::normalize(text).ok(),
        _ => None,
    });
    PersonChange {
        person: PersonRef::Intercom(person.clone()),
        key,
        attributes: values,
        at: source_time(contact, fallback_secs),
    }
}

/// Returns the contact's `updated_at`, or the notification's time for items that carry none.
/// The REST API sends Unix seconds; notification items send RFC 3339 with milliseconds.
fn source_time(item: &Value, fallback_secs: i64) -> Timestamp {
    match item.get("updated_at") {
        Some(Value::Number(seconds)) => seconds
            .as_i64()
            .map_or(Timestamp::from_secs(fallback_secs), Timestamp::from_secs),
        Some(Value::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|time| Timestamp::from_millis(time.timestamp_millis()))
            .unwrap_or(Timestamp::from_secs(fallback_secs)),
        _ => Timestamp::from_secs(fallback_secs),
    }
}

/// Returns the time of a delete or archive. A deleted contact's item has no `updated_at`, and the
/// notification's `created_at` has whole seconds while updates carry milliseconds, so the
/// delete counts from the end of its second: no update of a deleted contact can follow it.
fn deletion_time(item: &Value, created_at_secs: i64) -> Timestamp {
    if item.get("updated_at").is_some() {
        return source_time(item, created_at_secs);
    }
    Timestamp::from_millis(created_at_secs.saturating_mul(1000).saturating_add(999))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SyncSettings;

    fn attributes() -> AttributeMap {
        AttributeMap::from_settings(&SyncSettings::default()).unwrap()
    }

    fn notification(topic: &str, item: Value) -> Notification {
        Notification {
            id: "notif_1".to_owned(),
            topic: topic.to_owned(),
            created_at: 1_700_000_000,
            delivery_attempts: 1,
            item,
        }
    }

    #[test]
    fn user_updated_becomes_person_updated() {
        let item = serde_json::json!({"type": "contact", "id": "abc123", "role": "user",
            "email": " Jane@Acme.com", "updated_at": 1_700_000_100});
        let (target, event) =
            event_of(&notification("contact.user.updated", item), &attributes()).unwrap();
        let Event::PersonUpdated(change) = event else {
            panic!("expected an update, got {event:?}");
        };
        assert_eq!(change.key.unwrap().as_str(), "jane@acme.com");
        assert_eq!(change.at, Timestamp::from_secs(1_700_000_100));
        assert!(matches!(target, Target::Person(PersonRef::Intercom(_))));
    }

    #[test]
    fn merged_routes_to_the_lead() {
        let item = serde_json::json!({"type": "contact", "id": "user1", "role": "user",
            "merged_from": {"type": "contact", "id": "lead1"}, "updated_at": 5});
        let (target, event) =
            event_of(&notification("contact.merged", item), &attributes()).unwrap();
        let Target::Person(PersonRef::Intercom(lead)) = target else {
            panic!("expected the lead as target");
        };
        assert_eq!(lead.id.as_str(), "lead1");
        assert!(matches!(event, Event::LeadBecameUser { .. }));
    }

    #[test]
    fn iso_updated_at_keeps_milliseconds() {
        let item = serde_json::json!({"type": "contact", "id": "abc", "role": "user",
            "updated_at": "2026-01-10T04:39:55.465+00:00"});
        let (_, event) =
            event_of(&notification("contact.user.updated", item), &attributes()).unwrap();
        let Event::PersonUpdated(change) = event else {
            panic!("expected an update");
        };
        assert_eq!(change.at, Timestamp::from_millis(1_768_019_995_465));
    }

    #[test]
    fn deleted_uses_notification_time() {
        let item = serde_json::json!({"type": "contact", "id": "abc", "deleted": true});
        let (_, event) = event_of(&notification("contact.deleted", item), &attributes()).unwrap();
        assert_eq!(
            event,
            Event::PersonDeleted {
                person: PersonRef::Intercom(IntercomRef {
                    id: IntercomId::parse("abc").unwrap(),
                    role: IntercomRole::User
                }),
                at: Timestamp::from_millis(1_700_000_000_999),
            }
        );
    }
}
