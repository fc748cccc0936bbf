//! Checks a parsed SOQL query against the describe metadata and runs it over stored records.

use std::cmp::Ordering;
use std::time::Instant;

use chrono::NaiveDate;
use serde_json::Value;

use super::describe::{FieldType, ObjectSchema, Schema};
use super::error::{ApiError, ApiResult};
use super::ids::{normalize_id, SObjectType};
use super::soql::{self, Condition, Literal, Name, Operator, Query, Selection};
use super::store::{parse_datetime, Record, Store};

/// A query whose names are resolved to canonical fields of one object.
#[derive(Debug, Clone)]
pub struct CompiledQuery {
    pub object: SObjectType,
    /// `None` for `SELECT COUNT()`.
    pub fields: Option<Vec<String>>,
    filter: Option<Filter>,
    order_by: Vec<SortKey>,
    pub limit: Option<usize>,
    pub offset: usize,
}

#[derive(Debug, Clone)]
enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        field: Field,
        operator: Operator,
        value: Literal,
    },
    In {
        field: Field,
        negated: bool,
        values: Vec<Literal>,
    },
    Like {
        field: Field,
        pattern: String,
    },
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    field_type: FieldType,
}

#[derive(Debug, Clone)]
struct SortKey {
    field: Field,
    descending: bool,
    nulls_last: bool,
}

/// Parses and checks `text`: syntax errors become `MALFORMED_QUERY`, unknown objects
/// `INVALID_TYPE`, and unknown, non-filterable or wrongly typed fields `INVALID_FIELD`, each
/// with the row and column in the message.
pub fn compile(text: &str, schema: &Schema) -> ApiResult<CompiledQuery> {
    let parsed = soql::parse(text).map_err(|error| {
        let detail = format!("unexpected token: {}", error.token);
        ApiError::new(
            400,
            "MALFORMED_QUERY",
            soql::positioned_message(text, error.position, &detail),
        )
    })?;
    Compiler { text, schema }.compile(parsed)
}

struct Compiler<'a> {
    text: &'a str,
    schema: &'a Schema,
}

impl Compiler<'_> {
    fn compile(&self, parsed: Query) -> ApiResult<CompiledQuery> {
        let object = SObjectType::from_name(&parsed.object.text).ok_or_else(|| {
            let detail = format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                parsed.object.text
            );
            ApiError::new(400, "INVALID_TYPE", self.message(&parsed.object, &detail))
        })?;
        let schema = self.schema.object(object);

        let fields = match &parsed.selection {
            Selection::Count => None,
            Selection::Fields(names) => Some(
                names
                    .iter()
                    .map(|name| self.field(schema, name).map(|field| field.name))
                    .collect::<ApiResult<Vec<_>>>()?,
            ),
        };
        let filter = parsed
            .filter
            .as_ref()
            .map(|condition| self.filter(schema, condition))
            .transpose()?;
        let order_by = parsed
            .order_by
            .iter()
            .map(|item| {
                let field = self.field(schema, &item.field)?;
                let sortable = schema.field(&field.name).is_some_and(|def| def.sortable);
                if !sortable {
                    let detail =
                        format!("field '{}' can not be sorted in a query call", field.name);
                    return Err(ApiError::invalid_field(self.message(&item.field, &detail)));
                }
                Ok(SortKey {
                    field,
                    descending: item.descending,
                    nulls_last: item.nulls_last,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;

        Ok(CompiledQuery {
            object,
            fields,
            filter,
            order_by,
            limit: parsed.limit,
            offset: parsed.offset.unwrap_or(0),
        })
    }

    fn message(&self, name: &Name, detail: &str) -> String {
        soql::positioned_message(self.text, name.position, detail)
    }

    fn field(&self, schema: &ObjectSchema, name: &Name) -> ApiResult<Field> {
        let def = schema.field(&name.text).ok_or_else(|| {
            let detail = format!(
                "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                name.text, schema.object
            );
            ApiError::invalid_field(self.message(name, &detail))
        })?;
        Ok(Field {
            name: def.name.clone(),
            field_type: def.field_type,
        })
    }

    fn filter_field(&self, schema: &ObjectSchema, name: &Name) -> ApiResult<Field> {
        let field = self.field(schema, name)?;
        let filterable = schema.field(&field.name).is_some_and(|def| def.filterable);
        if !filterable {
            let detail = format!("field '{}' can not be filtered in query call", field.name);
            return Err(ApiError::invalid_field(self.message(name, &detail)));
        }
        Ok(field)
    }

    fn filter(&self, schema: &ObjectSchema, condition: &Condition) -> ApiResult<Filter> {
        Ok(match condition {
            Condition::And(parts) => Filter::And(self.filters(schema, parts)?),
            Condition::Or(parts) => Filter::Or(self.filters(schema, parts)?),
            Condition::Not(inner) => Filter::Not(Box::new(self.filter(schema, inner)?)),
            Condition::Compare {
                field: name,
                operator,
                value,
            } => {
                let field = self.filter_field(schema, name)?;
                let value = self.literal(name, &field, value)?;
                Filter::Compare {
                    field,
                    operator: *operator,
                    value,
                }
            }
            Condition::In {
                field: name,
                negated,
                values,
            } => {
                let field = self.filter_field(schema, name)?;
                let values = values
                    .iter()
                    .map(|value| self.literal(name, &field, value))
                    .collect::<ApiResult<Vec<_>>>()?;
                Filter::In {
                    field,
                    negated: *negated,
                    values,
                }
            }
            Condition::Like {
                field: name,
                pattern,
            } => {
                let field = self.filter_field(schema, name)?;
                if !field.field_type.is_text() {
                    let detail = format!(
                        "invalid operator on field '{}'. LIKE applies only to text fields",
                        field.name
                    );
                    return Err(ApiError::invalid_field(self.message(name, &detail)));
                }
                Filter::Like {
                    field,
                    pattern: pattern.to_lowercase(),
                }
            }
        })
    }

    fn filters(&self, schema: &ObjectSchema, parts: &[Condition]) -> ApiResult<Vec<Filter>> {
        parts.iter().map(|part| self.filter(schema, part)).collect()
    }

    /// Checks that a literal suits the field's type, as Salesforce does before running.
    fn literal(&self, name: &Name, field: &Field, value: &Literal) -> ApiResult<Literal> {
        let expected = match (field.field_type, value) {
            (_, Literal::Null) => return Ok(Literal::Null),
            (FieldType::Boolean, Literal::Boolean(_)) => return Ok(value.clone()),
            (FieldType::Date, Literal::Date(_)) => return Ok(value.clone()),
            (FieldType::DateTime, Literal::DateTime(_)) => return Ok(value.clone()),
            (kind, Literal::Number(_)) if kind.is_number() => return Ok(value.clone()),
            (FieldType::Id | FieldType::Reference, Literal::Text(text)) => {
                let id = normalize_id(text).unwrap_or_else(|| text.clone());
                return Ok(Literal::Text(id));
            }
            (kind, Literal::Text(_)) if kind.is_text() => return Ok(value.clone()),
            (FieldType::Boolean, _) => "boolean",
            (FieldType::Date, _) => "date",
            (FieldType::DateTime, _) => "dateTime",
            (kind, _) if kind.is_number() => "number",
            _ => "string",
        };
        let quoting = if expected == "string" {
            "should be enclosed in quotes"
        } else {
            "should not be enclosed in quotes"
        };
        let detail = format!(
            "value of filter criterion for field '{}' must be of type {expected} and {quoting}",
            field.name
        );
        Err(ApiError::invalid_field(self.message(name, &detail)))
    }
}

/// Runs a compiled query and returns the matching records in order, after OFFSET and LIMIT.
/// Soft-deleted records are included only when `include_deleted` is set (`queryAll`), and
/// records still inside their commit delay are skipped.
pub fn run<'a>(query: &CompiledQuery, store: &'a Store, include_deleted: bool) -> Vec<&'a Record> {
    let now = Instant::now();
    let mut matches: Vec<&Record> = store
        .records(query.object)
        .filter(|record| record.is_visible(now))
        .filter(|record| include_deleted || record.deleted_at.is_none())
        .filter(|record| {
            query
                .filter
                .as_ref()
                .map_or(true, |filter| evaluate(filter, record))
        })
        .collect();

    if query.order_by.is_empty() {
        // Without ORDER BY Salesforce returns rows in no promised order; ids are assigned in
        // creation order, so sorting by id gives stable pages.
        matches.sort_by(|left, right| left.id().cmp(right.id()));
    } else {
        // Each record's sort key is computed once, not once per comparison.
        let mut keyed: Vec<(Vec<Comparable>, &Record)> = matches
            .into_iter()
            .map(|record| (sort_key(&query.order_by, record), record))
            .collect();
        keyed.sort_by(|(left, _), (right, _)| compare_keys(&query.order_by, left, right));
        matches = keyed.into_iter().map(|(_, record)| record).collect();
    }

    let limit = query.limit.unwrap_or(usize::MAX);
    matches.into_iter().skip(query.offset).take(limit).collect()
}

fn sort_key(keys: &[SortKey], record: &Record) -> Vec<Comparable> {
    keys.iter()
        .map(|key| field_value(record, &key.field))
        .collect()
}

fn compare_keys(keys: &[SortKey], left: &[Comparable], right: &[Comparable]) -> Ordering {
    for ((key, left_value), right_value) in keys.iter().zip(left).zip(right) {
        let ordering = match (left_value.is_null(), right_value.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if key.nulls_last => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, true) if key.nulls_last => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => {
                let ordering = compare_values(left_value, right_value);
                if key.descending {
                    ordering.reverse()
                } else {
                    ordering
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// A field's value in comparable form.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Comparable {
    Null,
    Boolean(bool),
    Number(f64),
    Text(String),
    Date(NaiveDate),
    DateTime(chrono::DateTime<chrono::Utc>),
}

impl Comparable {
    fn is_null(&self) -> bool {
        matches!(self, Comparable::Null)
    }
}

fn field_value(record: &Record, field: &Field) -> Comparable {
    if field.name == "SystemModstamp" {
        return Comparable::DateTime(record.modstamp);
    }
    let Some(value) = record.fields.get(&field.name) else {
        return Comparable::Null;
    };
    match (field.field_type, value) {
        (_, Value::Null) => Comparable::Null,
        (_, Value::Bool(flag)) => Comparable::Boolean(*flag),
        (_, Value::Number(number)) => Comparable::Number(number.as_f64().unwrap_or(0.0)),
        (FieldType::Date, Value::String(text)) => {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_or(Comparable::Null, Comparable::Date)
        }
        (FieldType::DateTime, Value::String(text)) => {
            parse_datetime(text).map_or(Comparable::Null, Comparable::DateTime)
        }
        // Ids compare exactly, so ORDER BY Id follows creation order.
        (FieldType::Id | FieldType::Reference, Value::String(text)) => {
            Comparable::Text(text.clone())
        }
        (_, Value::String(text)) => Comparable::Text(text.to_lowercase()),
        _ => Comparable::Null,
    }
}

fn literal_value(field: &Field, literal: &Literal) -> Comparable {
    match literal {
        Literal::Text(text) if matches!(field.field_type, FieldType::Id | FieldType::Reference) => {
            Comparable::Text(text.clone())
        }
        Literal::Null => Comparable::Null,
        Literal::Boolean(flag) => Comparable::Boolean(*flag),
        Literal::Number(number) => Comparable::Number(*number),
        Literal::Text(text) => Comparable::Text(text.to_lowercase()),
        Literal::Date(date) => Comparable::Date(*date),
        Literal::DateTime(moment) => Comparable::DateTime(*moment),
    }
}

fn compare_values(left: &Comparable, right: &Comparable) -> Ordering {
    left.partial_cmp(right).unwrap_or(Ordering::Equal)
}

fn evaluate(filter: &Filter, record: &Record) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|part| evaluate(part, record)),
        Filter::Or(parts) => parts.iter().any(|part| evaluate(part, record)),
        Filter::Not(inner) => !evaluate(inner, record),
        Filter::Compare {
            field,
            operator,
            value,
        } => {
            let actual = field_value(record, field);
            let expected = literal_value(field, value);
            match operator {
                Operator::Equal => actual == expected,
                Operator::NotEqual => actual != expected,
                _ if actual.is_null() || expected.is_null() => false,
                Operator::Less => compare_values(&actual, &expected) == Ordering::Less,
                Operator::LessOrEqual => compare_values(&actual, &expected) != Ordering::Greater,
                Operator::Greater => compare_values(&actual, &expected) == Ordering::Greater,
                Operator::GreaterOrEqual => compare_values(&actual, &expected) != Ordering::Less,
            }
        }
        Filter::In {
            field,
            negated,
            values,
        } => {
            let actual = field_value(record, field);
            let found = values
                .iter()
                .any(|value| literal_value(field, value) == actual);
            found != *negated
        }
        Filter::Like { field, pattern } => match field_value(record, field) {
            Comparable::Text(text) => like(pattern, &text),
            _ => false,
        },
    }
}

/// Matches SOQL LIKE: `%` is any run of characters, `_` one character, and a backslash
/// escapes the next one. Both sides are already lower case.
fn like(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    like_from(&pattern, &text)
}

fn like_from(pattern: &[char], text: &[char]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some('%') => (0..=text.len()).any(|skip| like_from(&pattern[1..], &text[skip..])),
        Some('_') => !text.is_empty() && like_from(&pattern[1..], &text[1..]),
        Some('\\') if pattern.len() > 1 => {
            text.first() == Some(&pattern[1]) && like_from(&pattern[2..], &text[1..])
        }
        Some(expected) => text.first() == Some(expected) && like_from(&pattern[1..], &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_wildcards() {
        assert!(like("%@example.com", "ana@example.com"));
        assert!(like("a_a%", "ana"));
        assert!(!like("a_a", "anna"));
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
    }
}
