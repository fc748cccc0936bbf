//! One test per cell of the Intercom-to-Salesforce table: each trigger in Intercom, with a
//! mapping and without one.

mod common;

use common::*;
use intersync_fsm::{Effect, Side, State};

/// An Intercom contact that was created and matched nobody, so it has no mapping.
fn unmapped_ann() -> State {
    let ann = intercom("ann");
    let values = person_values("ann@x.com", "Ann", "1");
    let state = step(State::new(ann.clone()), &created(&ann, values, 1000)).state;
    let next = step(state, &no_match(Side::Salesforce, "ann@x.com"));
    assert!(next.effects.is_empty());
    next.state
}

#[test]
fn person_updated_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &updated(
            &intercom("ann"),
            person_values("ann@x.com", "Anna", "1"),
            2000,
        ),
    );

    assert_eq!(
        actions(&next.effects),
        vec![Effect::WriteSalesforce {
            target: lead(1),
            attributes: attrs(&[("name", text("Anna"))]),
        }]
    );
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn person_updated_without_mapping() {
    let ann = intercom("ann");

    let next = step(
        unmapped_ann(),
        &updated(&ann, person_values("ann@x.com", "Ann", "2"), 2000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Salesforce,
            key: key("ann@x.com"),
        }]
    );

    let found = change(
        &salesforce(&lead(1)),
        person_values("ann@x.com", "Ann Smith", "9"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "ann@x.com", found));
    let effects = actions(&next.effects);
    assert_eq!(
        effects[0],
        Effect::CreateMapping {
            intercom: intercom_id("ann"),
            salesforce: lead(1).id,
        }
    );
    assert_eq!(
        effects[1],
        Effect::WriteSalesforce {
            target: lead(1),
            attributes: attrs(&[("phone", text("2"))]),
        },
        "only the phone changed in the update"
    );
    assert_eq!(
        effects[2],
        Effect::WriteIntercom {
            target: contact("ann"),
            attributes: person_values("ann@x.com", "Ann Smith", "2"),
        },
        "the Lead's own name flows back to Intercom"
    );
    assert_eq!(effects.len(), 3);
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn key_updated_with_mapping() {
    let ann = intercom("ann");
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &key_updated(&ann, person_values("ann@y.com", "Ann", "2"), 2000),
    );
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::DeleteMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::LookUp {
                side: Side::Salesforce,
                key: key("ann@y.com"),
            },
        ]
    );
    assert!(matches!(next.state, State::KeyChanged(_)));

    let found = change(
        &salesforce(&sf_contact(7)),
        person_values("ann@y.com", "Ann", "1"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "ann@y.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: sf_contact(7).id,
            },
            Effect::WriteSalesforce {
                target: sf_contact(7),
                attributes: attrs(&[("phone", text("2"))]),
            },
        ]
    );
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn key_updated_without_mapping() {
    let ann = intercom("ann");

    let next = step(
        unmapped_ann(),
        &key_updated(&ann, person_values("ann@y.com", "Ann", "1"), 2000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Salesforce,
            key: key("ann@y.com"),
        }]
    );

    let found = change(
        &salesforce(&lead(2)),
        person_values("ann@y.com", "Ann", "1"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "ann@y.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![Effect::CreateMapping {
            intercom: intercom_id("ann"),
            salesforce: lead(2).id,
        }],
        "the Lead already has every value, so nothing is written"
    );
}

#[test]
fn person_created_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(
        state.clone(),
        &created(
            &intercom("ann"),
            person_values("ann@x.com", "Bob", "5"),
            2000,
        ),
    );

    assert!(next.effects.is_empty());
    assert_eq!(next.state, state);
}

#[test]
fn person_created_without_mapping() {
    let ann = intercom("ann");

    let next = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    );
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Salesforce,
            key: key("ann@x.com"),
        }]
    );

    let found = change(
        &salesforce(&lead(1)),
        person_values("ANN@x.com", "A.", "9"),
        900,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "ann@x.com", found));
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::WriteSalesforce {
                target: lead(1),
                attributes: attrs(&[("name", text("Ann")), ("phone", text("1"))]),
            },
        ],
        "every mapped attribute that differs goes; the email differs only in case"
    );
}

#[test]
fn person_deleted_with_mapping() {
    let state = mapped_in_sync(&rules());

    let next = step(state, &deleted(&intercom("ann"), 2000));

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
    let next = step(unmapped_ann(), &deleted(&intercom("ann"), 2000));

    assert!(next.effects.is_empty());
    assert!(matches!(next.state, State::Deleted(_)));
}
