//! A simulator of the Salesforce REST API for tests, benchmarks and the demo.
//!
//! It serves OAuth on a login host and the data API on a separate instance host, both on
//! loopback, and keeps every record in memory. The control API under `/_sim` seeds data,
//! changes describe flags and injects faults.

pub mod api;
pub mod collections;
pub mod composite;
pub mod config;
pub mod control;
pub mod describe;
pub mod error;
pub mod faults;
pub mod http;
pub mod ids;
pub mod oauth;
pub mod query;
pub mod records;
pub mod replication;
pub mod sobjects;
pub mod soql;
pub mod soql_eval;
pub mod state;
pub mod store;

use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

pub use config::SalesforceSimConfig;

use http::Hosts;
use state::SimState;

/// A running Salesforce simulator. Stop it with [`SalesforceSim::stop`].
pub struct SalesforceSim {
    login: SocketAddr,
    instance: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl SalesforceSim {
    /// Binds the login and instance listeners and starts serving. Works inside an actix
    /// System and on a plain tokio runtime.
    pub async fn start(config: SalesforceSimConfig) -> std::io::Result<SalesforceSim> {
        let login_listener = TcpListener::bind(config.listen)?;
        let instance_listener = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0))?;
        let login = login_listener.local_addr()?;
        let instance = instance_listener.local_addr()?;

        let state = SimState::new(
            config,
            format!("http://{login}"),
            format!("http://{instance}"),
        );
        let state = web::Data::new(Mutex::new(state));
        let hosts = web::Data::new(Hosts { login, instance });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(hosts.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/services/oauth2/authorize", web::get().to(http::authorize))
                .route("/services/oauth2/token", web::post().to(http::token))
                .route("/services/oauth2/revoke", web::post().to(http::revoke))
                .route("/services/oauth2/revoke", web::get().to(http::revoke))
                .route("/services/oauth2/userinfo", web::get().to(http::userinfo))
                .configure(control::routes)
                .default_service(web::to(http::data_api))
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(login_listener)?
        .listen(instance_listener)?
        .run();

        let handle = server.handle();
        let task = tokio::spawn(server);
        tracing::info!(login = %login, instance = %instance, "Salesforce simulator started");
        Ok(SalesforceSim {
            login,
            instance,
            handle,
            task,
        })
    }

    /// Base URL of the login host, which serves `/services/oauth2/*` and `/_sim`.
    pub fn login_url(&self) -> String {
        format!("http://{}", self.login)
    }

    /// Base URL of the instance host, which serves `/services/data` and `/_sim`.
    pub fn instance_url(&self) -> String {
        format!("http://{}", self.instance)
    }

    /// Stops accepting connections, finishes in-flight requests and waits for the server.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        if let Err(error) = self.task.await {
            tracing::warn!(error = %error, "Salesforce simulator task ended abnormally");
        }
        tracing::info!(login = %self.login, "Salesforce simulator stopped");
    }
}
