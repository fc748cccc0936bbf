//! API usage: the `Sforce-Limit-Info` header read on every response, and the `/limits`
//! resource.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The org's rolling 24-hour API request usage, as last reported by Salesforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    /// Requests made in the last 24 hours, by every client of the org.
    pub used: u64,
    /// The org's allowance for 24 hours.
    pub max: u64,
}

impl ApiUsage {
    /// Returns the share of the allowance used, from 0.0 upward (above 1.0 when Salesforce lets
    /// an org overrun).
    pub fn fraction_used(&self) -> f64 {
        if self.max == 0 {
            return 1.0;
        }
        self.used as f64 / self.max as f64
    }

    /// Parses a `Sforce-Limit-Info` header value such as `api-usage=18/5000` or
    /// `api-usage=18/5000; api-bursts=1/50`. Returns `None` when it has no `api-usage` entry.
    pub fn from_header(value: &str) -> Option<ApiUsage> {
        value.split(';').find_map(|entry| {
            let (key, numbers) = entry.trim().split_once('=')?;
            if key.trim() != "api-usage" {
                return None;
            }
            let (used, max) = numbers.trim().split_once('/')?;
            Some(ApiUsage {
                used: used.trim().parse().ok()?,
                max: max.trim().parse().ok()?,
            })
        })
    }
}

/// The latest [`ApiUsage`], updated from every response and read without locking.
#[derive(Debug, Default)]
pub struct UsageMeter {
    used: AtomicU64,
    /// Zero until the first response carried the header.
    max: AtomicU64,
    /// The `Date` header of the latest response, in Unix milliseconds; zero before any.
    server_time_ms: AtomicI64,
}

impl UsageMeter {
    pub(crate) fn record(&self, usage: ApiUsage) {
        self.used.store(usage.used, Ordering::Relaxed);
        self.max.store(usage.max, Ordering::Relaxed);
    }

    pub(crate) fn record_server_time(&self, unix_ms: i64) {
        self.server_time_ms.fetch_max(unix_ms, Ordering::Relaxed);
    }

    /// The newest `Date` header Salesforce sent, in Unix milliseconds, or `None` before any
    /// response. It is Salesforce's clock at one-second resolution, so a record saved by
    /// that response has a `SystemModstamp` at or after it.
    pub fn server_time_ms(&self) -> Option<i64> {
        let time = self.server_time_ms.load(Ordering::Relaxed);
        (time > 0).then_some(time)
    }

    /// Returns the latest usage, or `None` before any response carried it.
    pub fn get(&self) -> Option<ApiUsage> {
        let max = self.max.load(Ordering::Relaxed);
        if max == 0 {
            return None;
        }
        Some(ApiUsage {
            used: self.used.load(Ordering::Relaxed),
            max,
        })
    }
}

/// One allowance in the `/limits` response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Limit {
    /// The allowance.
    pub max: u64,
    /// What is left of it.
    pub remaining: u64,
}

/// The `/limits` response: every allowance of the org by name, such as `DailyApiRequests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Limits(pub BTreeMap<String, LimitEntry>);

/// A `/limits` entry; some carry per-app breakdowns beside `Max` and `Remaining`, which are
/// kept as raw JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitEntry {
    /// The allowance and what is left of it.
    #[serde(flatten)]
    pub limit: Limit,
    /// Other keys of the entry, such as per-app usage.
    #[serde(flatten)]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl Limits {
    /// Returns the named allowance.
    pub fn get(&self, name: &str) -> Option<Limit> {
        self.0.get(name).map(|entry| entry.limit)
    }

    /// Returns the daily API request allowance as an [`ApiUsage`].
    pub fn daily_api_requests(&self) -> Option<ApiUsage> {
        self.get("DailyApiRequests").map(|limit| ApiUsage {
            used: limit.max.saturating_sub(limit.remaining),
            max: limit.max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_header_forms() {
        let cases = [
            ("api-usage=18/5000", Some((18, 5000))),
            ("api-usage=25/5000; api-bursts=1/50", Some((25, 5000))),
            (
                "per-app-api-usage=17/250(appName=sample); api-usage=3/15000",
                Some((3, 15000)),
            ),
            ("api-bursts=1/50", None),
            ("api-usage=x/5000", None),
            ("", None),
        ];
        for (header, expected) in cases {
            let parsed = ApiUsage::from_header(header).map(|u| (u.used, u.max));
            assert_eq!(parsed, expected, "header {header:?}");
        }
    }

    #[test]
    fn meter_empty_until_recorded() {
        let meter = UsageMeter::default();
        assert_eq!(meter.get(), None);

        meter.record(ApiUsage { used: 7, max: 100 });

        assert_eq!(meter.get(), Some(ApiUsage { used: 7, max: 100 }));
    }
}
