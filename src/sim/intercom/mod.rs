//! An in-process simulator of the Intercom REST API (2.x) and its webhooks.
//!
//! It serves contacts, search, merge, data attributes and `/me` over HTTP with Intercom's
//! bodies, headers and errors, enforces a per-window rate limit, and sends signed webhook
//! notifications for every change made through it. The control API under `/_sim/` resets,
//! seeds, reports counters, sets fault knobs and subscribes webhook receivers.

mod contact;
mod control;
mod data_attributes;
mod error;
mod gate;
mod handlers;
mod rate_limit;
mod search;
mod state;
mod stats;
mod store;
mod webhooks;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{middleware, web, App, HttpServer};

pub use webhooks::sign as sign_webhook;

use data_attributes::DataAttributes;
use rate_limit::RateLimiter;
use state::{ApiFaults, SimState};
use stats::{ApiStats, WebhookStats};
use store::ContactStore;
use webhooks::{EmitterSettings, WebhookEmitter};

/// The access token the simulator accepts unless configured otherwise.
pub const DEFAULT_ACCESS_TOKEN: &str = "sim-intercom-token";
/// The webhook client secret notifications are signed with unless configured otherwise.
pub const DEFAULT_WEBHOOK_SECRET: &str = "sim-webhook-secret";
/// The default requests per rate-limit window: high, so the demo and load benchmarks never
/// reach it. Intercom's own limits are far lower (about 167 per 10 seconds for a private app).
pub const DEFAULT_RATE_LIMIT_PER_WINDOW: u32 = 100_000;

/// The settings of one Intercom simulator.
#[derive(Debug, Clone)]
pub struct IntercomSimConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer token requests must carry.
    pub access_token: String,
    /// The secret of receivers subscribed without one of their own.
    pub webhook_secret: String,
    /// Requests allowed per rate-limit window.
    pub rate_limit_per_window: u32,
    /// The length of a rate-limit window; Intercom uses 10 seconds.
    pub rate_limit_window: Duration,
    /// The wait before the one retry of a failed delivery; Intercom waits a minute.
    pub webhook_retry_delay: Duration,
    /// The time a receiver has to respond to a delivery; Intercom allows 5 seconds.
    pub webhook_timeout: Duration,
    /// Deliveries in flight at once.
    pub webhook_concurrency: usize,
    /// Notifications waiting for delivery before API calls that emit more wait for room.
    pub webhook_queue_capacity: usize,
    /// The `workspace_id` of contacts and the `app_id` of notifications.
    pub workspace_id: String,
    /// The API version assumed when a request has no `Intercom-Version` header.
    pub default_api_version: String,
    /// HTTP worker threads.
    pub workers: usize,
}

impl Default for IntercomSimConfig {
    fn default() -> Self {
        IntercomSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_token: DEFAULT_ACCESS_TOKEN.to_string(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_string(),
            rate_limit_per_window: DEFAULT_RATE_LIMIT_PER_WINDOW,
            rate_limit_window: Duration::from_secs(10),
            webhook_retry_delay: Duration::from_secs(60),
            webhook_timeout: Duration::from_secs(5),
            webhook_concurrency: 16,
            webhook_queue_capacity: 10_000,
            workspace_id: "intersim".to_string(),
            default_api_version: "2.11".to_string(),
            workers: 2,
        }
    }
}

/// A running Intercom simulator; it lives until [`IntercomSim::stop`] or the actix System ends.
pub struct IntercomSim {
    base_url: String,
    server: ServerHandle,
    dispatcher: tokio::task::JoinHandle<()>,
}

impl IntercomSim {
    /// Binds the listener and starts the HTTP server and the webhook dispatcher on the current
    /// actix System.
    pub async fn start(config: IntercomSimConfig) -> std::io::Result<IntercomSim> {
        let listener = TcpListener::bind(config.listen)?;
        let address = listener.local_addr()?;
        let base_url = format!("http://{address}");

        let webhook_stats = Arc::new(WebhookStats::default());
        let settings = EmitterSettings {
            app_id: config.workspace_id.clone(),
            timeout: config.webhook_timeout,
            retry_delay: config.webhook_retry_delay,
            concurrency: config.webhook_concurrency,
            queue_capacity: config.webhook_queue_capacity,
        };
        let (emitter, dispatcher) = WebhookEmitter::start(settings, webhook_stats.clone())?;
        let state = web::Data::new(SimState {
            base_url: base_url.clone(),
            contacts: Mutex::new(ContactStore::default()),
            attributes: Mutex::new(DataAttributes::default()),
            faults: Mutex::new(ApiFaults::from_config(&config)),
            limiter: RateLimiter::new(config.rate_limit_window),
            api_stats: ApiStats::default(),
            webhook_stats,
            emitter,
            config: config.clone(),
        });

        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PathConfig::default().error_handler(|error, _| {
                    error::ApiError::bad_request(format!("Invalid path: {error}")).into()
                }))
                .app_data(web::QueryConfig::default().error_handler(|error, _| {
                    error::ApiError::bad_request(format!("Invalid query string: {error}")).into()
                }))
                .wrap(middleware::NormalizePath::trim())
                .service(web::scope("/_sim").configure(control::routes))
                .service(
                    web::scope("")
                        .wrap(actix_web::middleware::from_fn(gate::admit))
                        .configure(handlers::routes)
                        .default_service(web::to(gate::unknown_route)),
                )
        })
        .workers(config.workers.max(1))
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let server_handle = server.handle();
        actix_rt::spawn(server);

        tracing::info!(%base_url, "Intercom simulator started");
        Ok(IntercomSim {
            base_url,
            server: server_handle,
            dispatcher,
        })
    }

    /// `http://127.0.0.1:PORT`, the base URL to point an Intercom client at.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops accepting requests, waits for those in flight and ends webhook delivery.
    pub async fn stop(self) {
        self.server.stop(true).await;
        self.dispatcher.abort();
        let _ = self.dispatcher.await;
        tracing::info!(base_url = %self.base_url, "Intercom simulator stopped");
    }
}
