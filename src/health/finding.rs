//! Healthcheck findings and the overall health result.

use serde::{Deserialize, Serialize};

/// The four kinds of problem a healthcheck reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// intersync cannot authenticate with Salesforce.
    CannotAuthenticate,
    /// Fields intersync filters on in SOQL are not filterable.
    NotFilterable,
    /// Fields intersync needs are missing from the object or hidden from its user.
    MissingOrHidden,
    /// Fields the org requires on create that intersync does not send.
    RequiredNotSent,
}

/// One problem found by a healthcheck, with the object and fields it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Salesforce object, such as `Lead`; empty for a connection problem.
    pub object: String,
    pub fields: Vec<String>,
    pub message: String,
}

/// The result of one healthcheck run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Unix milliseconds when the check finished.
    pub checked_at_ms: i64,
    pub findings: Vec<Finding>,
}

impl HealthReport {
    pub fn is_healthy(&self) -> bool {
        self.findings.is_empty()
    }
}
