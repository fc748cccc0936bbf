//! The command-line commands: `serve`, `demo` and `sim`. Each builds its own actix system
//! and returns when it was stopped by SIGINT or SIGTERM.

mod activity;
mod demo;
mod serve;
mod sim;

pub use demo::{demo, DemoOptions};
pub use serve::serve;
pub use sim::sim;

/// Waits for SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = match signal(SignalKind::terminate()) {
            Ok(terminate) => terminate,
            Err(error) => {
                tracing::warn!(%error, "Cannot listen for SIGTERM; only Ctrl-C stops the process");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Received SIGINT"),
            _ = terminate.recv() => tracing::info!("Received SIGTERM"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
