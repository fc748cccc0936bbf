//! Start-up settings of the Salesforce simulator.

use std::net::SocketAddr;
use std::time::Duration;

/// Settings fixed when the simulator starts. Realism knobs that tests change while it runs
/// live in [`super::faults::Knobs`] instead.
#[derive(Debug, Clone)]
pub struct SalesforceSimConfig {
    /// Address of the login listener; the instance listener binds the same IP on a free port.
    pub listen: SocketAddr,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of issued access tokens; Salesforce's default session timeout is 2 hours.
    pub access_token_ttl: Duration,
    /// Maximum API calls per rolling day before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_api_limit: u64,
    /// Refresh tokens one user may hold for the connected app; issuing one more revokes the
    /// oldest. Salesforce documents five.
    pub max_refresh_tokens_per_user: usize,
    /// Whether a refresh returns a new refresh token and revokes the old one.
    pub rotate_refresh_tokens: bool,
    /// Idle time after which a query locator expires; SOAP documentation gives 15 minutes.
    pub query_locator_ttl: Duration,
}

impl Default for SalesforceSimConfig {
    fn default() -> SalesforceSimConfig {
        SalesforceSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client_id: "sim-client-id".to_string(),
            client_secret: "sim-client-secret".to_string(),
            access_token_ttl: Duration::from_secs(2 * 60 * 60),
            daily_api_limit: 100_000,
            max_refresh_tokens_per_user: 5,
            rotate_refresh_tokens: false,
            query_locator_ttl: Duration::from_secs(15 * 60),
        }
    }
}
