//! Disk faults injected under redb: a failed commit must leave the previous state intact,
//! and an append must never report success for an entry that is not on disk.

use std::fs::OpenOptions;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use futures::future::join_all;
use intersync::store::{Appended, MappingIndex, Store, StoreError, StoreOptions};
use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Which I/O the backend lets through.
#[derive(Debug, Default)]
struct Faults {
    /// Writes still allowed once armed; every write after them fails.
    writes_left: AtomicU64,
    writes_armed: AtomicBool,
    sync_fails: AtomicBool,
}

impl Faults {
    fn fail_writes_after(&self, writes: u64) {
        self.writes_left.store(writes, Ordering::SeqCst);
        self.writes_armed.store(true, Ordering::SeqCst);
    }
}

/// A file backend that fails writes or syncs on command.
#[derive(Debug)]
struct FaultyBackend {
    inner: FileBackend,
    faults: Arc<Faults>,
}

fn injected() -> BackendError {
    BackendError::Io(std::io::Error::other("injected disk fault"))
}

impl StorageBackend for FaultyBackend {
    fn len(&self) -> Result<u64, BackendError> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), BackendError> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), BackendError> {
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> Result<(), BackendError> {
        if self.faults.sync_fails.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        if self.faults.writes_armed.load(Ordering::SeqCst) {
            let allowed =
                self.faults
                    .writes_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                        left.checked_sub(1)
                    });
            if allowed.is_err() {
                return Err(injected());
            }
        }
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), BackendError> {
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

fn open_faulty(path: &Path) -> (Store, Arc<Faults>) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap();
    let faults = Arc::new(Faults::default());
    let backend = FaultyBackend {
        inner: FileBackend::new(file),
        faults: Arc::clone(&faults),
    };
    let store = Store::open_with_backend(backend, path, StoreOptions::default()).unwrap();
    (store, faults)
}

/// Stores a mapping and three inbox entries that every later check expects to find.
async fn seed(store: &Store) -> u64 {
    let writer = store.inbox_writer().unwrap();
    for i in 0..3 {
        let appended = writer.append(&format!("seed_{i}"), vec![i]).await.unwrap();
        assert!(matches!(appended, Appended::New(_)));
    }
    let index = MappingIndex {
        intercom_id: Some("ic_seed".to_owned()),
        ..MappingIndex::default()
    };
    store.create_mapping(&index, &"seeded").unwrap()
}

fn assert_seed_intact(store: &Store, mapping_id: u64) {
    let mapping = store.get_mapping::<String>(mapping_id).unwrap().unwrap();
    assert_eq!(mapping.state, "seeded");
    assert_eq!(
        store.mapping_by_intercom_id("ic_seed").unwrap(),
        Some(mapping_id)
    );
    let seeded: Vec<String> = store
        .inbox_pending(100)
        .unwrap()
        .into_iter()
        .map(|entry| entry.notification_id)
        .filter(|id| id.starts_with("seed_"))
        .collect();
    assert_eq!(seeded, vec!["seed_0", "seed_1", "seed_2"]);
}

#[tokio::test]
async fn failed_write_never_reports_success() {
    let mut cases_with_acknowledged_appends = 0;
    for writes_allowed in [0, 1, 3, 6, 10, 15, 22, 33, 50] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intersync.redb");

        let mut acknowledged = Vec::new();
        let mut failures = 0;
        let mapping_id = {
            let (store, faults) = open_faulty(&path);
            let mapping_id = seed(&store).await;
            let writer = store.inbox_writer().unwrap();

            faults.fail_writes_after(writes_allowed);
            for round in 0..12 {
                let ids: Vec<String> = (0..8).map(|i| format!("burst_{round}_{i}")).collect();
                let outcomes =
                    join_all(ids.iter().map(|id| writer.append(id, b"x".to_vec()))).await;
                for (id, outcome) in ids.into_iter().zip(outcomes) {
                    match outcome {
                        Ok(Appended::New(_)) => acknowledged.push(id),
                        Ok(Appended::Duplicate) => panic!("{id} is new"),
                        Err(error) => {
                            assert!(
                                matches!(error, StoreError::InboxBatchFailed { .. }),
                                "{error:?}"
                            );
                            failures += 1;
                        }
                    }
                }
            }
            mapping_id
        };
        assert!(
            failures > 0,
            "no append failed with {writes_allowed} writes allowed"
        );
        if !acknowledged.is_empty() {
            cases_with_acknowledged_appends += 1;
        }

        let store = Store::open(&path).unwrap();
        assert_seed_intact(&store, mapping_id);
        let stored: Vec<String> = store
            .inbox_pending(1000)
            .unwrap()
            .into_iter()
            .map(|entry| entry.notification_id)
            .collect();
        for id in &acknowledged {
            assert!(
                stored.contains(id),
                "{id} was acknowledged but lost (writes allowed: {writes_allowed})"
            );
        }
    }
    assert!(
        cases_with_acknowledged_appends >= 2,
        "too few cases let a commit through before the fault"
    );
}

#[tokio::test]
async fn failed_sync_fails_the_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");
    let (store, faults) = open_faulty(&path);
    let mapping_id = seed(&store).await;
    let writer = store.inbox_writer().unwrap();

    faults.sync_fails.store(true, Ordering::SeqCst);
    let outcome = writer.append("after_fault", b"x".to_vec()).await;

    let error = outcome.unwrap_err();
    assert!(
        matches!(error, StoreError::InboxBatchFailed { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("may not be stored"));
    drop(writer);
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_seed_intact(&store, mapping_id);
}

#[tokio::test]
async fn failed_commit_keeps_previous_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");
    let mapping_id = {
        let (store, faults) = open_faulty(&path);
        let mapping_id = seed(&store).await;
        let index = MappingIndex {
            intercom_id: Some("ic_seed".to_owned()),
            ..MappingIndex::default()
        };

        faults.fail_writes_after(0);
        let error = store
            .put_mapping(mapping_id, &index, &"changed")
            .unwrap_err();

        assert!(
            matches!(
                error,
                StoreError::Commit { .. } | StoreError::Database { .. }
            ),
            "{error:?}"
        );
        mapping_id
    };

    let store = Store::open(&path).unwrap();
    assert_seed_intact(&store, mapping_id);
}
