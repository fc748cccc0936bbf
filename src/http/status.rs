//! `GET /status` for monitoring and `GET /metrics` for Prometheus.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::AppState;
use crate::health::board::ConnectionState;
use crate::health::Finding;

/// The body of `GET /status`. It carries no secret and no person's data.
#[derive(Debug, Serialize)]
pub struct Status {
    pub healthy: bool,
    pub problems: Vec<Finding>,
    pub connection: ConnectionState,
    /// The reason the connection is not `connected`.
    pub connection_detail: Option<String>,
    /// Identity mappings: an Intercom contact linked to a Salesforce record.
    pub mappings: u64,
    /// People the store tracks, mapped or not, tombstones included.
    pub people: u64,
    pub inbox_depth: u64,
    pub pending_writes: u64,
    pub sync_errors: u64,
    /// When the last successful Salesforce poll finished (RFC 3339).
    pub last_poll_at: Option<String>,
    /// Seconds since the last successful poll finished.
    pub poll_lag_seconds: Option<f64>,
    pub api_usage: Option<ApiUsageStatus>,
    /// Unix milliseconds of the last healthcheck.
    pub last_health_check_ms: Option<i64>,
    /// When the last healthcheck finished (RFC 3339).
    pub last_health_check_at: Option<String>,
    pub uptime_seconds: u64,
}

#[derive(Debug, Serialize)]
pub struct ApiUsageStatus {
    pub used: u64,
    pub max: u64,
}

/// Gathers the status from the store and the status board.
pub fn collect(state: &AppState) -> Status {
    let store = &state.services.store;
    let health = state.board.health();
    let problems = health
        .as_ref()
        .map(|report| report.findings.clone())
        .unwrap_or_default();
    let (mut connection, mut connection_detail) = state.board.connection();
    if let Some(reason) = state.executor.salesforce.reauthorization_reason() {
        connection = ConnectionState::NeedsReauthorization;
        connection_detail = Some(reason);
    }
    let last_poll = state.board.last_poll_at();
    Status {
        healthy: problems.is_empty() && connection == ConnectionState::Connected,
        problems,
        connection,
        connection_detail,
        mappings: store.paired_mapping_count().unwrap_or(0),
        people: store.mapping_count().unwrap_or(0),
        inbox_depth: store.inbox_depth().unwrap_or(0),
        pending_writes: store.pending_count().unwrap_or(0),
        sync_errors: store.sync_error_count().unwrap_or(0),
        last_poll_at: last_poll.map(|time| time.to_rfc3339()),
        poll_lag_seconds: last_poll
            .map(|time| (Utc::now() - time).num_milliseconds() as f64 / 1000.0),
        api_usage: state
            .executor
            .salesforce
            .api_usage()
            .map(|usage| ApiUsageStatus {
                used: usage.used,
                max: usage.max,
            }),
        last_health_check_at: health.as_ref().and_then(|report| {
            chrono::DateTime::<Utc>::from_timestamp_millis(report.checked_at_ms)
                .map(|time| time.to_rfc3339())
        }),
        last_health_check_ms: health.map(|report| report.checked_at_ms),
        uptime_seconds: state.started_at.elapsed().as_secs(),
    }
}

pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    let status = web::block(move || collect(&state)).await;
    match status {
        Ok(status) => {
            let code = if status.healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            HttpResponse::build(code).json(status)
        }
        Err(error) => HttpResponse::InternalServerError()
            .json(serde_json::json!({"error": format!("failed to read the status: {error}")})),
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(state.metrics.encode())
}
