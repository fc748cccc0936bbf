//! HTTP clients of the Salesforce and Intercom REST APIs.
//!
//! Each connector is a reqwest client of the real, documented API: the simulators in
//! [`crate::sim`] differ only in the base URL. Every failure is classified once, here, into an
//! [`ErrorClass`], so the rest of the server decides from the type whether to retry, pause, ask
//! for re-authorization or give up. Retryable failures are retried inside the connector by one
//! [`RetryPolicy`].
//!
//! Logging levels: WARN for a retry or a recovered failure, ERROR for a failure that needs a
//! person (a revoked grant, a credential store that cannot save). No log line, error message or
//! `Debug` output contains an access token, refresh token or client secret.

mod class;
pub mod intercom;
mod retry;
pub mod salesforce;
mod secret;
mod wire;

pub use class::ErrorClass;
pub use retry::RetryPolicy;
pub use secret::Secret;
