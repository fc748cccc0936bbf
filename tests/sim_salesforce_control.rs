//! The control API and realism knobs: seeding, statistics, limits, injected faults, clock
//! offset, latency, and getUpdated/getDeleted windows.

mod sim_salesforce_common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use intersync::sim::people::{generate_people, split_people};
use intersync::sim::salesforce::SalesforceSimConfig;
use serde_json::{json, Value};
use sim_salesforce_common::{start, start_with, Session};

fn minute(moment: DateTime<Utc>) -> String {
    moment.format("%Y-%m-%dT%H:%M:00Z").to_string()
}

async fn replication(
    session: &Session,
    kind: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (u16, Value) {
    let query =
        serde_urlencoded::to_string([("start", minute(start)), ("end", minute(end))]).unwrap();
    let (status, _, body) = session
        .call("GET", &format!("/sobjects/Lead/{kind}/?{query}"), None)
        .await;
    (status, body)
}

#[actix_web::test]
async fn seed_matches_shared_people() {
    let session = start().await;
    let (status, counts) = session
        .control(
            "POST",
            "/seed",
            json!({ "people": 40, "overlap": 0.5, "seed": 42 }),
        )
        .await;
    assert_eq!(status, 200, "{counts}");
    let split = split_people(generate_people(40, 42), 0.5, 42).unwrap();
    let expected = split.salesforce_only.len() + split.both.len();
    let leads = counts["leads"].as_u64().unwrap();
    let contacts = counts["contacts"].as_u64().unwrap();
    assert_eq!((leads + contacts) as usize, expected);
    assert!(leads > contacts);

    // Every shared person is findable by email in Salesforce.
    for person in &split.both {
        let soql = format!("SELECT Id FROM Lead WHERE Email = '{}'", person.email);
        let (_, leads) = session.query(&soql).await;
        let soql = format!(
            "SELECT Id, AccountId FROM Contact WHERE Email = '{}'",
            person.email
        );
        let (_, contacts) = session.query(&soql).await;
        let found = leads["totalSize"].as_u64().unwrap() + contacts["totalSize"].as_u64().unwrap();
        assert_eq!(found, 1, "{}", person.email);
        if contacts["totalSize"] == 1 {
            assert!(contacts["records"][0]["AccountId"]
                .as_str()
                .unwrap()
                .starts_with("001"));
        }
    }

    let (_, stats) = session.control("GET", "/stats", Value::Null).await;
    assert_eq!(stats["records"]["Lead"]["live"], leads);
    assert_eq!(stats["records"]["Contact"]["live"], contacts);
    assert_eq!(stats["api_calls"]["query"], 2 * split.both.len() as u64);

    let (status, body) = session
        .control("POST", "/seed", json!({ "people": 5, "overlap": 2.0 }))
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("overlap"));
    let (status, _) = session.control("POST", "/reset", json!({})).await;
    assert_eq!(status, 200);
    let (_, stats) = session.control("GET", "/stats", Value::Null).await;
    assert_eq!(stats["records"]["Lead"]["live"], 0);
    session.sim.stop().await;
}

#[actix_web::test]
async fn daily_limit_enforced() {
    let config = SalesforceSimConfig {
        daily_api_limit: 3,
        ..SalesforceSimConfig::default()
    };
    let session = start_with(config).await;
    for used in 1..=3 {
        let (status, headers, _) = session.call("GET", "/limits", None).await;
        assert_eq!(status, 200);
        assert_eq!(
            headers["Sforce-Limit-Info"],
            format!("api-usage={used}/3").as_str()
        );
    }
    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        json!([{ "message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED" }])
    );

    session
        .control("POST", "/faults", json!({ "daily_api_limit": 10 }))
        .await;
    let (status, _, limits) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        limits["DailyApiRequests"],
        json!({ "Max": 10, "Remaining": 6 })
    );
    session.sim.stop().await;
}

#[actix_web::test]
async fn injected_faults_by_count() {
    let session = start().await;
    let (status, _) = session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [
                { "kind": "server_error", "count": 1 },
                { "kind": "service_unavailable", "count": 1 },
                { "kind": "request_limit_exceeded", "count": 1 },
                { "kind": "unable_to_lock_row", "count": 1, "endpoint": "sobject" },
            ]}),
        )
        .await;
    assert_eq!(status, 200);

    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 500);
    assert_eq!(body[0]["errorCode"], "UNKNOWN_EXCEPTION");
    let response = session
        .http
        .get(session.data_url("/limits"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(response.text().await.unwrap().starts_with("<html>"));
    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 403);
    assert_eq!(body[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");
    let (status, _, _) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 200, "the lock fault only applies to sobject calls");
    let (status, _, body) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "B" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "UNABLE_TO_LOCK_ROW");
    let (status, _, _) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "B" })),
        )
        .await;
    assert_eq!(status, 201, "counted faults are used up");

    let (_, stats) = session.control("GET", "/stats", Value::Null).await;
    assert_eq!(stats["faults_injected"], 4);
    session.sim.stop().await;
}

#[actix_web::test]
async fn lock_fault_fails_one_collection_record() {
    let session = start().await;
    session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "unable_to_lock_row", "count": 1 }] }),
        )
        .await;
    let body = json!({ "records": [
        { "attributes": { "type": "Lead" }, "LastName": "A", "Company": "B" },
        { "attributes": { "type": "Lead" }, "LastName": "C", "Company": "D" },
    ]});
    let (status, _, results) = session
        .call("POST", "/composite/sobjects", Some(body.clone()))
        .await;
    assert_eq!(status, 200);
    assert_eq!(results[0]["success"], false);
    assert_eq!(results[0]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    assert_eq!(results[1]["success"], true);

    session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "duplicates_detected", "count": 2 }] }),
        )
        .await;
    let (status, _, results) = session
        .call("POST", "/composite/sobjects", Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(results[0]["errors"][0]["statusCode"], "DUPLICATES_DETECTED");
    assert_eq!(
        results[0]["errors"][0]["duplicateResult"]["allowSave"],
        false
    );
    let (status, _, body) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "B" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "DUPLICATES_DETECTED");
    assert_eq!(body[0]["message"], "Use one of these records?");
    session.sim.stop().await;
}

#[actix_web::test]
async fn injected_faults_by_rate() {
    let session = start().await;
    session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "server_error", "rate": 1.0, "endpoint": "query" }] }),
        )
        .await;
    for _ in 0..3 {
        let (status, _) = session.query("SELECT Id FROM Lead").await;
        assert_eq!(status, 500);
    }
    session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "server_error", "rate": 0.0 }] }),
        )
        .await;
    let (status, _) = session.query("SELECT Id FROM Lead").await;
    assert_eq!(status, 200);

    let (status, body) = session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "server_error", "rate": 2.0 }] }),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("rate"));
    let (status, _) = session
        .control(
            "POST",
            "/faults",
            json!({ "errors": [{ "kind": "server_error" }] }),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = session
        .control("POST", "/faults", json!({ "latency": 5 }))
        .await;
    assert_eq!(status, 400, "unknown knobs are rejected");
    session.sim.stop().await;
}

#[actix_web::test]
async fn concurrency_cap_rejects_extra_calls() {
    let session = start().await;
    session
        .control(
            "POST",
            "/faults",
            json!({ "max_concurrent_calls": 1, "latency_ms": 200 }),
        )
        .await;
    let (first, second) = tokio::join!(
        session.call("GET", "/limits", None),
        session.call("GET", "/limits", None)
    );
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [200, 403]);
    let rejected = if first.0 == 403 { first.2 } else { second.2 };
    assert_eq!(rejected[0]["errorCode"], "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(
        rejected[0]["message"],
        "ConcurrentPerOrgLongTxn Limit exceeded."
    );

    let (status, knobs) = session
        .control(
            "POST",
            "/faults",
            json!({ "max_concurrent_calls": null, "latency_ms": 0 }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(knobs["max_concurrent_calls"], Value::Null);
    let (first, second) = tokio::join!(
        session.call("GET", "/limits", None),
        session.call("GET", "/limits", None)
    );
    assert_eq!((first.0, second.0), (200, 200));
    session.sim.stop().await;
}

#[actix_web::test]
async fn clock_offset_and_latency() {
    let session = start().await;
    session
        .control(
            "POST",
            "/faults",
            json!({ "clock_offset_ms": -3_600_000, "latency_ms": 30 }),
        )
        .await;
    let started = std::time::Instant::now();
    let id = session
        .create_lead(json!({ "LastName": "A", "Company": "B" }))
        .await;
    assert!(started.elapsed() >= Duration::from_millis(30));
    let (_, _, record) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    let stamp = DateTime::parse_from_str(
        record["SystemModstamp"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.3f%z",
    )
    .unwrap();
    let lag = Utc::now() - stamp.with_timezone(&Utc);
    assert!(
        lag > TimeDelta::minutes(59) && lag < TimeDelta::minutes(61),
        "lag {lag}"
    );
    session.sim.stop().await;
}

#[actix_web::test]
async fn get_updated_and_deleted() {
    let session = start().await;
    // Saves made two minutes in the past fall in a minute the window already covers.
    session
        .control("POST", "/faults", json!({ "clock_offset_ms": -120_000 }))
        .await;
    let now = Utc::now();
    let kept_id = session
        .create_lead(json!({ "LastName": "Kept", "Company": "B" }))
        .await;
    let deleted_id = session
        .create_lead(json!({ "LastName": "Gone", "Company": "B" }))
        .await;
    session
        .call("DELETE", &format!("/sobjects/Lead/{deleted_id}"), None)
        .await;

    let window_start = now - TimeDelta::minutes(5);
    let window_end = now + TimeDelta::minutes(5);
    session
        .control("POST", "/faults", json!({ "clock_offset_ms": 0 }))
        .await;
    let (status, body) = replication(&session, "updated", window_start, window_end).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ids"], json!([kept_id]));
    let covered = body["latestDateCovered"].as_str().unwrap();
    assert_eq!(
        covered,
        format!("{}.000+0000", Utc::now().format("%Y-%m-%dT%H:%M:00"))
    );
    let (status, body) = replication(&session, "deleted", window_start, window_end).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deletedRecords"][0]["id"], deleted_id);
    assert!(body["deletedRecords"][0]["deletedDate"]
        .as_str()
        .unwrap()
        .ends_with("+0000"));
    assert!(body["earliestDateAvailable"].is_string());

    // A save still waiting to commit pins latestDateCovered at its minute.
    session
        .control(
            "POST",
            "/faults",
            json!({ "clock_offset_ms": 0, "commit_delay_ms": 300 }),
        )
        .await;
    let pending = Utc::now();
    session
        .create_lead(json!({ "LastName": "Pending", "Company": "B" }))
        .await;
    session
        .control("POST", "/faults", json!({ "clock_offset_ms": 180_000 }))
        .await;
    let (_, body) = replication(&session, "updated", window_start, window_end).await;
    assert_eq!(
        body["latestDateCovered"],
        format!("{}.000+0000", pending.format("%Y-%m-%dT%H:%M:00"))
    );

    let cases = [
        (now, now - TimeDelta::minutes(1), "INVALID_REPLICATION_DATE"),
        (now - TimeDelta::days(31), now, "INVALID_REPLICATION_DATE"),
    ];
    for (start, end, code) in cases {
        let (status, body) = replication(&session, "updated", start, end).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body[0]["errorCode"], code);
    }
    let (status, body) = replication(&session, "deleted", now - TimeDelta::days(16), now).await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_REPLICATION_DATE");
    session.sim.stop().await;
}
