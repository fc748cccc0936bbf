//! In-process simulators of the Salesforce and Intercom REST APIs.
//!
//! [`people`] generates the same fake people for both simulators from one seed.

pub mod intercom;
pub mod people;
