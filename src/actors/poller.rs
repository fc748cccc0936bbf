//! The Salesforce poller: reads the Leads and Contacts changed since the watermark and
//! routes each change to its mapping.
//!
//! The cursor is the pair (`SystemModstamp`, `Id`) of the newest applied row, on
//! Salesforce's clock. Each poll reads again from the watermark minus an overlap window,
//! because a row is stamped when its transaction starts but becomes visible only when it
//! commits; rows of the window that were already applied are recognised by their
//! (`Id`, `SystemModstamp`) and skipped. Rows that share one timestamp are ordered by `Id`,
//! so none is lost at a page edge. The watermark moves only after every row of the poll is
//! durable in its mapping.
//!
//! One poll costs one composite call (the Lead and Contact queries together) plus one call
//! per further page of 2,000 rows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::Utc;
use futures::stream::{self, StreamExt};
use intersync_fsm::SalesforceObject;
use serde_json::{Map, Value};
use tracing::{debug, info, warn};

use super::executor::salesforce::{wait_for_budget, with_id};
use super::executor::Context as ExecutorContext;
use super::mapping::Apply;
use super::registry::Router;
use crate::connectors::salesforce::QueryScope;
use crate::metrics::System;
use crate::store::Watermark;
use crate::sync::salesforce_events::{event_of, object_name, row_position, select_fields};

/// Milliseconds taken off the Salesforce time recorded for a poll.
const POLL_TIME_MARGIN_MS: i64 = 2_000;

/// Rows applied concurrently.
const APPLY_CONCURRENCY: usize = 256;

/// The starting point of the first poll of an empty store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialSync {
    /// From Salesforce's current time: only later changes are synced.
    FromNow,
    /// From the beginning: every existing Lead and Contact is read once.
    All,
}

/// Settings of the poller.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub interval: Duration,
    pub overlap: Duration,
    pub initial: InitialSync,
}

/// Runs a poll now, outside the schedule; the reply comes when it finished.
#[derive(Message)]
#[rtype(result = "Result<PollReport, String>")]
pub struct PollNow;

/// The row counts of one poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub rows: usize,
    pub applied: usize,
    pub skipped: usize,
    pub failed: usize,
}

/// The poller actor.
pub struct Poller {
    context: Arc<ExecutorContext>,
    router: Router,
    settings: PollerSettings,
    running: bool,
    automatic: bool,
}

impl Poller {
    pub fn new(context: Arc<ExecutorContext>, router: Router, settings: PollerSettings) -> Self {
        Self {
            context,
            router,
            settings,
            running: false,
            automatic: true,
        }
    }

    /// Turns the schedule off, so polls run only on [`PollNow`].
    pub fn set_automatic(&mut self, automatic: bool) {
        self.automatic = automatic;
    }
}

impl Actor for Poller {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(
            interval_secs = self.settings.interval.as_secs(),
            automatic = self.automatic,
            "Salesforce poller started"
        );
        if !self.automatic {
            return;
        }
        ctx.run_interval(self.settings.interval, |actor, ctx| {
            if actor.running {
                return;
            }
            ctx.notify(ScheduledPoll);
        });
        ctx.notify(ScheduledPoll);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        info!("Salesforce poller stopped");
    }
}

impl Supervised for Poller {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        warn!("Salesforce poller restarting");
        self.running = false;
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct ScheduledPoll;

impl Handler<ScheduledPoll> for Poller {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _message: ScheduledPoll, ctx: &mut Self::Context) -> Self::Result {
        let poll = self.handle(PollNow, ctx);
        Box::pin(poll.map(|result, _actor, _ctx| {
            if let Err(error) = result {
                warn!(%error, "Salesforce poll failed; the next poll reads the same rows again");
            }
        }))
    }
}

impl Handler<PollNow> for Poller {
    type Result = ResponseActFuture<Self, Result<PollReport, String>>;

    fn handle(&mut self, _message: PollNow, _ctx: &mut Self::Context) -> Self::Result {
        self.running = true;
        let context = Arc::clone(&self.context);
        let router = self.router.clone();
        let settings = self.settings.clone();
        Box::pin(
            async move { poll(&context, &router, &settings).await }
                .into_actor(self)
                .map(|result, actor, _ctx| {
                    actor.running = false;
                    result
                }),
        )
    }
}

/// Returns the name under which the Salesforce time of the last complete poll of `object` is
/// kept.
fn polled_name(object: SalesforceObject) -> String {
    format!("{}.polled_at", object_name(object))
}

/// Builds the poll query of one object from `since_ms` on.
fn poll_query(context: &ExecutorContext, object: SalesforceObject, since_ms: i64) -> String {
    let fields = select_fields(object, &context.services.attributes);
    let since = chrono::DateTime::<Utc>::from_timestamp_millis(since_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ");
    format!(
        "SELECT {} FROM {} WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id",
        fields.join(", "),
        object_name(object)
    )
}

/// Runs one poll of both objects.
async fn poll(
    context: &ExecutorContext,
    router: &Router,
    settings: &PollerSettings,
) -> Result<PollReport, String> {
    let started = Instant::now();
    wait_for_budget(context).await;
    let objects = [SalesforceObject::Lead, SalesforceObject::Contact];
    let overlap_ms = i64::try_from(settings.overlap.as_millis()).unwrap_or(i64::MAX);

    let mut watermarks = Vec::new();
    for object in objects {
        let stored = context
            .services
            .store
            .get_watermark(object_name(object))
            .map_err(|error| error.to_string())?;
        let watermark = match stored {
            Some(watermark) => watermark,
            None => {
                // Stored at once, so an org with no changes costs no further call for it.
                let watermark = initial_watermark(context, settings.initial).await?;
                context
                    .services
                    .store
                    .advance_watermark(object_name(object), &watermark, &[], overlap_ms)
                    .map_err(|error| error.to_string())?;
                watermark
            }
        };
        watermarks.push(watermark);
    }

    // A row becomes visible at most one overlap window after its SystemModstamp. Rows stamped
    // more than a window before the previous complete poll were visible to it and need no
    // second read, so the window starts at the later of the two bounds.
    let mut polled_at = Vec::new();
    for object in objects {
        let previous = context
            .services
            .store
            .get_watermark(&polled_name(object))
            .map_err(|error| error.to_string())?
            .map_or(i64::MIN, |mark| mark.system_modstamp_ms);
        polled_at.push(previous);
    }
    let queries: Vec<String> = objects
        .iter()
        .zip(watermarks.iter().zip(&polled_at))
        .map(|(object, (mark, polled))| {
            let since = mark.system_modstamp_ms.max(*polled);
            poll_query(context, *object, since.saturating_sub(overlap_ms))
        })
        .collect();
    let pages = context
        .salesforce
        .composite_queries_in(&queries, QueryScope::IncludeDeleted)
        .await;
    context.services.metrics.api_call(System::Salesforce);
    let pages = match pages {
        Ok(pages) => {
            context.board.connected();
            pages
        }
        Err(error) => {
            context
                .board
                .salesforce_failed(&error.class(), &error.to_string());
            return Err(error.to_string());
        }
    };

    // The newest Date header may come from a call that ended after the queries ran, so the
    // poll time is taken a little earlier than it.
    let server_time = context
        .salesforce
        .usage_meter()
        .server_time_ms()
        .map(|time| time - POLL_TIME_MARGIN_MS);
    let mut report = PollReport::default();
    for ((object, watermark), page) in objects.iter().zip(&watermarks).zip(pages) {
        let mut rows: Vec<Map<String, Value>> = page.records.into_iter().map(with_id).collect();
        let mut next = page.next_records_url;
        while let Some(url) = next {
            let more = context.salesforce.query_more(&url).await;
            context.services.metrics.api_call(System::Salesforce);
            let more = more.map_err(|error| error.to_string())?;
            rows.extend(more.records.into_iter().map(with_id));
            next = more.next_records_url;
        }
        let object_report =
            apply_rows(context, router, *object, watermark, rows, overlap_ms).await?;
        if let (0, Some(server_time)) = (object_report.failed, server_time) {
            let polled = Watermark {
                system_modstamp_ms: server_time,
                id: String::new(),
            };
            context
                .services
                .store
                .advance_watermark(&polled_name(*object), &polled, &[], overlap_ms)
                .map_err(|error| error.to_string())?;
        }
        report.rows += object_report.rows;
        report.applied += object_report.applied;
        report.skipped += object_report.skipped;
        report.failed += object_report.failed;
    }

    let elapsed = started.elapsed();
    context
        .services
        .metrics
        .poll_duration_seconds
        .observe(elapsed.as_secs_f64());
    context.board.poll_finished(Utc::now());
    if report.rows > 0 {
        info!(
            rows = report.rows,
            applied = report.applied,
            skipped = report.skipped,
            failed = report.failed,
            elapsed_ms = elapsed.as_millis() as u64,
            "Salesforce poll finished"
        );
    } else {
        debug!(
            elapsed_ms = elapsed.as_millis() as u64,
            "Salesforce poll found no changes"
        );
    }
    if report.failed > 0 {
        return Err(format!(
            "{} of {} rows could not be applied",
            report.failed, report.rows
        ));
    }
    Ok(report)
}

/// Computes the watermark of an empty store.
async fn initial_watermark(
    context: &ExecutorContext,
    initial: InitialSync,
) -> Result<Watermark, String> {
    match initial {
        InitialSync::All => Ok(Watermark {
            system_modstamp_ms: 0,
            id: String::new(),
        }),
        InitialSync::FromNow => {
            context
                .salesforce
                .limits()
                .await
                .map_err(|error| error.to_string())?;
            context.services.metrics.api_call(System::Salesforce);
            let now = context
                .salesforce
                .usage_meter()
                .server_time_ms()
                .ok_or("Salesforce sent no Date header to start the watermark from")?;
            Ok(Watermark {
                system_modstamp_ms: now,
                id: String::new(),
            })
        }
    }
}

/// Applies the rows of one object that were not applied before, then advances its
/// watermark past them.
async fn apply_rows(
    context: &ExecutorContext,
    router: &Router,
    object: SalesforceObject,
    watermark: &Watermark,
    rows: Vec<Map<String, Value>>,
    overlap_ms: i64,
) -> Result<PollReport, String> {
    let name = object_name(object);
    let store = &context.services.store;
    let mut report = PollReport {
        rows: rows.len(),
        ..PollReport::default()
    };

    let mut fresh = Vec::new();
    for row in rows {
        let Ok((stamp, id)) = row_position(&row) else {
            warn!(object = name, row = ?row.get("Id"), "Skipping a row without a valid Id and SystemModstamp");
            report.skipped += 1;
            continue;
        };
        let position = (stamp, id.clone());
        let at_or_before = position <= (watermark.system_modstamp_ms, watermark.id.clone());
        if at_or_before
            && store
                .was_applied(name, &id, stamp)
                .map_err(|e| e.to_string())?
        {
            report.skipped += 1;
            continue;
        }
        fresh.push((position, row));
    }

    let results: Vec<(Option<(i64, String)>, bool)> = stream::iter(fresh)
        .map(|(position, row)| async move {
            let (target, event) = match event_of(object, &row, &context.services.attributes) {
                Ok(routed) => routed,
                Err(error) => {
                    warn!(object = name, %error, "Skipping a row that gives no event");
                    return (Some(position), true);
                }
            };
            match router.apply(target, Apply::new(event)).await {
                Ok(()) => (Some(position), true),
                Err(error) => {
                    warn!(object = name, salesforce_id = %position.1, %error, "Failed to apply a Salesforce change");
                    (None, false)
                }
            }
        })
        .buffered(APPLY_CONCURRENCY)
        .collect()
        .await;

    // The watermark moves only up to the first row that failed, so that row and the ones
    // after it are read again by the next poll.
    let mut applied = Vec::new();
    for (position, ok) in results {
        match (position, ok) {
            (Some(position), true) => applied.push(position),
            _ => {
                report.failed += 1;
                break;
            }
        }
    }
    report.applied = applied.len();
    let Some(newest) = applied.iter().max().cloned() else {
        return Ok(report);
    };
    let marks: Vec<(String, i64)> = applied.into_iter().map(|(stamp, id)| (id, stamp)).collect();
    let next = Watermark {
        system_modstamp_ms: newest.0,
        id: newest.1,
    };
    store
        .advance_watermark(name, &next, &marks, overlap_ms)
        .map_err(|error| error.to_string())?;
    Ok(report)
}
