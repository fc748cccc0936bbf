//! In-memory record storage: records by type and id, a unique index on external-id fields,
//! and an undo journal so `allOrNone` requests can roll back.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::ids::{make_id, SObjectType};

/// External-id fields with a unique index, per object.
pub const EXTERNAL_ID_FIELDS: &[&str] = &["Intercom_Id__c"];

/// One stored record, soft-deleted records included.
#[derive(Debug, Clone)]
pub struct Record {
    pub object: SObjectType,
    /// Field values under their canonical API names, system fields included.
    pub fields: Map<String, Value>,
    pub modstamp: DateTime<Utc>,
    /// The moment the save commits; queries and replication calls skip the record before it.
    pub visible_at: Instant,
    /// When the record went to the Recycle Bin.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Record {
    pub fn id(&self) -> &str {
        self.fields.get("Id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn is_visible(&self, now: Instant) -> bool {
        self.visible_at <= now
    }
}

/// A position in the undo journal that a rollback returns to.
#[derive(Debug)]
#[must_use]
pub struct Savepoint {
    position: usize,
    owner: bool,
}

/// A previous version of a record, kept_id while a transaction is open.
type JournalEntry = (SObjectType, String, Option<Record>);

/// All records of the simulated org.
#[derive(Debug, Default)]
pub struct Store {
    records: HashMap<SObjectType, HashMap<String, Record>>,
    /// Key: object, lower-case field name and lower-case value; value: record id.
    external_ids: HashMap<(SObjectType, String, String), String>,
    sequence: u64,
    journal: Option<Vec<JournalEntry>>,
}

impl Store {
    /// Returns a fresh 18-character id for a new record of `object`.
    pub fn next_id(&mut self, object: SObjectType) -> String {
        self.sequence += 1;
        make_id(object, 1_000_000 + self.sequence)
    }

    /// Returns the next value of an auto-number such as `CaseNumber`.
    pub fn next_number(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        let object = SObjectType::from_id(id)?;
        self.records.get(&object)?.get(id)
    }

    pub fn records(&self, object: SObjectType) -> impl Iterator<Item = &Record> {
        self.records
            .get(&object)
            .into_iter()
            .flat_map(|records| records.values())
    }

    pub fn count(&self, object: SObjectType) -> (usize, usize) {
        let deleted = self
            .records(object)
            .filter(|record| record.deleted_at.is_some())
            .count();
        let total = self.records.get(&object).map_or(0, HashMap::len);
        (total - deleted, deleted)
    }

    /// Finds the live record whose external-id `field` equals `value`, ignoring case.
    pub fn find_by_external_id(
        &self,
        object: SObjectType,
        field: &str,
        value: &str,
    ) -> Option<&Record> {
        let key = (object, field.to_ascii_lowercase(), value.to_lowercase());
        self.external_ids.get(&key).and_then(|id| self.get(id))
    }

    /// Stores a new version of a record, replacing any previous one with the same id.
    pub fn put(&mut self, record: Record) {
        let object = record.object;
        let id = record.id().to_string();
        let previous = self
            .records
            .entry(object)
            .or_default()
            .insert(id.clone(), record);
        if let Some(previous) = &previous {
            self.unindex(previous);
        }
        if let Some(record) = self
            .records
            .get(&object)
            .and_then(|records| records.get(&id))
        {
            let keys = index_keys(record);
            for key in keys {
                self.external_ids.insert(key, id.clone());
            }
        }
        if let Some(journal) = &mut self.journal {
            journal.push((object, id, previous));
        }
    }

    /// Removes a record for good, as the Recycle Bin purge does.
    pub fn purge(&mut self, id: &str) {
        let Some(object) = SObjectType::from_id(id) else {
            return;
        };
        let previous = self
            .records
            .get_mut(&object)
            .and_then(|records| records.remove(id));
        if let Some(previous) = &previous {
            self.unindex(previous);
        }
        if let Some(journal) = &mut self.journal {
            journal.push((object, id.to_string(), previous));
        }
    }

    fn unindex(&mut self, record: &Record) {
        for key in index_keys(record) {
            if self.external_ids.get(&key).map(String::as_str) == Some(record.id()) {
                self.external_ids.remove(&key);
            }
        }
    }

    /// Opens a savepoint. Savepoints nest: only the outermost one owns the undo journal.
    pub fn savepoint(&mut self) -> Savepoint {
        match &self.journal {
            Some(journal) => Savepoint {
                position: journal.len(),
                owner: false,
            },
            None => {
                self.journal = Some(Vec::new());
                Savepoint {
                    position: 0,
                    owner: true,
                }
            }
        }
    }

    /// Keeps every change since the savepoint.
    pub fn release(&mut self, savepoint: Savepoint) {
        if savepoint.owner {
            self.journal = None;
        }
    }

    /// Restores every record changed since the savepoint and closes it.
    pub fn rollback(&mut self, savepoint: Savepoint) {
        let Some(journal) = &mut self.journal else {
            return;
        };
        let undone: Vec<JournalEntry> = journal.drain(savepoint.position..).collect();
        for (object, id, previous) in undone.into_iter().rev() {
            let current = self.records.entry(object).or_default().remove(&id);
            if let Some(current) = &current {
                self.unindex(current);
            }
            if let Some(previous) = previous {
                for key in index_keys(&previous) {
                    self.external_ids.insert(key, id.clone());
                }
                self.records.entry(object).or_default().insert(id, previous);
            }
        }
        self.release(savepoint);
    }

    /// Deletes every record. The id sequence continues, so ids from before a reset never
    /// name a new record.
    pub fn clear(&mut self) {
        let sequence = self.sequence;
        *self = Store::default();
        self.sequence = sequence;
    }
}

/// Index keys of a live record's external ids; deleted records hold none.
fn index_keys(record: &Record) -> Vec<(SObjectType, String, String)> {
    if record.deleted_at.is_some() {
        return Vec::new();
    }
    EXTERNAL_ID_FIELDS
        .iter()
        .filter_map(|field| {
            let value = record.fields.get(*field)?.as_str()?;
            Some((
                record.object,
                field.to_ascii_lowercase(),
                value.to_lowercase(),
            ))
        })
        .collect()
}

/// Formats a datetime as Salesforce writes it in JSON: `2024-05-01T12:00:00.000+0000`.
pub fn format_datetime(moment: DateTime<Utc>) -> String {
    let text = moment.to_rfc3339_opts(SecondsFormat::Millis, true);
    format!("{}+0000", text.trim_end_matches('Z'))
}

/// Parses the datetime forms Salesforce accepts: ISO-8601 with `Z`, `+hh:mm` or `+hhmm`.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(moment) = DateTime::parse_from_rfc3339(text) {
        return Some(moment.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(text, format).ok())
        .map(|moment| moment.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(store: &mut Store, intercom_id: &str) -> String {
        let id = store.next_id(SObjectType::Lead);
        let mut fields = Map::new();
        fields.insert("Id".to_string(), Value::String(id.clone()));
        fields.insert(
            "Intercom_Id__c".to_string(),
            Value::String(intercom_id.to_string()),
        );
        let record = Record {
            object: SObjectType::Lead,
            fields,
            modstamp: Utc::now(),
            visible_at: Instant::now(),
            deleted_at: None,
        };
        store.put(record);
        id
    }

    #[test]
    fn nested_savepoint_rolls_back_inner_only() {
        let mut store = Store::default();
        let outer = store.savepoint();
        let kept_id = lead(&mut store, "kept_id");
        let inner = store.savepoint();
        let dropped = lead(&mut store, "dropped");
        store.rollback(inner);

        assert!(store.get(&dropped).is_none());
        assert!(store
            .find_by_external_id(SObjectType::Lead, "Intercom_Id__c", "DROPPED")
            .is_none());
        assert!(store.get(&kept_id).is_some());

        store.rollback(outer);
        assert!(store.get(&kept_id).is_none());
        assert!(store
            .find_by_external_id(SObjectType::Lead, "Intercom_Id__c", "kept_id")
            .is_none());
    }

    #[test]
    fn rollback_restores_previous_version() {
        let mut store = Store::default();
        let id = lead(&mut store, "before");
        let savepoint = store.savepoint();
        let mut changed = store.get(&id).unwrap().clone();
        changed.fields.insert(
            "Intercom_Id__c".to_string(),
            Value::String("after".to_string()),
        );
        store.put(changed);
        store.rollback(savepoint);

        let found = store.find_by_external_id(SObjectType::Lead, "Intercom_Id__c", "before");
        assert_eq!(found.map(Record::id), Some(id.as_str()));
        assert!(store
            .find_by_external_id(SObjectType::Lead, "Intercom_Id__c", "after")
            .is_none());
    }

    #[test]
    fn datetime_format_round_trips() {
        let moment = parse_datetime("2013-05-20T20:49:32.123+0000").unwrap();
        assert_eq!(format_datetime(moment), "2013-05-20T20:49:32.123+0000");
        assert_eq!(
            parse_datetime("2013-05-20T22:49:32+02:00"),
            parse_datetime("2013-05-20T20:49:32Z")
        );
    }
}
