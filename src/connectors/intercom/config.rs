//! Settings of the Intercom connector.

use std::time::Duration;

use crate::connectors::{RetryPolicy, Secret};

/// How to reach and authenticate with one Intercom workspace.
#[derive(Debug, Clone)]
pub struct IntercomConfig {
    /// The API host: `https://api.intercom.io`, or the EU and AU hosts.
    pub base_url: String,
    /// The app's access token.
    pub access_token: Secret,
    /// The pinned API version sent as `Intercom-Version`, such as `2.11`.
    pub version: String,
    /// Time limit of each HTTP request, from sending to the end of the response body.
    pub timeout: Duration,
    /// Retries of transient failures and waits for rate-limit resets.
    pub retry: RetryPolicy,
}

impl IntercomConfig {
    /// Creates a configuration with version `2.11`, a 30-second timeout and the default retry
    /// policy.
    pub fn new(base_url: impl Into<String>, access_token: impl Into<Secret>) -> Self {
        IntercomConfig {
            base_url: base_url.into(),
            access_token: access_token.into(),
            version: "2.11".to_owned(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}
