//! The Intercom simulator's webhook emitter: topics, envelope, signatures, retries, 410,
//! duplicates and reordering, checked by a loopback receiver.

mod sim_intercom_support;

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use intersync::sim::intercom::IntercomSimConfig;
use serde_json::{json, Value};
use sha1::Sha1;
use sim_intercom_support::{keys, subscribe, Receiver, Sim, SECRET};

/// Envelope keys of a captured `contact.user.created` notification.
const ENVELOPE_KEYS: &[&str] = &[
    "type",
    "app_id",
    "data",
    "links",
    "id",
    "topic",
    "delivery_status",
    "delivery_attempts",
    "delivered_at",
    "first_sent_at",
    "created_at",
    "self",
];

fn fast_retries() -> IntercomSimConfig {
    IntercomSimConfig {
        webhook_retry_delay: Duration::from_millis(50),
        ..IntercomSimConfig::default()
    }
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

fn verify(secret: &str, raw: &[u8], header: &str) -> bool {
    let Some(hex_digest) = header.strip_prefix("sha1=") else {
        return false;
    };
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(raw);
    mac.verify_slice(&digest).is_ok()
}

#[actix_web::test]
async fn created_user_notification_is_signed() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;

    let contact = sim
        .create(json!({"email": "hook@example.com", "external_id": "24"}))
        .await;
    let delivery = receiver.next().await;

    assert_eq!(delivery.topic(), "contact.user.created");
    let signature = delivery.signature.clone().expect("X-Hub-Signature is set");
    assert_eq!(signature.len(), "sha1=".len() + 40);
    assert!(
        verify(SECRET, &delivery.raw, &signature),
        "signature verifies against the raw body"
    );
    assert!(!verify("another-secret", &delivery.raw, &signature));
    assert_eq!(
        delivery.user_agent.as_deref(),
        Some("intercom-parrot-service-client/1.0")
    );

    let body = &delivery.body;
    assert_eq!(keys(body), sorted(ENVELOPE_KEYS));
    assert_eq!(body["type"], "notification_event");
    assert_eq!(body["app_id"], "intersim");
    assert!(body["id"].as_str().unwrap().starts_with("notif_"));
    assert_eq!(body["delivery_status"], "pending");
    assert_eq!(body["delivery_attempts"], 1);
    assert_eq!(body["delivered_at"], 0);
    assert_eq!(body["links"], json!({}));
    assert_eq!(body["self"], Value::Null);
    assert!(body["created_at"].is_i64());
    assert_eq!(body["data"]["type"], "notification_event_data");

    let item = &body["data"]["item"];
    assert_eq!(item["id"], contact["id"]);
    assert_eq!(item["email"], "hook@example.com");
    assert_eq!(
        item["sms_consent"], false,
        "notification items carry the messaging flags"
    );
    let updated_at = item["updated_at"]
        .as_str()
        .expect("notification timestamps are ISO strings");
    assert!(
        updated_at.ends_with("+00:00") && updated_at.len() == 29,
        "updated_at {updated_at}"
    );

    let stats = sim.stats().await;
    assert_eq!(stats["webhooks"]["delivered"], 1);
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn topics_follow_each_change() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;

    let lead = sim.create(json!({"role": "lead", "name": "Lead"})).await;
    let lead_id = lead["id"].as_str().unwrap().to_string();
    assert_eq!(receiver.next().await.topic(), "contact.lead.created");

    sim.put(&format!("/contacts/{lead_id}"), json!({"name": "Lead 2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(receiver.next().await.topic(), "contact.lead.updated");

    sim.put(
        &format!("/contacts/{lead_id}"),
        json!({"email": "lead@example.com"}),
    )
    .send()
    .await
    .unwrap();
    let topics = [receiver.next().await, receiver.next().await];
    assert_eq!(topics[0].topic(), "contact.lead.updated");
    assert_eq!(topics[1].topic(), "contact.lead.added_email");

    let user = sim.create(json!({"email": "u@example.com"})).await;
    let user_id = user["id"].as_str().unwrap().to_string();
    assert_eq!(receiver.next().await.topic(), "contact.user.created");

    sim.put(
        &format!("/contacts/{user_id}"),
        json!({"email": "u2@example.com", "unsubscribed_from_emails": true}),
    )
    .send()
    .await
    .unwrap();
    let updated = receiver.next().await;
    assert_eq!(updated.topic(), "contact.user.updated");
    let email = receiver.next().await;
    assert_eq!(email.topic(), "contact.email.updated");
    let stamp = email.body["data"]["item"]["updated_at"].as_str().unwrap();
    assert!(
        stamp.ends_with(".000Z"),
        "contact.email.updated stamps {stamp}"
    );
    assert_eq!(receiver.next().await.topic(), "contact.unsubscribed");

    // An update that changes nothing sends nothing.
    sim.put(
        &format!("/contacts/{user_id}"),
        json!({"email": "u2@example.com"}),
    )
    .send()
    .await
    .unwrap();
    assert!(receiver.stays_quiet(Duration::from_millis(100)).await);

    sim.post("/contacts/merge", json!({"from": lead_id, "into": user_id}))
        .send()
        .await
        .unwrap();
    let merged = receiver.next().await;
    assert_eq!(merged.topic(), "contact.merged");
    assert_eq!(merged.body["data"]["item"]["id"], user_id.as_str());
    assert_eq!(
        merged.body["data"]["item"]["merged_from"],
        json!({"type": "contact", "id": lead_id})
    );

    sim.post(&format!("/contacts/{user_id}/archive"), json!({}))
        .send()
        .await
        .unwrap();
    let archived = receiver.next().await;
    assert_eq!(archived.topic(), "contact.archived");
    assert_eq!(
        archived.body["data"]["item"],
        json!({"id": user_id, "external_id": null, "type": "contact", "archived": true})
    );
    sim.post(&format!("/contacts/{user_id}/unarchive"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(receiver.next().await.topic(), "contact.unarchive");

    sim.delete(&format!("/contacts/{user_id}"))
        .send()
        .await
        .unwrap();
    let deleted = receiver.next().await;
    assert_eq!(deleted.topic(), "contact.deleted");
    assert_eq!(
        deleted.body["data"]["item"],
        json!({"id": user_id, "external_id": null, "type": "contact", "deleted": true})
    );
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn lead_to_user_signs_up() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;
    let lead = sim
        .create(json!({"role": "lead", "email": "su@example.com"}))
        .await;
    receiver.next().await;

    let response = sim
        .put(
            &format!("/contacts/{}", lead["id"].as_str().unwrap()),
            json!({"role": "user"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(receiver.next().await.topic(), "contact.lead.signed_up");

    let back = sim
        .put(
            &format!("/contacts/{}", lead["id"].as_str().unwrap()),
            json!({"role": "lead"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 400, "a user cannot become a lead");
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn failed_delivery_retried_once() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;

    receiver.answer_with(&[500]);
    sim.create(json!({"email": "retry@example.com"})).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.id(), second.id());
    assert_eq!(first.body["delivery_attempts"], 1);
    assert_eq!(second.body["delivery_attempts"], 2);
    assert_eq!(first.body["first_sent_at"], second.body["first_sent_at"]);
    assert!(verify(
        SECRET,
        &second.raw,
        second.signature.as_deref().unwrap()
    ));

    receiver.answer_with(&[503, 503]);
    sim.create(json!({"email": "lost@example.com"})).await;
    receiver.next().await;
    receiver.next().await;
    assert!(
        receiver.stays_quiet(Duration::from_millis(150)).await,
        "no third attempt"
    );

    let stats = sim.stats().await;
    assert_eq!(stats["webhooks"]["delivered"], 1);
    assert_eq!(stats["webhooks"]["retried"], 2);
    assert_eq!(stats["webhooks"]["failed"], 1);
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn slow_receiver_times_out() {
    let config = IntercomSimConfig {
        webhook_timeout: Duration::from_millis(100),
        webhook_retry_delay: Duration::from_millis(20),
        ..IntercomSimConfig::default()
    };
    let sim = Sim::start_with(config).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    // Accepts connections and never sends a response.
    let silent = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    sim.control("/_sim/webhooks", json!({"url": url})).await;

    sim.create(json!({"email": "slow@example.com"})).await;
    let mut failed = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        failed = sim.stats().await["webhooks"]["failed"].as_u64().unwrap();
        if failed == 1 {
            break;
        }
    }
    assert_eq!(failed, 1, "both attempts time out");
    silent.abort();
    sim.stop().await;
}

#[actix_web::test]
async fn gone_disables_subscription() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;

    receiver.answer_with(&[410]);
    sim.create(json!({"email": "gone@example.com"})).await;
    receiver.next().await;
    assert!(
        receiver.stays_quiet(Duration::from_millis(150)).await,
        "410 is not retried"
    );

    sim.create(json!({"email": "after@example.com"})).await;
    assert!(
        receiver.stays_quiet(Duration::from_millis(150)).await,
        "the subscription is disabled"
    );
    let subscriptions: Value = sim
        .http
        .get(sim.url("/_sim/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subscriptions["data"][0]["disabled"], true);
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn duplicate_knob_resends() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;
    sim.control("/_sim/faults", json!({"webhook_duplicate_rate": 1.0}))
        .await;

    sim.create(json!({"email": "twice@example.com"})).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.id(), second.id());
    let mut attempts = [
        first.body["delivery_attempts"].as_u64(),
        second.body["delivery_attempts"].as_u64(),
    ];
    attempts.sort();
    assert_eq!(attempts, [Some(1), Some(2)]);
    assert_eq!(sim.stats().await["webhooks"]["duplicated"], 1);
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn reorder_knob_swaps_pairs() {
    let config = IntercomSimConfig {
        webhook_concurrency: 1,
        ..fast_retries()
    };
    let sim = Sim::start_with(config).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;
    sim.control("/_sim/faults", json!({"webhook_reorder_rate": 1.0}))
        .await;

    let contact = sim
        .create(json!({"email": "order@example.com", "name": "A"}))
        .await;
    sim.put(
        &format!("/contacts/{}", contact["id"].as_str().unwrap()),
        json!({"name": "B"}),
    )
    .send()
    .await
    .unwrap();
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.topic(), "contact.user.updated");
    assert_eq!(second.topic(), "contact.user.created");

    // A held notification with no successor still goes out.
    sim.create(json!({"email": "alone@example.com"})).await;
    assert_eq!(receiver.next().await.topic(), "contact.user.created");
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn subscriptions_filter_and_ping() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    let response = sim
        .control(
            "/_sim/webhooks",
            json!({"url": receiver.url, "secret": "own-secret", "topics": ["contact.deleted"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let subscription: Value = response.json().await.unwrap();
    assert!(
        subscription.get("secret").is_none(),
        "the secret is not echoed"
    );

    let contact = sim.create(json!({"email": "filter@example.com"})).await;
    sim.delete(&format!("/contacts/{}", contact["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let delivery = receiver.next().await;
    assert_eq!(
        delivery.topic(),
        "contact.deleted",
        "created is filtered out"
    );
    assert!(verify(
        "own-secret",
        &delivery.raw,
        delivery.signature.as_deref().unwrap()
    ));

    let ping = sim
        .control(
            &format!("/_sim/webhooks/{}/ping", subscription["id"]),
            json!({}),
        )
        .await;
    assert_eq!(ping.status(), 202);
    let ping = receiver.next().await;
    assert_eq!(ping.topic(), "ping");
    assert_eq!(ping.body["data"]["item"]["type"], "ping");

    let invalid = sim
        .control("/_sim/webhooks", json!({"url": "ftp://example"}))
        .await;
    assert_eq!(invalid.status(), 400);
    receiver.stop().await;
    sim.stop().await;
}

#[actix_web::test]
async fn many_changes_all_delivered() {
    let sim = Sim::start_with(fast_retries()).await;
    let mut receiver = Receiver::start().await;
    subscribe(&sim, &receiver).await;

    let creates = (0..200).map(|n| sim.create(json!({"email": format!("bulk{n}@example.com")})));
    futures::future::join_all(creates).await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..200 {
        ids.insert(receiver.next().await.id().to_string());
    }
    assert_eq!(ids.len(), 200);
    assert_eq!(sim.stats().await["webhooks"]["queued"], 200);
    receiver.stop().await;
    sim.stop().await;
}
