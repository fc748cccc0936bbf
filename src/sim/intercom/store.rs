//! The contacts store: contacts by id in creation order, the uniqueness indexes behind 409
//! responses, merge tombstones and the delay before a change becomes visible to search.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use serde_json::{Map, Value};

use super::contact::{Contact, Role};
use super::error::ApiError;

/// The writable fields of a create or update body. `None` means the key was absent and
/// `Some(None)` means it was sent as `null`.
#[derive(Debug, Default, Clone)]
pub struct ContactFields {
    pub role: Option<Role>,
    pub external_id: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub avatar: Option<Option<String>>,
    pub owner_id: Option<Option<i64>>,
    pub unsubscribed_from_emails: Option<bool>,
    pub signed_up_at: Option<Option<i64>>,
    pub last_seen_at: Option<Option<i64>>,
    /// Merged into the stored attributes key by key; a `null` value removes the key.
    pub custom_attributes: Option<Map<String, Value>>,
}

impl ContactFields {
    /// Reads the fields of a `POST /contacts` or `PUT /contacts/{id}` body.
    pub fn from_json(body: &Map<String, Value>) -> Result<ContactFields, ApiError> {
        let mut fields = ContactFields::default();
        if let Some(role) = body.get("role") {
            let text = role.as_str().unwrap_or_default();
            let role = Role::parse(text).ok_or_else(|| {
                ApiError::parameter_invalid(
                    "role",
                    format!("Invalid role {role}: role must be \"user\" or \"lead\""),
                )
            })?;
            fields.role = Some(role);
        }

        fields.external_id = optional_text(body, "external_id")?;
        fields.email = optional_text(body, "email")?;
        if let Some(Some(email)) = &fields.email {
            if !looks_like_email(email) {
                return Err(ApiError::parameter_invalid(
                    "email",
                    format!("Invalid email address {email:?}: expected name@domain"),
                ));
            }
        }

        fields.phone = optional_text(body, "phone")?;
        fields.name = optional_text(body, "name")?;
        fields.avatar = optional_text(body, "avatar")?;
        fields.owner_id = optional_integer(body, "owner_id")?;
        fields.signed_up_at = optional_integer(body, "signed_up_at")?;
        fields.last_seen_at = optional_integer(body, "last_seen_at")?;

        if let Some(value) = body.get("unsubscribed_from_emails") {
            let flag = value.as_bool().ok_or_else(|| {
                ApiError::parameter_invalid(
                    "unsubscribed_from_emails",
                    format!("Invalid unsubscribed_from_emails {value}: expected true or false"),
                )
            })?;
            fields.unsubscribed_from_emails = Some(flag);
        }

        match body.get("custom_attributes") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => fields.custom_attributes = Some(map.clone()),
            Some(other) => {
                return Err(ApiError::parameter_invalid(
                    "custom_attributes",
                    format!("Invalid custom_attributes {other}: expected an object"),
                ))
            }
        }

        Ok(fields)
    }
}

fn optional_text(body: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) if text.is_empty() => Ok(Some(None)),
        Some(Value::String(text)) => Ok(Some(Some(text.clone()))),
        Some(other) => Err(ApiError::parameter_invalid(
            key,
            format!("Invalid {key} {other}: expected a string"),
        )),
    }
}

fn optional_integer(body: &Map<String, Value>, key: &str) -> Result<Option<Option<i64>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => match value.as_i64() {
            Some(number) => Ok(Some(Some(number))),
            None => Err(ApiError::parameter_invalid(
                key,
                format!("Invalid {key} {value}: expected an integer"),
            )),
        },
    }
}

fn looks_like_email(text: &str) -> bool {
    match text.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !text.contains(' '),
        None => false,
    }
}

/// The reason a contact id did not resolve to a stored contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    NotFound,
    /// The contact was merged into the contact with this id.
    Merged(String),
}

/// Generates 24-hex ids that sort in creation order: Unix seconds, a per-store tag and a counter.
#[derive(Debug)]
struct IdGenerator {
    tag: u32,
    counter: u64,
}

impl IdGenerator {
    fn new() -> Self {
        IdGenerator {
            tag: rand::random::<u32>() & 0x00ff_ffff,
            counter: u64::from(rand::random::<u16>()),
        }
    }

    fn next(&mut self, now_ms: i64) -> String {
        self.counter += 1;
        let secs = now_ms.div_euclid(1000) as u32;
        format!(
            "{secs:08x}{:06x}{:010x}",
            self.tag,
            self.counter & 0xff_ffff_ffff
        )
    }
}

/// The version of a contact that search returns until the latest change is indexed.
#[derive(Debug, Clone)]
struct PendingIndex {
    visible_at_ms: i64,
    /// `None` for a contact created within the delay, which search does not return yet.
    previous: Option<Contact>,
}

/// Counts of stored contacts, for `/_sim/stats`.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ContactCounts {
    pub user: u64,
    pub lead: u64,
    pub archived: u64,
    pub merged: u64,
}

/// All contacts of the simulated workspace.
#[derive(Debug)]
pub struct ContactStore {
    contacts: BTreeMap<String, Contact>,
    /// Lowercased email of each user to its id; leads may share an email.
    users_by_email: HashMap<String, String>,
    by_external_id: HashMap<String, String>,
    merged_into: HashMap<String, String>,
    pending_index: HashMap<String, PendingIndex>,
    ids: IdGenerator,
}

impl Default for ContactStore {
    fn default() -> Self {
        ContactStore {
            contacts: BTreeMap::new(),
            users_by_email: HashMap::new(),
            by_external_id: HashMap::new(),
            merged_into: HashMap::new(),
            pending_index: HashMap::new(),
            ids: IdGenerator::new(),
        }
    }
}

impl ContactStore {
    /// Removes every contact; ids issued later still differ from earlier ones.
    pub fn clear(&mut self) {
        let ids = std::mem::replace(&mut self.ids, IdGenerator::new());
        *self = ContactStore::default();
        self.ids = ids;
    }

    pub fn counts(&self) -> ContactCounts {
        let mut counts = ContactCounts {
            merged: self.merged_into.len() as u64,
            ..ContactCounts::default()
        };
        for contact in self.contacts.values() {
            if contact.archived {
                counts.archived += 1;
            }
            match contact.role {
                Role::User => counts.user += 1,
                Role::Lead => counts.lead += 1,
            }
        }
        counts
    }

    pub fn get(&self, id: &str) -> Result<&Contact, LookupError> {
        match self.contacts.get(id) {
            Some(contact) => Ok(contact),
            None => Err(self.missing(id)),
        }
    }

    fn missing(&self, id: &str) -> LookupError {
        match self.merged_into.get(id) {
            Some(into) => LookupError::Merged(into.clone()),
            None => LookupError::NotFound,
        }
    }

    /// Finds a user by `external_id`, as `GET /contacts/find_by_external_id/{id}` does.
    pub fn find_user_by_external_id(&self, external_id: &str) -> Option<&Contact> {
        let id = self.by_external_id.get(external_id)?;
        self.contacts.get(id).filter(|c| c.role == Role::User)
    }

    /// Creates a contact; 409 when a user with the email or any contact with the external id exists.
    pub fn create(
        &mut self,
        fields: ContactFields,
        now_ms: i64,
        index_delay_ms: i64,
    ) -> Result<Contact, ApiError> {
        let role = fields.role.unwrap_or(Role::User);
        let email = fields.email.clone().flatten();
        let external_id = fields.external_id.clone().flatten();
        if role == Role::User && email.is_none() && external_id.is_none() {
            return Err(ApiError::parameter_invalid(
                "email",
                "A user needs an email or an external_id: send at least one of them",
            ));
        }
        self.check_unique(role, email.as_deref(), external_id.as_deref(), None)?;

        let mut contact = Contact {
            id: self.ids.next(now_ms),
            external_id: None,
            role,
            email: None,
            phone: None,
            name: None,
            avatar: None,
            owner_id: None,
            unsubscribed_from_emails: false,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            signed_up_at: None,
            last_seen_at: None,
            custom_attributes: Map::new(),
            archived: false,
        };
        apply_fields(&mut contact, &fields);
        if role == Role::User && contact.signed_up_at.is_none() {
            contact.signed_up_at = Some(now_ms.div_euclid(1000));
        }

        self.index(&contact);
        if index_delay_ms > 0 {
            self.pending_index.insert(
                contact.id.clone(),
                PendingIndex {
                    visible_at_ms: now_ms + index_delay_ms,
                    previous: None,
                },
            );
        }
        self.contacts.insert(contact.id.clone(), contact.clone());
        Ok(contact)
    }

    /// Updates a contact and returns the version before and after; `updated_at` moves only when
    /// a value changed.
    pub fn update(
        &mut self,
        id: &str,
        fields: ContactFields,
        now_ms: i64,
        index_delay_ms: i64,
    ) -> Result<(Contact, Contact), UpdateError> {
        let before = self.get(id).map_err(UpdateError::Lookup)?.clone();
        if before.role == Role::User && fields.role == Some(Role::Lead) {
            return Err(UpdateError::Api(ApiError::parameter_invalid(
                "role",
                "A user cannot become a lead: only a lead can become a user",
            )));
        }

        let mut after = before.clone();
        apply_fields(&mut after, &fields);
        if after == before {
            return Ok((before, after));
        }
        if after.role == Role::User && after.email.is_none() && after.external_id.is_none() {
            return Err(UpdateError::Api(ApiError::parameter_invalid(
                "email",
                "A user needs an email or an external_id: keep at least one of them",
            )));
        }
        self.check_unique(
            after.role,
            after.email.as_deref(),
            after.external_id.as_deref(),
            Some(id),
        )
        .map_err(UpdateError::Api)?;

        after.updated_at_ms = now_ms.max(before.updated_at_ms);
        if before.role == Role::Lead && after.role == Role::User && after.signed_up_at.is_none() {
            after.signed_up_at = Some(now_ms.div_euclid(1000));
        }
        self.replace(&before, after.clone(), now_ms, index_delay_ms);
        Ok((before, after))
    }

    /// Deletes a contact for good and returns it.
    pub fn delete(&mut self, id: &str) -> Result<Contact, LookupError> {
        let contact = self.contacts.remove(id).ok_or_else(|| self.missing(id))?;
        self.unindex(&contact);
        self.pending_index.remove(id);
        Ok(contact)
    }

    /// Sets the archived flag and returns the contact with whether the flag changed.
    pub fn set_archived(
        &mut self,
        id: &str,
        archived: bool,
        now_ms: i64,
    ) -> Result<(Contact, bool), LookupError> {
        if !self.contacts.contains_key(id) {
            return Err(self.missing(id));
        }
        let contact = self.contacts.get_mut(id).expect("checked above");
        let changed = contact.archived != archived;
        if changed {
            contact.archived = archived;
            contact.updated_at_ms = now_ms.max(contact.updated_at_ms);
        }
        Ok((contact.clone(), changed))
    }

    /// Merges lead `from` into user `into`: empty user fields take the lead's values, the lead
    /// disappears and later lookups of its id report the merge.
    pub fn merge(
        &mut self,
        from: &str,
        into: &str,
        now_ms: i64,
        index_delay_ms: i64,
    ) -> Result<Contact, MergeError> {
        let lead = self
            .get(from)
            .map_err(|e| MergeError::Lookup("from", e))?
            .clone();
        let user = self
            .get(into)
            .map_err(|e| MergeError::Lookup("into", e))?
            .clone();
        if lead.role != Role::Lead || user.role != Role::User || from == into {
            return Err(MergeError::Invalid);
        }

        self.contacts.remove(from);
        self.unindex(&lead);
        self.pending_index.remove(from);
        self.merged_into.insert(from.to_string(), into.to_string());
        for target in self.merged_into.values_mut() {
            if target == from {
                *target = into.to_string();
            }
        }

        let mut merged = user.clone();
        fill_missing(&mut merged.email, &lead.email);
        fill_missing(&mut merged.phone, &lead.phone);
        fill_missing(&mut merged.name, &lead.name);
        fill_missing(&mut merged.avatar, &lead.avatar);
        fill_missing(&mut merged.external_id, &lead.external_id);
        for (key, value) in &lead.custom_attributes {
            merged
                .custom_attributes
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        merged.updated_at_ms = now_ms.max(user.updated_at_ms);
        self.replace(&user, merged.clone(), now_ms, index_delay_ms);
        Ok(merged)
    }

    /// Lists live, unarchived contacts in creation order after the id `after`.
    pub fn list_after(&self, after: Option<&str>, limit: usize) -> Vec<&Contact> {
        let start = match after {
            Some(id) => Bound::Excluded(id.to_string()),
            None => Bound::Unbounded,
        };
        self.contacts
            .range((start, Bound::Unbounded))
            .map(|(_, contact)| contact)
            .filter(|contact| !contact.archived)
            .take(limit)
            .collect()
    }

    /// Counts the contacts `list_after` walks through.
    pub fn listed_count(&self) -> usize {
        self.contacts.values().filter(|c| !c.archived).count()
    }

    /// Visits the unarchived contacts in the version search returns at `now_ms`, in creation order.
    pub fn for_each_searchable(&self, now_ms: i64, mut visit: impl FnMut(&Contact)) {
        for (id, contact) in &self.contacts {
            let visible = match self.pending_index.get(id) {
                Some(pending) if pending.visible_at_ms > now_ms => pending.previous.as_ref(),
                _ => Some(contact),
            };
            if let Some(contact) = visible.filter(|c| !c.archived) {
                visit(contact);
            }
        }
    }

    fn replace(&mut self, before: &Contact, after: Contact, now_ms: i64, index_delay_ms: i64) {
        self.unindex(before);
        self.index(&after);
        if index_delay_ms > 0 {
            let visible_at_ms = now_ms + index_delay_ms;
            // Search keeps the last indexed version until the delay after the latest change.
            let previous = match self.pending_index.get(&after.id) {
                Some(pending) if pending.visible_at_ms > now_ms => pending.previous.clone(),
                _ => Some(before.clone()),
            };
            self.pending_index.insert(
                after.id.clone(),
                PendingIndex {
                    visible_at_ms,
                    previous,
                },
            );
        } else {
            self.pending_index.remove(&after.id);
        }
        self.contacts.insert(after.id.clone(), after);
    }

    fn check_unique(
        &self,
        role: Role,
        email: Option<&str>,
        external_id: Option<&str>,
        own_id: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Some(external_id) = external_id {
            if let Some(existing) = self.by_external_id.get(external_id) {
                if Some(existing.as_str()) != own_id {
                    return Err(ApiError::conflict(existing));
                }
            }
        }
        if let (Role::User, Some(email)) = (role, email) {
            if let Some(existing) = self.users_by_email.get(&email.to_lowercase()) {
                if Some(existing.as_str()) != own_id {
                    return Err(ApiError::conflict(existing));
                }
            }
        }
        Ok(())
    }

    fn index(&mut self, contact: &Contact) {
        if let Some(external_id) = &contact.external_id {
            self.by_external_id
                .insert(external_id.clone(), contact.id.clone());
        }
        if let (Role::User, Some(email)) = (contact.role, &contact.email) {
            self.users_by_email
                .insert(email.to_lowercase(), contact.id.clone());
        }
    }

    fn unindex(&mut self, contact: &Contact) {
        if let Some(external_id) = &contact.external_id {
            if self.by_external_id.get(external_id) == Some(&contact.id) {
                self.by_external_id.remove(external_id);
            }
        }
        if let Some(email) = &contact.email {
            let key = email.to_lowercase();
            if self.users_by_email.get(&key) == Some(&contact.id) {
                self.users_by_email.remove(&key);
            }
        }
    }
}

/// The reason an update failed.
#[derive(Debug)]
pub enum UpdateError {
    Lookup(LookupError),
    Api(ApiError),
}

/// The reason a merge failed.
#[derive(Debug)]
pub enum MergeError {
    /// The `from` or `into` contact did not resolve.
    Lookup(&'static str, LookupError),
    /// `from` is not a lead or `into` is not a user.
    Invalid,
}

fn fill_missing(target: &mut Option<String>, source: &Option<String>) {
    if target.is_none() {
        target.clone_from(source);
    }
}

fn apply_fields(contact: &mut Contact, fields: &ContactFields) {
    if let Some(role) = fields.role {
        contact.role = role;
    }
    if let Some(value) = &fields.external_id {
        contact.external_id.clone_from(value);
    }
    if let Some(value) = &fields.email {
        contact.email.clone_from(value);
    }
    if let Some(value) = &fields.phone {
        contact.phone.clone_from(value);
    }
    if let Some(value) = &fields.name {
        contact.name.clone_from(value);
    }
    if let Some(value) = &fields.avatar {
        contact.avatar.clone_from(value);
    }
    if let Some(value) = fields.owner_id {
        contact.owner_id = value;
    }
    if let Some(value) = fields.unsubscribed_from_emails {
        contact.unsubscribed_from_emails = value;
    }
    if let Some(value) = fields.signed_up_at {
        contact.signed_up_at = value;
    }
    if let Some(value) = fields.last_seen_at {
        contact.last_seen_at = value;
    }
    if let Some(attributes) = &fields.custom_attributes {
        for (key, value) in attributes {
            if value.is_null() {
                contact.custom_attributes.remove(key);
            } else {
                contact.custom_attributes.insert(key.clone(), value.clone());
            }
        }
    }
}
