//! The HTTP endpoints: webhook ingest, status, metrics and admin.
//!
//! | route | purpose |
//! |---|---|
//! | `POST /webhooks/intercom` | Intercom webhook notifications |
//! | `GET /status` | health for monitoring: 200 when healthy, 503 when not |
//! | `GET /metrics` | Prometheus text format |
//! | `GET /sync-errors`, `POST /sync-errors/retry`, `POST /sync-errors/{id}/retry` | failed operations and their retry |
//! | `GET /mappings`, `GET /mappings/{id}` | identity mappings with their state and history |
//! | `POST /actions/create-lead`, `POST /actions/poll`, `POST /actions/healthcheck` | actions |
//! | `GET /oauth/start`, `GET /oauth/callback` | the Salesforce OAuth web flow |
//! | `GET /` | the admin page |

mod admin;
mod oauth;
mod status;
pub mod webhook;

use std::sync::Arc;
use std::time::Instant;

use actix::Addr;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::actors::executor::Context as ExecutorContext;
use crate::actors::health::HealthSupervisor;
use crate::actors::inbox::InboxDispatcher;
use crate::actors::poller::Poller;
use crate::actors::registry::Router;
use crate::actors::services::Services;
use crate::health::board::StatusBoard;
use crate::metrics::Metrics;
use crate::store::InboxWriter;

/// The shared state of every handler.
pub struct AppState {
    pub services: Arc<Services>,
    pub router: Router,
    pub board: Arc<StatusBoard>,
    pub metrics: Metrics,
    pub inbox: InboxWriter,
    pub dispatcher: Addr<InboxDispatcher>,
    pub poller: Addr<Poller>,
    pub health: Addr<HealthSupervisor>,
    pub executor: Arc<ExecutorContext>,
    pub webhook_secret: Vec<u8>,
    pub max_webhook_bytes: usize,
    pub started_at: Instant,
    pub oauth: OAuthSettings,
}

/// Settings of the OAuth web flow; the client secret stays in the connector.
pub struct OAuthSettings {
    pub login_url: String,
    pub client_id: String,
    pub redirect_uri: String,
}

/// Registers every route, with JSON error bodies for bad request bodies, paths, queries
/// and unknown routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .app_data(
            web::JsonConfig::default()
                .error_handler(|error, _| bad_request(format!("invalid JSON body: {error}"))),
        )
        .app_data(
            web::PathConfig::default()
                .error_handler(|error, _| bad_request(format!("invalid path parameter: {error}"))),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|error, _| bad_request(format!("invalid query parameter: {error}"))),
        )
        .default_service(web::to(not_found))
        .route("/webhooks/intercom", web::post().to(webhook::receive))
        .route("/webhooks/intercom", web::head().to(webhook::validate))
        .route("/webhooks/intercom", web::route().to(post_only))
        .route("/status", web::get().to(status::status))
        .route("/metrics", web::get().to(status::metrics))
        .route("/sync-errors", web::get().to(admin::list_sync_errors))
        .route("/sync-errors/retry", web::post().to(admin::retry_all))
        .route("/sync-errors/{id}/retry", web::post().to(admin::retry_one))
        .route("/mappings", web::get().to(admin::list_mappings))
        .route("/mappings/{id}", web::get().to(admin::get_mapping))
        .route("/actions/create-lead", web::post().to(admin::create_lead))
        .route("/actions/poll", web::post().to(admin::poll_now))
        .route("/actions/healthcheck", web::post().to(admin::check_now))
        .route("/oauth/start", web::get().to(oauth::start))
        .route("/oauth/callback", web::get().to(oauth::callback))
        .route("/", web::get().to(admin::page));
}

fn bad_request(message: String) -> actix_web::Error {
    actix_web::error::InternalError::from_response(
        message.clone(),
        HttpResponse::BadRequest().json(json!({"error": message})),
    )
    .into()
}

async fn not_found(request: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(json!({
        "error": format!("no route for {} {}", request.method(), request.path()),
        "detail": "the admin page at / links to every endpoint",
    }))
}

async fn post_only(request: actix_web::HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((actix_web::http::header::ALLOW, "POST, HEAD"))
        .json(json!({
            "error": format!("{} is not allowed on {}; Intercom delivers webhooks with POST", request.method(), request.path()),
        }))
}
