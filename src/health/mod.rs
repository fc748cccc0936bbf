//! Connection and org-setup healthchecks, kept apart from the sync's data path.

pub mod board;
pub mod check;
pub mod finding;

pub use finding::{Finding, FindingKind, HealthReport};
