//! The webhook emitter: notifications in Intercom's envelope, signed with `X-Hub-Signature`,
//! delivered off the request path to the receivers subscribed through `/_sim/webhooks`.
//!
//! Handlers put notifications on a bounded queue. One dispatcher task takes them in order,
//! applies the duplicate and reorder knobs and starts a delivery per subscription, with at most
//! `concurrency` deliveries in flight. A failed delivery (transport error, timeout or a status other than
//! 2xx) is sent once more after the retry delay; a 410 disables the subscription.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use super::contact::{now_ms, Contact, ContactStub, StampStyle};
use super::stats::WebhookStats;

/// The `User-Agent` Intercom's webhook deliveries carry.
const USER_AGENT: &str = "intercom-parrot-service-client/1.0";
/// How long a notification held back by the reorder knob waits for a later one.
const REORDER_HOLD: Duration = Duration::from_millis(50);

/// The settings of the emitter fixed at start.
#[derive(Debug, Clone)]
pub struct EmitterSettings {
    pub app_id: String,
    pub timeout: Duration,
    pub retry_delay: Duration,
    pub concurrency: usize,
    pub queue_capacity: usize,
}

/// A receiver subscribed through `POST /_sim/webhooks`.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub id: u64,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// Topics delivered to this receiver; every topic when empty.
    pub topics: Vec<String>,
    /// Set when the receiver responded 410 Gone. A disabled subscription receives nothing.
    pub disabled: bool,
}

impl Subscription {
    fn wants(&self, topic: &str) -> bool {
        !self.disabled
            && (self.topics.is_empty() || topic == "ping" || self.topics.iter().any(|t| t == topic))
    }
}

/// Delivery knobs set through `/_sim/faults`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct DeliveryFaults {
    /// Share of notifications, 0 to 1, delivered twice.
    pub webhook_duplicate_rate: f64,
    /// Share of notifications, 0 to 1, held back and delivered after the next one.
    pub webhook_reorder_rate: f64,
}

/// The `data.item` of a notification.
#[derive(Debug, Clone)]
pub enum NotificationItem {
    Contact {
        contact: Box<Contact>,
        style: StampStyle,
        /// The lead merged into this contact, for `contact.merged`.
        merged_from: Option<String>,
    },
    Stub(ContactStub),
    Ping {
        message: String,
    },
}

/// One event to deliver to every subscription that wants its topic.
#[derive(Debug, Clone)]
pub struct Notification {
    /// `notif_<uuid>`, the same across retries and duplicates.
    pub id: String,
    pub topic: &'static str,
    /// Unix seconds of the change.
    pub created_at: i64,
    pub item: NotificationItem,
}

impl Notification {
    pub fn new(topic: &'static str, item: NotificationItem) -> Self {
        Notification {
            id: format!("notif_{}", uuid::Uuid::new_v4()),
            topic,
            created_at: now_ms().div_euclid(1000),
            item,
        }
    }

    pub fn contact(topic: &'static str, contact: &Contact) -> Self {
        let style = if topic == "contact.email.updated" {
            StampStyle::IsoZuluSeconds
        } else {
            StampStyle::IsoMillis
        };
        Self::new(
            topic,
            NotificationItem::Contact {
                contact: Box::new(contact.clone()),
                style,
                merged_from: None,
            },
        )
    }

    /// Renders the envelope for one delivery attempt.
    pub fn body(&self, app_id: &str, delivery_attempts: u32, first_sent_at: i64) -> Vec<u8> {
        let item = match &self.item {
            NotificationItem::Contact {
                contact,
                style,
                merged_from,
            } => {
                let wire = contact.to_webhook_item(app_id, *style);
                match merged_from {
                    Some(id) => serde_json::to_value(MergedItem {
                        contact: wire,
                        merged_from: MergedFrom {
                            kind: "contact",
                            id,
                        },
                    }),
                    None => serde_json::to_value(wire),
                }
            }
            NotificationItem::Stub(stub) => serde_json::to_value(stub),
            NotificationItem::Ping { message } => serde_json::to_value(PingItem {
                kind: "ping",
                message,
            }),
        };
        let envelope = Envelope {
            kind: "notification_event",
            app_id,
            data: EnvelopeData {
                kind: "notification_event_data",
                item: item.expect("notification items serialize"),
            },
            links: Empty {},
            id: &self.id,
            topic: self.topic,
            delivery_status: "pending",
            delivery_attempts,
            delivered_at: 0,
            first_sent_at,
            created_at: self.created_at,
            self_link: (),
        };
        serde_json::to_vec(&envelope).expect("notification envelopes serialize")
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    app_id: &'a str,
    data: EnvelopeData,
    links: Empty,
    id: &'a str,
    topic: &'a str,
    delivery_status: &'static str,
    delivery_attempts: u32,
    delivered_at: i64,
    first_sent_at: i64,
    created_at: i64,
    #[serde(rename = "self")]
    self_link: (),
}

#[derive(Serialize)]
struct EnvelopeData {
    #[serde(rename = "type")]
    kind: &'static str,
    item: serde_json::Value,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct MergedItem<'a> {
    #[serde(flatten)]
    contact: super::contact::ContactWire<'a>,
    merged_from: MergedFrom<'a>,
}

#[derive(Serialize)]
struct MergedFrom<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
}

#[derive(Serialize)]
struct PingItem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

/// Computes `X-Hub-Signature`: `sha1=` and the hex HMAC-SHA1 of `body` keyed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// State shared by the emitter handle, the dispatcher and the delivery tasks.
#[derive(Debug)]
struct Shared {
    settings: EmitterSettings,
    subscriptions: RwLock<Vec<Subscription>>,
    faults: Mutex<DeliveryFaults>,
    stats: Arc<WebhookStats>,
    client: reqwest::Client,
    permits: Arc<Semaphore>,
}

/// The handle handlers emit notifications through.
#[derive(Debug)]
pub struct WebhookEmitter {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Notification>,
    next_subscription_id: Mutex<u64>,
}

impl WebhookEmitter {
    /// Starts the dispatcher on the current Tokio runtime; it ends when the emitter is dropped
    /// or its task is aborted.
    pub fn start(
        settings: EmitterSettings,
        stats: Arc<WebhookStats>,
    ) -> std::io::Result<(WebhookEmitter, tokio::task::JoinHandle<()>)> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .user_agent(USER_AGENT)
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let (queue, receiver) = mpsc::channel(settings.queue_capacity.max(1));
        let shared = Arc::new(Shared {
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            subscriptions: RwLock::new(Vec::new()),
            faults: Mutex::new(DeliveryFaults::default()),
            stats,
            client,
        });
        let task = tokio::spawn(dispatch_loop(receiver, shared.clone()));
        let emitter = WebhookEmitter {
            shared,
            queue,
            next_subscription_id: Mutex::new(1),
        };
        Ok((emitter, task))
    }

    /// Tells whether any enabled subscription exists, so callers can skip building notifications.
    pub fn has_receivers(&self) -> bool {
        self.shared
            .subscriptions
            .read()
            .expect("subscriptions lock")
            .iter()
            .any(|s| !s.disabled)
    }

    /// Queues a notification; waits while the queue is full.
    pub async fn emit(&self, notification: Notification) {
        self.shared.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.queue.send(notification).await.is_err() {
            tracing::warn!("Webhook dispatcher stopped, notification dropped");
        }
    }

    pub fn subscribe(&self, url: String, secret: String, topics: Vec<String>) -> Subscription {
        let mut next_id = self
            .next_subscription_id
            .lock()
            .expect("subscription id lock");
        let subscription = Subscription {
            id: *next_id,
            url,
            secret,
            topics,
            disabled: false,
        };
        *next_id += 1;
        self.shared
            .subscriptions
            .write()
            .expect("subscriptions lock")
            .push(subscription.clone());
        subscription
    }

    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.shared
            .subscriptions
            .read()
            .expect("subscriptions lock")
            .clone()
    }

    /// Removes one subscription; returns whether it existed.
    pub fn unsubscribe(&self, id: u64) -> bool {
        let mut subscriptions = self
            .shared
            .subscriptions
            .write()
            .expect("subscriptions lock");
        let before = subscriptions.len();
        subscriptions.retain(|s| s.id != id);
        subscriptions.len() != before
    }

    pub fn unsubscribe_all(&self) {
        self.shared
            .subscriptions
            .write()
            .expect("subscriptions lock")
            .clear();
    }

    pub fn faults(&self) -> DeliveryFaults {
        *self.shared.faults.lock().expect("faults lock")
    }

    pub fn set_faults(&self, faults: DeliveryFaults) {
        *self.shared.faults.lock().expect("faults lock") = faults;
    }
}

async fn dispatch_loop(mut receiver: mpsc::Receiver<Notification>, shared: Arc<Shared>) {
    let mut deliveries = JoinSet::new();
    let mut held: Option<Notification> = None;
    loop {
        let next = tokio::select! {
            received = receiver.recv() => received,
            _ = tokio::time::sleep(REORDER_HOLD), if held.is_some() => {
                if let Some(late) = held.take() {
                    fan_out(&shared, &mut deliveries, late, false).await;
                }
                continue;
            }
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => continue,
        };
        let Some(notification) = next else { break };
        let faults = *shared.faults.lock().expect("faults lock");

        if let Some(late) = held.take() {
            shared.stats.reordered.fetch_add(1, Ordering::Relaxed);
            fan_out(&shared, &mut deliveries, notification, false).await;
            fan_out(&shared, &mut deliveries, late, false).await;
            continue;
        }
        if faults.webhook_reorder_rate > 0.0
            && rand::random_bool(faults.webhook_reorder_rate.min(1.0))
        {
            held = Some(notification);
            continue;
        }
        let duplicate = faults.webhook_duplicate_rate > 0.0
            && rand::random_bool(faults.webhook_duplicate_rate.min(1.0));
        if duplicate {
            fan_out(&shared, &mut deliveries, notification.clone(), false).await;
            fan_out(&shared, &mut deliveries, notification, true).await;
        } else {
            fan_out(&shared, &mut deliveries, notification, false).await;
        }
    }
    if let Some(late) = held.take() {
        fan_out(&shared, &mut deliveries, late, false).await;
    }
    while deliveries.join_next().await.is_some() {}
}

/// Starts one delivery per interested subscription, waiting for a free delivery slot each.
async fn fan_out(
    shared: &Arc<Shared>,
    deliveries: &mut JoinSet<()>,
    notification: Notification,
    duplicate: bool,
) {
    let targets: Vec<Subscription> = shared
        .subscriptions
        .read()
        .expect("subscriptions lock")
        .iter()
        .filter(|s| s.wants(notification.topic))
        .cloned()
        .collect();
    let notification = Arc::new(notification);
    for target in targets {
        let Ok(permit) = shared.permits.clone().acquire_owned().await else {
            return;
        };
        if duplicate {
            shared.stats.duplicated.fetch_add(1, Ordering::Relaxed);
        }
        let shared = shared.clone();
        let notification = notification.clone();
        deliveries.spawn(async move {
            deliver(shared, notification, target, permit, duplicate).await;
        });
    }
}

/// The outcome of one delivery attempt.
enum Attempt {
    Delivered,
    Failed,
    Gone,
}

async fn deliver(
    shared: Arc<Shared>,
    notification: Arc<Notification>,
    target: Subscription,
    permit: tokio::sync::OwnedSemaphorePermit,
    duplicate: bool,
) {
    let first_sent_at = now_ms().div_euclid(1000);
    // A duplicate looks like a resend of a delivery that timed out but was processed.
    let first_attempt = if duplicate { 2 } else { 1 };
    let outcome = attempt(
        &shared,
        &notification,
        &target,
        first_attempt,
        first_sent_at,
    )
    .await;
    drop(permit);
    let outcome = match outcome {
        Attempt::Failed if !duplicate => {
            shared.stats.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(shared.settings.retry_delay).await;
            let Ok(_permit) = shared.permits.clone().acquire_owned().await else {
                return;
            };
            attempt(
                &shared,
                &notification,
                &target,
                first_attempt + 1,
                first_sent_at,
            )
            .await
        }
        other => other,
    };
    match outcome {
        Attempt::Delivered => {
            shared.stats.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Attempt::Failed => {
            shared.stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                subscription_id = target.id,
                notification_id = %notification.id,
                topic = notification.topic,
                "Webhook delivery failed after its retry"
            );
        }
        Attempt::Gone => {
            shared.stats.failed.fetch_add(1, Ordering::Relaxed);
            disable(&shared, target.id);
        }
    }
}

async fn attempt(
    shared: &Shared,
    notification: &Notification,
    target: &Subscription,
    delivery_attempts: u32,
    first_sent_at: i64,
) -> Attempt {
    let body = notification.body(&shared.settings.app_id, delivery_attempts, first_sent_at);
    let signature = sign(&target.secret, &body);
    let response = shared
        .client
        .post(&target.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Hub-Signature", signature)
        .body(body)
        .send()
        .await;
    match response {
        Ok(response) if response.status().is_success() => Attempt::Delivered,
        Ok(response) if response.status() == reqwest::StatusCode::GONE => Attempt::Gone,
        // NOTE: a 429 is retried once like any other failure. Intercom instead throttles later
        // deliveries to that receiver for one minute to two hours.
        Ok(response) => {
            tracing::debug!(
                subscription_id = target.id,
                status = response.status().as_u16(),
                delivery_attempts,
                "Webhook receiver rejected a delivery"
            );
            Attempt::Failed
        }
        Err(error) => {
            tracing::debug!(
                subscription_id = target.id,
                error = %error,
                delivery_attempts,
                "Webhook delivery did not complete"
            );
            Attempt::Failed
        }
    }
}

fn disable(shared: &Shared, subscription_id: u64) {
    let mut subscriptions = shared.subscriptions.write().expect("subscriptions lock");
    if let Some(subscription) = subscriptions.iter_mut().find(|s| s.id == subscription_id) {
        subscription.disabled = true;
        tracing::info!(subscription_id, url = %subscription.url, "Webhook receiver responded 410 Gone, subscription disabled");
    }
}

/// Lists the topics one update produces, given the contact before and after it.
pub fn update_topics(before: &Contact, after: &Contact) -> Vec<&'static str> {
    let mut topics = Vec::new();
    match (before.role, after.role) {
        (super::contact::Role::Lead, super::contact::Role::User) => {
            topics.push("contact.lead.signed_up")
        }
        (_, super::contact::Role::User) => topics.push("contact.user.updated"),
        (_, super::contact::Role::Lead) => topics.push("contact.lead.updated"),
    }
    if before.email != after.email {
        if after.role == super::contact::Role::Lead && before.email.is_none() {
            topics.push("contact.lead.added_email");
        } else {
            topics.push("contact.email.updated");
        }
    }
    // NOTE: Intercom's subscription topics carry a subscription object as the item. No captured
    // example exists, so these notifications carry the contact instead.
    if before.unsubscribed_from_emails != after.unsubscribed_from_emails {
        topics.push(if after.unsubscribed_from_emails {
            "contact.unsubscribed"
        } else {
            "contact.subscribed"
        });
    }
    topics
}

/// Returns the topic of a created contact.
pub fn created_topic(contact: &Contact) -> &'static str {
    match contact.role {
        super::contact::Role::User => "contact.user.created",
        super::contact::Role::Lead => "contact.lead.created",
    }
}

/// Builds a `contact.merged` notification: the surviving user plus `merged_from`.
pub fn merged_notification(user: &Contact, lead_id: &str) -> Notification {
    Notification::new(
        "contact.merged",
        NotificationItem::Contact {
            contact: Box::new(user.clone()),
            style: StampStyle::IsoMillis,
            merged_from: Some(lead_id.to_string()),
        },
    )
}
