//! The healthcheck supervisor: on its own schedule, checks that intersync can authenticate
//! with both APIs and that the org has the fields it needs.
//!
//! It runs beside the sync, never shares its retry budget, and reports a change between
//! healthy and unhealthy once: in the log, on the status endpoint and to the notification
//! target, not at every run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::Utc;
use serde_json::json;
use tracing::{error, info, warn};

use super::executor::Context as ExecutorContext;
use crate::health::check::{check_org_setup, FieldFacts, REQUIRED_FIELDS};
use crate::health::{Finding, FindingKind, HealthReport};
use crate::metrics::System;

/// Fields of a Task that the create-task action sets.
const TASK_FIELDS_SENT: &[&str] = &[
    "Subject",
    "Description",
    "ActivityDate",
    "Type",
    "Status",
    "Priority",
    "OwnerId",
    "WhoId",
];

/// Runs a healthcheck now and replies with its report.
#[derive(Message)]
#[rtype(result = "HealthReport")]
pub struct CheckNow;

/// The healthcheck actor.
pub struct HealthSupervisor {
    context: Arc<ExecutorContext>,
    interval: Duration,
    notify_url: Option<String>,
    http: reqwest::Client,
}

impl HealthSupervisor {
    pub fn new(
        context: Arc<ExecutorContext>,
        interval: Duration,
        notify_url: Option<String>,
    ) -> Self {
        Self {
            context,
            interval,
            notify_url,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Actor for HealthSupervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        info!(
            interval_secs = self.interval.as_secs(),
            "Healthcheck supervisor started"
        );
        ctx.run_interval(self.interval, |_actor, ctx| ctx.notify(ScheduledCheck));
        ctx.notify(ScheduledCheck);
    }
}

impl Supervised for HealthSupervisor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        warn!("Healthcheck supervisor restarting");
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct ScheduledCheck;

impl Handler<ScheduledCheck> for HealthSupervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _message: ScheduledCheck, ctx: &mut Self::Context) -> Self::Result {
        Box::pin(self.handle(CheckNow, ctx).map(|_, _, _| ()))
    }
}

impl Handler<CheckNow> for HealthSupervisor {
    type Result = ResponseActFuture<Self, HealthReport>;

    fn handle(&mut self, _message: CheckNow, _ctx: &mut Self::Context) -> Self::Result {
        let context = Arc::clone(&self.context);
        let notify_url = self.notify_url.clone();
        let http = self.http.clone();
        Box::pin(
            async move {
                let report = run_check(&context).await;
                record(&context, &report, notify_url.as_deref(), &http).await;
                report
            }
            .into_actor(self),
        )
    }
}

/// Runs every check and returns the findings.
pub async fn run_check(context: &ExecutorContext) -> HealthReport {
    let mut findings = Vec::new();

    if let Err(error) = context.intercom.me().await {
        findings.push(Finding {
            kind: FindingKind::CannotAuthenticate,
            object: "Intercom".to_owned(),
            fields: Vec::new(),
            message: format!("cannot authenticate with Intercom: {error}"),
        });
    }
    context.services.metrics.api_call(System::Intercom);

    let mut described = BTreeMap::new();
    for (object, _) in REQUIRED_FIELDS {
        let result = context.salesforce.refresh_describe(object).await;
        context.services.metrics.api_call(System::Salesforce);
        match result {
            Ok(describe) => {
                let fields = describe
                    .fields
                    .iter()
                    .map(|field| FieldFacts {
                        name: field.name.clone(),
                        filterable: field.filterable.unwrap_or(true),
                        nillable: field.nillable,
                        createable: field.createable.unwrap_or(false),
                        defaulted_on_create: field.defaulted_on_create.unwrap_or(false),
                    })
                    .collect();
                described.insert((*object).to_owned(), fields);
            }
            Err(error) => {
                findings.push(Finding {
                    kind: FindingKind::CannotAuthenticate,
                    object: (*object).to_owned(),
                    fields: Vec::new(),
                    message: format!("cannot describe {object} in Salesforce: {error}"),
                });
                break;
            }
        }
    }
    findings.extend(check_org_setup(&described, &fields_sent(context)));

    HealthReport {
        checked_at_ms: Utc::now().timestamp_millis(),
        findings,
    }
}

/// Lists the fields intersync sets when it creates each object.
fn fields_sent(context: &ExecutorContext) -> BTreeMap<String, BTreeSet<String>> {
    let mut lead: BTreeSet<String> = context
        .services
        .attributes
        .entries()
        .iter()
        .flat_map(|entry| match entry.salesforce.as_str() {
            "Name" => vec!["FirstName".to_owned(), "LastName".to_owned()],
            field => vec![field.to_owned()],
        })
        .collect();
    lead.extend(["LastName", "Company"].map(str::to_owned));
    lead.insert(context.settings.external_id_field.clone());
    BTreeMap::from([
        ("Lead".to_owned(), lead),
        (
            "Task".to_owned(),
            TASK_FIELDS_SENT
                .iter()
                .map(|field| (*field).to_owned())
                .collect(),
        ),
    ])
}

/// Stores the report, and logs and notifies a change between healthy and unhealthy.
async fn record(
    context: &ExecutorContext,
    report: &HealthReport,
    notify_url: Option<&str>,
    http: &reqwest::Client,
) {
    if let Err(error) = context.services.store.put_health(report) {
        warn!(%error, "Failed to store the health result");
    }
    let previous = context.board.set_health(report.clone());
    let was_healthy = previous.as_ref().is_none_or(HealthReport::is_healthy);
    if was_healthy == report.is_healthy() {
        return;
    }
    if report.is_healthy() {
        info!("Workspace is healthy again");
    } else {
        for finding in &report.findings {
            error!(kind = ?finding.kind, object = %finding.object, fields = ?finding.fields, message = %finding.message, "Healthcheck finding");
        }
        error!(
            findings = report.findings.len(),
            "Workspace became unhealthy"
        );
    }
    let Some(url) = notify_url else {
        return;
    };
    let body = json!({
        "healthy": report.is_healthy(),
        "problems": report.findings,
        "checked_at_ms": report.checked_at_ms,
    });
    match http.post(url).json(&body).send().await {
        Ok(response) if response.status().is_success() => {
            info!(
                status = response.status().as_u16(),
                "Sent the health change to the notification target"
            );
        }
        Ok(response) => {
            warn!(
                status = response.status().as_u16(),
                "The notification target rejected the health change"
            );
        }
        Err(error) => warn!(%error, "Failed to send the health change to the notification target"),
    }
}
