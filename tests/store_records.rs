//! Pending writes, watermarks, sync errors, settings, health, credentials and history.

use chrono::{TimeZone, Utc};
use intersync::store::{
    FieldChange, HistoryEntry, MappingIndex, NewSyncError, Side, Store, StoreOptions, Watermark,
};
use serde::{Deserialize, Serialize};

fn open_with(options: StoreOptions) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path().join("intersync.redb"), options).unwrap();
    (dir, store)
}

fn open() -> (tempfile::TempDir, Store) {
    open_with(StoreOptions::default())
}

#[test]
fn pending_writes_add_list_remove() {
    let (_dir, store) = open();

    let seqs = store
        .pending_add(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])
        .unwrap();
    let removed = store.pending_remove(&[seqs[0], seqs[2], 999]).unwrap();

    assert_eq!(removed, 2);
    assert_eq!(store.pending_count().unwrap(), 1);
    let left = store.pending_list(10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].seq, seqs[1]);
    assert_eq!(left[0].payload, b"b");
}

#[test]
fn pending_list_is_oldest_first_and_limited() {
    let (_dir, store) = open();
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i]).collect();
    store.pending_add(&payloads).unwrap();

    let first = store.pending_list(3).unwrap();

    let bytes: Vec<u8> = first.iter().map(|write| write.payload[0]).collect();
    assert_eq!(bytes, vec![0, 1, 2]);
}

fn watermark(ms: i64, id: &str) -> Watermark {
    Watermark {
        system_modstamp_ms: ms,
        id: id.to_owned(),
    }
}

#[test]
fn watermark_advances_and_never_goes_back() {
    let (_dir, store) = open();
    assert_eq!(store.get_watermark("Lead").unwrap(), None);

    store
        .advance_watermark("Lead", &watermark(1_000, "00Q2"), &[], 0)
        .unwrap();
    store
        .advance_watermark("Lead", &watermark(1_000, "00Q1"), &[], 0)
        .unwrap();

    assert_eq!(
        store.get_watermark("Lead").unwrap(),
        Some(watermark(1_000, "00Q2"))
    );
    assert_eq!(store.get_watermark("Contact").unwrap(), None);
}

#[test]
fn applied_rows_kept_inside_overlap_window() {
    let (_dir, store) = open();
    let applied = vec![
        ("00Q1".to_owned(), 10_000),
        ("00Q2".to_owned(), 19_000),
        ("00Q3".to_owned(), 20_000),
    ];

    store
        .advance_watermark("Lead", &watermark(20_000, "00Q3"), &applied, 5_000)
        .unwrap();

    assert!(
        !store.was_applied("Lead", "00Q1", 10_000).unwrap(),
        "outside the window"
    );
    assert!(store.was_applied("Lead", "00Q2", 19_000).unwrap());
    assert!(store.was_applied("Lead", "00Q3", 20_000).unwrap());
    assert!(
        !store.was_applied("Lead", "00Q3", 21_000).unwrap(),
        "a later change of the same row is new"
    );
    assert!(!store.was_applied("Contact", "00Q3", 20_000).unwrap());
}

#[test]
fn sync_errors_add_get_list_delete() {
    let (_dir, store) = open();
    let error = NewSyncError {
        at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
        mapping_id: Some(7),
        cause: "DUPLICATES_DETECTED".to_owned(),
        details: serde_json::json!({"record": "00Q1"}),
    };

    let first = store.add_sync_error(&error).unwrap();
    let second = store.add_sync_error(&error).unwrap();

    let stored = store.get_sync_error(first).unwrap().unwrap();
    assert_eq!(stored.cause, "DUPLICATES_DETECTED");
    assert_eq!(stored.mapping_id, Some(7));
    assert_eq!(stored.at, error.at);
    assert_eq!(stored.details["record"], "00Q1");
    assert_eq!(store.sync_error_count().unwrap(), 2);
    let page: Vec<u64> = store
        .list_sync_errors(Some(first), 10)
        .unwrap()
        .iter()
        .map(|error| error.id)
        .collect();
    assert_eq!(page, vec![second]);

    assert!(store.delete_sync_error(first).unwrap());
    assert!(!store.delete_sync_error(first).unwrap());
    assert_eq!(store.sync_error_count().unwrap(), 1);
    assert_eq!(store.get_sync_error(first).unwrap(), None);
}

#[test]
fn settings_round_trip_and_list() {
    let (_dir, store) = open();
    let other = store.with_workspace("acme").unwrap();

    store.put_setting("poll_interval_secs", &60).unwrap();
    store.put_setting("direction", "both").unwrap();
    other.put_setting("direction", "to_salesforce").unwrap();

    assert_eq!(
        store.get_setting::<u64>("poll_interval_secs").unwrap(),
        Some(60)
    );
    assert_eq!(store.get_setting::<String>("missing").unwrap(), None);
    let names: Vec<String> = store
        .list_settings()
        .unwrap()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, vec!["direction", "poll_interval_secs"]);
    assert!(store.delete_setting("direction").unwrap());
    assert_eq!(
        other.get_setting::<String>("direction").unwrap().as_deref(),
        Some("to_salesforce")
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Health {
    healthy: bool,
    problems: Vec<String>,
}

#[test]
fn health_result_is_replaced() {
    let (_dir, store) = open();
    assert_eq!(store.last_health::<Health>().unwrap(), None);

    store
        .put_health(&Health {
            healthy: false,
            problems: vec!["missing field".to_owned()],
        })
        .unwrap();
    let healthy = Health {
        healthy: true,
        problems: Vec::new(),
    };
    store.put_health(&healthy).unwrap();

    assert_eq!(store.last_health::<Health>().unwrap(), Some(healthy));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
}

#[test]
fn credentials_are_replaced_whole() {
    let (_dir, store) = open();
    let tokens = Tokens {
        access_token: "access-2".to_owned(),
        refresh_token: "refresh-2".to_owned(),
    };

    store
        .put_salesforce_credentials(&Tokens {
            access_token: "access-1".to_owned(),
            refresh_token: "refresh-1".to_owned(),
        })
        .unwrap();
    store.put_salesforce_credentials(&tokens).unwrap();

    assert_eq!(
        store.salesforce_credentials::<Tokens>().unwrap(),
        Some(tokens)
    );
    assert!(store.delete_salesforce_credentials().unwrap());
    assert_eq!(store.salesforce_credentials::<Tokens>().unwrap(), None);
}

fn history_entry(rule: &str) -> HistoryEntry {
    HistoryEntry {
        at: Utc::now(),
        side: Side::Salesforce,
        rule: rule.to_owned(),
        changes: vec![FieldChange {
            field: "email".to_owned(),
            old: Some(serde_json::json!("a@example.com")),
            new: Some(serde_json::json!("b@example.com")),
        }],
    }
}

#[test]
fn history_keeps_newest_entries() {
    let (_dir, store) = open_with(StoreOptions {
        history_limit: 3,
        ..StoreOptions::default()
    });
    let id = store.create_mapping(&MappingIndex::default(), &0).unwrap();
    let other = store.create_mapping(&MappingIndex::default(), &0).unwrap();

    for i in 0..7 {
        store
            .append_history(id, &history_entry(&format!("rule_{i}")))
            .unwrap();
    }
    store
        .append_history(other, &history_entry("other"))
        .unwrap();

    let rules: Vec<String> = store
        .history(id)
        .unwrap()
        .into_iter()
        .map(|entry| entry.rule)
        .collect();
    assert_eq!(rules, vec!["rule_4", "rule_5", "rule_6"]);
    assert_eq!(store.history(other).unwrap().len(), 1);
    assert_eq!(store.history(id).unwrap()[0].changes[0].field, "email");
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct NumericTokens {
    access_token: u64,
}

#[test]
fn credentials_decode_error_hides_tokens() {
    let (_dir, store) = open();
    store
        .put_salesforce_credentials(&Tokens {
            access_token: "secret-access".to_owned(),
            refresh_token: "secret-refresh".to_owned(),
        })
        .unwrap();

    let error = store.salesforce_credentials::<NumericTokens>().unwrap_err();

    let message = error.to_string();
    assert!(message.contains("Salesforce credentials"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert!(!format!("{error:?}").contains("secret"));
}
