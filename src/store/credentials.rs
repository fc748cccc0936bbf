//! Salesforce credentials (access and refresh tokens). The caller's value is replaced whole
//! in one commit, so a crash cannot pair a new access token with an old refresh token.
//!
//! The file stores them in clear text, so its permissions must keep other users out.

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{OperationContext, StoreError};
use super::schema::CREDENTIALS;
use super::{encode, Store};

const SALESFORCE: &str = "salesforce";
const WHAT: &str = "Salesforce credentials";

impl Store {
    /// Replaces the Salesforce credentials. The store puts no part of the value in its errors
    /// or logs.
    pub fn put_salesforce_credentials<T: Serialize>(
        &self,
        credentials: &T,
    ) -> Result<(), StoreError> {
        let bytes = encode(WHAT, SALESFORCE, credentials)?;
        self.write("put Salesforce credentials", |txn| {
            let mut table = txn.txn.open_table(CREDENTIALS).during("open credentials")?;
            table
                .insert((txn.workspace, SALESFORCE), bytes.as_slice())
                .during("write credentials")?;
            Ok(())
        })
    }

    /// Reads the Salesforce credentials, decoded as `T`.
    pub fn salesforce_credentials<T: DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        self.read("read Salesforce credentials", |txn| {
            let table = txn.open_table(CREDENTIALS).during("open credentials")?;
            let found = table
                .get((&*self.workspace, SALESFORCE))
                .during("read credentials")?;
            found
                .map(|guard| {
                    serde_json::from_slice(guard.value()).map_err(|error| {
                        StoreError::CredentialsDecode {
                            what: WHAT,
                            category: format!("{:?}", error.classify()).to_lowercase(),
                            line: error.line(),
                            column: error.column(),
                        }
                    })
                })
                .transpose()
        })
    }

    /// Removes the Salesforce credentials, for example after the refresh token is revoked.
    /// Returns whether they were there.
    pub fn delete_salesforce_credentials(&self) -> Result<bool, StoreError> {
        self.write("delete Salesforce credentials", |txn| {
            let mut table = txn.txn.open_table(CREDENTIALS).during("open credentials")?;
            let removed = table
                .remove((txn.workspace, SALESFORCE))
                .during("delete credentials")?;
            Ok(removed.is_some())
        })
    }
}
