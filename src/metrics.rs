//! Prometheus metrics of the server, served by `GET /metrics`.
//!
//! Names are snake_case with a unit suffix, counters end in `_total`, and every label has a
//! bounded set of values: topics outside the known list count as `other`, and no label ever
//! carries a person's id or email.

use std::sync::Arc;

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Webhook topics that get their own label value; every other topic counts as `other`.
const KNOWN_TOPICS: &[&str] = &[
    "contact.user.created",
    "contact.user.updated",
    "contact.lead.created",
    "contact.lead.updated",
    "contact.lead.signed_up",
    "contact.email.updated",
    "contact.deleted",
    "contact.archived",
    "contact.unarchive",
    "contact.merged",
    "contact.subscribed",
    "contact.unsubscribed",
    "ping",
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub reason: RejectReason,
}

/// Why the webhook endpoint rejected a request.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum RejectReason {
    Signature,
    Malformed,
    TooLarge,
    Store,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub system: System,
    pub object: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SystemLabels {
    pub system: System,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    pub direction: Direction,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum System {
    Salesforce,
    Intercom,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Direction {
    IntercomToSalesforce,
    SalesforceToIntercom,
}

/// Label values in snake_case, as Prometheus label values usually are.
macro_rules! snake_case_label {
    ($type:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl EncodeLabelValue for $type {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                let text = match self {
                    $(Self::$variant => $text),+
                };
                encoder.write_str(text)
            }
        }
    };
}

snake_case_label!(RejectReason { Signature => "signature", Malformed => "malformed", TooLarge => "too_large", Store => "store" });
snake_case_label!(System { Salesforce => "salesforce", Intercom => "intercom" });
snake_case_label!(Outcome { Success => "success", Failure => "failure" });
snake_case_label!(Direction { IntercomToSalesforce => "intercom_to_salesforce", SalesforceToIntercom => "salesforce_to_intercom" });

/// Every metric of the server, cheap to clone and share.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub webhooks_received: Family<TopicLabels, Counter>,
    pub webhooks_applied: Family<TopicLabels, Counter>,
    pub webhooks_ignored: Family<TopicLabels, Counter>,
    pub webhooks_duplicate: Counter,
    pub webhooks_rejected: Family<RejectLabels, Counter>,
    pub writes: Family<WriteLabels, Counter>,
    pub api_calls: Family<SystemLabels, Counter>,
    pub echoes_suppressed: Family<DirectionLabels, Counter>,
    pub poll_duration_seconds: Histogram,
    pub sync_lag_seconds: Family<DirectionLabels, Histogram>,
    pub inbox_pushed: Counter,
    pub inbox_popped: Counter,
    pub live_actors: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let webhooks_received = Family::<TopicLabels, Counter>::default();
        let webhooks_applied = Family::<TopicLabels, Counter>::default();
        let webhooks_ignored = Family::<TopicLabels, Counter>::default();
        let webhooks_duplicate = Counter::default();
        let webhooks_rejected = Family::<RejectLabels, Counter>::default();
        let writes = Family::<WriteLabels, Counter>::default();
        let api_calls = Family::<SystemLabels, Counter>::default();
        let echoes_suppressed = Family::<DirectionLabels, Counter>::default();
        let poll_duration_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        let sync_lag_seconds = Family::<DirectionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 16))
        });
        let inbox_pushed = Counter::default();
        let inbox_popped = Counter::default();
        let live_actors = Gauge::default();

        let mut registry = Registry::with_prefix("intersync");
        registry.register(
            "webhooks_received",
            "Webhook notifications accepted, by topic",
            webhooks_received.clone(),
        );
        registry.register(
            "webhooks_applied",
            "Webhook notifications applied to a mapping, by topic",
            webhooks_applied.clone(),
        );
        registry.register(
            "webhooks_ignored",
            "Well-formed notifications of topics intersync does not use, by topic",
            webhooks_ignored.clone(),
        );
        registry.register(
            "webhooks_duplicate",
            "Webhook notifications dropped because their id was already stored",
            webhooks_duplicate.clone(),
        );
        registry.register(
            "webhooks_rejected",
            "Webhook requests answered with an error, by reason",
            webhooks_rejected.clone(),
        );
        registry.register(
            "writes",
            "Record writes, by system, object and outcome",
            writes.clone(),
        );
        registry.register("api_calls", "API calls, by system", api_calls.clone());
        registry.register(
            "echoes_suppressed",
            "Changes recognised as intersync's own writes coming back, by direction",
            echoes_suppressed.clone(),
        );
        registry.register(
            "poll_duration_seconds",
            "Duration of one Salesforce poll",
            poll_duration_seconds.clone(),
        );
        registry.register(
            "sync_lag_seconds",
            "Time from the state change that asked for a write to the confirmed write",
            sync_lag_seconds.clone(),
        );
        registry.register(
            "inbox_pushed",
            "Events appended to the durable inbox",
            inbox_pushed.clone(),
        );
        registry.register(
            "inbox_popped",
            "Events removed from the durable inbox after they were applied",
            inbox_popped.clone(),
        );
        registry.register(
            "live_actors",
            "Mapping actors in memory",
            live_actors.clone(),
        );

        Self {
            registry: Arc::new(registry),
            webhooks_received,
            webhooks_applied,
            webhooks_ignored,
            webhooks_duplicate,
            webhooks_rejected,
            writes,
            api_calls,
            echoes_suppressed,
            poll_duration_seconds,
            sync_lag_seconds,
            inbox_pushed,
            inbox_popped,
            live_actors,
        }
    }

    /// The label of `topic`: the topic itself when known, `other` otherwise.
    pub fn topic(topic: &str) -> TopicLabels {
        let topic = if KNOWN_TOPICS.contains(&topic) {
            topic
        } else {
            "other"
        };
        TopicLabels {
            topic: topic.to_owned(),
        }
    }

    pub fn write(&self, system: System, object: &str, outcome: Outcome) {
        self.writes
            .get_or_create(&WriteLabels {
                system,
                object: object.to_owned(),
                outcome,
            })
            .inc();
    }

    pub fn api_call(&self, system: System) {
        self.api_calls.get_or_create(&SystemLabels { system }).inc();
    }

    /// Encodes every metric in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_topic_counts_as_other() {
        let metrics = Metrics::new();
        metrics
            .webhooks_received
            .get_or_create(&Metrics::topic("conversation.user.created"))
            .inc();
        let text = metrics.encode();
        assert!(
            text.contains(r#"intersync_webhooks_received_total{topic="other"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn counters_end_in_total() {
        let metrics = Metrics::new();
        metrics.api_call(System::Salesforce);
        let text = metrics.encode();
        assert!(
            text.contains(r#"intersync_api_calls_total{system="salesforce"} 1"#),
            "{text}"
        );
    }
}
