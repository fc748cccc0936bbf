//! `GET /status` and `GET /metrics` of a running server, healthy and unhealthy.

mod common;

use chrono::DateTime;
use common::{authorize_server, metric_value, start, wait_for, Harness};
use serde_json::{json, Value};

/// Starts a sandbox and runs a healthcheck, so `/status` contains its findings.
async fn start_checked() -> Harness {
    let harness = start().await;
    harness.healthcheck().await;
    harness
}

/// Starts a sandbox whose Salesforce org passes the healthcheck.
async fn start_healthy() -> Harness {
    let harness = start().await;
    harness
        .sf_patch_field("Task", "Type", json!({"hidden": false}))
        .await;
    let report = harness.healthcheck().await;
    assert_eq!(report["healthy"], true, "report: {report}");
    harness
}

/// Returns the findings other than the simulator's missing `Task.Type`.
fn findings_beyond_task(status: &Value) -> Vec<Value> {
    status["problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|problem| problem["object"] != "Task")
        .cloned()
        .collect()
}

fn finding<'a>(status: &'a Value, kind: &str, object: &str) -> Option<&'a Value> {
    status["problems"]
        .as_array()?
        .iter()
        .find(|problem| problem["kind"] == kind && problem["object"] == object)
}

#[actix_rt::test]
async fn status_healthy_answers_200() {
    let harness = start_healthy().await;

    let (code, status) = harness.status().await;

    assert_eq!(code, 200, "status: {status}");
    assert_eq!(status["healthy"], true);
    assert_eq!(status["problems"], json!([]));
    harness.stop().await;
}

#[actix_rt::test]
async fn status_has_every_field() {
    let harness = start_checked().await;
    harness.mapped_pair("status@example.com").await;
    harness.poll().await;

    let (code, status) = harness.status().await;

    let healthy = status["healthy"].as_bool().expect("healthy is a bool");
    assert_eq!(code, if healthy { 200 } else { 503 }, "status: {status}");
    assert!(status["problems"].is_array(), "status: {status}");
    assert_eq!(findings_beyond_task(&status), Vec::<Value>::new());
    assert_eq!(status["connection"], "connected");
    assert_eq!(status["mappings"], 1);
    assert_eq!(
        status["people"], 1,
        "the mapping is the only tracked person"
    );
    assert_eq!(status["inbox_depth"], 0);
    assert_eq!(status["pending_writes"], 0);
    assert_eq!(status["sync_errors"], 0);
    let last_poll = status["last_poll_at"].as_str().expect("last_poll_at");
    assert!(
        DateTime::parse_from_rfc3339(last_poll).is_ok(),
        "last_poll_at {last_poll:?} is not RFC 3339"
    );
    let lag = status["poll_lag_seconds"]
        .as_f64()
        .expect("poll_lag_seconds");
    assert!((0.0..10.0).contains(&lag), "poll_lag_seconds {lag}");
    let used = status["api_usage"]["used"]
        .as_u64()
        .expect("api_usage.used");
    let max = status["api_usage"]["max"].as_u64().expect("api_usage.max");
    assert!(used > 0, "api_usage {used}/{max}");
    assert!(used < max, "api_usage {used}/{max}");
    let text = status.to_string();
    assert!(!text.contains(harness.sandbox.config.intercom.access_token.expose()));
    assert!(!text.contains(harness.sandbox.config.salesforce.client_secret.expose()));
    assert!(
        !text.contains("status@example.com"),
        "a person's email in /status"
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn poll_advances_last_poll_time() {
    let harness = start_checked().await;
    let (_, before) = harness.status().await;
    assert_eq!(
        before["last_poll_at"].is_null(),
        before["poll_lag_seconds"].is_null(),
        "last_poll_at and poll_lag_seconds disagree: {before}"
    );
    let earlier = before["last_poll_at"]
        .as_str()
        .map(|time| DateTime::parse_from_rfc3339(time).expect("RFC 3339"));
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    harness.poll().await;

    let (_, after) = harness.status().await;
    let later = DateTime::parse_from_rfc3339(after["last_poll_at"].as_str().expect("last_poll_at"))
        .expect("RFC 3339");
    if let Some(earlier) = earlier {
        assert!(
            later > earlier,
            "last_poll_at did not advance: {before} -> {after}"
        );
    }
    let lag = after["poll_lag_seconds"]
        .as_f64()
        .expect("poll_lag_seconds");
    assert!(lag < 5.0, "poll_lag_seconds {lag} right after a poll");
    harness.stop().await;
}

#[actix_rt::test]
async fn hidden_field_makes_status_unhealthy() {
    let harness = start_checked().await;
    harness
        .sf_patch_field("Lead", "Company", json!({"hidden": true}))
        .await;

    let report = harness.healthcheck().await;
    let (code, status) = harness.status().await;

    assert_eq!(report["healthy"], false, "report: {report}");
    assert_eq!(code, 503, "status: {status}");
    assert_eq!(status["healthy"], false);
    let problem = finding(&status, "missing_or_hidden", "Lead").expect("a Lead finding");
    assert_eq!(problem["fields"], json!(["Company"]), "problem: {problem}");
    assert!(
        problem["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Company"),
        "problem: {problem}"
    );
    assert_eq!(status["connection"], "connected");

    harness
        .sf_patch_field("Lead", "Company", json!({"hidden": false}))
        .await;
    harness.healthcheck().await;
    let (_, status) = harness.status().await;
    assert!(
        finding(&status, "missing_or_hidden", "Lead").is_none(),
        "the Lead finding stayed after the fix: {status}"
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn unfilterable_field_is_reported() {
    let harness = start_checked().await;
    harness
        .sf_patch_field("Lead", "Email", json!({"filterable": false}))
        .await;

    harness.healthcheck().await;
    let (code, status) = harness.status().await;

    assert_eq!(code, 503, "status: {status}");
    let problem = finding(&status, "not_filterable", "Lead").expect("a not_filterable finding");
    assert_eq!(problem["fields"], json!(["Email"]), "problem: {problem}");
    harness.stop().await;
}

#[actix_rt::test]
async fn required_field_not_sent_is_reported() {
    let harness = start_checked().await;
    harness
        .sf_patch_field("Lead", "Industry", json!({"required": true}))
        .await;

    harness.healthcheck().await;
    let (code, status) = harness.status().await;

    assert_eq!(code, 503, "status: {status}");
    let problem =
        finding(&status, "required_not_sent", "Lead").expect("a required_not_sent finding");
    assert_eq!(problem["fields"], json!(["Industry"]), "problem: {problem}");
    harness.stop().await;
}

#[actix_rt::test]
async fn revoked_token_needs_reauthorization() {
    let harness = start_checked().await;
    let response = harness
        .http()
        .post(format!(
            "{}/_sim/oauth/revoke",
            harness.sandbox.salesforce.login_url()
        ))
        .send()
        .await
        .expect("call the revoke endpoint");
    assert!(response.status().is_success());

    let _ = harness
        .http()
        .post(format!("{}/actions/poll", harness.server_url()))
        .send()
        .await;
    let status = wait_for("connection needs_reauthorization", || async {
        let (code, status) = harness.status().await;
        if status["connection"] == "needs_reauthorization" {
            Ok((code, status))
        } else {
            Err(status)
        }
    })
    .await;

    assert_eq!(status.0, 503, "status: {}", status.1);
    assert_eq!(status.1["healthy"], false);

    authorize_server(harness.http(), &harness.server_url()).await;
    harness.poll().await;
    let (_, status) = harness.status().await;
    assert_eq!(status["connection"], "connected", "status: {status}");
    assert_eq!(findings_beyond_task(&status), Vec::<Value>::new());
    harness.stop().await;
}

#[actix_rt::test]
async fn revoked_token_pauses_writes_without_loss() {
    let mut harness = start_checked().await;
    let (contact, lead) = harness.mapped_pair("paused@example.com").await;
    let response = harness
        .http()
        .post(format!(
            "{}/_sim/oauth/revoke",
            harness.sandbox.salesforce.login_url()
        ))
        .send()
        .await
        .expect("call the revoke endpoint");
    assert!(response.status().is_success());

    harness
        .ic_update(&contact, json!({"phone": "+1 555 0777"}))
        .await;
    wait_for("connection needs_reauthorization", || async {
        let (_, status) = harness.status().await;
        if status["connection"] == "needs_reauthorization" {
            Ok(())
        } else {
            Err(status)
        }
    })
    .await;
    authorize_server(harness.http(), &harness.server_url()).await;
    harness.renew_sf_session().await;

    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0777"))
        .await;
    harness.wait_inbox_empty().await;
    let (_, status) = harness.status().await;
    assert_eq!(status["sync_errors"], 0, "status: {status}");
    harness.stop().await;
}

#[actix_rt::test]
async fn metrics_count_sync_work() {
    let harness = start_checked().await;
    let (contact, lead) = harness.mapped_pair("metrics@example.com").await;
    harness
        .ic_update(&contact, json!({"phone": "+1 555 0600"}))
        .await;
    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0600"))
        .await;
    harness
        .sf_update("Lead", &lead, json!({"Title": "Director"}))
        .await;
    harness.poll().await;
    harness
        .wait_ic_field(&contact, "/custom_attributes/job_title", json!("Director"))
        .await;
    harness.wait_inbox_empty().await;

    let response = harness
        .http()
        .get(format!("{}/metrics", harness.server_url()))
        .send()
        .await
        .expect("call GET /metrics");
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("a text body");

    assert!(content_type.contains("openmetrics-text"), "{content_type}");
    assert!(text.trim_end().ends_with("# EOF"), "no # EOF terminator");
    let expect_positive = [
        r#"intersync_webhooks_received_total{topic="contact.user.created"}"#,
        r#"intersync_webhooks_received_total{topic="contact.user.updated"}"#,
        r#"intersync_webhooks_applied_total{topic="contact.user.updated"}"#,
        r#"intersync_writes_total{system="salesforce",object="Lead",outcome="success"}"#,
        r#"intersync_api_calls_total{system="salesforce"}"#,
        r#"intersync_api_calls_total{system="intercom"}"#,
        "intersync_poll_duration_seconds_count",
        r#"intersync_sync_lag_seconds_count{direction="intercom_to_salesforce"}"#,
        r#"intersync_sync_lag_seconds_count{direction="salesforce_to_intercom"}"#,
        "intersync_inbox_pushed_total",
        "intersync_inbox_popped_total",
    ];
    for series in expect_positive {
        assert!(
            metric_value(&text, series) > 0.0,
            "{series} is not positive:\n{text}"
        );
    }
    let intercom_writes: f64 = text
        .lines()
        .filter(|line| line.starts_with(r#"intersync_writes_total{system="intercom""#))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert!(intercom_writes > 0.0, "no Intercom write counted:\n{text}");
    for private in [contact.as_str(), lead.as_str(), "metrics@example.com"] {
        assert!(
            !text.contains(private),
            "a per-person label {private} in /metrics"
        );
    }
    harness.stop().await;
}

#[actix_rt::test]
async fn spent_api_budget_pauses_salesforce_calls() {
    let harness = common::start_with(|options| {
        options.salesforce.daily_api_limit = 40;
        options.configure = |config| config.salesforce.api_budget_share = 0.1;
    })
    .await;
    harness.healthcheck().await;

    let poller = harness.server_url();
    let http = reqwest::Client::new();
    let poll =
        actix_rt::spawn(async move { http.post(format!("{poller}/actions/poll")).send().await });

    let status = common::wait_for("the connection to report the spent budget", || async {
        let (code, status) = harness.status().await;
        if status["connection"] == "api_limit_reached" {
            Ok((code, status))
        } else {
            Err(status)
        }
    })
    .await;
    assert_eq!(status.0, 503, "status: {}", status.1);
    let detail = status.1["connection_detail"].as_str().unwrap_or_default();
    assert!(detail.contains("of 40 daily API requests used"), "{detail}");
    assert!(
        !poll.is_finished(),
        "the poll went on past the spent budget"
    );
    poll.abort();
    harness.stop().await;
}
