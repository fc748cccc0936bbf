//! Salesforce work: batched updates, Lead creation by upsert, batched look-ups and fetches.

use std::collections::HashMap;
use std::time::Duration;

use intersync_fsm::{
    Effect, Event, LookUpOutcome, LookUpResult, PersonRef, SalesforceId, SalesforceObject,
    SalesforceRef, Side, Timestamp, WriteFailure, WriteReceipt,
};
use serde_json::{Map, Value};
use tracing::{debug, info, warn};

use super::answers::{answer, remote_error};
use super::Context;
use crate::actors::work::PendingWork;
use crate::connectors::salesforce::{RecordUpdate, SalesforceError, SaveResult};
use crate::connectors::ErrorClass;
use crate::metrics::{Outcome, System};
use crate::sync::attributes::KEY_FIELD;
use crate::sync::salesforce_events::{object_name, person_change, row_position, select_fields};

/// The maximum wait before a Salesforce call when usage is in the last tenth of the budget.
const SLOW_ZONE_MAX_WAIT: Duration = Duration::from_secs(5);

/// How long Salesforce work waits before it checks the API budget again.
const BUDGET_RECHECK: Duration = Duration::from_secs(60);

/// Value of the required `Company` field of a Lead created from a person without one.
const UNKNOWN_COMPANY: &str = "[not provided]";

/// Waits while intersync's share of the daily API allowance is used up, and slows down as
/// usage nears it.
///
/// In the last tenth of the share, each call first waits up to [`SLOW_ZONE_MAX_WAIT`],
/// growing with the usage, so batches fill up and fewer calls are made. Past the share it
/// reads `/limits` once a minute, which refreshes the usage figures, until there is room.
pub async fn wait_for_budget(context: &Context) {
    let share = context.settings.api_budget_share;
    loop {
        let Some(usage) = context.salesforce.api_usage() else {
            return;
        };
        let used = usage.fraction_used();
        if used < share * 0.9 {
            return;
        }
        if used < share {
            let depth = (used - share * 0.9) / (share * 0.1);
            tokio::time::sleep(SLOW_ZONE_MAX_WAIT.mul_f64(depth.clamp(0.0, 1.0))).await;
            return;
        }
        context.board.budget_spent(format!(
            "{} of {} daily API requests used; intersync stops at {:.0}%",
            usage.used,
            usage.max,
            share * 100.0
        ));
        tokio::time::sleep(BUDGET_RECHECK).await;
        if let Err(error) = context.salesforce.limits().await {
            warn!(%error, "Failed to read the Salesforce limits while waiting for API budget");
        }
    }
}

/// Returns the time a write was saved, on Salesforce's clock.
fn saved_at(context: &Context) -> Timestamp {
    Timestamp::from_millis(
        context
            .salesforce
            .usage_meter()
            .server_time_ms()
            .unwrap_or(0),
    )
}

fn note_call(context: &Context, result: &Result<impl Sized, SalesforceError>) {
    context.services.metrics.api_call(System::Salesforce);
    match result {
        Ok(_) => context.board.connected(),
        Err(error) => context
            .board
            .salesforce_failed(&error.class(), &error.to_string()),
    }
}

/// Sends one sObject Collections update for the batch.
///
/// A Lead converted since the mapping last saw it rejects updates with
/// `CANNOT_UPDATE_CONVERTED_LEAD`. Those updates go to the Contact it became instead, and
/// the next poll moves the mapping there.
pub async fn update(context: &Context, object: SalesforceObject, batch: Vec<PendingWork>) {
    let records: Vec<RecordUpdate> = batch
        .iter()
        .map(|work| match &work.effect {
            Effect::WriteSalesforce { target, attributes } => RecordUpdate {
                id: target.id.as_str().to_owned(),
                fields: context.services.attributes.salesforce_fields(attributes),
            },
            _ => unreachable!("update batches hold only WriteSalesforce effects"),
        })
        .collect();

    let results = match send_update(context, object, &records).await {
        Ok(results) => results,
        Err(error) => return fail_all(context, &batch, object_name(object), &error).await,
    };
    let at = saved_at(context);
    let mut converted = Vec::new();
    for (work, saved) in batch.iter().zip(results) {
        let lead_converted = saved
            .errors
            .first()
            .is_some_and(|error| error.status_code == "CANNOT_UPDATE_CONVERTED_LEAD");
        if object == SalesforceObject::Lead && lead_converted {
            converted.push(work.clone());
            continue;
        }
        answer(
            context,
            work,
            saved_event(context, object, work, &saved, at),
        )
        .await;
    }
    if !converted.is_empty() {
        update_converted(context, converted).await;
    }
}

async fn send_update(
    context: &Context,
    object: SalesforceObject,
    records: &[RecordUpdate],
) -> Result<Vec<SaveResult>, SalesforceError> {
    wait_for_budget(context).await;
    let result = {
        let _slot = context.salesforce_slots.acquire().await;
        context
            .salesforce
            .collections_update(object_name(object), records, false)
            .await
    };
    note_call(context, &result);
    debug!(
        object = object_name(object),
        records = records.len(),
        "Sent a Salesforce update batch"
    );
    result
}

/// Builds the event that reports one record of an update batch to its mapping.
fn saved_event(
    context: &Context,
    object: SalesforceObject,
    work: &PendingWork,
    saved: &SaveResult,
    at: Timestamp,
) -> Event {
    let Effect::WriteSalesforce { attributes, target } = &work.effect else {
        unreachable!("update batches hold only WriteSalesforce effects");
    };
    let metrics = &context.services.metrics;
    match saved.class() {
        None => {
            metrics.write(System::Salesforce, object_name(object), Outcome::Success);
            info!(mapping_id = work.mapping_id, salesforce_id = %target.id, attributes = ?attributes.keys().collect::<Vec<_>>(), "Synced to Salesforce");
            Event::WriteSucceeded(WriteReceipt {
                side: Side::Salesforce,
                attributes: attributes.clone(),
                at,
                created: None,
            })
        }
        Some(class) => {
            metrics.write(System::Salesforce, object_name(object), Outcome::Failure);
            let message = saved
                .errors
                .first()
                .map(|error| error.message.clone())
                .unwrap_or_default();
            warn!(mapping_id = work.mapping_id, salesforce_id = %target.id, class = ?class, %message, "Salesforce rejected a record update");
            Event::WriteFailed(WriteFailure {
                side: Side::Salesforce,
                error: remote_error(class, message),
            })
        }
    }
}

/// Sends the updates of converted Leads to the Contacts they became.
async fn update_converted(context: &Context, batch: Vec<PendingWork>) {
    let lead_ids: Vec<String> = batch
        .iter()
        .filter_map(|work| match &work.effect {
            Effect::WriteSalesforce { target, .. } => Some(soql_string(target.id.as_str())),
            _ => None,
        })
        .collect();
    let soql = format!(
        "SELECT Id, ConvertedContactId FROM Lead WHERE Id IN ({})",
        lead_ids.join(", ")
    );
    let rows = match collect_all(context, &[soql]).await {
        Ok(mut rows) => rows.pop().unwrap_or_default(),
        Err(error) => return fail_all(context, &batch, "Lead", &error).await,
    };
    let contact_of = |lead: &str| {
        rows.iter()
            .find(|row| row.get("Id").and_then(Value::as_str) == Some(lead))
            .and_then(|row| row.get("ConvertedContactId")?.as_str())
            .and_then(|id| SalesforceId::parse(id).ok())
    };

    let mut retargeted = Vec::new();
    for work in batch {
        let Effect::WriteSalesforce { target, attributes } = &work.effect else {
            continue;
        };
        let Some(contact) = contact_of(target.id.as_str()) else {
            let error = SalesforceError::InvalidRequest(format!(
                "Lead {} is converted but names no Contact",
                target.id
            ));
            fail_all(context, std::slice::from_ref(&work), "Lead", &error).await;
            continue;
        };
        info!(mapping_id = work.mapping_id, lead_id = %target.id, contact_id = %contact, "Lead was converted; writing to its Contact");
        let mut moved = work.clone();
        moved.effect = Effect::WriteSalesforce {
            target: SalesforceRef {
                id: contact,
                object: SalesforceObject::Contact,
            },
            attributes: attributes.clone(),
        };
        retargeted.push(moved);
    }
    if !retargeted.is_empty() {
        Box::pin(update(context, SalesforceObject::Contact, retargeted)).await;
    }
}

async fn fail_all(context: &Context, batch: &[PendingWork], object: &str, error: &SalesforceError) {
    warn!(records = batch.len(), object, %error, "A Salesforce batch failed");
    for work in batch {
        context
            .services
            .metrics
            .write(System::Salesforce, object, Outcome::Failure);
        let event = Event::WriteFailed(WriteFailure {
            side: Side::Salesforce,
            error: remote_error(error.class(), error.to_string()),
        });
        answer(context, work, event).await;
    }
}

/// Creates Leads by upsert on the external-id field, so a retry after a timeout updates the
/// Lead the first attempt made instead of creating a second one.
pub async fn create_leads(context: &Context, batch: Vec<PendingWork>) {
    let external_id = &context.settings.external_id_field;
    let records: Vec<Map<String, Value>> = batch
        .iter()
        .map(|work| match &work.effect {
            Effect::CreateSalesforceLead {
                intercom,
                attributes,
            } => {
                let mut fields = context.services.attributes.salesforce_fields(attributes);
                fields.insert(external_id.clone(), Value::from(intercom.id.as_str()));
                let blank = |value: Option<&Value>| value.is_none_or(|value| value.is_null());
                if blank(fields.get("LastName")) {
                    let fallback = fields
                        .get(KEY_FIELD)
                        .and_then(Value::as_str)
                        .and_then(|email| email.split('@').next())
                        .unwrap_or("Unknown")
                        .to_owned();
                    fields.insert("LastName".to_owned(), Value::from(fallback));
                }
                if blank(fields.get("Company")) {
                    fields.insert("Company".to_owned(), Value::from(UNKNOWN_COMPANY));
                }
                fields
            }
            _ => unreachable!("Lead batches hold only CreateSalesforceLead effects"),
        })
        .collect();

    wait_for_budget(context).await;
    let result = {
        let _slot = context.salesforce_slots.acquire().await;
        context
            .salesforce
            .collections_upsert("Lead", external_id, &records, false)
            .await
    };
    note_call(context, &result);
    let at = saved_at(context);
    match result {
        Ok(results) => {
            for (work, saved) in batch.iter().zip(results) {
                let Effect::CreateSalesforceLead {
                    attributes,
                    intercom,
                } = &work.effect
                else {
                    continue;
                };
                let created = saved
                    .id
                    .as_deref()
                    .and_then(|id| SalesforceId::parse(id).ok());
                let event = match (saved.class(), created) {
                    (None, Some(created)) => {
                        info!(mapping_id = work.mapping_id, intercom_id = %intercom.id, salesforce_id = %created, "Created a Salesforce Lead");
                        context.services.metrics.write(
                            System::Salesforce,
                            "Lead",
                            Outcome::Success,
                        );
                        Event::WriteSucceeded(WriteReceipt {
                            side: Side::Salesforce,
                            attributes: attributes.clone(),
                            at,
                            created: Some(created),
                        })
                    }
                    (class, _) => {
                        context.services.metrics.write(
                            System::Salesforce,
                            "Lead",
                            Outcome::Failure,
                        );
                        let class = class.unwrap_or_else(|| {
                            ErrorClass::permanent(
                                "INVALID_ID",
                                "the upsert returned no valid id",
                                Vec::new(),
                            )
                        });
                        let message = saved
                            .errors
                            .first()
                            .map(|error| error.message.clone())
                            .unwrap_or_default();
                        Event::WriteFailed(WriteFailure {
                            side: Side::Salesforce,
                            error: remote_error(class, message),
                        })
                    }
                };
                answer(context, work, event).await;
            }
        }
        Err(error) => fail_all(context, &batch, "Lead", &error).await,
    }
}

/// A row found by a look-up, with the object it came from.
type FoundRow = (SalesforceObject, Map<String, Value>);

/// Escapes a value for a SOQL string literal.
fn soql_string(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    escaped.push('\'');
    for character in value.chars() {
        match character {
            '\\' => escaped.push_str("\\\\"),
            '\'' => escaped.push_str("\\'"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            other => escaped.push(other),
        }
    }
    escaped.push('\'');
    escaped
}

/// Builds the SOQL query that finds every `object` with one of `keys`.
pub fn lookup_query(context: &Context, object: SalesforceObject, keys: &[&str]) -> String {
    let fields = select_fields(object, &context.services.attributes);
    let list = keys
        .iter()
        .map(|key| soql_string(key))
        .collect::<Vec<_>>()
        .join(", ");
    let mut soql = format!(
        "SELECT {} FROM {} WHERE {KEY_FIELD} IN ({list})",
        fields.join(", "),
        object_name(object)
    );
    if object == SalesforceObject::Lead {
        soql.push_str(" AND IsConverted = false");
    }
    soql
}

/// Runs a batch of look-ups by key as one composite call of two queries.
pub async fn look_up(context: &Context, batch: Vec<PendingWork>) {
    let mut keys: Vec<&str> = batch
        .iter()
        .filter_map(|work| match &work.effect {
            Effect::LookUp { key, .. } => Some(key.as_str()),
            _ => None,
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let objects = [SalesforceObject::Lead, SalesforceObject::Contact];
    let queries: Vec<String> = objects
        .iter()
        .map(|object| lookup_query(context, *object, &keys))
        .collect();

    wait_for_budget(context).await;
    let result = {
        let _slot = context.salesforce_slots.acquire().await;
        collect_all(context, &queries).await
    };

    let rows = match result {
        Ok(rows) => rows,
        Err(error) => {
            warn!(keys = keys.len(), %error, "A Salesforce look-up batch failed");
            for work in &batch {
                let Effect::LookUp { side, key } = &work.effect else {
                    continue;
                };
                let event = Event::LookedUp(LookUpResult {
                    side: *side,
                    key: key.clone(),
                    outcome: LookUpOutcome::Failed(remote_error(error.class(), error.to_string())),
                });
                answer(context, work, event).await;
            }
            return;
        }
    };

    let mut by_key: HashMap<String, Vec<FoundRow>> = HashMap::new();
    for (object, rows) in objects.iter().zip(rows) {
        for row in rows {
            let key = row
                .get(KEY_FIELD)
                .and_then(Value::as_str)
                .map(|email| email.trim().to_lowercase());
            if let Some(key) = key {
                by_key.entry(key).or_default().push((*object, row));
            }
        }
    }
    for work in &batch {
        let Effect::LookUp { side, key } = &work.effect else {
            continue;
        };
        let matches: Vec<&FoundRow> = by_key
            .get(key.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|(object, row)| {
                row_person(*object, row).is_some_and(|person| {
                    !super::mapped_elsewhere(&context.services, &person, work.mapping_id)
                })
            })
            .collect();
        let outcome = match matches.as_slice() {
            [] => LookUpOutcome::NoMatch,
            [(object, row)] => match found(context, *object, row) {
                Some(change) => LookUpOutcome::OneMatch(change),
                None => LookUpOutcome::NoMatch,
            },
            several => LookUpOutcome::SeveralMatches {
                candidates: several
                    .iter()
                    .filter_map(|(object, row)| row_person(*object, row))
                    .collect(),
            },
        };
        let event = Event::LookedUp(LookUpResult {
            side: *side,
            key: key.clone(),
            outcome,
        });
        answer(context, work, event).await;
    }
}

fn row_person(object: SalesforceObject, row: &Map<String, Value>) -> Option<PersonRef> {
    let (_, id) = row_position(row).ok()?;
    Some(PersonRef::Salesforce(SalesforceRef {
        id: SalesforceId::parse(&id).ok()?,
        object,
    }))
}

fn found(
    context: &Context,
    object: SalesforceObject,
    row: &Map<String, Value>,
) -> Option<intersync_fsm::PersonChange> {
    let (stamp, id) = row_position(row).ok()?;
    let person = PersonRef::Salesforce(SalesforceRef {
        id: SalesforceId::parse(&id).ok()?,
        object,
    });
    Some(person_change(
        person,
        row,
        &context.services.attributes,
        Timestamp::from_millis(stamp),
    ))
}

/// Runs queries in one composite call and follows every page.
async fn collect_all(
    context: &Context,
    queries: &[String],
) -> Result<Vec<Vec<Map<String, Value>>>, SalesforceError> {
    let first_pages = context.salesforce.composite_queries(queries).await;
    note_call(context, &first_pages);
    let mut all = Vec::with_capacity(queries.len());
    for page in first_pages? {
        let mut rows: Vec<Map<String, Value>> = page.records.into_iter().map(with_id).collect();
        let mut next = page.next_records_url;
        while let Some(url) = next {
            let more = context.salesforce.query_more(&url).await;
            note_call(context, &more);
            let more = more?;
            rows.extend(more.records.into_iter().map(with_id));
            next = more.next_records_url;
        }
        all.push(rows);
    }
    Ok(all)
}

/// Returns the record's fields with its normalized `Id`.
pub fn with_id(record: crate::connectors::salesforce::Record) -> Map<String, Value> {
    let mut fields = record.fields;
    fields.insert("Id".to_owned(), Value::from(record.id));
    fields
}

/// Reads a Salesforce person's current values and hands them to its mapping.
pub async fn fetch(context: &Context, work: PendingWork) {
    let Effect::Fetch {
        person: PersonRef::Salesforce(target),
    } = &work.effect
    else {
        return;
    };
    let fields = select_fields(target.object, &context.services.attributes);
    wait_for_budget(context).await;
    let result = {
        let _slot = context.salesforce_slots.acquire().await;
        context
            .salesforce
            .get(
                object_name(target.object),
                target.id.as_str(),
                Some(&fields),
            )
            .await
    };
    note_call(context, &result);
    let record = match result {
        Ok(record) => record,
        Err(error) => {
            warn!(mapping_id = work.mapping_id, salesforce_id = %target.id, %error, "Failed to read a Salesforce record; it is read again at the next start");
            return;
        }
    };
    let row = with_id(record);
    let Some(change) = found(context, target.object, &row) else {
        warn!(mapping_id = work.mapping_id, salesforce_id = %target.id, "A fetched Salesforce record has no valid SystemModstamp");
        return;
    };
    answer(context, &work, Event::PersonUpdated(change)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soql_strings_are_escaped() {
        assert_eq!(soql_string("o'brien@x.com"), r"'o\'brien@x.com'");
        assert_eq!(soql_string(r"a\b"), r"'a\\b'");
    }
}
