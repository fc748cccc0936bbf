//! Actors: one per identity mapping, plus the supervisors that feed them.
//!
//! - [`mapping::MappingActor`] runs one state machine and persists it before it answers.
//! - [`registry::Registry`] routes events to mapping actors and starts, revives and stops them.
//! - The executor carries out outbound work: batched Salesforce writes and look-ups, and
//!   Intercom calls.
//! - The inbox dispatcher, the Salesforce poller and the healthcheck supervisor feed events
//!   in on their own schedules.

pub mod executor;
pub mod health;
pub mod inbox;
pub mod mapping;
pub mod poller;
pub mod registry;
pub mod services;
pub mod work;
