//! Typed attribute values and the blank-aware equality that echo suppression relies on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Mapped attribute values keyed by stable attribute id (`"name"`, `"custom_attributes.plan"`).
pub type Attributes = BTreeMap<String, Value>;

/// One attribute value, already converted by the server from either side's wire format.
///
/// Equality treats `Null` and an empty `Text` as the same blank value, so a side that reports
/// `""` where the other reports `null` never causes a write. Floats compare by value, with
/// every NaN equal to every other NaN so that a NaN cannot start a write loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    /// No value. Equal to an empty `Text`.
    Null,
    /// Text: strings, emails, phones, URLs, picklist labels.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A double, currency or percent value.
    Float(f64),
    /// A checkbox or boolean attribute.
    Boolean(bool),
    /// A calendar date, as days since 1970-01-01.
    Date(i32),
    /// An instant, as milliseconds since the Unix epoch in UTC.
    DateTime(i64),
}

impl Value {
    /// Returns true for `Null` and for an empty `Text`.
    pub fn is_blank(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Text(text) => text.is_empty(),
            _ => false,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        if self.is_blank() || other.is_blank() {
            return self.is_blank() && other.is_blank();
        }
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::DateTime(a), Value::DateTime(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Integer(number)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Boolean(flag)
    }
}

/// Returns the value of `id` in `attributes`, treating a missing entry as blank.
pub(crate) fn value_of<'a>(attributes: &'a Attributes, id: &str) -> &'a Value {
    const BLANK: &Value = &Value::Null;
    attributes.get(id).unwrap_or(BLANK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_equals_null() {
        assert_eq!(Value::Text(String::new()), Value::Null);
        assert_eq!(Value::Null, Value::Text(String::new()));
    }

    #[test]
    fn blank_differs_from_value() {
        assert_ne!(Value::Null, Value::from("a"));
        assert_ne!(Value::Integer(0), Value::Null);
    }

    #[test]
    fn nan_equals_nan() {
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
    }

    #[test]
    fn different_types_differ() {
        assert_ne!(Value::Integer(1), Value::Float(1.0));
    }
}
