//! The durable inbox: group commit, de-duplication, reading and acking.

use std::time::Duration;

use futures::future::join_all;
use intersync::store::{Appended, MappingIndex, Store, StoreError, StoreOptions};

fn open(dir: &tempfile::TempDir, options: StoreOptions) -> Store {
    Store::open_with(dir.path().join("intersync.redb"), options).unwrap()
}

#[test]
fn inbox_writer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<intersync::store::InboxWriter>();
    assert_send_sync::<Store>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let appends = 500;
    {
        let store = open(&dir, StoreOptions::default());
        let writer = store.inbox_writer().unwrap();

        let tasks = (0..appends).map(|i| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let id = format!("notif_{i}");
                writer.append(&id, id.clone().into_bytes()).await
            })
        });
        let outcomes = join_all(tasks).await;

        let mut seqs = Vec::new();
        for outcome in outcomes {
            match outcome.unwrap().unwrap() {
                Appended::New(seq) => seqs.push(seq),
                Appended::Duplicate => panic!("a new id was reported as a duplicate"),
            }
        }
        seqs.sort_unstable();
        seqs.dedup();
        assert_eq!(seqs.len(), appends, "every append gets its own seq");

        let commits = writer.commit_count();
        assert!(commits >= 1);
        assert!(
            commits < appends as u64,
            "{commits} commits for {appends} appends: no commit was shared"
        );
        assert_eq!(store.inbox_depth().unwrap(), appends as u64);
    }

    let store = open(&dir, StoreOptions::default());
    let entries = store.inbox_pending(appends + 10).unwrap();
    assert_eq!(entries.len(), appends, "every answered append is on disk");
    assert!(entries.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    for entry in &entries {
        assert_eq!(entry.payload, entry.notification_id.as_bytes());
    }
    assert_eq!(store.inbox_depth().unwrap(), appends as u64);
}

#[tokio::test]
async fn duplicate_id_is_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, StoreOptions::default());
    let writer = store.inbox_writer().unwrap();

    let first = writer.append("notif_a", b"first".to_vec()).await.unwrap();
    let again = writer.append("notif_a", b"second".to_vec()).await.unwrap();

    assert!(matches!(first, Appended::New(_)));
    assert_eq!(again, Appended::Duplicate);
    let entries = store.inbox_pending(10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].payload, b"first");
}

#[tokio::test]
async fn duplicate_in_one_batch_is_not_stored_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, StoreOptions::default());
    let writer = store.inbox_writer().unwrap();

    let outcomes = join_all((0..20).map(|_| writer.append("notif_same", b"x".to_vec()))).await;

    let new = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Appended::New(_))))
        .count();
    let duplicates = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Appended::Duplicate)))
        .count();
    assert_eq!(new, 1);
    assert_eq!(duplicates, 19);
    assert_eq!(store.inbox_depth().unwrap(), 1);
}

#[tokio::test]
async fn acked_id_is_still_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, StoreOptions::default());
    let writer = store.inbox_writer().unwrap();

    let Appended::New(seq) = writer.append("notif_a", b"x".to_vec()).await.unwrap() else {
        panic!("first append is new");
    };
    assert!(store.inbox_ack(seq).unwrap());

    assert_eq!(store.inbox_depth().unwrap(), 0);
    assert!(!store.inbox_ack(seq).unwrap(), "a second ack finds nothing");
    let again = writer.append("notif_a", b"x".to_vec()).await.unwrap();
    assert_eq!(again, Appended::Duplicate);
}

#[tokio::test]
async fn dedup_ids_are_pruned_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        dedup_max_ids: 3,
        ..StoreOptions::default()
    };
    let store = open(&dir, options);
    let writer = store.inbox_writer().unwrap();

    for i in 0..5 {
        let appended = writer
            .append(&format!("notif_{i}"), Vec::new())
            .await
            .unwrap();
        let Appended::New(seq) = appended else {
            panic!("notif_{i} is new");
        };
        store.inbox_ack(seq).unwrap();
    }
    // Pruning runs at the next commit, after the acks.
    writer.append("notif_5", Vec::new()).await.unwrap();

    assert_eq!(store.inbox_known_ids().unwrap(), 3);
    let oldest = writer.append("notif_0", Vec::new()).await.unwrap();
    assert!(
        matches!(oldest, Appended::New(_)),
        "the oldest id was forgotten"
    );
    let newest = writer.append("notif_4", Vec::new()).await.unwrap();
    assert_eq!(newest, Appended::Duplicate, "the newest id is kept");
}

#[tokio::test]
async fn ids_of_waiting_entries_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        dedup_max_ids: 1,
        dedup_ttl: Duration::ZERO,
        ..StoreOptions::default()
    };
    let store = open(&dir, options);
    let writer = store.inbox_writer().unwrap();

    for i in 0..4 {
        writer
            .append(&format!("notif_{i}"), Vec::new())
            .await
            .unwrap();
    }

    assert_eq!(store.inbox_known_ids().unwrap(), 4);
    let again = writer.append("notif_0", Vec::new()).await.unwrap();
    assert_eq!(
        again,
        Appended::Duplicate,
        "a waiting entry is never stored twice"
    );
    assert_eq!(store.inbox_depth().unwrap(), 4);
}

#[tokio::test]
async fn dedup_ids_are_pruned_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        dedup_ttl: Duration::ZERO,
        ..StoreOptions::default()
    };
    let store = open(&dir, options);
    let writer = store.inbox_writer().unwrap();

    let Appended::New(seq) = writer.append("notif_a", Vec::new()).await.unwrap() else {
        panic!("first append is new");
    };
    store.inbox_ack(seq).unwrap();
    // A later commit prunes the acked ids that are older than the time limit by then.
    tokio::time::sleep(Duration::from_millis(5)).await;
    writer.append("notif_b", Vec::new()).await.unwrap();

    let again = writer.append("notif_a", Vec::new()).await.unwrap();
    assert!(matches!(again, Appended::New(_)));
}

#[tokio::test]
async fn empty_notification_id_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, StoreOptions::default());
    let writer = store.inbox_writer().unwrap();

    let error = writer.append("", b"x".to_vec()).await.unwrap_err();

    assert!(
        matches!(error, StoreError::InvalidArgument { .. }),
        "{error:?}"
    );
    assert_eq!(store.inbox_depth().unwrap(), 0);
}

#[tokio::test]
async fn mapping_save_and_ack_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, StoreOptions::default());
    let writer = store.inbox_writer().unwrap();
    let Appended::New(seq) = writer.append("notif_a", b"x".to_vec()).await.unwrap() else {
        panic!("first append is new");
    };
    let index = MappingIndex {
        intercom_id: Some("ic_1".to_owned()),
        ..MappingIndex::default()
    };

    let id = store
        .write("apply notification", |txn| {
            let id = txn.create_mapping(&index, &"pending")?;
            txn.inbox_ack(seq)?;
            Ok(id)
        })
        .unwrap();
    assert_eq!(store.inbox_depth().unwrap(), 0);
    assert_eq!(
        store.get_mapping::<String>(id).unwrap().unwrap().state,
        "pending"
    );

    let Appended::New(second) = writer.append("notif_b", b"y".to_vec()).await.unwrap() else {
        panic!("second append is new");
    };
    let failed = store.write("apply notification", |txn| {
        txn.put_mapping(id, &index, &"mapped")?;
        txn.inbox_ack(second)?;
        Err::<(), _>(StoreError::InvalidArgument {
            what: "test",
            reason: "abort after both changes".to_owned(),
        })
    });
    assert!(failed.is_err());
    assert_eq!(store.inbox_depth().unwrap(), 1, "the ack was rolled back");
    assert_eq!(
        store.get_mapping::<String>(id).unwrap().unwrap().state,
        "pending",
        "the mapping update was rolled back"
    );
}
