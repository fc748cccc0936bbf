//! The Intercom-events supervisor: drains the durable inbox into the mapping actors.
//!
//! Each inbox entry leaves the inbox in the same commit as the state change it caused, so an
//! entry that was not applied before a crash is applied after the restart. The webhook
//! endpoint wakes the dispatcher after each append; a timer wakes it too, for retries.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures::future::join_all;
use tracing::{debug, info, warn};

use super::mapping::Apply;
use super::registry::Router;
use super::services::Services;
use crate::metrics::Metrics;
use crate::sync::intercom_events::event_of;
use crate::sync::notification::Notification;

/// Entries read from the inbox at a time.
const BATCH: usize = 512;
/// Wait before retrying entries that could not be applied.
const RETRY_DELAY: Duration = Duration::from_secs(2);
/// Wake-up interval when no webhook arrives.
const IDLE_TICK: Duration = Duration::from_secs(5);

/// Tells the dispatcher that the inbox has new entries.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Wake;

/// Reads the inbox and routes its events.
pub struct InboxDispatcher {
    services: Arc<Services>,
    router: Router,
    draining: bool,
    woken: bool,
}

impl InboxDispatcher {
    pub fn new(services: Arc<Services>, router: Router) -> Self {
        Self {
            services,
            router,
            draining: false,
            woken: false,
        }
    }

    fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.draining {
            self.woken = true;
            return;
        }
        self.draining = true;
        self.woken = false;
        let services = Arc::clone(&self.services);
        let router = self.router.clone();
        async move { drain_batch(&services, &router).await }
            .into_actor(self)
            .map(|outcome, actor, ctx| {
                actor.draining = false;
                match outcome {
                    BatchOutcome::More => ctx.notify(Wake),
                    BatchOutcome::Empty if actor.woken => ctx.notify(Wake),
                    BatchOutcome::Empty => {}
                    BatchOutcome::Failed => {
                        ctx.notify_later(Wake, RETRY_DELAY);
                    }
                }
            })
            .spawn(ctx);
    }
}

enum BatchOutcome {
    /// A full batch was applied; more entries may wait.
    More,
    Empty,
    /// Some entries could not be applied and stay in the inbox.
    Failed,
}

async fn drain_batch(services: &Services, router: &Router) -> BatchOutcome {
    let store = services.store.clone();
    let entries =
        match actix_web::rt::task::spawn_blocking(move || store.inbox_pending(BATCH)).await {
            Ok(Ok(entries)) => entries,
            Ok(Err(error)) => {
                warn!(%error, "Failed to read the inbox; retrying");
                return BatchOutcome::Failed;
            }
            Err(error) => {
                warn!(%error, "The inbox read task failed; retrying");
                return BatchOutcome::Failed;
            }
        };
    if entries.is_empty() {
        return BatchOutcome::Empty;
    }
    let count = entries.len();

    let deliveries = entries.into_iter().map(|entry| async move {
        let seq = entry.seq;
        let notification = match Notification::parse(&entry.payload) {
            Ok(notification) => notification,
            Err(error) => {
                warn!(sequence = seq, %error, "Dropping an inbox entry that no longer parses");
                return services.store.inbox_ack(seq).is_ok();
            }
        };
        let (target, event) = match event_of(&notification, &services.attributes) {
            Ok(routed) => routed,
            Err(error) => {
                warn!(sequence = seq, notification_id = %notification.id, %error, "Dropping an inbox entry without a usable event");
                return services.store.inbox_ack(seq).is_ok();
            }
        };
        let message = Apply {
            event,
            inbox_seq: Some(seq),
            completes: None,
        };
        match router.apply(target, message).await {
            Ok(()) => {
                services
                    .metrics
                    .webhooks_applied
                    .get_or_create(&Metrics::topic(&notification.topic))
                    .inc();
                services.metrics.inbox_popped.inc();
                true
            }
            Err(error) => {
                warn!(sequence = seq, notification_id = %notification.id, %error, "Failed to apply a webhook; it stays in the inbox");
                false
            }
        }
    });
    let applied = join_all(deliveries).await;
    let failed = applied.iter().filter(|ok| !**ok).count();
    debug!(entries = count, failed, "Drained inbox entries");
    if failed > 0 {
        BatchOutcome::Failed
    } else if count == BATCH {
        BatchOutcome::More
    } else {
        BatchOutcome::Empty
    }
}

impl Actor for InboxDispatcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(1024);
        info!("Inbox dispatcher started");
        ctx.run_interval(IDLE_TICK, |actor, ctx| actor.drain(ctx));
        self.drain(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        info!("Inbox dispatcher stopped");
    }
}

impl Supervised for InboxDispatcher {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        warn!("Inbox dispatcher restarting");
        self.draining = false;
    }
}

impl Handler<Wake> for InboxDispatcher {
    type Result = ();

    fn handle(&mut self, _message: Wake, ctx: &mut Self::Context) {
        self.drain(ctx);
    }
}
