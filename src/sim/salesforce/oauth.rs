//! OAuth 2.0 grants of the simulated connected app: authorization codes, refresh tokens
//! capped per user, access tokens with a lifetime, and revocation.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha1::Sha1;

use super::ids::checksum_suffix;

/// Lifetime of an authorization code; Salesforce codes expire after 15 minutes.
const CODE_TTL: Duration = Duration::from_secs(15 * 60);

/// An OAuth error body and status, as the token endpoint returns it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: &'static str) -> OAuthError {
        OAuthError {
            status,
            error,
            description,
        }
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }

    fn expired() -> OAuthError {
        OAuthError::new(400, "invalid_grant", "expired access/refresh token")
    }
}

struct PendingCode {
    redirect_uri: String,
    expires_at: Instant,
}

struct AccessGrant {
    expires_at: Instant,
    refresh_token: Option<String>,
}

/// Tokens and codes issued by the simulated org, which has a single installing user.
#[derive(Default)]
pub struct OAuthState {
    codes: HashMap<String, PendingCode>,
    access_tokens: HashMap<String, AccessGrant>,
    /// The user's refresh tokens, oldest first.
    refresh_tokens: VecDeque<String>,
}

/// Identity of the simulated org and user.
pub struct Identity {
    pub org_id: String,
    pub user_id: String,
}

/// Returns the identity of the simulated org and user, computed once.
pub fn identity() -> &'static Identity {
    static IDENTITY: std::sync::LazyLock<Identity> = std::sync::LazyLock::new(Identity::new);
    &IDENTITY
}

impl Identity {
    fn new() -> Identity {
        let org = "00D5S000000Sim1";
        let user = "0055S000001Sim1";
        Identity {
            org_id: format!("{org}{}", checksum_suffix(org)),
            user_id: format!("{user}{}", checksum_suffix(user)),
        }
    }
}

/// Tokens issued by a successful token request.
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
}

impl OAuthState {
    /// Issues an authorization code for the authorize endpoint's redirect.
    pub fn issue_code(&mut self, redirect_uri: &str) -> String {
        let code = format!("aPrx{}", uuid::Uuid::new_v4().simple());
        let pending = PendingCode {
            redirect_uri: redirect_uri.to_string(),
            expires_at: Instant::now() + CODE_TTL,
        };
        self.codes.insert(code.clone(), pending);
        code
    }

    /// Exchanges a code for tokens. Each exchange is a new approval, so it issues a refresh
    /// token and revokes the oldest ones beyond `max_refresh_tokens`.
    pub fn exchange_code(
        &mut self,
        code: &str,
        redirect_uri: Option<&str>,
        access_ttl: Duration,
        max_refresh_tokens: usize,
    ) -> Result<IssuedTokens, OAuthError> {
        let pending = self
            .codes
            .remove(code)
            .ok_or_else(OAuthError::expired_code)?;
        if pending.expires_at < Instant::now() {
            return Err(OAuthError::expired_code());
        }
        if redirect_uri.is_some_and(|uri| uri != pending.redirect_uri) {
            return Err(OAuthError::new(
                400,
                "redirect_uri_mismatch",
                "redirect_uri must match configuration",
            ));
        }

        let refresh_token = format!("5Aep{}", uuid::Uuid::new_v4().simple());
        self.refresh_tokens.push_back(refresh_token.clone());
        while self.refresh_tokens.len() > max_refresh_tokens {
            if let Some(evicted) = self.refresh_tokens.pop_front() {
                self.revoke_refresh_token(&evicted);
            }
        }
        let access_token = self.issue_access_token(Some(refresh_token.clone()), access_ttl);
        Ok(IssuedTokens {
            access_token,
            refresh_token: Some(refresh_token),
        })
    }

    /// Issues a new access token for a live refresh token, rotating the refresh token when
    /// `rotate` is set.
    pub fn refresh(
        &mut self,
        refresh_token: &str,
        access_ttl: Duration,
        rotate: bool,
    ) -> Result<IssuedTokens, OAuthError> {
        let position = self
            .refresh_tokens
            .iter()
            .position(|token| token == refresh_token)
            .ok_or_else(OAuthError::expired)?;
        if !rotate {
            let access_token = self.issue_access_token(Some(refresh_token.to_string()), access_ttl);
            return Ok(IssuedTokens {
                access_token,
                refresh_token: None,
            });
        }
        let rotated = format!("5Aep{}", uuid::Uuid::new_v4().simple());
        self.refresh_tokens[position] = rotated.clone();
        self.revoke_access_tokens_of(refresh_token);
        let access_token = self.issue_access_token(Some(rotated.clone()), access_ttl);
        Ok(IssuedTokens {
            access_token,
            refresh_token: Some(rotated),
        })
    }

    fn issue_access_token(&mut self, refresh_token: Option<String>, ttl: Duration) -> String {
        let identity = identity();
        let token = format!(
            "{}!AQ{}",
            &identity.org_id[..15],
            uuid::Uuid::new_v4().simple()
        );
        let grant = AccessGrant {
            expires_at: Instant::now() + ttl,
            refresh_token,
        };
        self.access_tokens.insert(token.clone(), grant);
        token
    }

    /// Returns whether an access token is known and not expired.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.access_tokens
            .get(token)
            .is_some_and(|grant| grant.expires_at > Instant::now())
    }

    /// Revokes a token of either kind; revoking a refresh token also revokes the access
    /// tokens issued from it. Returns whether the token was known.
    pub fn revoke(&mut self, token: &str) -> bool {
        if self.refresh_tokens.iter().any(|known| known == token) {
            self.revoke_refresh_token(token);
            return true;
        }
        self.access_tokens.remove(token).is_some()
    }

    /// Revokes every token, as removing the app's access for the user does.
    pub fn revoke_all(&mut self) -> usize {
        let count = self.refresh_tokens.len() + self.access_tokens.len();
        self.refresh_tokens.clear();
        self.access_tokens.clear();
        count
    }

    fn revoke_refresh_token(&mut self, token: &str) {
        self.refresh_tokens.retain(|known| known != token);
        self.revoke_access_tokens_of(token);
    }

    fn revoke_access_tokens_of(&mut self, refresh_token: &str) {
        self.access_tokens
            .retain(|_, grant| grant.refresh_token.as_deref() != Some(refresh_token));
    }
}

impl OAuthError {
    fn expired_code() -> OAuthError {
        OAuthError::new(400, "invalid_grant", "invalid authorization code")
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError::new(400, "invalid_client", "invalid client credentials")
    }

    pub fn invalid_client_id() -> OAuthError {
        OAuthError::new(400, "invalid_client_id", "client identifier invalid")
    }

    pub fn unsupported_grant_type() -> OAuthError {
        OAuthError::new(400, "unsupported_grant_type", "grant type not supported")
    }

    pub fn missing_grant_type() -> OAuthError {
        OAuthError::new(400, "invalid_request", "grant type is missing")
    }

    pub fn user_inactive() -> OAuthError {
        OAuthError::new(400, "invalid_grant", "authentication failure")
    }

    pub fn missing(description: &'static str) -> OAuthError {
        OAuthError::new(400, "invalid_request", description)
    }
}

/// Builds the token response body. Salesforce signs `id + issued_at` with HMAC-SHA256 keyed
/// by the client secret.
///
/// NOTE: this signature uses HMAC-SHA1 because no SHA-256 crate is a dependency, so a client
/// that verifies the signature will reject it.
pub fn token_response(
    tokens: &IssuedTokens,
    login_url: &str,
    instance_url: &str,
    client_secret: &str,
) -> Value {
    let identity = identity();
    let id = format!("{login_url}/id/{}/{}", identity.org_id, identity.user_id);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let signature = match Hmac::<Sha1>::new_from_slice(client_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(id.as_bytes());
            mac.update(issued_at.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    let mut body = json!({
        "access_token": tokens.access_token,
        "signature": signature,
        "scope": "refresh_token api",
        "instance_url": instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    if let Some(refresh_token) = &tokens.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    body
}
