//! The control API under `/_sim`: reset, seed, statistics, realism knobs, lead conversion,
//! describe edits, token revocation and undelete.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::describe::FieldPatch;
use super::error::{ApiError, ApiResult};
use super::faults::KnobsPatch;
use super::http::{lock, SharedState};
use super::ids::{normalize_id, SObjectType};
use super::state::SimState;
use crate::sim::people::{generate_people, split_people, Person};

pub fn routes(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/_sim")
            .route("/reset", web::post().to(reset))
            .route("/seed", web::post().to(seed))
            .route("/stats", web::get().to(stats))
            .route("/faults", web::get().to(get_faults))
            .route("/faults", web::post().to(set_faults))
            .route("/leads/{id}/convert", web::post().to(convert))
            .route(
                "/describe/{object}/{field}",
                web::patch().to(patch_describe),
            )
            .route("/oauth/revoke", web::post().to(revoke))
            .route("/records/{id}/undelete", web::post().to(undelete)),
    );
}

async fn reset(state: SharedState) -> HttpResponse {
    lock(&state).reset();
    tracing::info!("Reset the Salesforce simulator");
    HttpResponse::Ok().json(json!({ "reset": true }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    people: usize,
    #[serde(default = "default_overlap")]
    overlap: f64,
    #[serde(default)]
    seed: u64,
}

fn default_overlap() -> f64 {
    0.5
}

async fn seed(state: SharedState, body: web::Bytes) -> HttpResponse {
    let request: SeedRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return bad_request(format!("invalid seed request: {error}; expected {{\"people\": N, \"overlap\": 0.5, \"seed\": 42}}")),
    };
    let split = match split_people(
        generate_people(request.people, request.seed),
        request.overlap,
        request.seed,
    ) {
        Ok(split) => split,
        Err(error) => return bad_request(error.to_string()),
    };
    let people: Vec<Person> = split
        .salesforce_only
        .into_iter()
        .chain(split.both)
        .collect();
    let mut state = lock(&state);
    match seed_people(&mut state, &people) {
        Ok(counts) => {
            tracing::info!(
                people = people.len(),
                seed = request.seed,
                "Seeded the Salesforce simulator"
            );
            HttpResponse::Ok().json(counts)
        }
        Err(error) => bad_request(format!("seeding failed: {error}")),
    }
}

/// Creates the Salesforce side of the seeded people: every fourth person becomes a Contact
/// under an Account named after the company, the rest become Leads. Seeded records are
/// visible at once, whatever the commit delay.
fn seed_people(state: &mut SimState, people: &[Person]) -> ApiResult<Value> {
    let commit_delay = std::mem::take(&mut state.knobs.commit_delay_ms);
    let result = (|| {
        let mut accounts: HashMap<String, String> = HashMap::new();
        let (mut leads, mut contacts) = (0, 0);
        for (index, person) in people.iter().enumerate() {
            let mut fields = json!({
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Email": person.email,
                "Phone": person.phone,
                "Title": person.title,
            });
            if index % 4 == 3 {
                let account_id = match accounts.get(&person.company) {
                    Some(id) => id.clone(),
                    None => {
                        let id = state.create_record(
                            SObjectType::Account,
                            &json!({ "Name": person.company }),
                        )?;
                        accounts.insert(person.company.clone(), id.clone());
                        id
                    }
                };
                fields["AccountId"] = json!(account_id);
                state.create_record(SObjectType::Contact, &fields)?;
                contacts += 1;
            } else {
                fields["Company"] = json!(person.company);
                state.create_record(SObjectType::Lead, &fields)?;
                leads += 1;
            }
        }
        Ok(json!({ "leads": leads, "contacts": contacts, "accounts": accounts.len() }))
    })();
    state.knobs.commit_delay_ms = commit_delay;
    result
}

async fn stats(state: SharedState) -> HttpResponse {
    let state = lock(&state);
    let records: serde_json::Map<String, Value> = SObjectType::ALL
        .into_iter()
        .map(|object| {
            let (live, deleted) = state.store.count(object);
            (
                object.name().to_string(),
                json!({ "live": live, "deleted": deleted }),
            )
        })
        .collect();
    HttpResponse::Ok().json(json!({
        "api_calls": state.calls,
        "api_usage": state.api_usage,
        "daily_api_limit": state.knobs.daily_api_limit,
        "records": records,
        "faults_injected": state.faults_injected,
        "open_query_locators": state.cursors.len(),
    }))
}

async fn get_faults(state: SharedState) -> HttpResponse {
    HttpResponse::Ok().json(&lock(&state).knobs)
}

async fn set_faults(state: SharedState, body: web::Bytes) -> HttpResponse {
    let patch: KnobsPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(error) => return bad_request(format!("invalid faults request: {error}")),
    };
    let mut state = lock(&state);
    if let Err(message) = state.knobs.apply(patch) {
        return bad_request(message);
    }
    tracing::info!(knobs = ?state.knobs, "Changed the Salesforce simulator's knobs");
    HttpResponse::Ok().json(&state.knobs)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvertRequest {
    /// An existing Account to attach the Contact to instead of creating one.
    account_id: Option<String>,
    /// An existing Contact to merge the Lead into instead of creating one.
    contact_id: Option<String>,
}

async fn convert(state: SharedState, path: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let request: ConvertRequest = if body.is_empty() {
        ConvertRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => return bad_request(format!("invalid convert request: {error}")),
        }
    };
    let mut state = lock(&state);
    match convert_lead(&mut state, &path, &request) {
        Ok(result) => HttpResponse::Ok().json(result),
        Err(error) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(error.status).unwrap_or_default(),
        )
        .json(error.to_rest_body()),
    }
}

/// Converts a Lead the way `convertLead` does: creates or reuses the Account and Contact,
/// then marks the Lead converted, which moves its `SystemModstamp`.
fn convert_lead(state: &mut SimState, lead_id: &str, request: &ConvertRequest) -> ApiResult<Value> {
    let lead = state.live_record(Some(SObjectType::Lead), lead_id)?.clone();
    if lead.fields.get("IsConverted") == Some(&Value::Bool(true)) {
        return Err(ApiError::new(
            400,
            "CANNOT_UPDATE_CONVERTED_LEAD",
            "cannot reference converted lead",
        ));
    }
    let field = |name: &str| lead.fields.get(name).cloned().unwrap_or(Value::Null);

    let account_id = match &request.account_id {
        Some(id) => state
            .live_record(Some(SObjectType::Account), id)?
            .id()
            .to_string(),
        None => state.create_record(SObjectType::Account, &json!({ "Name": field("Company") }))?,
    };
    let contact_fields = json!({
        "FirstName": field("FirstName"),
        "LastName": field("LastName"),
        "Email": field("Email"),
        "Phone": field("Phone"),
        "Title": field("Title"),
        "LeadSource": field("LeadSource"),
        "HasOptedOutOfEmail": field("HasOptedOutOfEmail"),
        "AccountId": account_id,
    });
    let contact_id = match &request.contact_id {
        Some(id) => {
            let existing = state.live_record(Some(SObjectType::Contact), id)?.clone();
            // Merging into an existing Contact fills only its empty fields.
            let mut updates = serde_json::Map::new();
            for (name, value) in contact_fields.as_object().into_iter().flatten() {
                let empty = existing.fields.get(name).map_or(true, Value::is_null);
                if empty && !value.is_null() {
                    updates.insert(name.clone(), value.clone());
                }
            }
            state.update_record(Some(SObjectType::Contact), id, &Value::Object(updates))?;
            existing.id().to_string()
        }
        None => state.create_record(SObjectType::Contact, &strip_nulls(contact_fields))?,
    };

    let mut converted = lead.clone();
    let now = state.now();
    converted
        .fields
        .insert("IsConverted".to_string(), json!(true));
    converted
        .fields
        .insert("ConvertedAccountId".to_string(), json!(account_id));
    converted
        .fields
        .insert("ConvertedContactId".to_string(), json!(contact_id));
    converted.fields.insert(
        "ConvertedDate".to_string(),
        json!(now.format("%Y-%m-%d").to_string()),
    );
    converted
        .fields
        .insert("Status".to_string(), json!("Qualified"));
    converted.modstamp = now;
    converted.visible_at = state.commit_instant();
    state.save(converted);
    tracing::info!(lead_id = %lead.id(), contact_id = %contact_id, account_id = %account_id, "Converted a lead");
    Ok(json!({
        "leadId": lead.id(),
        "contactId": contact_id,
        "accountId": account_id,
        "success": true,
    }))
}

fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, value)| !value.is_null())
                .collect(),
        ),
        other => other,
    }
}

async fn patch_describe(
    state: SharedState,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (object_name, field_name) = path.into_inner();
    let patch: FieldPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(error) => return bad_request(format!("invalid describe patch: {error}")),
    };
    let Some(object) = SObjectType::from_name(&object_name) else {
        return not_found(format!(
            "unknown object {object_name}; expected Lead, Contact, Account, Task or Case"
        ));
    };
    let mut state = lock(&state);
    match state.schema.patch_field(object, &field_name, &patch) {
        Some(field) => {
            state.schema_changed_at = state.now();
            tracing::info!(object = %object, field = %field_name, "Changed a field's describe flags");
            HttpResponse::Ok().json(field)
        }
        None => not_found(format!("unknown field {field_name} on {object}")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeRequest {
    /// An access or refresh token; without it every token is revoked.
    token: Option<String>,
}

async fn revoke(state: SharedState, body: web::Bytes) -> HttpResponse {
    let request: RevokeRequest = if body.is_empty() {
        RevokeRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => return bad_request(format!("invalid revoke request: {error}")),
        }
    };
    let mut state = lock(&state);
    let revoked = match &request.token {
        Some(token) => usize::from(state.oauth.revoke(token)),
        None => state.oauth.revoke_all(),
    };
    tracing::info!(revoked, "Revoked OAuth tokens");
    HttpResponse::Ok().json(json!({ "revoked": revoked }))
}

async fn undelete(state: SharedState, path: web::Path<String>) -> HttpResponse {
    let mut state = lock(&state);
    if normalize_id(&path).is_none() {
        return bad_request(format!(
            "invalid record id {}: expected 15 or 18 characters",
            path.as_str()
        ));
    }
    match state.undelete_record(&path) {
        Ok(()) => HttpResponse::Ok().json(json!({ "id": normalize_id(&path), "success": true })),
        Err(error) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(error.status).unwrap_or_default(),
        )
        .json(error.to_rest_body()),
    }
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "error": message }))
}

fn not_found(message: String) -> HttpResponse {
    HttpResponse::NotFound().json(json!({ "error": message }))
}
