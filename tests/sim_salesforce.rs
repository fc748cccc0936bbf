//! The Salesforce simulator driven over HTTP: OAuth, sObject CRUD, upsert and errors.

mod sim_salesforce_common;

use serde_json::json;
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
