//! OAuth 2.0 for Salesforce: the authorization-code exchange, refresh, and the token state
//! shared by every call of one client.
//!
//! Only one refresh runs at a time: callers that find their access token rejected wait for
//! the refresh in flight and reuse its result. Once Salesforce rejects the refresh token
//! (`invalid_grant`), every call fails fast with a needs-re-authorization error until new
//! tokens are stored by [`super::SalesforceClient::exchange_code`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use tracing::{error, info};

use super::errors::{CredentialStoreError, OAuthError, SalesforceError};
use super::SalesforceConfig;
use crate::connectors::wire::excerpt;
use crate::connectors::Secret;

/// The tokens of one authorized Salesforce connection.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesforceTokens {
    /// The bearer token for REST calls.
    pub access_token: Secret,
    /// The long-lived token used to get new access tokens.
    pub refresh_token: Secret,
    /// The org's API host. Every REST call goes there, not to the login host.
    pub instance_url: String,
    /// When Salesforce issued the access token.
    pub issued_at: DateTime<Utc>,
}

impl fmt::Debug for SalesforceTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceTokens")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("instance_url", &self.instance_url)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

/// Durable storage of the connection's tokens, implemented by the server on its store.
///
/// `save` must write all fields in one transaction: when Salesforce rotates the refresh token
/// the old one stops working, so a half-written pair would lose the connection.
pub trait CredentialStore: Send + Sync {
    /// Loads the stored tokens, or `None` before the first authorization.
    fn load(&self) -> Result<Option<SalesforceTokens>, CredentialStoreError>;

    /// Replaces the stored tokens.
    fn save(&self, tokens: &SalesforceTokens) -> Result<(), CredentialStoreError>;
}

/// A [`CredentialStore`] kept in memory, for tests, the demo and one-off commands.
#[derive(Debug, Default)]
pub struct MemoryCredentialStore {
    tokens: Mutex<Option<SalesforceTokens>>,
}

impl MemoryCredentialStore {
    /// Creates a store holding `tokens`.
    pub fn new(tokens: Option<SalesforceTokens>) -> Self {
        MemoryCredentialStore {
            tokens: Mutex::new(tokens),
        }
    }
}

impl CredentialStore for MemoryCredentialStore {
    fn load(&self) -> Result<Option<SalesforceTokens>, CredentialStoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn save(&self, tokens: &SalesforceTokens) -> Result<(), CredentialStoreError> {
        *self.tokens.lock().unwrap_or_else(PoisonError::into_inner) = Some(tokens.clone());
        Ok(())
    }
}

/// The body of a successful `/services/oauth2/token` response.
#[derive(Clone, Deserialize)]
pub struct TokenResponse {
    /// The new access token.
    pub access_token: Secret,
    /// Present after a code exchange, and after a refresh when the app rotates refresh tokens.
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    /// The org's API host.
    pub instance_url: String,
    /// The identity URL, `https://login.salesforce.com/id/{orgId}/{userId}`.
    #[serde(default)]
    pub id: Option<String>,
    /// Milliseconds since the Unix epoch, as a string.
    pub issued_at: String,
    /// `Bearer`, absent in older responses.
    #[serde(default)]
    pub token_type: Option<String>,
    /// The granted scopes, space separated, absent in older responses.
    #[serde(default)]
    pub scope: Option<String>,
    /// HMAC-SHA256 of the identity URL and `issued_at`, keyed with the client secret.
    #[serde(default)]
    pub signature: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("instance_url", &self.instance_url)
            .field("id", &self.id)
            .field("issued_at", &self.issued_at)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// Parses `issued_at` (epoch milliseconds as a string).
    pub fn issued_at(&self) -> Result<DateTime<Utc>, String> {
        let millis: i64 = self.issued_at.parse().map_err(|_| {
            format!(
                "issued_at {:?} is not a number of milliseconds",
                self.issued_at
            )
        })?;
        Utc.timestamp_millis_opt(millis)
            .single()
            .ok_or_else(|| format!("issued_at {millis} is out of range"))
    }
}

/// The connection's token state, shared by all clones of one client.
pub(crate) struct Authenticator {
    config: SalesforceConfig,
    http: reqwest::Client,
    store: Arc<dyn CredentialStore>,
    state: Mutex<TokenState>,
    /// Held while a refresh or code exchange runs, so only one is in flight.
    refresh_lock: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct TokenState {
    tokens: Option<SalesforceTokens>,
    /// When this process received the tokens, on the local clock; `None` for tokens loaded
    /// from the store. Staleness is measured from here so a skewed server clock in
    /// `issued_at` cannot make every call refresh.
    received_at: Option<Instant>,
    /// The reason Salesforce rejected the grant, cleared by new tokens.
    revoked: Option<String>,
}

impl Authenticator {
    pub(crate) fn new(
        config: SalesforceConfig,
        http: reqwest::Client,
        store: Arc<dyn CredentialStore>,
    ) -> Self {
        Authenticator {
            config,
            http,
            store,
            state: Mutex::new(TokenState::default()),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, TokenState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns tokens to call the API with, loading them from the store on first use and
    /// refreshing them when the access token is older than the configured session lifetime.
    pub(crate) async fn current(&self) -> Result<SalesforceTokens, SalesforceError> {
        let (tokens, received_at) = self.cached_or_stored_with_age()?;
        if self.is_stale(&tokens, received_at) {
            info!(issued_at = %tokens.issued_at, "Refreshing the Salesforce access token before it expires");
            return self.refresh_replacing(&tokens.access_token).await;
        }
        Ok(tokens)
    }

    fn cached_or_stored(&self) -> Result<SalesforceTokens, SalesforceError> {
        self.cached_or_stored_with_age().map(|(tokens, _)| tokens)
    }

    fn cached_or_stored_with_age(
        &self,
    ) -> Result<(SalesforceTokens, Option<Instant>), SalesforceError> {
        let mut state = self.lock_state();
        if let Some(reason) = &state.revoked {
            return Err(SalesforceError::NeedsReauthorization {
                reason: reason.clone(),
            });
        }
        if let Some(tokens) = &state.tokens {
            return Ok((tokens.clone(), state.received_at));
        }
        let tokens = self.store.load()?.ok_or(SalesforceError::NotAuthorized)?;
        state.tokens = Some(tokens.clone());
        Ok((tokens, None))
    }

    fn is_stale(&self, tokens: &SalesforceTokens, received_at: Option<Instant>) -> bool {
        if let Some(received_at) = received_at {
            return received_at.elapsed() >= self.config.refresh_after;
        }
        let Ok(lifetime) = chrono::Duration::from_std(self.config.refresh_after) else {
            return false;
        };
        Utc::now() >= tokens.issued_at + lifetime
    }

    /// Refreshes the access token after `rejected` was refused, unless another caller has
    /// already replaced it. Then the newer tokens are returned without a second refresh.
    pub(crate) async fn refresh_replacing(
        &self,
        rejected: &Secret,
    ) -> Result<SalesforceTokens, SalesforceError> {
        let _in_flight = self.refresh_lock.lock().await;

        let tokens = self.cached_or_stored()?;
        if tokens.access_token != *rejected {
            return Ok(tokens);
        }

        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens.refresh_token.expose()),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
        ];
        let response = match self.request_token("refresh_token", &form).await {
            Ok(response) => response,
            Err(error) => {
                if matches!(
                    error.class(),
                    crate::connectors::ErrorClass::NeedsReauthorization
                ) {
                    self.mark_revoked(&error);
                }
                return Err(error);
            }
        };

        let issued_at = response.issued_at().map_err(|message| {
            SalesforceError::InvalidRequest(format!("token response: {message}"))
        })?;
        let rotated = response.refresh_token.is_some();
        let refreshed = SalesforceTokens {
            access_token: response.access_token,
            refresh_token: response.refresh_token.unwrap_or(tokens.refresh_token),
            instance_url: response.instance_url,
            issued_at,
        };
        info!(rotated, instance_url = %refreshed.instance_url, "Refreshed the Salesforce access token");
        self.install(refreshed)
    }

    /// Exchanges an authorization code from the OAuth web flow for tokens and stores them.
    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SalesforceTokens, SalesforceError> {
        let _in_flight = self.refresh_lock.lock().await;

        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.expose()),
            ("redirect_uri", redirect_uri),
        ];
        let response = self.request_token("authorization_code", &form).await?;

        let issued_at = response.issued_at().map_err(|message| {
            SalesforceError::InvalidRequest(format!("token response: {message}"))
        })?;
        let refresh_token = response.refresh_token.ok_or_else(|| {
            SalesforceError::InvalidRequest(
                "the token response has no refresh_token; add the refresh_token (offline_access) scope to the connected app"
                    .to_owned(),
            )
        })?;
        let tokens = SalesforceTokens {
            access_token: response.access_token,
            refresh_token,
            instance_url: response.instance_url,
            issued_at,
        };
        info!(instance_url = %tokens.instance_url, "Authorized the Salesforce connection");
        self.install(tokens)
    }

    /// Keeps `tokens` in memory and saves them. The in-memory copy is used even when saving
    /// fails, because a rotated refresh token has already invalidated the stored one.
    fn install(&self, tokens: SalesforceTokens) -> Result<SalesforceTokens, SalesforceError> {
        {
            let mut state = self.lock_state();
            state.tokens = Some(tokens.clone());
            state.received_at = Some(Instant::now());
            state.revoked = None;
        }
        if let Err(store_error) = self.store.save(&tokens) {
            error!(error = %store_error, "Could not save the Salesforce tokens; they are kept in memory only");
            return Err(store_error.into());
        }
        Ok(tokens)
    }

    /// Returns why the grant was rejected, while the connection needs re-authorization.
    pub(crate) fn revoked_reason(&self) -> Option<String> {
        self.lock_state().revoked.clone()
    }

    fn mark_revoked(&self, cause: &SalesforceError) {
        error!(error = %cause, "Salesforce rejected the refresh token; the connection needs re-authorization");
        self.lock_state().revoked = Some(cause.to_string());
    }

    async fn request_token(
        &self,
        grant: &'static str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, SalesforceError> {
        let operation = "oauth_token";
        let url = format!(
            "{}/services/oauth2/token",
            self.config.login_url.trim_end_matches('/')
        );
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| SalesforceError::InvalidRequest(format!("token form: {e}")))?;

        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|source| SalesforceError::Transport {
                operation,
                source: source.without_url(),
            })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|source| SalesforceError::Transport {
                operation,
                source: source.without_url(),
            })?;

        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes)
                .map_err(|source| SalesforceError::Decode { operation, source });
        }
        match serde_json::from_slice::<OAuthError>(&bytes) {
            Ok(error) => Err(SalesforceError::OAuth {
                grant,
                status,
                error,
            }),
            Err(_) => Err(SalesforceError::Http {
                operation,
                status,
                body_excerpt: excerpt(&bytes),
            }),
        }
    }
}
