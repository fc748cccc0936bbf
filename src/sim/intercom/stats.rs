//! Counters behind `GET /_sim/stats`: API calls by endpoint kind and webhook delivery outcomes.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{Map, Value};

/// The kinds of API call the simulator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Me,
    ContactsCreate,
    ContactsGet,
    ContactsFindByExternalId,
    ContactsUpdate,
    ContactsDelete,
    ContactsArchive,
    ContactsUnarchive,
    ContactsMerge,
    ContactsList,
    ContactsSearch,
    DataAttributesList,
    DataAttributesCreate,
    DataAttributesUpdate,
}

impl Endpoint {
    const ALL: [Endpoint; 14] = [
        Endpoint::Me,
        Endpoint::ContactsCreate,
        Endpoint::ContactsGet,
        Endpoint::ContactsFindByExternalId,
        Endpoint::ContactsUpdate,
        Endpoint::ContactsDelete,
        Endpoint::ContactsArchive,
        Endpoint::ContactsUnarchive,
        Endpoint::ContactsMerge,
        Endpoint::ContactsList,
        Endpoint::ContactsSearch,
        Endpoint::DataAttributesList,
        Endpoint::DataAttributesCreate,
        Endpoint::DataAttributesUpdate,
    ];

    /// Returns the stats key, such as `contacts.create`.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Me => "me",
            Endpoint::ContactsCreate => "contacts.create",
            Endpoint::ContactsGet => "contacts.get",
            Endpoint::ContactsFindByExternalId => "contacts.find_by_external_id",
            Endpoint::ContactsUpdate => "contacts.update",
            Endpoint::ContactsDelete => "contacts.delete",
            Endpoint::ContactsArchive => "contacts.archive",
            Endpoint::ContactsUnarchive => "contacts.unarchive",
            Endpoint::ContactsMerge => "contacts.merge",
            Endpoint::ContactsList => "contacts.list",
            Endpoint::ContactsSearch => "contacts.search",
            Endpoint::DataAttributesList => "data_attributes.list",
            Endpoint::DataAttributesCreate => "data_attributes.create",
            Endpoint::DataAttributesUpdate => "data_attributes.update",
        }
    }
}

/// API call counters, one per endpoint kind, plus rejected calls.
#[derive(Debug, Default)]
pub struct ApiStats {
    calls: [AtomicU64; Endpoint::ALL.len()],
    /// Requests rejected with 401.
    pub unauthorized: AtomicU64,
    /// Requests rejected with 429 by the rate limit.
    pub rate_limited: AtomicU64,
    /// Requests answered with an injected error.
    pub injected_errors: AtomicU64,
}

impl ApiStats {
    pub fn count(&self, endpoint: Endpoint) {
        self.calls[endpoint as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Renders the counters as `{"contacts.create": 3, ...}`, every kind included.
    pub fn calls_json(&self) -> Map<String, Value> {
        Endpoint::ALL
            .iter()
            .map(|&e| {
                let count = self.calls[e as usize].load(Ordering::Relaxed);
                (e.name().to_string(), Value::from(count))
            })
            .collect()
    }

    pub fn clear(&self) {
        for counter in &self.calls {
            counter.store(0, Ordering::Relaxed);
        }
        self.unauthorized.store(0, Ordering::Relaxed);
        self.rate_limited.store(0, Ordering::Relaxed);
        self.injected_errors.store(0, Ordering::Relaxed);
    }
}

/// Webhook delivery counters.
#[derive(Debug, Default)]
pub struct WebhookStats {
    /// Notifications put on the delivery queue.
    pub queued: AtomicU64,
    /// Deliveries answered 2xx, duplicates and retries included.
    pub delivered: AtomicU64,
    /// Deliveries given up after the retry, or answered 410.
    pub failed: AtomicU64,
    /// Deliveries sent a second time after a failure.
    pub retried: AtomicU64,
    /// Extra copies sent by the duplicate knob.
    pub duplicated: AtomicU64,
    /// Notifications held back and sent after a later one by the reorder knob.
    pub reordered: AtomicU64,
}

/// A snapshot of [`WebhookStats`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct WebhookCounts {
    pub queued: u64,
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
    pub duplicated: u64,
    pub reordered: u64,
}

impl WebhookStats {
    pub fn snapshot(&self) -> WebhookCounts {
        WebhookCounts {
            queued: self.queued.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            duplicated: self.duplicated.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
        }
    }

    pub fn clear(&self) {
        for counter in [
            &self.queued,
            &self.delivered,
            &self.failed,
            &self.retried,
            &self.duplicated,
            &self.reordered,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}
