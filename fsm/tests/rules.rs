//! The rules that hold across both tables: existing records only, replays, ordering, echoes,
//! tombstones, ambiguous keys, key changes to another record, Lead creation and failures.

mod common;

use common::*;
use intersync_fsm::{
    Effect, Event, IntercomRole, LookUpOutcome, LookUpResult, RemoteError, Rule, Side, State,
    SyncError, Timestamp, WriteFailure, WriteReceipt, RATE_LIMIT_RETRY_MS, TRANSIENT_RETRY_MS,
};

fn several_matches(side: Side, email: &str, candidates: Vec<intersync_fsm::PersonRef>) -> Event {
    Event::LookedUp(LookUpResult {
        side,
        key: key(email),
        outcome: LookUpOutcome::SeveralMatches { candidates },
    })
}

fn failed(side: Side, error: RemoteError) -> Event {
    Event::WriteFailed(WriteFailure { side, error })
}

#[test]
fn no_match_creates_no_mapping_and_no_record() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;

    let next = step(state, &no_match(Side::Salesforce, "ann@x.com"));

    assert!(next.effects.is_empty(), "{:?}", next.effects);
    assert!(matches!(next.state, State::Unmapped(_)));
}

#[test]
fn look_up_answer_for_another_key_is_ignored() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;
    let found = change(
        &salesforce(&lead(1)),
        person_values("bob@x.com", "Bob", "1"),
        900,
    );

    let next = step(
        state.clone(),
        &one_match(Side::Salesforce, "bob@x.com", found),
    );

    assert!(next.effects.is_empty());
    assert_eq!(next.state, state);
}

#[test]
fn replayed_events_change_nothing() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let found = change(&record, person_values("ann@x.com", "Ann", "9"), 900);
    let events = vec![
        created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
        one_match(Side::Salesforce, "ann@x.com", found),
        receipt(Side::Salesforce, attrs(&[("phone", text("1"))]), 1100),
        updated(&record, person_values("ann@x.com", "Ann B", "1"), 1200),
        receipt(
            Side::Intercom,
            person_values("ann@x.com", "Ann B", "1"),
            2000,
        ),
        updated(&ann, person_values("ann@x.com", "Ann C", "1"), 3000),
        failed(
            Side::Salesforce,
            RemoteError::Retryable {
                message: "timed out".into(),
            },
        ),
        updated(&ann, person_values("ann@y.com", "Ann C", "1"), 4000),
        no_match(Side::Salesforce, "ann@y.com"),
        deleted(&ann, 5000),
    ];

    let mut state = State::new(ann.clone());
    for event in &events {
        state = step(state, event).state;
        let replay = step(state.clone(), event);
        assert!(
            replay.effects.is_empty(),
            "replaying {event:?} gave {:?}",
            replay.effects
        );
        assert_eq!(replay.state, state, "replaying {event:?} changed the state");
    }
}

#[test]
fn replayed_moves_change_nothing() {
    let events = vec![
        Event::LeadBecameUser {
            lead: intercom_id("ann"),
            user: intercom_id("ann"),
            at: Timestamp(2000),
        },
        Event::LeadBecameUser {
            lead: intercom_id("ann"),
            user: intercom_id("ann-user"),
            at: Timestamp(2100),
        },
        Event::LeadConverted {
            lead: lead(1).id,
            contact: sf_contact(9).id,
            at: Timestamp(2200),
        },
        updated(
            &salesforce(&sf_contact(9)),
            person_values("ann@x.com", "Ann", "1"),
            2300,
        ),
    ];

    let mut state = mapped_in_sync(&rules());
    for event in &events {
        state = step(state, event).state;
        let replay = step(state.clone(), event);
        assert!(
            replay.effects.is_empty(),
            "replaying {event:?} gave {:?}",
            replay.effects
        );
        assert_eq!(replay.state, state, "replaying {event:?} changed the state");
    }
}

#[test]
fn older_event_changes_nothing() {
    let state = mapped_in_sync(&rules());

    for event in [
        updated(
            &intercom("ann"),
            person_values("ann@x.com", "Old", "0"),
            999,
        ),
        updated(
            &salesforce(&lead(1)),
            person_values("ann@x.com", "Old", "0"),
            899,
        ),
        key_updated(
            &intercom("ann"),
            person_values("old@x.com", "Ann", "1"),
            999,
        ),
        deleted(&intercom("ann"), 999),
        deleted(&salesforce(&lead(1)), 899),
    ] {
        let next = step(state.clone(), &event);
        assert!(next.effects.is_empty(), "{event:?} gave {:?}", next.effects);
        assert_eq!(next.state, state, "{event:?} changed the state");
    }
}

#[test]
fn newer_update_wins_over_late_older_one() {
    let ann = intercom("ann");
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &updated(&ann, person_values("ann@x.com", "B", "1"), 3000),
    );
    assert_eq!(writes(&next.effects).len(), 1);
    let late = step(
        next.state,
        &updated(&ann, person_values("ann@x.com", "A", "1"), 2000),
    );

    assert!(late.effects.is_empty());
}

#[test]
fn echo_of_salesforce_write_causes_no_intercom_write() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let state = mapped_in_sync(&rules());
    let next = step(
        state,
        &updated(&ann, person_values("ann@x.com", "Anna", "1"), 2000),
    );

    let echo = step(
        next.state.clone(),
        &updated(&record, person_values("ann@x.com", "Anna", "1"), 2100),
    );
    assert!(
        writes(&echo.effects).is_empty(),
        "echo before the receipt: {:?}",
        echo.effects
    );

    let confirmed = step(
        next.state,
        &receipt(Side::Salesforce, attrs(&[("name", text("Anna"))]), 2100),
    );
    let echo = step(
        confirmed.state,
        &updated(&record, person_values("ann@x.com", "Anna", "1"), 2100),
    );
    assert!(
        writes(&echo.effects).is_empty(),
        "echo after the receipt: {:?}",
        echo.effects
    );
}

#[test]
fn echo_of_intercom_write_causes_no_salesforce_write() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let state = mapped_in_sync(&rules());
    let next = step(
        state,
        &updated(&record, person_values("ann@x.com", "Ann", "2"), 2000),
    );
    assert_eq!(writes(&next.effects).len(), 1);

    let echo = step(
        next.state,
        &updated(&ann, person_values("ann@x.com", "Ann", "2"), 2000),
    );

    assert!(writes(&echo.effects).is_empty(), "{:?}", echo.effects);
}

#[test]
fn unrelated_salesforce_change_after_write_is_no_loop() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let rules = rules();
    let state = mapped_in_sync(&rules);
    let next = step(
        state,
        &updated(&ann, person_values("ann@x.com", "Ann", "2"), 2000),
    );
    let next = step(
        next.state,
        &receipt(Side::Salesforce, attrs(&[("phone", text("2"))]), 2100),
    );

    let mut values = person_values("ann@x.com", "Ann", "2");
    values.insert("unmapped_flow_field".to_owned(), text("stamped"));
    let next = step(next.state, &updated(&record, values, 2200));

    assert!(writes(&next.effects).is_empty(), "{:?}", next.effects);
}

#[test]
fn blank_text_and_null_cause_no_write() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let state = mapped_in_sync(&rules());
    let next = step(
        state,
        &updated(&ann, attrs(&[("phone", intersync_fsm::Value::Null)]), 2000),
    );
    assert_eq!(
        actions(&next.effects),
        vec![Effect::WriteSalesforce {
            target: lead(1),
            attributes: attrs(&[("phone", intersync_fsm::Value::Null)]),
        }],
        "clearing a value is a change"
    );

    let next = step(
        next.state,
        &updated(&record, attrs(&[("phone", text(""))]), 2100),
    );
    assert!(writes(&next.effects).is_empty(), "{:?}", next.effects);
    let next = step(
        next.state,
        &updated(&ann, attrs(&[("phone", text(""))]), 3000),
    );
    assert!(writes(&next.effects).is_empty(), "{:?}", next.effects);
}

#[test]
fn case_only_email_change_causes_no_write() {
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &updated(
            &intercom("ann"),
            person_values(" Ann@X.com", "Ann", "1"),
            2000,
        ),
    );

    assert!(next.effects.is_empty(), "{:?}", next.effects);
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn tombstone_ignores_every_event() {
    let ann = intercom("ann");
    let record = salesforce(&lead(1));
    let state = step(mapped_in_sync(&rules()), &deleted(&ann, 2000)).state;
    let found = change(&record, person_values("ann@x.com", "Ann", "1"), 900);

    for event in [
        created(&ann, person_values("ann@x.com", "Ann", "1"), 3000),
        updated(&ann, person_values("ann@x.com", "Bob", "1"), 3000),
        key_updated(&ann, person_values("b@x.com", "Ann", "1"), 3000),
        updated(&record, person_values("ann@x.com", "Bob", "1"), 3000),
        deleted(&ann, 3000),
        deleted(&record, 3000),
        one_match(Side::Salesforce, "ann@x.com", found),
        receipt(Side::Salesforce, attrs(&[("name", text("x"))]), 3000),
        failed(
            Side::Salesforce,
            RemoteError::Retryable {
                message: "x".into(),
            },
        ),
        Event::LeadConverted {
            lead: lead(1).id,
            contact: sf_contact(1).id,
            at: Timestamp(3000),
        },
        Event::CreateLeadRequested,
        Event::RetryRequested,
    ] {
        let next = step(state.clone(), &event);
        assert!(next.effects.is_empty(), "{event:?} gave {:?}", next.effects);
        assert_eq!(next.state, state);
    }
}

#[test]
fn several_matches_record_an_error_listing_them() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;
    let candidates = vec![salesforce(&lead(1)), salesforce(&sf_contact(2))];

    let next = step(
        state,
        &several_matches(Side::Salesforce, "ann@x.com", candidates.clone()),
    );

    assert_eq!(
        next.effects,
        vec![Effect::RecordSyncError(SyncError::SeveralMatches {
            side: Side::Salesforce,
            key: key("ann@x.com"),
            candidates,
        })]
    );
    assert!(matches!(next.state, State::Unmapped(_)));
}

#[test]
fn several_matches_retry_looks_up_again() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;
    let candidates = vec![salesforce(&lead(1)), salesforce(&sf_contact(2))];
    let state = step(
        state,
        &several_matches(Side::Salesforce, "ann@x.com", candidates),
    )
    .state;

    let next = step(state, &Event::RetryRequested);
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Salesforce,
            key: key("ann@x.com"),
        }]
    );

    let found = change(
        &salesforce(&lead(1)),
        person_values("ann@x.com", "Ann", "1"),
        900,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "ann@x.com", found));
    assert_eq!(next.effects[0], Effect::ClearSyncError);
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn key_change_to_other_record() {
    let ann = intercom("ann");
    let state = mapped_in_sync(&rules());

    let next = step(
        state,
        &key_updated(&ann, person_values("cy@x.com", "Ann", "1"), 2000),
    );
    let found = change(
        &salesforce(&sf_contact(3)),
        person_values("cy@x.com", "Cy", "555"),
        1500,
    );
    let next = step(next.state, &one_match(Side::Salesforce, "cy@x.com", found));

    let salesforce_writes: Vec<_> = next
        .effects
        .iter()
        .filter(|effect| matches!(effect, Effect::WriteSalesforce { .. }))
        .collect();
    assert!(
        salesforce_writes.is_empty(),
        "the Contact already has the new email, and nothing else changed: {salesforce_writes:?}"
    );
    assert!(next.effects.contains(&Effect::CreateMapping {
        intercom: intercom_id("ann"),
        salesforce: sf_contact(3).id,
    }));
    assert!(next.effects.contains(&Effect::WriteIntercom {
        target: contact("ann"),
        attributes: person_values("cy@x.com", "Cy", "555"),
    }));
    let touches_old_lead = next.effects.iter().any(
        |effect| matches!(effect, Effect::WriteSalesforce { target, .. } if *target == lead(1)),
    );
    assert!(!touches_old_lead);
}

#[test]
fn key_change_to_ambiguous_key() {
    let ann = intercom("ann");
    let state = mapped_in_sync(&rules());
    let next = step(
        state,
        &key_updated(&ann, person_values("cy@x.com", "Ann", "1"), 2000),
    );
    assert!(next.effects.contains(&Effect::DeleteMapping {
        intercom: intercom_id("ann"),
        salesforce: lead(1).id,
    }));
    let candidates = vec![salesforce(&lead(4)), salesforce(&sf_contact(5))];

    let next = step(
        next.state,
        &several_matches(Side::Salesforce, "cy@x.com", candidates.clone()),
    );

    assert_eq!(
        next.effects,
        vec![Effect::RecordSyncError(SyncError::SeveralMatches {
            side: Side::Salesforce,
            key: key("cy@x.com"),
            candidates,
        })]
    );
    assert!(matches!(next.state, State::KeyChanged(_)));
}

#[test]
fn lead_creation_for_unmatched_is_off_by_default() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;

    let next = step(state, &no_match(Side::Salesforce, "ann@x.com"));

    assert!(writes(&next.effects).is_empty());
}

#[test]
fn lead_creation_opt_in() {
    let mut rules = rules();
    rules.create_leads_for_unmatched = true;
    let ann = intercom("ann");
    let values = person_values("ann@x.com", "Ann", "1");
    let state = step_with(
        State::new(ann.clone()),
        &created(&ann, values.clone(), 1000),
        &rules,
    )
    .state;

    let next = step_with(state, &no_match(Side::Salesforce, "ann@x.com"), &rules);
    assert_eq!(
        next.effects,
        vec![Effect::CreateSalesforceLead {
            intercom: contact("ann"),
            attributes: values.clone(),
        }]
    );

    let created_lead = Event::WriteSucceeded(WriteReceipt {
        side: Side::Salesforce,
        attributes: values.clone(),
        at: Timestamp(1100),
        created: Some(lead(8).id),
    });
    let next = step_with(next.state, &created_lead, &rules);
    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::CreateMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(8).id,
            },
            Effect::WriteIntercom {
                target: contact("ann"),
                attributes: values,
            },
        ]
    );
    assert!(next
        .effects
        .iter()
        .any(|effect| matches!(effect, Effect::Record(entry) if entry.rule == Rule::LeadCreated)));
    assert!(matches!(next.state, State::Mapped(_)));
}

#[test]
fn lead_creation_action_creates_a_lead_once() {
    let ann = intercom("ann");
    let values = person_values("ann@x.com", "Ann", "1");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, values.clone(), 1000),
    )
    .state;
    let state = step(state, &no_match(Side::Salesforce, "ann@x.com")).state;

    let next = step(state, &Event::CreateLeadRequested);
    assert_eq!(
        next.effects,
        vec![Effect::CreateSalesforceLead {
            intercom: contact("ann"),
            attributes: values,
        }]
    );

    let again = step(next.state, &Event::CreateLeadRequested);
    assert!(
        again.effects.is_empty(),
        "a second request while one is in flight does nothing"
    );
}

#[test]
fn lead_creation_action_without_key_is_an_error() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, attrs(&[("name", text("Ann"))]), 1000),
    )
    .state;

    let next = step(state, &Event::CreateLeadRequested);

    assert_eq!(
        next.effects,
        vec![Effect::RecordSyncError(SyncError::MissingKey {
            intercom: intercom_id("ann"),
        })]
    );
}

#[test]
fn failed_write_classes_schedule_retries() {
    let cases = [
        (
            RemoteError::Retryable {
                message: "503".into(),
            },
            Some(TRANSIENT_RETRY_MS),
        ),
        (
            RemoteError::RateLimited {
                retry_after_ms: Some(5_000),
            },
            Some(5_000),
        ),
        (
            RemoteError::RateLimited {
                retry_after_ms: None,
            },
            Some(RATE_LIMIT_RETRY_MS),
        ),
        (
            RemoteError::NeedsReauthorization {
                message: "expired".into(),
            },
            None,
        ),
        (
            RemoteError::Permanent {
                code: "STRING_TOO_LONG".into(),
                message: "Last Name: data value too large".into(),
                fields: vec!["LastName".into()],
            },
            None,
        ),
    ];
    for (error, retry) in cases {
        let state = mapped_in_sync(&rules());
        let state = step(
            state,
            &updated(
                &intercom("ann"),
                person_values("ann@x.com", "Anna", "1"),
                2000,
            ),
        )
        .state;

        let next = step(state, &failed(Side::Salesforce, error.clone()));

        let mut expected = vec![Effect::RecordSyncError(SyncError::WriteFailed {
            side: Side::Salesforce,
            error: error.clone(),
        })];
        if let Some(after_ms) = retry {
            expected.push(Effect::ScheduleRetry { after_ms });
        }
        assert_eq!(next.effects, expected, "for {error:?}");
    }
}

#[test]
fn retry_resends_failed_write() {
    let state = mapped_in_sync(&rules());
    let state = step(
        state,
        &updated(
            &intercom("ann"),
            person_values("ann@x.com", "Anna", "1"),
            2000,
        ),
    )
    .state;
    let state = step(
        state,
        &failed(
            Side::Salesforce,
            RemoteError::Retryable {
                message: "503".into(),
            },
        ),
    )
    .state;

    let next = step(state, &Event::RetryRequested);
    assert_eq!(
        next.effects,
        vec![Effect::WriteSalesforce {
            target: lead(1),
            attributes: attrs(&[("name", text("Anna"))]),
        }]
    );

    let next = step(
        next.state,
        &receipt(Side::Salesforce, attrs(&[("name", text("Anna"))]), 2100),
    );
    assert_eq!(next.effects, vec![Effect::ClearSyncError]);
    let State::Mapped(mapping) = next.state else {
        panic!("expected a mapping");
    };
    assert!(mapping.failure.is_none());
    assert!(mapping.salesforce_side.written.is_empty());
}

#[test]
fn failed_look_up_is_retried() {
    let ann = intercom("ann");
    let state = step(
        State::new(ann.clone()),
        &created(&ann, person_values("ann@x.com", "Ann", "1"), 1000),
    )
    .state;
    let failure = Event::LookedUp(LookUpResult {
        side: Side::Salesforce,
        key: key("ann@x.com"),
        outcome: LookUpOutcome::Failed(RemoteError::Retryable {
            message: "timed out".into(),
        }),
    });

    let next = step(state, &failure);
    assert_eq!(next.effects.len(), 2);
    assert_eq!(
        next.effects[1],
        Effect::ScheduleRetry {
            after_ms: TRANSIENT_RETRY_MS
        }
    );

    let next = step(next.state, &Event::RetryRequested);
    assert_eq!(
        next.effects,
        vec![Effect::LookUp {
            side: Side::Salesforce,
            key: key("ann@x.com"),
        }]
    );
}

#[test]
fn intercom_lead_becoming_user_moves_the_mapping() {
    let state = mapped_in_sync(&rules());
    let event = Event::LeadBecameUser {
        lead: intercom_id("ann"),
        user: intercom_id("ann-user"),
        at: Timestamp(2000),
    };

    let next = step(state, &event);

    assert_eq!(
        actions(&next.effects),
        vec![
            Effect::DeleteMapping {
                intercom: intercom_id("ann"),
                salesforce: lead(1).id,
            },
            Effect::CreateMapping {
                intercom: intercom_id("ann-user"),
                salesforce: lead(1).id,
            },
        ]
    );
    let State::Mapped(mapping) = next.state else {
        panic!("expected a mapping");
    };
    assert_eq!(mapping.intercom.id, intercom_id("ann-user"));
    assert_eq!(mapping.intercom.role, IntercomRole::User);
}

#[test]
fn converted_lead_update_goes_to_the_contact() {
    let state = mapped_in_sync(&rules());
    let converted = Event::LeadConverted {
        lead: lead(1).id,
        contact: sf_contact(9).id,
        at: Timestamp(2000),
    };
    let state = step(state, &converted).state;

    let next = step(
        state,
        &updated(
            &intercom("ann"),
            person_values("ann@x.com", "Ann", "5"),
            3000,
        ),
    );

    assert_eq!(
        actions(&next.effects),
        vec![Effect::WriteSalesforce {
            target: sf_contact(9),
            attributes: attrs(&[("phone", text("5"))]),
        }]
    );
}

#[test]
fn state_round_trips_through_json() {
    let state = mapped_in_sync(&rules());
    let state = step(
        state,
        &updated(
            &intercom("ann"),
            person_values("ann@x.com", "Anna", "1"),
            2000,
        ),
    )
    .state;

    let json = serde_json::to_string(&state).unwrap();
    let back: State = serde_json::from_str(&json).unwrap();

    assert_eq!(back, state);
}
