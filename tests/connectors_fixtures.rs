//! Every captured Salesforce and Intercom body is parsed by the connectors' response types,
//! with its values checked.
//!
//! The bodies are in `tests/fixtures/` (`SOURCES.md` there says where each comes from); set
//! `INTERSYNC_FIXTURES` to another folder of the same layout to parse other captures.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use intersync::connectors::intercom::{
    ArchivedContact, AttributeModel, Contact, ContactList, ContactRole, DataAttributeList,
    DeletedContact, ErrorList, IntercomError, Notification, NotificationItem,
};
use intersync::connectors::salesforce::{
    ApiError, CompositeResponse, DeletedRecords, DescribeSObject, Limits, OAuthError, QueryResult,
    Record, SalesforceError, SaveResult, TokenResponse, UpdatedRecords,
};
use intersync::connectors::ErrorClass;
use serde::de::DeserializeOwned;

fn fixtures_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("INTERSYNC_FIXTURES") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

fn utc(value: &str) -> DateTime<Utc> {
    value.parse().expect("test datetime")
}

fn sf_api_error(name: &str, status: u16) -> SalesforceError {
    SalesforceError::Api {
        operation: "test",
        status,
        errors: parse(name),
    }
}

// Salesforce

#[test]
fn salesforce_oauth_token_response() {
    let token: TokenResponse = parse("salesforce/oauth_token_response.json");

    assert_eq!(token.instance_url, "https://na1.salesforce.com");
    assert_eq!(
        token.id.as_deref(),
        Some("https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P")
    );
    assert_eq!(token.issued_at(), Ok(utc("2010-07-06T20:40:32.702Z")));
    assert!(token.refresh_token.is_none());
    assert!(token.access_token.expose().starts_with("00Dx0000000BV7z!"));
    let debug = format!("{token:?}");
    assert!(
        !debug.contains("00Dx0000000BV7z!"),
        "Debug shows the token: {debug}"
    );
}

#[test]
fn salesforce_oauth_invalid_grant_errors() {
    let cases = [
        (
            "salesforce/oauth_error_invalid_grant_auth_failure.json",
            "authentication failure - Invalid Password",
        ),
        (
            "salesforce/oauth_error_invalid_grant_expired_token.json",
            "expired access/refresh token",
        ),
    ];
    for (name, description) in cases {
        let error: OAuthError = parse(name);
        assert_eq!(error.error, "invalid_grant", "{name}");
        assert_eq!(error.error_description, description, "{name}");

        let failure = SalesforceError::OAuth {
            grant: "refresh_token",
            status: 400,
            error,
        };
        assert_eq!(failure.class(), ErrorClass::NeedsReauthorization, "{name}");
    }
}

#[test]
fn salesforce_error_bodies_classified() {
    let deleted = sf_api_error("salesforce/error_entity_is_deleted.json", 404);
    assert_eq!(deleted.code(), Some("ENTITY_IS_DELETED"));
    assert_eq!(
        deleted.class(),
        ErrorClass::permanent("ENTITY_IS_DELETED", "entity is deleted", Vec::new())
    );

    let session = sf_api_error("salesforce/error_invalid_session_id.json", 401);
    assert_eq!(session.code(), Some("INVALID_SESSION_ID"));
    assert_eq!(session.class(), ErrorClass::NeedsReauthorization);

    let malformed = sf_api_error("salesforce/error_malformed_query.json", 400);
    assert_eq!(
        malformed.class(),
        ErrorClass::permanent("MALFORMED_QUERY", "unexpected token: SELEKT", Vec::new())
    );

    let not_found = sf_api_error("salesforce/error_not_found.json", 404);
    assert_eq!(
        not_found.class(),
        ErrorClass::permanent(
            "NOT_FOUND",
            "The requested resource does not exist",
            Vec::new()
        )
    );

    let missing = sf_api_error("salesforce/error_required_field_missing.json", 400);
    assert_eq!(
        missing.class(),
        ErrorClass::permanent(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Website__c]",
            vec!["Website__c".to_owned()]
        )
    );
    assert!(missing.to_string().contains("REQUIRED_FIELD_MISSING"));
}

#[test]
fn salesforce_error_missing_fields_key() {
    let errors: Vec<ApiError> = parse("salesforce/error_invalid_session_id.json");

    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "Session expired or invalid");
    assert!(errors[0].fields.is_empty());
}

#[test]
fn salesforce_query_first_page() {
    let page: QueryResult = parse("salesforce/query_paged_first_page.json");

    assert_eq!(page.total_size, 10000);
    assert!(!page.done);
    assert_eq!(
        page.next_records_url.as_deref(),
        Some("/services/data/v51.0/query/01gB000003OCxSPIA1-2000")
    );
    assert_eq!(page.records.len(), 2000);
    let first = &page.records[0];
    assert_eq!(first.id, "a01B0000009ZjAmIAK");
    assert_eq!(first.object, "random__c");
    assert_eq!(first.get_str("RANDOM_1__c"), Some("NLEA"));
    assert_eq!(first.get("RANDOM_2__c"), None);
    assert!(first.fields.contains_key("RANDOM_2__c"));
    assert_eq!(page.records[1999].id, "a01B0000009Zjh1IAC");
}

#[test]
fn salesforce_query_simplified_last_page_rejects_bad_id() {
    let text = read("salesforce/query_paged_last_page_simplified.json");

    let error = serde_json::from_str::<QueryResult>(&text)
        .unwrap_err()
        .to_string();

    // The hand-edited page names its record "foo", which is no Salesforce id.
    assert!(error.contains("invalid Salesforce id \"foo\""), "{error}");
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["done"], true);
    assert!(raw.get("nextRecordsUrl").is_none());
}

#[test]
fn salesforce_query_single_page() {
    let page: QueryResult = parse("salesforce/query_single_page_done.json");

    assert!(page.done);
    assert_eq!(page.total_size, 5);
    assert_eq!(page.next_records_url, None);
    let names: Vec<&str> = page
        .records
        .iter()
        .filter_map(|r| r.get_str("Name"))
        .collect();
    assert_eq!(
        names,
        [
            "An awesome test account",
            "Global Media",
            "Acme",
            "salesforce.com",
            "Sample Account for Entitlements"
        ]
    );
    // These rows have no Id column, so the id comes from attributes.url.
    assert_eq!(page.records[0].id, "001B000001LntWlIAJ");
    assert_eq!(page.records[0].object, "Account");
}

#[test]
fn salesforce_query_with_subquery() {
    let page: QueryResult = parse("salesforce/query_with_subquery.json");

    assert_eq!(page.records.len(), 5);
    let singapore = &page.records[2];
    assert_eq!(
        singapore.get_str("Name"),
        Some("United Oil & Gas, Singapore")
    );
    let contacts: QueryResult =
        serde_json::from_value(singapore.fields["Contacts"].clone()).unwrap();
    assert_eq!(contacts.total_size, 2);
    assert_eq!(contacts.records[1].id, "0037Q000007vKjoQAE");
    assert_eq!(contacts.records[1].object, "Contact");
    assert_eq!(contacts.records[1].get_str("LastName"), Some("O'Fake"));
}

#[test]
fn salesforce_get_contact() {
    let record: Record = parse("salesforce/sobject_get_contact.json");

    assert_eq!(record.id, "0035000000km1ohAAA");
    assert_eq!(record.object, "Contact");
    assert_eq!(record.get_str("FirstName"), Some("Test"));
    assert_eq!(record.get_str("LastName"), Some("Fakerson"));
    assert!(!record.fields.contains_key("attributes"));
}

#[test]
fn salesforce_save_results() {
    let created: SaveResult = parse("salesforce/sobject_create_success.json");
    assert_eq!(created.id.as_deref(), Some("a00B000000FSkcvIAD"));
    assert!(created.success);
    assert_eq!(created.class(), None);

    let upserted: SaveResult = parse("salesforce/upsert_created.json");
    // The hand-edited id "foo" is kept as sent, because save results may carry no valid id.
    assert_eq!(upserted.id.as_deref(), Some("foo"));
    assert!(upserted.success);
    assert_eq!(upserted.created, None);
}

#[test]
fn salesforce_upsert_multiple_matches() {
    let matches: Vec<String> = parse("salesforce/upsert_multiple_matches_300.json");

    assert_eq!(
        matches,
        [
            "/services/data/v23.0/sobjects/Whizbang/foo",
            "/services/data/v23.0/sobjects/Whizbang/bar"
        ]
    );
}

#[test]
fn salesforce_composite_success() {
    let response: CompositeResponse = parse("salesforce/composite_response_success.json");

    let subs = &response.composite_response;
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].reference_id, "NewPayment1");
    assert_eq!(subs[0].http_status_code, 201);
    assert_eq!(
        subs[0].http_headers.get("Location").map(String::as_str),
        Some("/services/data/v41.0/sobjects/blng__Payment__c/a1V3E000000EXomUAM")
    );
    assert_eq!(subs[0].errors(), None);
    let saved: SaveResult = serde_json::from_value(subs[1].body.clone()).unwrap();
    assert_eq!(saved.id.as_deref(), Some("a1V3E000000EXomUAG"));
    assert!(saved.success);
}

#[test]
fn salesforce_composite_failure() {
    let response: CompositeResponse = parse("salesforce/composite_response_failure.json");

    let subs = &response.composite_response;
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].http_status_code, 400);
    let halted = subs[0].errors().expect("error list");
    assert_eq!(halted[0].error_code, "PROCESSING_HALTED");
    let invalid = subs[1].errors().expect("error list");
    assert_eq!(invalid[0].error_code, "INVALID_FIELD");
    assert!(invalid[0].message.contains("Invoice_External_Id__c"));
    assert!(invalid[0].fields.is_empty());
}

#[test]
fn salesforce_get_updated() {
    let updated: UpdatedRecords = parse("salesforce/get_updated.json");

    assert_eq!(updated.ids.len(), 7);
    assert_eq!(updated.ids[0], "003q000000KvQ1tAAF");
    assert_eq!(updated.ids[6], "003q000000KwYFaAAN");
    assert_eq!(updated.latest_date_covered, utc("2015-08-19T08:17:00Z"));
}

#[test]
fn salesforce_get_deleted() {
    let deleted: DeletedRecords = parse("salesforce/get_deleted.json");

    assert_eq!(deleted.deleted_records.len(), 1);
    assert_eq!(deleted.deleted_records[0].id, "a00D0000008pQRAIA2");
    assert_eq!(
        deleted.deleted_records[0].deleted_date,
        utc("2013-05-07T22:07:19Z")
    );
    assert_eq!(deleted.earliest_date_available, utc("2013-05-03T15:57:00Z"));
    assert_eq!(deleted.latest_date_covered, utc("2013-05-08T21:20:00Z"));
}

#[test]
fn salesforce_limits() {
    let limits: Limits = parse("salesforce/limits.json");

    assert_eq!(limits.0.len(), 23);
    let daily = limits.daily_api_requests().expect("DailyApiRequests");
    assert_eq!((daily.used, daily.max), (2, 15000));
    let odata = limits
        .get("HourlyODataCallout")
        .expect("HourlyODataCallout");
    assert_eq!((odata.max, odata.remaining), (10000, 9999));
}

#[test]
fn salesforce_describe_account() {
    let describe: DescribeSObject = parse("salesforce/describe_account.json");

    assert_eq!(describe.name, "Account");
    assert_eq!(describe.key_prefix.as_deref(), Some("001"));
    assert_eq!(describe.replicateable, Some(true));
    assert_eq!(describe.fields.len(), 53);
    assert_eq!(describe.child_relationships.len(), 35);
    assert_eq!(
        describe.child_relationships[0].relationship_name.as_deref(),
        Some("ChildAccounts")
    );
    assert_eq!(
        describe.record_type_infos[0].record_type_id,
        "012000000000000AAA"
    );

    let name = describe.field("name").expect("Name field");
    assert_eq!(name.length, Some(255));
    assert_eq!(name.required_on_create(), Some(true));
    let id = describe.field("Id").expect("Id field");
    assert_eq!(id.required_on_create(), Some(false));
    let deleted = describe.field("IsDeleted").expect("IsDeleted field");
    assert_eq!(deleted.field_type, "boolean");
    assert_eq!(deleted.required_on_create(), Some(false));
}

#[test]
fn salesforce_describe_lead_pruned() {
    let describe: DescribeSObject = parse("salesforce/describe_lead_pruned.json");

    assert_eq!(describe.name, "Lead");
    assert_eq!(describe.queryable, Some(true));
    assert_eq!(describe.fields.len(), 50);
    assert_eq!(describe.child_relationships.len(), 34);

    let company = describe.field("Company").expect("Company");
    assert!(!company.nillable);
    // The pruned describe has no createable flag, so requiredness is unknown, not false.
    assert_eq!(company.createable, None);
    assert_eq!(company.required_on_create(), None);

    let status = describe.field("Status").expect("Status");
    assert_eq!(status.field_type, "picklist");
    assert_eq!(status.default_value, Some(serde_json::json!("New")));
    let values: Vec<&str> = status.active_picklist_values().collect();
    assert_eq!(
        values,
        ["New", "Contacted", "Nurturing", "Qualified", "Unqualified"]
    );

    let converted = describe
        .field("ConvertedContactId")
        .expect("ConvertedContactId");
    assert_eq!(converted.reference_to, ["Contact"]);
    assert_eq!(
        describe.field("Email").map(|f| f.field_type.as_str()),
        Some("email")
    );
}

#[test]
fn salesforce_describe_other_pruned() {
    let cases = [
        ("salesforce/describe_contact_pruned.json", "Contact", 58, 46),
        ("salesforce/describe_task_pruned.json", "Task", 39, 8),
        ("salesforce/describe_case_pruned.json", "Case", 34, 30),
    ];
    for (name, object, fields, children) in cases {
        let describe: DescribeSObject = parse(name);
        assert_eq!(describe.name, object, "{name}");
        assert_eq!(describe.fields.len(), fields, "{name}");
        assert_eq!(describe.child_relationships.len(), children, "{name}");
    }

    let task: DescribeSObject = parse("salesforce/describe_task_pruned.json");
    assert_eq!(
        task.field("WhoId").unwrap().reference_to,
        ["Contact", "Lead"]
    );
    assert_eq!(task.field("Subject").unwrap().field_type, "combobox");
    let contact: DescribeSObject = parse("salesforce/describe_contact_pruned.json");
    assert_eq!(contact.field("Email").unwrap().field_type, "email");
}

// Intercom

#[test]
fn intercom_contact_user() {
    let contact: Contact = parse("intercom/contact_user.json");

    assert_eq!(contact.id, "667d60a98a68186f43bafdb9");
    assert_eq!(contact.role, ContactRole::User);
    assert_eq!(contact.email.as_deref(), Some("joe@example.com"));
    assert_eq!(contact.name.as_deref(), Some("Test Person"));
    assert_eq!(contact.external_id.as_deref(), Some("70"));
    assert_eq!(contact.phone, None);
    assert!(!contact.unsubscribed_from_emails);
    assert_eq!(contact.updated_at, utc("2024-06-27T12:52:57Z"));
    assert_eq!(contact.signed_up_at, Some(utc("2024-06-27T12:52:57Z")));
    assert_eq!(contact.last_seen_at, None);
    assert!(contact.custom_attributes.is_empty());
}

#[test]
fn intercom_contact_lead_iso_timestamps() {
    let contact: Contact = parse("intercom/contact_lead.json");

    assert_eq!(contact.role, ContactRole::Lead);
    assert_eq!(contact.email.as_deref(), Some("lead@example.com"));
    assert_eq!(contact.workspace_id.as_deref(), Some("abc123def"));
    assert_eq!(contact.created_at, utc("2026-01-10T04:41:59.251Z"));
    assert_eq!(contact.updated_at, utc("2026-01-10T04:41:59.249Z"));
}

#[test]
fn intercom_contact_merged() {
    let contact: Contact = parse("intercom/contact_merged.json");

    assert_eq!(contact.id, "667d60ac8a68186f43bafdbc");
    assert_eq!(contact.role, ContactRole::User);
    assert_eq!(contact.created_at, utc("2024-06-27T12:53:00Z"));
}

#[test]
fn intercom_contact_deleted_response() {
    let deleted: DeletedContact = parse("intercom/contact_deleted_response.json");

    assert_eq!(deleted.id, "667d60aa8a68186f43bafdba");
    assert_eq!(deleted.external_id.as_deref(), Some("70"));
    assert!(deleted.deleted);
}

#[test]
fn intercom_contact_lists() {
    let list: ContactList = parse("intercom/contacts_list_empty.json");
    assert_eq!(list.kind, "list");
    assert!(list.data.is_empty());
    assert_eq!(list.total_count, 0);
    assert_eq!(list.pages.as_ref().map(|p| p.per_page), Some(10));
    assert_eq!(list.next_cursor(), None);

    let search: ContactList = parse("intercom/contacts_search_empty.json");
    assert_eq!(
        search
            .pages
            .as_ref()
            .map(|p| (p.page, p.per_page, p.total_pages)),
        Some((1, 5, 0))
    );
}

#[test]
fn intercom_legacy_list_rejected() {
    let text = read("intercom/contacts_list_legacy_v1_paged.json");

    // API 1.x lists put contacts under "contacts"; the pinned 2.x version never sends this.
    let error = serde_json::from_str::<ContactList>(&text)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("missing field `data`") || error.contains("expected struct NextPage"),
        "{error}"
    );
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let legacy = serde_json::from_value::<Contact>(raw["contacts"][0].clone())
        .unwrap_err()
        .to_string();
    assert!(legacy.contains("missing field `role`"), "{legacy}");
}

#[test]
fn intercom_data_attributes() {
    let list: DataAttributeList = parse("intercom/data_attributes_list.json");

    assert_eq!(list.data.len(), 17);
    assert!(list.data.iter().all(|a| a.model == AttributeModel::Company));
    let custom: Vec<_> = list.data.iter().filter(|a| a.custom).collect();
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0].id, Some(34));
    assert_eq!(custom[0].full_name, "custom_attributes.The One Ring");
    assert_eq!(custom[0].admin_id.as_deref(), Some("991267684"));
    assert_eq!(custom[0].created_at, Some(utc("2024-06-27T12:55:54Z")));
    let plan = list
        .data
        .iter()
        .find(|a| a.full_name == "plan.name")
        .unwrap();
    assert_eq!(plan.api_writable, Some(false));
    assert_eq!(plan.data_type, "string");
    assert!(plan.option_values().is_empty());
}

#[test]
fn intercom_error_bodies_classified() {
    let cases = [
        (
            "intercom/error_not_found.json",
            "not_found",
            "User Not Found",
        ),
        (
            "intercom/error_rate_limit_exceeded.json",
            "rate_limit_exceeded",
            "Exceeded rate limit of 5 pending reporting dataset export jobs",
        ),
        (
            "intercom/error_unauthorized.json",
            "unauthorized",
            "Access Token Invalid",
        ),
    ];
    for (name, code, message) in cases {
        let list: ErrorList = parse(name);
        assert_eq!(list.kind, "error.list", "{name}");
        assert!(list.request_id.is_some(), "{name}");
        assert_eq!(list.errors[0].code, code, "{name}");
        assert_eq!(list.errors[0].message, message, "{name}");
    }

    let error = |name: &str, status: u16| {
        let list: ErrorList = parse(name);
        IntercomError::Api {
            operation: "test",
            status,
            request_id: list.request_id,
            errors: list.errors,
            retry_after: None,
        }
    };
    let not_found = error("intercom/error_not_found.json", 404);
    assert!(not_found.is_not_found());
    assert_eq!(
        not_found.class(),
        ErrorClass::permanent("not_found", "User Not Found", Vec::new())
    );
    assert!(not_found
        .to_string()
        .contains("2b513026-b78c-4c67-b073-da0266f62cc7"));
    assert_eq!(
        error("intercom/error_rate_limit_exceeded.json", 429).class(),
        ErrorClass::RateLimited { retry_after: None }
    );
    assert_eq!(
        error("intercom/error_unauthorized.json", 401).class(),
        ErrorClass::NeedsReauthorization
    );
}

#[test]
fn intercom_webhook_contact_topics() {
    let cases = [
        (
            "intercom/webhook_contact_user_created.json",
            "contact.user.created",
            "6961d4041c1e12de4c5499cc",
            ContactRole::User,
            "user@example.com",
            "2026-01-10T04:22:28.238Z",
        ),
        (
            "intercom/webhook_contact_user_updated.json",
            "contact.user.updated",
            "6961d43b372591e999b3ea56",
            ContactRole::User,
            "user@example.com",
            "2026-01-10T04:39:55.465Z",
        ),
        (
            "intercom/webhook_contact_lead_created.json",
            "contact.lead.created",
            "6961d897719c606240178da8",
            ContactRole::Lead,
            "lead@example.com",
            "2026-01-10T04:41:59.249Z",
        ),
        (
            "intercom/webhook_contact_lead_updated.json",
            "contact.lead.updated",
            "6961d897719c606240178da8",
            ContactRole::Lead,
            "lead.new@example.com",
            "2026-01-10T04:55:06.766Z",
        ),
        (
            "intercom/webhook_contact_email_updated.json",
            "contact.email.updated",
            "6961d43b372591e999b3ea56",
            ContactRole::User,
            "user@example.com",
            "2026-01-10T04:39:55.000Z",
        ),
        (
            "intercom/webhook_contact_merged.json",
            "contact.merged",
            "6961f1c19b981fb5a0b90afb",
            ContactRole::User,
            "merge_user_fixture@example.com",
            "2026-01-10T06:30:59.735Z",
        ),
    ];
    for (name, topic, id, role, email, updated_at) in cases {
        let notification: Notification = parse(name);
        assert_eq!(notification.topic, topic, "{name}");
        assert!(
            notification
                .id
                .as_deref()
                .is_some_and(|id| id.starts_with("notif_")),
            "{name}"
        );
        assert_eq!(notification.app_id.as_deref(), Some("abc123def"), "{name}");
        assert_eq!(notification.delivery_attempts, 1, "{name}");
        let contact = notification
            .contact()
            .unwrap_or_else(|| panic!("{name} carries no contact"));
        assert_eq!(contact.id, id, "{name}");
        assert_eq!(contact.role, role, "{name}");
        assert_eq!(contact.email.as_deref(), Some(email), "{name}");
        assert_eq!(contact.updated_at, utc(updated_at), "{name}");
        assert_eq!(notification.contact_id(), Some(id), "{name}");
    }

    let created: Notification = parse("intercom/webhook_contact_user_created.json");
    assert_eq!(
        created.id.as_deref(),
        Some("notif_c47f7aeb-bdeb-4d35-8fc7-eb945334fdad")
    );
    assert_eq!(created.created_at, utc("2026-01-10T04:22:28Z"));
    assert_eq!(created.first_sent_at, Some(utc("2026-01-10T04:22:28Z")));
}

#[test]
fn intercom_webhook_deleted_and_archived() {
    let deleted: Notification = parse("intercom/webhook_contact_deleted.json");
    assert_eq!(deleted.topic, "contact.deleted");
    assert_eq!(
        deleted.data.item,
        NotificationItem::ContactDeleted(DeletedContact {
            id: "696122fb2591e0cadd20073a".to_owned(),
            external_id: Some("1".to_owned()),
            deleted: true,
        })
    );
    assert_eq!(deleted.contact_id(), Some("696122fb2591e0cadd20073a"));
    assert!(deleted.contact().is_none());

    let archived: Notification = parse("intercom/webhook_contact_archived.json");
    assert_eq!(archived.topic, "contact.archived");
    assert_eq!(
        archived.data.item,
        NotificationItem::ContactArchived(ArchivedContact {
            id: "6961cf78fb9d13be07871c78".to_owned(),
            external_id: Some("22".to_owned()),
            archived: true,
        })
    );
}

#[test]
fn intercom_webhook_ping() {
    let ping: Notification = parse("intercom/webhook_ping.json");

    assert_eq!(ping.topic, "ping");
    assert_eq!(ping.id, None);
    assert_eq!(ping.app_id.as_deref(), Some("i6wc9ipe"));
    assert_eq!(ping.created_at, utc("2019-03-22T20:55:47Z"));
    assert_eq!(
        ping.data.item,
        NotificationItem::Ping {
            message: "something something interzen".to_owned()
        }
    );
    assert_eq!(ping.contact_id(), None);
}
