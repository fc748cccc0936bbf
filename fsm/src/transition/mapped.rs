//! Transitions of an identity mapping: attribute changes with echo suppression and conflict
//! policies, key changes, deletions, Lead conversion and write results.

use super::attributes::{flowing_to, read_into, same, write};
use super::unmapped::after_key_change;
use super::{retry_delay, Transition};
use crate::effect::{Effect, HistoryEntry, Rule, SyncError};
use crate::event::{Event, PersonChange, WriteFailure, WriteReceipt};
use crate::key::{IntercomId, SalesforceId};
use crate::person::{IntercomRef, IntercomRole, PersonRef, SalesforceObject, SalesforceRef, Side};
use crate::policy::{ConflictPolicy, SyncRules};
use crate::state::{Deleted, Failure, Mapping, Qualified, SideRecord, State};
use crate::time::Timestamp;
use crate::value::{value_of, Attributes, Value};

pub(super) fn on_mapped(mapping: Mapping, event: &Event, rules: &SyncRules) -> Transition {
    match event {
        Event::PersonUpdated(change) if mapping.involves(&change.person) => {
            on_change(mapping, change, false, rules)
        }
        Event::KeyUpdated(change) if mapping.involves(&change.person) => {
            on_change(mapping, change, true, rules)
        }
        Event::PersonDeleted { person, at } if mapping.involves(person) => {
            on_deleted(mapping, person, *at)
        }
        Event::LeadConverted { lead, contact, at } if mapping.salesforce.id == *lead => {
            on_lead_converted(mapping, contact, *at)
        }
        Event::LeadBecameUser { lead, user, at } if mapping.intercom.id == *lead => {
            on_lead_became_user(mapping, user, *at)
        }
        Event::WriteSucceeded(receipt) if receipt.created.is_none() => {
            on_write_succeeded(mapping, receipt, rules)
        }
        Event::WriteFailed(failure) => on_write_failed(mapping, failure),
        Event::RetryRequested => on_retry(mapping, rules),
        // A mapped person cannot be created again, a look-up result is stale once mapped, and
        // the mapping exists, so a Lead is not created.
        _ => Transition::unchanged(State::Mapped(mapping)),
    }
}

/// Handles events for a mapping moved to a converted Lead's Contact. The first read of the
/// Contact sends every mapped attribute to Intercom and completes the move; every other event
/// is handled as for a mapping.
pub(super) fn on_qualified(qualified: Qualified, event: &Event, rules: &SyncRules) -> Transition {
    let contact_read = matches!(
        event,
        Event::PersonUpdated(change) | Event::PersonCreated(change)
            if qualified.mapping.involves(&change.person) && change.person.side() == Side::Salesforce
    );
    let lead = qualified.lead;
    if !contact_read {
        let mut next = on_mapped(qualified.mapping, event, rules);
        if let State::Mapped(mapping) = next.state {
            next.state = State::Qualified(Qualified { mapping, lead });
        }
        return next;
    }

    let (Event::PersonUpdated(change) | Event::PersonCreated(change)) = event else {
        unreachable!("matched above");
    };
    // The conversion stamps the Contact, so its read looks newer than an Intercom edit that
    // is still being written to Salesforce. That edit is the newer value, so the read is
    // taken as if the pending write had landed.
    let mut change = change.clone();
    for (id, value) in &qualified.mapping.salesforce_side.written {
        change.attributes.insert(id.clone(), value.clone());
    }
    let mut next = on_change(qualified.mapping, &change, false, rules);
    if let State::Mapped(mapping) = &mut next.state {
        let wrote_intercom = next
            .effects
            .iter()
            .any(|effect| matches!(effect, Effect::WriteIntercom { .. }));
        if !wrote_intercom {
            // An attribute still being written to Salesforce carries Intercom's newer value,
            // so the Contact's older one must not overwrite it.
            let mut values = flowing_to(&mapping.salesforce_side, Side::Intercom, rules);
            values.retain(|id, _| !mapping.salesforce_side.written.contains_key(id));
            next.effects
                .push(write(mapping, Side::Intercom, values, rules));
        }
    }
    next
}

/// Applies a change of one mapped person: a key change deletes the mapping, anything else
/// copies the real changes to the other side as the attributes' policies decide.
fn on_change(
    mut mapping: Mapping,
    change: &PersonChange,
    key_event: bool,
    rules: &SyncRules,
) -> Transition {
    let from = change.person.side();
    if change.at < mapping.side(from).seen_at {
        return Transition::unchanged(State::Mapped(mapping));
    }
    let key_changed = match &change.key {
        Some(key) => *key != mapping.key,
        None => key_event,
    };
    if key_changed {
        return on_key_changed(mapping, change, rules);
    }

    let decision = decide(&mut mapping, change, rules);
    let mut effects = Vec::new();
    let copied: Vec<String> = decision.to_other.keys().cloned().collect();
    if !decision.to_other.is_empty() || !decision.to_self.is_empty() {
        let rule = if decision.to_self.is_empty() {
            Rule::Updated
        } else {
            Rule::ConflictResolved
        };
        effects.push(Effect::Record(HistoryEntry {
            rule,
            from,
            attributes: copied,
            at: change.at,
        }));
    }
    if !decision.to_other.is_empty() {
        effects.push(write(&mut mapping, from.other(), decision.to_other, rules));
    }
    if !decision.to_self.is_empty() {
        effects.push(write(&mut mapping, from, decision.to_self, rules));
    }
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}

/// The writes one change calls for.
struct Decision {
    /// Values of the changed side that go to the other side.
    to_other: Attributes,
    /// Values of the other side that won a conflict and go back to the changed side.
    to_self: Attributes,
}

/// Reads the change into the mapping and decides, attribute by attribute, what to write.
///
/// A value equal to the one last read is no change. A value equal to one the machine wrote
/// and has not seen confirmed is the echo of that write. Any other value is a real change: it
/// goes to the other side when the policy lets it flow, unless the other side also changed
/// the attribute since both last agreed, in which case the policy picks the winner.
fn decide(mapping: &mut Mapping, change: &PersonChange, rules: &SyncRules) -> Decision {
    let from = change.person.side();
    let other = from.other();
    let mut decision = Decision {
        to_other: Attributes::new(),
        to_self: Attributes::new(),
    };
    let (record, other_record, synced) = mapping.sides_mut(from);
    let changed = changed_ids(&record.read, &change.attributes, rules);

    for (id, value) in changed {
        let Some(attribute) = rules.attributes.iter().find(|attribute| attribute.id == id) else {
            continue;
        };
        let known = record.read.get_mut(id);
        if known
            .as_ref()
            .is_some_and(|known| same(rules, id, known, value))
        {
            continue;
        }
        match known {
            Some(known) => *known = value.clone(),
            None => {
                record.read.insert(id.to_owned(), value.clone());
            }
        }
        // Whether this value is the echo of a write or a real change, the side now has it,
        // so an unconfirmed write of an older value must not be retried.
        let echo = !record.written.is_empty()
            && record
                .written
                .remove(id)
                .is_some_and(|written| same(rules, id, &written, value));

        let other_read = value_of(&other_record.read, id);
        if same(rules, id, value, other_read) {
            mark_synced(synced, id, value);
        }
        if echo || !attribute.policy.flows_from(from) {
            continue;
        }
        let other_next = other_record.written.get(id).unwrap_or(other_read);
        if same(rules, id, value, other_next) {
            continue;
        }
        let other_changed = attribute.policy.flows_from(other)
            && synced
                .get(id)
                .is_some_and(|synced| !same(rules, id, synced, other_read));
        let winner = if other_changed {
            conflict_winner(
                attribute.policy,
                from,
                change.at,
                other_record.seen_at,
                value,
                other_read,
            )
        } else {
            from
        };
        if winner == from {
            decision.to_other.insert(id.to_owned(), value.clone());
        } else {
            decision.to_self.insert(id.to_owned(), other_next.clone());
        }
    }

    record.seen_at = record.seen_at.max(change.at);
    decision
}

/// The incoming values that differ from the known ones, found by walking both sorted maps
/// once: most events repeat stored values, and this keeps them cheap.
fn changed_ids<'a>(
    known: &Attributes,
    incoming: &'a Attributes,
    rules: &SyncRules,
) -> Vec<(&'a str, &'a Value)> {
    let mut changed = Vec::new();
    let mut known = known.iter().peekable();
    for (id, value) in incoming {
        while known.next_if(|(known_id, _)| *known_id < id).is_some() {}
        match known.peek() {
            Some((known_id, known_value))
                if *known_id == id && same(rules, id, known_value, value) => {}
            _ => changed.push((id.as_str(), value)),
        }
    }
    changed
}

/// Records `value` as the last value both sides agreed on for attribute `id`.
fn mark_synced(synced: &mut Attributes, id: &str, value: &Value) {
    match synced.get_mut(id) {
        Some(known) if known == value => {}
        Some(known) => *known = value.clone(),
        None => {
            synced.insert(id.to_owned(), value.clone());
        }
    }
}

/// Picks the side whose value wins when both sides changed one attribute since they last
/// agreed. `value` and `at` come from side `from`; `other_value` and `other_at` from the
/// other side.
pub(crate) fn conflict_winner(
    policy: ConflictPolicy,
    from: Side,
    at: Timestamp,
    other_at: Timestamp,
    value: &Value,
    other_value: &Value,
) -> Side {
    let (salesforce_value, salesforce_at, intercom_at) = match from {
        Side::Salesforce => (value, at, other_at),
        Side::Intercom => (other_value, other_at, at),
    };
    match policy {
        ConflictPolicy::NewestWins if intercom_at > salesforce_at => Side::Intercom,
        ConflictPolicy::NewestWins => Side::Salesforce,
        ConflictPolicy::PreferSalesforce => Side::Salesforce,
        ConflictPolicy::PreferSalesforceUnlessBlank if salesforce_value.is_blank() => {
            Side::Intercom
        }
        ConflictPolicy::PreferSalesforceUnlessBlank => Side::Salesforce,
        ConflictPolicy::PreferIntercom => Side::Intercom,
        // One-way and unsynced attributes never conflict: only one side's changes flow.
        ConflictPolicy::IntercomToSalesforceOnly => Side::Intercom,
        ConflictPolicy::SalesforceToIntercomOnly => Side::Salesforce,
        ConflictPolicy::DoNotSync => from,
    }
}

/// Deletes the mapping because one person's key changed, and looks up the new key.
fn on_key_changed(mapping: Mapping, change: &PersonChange, rules: &SyncRules) -> Transition {
    let from = change.person.side();
    let mut effects = vec![Effect::DeleteMapping {
        intercom: mapping.intercom.id.clone(),
        salesforce: mapping.salesforce.id.clone(),
    }];
    if mapping.failure.is_some() {
        effects.push(Effect::ClearSyncError);
    }
    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::KeyChanged,
        from,
        attributes: Vec::new(),
        at: change.at,
    }));

    let (person, previous, mut record) = match from {
        Side::Intercom => (
            PersonRef::Intercom(mapping.intercom),
            PersonRef::Salesforce(mapping.salesforce),
            mapping.intercom_side,
        ),
        Side::Salesforce => (
            PersonRef::Salesforce(mapping.salesforce),
            PersonRef::Intercom(mapping.intercom),
            mapping.salesforce_side,
        ),
    };
    let person = match (person, &change.person) {
        (PersonRef::Intercom(mut contact), PersonRef::Intercom(reported)) => {
            contact.role = reported.role;
            PersonRef::Intercom(contact)
        }
        (person, _) => person,
    };
    // Writes still in flight were meant for the old mapping; their echoes are no longer ours.
    record.written.clear();
    let changed = read_into(&mut record, change, rules);
    let state = after_key_change(
        person,
        change.key.clone(),
        record,
        changed,
        previous,
        &mut effects,
    );
    Transition { state, effects }
}

fn on_deleted(mapping: Mapping, person: &PersonRef, at: Timestamp) -> Transition {
    let from = person.side();
    if at < mapping.side(from).seen_at {
        return Transition::unchanged(State::Mapped(mapping));
    }
    let mut effects = vec![Effect::DeleteMapping {
        intercom: mapping.intercom.id.clone(),
        salesforce: mapping.salesforce.id.clone(),
    }];
    if mapping.failure.is_some() {
        effects.push(Effect::ClearSyncError);
    }
    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::Deleted,
        from,
        attributes: Vec::new(),
        at,
    }));
    let person = match from {
        Side::Intercom => PersonRef::Intercom(mapping.intercom),
        Side::Salesforce => PersonRef::Salesforce(mapping.salesforce),
    };
    Transition {
        state: State::Deleted(Deleted { person, at }),
        effects,
    }
}

/// Moves the mapping from the converted Lead to its Contact and fetches the Contact.
fn on_lead_converted(mut mapping: Mapping, contact: &SalesforceId, at: Timestamp) -> Transition {
    if at < mapping.salesforce_side.seen_at {
        return Transition::unchanged(State::Mapped(mapping));
    }
    let lead = mapping.salesforce.id.clone();
    let mut effects = vec![
        Effect::DeleteMapping {
            intercom: mapping.intercom.id.clone(),
            salesforce: lead.clone(),
        },
        Effect::CreateMapping {
            intercom: mapping.intercom.id.clone(),
            salesforce: contact.clone(),
        },
    ];
    if mapping.failure.take().is_some() {
        effects.push(Effect::ClearSyncError);
    }
    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::LeadConverted,
        from: Side::Salesforce,
        attributes: Vec::new(),
        at,
    }));
    mapping.salesforce = SalesforceRef {
        id: contact.clone(),
        object: SalesforceObject::Contact,
    };
    // The Contact is another record: its timestamps start afresh, and the Lead's values stand
    // in for its values until the fetched Contact arrives. Writes still in flight carry
    // Intercom's newer values and stay pending: the server sends them to the Contact.
    mapping.salesforce_side = SideRecord {
        read: std::mem::take(&mut mapping.salesforce_side.read),
        written: std::mem::take(&mut mapping.salesforce_side.written),
        seen_at: Timestamp::ZERO,
    };
    effects.push(Effect::Fetch {
        person: PersonRef::Salesforce(mapping.salesforce.clone()),
    });
    Transition {
        state: State::Qualified(Qualified { mapping, lead }),
        effects,
    }
}

/// Moves the mapping from an Intercom lead to the user it became.
fn on_lead_became_user(mut mapping: Mapping, user: &IntercomId, at: Timestamp) -> Transition {
    if at < mapping.intercom_side.seen_at {
        return Transition::unchanged(State::Mapped(mapping));
    }
    let lead = mapping.intercom.id.clone();
    if lead == *user && mapping.intercom.role == IntercomRole::User {
        return Transition::unchanged(State::Mapped(mapping));
    }
    let mut effects = Vec::new();
    if lead != *user {
        effects.push(Effect::DeleteMapping {
            intercom: lead,
            salesforce: mapping.salesforce.id.clone(),
        });
        effects.push(Effect::CreateMapping {
            intercom: user.clone(),
            salesforce: mapping.salesforce.id.clone(),
        });
        mapping.intercom_side.written.clear();
    }
    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::LeadBecameUser,
        from: Side::Intercom,
        attributes: Vec::new(),
        at,
    }));
    mapping.intercom = IntercomRef {
        id: user.clone(),
        role: IntercomRole::User,
    };
    mapping.intercom_side.seen_at = mapping.intercom_side.seen_at.max(at);
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}

/// Marks the written values as confirmed, and clears the sync error once nothing written is
/// unconfirmed.
fn on_write_succeeded(
    mut mapping: Mapping,
    receipt: &WriteReceipt,
    rules: &SyncRules,
) -> Transition {
    let (record, other_record, synced) = mapping.sides_mut(receipt.side);
    let current = receipt.at >= record.seen_at;
    for (id, value) in &receipt.attributes {
        if record
            .written
            .get(id)
            .is_some_and(|written| same(rules, id, written, value))
        {
            record.written.remove(id);
        }
        if !current {
            continue;
        }
        match record.read.get_mut(id) {
            Some(known) if same(rules, id, known, value) => continue,
            Some(known) => *known = value.clone(),
            None => {
                record.read.insert(id.clone(), value.clone());
            }
        }
        if same(rules, id, value, value_of(&other_record.read, id)) {
            mark_synced(synced, id, value);
        }
    }
    record.seen_at = record.seen_at.max(receipt.at);

    // A later failure replaces the recorded one, so the error stays until no write on either
    // side is unconfirmed.
    let confirmed =
        mapping.intercom_side.written.is_empty() && mapping.salesforce_side.written.is_empty();
    let mut effects = Vec::new();
    if confirmed && mapping.failure.is_some() {
        mapping.failure = None;
        effects.push(Effect::ClearSyncError);
    }
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}

/// Records a failed write, unless the same failure is already recorded and no retry was sent
/// since, and schedules a retry when the error class allows one.
fn on_write_failed(mut mapping: Mapping, failure: &WriteFailure) -> Transition {
    let error = SyncError::WriteFailed {
        side: failure.side,
        error: failure.error.clone(),
    };
    let repeated = mapping
        .failure
        .as_ref()
        .is_some_and(|recorded| recorded.error == error && !recorded.retrying);
    if repeated {
        return Transition::unchanged(State::Mapped(mapping));
    }

    let mut effects = vec![Effect::RecordSyncError(error.clone())];
    if let Some(after_ms) = retry_delay(&failure.error) {
        effects.push(Effect::ScheduleRetry { after_ms });
    }
    mapping.failure = Some(Failure {
        error,
        retrying: false,
    });
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}

/// Sends every value written and not yet confirmed again, on both sides: a later failure
/// replaces the recorded one, so the earlier failed write may be on the other side.
fn on_retry(mut mapping: Mapping, rules: &SyncRules) -> Transition {
    match &mut mapping.failure {
        Some(failure) if !failure.retrying => failure.retrying = true,
        _ => return Transition::unchanged(State::Mapped(mapping)),
    }

    let mut effects = Vec::new();
    for side in [Side::Salesforce, Side::Intercom] {
        let pending = mapping.side(side).written.clone();
        if !pending.is_empty() {
            effects.push(write(&mut mapping, side, pending, rules));
        }
    }
    if effects.is_empty() {
        mapping.failure = None;
        effects.push(Effect::ClearSyncError);
    }
    Transition {
        state: State::Mapped(mapping),
        effects,
    }
}
