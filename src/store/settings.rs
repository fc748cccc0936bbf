//! Operator settings: named JSON values that change at runtime.

use redb::ReadableTable;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{OperationContext, StoreError};
use super::schema::SETTINGS;
use super::Store;

const WHAT: &str = "setting";

impl Store {
    /// Stores setting `name` as JSON, replacing any earlier value.
    pub fn put_setting<T: Serialize + ?Sized>(
        &self,
        name: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        if name.is_empty() {
            return Err(StoreError::InvalidArgument {
                what: "setting name",
                reason: "it is empty".to_owned(),
            });
        }
        let text = serde_json::to_string(value).map_err(|source| StoreError::Encode {
            what: WHAT,
            key: name.to_owned(),
            source,
        })?;
        self.write("put setting", |txn| {
            let mut table = txn.txn.open_table(SETTINGS).during("open settings")?;
            table
                .insert((txn.workspace, name), text.as_str())
                .during("write setting")?;
            Ok(())
        })
    }

    /// Reads setting `name`, decoded as `T`.
    pub fn get_setting<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.read("read setting", |txn| {
            let table = txn.open_table(SETTINGS).during("open settings")?;
            let found = table.get((&*self.workspace, name)).during("read setting")?;
            found
                .map(|guard| {
                    serde_json::from_str(guard.value()).map_err(|source| StoreError::Decode {
                        what: WHAT,
                        key: name.to_owned(),
                        source,
                    })
                })
                .transpose()
        })
    }

    /// Removes setting `name`. Returns whether it was there.
    pub fn delete_setting(&self, name: &str) -> Result<bool, StoreError> {
        self.write("delete setting", |txn| {
            let mut table = txn.txn.open_table(SETTINGS).during("open settings")?;
            let removed = table
                .remove((txn.workspace, name))
                .during("delete setting")?;
            Ok(removed.is_some())
        })
    }

    /// Lists every setting of the workspace by name.
    pub fn list_settings(&self) -> Result<Vec<(String, serde_json::Value)>, StoreError> {
        self.read("list settings", |txn| {
            let table = txn.open_table(SETTINGS).during("open settings")?;
            let range = table
                .range((&*self.workspace, "")..)
                .during("list settings")?;

            let mut settings = Vec::new();
            for entry in range {
                let (key, value) = entry.during("list settings")?;
                let (workspace, name) = key.value();
                if workspace != &*self.workspace {
                    break;
                }
                let value =
                    serde_json::from_str(value.value()).map_err(|source| StoreError::Decode {
                        what: WHAT,
                        key: name.to_owned(),
                        source,
                    })?;
                settings.push((name.to_owned(), value));
            }
            Ok(settings)
        })
    }
}
