//! Reads of the routing indexes inside a write transaction, and the one sync error a mapping
//! may have open.

use redb::{ReadableTable, TableDefinition};

use super::error::{OperationContext, StoreError};
use super::mappings::MappingId;
use super::schema::{
    add_to_counter, counter, read_counter, COUNTERS, MAPPING_BY_INTERCOM, MAPPING_BY_SALESFORCE,
};
use super::sync_errors::{NewSyncError, SyncErrorId};
use super::{Store, StoreTxn};

/// (workspace, mapping id) -> id of the mapping's open sync error.
pub(crate) const MAPPING_SYNC_ERROR: TableDefinition<(&str, u64), u64> =
    TableDefinition::new("mapping_sync_error");

impl StoreTxn<'_> {
    /// Raises the mapping-id counter to at least `id`, so an id handed out in memory by
    /// [`Store::last_mapping_id`] + 1 can be stored with `put_mapping`.
    pub fn claim_mapping_id(&mut self, id: MappingId) -> Result<(), StoreError> {
        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let last = read_counter(&counters, self.workspace, counter::MAPPING_ID)?;
        if id > last {
            let delta = i64::try_from(id - last).unwrap_or(i64::MAX);
            add_to_counter(&mut counters, self.workspace, counter::MAPPING_ID, delta)?;
        }
        Ok(())
    }

    /// The mapping that owns an Intercom contact id, as this transaction sees it.
    pub fn owner_of_intercom_id(&self, intercom_id: &str) -> Result<Option<MappingId>, StoreError> {
        let table = self
            .txn
            .open_table(MAPPING_BY_INTERCOM)
            .during("open index")?;
        let owner = table
            .get((self.workspace, intercom_id))
            .during("read index")?;
        Ok(owner.map(|guard| guard.value()))
    }

    /// The mapping that owns a Salesforce record id, as this transaction sees it.
    pub fn owner_of_salesforce_id(
        &self,
        salesforce_id: &str,
    ) -> Result<Option<MappingId>, StoreError> {
        let table = self
            .txn
            .open_table(MAPPING_BY_SALESFORCE)
            .during("open index")?;
        let owner = table
            .get((self.workspace, salesforce_id))
            .during("read index")?;
        Ok(owner.map(|guard| guard.value()))
    }

    /// Replaces the open sync error of mapping `id` with `error`, or removes it for `None`.
    pub fn set_mapping_sync_error(
        &mut self,
        id: MappingId,
        error: Option<&NewSyncError>,
    ) -> Result<Option<SyncErrorId>, StoreError> {
        let previous = {
            let mut table = self
                .txn
                .open_table(MAPPING_SYNC_ERROR)
                .during("open mapping sync errors")?;
            let previous = table
                .remove((self.workspace, id))
                .during("remove mapping sync error")?;
            previous.map(|guard| guard.value())
        };
        if let Some(previous) = previous {
            self.delete_sync_error(previous)?;
        }
        let Some(error) = error else {
            return Ok(None);
        };
        let error_id = self.add_sync_error(error)?;
        let mut table = self
            .txn
            .open_table(MAPPING_SYNC_ERROR)
            .during("open mapping sync errors")?;
        table
            .insert((self.workspace, id), error_id)
            .during("write mapping sync error")?;
        Ok(Some(error_id))
    }
}

impl Store {
    /// The highest mapping id handed out so far, 0 for an empty store.
    pub fn last_mapping_id(&self) -> Result<MappingId, StoreError> {
        self.read("read the last mapping id", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, self.workspace(), counter::MAPPING_ID)
        })
    }

    /// Replaces or removes the open sync error of mapping `id` in its own transaction.
    pub fn set_mapping_sync_error(
        &self,
        id: MappingId,
        error: Option<&NewSyncError>,
    ) -> Result<Option<SyncErrorId>, StoreError> {
        self.write("set a mapping's sync error", |txn| {
            txn.set_mapping_sync_error(id, error)
        })
    }
}
