//! A bounded history per mapping: what changed, from which side, by which rule.

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::error::{OperationContext, StoreError};
use super::mappings::MappingId;
use super::schema::HISTORY;
use super::{decode, encode, Store, StoreTxn};

/// The system a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Intercom,
    Salesforce,
}

/// One attribute's change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
}

/// One step in a mapping's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    /// The side the change came from.
    pub side: Side,
    /// The sync rule that decided the step, for example `update_wins_newer`.
    pub rule: String,
    pub changes: Vec<FieldChange>,
}

const WHAT: &str = "history entry";

impl StoreTxn<'_> {
    /// Appends an entry to the history of mapping `id`, then removes the oldest entries
    /// beyond [`StoreOptions::history_limit`](super::StoreOptions::history_limit).
    pub fn append_history(
        &mut self,
        id: MappingId,
        entry: &HistoryEntry,
    ) -> Result<(), StoreError> {
        let workspace = self.workspace;
        let mut table = self.txn.open_table(HISTORY).during("open history")?;
        let range = (workspace, id, 0)..=(workspace, id, u64::MAX);

        let last_seq = table
            .range(range.clone())
            .during("read history")?
            .next_back()
            .transpose()
            .during("read history")?
            .map(|(key, _)| key.value().2);
        let seq = last_seq.map_or(1, |last| last + 1);
        let bytes = encode(WHAT, format!("{id}/{seq}"), entry)?;
        table
            .insert((workspace, id, seq), bytes.as_slice())
            .during("write history entry")?;

        let limit = self.options.history_limit as u64;
        let kept = table.range(range).during("read history")?.count() as u64;
        let excess = kept.saturating_sub(limit);
        if excess > 0 {
            let mut removed = 0;
            table
                .retain_in((workspace, id, 0)..=(workspace, id, u64::MAX), |_, _| {
                    removed += 1;
                    removed > excess
                })
                .during("trim history")?;
        }
        Ok(())
    }
}

impl Store {
    /// Appends an entry to the history of mapping `id` in its own commit.
    pub fn append_history(&self, id: MappingId, entry: &HistoryEntry) -> Result<(), StoreError> {
        self.write("append history", |txn| txn.append_history(id, entry))
    }

    /// Reads the kept history of mapping `id`, oldest first.
    pub fn history(&self, id: MappingId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read("read history", |txn| {
            let table = txn.open_table(HISTORY).during("open history")?;
            let range = table
                .range((&*self.workspace, id, 0)..=(&*self.workspace, id, u64::MAX))
                .during("read history")?;

            let mut entries = Vec::new();
            for entry in range {
                let (key, value) = entry.during("read history")?;
                let (_, _, seq) = key.value();
                entries.push(decode(WHAT, format!("{id}/{seq}"), value.value())?);
            }
            Ok(entries)
        })
    }
}
