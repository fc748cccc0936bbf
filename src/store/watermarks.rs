//! Salesforce poll watermarks and the rows applied inside the overlap window.
//!
//! A watermark is the (SystemModstamp, Id) of the last row a poll made durable. The next poll
//! reads again from a little before it, so rows that commit late are not missed. The applied
//! set records which of the re-read rows were already applied.

use redb::ReadableTable;

use super::error::{OperationContext, StoreError};
use super::schema::{WATERMARKS, WATERMARK_APPLIED};
use super::{Store, StoreTxn};

/// How far a poll has read: Salesforce's own SystemModstamp and the record id that breaks
/// ties between rows of the same timestamp.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Watermark {
    /// SystemModstamp in Unix milliseconds.
    pub system_modstamp_ms: i64,
    pub id: String,
}

impl StoreTxn<'_> {
    /// Reads watermark `name` inside this transaction.
    pub fn get_watermark(&self, name: &str) -> Result<Option<Watermark>, StoreError> {
        let table = self.txn.open_table(WATERMARKS).during("open watermarks")?;
        read_watermark(&table, self.workspace, name)
    }

    /// Sets watermark `name`, unless the stored one is already later.
    pub fn advance_watermark_to(
        &mut self,
        name: &str,
        watermark: &Watermark,
    ) -> Result<(), StoreError> {
        validate_name(name)?;
        if self
            .get_watermark(name)?
            .is_some_and(|current| current >= *watermark)
        {
            return Ok(());
        }
        let mut table = self.txn.open_table(WATERMARKS).during("open watermarks")?;
        table
            .insert(
                (self.workspace, name),
                (watermark.system_modstamp_ms, watermark.id.as_str()),
            )
            .during("write watermark")?;
        Ok(())
    }

    /// Records that the row (`id`, `system_modstamp_ms`) read under watermark `name` was
    /// applied.
    pub fn mark_applied(
        &mut self,
        name: &str,
        id: &str,
        system_modstamp_ms: i64,
    ) -> Result<(), StoreError> {
        validate_name(name)?;
        let mut table = self
            .txn
            .open_table(WATERMARK_APPLIED)
            .during("open applied rows")?;
        table
            .insert((self.workspace, name, system_modstamp_ms, id), ())
            .during("write applied row")?;
        Ok(())
    }

    /// Forgets applied rows of watermark `name` with a SystemModstamp before `before_ms`.
    /// Returns how many were removed.
    pub fn prune_applied(&mut self, name: &str, before_ms: i64) -> Result<usize, StoreError> {
        let mut table = self
            .txn
            .open_table(WATERMARK_APPLIED)
            .during("open applied rows")?;
        let mut removed = 0;
        table
            .retain_in(
                (self.workspace, name, i64::MIN, "")..(self.workspace, name, before_ms, ""),
                |_, ()| {
                    removed += 1;
                    false
                },
            )
            .during("prune applied rows")?;
        Ok(removed)
    }
}

impl Store {
    /// Reads watermark `name`.
    pub fn get_watermark(&self, name: &str) -> Result<Option<Watermark>, StoreError> {
        self.read("read watermark", |txn| {
            let table = txn.open_table(WATERMARKS).during("open watermarks")?;
            read_watermark(&table, &self.workspace, name)
        })
    }

    /// Returns whether the row (`id`, `system_modstamp_ms`) was applied under watermark
    /// `name` and not yet pruned.
    pub fn was_applied(
        &self,
        name: &str,
        id: &str,
        system_modstamp_ms: i64,
    ) -> Result<bool, StoreError> {
        self.read("read applied rows", |txn| {
            let table = txn
                .open_table(WATERMARK_APPLIED)
                .during("open applied rows")?;
            let found = table
                .get((&*self.workspace, name, system_modstamp_ms, id))
                .during("read applied rows")?;
            Ok(found.is_some())
        })
    }

    /// Records the applied rows of one poll and moves the watermark, in one commit, then
    /// removes applied rows older than `overlap_ms` before the new watermark.
    pub fn advance_watermark(
        &self,
        name: &str,
        watermark: &Watermark,
        applied: &[(String, i64)],
        overlap_ms: i64,
    ) -> Result<(), StoreError> {
        self.write("advance watermark", |txn| {
            for (id, system_modstamp_ms) in applied {
                txn.mark_applied(name, id, *system_modstamp_ms)?;
            }
            txn.advance_watermark_to(name, watermark)?;

            let current = txn
                .get_watermark(name)?
                .unwrap_or_else(|| watermark.clone());
            let before_ms = current.system_modstamp_ms.saturating_sub(overlap_ms);
            txn.prune_applied(name, before_ms)?;
            Ok(())
        })
    }
}

fn read_watermark(
    table: &impl ReadableTable<(&'static str, &'static str), (i64, &'static str)>,
    workspace: &str,
    name: &str,
) -> Result<Option<Watermark>, StoreError> {
    let found = table.get((workspace, name)).during("read watermark")?;
    Ok(found.map(|guard| {
        let (system_modstamp_ms, id) = guard.value();
        Watermark {
            system_modstamp_ms,
            id: id.to_owned(),
        }
    }))
}

fn validate_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::InvalidArgument {
            what: "watermark name",
            reason: "it is empty; name the polled object, for example \"Lead\"".to_owned(),
        });
    }
    Ok(())
}
