//! Operator endpoints: sync errors and their retry, mappings, actions and the admin page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use intersync_fsm::{Event, IntercomId, IntercomRef, IntercomRole, PersonRef, State};
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use super::AppState;
use crate::actors::health::CheckNow;
use crate::actors::mapping::Apply;
use crate::actors::poller::PollNow;
use crate::actors::registry::Target;
use crate::connectors::intercom::ContactRole;
use crate::store::{MappingId, SyncError};
use crate::sync::intercom_events::person_change;

/// Rows of one page of a listing, at most.
const MAX_PAGE: usize = 500;

#[derive(Deserialize)]
pub struct Page {
    /// The last id of the previous page.
    after: Option<u64>,
    limit: Option<usize>,
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": message.into()}))
}

pub async fn list_sync_errors(state: web::Data<AppState>, page: web::Query<Page>) -> HttpResponse {
    let limit = page.limit.unwrap_or(100).min(MAX_PAGE);
    match state.services.store.list_sync_errors(page.after, limit) {
        Ok(errors) => HttpResponse::Ok().json(json!({
            "sync_errors": errors,
            "total": state.services.store.sync_error_count().unwrap_or(0),
        })),
        Err(failure) => error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()),
    }
}

/// Asks the mapping of one sync error to retry its failed operation. The error is removed
/// by the mapping once the retry succeeds.
pub async fn retry_one(state: web::Data<AppState>, id: web::Path<u64>) -> HttpResponse {
    let id = id.into_inner();
    let sync_error = match state.services.store.get_sync_error(id) {
        Ok(Some(sync_error)) => sync_error,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("sync error {id} not found; list them with GET /sync-errors"),
            )
        }
        Err(failure) => return error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()),
    };
    match retry(&state, &sync_error).await {
        Ok(()) => HttpResponse::Accepted().json(json!({"retrying": [id]})),
        Err(message) => error(StatusCode::CONFLICT, message),
    }
}

pub async fn retry_all(state: web::Data<AppState>) -> HttpResponse {
    let mut retrying = Vec::new();
    let mut failed = Vec::new();
    let mut after = None;
    loop {
        let errors = match state.services.store.list_sync_errors(after, MAX_PAGE) {
            Ok(errors) => errors,
            Err(failure) => return error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()),
        };
        let Some(last) = errors.last() else {
            break;
        };
        after = Some(last.id);
        for sync_error in &errors {
            match retry(&state, sync_error).await {
                Ok(()) => retrying.push(sync_error.id),
                Err(message) => failed.push(json!({"id": sync_error.id, "error": message})),
            }
        }
    }
    HttpResponse::Accepted().json(json!({"retrying": retrying, "failed": failed}))
}

/// Retries every sync error whose cause ends with `needs_reauthorization`: the operations
/// that failed while the Salesforce connection was not authorized. Returns how many were
/// handed to their mappings.
pub(super) async fn retry_after_reauthorization(state: &AppState) -> usize {
    let mut retried = 0;
    let mut after = None;
    loop {
        let errors = match state.services.store.list_sync_errors(after, MAX_PAGE) {
            Ok(errors) => errors,
            Err(failure) => {
                warn!(%failure, "Failed to list sync errors to retry after re-authorization");
                return retried;
            }
        };
        let Some(last) = errors.last() else {
            return retried;
        };
        after = Some(last.id);
        for sync_error in &errors {
            if !sync_error.cause.ends_with("needs_reauthorization") {
                continue;
            }
            match retry(state, sync_error).await {
                Ok(()) => retried += 1,
                Err(message) => {
                    warn!(sync_error_id = sync_error.id, %message, "Failed to retry a sync error after re-authorization")
                }
            }
        }
    }
}

async fn retry(state: &AppState, sync_error: &SyncError) -> Result<(), String> {
    let Some(mapping_id) = sync_error.mapping_id else {
        return Err(format!(
            "sync error {} belongs to no mapping and cannot be retried",
            sync_error.id
        ));
    };
    info!(
        sync_error_id = sync_error.id,
        mapping_id, "Retrying a sync error"
    );
    state
        .router
        .apply(
            Target::Mapping(mapping_id),
            Apply::new(Event::RetryRequested),
        )
        .await
        .map_err(|failure| failure.to_string())
}

pub async fn list_mappings(state: web::Data<AppState>, page: web::Query<Page>) -> HttpResponse {
    let limit = page.limit.unwrap_or(100).min(MAX_PAGE);
    match state
        .services
        .store
        .list_mappings::<State>(page.after, limit)
    {
        Ok(mappings) => {
            let rows: Vec<_> = mappings
                .into_iter()
                .map(|mapping| {
                    json!({
                        "id": mapping.id,
                        "state": mapping.state.name(),
                        "intercom_id": mapping.index.intercom_id,
                        "salesforce_id": mapping.index.salesforce_id,
                        "keys": mapping.index.keys,
                    })
                })
                .collect();
            HttpResponse::Ok().json(json!({
                "mappings": rows,
                "total": state.services.store.mapping_count().unwrap_or(0),
            }))
        }
        Err(failure) => error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()),
    }
}

pub async fn get_mapping(state: web::Data<AppState>, id: web::Path<MappingId>) -> HttpResponse {
    let id = id.into_inner();
    let store = &state.services.store;
    match store.get_mapping::<State>(id) {
        Ok(Some(mapping)) => HttpResponse::Ok().json(json!({
            "id": mapping.id,
            "index": mapping.index,
            "state": mapping.state,
            "history": store.history(id).unwrap_or_default(),
        })),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("mapping {id} not found")),
        Err(failure) => error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string()),
    }
}

#[derive(Deserialize)]
pub struct CreateLead {
    intercom_id: String,
}

/// Creates a Salesforce Lead for an Intercom person: reads the contact first, so the
/// mapping knows its email and attributes, then asks its mapping to create the Lead.
pub async fn create_lead(state: web::Data<AppState>, body: web::Json<CreateLead>) -> HttpResponse {
    let Ok(id) = IntercomId::parse(&body.intercom_id) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("invalid Intercom contact id {:?}", body.intercom_id),
        );
    };
    if let Some(salesforce_id) = mapped_salesforce_id(&state, &id) {
        return error(
            StatusCode::CONFLICT,
            format!("Intercom contact {id} is already mapped to Salesforce record {salesforce_id}; no Lead is created"),
        );
    }
    let contact = match state.executor.intercom.get_contact(id.as_str()).await {
        Ok(contact) => contact,
        Err(failure) if failure.is_not_found() => {
            return error(
                StatusCode::NOT_FOUND,
                format!("Intercom contact {id} not found"),
            )
        }
        Err(failure) => return error(StatusCode::BAD_GATEWAY, failure.to_string()),
    };
    let person = IntercomRef {
        id,
        role: match contact.role {
            ContactRole::Lead => IntercomRole::Lead,
            ContactRole::User => IntercomRole::User,
        },
    };
    let target = Target::Person(PersonRef::Intercom(person.clone()));
    let json = serde_json::to_value(&contact).unwrap_or_default();
    let change = person_change(
        &person,
        &json,
        &state.services.attributes,
        contact.updated_at.timestamp(),
    );
    let steps = [Event::PersonUpdated(change), Event::CreateLeadRequested];
    for event in steps {
        if let Err(failure) = state.router.apply(target.clone(), Apply::new(event)).await {
            warn!(intercom_id = %person.id, %failure, "Create-Lead action failed");
            return error(StatusCode::INTERNAL_SERVER_ERROR, failure.to_string());
        }
    }
    HttpResponse::Accepted().json(json!({
        "status": "requested",
        "detail": "the Lead is created with the next Salesforce batch; GET /sync-errors lists a failure",
    }))
}

/// The Salesforce record an Intercom contact is mapped to, if any.
fn mapped_salesforce_id(state: &AppState, id: &IntercomId) -> Option<String> {
    let store = &state.services.store;
    let mapping_id = store.mapping_by_intercom_id(id.as_str()).ok()??;
    let mapping = store.get_mapping::<State>(mapping_id).ok()??;
    match mapping.state {
        State::Mapped(_) | State::Qualified(_) => mapping.index.salesforce_id,
        _ => None,
    }
}

/// Runs a Salesforce poll now and returns what it did.
pub async fn poll_now(state: web::Data<AppState>) -> HttpResponse {
    match state.poller.send(PollNow).await {
        Ok(Ok(report)) => HttpResponse::Ok().json(json!({
            "rows": report.rows,
            "applied": report.applied,
            "skipped": report.skipped,
            "failed": report.failed,
        })),
        Ok(Err(message)) => error(StatusCode::BAD_GATEWAY, message),
        Err(failure) => error(StatusCode::SERVICE_UNAVAILABLE, failure.to_string()),
    }
}

/// Runs a healthcheck now and returns its report.
pub async fn check_now(state: web::Data<AppState>) -> HttpResponse {
    match state.health.send(CheckNow).await {
        Ok(report) => HttpResponse::Ok().json(json!({
            "healthy": report.is_healthy(),
            "problems": report.findings,
        })),
        Err(failure) => error(StatusCode::SERVICE_UNAVAILABLE, failure.to_string()),
    }
}

/// The admin page: a summary and links to the JSON endpoints.
pub async fn page(state: web::Data<AppState>) -> HttpResponse {
    let status = super::status::collect(&state);
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>intersync</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td{{padding:.2em 1em}}</style></head><body>\
         <h1>intersync</h1><table>\
         <tr><td>healthy</td><td>{}</td></tr>\
         <tr><td>connection</td><td>{}</td></tr>\
         <tr><td>mappings</td><td>{}</td></tr>\
         <tr><td>inbox depth</td><td>{}</td></tr>\
         <tr><td>pending writes</td><td>{}</td></tr>\
         <tr><td>sync errors</td><td>{}</td></tr>\
         <tr><td>last poll</td><td>{}</td></tr></table>\
         <p><a href=\"/status\">status</a> · <a href=\"/metrics\">metrics</a> · \
         <a href=\"/mappings\">mappings</a> · <a href=\"/sync-errors\">sync errors</a></p>\
         </body></html>",
        status.healthy,
        serde_json::to_value(status.connection).unwrap_or_default().as_str().unwrap_or_default(),
        status.mappings,
        status.inbox_depth,
        status.pending_writes,
        status.sync_errors,
        status.last_poll_at.unwrap_or_else(|| "never".to_owned()),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}
