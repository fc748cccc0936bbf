//! What every mapping actor shares: the store, the rules, the metrics and the addresses of
//! the actors that carry out outbound work.

use std::sync::OnceLock;
use std::time::Duration;

use actix::{Addr, Recipient};
use chrono::{DateTime, Utc};
use intersync_fsm::{Attributes, Effect, Event, LookUpOutcome, Side, State, SyncRules};

use super::registry::Registry;
use super::work::PendingWork;
use crate::metrics::{Direction, DirectionLabels, Metrics};
use crate::store::{self, BatchWriter, Store};
use crate::sync::attributes::AttributeMap;

/// The values that `event` brings from side `from`, or that an unmapped person read before.
fn source_values<'a>(event: &'a Event, previous: &'a State, from: Side) -> Option<&'a Attributes> {
    let change = match event {
        Event::PersonCreated(change) | Event::PersonUpdated(change) | Event::KeyUpdated(change) => {
            Some(change)
        }
        Event::LookedUp(result) => match &result.outcome {
            LookUpOutcome::OneMatch(change) => Some(change),
            _ => None,
        },
        _ => None,
    };
    if let Some(change) = change.filter(|change| change.person.side() == from) {
        return Some(&change.attributes);
    }
    match previous {
        State::Unmapped(unmapped) if unmapped.person.side() == from => Some(&unmapped.record.read),
        State::Mapped(mapping) => Some(match from {
            Side::Intercom => &mapping.intercom_side.read,
            Side::Salesforce => &mapping.salesforce_side.read,
        }),
        _ => None,
    }
}

/// Sizes and delays of the actor system.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Messages a mapping actor's mailbox holds before senders wait.
    pub actor_mailbox: usize,
    /// Time without events after which a mapping actor stops.
    pub actor_idle: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            actor_mailbox: 16,
            actor_idle: Duration::from_secs(60),
        }
    }
}

/// Shared by every mapping actor through an `Arc`.
pub struct Services {
    pub store: Store,
    pub batch: BatchWriter,
    pub rules: SyncRules,
    pub attributes: AttributeMap,
    pub metrics: Metrics,
    pub tuning: Tuning,
    registry: OnceLock<Addr<Registry>>,
    executor: OnceLock<Recipient<PendingWork>>,
}

impl Services {
    pub fn new(
        store: Store,
        batch: BatchWriter,
        attributes: AttributeMap,
        rules: SyncRules,
        metrics: Metrics,
        tuning: Tuning,
    ) -> Self {
        Self {
            store,
            batch,
            rules,
            attributes,
            metrics,
            tuning,
            registry: OnceLock::new(),
            executor: OnceLock::new(),
        }
    }

    /// Sets the registry's address; called once at start-up.
    pub fn set_registry(&self, registry: Addr<Registry>) {
        let _ = self.registry.set(registry);
    }

    /// Sets the actor that carries out outbound work; called once at start-up.
    pub fn set_executor(&self, executor: Recipient<PendingWork>) {
        let _ = self.executor.set(executor);
    }

    pub fn registry(&self) -> &Addr<Registry> {
        self.registry
            .get()
            .expect("the registry is set before any mapping actor starts")
    }

    /// Hands outbound work to the executor. The work is already durable as a pending
    /// record, so a full executor mailbox delays it but loses nothing.
    pub fn dispatch(&self, work: PendingWork) {
        let executor = self
            .executor
            .get()
            .expect("the executor is set before any mapping actor starts");
        executor.do_send(work);
    }

    /// Converts the machine's history entry into the store's, with each attribute's value
    /// before and after: the new value from the event that caused the entry, the old one
    /// from what the mapping last read on the side that was written.
    pub fn history_entry(
        &self,
        entry: &intersync_fsm::HistoryEntry,
        event: &Event,
        previous: &State,
    ) -> store::HistoryEntry {
        let at = DateTime::<Utc>::from_timestamp_millis(entry.at.0).unwrap_or_else(Utc::now);
        let source = source_values(event, previous, entry.from);
        let destination = match previous {
            State::Mapped(mapping) => Some(match entry.from {
                Side::Intercom => &mapping.salesforce_side.read,
                Side::Salesforce => &mapping.intercom_side.read,
            }),
            _ => None,
        };
        let json = |values: Option<&Attributes>, id: &str| {
            values
                .and_then(|values| values.get(id))
                .and_then(|value| serde_json::to_value(value).ok())
        };
        store::HistoryEntry {
            at,
            side: match entry.from {
                Side::Intercom => store::Side::Intercom,
                Side::Salesforce => store::Side::Salesforce,
            },
            rule: serde_json::to_value(entry.rule)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default(),
            changes: entry
                .attributes
                .iter()
                .map(|attribute| store::FieldChange {
                    field: attribute.clone(),
                    old: json(destination, attribute),
                    new: json(source, attribute),
                })
                .collect(),
        }
    }

    /// Counts an update of a mapped person that caused no write: its values were already
    /// on the other side, usually because they are intersync's own write coming back.
    pub fn note_suppressed(&self, state: &State, event: &Event, effects: &[Effect]) {
        if !matches!(state, State::Mapped(_)) {
            return;
        }
        let Event::PersonUpdated(change) = event else {
            return;
        };
        let writes = effects.iter().any(|effect| {
            matches!(
                effect,
                Effect::WriteSalesforce { .. } | Effect::WriteIntercom { .. }
            )
        });
        if writes {
            return;
        }
        let direction = match change.person.side() {
            Side::Intercom => Direction::IntercomToSalesforce,
            Side::Salesforce => Direction::SalesforceToIntercom,
        };
        self.metrics
            .echoes_suppressed
            .get_or_create(&DirectionLabels { direction })
            .inc();
    }
}
