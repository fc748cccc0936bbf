//! The Salesforce OAuth web flow: `GET /oauth/start` sends the operator's browser to
//! Salesforce, and `GET /oauth/callback` exchanges the returned code for tokens.
//!
//! Authorizing again after a revoked grant resumes syncing from the stored state and
//! watermark; nothing is imported again.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use tracing::{info, warn};

use super::AppState;

pub async fn start(state: web::Data<AppState>) -> HttpResponse {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/services/oauth2/authorize", state.oauth.login_url),
        &[
            ("response_type", "code"),
            ("client_id", state.oauth.client_id.as_str()),
            ("redirect_uri", state.oauth.redirect_uri.as_str()),
        ],
    );
    match url {
        Ok(url) => HttpResponse::Found()
            .insert_header((LOCATION, url.to_string()))
            .finish(),
        Err(error) => HttpResponse::InternalServerError().json(json!({
            "error": format!("invalid salesforce.login_url {:?}: {error}", state.oauth.login_url)
        })),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(state: web::Data<AppState>, query: web::Query<Callback>) -> HttpResponse {
    if let Some(error) = &query.error {
        warn!(%error, description = ?query.error_description, "Salesforce authorization was refused");
        return HttpResponse::BadRequest().json(json!({
            "error": format!("Salesforce refused the authorization: {error}"),
            "detail": query.error_description,
        }));
    }
    let Some(code) = &query.code else {
        return HttpResponse::BadRequest().json(json!({
            "error": "the callback has no code; start the flow at /oauth/start"
        }));
    };
    match state
        .executor
        .salesforce
        .exchange_code(code, &state.oauth.redirect_uri)
        .await
    {
        Ok(tokens) => {
            info!(instance_url = %tokens.instance_url, "Salesforce connection authorized");
            state.board.connected();
            let retried = super::admin::retry_after_reauthorization(&state).await;
            if retried > 0 {
                info!(
                    retried,
                    "Retrying operations that failed while re-authorization was needed"
                );
            }
            HttpResponse::Ok()
                .json(json!({"status": "authorized", "instance_url": tokens.instance_url}))
        }
        Err(error) => {
            warn!(%error, "Failed to exchange the Salesforce authorization code");
            HttpResponse::BadGateway().json(json!({"error": error.to_string()}))
        }
    }
}
