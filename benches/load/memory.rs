//! Figure 6: memory and start-up of the release binary with a large store.
//!
//! The store is filled directly with mapped people in large transactions, then
//! `intersync serve` runs as a child process on it, wired to both simulators on loopback.
//! RSS is read from `/proc/<pid>/status`. Mapping actors are woken with webhooks that repeat
//! each person's stored values, so they change nothing and call no API while they live.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use intersync::actors::mapping::index_of;
use intersync::config::{
    SyncSettings, ENV_INTERCOM_ACCESS_TOKEN, ENV_INTERCOM_WEBHOOK_SECRET,
    ENV_SALESFORCE_CLIENT_SECRET,
};
use intersync::http::webhook::{sign, SIGNATURE_HEADER};
use intersync::sim::intercom::{IntercomSim, IntercomSimConfig};
use intersync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use intersync::store::Store;
use intersync::sync::attributes::AttributeMap;
use intersync_fsm::{
    IntercomId, IntercomRef, IntercomRole, Mapping, MappingKey, SalesforceId, SalesforceObject,
    SalesforceRef, SideRecord, State, Timestamp,
};
use serde_json::{json, Value};
use tracing::info;

use crate::args::Plan;
use crate::drive;
use crate::webhooks;
use crate::LoadRuntime;

/// Mappings per write transaction while filling the store.
const FILL_CHUNK: usize = 25_000;
/// The `updated_at` of every stored person, so a repeated webhook is never newer.
pub const STORED_AT_SECS: i64 = 1_700_000_000;
/// Maximum wait for the child server to serve its first request.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Figures of the memory phase.
pub struct MemoryFigures {
    pub mappings: usize,
    pub fill_s: f64,
    pub startup_s: f64,
    pub idle_rss_kb: u64,
    pub live_actors: u64,
    pub live_rss_kb: u64,
}

impl MemoryFigures {
    pub fn kb_per_actor(&self) -> f64 {
        self.live_rss_kb.saturating_sub(self.idle_rss_kb) as f64 / self.live_actors.max(1) as f64
    }
}

pub async fn run(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<MemoryFigures> {
    let dir = crate::fresh_dir("memory")?;
    std::fs::create_dir_all(&dir)?;
    let attributes = AttributeMap::from_settings(&SyncSettings::default())?;

    let filling = Instant::now();
    fill_store(&dir.join("intersync.redb"), plan.mappings, &attributes)?;
    let fill_s = filling.elapsed().as_secs_f64();
    info!(mappings = plan.mappings, fill_s, "Store filled");

    let salesforce_config = SalesforceSimConfig::default();
    let intercom_config = IntercomSimConfig::default();
    let salesforce = SalesforceSim::start(salesforce_config.clone()).await?;
    let intercom = IntercomSim::start(intercom_config.clone()).await?;
    let port = free_port()?;
    let server_url = format!("http://127.0.0.1:{port}");
    let config_path = dir.join("intersync.toml");
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:{port}\"\n\
             data_dir = {data_dir:?}\n\
             [salesforce]\n\
             login_url = {login:?}\n\
             client_id = {client_id:?}\n\
             redirect_uri = \"{server_url}/oauth/callback\"\n\
             [intercom]\n\
             base_url = {intercom:?}\n",
            data_dir = dir.display().to_string(),
            login = salesforce.login_url(),
            client_id = salesforce_config.client_id,
            intercom = intercom.base_url(),
        ),
    )?;

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let starting = Instant::now();
    let mut child = ChildServer(
        Command::new(env!("CARGO_BIN_EXE_intersync"))
            .args(["serve", "--config"])
            .arg(&config_path)
            .env(
                ENV_SALESFORCE_CLIENT_SECRET,
                &salesforce_config.client_secret,
            )
            .env(ENV_INTERCOM_ACCESS_TOKEN, &intercom_config.access_token)
            .env(ENV_INTERCOM_WEBHOOK_SECRET, &intercom_config.webhook_secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("serve.log"))?))
            .spawn()
            .context("cannot start the release binary")?,
    );
    wait_until_serving(&http, &server_url, &mut child.0).await?;
    let startup_s = starting.elapsed().as_secs_f64();
    info!(startup_s, "Release server serving");

    authorize(&http, &server_url).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_kb = rss_kb(child.0.id())?;
    info!(idle_rss_kb, "Idle RSS read");

    let actors_before = live_actors(&http, &server_url).await?;
    wake_actors(plan, load, &server_url, &intercom_config.webhook_secret).await?;
    wait_for_empty_inbox(&http, &server_url).await?;
    let live = live_actors(&http, &server_url)
        .await?
        .saturating_sub(actors_before);
    let live_rss_kb = rss_kb(child.0.id())?;
    info!(live, live_rss_kb, "RSS with live actors read");
    if live == 0 {
        bail!(
            "no mapping actor stayed live after {} webhooks",
            plan.live_actors
        );
    }

    drop(child);
    intercom.stop().await;
    salesforce.stop().await;
    Ok(MemoryFigures {
        mappings: plan.mappings,
        fill_s,
        startup_s,
        idle_rss_kb,
        live_actors: live,
        live_rss_kb,
    })
}

/// Kills the child server when dropped, so a failed phase leaves no process behind.
struct ChildServer(Child);

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Builds the Intercom contact of stored person `n`, as a webhook item.
pub fn contact_item(n: usize) -> Value {
    json!({
        "type": "contact",
        "id": format!("{n:024x}"),
        "workspace_id": "loadbench",
        "role": "user",
        "email": format!("person{n}@memory.example"),
        "name": format!("Person {n}"),
        "phone": format!("+1 {n:010}"),
        "unsubscribed_from_emails": false,
        "custom_attributes": {"job_title": "Engineer"},
        "created_at": STORED_AT_SECS,
        "updated_at": STORED_AT_SECS,
    })
}

/// Builds the mapped state of stored person `n`, with the same values on both sides.
pub fn mapped_state(n: usize, attributes: &AttributeMap) -> anyhow::Result<State> {
    let values = attributes.read_intercom(&contact_item(n));
    let side = SideRecord {
        read: values.clone(),
        written: Default::default(),
        seen_at: Timestamp::from_secs(STORED_AT_SECS),
    };
    Ok(State::Mapped(Mapping {
        intercom: IntercomRef {
            id: IntercomId::parse(&format!("{n:024x}"))?,
            role: IntercomRole::User,
        },
        salesforce: SalesforceRef {
            id: SalesforceId::parse(&format!("00Q{n:015}"))?,
            object: SalesforceObject::Lead,
        },
        key: MappingKey::normalize(&format!("person{n}@memory.example"))?,
        intercom_side: side.clone(),
        salesforce_side: side,
        synced: values,
        failure: None,
    }))
}

fn fill_store(path: &Path, mappings: usize, attributes: &AttributeMap) -> anyhow::Result<()> {
    let store = Store::open(path)?;
    for chunk_start in (0..mappings).step_by(FILL_CHUNK) {
        let states = (chunk_start..(chunk_start + FILL_CHUNK).min(mappings))
            .map(|n| mapped_state(n, attributes))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store.write("fill the benchmark store", |txn| {
            for state in &states {
                txn.create_mapping(&index_of(state), state)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_until_serving(
    http: &reqwest::Client,
    server_url: &str,
    child: &mut Child,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Some(exit) = child.try_wait()? {
            bail!("the release server exited with {exit} before serving; see serve.log in the data dir");
        }
        if let Ok(response) = http.get(format!("{server_url}/status")).send().await {
            if response.status().is_success() || response.status().is_server_error() {
                return Ok(());
            }
        }
        if started.elapsed() > START_TIMEOUT {
            bail!("the release server did not serve within {START_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs the Salesforce OAuth web flow through the server, as an operator's browser does.
async fn authorize(http: &reqwest::Client, server_url: &str) -> anyhow::Result<()> {
    let mut url = format!("{server_url}/oauth/start");
    for _ in 0..2 {
        let response = http.get(&url).send().await?;
        url = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .with_context(|| format!("GET {url} did not redirect"))?
            .to_owned();
    }
    let response = http.get(&url).send().await?;
    if !(response.status().is_success() || response.status().is_redirection()) {
        bail!(
            "the OAuth callback returned {}: {}",
            response.status(),
            response.text().await?
        );
    }
    Ok(())
}

/// Resident set size of process `pid` in kB.
fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("/proc/<pid>/status has no VmRSS line")
}

async fn live_actors(http: &reqwest::Client, server_url: &str) -> anyhow::Result<u64> {
    let metrics = http
        .get(format!("{server_url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("intersync_live_actors "))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as u64)
        .context("the server's metrics have no intersync_live_actors sample")
}

async fn wake_actors(
    plan: &Plan,
    load: &LoadRuntime,
    server_url: &str,
    secret: &str,
) -> anyhow::Result<()> {
    let url = format!("{server_url}/webhooks/intercom");
    let secret = secret.to_owned();
    let total = plan.live_actors as u64;
    let make: drive::MakeRequest = Arc::new(move |client, n| {
        let body = webhooks::notification(
            &format!("notif_memory_{n}"),
            "contact.user.updated",
            &contact_item(n as usize),
        );
        let signature = sign(&body, secret.as_bytes());
        client
            .post(&url)
            .header(SIGNATURE_HEADER, signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
    });
    let client = drive::client(plan.connections)?;
    let connections = plan.connections;
    // A fixed rate high enough to finish quickly; every body is sent once.
    let rate = 5_000;
    let duration = Duration::from_secs_f64(total as f64 / rate as f64);
    let outcome = load
        .run(async move { drive::fixed_rate(&client, connections, rate, duration, make).await })
        .await?;
    if outcome.failed > 0 {
        bail!(
            "{} of {total} webhooks of the memory phase failed: {}",
            outcome.failed,
            outcome.first_error.unwrap_or_default()
        );
    }
    Ok(())
}

async fn wait_for_empty_inbox(http: &reqwest::Client, server_url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let status: Value = http
            .get(format!("{server_url}/status"))
            .send()
            .await?
            .json()
            .await?;
        if status["inbox_depth"] == 0 {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            bail!("the inbox still holds {} entries", status["inbox_depth"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
