//! The control API under `/_sim/`: reset, seed, stats, fault knobs and webhook subscriptions.
//! It needs no token, because operators and tests drive it, not Intercom clients.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::contact::{now_ms, Role};
use super::error::ApiError;
use super::handlers::json_object;
use super::state::{ApiFaults, SimState};
use super::store::ContactFields;
use super::webhooks::{self, DeliveryFaults, Notification, NotificationItem};
use crate::sim::people::{generate_people, split_people, Person};

/// Registers the control routes under `/_sim`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/reset", web::post().to(reset))
        .route("/seed", web::post().to(seed))
        .route("/stats", web::get().to(stats))
        .route("/faults", web::get().to(get_faults))
        .route("/faults", web::post().to(set_faults))
        .route("/webhooks", web::get().to(list_webhooks))
        .route("/webhooks", web::post().to(subscribe))
        .route("/webhooks", web::delete().to(unsubscribe_all))
        .route("/webhooks/{id}", web::delete().to(unsubscribe))
        .route("/webhooks/{id}/ping", web::post().to(ping));
}

fn control_error(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// Empties contacts and custom data attributes, restores the knobs and zeroes the counters.
/// Webhook subscriptions stay, like an app's settings survive a data wipe.
async fn reset(state: web::Data<SimState>) -> HttpResponse {
    state.contacts().clear();
    *state.attributes() = Default::default();
    state.set_faults(ApiFaults::from_config(&state.config));
    state.emitter.set_faults(DeliveryFaults::default());
    state.limiter.reset();
    state.api_stats.clear();
    state.webhook_stats.clear();
    tracing::info!(base_url = %state.base_url, "Intercom simulator reset");
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRequest {
    people: usize,
    #[serde(default = "default_overlap")]
    overlap: f64,
    #[serde(default)]
    seed: u64,
    /// Whether to send `contact.*.created` notifications for seeded contacts.
    #[serde(default)]
    webhooks: bool,
}

fn default_overlap() -> f64 {
    0.5
}

/// Counts returned by `POST /_sim/seed`.
#[derive(Serialize, Default)]
struct SeedReport {
    created: usize,
    users: usize,
    leads: usize,
    /// People whose email or external id already belonged to a stored contact.
    skipped: usize,
}

/// Seeds the Intercom side of a generated population: the people on both sides and those on
/// Intercom only, as users and some leads.
async fn seed(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request: SeedRequest =
        serde_json::from_value(serde_json::Value::Object(json_object(&body)?)).map_err(|e| {
            control_error(format!(
            "Invalid seed request: {e}; expected {{\"people\": N, \"overlap\": 0.5, \"seed\": 42}}"
        ))
        })?;
    let people = generate_people(request.people, request.seed);
    let split = split_people(people, request.overlap, request.seed)
        .map_err(|e| control_error(e.to_string()))?;

    let mut report = SeedReport::default();
    let mut created = Vec::new();
    {
        let mut store = state.contacts();
        let shared = split
            .both
            .iter()
            .enumerate()
            .map(|(i, p)| seeded_fields(p, i, true));
        let own = split
            .intercom_only
            .iter()
            .enumerate()
            .map(|(i, p)| seeded_fields(p, i, false));
        for fields in shared.chain(own) {
            match store.create(fields, now_ms(), 0) {
                Ok(contact) => {
                    match contact.role {
                        Role::User => report.users += 1,
                        Role::Lead => report.leads += 1,
                    }
                    report.created += 1;
                    if request.webhooks {
                        created.push(contact);
                    }
                }
                Err(_) => report.skipped += 1,
            }
        }
    }

    for contact in &created {
        let topic = webhooks::created_topic(contact);
        state
            .emitter
            .emit(Notification::contact(topic, contact))
            .await;
    }
    tracing::info!(
        created = report.created,
        skipped = report.skipped,
        "Intercom simulator seeded"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// Builds the contact fields of a seeded person. People on both sides are users; of those only on
/// Intercom, every third is a lead. Every fourth shared person's email changes letter case,
/// as the same address typed twice often does.
fn seeded_fields(person: &Person, index: usize, shared: bool) -> ContactFields {
    let role = if !shared && index % 3 == 2 {
        Role::Lead
    } else {
        Role::User
    };
    let email = if shared && index % 4 == 1 {
        vary_case(&person.email)
    } else {
        person.email.clone()
    };
    ContactFields {
        role: Some(role),
        email: Some(Some(email)),
        phone: Some(Some(person.phone.clone())),
        name: Some(Some(format!("{} {}", person.first_name, person.last_name))),
        ..ContactFields::default()
    }
}

/// Lowercases an email that has capitals, or capitalises one that has none.
fn vary_case(email: &str) -> String {
    if email.chars().any(|c| c.is_ascii_uppercase()) {
        email.to_ascii_lowercase()
    } else {
        email.to_ascii_uppercase()
    }
}

async fn stats(state: web::Data<SimState>) -> HttpResponse {
    let contacts = state.contacts().counts();
    let body = json!({
        "api_calls": state.api_stats.calls_json(),
        "rejected": {
            "unauthorized": state.api_stats.unauthorized.load(std::sync::atomic::Ordering::Relaxed),
            "rate_limited": state.api_stats.rate_limited.load(std::sync::atomic::Ordering::Relaxed),
            "injected_errors": state.api_stats.injected_errors.load(std::sync::atomic::Ordering::Relaxed),
        },
        "contacts": contacts,
        "webhooks": state.webhook_stats.snapshot(),
    });
    HttpResponse::Ok().json(body)
}

/// Every knob, API side and delivery side, as one object.
#[derive(Serialize, Deserialize)]
struct FaultSettings {
    #[serde(flatten)]
    api: ApiFaults,
    #[serde(flatten)]
    delivery: DeliveryFaults,
}

async fn get_faults(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(FaultSettings {
        api: state.faults(),
        delivery: state.emitter.faults(),
    })
}

/// Changes the knobs named in the body and keeps the others.
async fn set_faults(
    state: web::Data<SimState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let changes = json_object(&body)?;
    let mut current = serde_json::to_value(FaultSettings {
        api: state.faults(),
        delivery: state.emitter.faults(),
    })
    .expect("fault settings serialize");
    let object = current
        .as_object_mut()
        .expect("fault settings are an object");
    for (key, value) in changes {
        if !object.contains_key(&key) {
            let known: Vec<&String> = object.keys().collect();
            return Err(control_error(format!(
                "Unknown fault knob {key:?}: expected one of {known:?}"
            )));
        }
        object.insert(key, value);
    }
    let settings: FaultSettings = serde_json::from_value(current)
        .map_err(|e| control_error(format!("Invalid fault knob value: {e}")))?;
    check_faults(&settings)?;

    state.set_faults(settings.api);
    state.emitter.set_faults(settings.delivery);
    tracing::info!(base_url = %state.base_url, "Intercom simulator fault knobs changed");
    Ok(HttpResponse::Ok().json(settings))
}

fn check_faults(settings: &FaultSettings) -> Result<(), ApiError> {
    let rates = [
        ("error_rate", settings.api.error_rate),
        (
            "webhook_duplicate_rate",
            settings.delivery.webhook_duplicate_rate,
        ),
        (
            "webhook_reorder_rate",
            settings.delivery.webhook_reorder_rate,
        ),
    ];
    for (name, rate) in rates {
        if !(0.0..=1.0).contains(&rate) {
            return Err(control_error(format!(
                "Invalid {name} {rate}: expected 0.0 to 1.0"
            )));
        }
    }
    if ![429, 500, 503].contains(&settings.api.error_status) {
        return Err(control_error(format!(
            "Invalid error_status {}: expected 429, 500 or 503",
            settings.api.error_status
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeRequest {
    url: String,
    secret: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
}

async fn subscribe(state: web::Data<SimState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request: SubscribeRequest =
        serde_json::from_value(serde_json::Value::Object(json_object(&body)?)).map_err(|e| {
            control_error(format!(
                "Invalid subscription: {e}; expected {{\"url\": ..., \"secret\": ...}}"
            ))
        })?;
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| control_error(format!("Invalid webhook url {:?}: {e}", request.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(control_error(format!(
            "Invalid webhook url {:?}: expected an http or https URL",
            request.url
        )));
    }
    let secret = request
        .secret
        .unwrap_or_else(|| state.config.webhook_secret.clone());

    let subscription = state.emitter.subscribe(request.url, secret, request.topics);
    tracing::info!(subscription_id = subscription.id, url = %subscription.url, "Webhook receiver subscribed");
    Ok(HttpResponse::Created().json(subscription))
}

async fn list_webhooks(state: web::Data<SimState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"type": "list", "data": state.emitter.subscriptions()}))
}

async fn unsubscribe(
    state: web::Data<SimState>,
    id: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    if state.emitter.unsubscribe(*id) {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Webhook subscription {id} not found"),
        ))
    }
}

async fn unsubscribe_all(state: web::Data<SimState>) -> HttpResponse {
    state.emitter.unsubscribe_all();
    HttpResponse::NoContent().finish()
}

/// Sends a `ping` notification, as Intercom's "send test" button does.
async fn ping(state: web::Data<SimState>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    if !state.emitter.subscriptions().iter().any(|s| s.id == *id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Webhook subscription {id} not found"),
        ));
    }
    let item = NotificationItem::Ping {
        message: "ping from the intersync Intercom simulator".to_string(),
    };
    state.emitter.emit(Notification::new("ping", item)).await;
    Ok(HttpResponse::Accepted().finish())
}
