//! The demo's activity generator: creates, updates, email changes, deletes and Lead
//! conversions on both simulators at a modest rate, through their public APIs, the way
//! people working in both systems would.

use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{json, Map, Value};
use tracing::{info, warn};

use crate::connectors::salesforce::{MemoryCredentialStore, SalesforceClient, SalesforceConfig};
use crate::sandbox::{authorization_code, Sandbox};

const JOB_TITLES: &[&str] = &[
    "CTO",
    "Head of Sales",
    "Engineer",
    "Designer",
    "Founder",
    "Analyst",
];

/// Clients and the ids the generator picks from.
pub struct Activity {
    http: reqwest::Client,
    intercom_url: String,
    intercom_token: String,
    salesforce_control: String,
    salesforce: SalesforceClient,
    contacts: Vec<String>,
    leads: Vec<String>,
    /// Intercom and Salesforce ids of mapped people, read from the server, so most changes
    /// are ones that sync.
    mapped: Vec<(String, String)>,
    server_url: String,
    contact_records: Vec<String>,
    rng: StdRng,
    counter: u64,
}

impl Activity {
    /// Connects to both simulators and reads the ids of existing people.
    pub async fn connect(sandbox: &Sandbox) -> anyhow::Result<Activity> {
        let config = &sandbox.config;
        let mut settings = SalesforceConfig::new(
            config.salesforce.login_url.clone(),
            config.salesforce.client_id.clone(),
            config.salesforce.client_secret.clone(),
        );
        settings.call_options_client = Some("demo-activity".to_owned());
        let salesforce =
            SalesforceClient::new(settings, Arc::new(MemoryCredentialStore::default()))?;
        let redirect = "http://127.0.0.1/activity";
        let code = authorization_code(
            &sandbox.http,
            &config.salesforce.login_url,
            &config.salesforce.client_id,
            redirect,
        )
        .await?;
        salesforce.exchange_code(&code, redirect).await?;

        let mut activity = Activity {
            http: sandbox.http.clone(),
            intercom_url: config.intercom.base_url.clone(),
            intercom_token: config.intercom.access_token.expose().to_owned(),
            salesforce_control: format!("{}/_sim", config.salesforce.login_url),
            salesforce,
            contacts: Vec::new(),
            leads: Vec::new(),
            mapped: Vec::new(),
            server_url: sandbox.server.url(),
            contact_records: Vec::new(),
            rng: StdRng::seed_from_u64(7),
            counter: 0,
        };
        activity.refresh_ids().await?;
        Ok(activity)
    }

    async fn refresh_ids(&mut self) -> anyhow::Result<()> {
        let list: Value = self
            .intercom(reqwest::Method::GET, "/contacts?per_page=150", None)
            .await?;
        self.contacts = list["data"]
            .as_array()
            .map(|data| {
                data.iter()
                    .filter_map(|contact| contact["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let leads = self
            .salesforce
            .query("SELECT Id FROM Lead WHERE IsConverted = false LIMIT 200")
            .await?;
        self.leads = leads.into_iter().map(|record| record.id).collect();
        let contacts = self
            .salesforce
            .query("SELECT Id FROM Contact LIMIT 200")
            .await?;
        self.contact_records = contacts.into_iter().map(|record| record.id).collect();
        let mappings: Value = self
            .http
            .get(format!("{}/mappings?limit=500", self.server_url))
            .send()
            .await?
            .json()
            .await?;
        self.mapped = mappings["mappings"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter(|row| row["state"] == "mapped")
                    .filter_map(|row| {
                        let intercom = row["intercom_id"].as_str()?;
                        let salesforce = row["salesforce_id"].as_str()?;
                        Some((intercom.to_owned(), salesforce.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(())
    }

    async fn intercom(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.intercom_url))
            .bearer_auth(&self.intercom_token)
            .header("Intercom-Version", "2.11");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!("Intercom {path} answered {status}: {body}");
        }
        Ok(body)
    }

    fn pick(&mut self, ids: &[String]) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        Some(ids[self.rng.random_range(0..ids.len())].clone())
    }

    /// Picks the Intercom (`side` 0) or Salesforce (`side` 1) id of a mapped person, most of
    /// the time, so the change has somewhere to sync to.
    fn pick_mapped(&mut self, side: usize) -> Option<String> {
        if self.mapped.is_empty() || self.rng.random_range(0..10) < 2 {
            return None;
        }
        let (intercom, salesforce) = &self.mapped[self.rng.random_range(0..self.mapped.len())];
        Some(if side == 0 {
            intercom.clone()
        } else {
            salesforce.clone()
        })
    }

    /// Makes one random change on one side.
    pub async fn step(&mut self) -> anyhow::Result<()> {
        self.counter += 1;
        if self.counter % 50 == 0 {
            self.refresh_ids().await?;
        }
        let roll = self.rng.random_range(0..100);
        let phone = format!("+1 555 {:04}", self.rng.random_range(0..10_000));
        let title = JOB_TITLES[self.rng.random_range(0..JOB_TITLES.len())];
        match roll {
            0..30 => {
                let contacts = self.contacts.clone();
                let Some(id) = self.pick_mapped(0).or_else(|| self.pick(&contacts)) else {
                    return Ok(());
                };
                self.intercom(
                    reqwest::Method::PUT,
                    &format!("/contacts/{id}"),
                    Some(json!({
                        "phone": phone,
                        "custom_attributes": {"job_title": title},
                    })),
                )
                .await?;
                info!(intercom_id = %id, %phone, title, "Demo: updated an Intercom contact");
            }
            30..60 => {
                let leads = self.leads.clone();
                let Some(id) = self.pick_mapped(1).or_else(|| self.pick(&leads)) else {
                    return Ok(());
                };
                let object = if id.starts_with("003") {
                    "Contact"
                } else {
                    "Lead"
                };
                let mut fields = Map::new();
                fields.insert("Phone".to_owned(), Value::from(phone.clone()));
                fields.insert("Title".to_owned(), Value::from(title));
                self.salesforce.update(object, &id, &fields).await?;
                info!(salesforce_id = %id, object, %phone, title, "Demo: updated a Salesforce record");
            }
            60..72 => {
                let email = format!("demo.person{}@example.org", self.counter);
                let created = self
                    .intercom(
                        reqwest::Method::POST,
                        "/contacts",
                        Some(json!({
                            "role": "user",
                            "email": email,
                            "name": format!("Demo Person {}", self.counter),
                        })),
                    )
                    .await?;
                if let Some(id) = created["id"].as_str() {
                    self.contacts.push(id.to_owned());
                    info!(intercom_id = id, %email, "Demo: created an Intercom user");
                }
            }
            72..82 => {
                let email = format!("demo.lead{}@example.org", self.counter);
                let mut fields = Map::new();
                fields.insert(
                    "LastName".to_owned(),
                    Value::from(format!("Lead {}", self.counter)),
                );
                fields.insert("Company".to_owned(), Value::from("Demo Company"));
                fields.insert("Email".to_owned(), Value::from(email.clone()));
                let id = self.salesforce.create("Lead", &fields).await?;
                info!(salesforce_id = %id, %email, "Demo: created a Salesforce Lead");
                self.leads.push(id);
            }
            82..90 => {
                let Some(id) = self.pick(&self.contacts.clone()) else {
                    return Ok(());
                };
                let email = format!("changed{}@example.net", self.counter);
                self.intercom(
                    reqwest::Method::PUT,
                    &format!("/contacts/{id}"),
                    Some(json!({"email": email})),
                )
                .await?;
                info!(intercom_id = %id, %email, "Demo: changed an Intercom email");
            }
            90..95 => {
                let leads = self.leads.clone();
                let Some(id) = self.pick(&leads) else {
                    return Ok(());
                };
                let response = self
                    .http
                    .post(format!("{}/leads/{id}/convert", self.salesforce_control))
                    .json(&json!({}))
                    .send()
                    .await?;
                if response.status().is_success() {
                    self.leads.retain(|lead| lead != &id);
                    info!(salesforce_id = %id, "Demo: converted a Salesforce Lead");
                } else {
                    warn!(salesforce_id = %id, status = response.status().as_u16(), "Demo: the Lead conversion was rejected");
                }
            }
            _ => {
                let Some(id) = self.pick(&self.contacts.clone()) else {
                    return Ok(());
                };
                self.intercom(
                    reqwest::Method::POST,
                    &format!("/contacts/{id}/archive"),
                    None,
                )
                .await?;
                self.contacts.retain(|contact| contact != &id);
                info!(intercom_id = %id, "Demo: archived an Intercom contact");
            }
        }
        Ok(())
    }

    /// Makes a change every `period` until the task is dropped.
    pub async fn run(mut self, period: Duration) {
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            if let Err(error) = self.step().await {
                warn!(%error, "Demo activity step failed");
            }
        }
    }
}
