//! The status board: the live facts `GET /status` reports that are not in the store.
//!
//! The connectors' callers, the poller and the healthcheck write here; the status endpoint
//! reads. Every write is a short lock on plain data.

use std::sync::RwLock;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{error, info, warn};

use super::finding::HealthReport;
use crate::connectors::ErrorClass;

/// Whether intersync can call Salesforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
    /// The stored grant was revoked or expired; an operator must authorize again.
    NeedsReauthorization,
    /// The org's daily API allowance, or intersync's share of it, is used up.
    ApiLimitReached,
}

#[derive(Debug)]
struct Board {
    connection: ConnectionState,
    connection_detail: Option<String>,
    last_poll_at: Option<DateTime<Utc>>,
    health: Option<HealthReport>,
}

/// Shared live status of the server.
#[derive(Debug)]
pub struct StatusBoard {
    board: RwLock<Board>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        Self {
            board: RwLock::new(Board {
                connection: ConnectionState::Connected,
                connection_detail: None,
                last_poll_at: None,
                health: None,
            }),
        }
    }
}

impl StatusBoard {
    pub fn connection(&self) -> (ConnectionState, Option<String>) {
        let board = self
            .board
            .read()
            .expect("status board lock is never poisoned");
        (board.connection, board.connection_detail.clone())
    }

    /// Records a successful Salesforce call.
    pub fn connected(&self) {
        self.set_connection(ConnectionState::Connected, None);
    }

    /// Records the class of a failed Salesforce call; only classes that block all calls
    /// change the connection state.
    pub fn salesforce_failed(&self, class: &ErrorClass, detail: &str) {
        match class {
            ErrorClass::NeedsReauthorization => self.set_connection(
                ConnectionState::NeedsReauthorization,
                Some(detail.to_owned()),
            ),
            ErrorClass::RateLimited { .. } => {
                self.set_connection(ConnectionState::ApiLimitReached, Some(detail.to_owned()))
            }
            ErrorClass::Retryable | ErrorClass::Permanent { .. } => {}
        }
    }

    /// Records that no Salesforce authorization exists yet, or that it must be renewed.
    pub fn needs_authorization(&self, detail: String) {
        self.set_connection(ConnectionState::NeedsReauthorization, Some(detail));
    }

    /// Records that intersync stopped calling because its API budget is spent.
    pub fn budget_spent(&self, detail: String) {
        self.set_connection(ConnectionState::ApiLimitReached, Some(detail));
    }

    fn set_connection(&self, state: ConnectionState, detail: Option<String>) {
        let mut board = self
            .board
            .write()
            .expect("status board lock is never poisoned");
        if board.connection == state {
            board.connection_detail = detail;
            return;
        }
        match state {
            ConnectionState::Connected => {
                info!(from = ?board.connection, "Salesforce connection restored")
            }
            ConnectionState::NeedsReauthorization => {
                error!(detail = ?detail, "Salesforce connection needs re-authorization; syncing to Salesforce is paused")
            }
            ConnectionState::ApiLimitReached => {
                warn!(detail = ?detail, "Salesforce API allowance reached; syncing to Salesforce is paused")
            }
        }
        board.connection = state;
        board.connection_detail = detail;
    }

    pub fn poll_finished(&self, at: DateTime<Utc>) {
        let mut board = self
            .board
            .write()
            .expect("status board lock is never poisoned");
        board.last_poll_at = Some(at);
    }

    pub fn last_poll_at(&self) -> Option<DateTime<Utc>> {
        self.board
            .read()
            .expect("status board lock is never poisoned")
            .last_poll_at
    }

    /// Stores a health report; returns the previous one.
    pub fn set_health(&self, report: HealthReport) -> Option<HealthReport> {
        let mut board = self
            .board
            .write()
            .expect("status board lock is never poisoned");
        board.health.replace(report)
    }

    pub fn health(&self) -> Option<HealthReport> {
        self.board
            .read()
            .expect("status board lock is never poisoned")
            .health
            .clone()
    }
}
