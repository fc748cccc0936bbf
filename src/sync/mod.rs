//! Translation between the vendors' records and the state machine's events and values.

pub mod notification;
