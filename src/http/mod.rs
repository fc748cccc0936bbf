//! The HTTP endpoints: webhook ingest, status, metrics and admin.

pub mod webhook;
