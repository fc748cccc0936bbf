//! The mapping actor: one per identity mapping, or per person not yet mapped.
//!
//! Each event goes through the same four steps: run the pure transition, commit the new state
//! together with everything that must be durable with it (the inbox acknowledgement, the
//! routing indexes, the pending writes, the sync error, the history), then hand the outbound
//! effects to the services that carry them out, and only then answer the sender. The actor
//! handles one event at a time, so no event sees a state that is not on disk yet.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use intersync_fsm::{transition, Effect, Event, PersonRef, Side, State, Transition};
use tracing::{debug, error, info, warn};

use super::registry::IdleCheck;
use super::services::Services;
use super::work::{is_outbound, PendingWork};
use crate::store::{self, MappingId, MappingIndex, NewSyncError, StoreError, StoreTxn};

/// Applies one event to the mapping; the reply comes once the new state is durable.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), ApplyError>")]
pub struct Apply {
    pub event: Event,
    /// The inbox entry the event came from, removed in the same commit as the new state.
    pub inbox_seq: Option<u64>,
    /// The pending record this event completes, removed in the same commit.
    pub completes: Option<u64>,
}

impl Apply {
    pub fn new(event: Event) -> Self {
        Self {
            event,
            inbox_seq: None,
            completes: None,
        }
    }
}

/// Asks the actor to stop at once; sent by the registry.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

/// The reasons an event could not be applied.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApplyError {
    #[error("failed to store the state of mapping {mapping_id}: {message}")]
    Store {
        mapping_id: MappingId,
        message: String,
    },
    #[error("the mapping actor {mapping_id} stopped before it applied the event")]
    Stopped { mapping_id: MappingId },
}

/// The actor that owns one state machine.
pub struct MappingActor {
    id: MappingId,
    state: State,
    services: Arc<Services>,
    last_event: Instant,
    /// Events applied since start; the registry compares it with the events it routed here
    /// before it lets the actor stop.
    applied: u64,
    /// When this actor sent its recent writes, to recognise a write loop.
    recent_writes: VecDeque<Instant>,
}

/// Writes of one mapping within [`LOOP_WINDOW`] above which a write loop is suspected.
const LOOP_WRITES: usize = 20;
/// The window in which [`LOOP_WRITES`] writes make a loop suspected.
const LOOP_WINDOW: Duration = Duration::from_secs(300);

impl MappingActor {
    pub fn new(id: MappingId, state: State, services: Arc<Services>) -> Self {
        Self {
            id,
            state,
            services,
            last_event: Instant::now(),
            applied: 0,
            recent_writes: VecDeque::new(),
        }
    }
}

impl Actor for MappingActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.services.tuning.actor_mailbox);
        self.services.metrics.live_actors.inc();
        let idle = self.services.tuning.actor_idle;
        ctx.run_interval(idle / 2 + Duration::from_millis(1), move |actor, ctx| {
            if actor.last_event.elapsed() < idle {
                return;
            }
            let check = IdleCheck {
                mapping_id: actor.id,
                applied: actor.applied,
            };
            actor
                .services
                .registry()
                .send(check)
                .into_actor(actor)
                .map(|may_stop, _actor, ctx| {
                    if may_stop.unwrap_or(false) {
                        ctx.stop();
                    }
                })
                .wait(ctx);
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        self.services.metrics.live_actors.dec();
        debug!(
            mapping_id = self.id,
            state = self.state.name(),
            "Mapping actor stopped"
        );
    }
}

impl Handler<Stop> for MappingActor {
    type Result = ();

    fn handle(&mut self, _message: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Apply> for MappingActor {
    type Result = AtomicResponse<Self, Result<(), ApplyError>>;

    fn handle(&mut self, message: Apply, _ctx: &mut Self::Context) -> Self::Result {
        self.last_event = Instant::now();
        self.revive_if_recreated(&message.event);
        let rules = &self.services.rules;
        let step = transition(self.state.clone(), &message.event, rules);
        self.services
            .note_suppressed(&self.state, &message.event, &step.effects);
        let unchanged = step.state == self.state && step.effects.is_empty();
        if unchanged && message.inbox_seq.is_none() && message.completes.is_none() {
            self.applied += 1;
            return AtomicResponse::new(Box::pin(fut::ready(Ok(()))));
        }

        let plan = Plan::new(self.id, &step, &message, &self.state, &self.services);
        let change = plan.store_change();
        let writer = self.services.batch.clone();
        let id = self.id;
        AtomicResponse::new(Box::pin(
            async move { writer.commit(change).await }
                .into_actor(self)
                .map(move |committed, actor, ctx| {
                    actor.applied += 1;
                    match committed {
                        Ok(()) => {
                            actor.finish(step, plan, ctx);
                            Ok(())
                        }
                        Err(error) => {
                            error!(mapping_id = id, %error, "Failed to store a mapping's new state; the event stays pending");
                            Err(ApplyError::Store {
                                mapping_id: id,
                                message: error.to_string(),
                            })
                        }
                    }
                }),
        ))
    }
}

impl MappingActor {
    /// Starts over from a tombstone when its person is created again after the deletion
    /// (`contact.unarchive`) or shows up live again (a Salesforce undelete).
    fn revive_if_recreated(&mut self, event: &Event) {
        let State::Deleted(deleted) = &self.state else {
            return;
        };
        // A Salesforce row seen live after its deletion was undeleted from the Recycle Bin.
        let change = match event {
            Event::PersonCreated(change) => change,
            Event::PersonUpdated(change) if change.person.side() == Side::Salesforce => change,
            _ => return,
        };
        if same_person(&deleted.person, &change.person) && change.at > deleted.at {
            info!(mapping_id = self.id, person = ?change.person, "Person created again after deletion; starting over");
            self.state = State::new(change.person.clone());
        }
    }

    /// Records a sync error when this mapping writes more than [`LOOP_WRITES`] times within
    /// [`LOOP_WINDOW`], which means two systems keep changing each other's values. The writes
    /// go on, and the error shows an operator where to look.
    fn watch_for_loop(&mut self, effects: &[Effect]) {
        let now = Instant::now();
        let writes = effects
            .iter()
            .filter(|effect| {
                matches!(
                    effect,
                    Effect::WriteSalesforce { .. } | Effect::WriteIntercom { .. }
                )
            })
            .count();
        for _ in 0..writes {
            self.recent_writes.push_back(now);
        }
        while self
            .recent_writes
            .front()
            .is_some_and(|sent| now.duration_since(*sent) > LOOP_WINDOW)
        {
            self.recent_writes.pop_front();
        }
        if writes == 0 || self.recent_writes.len() <= LOOP_WRITES {
            return;
        }
        warn!(
            mapping_id = self.id,
            writes = self.recent_writes.len(),
            window_secs = LOOP_WINDOW.as_secs(),
            "Write loop suspected"
        );
        let error = NewSyncError {
            at: Utc::now(),
            mapping_id: Some(self.id),
            cause: "loop_suspected".to_owned(),
            details: serde_json::json!({
                "writes": self.recent_writes.len(),
                "window_secs": LOOP_WINDOW.as_secs(),
                "state": self.state.name(),
            }),
        };
        if let Err(failure) = self
            .services
            .store
            .set_mapping_sync_error(self.id, Some(&error))
        {
            warn!(mapping_id = self.id, %failure, "Failed to record a suspected write loop");
        }
        self.recent_writes.clear();
    }

    /// Adopts the committed state and starts the outbound effects.
    fn finish(&mut self, step: Transition, plan: Plan, ctx: &mut Context<Self>) {
        self.watch_for_loop(&step.effects);
        let previous = std::mem::replace(&mut self.state, step.state);
        if previous.name() != self.state.name() {
            debug!(
                mapping_id = self.id,
                from = previous.name(),
                to = self.state.name(),
                "Mapping changed state"
            );
        }
        for retired in plan.retired() {
            self.services.registry().do_send(super::registry::Retired {
                mapping_id: retired,
            });
        }

        let pending = plan.pending_seqs();
        let mut pending = pending.into_iter();
        for effect in step.effects {
            match effect {
                Effect::CreateMapping {
                    intercom,
                    salesforce,
                } => {
                    info!(mapping_id = self.id, intercom_id = %intercom, salesforce_id = %salesforce, "Mapping created");
                }
                Effect::DeleteMapping {
                    intercom,
                    salesforce,
                } => {
                    info!(mapping_id = self.id, intercom_id = %intercom, salesforce_id = %salesforce, "Mapping deleted");
                }
                Effect::ScheduleRetry { after_ms } => {
                    ctx.run_later(Duration::from_millis(after_ms), |_actor, ctx| {
                        ctx.notify(Apply::new(Event::RetryRequested));
                    });
                }
                Effect::RecordSyncError(sync_error) => {
                    error!(mapping_id = self.id, error = ?sync_error, "Sync error recorded");
                }
                Effect::LookUp { .. }
                | Effect::Fetch { .. }
                | Effect::WriteSalesforce { .. }
                | Effect::WriteIntercom { .. }
                | Effect::CreateSalesforceLead { .. } => {
                    let pending_seq = pending
                        .next()
                        .expect("the commit stored one pending record per outbound effect");
                    self.services.dispatch(PendingWork {
                        mapping_id: self.id,
                        pending_seq,
                        effect,
                        queued_at: Instant::now(),
                    });
                }
                Effect::ClearSyncError | Effect::Record(_) => {}
            }
        }
    }
}

/// Everything one step must make durable, built before the commit.
struct Plan {
    id: MappingId,
    index: MappingIndex,
    state_json: Arc<serde_json::Value>,
    inbox_seq: Option<u64>,
    completes: Option<u64>,
    pending_payloads: Vec<Vec<u8>>,
    sync_error: Option<Option<NewSyncError>>,
    history: Vec<store::HistoryEntry>,
    /// Written by the change each time it runs: the pending-write seqs it stored and the
    /// mappings it retired.
    outcome: Arc<Mutex<ChangeOutcome>>,
}

#[derive(Default)]
struct ChangeOutcome {
    pending_seqs: Vec<u64>,
    retired: Vec<MappingId>,
}

impl Plan {
    fn new(
        id: MappingId,
        step: &Transition,
        message: &Apply,
        previous: &State,
        services: &Services,
    ) -> Self {
        let mut pending_payloads = Vec::new();
        let mut sync_error = None;
        let mut history = Vec::new();
        for effect in &step.effects {
            match effect {
                effect if is_outbound(effect) => {
                    pending_payloads.push(PendingWork::encode(id, effect));
                }
                Effect::RecordSyncError(error) => {
                    sync_error = Some(Some(NewSyncError {
                        at: Utc::now(),
                        mapping_id: Some(id),
                        cause: super::work::sync_error_cause(error),
                        details: serde_json::to_value(error).unwrap_or_default(),
                    }));
                }
                Effect::ClearSyncError => sync_error = Some(None),
                Effect::Record(entry) => {
                    history.push(services.history_entry(entry, &message.event, previous))
                }
                _ => {}
            }
        }
        Self {
            id,
            index: index_of(&step.state),
            state_json: Arc::new(serde_json::to_value(&step.state).expect("states serialize")),
            inbox_seq: message.inbox_seq,
            completes: message.completes,
            pending_payloads,
            sync_error,
            history,
            outcome: Arc::default(),
        }
    }

    /// Builds the store change of this step. It may run twice, so it only writes to the
    /// transaction and to its own outcome slot.
    fn store_change(&self) -> store::Change {
        let id = self.id;
        let index = self.index.clone();
        let state = Arc::clone(&self.state_json);
        let inbox_seq = self.inbox_seq;
        let completes = self.completes;
        let payloads = self.pending_payloads.clone();
        let sync_error = self.sync_error.clone();
        let history = self.history.clone();
        let outcome = Arc::clone(&self.outcome);
        Box::new(move |txn: &mut StoreTxn<'_>| {
            txn.claim_mapping_id(id)?;
            let retired = take_over_index(txn, id, &index)?;
            txn.put_mapping(id, &index, state.as_ref())?;
            if let Some(seq) = inbox_seq {
                txn.inbox_ack(seq)?;
            }
            if let Some(seq) = completes {
                txn.pending_remove(&[seq])?;
            }
            let pending_seqs = if payloads.is_empty() {
                Vec::new()
            } else {
                txn.pending_add(&payloads)?
            };
            if let Some(error) = &sync_error {
                txn.set_mapping_sync_error(id, error.as_ref())?;
            }
            for entry in &history {
                txn.append_history(id, entry)?;
            }
            let mut outcome = outcome.lock().expect("outcome lock is never poisoned");
            outcome.pending_seqs = pending_seqs;
            outcome.retired = retired;
            Ok(())
        })
    }

    fn pending_seqs(&self) -> Vec<u64> {
        self.outcome
            .lock()
            .expect("outcome lock is never poisoned")
            .pending_seqs
            .clone()
    }

    fn retired(&self) -> Vec<MappingId> {
        self.outcome
            .lock()
            .expect("outcome lock is never poisoned")
            .retired
            .clone()
    }
}

/// Removes other mappings that contain one of `index`'s ids and are not mapped to anyone,
/// because a person seen alone on one side becomes part of this mapping. A true mapping with
/// the id is a conflict the store reports.
fn take_over_index(
    txn: &mut StoreTxn<'_>,
    id: MappingId,
    index: &MappingIndex,
) -> Result<Vec<MappingId>, StoreError> {
    let mut owners = Vec::new();
    if let Some(intercom_id) = &index.intercom_id {
        owners.extend(txn.owner_of_intercom_id(intercom_id)?);
    }
    if let Some(salesforce_id) = &index.salesforce_id {
        owners.extend(txn.owner_of_salesforce_id(salesforce_id)?);
    }
    let mut retired = Vec::new();
    for owner in owners {
        if owner == id || retired.contains(&owner) {
            continue;
        }
        let Some(mapping) = txn.get_mapping::<State>(owner)? else {
            continue;
        };
        if matches!(mapping.state, State::Mapped(_) | State::Qualified(_)) {
            warn!(
                mapping_id = id,
                owner, "Another mapping holds this person; keeping it"
            );
            continue;
        }
        txn.delete_mapping(owner)?;
        retired.push(owner);
    }
    Ok(retired)
}

fn same_person(a: &PersonRef, b: &PersonRef) -> bool {
    match (a, b) {
        (PersonRef::Intercom(a), PersonRef::Intercom(b)) => a.id == b.id,
        (PersonRef::Salesforce(a), PersonRef::Salesforce(b)) => a.id == b.id,
        _ => false,
    }
}

/// Returns the ids and keys that route events to a state.
pub fn index_of(state: &State) -> MappingIndex {
    let mut index = MappingIndex::default();
    let add_person = |person: &PersonRef, index: &mut MappingIndex| match person {
        PersonRef::Intercom(contact) => index.intercom_id = Some(contact.id.as_str().to_owned()),
        PersonRef::Salesforce(record) => index.salesforce_id = Some(record.id.as_str().to_owned()),
    };
    match state {
        State::Unmapped(unmapped) => {
            add_person(&unmapped.person, &mut index);
            index
                .keys
                .extend(unmapped.key.iter().map(|key| key.as_str().to_owned()));
        }
        State::Mapped(mapping) => {
            index.intercom_id = Some(mapping.intercom.id.as_str().to_owned());
            index.salesforce_id = Some(mapping.salesforce.id.as_str().to_owned());
            index.keys.push(mapping.key.as_str().to_owned());
        }
        State::Qualified(qualified) => {
            index.intercom_id = Some(qualified.mapping.intercom.id.as_str().to_owned());
            index.salesforce_id = Some(qualified.mapping.salesforce.id.as_str().to_owned());
            index.keys.push(qualified.mapping.key.as_str().to_owned());
        }
        State::KeyChanged(changed) => {
            add_person(&changed.pending.person, &mut index);
            index.keys.extend(
                changed
                    .pending
                    .key
                    .iter()
                    .map(|key| key.as_str().to_owned()),
            );
        }
        State::Deleted(deleted) => add_person(&deleted.person, &mut index),
    }
    index
}
