//! Intercom work: contact updates, look-ups by email and fetches, a bounded number at a time.

use intersync_fsm::{
    Attributes, Effect, Event, IntercomId, IntercomRef, IntercomRole, LookUpOutcome, LookUpResult,
    PersonRef, Side, Timestamp, WriteFailure, WriteReceipt,
};
use serde_json::Value;
use tracing::{info, warn};

use super::answers::{answer, remote_error};
use super::Context;
use crate::actors::work::PendingWork;
use crate::connectors::intercom::{Contact, ContactRole, ContactUpdate, IntercomError};
use crate::metrics::{Outcome, System};
use crate::sync::attributes::AttributeMap;
use crate::sync::intercom_events::person_change;

/// Carries out one Intercom effect and answers its mapping.
pub async fn run(context: &Context, work: PendingWork) {
    let _slot = context.intercom_slots.acquire().await;
    match &work.effect {
        Effect::WriteIntercom { target, attributes } => {
            let update = contact_update(&context.services.attributes, attributes);
            let result = context
                .intercom
                .update_contact(target.id.as_str(), &update)
                .await;
            context.services.metrics.api_call(System::Intercom);
            let event = match result {
                Ok(contact) => {
                    context
                        .services
                        .metrics
                        .write(System::Intercom, "contact", Outcome::Success);
                    info!(mapping_id = work.mapping_id, intercom_id = %target.id, attributes = ?attributes.keys().collect::<Vec<_>>(), "Synced to Intercom");
                    Event::WriteSucceeded(WriteReceipt {
                        side: Side::Intercom,
                        attributes: attributes.clone(),
                        at: Timestamp::from_secs(contact.updated_at.timestamp()),
                        created: None,
                    })
                }
                Err(error) => {
                    context
                        .services
                        .metrics
                        .write(System::Intercom, "contact", Outcome::Failure);
                    warn!(mapping_id = work.mapping_id, intercom_id = %target.id, %error, "Failed to update an Intercom contact");
                    Event::WriteFailed(WriteFailure {
                        side: Side::Intercom,
                        error: remote_error(error.class(), error.to_string()),
                    })
                }
            };
            answer(context, &work, event).await;
        }
        Effect::LookUp { side, key } => {
            let result = context.intercom.find_by_email(key.as_str()).await;
            context.services.metrics.api_call(System::Intercom);
            let outcome = match result {
                Ok(mut contacts) => {
                    contacts.retain(|contact| {
                        reference(contact).is_some_and(|person| {
                            let person = PersonRef::Intercom(person);
                            !super::mapped_elsewhere(&context.services, &person, work.mapping_id)
                        })
                    });
                    outcome_of(&context.services.attributes, contacts)
                }
                Err(error) => {
                    warn!(mapping_id = work.mapping_id, %error, "Failed to search Intercom by email");
                    LookUpOutcome::Failed(remote_error(error.class(), error.to_string()))
                }
            };
            let event = Event::LookedUp(LookUpResult {
                side: *side,
                key: key.clone(),
                outcome,
            });
            answer(context, &work, event).await;
        }
        Effect::Fetch {
            person: PersonRef::Intercom(target),
        } => {
            let result = context.intercom.get_contact(target.id.as_str()).await;
            context.services.metrics.api_call(System::Intercom);
            match result {
                Ok(contact) => {
                    if let Some(change) = change_of(&context.services.attributes, &contact) {
                        answer(context, &work, Event::PersonUpdated(change)).await;
                    }
                }
                Err(error) => fetch_failed(context, &work, target, &error).await,
            }
        }
        other => warn!(mapping_id = work.mapping_id, effect = ?other, "Not an Intercom effect"),
    }
}

async fn fetch_failed(
    context: &Context,
    work: &PendingWork,
    target: &IntercomRef,
    error: &IntercomError,
) {
    if error.is_not_found() {
        let event = Event::PersonDeleted {
            person: PersonRef::Intercom(target.clone()),
            // A contact that no longer exists is gone whatever happened before.
            at: Timestamp::from_millis(i64::MAX),
        };
        answer(context, work, event).await;
        return;
    }
    warn!(mapping_id = work.mapping_id, intercom_id = %target.id, %error, "Failed to read an Intercom contact; it is read again at the next start");
}

fn outcome_of(attributes: &AttributeMap, contacts: Vec<Contact>) -> LookUpOutcome {
    match contacts.as_slice() {
        [] => LookUpOutcome::NoMatch,
        [contact] => match change_of(attributes, contact) {
            Some(change) => LookUpOutcome::OneMatch(change),
            None => LookUpOutcome::NoMatch,
        },
        several => LookUpOutcome::SeveralMatches {
            candidates: several
                .iter()
                .filter_map(|contact| Some(PersonRef::Intercom(reference(contact)?)))
                .collect(),
        },
    }
}

fn reference(contact: &Contact) -> Option<IntercomRef> {
    Some(IntercomRef {
        id: IntercomId::parse(&contact.id).ok()?,
        role: match contact.role {
            ContactRole::Lead => IntercomRole::Lead,
            ContactRole::User => IntercomRole::User,
        },
    })
}

fn change_of(attributes: &AttributeMap, contact: &Contact) -> Option<intersync_fsm::PersonChange> {
    let person = reference(contact)?;
    let json = serde_json::to_value(contact).ok()?;
    let mut change = person_change(&person, &json, attributes, contact.updated_at.timestamp());
    change.at = Timestamp::from_secs(contact.updated_at.timestamp());
    Some(change)
}

/// The typed update that sets `attributes`; only the standard fields the connector knows
/// and custom attributes can be written.
pub fn contact_update(map: &AttributeMap, attributes: &Attributes) -> ContactUpdate {
    let body = map.intercom_body(attributes);
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let mut update = ContactUpdate::default();
    let Value::Object(fields) = body else {
        return update;
    };
    for (name, value) in fields {
        match name.as_str() {
            "name" => update.name = Some(text(&value)),
            "phone" => update.phone = Some(text(&value)),
            "email" => update.email = Some(text(&value)),
            "unsubscribed_from_emails" => update.unsubscribed_from_emails = value.as_bool(),
            "custom_attributes" => {
                if let Value::Object(custom) = value {
                    update.custom_attributes = custom;
                }
            }
            other => warn!(
                attribute = other,
                "Intercom attribute cannot be written; map a custom attribute instead"
            ),
        }
    }
    update
}
