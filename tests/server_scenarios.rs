//! Failure scenarios that real CRM sync tools showed, end to end against the simulators:
//! echo suppression, watermarks, webhook ordering, loops, races, duplicate creates, Lead
//! conversion, key changes onto another record, letter case in emails, and deletes.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{ic_write_calls, metric_value, settle, sf_write_calls, start, wait_for, Harness};
use serde_json::{json, Value};

/// Time given to work that must not happen before checking that it did not.
const QUIET: Duration = Duration::from_millis(500);

/// Write calls on both sides as (Salesforce, Intercom).
async fn write_counts(harness: &Harness) -> (u64, u64) {
    let salesforce = sf_write_calls(&harness.sf_calls().await);
    let intercom = ic_write_calls(&harness.ic_calls().await);
    (salesforce, intercom)
}

/// Runs polls and waits for every webhook until no more work is left.
async fn quiesce(harness: &Harness) {
    for _ in 0..2 {
        harness.poll().await;
        harness.wait_inbox_empty().await;
        settle(Duration::from_millis(150)).await;
    }
}

#[actix_rt::test]
async fn echoes_cause_no_further_writes() {
    let harness = start().await;
    let mut pairs = Vec::new();
    for index in 0..3 {
        pairs.push(
            harness
                .mapped_pair(&format!("echo{index}@example.com"))
                .await,
        );
    }
    let (contact, lead) = pairs[0].clone();
    harness
        .ic_update(&contact, json!({"phone": "+1 555 0900"}))
        .await;
    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0900"))
        .await;
    let (contact, lead) = pairs[1].clone();
    harness
        .sf_update("Lead", &lead, json!({"Title": "Engineer"}))
        .await;
    harness.poll().await;
    harness
        .wait_ic_field(&contact, "/custom_attributes/job_title", json!("Engineer"))
        .await;
    quiesce(&harness).await;

    let before = write_counts(&harness).await;
    for _ in 0..3 {
        harness.poll().await;
        harness.wait_inbox_empty().await;
    }
    settle(QUIET).await;
    harness.wait_inbox_empty().await;
    let after = write_counts(&harness).await;

    assert_eq!(
        after.0, before.0,
        "Salesforce writes after the sync settled"
    );
    assert_eq!(after.1, before.1, "Intercom writes after the sync settled");
    let metrics = harness.metrics().await;
    let suppressed: f64 = metrics
        .lines()
        .filter(|line| line.starts_with("intersync_echoes_suppressed_total"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert!(
        suppressed > 0.0,
        "no echo counted as suppressed:\n{metrics}"
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn late_committing_lead_reaches_intercom() {
    let harness = start().await;
    let late_contact = harness
        .ic_create(json!({"email": "late@example.com", "name": "Late"}))
        .await;
    let early_contact = harness
        .ic_create(json!({"email": "early@example.com", "name": "Early"}))
        .await;
    harness.wait_inbox_empty().await;

    // The late Lead is stamped first but becomes visible only after the early one was polled.
    harness.sf_faults(json!({"commit_delay_ms": 700})).await;
    let late_lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Late", "Company": "Acme", "Email": "late@example.com", "Phone": "+1 555 0701"}),
        )
        .await;
    harness.sf_faults(json!({"commit_delay_ms": 0})).await;
    let early_lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Early", "Company": "Acme", "Email": "early@example.com", "Phone": "+1 555 0702"}),
        )
        .await;
    harness.poll().await;
    harness.wait_mapped(&early_contact, &early_lead).await;
    assert!(
        harness.live_mapping_of(&late_contact).await.is_none(),
        "the late Lead was visible before its commit"
    );

    settle(Duration::from_millis(800)).await;
    harness.poll().await;

    harness.wait_mapped(&late_contact, &late_lead).await;
    harness
        .wait_ic_field(&late_contact, "/phone", json!("+1 555 0701"))
        .await;
    harness.stop().await;
}

#[actix_rt::test]
async fn leads_sharing_timestamps_apply_once() {
    const PEOPLE: usize = 250;
    let harness = start().await;
    harness.ic_unsubscribe_webhooks().await;
    let mut contacts = Vec::new();
    for index in 0..PEOPLE {
        let id = harness
            .ic_create(json!({"email": format!("bulk{index}@example.com"), "name": format!("Bulk {index}")}))
            .await;
        contacts.push(id);
    }
    let updates_before = harness.ic_calls().await["contacts.update"]
        .as_u64()
        .unwrap_or(0);

    // A bulk load: two sObject Collections calls, so many rows share one SystemModstamp.
    let records: Vec<Value> = (0..PEOPLE)
        .map(|index| {
            json!({"attributes": {"type": "Lead"}, "LastName": format!("Bulk {index}"),
                   "Company": "Bulk", "Email": format!("bulk{index}@example.com"),
                   "Phone": format!("+1 555 1{index:03}")})
        })
        .collect();
    for chunk in records.chunks(200) {
        harness.sf_collections_create(chunk.to_vec()).await;
    }
    let stamps: HashSet<String> = harness
        .sf_query("SELECT Id, SystemModstamp FROM Lead")
        .await
        .iter()
        .map(|row| {
            row["SystemModstamp"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(
        stamps.len() < PEOPLE,
        "expected rows sharing a SystemModstamp, got {} distinct stamps",
        stamps.len()
    );

    harness.poll().await;
    harness.poll().await;
    wait_for("every bulk contact mapped", || async {
        let mapped = harness
            .mappings_all()
            .await
            .iter()
            .filter(|mapping| mapping["state"] == "mapped")
            .count();
        if mapped == PEOPLE {
            Ok(())
        } else {
            Err(mapped)
        }
    })
    .await;
    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    let updates = harness.ic_calls().await["contacts.update"]
        .as_u64()
        .unwrap_or(0)
        - updates_before;
    assert_eq!(
        updates, PEOPLE as u64,
        "Intercom updates for {PEOPLE} Leads"
    );
    for (index, contact) in contacts.iter().enumerate().step_by(50) {
        let person = harness.ic_get(contact).await.expect("contact");
        assert_eq!(person["phone"], format!("+1 555 1{index:03}"));
    }

    harness.poll().await;
    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    let again = harness.ic_calls().await["contacts.update"]
        .as_u64()
        .unwrap_or(0)
        - updates_before;
    assert_eq!(again, PEOPLE as u64, "a second poll re-applied rows");
    harness.stop().await;
}

#[actix_rt::test]
async fn reordered_webhooks_keep_newest_value() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("reorder@example.com").await;
    let other = harness
        .ic_create(json!({"email": "reorder.flush@example.com", "name": "Flush"}))
        .await;
    harness.wait_inbox_empty().await;
    harness
        .ic_faults(json!({"webhook_reorder_rate": 1.0}))
        .await;

    harness
        .ic_update(&contact, json!({"name": "Ada First"}))
        .await;
    // Intercom's updated_at has whole seconds; the second change must be newer.
    settle(Duration::from_millis(1100)).await;
    harness
        .ic_update(&contact, json!({"name": "Ada Second"}))
        .await;
    harness
        .ic_faults(json!({"webhook_reorder_rate": 0.0}))
        .await;
    harness
        .ic_update(&other, json!({"phone": "+1 555 0000"}))
        .await;

    harness
        .wait_sf_field("Lead", &lead, "FirstName", json!("Ada"))
        .await;
    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    harness
        .wait_sf_field("Lead", &lead, "LastName", json!("Second"))
        .await;
    let stats = harness
        .sandbox
        .intercom_stats()
        .await
        .expect("Intercom stats");
    let reordered = stats["webhooks"]["reordered"].as_u64().unwrap_or(0);
    assert!(reordered >= 1, "no notification was reordered: {stats}");
    harness.stop().await;
}

#[actix_rt::test]
async fn duplicate_webhooks_write_once() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("duplicate@example.com").await;
    let before = sf_write_calls(&harness.sf_calls().await);
    harness
        .ic_faults(json!({"webhook_duplicate_rate": 1.0}))
        .await;

    harness
        .ic_update(&contact, json!({"phone": "+1 555 0321"}))
        .await;

    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0321"))
        .await;
    wait_for("a duplicate webhook counted", || async {
        let metrics = harness.metrics().await;
        let duplicates = metric_value(&metrics, "intersync_webhooks_duplicate_total");
        if duplicates >= 1.0 {
            Ok(())
        } else {
            Err(duplicates)
        }
    })
    .await;
    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    let after = sf_write_calls(&harness.sf_calls().await);
    assert_eq!(after - before, 1, "Salesforce writes for one change");
    let stats = harness
        .sandbox
        .intercom_stats()
        .await
        .expect("Intercom stats");
    let duplicated = stats["webhooks"]["duplicated"].as_u64().unwrap_or(0);
    assert!(
        duplicated >= 1,
        "no notification was delivered twice: {stats}"
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn salesforce_side_stamp_causes_no_loop() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("loop@example.com").await;
    harness
        .ic_update(&contact, json!({"custom_attributes": {"job_title": "CTO"}}))
        .await;
    harness
        .wait_sf_field("Lead", &lead, "Title", json!("CTO"))
        .await;
    // A Salesforce flow stamps an unmapped field on the record intersync just wrote.
    harness
        .sf_update("Lead", &lead, json!({"Description": "touched by a flow"}))
        .await;
    quiesce(&harness).await;

    let before = write_counts(&harness).await;
    for _ in 0..3 {
        harness.poll().await;
        harness.wait_inbox_empty().await;
    }
    settle(QUIET).await;
    let after = write_counts(&harness).await;
    assert_eq!(after, before, "writes (Salesforce, Intercom) kept going");
    let person = harness.ic_get(&contact).await.expect("contact");
    assert_eq!(person["custom_attributes"]["job_title"], "CTO");
    harness.stop().await;
}

#[actix_rt::test]
async fn create_lead_retry_makes_one_lead() {
    let harness = start().await;
    let contact = harness
        .ic_create(json!({"email": "create.once@example.com", "name": "Create Once", "phone": "+1 555 0808"}))
        .await;
    harness.wait_inbox_empty().await;
    // The first write fails as a server error, so the create is retried.
    harness
        .sf_faults(
            json!({"errors": [{"kind": "server_error", "count": 1, "endpoint": "collections"}]}),
        )
        .await;

    let response = harness
        .http()
        .post(format!("{}/actions/create-lead", harness.server_url()))
        .json(&json!({"intercom_id": contact}))
        .send()
        .await
        .expect("call create-lead");
    assert!(
        response.status().is_success(),
        "create-lead answered {}",
        response.status()
    );
    // A poll racing the create reads the new Lead before or after the mapping is saved.
    harness.poll().await;

    let lead = wait_for("a Lead for the contact", || async {
        match harness.live_mapping_of(&contact).await {
            Some(mapping) if mapping["salesforce_id"].is_string() => Ok(mapping["salesforce_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()),
            other => Err(other),
        }
    })
    .await;
    quiesce(&harness).await;
    let leads = harness
        .sf_query("SELECT Id FROM Lead WHERE Email = 'create.once@example.com'")
        .await;
    assert_eq!(leads.len(), 1, "Leads with the email: {leads:?}");
    assert_eq!(leads[0]["Id"], lead.as_str());
    let record = harness.sf_get("Lead", &lead).await.expect("Lead");
    assert_eq!(record["Phone"], "+1 555 0808");
    let stats = harness
        .sandbox
        .salesforce_stats()
        .await
        .expect("Salesforce stats");
    assert_ne!(
        stats["faults_injected"],
        json!(0),
        "the create never failed: {stats}"
    );
    harness.stop().await;
}

#[actix_rt::test]

async fn converted_lead_takes_next_change() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("convert.next@example.com").await;

    let converted = harness.sf_convert(&lead).await;
    // The change arrives before any poll has seen the conversion.
    harness
        .ic_update(&contact, json!({"phone": "+1 555 0404"}))
        .await;
    harness.wait_inbox_empty().await;
    harness.poll().await;

    harness.wait_mapped(&contact, &converted).await;
    harness
        .wait_sf_field("Contact", &converted, "Phone", json!("+1 555 0404"))
        .await;
    quiesce(&harness).await;
    assert_eq!(
        harness.sf_live_count("Lead").await,
        1,
        "a new Lead was created"
    );
    let mapping = harness.live_mapping_of(&contact).await.expect("mapping");
    assert_eq!(mapping["salesforce_id"], converted.as_str());
    harness.stop().await;
}

#[actix_rt::test]
async fn email_onto_other_record_keeps_its_fields() {
    let harness = start().await;
    let (contact, old_lead) = harness.mapped_pair("mine@example.com").await;
    let account = harness
        .sf_create("Account", json!({"Name": "Other Co"}))
        .await;
    let other = harness
        .sf_create(
            "Contact",
            json!({"FirstName": "Carol", "LastName": "Other", "Email": "theirs@example.com",
                   "Phone": "+1 555 0999", "Title": "CFO", "AccountId": account}),
        )
        .await;
    harness.poll().await;
    harness.wait_inbox_empty().await;

    harness
        .ic_update(&contact, json!({"email": "theirs@example.com"}))
        .await;

    harness.wait_mapped(&contact, &other).await;
    harness.wait_inbox_empty().await;
    harness.poll().await;
    let person = harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0999"))
        .await;
    assert_eq!(person["name"], "Carol Other");
    assert_eq!(person["custom_attributes"]["job_title"], "CFO");
    let target = harness.sf_get("Contact", &other).await.expect("Contact");
    assert_eq!(target["FirstName"], "Carol");
    assert_eq!(target["LastName"], "Other");
    assert_eq!(target["Phone"], "+1 555 0999");
    let old = harness.sf_get("Lead", &old_lead).await.expect("old Lead");
    assert_eq!(old["Email"], "mine@example.com");
    assert_eq!(old["FirstName"], "Ada");
    assert_eq!(
        harness.sf_live_count("Lead").await,
        1,
        "a new Lead was created"
    );
    harness.stop().await;
}

#[actix_rt::test]
async fn email_onto_two_records_is_sync_error() {
    let harness = start().await;
    let (contact, _) = harness.mapped_pair("single@example.com").await;
    let first = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Twin A", "Company": "Acme", "Email": "twins@example.com"}),
        )
        .await;
    let second = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Twin B", "Company": "Acme", "Email": "twins@example.com"}),
        )
        .await;

    harness
        .ic_update(&contact, json!({"email": "twins@example.com"}))
        .await;

    harness.wait_unmapped(&contact).await;
    let errors = wait_for("a sync error naming both Leads", || async {
        let errors = harness.sync_errors().await;
        let text = serde_json::to_string(&errors).unwrap_or_default();
        if text.contains(&first) && text.contains(&second) {
            Ok(errors)
        } else {
            Err(errors)
        }
    })
    .await;
    assert_eq!(errors.len(), 1, "sync errors: {errors:?}");
    let (_, status) = harness.status().await;
    assert_eq!(status["sync_errors"], 1, "status: {status}");
    harness.stop().await;
}

#[actix_rt::test]
async fn email_letter_case_matches_existing_contact() {
    let harness = start().await;
    let contact = harness
        .ic_create(json!({"email": "Jane.Roe@Acme.com", "name": "Jane Roe"}))
        .await;
    harness.wait_inbox_empty().await;

    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Roe", "FirstName": "Jane", "Company": "Acme",
                   "Email": "jane.roe@acme.com", "Phone": "+1 555 0112"}),
        )
        .await;
    harness.poll().await;

    harness.wait_mapped(&contact, &lead).await;
    harness
        .wait_ic_field(&contact, "/phone", json!("+1 555 0112"))
        .await;
    quiesce(&harness).await;
    let person = harness.ic_get(&contact).await.expect("contact");
    assert_eq!(
        person["email"], "Jane.Roe@Acme.com",
        "the email letter case churned"
    );
    let record = harness.sf_get("Lead", &lead).await.expect("Lead");
    assert_eq!(
        record["Email"], "jane.roe@acme.com",
        "the email letter case churned"
    );
    assert_eq!(harness.sf_live_count("Lead").await, 1);
    assert_eq!(harness.ic_contact_count().await["user"], 1);
    let before = write_counts(&harness).await;
    quiesce(&harness).await;
    assert_eq!(write_counts(&harness).await, before, "writes kept going");
    harness.stop().await;
}

#[actix_rt::test]

async fn email_letter_case_matches_existing_lead() {
    let harness = start().await;
    let lead = harness
        .sf_create(
            "Lead",
            json!({"LastName": "Doe", "FirstName": "Jane", "Company": "Acme", "Email": "jane.doe@acme.com"}),
        )
        .await;
    harness.poll().await;

    let contact = harness
        .ic_create(
            json!({"email": "Jane.Doe@Acme.com", "name": "Jane Doe", "phone": "+1 555 0111"}),
        )
        .await;

    harness.wait_mapped(&contact, &lead).await;
    harness
        .wait_sf_field("Lead", &lead, "Phone", json!("+1 555 0111"))
        .await;
    quiesce(&harness).await;
    let record = harness.sf_get("Lead", &lead).await.expect("Lead");
    assert_eq!(
        record["Email"], "jane.doe@acme.com",
        "the email letter case churned"
    );
    let person = harness.ic_get(&contact).await.expect("contact");
    assert_eq!(
        person["email"], "Jane.Doe@Acme.com",
        "the email letter case churned"
    );
    assert_eq!(harness.sf_live_count("Lead").await, 1);
    let before = write_counts(&harness).await;
    quiesce(&harness).await;
    assert_eq!(write_counts(&harness).await, before, "writes kept going");
    harness.stop().await;
}

#[actix_rt::test]
async fn deleted_lead_unmaps_without_errors() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("recycled@example.com").await;

    harness.sf_delete("Lead", &lead).await;
    harness.poll().await;
    harness.wait_unmapped(&contact).await;

    // A change after the delete must not be written to the deleted record.
    harness
        .ic_update(&contact, json!({"phone": "+1 555 0505"}))
        .await;
    harness.wait_inbox_empty().await;
    settle(QUIET).await;
    assert!(
        harness.sync_errors().await.is_empty(),
        "sync errors: {:?}",
        harness.sync_errors().await
    );
    assert_eq!(
        harness.sf_live_count("Lead").await,
        0,
        "a Lead was re-created"
    );
    let record = harness
        .sf_query(&format!("SELECT Id FROM Lead WHERE Id = '{lead}'"))
        .await;
    assert!(record.is_empty(), "the deleted Lead is visible: {record:?}");
    harness.stop().await;
}

#[actix_rt::test]
async fn undeleted_lead_restores_mapping() {
    let harness = start().await;
    let (contact, lead) = harness.mapped_pair("undeleted@example.com").await;
    harness.sf_delete("Lead", &lead).await;
    harness.poll().await;
    harness.wait_unmapped(&contact).await;

    harness.sf_undelete(&lead).await;
    harness.poll().await;
    harness.wait_mapped(&contact, &lead).await;
    harness.stop().await;
}

#[actix_rt::test]
async fn repeated_writes_record_loop_suspected() {
    let harness = start().await;
    let (contact, _lead) = harness.mapped_pair("loopy@example.com").await;

    for round in 0..22 {
        harness
            .ic_update(&contact, json!({"phone": format!("+1 555 {round:04}")}))
            .await;
        harness.wait_inbox_empty().await;
    }

    let errors = wait_for("a loop_suspected sync error", || async {
        let errors = harness.sync_errors().await;
        if errors
            .iter()
            .any(|error| error["cause"] == "loop_suspected")
        {
            Ok(errors)
        } else {
            Err(errors)
        }
    })
    .await;
    let loop_error = errors
        .iter()
        .find(|error| error["cause"] == "loop_suspected")
        .expect("the loop error");
    assert!(loop_error["details"]["writes"].as_u64().unwrap_or(0) > 20);
    harness.stop().await;
}

#[actix_rt::test]
async fn idle_poll_costs_one_call() {
    let harness = common::start_with(|options| {
        options.initial_sync = intersync::actors::poller::InitialSync::FromNow;
    })
    .await;
    harness.healthcheck().await;
    harness.poll().await;
    harness.poll().await;
    let series = r#"intersync_api_calls_total{system="salesforce"}"#;
    let before = metric_value(&harness.metrics().await, series);

    harness.poll().await;

    let after = metric_value(&harness.metrics().await, series);
    assert_eq!(after - before, 1.0, "Salesforce calls of one idle poll");
    harness.stop().await;
}
