//! Events: changes seen on either side, results of the effects, and operator actions.

use serde::{Deserialize, Serialize};

use crate::key::{IntercomId, MappingKey, SalesforceId};
use crate::person::{PersonRef, Side};
use crate::time::Timestamp;
use crate::value::Attributes;

/// One input to [`crate::transition`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A person was created on one side (`contact.*.created`, `contact.unarchive`, or a new
    /// Salesforce row).
    PersonCreated(PersonChange),
    /// A person changed on one side. A key that differs from the stored one is handled as
    /// [`Event::KeyUpdated`].
    PersonUpdated(PersonChange),
    /// The person's mapping key changed (`contact.email.updated` when the key is the email).
    KeyUpdated(PersonChange),
    /// A person was deleted or archived on one side.
    PersonDeleted {
        /// The deleted person.
        person: PersonRef,
        /// The source timestamp of the deletion.
        at: Timestamp,
    },
    /// A Salesforce Lead was converted to a Contact.
    ///
    /// The event carries no Contact values: the machine answers with
    /// [`crate::Effect::Fetch`] and expects the Contact as a [`Event::PersonUpdated`].
    LeadConverted {
        /// The converted Lead.
        lead: SalesforceId,
        /// The Contact it became (`ConvertedContactId`).
        contact: SalesforceId,
        /// The Lead's `SystemModstamp` after the conversion.
        at: Timestamp,
    },
    /// An Intercom lead became a user (`contact.lead.signed_up`, `contact.merged`); the
    /// mapping moves to the user's id.
    LeadBecameUser {
        /// The lead's contact id.
        lead: IntercomId,
        /// The user's contact id.
        user: IntercomId,
        /// The source timestamp of the change.
        at: Timestamp,
    },
    /// The answer to [`crate::Effect::LookUp`].
    LookedUp(LookUpResult),
    /// The answer to a write effect that succeeded.
    WriteSucceeded(WriteReceipt),
    /// The answer to a write effect that failed after the server's own retries.
    WriteFailed(WriteFailure),
    /// The operator asked to create a Salesforce Lead for this Intercom person.
    CreateLeadRequested,
    /// The operator, or a [`crate::Effect::ScheduleRetry`] timer, asked to retry the failed
    /// operation.
    RetryRequested,
}

/// A person as one side reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonChange {
    /// The person.
    pub person: PersonRef,
    /// The normalized mapping key, or `None` when the person has no key value. On a
    /// [`Event::PersonUpdated`] of a mapped person `None` leaves the mapping as it is; a
    /// [`Event::KeyUpdated`] with `None` deletes it.
    pub key: Option<MappingKey>,
    /// The mapped attribute values. For an update, the server may send only the attributes
    /// that changed, or all of them: values equal to the stored ones are not changes.
    pub attributes: Attributes,
    /// The source timestamp: Intercom `updated_at` or Salesforce `SystemModstamp`.
    pub at: Timestamp,
}

/// The outcome of a look-up by key on one side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookUpResult {
    /// The side searched.
    pub side: Side,
    /// The key searched for.
    pub key: MappingKey,
    /// What the search found.
    pub outcome: LookUpOutcome,
}

/// What a look-up found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LookUpOutcome {
    /// No person on that side has the key.
    NoMatch,
    /// Exactly one person has the key: its reference, values and source timestamp.
    OneMatch(PersonChange),
    /// Several people have the key; the machine records a sync error listing them.
    SeveralMatches {
        /// Every person found.
        candidates: Vec<PersonRef>,
    },
    /// The search itself failed after the server's retries.
    Failed(RemoteError),
}

/// The answer to a write that succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteReceipt {
    /// The side written.
    pub side: Side,
    /// The values written, copied from the effect.
    pub attributes: Attributes,
    /// The record's source timestamp after the write.
    pub at: Timestamp,
    /// The new record's id, for [`crate::Effect::CreateSalesforceLead`].
    pub created: Option<SalesforceId>,
}

/// The answer to a write that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteFailure {
    /// The side that rejected the write.
    pub side: Side,
    /// The classified error.
    pub error: RemoteError,
}

/// A failed call to either side, classified once by the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum RemoteError {
    /// A transient failure (timeout, 5xx) that outlasted the server's retries.
    Retryable {
        /// The connector's description.
        message: String,
    },
    /// The side's rate limit or API allowance is exhausted.
    RateLimited {
        /// The wait the side asked for (`Retry-After`), if any.
        retry_after_ms: Option<u64>,
    },
    /// The connection needs an operator to authorize it again.
    NeedsReauthorization {
        /// The connector's description.
        message: String,
    },
    /// The side rejected the request; repeating it unchanged fails again.
    Permanent {
        /// The error code, such as `STRING_TOO_LONG`.
        code: String,
        /// The side's message.
        message: String,
        /// The fields the error names.
        fields: Vec<String>,
    },
}
