//! Group commit for arbitrary store changes: many callers, one transaction.
//!
//! Mapping actors save a new state, acknowledge the inbox entry that caused it and record
//! their pending writes in one change. One commit per change would cap the whole server at the
//! disk's sync rate, so a writer thread collects the changes that are waiting, applies them
//! in one transaction and commits once. When one change fails, the batch is rolled back and
//! each change is committed on its own, so one bad change never fails its neighbours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::warn;

use super::error::StoreError;
use super::{Store, StoreTxn};

/// One change: runs inside the batch's transaction. It may run twice (once in the batch
/// and once alone, after a neighbour failed), so it must not have side effects outside the
/// transaction.
pub type Change = Box<dyn Fn(&mut StoreTxn<'_>) -> Result<(), StoreError> + Send>;

struct Request {
    change: Change,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The async entry point of grouped commits. Cheap to clone; clones share one thread.
#[derive(Clone)]
pub struct BatchWriter {
    sender: mpsc::Sender<Request>,
    commits: Arc<AtomicU64>,
}

impl Store {
    /// Starts a writer thread that groups concurrent changes into shared commits. The thread
    /// stops once every clone of the returned writer is dropped.
    pub fn batch_writer(&self, queue: usize, batch_max: usize) -> Result<BatchWriter, StoreError> {
        let (sender, receiver) = mpsc::channel(queue.max(1));
        let commits = Arc::new(AtomicU64::new(0));
        let store = self.clone();
        let thread_commits = Arc::clone(&commits);
        std::thread::Builder::new()
            .name(format!("batch-writer-{}", self.workspace()))
            .spawn(move || run(&store, receiver, batch_max.max(1), &thread_commits))
            .map_err(|source| StoreError::WriterThread { source })?;
        Ok(BatchWriter { sender, commits })
    }
}

impl BatchWriter {
    /// Applies `change` and returns once it is committed. An error means nothing of it was
    /// stored. Waits for room when the queue is full.
    pub async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Request { change, reply })
            .await
            .map_err(|_| StoreError::InboxWriterStopped)?;
        answer.await.map_err(|_| StoreError::InboxWriterStopped)?
    }

    /// Commits made so far; fewer than the changes when changes shared commits.
    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }
}

fn run(
    store: &Store,
    mut receiver: mpsc::Receiver<Request>,
    batch_max: usize,
    commits: &AtomicU64,
) {
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }

        let together = store.write("commit a batch of changes", |txn| {
            batch.iter().try_for_each(|request| (request.change)(txn))
        });
        commits.fetch_add(1, Ordering::Relaxed);
        match together {
            Ok(()) => {
                for request in batch {
                    let _ = request.reply.send(Ok(()));
                }
            }
            Err(error) if batch.len() == 1 => {
                let request = batch.pop().expect("the batch has one request");
                let _ = request.reply.send(Err(error));
            }
            Err(error) => {
                warn!(%error, changes = batch.len(), "A grouped commit failed; committing its changes one by one");
                for request in batch {
                    let alone = store.write("commit one change", |txn| (request.change)(txn));
                    commits.fetch_add(1, Ordering::Relaxed);
                    let _ = request.reply.send(alone);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MappingIndex;

    #[tokio::test]
    async fn failing_change_spares_its_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("batch.redb")).unwrap();
        let writer = store.batch_writer(64, 64).unwrap();

        let mut waiting = Vec::new();
        for n in 0..20u32 {
            let writer = writer.clone();
            waiting.push(tokio::spawn(async move {
                let change: Change = if n == 7 {
                    Box::new(|_txn| {
                        Err(StoreError::InvalidArgument {
                            what: "test change",
                            reason: "fails on purpose".to_owned(),
                        })
                    })
                } else {
                    Box::new(move |txn| {
                        let index = MappingIndex {
                            intercom_id: Some(format!("ic-{n}")),
                            ..MappingIndex::default()
                        };
                        txn.create_mapping(&index, &n).map(|_| ())
                    })
                };
                writer.commit(change).await
            }));
        }
        let mut failures = 0;
        for task in waiting {
            if task.await.unwrap().is_err() {
                failures += 1;
            }
        }
        assert_eq!(failures, 1);
        assert_eq!(store.mapping_count().unwrap(), 19);
    }
}
