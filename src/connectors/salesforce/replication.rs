//! getUpdated and getDeleted: the ids of records changed or deleted in a time window.

use chrono::{DateTime, Utc};
use reqwest::Method;

use super::client::Call;
use super::errors::SalesforceError;
use super::types::{datetime, DeletedRecords, UpdatedRecords};
use super::SalesforceClient;

impl SalesforceClient {
    /// Lists the ids of `object` records changed from `start` to `end`.
    ///
    /// Salesforce truncates both bounds to the minute, covers only the last 30 days and
    /// answers `EXCEEDED_ID_LIMIT` above 600,000 ids. Use `latest_date_covered` of the result
    /// as the next start.
    pub async fn get_updated(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<UpdatedRecords, SalesforceError> {
        let call = Call::read("get_updated", object);
        let path = self.data_path(&format!("/sobjects/{object}/updated/"));
        let (start, end) = (datetime::format(start), datetime::format(end));
        self.send(
            call,
            Method::GET,
            &path,
            &[("start", &start), ("end", &end)],
            None,
        )
        .await?
        .json(call.operation)
    }

    /// Lists the `object` records deleted from `start` to `end`.
    ///
    /// The delete log covers about 15 days. When `earliest_date_available` is later than
    /// `start`, deletes were purged and a full reconciliation is needed.
    pub async fn get_deleted(
        &self,
        object: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<DeletedRecords, SalesforceError> {
        let call = Call::read("get_deleted", object);
        let path = self.data_path(&format!("/sobjects/{object}/deleted/"));
        let (start, end) = (datetime::format(start), datetime::format(end));
        self.send(
            call,
            Method::GET,
            &path,
            &[("start", &start), ("end", &end)],
            None,
        )
        .await?
        .json(call.operation)
    }
}
