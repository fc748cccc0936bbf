//! Intercom contacts (users and leads): the contact object and the calls that read, write,
//! search and merge them.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Map, Value};

use super::client::Call;
use super::errors::IntercomError;
use super::timestamp;
use super::IntercomClient;
use crate::connectors::wire::path_segment;

/// A contact's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactRole {
    /// A signed-up user.
    User,
    /// A lead (a visitor who gave contact details).
    Lead,
}

/// An Intercom contact, as returned by the REST API and carried in webhook notifications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// Intercom's id (24 hex characters).
    pub id: String,
    /// The workspace id.
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// The id this contact has in the customer's own systems.
    #[serde(default)]
    pub external_id: Option<String>,
    /// User or lead.
    pub role: ContactRole,
    /// The email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// The full name.
    #[serde(default)]
    pub name: Option<String>,
    /// The id of the admin who owns the contact.
    #[serde(default, deserialize_with = "deserialize_optional_id")]
    pub owner_id: Option<String>,
    /// Whether the contact opted out of email.
    #[serde(default)]
    pub unsubscribed_from_emails: bool,
    /// Whether email to the contact bounced permanently.
    #[serde(default)]
    pub has_hard_bounced: bool,
    /// Whether the contact marked an email as spam.
    #[serde(default)]
    pub marked_email_as_spam: bool,
    /// When the contact was created.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the contact last changed, which orders the updates of one contact.
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    /// When the user signed up.
    #[serde(default, with = "timestamp::option")]
    pub signed_up_at: Option<DateTime<Utc>>,
    /// When the contact was last seen.
    #[serde(default, with = "timestamp::option")]
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Custom data attributes by name.
    #[serde(default)]
    pub custom_attributes: Map<String, Value>,
    /// In a `contact.merged` notification: the lead that was merged into this contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from: Option<ContactRef>,
}

/// A reference to a contact by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    /// Intercom's id.
    pub id: String,
    /// The external id, when the payload carries it.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The response to `DELETE /contacts/{id}`, and the item of a `contact.deleted` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedContact {
    /// Intercom's id.
    pub id: String,
    /// The external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Always true.
    pub deleted: bool,
}

/// The response to an archive or unarchive, and the item of a `contact.archived` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedContact {
    /// Intercom's id.
    pub id: String,
    /// The external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Whether the contact is now archived.
    pub archived: bool,
}

/// The fields of a contact to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewContact {
    /// User or lead. A user needs an email or an external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<ContactRole>,
    /// The email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Whether the contact opted out of email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribed_from_emails: Option<bool>,
    /// Custom data attributes to set.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_attributes: Map<String, Value>,
}

/// The changes to a contact. `None` leaves a field as it is, and `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContactUpdate {
    /// A new role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<ContactRole>,
    /// A new email address, or null to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Option<String>>,
    /// A new phone number, or null to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<Option<String>>,
    /// A new name, or null to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Option<String>>,
    /// A new external id, or null to clear it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<Option<String>>,
    /// A new email opt-out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribed_from_emails: Option<bool>,
    /// Custom attributes to set. Attributes left out keep their values, and null clears one.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub custom_attributes: Map<String, Value>,
}

/// A search filter: one comparison, or an AND/OR group of filters (at most two levels deep
/// and 15 filters per group).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchFilter {
    /// `field operator value`, such as `email = "a@example.com"`. Operators: `=`, `!=`, `IN`,
    /// `NIN`, `>`, `<`, `~` (contains), `!~`, `^` (starts with), `$` (ends with).
    Field {
        /// The contact field, such as `email` or `custom_attributes.plan`.
        field: String,
        /// The operator.
        operator: String,
        /// The value to compare with.
        value: Value,
    },
    /// All filters must match.
    And(Vec<SearchFilter>),
    /// Any filter must match.
    Or(Vec<SearchFilter>),
}

impl SearchFilter {
    /// Builds a `field = value` filter.
    pub fn equals(field: impl Into<String>, value: impl Into<Value>) -> Self {
        SearchFilter::Field {
            field: field.into(),
            operator: "=".to_owned(),
            value: value.into(),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            SearchFilter::Field {
                field,
                operator,
                value,
            } => {
                json!({ "field": field, "operator": operator, "value": value })
            }
            SearchFilter::And(filters) => {
                json!({ "operator": "AND", "value": filters.iter().map(Self::to_json).collect::<Vec<_>>() })
            }
            SearchFilter::Or(filters) => {
                json!({ "operator": "OR", "value": filters.iter().map(Self::to_json).collect::<Vec<_>>() })
            }
        }
    }
}

/// A list of contacts: one page of a list or search.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContactList {
    /// Always `list`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The contacts of this page.
    pub data: Vec<Contact>,
    /// Matching contacts in total.
    #[serde(default)]
    pub total_count: u64,
    /// Paging details. `pages.next` is absent on the last page.
    #[serde(default)]
    pub pages: Option<Pages>,
}

impl ContactList {
    /// Returns the cursor of the next page, or `None` on the last page.
    pub fn next_cursor(&self) -> Option<&str> {
        self.pages
            .as_ref()?
            .next
            .as_ref()?
            .starting_after
            .as_deref()
    }
}

/// Cursor paging details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pages {
    /// The page number, from 1.
    #[serde(default)]
    pub page: u64,
    /// Contacts per page.
    #[serde(default)]
    pub per_page: u64,
    /// Pages in total.
    #[serde(default)]
    pub total_pages: u64,
    /// The cursor of the next page.
    #[serde(default)]
    pub next: Option<NextPage>,
}

/// The cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NextPage {
    /// Contacts per page.
    #[serde(default)]
    pub per_page: Option<u64>,
    /// The cursor to send as `starting_after`.
    #[serde(default)]
    pub starting_after: Option<String>,
}

/// Reads the pages of one search in order, as started by
/// [`IntercomClient::search_contacts`].
#[derive(Debug)]
pub struct ContactSearch {
    client: IntercomClient,
    filter: Value,
    per_page: u32,
    cursor: Option<String>,
    done: bool,
}

impl ContactSearch {
    /// Fetches the next page, or returns `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<ContactList>, IntercomError> {
        if self.done {
            return Ok(None);
        }
        let mut pagination = json!({ "per_page": self.per_page });
        if let Some(cursor) = &self.cursor {
            pagination["starting_after"] = Value::String(cursor.clone());
        }
        let body = json!({ "query": self.filter, "pagination": pagination });
        let call = Call::read("search_contacts", "");
        let page: ContactList = self
            .client
            .send_json(call, Method::POST, "/contacts/search", &[], Some(&body))
            .await?;

        self.cursor = page.next_cursor().map(str::to_owned);
        self.done = self.cursor.is_none() || page.data.is_empty();
        Ok(Some(page))
    }

    /// Fetches all remaining pages and returns their contacts.
    pub async fn collect_all(mut self) -> Result<Vec<Contact>, IntercomError> {
        let mut contacts = Vec::new();
        while let Some(page) = self.next_page().await? {
            contacts.extend(page.data);
        }
        Ok(contacts)
    }
}

impl IntercomClient {
    /// Fetches one contact.
    pub async fn get_contact(&self, id: &str) -> Result<Contact, IntercomError> {
        let call = Call::read("get_contact", id);
        let path = format!("/contacts/{}", path_segment(id));
        self.send_json(call, Method::GET, &path, &[], None).await
    }

    /// Creates a contact. A create is not repeated after a timeout, and Intercom rejects a
    /// duplicate with 409 `conflict`.
    pub async fn create_contact(&self, contact: &NewContact) -> Result<Contact, IntercomError> {
        let label = contact
            .email
            .as_deref()
            .or(contact.external_id.as_deref())
            .unwrap_or("");
        let call = Call::create("create_contact", label);
        let body = to_body(contact)?;
        self.send_json(call, Method::POST, "/contacts", &[], Some(&body))
            .await
    }

    /// Updates a contact and returns it as saved.
    pub async fn update_contact(
        &self,
        id: &str,
        update: &ContactUpdate,
    ) -> Result<Contact, IntercomError> {
        let call = Call::read("update_contact", id);
        let path = format!("/contacts/{}", path_segment(id));
        let body = to_body(update)?;
        self.send_json(call, Method::PUT, &path, &[], Some(&body))
            .await
    }

    /// Deletes a contact permanently.
    pub async fn delete_contact(&self, id: &str) -> Result<DeletedContact, IntercomError> {
        let call = Call::read("delete_contact", id);
        let path = format!("/contacts/{}", path_segment(id));
        self.send_json(call, Method::DELETE, &path, &[], None).await
    }

    /// Archives a contact.
    pub async fn archive(&self, id: &str) -> Result<ArchivedContact, IntercomError> {
        let call = Call::read("archive", id);
        let path = format!("/contacts/{}/archive", path_segment(id));
        self.send_json(call, Method::POST, &path, &[], None).await
    }

    /// Restores an archived contact.
    pub async fn unarchive(&self, id: &str) -> Result<ArchivedContact, IntercomError> {
        let call = Call::read("unarchive", id);
        let path = format!("/contacts/{}/unarchive", path_segment(id));
        self.send_json(call, Method::POST, &path, &[], None).await
    }

    /// Merges the lead `from` into the user `into` and returns the surviving user. The lead's
    /// id stops working.
    pub async fn merge(&self, from: &str, into: &str) -> Result<Contact, IntercomError> {
        let ids = format!("{from}->{into}");
        let call = Call::create("merge", &ids);
        let body = json!({ "from": from, "into": into });
        self.send_json(call, Method::POST, "/contacts/merge", &[], Some(&body))
            .await
    }

    /// Lists contacts a page at a time, from the cursor of an earlier page.
    pub async fn list_contacts(
        &self,
        per_page: u32,
        starting_after: Option<&str>,
    ) -> Result<ContactList, IntercomError> {
        let call = Call::read("list_contacts", starting_after.unwrap_or(""));
        let per_page = per_page.to_string();
        let mut query = vec![("per_page", per_page.as_str())];
        if let Some(cursor) = starting_after {
            query.push(("starting_after", cursor));
        }
        self.send_json(call, Method::GET, "/contacts", &query, None)
            .await
    }

    /// Starts a search, read with [`ContactSearch::next_page`]. `per_page` is capped at 150.
    ///
    /// Intercom compares dates in search by calendar day in the workspace's time zone, and new
    /// contacts can take minutes to become searchable.
    pub fn search_contacts(&self, filter: &SearchFilter, per_page: u32) -> ContactSearch {
        ContactSearch {
            client: self.clone(),
            filter: filter.to_json(),
            per_page: per_page.clamp(1, 150),
            cursor: None,
            done: false,
        }
    }

    /// Returns every contact whose email equals `email`, compared as Intercom does.
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Contact>, IntercomError> {
        let filter = SearchFilter::equals("email", email.trim());
        self.search_contacts(&filter, 50).collect_all().await
    }
}

fn to_body<T: Serialize>(value: &T) -> Result<Value, IntercomError> {
    serde_json::to_value(value)
        .map_err(|e| IntercomError::InvalidRequest(format!("cannot encode the body: {e}")))
}

/// Reads an id sent as a string or a number.
fn deserialize_optional_id<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) => Ok(Some(id)),
        Some(Value::Number(id)) => Ok(Some(id.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected an id, found {other}"
        ))),
    }
}
