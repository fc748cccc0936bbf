//! Every conflict policy, for the phone changed on both sides before the two changes met.
//!
//! Each case starts from a mapping in sync with phone 1. Salesforce changes the phone first;
//! the write of that change to Intercom is still unconfirmed when Intercom reports its own,
//! different change. The policy decides which value both sides end with.

mod common;

use common::*;
use intersync_fsm::{ConflictPolicy, Effect, State, Value};

/// What one step wrote to each side: the phone values only.
#[derive(Debug, Default, PartialEq)]
struct PhoneWrites {
    salesforce: Option<Value>,
    intercom: Option<Value>,
}

fn phone_writes(effects: &[Effect]) -> PhoneWrites {
    let mut found = PhoneWrites::default();
    for effect in effects {
        match effect {
            Effect::WriteSalesforce { attributes, .. } => {
                found.salesforce = attributes.get("phone").cloned();
            }
            Effect::WriteIntercom { attributes, .. } => {
                found.intercom = attributes.get("phone").cloned();
            }
            _ => {}
        }
    }
    found
}

/// Runs the conflict under `policy`: Salesforce sets `salesforce_phone` at 2000, then Intercom
/// sets `intercom_phone` at `intercom_at`. Returns the writes of both steps.
fn conflict(
    policy: ConflictPolicy,
    salesforce_phone: Value,
    intercom_phone: Value,
    intercom_at: i64,
) -> (PhoneWrites, PhoneWrites) {
    let rules = rules_with(policy);
    let state = mapped_in_sync(&rules);

    let salesforce_change = attrs(&[("phone", salesforce_phone)]);
    let first = step_with(
        state,
        &updated(&salesforce(&lead(1)), salesforce_change, 2000),
        &rules,
    );
    let intercom_change = attrs(&[("phone", intercom_phone)]);
    let second = step_with(
        first.state,
        &updated(&intercom("ann"), intercom_change, intercom_at),
        &rules,
    );
    assert!(matches!(second.state, State::Mapped(_)));
    (phone_writes(&first.effects), phone_writes(&second.effects))
}

fn to_intercom(value: Value) -> PhoneWrites {
    PhoneWrites {
        salesforce: None,
        intercom: Some(value),
    }
}

fn to_salesforce(value: Value) -> PhoneWrites {
    PhoneWrites {
        salesforce: Some(value),
        intercom: None,
    }
}

#[test]
fn newest_wins_picks_newer_intercom_change() {
    let (first, second) = conflict(ConflictPolicy::NewestWins, text("S"), text("I"), 3000);

    assert_eq!(first, to_intercom(text("S")));
    assert_eq!(second, to_salesforce(text("I")));
}

#[test]
fn newest_wins_picks_newer_salesforce_change() {
    let (first, second) = conflict(ConflictPolicy::NewestWins, text("S"), text("I"), 1500);

    assert_eq!(first, to_intercom(text("S")));
    assert_eq!(
        second,
        to_intercom(text("S")),
        "Intercom's older change loses"
    );
}

#[test]
fn newest_wins_gives_a_tie_to_salesforce() {
    let (_, second) = conflict(ConflictPolicy::NewestWins, text("S"), text("I"), 2000);

    assert_eq!(second, to_intercom(text("S")));
}

#[test]
fn prefer_salesforce_keeps_salesforce_value() {
    let (first, second) = conflict(ConflictPolicy::PreferSalesforce, text("S"), text("I"), 3000);

    assert_eq!(first, to_intercom(text("S")));
    assert_eq!(second, to_intercom(text("S")));
}

#[test]
fn prefer_salesforce_keeps_a_blank_salesforce_value() {
    let (first, second) = conflict(
        ConflictPolicy::PreferSalesforce,
        Value::Null,
        text("I"),
        3000,
    );

    assert_eq!(first, to_intercom(Value::Null));
    assert_eq!(second, to_intercom(Value::Null));
}

#[test]
fn prefer_salesforce_unless_blank_keeps_salesforce_value() {
    let (_, second) = conflict(
        ConflictPolicy::PreferSalesforceUnlessBlank,
        text("S"),
        text("I"),
        3000,
    );

    assert_eq!(second, to_intercom(text("S")));
}

#[test]
fn prefer_salesforce_unless_blank_takes_intercom_over_blank() {
    let (first, second) = conflict(
        ConflictPolicy::PreferSalesforceUnlessBlank,
        text(""),
        text("I"),
        1500,
    );

    assert_eq!(first, to_intercom(text("")));
    assert_eq!(second, to_salesforce(text("I")));
}

#[test]
fn prefer_intercom_takes_intercom_value() {
    let (first, second) = conflict(ConflictPolicy::PreferIntercom, text("S"), text("I"), 1500);

    assert_eq!(
        first,
        to_intercom(text("S")),
        "without a conflict Salesforce's change flows"
    );
    assert_eq!(second, to_salesforce(text("I")));
}

#[test]
fn prefer_intercom_takes_a_blank_intercom_value() {
    let (_, second) = conflict(ConflictPolicy::PreferIntercom, text("S"), Value::Null, 1500);

    assert_eq!(second, to_salesforce(Value::Null));
}

#[test]
fn intercom_to_salesforce_only_ignores_salesforce_changes() {
    let (first, second) = conflict(
        ConflictPolicy::IntercomToSalesforceOnly,
        text("S"),
        text("I"),
        1500,
    );

    assert_eq!(first, PhoneWrites::default());
    assert_eq!(second, to_salesforce(text("I")));
}

#[test]
fn salesforce_to_intercom_only_ignores_intercom_changes() {
    let (first, second) = conflict(
        ConflictPolicy::SalesforceToIntercomOnly,
        text("S"),
        text("I"),
        3000,
    );

    assert_eq!(first, to_intercom(text("S")));
    assert_eq!(second, PhoneWrites::default());
}

#[test]
fn do_not_sync_writes_nothing() {
    let (first, second) = conflict(ConflictPolicy::DoNotSync, text("S"), text("I"), 3000);

    assert_eq!(first, PhoneWrites::default());
    assert_eq!(second, PhoneWrites::default());
}

#[test]
fn blank_on_both_sides_is_no_conflict() {
    for policy in [
        ConflictPolicy::NewestWins,
        ConflictPolicy::PreferSalesforce,
        ConflictPolicy::PreferSalesforceUnlessBlank,
        ConflictPolicy::PreferIntercom,
    ] {
        let (first, second) = conflict(policy, Value::Null, text(""), 3000);

        assert_eq!(first, to_intercom(Value::Null), "{policy:?}");
        assert_eq!(
            second,
            PhoneWrites::default(),
            "{policy:?}: \"\" equals null"
        );
    }
}

#[test]
fn intercom_first_conflict_is_symmetric() {
    let rules = rules_with(ConflictPolicy::PreferSalesforce);
    let state = mapped_in_sync(&rules);

    let first = step_with(
        state,
        &updated(&intercom("ann"), attrs(&[("phone", text("I"))]), 2000),
        &rules,
    );
    let second = step_with(
        first.state,
        &updated(&salesforce(&lead(1)), attrs(&[("phone", text("S"))]), 1500),
        &rules,
    );

    assert_eq!(phone_writes(&first.effects), to_salesforce(text("I")));
    assert_eq!(phone_writes(&second.effects), to_intercom(text("S")));
}
