//! Mappings and their indexes, checked case by case and against a reference model.

use std::collections::BTreeMap;

use intersync::store::{HistoryEntry, MappingId, MappingIndex, Side, Store, StoreError};
use proptest::prelude::*;

fn index(intercom_id: Option<&str>, salesforce_id: Option<&str>, keys: &[&str]) -> MappingIndex {
    MappingIndex {
        intercom_id: intercom_id.map(str::to_owned),
        salesforce_id: salesforce_id.map(str::to_owned),
        keys: keys.iter().map(|key| (*key).to_owned()).collect(),
    }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("intersync.redb")).unwrap();
    (dir, store)
}

#[test]
fn update_moves_index_entries() {
    let (_dir, store) = open();
    let id = store
        .create_mapping(&index(Some("ic_1"), None, &["old@example.com"]), &0)
        .unwrap();

    store
        .put_mapping(
            id,
            &index(Some("ic_1"), Some("003A"), &["new@example.com"]),
            &1,
        )
        .unwrap();

    assert_eq!(store.mapping_by_salesforce_id("003A").unwrap(), Some(id));
    assert!(store.mappings_by_key("old@example.com").unwrap().is_empty());
    assert_eq!(store.mappings_by_key("new@example.com").unwrap(), vec![id]);
    assert_eq!(store.mapping_count().unwrap(), 1);
}

#[test]
fn key_can_belong_to_several_mappings() {
    let (_dir, store) = open();
    let first = store
        .create_mapping(&index(Some("ic_1"), None, &["ada@example.com"]), &0)
        .unwrap();
    let second = store
        .create_mapping(&index(None, Some("00Q1"), &["ada@example.com"]), &0)
        .unwrap();

    assert_eq!(
        store.mappings_by_key("ada@example.com").unwrap(),
        vec![first, second]
    );
}

#[test]
fn taken_intercom_id_is_a_conflict() {
    let (_dir, store) = open();
    let owner = store
        .create_mapping(&index(Some("ic_1"), None, &[]), &0)
        .unwrap();
    let other = store
        .create_mapping(&index(Some("ic_2"), None, &["b"]), &0)
        .unwrap();

    let error = store
        .put_mapping(other, &index(Some("ic_1"), None, &["c"]), &1)
        .unwrap_err();

    assert!(
        matches!(error, StoreError::IndexConflict { owner: found, mapping, .. }
            if found == owner && mapping == other),
        "{error:?}"
    );
    assert_eq!(store.mapping_by_intercom_id("ic_2").unwrap(), Some(other));
    assert_eq!(
        store.mappings_by_key("b").unwrap(),
        vec![other],
        "nothing changed"
    );
    assert!(store.mappings_by_key("c").unwrap().is_empty());
}

#[test]
fn lookup_inside_transaction_sees_own_writes() {
    let (_dir, store) = open();

    let (before, id, after, by_key) = store
        .write("find or create mapping", |txn| {
            let before = txn.mapping_by_intercom_id("ic_1")?;
            let id = txn.create_mapping(&index(Some("ic_1"), Some("003A"), &["a"]), &0)?;
            let after = txn.mapping_by_salesforce_id("003A")?;
            let by_key = txn.mappings_by_key("a")?;
            Ok((before, id, after, by_key))
        })
        .unwrap();

    assert_eq!(before, None);
    assert_eq!(after, Some(id));
    assert_eq!(by_key, vec![id]);
}

#[test]
fn delete_removes_index_entries_and_history() {
    let (_dir, store) = open();
    let id = store
        .create_mapping(&index(Some("ic_1"), Some("003A"), &["a"]), &0)
        .unwrap();
    let entry = HistoryEntry {
        at: chrono::Utc::now(),
        side: Side::Intercom,
        rule: "create".to_owned(),
        changes: Vec::new(),
    };
    store.append_history(id, &entry).unwrap();

    assert!(store.delete_mapping(id).unwrap());

    assert!(!store.delete_mapping(id).unwrap());
    assert_eq!(store.mapping_by_intercom_id("ic_1").unwrap(), None);
    assert_eq!(store.mapping_by_salesforce_id("003A").unwrap(), None);
    assert!(store.mappings_by_key("a").unwrap().is_empty());
    assert_eq!(store.mapping_count().unwrap(), 0);
    assert_eq!(store.get_mapping::<i32>(id).unwrap(), None);
    assert!(store.history(id).unwrap().is_empty());
}

#[test]
fn unknown_id_and_empty_values_are_rejected() {
    let (_dir, store) = open();

    let never_handed_out = store.put_mapping(42, &MappingIndex::default(), &0);
    let empty_id = store.create_mapping(&index(Some(""), None, &[]), &0);
    let empty_key = store.create_mapping(&index(None, None, &[""]), &0);

    assert!(matches!(
        never_handed_out,
        Err(StoreError::InvalidArgument { .. })
    ));
    assert!(matches!(empty_id, Err(StoreError::InvalidArgument { .. })));
    assert!(matches!(empty_key, Err(StoreError::InvalidArgument { .. })));
    assert_eq!(store.mapping_count().unwrap(), 0);
}

#[test]
fn state_of_another_type_is_a_decode_error() {
    let (_dir, store) = open();
    let id = store
        .create_mapping(&MappingIndex::default(), &"text")
        .unwrap();

    let error = store.get_mapping::<u64>(id).unwrap_err();

    assert!(matches!(error, StoreError::Decode { .. }), "{error:?}");
}

#[test]
fn list_pages_through_all_mappings() {
    let (_dir, store) = open();
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(store.create_mapping(&MappingIndex::default(), &i).unwrap());
    }

    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_mappings::<i32>(after, 10).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        listed.extend(page.iter().map(|mapping| (mapping.id, mapping.state)));
    }

    let expected: Vec<(MappingId, i32)> = created.iter().copied().zip(0..).collect();
    assert_eq!(listed, expected);
    assert!(store
        .list_mappings::<i32>(Some(u64::MAX), 10)
        .unwrap()
        .is_empty());
}

/// One step of the model test.
#[derive(Debug, Clone)]
enum Step {
    Create(MappingIndex),
    Put(usize, MappingIndex),
    Delete(usize),
}

fn any_index() -> impl Strategy<Value = MappingIndex> {
    let intercom = proptest::option::of(prop::sample::select(vec!["ic_0", "ic_1", "ic_2"]));
    let salesforce = proptest::option::of(prop::sample::select(vec!["003A", "003B", "00QC"]));
    let keys = prop::collection::vec(prop::sample::select(vec!["k0", "k1", "k2"]), 0..3);
    (intercom, salesforce, keys)
        .prop_map(|(intercom, salesforce, keys)| index(intercom, salesforce, &keys))
}

fn any_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        any_index().prop_map(Step::Create),
        (0..6usize, any_index()).prop_map(|(slot, index)| Step::Put(slot, index)),
        (0..6usize).prop_map(Step::Delete),
    ]
}

/// Returns whether `index` takes an Intercom or Salesforce id that another live mapping has.
fn conflicts(
    model: &BTreeMap<MappingId, MappingIndex>,
    id: MappingId,
    index: &MappingIndex,
) -> bool {
    model.iter().any(|(other, existing)| {
        *other != id
            && ((index.intercom_id.is_some() && existing.intercom_id == index.intercom_id)
                || (index.salesforce_id.is_some() && existing.salesforce_id == index.salesforce_id))
    })
}

fn check_indexes(store: &Store, model: &BTreeMap<MappingId, MappingIndex>) {
    for value in ["ic_0", "ic_1", "ic_2"] {
        let expected = model
            .iter()
            .find(|(_, index)| index.intercom_id.as_deref() == Some(value))
            .map(|(id, _)| *id);
        assert_eq!(
            store.mapping_by_intercom_id(value).unwrap(),
            expected,
            "{value}"
        );
    }
    for value in ["003A", "003B", "00QC"] {
        let expected = model
            .iter()
            .find(|(_, index)| index.salesforce_id.as_deref() == Some(value))
            .map(|(id, _)| *id);
        assert_eq!(
            store.mapping_by_salesforce_id(value).unwrap(),
            expected,
            "{value}"
        );
    }
    for key in ["k0", "k1", "k2"] {
        let expected: Vec<MappingId> = model
            .iter()
            .filter(|(_, index)| index.keys.iter().any(|held| held == key))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(store.mappings_by_key(key).unwrap(), expected, "{key}");
    }
    assert_eq!(store.mapping_count().unwrap(), model.len() as u64);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn indexes_match_reference_model(steps in prop::collection::vec(any_step(), 1..16)) {
        let (_dir, store) = open();
        let mut model: BTreeMap<MappingId, MappingIndex> = BTreeMap::new();
        let mut handed_out: Vec<MappingId> = Vec::new();

        for step in steps {
            match step {
                Step::Create(index) => {
                    let outcome = store.create_mapping(&index, &0);
                    if conflicts(&model, 0, &index) {
                        prop_assert!(
                            matches!(outcome, Err(StoreError::IndexConflict { .. })),
                            "expected an index conflict, got {:?}",
                            outcome
                        );
                    } else {
                        let id = outcome.unwrap();
                        handed_out.push(id);
                        model.insert(id, normalized(index));
                    }
                }
                Step::Put(slot, index) => {
                    let Some(&id) = handed_out.get(slot) else { continue };
                    let outcome = store.put_mapping(id, &index, &1);
                    if conflicts(&model, id, &index) {
                        prop_assert!(
                            matches!(outcome, Err(StoreError::IndexConflict { .. })),
                            "expected an index conflict, got {:?}",
                            outcome
                        );
                    } else {
                        outcome.unwrap();
                        model.insert(id, normalized(index));
                    }
                }
                Step::Delete(slot) => {
                    let Some(&id) = handed_out.get(slot) else { continue };
                    let existed = store.delete_mapping(id).unwrap();
                    prop_assert_eq!(existed, model.remove(&id).is_some());
                }
            }
            check_indexes(&store, &model);
        }

        for (id, index) in &model {
            let stored = store.get_mapping::<i32>(*id).unwrap().unwrap();
            prop_assert_eq!(&stored.index, index);
        }
    }
}

fn normalized(mut index: MappingIndex) -> MappingIndex {
    index.keys.sort();
    index.keys.dedup();
    index
}
