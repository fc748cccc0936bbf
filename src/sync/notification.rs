//! The Intercom webhook envelope, and which topics intersync acts on.

use serde::Deserialize;
use serde_json::Value;

/// Topics that change a person; every other topic is acknowledged and ignored.
const USED_TOPICS: &[&str] = &[
    "contact.user.created",
    "contact.lead.created",
    "contact.unarchive",
    "contact.user.updated",
    "contact.lead.updated",
    "contact.subscribed",
    "contact.unsubscribed",
    "contact.email.updated",
    "contact.deleted",
    "contact.archived",
    "contact.lead.signed_up",
    "contact.merged",
];

/// Whether a notification of `topic` changes a person.
pub fn is_used_topic(topic: &str) -> bool {
    USED_TOPICS.contains(&topic)
}

/// Why a webhook body is not a usable notification.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NotificationError {
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the body is not a notification_event: {0}")]
    Envelope(String),
    #[error("the notification has no id; every contact notification needs one")]
    MissingId,
    #[error("data.item of a {topic} notification has no contact id")]
    MissingContactId { topic: String },
    #[error("data.item of a {topic} notification has the invalid email {email:?}")]
    InvalidEmail { topic: String, email: String },
}

/// A webhook notification as Intercom sends it.
#[derive(Debug, Clone)]
pub struct Notification {
    /// `notif_<uuid>`; empty for `ping`, which has a null id.
    pub id: String,
    pub topic: String,
    /// Unix seconds when Intercom created the notification.
    pub created_at: i64,
    /// Delivery attempt, 1 for the first.
    pub delivery_attempts: u32,
    /// The object the topic is about: a contact for every used topic.
    pub item: Value,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    topic: String,
    #[serde(default)]
    created_at: i64,
    #[serde(default)]
    delivery_attempts: u32,
    data: EnvelopeData,
}

#[derive(Deserialize)]
struct EnvelopeData {
    item: Value,
}

impl Notification {
    /// Parses the envelope; the item is checked separately by [`Notification::check_item`].
    pub fn parse(body: &[u8]) -> Result<Self, NotificationError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| NotificationError::Json(error.to_string()))?;
        let envelope: Envelope = serde_json::from_value(value)
            .map_err(|error| NotificationError::Envelope(error.to_string()))?;
        if envelope.kind != "notification_event" {
            return Err(NotificationError::Envelope(format!(
                "type is {:?}, expected \"notification_event\"",
                envelope.kind
            )));
        }
        let id = envelope.id.unwrap_or_default();
        if id.is_empty() && is_used_topic(&envelope.topic) {
            return Err(NotificationError::MissingId);
        }
        Ok(Self {
            id,
            topic: envelope.topic,
            created_at: envelope.created_at,
            delivery_attempts: envelope.delivery_attempts,
            item: envelope.data.item,
        })
    }

    /// Checks that the item of a used topic names a contact and carries a valid email, if any.
    pub fn check_item(&self) -> Result<(), NotificationError> {
        let contact_id = self.item.get("id").and_then(Value::as_str).unwrap_or("");
        if contact_id.is_empty() {
            return Err(NotificationError::MissingContactId {
                topic: self.topic.clone(),
            });
        }
        if let Some(email) = self.item.get("email").and_then(Value::as_str) {
            if !email.trim().is_empty() && !is_valid_email(email) {
                return Err(NotificationError::InvalidEmail {
                    topic: self.topic.clone(),
                    email: email.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The contact id the notification is about.
    pub fn contact_id(&self) -> &str {
        self.item.get("id").and_then(Value::as_str).unwrap_or("")
    }
}

/// Accepts `local@domain` with no spaces, one `@` and a domain that has a dot inside it.
/// Unicode is allowed on both sides, as Intercom allows it.
pub fn is_valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check_accepts_unicode() {
        assert!(is_valid_email("zoë.müller@exämple.de"));
        assert!(is_valid_email(" Jane.Doe@Acme.com "));
    }

    #[test]
    fn email_check_rejects_malformed() {
        for email in [
            "jane",
            "jane@",
            "@acme.com",
            "ja ne@acme.com",
            "a@b@c.com",
            "a@acme.",
        ] {
            assert!(!is_valid_email(email), "{email} should be invalid");
        }
    }

    #[test]
    fn ping_without_id_parses() {
        let body = br#"{"type":"notification_event","id":null,"topic":"ping","data":{"item":{"type":"ping"}}}"#;
        let notification = Notification::parse(body).unwrap();
        assert_eq!(notification.topic, "ping");
        assert!(!is_used_topic(&notification.topic));
    }

    #[test]
    fn contact_topic_without_id_is_rejected() {
        let body = br#"{"type":"notification_event","id":null,"topic":"contact.user.updated","data":{"item":{"id":"1"}}}"#;
        assert_eq!(
            Notification::parse(body).unwrap_err(),
            NotificationError::MissingId
        );
    }
}
