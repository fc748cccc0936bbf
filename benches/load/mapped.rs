//! A seeded sandbox whose people are already mapped, as a finished earlier sync leaves them.
//!
//! The initial sync would map them too, but each of its look-ups searches the Intercom
//! simulator, whose search scans every contact, so mapping tens of thousands of people that
//! way takes many minutes. Writing the mappings through the server's own store is quick and
//! gives the actors the same states to load.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context as _;
use intersync::actors::mapping::index_of;
use intersync::actors::poller::InitialSync;
use intersync::config::Config;
use intersync::connectors::salesforce::{
    MemoryCredentialStore, RecordUpdate, SalesforceClient, SalesforceConfig, COLLECTION_LIMIT,
};
use intersync::sandbox::{Sandbox, SandboxOptions};
use intersync::sync::attributes::AttributeMap;
use intersync_fsm::{
    Attributes, IntercomId, IntercomRef, IntercomRole, Mapping, MappingKey, SalesforceId,
    SalesforceObject, SalesforceRef, SideRecord, State, Timestamp,
};
use serde_json::{json, Map, Value};
use tracing::info;

/// Mappings per write transaction.
const WRITE_CHUNK: usize = 10_000;

/// A running sandbox and the Intercom contacts of its mapped people, as the API returns them.
pub struct MappedSandbox {
    pub sandbox: Sandbox,
    pub contacts: Vec<Value>,
}

/// Starts a sandbox with `people` on both sides and stores a mapping for every person. No
/// poll runs before the mappings are stored, because the first poll reads the rows of the
/// last two minutes (the overlap window) and would map the seeded people itself.
pub async fn start(people: usize, configure: fn(&mut Config)) -> anyhow::Result<MappedSandbox> {
    let mut options = SandboxOptions::new(crate::fresh_dir("e2e")?);
    options.people = people;
    options.overlap = 1.0;
    options.initial_sync = InitialSync::FromNow;
    options.poll_automatically = false;
    options.configure = configure;
    let sandbox = Sandbox::start(options).await?;

    let contacts = crate::e2e::intercom_contacts(&sandbox, usize::MAX).await?;
    let contacts = store_mappings(&sandbox, &contacts).await?;
    info!(people, mapped = contacts.len(), "Mapped sandbox started");
    Ok(MappedSandbox { sandbox, contacts })
}

/// Stores a mapping for every Salesforce record whose email matches an Intercom contact, and
/// returns the mapped contacts. Generated people may share an email, and only the first
/// record of each email and of each contact is mapped.
async fn store_mappings(sandbox: &Sandbox, contacts: &[Value]) -> anyhow::Result<Vec<Value>> {
    let services = &sandbox.server.state.services;
    let attributes = &services.attributes;
    let by_key: HashMap<String, &Value> = contacts
        .iter()
        .filter_map(|contact| {
            let key = MappingKey::normalize(contact["email"].as_str()?).ok()?;
            Some((key.as_str().to_owned(), contact))
        })
        .collect();

    let client = salesforce_client(sandbox).await?;
    let mut fields = vec!["Id", "SystemModstamp"];
    fields.extend(attributes.salesforce_select_fields());
    fields.dedup();
    let mut states = Vec::new();
    let mut mapped_contacts = Vec::new();
    let mut used_keys = HashSet::new();
    let mut used_contacts = HashSet::new();
    for object in [SalesforceObject::Lead, SalesforceObject::Contact] {
        let name = object_name(object);
        let soql = format!("SELECT {} FROM {name}", fields.join(", "));
        let records = client
            .query(&soql)
            .await
            .with_context(|| format!("reading the seeded {name} records failed"))?;
        for record in records {
            let Some(email) = record.get("Email").and_then(Value::as_str) else {
                continue;
            };
            let Ok(key) = MappingKey::normalize(email) else {
                continue;
            };
            let Some(contact) = by_key.get(key.as_str()) else {
                continue;
            };
            let contact_id = contact["id"].as_str().unwrap_or_default().to_owned();
            if !used_keys.insert(key.as_str().to_owned()) || !used_contacts.insert(contact_id) {
                continue;
            }
            mapped_contacts.push((*contact).clone());
            states.push(mapped_state(
                attributes,
                contact,
                &record.id,
                object,
                &record.fields,
                key,
            )?);
        }
    }

    let store = &services.store;
    for chunk in states.chunks(WRITE_CHUNK) {
        store
            .write("store the benchmark's mappings", |txn| {
                for state in chunk {
                    txn.create_mapping(&index_of(state), state)?;
                }
                Ok(())
            })
            .context("storing the benchmark's mappings failed")?;
    }
    Ok(mapped_contacts)
}

/// Builds the state of a mapped person: each side's values as read, and the values both
/// sides share as synced. An attribute whose sides differ counts the Salesforce value as
/// synced.
fn mapped_state(
    attributes: &AttributeMap,
    contact: &Value,
    salesforce_id: &str,
    object: SalesforceObject,
    record: &Map<String, Value>,
    key: MappingKey,
) -> anyhow::Result<State> {
    let intercom_values = attributes.read_intercom(contact);
    let salesforce_values = attributes.read_salesforce(record);
    let synced: Attributes = salesforce_values.clone();
    let modstamp = record
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .and_then(|stamp| chrono::DateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%S%.3f%z").ok())
        .map_or(0, |stamp| stamp.timestamp_millis());
    let id = contact["id"].as_str().unwrap_or_default();
    Ok(State::Mapped(Mapping {
        intercom: IntercomRef {
            id: IntercomId::parse(id)?,
            role: IntercomRole::User,
        },
        salesforce: SalesforceRef {
            id: SalesforceId::parse(salesforce_id)?,
            object,
        },
        key,
        intercom_side: SideRecord {
            read: intercom_values,
            written: Attributes::new(),
            seen_at: Timestamp::from_secs(contact["updated_at"].as_i64().unwrap_or(0)),
        },
        salesforce_side: SideRecord {
            read: salesforce_values,
            written: Attributes::new(),
            seen_at: Timestamp::from_millis(modstamp),
        },
        synced,
        failure: None,
    }))
}

/// Sets a new phone number on the first `count` Leads and Contacts, 200 records per
/// sObject Collections call. Returns how many records changed.
pub async fn change_salesforce_records(sandbox: &Sandbox, count: usize) -> anyhow::Result<usize> {
    let client = salesforce_client(sandbox).await?;
    let mut changed = 0;
    for object in [SalesforceObject::Lead, SalesforceObject::Contact] {
        let name = object_name(object);
        let records = client
            .query(&format!("SELECT Id FROM {name} LIMIT {}", count - changed))
            .await?;
        for chunk in records.chunks(COLLECTION_LIMIT) {
            let updates: Vec<RecordUpdate> = chunk
                .iter()
                .map(|record| RecordUpdate {
                    id: record.id.clone(),
                    fields: json!({"Phone": format!("+1 555 {changed:07}")})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect();
            client.collections_update(name, &updates, false).await?;
            changed += chunk.len();
        }
        if changed >= count {
            break;
        }
    }
    Ok(changed)
}

fn object_name(object: SalesforceObject) -> &'static str {
    match object {
        SalesforceObject::Lead => "Lead",
        SalesforceObject::Contact => "Contact",
    }
}

/// Creates a Salesforce client of the benchmark's own, authorized through the simulator's
/// OAuth web flow.
pub async fn salesforce_client(sandbox: &Sandbox) -> anyhow::Result<SalesforceClient> {
    let config = &sandbox.config.salesforce;
    let redirect = "http://127.0.0.1/loadbench";
    let response = crate::control_http()
        .get(format!("{}/services/oauth2/authorize", config.login_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", config.client_id.as_str()),
            ("redirect_uri", redirect),
        ])
        .send()
        .await?;
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .context("the Salesforce simulator's authorize endpoint did not redirect")?;
    let code = reqwest::Url::parse(location)?
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, value)| value.into_owned())
        .context("the authorize redirect carries no code")?;
    let mut settings = SalesforceConfig::new(
        config.login_url.clone(),
        config.client_id.clone(),
        config.client_secret.clone(),
    );
    settings.call_options_client = Some("loadbench".to_owned());
    let client = SalesforceClient::new(settings, Arc::new(MemoryCredentialStore::default()))?;
    client.exchange_code(&code, redirect).await?;
    Ok(client)
}
