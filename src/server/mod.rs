//! Assembles the server: store, connectors, actors and HTTP endpoints, in start-up order.
//!
//! [`Server::start`] returns once the HTTP listener is bound; [`Server::shutdown`] stops
//! accepting requests, gives in-flight work a moment to settle and returns. Everything
//! acknowledged is durable at every point, so a stop at any moment loses nothing.

mod credentials;
mod intercom_setup;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use tracing::{info, warn};

use crate::actors::executor::{self, Executor, ExecutorSettings};
use crate::actors::health::HealthSupervisor;
use crate::actors::inbox::InboxDispatcher;
use crate::actors::poller::{InitialSync, Poller, PollerSettings};
use crate::actors::registry::{Registry, Router};
use crate::actors::services::{Services, Tuning};
use crate::config::Config;
use crate::connectors::intercom::{IntercomClient, IntercomConfig};
use crate::connectors::salesforce::{SalesforceClient, SalesforceConfig};
use crate::health::board::StatusBoard;
use crate::http::{self, AppState, OAuthSettings};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::attributes::AttributeMap;

pub use credentials::StoreCredentials;

/// Choices that are not in the config file: what the demo, the tests and the benchmarks set.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub initial_sync: InitialSync,
    pub tuning: Tuning,
    /// Runs the poller; tests that drive polls by hand turn it off.
    pub poll_automatically: bool,
    /// An OAuth authorization code and its redirect URI, exchanged for tokens before the
    /// poller and the healthcheck start.
    pub authorization: Option<(String, String)>,
}

impl Default for StartOptions {
    fn default() -> Self {
        Self {
            initial_sync: InitialSync::FromNow,
            tuning: Tuning::default(),
            poll_automatically: true,
            authorization: None,
        }
    }
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    http: ServerHandle,
}

impl Server {
    /// Opens the store, starts every actor and binds the HTTP listener.
    pub async fn start(config: Config, options: StartOptions) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let attributes = AttributeMap::from_settings(&config.sync)?;
        let store_path = config.store_path();
        let store = Store::open(&store_path)
            .and_then(|store| store.with_workspace(&config.workspace_id))
            .with_context(|| format!("cannot open the store {}", store_path.display()))?;
        info!(path = %store_path.display(), workspace = %config.workspace_id, "Store opened");

        let rules = attributes.rules(config.sync.create_leads);
        let metrics = Metrics::new();
        let board = Arc::new(StatusBoard::default());
        if let Some(report) = store.last_health()? {
            board.set_health(report);
        }

        let batch = store.batch_writer(8192, 1024)?;
        let inbox = store.inbox_writer()?;
        let mut tuning = options.tuning.clone();
        tuning.actor_idle = Duration::from_secs(config.sync.actor_idle_secs.max(1));
        let services = Arc::new(Services::new(
            store.clone(),
            batch,
            attributes,
            rules,
            metrics.clone(),
            tuning,
        ));
        let registry = Registry::new(Arc::clone(&services))?.start();
        services.set_registry(registry.clone());
        let router = Router::new(registry);

        let salesforce = salesforce_client(&config, &store)?;
        let has_tokens = store
            .salesforce_credentials::<crate::connectors::salesforce::SalesforceTokens>()
            .ok()
            .flatten()
            .is_some();
        if !has_tokens && options.authorization.is_none() {
            let start_url = format!("http://{}/oauth/start", config.listen);
            warn!(url = %start_url, "No Salesforce tokens are stored; open this URL in a browser to authorize the connection");
            board.needs_authorization(format!(
                "no Salesforce tokens are stored; open {start_url} to authorize the connection"
            ));
        }
        if let Some((code, redirect_uri)) = &options.authorization {
            salesforce
                .exchange_code(code, redirect_uri)
                .await
                .context("Salesforce rejected the authorization code")?;
            info!("Salesforce connection authorized");
        }
        let intercom = intercom_client(&config)?;
        intercom_setup::ensure_custom_attributes(&intercom, &services.attributes).await;
        let settings = ExecutorSettings {
            batch_size: config.salesforce.batch_size,
            batch_delay: Duration::from_millis(config.salesforce.batch_delay_ms),
            external_id_field: config.salesforce.external_id_field.clone(),
            api_budget_share: config.salesforce.api_budget_share,
            ..ExecutorSettings::default()
        };
        let executor = Executor::new(
            Arc::clone(&services),
            router.clone(),
            salesforce.clone(),
            intercom.clone(),
            Arc::clone(&board),
            settings,
        );
        let context = executor.context();
        let executor = executor.start();
        services.set_executor(executor.clone().recipient());
        executor::resend_pending(&services, &executor);

        let dispatcher = {
            let services = Arc::clone(&services);
            let router = router.clone();
            Supervisor::start(move |_| InboxDispatcher::new(services, router))
        };
        let poller = {
            let context = Arc::clone(&context);
            let router = router.clone();
            let settings = PollerSettings {
                interval: config.poll_interval(),
                overlap: Duration::from_secs(config.salesforce.poll_overlap_secs),
                initial: options.initial_sync,
            };
            let automatic = options.poll_automatically;
            Supervisor::start(move |_| {
                let mut poller = Poller::new(context, router, settings);
                poller.set_automatic(automatic);
                poller
            })
        };
        let health = {
            let context = Arc::clone(&context);
            let interval = Duration::from_secs(config.health.interval_secs.max(1));
            let notify_url = config.health.notify_url.clone();
            Supervisor::start(move |_| HealthSupervisor::new(context, interval, notify_url))
        };

        let state = Arc::new(AppState {
            services,
            router,
            board,
            metrics,
            inbox,
            dispatcher,
            poller,
            health,
            executor: context,
            webhook_secret: config.intercom.webhook_secret.expose().as_bytes().to_vec(),
            max_webhook_bytes: config.intercom.max_webhook_bytes,
            started_at: Instant::now(),
            oauth: OAuthSettings {
                login_url: config.salesforce.login_url.clone(),
                client_id: config.salesforce.client_id.clone(),
                redirect_uri: config.salesforce.redirect_uri.clone(),
            },
        });
        let app_state = web::Data::from(Arc::clone(&state));
        let listener = std::net::TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .configure(http::routes)
        })
        .disable_signals()
        .shutdown_timeout(5)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        info!(%addr, "intersync is serving");
        Ok(Server {
            addr,
            state,
            http: handle,
        })
    }

    /// Base URL of the HTTP endpoints.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, then waits up to `drain` for the inbox to empty.
    pub async fn shutdown(self, drain: Duration) {
        info!("Shutting down: no new requests are accepted");
        self.http.stop(true).await;
        let deadline = Instant::now() + drain;
        while Instant::now() < deadline {
            match self.state.services.store.inbox_depth() {
                Ok(0) | Err(_) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let left = self.state.services.store.inbox_depth().unwrap_or(0);
        info!(
            inbox_depth = left,
            "intersync stopped; entries left in the inbox are applied at the next start"
        );
    }
}

fn salesforce_client(config: &Config, store: &Store) -> anyhow::Result<SalesforceClient> {
    let mut settings = SalesforceConfig::new(
        config.salesforce.login_url.clone(),
        config.salesforce.client_id.clone(),
        config.salesforce.client_secret.clone(),
    );
    settings.api_version = config.salesforce.api_version.clone();
    settings.timeout = Duration::from_secs(config.salesforce.timeout_secs);
    settings.call_options_client = Some("intersync".to_owned());
    let credentials = Arc::new(StoreCredentials::new(store.clone()));
    Ok(SalesforceClient::new(settings, credentials)?)
}

fn intercom_client(config: &Config) -> anyhow::Result<IntercomClient> {
    let mut settings = IntercomConfig::new(
        config.intercom.base_url.clone(),
        config.intercom.access_token.clone(),
    );
    settings.version = config.intercom.api_version.clone();
    settings.timeout = Duration::from_secs(config.intercom.timeout_secs);
    Ok(IntercomClient::new(settings)?)
}
