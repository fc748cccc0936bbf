//! getUpdated and getDeleted: the ids changed or deleted in a window, with Salesforce's
//! minute truncation, look-back limits and a covered date that stops at uncommitted saves.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::json;

use super::error::{ApiError, ApiResponse, ApiResult};
use super::ids::SObjectType;
use super::state::SimState;
use super::store::{format_datetime, parse_datetime};

/// How far back getUpdated reaches.
const UPDATED_WINDOW_DAYS: i64 = 30;
/// How long deleted records stay in the Recycle Bin and in getDeleted.
pub const DELETED_WINDOW_DAYS: i64 = 15;
/// Ids one replication call may return.
const MAX_REPLICATION_IDS: usize = 600_000;

impl SimState {
    /// Lists records whose `SystemModstamp` falls in `[start, latestDateCovered)`.
    pub fn get_updated(
        &mut self,
        object: SObjectType,
        query: &HashMap<String, String>,
    ) -> ApiResult<ApiResponse> {
        let (start, latest) = self.replication_window(object, query, UPDATED_WINDOW_DAYS)?;
        let ids: Vec<&str> = self
            .store
            .records(object)
            .filter(|record| record.deleted_at.is_none())
            .filter(|record| record.modstamp >= start && record.modstamp < latest)
            .map(|record| record.id())
            .collect();
        check_id_count(ids.len())?;
        let body = json!({ "ids": ids, "latestDateCovered": format_datetime(latest) });
        Ok(ApiResponse::json(200, body))
    }

    /// Lists records deleted in `[start, latestDateCovered)`.
    pub fn get_deleted(
        &mut self,
        object: SObjectType,
        query: &HashMap<String, String>,
    ) -> ApiResult<ApiResponse> {
        self.purge_recycle_bin();
        let (start, latest) = self.replication_window(object, query, DELETED_WINDOW_DAYS)?;
        let mut deleted: Vec<(String, DateTime<Utc>)> = self
            .store
            .records(object)
            .filter_map(|record| Some((record.id().to_string(), record.deleted_at?)))
            .filter(|(_, deleted_at)| *deleted_at >= start && *deleted_at < latest)
            .collect();
        check_id_count(deleted.len())?;
        deleted.sort_by_key(|(_, deleted_at)| *deleted_at);
        let records: Vec<_> = deleted
            .into_iter()
            .map(|(id, deleted_at)| json!({ "id": id, "deletedDate": format_datetime(deleted_at) }))
            .collect();
        let earliest = truncate_to_minute(self.now() - TimeDelta::days(DELETED_WINDOW_DAYS));
        let body = json!({
            "deletedRecords": records,
            "earliestDateAvailable": format_datetime(earliest),
            "latestDateCovered": format_datetime(latest),
        });
        Ok(ApiResponse::json(200, body))
    }

    /// Removes records that have been in the Recycle Bin longer than 15 days.
    pub fn purge_recycle_bin(&mut self) {
        let cutoff = self.now() - TimeDelta::days(DELETED_WINDOW_DAYS);
        let expired: Vec<String> = SObjectType::ALL
            .into_iter()
            .flat_map(|object| self.store.records(object))
            .filter(|record| {
                record
                    .deleted_at
                    .is_some_and(|deleted_at| deleted_at < cutoff)
            })
            .map(|record| record.id().to_string())
            .collect();
        for id in expired {
            self.store.purge(&id);
        }
    }

    /// Checks `start` and `end` and returns the window truncated to minutes. The covered end
    /// is the earliest of `end`, now, and the start of any save still waiting to commit.
    fn replication_window(
        &self,
        object: SObjectType,
        query: &HashMap<String, String>,
        max_days: i64,
    ) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        let start = replication_date(query, "start")?;
        let end = replication_date(query, "end")?;
        let now = self.now();
        if start >= end {
            return Err(invalid_date(
                "startDate must chronologically precede endDate by more than one minute",
            ));
        }
        if start < now - TimeDelta::days(max_days) {
            let message = format!("startDate cannot be more than {max_days} days ago");
            return Err(ApiError::new(400, "INVALID_REPLICATION_DATE", message));
        }

        let mut latest = end.min(truncate_to_minute(now));
        let instant = Instant::now();
        let pending = self
            .store
            .records(object)
            .filter(|record| !record.is_visible(instant))
            .map(|record| truncate_to_minute(record.modstamp))
            .min();
        if let Some(pending) = pending {
            latest = latest.min(pending);
        }
        Ok((start, latest.max(start)))
    }
}

fn replication_date(query: &HashMap<String, String>, name: &str) -> ApiResult<DateTime<Utc>> {
    let text = query.get(name).ok_or_else(|| {
        ApiError::new(
            400,
            "MISSING_ARGUMENT",
            format!("The {name} parameter is required"),
        )
    })?;
    // A `+` in an unencoded offset arrives as a space after URL decoding.
    let text = text.replace(' ', "+");
    let moment = parse_datetime(&text).ok_or_else(|| {
        invalid_date(&format!(
            "Invalid {name} date {text}: expected ISO-8601 such as 2024-05-01T12:00:00Z"
        ))
    })?;
    Ok(truncate_to_minute(moment))
}

fn truncate_to_minute(moment: DateTime<Utc>) -> DateTime<Utc> {
    moment
        .duration_trunc(TimeDelta::minutes(1))
        .unwrap_or(moment)
}

fn invalid_date(message: &str) -> ApiError {
    ApiError::new(400, "INVALID_REPLICATION_DATE", message)
}

fn check_id_count(count: usize) -> ApiResult<()> {
    if count > MAX_REPLICATION_IDS {
        return Err(ApiError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            "More than 600,000 ids in the window; use a shorter window",
        ));
    }
    Ok(())
}
