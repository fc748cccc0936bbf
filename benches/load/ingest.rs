//! Figures 1 to 3: the ceiling, durable ingest at maximum rate, and ack latency at a fixed
//! rate. Each server phase runs on a fresh sandbox.

use std::sync::Arc;

use intersync::http::webhook::{sign, SIGNATURE_HEADER};
use intersync::sandbox::{Sandbox, SandboxOptions};
use tracing::info;

use crate::args::Plan;
use crate::ceiling::Ceiling;
use crate::drive::{self, MakeRequest, Outcome};
use crate::e2e;
use crate::webhooks;
use crate::LoadRuntime;

/// Results of the three phases.
pub struct IngestFigures {
    pub ceiling: Outcome,
    pub ingest: Outcome,
    pub ack: Outcome,
    /// Salesforce API calls of a poll of an org with no changed rows at all.
    pub quiet_poll_calls: u64,
}

/// Signed unique `contact.user.updated` webhooks posted to `url`, labelled `run`.
fn signed_webhooks(url: String, secret: String, run: &'static str) -> MakeRequest {
    Arc::new(move |client, n| {
        let body = webhooks::new_contact_update(run, n);
        let signature = sign(&body, secret.as_bytes());
        client
            .post(&url)
            .header(SIGNATURE_HEADER, signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    })
}

/// Figure 1: the bare endpoint at maximum rate.
pub async fn ceiling(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<Outcome> {
    let client = drive::client(plan.connections)?;
    let server = Ceiling::start()?;
    let make = signed_webhooks(server.url(), "ceiling".to_owned(), "ceil");
    let (connections, phase) = (plan.connections, plan.phase);
    let outcome = load
        .run(async move { drive::max_rate(&client, connections, phase, make).await })
        .await?;
    server.stop().await;
    info!(
        per_s = outcome.per_second(),
        failed = outcome.failed,
        "Ceiling measured"
    );
    Ok(outcome)
}

/// Figure 2: signed unique webhooks at maximum rate against a fresh server.
pub async fn ingest(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<Outcome> {
    let client = drive::client(plan.connections)?;
    let sandbox = start_empty_sandbox().await?;
    let make = webhook_target(&sandbox, "ingest");
    let (connections, phase) = (plan.connections, plan.phase);
    let outcome = load
        .run(async move { drive::max_rate(&client, connections, phase, make).await })
        .await?;
    crate::stop_sandbox(sandbox).await;
    info!(
        per_s = outcome.per_second(),
        failed = outcome.failed,
        "Durable ingest measured"
    );
    Ok(outcome)
}

/// Figure 3: webhooks at a fixed rate against a fresh server, latency to the 200. Before
/// the load, the server polls its empty org twice and the calls of the second poll are
/// counted.
pub async fn ack(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<(Outcome, u64)> {
    let client = drive::client(plan.connections)?;
    let sandbox = start_empty_sandbox().await?;
    e2e::poll_now(&sandbox).await?;
    let before = e2e::salesforce_calls(&sandbox).await?;
    e2e::poll_now(&sandbox).await?;
    let after = e2e::salesforce_calls(&sandbox).await?;
    let quiet_poll_calls = after.values().sum::<u64>() - before.values().sum::<u64>();

    let make = webhook_target(&sandbox, "ack");
    let (connections, phase, rate) = (plan.connections, plan.phase, plan.ack_rate);
    let outcome = load
        .run(async move { drive::fixed_rate(&client, connections, rate, phase, make).await })
        .await?;
    crate::stop_sandbox(sandbox).await;
    info!(
        p50_ms = outcome.quantile_ms(0.5),
        p99_ms = outcome.quantile_ms(0.99),
        failed = outcome.failed,
        "Ack latency measured"
    );
    Ok((outcome, quiet_poll_calls))
}

async fn start_empty_sandbox() -> anyhow::Result<Sandbox> {
    let dir = crate::fresh_dir("ingest")?;
    Sandbox::start(SandboxOptions::new(dir)).await
}

fn webhook_target(sandbox: &Sandbox, run: &'static str) -> MakeRequest {
    signed_webhooks(
        format!("{}/webhooks/intercom", sandbox.server.url()),
        sandbox.config.intercom.webhook_secret.expose().to_owned(),
        run,
    )
}
