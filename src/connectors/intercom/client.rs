//! The Intercom REST client: one authenticated, rate-limited, retried request path that every
//! typed call goes through.

use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{debug, info};

use super::errors::{ErrorList, IntercomError};
use super::rate_limit::{RateLimitStatus, RateLimiter};
use super::IntercomConfig;
use crate::connectors::retry::Idempotency;
use crate::connectors::wire::excerpt;

/// A client of one Intercom workspace's REST API.
///
/// Cloning is cheap and shares the connection pool and the rate-limit state.
#[derive(Clone)]
pub struct IntercomClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: IntercomConfig,
    http: reqwest::Client,
    rate: RateLimiter,
}

/// One logical call, as named in logs and errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    pub operation: &'static str,
    pub ids: &'a str,
    pub idempotency: Idempotency,
}

impl<'a> Call<'a> {
    pub(crate) fn read(operation: &'static str, ids: &'a str) -> Self {
        Call {
            operation,
            ids,
            idempotency: Idempotency::Idempotent,
        }
    }

    pub(crate) fn create(operation: &'static str, ids: &'a str) -> Self {
        Call {
            operation,
            ids,
            idempotency: Idempotency::NotIdempotent,
        }
    }
}

/// The admin or app that owns the access token, from `GET /me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    /// `admin` for an admin token.
    #[serde(rename = "type")]
    pub kind: String,
    /// The admin id.
    pub id: String,
    /// The admin's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The admin's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The workspace the token belongs to.
    #[serde(default)]
    pub app: Option<MeApp>,
}

/// The workspace of a `/me` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeApp {
    /// The workspace id.
    pub id_code: String,
    /// The workspace name.
    #[serde(default)]
    pub name: Option<String>,
    /// The workspace's time zone, which search date comparisons use.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl std::fmt::Debug for IntercomClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntercomClient")
            .field("base_url", &self.inner.config.base_url)
            .field("version", &self.inner.config.version)
            .finish_non_exhaustive()
    }
}

impl IntercomClient {
    /// Creates a client.
    pub fn new(config: IntercomConfig) -> Result<Self, IntercomError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("intersync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                IntercomError::InvalidRequest(format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(IntercomClient {
            inner: Arc::new(Inner {
                config,
                http,
                rate: RateLimiter::new(),
            }),
        })
    }

    /// Returns the rate-limit window as the latest response described it.
    pub fn rate_limit(&self) -> RateLimitStatus {
        self.inner.rate.status()
    }

    /// Fetches the admin and workspace that own the access token, as a cheap authentication
    /// check.
    pub async fn me(&self) -> Result<Me, IntercomError> {
        let call = Call::read("me", "");
        self.send_json(call, Method::GET, "/me", &[], None).await
    }

    /// Sends a request with retries and decodes a JSON response.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<T, IntercomError> {
        let bytes = self.send(call, method, path, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|source| IntercomError::Decode {
            operation: call.operation,
            source,
        })
    }

    /// Sends a request to `{base_url}{path}` with retries and returns a 2xx body.
    pub(crate) async fn send(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Bytes, IntercomError> {
        let policy = &self.inner.config.retry;
        policy
            .run(call.operation, call.ids, call.idempotency, || {
                self.send_once(call, method.clone(), path, query, body)
            })
            .await
    }

    async fn send_once(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Bytes, IntercomError> {
        let operation = call.operation;
        self.wait_for_window(call).await?;

        let config = &self.inner.config;
        debug!(operation, ids = call.ids, %method, path, "Sending an Intercom request");
        let url = format!("{}{}", config.base_url.trim_end_matches('/'), path);
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", config.access_token.expose()),
            )
            .header(ACCEPT, "application/json")
            .header("Intercom-Version", config.version.as_str());
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }

        let transport = |source: reqwest::Error| IntercomError::Transport {
            operation,
            source: source.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let until_reset = self.inner.rate.record(response.headers());
        let bytes = response.bytes().await.map_err(transport)?;
        debug!(operation, status, ids = call.ids, "Intercom responded");

        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        let retry_after = (status == 429).then_some(until_reset).flatten();
        match serde_json::from_slice::<ErrorList>(&bytes) {
            Ok(list) => Err(IntercomError::Api {
                operation,
                status,
                request_id: list.request_id,
                errors: list.errors,
                retry_after,
            }),
            Err(_) => Err(IntercomError::Http {
                operation,
                status,
                body_excerpt: excerpt(&bytes),
                retry_after,
            }),
        }
    }

    /// Waits for the rate-limit window to reset when the last response reported it used up,
    /// or fails without sending when the reset is further away than the retry policy waits.
    async fn wait_for_window(&self, call: Call<'_>) -> Result<(), IntercomError> {
        let Some(wait) = self.inner.rate.wait_before_request() else {
            return Ok(());
        };
        if wait > self.inner.config.retry.max_rate_limit_wait {
            return Err(IntercomError::RateLimitWait {
                operation: call.operation,
                retry_after: wait,
            });
        }
        info!(
            operation = call.operation,
            wait_ms = wait.as_millis() as u64,
            "Waiting for the Intercom rate-limit window to reset"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }
}
