//! The state one simulator shares between its HTTP workers: contacts, data attributes, knobs,
//! counters and the webhook emitter.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::data_attributes::DataAttributes;
use super::error::ApiError;
use super::rate_limit::RateLimiter;
use super::stats::{ApiStats, WebhookStats};
use super::store::{ContactStore, LookupError};
use super::webhooks::WebhookEmitter;
use super::IntercomSimConfig;

/// API-side knobs set through `/_sim/faults`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ApiFaults {
    /// Requests allowed per rate-limit window.
    pub rate_limit_per_window: u32,
    /// Delay added before each API response, in milliseconds.
    pub latency_ms: u64,
    /// Share of API requests, 0 to 1, that get an `error_status` response.
    pub error_rate: f64,
    /// Number of upcoming API requests that get an `error_status` response before `error_rate` applies.
    pub error_count: u32,
    /// Status of injected errors: 500, 503 or 429.
    pub error_status: u16,
    /// Delay before a created or changed contact is visible to search, in milliseconds.
    pub search_index_delay_ms: u64,
    /// Workspace time zone as minutes east of UTC; search compares dates by day in it.
    pub workspace_utc_offset_minutes: i32,
}

impl ApiFaults {
    pub fn from_config(config: &IntercomSimConfig) -> Self {
        ApiFaults {
            rate_limit_per_window: config.rate_limit_per_window,
            latency_ms: 0,
            error_rate: 0.0,
            error_count: 0,
            error_status: 500,
            search_index_delay_ms: 0,
            workspace_utc_offset_minutes: 0,
        }
    }
}

/// Everything the handlers of one simulator share.
#[derive(Debug)]
pub struct SimState {
    pub config: IntercomSimConfig,
    /// `http://ADDR:PORT` of the bound listener.
    pub base_url: String,
    pub contacts: Mutex<ContactStore>,
    pub attributes: Mutex<DataAttributes>,
    pub faults: Mutex<ApiFaults>,
    pub limiter: RateLimiter,
    pub api_stats: ApiStats,
    pub webhook_stats: Arc<WebhookStats>,
    pub emitter: WebhookEmitter,
}

impl SimState {
    pub fn contacts(&self) -> MutexGuard<'_, ContactStore> {
        self.contacts.lock().expect("contacts lock")
    }

    pub fn attributes(&self) -> MutexGuard<'_, DataAttributes> {
        self.attributes.lock().expect("data attributes lock")
    }

    pub fn faults(&self) -> ApiFaults {
        *self.faults.lock().expect("faults lock")
    }

    pub fn set_faults(&self, faults: ApiFaults) {
        *self.faults.lock().expect("faults lock") = faults;
    }

    /// Takes one injected error if the error knobs call for it.
    pub fn take_injected_error(&self) -> Option<u16> {
        let mut faults = self.faults.lock().expect("faults lock");
        if faults.error_count > 0 {
            faults.error_count -= 1;
            return Some(faults.error_status);
        }
        if faults.error_rate > 0.0 && rand::random_bool(faults.error_rate.min(1.0)) {
            return Some(faults.error_status);
        }
        None
    }
}

/// The API version a request asked for with `Intercom-Version`, as (major, minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ApiVersion(pub u32, pub u32);

impl ApiVersion {
    /// The first version that answers 410 `contact_merged` for a merged lead.
    pub const MERGED_GONE: ApiVersion = ApiVersion(2, 16);

    /// Reads `2.11`-style versions; `Unstable` counts as newer than every numbered version.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        if text.eq_ignore_ascii_case("unstable") {
            return Some(ApiVersion(u32::MAX, 0));
        }
        let (major, minor) = text.trim().split_once('.')?;
        Some(ApiVersion(major.parse().ok()?, minor.parse().ok()?))
    }

    /// Turns a failed contact lookup into the answer this version gives.
    pub fn lookup_error(self, error: LookupError, base_url: &str) -> ApiError {
        match error {
            LookupError::Merged(into) if self >= ApiVersion::MERGED_GONE => ApiError::new(
                actix_web::http::StatusCode::GONE,
                "contact_merged",
                format!("Contact was merged into contact {into}"),
            )
            .with_header(
                actix_web::http::header::LINK,
                actix_web::http::header::HeaderValue::from_str(&format!(
                    "<{base_url}/contacts/{into}>; rel=\"canonical\""
                ))
                .expect("contact ids are header-safe"),
            ),
            _ => ApiError::contact_not_found(),
        }
    }
}
