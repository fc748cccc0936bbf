//! The schema: table definitions, the schema version, and the per-workspace counters.
//!
//! Every key starts with the workspace id, so one file can hold several workspaces.

use std::path::Path;

use redb::{
    Database, MultimapTableDefinition, ReadableTable, Table, TableDefinition, TableHandle,
    WriteTransaction,
};

use super::error::{OperationContext, StoreError};

/// The schema version this build reads and writes. Bump it with every change to a table's
/// name, key or value layout.
pub const SCHEMA_VERSION: u64 = 1;

/// Key of the schema version in [`META`].
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";

/// File-wide facts: the schema version.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Counters and id sequences: (workspace, counter name) -> value.
pub(crate) const COUNTERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("counters");

/// (workspace, mapping id) -> JSON of the index entries and the caller's state.
pub(crate) const MAPPINGS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("mappings");
/// (workspace, Intercom contact id) -> mapping id.
pub(crate) const MAPPING_BY_INTERCOM: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("mapping_by_intercom_id");
/// (workspace, Salesforce record id) -> mapping id.
pub(crate) const MAPPING_BY_SALESFORCE: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("mapping_by_salesforce_id");
/// (workspace, normalized mapping key) -> mapping ids; a key can belong to several mappings.
pub(crate) const MAPPING_BY_KEY: MultimapTableDefinition<(&str, &str), u64> =
    MultimapTableDefinition::new("mapping_by_key");

/// (workspace, seq) -> (received at, Unix ms; notification id; payload).
pub(crate) const INBOX: TableDefinition<(&str, u64), (u64, &str, &[u8])> =
    TableDefinition::new("inbox");
/// (workspace, notification id) -> seq of the append that stored it.
pub(crate) const INBOX_SEEN: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("inbox_seen");
/// (workspace, seq) -> (notification id, seen at, Unix ms), oldest first, for pruning.
pub(crate) const INBOX_SEEN_ORDER: TableDefinition<(&str, u64), (&str, u64)> =
    TableDefinition::new("inbox_seen_order");

/// (workspace, seq) -> payload of a Salesforce write not yet sent.
pub(crate) const PENDING_WRITES: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("pending_writes");

/// (workspace, watermark name) -> (SystemModstamp in Unix ms, record id).
pub(crate) const WATERMARKS: TableDefinition<(&str, &str), (i64, &str)> =
    TableDefinition::new("watermarks");
/// (workspace, watermark name, SystemModstamp in Unix ms, record id) for rows applied inside
/// the overlap window.
pub(crate) const WATERMARK_APPLIED: TableDefinition<(&str, &str, i64, &str), ()> =
    TableDefinition::new("watermark_applied");

/// (workspace, sync error id) -> JSON of the sync error.
pub(crate) const SYNC_ERRORS: TableDefinition<(&str, u64), &[u8]> =
    TableDefinition::new("sync_errors");
/// (workspace, setting name) -> JSON text.
pub(crate) const SETTINGS: TableDefinition<(&str, &str), &str> = TableDefinition::new("settings");
/// workspace -> JSON of the last healthcheck result.
pub(crate) const HEALTH: TableDefinition<&str, &[u8]> = TableDefinition::new("health");
/// (workspace, mapping id, entry seq) -> JSON of one history entry.
pub(crate) const HISTORY: TableDefinition<(&str, u64, u64), &[u8]> =
    TableDefinition::new("history");
/// (workspace, system) -> JSON of the credentials.
pub(crate) const CREDENTIALS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("credentials");

/// Counter names in [`COUNTERS`].
pub(crate) mod counter {
    /// The last mapping id handed out.
    pub const MAPPING_ID: &str = "mapping_id";
    /// How many mappings exist.
    pub const MAPPINGS: &str = "mappings";
    /// The last inbox seq handed out.
    pub const INBOX_SEQ: &str = "inbox_seq";
    /// How many inbox entries wait to be applied.
    pub const INBOX_DEPTH: &str = "inbox_depth";
    /// How many notification ids are kept for de-duplication.
    pub const INBOX_SEEN: &str = "inbox_seen";
    /// The last pending write seq handed out.
    pub const PENDING_SEQ: &str = "pending_seq";
    /// How many pending writes wait to be sent.
    pub const PENDING_WRITES: &str = "pending_writes";
    /// The last sync error id handed out.
    pub const SYNC_ERROR_ID: &str = "sync_error_id";
    /// How many sync errors are kept.
    pub const SYNC_ERRORS: &str = "sync_errors";
}

/// Reads a counter; a counter never written is 0.
pub(crate) fn read_counter(
    table: &impl ReadableTable<(&'static str, &'static str), u64>,
    workspace: &str,
    name: &str,
) -> Result<u64, StoreError> {
    let value = table.get((workspace, name)).during("read counter")?;
    Ok(value.map_or(0, |guard| guard.value()))
}

/// Adds `delta` to a counter and returns the new value; the counter stops at 0.
pub(crate) fn add_to_counter(
    table: &mut Table<(&'static str, &'static str), u64>,
    workspace: &str,
    name: &str,
    delta: i64,
) -> Result<u64, StoreError> {
    let current = read_counter(table, workspace, name)?;
    let next = current.saturating_add_signed(delta);
    table
        .insert((workspace, name), next)
        .during("write counter")?;
    Ok(next)
}

/// Checks the schema version of an opened file, creating the tables on an empty one.
pub(crate) fn check_or_create(database: &Database, location: &Path) -> Result<(), StoreError> {
    let txn = database.begin_write().during("begin schema check")?;
    let holds_tables = holds_any_table(&txn)?;

    let found = {
        let meta = txn.open_table(META).during("open meta table")?;
        let found = meta.get(SCHEMA_VERSION_KEY).during("read schema version")?;
        found.map(|guard| guard.value())
    };

    match found {
        Some(SCHEMA_VERSION) => {}
        Some(found) => {
            return Err(StoreError::SchemaVersionMismatch {
                path: location.to_path_buf(),
                found,
                expected: SCHEMA_VERSION,
            })
        }
        None if holds_tables => {
            return Err(StoreError::NotAStore {
                path: location.to_path_buf(),
            })
        }
        None => {
            let mut meta = txn.open_table(META).during("open meta table")?;
            meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
                .during("write schema version")?;
        }
    }

    create_tables(&txn)?;
    txn.commit().map_err(|source| StoreError::Commit {
        operation: "create schema",
        source,
    })
}

fn holds_any_table(txn: &WriteTransaction) -> Result<bool, StoreError> {
    let tables = txn.list_tables().during("list tables")?;
    let names: Vec<String> = tables.map(|handle| handle.name().to_owned()).collect();
    let multimap_tables = txn
        .list_multimap_tables()
        .during("list multimap tables")?
        .count();
    Ok(names.iter().any(|name| name != META.name()) || multimap_tables > 0)
}

/// Opens every table once, so read transactions never meet a missing table.
fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(COUNTERS).during("create table")?;
    txn.open_table(MAPPINGS).during("create table")?;
    txn.open_table(MAPPING_BY_INTERCOM).during("create table")?;
    txn.open_table(MAPPING_BY_SALESFORCE)
        .during("create table")?;
    txn.open_multimap_table(MAPPING_BY_KEY)
        .during("create table")?;
    txn.open_table(INBOX).during("create table")?;
    txn.open_table(INBOX_SEEN).during("create table")?;
    txn.open_table(INBOX_SEEN_ORDER).during("create table")?;
    txn.open_table(PENDING_WRITES).during("create table")?;
    txn.open_table(WATERMARKS).during("create table")?;
    txn.open_table(WATERMARK_APPLIED).during("create table")?;
    txn.open_table(SYNC_ERRORS).during("create table")?;
    txn.open_table(SETTINGS).during("create table")?;
    txn.open_table(HEALTH).during("create table")?;
    txn.open_table(HISTORY).during("create table")?;
    txn.open_table(CREDENTIALS).during("create table")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use redb::backends::InMemoryBackend;

    use super::*;

    fn database() -> Database {
        Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap()
    }

    #[test]
    fn counter_starts_at_zero_and_stops_at_zero() {
        let database = database();
        let txn = database.begin_write().unwrap();
        let mut counters = txn.open_table(COUNTERS).unwrap();

        let unset = read_counter(&counters, "default", "things").unwrap();
        let raised = add_to_counter(&mut counters, "default", "things", 2).unwrap();
        let lowered = add_to_counter(&mut counters, "default", "things", -5).unwrap();
        let other = read_counter(&counters, "acme", "things").unwrap();

        assert_eq!(unset, 0);
        assert_eq!(raised, 2);
        assert_eq!(lowered, 0);
        assert_eq!(other, 0, "counters are scoped by workspace");
    }

    #[test]
    fn empty_file_gets_current_version() {
        let database = database();

        check_or_create(&database, Path::new("memory")).unwrap();
        check_or_create(&database, Path::new("memory")).unwrap();

        let txn = database.begin_write().unwrap();
        let meta = txn.open_table(META).unwrap();
        let version = meta.get(SCHEMA_VERSION_KEY).unwrap().unwrap().value();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
