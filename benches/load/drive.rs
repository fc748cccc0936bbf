//! The load client: a fixed pool of HTTP/1.1 connections driven at maximum rate (closed
//! loop) or at a fixed rate (open loop, latency counted from each request's planned send
//! time so a stalled server cannot hide its queue).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::RequestBuilder;

/// Builds request number `n` of a phase.
pub type MakeRequest = Arc<dyn Fn(&reqwest::Client, u64) -> RequestBuilder + Send + Sync>;

/// Builds a client that keeps at most `connections` idle connections per host. The drivers
/// never have more than that many requests in flight, so they never open more.
pub fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Measurements of one driven phase.
#[derive(Debug)]
pub struct Outcome {
    /// Wall-clock time of the phase's start; request `n` of a fixed-rate phase was planned
    /// at `started_wall + n / rate`.
    pub started_wall: SystemTime,
    /// Requests that returned a 2xx status.
    pub ok: u64,
    /// Requests that failed or returned another status.
    pub failed: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latency of each successful request in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Outcome {
    fn new(started_wall: SystemTime) -> Outcome {
        Outcome {
            started_wall,
            ok: 0,
            failed: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
        }
    }

    pub fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// Returns the `q` quantile (0 to 1) of the latencies in milliseconds, or 0 without samples.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_us, q)
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(0.0, |&us| us as f64 / 1000.0)
    }

    fn merge(&mut self, worker: Worker) {
        self.ok += worker.ok;
        self.failed += worker.failed;
        if self.first_error.is_none() {
            self.first_error = worker.first_error;
        }
        self.latencies_us.extend(worker.latencies_us);
    }
}

/// Returns the `q` quantile (0 to 1) of sorted microsecond samples, in milliseconds.
pub fn quantile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_us.len() as f64 * q).ceil() as usize).clamp(1, sorted_us.len());
    sorted_us[rank - 1] as f64 / 1000.0
}

#[derive(Default)]
struct Worker {
    ok: u64,
    failed: u64,
    first_error: Option<String>,
    latencies_us: Vec<u64>,
}

impl Worker {
    async fn send(&mut self, request: RequestBuilder, since: Instant) {
        let result = async {
            let response = request.send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, body))
        }
        .await;
        match result {
            Ok((status, _)) if status.is_success() => {
                self.ok += 1;
                self.latencies_us.push(since.elapsed().as_micros() as u64);
            }
            Ok((status, body)) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| {
                    format!("status {status}: {}", String::from_utf8_lossy(&body))
                });
            }
            Err(error) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Sends requests back to back on every connection for `duration`.
pub async fn max_rate(
    client: &reqwest::Client,
    connections: usize,
    duration: Duration,
    make: MakeRequest,
) -> Outcome {
    let next = Arc::new(AtomicU64::new(0));
    let (started, started_wall) = (Instant::now(), SystemTime::now());
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, next, make) = (client.clone(), Arc::clone(&next), Arc::clone(&make));
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker::default();
            while Instant::now() < deadline {
                let n = next.fetch_add(1, Ordering::Relaxed);
                worker.send(make(&client, n), Instant::now()).await;
            }
            worker
        }));
    }
    collect(tasks, started, started_wall).await
}

/// Sends `rate` requests per second for `duration` over at most `connections` connections.
/// Request `n` is planned at `start + n / rate`; its latency runs from that moment.
pub async fn fixed_rate(
    client: &reqwest::Client,
    connections: usize,
    rate: u64,
    duration: Duration,
    make: MakeRequest,
) -> Outcome {
    let total = (rate as f64 * duration.as_secs_f64()).round() as u64;
    let next = Arc::new(AtomicU64::new(0));
    let (started, started_wall) = (Instant::now(), SystemTime::now());
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, next, make) = (client.clone(), Arc::clone(&next), Arc::clone(&make));
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let planned = started + Duration::from_secs_f64(n as f64 / rate as f64);
                tokio::time::sleep_until(planned.into()).await;
                worker.send(make(&client, n), planned).await;
            }
            worker
        }));
    }
    collect(tasks, started, started_wall).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Worker>>,
    started: Instant,
    started_wall: SystemTime,
) -> Outcome {
    let mut outcome = Outcome::new(started_wall);
    for task in tasks {
        match task.await {
            Ok(worker) => outcome.merge(worker),
            Err(error) => {
                outcome.failed += 1;
                outcome
                    .first_error
                    .get_or_insert_with(|| format!("a load task panicked: {error}"));
            }
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.latencies_us.sort_unstable();
    outcome
}
