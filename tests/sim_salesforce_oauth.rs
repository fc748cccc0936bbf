//! OAuth against the simulator: the web flow, refresh, expiry, revocation, the per-user
//! refresh-token cap, a deactivated user and an org without API access.

mod sim_salesforce_common;

use std::time::Duration;

use intersync::sim::salesforce::SalesforceSimConfig;
use serde_json::{json, Value};
use sim_salesforce_common::{
    authorization_code, authorize, client, post_form, start, start_with, REDIRECT_URI,
};

async fn refresh(http: &reqwest::Client, login_url: &str, refresh_token: &str) -> (u16, Value) {
    let response = post_form(
        http,
        &format!("{login_url}/services/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", "sim-client-id"),
            ("client_secret", "sim-client-secret"),
        ],
    )
    .await;
    (response.status().as_u16(), response.json().await.unwrap())
}

#[actix_web::test]
async fn web_flow_token_shape() {
    let session = start().await;
    let http = client();
    let token = authorize(&http, &session.sim.login_url()).await;
    for key in [
        "access_token",
        "refresh_token",
        "instance_url",
        "id",
        "issued_at",
        "signature",
        "token_type",
        "scope",
    ] {
        assert!(token.get(key).is_some(), "missing {key} in {token}");
    }
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["instance_url"], session.sim.instance_url());
    assert_ne!(session.sim.instance_url(), session.sim.login_url());
    let issued_at: i64 = token["issued_at"].as_str().unwrap().parse().unwrap();
    assert!(
        issued_at > 1_600_000_000_000,
        "issued_at is in milliseconds"
    );
    assert!(token["id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/id/00D", session.sim.login_url())));

    // The login host does not serve the data API.
    let response = http
        .get(format!(
            "{}/services/data/v60.0/limits",
            session.sim.login_url()
        ))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // A code works once.
    let code = authorization_code(&http, &session.sim.login_url()).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", "sim-client-id"),
        ("client_secret", "sim-client-secret"),
        ("redirect_uri", REDIRECT_URI),
    ];
    let url = format!("{}/services/oauth2/token", session.sim.login_url());
    assert_eq!(post_form(&http, &url, &form).await.status(), 200);
    let response = post_form(&http, &url, &form).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    session.sim.stop().await;
}

#[actix_web::test]
async fn token_endpoint_errors() {
    let session = start().await;
    let http = client();
    let url = format!("{}/services/oauth2/token", session.sim.login_url());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("client_id", "sim-client-id")], "invalid_request"),
        (
            &[
                ("grant_type", "password"),
                ("client_id", "sim-client-id"),
                ("client_secret", "sim-client-secret"),
            ],
            "unsupported_grant_type",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "other"),
                ("client_secret", "sim-client-secret"),
                ("refresh_token", "x"),
            ],
            "invalid_client_id",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "sim-client-id"),
                ("client_secret", "wrong"),
                ("refresh_token", "x"),
            ],
            "invalid_client",
        ),
        (
            &[
                ("grant_type", "refresh_token"),
                ("client_id", "sim-client-id"),
                ("client_secret", "sim-client-secret"),
                ("refresh_token", "unknown"),
            ],
            "invalid_grant",
        ),
    ];
    for (form, expected) in cases {
        let response = post_form(&http, &url, form).await;
        assert_eq!(response.status(), 400, "{form:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], *expected, "{form:?}");
        assert!(body["error_description"].is_string());
    }

    let response = http
        .get(format!(
            "{}/services/oauth2/authorize",
            session.sim.login_url()
        ))
        .query(&[
            ("response_type", "code"),
            ("client_id", "nope"),
            ("redirect_uri", REDIRECT_URI),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    session.sim.stop().await;
}

#[actix_web::test]
async fn expired_token_then_refresh() {
    let config = SalesforceSimConfig {
        access_token_ttl: Duration::from_millis(50),
        ..SalesforceSimConfig::default()
    };
    let mut session = start_with(config).await;
    let (status, _, _) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 200);

    tokio::time::sleep(Duration::from_millis(80)).await;
    let (status, headers, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!([{ "message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID" }])
    );
    assert!(headers.contains_key("Sforce-Limit-Info"));

    let (status, token) = refresh(
        &session.http,
        &session.sim.login_url(),
        &session.refresh_token,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        token.get("refresh_token").is_none(),
        "no rotation by default"
    );
    session.access_token = token["access_token"].as_str().unwrap().to_string();
    let (status, _, _) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 200);
    session.sim.stop().await;
}

#[actix_web::test]
async fn revoke_kills_refresh_and_session() {
    let session = start().await;
    let url = format!("{}/services/oauth2/revoke", session.sim.login_url());
    let response = post_form(&session.http, &url, &[("token", &session.refresh_token)]).await;
    assert_eq!(response.status(), 200);

    let (status, body) = refresh(
        &session.http,
        &session.sim.login_url(),
        &session.refresh_token,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({ "error": "invalid_grant", "error_description": "expired access/refresh token" })
    );
    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 401);
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");

    // The control API revokes everything at once.
    let other = authorize(&session.http, &session.sim.login_url()).await;
    let (status, body) = session.control("POST", "/oauth/revoke", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["revoked"], 2);
    let (status, _) = refresh(
        &session.http,
        &session.sim.login_url(),
        other["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    session.sim.stop().await;
}

#[actix_web::test]
async fn sixth_approval_evicts_oldest() {
    let session = start().await;
    let mut refresh_tokens = vec![session.refresh_token.clone()];
    for _ in 0..5 {
        let token = authorize(&session.http, &session.sim.login_url()).await;
        refresh_tokens.push(token["refresh_token"].as_str().unwrap().to_string());
    }
    let (status, body) = refresh(&session.http, &session.sim.login_url(), &refresh_tokens[0]).await;
    assert_eq!(status, 400, "the first of six approvals is evicted");
    assert_eq!(body["error"], "invalid_grant");
    for token in &refresh_tokens[1..] {
        let (status, _) = refresh(&session.http, &session.sim.login_url(), token).await;
        assert_eq!(status, 200);
    }
    session.sim.stop().await;
}

#[actix_web::test]
async fn deactivated_user_and_disabled_api() {
    let session = start().await;
    session
        .control("POST", "/faults", json!({ "api_enabled": false }))
        .await;
    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 403);
    assert_eq!(body[0]["errorCode"], "API_DISABLED_FOR_ORG");

    session
        .control(
            "POST",
            "/faults",
            json!({ "api_enabled": true, "user_active": false }),
        )
        .await;
    let (status, _, body) = session.call("GET", "/limits", None).await;
    assert_eq!(status, 401);
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
    let (status, body) = refresh(
        &session.http,
        &session.sim.login_url(),
        &session.refresh_token,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "authentication failure");
    let code = authorization_code(&session.http, &session.sim.login_url()).await;
    let response = post_form(
        &session.http,
        &format!("{}/services/oauth2/token", session.sim.login_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "sim-client-id"),
            ("client_secret", "sim-client-secret"),
            ("redirect_uri", REDIRECT_URI),
        ],
    )
    .await;
    assert_eq!(
        response.status(),
        400,
        "a deactivated user cannot approve the app"
    );
    session.sim.stop().await;
}

#[test]
fn runs_on_plain_tokio() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let session = start().await;
        let (status, _, _) = session.call("GET", "/limits", None).await;
        assert_eq!(status, 200);
        session.sim.stop().await;
    });
}
