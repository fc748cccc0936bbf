//! The redb store: every durable fact of the server in one file.
//!
//! [`Store`] opens the file and checks its schema version. Single changes have a method each
//! on [`Store`]; changes that must land together (a mapping's new state with the ack of the
//! inbox entry that caused it) go through [`Store::write`], which commits them in one
//! transaction. Webhook notifications enter through an [`InboxWriter`], which shares one
//! commit among concurrent appends.
//!
//! Every method blocks on disk I/O. Values the caller defines (mapping states, health
//! results, settings, credentials) are stored as JSON, because JSON tolerates added fields
//! and reordered enum variants between releases and can be read with standard tools.

mod batch;
mod credentials;
mod error;
mod health;
mod history;
mod inbox;
mod inbox_writer;
mod mappings;
mod pending;
mod routing;
mod schema;
mod settings;
mod sync_errors;
mod watermarks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{Database, ReadTransaction, ReadableDatabase, StorageBackend, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use batch::{BatchWriter, Change};
pub use error::StoreError;
pub use history::{FieldChange, HistoryEntry, Side};
pub use inbox::{Appended, InboxEntry};
pub use inbox_writer::InboxWriter;
pub use mappings::{Mapping, MappingId, MappingIndex};
pub use pending::PendingWrite;
pub use schema::SCHEMA_VERSION;
pub use sync_errors::{NewSyncError, SyncError, SyncErrorId};
pub use watermarks::Watermark;

use error::OperationContext;

/// The file name used when no path is given.
pub const DEFAULT_FILE_NAME: &str = "intersync.redb";

/// Returns the path of the store file inside `data_dir`.
pub fn default_path(data_dir: &Path) -> PathBuf {
    data_dir.join(DEFAULT_FILE_NAME)
}

/// The workspace id used when the caller names none.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Limits and sizes of the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How many history entries are kept per mapping; older ones are removed on append.
    pub history_limit: usize,
    /// How many notification ids are kept for de-duplication, at most. Ids of entries not yet
    /// acked are kept beyond this limit.
    pub dedup_max_ids: u64,
    /// How long a notification id is kept for de-duplication. Intercom retries a failed
    /// delivery once, one minute later, so a day leaves a wide margin.
    pub dedup_ttl: Duration,
    /// How many appends one group commit carries, at most.
    pub inbox_batch_max: usize,
    /// How many appends may wait for the writer thread before `append` waits for room.
    pub inbox_queue: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history_limit: 50,
            dedup_max_ids: 100_000,
            dedup_ttl: Duration::from_secs(24 * 60 * 60),
            inbox_batch_max: 1024,
            inbox_queue: 4096,
        }
    }
}

/// A handle on the store file, scoped to one workspace. Clones share the open file.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    workspace: Arc<str>,
}

struct Shared {
    database: Arc<Database>,
    location: PathBuf,
    options: StoreOptions,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Store")
            .field("location", &self.shared.location)
            .field("workspace", &self.workspace)
            .finish()
    }
}

impl Store {
    /// Opens the store file at `path`, creating it when it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens the store file at `path` with the given limits.
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref();
        let database = Database::create(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_database(database, path.to_path_buf(), options)
    }

    /// Opens a store on a custom redb storage backend; `location` names it in errors.
    /// Tests use it to inject disk faults.
    pub fn open_with_backend(
        backend: impl StorageBackend,
        location: impl Into<PathBuf>,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let location = location.into();
        let database = Database::builder()
            .create_with_backend(backend)
            .map_err(|source| StoreError::Open {
                path: location.clone(),
                source,
            })?;
        Self::from_database(database, location, options)
    }

    fn from_database(
        database: Database,
        location: PathBuf,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        schema::check_or_create(&database, &location)?;
        Ok(Store {
            shared: Arc::new(Shared {
                database: Arc::new(database),
                location,
                options,
            }),
            workspace: Arc::from(DEFAULT_WORKSPACE),
        })
    }

    /// Returns a handle on the same file scoped to another workspace.
    pub fn with_workspace(&self, workspace: &str) -> Result<Store, StoreError> {
        if workspace.is_empty() {
            return Err(StoreError::InvalidArgument {
                what: "workspace id",
                reason: "it is empty; give a short name such as \"default\"".to_owned(),
            });
        }
        Ok(Store {
            shared: Arc::clone(&self.shared),
            workspace: Arc::from(workspace),
        })
    }

    /// Returns the workspace this handle reads and writes.
    pub fn workspace(&self) -> &str {
        &self.workspace
    }

    /// Returns the file path, or the name given to a custom backend.
    pub fn location(&self) -> &Path {
        &self.shared.location
    }

    /// Returns the limits this store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.shared.options
    }

    /// Runs `apply` inside one write transaction and commits it when `apply` succeeds.
    /// When `apply` or the commit fails, nothing of the transaction is stored.
    pub fn write<T>(
        &self,
        operation: &'static str,
        apply: impl FnOnce(&mut StoreTxn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.shared.database.begin_write().during(operation)?;
        let value = {
            let mut store_txn = StoreTxn {
                txn: &txn,
                workspace: &self.workspace,
                options: &self.shared.options,
            };
            apply(&mut store_txn)?
        };
        txn.commit()
            .map_err(|source| StoreError::Commit { operation, source })?;
        Ok(value)
    }

    fn read<T>(
        &self,
        operation: &'static str,
        read: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.shared.database.begin_read().during(operation)?;
        read(&txn)
    }
}

/// One open write transaction of a [`Store`]; see [`Store::write`].
pub struct StoreTxn<'a> {
    txn: &'a WriteTransaction,
    workspace: &'a str,
    options: &'a StoreOptions,
}

fn encode<T: Serialize + ?Sized>(
    what: &'static str,
    key: impl std::fmt::Display,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Encode {
        what,
        key: key.to_string(),
        source,
    })
}

fn decode<T: DeserializeOwned>(
    what: &'static str,
    key: impl std::fmt::Display,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
        what,
        key: key.to_string(),
        source,
    })
}

/// Reads the wall clock in Unix milliseconds, or 0 if the clock is before 1970.
fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}
