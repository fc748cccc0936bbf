//! The Salesforce simulator driven over HTTP: OAuth, sObject CRUD, upsert and errors.

mod sim_salesforce_common;

use serde_json::{json, Value};
use sim_salesforce_common::{lead, start};

#[actix_web::test]
async fn crud_round_trip() {
    let session = start().await;
    assert_ne!(session.instance_url, session.sim.login_url());

    let id = session
        .create_lead(lead("García", "Ana.Garcia@Example.com"))
        .await;
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("00Q"));

    let (status, headers, body) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert!(headers["Sforce-Limit-Info"]
        .to_str()
        .unwrap()
        .starts_with("api-usage="));
    assert_eq!(body["attributes"]["type"], "Lead");
    assert_eq!(body["LastName"], "García");
    assert_eq!(body["Status"], "New");
    assert_eq!(body["IsConverted"], false);

    let (status, _, _) = session
        .call(
            "PATCH",
            &format!("/sobjects/Lead/{id}"),
            Some(json!({ "FirstName": "Ana" })),
        )
        .await;
    assert_eq!(status, 204);
    let (_, _, body) = session
        .call(
            "GET",
            &format!("/sobjects/Lead/{}?fields=Name,FirstName", &id[..15]),
            None,
        )
        .await;
    assert_eq!(body["Name"], "Ana García");

    let (status, _, _) = session
        .call("DELETE", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "ENTITY_IS_DELETED");

    session.sim.stop().await;
}

#[actix_web::test]
async fn write_errors() {
    let session = start().await;
    let long_name = "x".repeat(81);
    let cases = [
        (
            json!({ "Company": "Acme" }),
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [LastName]",
            json!(["LastName"]),
        ),
        (
            json!({ "LastName": long_name, "Company": "Acme" }),
            "STRING_TOO_LONG",
            "Last Name: data value too large",
            json!(["LastName"]),
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "Shoe__c": 1 }),
            "INVALID_FIELD",
            "No such column 'Shoe__c' on sobject of type Lead",
            Value::Null,
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "Id": "00Q000000000001AAA" }),
            "INVALID_FIELD",
            "The Id field should not be specified in the sobject data.",
            Value::Null,
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "IsConverted": true }),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create fields: IsConverted",
            json!(["IsConverted"]),
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "Email": "not-an-email" }),
            "INVALID_EMAIL_ADDRESS",
            "invalid email address",
            json!(["Email"]),
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "HasOptedOutOfEmail": "yes" }),
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of boolean",
            Value::Null,
        ),
        (
            json!({ "LastName": "A", "Company": "Acme", "OwnerId": "005-not-an-id" }),
            "FIELD_INTEGRITY_EXCEPTION",
            "Owner ID: id value of incorrect type: 005-not-an-id",
            json!(["OwnerId"]),
        ),
    ];
    for (body, code, fragment, fields) in cases {
        let (status, _, response) = session
            .call("POST", "/sobjects/Lead", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body}: {response}");
        assert_eq!(response[0]["errorCode"], code, "{body}: {response}");
        assert!(
            response[0]["message"].as_str().unwrap().contains(fragment),
            "{response}"
        );
        if !fields.is_null() {
            assert_eq!(response[0]["fields"], fields, "{response}");
        }
    }

    // Describe edits change what is accepted.
    let (status, _) = session
        .control(
            "PATCH",
            "/describe/Lead/Rating",
            json!({ "restricted": true }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, response) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "Acme", "Rating": "Lukewarm" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        response[0]["errorCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        response[0]["message"],
        "Rating: bad value for restricted picklist field: Lukewarm"
    );

    session
        .control(
            "PATCH",
            "/describe/Lead/Title",
            json!({ "required": true, "length": 5 }),
        )
        .await;
    let (_, _, response) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "Acme" })),
        )
        .await;
    assert_eq!(response[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(response[0]["fields"], json!(["Title"]));
    let (_, _, response) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "Acme", "Title": "Director" })),
        )
        .await;
    assert_eq!(response[0]["errorCode"], "STRING_TOO_LONG");

    session
        .control("PATCH", "/describe/Lead/Phone", json!({ "hidden": true }))
        .await;
    let (_, _, response) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "A", "Company": "Acme", "Title": "CEO", "Phone": "1" })),
        )
        .await;
    assert_eq!(response[0]["errorCode"], "INVALID_FIELD");
    let (_, _, describe) = session.call("GET", "/sobjects/Lead/describe", None).await;
    let fields = describe["fields"].as_array().unwrap();
    assert!(fields.iter().all(|field| field["name"] != "Phone"));
    let title = fields
        .iter()
        .find(|field| field["name"] == "Title")
        .unwrap();
    assert_eq!(title["nillable"], false);
    assert_eq!(title["length"], 5);
    let rating = fields
        .iter()
        .find(|field| field["name"] == "Rating")
        .unwrap();
    assert_eq!(rating["restrictedPicklist"], true);

    let (status, body) = session
        .control(
            "PATCH",
            "/describe/Lead/NoSuchField",
            json!({ "hidden": true }),
        )
        .await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("NoSuchField"));
    session.sim.stop().await;
}

#[actix_web::test]
async fn update_and_lookup_errors() {
    let session = start().await;
    let cases = [
        ("GET", "/sobjects/Lead/00Q5S0000000zzzAAA", 404, "NOT_FOUND"),
        ("GET", "/sobjects/Lead/garbage", 404, "NOT_FOUND"),
        (
            "GET",
            "/sobjects/Widget/00Q5S0000000zzzAAA",
            404,
            "NOT_FOUND",
        ),
        ("GET", "/sobjects/Lead/Email/x@y.z", 404, "NOT_FOUND"),
        (
            "PUT",
            "/sobjects/Lead/00Q5S0000000zzzAAA",
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (method, path, status, code) in cases {
        let (actual, _, body) = session.call(method, path, None).await;
        assert_eq!(actual, status, "{method} {path}: {body}");
        assert_eq!(body[0]["errorCode"], code, "{method} {path}");
    }

    let id = session.create_lead(lead("Smith", "s@example.com")).await;
    let (status, _, body) = session
        .call(
            "PATCH",
            &format!("/sobjects/Lead/{id}"),
            Some(json!({ "SystemModstamp": "2020-01-01T00:00:00Z" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");

    let (status, _, body) = session
        .call(
            "PATCH",
            &format!("/sobjects/Lead/{id}"),
            Some(json!({ "LastName": null })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "REQUIRED_FIELD_MISSING");

    let (status, _, body) = session
        .call("GET", &format!("/sobjects/Lead/{id}?fields=Nope"), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "INVALID_FIELD");

    session.sim.stop().await;
}

#[actix_web::test]
async fn upsert_by_intercom_id() {
    let session = start().await;
    let path = "/sobjects/Lead/Intercom_Id__c/6543abc";
    let (status, _, body) = session
        .call(
            "PATCH",
            path,
            Some(json!({ "LastName": "Okafor", "Company": "Globex" })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["created"], true);
    assert_eq!(body["success"], true);
    let id = body["id"].as_str().unwrap().to_string();

    let (status, _, body) = session
        .call("PATCH", path, Some(json!({ "FirstName": "Olu" })))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "id": id, "success": true, "errors": [], "created": false })
    );

    let (status, _, body) = session
        .call("GET", "/sobjects/Lead/Intercom_Id__c/6543ABC", None)
        .await;
    assert_eq!(status, 200, "external ids match ignoring case");
    assert_eq!(body["Name"], "Olu Okafor");
    assert_eq!(body["Intercom_Id__c"], "6543abc");

    let (status, _, body) = session
        .call(
            "POST",
            "/sobjects/Lead",
            Some(json!({ "LastName": "B", "Company": "C", "Intercom_Id__c": "6543abc" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "DUPLICATE_VALUE");

    let (status, _, body) = session
        .call(
            "PATCH",
            "/sobjects/Lead/Email/a@b.c",
            Some(json!({ "LastName": "B" })),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
    session.sim.stop().await;
}

#[actix_web::test]
async fn conversion_locks_lead() {
    let session = start().await;
    let id = session.create_lead(json!({ "FirstName": "Søren", "LastName": "Nørgaard", "Company": "Initech", "Email": "soren@initech.example", "Intercom_Id__c": "ic1" })).await;
    let (_, _, before) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;

    let (status, result) = session
        .control("POST", &format!("/leads/{id}/convert"), json!({}))
        .await;
    assert_eq!(status, 200, "{result}");
    let contact_id = result["contactId"].as_str().unwrap();
    let account_id = result["accountId"].as_str().unwrap();
    assert!(contact_id.starts_with("003"));
    assert!(account_id.starts_with("001"));

    let (_, _, after) = session
        .call("GET", &format!("/sobjects/Lead/{id}"), None)
        .await;
    assert_eq!(after["IsConverted"], true);
    assert_eq!(after["ConvertedContactId"], contact_id);
    assert_eq!(after["ConvertedAccountId"], account_id);
    assert_eq!(after["ConvertedDate"].as_str().unwrap().len(), 10);
    assert!(after["SystemModstamp"].as_str() > before["SystemModstamp"].as_str());

    let (_, _, contact) = session
        .call("GET", &format!("/sobjects/Contact/{contact_id}"), None)
        .await;
    assert_eq!(contact["Email"], "soren@initech.example");
    assert_eq!(contact["AccountId"], account_id);
    let (_, _, account) = session
        .call("GET", &format!("/sobjects/Account/{account_id}"), None)
        .await;
    assert_eq!(account["Name"], "Initech");

    let (status, _, body) = session
        .call(
            "PATCH",
            &format!("/sobjects/Lead/{id}"),
            Some(json!({ "Title": "CTO" })),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "CANNOT_UPDATE_CONVERTED_LEAD");

    // A second lead converts into the existing contact and account.
    let other = session
        .create_lead(json!({ "LastName": "Nørgaard", "Company": "Initech", "Phone": "+45 1234" }))
        .await;
    let (status, result) = session
        .control(
            "POST",
            &format!("/leads/{other}/convert"),
            json!({ "contact_id": contact_id, "account_id": account_id }),
        )
        .await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["contactId"], contact_id);
    let (_, _, contact) = session
        .call("GET", &format!("/sobjects/Contact/{contact_id}"), None)
        .await;
    assert_eq!(
        contact["Phone"], "+45 1234",
        "empty fields are filled from the lead"
    );
    let (status, body) = session
        .control("POST", &format!("/leads/{other}/convert"), json!({}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body[0]["errorCode"], "CANNOT_UPDATE_CONVERTED_LEAD");
    session.sim.stop().await;
}

/// The keys of one field in a describe body captured from a real org (API v28.0).
const DESCRIBE_FIELD_KEYS: &[&str] = &[
    "length",
    "name",
    "type",
    "defaultValue",
    "byteLength",
    "unique",
    "caseSensitive",
    "label",
    "nameField",
    "sortable",
    "relationshipName",
    "relationshipOrder",
    "cascadeDelete",
    "restrictedDelete",
    "digits",
    "createable",
    "updateable",
    "groupable",
    "permissionable",
    "displayLocationInDecimal",
    "filterable",
    "calculated",
    "scale",
    "precision",
    "externalId",
    "writeRequiresMasterRead",
    "controllerName",
    "idLookup",
    "restrictedPicklist",
    "namePointing",
    "custom",
    "defaultedOnCreate",
    "deprecatedAndHidden",
    "htmlFormatted",
    "defaultValueFormula",
    "calculatedFormula",
    "picklistValues",
    "dependentPicklist",
    "referenceTo",
    "autoNumber",
    "soapType",
    "nillable",
    "inlineHelpText",
];

#[actix_web::test]
async fn describe_honours_if_modified_since() {
    let session = start().await;
    let url = session.data_url("/sobjects/Lead/describe");
    let response = session
        .http
        .get(&url)
        .bearer_auth(&session.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let last_modified = response.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();

    let conditional = |since: String| {
        session
            .http
            .get(&url)
            .bearer_auth(&session.access_token)
            .header("If-Modified-Since", since)
            .send()
    };
    let response = conditional(last_modified.clone()).await.unwrap();
    assert_eq!(response.status(), 304);

    // A describe edit one second later makes the old date stale.
    tokio::time::sleep(std::time::Duration::from_millis(1_050)).await;
    session
        .control("PATCH", "/describe/Lead/Title", json!({ "length": 50 }))
        .await;
    let response = conditional(last_modified).await.unwrap();
    assert_eq!(response.status(), 200);
    session.sim.stop().await;
}

#[actix_web::test]
async fn describe_matches_real_keys() {
    let session = start().await;
    let (status, _, describe) = session
        .call("GET", "/sobjects/Account/describe", None)
        .await;
    assert_eq!(status, 200);
    let field = describe["fields"][0].as_object().unwrap();
    for key in DESCRIBE_FIELD_KEYS {
        assert!(field.contains_key(*key), "describe field lacks {key}");
    }
    for key in [
        "name",
        "keyPrefix",
        "fields",
        "createable",
        "queryable",
        "replicateable",
        "urls",
        "recordTypeInfos",
        "childRelationships",
    ] {
        assert!(describe.get(key).is_some(), "describe lacks {key}");
    }
    assert_eq!(describe["keyPrefix"], "001");

    let (_, _, lead) = session.call("GET", "/sobjects/Lead/describe", None).await;
    let intercom_id = lead["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "Intercom_Id__c")
        .unwrap();
    assert_eq!(intercom_id["externalId"], true);
    assert_eq!(intercom_id["unique"], true);
    assert_eq!(intercom_id["length"], 255);
    assert_eq!(intercom_id["filterable"], true);
    let last_name = lead["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == "LastName")
        .unwrap();
    assert_eq!(
        (
            last_name["createable"].clone(),
            last_name["nillable"].clone(),
            last_name["defaultedOnCreate"].clone()
        ),
        (json!(true), json!(false), json!(false))
    );
    session.sim.stop().await;
}
