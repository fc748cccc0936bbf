//! Crash safety of the real binary: a burst of signed webhooks, SIGKILL in the middle, a
//! restart on the same data directory, then every acknowledged webhook must be applied
//! exactly once and no Salesforce record created twice.

mod common;

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{authorize_server, wait_for};
use futures::stream::{self, StreamExt};
use intersync::config::{
    ENV_INTERCOM_ACCESS_TOKEN, ENV_INTERCOM_WEBHOOK_SECRET, ENV_SALESFORCE_CLIENT_SECRET,
};
use intersync::http::webhook::{sign, SIGNATURE_HEADER};
use intersync::sim::intercom::{IntercomSim, IntercomSimConfig};
use intersync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::{json, Value};

/// Intercom contacts, one webhook each.
const PEOPLE: usize = 80;
/// Webhooks in flight at once.
const CONCURRENCY: usize = 6;
/// Acknowledged webhooks after which the server is killed.
const KILL_AFTER: usize = PEOPLE / 3;

/// Finds a free loopback port by binding and releasing it, so the server can bind it twice.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a local address").port()
}

fn write_config(
    dir: &Path,
    listen: SocketAddr,
    salesforce: &SalesforceSim,
    intercom: &IntercomSim,
) {
    let config = format!(
        r#"workspace_id = "crash"
listen = "{listen}"
data_dir = "{data}"

[salesforce]
login_url = "{login}"
client_id = "{client_id}"
poll_interval_secs = 1
batch_delay_ms = 20
redirect_uri = "http://{listen}/oauth/callback"

[intercom]
base_url = "{intercom}"

[sync]
create_leads = true
"#,
        data = dir.join("data").display(),
        login = salesforce.login_url(),
        client_id = SalesforceSimConfig::default().client_id,
        intercom = intercom.base_url(),
    );
    std::fs::write(dir.join("intersync.toml"), config).expect("write the config");
}

fn spawn_server(dir: &Path, run: usize) -> Child {
    let log = std::fs::File::create(dir.join(format!("server-{run}.log"))).expect("create a log");
    Command::new(env!("CARGO_BIN_EXE_intersync"))
        .arg("serve")
        .arg("--config")
        .arg(dir.join("intersync.toml"))
        .env(
            ENV_SALESFORCE_CLIENT_SECRET,
            SalesforceSimConfig::default().client_secret,
        )
        .env(
            ENV_INTERCOM_ACCESS_TOKEN,
            IntercomSimConfig::default().access_token,
        )
        .env(
            ENV_INTERCOM_WEBHOOK_SECRET,
            IntercomSimConfig::default().webhook_secret,
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the intersync binary")
}

async fn wait_listening(http: &reqwest::Client, server: &str, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("{server}/status")).send().await {
            if response.status().as_u16() == 200 || response.status().as_u16() == 503 {
                return;
            }
        }
        if let Ok(Some(exit)) = child.try_wait() {
            let output = std::fs::read_to_string(log).unwrap_or_default();
            panic!("the server exited before listening: {exit}\n{output}");
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start listening at {server}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Creates the Intercom contacts with no webhook receiver, and returns their JSON.
async fn create_contacts(http: &reqwest::Client, intercom: &IntercomSim) -> Vec<Value> {
    let token = IntercomSimConfig::default().access_token;
    let mut contacts = Vec::new();
    for index in 0..PEOPLE {
        let contact: Value = http
            .post(format!("{}/contacts", intercom.base_url()))
            .bearer_auth(&token)
            .json(&json!({"role": "user", "email": format!("crash{index}@example.com"),
                          "name": format!("Crash {index}"), "phone": format!("+1 555 2{index:03}")}))
            .send()
            .await
            .expect("create a contact")
            .json()
            .await
            .expect("a JSON contact");
        contacts.push(contact);
    }
    contacts
}

/// Builds and signs the `contact.user.created` notification of one contact.
fn notification(contact: &Value, index: usize) -> (Vec<u8>, String) {
    let body = json!({
        "type": "notification_event",
        "app_id": "intersim",
        "data": {"type": "notification_event_data", "item": contact},
        "links": {},
        "id": format!("notif_crash_{index:04}"),
        "topic": "contact.user.created",
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": contact["created_at"],
        "created_at": contact["created_at"],
        "self": null
    });
    let body = serde_json::to_vec(&body).expect("encode the notification");
    let signature = sign(
        &body,
        IntercomSimConfig::default().webhook_secret.as_bytes(),
    );
    (body, signature)
}

async fn deliver(http: &reqwest::Client, server: &str, body: Vec<u8>, signature: String) -> bool {
    let response = http
        .post(format!("{server}/webhooks/intercom"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    matches!(response, Ok(response) if response.status() == 200)
}

/// Reads the email of every Lead, deleted ones included, through the data API.
async fn leads_by_email(
    http: &reqwest::Client,
    salesforce: &SalesforceSim,
    token: &str,
) -> Vec<String> {
    let response: Value = http
        .get(format!(
            "{}/services/data/v60.0/queryAll",
            salesforce.instance_url()
        ))
        .bearer_auth(token)
        .query(&[("q", "SELECT Id, Email, IsDeleted FROM Lead")])
        .send()
        .await
        .expect("query the Leads")
        .json()
        .await
        .expect("a JSON query result");
    assert!(
        response["done"] == true,
        "more than one page of Leads: {response}"
    );
    response["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| record["Email"].as_str().unwrap_or_default().to_lowercase())
        .collect()
}

/// Runs the OAuth web flow for the test's own client. Salesforce keeps a few refresh tokens
/// per user and revokes the oldest, so the test requests one once and does not push out the server's.
async fn salesforce_token(http: &reqwest::Client, salesforce: &SalesforceSim) -> String {
    let defaults = SalesforceSimConfig::default();
    let login = salesforce.login_url();
    let redirect = "http://127.0.0.1:1/test-callback";
    let response = http
        .get(format!("{login}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", defaults.client_id.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .expect("call the authorize endpoint");
    let location = reqwest::Url::parse(
        response.headers()[reqwest::header::LOCATION]
            .to_str()
            .expect("a Location header"),
    )
    .expect("a redirect URL");
    let code = location
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code");
    let form = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", defaults.client_id.as_str()),
        ("client_secret", defaults.client_secret.as_str()),
        ("redirect_uri", redirect),
    ])
    .expect("encode the form");
    let token: Value = http
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
        .expect("a JSON token");
    token["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

#[actix_rt::test]
async fn sigkill_mid_burst_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let salesforce = SalesforceSim::start(SalesforceSimConfig::default())
        .await
        .expect("start the Salesforce simulator");
    let intercom = IntercomSim::start(IntercomSimConfig::default())
        .await
        .expect("start the Intercom simulator");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("build the HTTP client");
    let contacts = create_contacts(&http, &intercom).await;
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let server = format!("http://{listen}");
    write_config(dir.path(), listen, &salesforce, &intercom);

    let mut child = spawn_server(dir.path(), 1);
    wait_listening(&http, &server, &mut child, &dir.path().join("server-1.log")).await;
    authorize_server(&http, &server).await;

    // The burst: the server is killed once a third of the webhooks were acknowledged.
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let child = Arc::new(Mutex::new(child));
    let notifications: Vec<_> = contacts
        .iter()
        .enumerate()
        .map(|(index, contact)| (index, notification(contact, index)))
        .collect();
    stream::iter(notifications.clone())
        .for_each_concurrent(CONCURRENCY, |(index, (body, signature))| {
            let (http, server, acknowledged, child) = (
                http.clone(),
                server.clone(),
                acknowledged.clone(),
                child.clone(),
            );
            async move {
                if deliver(&http, &server, body, signature).await {
                    let mut acknowledged = acknowledged.lock().unwrap();
                    acknowledged.insert(index);
                    if acknowledged.len() == KILL_AFTER {
                        child.lock().unwrap().kill().expect("SIGKILL the server");
                    }
                }
            }
        })
        .await;
    let status = child
        .lock()
        .unwrap()
        .wait()
        .expect("reap the killed server");
    assert!(!status.success(), "the server exited by itself: {status}");
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= KILL_AFTER && acknowledged.len() < PEOPLE,
        "{} of {PEOPLE} webhooks acknowledged; the kill missed the burst",
        acknowledged.len()
    );

    let mut child = spawn_server(dir.path(), 2);
    wait_listening(&http, &server, &mut child, &dir.path().join("server-2.log")).await;
    let (_, status) = status_of(&http, &server).await;
    if status["connection"] == "needs_reauthorization" {
        authorize_server(&http, &server).await;
    }
    // Intercom retries what was not acknowledged, and may repeat what was.
    for (index, (body, signature)) in &notifications {
        let delivered = deliver(&http, &server, body.clone(), signature.clone()).await;
        assert!(
            delivered,
            "webhook {index} was not accepted after the restart"
        );
    }

    let token = salesforce_token(&http, &salesforce).await;
    wait_for("every webhook applied after the restart", || async {
        let (_, status) = status_of(&http, &server).await;
        let leads = leads_by_email(&http, &salesforce, &token).await.len();
        if status["inbox_depth"] == 0 && status["pending_writes"] == 0 && leads >= PEOPLE {
            Ok(())
        } else {
            Err((leads, status))
        }
    })
    .await;
    let (_, status) = status_of(&http, &server).await;
    let leads = leads_by_email(&http, &salesforce, &token).await;
    child.kill().expect("stop the server");
    let _ = child.wait();

    assert_eq!(status["sync_errors"], 0, "status: {status}");
    let distinct: HashSet<&String> = leads.iter().collect();
    assert_eq!(
        distinct.len(),
        leads.len(),
        "a Lead was created twice: {leads:?}"
    );
    for index in acknowledged {
        let email = format!("crash{index}@example.com");
        assert!(
            leads.contains(&email),
            "acknowledged webhook {index} was lost"
        );
    }
    assert_eq!(leads.len(), PEOPLE, "Leads: {leads:?}");
    intercom.stop().await;
    salesforce.stop().await;
}

async fn status_of(http: &reqwest::Client, server: &str) -> (u16, Value) {
    let response = http
        .get(format!("{server}/status"))
        .send()
        .await
        .expect("call GET /status");
    let code = response.status().as_u16();
    (code, response.json().await.expect("a JSON status"))
}
