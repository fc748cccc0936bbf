//! The simulator's mutable state behind one lock, and the clock every record write uses.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;

use super::config::SalesforceSimConfig;
use super::describe::Schema;
use super::faults::Knobs;
use super::oauth::OAuthState;
use super::store::Store;

/// A query result whose remaining rows wait behind a query locator.
pub struct Cursor {
    pub rows: Vec<Value>,
    /// Index of the first row of the next page.
    pub next: usize,
    pub total_size: usize,
    pub last_used: Instant,
    pub page_size: usize,
}

/// Everything that changes while the simulator runs.
pub struct SimState {
    pub config: SalesforceSimConfig,
    pub login_url: String,
    pub instance_url: String,
    pub store: Store,
    pub schema: Schema,
    /// When the describe metadata last changed, for `If-Modified-Since` on describe calls.
    pub schema_changed_at: DateTime<Utc>,
    pub oauth: OAuthState,
    pub knobs: Knobs,
    pub cursors: HashMap<String, Cursor>,
    pub cursor_sequence: u64,
    /// API calls counted against the daily allowance.
    pub api_usage: u64,
    /// Calls by endpoint kind, for `/_sim/stats`.
    pub calls: BTreeMap<String, u64>,
    pub faults_injected: u64,
    /// Data API calls currently being served, for `max_concurrent_calls`.
    pub calls_in_flight: u32,
    /// An injected fault that fails the next record of a collections call.
    pub record_fault: Option<super::faults::FaultKind>,
}

impl SimState {
    pub fn new(config: SalesforceSimConfig, login_url: String, instance_url: String) -> SimState {
        let knobs = default_knobs(&config);
        SimState {
            config,
            login_url,
            instance_url,
            store: Store::default(),
            schema: Schema::default(),
            schema_changed_at: Utc::now(),
            oauth: OAuthState::default(),
            knobs,
            cursors: HashMap::new(),
            cursor_sequence: 0,
            api_usage: 0,
            calls: BTreeMap::new(),
            faults_injected: 0,
            calls_in_flight: 0,
            record_fault: None,
        }
    }

    /// Clears records, describe edits, knobs, usage and statistics; issued tokens survive so
    /// a client can keep its session across test cases.
    pub fn reset(&mut self) {
        self.store.clear();
        self.schema = Schema::default();
        self.schema_changed_at = self.now();
        self.knobs = default_knobs(&self.config);
        self.cursors.clear();
        self.api_usage = 0;
        self.calls.clear();
        self.faults_injected = 0;
    }

    /// Returns the simulated org's time: host time plus the configured offset, in whole
    /// milliseconds as Salesforce stores datetimes.
    pub fn now(&self) -> DateTime<Utc> {
        let now = Utc::now() + TimeDelta::milliseconds(self.knobs.clock_offset_ms);
        now.duration_trunc(TimeDelta::milliseconds(1))
            .unwrap_or(now)
    }

    /// Returns the moment a save made now becomes visible to queries.
    pub fn commit_instant(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.knobs.commit_delay_ms)
    }

    pub fn count_call(&mut self, kind: &str) {
        *self.calls.entry(kind.to_string()).or_default() += 1;
    }
}

fn default_knobs(config: &SalesforceSimConfig) -> Knobs {
    Knobs {
        commit_delay_ms: 0,
        clock_offset_ms: 0,
        latency_ms: 0,
        max_concurrent_calls: None,
        api_enabled: true,
        user_active: true,
        daily_api_limit: config.daily_api_limit,
        access_token_ttl_ms: config.access_token_ttl.as_millis() as u64,
        query_locator_ttl_ms: config.query_locator_ttl.as_millis() as u64,
        errors: Vec::new(),
    }
}
