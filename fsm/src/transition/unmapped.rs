//! Transitions of a person without a counterpart: look-ups by key, Lead creation, and the
//! key-changed state that waits for the look-up of a new key.

use super::attributes::{create_mapping, flowing_to, read_into, refresh_synced, write};
use super::{retry_delay, Transition};
use crate::effect::{Effect, HistoryEntry, Rule, SyncError};
use crate::event::{Event, LookUpOutcome, LookUpResult, PersonChange, WriteFailure, WriteReceipt};
use crate::key::{MappingKey, SalesforceId};
use crate::person::{IntercomRole, PersonRef, SalesforceObject, SalesforceRef, Side};
use crate::policy::SyncRules;
use crate::state::{
    Deleted, Failure, KeyChanged, Mapping, Request, Send, SideRecord, State, Unmapped,
};
use crate::value::Attributes;

/// How a change of the person reached the machine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ChangeKind {
    Created,
    Updated,
    KeyUpdated,
}

/// Returns true when `other` names the same person as `person`, whatever its role or object.
pub(super) fn same_person(person: &PersonRef, other: &PersonRef) -> bool {
    match (person, other) {
        (PersonRef::Intercom(a), PersonRef::Intercom(b)) => a.id == b.id,
        (PersonRef::Salesforce(a), PersonRef::Salesforce(b)) => a.id == b.id,
        _ => false,
    }
}

pub(super) fn on_unmapped(person: Unmapped, event: &Event, rules: &SyncRules) -> Transition {
    match event {
        Event::PersonCreated(change) if same_person(&person.person, &change.person) => {
            on_change(person, change, ChangeKind::Created, rules)
        }
        Event::PersonUpdated(change) if same_person(&person.person, &change.person) => {
            on_change(person, change, ChangeKind::Updated, rules)
        }
        Event::KeyUpdated(change) if same_person(&person.person, &change.person) => {
            on_change(person, change, ChangeKind::KeyUpdated, rules)
        }
        Event::PersonDeleted {
            person: deleted,
            at,
        } if same_person(&person.person, deleted) && *at >= person.record.seen_at => {
            let mut effects = Vec::new();
            if person.failure.is_some() {
                effects.push(Effect::ClearSyncError);
            }
            let state = State::Deleted(Deleted {
                person: person.person,
                at: *at,
            });
            Transition { state, effects }
        }
        Event::LeadConverted { lead, contact, .. } => on_lead_converted(person, lead, contact),
        Event::LeadBecameUser { lead, user, .. } => {
            let mut person = person;
            match &mut person.person {
                PersonRef::Intercom(contact) if contact.id == *lead => {
                    contact.id = user.clone();
                    contact.role = IntercomRole::User;
                }
                _ => {}
            }
            Transition::unchanged(State::Unmapped(person))
        }
        Event::LookedUp(result) => on_look_up(person, result, rules),
        Event::CreateLeadRequested => on_create_lead_requested(person, rules),
        Event::WriteSucceeded(receipt) => on_lead_created(person, receipt, rules),
        Event::WriteFailed(failure) => on_lead_failed(person, failure),
        Event::RetryRequested => on_retry(person, rules),
        _ => Transition::unchanged(State::Unmapped(person)),
    }
}

/// Handles events while the new key of a formerly mapped person is looked up: the same rules
/// as for an unmapped person, and the state stays key-changed until the look-up is answered.
pub(super) fn on_key_changed(changed: KeyChanged, event: &Event, rules: &SyncRules) -> Transition {
    let previous = changed.previous;
    let mut next = on_unmapped(changed.pending, event, rules);
    if let State::Unmapped(pending) = next.state {
        next.state = match pending.waiting {
            Some(Request::LookUp { .. }) => State::KeyChanged(KeyChanged { pending, previous }),
            _ => State::Unmapped(pending),
        };
    }
    next
}

/// Applies a created, updated or key-updated event and looks the person up by key when
/// something changed.
fn on_change(
    mut person: Unmapped,
    change: &PersonChange,
    kind: ChangeKind,
    rules: &SyncRules,
) -> Transition {
    if change.at < person.record.seen_at {
        return Transition::unchanged(State::Unmapped(person));
    }
    let newer = change.at > person.record.seen_at;
    let key_changed = match kind {
        ChangeKind::KeyUpdated => change.key != person.key,
        _ => change.key.is_some() && change.key != person.key,
    };
    let changed = read_into(&mut person.record, change, rules);
    if !newer && !key_changed && changed.is_empty() {
        return Transition::unchanged(State::Unmapped(person));
    }
    if key_changed {
        person.key = change.key.clone();
    }

    let send = match (person.person.side(), kind) {
        (Side::Intercom, ChangeKind::Updated | ChangeKind::KeyUpdated) => Send::Changed(changed),
        _ => Send::All,
    };
    let mut effects = Vec::new();
    look_up(&mut person, send, &mut effects);
    Transition {
        state: State::Unmapped(person),
        effects,
    }
}

/// Asks the other side for the person's key, unless a look-up of that key or a Lead creation
/// is already in flight. Without a key there is nobody to look for.
fn look_up(person: &mut Unmapped, send: Send, effects: &mut Vec<Effect>) {
    let Some(key) = person.key.clone() else {
        person.waiting = None;
        clear_failure(person, effects);
        return;
    };

    let mut send = send;
    match person.waiting.take() {
        Some(Request::CreateLead) => {
            person.waiting = Some(Request::CreateLead);
            return;
        }
        Some(Request::LookUp {
            key: waiting_key,
            send: waiting_send,
        }) if waiting_key == key => {
            merge_send(&mut send, waiting_send);
            let in_flight = !matches!(
                person.failure,
                Some(Failure {
                    retrying: false,
                    ..
                })
            );
            if in_flight {
                person.waiting = Some(Request::LookUp { key, send });
                return;
            }
        }
        _ => {}
    }

    if let Some(failure) = &mut person.failure {
        failure.retrying = true;
    }
    effects.push(Effect::LookUp {
        side: person.person.side().other(),
        key: key.clone(),
    });
    person.waiting = Some(Request::LookUp { key, send });
}

/// Widens `into` so it also covers `more`.
fn merge_send(into: &mut Send, more: Send) {
    match (into, more) {
        (Send::All, _) => {}
        (into, Send::All) => *into = Send::All,
        (Send::Changed(ids), Send::Changed(more)) => {
            for id in more {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
}

fn on_look_up(mut person: Unmapped, result: &LookUpResult, rules: &SyncRules) -> Transition {
    let side = person.person.side().other();
    let (key, send) = match &person.waiting {
        Some(Request::LookUp { key, send }) if *key == result.key && result.side == side => {
            (key.clone(), send.clone())
        }
        _ => return Transition::unchanged(State::Unmapped(person)),
    };

    let mut effects = Vec::new();
    match &result.outcome {
        LookUpOutcome::NoMatch => {
            clear_failure(&mut person, &mut effects);
            person.waiting = None;
            if person.person.side() == Side::Intercom && rules.create_leads_for_unmatched {
                request_lead(&mut person, rules, &mut effects);
            }
            Transition {
                state: State::Unmapped(person),
                effects,
            }
        }
        LookUpOutcome::OneMatch(found) if found.person.side() == side => {
            clear_failure(&mut person, &mut effects);
            let mapping = create_mapping(person, key, found, &send, rules, &mut effects)
                .expect("the match is on the other side");
            Transition {
                state: State::Mapped(mapping),
                effects,
            }
        }
        LookUpOutcome::OneMatch(_) => Transition::unchanged(State::Unmapped(person)),
        LookUpOutcome::SeveralMatches { candidates } => {
            let error = SyncError::SeveralMatches {
                side,
                key,
                candidates: candidates.clone(),
            };
            fail(person, error, None)
        }
        LookUpOutcome::Failed(remote) => {
            let error = SyncError::LookUpFailed {
                side,
                key,
                error: remote.clone(),
            };
            fail(person, error, retry_delay(remote))
        }
    }
}

/// Records `error` for the pending request, unless the same error is already recorded and no
/// retry was sent since.
fn fail(mut person: Unmapped, error: SyncError, retry_after_ms: Option<u64>) -> Transition {
    let repeated = person
        .failure
        .as_ref()
        .is_some_and(|failure| failure.error == error && !failure.retrying);
    if repeated {
        return Transition::unchanged(State::Unmapped(person));
    }

    let mut effects = vec![Effect::RecordSyncError(error.clone())];
    if let Some(after_ms) = retry_after_ms {
        effects.push(Effect::ScheduleRetry { after_ms });
    }
    person.failure = Some(Failure {
        error,
        retrying: false,
    });
    Transition {
        state: State::Unmapped(person),
        effects,
    }
}

fn clear_failure(person: &mut Unmapped, effects: &mut Vec<Effect>) {
    if person.failure.take().is_some() {
        effects.push(Effect::ClearSyncError);
    }
}

fn on_create_lead_requested(mut person: Unmapped, rules: &SyncRules) -> Transition {
    if person.person.side() != Side::Intercom || person.waiting == Some(Request::CreateLead) {
        return Transition::unchanged(State::Unmapped(person));
    }
    let mut effects = Vec::new();
    if let (None, PersonRef::Intercom(contact)) = (&person.key, &person.person) {
        effects.push(Effect::RecordSyncError(SyncError::MissingKey {
            intercom: contact.id.clone(),
        }));
        return Transition {
            state: State::Unmapped(person),
            effects,
        };
    }
    person.failure = None;
    request_lead(&mut person, rules, &mut effects);
    Transition {
        state: State::Unmapped(person),
        effects,
    }
}

/// Asks for a Salesforce Lead with every mapped attribute that flows to Salesforce.
fn request_lead(person: &mut Unmapped, rules: &SyncRules, effects: &mut Vec<Effect>) {
    let PersonRef::Intercom(contact) = &person.person else {
        return;
    };
    if person.key.is_none() {
        return;
    }
    effects.push(Effect::CreateSalesforceLead {
        intercom: contact.clone(),
        attributes: flowing_to(&person.record, Side::Salesforce, rules),
    });
    person.waiting = Some(Request::CreateLead);
}

/// Maps the person to the Lead just created for it, then sends every mapped attribute back
/// to Intercom.
fn on_lead_created(mut person: Unmapped, receipt: &WriteReceipt, rules: &SyncRules) -> Transition {
    let created = match (&person.waiting, &receipt.created, receipt.side) {
        (Some(Request::CreateLead), Some(created), Side::Salesforce) => created.clone(),
        _ => return Transition::unchanged(State::Unmapped(person)),
    };
    let (PersonRef::Intercom(contact), Some(key)) = (&person.person, &person.key) else {
        return Transition::unchanged(State::Unmapped(person));
    };

    let mut effects = Vec::new();
    if person.failure.take().is_some() {
        effects.push(Effect::ClearSyncError);
    }
    let mut mapping = Mapping {
        intercom: contact.clone(),
        salesforce: SalesforceRef {
            id: created,
            object: SalesforceObject::Lead,
        },
        key: key.clone(),
        intercom_side: person.record,
        salesforce_side: SideRecord {
            read: receipt.attributes.clone(),
            written: Attributes::new(),
            seen_at: receipt.at,
        },
        synced: Attributes::new(),
        failure: None,
    };
    effects.push(Effect::CreateMapping {
        intercom: mapping.intercom.id.clone(),
        salesforce: mapping.salesforce.id.clone(),
    });
    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::LeadCreated,
        from: Side::Intercom,
        attributes: receipt.attributes.keys().cloned().collect(),
        at: receipt.at,
    }));
    let back = flowing_to(&mapping.salesforce_side, Side::Intercom, rules);
    effects.push(write(&mut mapping, Side::Intercom, back, rules));
    refresh_synced(&mut mapping, rules);
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}

fn on_lead_failed(person: Unmapped, failure: &WriteFailure) -> Transition {
    if person.waiting != Some(Request::CreateLead) || failure.side != Side::Salesforce {
        return Transition::unchanged(State::Unmapped(person));
    }
    let error = SyncError::WriteFailed {
        side: Side::Salesforce,
        error: failure.error.clone(),
    };
    fail(person, error, retry_delay(&failure.error))
}

/// Sends the failed look-up or Lead creation again.
fn on_retry(mut person: Unmapped, rules: &SyncRules) -> Transition {
    let Some(failure) = &mut person.failure else {
        return Transition::unchanged(State::Unmapped(person));
    };
    if failure.retrying {
        return Transition::unchanged(State::Unmapped(person));
    }
    failure.retrying = true;

    let effect = match &person.waiting {
        Some(Request::LookUp { key, .. }) => Effect::LookUp {
            side: person.person.side().other(),
            key: key.clone(),
        },
        Some(Request::CreateLead) => match &person.person {
            PersonRef::Intercom(contact) => Effect::CreateSalesforceLead {
                intercom: contact.clone(),
                attributes: flowing_to(&person.record, Side::Salesforce, rules),
            },
            PersonRef::Salesforce(_) => return Transition::unchanged(State::Unmapped(person)),
        },
        None => return Transition::unchanged(State::Unmapped(person)),
    };
    Transition {
        state: State::Unmapped(person),
        effects: vec![effect],
    }
}

/// Follows an unmapped Lead to the Contact it became and fetches the Contact, whose values
/// then go through the look-up by key.
fn on_lead_converted(person: Unmapped, lead: &SalesforceId, contact: &SalesforceId) -> Transition {
    let converted = matches!(&person.person, PersonRef::Salesforce(record) if record.id == *lead);
    if !converted {
        return Transition::unchanged(State::Unmapped(person));
    }
    let mut effects = Vec::new();
    if person.failure.is_some() {
        effects.push(Effect::ClearSyncError);
    }
    let contact = PersonRef::Salesforce(SalesforceRef {
        id: contact.clone(),
        object: SalesforceObject::Contact,
    });
    effects.push(Effect::Fetch {
        person: contact.clone(),
    });
    Transition {
        state: State::Unmapped(Unmapped::new(contact, person.key)),
        effects,
    }
}

/// Builds the unmapped person left behind when a mapping is deleted because `person`'s key
/// changed, and starts the look-up of the new key.
pub(super) fn after_key_change(
    person: PersonRef,
    key: Option<MappingKey>,
    record: SideRecord,
    changed: Vec<String>,
    previous: PersonRef,
    effects: &mut Vec<Effect>,
) -> State {
    let send = match person.side() {
        Side::Intercom => Send::Changed(changed),
        Side::Salesforce => Send::All,
    };
    let mut pending = Unmapped {
        person,
        key,
        record,
        waiting: None,
        failure: None,
    };
    look_up(&mut pending, send, effects);
    match pending.waiting {
        Some(Request::LookUp { .. }) => State::KeyChanged(KeyChanged { pending, previous }),
        _ => State::Unmapped(pending),
    }
}
