//! A server wired to both simulators on loopback: what `intersync demo`, the integration
//! tests and the load benchmark run.
//!
//! The start-up follows what an operator does with real accounts: seed or find the people,
//! start the server, authorize the Salesforce connection through the OAuth web flow, and
//! subscribe the server's webhook URL in Intercom.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::{json, Value};
use tracing::info;

use crate::actors::poller::InitialSync;
use crate::config::Config;
use crate::server::{Server, StartOptions};
use crate::sim::intercom::{IntercomSim, IntercomSimConfig};
use crate::sim::salesforce::{SalesforceSim, SalesforceSimConfig};

/// Redirect URI registered for the simulated connected app.
const REDIRECT_URI: &str = "http://127.0.0.1/oauth/callback";

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub poll_interval: Duration,
    pub poll_automatically: bool,
    pub initial_sync: InitialSync,
    /// People generated for both simulators before the server starts; 0 for none.
    pub people: usize,
    /// Share of the people who exist on both sides.
    pub overlap: f64,
    pub seed: u64,
    pub salesforce: SalesforceSimConfig,
    pub intercom: IntercomSimConfig,
    /// Applied to the server's configuration before it starts.
    pub configure: fn(&mut Config),
}

impl SandboxOptions {
    /// A sandbox on loopback port 0 with the store in `data_dir`, no people and no automatic
    /// polls.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            poll_interval: Duration::from_secs(10),
            poll_automatically: false,
            initial_sync: InitialSync::All,
            people: 0,
            overlap: 0.5,
            seed: 42,
            salesforce: SalesforceSimConfig::default(),
            intercom: IntercomSimConfig::default(),
            configure: |_| {},
        }
    }
}

/// Both simulators and the server, running.
pub struct Sandbox {
    pub salesforce: SalesforceSim,
    pub intercom: IntercomSim,
    pub server: Server,
    pub config: Config,
    /// An HTTP client for the simulators' and the server's endpoints.
    pub http: reqwest::Client,
}

impl Sandbox {
    pub async fn start(options: SandboxOptions) -> anyhow::Result<Sandbox> {
        let salesforce_config = options.salesforce.clone();
        let intercom_config = options.intercom.clone();
        let salesforce = SalesforceSim::start(salesforce_config.clone())
            .await
            .context("cannot start the Salesforce simulator")?;
        let intercom = IntercomSim::start(intercom_config.clone())
            .await
            .context("cannot start the Intercom simulator")?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()?;

        if options.people > 0 {
            let body =
                json!({"people": options.people, "overlap": options.overlap, "seed": options.seed});
            for url in [
                format!("{}/_sim/seed", salesforce.login_url()),
                format!("{}/_sim/seed", intercom.base_url()),
            ] {
                let response = http.post(&url).json(&body).send().await?;
                if !response.status().is_success() {
                    bail!("seeding {url} failed: {}", response.text().await?);
                }
            }
            info!(
                people = options.people,
                overlap = options.overlap,
                "Seeded both simulators"
            );
        }

        let mut config = Config {
            listen: options.listen,
            data_dir: options.data_dir.clone(),
            ..Config::default()
        };
        config.salesforce.login_url = salesforce.login_url();
        config.salesforce.client_id = salesforce_config.client_id.clone();
        config.salesforce.client_secret = salesforce_config.client_secret.clone().into();
        config.salesforce.poll_interval_secs = options.poll_interval.as_secs().max(1);
        config.intercom.base_url = intercom.base_url();
        config.intercom.access_token = intercom_config.access_token.clone().into();
        config.intercom.webhook_secret = intercom_config.webhook_secret.clone().into();
        (options.configure)(&mut config);
        config.validate()?;

        let code = authorization_code(
            &http,
            &salesforce.login_url(),
            &config.salesforce.client_id,
            REDIRECT_URI,
        )
        .await?;
        let start = StartOptions {
            initial_sync: options.initial_sync,
            poll_automatically: options.poll_automatically,
            authorization: Some((code, REDIRECT_URI.to_owned())),
            ..StartOptions::default()
        };
        let server = Server::start(config.clone(), start).await?;

        let subscription = json!({
            "url": format!("{}/webhooks/intercom", server.url()),
            "secret": config.intercom.webhook_secret.expose(),
        });
        let response = http
            .post(format!("{}/_sim/webhooks", intercom.base_url()))
            .json(&subscription)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("subscribing the webhook failed: {}", response.text().await?);
        }
        info!(server = %server.url(), salesforce = %salesforce.login_url(), intercom = %intercom.base_url(), "Sandbox started");
        Ok(Sandbox {
            salesforce,
            intercom,
            server,
            config,
            http,
        })
    }

    /// Stops the server, then both simulators.
    pub async fn stop(self) {
        self.server.shutdown(Duration::from_secs(5)).await;
        self.intercom.stop().await;
        self.salesforce.stop().await;
    }

    /// `GET /_sim/stats` of the Salesforce simulator.
    pub async fn salesforce_stats(&self) -> anyhow::Result<Value> {
        let url = format!("{}/_sim/stats", self.salesforce.login_url());
        Ok(self.http.get(url).send().await?.json().await?)
    }

    /// `GET /_sim/stats` of the Intercom simulator.
    pub async fn intercom_stats(&self) -> anyhow::Result<Value> {
        let url = format!("{}/_sim/stats", self.intercom.base_url());
        Ok(self.http.get(url).send().await?.json().await?)
    }

    /// `GET /status` of the server, whatever its HTTP status.
    pub async fn status(&self) -> anyhow::Result<Value> {
        let url = format!("{}/status", self.server.url());
        Ok(self.http.get(url).send().await?.json().await?)
    }
}

/// Runs the authorize step of the OAuth web flow and returns the code from the redirect.
/// The client must not follow redirects.
pub(crate) async fn authorization_code(
    http: &reqwest::Client,
    login_url: &str,
    client_id: &str,
    redirect_uri: &str,
) -> anyhow::Result<String> {
    let response = http
        .get(format!("{login_url}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", "intersync"),
        ])
        .send()
        .await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .context("the authorize endpoint did not redirect")?;
    let url = reqwest::Url::parse(location).context("the authorize redirect is not a URL")?;
    let code = url
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .context("the authorize redirect carries no code")?;
    Ok(code)
}
