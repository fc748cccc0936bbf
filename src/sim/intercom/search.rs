//! `POST /contacts/search`: the query language (field, operator and value leaves under AND/OR
//! groups), its evaluation with Intercom's quirks, and the cursors both list and search page with.
//!
//! Date fields compare by calendar day in the workspace time zone, so `>` starts at the next
//! day and `!=`, `>=`, `<=`, `IN` and `NIN` are rejected on them.

use std::cmp::Ordering;

use serde_json::Value;

use super::contact::{Contact, Role};
use super::error::ApiError;

/// Maximum depth of AND/OR groups.
const MAX_GROUP_DEPTH: usize = 2;
/// Maximum filters in one AND/OR group.
const MAX_GROUP_FILTERS: usize = 15;
/// Results per page when the request names no `per_page`.
pub const DEFAULT_PER_PAGE: usize = 50;
/// Largest `per_page` Intercom accepts.
pub const MAX_PER_PAGE: usize = 150;
const SECONDS_PER_DAY: i64 = 86_400;

/// A searchable contact field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Id,
    Role,
    Name,
    Email,
    EmailDomain,
    Phone,
    ExternalId,
    CreatedAt,
    UpdatedAt,
    SignedUpAt,
    LastSeenAt,
    UnsubscribedFromEmails,
    Custom(String),
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        let field = match name {
            "id" => Field::Id,
            "role" => Field::Role,
            "name" => Field::Name,
            "email" => Field::Email,
            "email_domain" => Field::EmailDomain,
            "phone" => Field::Phone,
            "external_id" => Field::ExternalId,
            "created_at" => Field::CreatedAt,
            "updated_at" => Field::UpdatedAt,
            "signed_up_at" => Field::SignedUpAt,
            "last_seen_at" => Field::LastSeenAt,
            "unsubscribed_from_emails" => Field::UnsubscribedFromEmails,
            other => {
                let custom = other.strip_prefix("custom_attributes.")?;
                if custom.is_empty() {
                    return None;
                }
                Field::Custom(custom.to_string())
            }
        };
        Some(field)
    }

    fn is_date(&self) -> bool {
        matches!(
            self,
            Field::CreatedAt | Field::UpdatedAt | Field::SignedUpAt | Field::LastSeenAt
        )
    }

    fn ignores_case(&self) -> bool {
        matches!(self, Field::Email | Field::EmailDomain | Field::Name)
    }

    fn value_of(&self, contact: &Contact) -> Value {
        let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        let number = |v: Option<i64>| v.map_or(Value::Null, Value::from);
        match self {
            Field::Id => Value::String(contact.id.clone()),
            Field::Role => Value::String(contact.role.as_str().to_string()),
            Field::Name => text(&contact.name),
            Field::Email => text(&contact.email),
            Field::EmailDomain => text(&contact.email_domain()),
            Field::Phone => text(&contact.phone),
            Field::ExternalId => text(&contact.external_id),
            Field::CreatedAt => Value::from(contact.created_at()),
            Field::UpdatedAt => Value::from(contact.updated_at()),
            Field::SignedUpAt => number(contact.signed_up_at),
            Field::LastSeenAt => number(contact.last_seen_at),
            Field::UnsubscribedFromEmails => Value::Bool(contact.unsubscribed_from_emails),
            Field::Custom(name) => contact
                .custom_attributes
                .get(name)
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

/// A comparison operator of a search leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    In,
    NotIn,
    Greater,
    Less,
    GreaterOrEqual,
    LessOrEqual,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
}

impl Operator {
    fn parse(text: &str) -> Option<Operator> {
        let operator = match text {
            "=" => Operator::Equal,
            "!=" => Operator::NotEqual,
            "IN" => Operator::In,
            "NIN" => Operator::NotIn,
            ">" => Operator::Greater,
            "<" => Operator::Less,
            ">=" => Operator::GreaterOrEqual,
            "<=" => Operator::LessOrEqual,
            "~" => Operator::Contains,
            "!~" => Operator::NotContains,
            "^" => Operator::StartsWith,
            "$" => Operator::EndsWith,
            _ => return None,
        };
        Some(operator)
    }
}

/// A parsed search query.
#[derive(Debug, Clone)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Leaf {
        field: Field,
        operator: Operator,
        value: Value,
    },
}

impl Filter {
    /// Parses the `query` object of a search body.
    pub fn parse(query: &Value) -> Result<Filter, ApiError> {
        parse_node(query, 0)
    }

    /// Returns the email every match must equal (ignoring case), when the query requires one:
    /// an `email =` leaf alone or directly inside the top AND group.
    pub fn required_email(&self) -> Option<&str> {
        match self {
            Filter::All(items) => items.iter().find_map(email_equal_value),
            leaf => email_equal_value(leaf),
        }
    }

    /// Tells whether `contact` matches, comparing dates by day at `utc_offset_minutes`.
    pub fn matches(&self, contact: &Contact, utc_offset_minutes: i32) -> bool {
        match self {
            Filter::All(items) => items.iter().all(|f| f.matches(contact, utc_offset_minutes)),
            Filter::Any(items) => items.iter().any(|f| f.matches(contact, utc_offset_minutes)),
            Filter::Leaf {
                field,
                operator,
                value,
            } => {
                let actual = field.value_of(contact);
                if field.is_date() {
                    compare_days(&actual, *operator, value, utc_offset_minutes)
                } else {
                    compare(&actual, *operator, value, field.ignores_case())
                }
            }
        }
    }
}

fn email_equal_value(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Leaf {
            field: Field::Email,
            operator: Operator::Equal,
            value: Value::String(email),
        } => Some(email.as_str()),
        _ => None,
    }
}

fn invalid_query(message: String) -> ApiError {
    ApiError::parameter_invalid("query", message)
}

fn parse_node(node: &Value, depth: usize) -> Result<Filter, ApiError> {
    let object = node
        .as_object()
        .ok_or_else(|| invalid_query(format!("Invalid query node {node}: expected an object")))?;
    let operator = object
        .get("operator")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_query(format!("Missing operator in query node {node}")))?;
    let value = object
        .get("value")
        .ok_or_else(|| invalid_query(format!("Missing value in query node {node}")))?;

    if operator == "AND" || operator == "OR" {
        if depth >= MAX_GROUP_DEPTH {
            return Err(invalid_query(format!(
                "Query nested too deep: at most {MAX_GROUP_DEPTH} levels of AND/OR groups"
            )));
        }
        let items = value.as_array().ok_or_else(|| {
            invalid_query(format!(
                "Invalid {operator} value {value}: expected a list of filters"
            ))
        })?;
        if items.is_empty() || items.len() > MAX_GROUP_FILTERS {
            return Err(invalid_query(format!(
                "Invalid {operator} group of {} filters: expected 1 to {MAX_GROUP_FILTERS}",
                items.len()
            )));
        }
        let filters = items
            .iter()
            .map(|item| parse_node(item, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if operator == "AND" {
            Filter::All(filters)
        } else {
            Filter::Any(filters)
        });
    }

    let field_name = object
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_query(format!("Missing field in query node {node}")))?;
    let field = Field::parse(field_name)
        .ok_or_else(|| invalid_query(format!("Unknown search field {field_name:?}")))?;
    let parsed = Operator::parse(operator).ok_or_else(|| {
        invalid_query(format!(
            "Unknown operator {operator:?} on field {field_name:?}"
        ))
    })?;
    check_leaf(&field, field_name, parsed, operator, value)?;
    Ok(Filter::Leaf {
        field,
        operator: parsed,
        value: value.clone(),
    })
}

fn check_leaf(
    field: &Field,
    field_name: &str,
    operator: Operator,
    operator_text: &str,
    value: &Value,
) -> Result<(), ApiError> {
    use Operator::*;
    if field.is_date() {
        if matches!(
            operator,
            NotEqual | GreaterOrEqual | LessOrEqual | In | NotIn
        ) {
            return Err(invalid_query(format!(
                "Operator {operator_text:?} is not supported on date field {field_name:?}: use =, > or <"
            )));
        }
        if !value.is_i64() {
            return Err(invalid_query(format!(
                "Invalid value {value} for date field {field_name:?}: expected Unix seconds"
            )));
        }
    }
    if matches!(operator, In | NotIn) && !value.is_array() {
        return Err(invalid_query(format!(
            "Invalid value {value} for {operator_text}: expected a list"
        )));
    }
    if matches!(operator, Contains | NotContains | StartsWith | EndsWith) && !value.is_string() {
        return Err(invalid_query(format!(
            "Invalid value {value} for {operator_text}: expected a string"
        )));
    }
    if *field == Field::Role {
        if let Some(role) = value.as_str() {
            if Role::parse(role).is_none() {
                return Err(invalid_query(format!(
                    "Invalid role {role:?}: expected \"user\" or \"lead\""
                )));
            }
        }
    }
    Ok(())
}

fn day_of(seconds: i64, utc_offset_minutes: i32) -> i64 {
    (seconds + i64::from(utc_offset_minutes) * 60).div_euclid(SECONDS_PER_DAY)
}

fn compare_days(
    actual: &Value,
    operator: Operator,
    expected: &Value,
    utc_offset_minutes: i32,
) -> bool {
    let (Some(actual), Some(expected)) = (actual.as_i64(), expected.as_i64()) else {
        return false;
    };
    let actual_day = day_of(actual, utc_offset_minutes);
    let expected_day = day_of(expected, utc_offset_minutes);
    match operator {
        Operator::Equal => actual_day == expected_day,
        Operator::Greater => actual_day > expected_day,
        Operator::Less => actual_day < expected_day,
        _ => false,
    }
}

fn normalize(value: &Value, ignore_case: bool) -> Value {
    match value {
        Value::String(text) if ignore_case => Value::String(text.to_lowercase()),
        other => other.clone(),
    }
}

fn compare(actual: &Value, operator: Operator, expected: &Value, ignore_case: bool) -> bool {
    let actual = normalize(actual, ignore_case);
    let expected = normalize(expected, ignore_case);
    let equal = |candidate: &Value| values_equal(&actual, candidate);
    match operator {
        Operator::Equal => equal(&expected),
        Operator::NotEqual => !equal(&expected),
        Operator::In => expected.as_array().is_some_and(|items| {
            items
                .iter()
                .map(|i| normalize(i, ignore_case))
                .any(|i| equal(&i))
        }),
        Operator::NotIn => expected.as_array().is_some_and(|items| {
            !items
                .iter()
                .map(|i| normalize(i, ignore_case))
                .any(|i| equal(&i))
        }),
        Operator::Greater => order(&actual, &expected) == Some(Ordering::Greater),
        Operator::Less => order(&actual, &expected) == Some(Ordering::Less),
        Operator::GreaterOrEqual => matches!(
            order(&actual, &expected),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Operator::LessOrEqual => matches!(
            order(&actual, &expected),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Operator::Contains => text_test(&actual, &expected, |a, e| a.contains(e)),
        Operator::NotContains => !text_test(&actual, &expected, |a, e| a.contains(e)),
        Operator::StartsWith => text_test(&actual, &expected, |a, e| a.starts_with(e)),
        Operator::EndsWith => text_test(&actual, &expected, |a, e| a.ends_with(e)),
    }
}

fn values_equal(actual: &Value, expected: &Value) -> bool {
    match (actual.as_f64(), expected.as_f64()) {
        (Some(a), Some(e)) => a == e,
        _ => actual == expected,
    }
}

fn order(actual: &Value, expected: &Value) -> Option<Ordering> {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => a.as_f64()?.partial_cmp(&e.as_f64()?),
        (Value::String(a), Value::String(e)) => Some(a.cmp(e)),
        _ => None,
    }
}

fn text_test(actual: &Value, expected: &Value, test: impl Fn(&str, &str) -> bool) -> bool {
    match (actual.as_str(), expected.as_str()) {
        (Some(actual), Some(expected)) => test(actual, expected),
        _ => false,
    }
}

/// The `sort` object of a search body.
#[derive(Debug, Clone)]
pub struct Sort {
    pub field: Field,
    pub descending: bool,
}

impl Sort {
    pub fn parse(sort: &Value) -> Result<Sort, ApiError> {
        let invalid = |message: String| ApiError::parameter_invalid("sort", message);
        let name = sort
            .get("field")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("Missing field in sort {sort}")))?;
        let field =
            Field::parse(name).ok_or_else(|| invalid(format!("Unknown sort field {name:?}")))?;
        let descending = match sort.get("order").and_then(Value::as_str) {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(invalid(format!(
                    "Invalid sort order {other:?}: expected \"ascending\" or \"descending\""
                )))
            }
        };
        Ok(Sort { field, descending })
    }

    /// Orders two contacts by the sort field, nulls last, ties broken by creation order.
    pub fn compare(&self, left: &Contact, right: &Contact) -> Ordering {
        let (a, b) = (self.field.value_of(left), self.field.value_of(right));
        let ordering = match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => order(&a, &b).unwrap_or(Ordering::Equal),
        };
        let ordering = if self.descending {
            ordering.reverse()
        } else {
            ordering
        };
        ordering.then_with(|| left.id.cmp(&right.id))
    }
}

/// A paging position: the page number it leads to and the key to continue after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub page: usize,
    /// The last contact id of the previous page (list) or the count of results already
    /// returned (search).
    pub after: String,
}

impl Cursor {
    /// Encodes the cursor as an opaque token for `starting_after`.
    pub fn encode(&self) -> String {
        hex::encode(format!("{}:{}", self.page, self.after))
    }

    pub fn decode(token: &str) -> Result<Cursor, ApiError> {
        let invalid = || {
            ApiError::parameter_invalid(
                "starting_after",
                format!(
                    "Invalid starting_after {token:?}: pass the value of pages.next.starting_after"
                ),
            )
        };
        let bytes = hex::decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (page, after) = text.split_once(':').ok_or_else(invalid)?;
        let page = page.parse().map_err(|_| invalid())?;
        Ok(Cursor {
            page,
            after: after.to_string(),
        })
    }
}

/// Reads a `per_page` value: 1 to 150, 50 when absent.
pub fn per_page(value: Option<i64>) -> Result<usize, ApiError> {
    match value {
        None => Ok(DEFAULT_PER_PAGE),
        Some(n) if n >= 1 && n as usize <= MAX_PER_PAGE => Ok(n as usize),
        Some(n) => Err(ApiError::parameter_invalid(
            "per_page",
            format!("Invalid per_page {n}: expected 1 to {MAX_PER_PAGE}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn date_greater_starts_next_day() {
        let monday_noon = 1_700_049_600; // 2023-11-15T12:00:00Z
        let filter =
            Filter::parse(&json!({"field": "updated_at", "operator": ">", "value": monday_noon}))
                .unwrap();
        let Filter::Leaf {
            field,
            operator,
            value,
        } = filter
        else {
            panic!("expected a leaf")
        };
        assert!(field.is_date());
        assert!(!compare_days(
            &json!(monday_noon + 3600),
            operator,
            &value,
            0
        ));
        assert!(compare_days(
            &json!(monday_noon + 43_200),
            operator,
            &value,
            0
        ));
    }

    #[test]
    fn date_rejects_greater_or_equal() {
        let error = Filter::parse(&json!({"field": "created_at", "operator": ">=", "value": 1}))
            .unwrap_err();
        assert_eq!(error.code, "parameter_invalid");
    }

    #[test]
    fn depth_beyond_two_rejected() {
        let leaf = json!({"field": "role", "operator": "=", "value": "user"});
        let deep = json!({"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [leaf]}]}]});
        assert!(Filter::parse(&deep).is_err());
    }

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor {
            page: 3,
            after: "abc".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("zz").is_err());
    }
}
