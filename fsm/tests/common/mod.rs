//! Builders shared by the fsm tests: ids, people, events and a mapping in sync.

#![allow(dead_code)]

use intersync_fsm::{
    transition, Attributes, ConflictPolicy, Effect, Event, IntercomId, IntercomRef, IntercomRole,
    LookUpOutcome, LookUpResult, MappedAttribute, MappingKey, PersonChange, PersonRef,
    SalesforceId, SalesforceObject, SalesforceRef, Side, State, SyncRules, Timestamp, Transition,
    Value, WriteReceipt,
};

/// Email, name and phone, both ways, newest wins.
pub fn rules() -> SyncRules {
    rules_with(ConflictPolicy::NewestWins)
}

/// Email and name newest wins, and phone under `phone_policy`.
pub fn rules_with(phone_policy: ConflictPolicy) -> SyncRules {
    SyncRules::new(vec![
        MappedAttribute::new("email", ConflictPolicy::NewestWins),
        MappedAttribute::new("name", ConflictPolicy::NewestWins),
        MappedAttribute::new("phone", phone_policy),
    ])
}

pub fn key(raw: &str) -> MappingKey {
    MappingKey::normalize(raw).unwrap()
}

pub fn intercom_id(name: &str) -> IntercomId {
    IntercomId::parse(name).unwrap()
}

pub fn salesforce_id(prefix: &str, number: u32) -> SalesforceId {
    SalesforceId::parse(&format!("{prefix}{number:012}AAA")).unwrap()
}

pub fn contact(name: &str) -> IntercomRef {
    IntercomRef {
        id: intercom_id(name),
        role: IntercomRole::User,
    }
}

pub fn lead(number: u32) -> SalesforceRef {
    SalesforceRef {
        id: salesforce_id("00Q", number),
        object: SalesforceObject::Lead,
    }
}

pub fn sf_contact(number: u32) -> SalesforceRef {
    SalesforceRef {
        id: salesforce_id("003", number),
        object: SalesforceObject::Contact,
    }
}

pub fn intercom(name: &str) -> PersonRef {
    PersonRef::Intercom(contact(name))
}

pub fn salesforce(record: &SalesforceRef) -> PersonRef {
    PersonRef::Salesforce(record.clone())
}

pub fn attrs(pairs: &[(&str, Value)]) -> Attributes {
    pairs
        .iter()
        .map(|(id, value)| ((*id).to_owned(), value.clone()))
        .collect()
}

pub fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

/// Builds the attributes of a person with `email`, `name` and `phone`.
pub fn person_values(email: &str, name: &str, phone: &str) -> Attributes {
    attrs(&[
        ("email", text(email)),
        ("name", text(name)),
        ("phone", text(phone)),
    ])
}

pub fn change(person: &PersonRef, attributes: Attributes, at: i64) -> PersonChange {
    let key = attributes.get("email").and_then(|email| match email {
        Value::Text(email) => MappingKey::normalize(email).ok(),
        _ => None,
    });
    PersonChange {
        person: person.clone(),
        key,
        attributes,
        at: Timestamp(at),
    }
}

pub fn created(person: &PersonRef, attributes: Attributes, at: i64) -> Event {
    Event::PersonCreated(change(person, attributes, at))
}

pub fn updated(person: &PersonRef, attributes: Attributes, at: i64) -> Event {
    Event::PersonUpdated(change(person, attributes, at))
}

pub fn key_updated(person: &PersonRef, attributes: Attributes, at: i64) -> Event {
    Event::KeyUpdated(change(person, attributes, at))
}

pub fn deleted(person: &PersonRef, at: i64) -> Event {
    Event::PersonDeleted {
        person: person.clone(),
        at: Timestamp(at),
    }
}

pub fn one_match(side: Side, email: &str, found: PersonChange) -> Event {
    Event::LookedUp(LookUpResult {
        side,
        key: key(email),
        outcome: LookUpOutcome::OneMatch(found),
    })
}

pub fn no_match(side: Side, email: &str) -> Event {
    Event::LookedUp(LookUpResult {
        side,
        key: key(email),
        outcome: LookUpOutcome::NoMatch,
    })
}

pub fn receipt(side: Side, attributes: Attributes, at: i64) -> Event {
    Event::WriteSucceeded(WriteReceipt {
        side,
        attributes,
        at: Timestamp(at),
        created: None,
    })
}

pub fn step(state: State, event: &Event) -> Transition {
    step_with(state, event, &rules())
}

pub fn step_with(state: State, event: &Event, rules: &SyncRules) -> Transition {
    let next = transition(state, event, rules);
    next.state.check_invariants().unwrap();
    next
}

/// Intercom contact `ann` mapped to Lead 1, both with ann@x.com, Ann and phone 1: the
/// Intercom side read at 1000, the Salesforce side at 900.
pub fn mapped_in_sync(rules: &SyncRules) -> State {
    let ann = intercom("ann");
    let values = person_values("ann@x.com", "Ann", "1");
    let state = step_with(
        State::new(ann.clone()),
        &created(&ann, values.clone(), 1000),
        rules,
    )
    .state;
    let found = change(&salesforce(&lead(1)), values, 900);
    let next = step_with(
        state,
        &one_match(Side::Salesforce, "ann@x.com", found),
        rules,
    );
    assert!(matches!(next.state, State::Mapped(_)), "{:?}", next.state);
    next.state
}

/// Selects the write effects of a step, for assertions that ignore history and mapping
/// effects.
pub fn writes(effects: &[Effect]) -> Vec<&Effect> {
    effects
        .iter()
        .filter(|effect| {
            matches!(
                effect,
                Effect::WriteSalesforce { .. }
                    | Effect::WriteIntercom { .. }
                    | Effect::CreateSalesforceLead { .. }
            )
        })
        .collect()
}

/// Returns the effects of a step without its history entries.
pub fn actions(effects: &[Effect]) -> Vec<Effect> {
    effects
        .iter()
        .filter(|effect| !matches!(effect, Effect::Record(_)))
        .cloned()
        .collect()
}
