//! actix-web handlers: the data API entry point with authentication, limits and injected
//! faults, and the OAuth endpoints on the login host.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Value};

use super::api::{dispatch, endpoint_kind, ApiRequest};
use super::composite::split_data_path;
use super::error::{ApiError, ApiResponse};
use super::faults::{
    concurrent_limit_exceeded, fault_response, request_limit_exceeded, FaultResponse,
};
use super::oauth::{identity, token_response, OAuthError};
use super::state::SimState;

/// The shared simulator state, as registered with actix.
pub type SharedState = web::Data<Mutex<SimState>>;

/// The bound addresses, so handlers can tell the login host from the instance host.
#[derive(Debug, Clone, Copy)]
pub struct Hosts {
    pub login: SocketAddr,
    pub instance: SocketAddr,
}

pub fn lock(state: &SharedState) -> MutexGuard<'_, SimState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves every `/services/data/...` call.
pub async fn data_api(
    request: HttpRequest,
    body: Bytes,
    state: SharedState,
    hosts: web::Data<Hosts>,
) -> HttpResponse {
    if request.app_config().local_addr() != hosts.instance {
        // The login host serves only OAuth, so a client must switch to `instance_url`.
        return to_http(ApiError::not_found().into(), None);
    }
    let path = request.path().trim_end_matches('/');
    if path == "/services/data" {
        return HttpResponse::Ok().json(versions());
    }
    let Some((version, segments)) = split_data_path(request.path()) else {
        return to_http(ApiError::not_found().into(), None);
    };

    let Some(_in_flight) = InFlight::enter(&state) else {
        let state = lock(&state);
        return to_http(concurrent_limit_exceeded().into(), Some(&state));
    };
    let latency = lock(&state).knobs.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }

    let mut state = lock(&state);
    let token = bearer_token(&request);
    let authorized = token.is_some_and(|token| state.oauth.is_valid_access_token(token));
    if !authorized || !state.knobs.user_active {
        tracing::debug!(path = %request.path(), "Rejected a data API call without a valid session");
        return to_http(ApiError::invalid_session().into(), Some(&state));
    }
    if !state.knobs.api_enabled {
        let error = ApiError::new(
            403,
            "API_DISABLED_FOR_ORG",
            "The REST API is not enabled for this Organization.",
        );
        return to_http(error.into(), Some(&state));
    }
    if state.api_usage >= state.knobs.daily_api_limit {
        return to_http(request_limit_exceeded().into(), Some(&state));
    }
    state.api_usage += 1;

    let kind = endpoint_kind(&segments);
    state.count_call(kind);
    if let Some(fault) = state.knobs.take_fault(kind) {
        state.faults_injected += 1;
        tracing::debug!(kind, fault = ?fault, "Injected a fault");
        if fault.is_per_record() && kind == "collections" {
            state.record_fault = Some(fault);
        } else {
            return match fault_response(fault) {
                FaultResponse::Api(response) => to_http(response, Some(&state)),
                FaultResponse::Html(status, html) => HttpResponse::build(status_code(status))
                    .insert_header(limit_header(&state))
                    .insert_header(date_header(&state))
                    .content_type("text/html; charset=UTF-8")
                    .body(html),
            };
        }
    }

    let api_request = ApiRequest {
        method: request.method().as_str(),
        segments,
        query: query_map(request.query_string()),
        body: &body,
        version,
        batch_size: batch_size(&request),
        if_modified_since: if_modified_since(&request),
    };
    let response = dispatch(&mut state, &api_request);
    state.record_fault = None;
    to_http(response, Some(&state))
}

/// One data API call counted in `calls_in_flight` until it is dropped.
struct InFlight(SharedState);

impl InFlight {
    /// Counts a call in, or returns `None` when the concurrency cap is reached.
    fn enter(state: &SharedState) -> Option<InFlight> {
        let mut guard = lock(state);
        let cap = guard.knobs.max_concurrent_calls;
        if cap.is_some_and(|cap| guard.calls_in_flight >= cap) {
            return None;
        }
        guard.calls_in_flight += 1;
        Some(InFlight(state.clone()))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut guard = lock(&self.0);
        guard.calls_in_flight = guard.calls_in_flight.saturating_sub(1);
    }
}

fn bearer_token(request: &HttpRequest) -> Option<&str> {
    let header = request.headers().get("Authorization")?.to_str().ok()?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("OAuth "))
        .map(str::trim)
}

fn batch_size(request: &HttpRequest) -> Option<usize> {
    let header = request
        .headers()
        .get("Sforce-Query-Options")?
        .to_str()
        .ok()?;
    header
        .split(',')
        .find_map(|option| option.trim().strip_prefix("batchSize="))
        .and_then(|size| size.trim().parse().ok())
}

fn if_modified_since(request: &HttpRequest) -> Option<chrono::DateTime<chrono::Utc>> {
    let header = request.headers().get("If-Modified-Since")?.to_str().ok()?;
    chrono::DateTime::parse_from_rfc2822(header)
        .ok()
        .map(|moment| moment.with_timezone(&chrono::Utc))
}

pub fn query_map(query_string: &str) -> HashMap<String, String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query_string)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

fn limit_header(state: &SimState) -> (&'static str, String) {
    let value = format!(
        "api-usage={}/{}",
        state.api_usage, state.knobs.daily_api_limit
    );
    ("Sforce-Limit-Info", value)
}

/// Builds the `Date` header from the simulated clock, so clients that read server time see
/// the configured clock offset.
fn date_header(state: &SimState) -> (&'static str, String) {
    (
        "Date",
        state.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
    )
}

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Turns an API response into HTTP, adding `Sforce-Limit-Info` when the state is known.
fn to_http(response: ApiResponse, state: Option<&SimState>) -> HttpResponse {
    let mut builder = HttpResponse::build(status_code(response.status));
    if let Some(state) = state {
        builder.insert_header(limit_header(state));
        builder.insert_header(date_header(state));
    }
    for (name, value) in &response.headers {
        builder.insert_header((name.as_str(), value.as_str()));
    }
    match response.body {
        Some(body) => builder.json(body),
        None => builder.finish(),
    }
}

fn versions() -> Value {
    let versions: Vec<Value> = (55..=64)
        .map(|major| {
            json!({
                "label": format!("API v{major}.0"),
                "url": format!("/services/data/v{major}.0"),
                "version": format!("{major}.0"),
            })
        })
        .collect();
    Value::Array(versions)
}

/// `GET /services/oauth2/authorize`: approves at once and redirects with a code.
pub async fn authorize(request: HttpRequest, state: SharedState) -> HttpResponse {
    let query = query_map(request.query_string());
    let mut state = lock(&state);
    state.count_call("oauth");
    if query.get("client_id") != Some(&state.config.client_id) {
        return oauth_error(OAuthError::invalid_client_id());
    }
    let Some(redirect_uri) = query.get("redirect_uri") else {
        return oauth_error(OAuthError::missing("redirect_uri is missing"));
    };
    let mut params = vec![];
    if query.get("response_type").map(String::as_str) == Some("code") {
        params.push(("code", state.oauth.issue_code(redirect_uri)));
    } else {
        params.push(("error", "unsupported_response_type".to_string()));
        params.push((
            "error_description",
            "response type not supported".to_string(),
        ));
    }
    if let Some(client_state) = query.get("state") {
        params.push(("state", client_state.clone()));
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let encoded = serde_urlencoded::to_string(&params).unwrap_or_default();
    HttpResponse::Found()
        .insert_header(("Location", format!("{redirect_uri}{separator}{encoded}")))
        .finish()
}

/// `POST /services/oauth2/token` for the `authorization_code` and `refresh_token` grants.
pub async fn token(body: Bytes, state: SharedState) -> HttpResponse {
    let form = query_map(std::str::from_utf8(&body).unwrap_or(""));
    let mut state = lock(&state);
    state.count_call("oauth");
    let state = &mut *state;

    let Some(grant_type) = form.get("grant_type") else {
        return oauth_error(OAuthError::missing_grant_type());
    };
    if form.get("client_id") != Some(&state.config.client_id) {
        return oauth_error(OAuthError::invalid_client_id());
    }
    if form.get("client_secret") != Some(&state.config.client_secret) {
        return oauth_error(OAuthError::invalid_client());
    }
    if !state.knobs.user_active {
        return oauth_error(OAuthError::user_inactive());
    }
    let ttl = Duration::from_millis(state.knobs.access_token_ttl_ms);
    let issued = match grant_type.as_str() {
        "authorization_code" => {
            let Some(code) = form.get("code") else {
                return oauth_error(OAuthError::missing("code is missing"));
            };
            let max = state.config.max_refresh_tokens_per_user;
            state
                .oauth
                .exchange_code(code, form.get("redirect_uri").map(String::as_str), ttl, max)
        }
        "refresh_token" => {
            let Some(refresh_token) = form.get("refresh_token") else {
                return oauth_error(OAuthError::missing("refresh token is missing"));
            };
            let rotate = state.config.rotate_refresh_tokens;
            state.oauth.refresh(refresh_token, ttl, rotate)
        }
        _ => Err(OAuthError::unsupported_grant_type()),
    };
    match issued {
        Ok(tokens) => {
            let body = token_response(
                &tokens,
                &state.login_url,
                &state.instance_url,
                &state.config.client_secret,
            );
            HttpResponse::Ok().json(body)
        }
        Err(error) => {
            tracing::debug!(grant_type = %grant_type, error = %error, "Rejected a token request");
            oauth_error(error)
        }
    }
}

/// `POST /services/oauth2/revoke` with a `token` parameter in the form or the query.
pub async fn revoke(request: HttpRequest, body: Bytes, state: SharedState) -> HttpResponse {
    let mut params = query_map(request.query_string());
    params.extend(query_map(std::str::from_utf8(&body).unwrap_or("")));
    let mut state = lock(&state);
    state.count_call("oauth");
    match params.get("token") {
        Some(token) if state.oauth.revoke(token) => HttpResponse::Ok().finish(),
        _ => HttpResponse::BadRequest().json(json!({
            "error": "unsupported_token_type",
            "error_description": "this token type is not supported",
        })),
    }
}

/// `GET /services/oauth2/userinfo` for the holder of a valid access token.
pub async fn userinfo(request: HttpRequest, state: SharedState) -> HttpResponse {
    let mut state = lock(&state);
    state.count_call("oauth");
    let valid =
        bearer_token(&request).is_some_and(|token| state.oauth.is_valid_access_token(token));
    if !valid || !state.knobs.user_active {
        return HttpResponse::Forbidden().body("Bad_OAuth_Token");
    }
    let identity = identity();
    HttpResponse::Ok().json(json!({
        "sub": format!("{}/id/{}/{}", state.login_url, identity.org_id, identity.user_id),
        "user_id": identity.user_id,
        "organization_id": identity.org_id,
        "preferred_username": "sim-user@intersync.example",
        "name": "Sim User",
        "email": "sim-user@intersync.example",
        "active": state.knobs.user_active,
    }))
}

fn oauth_error(error: OAuthError) -> HttpResponse {
    HttpResponse::build(status_code(error.status)).json(error.body())
}
