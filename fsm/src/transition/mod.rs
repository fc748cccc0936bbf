//! The transition function: a state and an event give the next state and the effects.

mod attributes;
mod mapped;
mod unmapped;

use serde::{Deserialize, Serialize};

use crate::effect::Effect;
use crate::event::{Event, RemoteError};
use crate::policy::SyncRules;
use crate::state::State;

/// The result of one step: the state to persist and the effects to carry out, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The next state.
    pub state: State,
    /// The effects, in the order the server carries them out.
    pub effects: Vec<Effect>,
}

impl Transition {
    /// A step that changes nothing and does nothing.
    pub(crate) fn unchanged(state: State) -> Transition {
        Transition {
            state,
            effects: Vec::new(),
        }
    }
}

/// Applies `event` to `state` under `rules`.
///
/// The function is pure and total: an event that does not apply to the state (an unknown
/// person, an older source timestamp, a replay, anything for a tombstone) returns the state
/// unchanged with no effects.
pub fn transition(state: State, event: &Event, rules: &SyncRules) -> Transition {
    match state {
        State::Unmapped(unmapped) => unmapped::on_unmapped(unmapped, event, rules),
        State::KeyChanged(changed) => unmapped::on_key_changed(changed, event, rules),
        State::Mapped(mapping) => mapped::on_mapped(mapping, event, rules),
        State::Qualified(qualified) => mapped::on_qualified(qualified, event, rules),
        State::Deleted(deleted) => Transition::unchanged(State::Deleted(deleted)),
    }
}

/// The delay before retrying a transient failure that outlasted the server's own retries.
pub const TRANSIENT_RETRY_MS: u64 = 60_000;

/// The delay before retrying after a rate limit that named no wait.
pub const RATE_LIMIT_RETRY_MS: u64 = 900_000;

/// The automatic retry delay for an error class, or `None` when only an operator can fix the
/// cause (re-authorization, a permanent rejection, several matches).
pub(crate) fn retry_delay(error: &RemoteError) -> Option<u64> {
    match error {
        RemoteError::Retryable { .. } => Some(TRANSIENT_RETRY_MS),
        RemoteError::RateLimited { retry_after_ms } => {
            Some(retry_after_ms.unwrap_or(RATE_LIMIT_RETRY_MS))
        }
        RemoteError::NeedsReauthorization { .. } | RemoteError::Permanent { .. } => None,
    }
}
