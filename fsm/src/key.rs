//! Identifiers: the mapping key and the ids of both sides, validated once at the boundary.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The value that matches a person on both sides, compared trimmed and case-insensitively.
///
/// The server and the machine both build keys through [`MappingKey::normalize`], so a key
/// read from a webhook and one read from a SOQL row compare equal exactly when they match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MappingKey(String);

impl MappingKey {
    /// Trims and lowercases a raw key such as an email address.
    ///
    /// Returns an error for a key that is blank after trimming, because a blank key matches
    /// nobody.
    pub fn normalize(raw: &str) -> Result<MappingKey, IdError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(IdError::BlankKey);
        }
        Ok(MappingKey(trimmed.to_lowercase()))
    }

    /// The normalized key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MappingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An 18-character Salesforce record id.
///
/// The server converts 15-character ids to the 18-character form before they reach the
/// machine, so two ids of one record always compare equal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SalesforceId(String);

impl SalesforceId {
    /// The length of every id the machine accepts.
    pub const LENGTH: usize = 18;

    /// Validates an 18-character alphanumeric id.
    pub fn parse(raw: &str) -> Result<SalesforceId, IdError> {
        if raw.len() != Self::LENGTH {
            return Err(IdError::SalesforceIdLength {
                id: raw.to_owned(),
                length: raw.chars().count(),
            });
        }
        if !raw.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Err(IdError::SalesforceIdCharacters { id: raw.to_owned() });
        }
        Ok(SalesforceId(raw.to_owned()))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SalesforceId {
    type Error = IdError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        SalesforceId::parse(&raw)
    }
}

impl From<SalesforceId> for String {
    fn from(id: SalesforceId) -> Self {
        id.0
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Intercom contact id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IntercomId(String);

impl IntercomId {
    /// Validates a non-blank contact id.
    pub fn parse(raw: &str) -> Result<IntercomId, IdError> {
        if raw.trim().is_empty() || raw.trim() != raw {
            return Err(IdError::IntercomId { id: raw.to_owned() });
        }
        Ok(IntercomId(raw.to_owned()))
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IntercomId {
    type Error = IdError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        IntercomId::parse(&raw)
    }
}

impl From<IntercomId> for String {
    fn from(id: IntercomId) -> Self {
        id.0
    }
}

impl fmt::Display for IntercomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An invalid mapping key or record id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// The mapping key is empty or only whitespace.
    BlankKey,
    /// A Salesforce id that is not 18 characters long.
    SalesforceIdLength {
        /// The rejected id.
        id: String,
        /// Its length in characters.
        length: usize,
    },
    /// A Salesforce id with a character outside `A-Z`, `a-z` and `0-9`.
    SalesforceIdCharacters {
        /// The rejected id.
        id: String,
    },
    /// An Intercom contact id that is blank or has surrounding whitespace.
    IntercomId {
        /// The rejected id.
        id: String,
    },
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::BlankKey => f.write_str(
                "invalid mapping key: the key is blank; give the person an email (or the configured key attribute)",
            ),
            IdError::SalesforceIdLength { id, length } => write!(
                f,
                "invalid Salesforce id {id:?}: it has {length} characters, expected 18; convert 15-character ids to the 18-character form first"
            ),
            IdError::SalesforceIdCharacters { id } => write!(
                f,
                "invalid Salesforce id {id:?}: expected only the letters A-Z, a-z and the digits 0-9"
            ),
            IdError::IntercomId { id } => write!(
                f,
                "invalid Intercom contact id {id:?}: expected a non-blank id without surrounding whitespace"
            ),
        }
    }
}

impl std::error::Error for IdError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_trimmed_and_lowercased() {
        let key = MappingKey::normalize("  Jane.Doe@Acme.com ").unwrap();
        assert_eq!(key.as_str(), "jane.doe@acme.com");
    }

    #[test]
    fn blank_key_is_rejected() {
        assert_eq!(MappingKey::normalize("  "), Err(IdError::BlankKey));
    }

    #[test]
    fn salesforce_id_of_15_characters_is_rejected() {
        let error = SalesforceId::parse("00Q000000000001").unwrap_err();
        assert!(error.to_string().contains("15 characters, expected 18"));
    }

    #[test]
    fn salesforce_id_of_18_characters_is_accepted() {
        let id = SalesforceId::parse("00Q000000000001AAA").unwrap();
        assert_eq!(id.as_str(), "00Q000000000001AAA");
    }

    #[test]
    fn salesforce_id_with_punctuation_is_rejected() {
        assert!(SalesforceId::parse("00Q00000000000-AAA").is_err());
    }

    #[test]
    fn salesforce_id_deserialization_validates() {
        let parsed: Result<SalesforceId, _> = serde_json::from_str("\"short\"");
        assert!(parsed.is_err());
    }

    #[test]
    fn intercom_id_must_not_be_blank() {
        assert!(IntercomId::parse("").is_err());
        assert!(IntercomId::parse("6657a1b2c3d4e5f6a7b8c9d0").is_ok());
    }
}
