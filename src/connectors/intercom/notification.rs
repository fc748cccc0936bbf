//! Webhook notifications: the envelope Intercom posts for each topic, and its item.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::contacts::{ArchivedContact, Contact, DeletedContact};
use super::timestamp;

/// One webhook notification (`type: notification_event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The notification id (`notif_<uuid>`), used to drop duplicate deliveries. Null for the
    /// subscription test (`ping`).
    pub id: Option<String>,
    /// The topic, such as `contact.user.updated`.
    pub topic: String,
    /// The workspace id.
    #[serde(default)]
    pub app_id: Option<String>,
    /// When the event happened.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// When the first delivery was attempted.
    #[serde(default, with = "timestamp::option")]
    pub first_sent_at: Option<DateTime<Utc>>,
    /// Deliveries so far, this one included.
    #[serde(default)]
    pub delivery_attempts: u32,
    /// The payload.
    pub data: NotificationData,
}

/// The `data` entry of a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationData {
    /// The object the notification is about.
    pub item: NotificationItem,
}

/// The object a notification carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NotificationItem {
    /// A full contact: created, updated, email changed, merged (with `merged_from`).
    Contact(Box<Contact>),
    /// `contact.deleted`: only the ids.
    ContactDeleted(DeletedContact),
    /// `contact.archived` and `contact.unarchive`: only the ids and the archived flag.
    ContactArchived(ArchivedContact),
    /// The subscription test.
    Ping {
        /// Intercom's test message.
        message: String,
    },
    /// Any other object, kept as JSON.
    Other(Value),
}

impl<'de> Deserialize<'de> for NotificationItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        let value = Value::deserialize(deserializer)?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        let has = |key: &str| value.get(key).is_some();

        let item = match kind {
            "contact" if has("role") => NotificationItem::Contact(Box::new(
                serde_json::from_value(value).map_err(D::Error::custom)?,
            )),
            "contact" if has("deleted") => NotificationItem::ContactDeleted(
                serde_json::from_value(value).map_err(D::Error::custom)?,
            ),
            "contact" if has("archived") => NotificationItem::ContactArchived(
                serde_json::from_value(value).map_err(D::Error::custom)?,
            ),
            "ping" => NotificationItem::Ping {
                message: value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            },
            _ => NotificationItem::Other(value),
        };
        Ok(item)
    }
}

impl Notification {
    /// Returns the contact this notification is about, when it carries a full one.
    pub fn contact(&self) -> Option<&Contact> {
        match &self.data.item {
            NotificationItem::Contact(contact) => Some(contact),
            _ => None,
        }
    }

    /// Returns the id of the contact this notification is about, for every contact topic.
    pub fn contact_id(&self) -> Option<&str> {
        match &self.data.item {
            NotificationItem::Contact(contact) => Some(&contact.id),
            NotificationItem::ContactDeleted(deleted) => Some(&deleted.id),
            NotificationItem::ContactArchived(archived) => Some(&archived.id),
            _ => None,
        }
    }
}
