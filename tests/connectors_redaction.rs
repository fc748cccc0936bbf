//! No token or secret reaches a log line, an error message or `Debug` output, checked by
//! capturing every log record (all targets, TRACE level) of failing runs of both connectors.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use intersync::connectors::intercom::{IntercomClient, IntercomConfig};
use intersync::connectors::salesforce::{
    CredentialStore, MemoryCredentialStore, SalesforceClient, SalesforceConfig,
};
use intersync::connectors::RetryPolicy;
use intersync::sim::intercom::{IntercomSim, IntercomSimConfig, DEFAULT_ACCESS_TOKEN};
use intersync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use reqwest::header::LOCATION;
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

const REDIRECT_URI: &str = "http://127.0.0.1:1/callback";
const CLIENT_SECRET: &str = "sim-client-secret";

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

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
    (logs.clone(), tracing::subscriber::set_default(subscriber))
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_elapsed: Duration::from_secs(5),
        max_rate_limit_wait: Duration::from_millis(100),
    }
}

async fn authorization_code(http: &reqwest::Client, login_url: &str) -> String {
    let response = http
        .get(format!("{login_url}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "sim-client-id"),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    params
        .into_iter()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
}

fn assert_hidden(text: &str, secrets: &[String], context: &str) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{context} contains a secret:\n{text}"
        );
    }
}

#[actix_rt::test]
async fn salesforce_failures_log_no_secret() {
    let sim = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .unwrap();
    let control = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut config = SalesforceConfig::new(sim.login_url(), "sim-client-id", CLIENT_SECRET);
    config.retry = fast_retries();
    let store = Arc::new(MemoryCredentialStore::default());
    let client = SalesforceClient::new(config.clone(), store.clone()).unwrap();
    let (logs, _guard) = capture_logs();
    let mut messages = Vec::new();

    let bad_code = client
        .exchange_code("not-a-code", REDIRECT_URI)
        .await
        .unwrap_err();
    messages.push(format!("{bad_code} {bad_code:?}"));
    let code = authorization_code(&control, &sim.login_url()).await;
    client.exchange_code(&code, REDIRECT_URI).await.unwrap();
    let first = store.load().unwrap().unwrap();

    // An expired access token is refreshed; injected 503s are retried.
    control
        .post(format!("{}/_sim/oauth/revoke", sim.login_url()))
        .json(&json!({ "token": first.access_token.expose() }))
        .send()
        .await
        .unwrap();
    control
        .post(format!("{}/_sim/faults", sim.login_url()))
        .json(&json!({ "errors": [{ "kind": "service_unavailable", "count": 5 }] }))
        .send()
        .await
        .unwrap();
    let unavailable = client.query("SELECT Id FROM Lead").await.unwrap_err();
    messages.push(format!("{unavailable} {unavailable:?}"));
    let second = store.load().unwrap().unwrap();

    // A revoked grant ends in a needs-re-authorization error.
    control
        .post(format!("{}/_sim/oauth/revoke", sim.login_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let revoked = client.query("SELECT Id FROM Lead").await.unwrap_err();
    messages.push(format!("{revoked} {revoked:?}"));
    messages.push(format!("{client:?} {config:?} {second:?}"));

    let secrets = vec![
        first.access_token.expose().to_owned(),
        first.refresh_token.expose().to_owned(),
        second.access_token.expose().to_owned(),
        CLIENT_SECRET.to_owned(),
    ];
    assert_ne!(
        first.access_token, second.access_token,
        "the run refreshed the token"
    );
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("Retrying a failed call"),
        "the run retried: {text}"
    );
    assert!(
        text.contains("needs re-authorization"),
        "the run was revoked: {text}"
    );
    assert_hidden(&text, &secrets, "the log");
    for message in &messages {
        assert_hidden(message, &secrets, "an error or Debug output");
    }
}

#[actix_rt::test]
async fn intercom_failures_log_no_secret() {
    let sim = IntercomSim::start(IntercomSimConfig::default())
        .await
        .unwrap();
    let (logs, _guard) = capture_logs();
    let mut messages = Vec::new();

    let mut wrong = IntercomConfig::new(sim.base_url(), "wrong-token-7d1f");
    wrong.retry = fast_retries();
    let rejected = IntercomClient::new(wrong.clone())
        .unwrap()
        .me()
        .await
        .unwrap_err();
    messages.push(format!("{rejected} {rejected:?} {wrong:?}"));

    let mut config = IntercomConfig::new(sim.base_url(), DEFAULT_ACCESS_TOKEN);
    config.retry = fast_retries();
    let client = IntercomClient::new(config.clone()).unwrap();
    reqwest::Client::new()
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({ "error_count": 5, "error_status": 503 }))
        .send()
        .await
        .unwrap();
    let unavailable = client.me().await.unwrap_err();
    messages.push(format!(
        "{unavailable} {unavailable:?} {client:?} {config:?}"
    ));

    let secrets = vec![
        "wrong-token-7d1f".to_owned(),
        DEFAULT_ACCESS_TOKEN.to_owned(),
    ];
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("Retrying a failed call"),
        "the run retried: {text}"
    );
    assert_hidden(&text, &secrets, "the log");
    for message in &messages {
        assert_hidden(message, &secrets, "an error or Debug output");
    }
    sim.stop().await;
}
