//! Sending the outcome of outbound work back to its mapping.

use std::time::Duration;

use intersync_fsm::{Event, RemoteError, Side};
use tracing::warn;

use super::Context;
use crate::actors::mapping::Apply;
use crate::actors::registry::{DeliveryError, RouteError, Target};
use crate::actors::work::PendingWork;
use crate::connectors::ErrorClass;
use crate::metrics::{Direction, DirectionLabels};

/// Attempts to hand an answer to its mapping before the pending record is left for the
/// next start-up.
const ATTEMPTS: u32 = 5;

/// Hands `event` to the mapping that asked for `work`, removing its pending record in the
/// same commit.
pub async fn answer(context: &Context, work: &PendingWork, event: Event) {
    if let Event::WriteSucceeded(receipt) = &event {
        let direction = match receipt.side {
            Side::Salesforce => Direction::IntercomToSalesforce,
            Side::Intercom => Direction::SalesforceToIntercom,
        };
        context
            .services
            .metrics
            .sync_lag_seconds
            .get_or_create(&DirectionLabels { direction })
            .observe(work.queued_at.elapsed().as_secs_f64());
    }
    let message = Apply {
        event,
        inbox_seq: None,
        completes: Some(work.pending_seq),
    };
    for attempt in 1..=ATTEMPTS {
        let result = context
            .router
            .apply(Target::Mapping(work.mapping_id), message.clone())
            .await;
        match result {
            Ok(()) => return,
            Err(DeliveryError::Route(RouteError::UnknownMapping(_))) => {
                // The mapping was retired while its work ran, so no actor waits for the result.
                let _ = context.services.store.pending_remove(&[work.pending_seq]);
                return;
            }
            Err(error) => {
                warn!(mapping_id = work.mapping_id, pending_seq = work.pending_seq, attempt, %error, "Failed to deliver a work result to its mapping; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    warn!(
        mapping_id = work.mapping_id,
        pending_seq = work.pending_seq,
        "Gave up handing an answer to its mapping; the work is sent again at the next start"
    );
}

/// Converts a classified connector failure into the state machine's form.
pub fn remote_error(class: ErrorClass, message: String) -> RemoteError {
    match class {
        ErrorClass::Retryable => RemoteError::Retryable { message },
        ErrorClass::RateLimited { retry_after } => RemoteError::RateLimited {
            retry_after_ms: retry_after
                .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
        },
        ErrorClass::NeedsReauthorization => RemoteError::NeedsReauthorization { message },
        ErrorClass::Permanent {
            code,
            message,
            fields,
        } => RemoteError::Permanent {
            code,
            message,
            fields,
        },
    }
}
