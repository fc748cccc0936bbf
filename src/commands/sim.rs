//! `intersync sim`: only the two simulators, as a local sandbox of both APIs.

use std::net::SocketAddr;

use anyhow::{bail, Context as _};
use serde_json::json;

use crate::sim::intercom::{IntercomSim, IntercomSimConfig};
use crate::sim::salesforce::{SalesforceSim, SalesforceSimConfig};

/// Runs both simulators until SIGINT or SIGTERM, seeding `people` on each side first.
pub fn sim(
    salesforce_listen: SocketAddr,
    intercom_listen: SocketAddr,
    people: usize,
) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let salesforce_config = SalesforceSimConfig {
            listen: salesforce_listen,
            ..SalesforceSimConfig::default()
        };
        let intercom_config = IntercomSimConfig {
            listen: intercom_listen,
            ..IntercomSimConfig::default()
        };
        let salesforce = SalesforceSim::start(salesforce_config.clone())
            .await
            .with_context(|| {
                format!("cannot start the Salesforce simulator on {salesforce_listen}")
            })?;
        let intercom = IntercomSim::start(intercom_config.clone())
            .await
            .with_context(|| format!("cannot start the Intercom simulator on {intercom_listen}"))?;

        if people > 0 {
            let http = reqwest::Client::new();
            let body = json!({"people": people, "overlap": 0.5, "seed": 42});
            for url in [
                format!("{}/_sim/seed", salesforce.login_url()),
                format!("{}/_sim/seed", intercom.base_url()),
            ] {
                let response = http.post(&url).json(&body).send().await?;
                if !response.status().is_success() {
                    bail!("seeding {url} failed: {}", response.text().await?);
                }
            }
        }

        println!("Salesforce simulator");
        println!("  login URL:     {}", salesforce.login_url());
        println!("  instance URL:  {}", salesforce.instance_url());
        println!("  client id:     {}", salesforce_config.client_id);
        println!("  client secret: {}", salesforce_config.client_secret);
        println!("Intercom simulator");
        println!("  base URL:       {}", intercom.base_url());
        println!("  access token:   {}", intercom_config.access_token);
        println!("  webhook secret: {}", intercom_config.webhook_secret);
        println!("Control API under /_sim on both; see docs/simulators.md. Ctrl-C stops.");

        super::stop_signal().await;
        intercom.stop().await;
        salesforce.stop().await;
        Ok(())
    })
}
