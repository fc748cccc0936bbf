//! Identity mappings with their state, and the indexes that route events to them.
//!
//! A mapping row stores its index entries beside the caller's state, so an update can find
//! and replace the old index entries in the same transaction.

use redb::{ReadableMultimapTable, ReadableTable};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::error::{OperationContext, StoreError};
use super::schema::{
    add_to_counter, counter, read_counter, COUNTERS, HISTORY, MAPPINGS, MAPPING_BY_INTERCOM,
    MAPPING_BY_KEY, MAPPING_BY_SALESFORCE,
};
use super::{decode, encode, Store, StoreTxn};

/// Id of an identity mapping, handed out by the store from a counter starting at 1.
pub type MappingId = u64;

/// The ids and keys a mapping is found by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingIndex {
    /// The Intercom contact id; at most one mapping has a given one.
    pub intercom_id: Option<String>,
    /// The Salesforce Lead or Contact id; at most one mapping has a given one.
    pub salesforce_id: Option<String>,
    /// Normalized mapping keys (for example the trimmed, lowercased email). Several mappings
    /// may share a key, and a mapping whose sides disagree has one key per side.
    pub keys: Vec<String>,
}

/// A mapping as read back from the store.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping<S> {
    pub id: MappingId,
    pub index: MappingIndex,
    pub state: S,
}

#[derive(Serialize)]
struct StoredMappingRef<'a, S> {
    index: &'a MappingIndex,
    state: &'a S,
}

#[derive(Deserialize)]
struct StoredMapping<S> {
    index: MappingIndex,
    state: S,
}

const WHAT: &str = "mapping";

impl StoreTxn<'_> {
    /// Stores a new mapping under the next free id and indexes it.
    pub fn create_mapping<S: Serialize>(
        &mut self,
        index: &MappingIndex,
        state: &S,
    ) -> Result<MappingId, StoreError> {
        let id = {
            let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
            add_to_counter(&mut counters, self.workspace, counter::MAPPING_ID, 1)?
        };
        self.put_mapping(id, index, state)?;
        Ok(id)
    }

    /// Replaces the state and index entries of mapping `id`, or stores it if it was deleted.
    ///
    /// Fails with [`StoreError::IndexConflict`] when another mapping owns the new Intercom or
    /// Salesforce id, and with [`StoreError::InvalidArgument`] for an id never handed out.
    pub fn put_mapping<S: Serialize>(
        &mut self,
        id: MappingId,
        index: &MappingIndex,
        state: &S,
    ) -> Result<(), StoreError> {
        let index = validated(index)?;
        let last_id = {
            let counters = self.txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, self.workspace, counter::MAPPING_ID)?
        };
        if id == 0 || id > last_id {
            return Err(StoreError::InvalidArgument {
                what: "mapping id",
                reason: format!(
                    "{id} was never handed out; create the mapping with create_mapping"
                ),
            });
        }

        let old_index = self.mapping_index(id)?;
        self.check_unique(MAPPING_BY_INTERCOM, "Intercom id", &index.intercom_id, id)?;
        self.check_unique(
            MAPPING_BY_SALESFORCE,
            "Salesforce id",
            &index.salesforce_id,
            id,
        )?;
        if let Some(old_index) = &old_index {
            self.remove_index_entries(id, old_index)?;
        }
        self.insert_index_entries(id, &index)?;

        let bytes = encode(
            WHAT,
            id,
            &StoredMappingRef {
                index: &index,
                state,
            },
        )?;
        let mut mappings = self.txn.open_table(MAPPINGS).during("open mappings")?;
        mappings
            .insert((self.workspace, id), bytes.as_slice())
            .during("write mapping")?;
        drop(mappings);

        if old_index.is_none() {
            let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
            add_to_counter(&mut counters, self.workspace, counter::MAPPINGS, 1)?;
        }
        Ok(())
    }

    /// Reads mapping `id` inside this transaction.
    pub fn get_mapping<S: DeserializeOwned>(
        &self,
        id: MappingId,
    ) -> Result<Option<Mapping<S>>, StoreError> {
        let mappings = self.txn.open_table(MAPPINGS).during("open mappings")?;
        load_mapping(&mappings, self.workspace, id)
    }

    /// Removes mapping `id`, its index entries and its history. Returns whether it existed.
    pub fn delete_mapping(&mut self, id: MappingId) -> Result<bool, StoreError> {
        let Some(old_index) = self.mapping_index(id)? else {
            return Ok(false);
        };
        self.remove_index_entries(id, &old_index)?;

        let mut mappings = self.txn.open_table(MAPPINGS).during("open mappings")?;
        mappings
            .remove((self.workspace, id))
            .during("delete mapping")?;
        drop(mappings);

        let mut history = self.txn.open_table(HISTORY).during("open history")?;
        history
            .retain_in(
                (self.workspace, id, 0)..=(self.workspace, id, u64::MAX),
                |_, _| false,
            )
            .during("delete mapping history")?;
        drop(history);

        let mut counters = self.txn.open_table(COUNTERS).during("open counters")?;
        add_to_counter(&mut counters, self.workspace, counter::MAPPINGS, -1)?;
        Ok(true)
    }

    /// Finds the mapping that has an Intercom contact id, inside this transaction.
    pub fn mapping_by_intercom_id(
        &self,
        intercom_id: &str,
    ) -> Result<Option<MappingId>, StoreError> {
        let table = self
            .txn
            .open_table(MAPPING_BY_INTERCOM)
            .during("open index")?;
        find_unique(&table, self.workspace, intercom_id)
    }

    /// Finds the mapping that has a Salesforce Lead or Contact id, inside this transaction.
    pub fn mapping_by_salesforce_id(
        &self,
        salesforce_id: &str,
    ) -> Result<Option<MappingId>, StoreError> {
        let table = self
            .txn
            .open_table(MAPPING_BY_SALESFORCE)
            .during("open index")?;
        find_unique(&table, self.workspace, salesforce_id)
    }

    /// Finds every mapping that has a normalized mapping key, inside this transaction.
    pub fn mappings_by_key(&self, key: &str) -> Result<Vec<MappingId>, StoreError> {
        let table = self
            .txn
            .open_multimap_table(MAPPING_BY_KEY)
            .during("open index")?;
        find_by_key(&table, self.workspace, key)
    }

    fn mapping_index(&self, id: MappingId) -> Result<Option<MappingIndex>, StoreError> {
        let mappings = self.txn.open_table(MAPPINGS).during("open mappings")?;
        let stored: Option<Mapping<IgnoredAny>> = load_mapping(&mappings, self.workspace, id)?;
        Ok(stored.map(|mapping| mapping.index))
    }

    fn check_unique(
        &self,
        table: redb::TableDefinition<(&'static str, &'static str), u64>,
        index_name: &'static str,
        value: &Option<String>,
        id: MappingId,
    ) -> Result<(), StoreError> {
        let Some(value) = value else {
            return Ok(());
        };
        let table = self.txn.open_table(table).during("open mapping index")?;
        match find_unique(&table, self.workspace, value)? {
            Some(owner) if owner != id => Err(StoreError::IndexConflict {
                index: index_name,
                value: value.clone(),
                mapping: id,
                owner,
            }),
            _ => Ok(()),
        }
    }

    fn remove_index_entries(&self, id: MappingId, index: &MappingIndex) -> Result<(), StoreError> {
        if let Some(intercom_id) = &index.intercom_id {
            let mut table = self
                .txn
                .open_table(MAPPING_BY_INTERCOM)
                .during("open index")?;
            table
                .remove((self.workspace, intercom_id.as_str()))
                .during("remove index entry")?;
        }
        if let Some(salesforce_id) = &index.salesforce_id {
            let mut table = self
                .txn
                .open_table(MAPPING_BY_SALESFORCE)
                .during("open index")?;
            table
                .remove((self.workspace, salesforce_id.as_str()))
                .during("remove index entry")?;
        }
        let mut by_key = self
            .txn
            .open_multimap_table(MAPPING_BY_KEY)
            .during("open index")?;
        for key in &index.keys {
            by_key
                .remove((self.workspace, key.as_str()), id)
                .during("remove index entry")?;
        }
        Ok(())
    }

    fn insert_index_entries(&self, id: MappingId, index: &MappingIndex) -> Result<(), StoreError> {
        if let Some(intercom_id) = &index.intercom_id {
            let mut table = self
                .txn
                .open_table(MAPPING_BY_INTERCOM)
                .during("open index")?;
            table
                .insert((self.workspace, intercom_id.as_str()), id)
                .during("write index entry")?;
        }
        if let Some(salesforce_id) = &index.salesforce_id {
            let mut table = self
                .txn
                .open_table(MAPPING_BY_SALESFORCE)
                .during("open index")?;
            table
                .insert((self.workspace, salesforce_id.as_str()), id)
                .during("write index entry")?;
        }
        let mut by_key = self
            .txn
            .open_multimap_table(MAPPING_BY_KEY)
            .during("open index")?;
        for key in &index.keys {
            by_key
                .insert((self.workspace, key.as_str()), id)
                .during("write index entry")?;
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new mapping under the next free id and indexes it, in one commit.
    pub fn create_mapping<S: Serialize>(
        &self,
        index: &MappingIndex,
        state: &S,
    ) -> Result<MappingId, StoreError> {
        self.write("create mapping", |txn| txn.create_mapping(index, state))
    }

    /// Replaces the state and index entries of mapping `id`, in one commit.
    /// See [`StoreTxn::put_mapping`].
    pub fn put_mapping<S: Serialize>(
        &self,
        id: MappingId,
        index: &MappingIndex,
        state: &S,
    ) -> Result<(), StoreError> {
        self.write("put mapping", |txn| txn.put_mapping(id, index, state))
    }

    /// Removes mapping `id` with its index entries and history. Returns whether it existed.
    pub fn delete_mapping(&self, id: MappingId) -> Result<bool, StoreError> {
        self.write("delete mapping", |txn| txn.delete_mapping(id))
    }

    /// Reads mapping `id`, decoding its state as `S`.
    pub fn get_mapping<S: DeserializeOwned>(
        &self,
        id: MappingId,
    ) -> Result<Option<Mapping<S>>, StoreError> {
        self.read("get mapping", |txn| {
            let mappings = txn.open_table(MAPPINGS).during("open mappings")?;
            load_mapping(&mappings, &self.workspace, id)
        })
    }

    /// Finds the mapping that has an Intercom contact id.
    pub fn mapping_by_intercom_id(
        &self,
        intercom_id: &str,
    ) -> Result<Option<MappingId>, StoreError> {
        self.read("find mapping by Intercom id", |txn| {
            let table = txn.open_table(MAPPING_BY_INTERCOM).during("open index")?;
            find_unique(&table, &self.workspace, intercom_id)
        })
    }

    /// Finds the mapping that has a Salesforce Lead or Contact id.
    pub fn mapping_by_salesforce_id(
        &self,
        salesforce_id: &str,
    ) -> Result<Option<MappingId>, StoreError> {
        self.read("find mapping by Salesforce id", |txn| {
            let table = txn.open_table(MAPPING_BY_SALESFORCE).during("open index")?;
            find_unique(&table, &self.workspace, salesforce_id)
        })
    }

    /// Finds every mapping that has a normalized mapping key, in id order.
    pub fn mappings_by_key(&self, key: &str) -> Result<Vec<MappingId>, StoreError> {
        self.read("find mappings by key", |txn| {
            let table = txn
                .open_multimap_table(MAPPING_BY_KEY)
                .during("open index")?;
            find_by_key(&table, &self.workspace, key)
        })
    }

    /// Returns how many mappings the workspace has, from a counter kept with each change.
    pub fn mapping_count(&self) -> Result<u64, StoreError> {
        self.read("count mappings", |txn| {
            let counters = txn.open_table(COUNTERS).during("open counters")?;
            read_counter(&counters, &self.workspace, counter::MAPPINGS)
        })
    }

    /// Lists up to `limit` mappings with an id above `after`, in id order. To read the next
    /// page, pass the last id of this one as `after`.
    pub fn list_mappings<S: DeserializeOwned>(
        &self,
        after: Option<MappingId>,
        limit: usize,
    ) -> Result<Vec<Mapping<S>>, StoreError> {
        self.read("list mappings", |txn| {
            let mappings = txn.open_table(MAPPINGS).during("open mappings")?;
            let Some(start) = after.map_or(Some(0), |after| after.checked_add(1)) else {
                return Ok(Vec::new());
            };
            let range = mappings
                .range((&*self.workspace, start)..=(&*self.workspace, u64::MAX))
                .during("list mappings")?;

            let mut page = Vec::new();
            for entry in range.take(limit) {
                let (key, value) = entry.during("list mappings")?;
                let id = key.value().1;
                let stored: StoredMapping<S> = decode(WHAT, id, value.value())?;
                page.push(Mapping {
                    id,
                    index: stored.index,
                    state: stored.state,
                });
            }
            Ok(page)
        })
    }
}

fn find_unique(
    table: &impl ReadableTable<(&'static str, &'static str), u64>,
    workspace: &str,
    value: &str,
) -> Result<Option<MappingId>, StoreError> {
    let found = table.get((workspace, value)).during("read index")?;
    Ok(found.map(|guard| guard.value()))
}

fn find_by_key(
    table: &impl ReadableMultimapTable<(&'static str, &'static str), u64>,
    workspace: &str,
    key: &str,
) -> Result<Vec<MappingId>, StoreError> {
    let values = table.get((workspace, key)).during("read index")?;
    let mut ids = Vec::new();
    for value in values {
        ids.push(value.during("read index")?.value());
    }
    Ok(ids)
}

fn load_mapping<S: DeserializeOwned>(
    table: &impl ReadableTable<(&'static str, u64), &'static [u8]>,
    workspace: &str,
    id: MappingId,
) -> Result<Option<Mapping<S>>, StoreError> {
    let Some(value) = table.get((workspace, id)).during("read mapping")? else {
        return Ok(None);
    };
    let stored: StoredMapping<S> = decode(WHAT, id, value.value())?;
    Ok(Some(Mapping {
        id,
        index: stored.index,
        state: stored.state,
    }))
}

/// Rejects empty ids and keys, and drops repeated keys.
fn validated(index: &MappingIndex) -> Result<MappingIndex, StoreError> {
    let empty = |value: &Option<String>| value.as_deref().is_some_and(str::is_empty);
    if empty(&index.intercom_id) || empty(&index.salesforce_id) {
        return Err(StoreError::InvalidArgument {
            what: "mapping index",
            reason: "an Intercom or Salesforce id is empty; pass None for a side without a record"
                .to_owned(),
        });
    }
    if index.keys.iter().any(String::is_empty) {
        return Err(StoreError::InvalidArgument {
            what: "mapping key",
            reason: "it is empty; leave it out of the keys instead".to_owned(),
        });
    }

    let mut keys = index.keys.clone();
    keys.sort();
    keys.dedup();
    Ok(MappingIndex {
        intercom_id: index.intercom_id.clone(),
        salesforce_id: index.salesforce_id.clone(),
        keys,
    })
}
