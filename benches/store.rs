//! Inbox appends per second with one writer and with 64 concurrent writers, to show what
//! group commit buys. Every append waits for its commit with redb's default durability.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use intersync::store::{InboxWriter, Store};

/// Runs `appends` appends split across `writers` tasks and returns the time taken.
async fn append_concurrently(
    writer: &InboxWriter,
    next_id: &Arc<AtomicU64>,
    writers: u64,
    appends: u64,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..writers {
        let share = appends / writers + u64::from(task < appends % writers);
        let writer = writer.clone();
        let next_id = Arc::clone(next_id);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let id = format!("notif_{}", next_id.fetch_add(1, Ordering::Relaxed));
                writer.append(&id, vec![0; 512]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    start.elapsed()
}

fn inbox_append(criterion: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("bench.redb")).unwrap();
    let writer = store.inbox_writer().unwrap();
    let next_id = Arc::new(AtomicU64::new(0));

    let mut group = criterion.benchmark_group("inbox_append");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));
    for writers in [1u64, 64] {
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{writers}_writers")),
            &writers,
            |bench, &writers| {
                bench.iter_custom(|appends| {
                    runtime.block_on(append_concurrently(&writer, &next_id, writers, appends))
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, inbox_append);
criterion_main!(benches);
