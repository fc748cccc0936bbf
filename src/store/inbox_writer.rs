//! Group commit for the inbox: one thread writes every append that is waiting in one
//! transaction, commits it, then replies to each waiter.
//!
//! A webhook is answered only after its append returns, so durability costs one commit per
//! batch rather than one per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::error::StoreError;
use super::inbox::Appended;
use super::{now_unix_ms, Store};

/// The async entry point of the inbox. Cheap to clone, and clones share one writer thread.
/// Create one per workspace with [`Store::inbox_writer`] and clone it.
///
/// Dropping the last clone waits for the thread to commit the batch it is writing, so drop
/// it outside a tight async loop.
#[derive(Clone)]
pub struct InboxWriter {
    shared: Arc<WriterShared>,
}

struct WriterShared {
    /// `None` only while dropping: taking it closes the channel, so the thread ends before the join.
    sender: Option<mpsc::Sender<AppendRequest>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    commits: Arc<AtomicU64>,
}

struct AppendRequest {
    notification_id: String,
    payload: Vec<u8>,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

impl Store {
    /// Starts the inbox writer thread of this workspace.
    ///
    /// Each call starts another thread, and appends on different threads do not share
    /// commits, so make one writer and clone it.
    pub fn inbox_writer(&self) -> Result<InboxWriter, StoreError> {
        let (sender, receiver) = mpsc::channel(self.options().inbox_queue.max(1));
        let commits = Arc::new(AtomicU64::new(0));
        let store = self.clone();
        let thread_commits = Arc::clone(&commits);
        let thread = std::thread::Builder::new()
            .name(format!("inbox-writer-{}", self.workspace()))
            .spawn(move || run_writer(&store, receiver, &thread_commits))
            .map_err(|source| StoreError::WriterThread { source })?;

        Ok(InboxWriter {
            shared: Arc::new(WriterShared {
                sender: Some(sender),
                thread: Mutex::new(Some(thread)),
                commits,
            }),
        })
    }
}

impl InboxWriter {
    /// Stores a notification and returns once it is committed to disk, or once it is known to
    /// be a duplicate of a stored one. An error means the entry was not stored.
    ///
    /// Waits for room when the writer's queue is full, which slows the caller instead of
    /// dropping work.
    pub async fn append(
        &self,
        notification_id: &str,
        payload: Vec<u8>,
    ) -> Result<Appended, StoreError> {
        if notification_id.is_empty() {
            return Err(StoreError::InvalidArgument {
                what: "notification id",
                reason: "it is empty; pass the `id` field of the notification".to_owned(),
            });
        }
        let Some(sender) = &self.shared.sender else {
            return Err(StoreError::InboxWriterStopped);
        };

        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            notification_id: notification_id.to_owned(),
            payload,
            reply,
        };
        sender
            .send(request)
            .await
            .map_err(|_| StoreError::InboxWriterStopped)?;
        answer.await.map_err(|_| StoreError::InboxWriterStopped)?
    }

    /// Returns how many batches the writer has committed since it started.
    pub fn commit_count(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }
}

impl Drop for WriterShared {
    fn drop(&mut self) {
        self.sender.take();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("Inbox writer thread panicked");
            }
        }
    }
}

/// Drains the queue batch by batch until every [`InboxWriter`] clone is dropped.
fn run_writer(store: &Store, mut receiver: mpsc::Receiver<AppendRequest>, commits: &AtomicU64) {
    let batch_max = store.options().inbox_batch_max.max(1);
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }

        let outcome = commit_batch(store, &batch);
        match outcome {
            Ok(outcomes) => {
                commits.fetch_add(1, Ordering::Relaxed);
                for (request, appended) in batch.into_iter().zip(outcomes) {
                    // A caller that stopped waiting still has its entry stored.
                    let _ = request.reply.send(Ok(appended));
                }
            }
            Err(error) => {
                tracing::error!(
                    workspace = store.workspace(),
                    entries = batch.len(),
                    error = %error,
                    "Inbox batch was not stored"
                );
                let error = Arc::new(error);
                let entries = batch.len();
                for request in batch {
                    let _ = request.reply.send(Err(StoreError::InboxBatchFailed {
                        entries,
                        source: Arc::clone(&error),
                    }));
                }
            }
        }
    }
}

fn commit_batch(store: &Store, batch: &[AppendRequest]) -> Result<Vec<Appended>, StoreError> {
    let now_ms = now_unix_ms();
    store.write("append inbox batch", |txn| {
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in batch {
            outcomes.push(txn.inbox_append(&request.notification_id, &request.payload, now_ms)?);
        }
        txn.inbox_prune_ids(now_ms)?;
        Ok(outcomes)
    })
}
