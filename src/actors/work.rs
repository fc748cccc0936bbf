//! Outbound work: the effects a mapping actor hands to the services that call the APIs.
//!
//! Every outbound effect is stored as a pending record in the same commit as the state that
//! asked for it, and removed in the same commit as the state that takes its answer. After a
//! crash, the pending records are sent again, so no look-up or write is forgotten.

use std::time::Instant;

use actix::Message;
use intersync_fsm::{Effect, SyncError};
use serde::{Deserialize, Serialize};

use crate::store::MappingId;

/// One outbound effect of one mapping, with the pending record that keeps it durable.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PendingWork {
    pub mapping_id: MappingId,
    pub pending_seq: u64,
    pub effect: Effect,
    /// When the work was handed to the executor, for the sync-lag histogram.
    pub queued_at: Instant,
}

#[derive(Serialize, Deserialize)]
struct StoredWork {
    mapping_id: MappingId,
    effect: Effect,
}

impl PendingWork {
    /// Encodes the pending record.
    pub fn encode(mapping_id: MappingId, effect: &Effect) -> Vec<u8> {
        #[derive(Serialize)]
        struct StoredWorkRef<'a> {
            mapping_id: MappingId,
            effect: &'a Effect,
        }
        serde_json::to_vec(&StoredWorkRef { mapping_id, effect }).expect("effects serialize")
    }

    /// Reads a pending record stored by [`PendingWork::encode`].
    pub fn decode(pending_seq: u64, bytes: &[u8]) -> Result<Self, serde_json::Error> {
        let stored: StoredWork = serde_json::from_slice(bytes)?;
        Ok(Self {
            mapping_id: stored.mapping_id,
            pending_seq,
            effect: stored.effect,
            queued_at: Instant::now(),
        })
    }
}

/// Checks whether an effect calls one of the APIs.
pub fn is_outbound(effect: &Effect) -> bool {
    matches!(
        effect,
        Effect::LookUp { .. }
            | Effect::Fetch { .. }
            | Effect::WriteSalesforce { .. }
            | Effect::WriteIntercom { .. }
            | Effect::CreateSalesforceLead { .. }
    )
}

/// Returns a short, stable cause for the sync-error list, such as `several_matches` or the
/// Salesforce error code.
pub fn sync_error_cause(error: &SyncError) -> String {
    use intersync_fsm::RemoteError;
    let remote = |error: &RemoteError| match error {
        RemoteError::Retryable { .. } => "retryable".to_owned(),
        RemoteError::RateLimited { .. } => "rate_limited".to_owned(),
        RemoteError::NeedsReauthorization { .. } => "needs_reauthorization".to_owned(),
        RemoteError::Permanent { code, .. } => code.clone(),
    };
    match error {
        SyncError::SeveralMatches { .. } => "several_matches".to_owned(),
        SyncError::LookUpFailed { error, .. } => format!("lookup_failed: {}", remote(error)),
        SyncError::WriteFailed { error, .. } => format!("write_failed: {}", remote(error)),
        SyncError::MissingKey { .. } => "missing_key".to_owned(),
    }
}
