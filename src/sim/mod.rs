//! In-process simulators of the Salesforce and Intercom REST APIs.
//!
//! [`people`] generates the same fake people for both simulators from one seed,
//! [`salesforce`] serves the Salesforce REST API on loopback, and [`intercom`] serves the
//! Intercom REST API on loopback.

pub mod intercom;
pub mod people;
pub mod salesforce;
