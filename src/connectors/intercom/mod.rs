//! The Intercom REST API connector.
//!
//! [`IntercomClient`] sends the bearer token and a pinned `Intercom-Version` on every call,
//! honours the `X-RateLimit-*` headers (on 429 it waits for the window to reset rather than
//! spinning), and retries transient failures. [`Notification`] types the webhook envelope so
//! the webhook endpoint parses it with the same [`Contact`] type.

mod client;
mod config;
mod contacts;
mod data_attributes;
mod errors;
mod notification;
mod rate_limit;
pub mod timestamp;

pub use client::{IntercomClient, Me, MeApp};
pub use config::IntercomConfig;
pub use contacts::{
    ArchivedContact, Contact, ContactList, ContactRef, ContactRole, ContactSearch, ContactUpdate,
    DeletedContact, NewContact, NextPage, Pages, SearchFilter,
};
pub use data_attributes::{AttributeModel, DataAttribute, DataAttributeList, NewDataAttribute};
pub use errors::{ErrorList, IntercomApiError, IntercomError};
pub use notification::{Notification, NotificationData, NotificationItem};
pub use rate_limit::RateLimitStatus;
