//! One test per cell of the Salesforce-to-Intercom table: each trigger in Salesforce, with a
//! mapping and without one.

mod common;

use common::*;
use intersync_fsm::{Effect, Event, Side, State, Timestamp};

/// A Salesforce Lead that was polled and matched no Intercom contact, so it has no mapping.
fn unmapped_lead() -> State {
    let record = salesforce(&lead(1));
    let values = person_values("ann@x.com", "Ann", "1");
    let state = step(State::new(record.clone()), &created(&record, values, 1000)).state;
    let next = step(state, &no_match(Side::Intercom, "ann@x.com"));
    assert!(next.effects.is_empty());
    next.state
}

fn converted(at: i64) -> Event {
    Event::LeadConverted {
        lead: lead(1).id,
        contact: sf_contact(9).id,
        at: Timestamp(at),
    }
}

#[test]
fn person_updated_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &updated(
            &salesforce(&lead(1)),
            person_values("ann@x.com", "Ann", "2"),
            2000,
        ),
    );

    assert_eq!(
        actions(&next.effects),
        vec![Effect::WriteIntercom {
            target: contact("ann"),
            attributes: person_values("ann@x.com", "Ann", "2"),
        }]
    );
}

#[test]
fn person_updated_without_mapping() {
    let record = salesforce(&lead(1));

    let next = step(
        unmapped_lead(),
        &updated(&record, person_values("ann@x.com", "Ann", "2"), 2000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Intercom,
            key: key("ann@x.com"),
        }]
    );

    let found = change(
        &intercom("ann"),
        person_values("ann@x.com", "Annie", "7"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Intercom, "ann@x.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::WriteIntercom {
                target: contact("ann"),
                attributes: person_values("ann@x.com", "Ann", "2"),
            },
        ]
    );
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn key_updated_with_mapping() {
    let record = salesforce(&lead(1));
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &updated(&record, person_values("ann@y.com", "Ann", "1"), 2000),
    );
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::DeleteMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::LookUp {
                side: Side::Intercom,
                key: key("ann@y.com"),
            },
        ],
        "a key that differs from the stored one is a key change"
    );

    let found = change(
        &intercom("bea"),
        person_values("ann@y.com", "Bea", "3"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Intercom, "ann@y.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("bea"),
                salesforce: lead(1).id,
            },
            Effect::WriteIntercom {
                target: contact("bea"),
                attributes: person_values("ann@y.com", "Ann", "1"),
            },
        ]
    );
}

#[test]
fn key_updated_without_mapping() {
    let record = salesforce(&lead(1));

    let next = step(
        unmapped_lead(),
        &key_updated(&record, person_values("ann@y.com", "Ann", "1"), 2000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Intercom,
            key: key("ann@y.com"),
        }]
    );

    let found = change(
        &intercom("bea"),
        person_values("ann@y.com", "Bea", "1"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Intercom, "ann@y.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("bea"),
                salesforce: lead(1).id,
            },
            Effect::WriteIntercom {
                target: contact("bea"),
                attributes: person_values("ann@y.com", "Ann", "1"),
            },
        ]
    );
}

#[test]
fn person_created_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(
        state.clone(),
        &created(
            &salesforce(&lead(1)),
            person_values("ann@x.com", "Bob", "5"),
            2000,
        ),
    );

    assert!(next.effects.is_empty());
    assert_eq!(next.state, state);
}

#[test]
fn person_created_without_mapping() {
    let record = salesforce(&lead(1));

    let next = step(
        State::new(record.clone()),
        &created(&record, person_values("ann@x.com", "Ann", "1"), 1000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Intercom,
            key: key("ann@x.com"),
        }]
    );

    let found = change(&intercom("ann"), person_values("ann@x.com", "A", "1"), 900);
    let next = step(next.state, &one_match(Side::Intercom, "ann@x.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::WriteIntercom {
                target: contact("ann"),
                attributes: person_values("ann@x.com", "Ann", "1"),
            },
        ]
    );
}

#[test]
fn person_deleted_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(state, &deleted(&salesforce(&lead(1)), 2000));

    assert_eq!(
        actions(&next.effects),
        vec![Effect::DeleteMapping {
            intercom: intercom_id("ann"),
            salesforce: lead(1).id,
        }]
    );
    assert!(matches!(next.state, State::Deleted(_)));
}

#[test]
fn person_deleted_without_mapping() {
    let next = step(unmapped_lead(), &deleted(&salesforce(&lead(1)), 2000));

    assert!(next.effects.is_empty());
    assert!(matches!(next.state, State::Deleted(_)));
}

#[test]
fn lead_converted_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(state, &converted(2000));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::DeleteMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: sf_contact(9).id,
            },
            Effect::Fetch {
                person: salesforce(&sf_contact(9)),
            },
        ]
    );
    assert!(matches!(next.state, State::Qualified(_)));

    let fetched = updated(
        &salesforce(&sf_contact(9)),
        person_values("ann@x.com", "Ann", "1"),
        2100,
    );
    let next = step(next.state, &fetched);
    assert_eq!(
        actions(&next.effects),
        vec![Effect::WriteIntercom {
            target: contact("ann"),
            attributes: person_values("ann@x.com", "Ann", "1"),
        }],
        "the Contact's mapped attributes go to Intercom even where they match"
    );
    let State::Mapped(mapping) = next.state else {
        panic!("expected a mapping, got {:?}", next.state);
    };
    assert_eq!(mapping.salesforce, sf_contact(9));
}

#[test]
fn lead_converted_without_mapping() {
    let next = step(unmapped_lead(), &converted(2000));
    assert_eq!(
        next.effects,
        vec![Effect::Fetch {
            person: salesforce(&sf_contact(9)),
        }]
    );

    let fetched = updated(
        &salesforce(&sf_contact(9)),
        person_values("ann@x.com", "Ann", "1"),
        2100,
    );
    let next = step(next.state, &fetched);
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Intercom,
            key: key("ann@x.com"),
        }]
    );

    let found = change(
        &intercom("ann"),
        person_values("ann@x.com", "Ann", "1"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Intercom, "ann@x.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![Effect::CreateMapping {
            intercom: intercom_id("ann"),
            salesforce: sf_contact(9).id,
        }]
    );
}
