//! Translation between the vendors' records and the state machine's events and values.

pub mod attributes;
pub mod intercom_events;
pub mod notification;
pub mod salesforce_events;
