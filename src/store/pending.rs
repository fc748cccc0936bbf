//! Pending Salesforce writes: payloads recorded before the call that sends them, and
//! removed once Salesforce has accepted them.

use redb::ReadableTable;

use super::error::{OperationContext, StoreError};
use super::schema::{add_to_counter, counter, read_counter, COUNTERS, PENDING_WRITES};
use super::{Store, StoreTxn};

/// A write waiting to be sent to Salesforce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    pub seq: u64,
    pub payload: Vec<u8>,
}

impl StoreTxn<'_> {
    /// Records writes in the given order. Returns their seqs.
    pub fn pending_add(&mut self, payloads: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let mut table = self
            .txn
            .open_table(PENDING_WRITES)
            .during("open pending writes")?;

        let mut seqs = Vec::with_capacity(payloads.len());
        for payload in payloads {
            let seq = add_to_counter(&mut counters, self.workspace, counter::PENDING_SEQ, 1)?;
            table
                .insert((self.workspace, seq), payload.as_slice())
                .during("write pending write")?;
            seqs.push(seq);
        }
        let added = i64::try_from(payloads.len()).unwrap_or(i64::MAX);
        add_to_counter(
            &mut counters,
            self.workspace,
            counter::PENDING_WRITES,
            added,
        )?;
        Ok(seqs)
    }

    /// Removes sent writes. Returns how many were there.
    pub fn pending_remove(&mut self, seqs: &[u64]) -> Result<usize, StoreError> {
        let mut table = self
            .txn
            .open_table(PENDING_WRITES)
            .during("open pending writes")?;
        let mut removed = 0;
        for &seq in seqs {
            if table
                .remove((self.workspace, seq))
                .during("remove pending write")?
                .is_some()
            {
                removed += 1;
            }
        }
        drop(table);

        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let delta = i64::try_from(removed).unwrap_or(i64::MAX);
        add_to_counter(
            &mut counters,
            self.workspace,
            counter::PENDING_WRITES,
            -delta,
        )?;
        Ok(removed)
    }
}

impl Store {
    /// Records writes in one commit. Returns their seqs.
    pub fn pending_add(&self, payloads: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        self.write("add pending writes", |txn| txn.pending_add(payloads))
    }

    /// Removes sent writes in one commit. Returns how many were there.
    pub fn pending_remove(&self, seqs: &[u64]) -> Result<usize, StoreError> {
        self.write("remove pending writes", |txn| txn.pending_remove(seqs))
    }

    /// Reads up to `limit` pending writes, oldest first.
    pub fn pending_list(&self, limit: usize) -> Result<Vec<PendingWrite>, StoreError> {
        self.read("list pending writes", |txn| {
            let table = txn
                .open_table(PENDING_WRITES)
                .during("open pending writes")?;
            let range = table
                .range((&*self.workspace, 0)..=(&*self.workspace, u64::MAX))
                .during("list pending writes")?;

            let mut writes = Vec::new();
            for entry in range.take(limit) {
                let (key, value) = entry.during("list pending writes")?;
                writes.push(PendingWrite {
                    seq: key.value().1,
                    payload: value.value().to_vec(),
                });
            }
            Ok(writes)
        })
    }

    /// Returns how many writes wait to be sent.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        self.read("count pending writes", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, &self.workspace, counter::PENDING_WRITES)
        })
    }
}
