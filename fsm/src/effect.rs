//! Effects: the only way the machine acts. The server carries them out in order.

use serde::{Deserialize, Serialize};

use crate::event::RemoteError;
use crate::key::{IntercomId, MappingKey, SalesforceId};
use crate::person::{IntercomRef, PersonRef, SalesforceRef, Side};
use crate::time::Timestamp;
use crate::value::Attributes;

/// One action for the server to carry out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Search `side` for people with `key`; answer with [`crate::Event::LookedUp`].
    LookUp {
        /// The side to search.
        side: Side,
        /// The normalized key.
        key: MappingKey,
    },
    /// Read a person's current values; answer with [`crate::Event::PersonUpdated`].
    Fetch {
        /// The person to read.
        person: PersonRef,
    },
    /// Store the identity mapping between the two ids.
    CreateMapping {
        /// The Intercom contact.
        intercom: IntercomId,
        /// The Salesforce Lead or Contact.
        salesforce: SalesforceId,
    },
    /// Remove the identity mapping between the two ids.
    DeleteMapping {
        /// The Intercom contact.
        intercom: IntercomId,
        /// The Salesforce Lead or Contact.
        salesforce: SalesforceId,
    },
    /// Update a Salesforce record with the changed mapped attributes only; answer with
    /// [`crate::Event::WriteSucceeded`] or [`crate::Event::WriteFailed`].
    WriteSalesforce {
        /// The record to update.
        target: SalesforceRef,
        /// The attributes to set.
        attributes: Attributes,
    },
    /// Update an Intercom contact with every mapped attribute that flows to Intercom; answer
    /// with [`crate::Event::WriteSucceeded`] or [`crate::Event::WriteFailed`].
    WriteIntercom {
        /// The contact to update.
        target: IntercomRef,
        /// The attributes to set.
        attributes: Attributes,
    },
    /// Create a Salesforce Lead from an Intercom person; answer with
    /// [`crate::Event::WriteSucceeded`] carrying the new id, or [`crate::Event::WriteFailed`].
    CreateSalesforceLead {
        /// The contact the Lead is created for.
        intercom: IntercomRef,
        /// Every mapped attribute that flows to Salesforce.
        attributes: Attributes,
    },
    /// Keep a sync error for the operator, replacing this person's previous one.
    RecordSyncError(SyncError),
    /// Remove this person's sync error, if any.
    ClearSyncError,
    /// Send [`crate::Event::RetryRequested`] after the delay.
    ScheduleRetry {
        /// The delay in milliseconds.
        after_ms: u64,
    },
    /// Append an entry to the mapping's history.
    Record(HistoryEntry),
}

/// A failed sync operation kept for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum SyncError {
    /// Several people on `side` share the key, so the machine did not pick one.
    SeveralMatches {
        /// The side searched.
        side: Side,
        /// The shared key.
        key: MappingKey,
        /// Every person with the key.
        candidates: Vec<PersonRef>,
    },
    /// A look-up failed after the server's retries.
    LookUpFailed {
        /// The side searched.
        side: Side,
        /// The key searched for.
        key: MappingKey,
        /// The classified error.
        error: RemoteError,
    },
    /// A write failed after the server's retries.
    WriteFailed {
        /// The side written.
        side: Side,
        /// The classified error.
        error: RemoteError,
    },
    /// A Lead was requested for an Intercom person without a mapping key.
    MissingKey {
        /// The contact.
        intercom: IntercomId,
    },
}

/// One change of a mapping: what changed, from which side, by which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The rule that fired.
    pub rule: Rule,
    /// The side whose event caused the change.
    pub from: Side,
    /// The attribute ids copied to the other side, if any.
    pub attributes: Vec<String>,
    /// The source timestamp of the event.
    pub at: Timestamp,
}

/// The sync rule behind a history entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A mapped person changed; the changes were copied to the other side.
    Updated,
    /// A mapping was created to an existing record found by key.
    MappingCreated,
    /// The mapping key changed and the old mapping was deleted.
    KeyChanged,
    /// A person was deleted and the mapping with it.
    Deleted,
    /// A Lead was converted; the mapping moved to the Contact.
    LeadConverted,
    /// An Intercom lead became a user; the mapping moved to the user.
    LeadBecameUser,
    /// A Salesforce Lead was created for an Intercom person.
    LeadCreated,
    /// Both sides changed an attribute; the named attributes were decided by its policy.
    ConflictResolved,
}
