//! Attribute bookkeeping shared by the states: comparison, reading, writing and the creation
//! of a mapping from a look-up match.

use crate::effect::{Effect, HistoryEntry, Rule};
use crate::event::PersonChange;
use crate::key::MappingKey;
use crate::person::{PersonRef, Side};
use crate::policy::SyncRules;
use crate::state::{Mapping, Send, SideRecord, Unmapped};
use crate::value::{value_of, Attributes, Value};

/// Compares two values of attribute `id`. Values of the mapping key attribute compare like
/// mapping keys, trimmed and case-insensitively, so a case-only email edit is no change.
pub(super) fn same(rules: &SyncRules, id: &str, a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Text(a), Value::Text(b)) if id == rules.key_attribute => {
            a.trim().to_lowercase() == b.trim().to_lowercase()
        }
        _ => false,
    }
}

/// Stores the mapped attributes of `change` in `record` and returns the ids whose value
/// differs from what the record held.
pub(super) fn read_into(
    record: &mut SideRecord,
    change: &PersonChange,
    rules: &SyncRules,
) -> Vec<String> {
    let mut changed = Vec::new();
    for attribute in &rules.attributes {
        let Some(value) = change.attributes.get(&attribute.id) else {
            continue;
        };
        let known = record.read.get(&attribute.id);
        if known.is_some_and(|known| same(rules, &attribute.id, known, value)) {
            continue;
        }
        record.read.insert(attribute.id.clone(), value.clone());
        changed.push(attribute.id.clone());
    }
    record.seen_at = record.seen_at.max(change.at);
    changed
}

/// Builds the write of `changes` to `to`, and remembers them as written so their echo is
/// recognised.
///
/// A Salesforce write carries `changes` and the values of earlier writes still unconfirmed,
/// so a write after a failed one also repairs it. An Intercom write carries every mapped
/// attribute that flows to Intercom and has a known value, with `changes` applied.
pub(super) fn write(
    mapping: &mut Mapping,
    to: Side,
    changes: Attributes,
    rules: &SyncRules,
) -> Effect {
    let record = mapping.side_mut(to);
    for (id, value) in &changes {
        if same(rules, id, value_of(&record.read, id), value) {
            // The side already has the value, so an older unconfirmed write is superseded.
            record.written.remove(id);
        } else {
            record.written.insert(id.clone(), value.clone());
        }
    }

    match to {
        Side::Salesforce => {
            let mut attributes = changes;
            for (id, value) in &mapping.salesforce_side.written {
                attributes
                    .entry(id.clone())
                    .or_insert_with(|| value.clone());
            }
            Effect::WriteSalesforce {
                target: mapping.salesforce.clone(),
                attributes,
            }
        }
        Side::Intercom => {
            let mut attributes = changes;
            let record = &mapping.intercom_side;
            for attribute in &rules.attributes {
                if !attribute.policy.flows_to(Side::Intercom)
                    || attributes.contains_key(&attribute.id)
                {
                    continue;
                }
                let known = record
                    .written
                    .get(&attribute.id)
                    .or_else(|| record.read.get(&attribute.id));
                if let Some(value) = known {
                    attributes.insert(attribute.id.clone(), value.clone());
                }
            }
            Effect::WriteIntercom {
                target: mapping.intercom.clone(),
                attributes,
            }
        }
    }
}

/// Records as synced every attribute whose last read value is the same on both sides.
pub(super) fn refresh_synced(mapping: &mut Mapping, rules: &SyncRules) {
    for attribute in &rules.attributes {
        let id = attribute.id.as_str();
        let (Some(on_intercom), Some(on_salesforce)) = (
            mapping.intercom_side.read.get(id),
            mapping.salesforce_side.read.get(id),
        ) else {
            continue;
        };
        if same(rules, id, on_intercom, on_salesforce)
            && mapping.synced.get(id) != Some(on_salesforce)
        {
            mapping.synced.insert(id.to_owned(), on_salesforce.clone());
        }
    }
}

/// Returns true when `send` covers attribute `id`.
fn sends(send: &Send, id: &str) -> bool {
    match send {
        Send::All => true,
        Send::Changed(ids) => ids.iter().any(|changed| changed == id),
    }
}

/// Creates the mapping between `person` and the look-up match `found`, and the effects that
/// store it and bring both sides in line.
///
/// The attributes `send` names go from the person to the match. Every other attribute that
/// flows from the match's side goes back to the person, so the match keeps its own values.
/// Returns `None` when `found` is on the person's own side.
pub(super) fn create_mapping(
    person: Unmapped,
    key: MappingKey,
    found: &PersonChange,
    send: &Send,
    rules: &SyncRules,
    effects: &mut Vec<Effect>,
) -> Option<Mapping> {
    let from = person.person.side();
    let mut found_record = SideRecord::default();
    read_into(&mut found_record, found, rules);

    let (intercom, salesforce, intercom_side, salesforce_side) =
        match (person.person, &found.person) {
            (PersonRef::Intercom(contact), PersonRef::Salesforce(record)) => {
                (contact, record.clone(), person.record, found_record)
            }
            (PersonRef::Salesforce(record), PersonRef::Intercom(contact)) => {
                (contact.clone(), record, found_record, person.record)
            }
            _ => return None,
        };
    let mut mapping = Mapping {
        intercom,
        salesforce,
        key,
        intercom_side,
        salesforce_side,
        synced: Attributes::new(),
        failure: None,
    };
    effects.push(Effect::CreateMapping {
        intercom: mapping.intercom.id.clone(),
        salesforce: mapping.salesforce.id.clone(),
    });

    let to = from.other();
    let mut to_match = Attributes::new();
    let mut to_person = Attributes::new();
    for attribute in &rules.attributes {
        let id = attribute.id.as_str();
        let mine = mapping.side(from).read.get(id);
        let theirs = mapping.side(to).read.get(id);
        let sent = sends(send, id) && attribute.policy.flows_from(from);
        if let (true, Some(mine)) = (sent, mine) {
            if !same(rules, id, mine, theirs.unwrap_or(&Value::Null)) {
                to_match.insert(id.to_owned(), mine.clone());
            }
        } else if let (true, Some(theirs)) = (attribute.policy.flows_from(to), theirs) {
            if !same(rules, id, mine.unwrap_or(&Value::Null), theirs) {
                to_person.insert(id.to_owned(), theirs.clone());
            }
        }
    }

    effects.push(Effect::Record(HistoryEntry {
        rule: Rule::MappingCreated,
        from,
        attributes: to_match.keys().cloned().collect(),
        at: found.at.max(mapping.side(from).seen_at),
    }));
    if !to_match.is_empty() {
        effects.push(write(&mut mapping, to, to_match, rules));
    }
    if !to_person.is_empty() {
        effects.push(write(&mut mapping, from, to_person, rules));
    }
    refresh_synced(&mut mapping, rules);
    Some(mapping)
}

/// Collects every known value of `record` for the mapped attributes that flow to `to`.
pub(super) fn flowing_to(record: &SideRecord, to: Side, rules: &SyncRules) -> Attributes {
    rules
        .attributes
        .iter()
        .filter(|attribute| attribute.policy.flows_to(to))
        .filter_map(|attribute| {
            let value = record.read.get(&attribute.id)?;
            Some((attribute.id.clone(), value.clone()))
        })
        .collect()
}
