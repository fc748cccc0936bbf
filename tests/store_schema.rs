//! Opening, reopening and schema version checks of the store file.

use chrono::{TimeZone, Utc};
use intersync::store::{
    HistoryEntry, MappingIndex, NewSyncError, Side, Store, StoreError, Watermark, SCHEMA_VERSION,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

#[test]
fn open_creates_file_with_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");

    let store = Store::open(&path).unwrap();
    drop(store);

    let database = Database::open(&path).unwrap();
    let txn = database.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    let version = meta.get("schema_version").unwrap().unwrap().value();
    assert_eq!(version, SCHEMA_VERSION);
}

fn history_entry() -> HistoryEntry {
    HistoryEntry {
        at: Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap(),
        side: Side::Intercom,
        rule: "create_lead".to_owned(),
        changes: Vec::new(),
    }
}

fn sync_error() -> NewSyncError {
    NewSyncError {
        at: Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap(),
        mapping_id: None,
        cause: "REQUEST_LIMIT_EXCEEDED".to_owned(),
        details: serde_json::Value::Null,
    }
}

fn watermark() -> Watermark {
    Watermark {
        system_modstamp_ms: 5_000,
        id: "00Q1".to_owned(),
    }
}

#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");
    let index = MappingIndex {
        intercom_id: Some("ic_1".to_owned()),
        salesforce_id: Some("00Q000000000001AAA".to_owned()),
        keys: vec!["ada@example.com".to_owned()],
    };

    let id = {
        let store = Store::open(&path).unwrap();
        let id = store.create_mapping(&index, &"mapped".to_owned()).unwrap();
        store.pending_add(&[b"write".to_vec()]).unwrap();
        store.put_setting("poll_interval_secs", &300).unwrap();
        store.put_health(&true).unwrap();
        store.put_salesforce_credentials(&"tokens").unwrap();
        store.append_history(id, &history_entry()).unwrap();
        store.add_sync_error(&sync_error()).unwrap();
        store
            .advance_watermark("Lead", &watermark(), &[("00Q1".to_owned(), 5_000)], 60_000)
            .unwrap();
        store
            .write("append inbox entry", |txn| {
                txn.inbox_append("notif_1", b"payload", 1_000)
            })
            .unwrap();
        id
    };

    let store = Store::open(&path).unwrap();
    let mapping = store.get_mapping::<String>(id).unwrap().unwrap();
    assert_eq!(mapping.state, "mapped");
    assert_eq!(mapping.index, index);
    assert_eq!(store.mapping_count().unwrap(), 1);
    assert_eq!(store.mapping_by_intercom_id("ic_1").unwrap(), Some(id));
    assert_eq!(store.pending_count().unwrap(), 1);
    assert_eq!(
        store.get_setting::<u64>("poll_interval_secs").unwrap(),
        Some(300)
    );
    assert_eq!(store.last_health::<bool>().unwrap(), Some(true));
    assert_eq!(
        store.salesforce_credentials::<String>().unwrap().as_deref(),
        Some("tokens")
    );
    assert_eq!(store.history(id).unwrap(), vec![history_entry()]);
    assert_eq!(store.sync_error_count().unwrap(), 1);
    assert_eq!(store.get_watermark("Lead").unwrap(), Some(watermark()));
    assert!(store.was_applied("Lead", "00Q1", 5_000).unwrap());
    let inbox = store.inbox_pending(10).unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].notification_id, "notif_1");
    assert_eq!(inbox[0].payload, b"payload");

    let next = store
        .create_mapping(&MappingIndex::default(), &"new")
        .unwrap();
    assert_eq!(next, id + 1, "the id counter survives a reopen");
}

#[test]
fn other_version_is_rejected_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");
    drop(Store::open(&path).unwrap());

    let future_version = SCHEMA_VERSION + 7;
    {
        let database = Database::open(&path).unwrap();
        let txn = database.begin_write().unwrap();
        txn.open_table(META)
            .unwrap()
            .insert("schema_version", future_version)
            .unwrap();
        txn.commit().unwrap();
    }

    let error = Store::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaVersionMismatch { found, expected, .. }
                if found == future_version && expected == SCHEMA_VERSION
        ),
        "unexpected error: {error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("schema version {future_version}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("reads version {SCHEMA_VERSION}")),
        "{message}"
    );
    assert!(message.contains("intersync.redb"), "{message}");
}

#[test]
fn foreign_redb_file_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let database = Database::create(&path).unwrap();
        let txn = database.begin_write().unwrap();
        let table: TableDefinition<u64, u64> = TableDefinition::new("their_data");
        txn.open_table(table).unwrap().insert(1, 2).unwrap();
        txn.commit().unwrap();
    }

    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::NotAStore { .. }), "{error:?}");
}

#[test]
fn file_open_twice_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intersync.redb");
    let _first = Store::open(&path).unwrap();

    let error = Store::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Open { .. }), "{error:?}");
    assert!(error.to_string().contains("no other intersync process"));
}

#[test]
fn workspaces_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("intersync.redb")).unwrap();
    let other = store.with_workspace("acme").unwrap();
    let index = MappingIndex {
        intercom_id: Some("ic_1".to_owned()),
        salesforce_id: None,
        keys: vec!["ada@example.com".to_owned()],
    };

    let id = store.create_mapping(&index, &1).unwrap();
    let other_id = other.create_mapping(&index, &2).unwrap();

    assert_eq!(store.mapping_by_intercom_id("ic_1").unwrap(), Some(id));
    assert_eq!(
        other.mapping_by_intercom_id("ic_1").unwrap(),
        Some(other_id)
    );
    assert_eq!(store.mapping_count().unwrap(), 1);
    assert_eq!(other.mapping_count().unwrap(), 1);
    assert_eq!(
        other.get_mapping::<i32>(other_id).unwrap().unwrap().state,
        2
    );
    assert!(store.with_workspace("").is_err());
}
