//! The durable event inbox: webhook notifications stored before they are acknowledged,
//! read in seq order, and removed once applied.
//!
//! Notification ids are kept after their entry is removed, so a redelivery is recognized
//! until the id is pruned by age or count (see [`StoreOptions`](super::StoreOptions)).

use redb::ReadableTable;

use super::error::{OperationContext, StoreError};
use super::schema::{
    add_to_counter, counter, read_counter, COUNTERS, INBOX, INBOX_SEEN, INBOX_SEEN_ORDER,
};
use super::{Store, StoreTxn};

/// The maximum number of notification ids one commit removes, which bounds the work pruning
/// adds to a group commit.
const PRUNE_PER_COMMIT: usize = 4096;

/// The outcome of an append, returned once the entry is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The notification was stored under this seq.
    New(u64),
    /// A notification with this id was stored before; nothing was written.
    Duplicate,
}

/// A stored notification waiting to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxEntry {
    pub seq: u64,
    pub notification_id: String,
    /// When the store accepted it, in Unix milliseconds of the local clock.
    pub received_at_ms: u64,
    pub payload: Vec<u8>,
}

impl StoreTxn<'_> {
    /// Stores a notification unless its id was seen before.
    pub fn inbox_append(
        &mut self,
        notification_id: &str,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<Appended, StoreError> {
        if notification_id.is_empty() {
            return Err(StoreError::InvalidArgument {
                what: "notification id",
                reason: "it is empty; pass the `id` field of the notification".to_owned(),
            });
        }

        let mut seen = self.txn.open_table(INBOX_SEEN).during("open inbox ids")?;
        if seen
            .get((self.workspace, notification_id))
            .during("read inbox ids")?
            .is_some()
        {
            return Ok(Appended::Duplicate);
        }

        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let seq = add_to_counter(&mut counters, self.workspace, counter::INBOX_SEQ, 1)?;
        add_to_counter(&mut counters, self.workspace, counter::INBOX_DEPTH, 1)?;
        add_to_counter(&mut counters, self.workspace, counter::INBOX_SEEN, 1)?;

        seen.insert((self.workspace, notification_id), seq)
            .during("write inbox id")?;
        let mut order = self
            .txn
            .open_table(INBOX_SEEN_ORDER)
            .during("open inbox ids")?;
        order
            .insert((self.workspace, seq), (notification_id, now_ms))
            .during("write inbox id")?;
        let mut inbox = self.txn.open_table(INBOX).during("open inbox")?;
        inbox
            .insert((self.workspace, seq), (now_ms, notification_id, payload))
            .during("write inbox entry")?;
        Ok(Appended::New(seq))
    }

    /// Removes an applied entry. Returns whether it was there.
    pub fn inbox_ack(&mut self, seq: u64) -> Result<bool, StoreError> {
        let mut inbox = self.txn.open_table(INBOX).during("open inbox")?;
        let removed = inbox
            .remove((self.workspace, seq))
            .during("remove inbox entry")?
            .is_some();
        drop(inbox);

        if removed {
            let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
            add_to_counter(&mut counters, self.workspace, counter::INBOX_DEPTH, -1)?;
        }
        Ok(removed)
    }

    /// Removes the oldest notification ids beyond the count limit or older than the time
    /// limit. Returns how many were removed.
    ///
    /// Pruning stops at the oldest id whose entry is not yet acked, so a redelivery of a
    /// waiting notification is always caught, even when that keeps more ids than the limit.
    pub fn inbox_prune_ids(&mut self, now_ms: u64) -> Result<usize, StoreError> {
        let ttl_ms = u64::try_from(self.options.dedup_ttl.as_millis()).unwrap_or(u64::MAX);
        let cutoff_ms = now_ms.saturating_sub(ttl_ms);
        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        let mut count = read_counter(&counters, self.workspace, counter::INBOX_SEEN)?;
        let mut order = self
            .txn
            .open_table(INBOX_SEEN_ORDER)
            .during("open inbox ids")?;
        let mut seen = self.txn.open_table(INBOX_SEEN).during("open inbox ids")?;
        let inbox = self.txn.open_table(INBOX).during("open inbox")?;

        let mut removed = 0;
        while removed < PRUNE_PER_COMMIT {
            let oldest = order
                .range((self.workspace, 0)..=(self.workspace, u64::MAX))
                .during("read inbox ids")?
                .next()
                .transpose()
                .during("read inbox ids")?
                .map(|(key, value)| {
                    let (notification_id, seen_at_ms) = value.value();
                    (key.value().1, notification_id.to_owned(), seen_at_ms)
                });
            let Some((seq, notification_id, seen_at_ms)) = oldest else {
                break;
            };
            if count <= self.options.dedup_max_ids && seen_at_ms >= cutoff_ms {
                break;
            }
            let waiting = inbox
                .get((self.workspace, seq))
                .during("read inbox")?
                .is_some();
            if waiting {
                break;
            }

            order
                .remove((self.workspace, seq))
                .during("remove inbox id")?;
            seen.remove((self.workspace, notification_id.as_str()))
                .during("remove inbox id")?;
            count = count.saturating_sub(1);
            removed += 1;
        }

        let removed_delta = i64::try_from(removed).unwrap_or(i64::MAX);
        add_to_counter(
            &mut counters,
            self.workspace,
            counter::INBOX_SEEN,
            -removed_delta,
        )?;
        Ok(removed)
    }
}

impl Store {
    /// Reads up to `limit` waiting entries in seq order.
    pub fn inbox_pending(&self, limit: usize) -> Result<Vec<InboxEntry>, StoreError> {
        self.read("read inbox", |txn| {
            let inbox = txn.open_table(INBOX).during("open inbox")?;
            let range = inbox
                .range((&*self.workspace, 0)..=(&*self.workspace, u64::MAX))
                .during("read inbox")?;

            let mut entries = Vec::new();
            for entry in range.take(limit) {
                let (key, value) = entry.during("read inbox")?;
                let (received_at_ms, notification_id, payload) = value.value();
                entries.push(InboxEntry {
                    seq: key.value().1,
                    notification_id: notification_id.to_owned(),
                    received_at_ms,
                    payload: payload.to_vec(),
                });
            }
            Ok(entries)
        })
    }

    /// Removes an applied entry in its own commit. Returns whether it was there. To ack
    /// together with a mapping update, call [`StoreTxn::inbox_ack`] inside [`Store::write`].
    pub fn inbox_ack(&self, seq: u64) -> Result<bool, StoreError> {
        self.write("ack inbox entry", |txn| txn.inbox_ack(seq))
    }

    /// Returns how many entries wait to be applied, from a counter kept with each change.
    pub fn inbox_depth(&self) -> Result<u64, StoreError> {
        self.read("read inbox depth", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, &self.workspace, counter::INBOX_DEPTH)
        })
    }

    /// Returns how many notification ids are kept for de-duplication.
    pub fn inbox_known_ids(&self) -> Result<u64, StoreError> {
        self.read("read inbox ids", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, &self.workspace, counter::INBOX_SEEN)
        })
    }
}
