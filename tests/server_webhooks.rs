//! The webhook endpoint against a running server: every captured Intercom notification is
//! accepted and turned into its event (or acknowledged and ignored), and bad input gets the
//! right status with nothing stored.

mod common;

use std::path::PathBuf;

use common::{metric_value, start, wait_for, Harness};
use intersync::http::webhook::{sign, SIGNATURE_HEADER};
use intersync::sync::attributes::AttributeMap;
use intersync::sync::intercom_events::event_of;
use intersync::sync::notification::Notification;
use intersync_fsm::Event;
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from("/work/shared/fixtures/intercom").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

/// Posts `body` signed with the server's webhook secret; returns (status, body).
async fn post_signed(harness: &Harness, body: Vec<u8>) -> (u16, Value) {
    let signature = sign(
        &body,
        harness
            .sandbox
            .config
            .intercom
            .webhook_secret
            .expose()
            .as_bytes(),
    );
    post(harness, body, Some(signature)).await
}

async fn post(harness: &Harness, body: Vec<u8>, signature: Option<String>) -> (u16, Value) {
    let mut request = harness
        .http()
        .post(format!("{}/webhooks/intercom", harness.server_url()))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    let response = request.send().await.expect("post the webhook");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Converts a notification the way the server does and returns the kind of its event.
fn event_kind(body: &[u8]) -> &'static str {
    let notification = Notification::parse(body).expect("the fixture parses");
    let attributes = AttributeMap::from_settings(&Default::default()).expect("default attributes");
    match event_of(&notification, &attributes) {
        Ok((_, Event::PersonCreated(_))) => "created",
        Ok((_, Event::PersonUpdated(_))) => "updated",
        Ok((_, Event::KeyUpdated(_))) => "key_updated",
        Ok((_, Event::PersonDeleted { .. })) => "deleted",
        Ok((_, Event::LeadBecameUser { .. })) => "lead_became_user",
        Ok((_, _)) => "other",
        Err(_) => "none",
    }
}

/// Asserts that nothing reached the inbox.
async fn assert_nothing_stored(harness: &Harness) {
    let metrics = harness.metrics().await;
    assert_eq!(
        metric_value(&metrics, "intersync_inbox_pushed_total"),
        0.0,
        "an event was stored:\n{metrics}"
    );
    let received: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("intersync_webhooks_received_total"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert_eq!(received, 0.0, "a webhook was counted as received");
    let (_, status) = harness.status().await;
    assert_eq!(status["inbox_depth"], 0, "status: {status}");
    assert_eq!(status["mappings"], 0, "status: {status}");
}

#[actix_rt::test]
async fn captured_notifications_become_events() {
    let cases = [
        (
            "webhook_contact_user_created.json",
            "contact.user.created",
            "created",
        ),
        (
            "webhook_contact_lead_created.json",
            "contact.lead.created",
            "created",
        ),
        (
            "webhook_contact_user_updated.json",
            "contact.user.updated",
            "updated",
        ),
        (
            "webhook_contact_lead_updated.json",
            "contact.lead.updated",
            "updated",
        ),
        (
            "webhook_contact_email_updated.json",
            "contact.email.updated",
            "key_updated",
        ),
        ("webhook_contact_deleted.json", "contact.deleted", "deleted"),
        (
            "webhook_contact_archived.json",
            "contact.archived",
            "deleted",
        ),
        // This capture has only the surviving contact, no `merged_from`.
        ("webhook_contact_merged.json", "contact.merged", "updated"),
    ];
    let harness = start().await;

    for (file, topic, kind) in cases {
        let body = fixture(file);
        assert_eq!(event_kind(&body), kind, "{file} becomes the wrong event");

        let (status, answer) = post_signed(&harness, body).await;

        assert_eq!(status, 200, "{file}: {answer}");
        assert_eq!(answer["status"], "stored", "{file}: {answer}");
        let series = format!("intersync_webhooks_received_total{{topic=\"{topic}\"}}");
        let received = metric_value(&harness.metrics().await, &series);
        assert!(received >= 1.0, "{file}: {series} is {received}");
    }
    for (file, topic, _) in cases {
        let series = format!("intersync_webhooks_applied_total{{topic=\"{topic}\"}}");
        wait_for(&format!("{file} applied"), || async {
            let applied = metric_value(&harness.metrics().await, &series);
            if applied >= 1.0 {
                Ok(())
            } else {
                Err(applied)
            }
        })
        .await;
    }
    harness.wait_inbox_empty().await;
    harness.stop().await;
}

#[test]
fn merged_with_merged_from_moves_lead() {
    let mut body: Value = serde_json::from_slice(&fixture("webhook_contact_merged.json")).unwrap();
    body["data"]["item"]["merged_from"] =
        json!({"type": "contact", "id": "6961f1c19b981fb5a0b90afa"});

    let kind = event_kind(&serde_json::to_vec(&body).unwrap());

    assert_eq!(kind, "lead_became_user");
}

#[actix_rt::test]
async fn ping_is_acknowledged_and_ignored() {
    let harness = start().await;
    let body = fixture("webhook_ping.json");
    assert_eq!(event_kind(&body), "none");

    let (status, answer) = post_signed(&harness, body).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "ignored");
    let metrics = harness.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"intersync_webhooks_ignored_total{topic="ping"}"#
        ),
        1.0,
        "{metrics}"
    );
    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn replayed_notification_is_stored_once() {
    let harness = start().await;
    let body = fixture("webhook_contact_user_updated.json");

    let (first, _) = post_signed(&harness, body.clone()).await;
    let (second, answer) = post_signed(&harness, body).await;

    assert_eq!(first, 200);
    assert_eq!(second, 200);
    assert_eq!(answer["status"], "duplicate");
    let metrics = harness.metrics().await;
    assert_eq!(metric_value(&metrics, "intersync_inbox_pushed_total"), 1.0);
    assert_eq!(
        metric_value(&metrics, "intersync_webhooks_duplicate_total"),
        1.0
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn missing_signature_is_rejected() {
    let harness = start().await;

    let (status, answer) = post(&harness, fixture("webhook_contact_user_created.json"), None).await;

    assert_eq!(status, 401, "{answer}");
    assert!(answer.to_string().contains("X-Hub-Signature"), "{answer}");
    let metrics = harness.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"intersync_webhooks_rejected_total{reason="signature"}"#
        ),
        1.0
    );
    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn bad_signatures_are_rejected() {
    let harness = start().await;
    let body = fixture("webhook_contact_user_created.json");
    let wrong_secret = sign(&body, b"not-the-secret");
    let other_body = sign(
        b"{}",
        harness
            .sandbox
            .config
            .intercom
            .webhook_secret
            .expose()
            .as_bytes(),
    );
    let cases = [
        wrong_secret,
        other_body,
        "sha1=xyz".to_owned(),
        "sha256=00".to_owned(),
        String::new(),
    ];

    for signature in cases {
        let (status, answer) = post(&harness, body.clone(), Some(signature.clone())).await;
        assert_eq!(status, 401, "signature {signature:?}: {answer}");
    }

    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn malformed_json_is_rejected() {
    let harness = start().await;
    let cases: [&[u8]; 5] = [
        b"{not json",
        b"",
        b"[]",
        br#"{"type": "notification_event", "topic": "contact.user.created"}"#,
        br#"{"type": "notification_event", "id": "notif_1", "topic": "contact.user.created", "data": {"item": {"type": "contact"}}}"#,
    ];

    for body in cases {
        let (status, answer) = post_signed(&harness, body.to_vec()).await;
        let shown = String::from_utf8_lossy(body);
        assert_eq!(status, 400, "body {shown:?}: {answer}");
        let reason = answer.to_string();
        assert!(reason.len() > 20, "body {shown:?} got no reason: {answer}");
    }

    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn unused_topic_is_acknowledged_not_stored() {
    let harness = start().await;
    let body = json!({
        "type": "notification_event",
        "app_id": "abc123def",
        "data": {"type": "notification_event_data", "item": {"type": "conversation", "id": "1"}},
        "id": "notif_7c2b7a52-0e0c-4e8f-9c9e-1b9c4a3b2c11",
        "topic": "conversation.user.created",
        "delivery_attempts": 1,
        "created_at": 1768019869
    });

    let (status, answer) = post_signed(&harness, serde_json::to_vec(&body).unwrap()).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "ignored");
    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn oversized_body_is_rejected() {
    let harness = start().await;
    let limit = harness.sandbox.config.intercom.max_webhook_bytes;
    let padding = "x".repeat(limit + 1);
    let body = json!({
        "type": "notification_event",
        "id": "notif_big",
        "topic": "contact.user.updated",
        "data": {"item": {"type": "contact", "id": "6961d43b372591e999b3ea56", "name": padding}},
        "created_at": 1768019869
    });

    let (status, answer) = post_signed(&harness, serde_json::to_vec(&body).unwrap()).await;

    assert_eq!(status, 413, "{answer}");
    let metrics = harness.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"intersync_webhooks_rejected_total{reason="too_large"}"#
        ),
        1.0
    );
    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn invalid_email_is_rejected() {
    let harness = start().await;
    let original: Value =
        serde_json::from_slice(&fixture("webhook_contact_user_created.json")).unwrap();

    for email in [
        "not-an-email",
        "two@@example.com",
        "spaces in@example.com",
        "nodot@example",
    ] {
        let mut body = original.clone();
        body["data"]["item"]["email"] = json!(email);
        body["id"] = json!(format!("notif_invalid_{}", email.len()));

        let (status, answer) = post_signed(&harness, serde_json::to_vec(&body).unwrap()).await;

        assert_eq!(status, 400, "email {email:?}: {answer}");
        assert!(
            answer.to_string().contains(email),
            "email {email:?}: {answer}"
        );
    }

    assert_nothing_stored(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn unicode_email_is_accepted() {
    let harness = start().await;
    let mut body: Value =
        serde_json::from_slice(&fixture("webhook_contact_user_created.json")).unwrap();
    body["data"]["item"]["email"] = json!("jürgen.müller@bücher.example");

    let (status, answer) = post_signed(&harness, serde_json::to_vec(&body).unwrap()).await;

    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "stored");
    harness.stop().await;
}

#[actix_rt::test]
async fn wrong_method_and_route_get_json_errors() {
    let harness = start().await;
    let http = reqwest::Client::new();

    let response = http
        .get(format!("{}/webhooks/intercom", harness.server_url()))
        .send()
        .await
        .expect("GET the webhook URL");
    assert_eq!(response.status().as_u16(), 405);
    let body: Value = response.json().await.expect("a JSON error");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("POST"),
        "{body}"
    );

    let response = http
        .get(format!("{}/no-such-route", harness.server_url()))
        .send()
        .await
        .expect("GET an unknown route");
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.expect("a JSON error");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("/no-such-route"),
        "{body}"
    );
    harness.stop().await;
}
