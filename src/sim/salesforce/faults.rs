//! Realism knobs and injected errors, set through `POST /_sim/faults`.

use serde::{Deserialize, Serialize};

use super::error::{ApiError, ApiResponse};

/// The failure an injected fault produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 500 with `UNKNOWN_EXCEPTION`.
    ServerError,
    /// 503 with an HTML body, as Salesforce's load balancers send.
    ServiceUnavailable,
    /// `UNABLE_TO_LOCK_ROW`: per record inside sObject Collections, 400 elsewhere.
    UnableToLockRow,
    /// 403 `REQUEST_LIMIT_EXCEEDED`.
    RequestLimitExceeded,
    /// `DUPLICATES_DETECTED` from a duplicate rule: per record inside sObject Collections,
    /// 400 elsewhere.
    DuplicatesDetected,
}

impl FaultKind {
    /// Returns whether the fault fails one record of a collections call instead of the call.
    pub fn is_per_record(self) -> bool {
        matches!(
            self,
            FaultKind::UnableToLockRow | FaultKind::DuplicatesDetected
        )
    }

    /// Builds the per-record error of a fault for which [`FaultKind::is_per_record`] holds.
    pub fn record_error(self) -> ApiError {
        match self {
            FaultKind::DuplicatesDetected => duplicates_detected(),
            _ => unable_to_lock_row(),
        }
    }
}

/// One injected error. With `count` it fires on the next `count` matching calls; with `rate`
/// it fires on that share of matching calls at random. `endpoint` limits it to one endpoint
/// kind as counted in `/_sim/stats` (such as `query` or `collections`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub kind: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// The realism knobs currently in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knobs {
    /// Time between a save (its `SystemModstamp`) and the moment queries can see it.
    pub commit_delay_ms: u64,
    /// Offset of the simulator's clock from the host clock; negative values lag behind.
    pub clock_offset_ms: i64,
    /// Delay added before every data API response.
    pub latency_ms: u64,
    /// Data API calls that may be in flight at once; more get 403 `REQUEST_LIMIT_EXCEEDED`,
    /// as Salesforce's cap on concurrent long-running requests does. `None` means no cap.
    pub max_concurrent_calls: Option<u32>,
    /// When false every data API call returns 403 `API_DISABLED_FOR_ORG`.
    pub api_enabled: bool,
    /// When false the installing user is deactivated: its sessions and refresh tokens stop
    /// working.
    pub user_active: bool,
    pub daily_api_limit: u64,
    pub access_token_ttl_ms: u64,
    pub query_locator_ttl_ms: u64,
    pub errors: Vec<FaultRule>,
}

/// A partial update of [`Knobs`]; absent keys keep their value and `errors` replaces the list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobsPatch {
    pub commit_delay_ms: Option<u64>,
    pub clock_offset_ms: Option<i64>,
    pub latency_ms: Option<u64>,
    /// `null` removes the cap, so the outer `Option` separates "absent" from "null".
    #[serde(default, deserialize_with = "present")]
    pub max_concurrent_calls: Option<Option<u32>>,
    pub api_enabled: Option<bool>,
    pub user_active: Option<bool>,
    pub daily_api_limit: Option<u64>,
    pub access_token_ttl_ms: Option<u64>,
    pub query_locator_ttl_ms: Option<u64>,
    pub errors: Option<Vec<FaultRule>>,
}

impl Knobs {
    /// Applies a patch after checking it, so a rejected patch changes nothing.
    pub fn apply(&mut self, patch: KnobsPatch) -> Result<(), String> {
        for rule in patch.errors.iter().flatten() {
            match (rule.rate, rule.count) {
                (Some(rate), None) if (0.0..=1.0).contains(&rate) => {}
                (Some(rate), None) => {
                    return Err(format!(
                        "invalid rate {rate}: expected a share between 0.0 and 1.0"
                    ))
                }
                (None, Some(_)) => {}
                _ => return Err("each error rule needs exactly one of rate or count".to_string()),
            }
        }
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = patch.$field {
                    self.$field = value;
                }
            )*};
        }
        set!(
            commit_delay_ms,
            clock_offset_ms,
            latency_ms,
            max_concurrent_calls,
            api_enabled,
            user_active,
            daily_api_limit,
            access_token_ttl_ms,
            query_locator_ttl_ms,
            errors
        );
        Ok(())
    }

    /// Picks the injected fault for a call of endpoint kind `kind`, if one fires, and
    /// consumes one use of a counted rule.
    pub fn take_fault(&mut self, kind: &str) -> Option<FaultKind> {
        let position = self.errors.iter().position(|rule| {
            let applies = rule
                .endpoint
                .as_deref()
                .map_or(true, |endpoint| endpoint == kind);
            applies
                && match (rule.count, rule.rate) {
                    (Some(count), _) => count > 0,
                    (None, Some(rate)) => rand::random::<f64>() < rate,
                    (None, None) => false,
                }
        })?;
        let rule = &mut self.errors[position];
        let fired = rule.kind;
        if let Some(count) = &mut rule.count {
            *count -= 1;
            if *count == 0 {
                self.errors.remove(position);
            }
        }
        Some(fired)
    }
}

/// Builds the response of an injected fault for a non-collection call.
pub fn fault_response(kind: FaultKind) -> FaultResponse {
    match kind {
        FaultKind::ServerError => FaultResponse::Api(
            ApiError::new(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
            )
            .into(),
        ),
        FaultKind::ServiceUnavailable => FaultResponse::Html(
            503,
            "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>",
        ),
        FaultKind::UnableToLockRow => FaultResponse::Api(unable_to_lock_row().into()),
        FaultKind::RequestLimitExceeded => FaultResponse::Api(request_limit_exceeded().into()),
        FaultKind::DuplicatesDetected => FaultResponse::Api(duplicates_detected().into()),
    }
}

/// An injected fault rendered as HTTP.
#[derive(Debug, Clone)]
pub enum FaultResponse {
    Api(ApiResponse),
    Html(u16, &'static str),
}

pub fn unable_to_lock_row() -> ApiError {
    ApiError::new(
        400,
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access to this record or 1 records",
    )
    .with_fields(Vec::new())
}

/// Deserializes a key that is present, even as `null`, into `Some`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

pub fn concurrent_limit_exceeded() -> ApiError {
    ApiError::new(
        403,
        "REQUEST_LIMIT_EXCEEDED",
        "ConcurrentPerOrgLongTxn Limit exceeded.",
    )
}

pub fn request_limit_exceeded() -> ApiError {
    ApiError::new(
        403,
        "REQUEST_LIMIT_EXCEEDED",
        "TotalRequests Limit exceeded.",
    )
}

/// Builds the error a standard duplicate rule raises when it blocks a save.
pub fn duplicates_detected() -> ApiError {
    let mut error = ApiError::new(400, "DUPLICATES_DETECTED", "Use one of these records?");
    let details = serde_json::json!({
        "duplicateResult": {
            "allowSave": false,
            "duplicateRule": "Standard_Rule_for_Leads_with_Duplicate_Contacts",
            "duplicateRuleEntityType": "Lead",
            "errorMessage": "Use one of these records?",
            "matchResults": [{
                "entityType": "Lead",
                "errors": [],
                "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [],
                "rule": "Standard_Lead_Match_Rule_v1_0",
                "size": 0,
                "success": true,
            }],
        },
    });
    error.details = details.as_object().cloned().map(Box::new);
    error
}
