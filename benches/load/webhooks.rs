//! Signed Intercom webhook notifications, built the way Intercom sends them.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

/// Builds the body of a notification about `item`, with a unique `id`.
pub fn notification(id: &str, topic: &str, item: &Value) -> Vec<u8> {
    let now = unix_now();
    let envelope = json!({
        "type": "notification_event",
        "app_id": "loadbench",
        "data": {"type": "notification_event_data", "item": item},
        "links": {},
        "id": id,
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": now,
        "created_at": now,
        "self": null,
    });
    serde_json::to_vec(&envelope).expect("a JSON value serializes")
}

/// Builds a `contact.user.updated` notification about contact `n` of run `run`, which no
/// mapping contains yet. Every body of a run is unique.
pub fn new_contact_update(run: &str, n: u64) -> Vec<u8> {
    let item = json!({
        "type": "contact",
        "id": format!("{run}{n:010}"),
        "workspace_id": "loadbench",
        "role": "user",
        "email": format!("load.{run}.{n}@bench.example"),
        "name": format!("Load Person {n}"),
        "phone": format!("+1 {n:010}"),
        "unsubscribed_from_emails": false,
        "custom_attributes": {"job_title": "Engineer"},
        "created_at": unix_now(),
        "updated_at": unix_now(),
    });
    notification(&format!("notif_{run}_{n}"), "contact.user.updated", &item)
}

/// Builds a notification that sets `phone` on an existing contact, as read from the
/// Intercom API, with `updated_at` set to now.
pub fn phone_update(contact: &Value, phone: &str, notification_id: &str) -> Vec<u8> {
    let mut item = contact.clone();
    item["phone"] = json!(phone);
    item["updated_at"] = json!(unix_now());
    let topic = match item["role"].as_str() {
        Some("lead") => "contact.lead.updated",
        _ => "contact.user.updated",
    };
    notification(notification_id, topic, &item)
}

/// Formats the phone number that encodes change `n` of an end-to-end phase.
pub fn change_phone(n: u64) -> String {
    format!("+1 {n:010}")
}

/// Parses the change number encoded by [`change_phone`], if `phone` is one.
pub fn change_of_phone(phone: &str) -> Option<u64> {
    phone.strip_prefix("+1 ")?.parse().ok()
}
