//! Command-line flags of the load benchmark.

use std::time::Duration;

use clap::Parser;

/// Flags of `cargo bench --bench load -- [FLAGS]`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "load",
    about = "Load benchmark of the whole intersync server over loopback"
)]
pub struct Args {
    /// Shorter phases and smaller data sets, so the whole run takes under two minutes.
    #[arg(long)]
    pub quick: bool,
    /// Seconds of each load phase (ceiling, ingest, ack latency, each end-to-end run).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Webhooks per second of the ack latency phase.
    #[arg(long, default_value_t = 5000)]
    pub ack_rate: u64,
    /// Contact changes per second of the end-to-end phases.
    #[arg(long, default_value_t = 2000)]
    pub e2e_rate: u64,
    /// HTTP connections of the load client, the same for the ceiling and the server.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Changed Salesforce records the large poll finds.
    #[arg(long)]
    pub poll_records: Option<usize>,
    /// Mappings written to the store of the memory phase.
    #[arg(long)]
    pub mappings: Option<usize>,
    /// Mapping actors woken in the memory phase to measure their size.
    #[arg(long)]
    pub live_actors: Option<usize>,
    /// Accepted and ignored: `cargo bench` passes it to every bench binary.
    #[arg(long, hide = true)]
    pub bench: bool,
}

/// The sizes of one run after `--quick` and the explicit flags are applied.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub phase: Duration,
    pub ack_rate: u64,
    pub e2e_rate: u64,
    pub connections: usize,
    pub poll_records: usize,
    pub mappings: usize,
    pub live_actors: usize,
}

impl Args {
    /// Resolves the flags into the sizes of the run.
    pub fn plan(&self) -> anyhow::Result<Plan> {
        let (phase_secs, poll_records, mappings, live_actors) = if self.quick {
            (4, 5_000, 100_000, 2_000)
        } else {
            (20, 50_000, 1_000_000, 20_000)
        };
        let plan = Plan {
            quick: self.quick,
            phase: Duration::from_secs(self.duration.unwrap_or(phase_secs)),
            ack_rate: self.ack_rate,
            e2e_rate: self.e2e_rate,
            connections: self.connections,
            poll_records: self.poll_records.unwrap_or(poll_records),
            mappings: self.mappings.unwrap_or(mappings),
            live_actors: self.live_actors.unwrap_or(live_actors),
        };
        if plan.phase.is_zero() {
            anyhow::bail!("--duration must be at least 1 second");
        }
        if plan.ack_rate == 0 || plan.e2e_rate == 0 {
            anyhow::bail!("--ack-rate and --e2e-rate must be at least 1 per second");
        }
        if plan.connections == 0 {
            anyhow::bail!("--connections must be at least 1");
        }
        if plan.live_actors > plan.mappings {
            anyhow::bail!(
                "--live-actors ({}) must not exceed --mappings ({})",
                plan.live_actors,
                plan.mappings
            );
        }
        Ok(plan)
    }
}
