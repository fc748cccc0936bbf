//! `POST /webhooks/intercom`: verify, check, store durably, then acknowledge.
//!
//! A notification is answered 200 only after it is committed to the inbox, so an
//! acknowledged event survives a crash. Concurrent requests share one commit through the
//! store's group-commit writer. Nothing is stored for a request that is rejected.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use hmac::{KeyInit, Mac};
use serde_json::json;
use tracing::{debug, warn};

use super::AppState;
use crate::actors::inbox::Wake;
use crate::metrics::{Metrics, RejectLabels, RejectReason};
use crate::store::Appended;
use crate::sync::notification::{self, Notification};

/// Header that carries `sha1=<hex>`, the HMAC-SHA1 of the raw body keyed with the app's
/// client secret.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// Handles one delivery from Intercom.
pub async fn receive(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let body = match read_limited(payload, state.max_webhook_bytes).await {
        Ok(body) => body,
        Err(response) => {
            reject(&state.metrics, RejectReason::TooLarge);
            return response;
        }
    };

    if let Err(reason) = verify_signature(&request, &body, &state.webhook_secret) {
        warn!(reason, "Rejected a webhook with an invalid signature");
        reject(&state.metrics, RejectReason::Signature);
        return error_response(StatusCode::UNAUTHORIZED, reason);
    }

    let notification = match Notification::parse(&body) {
        Ok(notification) => notification,
        Err(error) => {
            warn!(%error, "Rejected a malformed webhook");
            reject(&state.metrics, RejectReason::Malformed);
            return error_response(StatusCode::BAD_REQUEST, &error.to_string());
        }
    };

    let topic_label = Metrics::topic(&notification.topic);
    if !notification::is_used_topic(&notification.topic) {
        debug!(notification_id = %notification.id, topic = %notification.topic, "Ignored a webhook topic intersync does not use");
        state
            .metrics
            .webhooks_ignored
            .get_or_create(&topic_label)
            .inc();
        return HttpResponse::Ok().json(json!({"status": "ignored"}));
    }
    if let Err(error) = notification.check_item() {
        warn!(notification_id = %notification.id, %error, "Rejected a webhook with an invalid contact");
        reject(&state.metrics, RejectReason::Malformed);
        return error_response(StatusCode::BAD_REQUEST, &error.to_string());
    }

    match state.inbox.append(&notification.id, body.to_vec()).await {
        Ok(Appended::New(sequence)) => {
            debug!(notification_id = %notification.id, sequence, topic = %notification.topic, "Stored a webhook");
            state
                .metrics
                .webhooks_received
                .get_or_create(&topic_label)
                .inc();
            state.metrics.inbox_pushed.inc();
            state.dispatcher.do_send(Wake);
            HttpResponse::Ok().json(json!({"status": "stored"}))
        }
        Ok(Appended::Duplicate) => {
            debug!(notification_id = %notification.id, "Dropped a duplicate webhook");
            state.metrics.webhooks_duplicate.inc();
            HttpResponse::Ok().json(json!({"status": "duplicate"}))
        }
        Err(error) => {
            tracing::error!(notification_id = %notification.id, %error, "Failed to store a webhook; Intercom will retry it");
            reject(&state.metrics, RejectReason::Store);
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the event store is unavailable; the delivery can be retried",
            )
        }
    }
}

/// Reads the body, stopping with 413 as soon as it passes `max_bytes`.
async fn read_limited(
    mut payload: web::Payload,
    max_bytes: usize,
) -> Result<web::BytesMut, HttpResponse> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            error_response(
                StatusCode::BAD_REQUEST,
                &format!("failed to read the request body: {error}"),
            )
        })?;
        if body.len() + chunk.len() > max_bytes {
            return Err(error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is larger than the limit of {max_bytes} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks `X-Hub-Signature` against the raw body in constant time.
fn verify_signature(request: &HttpRequest, body: &[u8], secret: &[u8]) -> Result<(), &'static str> {
    let header = request
        .headers()
        .get(SIGNATURE_HEADER)
        .ok_or("missing X-Hub-Signature header")?;
    let hex_digest = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("sha1="))
        .ok_or("X-Hub-Signature must have the form sha1=<40 hex digits>")?;
    let expected = hex::decode(hex_digest)
        .map_err(|_| "X-Hub-Signature must have the form sha1=<40 hex digits>")?;

    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| "X-Hub-Signature does not match the body and the webhook secret")
}

/// Computes the `X-Hub-Signature` value of `body`, as Intercom sends it.
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

fn reject(metrics: &Metrics, reason: RejectReason) {
    metrics
        .webhooks_rejected
        .get_or_create(&RejectLabels { reason })
        .inc();
}

fn error_response(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": message}))
}

/// Answers the `HEAD` request Intercom may send to check that the URL exists.
pub async fn validate() -> HttpResponse {
    HttpResponse::Ok().finish()
}
