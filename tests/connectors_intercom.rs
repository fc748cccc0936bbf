//! The Intercom connector against the Intercom simulator over loopback: contacts, search,
//! merge, data attributes, rate limits and retries.

use std::time::{Duration, Instant};

use intersync::connectors::intercom::{
    AttributeModel, ContactRole, ContactUpdate, IntercomClient, IntercomConfig, IntercomError,
    NewContact, NewDataAttribute, SearchFilter,
};
use intersync::connectors::{ErrorClass, RetryPolicy};
use intersync::sim::intercom::{IntercomSim, IntercomSimConfig, DEFAULT_ACCESS_TOKEN};
use serde_json::{json, Value};

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_elapsed: Duration::from_secs(5),
        max_rate_limit_wait: Duration::from_secs(3),
    }
}

fn client_for(sim: &IntercomSim) -> IntercomClient {
    let mut config = IntercomConfig::new(sim.base_url(), DEFAULT_ACCESS_TOKEN);
    config.timeout = Duration::from_secs(5);
    config.retry = fast_retries();
    IntercomClient::new(config).expect("build the client")
}

async fn start(config: IntercomSimConfig) -> (IntercomSim, IntercomClient) {
    let sim = IntercomSim::start(config)
        .await
        .expect("start the Intercom simulator");
    let client = client_for(&sim);
    (sim, client)
}

async fn control(sim: &IntercomSim, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/_sim{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "control call {path} failed: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn stats(sim: &IntercomSim) -> Value {
    reqwest::get(format!("{}/_sim/stats", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn user(email: &str, name: &str) -> NewContact {
    NewContact {
        role: Some(ContactRole::User),
        email: Some(email.to_owned()),
        name: Some(name.to_owned()),
        ..NewContact::default()
    }
}

#[actix_rt::test]
async fn me_reports_workspace() {
    let (sim, client) = start(IntercomSimConfig::default()).await;

    let me = client.me().await.unwrap();

    assert_eq!(me.kind, "admin");
    assert_eq!(
        me.app.as_ref().map(|a| a.id_code.as_str()),
        Some("intersim")
    );
    let status = client.rate_limit();
    assert!(
        status.limit.is_some() && status.remaining.is_some(),
        "{status:?}"
    );
    sim.stop().await;
}

#[actix_rt::test]
async fn contact_lifecycle() {
    let (sim, client) = start(IntercomSimConfig::default()).await;

    let created = client
        .create_contact(&user("ada@example.com", "Ada Lovelace"))
        .await
        .unwrap();
    assert_eq!(created.role, ContactRole::User);
    assert_eq!(created.email.as_deref(), Some("ada@example.com"));

    let update = ContactUpdate {
        phone: Some(Some("+44 20 1234".to_owned())),
        external_id: Some(Some("00Q000000000001AAA".to_owned())),
        ..ContactUpdate::default()
    };
    let updated = client.update_contact(&created.id, &update).await.unwrap();
    assert_eq!(updated.phone.as_deref(), Some("+44 20 1234"));
    assert_eq!(updated.external_id.as_deref(), Some("00Q000000000001AAA"));
    assert!(updated.updated_at >= created.updated_at);

    let cleared = client
        .update_contact(
            &created.id,
            &ContactUpdate {
                phone: Some(None),
                ..ContactUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.phone, None);
    assert_eq!(client.get_contact(&created.id).await.unwrap().phone, None);

    let found = client.find_by_email("ada@example.com").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);

    let duplicate = client
        .create_contact(&user("ada@example.com", "Ada again"))
        .await
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(409));
    assert!(
        matches!(duplicate.class(), ErrorClass::Permanent { ref code, .. } if code == "conflict"),
        "{duplicate}"
    );

    let archived = client.archive(&created.id).await.unwrap();
    assert!(archived.archived);
    let deleted = client.delete_contact(&created.id).await.unwrap();
    assert!(deleted.deleted);
    let gone = client.get_contact(&created.id).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    sim.stop().await;
}

#[actix_rt::test]
async fn merge_lead_into_user() {
    let (sim, client) = start(IntercomSimConfig::default()).await;
    let lead = client
        .create_contact(&NewContact {
            role: Some(ContactRole::Lead),
            email: Some("grace@example.com".to_owned()),
            ..NewContact::default()
        })
        .await
        .unwrap();
    let target = client
        .create_contact(&user("grace.hopper@example.com", "Grace Hopper"))
        .await
        .unwrap();

    let merged = client.merge(&lead.id, &target.id).await.unwrap();

    assert_eq!(merged.id, target.id);
    assert_eq!(merged.role, ContactRole::User);
    let old = client.get_contact(&lead.id).await.unwrap_err();
    assert!(old.is_not_found(), "{old}");
    sim.stop().await;
}

#[actix_rt::test]
async fn search_pages_through_results() {
    let (sim, client) = start(IntercomSimConfig::default()).await;
    for i in 0..23 {
        client
            .create_contact(&user(&format!("page{i}@example.com"), "Paged"))
            .await
            .unwrap();
    }

    let mut search = client.search_contacts(&SearchFilter::equals("name", "Paged"), 10);
    let mut sizes = Vec::new();
    let mut ids = std::collections::HashSet::new();
    while let Some(page) = search.next_page().await.unwrap() {
        assert_eq!(page.total_count, 23);
        sizes.push(page.data.len());
        ids.extend(page.data.into_iter().map(|c| c.id));
    }

    assert_eq!(sizes, [10, 10, 3]);
    assert_eq!(ids.len(), 23);
    sim.stop().await;
}

#[actix_rt::test]
async fn data_attribute_created_with_options() {
    let (sim, client) = start(IntercomSimConfig::default()).await;

    let created = client
        .create_data_attribute(&NewDataAttribute {
            name: "plan".to_owned(),
            model: AttributeModel::Contact,
            data_type: "string".to_owned(),
            description: Some("Billing plan".to_owned()),
            options: vec!["Free".to_owned(), "Pro".to_owned()],
            messenger_writable: None,
        })
        .await
        .unwrap();
    assert_eq!(created.full_name, "custom_attributes.plan");
    assert!(created.custom);

    let listed = client
        .list_data_attributes(AttributeModel::Contact, false)
        .await
        .unwrap();
    let plan = listed
        .iter()
        .find(|a| a.name == "plan")
        .expect("plan listed");
    assert_eq!(plan.option_values(), ["Free", "Pro"]);
    assert!(listed.iter().all(|a| a.model == AttributeModel::Contact));
    sim.stop().await;
}

#[actix_rt::test]
async fn rate_limit_429_waits_for_reset() {
    let config = IntercomSimConfig {
        rate_limit_per_window: 2,
        rate_limit_window: Duration::from_millis(800),
        ..IntercomSimConfig::default()
    };
    let (sim, first) = start(config).await;
    first.me().await.unwrap();
    first.me().await.unwrap();

    // A second client has not seen the headers, so it meets the 429 itself.
    let second = client_for(&sim);
    let started = Instant::now();
    second.me().await.expect("succeeds after the window resets");

    assert_eq!(stats(&sim).await["rejected"]["rate_limited"], 1);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "waited {:?}",
        started.elapsed()
    );
    sim.stop().await;
}

#[actix_rt::test]
async fn rate_limit_headers_avoid_429() {
    let config = IntercomSimConfig {
        rate_limit_per_window: 2,
        rate_limit_window: Duration::from_millis(800),
        ..IntercomSimConfig::default()
    };
    let (sim, client) = start(config).await;

    for _ in 0..4 {
        client.me().await.unwrap();
    }

    assert_eq!(stats(&sim).await["rejected"]["rate_limited"], 0);
    sim.stop().await;
}

#[actix_rt::test]
async fn distant_reset_surfaced_as_rate_limited() {
    let config = IntercomSimConfig {
        rate_limit_per_window: 1,
        rate_limit_window: Duration::from_secs(60),
        ..IntercomSimConfig::default()
    };
    let (sim, first) = start(config).await;
    first.me().await.unwrap();
    let second = client_for(&sim);

    let refused = second.me().await.unwrap_err();
    let ErrorClass::RateLimited {
        retry_after: Some(wait),
    } = refused.class()
    else {
        panic!("expected rate-limited with a wait, got {refused}");
    };
    assert!(wait > Duration::from_secs(30), "wait {wait:?}");

    let held_back = first.me().await.unwrap_err();
    assert!(
        matches!(held_back, IntercomError::RateLimitWait { .. }),
        "{held_back}"
    );
    assert_eq!(
        stats(&sim).await["rejected"]["rate_limited"],
        1,
        "no request sent into a used-up window"
    );
    sim.stop().await;
}

#[actix_rt::test]
async fn injected_503_retried() {
    let (sim, client) = start(IntercomSimConfig::default()).await;
    let created = client
        .create_contact(&user("retry@example.com", "Retry"))
        .await
        .unwrap();
    control(
        &sim,
        "/faults",
        json!({ "error_count": 2, "error_status": 503 }),
    )
    .await;

    let fetched = client
        .get_contact(&created.id)
        .await
        .expect("succeeds after retries");

    assert_eq!(fetched.id, created.id);
    assert_eq!(stats(&sim).await["rejected"]["injected_errors"], 2);
    sim.stop().await;
}

#[actix_rt::test]
async fn create_not_retried_after_500() {
    let (sim, client) = start(IntercomSimConfig::default()).await;
    control(
        &sim,
        "/faults",
        json!({ "error_count": 3, "error_status": 500 }),
    )
    .await;

    let error = client
        .create_contact(&user("once@example.com", "Once"))
        .await
        .unwrap_err();

    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    assert_eq!(
        stats(&sim).await["rejected"]["injected_errors"],
        1,
        "a create that may have applied is sent once"
    );
    sim.stop().await;
}

#[actix_rt::test]
async fn wrong_token_needs_reauthorization() {
    let sim = IntercomSim::start(IntercomSimConfig::default())
        .await
        .unwrap();
    let mut config = IntercomConfig::new(sim.base_url(), "not-the-token");
    config.retry = fast_retries();
    let client = IntercomClient::new(config).unwrap();

    let error = client.me().await.unwrap_err();

    assert_eq!(error.class(), ErrorClass::NeedsReauthorization, "{error}");
    assert_eq!(error.code(), Some("unauthorized"));
    assert_eq!(stats(&sim).await["rejected"]["unauthorized"], 1);
    sim.stop().await;
}

#[actix_rt::test]
async fn list_contacts_by_cursor() {
    let (sim, client) = start(IntercomSimConfig::default()).await;
    for i in 0..7 {
        client
            .create_contact(&user(&format!("list{i}@example.com"), "Listed"))
            .await
            .unwrap();
    }

    let first = client.list_contacts(5, None).await.unwrap();
    let cursor = first.next_cursor().expect("a second page").to_owned();
    let second = client.list_contacts(5, Some(&cursor)).await.unwrap();

    assert_eq!(first.data.len(), 5);
    assert_eq!(second.data.len(), 2);
    assert_eq!(second.next_cursor(), None);
    assert!(first
        .data
        .iter()
        .all(|a| second.data.iter().all(|b| a.id != b.id)));
    sim.stop().await;
}
