//! The last healthcheck result, stored as the healthcheck supervisor's own type.

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{OperationContext, StoreError};
use super::schema::HEALTH;
use super::{decode, encode, Store};

const WHAT: &str = "health result";

impl Store {
    /// Replaces the last healthcheck result.
    pub fn put_health<T: Serialize>(&self, result: &T) -> Result<(), StoreError> {
        let bytes = encode(WHAT, &*self.workspace, result)?;
        self.write("put health result", |txn| {
            let mut table = txn.txn.open_table(HEALTH).during("open health")?;
            table
                .insert(txn.workspace, bytes.as_slice())
                .during("write health result")?;
            Ok(())
        })
    }

    /// Reads the last healthcheck result, decoded as `T`.
    pub fn last_health<T: DeserializeOwned>(&self) -> Result<Option<T>, StoreError> {
        self.read("read health result", |txn| {
            let table = txn.open_table(HEALTH).during("open health")?;
            let found = table.get(&*self.workspace).during("read health result")?;
            found
                .map(|guard| decode(WHAT, &*self.workspace, guard.value()))
                .transpose()
        })
    }
}
