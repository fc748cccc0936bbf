//! The intersync state machine: states, events, effects and one pure transition function.
//!
//! The server keeps one [`State`] per person or identity mapping, feeds every change it sees
//! and every answer to an [`Effect`] as an [`Event`] into [`transition`], persists the new
//! state and carries out the returned effects. Nothing in this crate performs I/O, reads a
//! clock or draws random numbers: time arrives inside events as source timestamps.

#![warn(missing_docs)]

mod effect;
mod event;
mod key;
mod person;
mod policy;
mod state;
mod time;
mod transition;
mod value;

pub use effect::{Effect, HistoryEntry, Rule, SyncError};
pub use event::{
    Event, LookUpOutcome, LookUpResult, PersonChange, RemoteError, WriteFailure, WriteReceipt,
};
pub use key::{IdError, IntercomId, MappingKey, SalesforceId};
pub use person::{IntercomRef, IntercomRole, PersonRef, SalesforceObject, SalesforceRef, Side};
pub use policy::{ConflictPolicy, MappedAttribute, SyncRules};
pub use state::{
    Deleted, Failure, KeyChanged, Mapping, Qualified, Request, Send, SideRecord, State, Unmapped,
};
pub use time::Timestamp;
pub use transition::{transition, Transition, RATE_LIMIT_RETRY_MS, TRANSIENT_RETRY_MS};
pub use value::{Attributes, Value};
