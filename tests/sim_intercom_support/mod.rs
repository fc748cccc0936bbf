//! Helpers shared by the Intercom simulator tests: a started simulator with a client, and a
//! webhook receiver that records every delivery.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use intersync::sim::intercom::{IntercomSim, IntercomSimConfig};
use serde_json::Value;
use tokio::sync::mpsc;

pub const TOKEN: &str = "sim-intercom-token";
pub const SECRET: &str = "sim-webhook-secret";

/// A running simulator and a client that sends the bearer token.
pub struct Sim {
    pub sim: IntercomSim,
    pub base: String,
    pub http: reqwest::Client,
}

impl Sim {
    pub async fn start() -> Sim {
        Self::start_with(IntercomSimConfig::default()).await
    }

    pub async fn start_with(config: IntercomSimConfig) -> Sim {
        let sim = IntercomSim::start(config).await.expect("simulator starts");
        let base = sim.base_url();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Sim { sim, base, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .header("Intercom-Version", "2.11")
    }

    pub fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .header("Intercom-Version", "2.11")
            .json(&body)
    }

    pub fn put(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http
            .put(self.url(path))
            .bearer_auth(TOKEN)
            .header("Intercom-Version", "2.11")
            .json(&body)
    }

    pub fn delete(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .delete(self.url(path))
            .bearer_auth(TOKEN)
            .header("Intercom-Version", "2.11")
    }

    /// Sends a control request without a token.
    pub async fn control(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn stats(&self) -> Value {
        let response = self.http.get(self.url("/_sim/stats")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Creates a contact and returns its body, failing the test on any status but 200.
    pub async fn create(&self, body: Value) -> Value {
        let response = self.post("/contacts", body).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "create failed: {body}");
        body
    }

    pub async fn stop(self) {
        self.sim.stop().await;
    }
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature: Option<String>,
    pub user_agent: Option<String>,
    pub raw: Vec<u8>,
    pub body: Value,
}

impl Delivery {
    pub fn topic(&self) -> &str {
        self.body["topic"].as_str().unwrap_or_default()
    }

    pub fn id(&self) -> &str {
        self.body["id"].as_str().unwrap_or_default()
    }
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Delivery>,
    /// Response statuses to send, in order, then 200 once the list is empty.
    script: Arc<Mutex<VecDeque<u16>>>,
}

/// A loopback webhook receiver.
pub struct Receiver {
    pub url: String,
    deliveries: mpsc::UnboundedReceiver<Delivery>,
    script: Arc<Mutex<VecDeque<u16>>>,
    server: actix_web::dev::ServerHandle,
}

async fn record(
    state: web::Data<ReceiverState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let delivery = Delivery {
        signature: header("X-Hub-Signature"),
        user_agent: header("User-Agent"),
        raw: body.to_vec(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    let _ = state.sender.send(delivery);
    let status = state.script.lock().unwrap().pop_front().unwrap_or(200);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (sender, deliveries) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let state = ReceiverState {
            sender,
            script: script.clone(),
        };
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(state.clone()))
                .default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let address = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Receiver {
            url: format!("http://{address}/hooks"),
            deliveries,
            script,
            server: handle,
        }
    }

    /// Makes the next deliveries get these statuses.
    pub fn answer_with(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    /// Waits up to two seconds for the next delivery.
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(2), self.deliveries.recv())
            .await
            .expect("a delivery arrives within two seconds")
            .expect("the receiver is running")
    }

    /// Waits for `wait` and returns true when no delivery arrived meanwhile.
    pub async fn stays_quiet(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.deliveries.recv())
            .await
            .is_err()
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

/// Subscribes a receiver with the default secret.
pub async fn subscribe(sim: &Sim, receiver: &Receiver) {
    let response = sim
        .control(
            "/_sim/webhooks",
            serde_json::json!({"url": receiver.url, "secret": SECRET}),
        )
        .await;
    assert_eq!(response.status(), 201);
}

/// Returns the keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect()
}
