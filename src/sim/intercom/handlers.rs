//! The REST endpoints: `/me`, contacts and data attributes, with the bodies Intercom returns.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::contact::{now_ms, Contact, ContactStub};
use super::error::ApiError;
use super::search::{self, Cursor, Filter, Sort};
use super::state::{ApiVersion, SimState};
use super::stats::Endpoint;
use super::store::{ContactFields, MergeError, UpdateError};
use super::webhooks::{self, Notification, NotificationItem};

type Result<T> = std::result::Result<T, ApiError>;

/// Registers the REST routes.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/me", web::get().to(me))
        .route("/contacts", web::post().to(create_contact))
        .route("/contacts", web::get().to(list_contacts))
        .route("/contacts/search", web::post().to(search_contacts))
        .route("/contacts/merge", web::post().to(merge_contacts))
        .route(
            "/contacts/find_by_external_id/{external_id}",
            web::get().to(find_by_external_id),
        )
        .route("/contacts/{id}", web::get().to(get_contact))
        .route("/contacts/{id}", web::put().to(update_contact))
        .route("/contacts/{id}", web::delete().to(delete_contact))
        .route("/contacts/{id}/archive", web::post().to(archive_contact))
        .route(
            "/contacts/{id}/unarchive",
            web::post().to(unarchive_contact),
        )
        .route("/data_attributes", web::get().to(list_data_attributes))
        .route("/data_attributes", web::post().to(create_data_attribute))
        .route(
            "/data_attributes/{id}",
            web::put().to(update_data_attribute),
        );
}

fn version(request: &HttpRequest, state: &SimState) -> ApiVersion {
    request
        .headers()
        .get("Intercom-Version")
        .and_then(|v| v.to_str().ok())
        .and_then(ApiVersion::parse)
        .or_else(|| ApiVersion::parse(&state.config.default_api_version))
        .unwrap_or(ApiVersion(2, 11))
}

/// Parses a request body that must be a JSON object.
pub fn json_object(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::bad_request(format!(
            "Invalid request body {other}: expected a JSON object"
        ))),
        Err(error) => Err(ApiError::bad_request(format!(
            "Invalid JSON in request body: {error}"
        ))),
    }
}

fn json_response<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(serde_json::to_vec(body).expect("response bodies serialize"))
}

fn contact_response(state: &SimState, contact: &Contact) -> HttpResponse {
    json_response(&contact.to_rest(&state.config.workspace_id))
}

async fn emit_all(state: &SimState, notifications: impl IntoIterator<Item = Notification>) {
    for notification in notifications {
        state.emitter.emit(notification).await;
    }
}

async fn me(state: web::Data<SimState>) -> HttpResponse {
    state.api_stats.count(Endpoint::Me);
    let workspace = &state.config.workspace_id;
    json_response(&json!({
        "type": "admin",
        "id": "991200001",
        "email": "operator@intersync.invalid",
        "name": "Simulator Operator",
        "email_verified": true,
        "app": {
            "type": "app",
            "id_code": workspace,
            "name": "intersync simulator",
            "created_at": 1_700_000_000,
            "secure": false,
            "identity_verification": false,
            "timezone": "UTC",
            "region": "US"
        },
        "avatar": {"type": "avatar", "image_url": null},
        "has_inbox_seat": true
    }))
}

async fn create_contact(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsCreate);
    let fields = ContactFields::from_json(&json_object(&body)?)?;
    if let Some(values) = &fields.custom_attributes {
        state.attributes().validate_contact_values(values)?;
    }
    let delay = state.faults().search_index_delay_ms as i64;

    let contact = state.contacts().create(fields, now_ms(), delay)?;

    if state.emitter.has_receivers() {
        let topic = webhooks::created_topic(&contact);
        state
            .emitter
            .emit(Notification::contact(topic, &contact))
            .await;
    }
    Ok(contact_response(&state, &contact))
}

async fn get_contact(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsGet);
    let store = state.contacts();
    match store.get(&id) {
        Ok(contact) => Ok(contact_response(&state, contact)),
        Err(error) => Err(version(&request, &state).lookup_error(error, &state.base_url)),
    }
}

async fn find_by_external_id(
    state: web::Data<SimState>,
    external_id: web::Path<String>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsFindByExternalId);
    let store = state.contacts();
    let contact = store
        .find_user_by_external_id(&external_id)
        .ok_or_else(ApiError::contact_not_found)?;
    Ok(contact_response(&state, contact))
}

async fn update_contact(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsUpdate);
    let fields = ContactFields::from_json(&json_object(&body)?)?;
    if let Some(values) = &fields.custom_attributes {
        state.attributes().validate_contact_values(values)?;
    }
    let delay = state.faults().search_index_delay_ms as i64;

    let result = state.contacts().update(&id, fields, now_ms(), delay);
    let (before, after) = result.map_err(|error| match error {
        UpdateError::Lookup(error) => {
            version(&request, &state).lookup_error(error, &state.base_url)
        }
        UpdateError::Api(error) => error,
    })?;

    if before != after && state.emitter.has_receivers() {
        let topics = webhooks::update_topics(&before, &after);
        emit_all(
            &state,
            topics.into_iter().map(|t| Notification::contact(t, &after)),
        )
        .await;
    }
    Ok(contact_response(&state, &after))
}

async fn delete_contact(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsDelete);
    let result = state.contacts().delete(&id);
    let contact =
        result.map_err(|error| version(&request, &state).lookup_error(error, &state.base_url))?;

    let stub = ContactStub::deleted(&contact);
    if state.emitter.has_receivers() {
        let item = NotificationItem::Stub(stub.clone());
        state
            .emitter
            .emit(Notification::new("contact.deleted", item))
            .await;
    }
    Ok(json_response(&stub))
}

async fn archive_contact(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsArchive);
    set_archived(state, request, &id, true).await
}

async fn unarchive_contact(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsUnarchive);
    set_archived(state, request, &id, false).await
}

async fn set_archived(
    state: web::Data<SimState>,
    request: HttpRequest,
    id: &str,
    archived: bool,
) -> Result<HttpResponse> {
    let result = state.contacts().set_archived(id, archived, now_ms());
    let (contact, changed) =
        result.map_err(|error| version(&request, &state).lookup_error(error, &state.base_url))?;

    let stub = ContactStub::archived(&contact, archived);
    if changed && state.emitter.has_receivers() {
        // Intercom spells the unarchive topic without the trailing "d".
        let topic = if archived {
            "contact.archived"
        } else {
            "contact.unarchive"
        };
        let item = NotificationItem::Stub(stub.clone());
        state.emitter.emit(Notification::new(topic, item)).await;
    }
    Ok(json_response(&stub))
}

#[derive(Deserialize)]
struct MergeRequest {
    from: String,
    into: String,
}

async fn merge_contacts(
    state: web::Data<SimState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsMerge);
    let merge: MergeRequest = serde_json::from_value(Value::Object(json_object(&body)?))
        .map_err(|error| {
            ApiError::parameter_invalid(
                "from",
                format!("Invalid merge body: {error}; expected {{\"from\": lead id, \"into\": user id}}"),
            )
        })?;
    let delay = state.faults().search_index_delay_ms as i64;

    let result = state
        .contacts()
        .merge(&merge.from, &merge.into, now_ms(), delay);
    let user = result.map_err(|error| match error {
        MergeError::Lookup(side, error) => version(&request, &state)
            .lookup_error(error, &state.base_url)
            .with_field(side),
        MergeError::Invalid => ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_merge",
            format!(
                "Cannot merge {} into {}: only a lead can be merged, and only into a user",
                merge.from, merge.into
            ),
        ),
    })?;

    if state.emitter.has_receivers() {
        state
            .emitter
            .emit(webhooks::merged_notification(&user, &merge.from))
            .await;
    }
    Ok(contact_response(&state, &user))
}

#[derive(Deserialize)]
struct ListQuery {
    per_page: Option<i64>,
    starting_after: Option<String>,
}

#[derive(Serialize)]
struct ContactList<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    data: Vec<T>,
    total_count: usize,
    pages: Pages<'a>,
}

#[derive(Serialize)]
struct Pages<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    page: usize,
    per_page: usize,
    total_pages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<NextPage<'a>>,
}

#[derive(Serialize)]
struct NextPage<'a> {
    per_page: usize,
    starting_after: &'a str,
}

fn pages(page: usize, per_page: usize, total: usize, next: Option<&str>) -> Pages<'_> {
    Pages {
        kind: "pages",
        page,
        per_page,
        total_pages: total.div_ceil(per_page),
        next: next.map(|starting_after| NextPage {
            per_page,
            starting_after,
        }),
    }
}

async fn list_contacts(
    state: web::Data<SimState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsList);
    let per_page = search::per_page(query.per_page)?;
    let cursor = query
        .starting_after
        .as_deref()
        .map(Cursor::decode)
        .transpose()?;
    let page = cursor.as_ref().map_or(1, |c| c.page);
    let workspace = state.config.workspace_id.as_str();

    let store = state.contacts();
    let total = store.listed_count();
    let contacts = store.list_after(cursor.as_ref().map(|c| c.after.as_str()), per_page + 1);
    let has_more = contacts.len() > per_page;
    let shown = &contacts[..contacts.len().min(per_page)];
    let next = match (has_more, shown.last()) {
        (true, Some(last)) => Some(
            Cursor {
                page: page + 1,
                after: last.id.clone(),
            }
            .encode(),
        ),
        _ => None,
    };
    let body = ContactList {
        kind: "list",
        data: shown.iter().map(|c| c.to_rest(workspace)).collect(),
        total_count: total,
        pages: pages(page, per_page, total, next.as_deref()),
    };
    Ok(json_response(&body))
}

async fn search_contacts(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::ContactsSearch);
    let body = json_object(&body)?;
    let query = body.get("query").ok_or_else(|| {
        ApiError::parameter_missing("query", "Missing query: search needs a query object")
    })?;
    let filter = Filter::parse(query)?;
    let sort = body.get("sort").map(Sort::parse).transpose()?;
    let pagination = body.get("pagination");
    let per_page = search::per_page(
        pagination
            .and_then(|p| p.get("per_page"))
            .and_then(Value::as_i64),
    )?;
    let cursor = pagination
        .and_then(|p| p.get("starting_after"))
        .and_then(Value::as_str)
        .map(Cursor::decode)
        .transpose()?;
    let (page, offset) = match &cursor {
        Some(cursor) => (cursor.page, cursor.after.parse::<usize>().unwrap_or(0)),
        None => (1, 0),
    };
    let faults = state.faults();
    let workspace = state.config.workspace_id.as_str();

    let mut matches: Vec<Contact> = Vec::new();
    let email = filter.required_email();
    state
        .contacts()
        .for_each_searchable(now_ms(), email, |contact| {
            if filter.matches(contact, faults.workspace_utc_offset_minutes) {
                matches.push(contact.clone());
            }
        });
    if let Some(sort) = &sort {
        matches.sort_by(|a, b| sort.compare(a, b));
    }

    let total = matches.len();
    let end = (offset + per_page).min(total);
    let shown = matches.get(offset..end).unwrap_or_default();
    let next = (end < total).then(|| {
        Cursor {
            page: page + 1,
            after: end.to_string(),
        }
        .encode()
    });
    let body = ContactList {
        kind: "list",
        data: shown.iter().map(|c| c.to_rest(workspace)).collect(),
        total_count: total,
        pages: pages(page, per_page, total, next.as_deref()),
    };
    Ok(json_response(&body))
}

#[derive(Deserialize)]
struct AttributesQuery {
    model: Option<String>,
    #[serde(default)]
    include_archived: bool,
}

async fn list_data_attributes(
    state: web::Data<SimState>,
    query: web::Query<AttributesQuery>,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::DataAttributesList);
    let model = query.model.as_deref();
    if let Some(model) = model {
        if !matches!(model, "contact" | "company" | "conversation") {
            return Err(ApiError::parameter_invalid(
                "model",
                format!("Invalid model {model:?}: expected contact, company or conversation"),
            ));
        }
    }
    let attributes = state.attributes();
    let data = attributes.list(model, query.include_archived);
    Ok(json_response(&json!({"type": "list", "data": data})))
}

async fn create_data_attribute(
    state: web::Data<SimState>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::DataAttributesCreate);
    let body = json_object(&body)?;
    let attribute = state
        .attributes()
        .create(&body, now_ms().div_euclid(1000))?;
    Ok(json_response(&attribute))
}

async fn update_data_attribute(
    state: web::Data<SimState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse> {
    state.api_stats.count(Endpoint::DataAttributesUpdate);
    let id: u64 = id.parse().map_err(|_| {
        ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("Data attribute {id} not found: ids are integers"),
        )
    })?;
    let body = json_object(&body)?;
    let attribute = state
        .attributes()
        .update(id, &body, now_ms().div_euclid(1000))?;
    Ok(json_response(&attribute))
}
