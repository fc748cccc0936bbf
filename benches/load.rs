//! Load benchmark of the whole server: `cargo bench --bench load -- [--quick] [FLAGS]`.
//!
//! It starts both simulators and the server on loopback with fresh data directories, drives
//! them with signed webhooks and polls, and prints a table of the figures, then one JSON line
//! with all of them. The load client runs on its own Tokio runtime, so it never shares the
//! server's actor thread.

#[path = "load/args.rs"]
mod args;
#[path = "load/ceiling.rs"]
mod ceiling;
#[path = "load/drive.rs"]
mod drive;
#[path = "load/e2e.rs"]
mod e2e;
#[path = "load/fsm_rate.rs"]
mod fsm_rate;
#[path = "load/ingest.rs"]
mod ingest;
#[path = "load/mapped.rs"]
mod mapped;
#[path = "load/memory.rs"]
mod memory;
#[path = "load/report.rs"]
mod report;
#[path = "load/webhooks.rs"]
mod webhooks;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser as _;
use tracing::info;
use tracing_subscriber::EnvFilter;

use crate::args::{Args, Plan};
use crate::ingest::IngestFigures;
use crate::report::Figures;

/// The Tokio runtime of the load client, apart from the server's actix system.
pub struct LoadRuntime {
    runtime: tokio::runtime::Runtime,
}

impl LoadRuntime {
    fn new() -> anyhow::Result<LoadRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("load-client")
            .enable_all()
            .build()?;
        Ok(LoadRuntime { runtime })
    }

    /// Runs `future` on the load client's runtime and waits for its output.
    pub async fn run<F>(&self, future: F) -> anyhow::Result<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(self.runtime.spawn(future).await?)
    }
}

/// Stops the server without waiting for its inbox to drain, then both simulators. The work
/// left in the inbox is dropped with the phase's actix system.
pub async fn stop_sandbox(sandbox: intersync::sandbox::Sandbox) {
    let intersync::sandbox::Sandbox {
        salesforce,
        intercom,
        server,
        ..
    } = sandbox;
    server.shutdown(Duration::ZERO).await;
    intercom.stop().await;
    salesforce.stop().await;
}

thread_local! {
    static CONTROL_HTTP: reqwest::Client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a client with these settings builds");
}

/// Returns the client of the control calls (status, stats, polls, OAuth) of the calling
/// phase's thread, because pooled connections die with the runtime that opened them. It
/// closes a connection after one idle second, well before actix-web's keep-alive timeout of
/// five seconds, so it never sends on a connection the server is closing.
pub fn control_http() -> reqwest::Client {
    CONTROL_HTTP.with(reqwest::Client::clone)
}

static DATA_ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Creates a new, empty folder under the run's temporary folder.
pub fn fresh_dir(label: &str) -> anyhow::Result<PathBuf> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let root = DATA_ROOT
        .get()
        .ok_or_else(|| anyhow::anyhow!("the data root is set before any phase runs"))?;
    let dir = root.join(format!("{label}-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,load=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: load benchmark failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let plan = args.plan()?;
    let root = tempfile::Builder::new()
        .prefix("intersync-load-")
        .tempdir()?;
    DATA_ROOT
        .set(root.path().to_owned())
        .map_err(|_| anyhow::anyhow!("the data root was already set"))?;
    let load = LoadRuntime::new()?;
    let started = Instant::now();
    info!(?plan, data = %root.path().display(), "Load benchmark started");

    let figures = run_phases(&plan, &load)?;
    report::print(&plan, &figures);
    info!(
        elapsed_s = started.elapsed().as_secs_f64(),
        "Load benchmark finished"
    );
    drop(load);
    Ok(())
}

/// Runs every phase, each in an actix system of its own on a new thread: dropping the
/// system stops the phase's actors, so no backlog of one phase runs on into the next.
fn run_phases(plan: &Plan, load: &LoadRuntime) -> anyhow::Result<Figures> {
    let ceiling = in_system(|| ingest::ceiling(plan, load))?;
    let ingest_outcome = in_system(|| ingest::ingest(plan, load))?;
    let (ack, quiet_poll_calls) = in_system(|| ingest::ack(plan, load))?;
    let ingest = IngestFigures {
        ceiling,
        ingest: ingest_outcome,
        ack,
        quiet_poll_calls,
    };
    let poll = in_system(|| e2e::poll(plan))?;
    let batched = in_system(|| e2e::batched(plan, load))?;
    let unbatched = in_system(|| e2e::unbatched(plan, load))?;
    let memory = in_system(|| memory::run(plan, load))?;
    let fsm_duration = if plan.quick {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(3)
    };
    let fsm = fsm_rate::measure(fsm_duration)?;
    Ok(Figures {
        ingest,
        poll,
        batched,
        unbatched,
        memory,
        fsm,
    })
}

/// Runs the future `phase` returns in a new actix system on a new thread, and drops the
/// system with everything still running on it once the future is done.
fn in_system<T, F, Fut>(phase: F) -> anyhow::Result<T>
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = anyhow::Result<T>>,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| actix_web::rt::System::new().block_on(phase()))
            .join()
            .map_err(|_| anyhow::anyhow!("a benchmark phase panicked"))?
    })
}
