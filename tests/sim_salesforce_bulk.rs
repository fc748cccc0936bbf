//! sObject Collections and composite through the simulator: per-record results, partial
//! failure, all-or-none rollback, upsert, the size caps and composite references.

mod sim_salesforce_common;

use serde_json::{json, Value};
use sim_salesforce_common::start;

fn lead_record(last_name: &str) -> Value {
    json!({ "attributes": { "type": "Lead" }, "LastName": last_name, "Company": "Acme" })
}

#[actix_web::test]
async fn collection_create_partial_failure() {
    let session = start().await;
    let body = json!({
        "allOrNone": false,
        "records": [
            lead_record("One"),
            { "attributes": { "type": "Lead" }, "Company": "Acme" },
            { "attributes": { "type": "Contact" }, "LastName": "Two" },
        ],
    });
    let (status, _, results) = session
        .call("POST", "/composite/sobjects", Some(body))
        .await;
    assert_eq!(status, 200);
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["success"], true);
    assert!(results[0]["id"].as_str().unwrap().starts_with("00Q"));
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["LastName"]));
    assert!(results[1]["errors"][0].get("errorCode").is_none());
    assert!(results[2]["id"].as_str().unwrap().starts_with("003"));

    let (_, body) = session.query("SELECT COUNT() FROM Lead").await;
    assert_eq!(body["totalSize"], 1);
    session.sim.stop().await;
}

#[actix_web::test]
async fn collection_all_or_none_rolls_back() {
    let session = start().await;
    let body = json!({
        "allOrNone": true,
        "records": [lead_record("One"), { "attributes": { "type": "Lead" }, "LastName": "x".repeat(100), "Company": "A" }, lead_record("Three")],
    });
    let (status, _, results) = session
        .call("POST", "/composite/sobjects", Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(results[1]["errors"][0]["statusCode"], "STRING_TOO_LONG");
    assert_eq!(
        results[2]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    let (_, body) = session.query("SELECT COUNT() FROM Lead").await;
    assert_eq!(body["totalSize"], 0);
    session.sim.stop().await;
}

#[actix_web::test]
async fn collection_update_upsert_delete_retrieve() {
    let session = start().await;
    let first = session
        .create_lead(json!({ "LastName": "A", "Company": "Acme" }))
        .await;
    let second = session
        .create_lead(json!({ "LastName": "B", "Company": "Acme" }))
        .await;

    let body = json!({ "records": [
        { "attributes": { "type": "Lead" }, "id": first, "Title": "CEO" },
        { "attributes": { "type": "Lead" }, "id": "00Q5S0000000zzzAAA", "Title": "CTO" },
    ]});
    let (status, _, results) = session
        .call("PATCH", "/composite/sobjects", Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        results[0],
        json!({ "id": first, "success": true, "errors": [] })
    );
    assert_eq!(results[1]["success"], false);
    assert_eq!(results[1]["errors"][0]["statusCode"], "NOT_FOUND");

    let body = json!({ "allOrNone": false, "records": [
        { "attributes": { "type": "Contact" }, "Intercom_Id__c": "ic-1", "LastName": "Kim" },
        { "attributes": { "type": "Contact" }, "Intercom_Id__c": "ic-2", "LastName": "Wang" },
    ]});
    let (status, _, results) = session
        .call(
            "PATCH",
            "/composite/sobjects/Contact/Intercom_Id__c",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(results[0]["created"], true);
    assert_eq!(results[1]["created"], true);
    let (_, _, results) = session
        .call(
            "PATCH",
            "/composite/sobjects/Contact/Intercom_Id__c",
            Some(body),
        )
        .await;
    assert_eq!(results[0]["created"], false);

    let path =
        format!("/composite/sobjects/Lead?ids={first},{second},00Q5S0000000zzzAAA&fields=Id,Title");
    let (status, _, records) = session.call("GET", &path, None).await;
    assert_eq!(status, 200);
    assert_eq!(records[0]["Title"], "CEO");
    assert_eq!(records[1]["Id"], second);
    assert_eq!(records[2], Value::Null);

    let (status, _, results) = session
        .call(
            "DELETE",
            &format!("/composite/sobjects?ids={first},{second}&allOrNone=false"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(results[0]["success"], true);
    let (_, _, results) = session
        .call("DELETE", &format!("/composite/sobjects?ids={first}"), None)
        .await;
    assert_eq!(results[0]["success"], false);
    assert_eq!(results[0]["id"], first);
    assert_eq!(results[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED");
    session.sim.stop().await;
}

#[actix_web::test]
async fn collection_cap_is_200() {
    let session = start().await;
    let records: Vec<Value> = (0..201).map(|i| lead_record(&format!("L{i}"))).collect();
    let (status, _, body) = session
        .call(
            "POST",
            "/composite/sobjects",
            Some(json!({ "records": records })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "EXCEEDED_ID_LIMIT");

    let records: Vec<Value> = (0..200).map(|i| lead_record(&format!("L{i}"))).collect();
    let (status, headers, body) = session
        .call(
            "POST",
            "/composite/sobjects",
            Some(json!({ "records": records })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 200);
    let usage = headers["Sforce-Limit-Info"].to_str().unwrap().to_string();
    assert_eq!(
        usage, "api-usage=2/100000",
        "each collections call counts once"
    );
    session.sim.stop().await;
}

#[actix_web::test]
async fn composite_references_and_one_call() {
    let session = start().await;
    let body = json!({
        "allOrNone": false,
        "compositeRequest": [
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Account", "referenceId": "acct", "body": { "Name": "Globex" } },
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Contact", "referenceId": "person", "body": { "LastName": "Lee", "AccountId": "@{acct.id}" } },
            { "method": "GET", "url": "/services/data/v60.0/sobjects/Contact/@{person.id}?fields=AccountId", "referenceId": "read" },
            { "method": "GET", "url": "/services/data/v60.0/query?q=SELECT+Id+FROM+Contact", "referenceId": "query" },
        ],
    });
    let (status, headers, body) = session.call("POST", "/composite", Some(body)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["Sforce-Limit-Info"], "api-usage=1/100000");
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(responses[0]["httpStatusCode"], 201);
    assert_eq!(responses[0]["referenceId"], "acct");
    let account_id = responses[0]["body"]["id"].as_str().unwrap();
    assert!(responses[0]["httpHeaders"]["Location"]
        .as_str()
        .unwrap()
        .ends_with(account_id));
    assert_eq!(responses[2]["httpStatusCode"], 200);
    assert_eq!(responses[2]["body"]["AccountId"], account_id);
    assert_eq!(responses[3]["body"]["totalSize"], 1);

    let (_, stats) = session.control("GET", "/stats", Value::Null).await;
    assert_eq!(stats["api_calls"]["composite"], 1);
    assert!(stats["api_calls"].get("sobject").is_none());
    session.sim.stop().await;
}

#[actix_web::test]
async fn composite_all_or_none_halts() {
    let session = start().await;
    let body = json!({
        "allOrNone": true,
        "compositeRequest": [
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "good", "body": { "LastName": "A", "Company": "B" } },
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "bad", "body": { "Company": "B" } },
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "after", "body": { "LastName": "C", "Company": "B" } },
        ],
    });
    let (status, _, body) = session.call("POST", "/composite", Some(body)).await;
    assert_eq!(status, 200);
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(responses[0]["httpStatusCode"], 400);
    assert_eq!(responses[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(
        responses[1]["body"][0]["errorCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(responses[2]["body"][0]["errorCode"], "PROCESSING_HALTED");
    let (_, body) = session.query("SELECT COUNT() FROM Lead").await;
    assert_eq!(body["totalSize"], 0);

    // Without allOrNone only the dependent subrequest halts.
    let body = json!({
        "compositeRequest": [
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "bad", "body": { "Company": "B" } },
            { "method": "PATCH", "url": "/services/data/v60.0/sobjects/Lead/@{bad.id}", "referenceId": "dependent", "body": { "Title": "X" } },
            { "method": "POST", "url": "/services/data/v60.0/sobjects/Lead", "referenceId": "independent", "body": { "LastName": "C", "Company": "B" } },
        ],
    });
    let (_, _, body) = session.call("POST", "/composite", Some(body)).await;
    let responses = body["compositeResponse"].as_array().unwrap();
    assert_eq!(responses[1]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_eq!(responses[2]["httpStatusCode"], 201);

    let too_many: Vec<Value> = (0..26)
        .map(|i| json!({ "method": "GET", "url": "/services/data/v60.0/limits", "referenceId": format!("r{i}") }))
        .collect();
    let (status, _, _) = session
        .call(
            "POST",
            "/composite",
            Some(json!({ "compositeRequest": too_many })),
        )
        .await;
    assert_eq!(status, 400);
    session.sim.stop().await;
}
