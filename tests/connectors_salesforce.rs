//! The Salesforce connector against the Salesforce simulator over loopback: token refresh,
//! re-authorization, retries, the API allowance, paging, collections and composite queries.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use intersync::connectors::salesforce::{
    CredentialStore, CredentialStoreError, MemoryCredentialStore, QueryScope, RecordUpdate,
    SalesforceClient, SalesforceConfig, SalesforceError, SalesforceTokens,
};
use intersync::connectors::{ErrorClass, RetryPolicy};
use intersync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use reqwest::header::LOCATION;
use serde_json::{json, Map, Value};
use tracing_subscriber::fmt::MakeWriter;

const REDIRECT_URI: &str = "http://127.0.0.1:1/callback";
const CLIENT_ID: &str = "sim-client-id";
const CLIENT_SECRET: &str = "sim-client-secret";

/// A simulator with a connector authorized through the OAuth web flow.
struct Org {
    sim: SalesforceSim,
    client: SalesforceClient,
    store: Arc<MemoryCredentialStore>,
    http: reqwest::Client,
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_elapsed: Duration::from_secs(5),
        max_rate_limit_wait: Duration::from_millis(200),
    }
}

fn connector_config(sim: &SalesforceSim) -> SalesforceConfig {
    let mut config = SalesforceConfig::new(sim.login_url(), CLIENT_ID, CLIENT_SECRET);
    config.timeout = Duration::from_secs(5);
    config.retry = fast_retries();
    config
}

async fn start_org(sim_config: SalesforceSimConfig) -> Org {
    let sim = SalesforceSim::start(sim_config)
        .await
        .expect("start the Salesforce simulator");
    let config = connector_config(&sim);
    start_org_with(sim, config).await
}

async fn start_org_with(sim: SalesforceSim, config: SalesforceConfig) -> Org {
    let store = Arc::new(MemoryCredentialStore::default());
    let client = SalesforceClient::new(config, store.clone()).expect("build the client");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let code = authorization_code(&http, &sim.login_url()).await;
    client
        .exchange_code(&code, REDIRECT_URI)
        .await
        .expect("exchange the code");
    Org {
        sim,
        client,
        store,
        http,
    }
}

/// Runs the authorize redirect of the OAuth web flow and returns the code.
async fn authorization_code(http: &reqwest::Client, login_url: &str) -> String {
    let response = http
        .get(format!("{login_url}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let query = location.split_once('?').expect("redirect with a query").1;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    params
        .into_iter()
        .find(|(name, _)| name == "code")
        .expect("code parameter")
        .1
}

impl Org {
    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/_sim{path}", self.sim.login_url()))
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

    async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_sim/stats", self.sim.login_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn calls(&self, kind: &str) -> u64 {
        self.stats().await["api_calls"][kind].as_u64().unwrap_or(0)
    }
}

fn lead(last_name: &str, email: &str) -> Map<String, Value> {
    let fields = json!({ "LastName": last_name, "Company": "Acme", "Email": email });
    fields.as_object().unwrap().clone()
}

/// Log lines captured from the current thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (logs, guard)
}

#[actix_rt::test]
async fn exchange_code_stores_tokens() {
    let org = start_org(SalesforceSimConfig::default()).await;

    let tokens = org.store.load().unwrap().expect("tokens saved");

    assert_eq!(tokens.instance_url, org.sim.instance_url());
    assert_ne!(tokens.instance_url, org.sim.login_url());
    assert!(!tokens.access_token.expose().is_empty());
    assert!(!tokens.refresh_token.expose().is_empty());
    let debug = format!("{tokens:?}");
    assert!(!debug.contains(tokens.access_token.expose()), "{debug}");
    assert!(!debug.contains(tokens.refresh_token.expose()), "{debug}");
}

#[actix_rt::test]
async fn crud_and_usage_header() {
    let org = start_org(SalesforceSimConfig::default()).await;
    assert_eq!(org.client.api_usage(), None);

    let id = org
        .client
        .create("Lead", &lead("Lovelace", "ada@example.com"))
        .await
        .unwrap();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("00Q"));

    let mut change = Map::new();
    change.insert("Phone".to_owned(), json!("+44 20 1234"));
    org.client.update("Lead", &id[..15], &change).await.unwrap();
    let record = org
        .client
        .get("Lead", &id, Some(&["Id", "Phone", "Email"]))
        .await
        .unwrap();
    assert_eq!(record.id, id);
    assert_eq!(record.object, "Lead");
    assert_eq!(record.get_str("Phone"), Some("+44 20 1234"));

    org.client.delete("Lead", &id).await.unwrap();
    let gone = org.client.get("Lead", &id, None).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
    assert!(
        matches!(gone.class(), ErrorClass::Permanent { .. }),
        "{gone}"
    );

    let usage = org
        .client
        .api_usage()
        .expect("usage read from Sforce-Limit-Info");
    assert_eq!(usage.max, 100_000);
    assert!(usage.used >= 5, "usage {usage:?}");
    assert_eq!(org.client.usage_meter().get(), Some(usage));
}

#[actix_rt::test]
async fn token_expiry_mid_run_refreshes_once() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.control("/faults", json!({ "access_token_ttl_ms": 150 }))
        .await;
    // The token from the code exchange was issued with the old lifetime; refresh it once by
    // letting the connector see it expire.
    org.control(
        "/oauth/revoke",
        json!({ "token": org.store.load().unwrap().unwrap().access_token.expose() }),
    )
    .await;
    org.client
        .query("SELECT Id FROM Lead")
        .await
        .expect("query after a refresh");
    let oauth_before = org.calls("oauth").await;

    tokio::time::sleep(Duration::from_millis(200)).await;
    let records = org
        .client
        .query("SELECT Id FROM Lead")
        .await
        .expect("query after expiry");
    org.client.limits().await.expect("limits after expiry");

    assert!(records.is_empty());
    assert_eq!(
        org.calls("oauth").await - oauth_before,
        1,
        "exactly one refresh"
    );
    let tokens = org.store.load().unwrap().unwrap();
    assert!(tokens.issued_at > chrono::Utc::now() - chrono::Duration::seconds(5));
}

#[actix_rt::test]
async fn concurrent_calls_share_one_refresh() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let token = org.store.load().unwrap().unwrap().access_token;
    org.control("/oauth/revoke", json!({ "token": token.expose() }))
        .await;
    let oauth_before = org.calls("oauth").await;

    let calls: Vec<_> = (0..8)
        .map(|i| {
            let client = org.client.clone();
            async move {
                client
                    .query(&format!("SELECT Id FROM Lead WHERE LastName = 'N{i}'"))
                    .await
            }
        })
        .collect();
    let results = futures::future::join_all(calls).await;

    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    assert_eq!(
        org.calls("oauth").await - oauth_before,
        1,
        "exactly one refresh request"
    );
    assert_ne!(org.store.load().unwrap().unwrap().access_token, token);
}

#[actix_rt::test]
async fn revoked_grant_needs_reauthorization() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let (logs, _guard) = capture_logs();
    org.control("/oauth/revoke", json!({})).await;
    let oauth_before = org.calls("oauth").await;

    let error = org.client.query("SELECT Id FROM Lead").await.unwrap_err();
    assert_eq!(error.class(), ErrorClass::NeedsReauthorization, "{error}");
    assert_eq!(error.code(), Some("invalid_grant"));
    for _ in 0..5 {
        let again = org.client.query("SELECT Id FROM Lead").await.unwrap_err();
        assert!(
            matches!(again, SalesforceError::NeedsReauthorization { .. }),
            "{again}"
        );
    }

    assert_eq!(
        org.calls("oauth").await - oauth_before,
        1,
        "one refresh attempt, no storm"
    );
    let text = logs.text();
    assert_eq!(
        text.matches("Sending a Salesforce request").count(),
        1,
        "{text}"
    );
    assert!(text.contains("needs re-authorization"), "{text}");
    assert!(!text.contains("Retrying"), "{text}");

    let reason = org
        .client
        .reauthorization_reason()
        .expect("reason kept for the status endpoint");
    assert!(reason.contains("invalid_grant"), "{reason}");

    let code = authorization_code(&org.http, &org.sim.login_url()).await;
    org.client.exchange_code(&code, REDIRECT_URI).await.unwrap();
    org.client
        .query("SELECT Id FROM Lead")
        .await
        .expect("works after re-authorization");
    assert_eq!(org.client.reauthorization_reason(), None);
}

#[actix_rt::test]
async fn injected_503_retried() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.control(
        "/faults",
        json!({ "errors": [{ "kind": "service_unavailable", "endpoint": "query", "count": 2 }] }),
    )
    .await;

    let records = org
        .client
        .query("SELECT Id FROM Lead")
        .await
        .expect("succeeds after retries");

    assert!(records.is_empty());
    assert_eq!(org.stats().await["faults_injected"], 2);
    assert_eq!(org.calls("query").await, 3);
}

#[actix_rt::test]
async fn injected_lock_error_retried() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let id = org
        .client
        .create("Lead", &lead("Hopper", "grace@example.com"))
        .await
        .unwrap();
    org.control(
        "/faults",
        json!({ "errors": [{ "kind": "unable_to_lock_row", "endpoint": "sobject", "count": 1 }] }),
    )
    .await;

    let mut change = Map::new();
    change.insert("Title".to_owned(), json!("Rear Admiral"));
    org.client
        .update("Lead", &id, &change)
        .await
        .expect("succeeds after a retry");

    assert_eq!(org.stats().await["faults_injected"], 1);
    let record = org.client.get("Lead", &id, Some(&["Title"])).await.unwrap();
    assert_eq!(record.get_str("Title"), Some("Rear Admiral"));
}

#[actix_rt::test]
async fn server_errors_exhaust_retries() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.control(
        "/faults",
        json!({ "errors": [{ "kind": "server_error", "endpoint": "query", "count": 10 }] }),
    )
    .await;

    let error = org.client.query("SELECT Id FROM Lead").await.unwrap_err();

    assert_eq!(error.class(), ErrorClass::Retryable, "{error}");
    assert_eq!(error.code(), Some("UNKNOWN_EXCEPTION"));
    assert_eq!(org.calls("query").await, 4, "max_attempts bounds the calls");
}

#[actix_rt::test]
async fn create_timeout_not_retried() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let mut config = connector_config(&sim);
    config.timeout = Duration::from_millis(150);
    let org = start_org_with(sim, config).await;
    org.control("/faults", json!({ "latency_ms": 400 })).await;
    let (logs, _guard) = capture_logs();

    let error = org
        .client
        .create("Lead", &lead("Turing", "alan@example.com"))
        .await
        .unwrap_err();

    assert!(
        matches!(error, SalesforceError::Transport { .. }),
        "{error}"
    );
    assert_eq!(error.class(), ErrorClass::Retryable);
    let sends = logs.text().matches("Sending a Salesforce request").count();
    assert_eq!(
        sends,
        1,
        "a create that may have been saved is not sent again: {}",
        logs.text()
    );
}

#[actix_rt::test]
async fn exhausted_allowance_pauses() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.client.limits().await.unwrap();
    let used = org.client.api_usage().unwrap().used;
    org.control("/faults", json!({ "daily_api_limit": used }))
        .await;
    let (logs, _guard) = capture_logs();

    let error = org.client.query("SELECT Id FROM Lead").await.unwrap_err();

    assert_eq!(
        error.class(),
        ErrorClass::RateLimited { retry_after: None },
        "{error}"
    );
    assert_eq!(error.code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(error.status(), Some(403));
    let usage = org.client.api_usage().unwrap();
    assert_eq!((usage.used, usage.max), (used, used));
    assert!(usage.fraction_used() >= 1.0);
    let text = logs.text();
    assert_eq!(
        text.matches("Sending a Salesforce request").count(),
        1,
        "paused, not retried: {text}"
    );
    assert!(!text.contains("Retrying"), "{text}");
}

#[actix_rt::test]
async fn query_follows_pages() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let mut config = connector_config(&sim);
    config.query_batch_size = Some(200);
    let org = start_org_with(sim, config).await;
    let seeded = org
        .control("/seed", json!({ "people": 900, "overlap": 0.5, "seed": 7 }))
        .await;
    let leads = seeded["leads"].as_u64().unwrap() as usize;
    assert!(leads > 400, "seeded {seeded}");

    let all = org
        .client
        .query("SELECT Id, Email FROM Lead")
        .await
        .unwrap();
    assert_eq!(all.len(), leads);
    let distinct: std::collections::HashSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(distinct.len(), leads);

    let mut pager = org
        .client
        .query_pages("SELECT Id FROM Lead", QueryScope::Live);
    let mut pages = 0;
    let mut rows = 0;
    while let Some(page) = pager.next_page().await.unwrap() {
        pages += 1;
        rows += page.records.len();
        assert_eq!(page.total_size as usize, leads);
        assert!(page.records.len() <= 200);
    }
    assert_eq!(rows, leads);
    assert_eq!(pages, leads.div_ceil(200));
}

#[actix_rt::test]
async fn query_all_sees_deleted() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let id = org
        .client
        .create("Lead", &lead("Curie", "marie@example.com"))
        .await
        .unwrap();
    org.client.delete("Lead", &id).await.unwrap();

    let live = org.client.query("SELECT Id FROM Lead").await.unwrap();
    let all = org
        .client
        .query_all("SELECT Id, IsDeleted FROM Lead")
        .await
        .unwrap();

    assert!(live.is_empty());
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, id);
    assert_eq!(all[0].get("IsDeleted"), Some(&json!(true)));
}

#[actix_rt::test]
async fn collections_partial_failures_by_input() {
    let org = start_org(SalesforceSimConfig::default()).await;
    // The injected lock hits the first record of the next collections call only.
    org.control("/faults", json!({ "errors": [{ "kind": "unable_to_lock_row", "endpoint": "collections", "count": 1 }] }))
        .await;
    let mut missing_last_name = lead("x", "nolast@example.com");
    missing_last_name.remove("LastName");
    let records = vec![
        lead("Noether", "emmy@example.com"),
        missing_last_name,
        lead("Franklin", "rosalind@example.com"),
        lead("Meitner", "lise@example.com"),
    ];

    let results = org
        .client
        .collections_create("Lead", &records, false)
        .await
        .unwrap();

    assert_eq!(results.len(), 4);
    assert!(
        results[0].success,
        "locked record retried: {:?}",
        results[0]
    );
    assert!(!results[1].success);
    assert_eq!(results[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
    assert!(matches!(
        results[1].class(),
        Some(ErrorClass::Permanent { .. })
    ));
    assert!(results[2].success, "{:?}", results[2]);
    assert!(results[3].success, "{:?}", results[3]);
    assert_eq!(
        org.calls("collections").await,
        2,
        "one call, then one for the locked record"
    );

    let saved = org
        .client
        .query("SELECT Id, Email FROM Lead")
        .await
        .unwrap();
    assert_eq!(saved.len(), 3, "no record saved twice");
    for (index, email) in [
        (0, "emmy@example.com"),
        (2, "rosalind@example.com"),
        (3, "lise@example.com"),
    ] {
        let id = results[index].id.as_deref().unwrap();
        let record = saved.iter().find(|r| r.id == id).expect("saved record");
        assert_eq!(record.get_str("Email"), Some(email), "input #{index}");
    }
}

#[actix_rt::test]
async fn collections_update_and_upsert() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let created = org
        .client
        .collections_create(
            "Lead",
            &[
                lead("Boole", "george@example.com"),
                lead("Babbage", "charles@example.com"),
            ],
            true,
        )
        .await
        .unwrap();
    let ids: Vec<String> = created.iter().map(|r| r.id.clone().unwrap()).collect();

    let mut title = Map::new();
    title.insert("Title".to_owned(), json!("Logician"));
    let updates = vec![
        RecordUpdate {
            id: ids[1].clone(),
            fields: title.clone(),
        },
        RecordUpdate {
            id: "00Q000000000000AAA".to_owned(),
            fields: title.clone(),
        },
    ];
    let updated = org
        .client
        .collections_update("Lead", &updates, false)
        .await
        .unwrap();
    assert!(updated[0].success, "{:?}", updated[0]);
    assert_eq!(updated[0].id.as_deref(), Some(ids[1].as_str()));
    assert!(!updated[1].success);
    let record = org
        .client
        .get("Lead", &ids[1], Some(&["Title"]))
        .await
        .unwrap();
    assert_eq!(record.get_str("Title"), Some("Logician"));

    // Upsert by the Intercom_Id__c external id: one new record, then an update of it.
    let mut margaret = lead("Hamilton", "margaret@example.com");
    margaret.insert(
        "Intercom_Id__c".to_owned(),
        json!("6961d4041c1e12de4c5499cc"),
    );
    let inserted = org
        .client
        .collections_upsert("Lead", "Intercom_Id__c", &[margaret.clone()], false)
        .await
        .unwrap();
    assert!(inserted[0].success, "{:?}", inserted[0]);
    assert_eq!(inserted[0].created, Some(true));
    margaret.insert("Title".to_owned(), json!("Director"));
    let again = org
        .client
        .collections_upsert("Lead", "Intercom_Id__c", &[margaret], false)
        .await
        .unwrap();
    assert_eq!(again[0].created, Some(false));
    assert_eq!(again[0].id, inserted[0].id);
    let saved = org
        .client
        .get("Lead", inserted[0].id.as_deref().unwrap(), Some(&["Title"]))
        .await
        .unwrap();
    assert_eq!(saved.get_str("Title"), Some("Director"));

    let missing_key = org
        .client
        .collections_upsert(
            "Lead",
            "Intercom_Id__c",
            &[lead("NoKey", "nokey@example.com")],
            false,
        )
        .await
        .unwrap_err();
    assert!(
        missing_key
            .to_string()
            .contains("no value for the external id field"),
        "{missing_key}"
    );
}

#[actix_rt::test]
async fn composite_queries_share_one_call() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.client
        .collections_create("Lead", &[lead("Lamarr", "hedy@example.com")], false)
        .await
        .unwrap();
    let composite_before = org.calls("composite").await;
    let usage_before = org.client.api_usage().unwrap().used;

    let queries = vec![
        "SELECT Id, Email FROM Lead".to_owned(),
        "SELECT Id FROM Contact".to_owned(),
        "SELECT Id, Email FROM Lead WHERE Email = 'nobody@example.com'".to_owned(),
    ];
    let pages = org.client.composite_queries(&queries).await.unwrap();

    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].records.len(), 1);
    assert_eq!(
        pages[0].records[0].get_str("Email"),
        Some("hedy@example.com")
    );
    assert!(pages[1].records.is_empty());
    assert!(pages[2].records.is_empty());
    assert_eq!(org.calls("composite").await - composite_before, 1);
    assert_eq!(org.client.api_usage().unwrap().used - usage_before, 1);
}

#[actix_rt::test]
async fn composite_query_error_classified() {
    let org = start_org(SalesforceSimConfig::default()).await;

    let error = org
        .client
        .composite_queries(&[
            "SELECT Id FROM Lead".to_owned(),
            "SELEKT Id FROM Lead".to_owned(),
        ])
        .await
        .unwrap_err();

    assert_eq!(error.status(), Some(400));
    assert!(
        matches!(error.class(), ErrorClass::Permanent { .. }),
        "{error}"
    );
}

#[actix_rt::test]
async fn describe_cached_until_refresh() {
    let org = start_org(SalesforceSimConfig::default()).await;

    let first = org.client.describe("Lead").await.unwrap();
    let second = org.client.describe("Lead").await.unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(org.calls("describe").await, 1);
    assert_eq!(first.name, "Lead");
    assert!(first.field("Email").is_some());

    let refreshed = org.client.refresh_describe("Lead").await.unwrap();
    assert!(!Arc::ptr_eq(&first, &refreshed));
    assert_eq!(org.calls("describe").await, 2);
}

#[actix_rt::test]
async fn get_updated_and_deleted() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let start = chrono::Utc::now() - chrono::Duration::minutes(5);
    // getUpdated covers whole minutes up to now, so the changes are made on a simulator clock
    // two minutes behind, then the clock is set right.
    org.control("/faults", json!({ "clock_offset_ms": -120_000 }))
        .await;
    let kept = org
        .client
        .create("Lead", &lead("Kovalevskaya", "sofia@example.com"))
        .await
        .unwrap();
    let removed = org
        .client
        .create("Lead", &lead("Germain", "sophie@example.com"))
        .await
        .unwrap();
    org.client.delete("Lead", &removed).await.unwrap();
    org.control("/faults", json!({ "clock_offset_ms": 0 }))
        .await;
    let end = chrono::Utc::now();

    let updated = org.client.get_updated("Lead", start, end).await.unwrap();
    let deleted = org.client.get_deleted("Lead", start, end).await.unwrap();

    assert!(updated.ids.contains(&kept), "{updated:?}");
    assert_eq!(deleted.deleted_records.len(), 1);
    assert_eq!(deleted.deleted_records[0].id, removed);
    assert!(deleted.earliest_date_available <= start + chrono::Duration::minutes(1));
}

#[actix_rt::test]
async fn limits_report_daily_requests() {
    let org = start_org(SalesforceSimConfig::default()).await;

    let limits = org.client.limits().await.unwrap();

    let daily = limits.daily_api_requests().expect("DailyApiRequests");
    assert_eq!(daily.max, 100_000);
    assert!(daily.used >= 1);
}

#[actix_rt::test]
async fn invalid_input_rejected_before_sending() {
    let org = start_org(SalesforceSimConfig::default()).await;

    let bad_id = org.client.get("Lead", "not-an-id", None).await.unwrap_err();
    assert!(bad_id.to_string().contains("not-an-id"), "{bad_id}");
    let bad_object = org
        .client
        .get("Lead/../x", "00Q000000000000AAA", None)
        .await
        .unwrap_err();
    assert!(
        bad_object.to_string().contains("not a Salesforce API name"),
        "{bad_object}"
    );
    let foreign = org
        .client
        .query_more("https://example.com/steal")
        .await
        .unwrap_err();
    assert!(
        foreign.to_string().contains("must start with /services/"),
        "{foreign}"
    );
    let too_many: Vec<Map<String, Value>> = (0..201)
        .map(|i| lead("L", &format!("l{i}@example.com")))
        .collect();
    let atomic = org
        .client
        .collections_create("Lead", &too_many, true)
        .await
        .unwrap_err();
    assert!(atomic.to_string().contains("at most 200"), "{atomic}");
    assert_eq!(
        org.calls("sobject").await + org.calls("collections").await,
        0
    );
}

#[actix_rt::test]
async fn token_refreshed_before_expiry() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let mut config = connector_config(&sim);
    config.refresh_after = Duration::from_millis(100);
    let org = start_org_with(sim, config).await;
    let oauth_before = org.calls("oauth").await;
    let (logs, _guard) = capture_logs();

    tokio::time::sleep(Duration::from_millis(150)).await;
    org.client.query("SELECT Id FROM Lead").await.unwrap();
    org.client.query("SELECT Id FROM Lead").await.unwrap();

    assert_eq!(org.calls("oauth").await - oauth_before, 1);
    let text = logs.text();
    assert!(text.contains("before it expires"), "{text}");
    assert!(
        !text.contains("rejected the access token"),
        "no 401 was needed: {text}"
    );
}

#[actix_rt::test]
async fn rotated_refresh_token_saved() {
    let sim_config = SalesforceSimConfig {
        rotate_refresh_tokens: true,
        ..SalesforceSimConfig::default()
    };
    let org = start_org(sim_config).await;
    let first = org.store.load().unwrap().unwrap();

    for round in 0..2 {
        let current = org.store.load().unwrap().unwrap();
        org.control(
            "/oauth/revoke",
            json!({ "token": current.access_token.expose() }),
        )
        .await;
        org.client
            .query("SELECT Id FROM Lead")
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }

    let last = org.store.load().unwrap().unwrap();
    assert_ne!(last.refresh_token, first.refresh_token);
    assert_ne!(last.access_token, first.access_token);
}

/// A credential store whose saves fail after the first one.
struct FailingStore {
    inner: MemoryCredentialStore,
    saves: Mutex<u32>,
}

impl CredentialStore for FailingStore {
    fn load(&self) -> Result<Option<SalesforceTokens>, CredentialStoreError> {
        self.inner.load()
    }

    fn save(&self, tokens: &SalesforceTokens) -> Result<(), CredentialStoreError> {
        let mut saves = self.saves.lock().unwrap();
        *saves += 1;
        if *saves > 1 {
            return Err(CredentialStoreError::new("disk full"));
        }
        self.inner.save(tokens)
    }
}

#[actix_rt::test]
async fn store_failure_surfaced_token_kept() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let store = Arc::new(FailingStore {
        inner: MemoryCredentialStore::default(),
        saves: Mutex::new(0),
    });
    let client = SalesforceClient::new(connector_config(&sim), store.clone()).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let code = authorization_code(&http, &sim.login_url()).await;
    client.exchange_code(&code, REDIRECT_URI).await.unwrap();
    let saved = store.load().unwrap().unwrap();
    http.post(format!("{}/_sim/oauth/revoke", sim.login_url()))
        .json(&json!({ "token": saved.access_token.expose() }))
        .send()
        .await
        .unwrap();

    let error = client.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(
        matches!(error, SalesforceError::CredentialStore(_)),
        "{error}"
    );
    assert!(error.to_string().contains("disk full"), "{error}");

    client
        .query("SELECT Id FROM Lead")
        .await
        .expect("the refreshed token is kept in memory");
}

#[actix_rt::test]
async fn all_or_none_lock_retries_batch() {
    let org = start_org(SalesforceSimConfig::default()).await;
    org.control(
        "/faults",
        json!({ "errors": [{ "kind": "unable_to_lock_row", "endpoint": "collections", "count": 1 }] }),
    )
    .await;

    let results = org
        .client
        .collections_create(
            "Lead",
            &[
                lead("Shannon", "claude@example.com"),
                lead("Wiener", "norbert@example.com"),
            ],
            true,
        )
        .await
        .unwrap();

    assert!(results[0].success, "{:?}", results[0]);
    assert!(results[1].success, "{:?}", results[1]);
    assert_eq!(org.calls("collections").await, 2);
    assert_eq!(
        org.client.query("SELECT Id FROM Lead").await.unwrap().len(),
        2
    );
}

#[actix_rt::test]
async fn all_or_none_permanent_error_not_retried() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let mut invalid = lead("x", "invalid@example.com");
    invalid.remove("LastName");

    let results = org
        .client
        .collections_create("Lead", &[lead("Knuth", "don@example.com"), invalid], true)
        .await
        .unwrap();

    assert_eq!(
        results[0].errors[0].status_code,
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(results[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
    assert_eq!(org.calls("collections").await, 1);
    assert!(org
        .client
        .query("SELECT Id FROM Lead")
        .await
        .unwrap()
        .is_empty());
}

#[actix_rt::test]
async fn large_collection_split_in_calls() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let records: Vec<Map<String, Value>> = (0..250)
        .map(|i| lead(&format!("Bulk{i}"), &format!("bulk{i}@example.com")))
        .collect();

    let results = org
        .client
        .collections_create("Lead", &records, false)
        .await
        .unwrap();

    assert_eq!(results.len(), 250);
    assert!(results.iter().all(|r| r.success));
    assert_eq!(org.calls("collections").await, 2);
    let saved = org
        .client
        .query("SELECT Id, LastName FROM Lead")
        .await
        .unwrap();
    assert_eq!(saved.len(), 250);
    let last_id = results[249].id.as_deref().unwrap();
    let last = saved.iter().find(|r| r.id == last_id).unwrap();
    assert_eq!(last.get_str("LastName"), Some("Bulk249"));
}

#[actix_rt::test]
async fn bad_code_needs_reauthorization() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let client = SalesforceClient::new(
        connector_config(&sim),
        Arc::new(MemoryCredentialStore::default()),
    )
    .unwrap();

    let unauthorized = client.query("SELECT Id FROM Lead").await.unwrap_err();
    assert!(
        matches!(unauthorized, SalesforceError::NotAuthorized),
        "{unauthorized}"
    );
    let rejected = client
        .exchange_code("not-a-code", REDIRECT_URI)
        .await
        .unwrap_err();
    assert_eq!(
        rejected.class(),
        ErrorClass::NeedsReauthorization,
        "{rejected}"
    );
    assert_eq!(rejected.status(), Some(400));
}

#[actix_rt::test]
async fn single_upsert_by_external_id() {
    let org = start_org(SalesforceSimConfig::default()).await;
    let fields = lead("Johnson", "katherine@example.com");

    let created = org
        .client
        .upsert(
            "Lead",
            "Intercom_Id__c",
            "667d60a98a68186f43bafdb9",
            &fields,
        )
        .await
        .unwrap();
    let updated = org
        .client
        .upsert(
            "Lead",
            "Intercom_Id__c",
            "667d60a98a68186f43bafdb9",
            &fields,
        )
        .await
        .unwrap();

    assert!(created.success);
    assert_eq!(created.created, Some(true));
    assert_eq!(updated.created, Some(false));
    assert_eq!(
        org.client.query("SELECT Id FROM Lead").await.unwrap().len(),
        1
    );
}
