//! The Salesforce REST client: one authenticated, retried, usage-metered request path that
//! every typed call goes through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{debug, warn};

use super::auth::{Authenticator, CredentialStore, SalesforceTokens};
use super::describe::DescribeSObject;
use super::errors::{ApiError, SalesforceError};
use super::limits::{ApiUsage, Limits, UsageMeter};
use super::SalesforceConfig;
use crate::connectors::retry::Idempotency;
use crate::connectors::wire::excerpt;

/// A client of one Salesforce org's REST API.
///
/// Cloning is cheap and shares the connection pool, the tokens, the usage meter and the
/// describe cache.
#[derive(Clone)]
pub struct SalesforceClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: SalesforceConfig,
    http: reqwest::Client,
    auth: Authenticator,
    usage: Arc<UsageMeter>,
    pub(crate) describe_cache: Mutex<HashMap<String, Arc<DescribeSObject>>>,
}

/// One logical call, as named in logs and errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// The connector operation, such as `query`.
    pub operation: &'static str,
    /// The record ids or object names involved, for retry logs.
    pub ids: &'a str,
    pub idempotency: Idempotency,
    /// Whether the call reads query pages, which carry the batch size header.
    pub paged: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn read(operation: &'static str, ids: &'a str) -> Self {
        Call {
            operation,
            ids,
            idempotency: Idempotency::Idempotent,
            paged: false,
        }
    }

    pub(crate) fn query(operation: &'static str, ids: &'a str) -> Self {
        Call {
            paged: true,
            ..Call::read(operation, ids)
        }
    }

    pub(crate) fn create(operation: &'static str, ids: &'a str) -> Self {
        Call {
            operation,
            ids,
            idempotency: Idempotency::NotIdempotent,
            paged: false,
        }
    }
}

/// A successful response: its status and body.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
    ) -> Result<T, SalesforceError> {
        serde_json::from_slice(&self.body)
            .map_err(|source| SalesforceError::Decode { operation, source })
    }
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("login_url", &self.inner.config.login_url)
            .field("api_version", &self.inner.config.api_version)
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    /// Creates a client. Tokens are loaded from `credentials` on the first call.
    pub fn new(
        config: SalesforceConfig,
        credentials: Arc<dyn CredentialStore>,
    ) -> Result<Self, SalesforceError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("intersync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SalesforceError::InvalidRequest(format!("cannot build the HTTP client: {e}"))
            })?;
        let auth = Authenticator::new(config.clone(), http.clone(), credentials);

        Ok(SalesforceClient {
            inner: Arc::new(Inner {
                config,
                http,
                auth,
                usage: Arc::new(UsageMeter::default()),
                describe_cache: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Exchanges an authorization code from the OAuth web flow for tokens, stores them and
    /// clears a needs-re-authorization state.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SalesforceTokens, SalesforceError> {
        self.inner.auth.exchange_code(code, redirect_uri).await
    }

    /// Returns why Salesforce rejected the stored grant, or `None` while the connection works
    /// (or has not failed yet). Cheap, for the status endpoint.
    pub fn reauthorization_reason(&self) -> Option<String> {
        self.inner.auth.revoked_reason()
    }

    /// Returns the org's API usage from the latest response, or `None` before the first call.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.usage.get()
    }

    /// Returns the shared usage meter, for readers that outlive or do not own the client.
    pub fn usage_meter(&self) -> Arc<UsageMeter> {
        Arc::clone(&self.inner.usage)
    }

    /// Fetches `/limits`: every allowance of the org with what is left of it.
    pub async fn limits(&self) -> Result<Limits, SalesforceError> {
        let call = Call::read("limits", "");
        let path = self.data_path("/limits");
        self.send(call, Method::GET, &path, &[], None)
            .await?
            .json(call.operation)
    }

    /// Returns `/services/data/{version}{rest}`.
    pub(crate) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/{}{}", self.inner.config.api_version, rest)
    }

    /// Sends a request to `{instance_url}{path}` with retries, and returns a 2xx or 300 reply.
    ///
    /// `path` must start with `/services/`, so a path taken from a response (such as
    /// `nextRecordsUrl`) can never send the token to another host.
    pub(crate) async fn send(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, SalesforceError> {
        if !path.starts_with("/services/") {
            return Err(SalesforceError::InvalidRequest(format!(
                "path {path:?} is not a Salesforce REST path; it must start with /services/"
            )));
        }

        let policy = &self.inner.config.retry;
        policy
            .run(call.operation, call.ids, call.idempotency, || {
                self.send_authenticated(call, method.clone(), path, query, body)
            })
            .await
    }

    /// Sends one attempt. After a 401 the token is refreshed once and the request sent once
    /// more.
    async fn send_authenticated(
        &self,
        call: Call<'_>,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, SalesforceError> {
        let tokens = self.inner.auth.current().await?;
        let first = self
            .send_once(call, method.clone(), &tokens, path, query, body)
            .await;
        match first {
            Err(error) if error.is_session_rejected() => {
                warn!(
                    operation = call.operation,
                    ids = call.ids,
                    "Salesforce rejected the access token; refreshing it once"
                );
                let refreshed = self
                    .inner
                    .auth
                    .refresh_replacing(&tokens.access_token)
                    .await?;
                self.send_once(call, method, &refreshed, path, query, body)
                    .await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        call: Call<'_>,
        method: Method,
        tokens: &SalesforceTokens,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Reply, SalesforceError> {
        let operation = call.operation;
        debug!(operation, ids = call.ids, %method, path, "Sending a Salesforce request");
        let url = format!("{}{}", tokens.instance_url.trim_end_matches('/'), path);
        let mut request = self
            .inner
            .http
            .request(method, url)
            .header(
                AUTHORIZATION,
                format!("Bearer {}", tokens.access_token.expose()),
            )
            .header(ACCEPT, "application/json");
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(client) = &self.inner.config.call_options_client {
            request = request.header("Sforce-Call-Options", format!("client={client}"));
        }
        if let (true, Some(size)) = (call.paged, self.inner.config.query_batch_size) {
            request = request.header("Sforce-Query-Options", format!("batchSize={size}"));
        }
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }

        let transport = |source: reqwest::Error| SalesforceError::Transport {
            operation,
            source: source.without_url(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        self.record_usage(response.headers());
        let body = response.bytes().await.map_err(transport)?;
        debug!(operation, status, ids = call.ids, "Salesforce responded");

        if (200..300).contains(&status) || status == 300 {
            return Ok(Reply { status, body });
        }
        match serde_json::from_slice::<Vec<ApiError>>(&body) {
            Ok(errors) => Err(SalesforceError::Api {
                operation,
                status,
                errors,
            }),
            Err(_) => Err(SalesforceError::Http {
                operation,
                status,
                body_excerpt: excerpt(&body),
            }),
        }
    }

    fn record_usage(&self, headers: &reqwest::header::HeaderMap) {
        let usage = headers
            .get("Sforce-Limit-Info")
            .and_then(|value| value.to_str().ok())
            .and_then(ApiUsage::from_header);
        if let Some(usage) = usage {
            self.inner.usage.record(usage);
        }
        let server_time = headers
            .get(reqwest::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| chrono::DateTime::parse_from_rfc2822(value).ok());
        if let Some(time) = server_time {
            self.inner.usage.record_server_time(time.timestamp_millis());
        }
    }
}

/// Checks that an sObject or field name is an API name (letters, digits, underscores), so it
/// can be placed in a URL path as is.
pub(crate) fn check_name(kind: &str, name: &str) -> Result<(), SalesforceError> {
    let valid = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.as_bytes()[0].is_ascii_alphabetic();
    if valid {
        Ok(())
    } else {
        Err(SalesforceError::InvalidRequest(format!(
            "{kind} name {name:?} is not a Salesforce API name; use letters, digits and underscores, starting with a letter"
        )))
    }
}
