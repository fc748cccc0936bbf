//! The Salesforce tokens kept in the store, so a restart needs no new authorization.

use crate::connectors::salesforce::{CredentialStore, CredentialStoreError, SalesforceTokens};
use crate::store::Store;

/// A [`CredentialStore`] on the redb store; each save is one atomic commit.
pub struct StoreCredentials {
    store: Store,
}

impl StoreCredentials {
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

impl CredentialStore for StoreCredentials {
    fn load(&self) -> Result<Option<SalesforceTokens>, CredentialStoreError> {
        self.store
            .salesforce_credentials()
            .map_err(CredentialStoreError::new)
    }

    fn save(&self, tokens: &SalesforceTokens) -> Result<(), CredentialStoreError> {
        self.store
            .put_salesforce_credentials(tokens)
            .map_err(CredentialStoreError::new)
    }
}
