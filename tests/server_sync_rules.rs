//! The sync rules end to end, one test per row and column of the two rule tables: a change
//! in one simulator goes in through a webhook or a poll, and the other simulator and
//! `/status` are checked.

mod common;

use std::time::Duration;

use common::{settle, start, Harness};
use serde_json::json;

/// Time given to work that must not happen before checking that it did not.
const QUIET: Duration = Duration::from_millis(400);

async fn assert_status_clean(harness: &Harness) {
    harness.wait_inbox_empty().await;
    let (_, status) = harness.status().await;
    assert_eq!(status["sync_errors"], 0, "status: {status}");
    assert_eq!(status["connection"], "connected", "status: {status}");
}

// ---- Intercom to Salesforce ----

#[actix_rt::test]
async fn ic_updated_mapped_sends_changed_attributes() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("updated.mapped@example.com").await;

    harness
        .ic_update(&contact, json!({"phone": "+1 555 0199"}))
        .await;

    let record = harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0199"))
        .await;
    assert_eq!(record["LastName"], "Lovelace");
    assert_eq!(record["Company"], "Engines");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_updated_unmapped_matches_by_key() {
    let harness = start().await;
    let contact = harness
        .ic_create(json!({"email": "late.match@example.com", "name": "Late Match"}))
        .await;
    harness.wait_inbox_empty().await;
    assert!(harness.live_mapping_of(&contact).await.is_none());
    // The Lead appears after the contact and no poll runs, so only the update can match it.
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Match", "Company": "Acme", "Email": "late.match@example.com"}),
        )
        .await;

    harness
        .ic_update(&contact, json!({"phone": "+1 555 0123"}))
        .await;

    harness.wait_mapped(&contact, &lead).await;
    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0123"))
        .await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_key_updated_mapped_moves_mapping() {
    let harness = start().await;
    let (contact, old_lead) = harness.mapped_pair("key.old@example.com").await;
    let new_lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Other", "Company": "Acme", "Email": "key.new@example.com"}),
        )
        .await;

    harness
        .ic_update(&contact, json!({"email": "key.new@example.com"}))
        .await;

    harness.wait_mapped(&contact, &new_lead).await;
    let old = harness.sf_get("Lead", &old_lead).await.expect("old Lead");
    assert_eq!(old["Email"], "key.old@example.com");
    assert_eq!(old["LastName"], "Lovelace");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_key_updated_unmapped_matches_new_key() {
    let harness = start().await;
    let contact = harness
        .ic_create(json!({"email": "nobody@example.com", "name": "Key Seeker"}))
        .await;
    harness.wait_inbox_empty().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Seeker", "Company": "Acme", "Email": "somebody@example.com"}),
        )
        .await;

    harness
        .ic_update(&contact, json!({"email": "somebody@example.com"}))
        .await;

    harness.wait_mapped(&contact, &lead).await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_created_matches_and_sends_all() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"FirstName": "Old", "LastName": "Name", "Company": "Acme", "Email": "created@example.com"}),
        )
        .await;

    let contact = harness
        .ic_create(json!({
            "email": "created@example.com",
            "name": "Grace Hopper",
            "phone": "+1 555 0142",
            "unsubscribed_from_emails": true,
        }))
        .await;

    harness.wait_mapped(&contact, &lead).await;
    let record = harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0142"))
        .await;
    assert_eq!(record["FirstName"], "Grace");
    assert_eq!(record["LastName"], "Hopper");
    assert_eq!(record["HasOptedOutOfEmail"], true);
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_created_without_match_creates_no_lead() {
    let harness = start().await;

    let contact = harness
        .ic_create(json!({"email": "alone@example.com", "name": "Alone"}))
        .await;

    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    assert!(harness.live_mapping_of(&contact).await.is_none());
    assert_eq!(harness.sf_live_count("Lead").await, 0);
    assert_eq!(harness.sf_live_count("Contact").await, 0);
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_deleted_mapped_deletes_mapping() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("deleted.mapped@example.com").await;

    harness.ic_delete(&contact).await;

    harness.wait_unmapped(&contact).await;
    let record = harness.sf_get("Lead", &lead).await;
    assert!(record.is_some(), "the Lead must stay in Salesforce");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn ic_deleted_unmapped_changes_nothing() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Bystander", "Company": "Acme", "Email": "bystander@example.com"}),
        )
        .await;
    let contact = harness
        .ic_create(json!({"email": "ghost@example.com", "name": "Ghost"}))
        .await;
    harness.wait_inbox_empty().await;
    let writes_before = common::sf_write_calls(&harness.sf_calls().await);

    harness.ic_delete(&contact).await;

    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    let writes_after = common::sf_write_calls(&harness.sf_calls().await);
    assert_eq!(writes_after, writes_before, "no Salesforce write expected");
    assert!(harness.sf_get("Lead", &lead).await.is_some());
    assert_status_clean(&harness).await;
    harness.stop().await;
}

// ---- Salesforce to Intercom ----

#[actix_rt::test]
async fn sf_updated_mapped_sends_all_attributes() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("sf.updated@example.com").await;

    harness
        .sf_update(
            "Lead",
            &lead,
            json!({"Phone": "+1 555 0177", "Title": "CTO"}),
        )
        .await;
    harness.poll().await;

    let person = harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0177"))
        .await;
    assert_eq!(person["custom_attributes"]["job_title"], "CTO");
    assert_eq!(person["name"], "Ada Lovelace");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_updated_unmapped_matches_by_key() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Polled", "Company": "Acme", "Email": "polled@example.com"}),
        )
        .await;
    harness.poll().await;
    // The contact appears without a webhook, so only the next poll can match it.
    harness.ic_unsubscribe_webhooks().await;
    let contact = harness
        .ic_create(json!({"email": "polled@example.com", "name": "Someone Else"}))
        .await;

    harness
        .sf_update("Lead", &lead, json!({"Phone": "+1 555 0111"}))
        .await;
    harness.poll().await;

    harness.wait_mapped(&contact, &lead).await;
    harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0111"))
        .await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_key_updated_mapped_moves_mapping() {
    let harness = start().await;
    let (old_contact, lead) = harness.mapped_pair("sf.key.old@example.com").await;
    let new_contact = harness
        .ic_create(json!({"email": "sf.key.new@example.com", "name": "New Person"}))
        .await;
    harness.wait_inbox_empty().await;

    harness
        .sf_update(
            "Lead",
            &lead,
            json!({"Email": "sf.key.new@example.com", "Phone": "+1 555 0166"}),
        )
        .await;
    harness.poll().await;

    harness.wait_mapped(&new_contact, &lead).await;
    harness.wait_unmapped(&old_contact).await;
    harness
        .wait_ic_field(&new_contact, "/phone", json!("+1 555 0166"))
        .await;
    let old = harness.ic_get(&old_contact).await.expect("old contact");
    assert_eq!(old["email"], "sf.key.old@example.com");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_key_updated_unmapped_matches_new_key() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Mover", "Company": "Acme", "Email": "before@example.com", "Phone": "+1 555 0155"}),
        )
        .await;
    harness.poll().await;
    let contact = harness
        .ic_create(json!({"email": "after@example.com", "name": "Mover"}))
        .await;
    harness.wait_inbox_empty().await;

    harness
        .sf_update("Lead", &lead, json!({"Email": "after@example.com"}))
        .await;
    harness.poll().await;

    harness.wait_mapped(&contact, &lead).await;
    harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0155"))
        .await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_created_matches_and_sends_all() {
    let harness = start().await;
    let contact = harness
        .ic_create(json!({"email": "sf.created@example.com", "name": "Placeholder"}))
        .await;
    harness.wait_inbox_empty().await;

    let lead = harness
        .sf_create(
            "Lead",
            json!({"FirstName": "Katherine", "LastName": "Johnson", "Company": "NASA",
                   "Email": "sf.created@example.com", "Phone": "+1 555 0133", "Title": "Mathematician"}),
        )
        .await;
    harness.poll().await;

    harness.wait_mapped(&contact, &lead).await;
    let person = harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0133"))
        .await;
    assert_eq!(person["name"], "Katherine Johnson");
    assert_eq!(person["custom_attributes"]["job_title"], "Mathematician");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_created_without_match_creates_no_contact() {
    let harness = start().await;
    let contacts_before = harness.ic_contact_count().await;

    harness
        .sf_create(
            "Lead",
            json!({"LastName": "Solo", "Company": "Acme", "Email": "solo@example.com"}),
        )
        .await;
    harness.poll().await;

    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    assert_eq!(harness.ic_contact_count().await, contacts_before);
    assert_eq!(common::ic_write_calls(&harness.ic_calls().await), 0);
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_deleted_mapped_deletes_mapping() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("sf.deleted@example.com").await;

    harness.sf_delete("Lead", &lead).await;
    harness.poll().await;

    harness.wait_unmapped(&contact).await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn sf_deleted_unmapped_changes_nothing() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Gone", "Company": "Acme", "Email": "gone@example.com"}),
        )
        .await;
    harness.poll().await;
    let ic_writes_before = common::ic_write_calls(&harness.ic_calls().await);

    harness.sf_delete("Lead", &lead).await;
    harness.poll().await;

    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    assert_eq!(
        common::ic_write_calls(&harness.ic_calls().await),
        ic_writes_before
    );
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn lead_converted_mapped_moves_to_contact() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("converted@example.com").await;

    let converted = harness.sf_convert(&lead).await;
    harness.poll().await;

    harness.wait_mapped(&contact, &converted).await;
    // The move ends with a write of every mapped attribute to Intercom; an edit made while
    // that write is in flight can be overwritten by it, so the edit waits for it.
    harness.wait_inbox_empty().await;
    harness
        .ic_update(&contact, json!({"phone": "+1 555 0188"}))
        .await;
    harness
        .wait_sf_field("Contact", &converted, "Phone", json!("+1 555 0188"))
        .await;
    assert_eq!(harness.sf_live_count("Lead").await, 1, "no new Lead");
    assert_status_clean(&harness).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn lead_converted_unmapped_maps_contact() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Convert", "Company": "Acme", "Email": "unmapped.convert@example.com", "Phone": "+1 555 0144"}),
        )
        .await;
    harness.poll().await;
    harness.ic_unsubscribe_webhooks().await;
    let contact = harness
        .ic_create(json!({"email": "unmapped.convert@example.com", "name": "Convert"}))
        .await;

    let converted = harness.sf_convert(&lead).await;
    harness.poll().await;

    harness.wait_mapped(&contact, &converted).await;
    harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0144"))
        .await;
    assert_status_clean(&harness).await;
    harness.stop().await;
}
