//! A string wrapper that keeps tokens and client secrets out of `Debug` and `Display` output.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret value (access token, refresh token, client secret).
///
/// `Debug` and `Display` print `[redacted]`; the value is read only through [`Secret::expose`],
/// which makes each place that sends it on the wire easy to find. Serde writes the plain value
/// so a credential store can persist it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Returns the secret value, for use in a request header or form body only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}
