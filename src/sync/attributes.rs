//! The mapped attributes: reading them from either side's JSON into typed values, and
//! writing typed values back into each side's request bodies.
//!
//! An attribute's id is its Intercom path (`phone`, `custom_attributes.plan`), so the state
//! machine, the history and the sync errors name attributes the way operators configure them.
//! The mapping key (the email) is always the first attribute.

use chrono::{DateTime, NaiveDate, Utc};
use intersync_fsm::{Attributes, ConflictPolicy, MappedAttribute, SyncRules, Value};
use serde_json::{Map, Value as Json};

use crate::config::{AttributeSetting, ConfigError, SyncSettings};

/// Id of the mapping-key attribute.
pub const KEY_ATTRIBUTE: &str = "email";
/// The Salesforce field that contains the mapping key.
pub const KEY_FIELD: &str = "Email";
/// The compound Salesforce name field, read-only; writes go to `FirstName` and `LastName`.
const NAME_FIELD: &str = "Name";

/// The value type of a mapped attribute on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Integer,
    Float,
    Boolean,
    /// Salesforce `YYYY-MM-DD`; Intercom Unix seconds at midnight UTC.
    Date,
    /// Salesforce ISO 8601; Intercom Unix seconds.
    DateTime,
}

impl ValueKind {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "text" => Self::Text,
            "integer" => Self::Integer,
            "float" => Self::Float,
            "boolean" => Self::Boolean,
            "date" => Self::Date,
            "datetime" => Self::DateTime,
            _ => return None,
        })
    }
}

/// One mapped attribute pair with its parsed settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeEntry {
    /// The Intercom path, which is also the attribute id.
    pub id: String,
    pub salesforce: String,
    pub kind: ValueKind,
    pub policy: ConflictPolicy,
}

/// Every mapped attribute, the key first.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeMap {
    entries: Vec<AttributeEntry>,
}

/// Parses a policy name of the config file.
pub fn parse_policy(text: &str) -> Option<ConflictPolicy> {
    Some(match text {
        "newest_wins" => ConflictPolicy::NewestWins,
        "prefer_salesforce" => ConflictPolicy::PreferSalesforce,
        "prefer_salesforce_unless_blank" => ConflictPolicy::PreferSalesforceUnlessBlank,
        "prefer_intercom" => ConflictPolicy::PreferIntercom,
        "intercom_to_salesforce" => ConflictPolicy::IntercomToSalesforceOnly,
        "salesforce_to_intercom" => ConflictPolicy::SalesforceToIntercomOnly,
        "none" => ConflictPolicy::DoNotSync,
        _ => return None,
    })
}

impl AttributeMap {
    /// Builds the map from the settings, rejecting unknown policies and kinds and a second
    /// use of the key attribute or of one field.
    pub fn from_settings(settings: &SyncSettings) -> Result<Self, ConfigError> {
        let mut entries = vec![AttributeEntry {
            id: KEY_ATTRIBUTE.to_owned(),
            salesforce: KEY_FIELD.to_owned(),
            kind: ValueKind::Text,
            policy: ConflictPolicy::NewestWins,
        }];
        for setting in &settings.attributes {
            let entry = Self::entry(setting)?;
            if entries.iter().any(|known| known.id == entry.id) {
                return Err(ConfigError::Invalid {
                    key: "sync.attributes.intercom",
                    value: entry.id,
                    reason: "each Intercom attribute can be mapped once (email is the mapping key)"
                        .to_owned(),
                });
            }
            if entries
                .iter()
                .any(|known| known.salesforce == entry.salesforce)
            {
                return Err(ConfigError::Invalid {
                    key: "sync.attributes.salesforce",
                    value: entry.salesforce,
                    reason: "each Salesforce field can be mapped once (Email is the mapping key)"
                        .to_owned(),
                });
            }
            entries.push(entry);
        }
        Ok(Self { entries })
    }

    fn entry(setting: &AttributeSetting) -> Result<AttributeEntry, ConfigError> {
        let policy = parse_policy(&setting.policy).ok_or_else(|| ConfigError::Invalid {
            key: "sync.attributes.policy",
            value: setting.policy.clone(),
            reason: "expected newest_wins, prefer_salesforce, prefer_salesforce_unless_blank, \
                     prefer_intercom, intercom_to_salesforce, salesforce_to_intercom or none"
                .to_owned(),
        })?;
        let kind = ValueKind::parse(&setting.kind).ok_or_else(|| ConfigError::Invalid {
            key: "sync.attributes.kind",
            value: setting.kind.clone(),
            reason: "expected text, integer, float, boolean, date or datetime".to_owned(),
        })?;
        let standard = ["name", "phone", "email", "unsubscribed_from_emails"];
        let custom = setting
            .intercom
            .strip_prefix("custom_attributes.")
            .is_some_and(|name| !name.is_empty() && !name.contains('.'));
        if !custom && !standard.contains(&setting.intercom.as_str()) {
            return Err(ConfigError::Invalid {
                key: "sync.attributes.intercom",
                value: setting.intercom.clone(),
                reason:
                    "expected name, phone, unsubscribed_from_emails or custom_attributes.<name>"
                        .to_owned(),
            });
        }
        if setting.intercom.trim().is_empty() || setting.salesforce.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "sync.attributes",
                value: format!("{} = {}", setting.intercom, setting.salesforce),
                reason: "both the Intercom attribute and the Salesforce field are required"
                    .to_owned(),
            });
        }
        Ok(AttributeEntry {
            id: setting.intercom.clone(),
            salesforce: setting.salesforce.clone(),
            kind,
            policy,
        })
    }

    pub fn entries(&self) -> &[AttributeEntry] {
        &self.entries
    }

    /// Builds the rules the state machine applies.
    pub fn rules(&self, create_leads: bool) -> SyncRules {
        let mut rules = SyncRules::new(
            self.entries
                .iter()
                .map(|entry| MappedAttribute::new(entry.id.clone(), entry.policy))
                .collect(),
        );
        rules.key_attribute = KEY_ATTRIBUTE.to_owned();
        rules.create_leads_for_unmatched = create_leads;
        rules
    }

    /// Lists the Salesforce fields a query selects to read every mapped attribute.
    pub fn salesforce_select_fields(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|entry| entry.salesforce.as_str())
            .collect()
    }

    /// Reads the mapped attributes of an Intercom contact object. A missing attribute reads
    /// as `Null`.
    pub fn read_intercom(&self, contact: &Json) -> Attributes {
        self.entries
            .iter()
            .map(|entry| {
                let raw = intercom_path(contact, &entry.id);
                (entry.id.clone(), from_intercom(raw, entry.kind))
            })
            .collect()
    }

    /// Reads the mapped attributes of a Salesforce record.
    pub fn read_salesforce(&self, record: &Map<String, Json>) -> Attributes {
        self.entries
            .iter()
            .map(|entry| {
                let raw = record.get(&entry.salesforce).unwrap_or(&Json::Null);
                (entry.id.clone(), from_salesforce(raw, entry.kind))
            })
            .collect()
    }

    /// Builds the body of an Intercom contact update that sets `attributes`.
    pub fn intercom_body(&self, attributes: &Attributes) -> Json {
        let mut body = Map::new();
        let mut custom = Map::new();
        for entry in &self.entries {
            let Some(value) = attributes.get(&entry.id) else {
                continue;
            };
            let json = to_intercom(value);
            match entry.id.strip_prefix("custom_attributes.") {
                Some(name) => {
                    custom.insert(name.to_owned(), json);
                }
                None => {
                    body.insert(entry.id.clone(), json);
                }
            }
        }
        if !custom.is_empty() {
            body.insert("custom_attributes".to_owned(), Json::Object(custom));
        }
        Json::Object(body)
    }

    /// Builds the Salesforce fields that set `attributes`. `Name` becomes `FirstName` and
    /// `LastName`.
    pub fn salesforce_fields(&self, attributes: &Attributes) -> Map<String, Json> {
        let mut fields = Map::new();
        for entry in &self.entries {
            let Some(value) = attributes.get(&entry.id) else {
                continue;
            };
            if entry.salesforce == NAME_FIELD {
                let (first, last) = split_name(value);
                fields.insert("FirstName".to_owned(), first);
                fields.insert("LastName".to_owned(), last);
                continue;
            }
            fields.insert(entry.salesforce.clone(), to_salesforce(value, entry.kind));
        }
        fields
    }
}

fn intercom_path<'a>(contact: &'a Json, path: &str) -> &'a Json {
    let mut current = contact;
    for part in path.split('.') {
        current = current.get(part).unwrap_or(&Json::Null);
    }
    current
}

fn from_intercom(raw: &Json, kind: ValueKind) -> Value {
    match (kind, raw) {
        (_, Json::Null) => Value::Null,
        (ValueKind::Date, Json::Number(number)) => number
            .as_i64()
            .map(|seconds| Value::Date(seconds.div_euclid(86_400) as i32))
            .unwrap_or(Value::Null),
        (ValueKind::DateTime, Json::Number(number)) => number
            .as_i64()
            .map(|seconds| Value::DateTime(seconds * 1000))
            .unwrap_or(Value::Null),
        _ => from_json(raw, kind),
    }
}

fn from_salesforce(raw: &Json, kind: ValueKind) -> Value {
    match (kind, raw) {
        (_, Json::Null) => Value::Null,
        (ValueKind::Date, Json::String(text)) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(|date| Value::Date(days_since_epoch(date)))
            .unwrap_or(Value::Null),
        (ValueKind::DateTime, Json::String(text)) => parse_salesforce_datetime(text)
            .map(|time| Value::DateTime(time.timestamp_millis()))
            .unwrap_or(Value::Null),
        _ => from_json(raw, kind),
    }
}

/// Converts a JSON scalar of the expected kind; a value of another type reads as text, so it
/// shows up in a diff instead of vanishing.
fn from_json(raw: &Json, kind: ValueKind) -> Value {
    match (kind, raw) {
        (ValueKind::Integer, Json::Number(number)) if number.is_i64() => {
            Value::Integer(number.as_i64().unwrap_or_default())
        }
        (ValueKind::Float | ValueKind::Integer, Json::Number(number)) => {
            Value::Float(number.as_f64().unwrap_or_default())
        }
        (ValueKind::Boolean, Json::Bool(flag)) => Value::Boolean(*flag),
        (_, Json::String(text)) => Value::Text(text.clone()),
        (_, Json::Null) => Value::Null,
        (_, other) => Value::Text(other.to_string()),
    }
}

fn to_intercom(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Text(text) => Json::String(text.clone()),
        Value::Integer(number) => Json::from(*number),
        Value::Float(number) => Json::from(*number),
        Value::Boolean(flag) => Json::Bool(*flag),
        Value::Date(days) => Json::from(i64::from(*days) * 86_400),
        Value::DateTime(millis) => Json::from(millis.div_euclid(1000)),
    }
}

fn to_salesforce(value: &Value, kind: ValueKind) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Text(text) if text.is_empty() => Json::Null,
        Value::Date(days) => NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(*days))))
            .map(|date| Json::String(date.format("%Y-%m-%d").to_string()))
            .unwrap_or(Json::Null),
        Value::DateTime(millis) => DateTime::<Utc>::from_timestamp_millis(*millis)
            .map(|time| Json::String(time.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()))
            .unwrap_or(Json::Null),
        Value::Boolean(flag) if kind == ValueKind::Boolean => Json::Bool(*flag),
        other => to_intercom(other),
    }
}

/// Splits a full name at its last space: `"Ana María López"` gives `"Ana María"` and
/// `"López"`. Salesforce requires `LastName`, so a one-word name is the last name.
fn split_name(value: &Value) -> (Json, Json) {
    let Value::Text(full) = value else {
        return (Json::Null, Json::Null);
    };
    let full = full.trim();
    match full.rsplit_once(' ') {
        Some((first, last)) => (Json::from(first.trim()), Json::from(last)),
        None if full.is_empty() => (Json::Null, Json::Null),
        None => (Json::Null, Json::from(full)),
    }
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a valid date");
    (date - epoch).num_days() as i32
}

/// Parses Salesforce's `2024-07-24T14:05:58.000+0000` as well as RFC 3339.
pub fn parse_salesforce_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map() -> AttributeMap {
        AttributeMap::from_settings(&SyncSettings::default()).expect("defaults are valid")
    }

    #[test]
    fn intercom_contact_reads_every_attribute() {
        let contact = json!({
            "email": "Jane.Doe@Acme.com",
            "name": "Jane Doe",
            "phone": null,
            "unsubscribed_from_emails": true,
            "custom_attributes": {"job_title": "CTO"}
        });
        let attributes = map().read_intercom(&contact);
        assert_eq!(attributes["email"], Value::Text("Jane.Doe@Acme.com".into()));
        assert_eq!(attributes["name"], Value::Text("Jane Doe".into()));
        assert_eq!(attributes["phone"], Value::Null);
        assert_eq!(attributes["unsubscribed_from_emails"], Value::Boolean(true));
        assert_eq!(
            attributes["custom_attributes.job_title"],
            Value::Text("CTO".into())
        );
    }

    #[test]
    fn salesforce_record_reads_every_attribute() {
        let record = json!({"Email": "jane@acme.com", "Name": "Jane Doe", "Phone": "+1 555",
                            "HasOptedOutOfEmail": false, "Title": null});
        let attributes = map().read_salesforce(record.as_object().unwrap());
        assert_eq!(attributes["phone"], Value::Text("+1 555".into()));
        assert_eq!(
            attributes["unsubscribed_from_emails"],
            Value::Boolean(false)
        );
        assert_eq!(attributes["custom_attributes.job_title"], Value::Null);
    }

    #[test]
    fn name_is_written_as_first_and_last() {
        let attributes =
            Attributes::from([("name".to_owned(), Value::Text("Ana María López".into()))]);
        let fields = map().salesforce_fields(&attributes);
        assert_eq!(fields["FirstName"], json!("Ana María"));
        assert_eq!(fields["LastName"], json!("López"));
        assert!(!fields.contains_key("Name"));
    }

    #[test]
    fn blank_text_clears_the_salesforce_field() {
        let attributes = Attributes::from([("phone".to_owned(), Value::Text(String::new()))]);
        assert_eq!(map().salesforce_fields(&attributes)["Phone"], Json::Null);
    }

    #[test]
    fn custom_attributes_nest_in_intercom_body() {
        let attributes = Attributes::from([
            (
                "custom_attributes.job_title".to_owned(),
                Value::Text("CTO".into()),
            ),
            ("phone".to_owned(), Value::Null),
        ]);
        let body = map().intercom_body(&attributes);
        assert_eq!(
            body,
            json!({"phone": null, "custom_attributes": {"job_title": "CTO"}})
        );
    }

    #[test]
    fn dates_convert_between_sides() {
        let date = from_salesforce(&json!("2024-07-24"), ValueKind::Date);
        assert_eq!(to_intercom(&date), json!(1_721_779_200));
        assert_eq!(from_intercom(&json!(1_721_779_200), ValueKind::Date), date);
        let time = from_salesforce(&json!("2024-07-24T14:05:58.000+0000"), ValueKind::DateTime);
        assert_eq!(time, Value::DateTime(1_721_829_958_000));
        assert_eq!(
            to_salesforce(&time, ValueKind::DateTime),
            json!("2024-07-24T14:05:58.000+0000")
        );
    }

    #[test]
    fn unknown_policy_is_rejected() {
        let mut settings = SyncSettings::default();
        settings.attributes[0].policy = "newest".to_owned();
        let error = AttributeMap::from_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"newest\""), "{error}");
    }

    #[test]
    fn email_cannot_be_mapped_twice() {
        let mut settings = SyncSettings::default();
        settings.attributes[0].intercom = "email".to_owned();
        assert!(AttributeMap::from_settings(&settings).is_err());
    }
}
