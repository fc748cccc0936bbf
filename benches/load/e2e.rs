//! Figures 4 and 5: Intercom → Salesforce end to end at a steady rate, with and without
//! batching, and the Salesforce → Intercom poll of many changed records.
//!
//! Both simulators are seeded with the same people, who are stored as mapped. The large
//! poll finds a phone change on many Salesforce records. The end-to-end phase sends phone
//! changes of mapped contacts as webhooks. A change is visible once the Salesforce simulator
//! stores its phone number. Its latency runs from its planned send time to the record's
//! `SystemModstamp`, and both times come from this machine's clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context as _};
use intersync::http::webhook::{sign, SIGNATURE_HEADER};
use intersync::sandbox::Sandbox;
use serde_json::Value;
use tracing::{info, warn};

use crate::args::Plan;
use crate::drive::{self, quantile_ms, MakeRequest};
use crate::mapped::{self, MappedSandbox};
use crate::webhooks::{change_of_phone, change_phone, phone_update};
use crate::LoadRuntime;

/// Maximum wait for the server to finish the work a phase left behind.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The large poll and the idle poll after it.
pub struct PollFigures {
    pub rows: u64,
    pub applied: u64,
    pub elapsed: Duration,
    /// Salesforce API calls counted while the poll ran, by call kind.
    pub calls: BTreeMap<String, u64>,
    pub idle_poll_calls: u64,
}

impl PollFigures {
    pub fn records_per_s(&self) -> f64 {
        self.applied as f64 / self.elapsed.as_secs_f64()
    }

    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// One end-to-end run.
pub struct EndToEnd {
    pub batch_size: usize,
    pub rate: u64,
    /// Changes acknowledged by the server.
    pub acked: u64,
    pub failed: u64,
    /// Changes whose value the Salesforce simulator holds.
    pub visible: u64,
    /// Sorted latencies of the visible changes, in microseconds.
    pub latencies_us: Vec<u64>,
    /// Salesforce API calls from the first change until the server was idle again, by kind.
    pub calls: BTreeMap<String, u64>,
    /// Whether the server finished its work within the settle timeout.
    pub settled: bool,
}

impl EndToEnd {
    pub fn calls_per_1000(&self) -> f64 {
        self.calls.values().sum::<u64>() as f64 * 1000.0 / self.acked.max(1) as f64
    }

    pub fn p(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_us, q)
    }
}

/// Runs the large poll and an idle poll after it.
pub async fn poll(plan: &Plan) -> anyhow::Result<PollFigures> {
    let mapped = mapped::start(with_spare(plan.poll_records), |_| {}).await?;
    let poll = measure_poll(&mapped.sandbox, plan.poll_records).await?;
    crate::stop_sandbox(mapped.sandbox).await;
    Ok(poll)
}

/// Runs the end-to-end phase on a server with the default batching.
pub async fn batched(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<EndToEnd> {
    let mapped = mapped::start(with_spare(changes_of(plan)), |_| {}).await?;
    let end_to_end = end_to_end(&mapped, plan, load).await?;
    crate::stop_sandbox(mapped.sandbox).await;
    Ok(end_to_end)
}

/// Runs the end-to-end phase on a server with batching turned off.
pub async fn unbatched(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<EndToEnd> {
    let mapped = mapped::start(with_spare(changes_of(plan)), |config| {
        config.salesforce.batch_size = 1;
    })
    .await?;
    let end_to_end = end_to_end(&mapped, plan, load).await?;
    crate::stop_sandbox(mapped.sandbox).await;
    Ok(end_to_end)
}

/// Adds 5% to the people seeded for `needed` mapped people, because generated people
/// sometimes share an email and only one of them is mapped.
fn with_spare(needed: usize) -> usize {
    needed + needed / 20 + 10
}

/// Changes one end-to-end phase sends; each goes to a different person.
fn changes_of(plan: &Plan) -> usize {
    (plan.e2e_rate as f64 * plan.phase.as_secs_f64()).round() as usize
}

async fn measure_poll(sandbox: &Sandbox, records: usize) -> anyhow::Result<PollFigures> {
    let changed = mapped::change_salesforce_records(sandbox, records).await?;
    info!(changed, "Salesforce records changed");
    let before = salesforce_calls(sandbox).await?;
    let started = Instant::now();
    let report = poll_now(sandbox).await?;
    let elapsed = started.elapsed();
    let after = salesforce_calls(sandbox).await?;
    let calls = difference(&before, &after);
    info!(rows = %report["rows"], applied = %report["applied"], elapsed_s = elapsed.as_secs_f64(), ?calls, "Large poll done");

    settle(sandbox).await;
    let before = salesforce_calls(sandbox).await?;
    let idle = poll_now(sandbox).await?;
    let after = salesforce_calls(sandbox).await?;
    let idle_calls = difference(&before, &after);
    info!(rows = %idle["rows"], calls = ?idle_calls, "Idle poll done");

    Ok(PollFigures {
        rows: report["rows"].as_u64().unwrap_or(0),
        applied: report["applied"].as_u64().unwrap_or(0),
        elapsed,
        calls,
        idle_poll_calls: idle_calls.values().sum(),
    })
}

async fn end_to_end(
    mapped: &MappedSandbox,
    plan: &Plan,
    load: &LoadRuntime,
) -> anyhow::Result<EndToEnd> {
    let sandbox = &mapped.sandbox;
    let changes = changes_of(plan);
    let contacts: Arc<Vec<Value>> =
        Arc::new(mapped.contacts.iter().take(changes).cloned().collect());
    if contacts.len() < changes {
        bail!(
            "{} people are mapped but the phase sends {changes} changes, one per person",
            contacts.len()
        );
    }
    let calls_before = salesforce_calls(sandbox).await?;

    let url = format!("{}/webhooks/intercom", sandbox.server.url());
    let secret = sandbox.config.intercom.webhook_secret.clone();
    let make: MakeRequest = Arc::new(move |client, n| {
        let body = phone_update(
            &contacts[n as usize],
            &change_phone(n),
            &format!("notif_e2e_{n}"),
        );
        let signature = sign(&body, secret.expose().as_bytes());
        client
            .post(&url)
            .header(SIGNATURE_HEADER, signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    });
    let client = drive::client(plan.connections)?;
    let (connections, rate, phase) = (plan.connections, plan.e2e_rate, plan.phase);
    let outcome = load
        .run(async move { drive::fixed_rate(&client, connections, rate, phase, make).await })
        .await?;
    if let Some(error) = &outcome.first_error {
        warn!(failed = outcome.failed, %error, "Some end-to-end webhooks were not acknowledged");
    }

    let settled = settle(sandbox).await;
    let calls_after = salesforce_calls(sandbox).await?;
    let latencies_us = visible_latencies(sandbox, outcome.started_wall, rate).await?;
    let batch_size = sandbox.config.salesforce.batch_size;
    let result = EndToEnd {
        batch_size,
        rate,
        acked: outcome.ok,
        failed: outcome.failed,
        visible: latencies_us.len() as u64,
        latencies_us,
        calls: difference(&calls_before, &calls_after),
        settled,
    };
    info!(
        batch_size,
        acked = result.acked,
        visible = result.visible,
        p50_ms = result.p(0.5),
        p99_ms = result.p(0.99),
        calls_per_1000 = result.calls_per_1000(),
        calls = ?result.calls,
        "End-to-end run done"
    );
    Ok(result)
}

/// Latency of every visible change: its record's `SystemModstamp` minus its planned send
/// time.
async fn visible_latencies(
    sandbox: &Sandbox,
    started: SystemTime,
    rate: u64,
) -> anyhow::Result<Vec<u64>> {
    let client = mapped::salesforce_client(sandbox).await?;
    let since = chrono::DateTime::<chrono::Utc>::from(started - Duration::from_secs(1))
        .format("%Y-%m-%dT%H:%M:%SZ");
    let mut latencies = Vec::new();
    for object in ["Lead", "Contact"] {
        let soql = format!(
            "SELECT Id, Phone, SystemModstamp FROM {object} WHERE SystemModstamp >= {since}"
        );
        let records = client
            .query(&soql)
            .await
            .with_context(|| format!("reading the changed {object} records failed"))?;
        for record in records {
            let Some(n) = record
                .get("Phone")
                .and_then(Value::as_str)
                .and_then(change_of_phone)
            else {
                continue;
            };
            let Some(stamp) = record.get("SystemModstamp").and_then(Value::as_str) else {
                continue;
            };
            let written = chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.3f%z")
                .with_context(|| format!("invalid SystemModstamp {stamp:?} on {}", record.id))?;
            let planned = chrono::DateTime::<chrono::Utc>::from(
                started + Duration::from_secs_f64(n as f64 / rate as f64),
            );
            let micros = (written.with_timezone(&chrono::Utc) - planned)
                .num_microseconds()
                .unwrap_or(0);
            latencies.push(micros.max(0) as u64);
        }
    }
    latencies.sort_unstable();
    Ok(latencies)
}

/// Waits until the inbox and the pending writes are empty and neither simulator has seen
/// an API call for one second. Returns false when that took longer than the timeout.
async fn settle(sandbox: &Sandbox) -> bool {
    let started = Instant::now();
    let mut last_calls = (u64::MAX, u64::MAX);
    let mut quiet_since = Instant::now();
    while started.elapsed() < SETTLE_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (Ok(status), Ok(salesforce), Ok(intercom)) = (
            server_status(sandbox).await,
            salesforce_usage(sandbox).await,
            intercom_usage(sandbox).await,
        ) else {
            continue;
        };
        let calls = (salesforce, intercom);
        if calls != last_calls {
            last_calls = calls;
            quiet_since = Instant::now();
            continue;
        }
        let idle = status["inbox_depth"] == 0 && status["pending_writes"] == 0;
        if idle && quiet_since.elapsed() >= Duration::from_secs(1) {
            info!(
                elapsed_s = started.elapsed().as_secs_f64(),
                "Server settled"
            );
            return true;
        }
    }
    warn!(
        timeout_s = SETTLE_TIMEOUT.as_secs(),
        "The server did not settle in time; the figures include unfinished work"
    );
    false
}

pub async fn poll_now(sandbox: &Sandbox) -> anyhow::Result<Value> {
    let response = crate::control_http()
        .post(format!("{}/actions/poll", sandbox.server.url()))
        .timeout(Duration::from_secs(600))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("POST /actions/poll returned {status}: {body}");
    }
    Ok(body)
}

/// Salesforce API calls by kind, as the simulator counts them.
pub async fn salesforce_calls(sandbox: &Sandbox) -> anyhow::Result<BTreeMap<String, u64>> {
    let stats = get_json(&format!("{}/_sim/stats", sandbox.salesforce.login_url())).await?;
    let calls = stats["api_calls"]
        .as_object()
        .context("the Salesforce simulator's stats have no api_calls object")?;
    Ok(calls
        .iter()
        .map(|(kind, count)| (kind.clone(), count.as_u64().unwrap_or(0)))
        .collect())
}

async fn salesforce_usage(sandbox: &Sandbox) -> anyhow::Result<u64> {
    Ok(salesforce_calls(sandbox).await?.values().sum())
}

async fn intercom_usage(sandbox: &Sandbox) -> anyhow::Result<u64> {
    let stats = get_json(&format!("{}/_sim/stats", sandbox.intercom.base_url())).await?;
    Ok(sum_numbers(&stats["api_calls"]))
}

fn sum_numbers(value: &Value) -> u64 {
    match value {
        Value::Number(number) => number.as_u64().unwrap_or(0),
        Value::Object(map) => map.values().map(sum_numbers).sum(),
        _ => 0,
    }
}

fn difference(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(kind, count)| (kind.clone(), count - before.get(kind).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// The first `limit` contacts of the Intercom simulator, as its API returns them.
pub async fn intercom_contacts(sandbox: &Sandbox, limit: usize) -> anyhow::Result<Vec<Value>> {
    let mut contacts = Vec::new();
    let mut starting_after: Option<String> = None;
    while contacts.len() < limit {
        let mut request = crate::control_http()
            .get(format!("{}/contacts", sandbox.intercom.base_url()))
            .bearer_auth(sandbox.config.intercom.access_token.expose())
            .header(
                "Intercom-Version",
                sandbox.config.intercom.api_version.as_str(),
            )
            .query(&[("per_page", "150")]);
        if let Some(cursor) = &starting_after {
            request = request.query(&[("starting_after", cursor.as_str())]);
        }
        let page: Value = request.send().await?.error_for_status()?.json().await?;
        let data = page["data"]
            .as_array()
            .context("a contact list without data")?;
        contacts.extend(
            data.iter()
                .filter(|contact| contact["role"] == "user")
                .cloned(),
        );
        match page
            .pointer("/pages/next/starting_after")
            .and_then(Value::as_str)
        {
            Some(cursor) => starting_after = Some(cursor.to_owned()),
            None => break,
        }
    }
    contacts.truncate(limit);
    Ok(contacts)
}

/// Reads `GET /status` of the server, which returns 503 while the workspace is unhealthy.
async fn server_status(sandbox: &Sandbox) -> anyhow::Result<Value> {
    let url = format!("{}/status", sandbox.server.url());
    Ok(crate::control_http().get(url).send().await?.json().await?)
}

/// Reads a JSON body with the control client.
async fn get_json(url: &str) -> anyhow::Result<Value> {
    let response = crate::control_http().get(url).send().await?;
    Ok(response.error_for_status()?.json().await?)
}
