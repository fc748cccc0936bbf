//! The contact record kept by the simulator and its two wire renderings: the REST body, with
//! Unix-second timestamps, and the webhook item, with ISO-8601 timestamps.

use serde::Serialize;
use serde_json::{Map, Value};

/// Intercom's two kinds of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Lead,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "user" => Some(Role::User),
            "lead" => Some(Role::Lead),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Lead => "lead",
        }
    }
}

/// One contact as the simulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// 24 lowercase hex characters, increasing in creation order.
    pub id: String,
    pub external_id: Option<String>,
    pub role: Role,
    /// Kept with the letter case it was written with; lookups compare it case-insensitively.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub owner_id: Option<i64>,
    pub unsubscribed_from_emails: bool,
    /// Milliseconds since the Unix epoch; REST bodies truncate it to seconds.
    pub created_at_ms: i64,
    /// Milliseconds since the Unix epoch; REST bodies truncate it to seconds.
    pub updated_at_ms: i64,
    /// Unix seconds.
    pub signed_up_at: Option<i64>,
    /// Unix seconds.
    pub last_seen_at: Option<i64>,
    pub custom_attributes: Map<String, Value>,
    pub archived: bool,
}

impl Contact {
    pub fn updated_at(&self) -> i64 {
        self.updated_at_ms.div_euclid(1000)
    }

    pub fn created_at(&self) -> i64 {
        self.created_at_ms.div_euclid(1000)
    }

    /// Returns the email domain, the part after the last `@`, in lowercase.
    pub fn email_domain(&self) -> Option<String> {
        let email = self.email.as_deref()?;
        let (_, domain) = email.rsplit_once('@')?;
        Some(domain.to_ascii_lowercase())
    }

    /// Renders the body `GET /contacts/{id}` returns.
    pub fn to_rest<'a>(&'a self, workspace_id: &'a str) -> ContactWire<'a> {
        ContactWire::new(self, workspace_id, StampStyle::UnixSeconds)
    }

    /// Renders the `data.item` of a contact notification.
    pub fn to_webhook_item<'a>(
        &'a self,
        workspace_id: &'a str,
        style: StampStyle,
    ) -> ContactWire<'a> {
        let mut wire = ContactWire::new(self, workspace_id, style);
        wire.messaging = Some(MessagingFlags {
            sms_consent: false,
            unsubscribed_from_sms: false,
            enabled_push_messaging: None,
        });
        wire
    }
}

/// The timestamp format of a rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampStyle {
    /// Unix seconds, as in REST bodies.
    UnixSeconds,
    /// `2026-01-10T04:22:28.240+00:00`, as in most notification items.
    IsoMillis,
    /// `2026-01-10T04:39:55.000Z` for `updated_at`, as `contact.email.updated` items carry it.
    IsoZuluSeconds,
}

/// A timestamp in one of the wire styles.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Stamp {
    Unix(i64),
    Iso(String),
}

fn stamp_ms(ms: i64, style: StampStyle) -> Stamp {
    let Some(time) = chrono::DateTime::from_timestamp_millis(ms) else {
        return Stamp::Unix(ms.div_euclid(1000));
    };
    match style {
        StampStyle::UnixSeconds => Stamp::Unix(ms.div_euclid(1000)),
        StampStyle::IsoMillis => Stamp::Iso(time.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()),
        StampStyle::IsoZuluSeconds => Stamp::Iso(time.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()),
    }
}

fn stamp_secs(secs: i64, style: StampStyle) -> Stamp {
    match style {
        StampStyle::UnixSeconds => Stamp::Unix(secs),
        _ => stamp_ms(secs.saturating_mul(1000), StampStyle::IsoMillis),
    }
}

/// An empty `{type: "list", data: []}` stub.
#[derive(Debug, Serialize)]
pub struct EmptyList {
    #[serde(rename = "type")]
    kind: &'static str,
    data: [(); 0],
}

/// A `{type: "list", data, url, total_count, has_more}` stub of a related collection.
#[derive(Debug, Serialize)]
pub struct ListStub {
    #[serde(rename = "type")]
    kind: &'static str,
    data: [(); 0],
    url: String,
    total_count: u32,
    has_more: bool,
}

impl ListStub {
    fn new(url: String) -> Self {
        ListStub {
            kind: "list",
            data: [],
            url,
            total_count: 0,
            has_more: false,
        }
    }
}

/// The empty `location` object.
#[derive(Debug, Serialize)]
pub struct Location {
    #[serde(rename = "type")]
    kind: &'static str,
    country: (),
    region: (),
    city: (),
    country_code: (),
    continent_code: (),
}

/// Fields only notification items carry.
#[derive(Debug, Serialize)]
pub struct MessagingFlags {
    sms_consent: bool,
    unsubscribed_from_sms: bool,
    enabled_push_messaging: Option<bool>,
}

/// A contact on the wire, with the keys in the order Intercom sends them.
#[derive(Debug, Serialize)]
pub struct ContactWire<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    workspace_id: &'a str,
    external_id: Option<&'a str>,
    role: Role,
    email: Option<&'a str>,
    phone: Option<&'a str>,
    name: Option<&'a str>,
    avatar: Option<&'a str>,
    owner_id: Option<i64>,
    social_profiles: EmptyList,
    has_hard_bounced: bool,
    marked_email_as_spam: bool,
    unsubscribed_from_emails: bool,
    created_at: Stamp,
    updated_at: Stamp,
    signed_up_at: Option<Stamp>,
    last_seen_at: Option<Stamp>,
    last_replied_at: (),
    last_contacted_at: (),
    last_email_opened_at: (),
    last_email_clicked_at: (),
    language_override: (),
    browser: (),
    browser_version: (),
    browser_language: (),
    os: (),
    location: Location,
    android_app_name: (),
    android_app_version: (),
    android_device: (),
    android_os_version: (),
    android_sdk_version: (),
    android_last_seen_at: (),
    ios_app_name: (),
    ios_app_version: (),
    ios_device: (),
    ios_os_version: (),
    ios_sdk_version: (),
    ios_last_seen_at: (),
    custom_attributes: &'a Map<String, Value>,
    tags: ListStub,
    notes: ListStub,
    companies: ListStub,
    opted_out_subscription_types: ListStub,
    opted_in_subscription_types: ListStub,
    utm_campaign: (),
    utm_content: (),
    utm_medium: (),
    utm_source: (),
    utm_term: (),
    referrer: (),
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    messaging: Option<MessagingFlags>,
}

impl<'a> ContactWire<'a> {
    fn new(contact: &'a Contact, workspace_id: &'a str, style: StampStyle) -> Self {
        let id = contact.id.as_str();
        let created_style = match style {
            StampStyle::IsoZuluSeconds => StampStyle::IsoMillis,
            other => other,
        };
        ContactWire {
            kind: "contact",
            id,
            workspace_id,
            external_id: contact.external_id.as_deref(),
            role: contact.role,
            email: contact.email.as_deref(),
            phone: contact.phone.as_deref(),
            name: contact.name.as_deref(),
            avatar: contact.avatar.as_deref(),
            owner_id: contact.owner_id,
            social_profiles: EmptyList {
                kind: "list",
                data: [],
            },
            has_hard_bounced: false,
            marked_email_as_spam: false,
            unsubscribed_from_emails: contact.unsubscribed_from_emails,
            created_at: stamp_ms(contact.created_at_ms, created_style),
            updated_at: stamp_ms(contact.updated_at_ms, style),
            signed_up_at: contact.signed_up_at.map(|s| stamp_secs(s, created_style)),
            last_seen_at: contact.last_seen_at.map(|s| stamp_secs(s, created_style)),
            last_replied_at: (),
            last_contacted_at: (),
            last_email_opened_at: (),
            last_email_clicked_at: (),
            language_override: (),
            browser: (),
            browser_version: (),
            browser_language: (),
            os: (),
            location: Location {
                kind: "location",
                country: (),
                region: (),
                city: (),
                country_code: (),
                continent_code: (),
            },
            android_app_name: (),
            android_app_version: (),
            android_device: (),
            android_os_version: (),
            android_sdk_version: (),
            android_last_seen_at: (),
            ios_app_name: (),
            ios_app_version: (),
            ios_device: (),
            ios_os_version: (),
            ios_sdk_version: (),
            ios_last_seen_at: (),
            custom_attributes: &contact.custom_attributes,
            tags: ListStub::new(format!("/contacts/{id}/tags")),
            notes: ListStub::new(format!("/contacts/{id}/notes")),
            companies: ListStub::new(format!("/contacts/{id}/companies")),
            opted_out_subscription_types: ListStub::new(format!("/contacts/{id}/subscriptions")),
            opted_in_subscription_types: ListStub::new(format!("/contacts/{id}/subscriptions")),
            utm_campaign: (),
            utm_content: (),
            utm_medium: (),
            utm_source: (),
            utm_term: (),
            referrer: (),
            messaging: None,
        }
    }
}

/// The body of a delete, archive or unarchive response and of the matching notification items.
#[derive(Debug, Clone, Serialize)]
pub struct ContactStub {
    pub id: String,
    pub external_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

impl ContactStub {
    pub fn deleted(contact: &Contact) -> Self {
        ContactStub {
            id: contact.id.clone(),
            external_id: contact.external_id.clone(),
            kind: "contact",
            deleted: Some(true),
            archived: None,
        }
    }

    pub fn archived(contact: &Contact, archived: bool) -> Self {
        ContactStub {
            id: contact.id.clone(),
            external_id: contact.external_id.clone(),
            kind: "contact",
            deleted: None,
            archived: Some(archived),
        }
    }
}

/// Reads the host clock as milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
