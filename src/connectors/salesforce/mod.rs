//! The Salesforce REST API connector.
//!
//! [`SalesforceClient`] authenticates with OAuth 2.0 (refreshing tokens as needed), sends every
//! call to the org's `instance_url`, retries transient failures, reads `Sforce-Limit-Info` from
//! every response into one [`UsageMeter`], and normalizes record ids to 18 characters.

mod auth;
mod client;
mod collections;
mod composite;
mod config;
mod describe;
mod errors;
pub mod id;
mod limits;
mod query;
mod replication;
mod sobject;
mod types;

pub use auth::{CredentialStore, MemoryCredentialStore, SalesforceTokens, TokenResponse};
pub use client::SalesforceClient;
pub use collections::{RecordUpdate, COLLECTION_LIMIT};
pub use composite::{
    CompositeResponse, CompositeSubrequest, CompositeSubresponse, COMPOSITE_LIMIT,
};
pub use config::SalesforceConfig;
pub use describe::{
    ChildRelationship, DescribeField, DescribeSObject, PicklistValue, RecordTypeInfo,
};
pub use errors::{classify_code, ApiError, CredentialStoreError, OAuthError, SalesforceError};
pub use limits::{ApiUsage, Limit, LimitEntry, Limits, UsageMeter};
pub use query::{QueryPager, QueryScope};
pub use types::{
    datetime, DeletedRecord, DeletedRecords, QueryResult, Record, RecordAttributes, RecordError,
    SaveResult, UpdatedRecords,
};
