//! Transitions per second on a realistic mix of events for mapped people.
//!
//! Each cycle of the mix is what one Intercom edit and one Salesforce edit cause in a running
//! server: the change, the write receipt, the echo from the other side, a duplicate webhook,
//! a late older event and a repeated poll. Run with `cargo bench -p intersync-fsm`.
//!
//! `mixed_transitions` measures wall time. `mixed_transitions_cpu` measures the thread's CPU
//! time instead, which gives the rate on one core even when other processes share the machine.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use intersync_fsm::{
    transition, Attributes, Event, IntercomId, IntercomRef, IntercomRole, LookUpOutcome,
    LookUpResult, MappingKey, PersonChange, PersonRef, SalesforceId, SalesforceObject,
    SalesforceRef, Side, State, SyncRules, Timestamp, Value, WriteReceipt,
};

const CYCLES: i64 = 1_000;

fn intercom() -> PersonRef {
    PersonRef::Intercom(IntercomRef {
        id: IntercomId::parse("6657a1b2c3d4e5f6a7b8c9d0").unwrap(),
        role: IntercomRole::User,
    })
}

fn salesforce() -> PersonRef {
    PersonRef::Salesforce(SalesforceRef {
        id: SalesforceId::parse("00Q5g00000AbCdEFGH").unwrap(),
        object: SalesforceObject::Lead,
    })
}

fn values(name: &str, phone: &str) -> Attributes {
    [
        ("email", Value::Text("ann.smith@example.com".to_owned())),
        ("name", Value::Text(name.to_owned())),
        ("phone", Value::Text(phone.to_owned())),
        ("unsubscribed_from_emails", Value::Boolean(false)),
    ]
    .into_iter()
    .map(|(id, value)| (id.to_owned(), value))
    .collect()
}

fn change(person: PersonRef, attributes: Attributes, at: i64) -> PersonChange {
    PersonChange {
        person,
        key: Some(MappingKey::normalize("ann.smith@example.com").unwrap()),
        attributes,
        at: Timestamp(at),
    }
}

fn receipt(side: Side, attributes: Attributes, at: i64) -> Event {
    Event::WriteSucceeded(WriteReceipt {
        side,
        attributes,
        at: Timestamp(at),
        created: None,
    })
}

/// Builds a mapped person through the machine, from a creation and a look-up match.
fn mapped(rules: &SyncRules) -> State {
    let first = values("Ann", "0");
    let state = State::new(intercom());
    let state = transition(
        state,
        &Event::PersonCreated(change(intercom(), first.clone(), 1_000)),
        rules,
    )
    .state;
    let found = Event::LookedUp(LookUpResult {
        side: Side::Salesforce,
        key: MappingKey::normalize("ann.smith@example.com").unwrap(),
        outcome: LookUpOutcome::OneMatch(change(salesforce(), first, 1_000)),
    });
    transition(state, &found, rules).state
}

/// `CYCLES` cycles of ten events: two real changes, two receipts, two echoes, two duplicate
/// webhooks, one late older event and one repeated poll.
fn mix() -> Vec<Event> {
    let mut events = Vec::new();
    for cycle in 0..CYCLES {
        let at = 10_000 + cycle * 100;
        let name = format!("Ann {cycle}");
        let phone = format!("+1 555 {cycle:04}");
        let after_intercom_edit = values(&name, &format!("+1 555 {:04}", cycle.max(1) - 1));
        let after_salesforce_edit = values(&name, &phone);

        let intercom_edit =
            Event::PersonUpdated(change(intercom(), after_intercom_edit.clone(), at));
        let salesforce_edit =
            Event::PersonUpdated(change(salesforce(), after_salesforce_edit.clone(), at + 50));
        events.extend([
            intercom_edit.clone(),
            receipt(
                Side::Salesforce,
                [("name".to_owned(), Value::Text(name.clone()))].into(),
                at + 10,
            ),
            Event::PersonUpdated(change(salesforce(), after_intercom_edit.clone(), at + 10)),
            intercom_edit,
            salesforce_edit.clone(),
            receipt(Side::Intercom, after_salesforce_edit.clone(), at + 60),
            Event::PersonUpdated(change(intercom(), after_salesforce_edit.clone(), at + 60)),
            salesforce_edit,
            Event::PersonUpdated(change(intercom(), values("Old", "old"), at - 500)),
            Event::PersonUpdated(change(salesforce(), after_salesforce_edit, at + 50)),
        ]);
    }
    events
}

fn run(state: State, events: &[Event], rules: &SyncRules) -> State {
    let mut state = state;
    for event in events {
        let next = transition(state, event, rules);
        black_box(&next.effects);
        state = next.state;
    }
    state
}

/// Returns the CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn transitions(c: &mut Criterion) {
    let rules = SyncRules::default();
    let start = mapped(&rules);
    let events = mix();

    let mut group = c.benchmark_group("fsm");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("mixed_transitions", |b| {
        b.iter_batched(
            || start.clone(),
            |state| run(state, black_box(&events), &rules),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("mixed_transitions_cpu", |b| {
        b.iter_custom(|iterations| {
            let mut used = Duration::ZERO;
            for _ in 0..iterations {
                let state = start.clone();
                let began = thread_cpu_time();
                black_box(run(state, black_box(&events), &rules));
                used += thread_cpu_time() - began;
            }
            used
        })
    });
    group.finish();
}

criterion_group!(benches, transitions);
criterion_main!(benches);
