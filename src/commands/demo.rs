//! `intersync demo`: the server against both simulators, with sample people and a steady
//! trickle of changes on both sides.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tracing::{info, warn};

use super::activity::Activity;
use crate::actors::poller::InitialSync;
use crate::sandbox::{Sandbox, SandboxOptions};

/// Options of the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub listen: SocketAddr,
    pub people: usize,
    pub poll_interval_secs: u64,
    /// Folder of the store; a fresh folder under the system's temporary folder when `None`.
    pub data_dir: Option<PathBuf>,
}

/// Seconds between two summaries in the log.
const SUMMARY_PERIOD: Duration = Duration::from_secs(15);
/// Time between two changes of the activity generator.
const ACTIVITY_PERIOD: Duration = Duration::from_millis(500);

/// Runs the demo until SIGINT or SIGTERM.
pub fn demo(options: DemoOptions) -> anyhow::Result<()> {
    let data_dir = options.data_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("intersync-demo-{}", std::process::id()))
    });
    actix_web::rt::System::new().block_on(async move {
        let mut sandbox_options = SandboxOptions::new(data_dir.clone());
        sandbox_options.listen = options.listen;
        sandbox_options.people = options.people;
        sandbox_options.poll_interval = Duration::from_secs(options.poll_interval_secs.max(1));
        sandbox_options.poll_automatically = true;
        sandbox_options.initial_sync = InitialSync::All;
        let sandbox = Sandbox::start(sandbox_options).await?;

        println!();
        println!("intersync demo is running");
        println!(
            "  server:               {}  (try {}/status)",
            sandbox.server.url(),
            sandbox.server.url()
        );
        println!("  Salesforce simulator: {}", sandbox.salesforce.login_url());
        println!("  Intercom simulator:   {}", sandbox.intercom.base_url());
        println!(
            "  store:                {}",
            data_dir.join("intersync.redb").display()
        );
        println!("Ctrl-C stops it.");
        println!();

        let activity = Activity::connect(&sandbox).await?;
        let generator = actix_web::rt::spawn(activity.run(ACTIVITY_PERIOD));
        let summary = {
            let http = sandbox.http.clone();
            let server = sandbox.server.url();
            let salesforce = sandbox.salesforce.login_url();
            actix_web::rt::spawn(async move {
                let mut ticker = tokio::time::interval(SUMMARY_PERIOD);
                ticker.tick().await;
                loop {
                    ticker.tick().await;
                    log_summary(&http, &server, &salesforce).await;
                }
            })
        };

        super::stop_signal().await;
        generator.abort();
        summary.abort();
        log_summary(
            &sandbox.http,
            &sandbox.server.url(),
            &sandbox.salesforce.login_url(),
        )
        .await;
        sandbox.stop().await;
        Ok(())
    })
}

async fn log_summary(http: &reqwest::Client, server: &str, salesforce: &str) {
    let status: Value = match http.get(format!("{server}/status")).send().await {
        Ok(response) => response.json().await.unwrap_or_default(),
        Err(error) => {
            warn!(%error, "Demo: cannot read the status");
            return;
        }
    };
    let metrics = http.get(format!("{server}/metrics")).send().await.ok();
    let metrics = match metrics {
        Some(response) => response.text().await.unwrap_or_default(),
        None => String::new(),
    };
    let _ = salesforce;
    info!(
        mappings = %status["mappings"],
        people = %status["people"],
        inbox_depth = %status["inbox_depth"],
        pending_writes = %status["pending_writes"],
        sync_errors = %status["sync_errors"],
        writes_to_salesforce = sum_metric(&metrics, "intersync_writes_total{system=\"salesforce\"", "success") as u64,
        writes_to_intercom = sum_metric(&metrics, "intersync_writes_total{system=\"intercom\"", "success") as u64,
        intersync_salesforce_api_calls = sum_metric(&metrics, "intersync_api_calls_total{system=\"salesforce\"", "") as u64,
        "Demo summary"
    );
}

/// Adds up the samples of a metric whose labels start with `prefix` and contain `outcome`.
fn sum_metric(metrics: &str, prefix: &str, outcome: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(prefix) && line.contains(outcome))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |total, value| total + value)
}
