//! Property tests: random sequences of edits, polls, replays, failures and retries for one
//! mapped person, run through the machine by a small in-memory server and checked against a
//! reference model in which the last edit of an attribute wins.

mod common;

use std::collections::VecDeque;

use common::*;
use intersync_fsm::{
    transition, Attributes, ConflictPolicy, Effect, Event, MappedAttribute, PersonRef, RemoteError,
    Side, State, SyncRules, Value, WriteFailure,
};
use proptest::prelude::*;

/// The attributes edited by the sequences. The email stays fixed, so the mapping key does.
const EDITED: [&str; 2] = ["name", "phone"];

/// More effects than one step can cause without a write loop.
const MAX_EFFECTS_PER_STEP: usize = 50;

#[derive(Debug, Clone)]
enum Op {
    /// A person edits an attribute on one side; the side reports it at once.
    Edit {
        side: Side,
        attribute: usize,
        value: Value,
    },
    /// A side reports the person unchanged, as a repeated webhook or poll does.
    Poll(Side),
    /// A source event delivered before is delivered again.
    Replay(usize),
    /// The next write fails with a transient error.
    FailNextWrite,
    /// The scheduled retry fires.
    Retry,
    /// The person is deleted on one side.
    Delete(Side),
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Intercom), Just(Side::Salesforce)]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(text("")),
        Just(text("a")),
        Just(text("b")),
        Just(text("c")),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (side(), 0..EDITED.len(), value())
            .prop_map(|(side, attribute, value)| Op::Edit { side, attribute, value }),
        4 => side().prop_map(Op::Poll),
        4 => any::<usize>().prop_map(Op::Replay),
        1 => Just(Op::FailNextWrite),
        2 => Just(Op::Retry),
        1 => side().prop_map(Op::Delete),
    ]
}

fn policy() -> impl Strategy<Value = ConflictPolicy> {
    prop_oneof![
        Just(ConflictPolicy::NewestWins),
        Just(ConflictPolicy::PreferSalesforce),
        Just(ConflictPolicy::PreferSalesforceUnlessBlank),
        Just(ConflictPolicy::PreferIntercom),
        Just(ConflictPolicy::IntercomToSalesforceOnly),
        Just(ConflictPolicy::SalesforceToIntercomOnly),
        Just(ConflictPolicy::DoNotSync),
    ]
}

/// Both systems as the in-memory server models them, and the machine's state for the person.
struct World {
    rules: SyncRules,
    state: State,
    intercom: Attributes,
    salesforce: Attributes,
    intercom_at: i64,
    salesforce_at: i64,
    clock: i64,
    fail_next_write: bool,
    retry_scheduled: bool,
    /// Source events delivered so far, for replays.
    delivered: Vec<Event>,
}

impl World {
    fn new(rules: SyncRules) -> World {
        let state = mapped_in_sync(&rules);
        let values = person_values("ann@x.com", "Ann", "1");
        World {
            rules,
            state,
            intercom: values.clone(),
            salesforce: values,
            intercom_at: 1000,
            salesforce_at: 1000,
            clock: 1000,
            fail_next_write: false,
            retry_scheduled: false,
            delivered: Vec::new(),
        }
    }

    fn person(side: Side) -> PersonRef {
        match side {
            Side::Intercom => intercom("ann"),
            Side::Salesforce => salesforce(&lead(1)),
        }
    }

    fn tick(&mut self) -> i64 {
        self.clock += 1;
        self.clock
    }

    fn values(&mut self, side: Side) -> (&mut Attributes, &mut i64) {
        match side {
            Side::Intercom => (&mut self.intercom, &mut self.intercom_at),
            Side::Salesforce => (&mut self.salesforce, &mut self.salesforce_at),
        }
    }

    /// Feeds one event and carries out every effect it causes, like a mapping actor that
    /// finishes one event before it takes the next. Returns every effect of the cascade.
    fn deliver(&mut self, event: Event) -> Vec<Effect> {
        let mut all = Vec::new();
        let mut events = VecDeque::from([event]);
        while let Some(event) = events.pop_front() {
            let state =
                std::mem::replace(&mut self.state, State::new(Self::person(Side::Intercom)));
            let next = transition(state, &event, &self.rules);
            next.state.check_invariants().unwrap();
            self.state = next.state;
            for effect in next.effects {
                if let Some(answer) = self.carry_out(&effect) {
                    events.push_back(answer);
                }
                all.push(effect);
            }
            assert!(all.len() <= MAX_EFFECTS_PER_STEP, "write loop: {all:?}");
        }
        all
    }

    fn carry_out(&mut self, effect: &Effect) -> Option<Event> {
        let (side, attributes) = match effect {
            Effect::WriteSalesforce { attributes, .. } => (Side::Salesforce, attributes),
            Effect::WriteIntercom { attributes, .. } => (Side::Intercom, attributes),
            Effect::ScheduleRetry { .. } => {
                self.retry_scheduled = true;
                return None;
            }
            Effect::LookUp { .. } | Effect::Fetch { .. } | Effect::CreateSalesforceLead { .. } => {
                panic!("unexpected effect for a fixed key: {effect:?}")
            }
            _ => return None,
        };
        if self.fail_next_write {
            self.fail_next_write = false;
            return Some(Event::WriteFailed(WriteFailure {
                side,
                error: RemoteError::Retryable {
                    message: "503 Service Unavailable".to_owned(),
                },
            }));
        }
        let at = self.tick();
        let (values, values_at) = self.values(side);
        values.extend(attributes.clone());
        *values_at = at;
        Some(receipt(side, attributes.clone(), at))
    }

    fn apply(&mut self, op: &Op) -> Vec<Effect> {
        match op {
            Op::Edit {
                side,
                attribute,
                value,
            } => {
                let at = self.tick();
                let (values, values_at) = self.values(*side);
                values.insert(EDITED[*attribute].to_owned(), value.clone());
                *values_at = at;
                let event = updated(&Self::person(*side), values.clone(), at);
                self.delivered.push(event.clone());
                self.deliver(event)
            }
            Op::Poll(side) => {
                let (values, at) = self.values(*side);
                let event = updated(&Self::person(*side), values.clone(), *at);
                self.delivered.push(event.clone());
                let effects = self.deliver(event);
                let written: Vec<_> = writes(&effects).into_iter().cloned().collect();
                assert!(
                    written.is_empty(),
                    "an unchanged person caused writes: {written:?}"
                );
                effects
            }
            Op::Replay(index) => {
                if self.delivered.is_empty() {
                    return Vec::new();
                }
                let event = self.delivered[index % self.delivered.len()].clone();
                let before = self.state.clone();
                let effects = self.deliver(event.clone());
                assert!(effects.is_empty(), "replaying {event:?} gave {effects:?}");
                assert_eq!(self.state, before, "replaying {event:?} changed the state");
                effects
            }
            Op::FailNextWrite => {
                self.fail_next_write = true;
                Vec::new()
            }
            Op::Retry => {
                if !std::mem::take(&mut self.retry_scheduled) {
                    return Vec::new();
                }
                self.deliver(Event::RetryRequested)
            }
            Op::Delete(side) => {
                let at = self.tick();
                let event = deleted(&Self::person(*side), at);
                self.delivered.push(event.clone());
                self.deliver(event)
            }
        }
    }
}

fn side_of(op: &Op) -> Side {
    match op {
        Op::Edit { side, .. } | Op::Poll(side) | Op::Delete(side) => *side,
        _ => Side::Intercom,
    }
}

fn rules_for(policy: ConflictPolicy) -> SyncRules {
    SyncRules::new(vec![
        MappedAttribute::new("email", ConflictPolicy::NewestWins),
        MappedAttribute::new("name", policy),
        MappedAttribute::new("phone", policy),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With newest wins and every event delivered at once, both sides end each step with the
    /// value of the last edit, unless a failed write is still waiting for its retry.
    #[test]
    fn sides_converge_on_last_edit(ops in prop::collection::vec(op(), 1..40)) {
        let mut world = World::new(rules_for(ConflictPolicy::NewestWins));
        let mut model: Attributes = person_values("ann@x.com", "Ann", "1");
        let mut deleted = false;

        for op in &ops {
            let before = |side: &Side| -> Option<Value> {
                let Op::Edit { attribute, .. } = op else { return None };
                let values = match side {
                    Side::Intercom => &world.intercom,
                    Side::Salesforce => &world.salesforce,
                };
                values.get(EDITED[*attribute]).cloned()
            };
            let before = before(&side_of(op));
            let before = |_: &Side| before.as_ref();
            let effects = world.apply(op);
            if deleted {
                prop_assert!(effects.is_empty(), "the tombstone acted on {op:?}: {effects:?}");
                continue;
            }
            match op {
                // An edit that leaves the side's value as it was is no change to sync.
                Op::Edit { side, attribute, value } if before(side) != Some(value) => {
                    model.insert(EDITED[*attribute].to_owned(), value.clone());
                }
                Op::Delete(_) => deleted = true,
                _ => {}
            }
            let State::Mapped(mapping) = &world.state else {
                prop_assert!(deleted, "left the mapped state: {:?}", world.state);
                continue;
            };
            if mapping.failure.is_some() || world.fail_next_write {
                continue;
            }
            for id in EDITED {
                let expected = model.get(id).unwrap();
                prop_assert_eq!(world.intercom.get(id).unwrap(), expected, "Intercom {}", id);
                prop_assert_eq!(world.salesforce.get(id).unwrap(), expected, "Salesforce {}", id);
            }
        }
    }

    /// Under every policy the machine keeps its invariants, never loops, ignores replays and
    /// writes nothing for an unchanged person: `World` asserts each of these as it goes.
    #[test]
    fn every_policy_is_loop_free_and_idempotent(
        policy in policy(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut world = World::new(rules_for(policy));
        for op in &ops {
            world.apply(op);
        }
        prop_assert!(world.state.check_invariants().is_ok());
    }

    /// A sequence of nothing but echoes and repeats never produces a write.
    #[test]
    fn echoes_alone_never_write(
        first in (side(), 0..EDITED.len(), value()),
        echoes in prop::collection::vec(prop_oneof![side().prop_map(Op::Poll), any::<usize>().prop_map(Op::Replay)], 1..20),
    ) {
        let mut world = World::new(rules_for(ConflictPolicy::NewestWins));
        let (side, attribute, value) = first;
        world.apply(&Op::Edit { side, attribute, value });

        for op in &echoes {
            let effects = world.apply(op);
            prop_assert!(writes(&effects).is_empty(), "{op:?} wrote: {effects:?}");
        }
    }
}
