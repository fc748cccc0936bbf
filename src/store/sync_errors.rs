//! Sync errors kept for the operator: what failed, when, on which mapping, and why.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{OperationContext, StoreError};
use super::mappings::MappingId;
use super::schema::{add_to_counter, counter, read_counter, COUNTERS, SYNC_ERRORS};
use super::{decode, encode, Store, StoreTxn};

/// Id of a stored sync error, handed out from a counter starting at 1.
pub type SyncErrorId = u64;

/// A sync error to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSyncError {
    pub at: DateTime<Utc>,
    pub mapping_id: Option<MappingId>,
    /// A short, stable description of the failure, such as a Salesforce error code.
    pub cause: String,
    /// Whatever helps the operator: the request, the response body, the record ids.
    pub details: serde_json::Value,
}

/// A stored sync error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncError {
    pub id: SyncErrorId,
    pub at: DateTime<Utc>,
    pub mapping_id: Option<MappingId>,
    pub cause: String,
    pub details: serde_json::Value,
}

const WHAT: &str = "sync error";

impl StoreTxn<'_> {
    /// Stores a sync error under the next free id.
    pub fn add_sync_error(&mut self, error: &NewSyncError) -> Result<SyncErrorId, StoreError> {
        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let id = add_to_counter(&mut counters, self.workspace, counter::SYNC_ERROR_ID, 1)?;
        add_to_counter(&mut counters, self.workspace, counter::SYNC_ERRORS, 1)?;

        let stored = SyncError {
            id,
            at: error.at,
            mapping_id: error.mapping_id,
            cause: error.cause.clone(),
            details: error.details.clone(),
        };
        let bytes = encode(WHAT, id, &stored)?;
        let mut table = self
            .txn
            .open_table(SYNC_ERRORS)
            .during("open sync errors")?;
        table
            .insert((self.workspace, id), bytes.as_slice())
            .during("write sync error")?;
        Ok(id)
    }

    /// Removes a sync error. Returns whether it was there.
    pub fn delete_sync_error(&mut self, id: SyncErrorId) -> Result<bool, StoreError> {
        let mut table = self
            .txn
            .open_table(SYNC_ERRORS)
            .during("open sync errors")?;
        let removed = table
            .remove((self.workspace, id))
            .during("delete sync error")?
            .is_some();
        drop(table);

        if removed {
            let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
            add_to_counter(&mut counters, self.workspace, counter::SYNC_ERRORS, -1)?;
        }
        Ok(removed)
    }
}

impl Store {
    /// Stores a sync error in its own commit. Returns its id.
    pub fn add_sync_error(&self, error: &NewSyncError) -> Result<SyncErrorId, StoreError> {
        self.write("add sync error", |txn| txn.add_sync_error(error))
    }

    /// Removes a sync error. Returns whether it was there.
    pub fn delete_sync_error(&self, id: SyncErrorId) -> Result<bool, StoreError> {
        self.write("delete sync error", |txn| txn.delete_sync_error(id))
    }

    /// Reads one sync error.
    pub fn get_sync_error(&self, id: SyncErrorId) -> Result<Option<SyncError>, StoreError> {
        self.read("read sync error", |txn| {
            let table = txn.open_table(SYNC_ERRORS).during("open sync errors")?;
            let found = table
                .get((&*self.workspace, id))
                .during("read sync error")?;
            found
                .map(|guard| decode(WHAT, id, guard.value()))
                .transpose()
        })
    }

    /// Lists up to `limit` sync errors with an id above `after`, oldest first.
    pub fn list_sync_errors(
        &self,
        after: Option<SyncErrorId>,
        limit: usize,
    ) -> Result<Vec<SyncError>, StoreError> {
        self.read("list sync errors", |txn| {
            let table = txn.open_table(SYNC_ERRORS).during("open sync errors")?;
            let Some(start) = after.map_or(Some(0), |after| after.checked_add(1)) else {
                return Ok(Vec::new());
            };
            let range = table
                .range((&*self.workspace, start)..=(&*self.workspace, u64::MAX))
                .during("list sync errors")?;

            let mut errors = Vec::new();
            for entry in range.take(limit) {
                let (key, value) = entry.during("list sync errors")?;
                errors.push(decode(WHAT, key.value().1, value.value())?);
            }
            Ok(errors)
        })
    }

    /// Returns how many sync errors are kept.
    pub fn sync_error_count(&self) -> Result<u64, StoreError> {
        self.read("count sync errors", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, &self.workspace, counter::SYNC_ERRORS)
        })
    }
}
