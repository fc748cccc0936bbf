//! Source timestamps: the only notion of time inside the machine.

use serde::{Deserialize, Serialize};

/// A source timestamp in milliseconds since the Unix epoch.
///
/// Intercom's `updated_at` (seconds) and Salesforce's `SystemModstamp` (milliseconds) both
/// convert to this type. Timestamps order events from one side only: the two sides' clocks are
/// compared only by the newest-wins conflict policy.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The earliest timestamp: a side that was never read has seen nothing newer.
    pub const ZERO: Timestamp = Timestamp(0);

    /// Converts Unix seconds, as in Intercom's `updated_at`.
    pub fn from_secs(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(1000))
    }

    /// Converts Unix milliseconds, as in Salesforce's `SystemModstamp`.
    pub fn from_millis(milliseconds: i64) -> Self {
        Timestamp(milliseconds)
    }
}
