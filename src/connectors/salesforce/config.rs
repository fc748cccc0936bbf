//! Settings of the Salesforce connector.

use std::time::Duration;

use crate::connectors::{RetryPolicy, Secret};

/// How to reach and authenticate with one Salesforce org.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// The OAuth host: `https://login.salesforce.com`, `https://test.salesforce.com` for
    /// sandboxes, or the org's My Domain. REST calls go to the `instance_url` of the tokens.
    pub login_url: String,
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: Secret,
    /// The REST API version, such as `v60.0`.
    pub api_version: String,
    /// Time limit of each HTTP request, from sending to the end of the response body.
    pub timeout: Duration,
    /// Age after which an access token is refreshed before use. Salesforce does not report
    /// token lifetimes, which follow the org's session timeout (two hours unless changed). A
    /// token that expires earlier is refreshed after its first 401.
    pub refresh_after: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Client name sent as `Sforce-Call-Options: client=<name>`, which tags the changes this
    /// connector makes (change events show it as their origin).
    pub call_options_client: Option<String>,
    /// Rows per query page, sent as `Sforce-Query-Options: batchSize=N` (Salesforce accepts
    /// 200 to 2,000 and treats it as a hint); `None` leaves the default of 2,000.
    pub query_batch_size: Option<u32>,
}

impl SalesforceConfig {
    /// Creates a configuration with API version `v60.0`, a 30-second timeout, refresh after 90
    /// minutes and the default retry policy.
    pub fn new(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        SalesforceConfig {
            login_url: login_url.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            api_version: "v60.0".to_owned(),
            timeout: Duration::from_secs(30),
            refresh_after: Duration::from_secs(90 * 60),
            retry: RetryPolicy::default(),
            call_options_client: Some("intersync".to_owned()),
            query_batch_size: None,
        }
    }
}
