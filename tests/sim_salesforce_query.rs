//! SOQL through the simulator: a table of queries and their results, malformed queries and
//! their errors, paging, expired locators, queryAll and late visibility.

mod sim_salesforce_common;

use std::time::Duration;

use serde_json::{json, Value};
use sim_salesforce_common::{start, Session};

/// Creates five Leads with distinct values and returns their ids in creation order.
async fn seed_leads(session: &Session) -> Vec<String> {
    let rows = [
        json!({ "FirstName": "Ana", "LastName": "García", "Company": "Acme", "Email": "ana@acme.example", "NumberOfEmployees": 10, "HasOptedOutOfEmail": false }),
        json!({ "FirstName": "Björn", "LastName": "Müller", "Company": "Globex", "Email": "Bjorn@Globex.example", "NumberOfEmployees": 250, "HasOptedOutOfEmail": true }),
        json!({ "FirstName": "太郎", "LastName": "山田", "Company": "Initech", "Email": null, "NumberOfEmployees": 50 }),
        json!({ "LastName": "O'Brien", "Company": "Acme", "Email": "obrien@acme.example", "Rating": "Hot" }),
        json!({ "FirstName": "Zoë", "LastName": "Smith", "Company": "Umbrella", "Email": "zoe@umbrella.example", "NumberOfEmployees": 5000 }),
    ];
    let mut ids = Vec::new();
    for row in rows {
        ids.push(session.create_lead(row).await);
    }
    ids
}

fn last_names(body: &Value) -> Vec<String> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["LastName"].as_str().unwrap_or("").to_string())
        .collect()
}

#[actix_web::test]
async fn query_table() {
    let session = start().await;
    seed_leads(&session).await;

    let cases: &[(&str, &[&str])] = &[
        ("SELECT LastName FROM Lead ORDER BY LastName", &["García", "Müller", "O'Brien", "Smith", "山田"]),
        ("SELECT LastName FROM Lead WHERE Company = 'acme' ORDER BY LastName", &["García", "O'Brien"]),
        ("SELECT LastName FROM Lead WHERE Company != 'Acme' ORDER BY LastName DESC", &["山田", "Smith", "Müller"]),
        ("SELECT LastName FROM Lead WHERE NumberOfEmployees > 50 ORDER BY NumberOfEmployees", &["Müller", "Smith"]),
        ("SELECT LastName FROM Lead WHERE NumberOfEmployees <= 50 ORDER BY LastName", &["García", "山田"]),
        ("SELECT LastName FROM Lead WHERE NumberOfEmployees >= 50 AND NumberOfEmployees < 5000", &["Müller", "山田"]),
        ("SELECT LastName FROM Lead WHERE Email = null", &["山田"]),
        ("SELECT LastName FROM Lead WHERE Email != null AND Email LIKE '%@acme.example' ORDER BY Email", &["García", "O'Brien"]),
        ("SELECT LastName FROM Lead WHERE Email LIKE 'bjorn@%'", &["Müller"]),
        ("SELECT LastName FROM Lead WHERE HasOptedOutOfEmail = true", &["Müller"]),
        ("SELECT LastName FROM Lead WHERE LastName IN ('Smith', 'García') ORDER BY LastName", &["García", "Smith"]),
        ("SELECT LastName FROM Lead WHERE LastName NOT IN ('Smith', 'García') ORDER BY LastName", &["Müller", "O'Brien", "山田"]),
        ("SELECT LastName FROM Lead WHERE NOT Company = 'Acme' ORDER BY LastName LIMIT 2", &["Müller", "Smith"]),
        ("SELECT LastName FROM Lead WHERE (Company = 'Acme' OR Company = 'Globex') AND Rating = null ORDER BY LastName", &["García", "Müller"]),
        ("SELECT LastName FROM Lead WHERE LastName = 'O\\'Brien'", &["O'Brien"]),
        ("SELECT LastName FROM Lead ORDER BY Rating NULLS LAST, LastName LIMIT 2", &["O'Brien", "García"]),
        ("SELECT LastName FROM Lead ORDER BY NumberOfEmployees DESC LIMIT 1 OFFSET 1", &["Müller"]),
        ("select lastname from lead where company = 'Umbrella'", &["Smith"]),
        ("SELECT LastName FROM Lead WHERE CreatedDate > 2020-01-01T00:00:00Z AND ConvertedDate = null AND LastName = 'Smith'", &["Smith"]),
        ("SELECT LastName FROM Lead WHERE SystemModstamp < 2020-01-01T00:00:00.000+0000", &[]),
    ];
    for (soql, expected) in cases {
        let (status, body) = session.query(soql).await;
        assert_eq!(status, 200, "{soql}: {body}");
        let mut names = last_names(&body);
        if !soql.contains("ORDER BY") {
            names.sort();
        }
        assert_eq!(names, *expected, "{soql}");
        assert_eq!(body["totalSize"], expected.len(), "{soql}");
        assert_eq!(body["done"], true, "{soql}");
    }
    session.sim.stop().await;
}

#[actix_web::test]
async fn query_record_shape() {
    let session = start().await;
    let ids = seed_leads(&session).await;
    let (status, body) = session
        .query(&format!(
            "SELECT Id, Email FROM Lead WHERE Id = '{}'",
            &ids[0][..15]
        ))
        .await;
    assert_eq!(status, 200);
    let record = &body["records"][0];
    assert_eq!(record["attributes"]["type"], "Lead");
    assert_eq!(
        record["attributes"]["url"],
        format!("/services/data/v60.0/sobjects/Lead/{}", ids[0])
    );
    assert_eq!(record["Id"], ids[0]);
    let keys: Vec<&String> = record.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["attributes", "Id", "Email"]);

    let (_, body) = session
        .query("SELECT COUNT() FROM Lead WHERE Company = 'Acme'")
        .await;
    assert_eq!(body, json!({ "totalSize": 2, "done": true, "records": [] }));
    session.sim.stop().await;
}

#[actix_web::test]
async fn query_errors() {
    let session = start().await;
    let cases = [
        (
            "SELEKT Id FROM Lead",
            "MALFORMED_QUERY",
            "Row:1:Column:1\nunexpected token: SELEKT",
        ),
        (
            "SELECT Id FROM Lead WHERE",
            "MALFORMED_QUERY",
            "Column:26\nunexpected token: <EOF>",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 'a' AND LastName = 'b' OR Company = 'c'",
            "MALFORMED_QUERY",
            "unexpected token: OR",
        ),
        (
            "SELECT Id, FROM Lead",
            "MALFORMED_QUERY",
            "unexpected token: FROM",
        ),
        (
            "SELECT Id FROM Lead LIMIT x",
            "MALFORMED_QUERY",
            "Column:27\nunexpected token: x",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 'open",
            "MALFORMED_QUERY",
            "Column:35",
        ),
        (
            "SELECT Id FROM Lead WHERE (Email = 'a'",
            "MALFORMED_QUERY",
            "unexpected token: <EOF>",
        ),
        (
            "SELECT Foo FROM Lead",
            "INVALID_FIELD",
            "No such column 'Foo' on entity 'Lead'",
        ),
        (
            "SELECT Id FROM Lead WHERE Description = 'x'",
            "INVALID_FIELD",
            "field 'Description' can not be filtered in query call",
        ),
        (
            "SELECT Id FROM Lead ORDER BY Description",
            "INVALID_FIELD",
            "can not be sorted",
        ),
        (
            "SELECT Id FROM Lead WHERE SystemModstamp > '2024-01-01'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Lead WHERE IsConverted = 'false'",
            "INVALID_FIELD",
            "must be of type boolean",
        ),
        (
            "SELECT Id FROM Lead WHERE Email = 5",
            "INVALID_FIELD",
            "must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Widget__c",
            "INVALID_TYPE",
            "sObject type 'Widget__c' is not supported",
        ),
    ];
    for (soql, code, fragment) in cases {
        let (status, body) = session.query(soql).await;
        assert_eq!(status, 400, "{soql}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{soql}: {body}");
        let message = body[0]["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{soql}: {message}");
    }
    session.sim.stop().await;
}

#[actix_web::test]
async fn query_pages_and_locator_expiry() {
    let session = start().await;
    let (status, _) = session
        .control(
            "POST",
            "/seed",
            json!({ "people": 4200, "overlap": 1.0, "seed": 1 }),
        )
        .await;
    assert_eq!(status, 200);

    let (_, first) = session.query("SELECT Id FROM Contact").await;
    let contacts = first["totalSize"].as_u64().unwrap();
    assert_eq!(contacts, 1050);
    let (_, first) = session
        .query("SELECT Id, Email FROM Lead ORDER BY Id")
        .await;
    assert_eq!(first["totalSize"], 3150);
    assert_eq!(first["done"], false);
    assert_eq!(first["records"].as_array().unwrap().len(), 2000);
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    assert!(next.starts_with("/services/data/v60.0/query/01g"), "{next}");
    assert!(next.ends_with("-2000"), "{next}");

    let (status, _, second) = session
        .call("GET", next.trim_start_matches("/services/data/v60.0"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(second["done"], true);
    assert_eq!(second["totalSize"], 3150);
    assert_eq!(second["records"].as_array().unwrap().len(), 1150);
    assert!(second.get("nextRecordsUrl").is_none());
    let last_of_first = first["records"][1999]["Id"].as_str().unwrap();
    let first_of_second = second["records"][0]["Id"].as_str().unwrap();
    assert!(last_of_first < first_of_second);

    // A used-up locator and an idle one both fail.
    let (status, _, body) = session
        .call("GET", next.trim_start_matches("/services/data/v60.0"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");

    session
        .control("POST", "/faults", json!({ "query_locator_ttl_ms": 20 }))
        .await;
    let (_, first) = session.query("SELECT Id FROM Lead").await;
    let next = first["nextRecordsUrl"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(40)).await;
    let (status, _, body) = session
        .call("GET", next.trim_start_matches("/services/data/v60.0"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_QUERY_LOCATOR");

    // batchSize shrinks pages.
    let response = session
        .http
        .get(session.data_url("/query"))
        .query(&[("q", "SELECT Id FROM Lead")])
        .bearer_auth(&session.access_token)
        .header("Sforce-Query-Options", "batchSize=500")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["records"].as_array().unwrap().len(), 500);
    assert!(body["nextRecordsUrl"].as_str().unwrap().ends_with("-500"));
    session.sim.stop().await;
}

#[actix_web::test]
async fn query_all_includes_deleted() {
    let session = start().await;
    let ids = seed_leads(&session).await;
    let (status, _, _) = session
        .call("DELETE", &format!("/sobjects/Lead/{}", ids[1]), None)
        .await;
    assert_eq!(status, 204);

    let (_, body) = session.query("SELECT Id FROM Lead").await;
    assert_eq!(body["totalSize"], 4);
    let encoded = serde_urlencoded::to_string([(
        "q",
        "SELECT Id, IsDeleted, MasterRecordId FROM Lead WHERE IsDeleted = true",
    )])
    .unwrap();
    let (status, _, body) = session
        .call("GET", &format!("/queryAll?{encoded}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalSize"], 1);
    assert_eq!(body["records"][0]["Id"], ids[1]);
    assert_eq!(body["records"][0]["IsDeleted"], true);
    assert_eq!(body["records"][0]["MasterRecordId"], Value::Null);

    let (status, body) = session
        .control("POST", &format!("/records/{}/undelete", ids[1]), json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = session.query("SELECT Id FROM Lead").await;
    assert_eq!(body["totalSize"], 5);
    session.sim.stop().await;
}

#[actix_web::test]
async fn commit_delay_hides_new_rows() {
    let session = start().await;
    session
        .control("POST", "/faults", json!({ "commit_delay_ms": 150 }))
        .await;
    let id = session
        .create_lead(json!({ "LastName": "Late", "Company": "Acme" }))
        .await;

    let (_, body) = session.query("SELECT Id, SystemModstamp FROM Lead").await;
    assert_eq!(body["totalSize"], 0, "the row is visible before its commit");
    let (status, _, _) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(status, 200, "the writer reads its own write");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, body) = session.query("SELECT Id, SystemModstamp FROM Lead").await;
    assert_eq!(body["totalSize"], 1);
    session.sim.stop().await;
}

#[actix_web::test]
async fn large_query_pages_in_order() {
    let session = start().await;
    let (status, body) = session
        .control(
            "POST",
            "/seed",
            json!({ "people": 16_000, "overlap": 1.0, "seed": 7 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, mut page) = session
        .query("SELECT Id, Email, SystemModstamp FROM Lead ORDER BY SystemModstamp, Id")
        .await;
    assert_eq!(page["totalSize"], 12_000);
    let mut keys: Vec<(String, String)> = Vec::new();
    loop {
        for record in page["records"].as_array().unwrap() {
            let stamp = record["SystemModstamp"].as_str().unwrap().to_string();
            keys.push((stamp, record["Id"].as_str().unwrap().to_string()));
        }
        let Some(next) = page["nextRecordsUrl"].as_str().map(str::to_string) else {
            break;
        };
        let (status, _, body) = session
            .call("GET", next.trim_start_matches("/services/data/v60.0"), None)
            .await;
        assert_eq!(status, 200);
        page = body;
    }
    assert_eq!(keys.len(), 12_000);
    assert!(
        keys.windows(2).all(|pair| pair[0] < pair[1]),
        "pages are out of order"
    );
    session.sim.stop().await;
}
