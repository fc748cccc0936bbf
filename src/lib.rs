//! intersync keeps people in two-way sync between Intercom and Salesforce.
//!
//! The crate is split by layer: [`connectors`] speak the vendors' HTTP APIs, [`store`] keeps
//! every durable fact in one redb file, [`actors`] run one `intersync_fsm` state machine per
//! identity mapping, [`http`] serves the webhook, status, metrics and admin endpoints, and
//! [`sim`] holds in-process simulators of both APIs for tests, benchmarks and the demo.

pub mod actors;
pub mod commands;
pub mod config;
pub mod connectors;
pub mod health;
pub mod http;
pub mod metrics;
pub mod sandbox;
pub mod server;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
