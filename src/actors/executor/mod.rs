//! The executor: carries out the outbound effects of every mapping actor.
//!
//! Salesforce writes and look-ups are collected into batches: writes into sObject Collections
//! calls of up to the configured batch size, look-ups by key into one SOQL query per object
//! with an `IN` list. A batch is sent when it is full or when the oldest entry has waited the
//! batch delay. Intercom has no batch API, so its calls run one by one, a bounded number at a
//! time. Each answer goes back to its mapping as an event that also removes the pending
//! record.

mod answers;
mod intercom;
pub(crate) mod salesforce;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use intersync_fsm::{Effect, PersonRef, SalesforceObject, Side, State};
use tokio::sync::Semaphore;
use tracing::{info, warn};

use super::registry::Router;
use super::services::Services;
use super::work::PendingWork;
use crate::connectors::intercom::IntercomClient;
use crate::connectors::salesforce::SalesforceClient;
use crate::health::board::StatusBoard;
use crate::store::MappingId;

pub use answers::remote_error;

/// Sizes of the executor's batches and concurrency.
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    /// Records per sObject Collections call, 1 to 200.
    pub batch_size: usize,
    /// Maximum wait of the first entry of a batch before the batch is sent.
    pub batch_delay: Duration,
    /// Keys per look-up query.
    pub lookup_batch: usize,
    /// Salesforce calls in flight at once.
    pub salesforce_concurrency: usize,
    /// Intercom calls in flight at once.
    pub intercom_concurrency: usize,
    /// External-id field that contains the Intercom contact id on Lead and Contact.
    pub external_id_field: String,
    /// Share of the daily API allowance above which Salesforce calls wait.
    pub api_budget_share: f64,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            batch_size: 200,
            batch_delay: Duration::from_millis(200),
            lookup_batch: 100,
            salesforce_concurrency: 4,
            intercom_concurrency: 16,
            external_id_field: "Intercom_Id__c".to_owned(),
            api_budget_share: 0.8,
        }
    }
}

/// The clients, settings and limits the executor's tasks share.
pub struct Context {
    pub services: Arc<Services>,
    pub router: Router,
    pub salesforce: SalesforceClient,
    pub intercom: IntercomClient,
    pub board: Arc<StatusBoard>,
    pub settings: ExecutorSettings,
    salesforce_slots: Semaphore,
    intercom_slots: Semaphore,
}

/// The kinds of Salesforce batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum BatchKind {
    Update(SalesforceObject),
    CreateLead,
    LookUp,
}

/// The executor actor.
pub struct Executor {
    context: Arc<Context>,
    batches: HashMap<BatchKind, Vec<PendingWork>>,
    /// Number of the open batch of each kind. A delayed flush carries the number of the
    /// batch that scheduled it, so it does nothing once that batch was sent full.
    batch_numbers: HashMap<BatchKind, u64>,
}

impl Executor {
    pub fn new(
        services: Arc<Services>,
        router: Router,
        salesforce: SalesforceClient,
        intercom: IntercomClient,
        board: Arc<StatusBoard>,
        settings: ExecutorSettings,
    ) -> Self {
        let context = Context {
            salesforce_slots: Semaphore::new(settings.salesforce_concurrency.max(1)),
            intercom_slots: Semaphore::new(settings.intercom_concurrency.max(1)),
            services,
            router,
            salesforce,
            intercom,
            board,
            settings,
        };
        Self {
            context: Arc::new(context),
            batches: HashMap::new(),
            batch_numbers: HashMap::new(),
        }
    }

    /// Returns the shared context; the poller and the healthcheck use the same clients.
    pub fn context(&self) -> Arc<Context> {
        Arc::clone(&self.context)
    }

    fn add_to_batch(&mut self, kind: BatchKind, work: PendingWork, ctx: &mut actix::Context<Self>) {
        let limit = match kind {
            BatchKind::LookUp => self.context.settings.lookup_batch,
            _ => self.context.settings.batch_size,
        };
        let batch = self.batches.entry(kind).or_default();
        batch.push(work);
        if batch.len() == 1 {
            let number = self.batch_numbers.entry(kind).or_default();
            *number += 1;
            let flush = Flush {
                kind,
                number: *number,
            };
            ctx.notify_later(flush, self.context.settings.batch_delay);
        }
        if batch.len() >= limit.max(1) {
            self.flush(kind);
        }
    }

    fn flush(&mut self, kind: BatchKind) {
        let Some(batch) = self.batches.remove(&kind) else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let context = Arc::clone(&self.context);
        actix::spawn(async move {
            match kind {
                BatchKind::Update(object) => salesforce::update(&context, object, batch).await,
                BatchKind::CreateLead => salesforce::create_leads(&context, batch).await,
                BatchKind::LookUp => salesforce::look_up(&context, batch).await,
            }
        });
    }
}

/// Sends the batch of one kind now, unless it is no longer the batch numbered `number`.
#[derive(Message)]
#[rtype(result = "()")]
struct Flush {
    kind: BatchKind,
    number: u64,
}

impl Actor for Executor {
    type Context = actix::Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(8192);
        info!("Executor started");
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        info!("Executor stopped");
    }
}

impl Handler<Flush> for Executor {
    type Result = ();

    fn handle(&mut self, message: Flush, _ctx: &mut Self::Context) {
        if self.batch_numbers.get(&message.kind) == Some(&message.number) {
            self.flush(message.kind);
        }
    }
}

impl Handler<PendingWork> for Executor {
    type Result = ();

    fn handle(&mut self, work: PendingWork, ctx: &mut Self::Context) {
        match &work.effect {
            Effect::WriteSalesforce { target, .. } => {
                let kind = BatchKind::Update(target.object);
                self.add_to_batch(kind, work, ctx);
            }
            Effect::CreateSalesforceLead { .. } => {
                self.add_to_batch(BatchKind::CreateLead, work, ctx)
            }
            Effect::LookUp {
                side: Side::Salesforce,
                ..
            } => self.add_to_batch(BatchKind::LookUp, work, ctx),
            Effect::LookUp {
                side: Side::Intercom,
                ..
            }
            | Effect::WriteIntercom { .. } => {
                let context = Arc::clone(&self.context);
                actix::spawn(async move { intercom::run(&context, work).await });
            }
            Effect::Fetch { person } => {
                let context = Arc::clone(&self.context);
                let side = person.side();
                actix::spawn(async move {
                    match side {
                        Side::Salesforce => salesforce::fetch(&context, work).await,
                        Side::Intercom => intercom::run(&context, work).await,
                    }
                });
            }
            other => {
                warn!(mapping_id = work.mapping_id, effect = ?other, "The executor got an effect it does not carry out");
            }
        }
    }
}

/// Checks whether `person` belongs to a mapping other than `mapping_id` that is mapped to someone.
/// A look-up leaves such people out: one record is never mapped to two people.
pub fn mapped_elsewhere(services: &Services, person: &PersonRef, mapping_id: MappingId) -> bool {
    let owner = match person {
        PersonRef::Intercom(contact) => services.store.mapping_by_intercom_id(contact.id.as_str()),
        PersonRef::Salesforce(record) => {
            services.store.mapping_by_salesforce_id(record.id.as_str())
        }
    };
    let Ok(Some(owner)) = owner else {
        return false;
    };
    if owner == mapping_id {
        return false;
    }
    let mapped = matches!(
        services.store.get_mapping::<State>(owner),
        Ok(Some(mapping)) if matches!(mapping.state, State::Mapped(_) | State::Qualified(_))
    );
    if mapped {
        warn!(mapping_id, owner, person = ?person, "A look-up found a person who is already mapped; leaving them out");
    }
    mapped
}

/// Re-sends the pending records left by a previous run; called once at start-up.
pub fn resend_pending(services: &Services, executor: &Addr<Executor>) -> usize {
    let mut sent = 0;
    let pending = match services.store.pending_list(usize::MAX) {
        Ok(pending) => pending,
        Err(error) => {
            warn!(%error, "Failed to read pending work at start-up");
            return 0;
        }
    };
    for record in pending {
        match PendingWork::decode(record.seq, &record.payload) {
            Ok(work) => {
                executor.do_send(work);
                sent += 1;
            }
            Err(error) => {
                warn!(pending_seq = record.seq, %error, "Dropping a pending record that does not parse");
                let _ = services.store.pending_remove(&[record.seq]);
            }
        }
    }
    if sent > 0 {
        info!(count = sent, "Re-sent pending work from the previous run");
    }
    sent
}
