//! The registry: finds the mapping actor for a person or a mapping id, reviving it from the
//! store or starting a new one, and decides when an idle actor may stop.
//!
//! Routing reads the store's indexes, so a person is always routed to the mapping that owns
//! it on disk. A person seen for the first time gets a new mapping id at once, held in
//! memory until its actor commits a state.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;
use intersync_fsm::{PersonRef, State};
use tracing::{debug, warn};

use super::mapping::{Apply, ApplyError, MappingActor, Stop};
use super::services::Services;
use crate::store::{MappingId, StoreError};

/// The addressee of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A person on one side; a new mapping is started when none owns them.
    Person(PersonRef),
    /// An existing mapping, for answers to its own effects.
    Mapping(MappingId),
}

/// Returns the live actor for a target, starting or reviving it.
#[derive(Message)]
#[rtype(result = "Result<Addr<MappingActor>, RouteError>")]
pub struct Resolve(pub Target);

/// Sent by an idle actor; the reply is `true` when every event routed to it was applied, and
/// the registry has forgotten it, so it may stop.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IdleCheck {
    pub mapping_id: MappingId,
    pub applied: u64,
}

/// A mapping was deleted from the store because another mapping took over its person.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retired {
    pub mapping_id: MappingId,
}

/// The reasons an event could not be routed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RouteError {
    #[error("mapping {0} does not exist; it was deleted or never stored")]
    UnknownMapping(MappingId),
    #[error("failed to read the routing index: {0}")]
    Store(String),
    #[error("the registry stopped")]
    Stopped,
}

impl From<StoreError> for RouteError {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum RouteKey {
    Intercom(String),
    Salesforce(String),
}

impl RouteKey {
    fn of(person: &PersonRef) -> Self {
        match person {
            PersonRef::Intercom(contact) => Self::Intercom(contact.id.as_str().to_owned()),
            PersonRef::Salesforce(record) => Self::Salesforce(record.id.as_str().to_owned()),
        }
    }
}

struct Live {
    address: Addr<MappingActor>,
    /// Events handed to this actor; it may stop once it has applied as many.
    routed: u64,
}

/// The actor that owns the map of live mapping actors.
pub struct Registry {
    services: Arc<Services>,
    live: HashMap<MappingId, Live>,
    /// People seen for the first time whose actor has not stored a state yet.
    provisional: HashMap<RouteKey, MappingId>,
    next_id: MappingId,
}

impl Registry {
    pub fn new(services: Arc<Services>) -> Result<Self, StoreError> {
        let next_id = services.store.last_mapping_id()? + 1;
        Ok(Self {
            services,
            live: HashMap::new(),
            provisional: HashMap::new(),
            next_id,
        })
    }

    fn resolve(&mut self, target: Target) -> Result<Addr<MappingActor>, RouteError> {
        let mapping_id = match target {
            Target::Mapping(id) => id,
            Target::Person(person) => match self.find(&person)? {
                Some(id) => id,
                None => return Ok(self.start_new(person)),
            },
        };
        if let Some(live) = self.live.get_mut(&mapping_id) {
            live.routed += 1;
            return Ok(live.address.clone());
        }
        let mapping = self
            .services
            .store
            .get_mapping::<State>(mapping_id)?
            .ok_or(RouteError::UnknownMapping(mapping_id))?;
        Ok(self.start(mapping_id, mapping.state))
    }

    fn find(&self, person: &PersonRef) -> Result<Option<MappingId>, StoreError> {
        let key = RouteKey::of(person);
        if let Some(id) = self.provisional.get(&key) {
            return Ok(Some(*id));
        }
        match &key {
            RouteKey::Intercom(id) => self.services.store.mapping_by_intercom_id(id),
            RouteKey::Salesforce(id) => self.services.store.mapping_by_salesforce_id(id),
        }
    }

    fn start_new(&mut self, person: PersonRef) -> Addr<MappingActor> {
        let mapping_id = self.next_id;
        self.next_id += 1;
        self.provisional.insert(RouteKey::of(&person), mapping_id);
        debug!(mapping_id, person = ?person, "Starting a mapping actor for a new person");
        self.start(mapping_id, State::new(person))
    }

    fn start(&mut self, mapping_id: MappingId, state: State) -> Addr<MappingActor> {
        let actor = MappingActor::new(mapping_id, state, Arc::clone(&self.services));
        let address = actor.start();
        self.live.insert(
            mapping_id,
            Live {
                address: address.clone(),
                routed: 1,
            },
        );
        address
    }

    fn forget(&mut self, mapping_id: MappingId) -> Option<Live> {
        self.provisional.retain(|_, id| *id != mapping_id);
        self.live.remove(&mapping_id)
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(4096);
        debug!("Registry started");
    }
}

impl Handler<Resolve> for Registry {
    type Result = Result<Addr<MappingActor>, RouteError>;

    fn handle(&mut self, message: Resolve, _ctx: &mut Self::Context) -> Self::Result {
        self.resolve(message.0)
    }
}

impl Handler<IdleCheck> for Registry {
    type Result = bool;

    fn handle(&mut self, message: IdleCheck, _ctx: &mut Self::Context) -> bool {
        let Some(live) = self.live.get(&message.mapping_id) else {
            return true;
        };
        if live.routed > message.applied {
            return false;
        }
        self.forget(message.mapping_id);
        true
    }
}

impl Handler<Retired> for Registry {
    type Result = ();

    fn handle(&mut self, message: Retired, _ctx: &mut Self::Context) {
        if let Some(live) = self.forget(message.mapping_id) {
            debug!(
                mapping_id = message.mapping_id,
                "Stopping a retired mapping actor"
            );
            live.address.do_send(Stop);
        }
    }
}

/// Delivers events to mapping actors through the registry, waiting for room in full
/// mailboxes so a burst slows its producer instead of dropping work.
#[derive(Clone)]
pub struct Router {
    registry: Addr<Registry>,
}

impl Router {
    pub fn new(registry: Addr<Registry>) -> Self {
        Self { registry }
    }

    /// Applies `message` to the target's actor and waits until its new state is durable.
    ///
    /// An actor may stop between the routing and the delivery; the message is then routed
    /// again, to the revived actor.
    pub async fn apply(&self, target: Target, message: Apply) -> Result<(), DeliveryError> {
        const ATTEMPTS: usize = 5;
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            let address = self
                .registry
                .send(Resolve(target.clone()))
                .await
                .map_err(|_| DeliveryError::Route(RouteError::Stopped))?
                .map_err(DeliveryError::Route)?;
            match address.send(message.clone()).await {
                Ok(result) => return result.map_err(DeliveryError::Apply),
                Err(error) => {
                    warn!(target = ?target, %error, "A mapping actor stopped before it took an event; routing it again");
                    last_error = Some(error);
                }
            }
        }
        Err(DeliveryError::Mailbox(
            last_error
                .map(|error| error.to_string())
                .unwrap_or_default(),
        ))
    }
}

/// The reasons an event did not reach a mapping.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Route(RouteError),
    #[error(transparent)]
    Apply(ApplyError),
    #[error("the mapping actor's mailbox closed: {0}")]
    Mailbox(String),
}
