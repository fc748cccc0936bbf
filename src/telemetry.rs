//! Logging set-up: `tracing` events to stderr, human-readable or JSON.
//!
//! Level rules: INFO for lifecycle (starts, stops, polls, mappings made or moved), WARN for a
//! failure that was recovered without loss (a retry, a rejected webhook), ERROR for a failure
//! that needs a person (a sync error, a connection that needs re-authorization). `RUST_LOG`
//! overrides the default filter.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Output format of the log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber; later calls are ignored, so tests may call it freely.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,actix_web=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
