//! States of one person or identity mapping, each carrying only the data that exists in it.

use serde::{Deserialize, Serialize};

use crate::effect::SyncError;
use crate::key::{MappingKey, SalesforceId};
use crate::person::{IntercomRef, PersonRef, SalesforceObject, SalesforceRef, Side};
use crate::time::Timestamp;
use crate::value::Attributes;

/// The state of one actor: a person without a counterpart, or an identity mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// A person on one side with no counterpart yet.
    Unmapped(Unmapped),
    /// An identity mapping between an Intercom contact and a Salesforce Lead or Contact.
    Mapped(Mapping),
    /// The mapping key changed: the old mapping is deleted and a match on the new key is
    /// being looked up.
    KeyChanged(KeyChanged),
    /// A mapped Lead was converted: the mapping moved to the Contact, whose values are being
    /// fetched.
    Qualified(Qualified),
    /// A tombstone: every later event changes nothing.
    Deleted(Deleted),
}

/// The machine's record of one side of a person.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SideRecord {
    /// The values last read from the side, or confirmed written to it.
    pub read: Attributes,
    /// Values written to the side and not yet confirmed by a receipt or a read. A read that
    /// shows one of them is an echo of the machine's own write.
    pub written: Attributes,
    /// The newest source timestamp seen from the side. Older events change nothing.
    pub seen_at: Timestamp,
}

/// A request sent to the other side whose result has not arrived yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// A look-up of the other side by key.
    LookUp {
        /// The key searched for.
        key: MappingKey,
        /// The attributes to send once a match is found.
        send: Send,
    },
    /// The creation of a Salesforce Lead for the Intercom person.
    CreateLead,
}

/// The person's attributes that go to the other side when a mapping is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "send", content = "attributes", rename_all = "snake_case")]
pub enum Send {
    /// Every mapped attribute.
    All,
    /// Only these attribute ids, the ones changed by the update that started the look-up.
    Changed(Vec<String>),
}

/// A failed operation that the operator sees as a sync error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The recorded error.
    pub error: SyncError,
    /// True once the failed operation was sent again and its result is pending.
    pub retrying: bool,
}

/// A person on one side with no counterpart yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unmapped {
    /// The person.
    pub person: PersonRef,
    /// The person's normalized mapping key, if it has one.
    pub key: Option<MappingKey>,
    /// The values read from the person's side.
    pub record: SideRecord,
    /// The look-up or Lead creation in flight.
    pub waiting: Option<Request>,
    /// The last failure of `waiting`.
    pub failure: Option<Failure>,
}

/// An identity mapping and what the machine remembers of both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mapping {
    /// The Intercom contact.
    pub intercom: IntercomRef,
    /// The Salesforce Lead or Contact.
    pub salesforce: SalesforceRef,
    /// The normalized mapping key both sides share.
    pub key: MappingKey,
    /// The values read from and written to Intercom.
    pub intercom_side: SideRecord,
    /// The values read from and written to Salesforce.
    pub salesforce_side: SideRecord,
    /// The value of each attribute the last time both sides agreed on it. A side whose value
    /// differs from it changed the attribute since then.
    pub synced: Attributes,
    /// The last failed write, until a write to that side succeeds.
    pub failure: Option<Failure>,
}

/// A mapping deleted because the key changed, while the new key is looked up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyChanged {
    /// The person whose key changed, waiting for the look-up of the new key.
    pub pending: Unmapped,
    /// The former counterpart, left as it was.
    pub previous: PersonRef,
}

/// A mapping moved from a converted Lead to its Contact, waiting for the Contact's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Qualified {
    /// The mapping, already pointing at the Contact.
    pub mapping: Mapping,
    /// The converted Lead.
    pub lead: SalesforceId,
}

/// A tombstone for a deleted person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    /// The deleted person.
    pub person: PersonRef,
    /// The source timestamp of the deletion.
    pub at: Timestamp,
}

impl State {
    /// Returns the starting state of an actor for a person seen for the first time.
    pub fn new(person: PersonRef) -> State {
        State::Unmapped(Unmapped::new(person, None))
    }

    /// Returns the state's name, for logs and metric labels.
    pub fn name(&self) -> &'static str {
        match self {
            State::Unmapped(_) => "unmapped",
            State::Mapped(_) => "mapped",
            State::KeyChanged(_) => "key_changed",
            State::Qualified(_) => "qualified",
            State::Deleted(_) => "deleted",
        }
    }

    /// Checks the invariants every state must hold, returning the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        match self {
            State::Unmapped(unmapped) => unmapped.check_invariants(),
            State::Mapped(mapping) => mapping.check_invariants(),
            State::KeyChanged(changed) => {
                changed.pending.check_invariants()?;
                if !matches!(changed.pending.waiting, Some(Request::LookUp { .. })) {
                    return Err("key-changed state without a pending look-up".to_owned());
                }
                if changed.previous.side() == changed.pending.person.side() {
                    return Err(
                        "key-changed state whose previous counterpart is on the person's own side"
                            .to_owned(),
                    );
                }
                Ok(())
            }
            State::Qualified(qualified) => {
                qualified.mapping.check_invariants()?;
                if qualified.mapping.salesforce.object != SalesforceObject::Contact {
                    return Err("qualified mapping that does not point at a Contact".to_owned());
                }
                if qualified.mapping.salesforce.id == qualified.lead {
                    return Err("qualified mapping whose Contact id equals the Lead id".to_owned());
                }
                Ok(())
            }
            State::Deleted(_) => Ok(()),
        }
    }
}

impl Unmapped {
    /// Builds an unmapped person about whom nothing has been read yet.
    pub fn new(person: PersonRef, key: Option<MappingKey>) -> Unmapped {
        Unmapped {
            person,
            key,
            record: SideRecord::default(),
            waiting: None,
            failure: None,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        if self.failure.is_some() && self.waiting.is_none() {
            return Err("unmapped person with a failure but no request to retry".to_owned());
        }
        match &self.waiting {
            Some(Request::LookUp { key, .. }) if self.key.as_ref() != Some(key) => Err(format!(
                "unmapped person looking up key {key} while its own key is {:?}",
                self.key
            )),
            Some(Request::CreateLead) if self.person.side() != Side::Intercom => {
                Err("Lead creation requested for a Salesforce person".to_owned())
            }
            Some(Request::CreateLead) if self.key.is_none() => {
                Err("Lead creation requested for a person without a mapping key".to_owned())
            }
            _ => Ok(()),
        }
    }
}

impl Mapping {
    /// Returns the record of `side`.
    pub fn side(&self, side: Side) -> &SideRecord {
        match side {
            Side::Intercom => &self.intercom_side,
            Side::Salesforce => &self.salesforce_side,
        }
    }

    pub(crate) fn side_mut(&mut self, side: Side) -> &mut SideRecord {
        match side {
            Side::Intercom => &mut self.intercom_side,
            Side::Salesforce => &mut self.salesforce_side,
        }
    }

    /// Borrows the record of `side`, the record of the other side and the synced values
    /// together.
    pub(crate) fn sides_mut(
        &mut self,
        side: Side,
    ) -> (&mut SideRecord, &mut SideRecord, &mut Attributes) {
        match side {
            Side::Intercom => (
                &mut self.intercom_side,
                &mut self.salesforce_side,
                &mut self.synced,
            ),
            Side::Salesforce => (
                &mut self.salesforce_side,
                &mut self.intercom_side,
                &mut self.synced,
            ),
        }
    }

    /// Returns true when `person` is one of the two mapped people.
    pub fn involves(&self, person: &PersonRef) -> bool {
        match person {
            PersonRef::Intercom(contact) => contact.id == self.intercom.id,
            PersonRef::Salesforce(record) => record.id == self.salesforce.id,
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        for (id, synced) in &self.synced {
            let on_intercom = self.intercom_side.read.get(id);
            let on_salesforce = self.salesforce_side.read.get(id);
            if on_intercom.is_none() && on_salesforce.is_none() {
                return Err(format!(
                    "attribute {id} has a synced value {synced:?} but was never read from either side"
                ));
            }
        }
        match &self.failure {
            None
            | Some(Failure {
                error: SyncError::WriteFailed { .. },
                ..
            }) => Ok(()),
            Some(other) => Err(format!(
                "mapping with a failure that is not a write: {other:?}"
            )),
        }
    }
}
