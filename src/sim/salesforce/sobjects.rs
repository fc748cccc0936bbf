//! Single-record operations: create, read, update, delete, undelete and upsert by external id.

use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::ids::{normalize_id, SObjectType};
use super::records::{validate_write, WriteMode};
use super::state::SimState;
use super::store::{format_datetime, Record};

/// The outcome of an upsert: the record's id and whether it was created.
pub struct UpsertOutcome {
    pub id: String,
    pub created: bool,
}

impl SimState {
    /// Creates a record and returns its id.
    pub fn create_record(&mut self, object: SObjectType, body: &Value) -> ApiResult<String> {
        let body = as_object(body)?;
        let values = validate_write(self.schema.object(object), body, WriteMode::Create)?;
        self.check_external_ids(object, &values, None)?;

        let id = self.store.next_id(object);
        let now = format_datetime(self.now());
        let user = super::oauth::identity().user_id.clone();
        let mut fields = Map::new();
        fields.insert("Id".to_string(), json!(id));
        fields.insert("IsDeleted".to_string(), json!(false));
        for field in self.schema.object(object).fields.iter() {
            if let Some(default) = &field.default_value {
                let value = match default.as_str() {
                    "false" => json!(false),
                    other => json!(other),
                };
                fields.insert(field.name.clone(), value);
            }
        }
        fields.insert("OwnerId".to_string(), json!(user));
        fields.insert("CreatedDate".to_string(), json!(now));
        fields.insert("CreatedById".to_string(), json!(user));
        if object == SObjectType::Case {
            let number = self.store.next_number();
            fields.insert("CaseNumber".to_string(), json!(format!("{:08}", number)));
        }
        fields.extend(values);

        let record = Record {
            object,
            fields,
            modstamp: self.now(),
            visible_at: self.commit_instant(),
            deleted_at: None,
        };
        self.save(record);
        Ok(id)
    }

    /// Applies a partial update to a live record.
    pub fn update_record(
        &mut self,
        object: Option<SObjectType>,
        id: &str,
        body: &Value,
    ) -> ApiResult<()> {
        let body = as_object(body)?;
        let mut record = self.live_record(object, id)?.clone();
        if record.object == SObjectType::Lead
            && record.fields.get("IsConverted") == Some(&Value::Bool(true))
        {
            return Err(ApiError::new(
                400,
                "CANNOT_UPDATE_CONVERTED_LEAD",
                "cannot reference converted lead",
            )
            .with_fields(Vec::new()));
        }
        let values = validate_write(self.schema.object(record.object), body, WriteMode::Update)?;
        self.check_external_ids(record.object, &values, Some(record.id()))?;
        record.fields.extend(values);
        record.modstamp = self.now();
        record.visible_at = self.commit_instant();
        self.save(record);
        Ok(())
    }

    /// Moves a record to the Recycle Bin.
    pub fn delete_record(&mut self, object: Option<SObjectType>, id: &str) -> ApiResult<()> {
        let mut record = self.live_record(object, id)?.clone();
        let now = self.now();
        record.fields.insert("IsDeleted".to_string(), json!(true));
        record.deleted_at = Some(now);
        record.modstamp = now;
        record.visible_at = self.commit_instant();
        self.save(record);
        Ok(())
    }

    /// Restores a record from the Recycle Bin.
    pub fn undelete_record(&mut self, id: &str) -> ApiResult<()> {
        let full_id = normalize_id(id).ok_or_else(|| ApiError::malformed_id(id))?;
        let mut record = self
            .store
            .get(&full_id)
            .cloned()
            .ok_or_else(ApiError::not_found)?;
        if record.deleted_at.is_none() {
            return Err(ApiError::new(
                400,
                "UNDELETE_FAILED",
                "Entity is not in the recycle bin",
            ));
        }
        let values: Map<String, Value> = record.fields.clone();
        self.check_external_ids(record.object, &values, Some(record.id()))?;
        record.fields.insert("IsDeleted".to_string(), json!(false));
        record.deleted_at = None;
        record.modstamp = self.now();
        record.visible_at = self.commit_instant();
        self.save(record);
        Ok(())
    }

    /// Updates the record whose external id `field` equals `value`, or creates one with that
    /// value when none matches.
    pub fn upsert_record(
        &mut self,
        object: SObjectType,
        field: &str,
        value: &str,
        body: &Value,
    ) -> ApiResult<UpsertOutcome> {
        let field = self.external_id_field(object, field)?;
        if let Some(existing) = self.store.find_by_external_id(object, &field, value) {
            let id = existing.id().to_string();
            self.update_record(Some(object), &id, body)?;
            return Ok(UpsertOutcome { id, created: false });
        }
        let mut body = as_object(body)?.clone();
        body.retain(|key, _| !key.eq_ignore_ascii_case(&field));
        body.insert(field, json!(value));
        let id = self.create_record(object, &Value::Object(body))?;
        Ok(UpsertOutcome { id, created: true })
    }

    /// Resolves an external-id field name, rejecting fields that are not external ids.
    pub fn external_id_field(&self, object: SObjectType, field: &str) -> ApiResult<String> {
        match self.schema.object(object).field(field) {
            Some(def) if def.external_id => Ok(def.name.clone()),
            _ => Err(ApiError::new(
                404,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {field}"),
            )),
        }
    }

    /// Returns a record that exists and is not deleted, checking its type when given.
    pub fn live_record(&self, object: Option<SObjectType>, id: &str) -> ApiResult<&Record> {
        let full_id = normalize_id(id).ok_or_else(ApiError::not_found)?;
        let record = self.store.get(&full_id).ok_or_else(ApiError::not_found)?;
        if object.is_some_and(|object| object != record.object) {
            return Err(ApiError::not_found());
        }
        if record.deleted_at.is_some() {
            return Err(ApiError::entity_is_deleted());
        }
        Ok(record)
    }

    /// Stores a record after filling in the fields Salesforce derives on every save.
    pub fn save(&mut self, mut record: Record) {
        let stamp = json!(format_datetime(record.modstamp));
        let user = super::oauth::identity().user_id.clone();
        record
            .fields
            .insert("SystemModstamp".to_string(), stamp.clone());
        record.fields.insert("LastModifiedDate".to_string(), stamp);
        record
            .fields
            .insert("LastModifiedById".to_string(), json!(user));
        if matches!(record.object, SObjectType::Lead | SObjectType::Contact) {
            let name = [
                record.fields.get("FirstName"),
                record.fields.get("LastName"),
            ]
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ");
            record.fields.insert("Name".to_string(), json!(name));
        }
        self.store.put(record);
    }

    /// Rejects a write that would give a unique external id to a second record.
    fn check_external_ids(
        &self,
        object: SObjectType,
        values: &Map<String, Value>,
        own_id: Option<&str>,
    ) -> ApiResult<()> {
        for field in super::store::EXTERNAL_ID_FIELDS {
            let Some(value) = values.get(*field).and_then(Value::as_str) else {
                continue;
            };
            if let Some(other) = self.store.find_by_external_id(object, field, value) {
                if Some(other.id()) != own_id {
                    return Err(ApiError::new(
                        400,
                        "DUPLICATE_VALUE",
                        format!(
                            "duplicate value found: {field} duplicates value on record with id: {}",
                            other.id()
                        ),
                    )
                    .with_fields(Vec::new()));
                }
            }
        }
        Ok(())
    }
}

fn as_object(body: &Value) -> ApiResult<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| ApiError::json_parser("expected a JSON object with the record's fields"))
}
