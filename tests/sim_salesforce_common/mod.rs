//! Shared set-up for the Salesforce simulator tests: start a simulator and run the OAuth web
//! flow the way a connected app does.

#![allow(dead_code)]

use intersync::sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use reqwest::header::LOCATION;
use serde_json::{json, Value};

pub const REDIRECT_URI: &str = "http://127.0.0.1:1/callback";

/// A running simulator with a client authorised through the OAuth web flow.
pub struct Session {
    pub sim: SalesforceSim,
    pub http: reqwest::Client,
    pub access_token: String,
    pub refresh_token: String,
    pub instance_url: String,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build the HTTP client")
}

pub async fn start() -> Session {
    start_with(SalesforceSimConfig::default()).await
}

pub async fn start_with(config: SalesforceSimConfig) -> Session {
    let sim = SalesforceSim::start(config)
        .await
        .expect("start the simulator");
    let http = client();
    let token = authorize(&http, &sim.login_url()).await;
    Session {
        instance_url: token["instance_url"].as_str().unwrap().to_string(),
        access_token: token["access_token"].as_str().unwrap().to_string(),
        refresh_token: token["refresh_token"].as_str().unwrap().to_string(),
        sim,
        http,
    }
}

/// Runs the authorize redirect and the code exchange and returns the token response.
pub async fn authorize(http: &reqwest::Client, login_url: &str) -> Value {
    let code = authorization_code(http, login_url).await;
    let response = post_form(
        http,
        &format!("{login_url}/services/oauth2/token"),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "sim-client-id"),
            ("client_secret", "sim-client-secret"),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

pub async fn authorization_code(http: &reqwest::Client, login_url: &str) -> String {
    let response = http
        .get(format!("{login_url}/services/oauth2/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", "sim-client-id"),
            ("redirect_uri", REDIRECT_URI),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()[LOCATION].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    params
        .into_iter()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
}

pub async fn post_form(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http.post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap()
}

impl Session {
    pub fn data_url(&self, path: &str) -> String {
        format!("{}/services/data/v60.0{path}", self.instance_url)
    }

    /// Sends a data API call with the session's token and returns status, headers and body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, self.data_url(path))
            .bearer_auth(&self.access_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, headers, body)
    }

    pub async fn query(&self, soql: &str) -> (u16, Value) {
        let encoded = serde_urlencoded::to_string([("q", soql)]).unwrap();
        let (status, _, body) = self.call("GET", &format!("/query?{encoded}"), None).await;
        (status, body)
    }

    /// Sends a control API call to the login host.
    pub async fn control(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = self
            .http
            .request(method, format!("{}/_sim{path}", self.sim.login_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn create_lead(&self, fields: Value) -> String {
        let (status, _, body) = self.call("POST", "/sobjects/Lead", Some(fields)).await;
        assert_eq!(status, 201, "create failed: {body}");
        body["id"].as_str().unwrap().to_string()
    }
}

pub fn lead(last_name: &str, email: &str) -> Value {
    json!({ "LastName": last_name, "Company": "Acme", "Email": email })
}
