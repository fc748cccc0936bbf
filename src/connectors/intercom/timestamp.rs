//! Intercom timestamps. The REST API sends Unix seconds, but webhook notifications send the same
//! fields as ISO 8601 strings (`2026-01-10T04:41:59.251+00:00` or `…Z`). Both parse to UTC.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;
use std::fmt;

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unix seconds or an ISO 8601 datetime")
    }

    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Self::Value, E> {
        Utc.timestamp_opt(seconds, 0)
            .single()
            .ok_or_else(|| E::custom(format!("timestamp {seconds} is out of range")))
    }

    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Self::Value, E> {
        let seconds = i64::try_from(seconds)
            .map_err(|_| E::custom(format!("timestamp {seconds} is out of range")))?;
        self.visit_i64(seconds)
    }

    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<Self::Value, E> {
        Utc.timestamp_millis_opt((seconds * 1000.0) as i64)
            .single()
            .ok_or_else(|| E::custom(format!("timestamp {seconds} is out of range")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if let Ok(seconds) = value.parse::<i64>() {
            return self.visit_i64(seconds);
        }
        DateTime::parse_from_rfc3339(value)
            .map(|parsed| parsed.with_timezone(&Utc))
            .map_err(|e| E::custom(format!("invalid Intercom timestamp {value:?}: {e}")))
    }
}

/// Deserializes a required timestamp.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_any(TimestampVisitor)
}

/// Serializes a timestamp as RFC 3339 with milliseconds, which [`deserialize`] reads back.
pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The same for optional (nullable) timestamps.
pub mod option {
    use super::TimestampVisitor;
    use chrono::{DateTime, Utc};
    use serde::de::{self, Deserializer, Visitor};
    use serde::Serializer;
    use std::fmt;

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null, Unix seconds or an ISO 8601 datetime")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(TimestampVisitor).map(Some)
        }
    }

    /// Deserializes an optional timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor)
    }

    /// Serializes an optional timestamp.
    pub fn serialize<S: Serializer>(
        value: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::serialize(value, serializer),
            None => serializer.serialize_none(),
        }
    }
}
