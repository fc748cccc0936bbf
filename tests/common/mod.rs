//! Shared harness for the end-to-end server tests: a sandbox in a temporary directory,
//! clients for both simulators' public APIs, waits with a timeout, and counters.

#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use intersync::sandbox::{Sandbox, SandboxOptions};
use serde_json::{json, Value};

/// Salesforce REST API version the tests call.
pub const SF_API: &str = "v60.0";
/// How long a wait lasts before the test fails.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between two checks of a wait.
const WAIT_STEP: Duration = Duration::from_millis(30);
/// Redirect URI the test client sends in its own OAuth web flow with the Salesforce simulator.
const TEST_REDIRECT_URI: &str = "http://127.0.0.1:1/test-callback";

/// A running sandbox with the test's own Salesforce session and its temporary directory.
pub struct Harness {
    pub sandbox: Sandbox,
    pub sf_token: String,
    pub sf_instance: String,
    /// Kept so the store's directory outlives the server.
    pub dir: tempfile::TempDir,
}

/// Starts a sandbox with no people and no automatic polls.
pub async fn start() -> Harness {
    start_with(|_| {}).await
}

/// Starts a sandbox after `adjust` has changed its options.
/// Sends the server's logs to the test's captured output when `RUST_LOG` is set.
fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

pub async fn start_with(adjust: impl FnOnce(&mut SandboxOptions)) -> Harness {
    init_logs();
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let mut options = SandboxOptions::new(dir.path().join("data"));
    adjust(&mut options);
    let sandbox = Sandbox::start(options).await.expect("start the sandbox");
    let (sf_token, sf_instance) = salesforce_session(&sandbox).await;
    Harness {
        sandbox,
        sf_token,
        sf_instance,
        dir,
    }
}

/// Runs the OAuth web flow as a second connected-app client and returns its access token
/// and instance URL.
async fn salesforce_session(sandbox: &Sandbox) -> (String, String) {
    let login = sandbox.salesforce.login_url();
    let client_id = &sandbox.config.salesforce.client_id;
    let response = sandbox
        .http
        .get(format!("{login}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", TEST_REDIRECT_URI),
            ("state", "test"),
        ])
        .send()
        .await
        .expect("call the authorize endpoint");
    let location = response.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("a text Location header")
        .to_owned();
    let url = reqwest::Url::parse(&location).expect("the redirect is a URL");
    let code = url
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("the redirect carries a code");
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", client_id.as_str()),
        (
            "client_secret",
            sandbox.config.salesforce.client_secret.expose(),
        ),
        ("redirect_uri", TEST_REDIRECT_URI),
    ])
    .expect("encode the token request");
    let token: Value = sandbox
        .http
        .post(format!("{login}/services/oauth2/token"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form)
        .send()
        .await
        .expect("call the token endpoint")
        .json()
        .await
        .expect("a JSON token response");
    (
        token["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned(),
        token["instance_url"]
            .as_str()
            .expect("an instance URL")
            .to_owned(),
    )
}

/// Waits until `probe` returns `Ok`, checking every 30 ms. On timeout it fails with `what`
/// and the last `Err` value, which is the last observed state.
pub async fn wait_for<T, O, F, Fut>(what: &str, mut probe: F) -> T
where
    O: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, O>>,
{
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => {
                panic!(
                    "timed out after {WAIT_TIMEOUT:?} waiting for {what}; last observed: {last:?}"
                )
            }
            Err(_) => tokio::time::sleep(WAIT_STEP).await,
        }
    }
}

/// Sleeps a short while so background work that should not happen gets its chance to.
pub async fn settle(duration: Duration) {
    tokio::time::sleep(duration).await;
}

impl Harness {
    /// Authorizes the test's own Salesforce client again, after its tokens were revoked.
    pub async fn renew_sf_session(&mut self) {
        let (token, instance) = salesforce_session(&self.sandbox).await;
        self.sf_token = token;
        self.sf_instance = instance;
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.sandbox.http
    }

    pub fn server_url(&self) -> String {
        self.sandbox.server.url()
    }

    fn sf_url(&self, path: &str) -> String {
        format!("{}/services/data/{SF_API}/{path}", self.sf_instance)
    }

    fn ic_url(&self, path: &str) -> String {
        format!("{}/{path}", self.sandbox.intercom.base_url())
    }

    // ---- Salesforce data API ----

    /// Creates a Lead or Contact and returns its id.
    pub async fn sf_create(&self, object: &str, fields: Value) -> String {
        let response = self
            .http()
            .post(self.sf_url(&format!("sobjects/{object}")))
            .bearer_auth(&self.sf_token)
            .json(&fields)
            .send()
            .await
            .expect("call Salesforce create");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON create response");
        assert_eq!(status, 201, "creating a {object} failed: {body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    pub async fn sf_update(&self, object: &str, id: &str, fields: Value) {
        let response = self
            .http()
            .patch(self.sf_url(&format!("sobjects/{object}/{id}")))
            .bearer_auth(&self.sf_token)
            .json(&fields)
            .send()
            .await
            .expect("call Salesforce update");
        let status = response.status();
        assert_eq!(
            status,
            204,
            "updating {object} {id} failed: {}",
            response.text().await.unwrap_or_default()
        );
    }

    pub async fn sf_delete(&self, object: &str, id: &str) {
        let response = self
            .http()
            .delete(self.sf_url(&format!("sobjects/{object}/{id}")))
            .bearer_auth(&self.sf_token)
            .send()
            .await
            .expect("call Salesforce delete");
        assert_eq!(response.status(), 204, "deleting {object} {id} failed");
    }

    /// Reads a record, or `None` when it does not exist or is deleted.
    pub async fn sf_get(&self, object: &str, id: &str) -> Option<Value> {
        let response = self
            .http()
            .get(self.sf_url(&format!("sobjects/{object}/{id}")))
            .bearer_auth(&self.sf_token)
            .send()
            .await
            .expect("call Salesforce get");
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200, "reading {object} {id} failed");
        Some(response.json().await.expect("a JSON record"))
    }

    /// Runs a SOQL query and returns its records.
    pub async fn sf_query(&self, soql: &str) -> Vec<Value> {
        let response = self
            .http()
            .get(self.sf_url("query"))
            .bearer_auth(&self.sf_token)
            .query(&[("q", soql)])
            .send()
            .await
            .expect("call Salesforce query");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON query response");
        assert_eq!(status, 200, "query {soql:?} failed: {body}");
        body["records"].as_array().cloned().unwrap_or_default()
    }

    /// Creates records through one sObject Collections call; each needs `attributes.type`.
    pub async fn sf_collections_create(&self, records: Vec<Value>) -> Vec<String> {
        let response = self
            .http()
            .post(self.sf_url("composite/sobjects"))
            .bearer_auth(&self.sf_token)
            .json(&json!({"allOrNone": true, "records": records}))
            .send()
            .await
            .expect("call sObject Collections");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON collections response");
        assert_eq!(status, 200, "sObject Collections create failed: {body}");
        body.as_array()
            .expect("a result list")
            .iter()
            .map(|result| {
                assert_eq!(result["success"], true, "a record failed: {result}");
                result["id"].as_str().expect("an id").to_owned()
            })
            .collect()
    }

    /// Restores a deleted record from the recycle bin.
    pub async fn sf_undelete(&self, id: &str) {
        let response = self
            .http()
            .post(format!(
                "{}/_sim/records/{id}/undelete",
                self.sandbox.salesforce.login_url()
            ))
            .send()
            .await
            .expect("call the undelete endpoint");
        assert!(response.status().is_success(), "undeleting {id} failed");
    }

    /// Converts a Lead through the simulator and returns its Contact id.
    pub async fn sf_convert(&self, lead_id: &str) -> String {
        let body: Value = self
            .http()
            .post(format!(
                "{}/_sim/leads/{lead_id}/convert",
                self.sandbox.salesforce.login_url()
            ))
            .send()
            .await
            .expect("call the convert endpoint")
            .json()
            .await
            .expect("a JSON convert response");
        body["contactId"]
            .as_str()
            .or_else(|| body["contact_id"].as_str())
            .unwrap_or_else(|| panic!("no contact id in {body}"))
            .to_owned()
    }

    /// Changes the describe flags of one Salesforce field in the simulator.
    pub async fn sf_patch_field(&self, object: &str, field: &str, patch: Value) {
        let response = self
            .http()
            .patch(format!(
                "{}/_sim/describe/{object}/{field}",
                self.sandbox.salesforce.login_url()
            ))
            .json(&patch)
            .send()
            .await
            .expect("call the describe endpoint");
        assert!(
            response.status().is_success(),
            "patching {object}.{field} with {patch} failed"
        );
    }

    /// Runs a healthcheck now and returns its report.
    pub async fn healthcheck(&self) -> Value {
        let response = self
            .http()
            .post(format!("{}/actions/healthcheck", self.server_url()))
            .send()
            .await
            .expect("call POST /actions/healthcheck");
        assert!(response.status().is_success(), "the healthcheck failed");
        response.json().await.expect("a JSON health report")
    }

    /// Sets realism knobs of the Salesforce simulator.
    pub async fn sf_faults(&self, knobs: Value) {
        let response = self
            .http()
            .post(format!(
                "{}/_sim/faults",
                self.sandbox.salesforce.login_url()
            ))
            .json(&knobs)
            .send()
            .await
            .expect("call the faults endpoint");
        assert!(response.status().is_success(), "setting {knobs} failed");
    }

    // ---- Intercom REST API ----

    async fn ic_send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request
            .bearer_auth(self.sandbox.config.intercom.access_token.expose())
            .header("Intercom-Version", "2.11")
            .send()
            .await
            .expect("call Intercom");
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Creates a contact (`role` user unless `fields` sets another) and returns its id.
    pub async fn ic_create(&self, fields: Value) -> String {
        let mut body = json!({"role": "user"});
        merge(&mut body, fields);
        let (status, body) = self
            .ic_send(self.http().post(self.ic_url("contacts")).json(&body))
            .await;
        assert_eq!(status, 200, "creating an Intercom contact failed: {body}");
        body["id"].as_str().expect("an id").to_owned()
    }

    pub async fn ic_update(&self, id: &str, fields: Value) {
        let (status, body) = self
            .ic_send(
                self.http()
                    .put(self.ic_url(&format!("contacts/{id}")))
                    .json(&fields),
            )
            .await;
        assert_eq!(status, 200, "updating Intercom contact {id} failed: {body}");
    }

    pub async fn ic_delete(&self, id: &str) {
        let (status, body) = self
            .ic_send(self.http().delete(self.ic_url(&format!("contacts/{id}"))))
            .await;
        assert_eq!(status, 200, "deleting Intercom contact {id} failed: {body}");
    }

    /// Reads a contact, or `None` when it is not found.
    pub async fn ic_get(&self, id: &str) -> Option<Value> {
        let (status, body) = self
            .ic_send(self.http().get(self.ic_url(&format!("contacts/{id}"))))
            .await;
        (status == 200).then_some(body)
    }

    /// Sets fault and delivery knobs of the Intercom simulator.
    pub async fn ic_faults(&self, knobs: Value) {
        let response = self
            .http()
            .post(self.ic_url("_sim/faults"))
            .json(&knobs)
            .send()
            .await
            .expect("call the faults endpoint");
        assert!(response.status().is_success(), "setting {knobs} failed");
    }

    // ---- the server ----

    /// Runs a Salesforce poll now and waits for it to finish.
    pub async fn poll(&self) {
        let response = self
            .http()
            .post(format!("{}/actions/poll", self.server_url()))
            .send()
            .await
            .expect("call POST /actions/poll");
        let status = response.status();
        assert!(
            status.is_success(),
            "POST /actions/poll answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// `GET /status` as (HTTP status, body).
    pub async fn status(&self) -> (u16, Value) {
        let response = self
            .http()
            .get(format!("{}/status", self.server_url()))
            .send()
            .await
            .expect("call GET /status");
        let code = response.status().as_u16();
        (code, response.json().await.expect("a JSON status"))
    }

    pub async fn metrics(&self) -> String {
        self.http()
            .get(format!("{}/metrics", self.server_url()))
            .send()
            .await
            .expect("call GET /metrics")
            .text()
            .await
            .expect("a text body")
    }

    /// The first page of `GET /mappings`.
    pub async fn mappings(&self) -> Vec<Value> {
        self.mappings_after(None).await
    }

    /// Every mapping, reading `GET /mappings` page by page.
    pub async fn mappings_all(&self) -> Vec<Value> {
        let mut all: Vec<Value> = Vec::new();
        loop {
            let after = all.last().and_then(|mapping| mapping["id"].as_u64());
            let page = self.mappings_after(after).await;
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }

    async fn mappings_after(&self, after: Option<u64>) -> Vec<Value> {
        let query = after.map(|id| format!("?after={id}")).unwrap_or_default();
        let body: Value = self
            .http()
            .get(format!("{}/mappings{query}", self.server_url()))
            .send()
            .await
            .expect("call GET /mappings")
            .json()
            .await
            .expect("a JSON mapping list");
        match body {
            Value::Array(items) => items,
            other => other["mappings"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// The mapping in state `mapped` or `qualified` that holds Intercom contact `intercom_id`.
    pub async fn live_mapping_of(&self, intercom_id: &str) -> Option<Value> {
        self.mappings_all().await.into_iter().find(|mapping| {
            mapping["intercom_id"] == intercom_id
                && matches!(mapping["state"].as_str(), Some("mapped" | "qualified"))
        })
    }

    /// Waits until Intercom contact `intercom_id` is mapped to Salesforce record `salesforce_id`.
    pub async fn wait_mapped(&self, intercom_id: &str, salesforce_id: &str) -> Value {
        wait_for(
            &format!("a mapping {intercom_id} <-> {salesforce_id}"),
            || async {
                match self.live_mapping_of(intercom_id).await {
                    Some(mapping) if mapping["salesforce_id"] == salesforce_id => Ok(mapping),
                    _ => Err(self.mappings().await),
                }
            },
        )
        .await
    }

    /// Waits until Intercom contact `intercom_id` has no live mapping.
    pub async fn wait_unmapped(&self, intercom_id: &str) {
        wait_for(&format!("no live mapping of {intercom_id}"), || async {
            match self.live_mapping_of(intercom_id).await {
                None => Ok(()),
                Some(mapping) => Err(mapping),
            }
        })
        .await
    }

    /// Creates a Lead and an Intercom user with the same email and waits for their mapping.
    /// Returns (Intercom id, Lead id).
    pub async fn mapped_pair(&self, email: &str) -> (String, String) {
        let lead = self
            .sf_create(
                "Lead",
                json!({"FirstName": "Ada", "LastName": "Lovelace", "Company": "Engines", "Email": email, "Phone": "+1 555 0100"}),
            )
            .await;
        let contact = self
            .ic_create(json!({"email": email, "name": "Ada Lovelace", "phone": "+1 555 0100"}))
            .await;
        self.wait_mapped(&contact, &lead).await;
        self.wait_inbox_empty().await;
        (contact, lead)
    }

    /// Stops webhook delivery from the Intercom simulator to the server, so Intercom changes
    /// reach the server only through later events.
    pub async fn ic_unsubscribe_webhooks(&self) {
        let response = self
            .http()
            .delete(self.ic_url("_sim/webhooks"))
            .send()
            .await
            .expect("call DELETE /_sim/webhooks");
        assert!(response.status().is_success(), "unsubscribing failed");
    }

    /// Number of contacts the Intercom simulator stores.
    pub async fn ic_contact_count(&self) -> Value {
        self.sandbox
            .intercom_stats()
            .await
            .expect("read Intercom stats")["contacts"]
            .clone()
    }

    /// Live (not deleted) records of `object` in the Salesforce simulator.
    pub async fn sf_live_count(&self, object: &str) -> u64 {
        let stats = self
            .sandbox
            .salesforce_stats()
            .await
            .expect("read Salesforce stats");
        stats["records"][object]["live"].as_u64().unwrap_or(0)
    }

    /// `GET /sync-errors` as a list.
    pub async fn sync_errors(&self) -> Vec<Value> {
        let body: Value = self
            .http()
            .get(format!("{}/sync-errors", self.server_url()))
            .send()
            .await
            .expect("call GET /sync-errors")
            .json()
            .await
            .expect("a JSON sync-error list");
        match body {
            Value::Array(items) => items,
            other => other["sync_errors"].as_array().cloned().unwrap_or_default(),
        }
    }

    /// Waits until the server has applied every stored webhook.
    pub async fn wait_inbox_empty(&self) {
        wait_for("an empty inbox and no pending writes", || async {
            let (_, status) = self.status().await;
            let idle = status["inbox_depth"] == 0 && status["pending_writes"] == 0;
            if idle {
                Ok(())
            } else {
                Err(status)
            }
        })
        .await
    }

    /// Waits until `/status` shows `count` mappings.
    pub async fn wait_mappings(&self, count: u64) {
        wait_for(&format!("{count} mappings in /status"), || async {
            let (_, status) = self.status().await;
            if status["mappings"] == count {
                Ok(())
            } else {
                Err(status)
            }
        })
        .await
    }

    /// Waits until a Salesforce record's `field` equals `expected`, and returns the record.
    pub async fn wait_sf_field(
        &self,
        object: &str,
        id: &str,
        field: &str,
        expected: Value,
    ) -> Value {
        wait_for(&format!("{object} {id} {field} = {expected}"), || async {
            match self.sf_get(object, id).await {
                Some(record) if record[field] == expected => Ok(record),
                other => Err(other.map(|record| record[field].clone())),
            }
        })
        .await
    }

    /// Waits until an Intercom contact's `pointer` (a JSON pointer) equals `expected`.
    pub async fn wait_ic_field(&self, id: &str, pointer: &str, expected: Value) -> Value {
        wait_for(&format!("contact {id} {pointer} = {expected}"), || async {
            match self.ic_get(id).await {
                Some(contact) if contact.pointer(pointer) == Some(&expected) => Ok(contact),
                other => Err(other.and_then(|contact| contact.pointer(pointer).cloned())),
            }
        })
        .await
    }

    /// Salesforce simulator counters of data API calls by endpoint kind.
    pub async fn sf_calls(&self) -> Value {
        self.sandbox
            .salesforce_stats()
            .await
            .expect("read Salesforce stats")["api_calls"]
            .clone()
    }

    /// Intercom simulator counters of API calls by endpoint.
    pub async fn ic_calls(&self) -> Value {
        self.sandbox
            .intercom_stats()
            .await
            .expect("read Intercom stats")["api_calls"]
            .clone()
    }

    pub async fn stop(self) {
        self.sandbox.stop().await;
    }
}

/// Authorizes a server's Salesforce connection the way an operator does: `GET /oauth/start`,
/// then the authorize redirect, then `GET /oauth/callback` on the server with the code.
pub async fn authorize_server(http: &reqwest::Client, server_url: &str) {
    let start = http
        .get(format!("{server_url}/oauth/start"))
        .send()
        .await
        .expect("call GET /oauth/start");
    assert_eq!(start.status(), 302, "GET /oauth/start did not redirect");
    let authorize = start.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("a text Location header")
        .to_owned();
    let consent = http
        .get(&authorize)
        .send()
        .await
        .expect("call the authorize endpoint");
    let callback = consent.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("a text Location header")
        .to_owned();
    let callback = reqwest::Url::parse(&callback).expect("the callback is a URL");
    let code = callback
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| panic!("no code in {callback}"));
    let response = http
        .get(format!("{server_url}/oauth/callback"))
        .query(&[("code", code.as_str())])
        .send()
        .await
        .expect("call GET /oauth/callback");
    let status = response.status();
    assert_eq!(
        status,
        200,
        "GET /oauth/callback failed: {}",
        response.text().await.unwrap_or_default()
    );
}

/// Copies the keys of `extra` into `base`.
fn merge(base: &mut Value, extra: Value) {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
}

/// Reads one sample of a metric line such as `intersync_webhooks_received_total{topic="ping"}`.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

/// Salesforce sObject Collections calls out of `/_sim/stats` call counters: the server
/// batches every write into them. Single-record `sobject` calls are left out because the
/// tests' own reads use them.
pub fn sf_write_calls(calls: &Value) -> u64 {
    calls["collections"].as_u64().unwrap_or(0)
}

/// Sums the Intercom write endpoints out of `/_sim/stats` call counters.
pub fn ic_write_calls(calls: &Value) -> u64 {
    [
        "contacts.create",
        "contacts.update",
        "contacts.delete",
        "contacts.archive",
        "contacts.merge",
    ]
    .iter()
    .map(|kind| calls[kind].as_u64().unwrap_or(0))
    .sum()
}
