//! Errors of the store, one variant per way an operation can fail.

use std::path::PathBuf;
use std::sync::Arc;

use super::mappings::MappingId;

/// A failed store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb could not open or create the file.
    #[error(
        "failed to open the store file {path}: {source}; check the path, its permissions, \
         and that no other intersync process has the file open"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: redb::DatabaseError,
    },

    /// The file was written by a build of intersync with another schema.
    #[error(
        "the store file {path} has schema version {found}, but this build of intersync \
         reads version {expected}; run the intersync release that wrote the file, or move \
         the file away to start from an empty store"
    )]
    SchemaVersionMismatch {
        path: PathBuf,
        found: u64,
        expected: u64,
    },

    /// The file is a redb database that intersync did not create.
    #[error(
        "the file {path} is a redb database without an intersync schema version; \
         point --data-dir at an intersync store or at an empty directory"
    )]
    NotAStore { path: PathBuf },

    /// redb failed while reading or writing inside a transaction.
    #[error("store operation `{operation}` failed: {source}")]
    Database {
        operation: &'static str,
        #[source]
        source: redb::Error,
    },

    /// The commit failed. Treat the transaction as not stored: its changes may be missing
    /// after a restart, and a failed sync may also leave them in place.
    #[error(
        "commit of `{operation}` failed, so its changes may not be stored: {source}; \
         check free disk space and the file's health, then restart intersync"
    )]
    Commit {
        operation: &'static str,
        #[source]
        source: redb::CommitError,
    },

    /// A value could not be serialized before it was stored.
    #[error("failed to encode {what} for key {key}: {source}")]
    Encode {
        what: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// A stored value does not match the type the caller asked for.
    #[error(
        "failed to decode {what} stored under key {key}: {source}; the stored value does \
         not match the type this build expects"
    )]
    Decode {
        what: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },

    /// The stored credentials do not decode. The message leaves out the stored text, which
    /// holds tokens.
    #[error(
        "failed to decode the stored {what}: {category} error at line {line}, column {column}; \
         authorize the connection again to replace them"
    )]
    CredentialsDecode {
        what: &'static str,
        category: String,
        line: usize,
        column: usize,
    },

    /// Another mapping already owns this Intercom or Salesforce id.
    #[error(
        "cannot index mapping {mapping} by {index} {value}: mapping {owner} already has it; \
         merge or delete one of the two mappings first"
    )]
    IndexConflict {
        index: &'static str,
        value: String,
        mapping: MappingId,
        owner: MappingId,
    },

    /// An argument is empty or out of range.
    #[error("invalid {what}: {reason}")]
    InvalidArgument { what: &'static str, reason: String },

    /// The operating system refused to start the inbox writer thread.
    #[error("failed to start the inbox writer thread: {source}; check the process's thread limit")]
    WriterThread {
        #[source]
        source: std::io::Error,
    },

    /// The inbox writer thread is gone, so appends can no longer be made durable.
    #[error("the inbox writer thread has stopped; restart intersync to accept webhooks again")]
    InboxWriterStopped,

    /// The group commit that carried this append failed, so the entry may not be stored
    /// and the sender must deliver it again.
    #[error(
        "the inbox batch of {entries} entries may not be stored, so reject the \
         notification and let the sender retry: {source}"
    )]
    InboxBatchFailed {
        entries: usize,
        #[source]
        source: Arc<StoreError>,
    },
}

/// Attaches the name of the operation to a redb error.
pub(crate) trait OperationContext<T> {
    fn during(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> OperationContext<T> for Result<T, E> {
    fn during(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|error| StoreError::Database {
            operation,
            source: error.into(),
        })
    }
}
