//! The Intercom simulator's REST API driven over HTTP: auth, contacts, search, merge, data
//! attributes, rate limits, injected faults, seeding and stats.

mod sim_intercom_support;

use std::time::Duration;

use intersync::sim::intercom::IntercomSimConfig;
use serde_json::{json, Value};
use sim_intercom_support::{keys, Sim, TOKEN};

/// The keys of a REST contact, as in Intercom's `GET /contacts/{id}` example (API 2.11).
const REST_CONTACT_KEYS: &[&str] = &[
    "type",
    "id",
    "workspace_id",
    "external_id",
    "role",
    "email",
    "phone",
    "name",
    "avatar",
    "owner_id",
    "social_profiles",
    "has_hard_bounced",
    "marked_email_as_spam",
    "unsubscribed_from_emails",
    "created_at",
    "updated_at",
    "signed_up_at",
    "last_seen_at",
    "last_replied_at",
    "last_contacted_at",
    "last_email_opened_at",
    "last_email_clicked_at",
    "language_override",
    "browser",
    "browser_version",
    "browser_language",
    "os",
    "location",
    "android_app_name",
    "android_app_version",
    "android_device",
    "android_os_version",
    "android_sdk_version",
    "android_last_seen_at",
    "ios_app_name",
    "ios_app_version",
    "ios_device",
    "ios_os_version",
    "ios_sdk_version",
    "ios_last_seen_at",
    "custom_attributes",
    "tags",
    "notes",
    "companies",
    "opted_out_subscription_types",
    "opted_in_subscription_types",
    "utm_campaign",
    "utm_content",
    "utm_medium",
    "utm_source",
    "utm_term",
    "referrer",
];

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    names.sort();
    names
}

fn error_code(body: &Value) -> &str {
    assert_eq!(body["type"], "error.list", "not an error envelope: {body}");
    body["errors"][0]["code"].as_str().unwrap_or_default()
}

#[actix_web::test]
async fn auth_rejects_missing_and_wrong_tokens() {
    let sim = Sim::start().await;

    let missing = sim.http.get(sim.url("/me")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers().get("X-RateLimit-Limit").is_none());
    let body: Value = missing.json().await.unwrap();
    assert_eq!(error_code(&body), "unauthorized");
    assert_eq!(body["errors"][0]["message"], "Access Token Invalid");
    assert!(body["request_id"].is_string());

    let wrong = sim
        .http
        .get(sim.url("/contacts"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let me = sim.get("/me").send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert!(me.headers().get("X-RateLimit-Limit").is_some());
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["type"], "admin");
    assert_eq!(body["app"]["id_code"], "intersim");

    let stats = sim.stats().await;
    assert_eq!(stats["rejected"]["unauthorized"], 2);
    assert_eq!(stats["api_calls"]["me"], 1);
    sim.stop().await;
}

#[actix_web::test]
async fn contact_crud_round_trip() {
    let sim = Sim::start().await;

    let created = sim
        .create(json!({"role": "user", "email": "Ana.Garcia@Example.com", "name": "Ana García", "external_id": "003A"}))
        .await;
    assert_eq!(keys(&created), sorted(REST_CONTACT_KEYS));
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(created["email"], "Ana.Garcia@Example.com");
    assert!(created["updated_at"].is_i64(), "updated_at is Unix seconds");
    assert!(created["created_at"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(created["tags"]["url"], format!("/contacts/{id}/tags"));

    let fetched: Value = sim
        .get(&format!("/contacts/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, created);

    let updated = sim
        .put(
            &format!("/contacts/{id}"),
            json!({"phone": "+49 30 1234", "name": null}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    assert!(updated.headers().get("X-RateLimit-Remaining").is_some());
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["phone"], "+49 30 1234");
    assert_eq!(updated["name"], Value::Null);
    assert_eq!(updated["email"], "Ana.Garcia@Example.com");

    let found: Value = sim
        .get("/contacts/find_by_external_id/003A")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["id"], id.as_str());

    let deleted = sim.delete(&format!("/contacts/{id}")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let deleted: Value = deleted.json().await.unwrap();
    assert_eq!(
        deleted,
        json!({"id": id, "external_id": "003A", "type": "contact", "deleted": true})
    );

    let gone = sim.get(&format!("/contacts/{id}")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let body: Value = gone.json().await.unwrap();
    assert_eq!(error_code(&body), "not_found");
    assert_eq!(body["errors"][0]["message"], "User Not Found");
    sim.stop().await;
}

#[actix_web::test]
async fn create_rejects_bad_input() {
    let sim = Sim::start().await;
    let cases = [
        (
            json!({"role": "admin", "email": "a@example.com"}),
            "parameter_invalid",
        ),
        (json!({"role": "user"}), "parameter_invalid"),
        (json!({"email": "not-an-email"}), "parameter_invalid"),
        (json!({"email": 42}), "parameter_invalid"),
    ];
    for (body, code) in cases {
        let response = sim.post("/contacts", body.clone()).send().await.unwrap();
        assert_eq!(response.status(), 400, "body {body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error_code(&error), code, "body {body}");
    }
    let broken = sim
        .http
        .post(sim.url("/contacts"))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    sim.stop().await;
}

#[actix_web::test]
async fn duplicates_answer_409() {
    let sim = Sim::start().await;
    let first = sim
        .create(json!({"email": "dup@example.com", "external_id": "x-1"}))
        .await;
    let id = first["id"].as_str().unwrap();

    for body in [
        json!({"email": "DUP@example.com"}),
        json!({"email": "other@example.com", "external_id": "x-1"}),
    ] {
        let response = sim.post("/contacts", body.clone()).send().await.unwrap();
        assert_eq!(response.status(), 409, "body {body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error_code(&error), "conflict");
        assert_eq!(
            error["errors"][0]["message"],
            format!("A contact matching those details already exists with id={id}")
        );
    }

    // Leads may share a user's email; that is what merging them resolves.
    let lead = sim
        .post(
            "/contacts",
            json!({"role": "lead", "email": "dup@example.com"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(lead.status(), 200);

    let second = sim.create(json!({"email": "second@example.com"})).await;
    let clash = sim
        .put(
            &format!("/contacts/{}", second["id"].as_str().unwrap()),
            json!({"email": "Dup@Example.com"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(clash.status(), 409);
    sim.stop().await;
}

#[actix_web::test]
async fn list_pages_with_cursor() {
    let sim = Sim::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let contact = sim
            .create(json!({"email": format!("p{n}@example.com")}))
            .await;
        ids.push(contact["id"].as_str().unwrap().to_string());
    }

    let mut seen = Vec::new();
    let mut path = "/contacts?per_page=2".to_string();
    for page in 1..=3 {
        let body: Value = sim.get(&path).send().await.unwrap().json().await.unwrap();
        assert_eq!(body["type"], "list");
        assert_eq!(body["total_count"], 5);
        assert_eq!(body["pages"]["type"], "pages");
        assert_eq!(body["pages"]["page"], page);
        assert_eq!(body["pages"]["per_page"], 2);
        assert_eq!(body["pages"]["total_pages"], 3);
        for contact in body["data"].as_array().unwrap() {
            seen.push(contact["id"].as_str().unwrap().to_string());
        }
        match body["pages"].get("next") {
            Some(next) => {
                assert_eq!(next["per_page"], 2);
                path = format!(
                    "/contacts?per_page=2&starting_after={}",
                    next["starting_after"].as_str().unwrap()
                );
            }
            None => assert_eq!(page, 3, "only the last page lacks next"),
        }
    }
    assert_eq!(seen, ids);

    let bad = sim
        .get("/contacts?starting_after=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let too_many = sim.get("/contacts?per_page=151").send().await.unwrap();
    assert_eq!(too_many.status(), 400);

    let empty = Sim::start().await;
    let body: Value = empty
        .get("/contacts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"type": "list", "data": [], "total_count": 0,
               "pages": {"type": "pages", "page": 1, "per_page": 50, "total_pages": 0}})
    );
    empty.stop().await;
    sim.stop().await;
}

async fn search_ids(sim: &Sim, body: Value) -> (u16, Value) {
    let response = sim.post("/contacts/search", body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn emails(body: &Value) -> Vec<String> {
    let mut emails: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap_or_default().to_string())
        .collect();
    emails.sort();
    emails
}

#[actix_web::test]
async fn search_filters_table() {
    let sim = Sim::start().await;
    sim.create(json!({"email": "Jose@Acme.io", "name": "José", "external_id": "e1"}))
        .await;
    sim.create(json!({"email": "zoe@acme.io", "name": "Zoë", "unsubscribed_from_emails": true}))
        .await;
    sim.create(json!({"role": "lead", "email": "lead@other.org", "name": "Lead"}))
        .await;

    let today = chrono::Utc::now().timestamp();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"field": "email", "operator": "=", "value": "jose@acme.io"}),
            vec!["Jose@Acme.io"],
        ),
        (
            json!({"field": "email_domain", "operator": "=", "value": "acme.io"}),
            vec!["Jose@Acme.io", "zoe@acme.io"],
        ),
        (
            json!({"field": "role", "operator": "=", "value": "lead"}),
            vec!["lead@other.org"],
        ),
        (
            json!({"field": "role", "operator": "!=", "value": "lead"}),
            vec!["Jose@Acme.io", "zoe@acme.io"],
        ),
        (
            json!({"field": "external_id", "operator": "IN", "value": ["e1", "e9"]}),
            vec!["Jose@Acme.io"],
        ),
        (
            json!({"field": "email", "operator": "^", "value": "zo"}),
            vec!["zoe@acme.io"],
        ),
        (
            json!({"field": "email", "operator": "$", "value": ".org"}),
            vec!["lead@other.org"],
        ),
        (
            json!({"field": "name", "operator": "~", "value": "é"}),
            vec!["Jose@Acme.io"],
        ),
        (
            json!({"field": "unsubscribed_from_emails", "operator": "=", "value": true}),
            vec!["zoe@acme.io"],
        ),
        (
            json!({"field": "updated_at", "operator": "=", "value": today}),
            vec!["Jose@Acme.io", "lead@other.org", "zoe@acme.io"],
        ),
        (
            json!({"field": "updated_at", "operator": ">", "value": today}),
            vec![],
        ),
        (
            json!({"field": "updated_at", "operator": ">", "value": today - 86_400}),
            vec!["Jose@Acme.io", "lead@other.org", "zoe@acme.io"],
        ),
        (
            json!({"operator": "AND", "value": [
            {"field": "role", "operator": "=", "value": "user"},
            {"operator": "OR", "value": [
                {"field": "name", "operator": "=", "value": "Zoë"},
                {"field": "external_id", "operator": "=", "value": "e1"}]}]}),
            vec!["Jose@Acme.io", "zoe@acme.io"],
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = search_ids(&sim, json!({"query": query})).await;
        assert_eq!(status, 200, "query {query}: {body}");
        assert_eq!(emails(&body), expected, "query {query}");
        assert_eq!(body["total_count"], expected.len(), "query {query}");
    }
    sim.stop().await;
}

#[actix_web::test]
async fn search_rejects_invalid_queries() {
    let sim = Sim::start().await;
    let leaf = json!({"field": "role", "operator": "=", "value": "user"});
    let cases = [
        json!({"query": {"field": "updated_at", "operator": ">=", "value": 1}}),
        json!({"query": {"field": "updated_at", "operator": "IN", "value": [1]}}),
        json!({"query": {"field": "nickname", "operator": "=", "value": "x"}}),
        json!({"query": {"field": "email", "operator": "LIKE", "value": "x"}}),
        json!({"query": {"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [leaf]}]}]}}),
        json!({"query": {"operator": "OR", "value": vec![leaf.clone(); 16]}}),
        json!({"query": leaf, "pagination": {"per_page": 500}}),
        json!({"pagination": {"per_page": 5}}),
    ];
    for body in cases {
        let (status, error) = search_ids(&sim, body.clone()).await;
        assert_eq!(status, 400, "body {body}");
        assert_eq!(error["type"], "error.list", "body {body}");
    }
    sim.stop().await;
}

#[actix_web::test]
async fn search_pages_and_sorts() {
    let sim = Sim::start().await;
    for name in ["b", "c", "a", "e", "d"] {
        sim.create(json!({"email": format!("{name}@example.com"), "name": name}))
            .await;
    }
    let mut names = Vec::new();
    let mut pagination = json!({"per_page": 2});
    for page in 1..=3 {
        let (status, body) = search_ids(
            &sim,
            json!({"query": {"field": "role", "operator": "=", "value": "user"},
                   "pagination": pagination,
                   "sort": {"field": "name", "order": "descending"}}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["pages"]["page"], page);
        assert_eq!(body["pages"]["total_pages"], 3);
        for contact in body["data"].as_array().unwrap() {
            names.push(contact["name"].as_str().unwrap().to_string());
        }
        match body["pages"].get("next") {
            Some(next) => {
                pagination = json!({"per_page": 2, "starting_after": next["starting_after"]})
            }
            None => assert_eq!(page, 3),
        }
    }
    assert_eq!(names, ["e", "d", "c", "b", "a"]);
    sim.stop().await;
}

#[actix_web::test]
async fn search_lags_by_index_delay() {
    let sim = Sim::start().await;
    let knobs = sim
        .control("/_sim/faults", json!({"search_index_delay_ms": 500}))
        .await;
    assert_eq!(knobs.status(), 200);
    let contact = sim
        .create(json!({"email": "late@example.com", "name": "Before"}))
        .await;
    let by_email =
        json!({"query": {"field": "email", "operator": "=", "value": "late@example.com"}});

    let (_, body) = search_ids(&sim, by_email.clone()).await;
    assert_eq!(
        body["total_count"], 0,
        "a new contact is not searchable at once"
    );
    let fetched = sim
        .get(&format!("/contacts/{}", contact["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200, "GET sees it at once");

    tokio::time::sleep(Duration::from_millis(550)).await;
    let (_, body) = search_ids(&sim, by_email.clone()).await;
    assert_eq!(body["total_count"], 1);

    sim.put(
        &format!("/contacts/{}", contact["id"].as_str().unwrap()),
        json!({"name": "After"}),
    )
    .send()
    .await
    .unwrap();
    let (_, body) = search_ids(&sim, by_email.clone()).await;
    assert_eq!(
        body["data"][0]["name"], "Before",
        "search shows the indexed version"
    );
    tokio::time::sleep(Duration::from_millis(550)).await;
    let (_, body) = search_ids(&sim, by_email.clone()).await;
    assert_eq!(body["data"][0]["name"], "After");

    sim.put(
        &format!("/contacts/{}", contact["id"].as_str().unwrap()),
        json!({"email": "moved@example.com"}),
    )
    .send()
    .await
    .unwrap();
    let by_new_email =
        json!({"query": {"field": "email", "operator": "=", "value": "moved@example.com"}});
    let (_, body) = search_ids(&sim, by_email.clone()).await;
    assert_eq!(
        body["total_count"], 1,
        "the old email still matches until indexed"
    );
    let (_, body) = search_ids(&sim, by_new_email.clone()).await;
    assert_eq!(body["total_count"], 0);
    tokio::time::sleep(Duration::from_millis(550)).await;
    let (_, body) = search_ids(&sim, by_email).await;
    assert_eq!(body["total_count"], 0);
    let (_, body) = search_ids(&sim, by_new_email).await;
    assert_eq!(body["total_count"], 1);
    sim.stop().await;
}

#[actix_web::test]
async fn search_dates_follow_workspace_zone() {
    let sim = Sim::start().await;
    sim.create(json!({"email": "tz@example.com", "signed_up_at": 1_700_000_000}))
        .await; // 2023-11-14T22:13:20Z
    let same_day =
        json!({"query": {"field": "signed_up_at", "operator": "=", "value": 1_699_920_000}}); // 2023-11-14T00:00Z

    let (_, body) = search_ids(&sim, same_day.clone()).await;
    assert_eq!(body["total_count"], 1, "same UTC day");
    sim.control("/_sim/faults", json!({"workspace_utc_offset_minutes": 120}))
        .await;
    let (_, body) = search_ids(&sim, same_day).await;
    assert_eq!(body["total_count"], 0, "the next day at UTC+2");
    sim.stop().await;
}

#[actix_web::test]
async fn merge_lead_into_user() {
    let sim = Sim::start().await;
    let lead = sim
        .create(json!({"role": "lead", "email": "m@example.com", "phone": "+1 555"}))
        .await;
    let user = sim
        .create(json!({"email": "m@example.com", "name": "Merged"}))
        .await;
    let (lead_id, user_id) = (lead["id"].as_str().unwrap(), user["id"].as_str().unwrap());

    let wrong_way = sim
        .post("/contacts/merge", json!({"from": user_id, "into": lead_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_way.status(), 400);
    let error: Value = wrong_way.json().await.unwrap();
    assert_eq!(error_code(&error), "invalid_merge");

    let merged = sim
        .post("/contacts/merge", json!({"from": lead_id, "into": user_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(merged.status(), 200);
    let merged: Value = merged.json().await.unwrap();
    assert_eq!(merged["id"], user_id);
    assert_eq!(merged["role"], "user");
    assert_eq!(
        merged["phone"], "+1 555",
        "empty user fields take the lead's values"
    );

    let old = sim
        .get(&format!("/contacts/{lead_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 404, "API 2.11 answers 404 for a merged lead");

    let newer = sim
        .http
        .get(sim.url(&format!("/contacts/{lead_id}")))
        .bearer_auth(TOKEN)
        .header("Intercom-Version", "2.16")
        .send()
        .await
        .unwrap();
    assert_eq!(newer.status(), 410);
    let link = newer
        .headers()
        .get("Link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        link.contains(&format!("/contacts/{user_id}")),
        "Link {link}"
    );
    let error: Value = newer.json().await.unwrap();
    assert_eq!(error_code(&error), "contact_merged");

    let list: Value = sim
        .get("/contacts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total_count"], 1, "merged leads leave the list");
    sim.stop().await;
}

#[actix_web::test]
async fn archive_hides_from_list() {
    let sim = Sim::start().await;
    let contact = sim
        .create(json!({"email": "arch@example.com", "external_id": "a1"}))
        .await;
    let id = contact["id"].as_str().unwrap();

    let archived: Value = sim
        .post(&format!("/contacts/{id}/archive"), json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        archived,
        json!({"id": id, "external_id": "a1", "type": "contact", "archived": true})
    );
    let list: Value = sim
        .get("/contacts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total_count"], 0);

    let restored: Value = sim
        .post(&format!("/contacts/{id}/unarchive"), json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(restored["archived"], false);
    let list: Value = sim
        .get("/contacts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total_count"], 1);

    let missing = sim
        .post("/contacts/ffffffffffffffffffffffff/archive", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    sim.stop().await;
}

#[actix_web::test]
async fn rate_limit_answers_429() {
    let config = IntercomSimConfig {
        rate_limit_per_window: 3,
        ..IntercomSimConfig::default()
    };
    let sim = Sim::start_with(config).await;
    for expected_remaining in [2, 1, 0] {
        let response = sim.get("/contacts").send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["X-RateLimit-Limit"], "3");
        assert_eq!(
            response.headers()["X-RateLimit-Remaining"],
            expected_remaining.to_string().as_str()
        );
    }
    let limited = sim.get("/contacts").send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["X-RateLimit-Remaining"], "0");
    let reset: i64 = limited.headers()["X-RateLimit-Reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        reset > now && reset <= now + 11,
        "reset {reset} within the 10-second window"
    );
    let error: Value = limited.json().await.unwrap();
    assert_eq!(error_code(&error), "rate_limit_exceeded");
    assert_eq!(
        error["errors"][0]["message"],
        "Exceeded rate limit of 3 in 10_seconds"
    );

    let raised = sim
        .control("/_sim/faults", json!({"rate_limit_per_window": 10}))
        .await;
    assert_eq!(raised.status(), 200);
    assert_eq!(sim.get("/contacts").send().await.unwrap().status(), 200);
    assert_eq!(sim.stats().await["rejected"]["rate_limited"], 1);
    sim.stop().await;
}

#[actix_web::test]
async fn injected_errors_by_count() {
    let sim = Sim::start().await;
    let knobs = sim
        .control(
            "/_sim/faults",
            json!({"error_count": 2, "error_status": 503}),
        )
        .await;
    assert_eq!(knobs.status(), 200);
    for _ in 0..2 {
        let response = sim.get("/contacts").send().await.unwrap();
        assert_eq!(response.status(), 503);
        assert!(response.headers().get("X-RateLimit-Limit").is_some());
        let error: Value = response.json().await.unwrap();
        assert_eq!(error_code(&error), "service_unavailable");
    }
    assert_eq!(sim.get("/contacts").send().await.unwrap().status(), 200);

    sim.control(
        "/_sim/faults",
        json!({"error_rate": 1.0, "error_status": 500}),
    )
    .await;
    let response = sim.get("/contacts").send().await.unwrap();
    assert_eq!(response.status(), 500);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error_code(&error), "server_error");

    let bad = sim
        .control("/_sim/faults", json!({"error_rate": 2.0}))
        .await;
    assert_eq!(bad.status(), 400);
    let unknown = sim.control("/_sim/faults", json!({"explode": true})).await;
    assert_eq!(unknown.status(), 400);
    assert_eq!(sim.stats().await["rejected"]["injected_errors"], 3);
    sim.stop().await;
}

#[actix_web::test]
async fn latency_knob_delays_answers() {
    let sim = Sim::start().await;
    sim.control("/_sim/faults", json!({"latency_ms": 120}))
        .await;
    let started = std::time::Instant::now();
    assert_eq!(sim.get("/contacts").send().await.unwrap().status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    sim.stop().await;
}

#[actix_web::test]
async fn data_attributes_create_and_enforce() {
    let sim = Sim::start().await;
    let list: Value = sim
        .get("/data_attributes?model=contact")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["type"], "list");
    let standard = list["data"].as_array().unwrap();
    assert!(standard
        .iter()
        .all(|a| a["model"] == "contact" && a["custom"] == false));
    assert!(standard.iter().any(|a| a["name"] == "email"));

    let created = sim
        .post("/data_attributes", json!({"name": "plan", "model": "contact", "data_type": "string", "options": [{"value": "free"}, {"value": "pro"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["full_name"], "custom_attributes.plan");
    assert_eq!(created["custom"], true);
    assert_eq!(created["options"], json!(["free", "pro"]));
    assert!(created["id"].is_u64());
    sim.post(
        "/data_attributes",
        json!({"name": "seats", "model": "contact", "data_type": "integer"}),
    )
    .send()
    .await
    .unwrap();

    let duplicate = sim
        .post(
            "/data_attributes",
            json!({"name": "Plan", "model": "contact", "data_type": "string"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 400);
    let bad_type = sim
        .post(
            "/data_attributes",
            json!({"name": "x", "model": "contact", "data_type": "money"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad_type.status(), 400);

    let ok = sim
        .create(
            json!({"email": "ca@example.com", "custom_attributes": {"plan": "pro", "seats": 3}}),
        )
        .await;
    assert_eq!(ok["custom_attributes"], json!({"plan": "pro", "seats": 3}));
    for attributes in [
        json!({"unknown": 1}),
        json!({"seats": "three"}),
        json!({"plan": "gold"}),
    ] {
        let response = sim
            .post(
                "/contacts",
                json!({"email": "cb@example.com", "custom_attributes": attributes}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "attributes {attributes}");
    }

    let archived = sim
        .put(
            &format!("/data_attributes/{}", created["id"]),
            json!({"archived": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(archived.status(), 200);
    let visible: Value = sim
        .get("/data_attributes?model=contact")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!visible["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "plan"));
    let all: Value = sim
        .get("/data_attributes?model=contact&include_archived=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(all["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "plan" && a["archived"] == true));
    sim.stop().await;
}

#[actix_web::test]
async fn seed_is_deterministic() {
    let first = Sim::start().await;
    let second = Sim::start().await;
    for sim in [&first, &second] {
        let response = sim
            .control(
                "/_sim/seed",
                json!({"people": 40, "overlap": 0.5, "seed": 42}),
            )
            .await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["created"], 30, "20 shared and 10 of the 20 others");
        assert_eq!(report["skipped"], 0);
    }
    let emails_of = |body: Value| -> Vec<String> {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["email"].as_str().unwrap().to_string())
            .collect()
    };
    let one = emails_of(
        first
            .get("/contacts?per_page=150")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    let two = emails_of(
        second
            .get("/contacts?per_page=150")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(one, two);
    assert!(
        one.iter()
            .any(|e| e.chars().any(|c| c.is_ascii_uppercase())),
        "mixed-case emails"
    );

    let stats = first.stats().await;
    let users = stats["contacts"]["user"].as_u64().unwrap();
    let leads = stats["contacts"]["lead"].as_u64().unwrap();
    assert_eq!(users + leads, 30);
    assert!(leads > 0);

    let bad = first
        .control("/_sim/seed", json!({"people": 5, "overlap": 1.5}))
        .await;
    assert_eq!(bad.status(), 400);
    first.stop().await;
    second.stop().await;
}

#[actix_web::test]
async fn reset_clears_state() {
    let sim = Sim::start().await;
    sim.create(json!({"email": "r@example.com"})).await;
    sim.control("/_sim/faults", json!({"latency_ms": 5})).await;
    let response = sim.control("/_sim/reset", json!({})).await;
    assert_eq!(response.status(), 204);

    let stats = sim.stats().await;
    assert_eq!(stats["contacts"]["user"], 0);
    assert_eq!(stats["api_calls"]["contacts.create"], 0);
    let faults: Value = sim
        .http
        .get(sim.url("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency_ms"], 0);
    sim.create(json!({"email": "r@example.com"})).await;
    sim.stop().await;
}

#[actix_web::test]
async fn stats_count_calls_by_kind() {
    let sim = Sim::start().await;
    let contact = sim.create(json!({"email": "s@example.com"})).await;
    sim.get(&format!("/contacts/{}", contact["id"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    sim.get("/contacts").send().await.unwrap();
    sim.post(
        "/contacts/search",
        json!({"query": {"field": "role", "operator": "=", "value": "user"}}),
    )
    .send()
    .await
    .unwrap();

    let stats = sim.stats().await;
    assert_eq!(stats["api_calls"]["contacts.create"], 1);
    assert_eq!(stats["api_calls"]["contacts.get"], 1);
    assert_eq!(stats["api_calls"]["contacts.list"], 1);
    assert_eq!(stats["api_calls"]["contacts.search"], 1);
    assert_eq!(stats["contacts"]["user"], 1);
    assert_eq!(stats["webhooks"]["delivered"], 0);
    sim.stop().await;
}

#[actix_web::test]
async fn unknown_route_uses_envelope() {
    let sim = Sim::start().await;
    let response = sim.get("/tickets").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error_code(&error), "not_found");
    sim.stop().await;
}
