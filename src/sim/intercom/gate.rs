//! The checks every REST request passes before its handler: the bearer token, the rate limit,
//! injected faults and added latency. Every authenticated response gets `X-RateLimit-*` headers.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest};

use super::contact::now_ms;
use super::error::ApiError;
use super::rate_limit::RateDecision;
use super::state::SimState;

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Admits a REST request: 401 without the configured bearer token, 429 past the rate limit,
/// an injected error when the fault knobs call for one, and otherwise the handler's response.
pub async fn admit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let state = request
        .app_data::<web::Data<SimState>>()
        .expect("the simulator state is registered")
        .clone();

    if !has_token(request.headers(), &state.config.access_token) {
        state
            .api_stats
            .unauthorized
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::unauthorized().into());
    }

    let faults = state.faults();
    let decision = state.limiter.check(faults.rate_limit_per_window, now_ms());
    if !decision.allowed {
        state
            .api_stats
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            format!(
                "Exceeded rate limit of {} in {}_seconds",
                decision.limit,
                state.config.rate_limit_window.as_secs()
            ),
        );
        return Err(with_rate_headers(error, decision).into());
    }

    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    if let Some(status) = state.take_injected_error() {
        state
            .api_stats
            .injected_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(with_rate_headers(injected_error(status, &decision), decision).into());
    }

    let mut response = next.call(request).await?;
    for (name, value) in rate_headers(decision) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// Returns a 404 in the error envelope for paths the simulator does not serve.
pub async fn unknown_route(request: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::route_not_found(request.path()))
}

fn has_token(headers: &HeaderMap, expected: &str) -> bool {
    let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer") && token.trim() == expected
}

fn rate_headers(decision: RateDecision) -> [(HeaderName, HeaderValue); 3] {
    [
        (LIMIT, HeaderValue::from(decision.limit)),
        (REMAINING, HeaderValue::from(decision.remaining)),
        (RESET, HeaderValue::from(decision.reset_at)),
    ]
}

fn with_rate_headers(mut error: ApiError, decision: RateDecision) -> ApiError {
    error.headers.extend(rate_headers(decision));
    error
}

fn injected_error(status: u16, decision: &RateDecision) -> ApiError {
    match status {
        429 => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            format!("Exceeded rate limit of {} in 10_seconds", decision.limit),
        ),
        503 => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "Sorry, the API service is temporarily unavailable",
        ),
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "Server Error",
        ),
    }
}
