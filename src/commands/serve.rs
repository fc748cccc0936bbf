//! `intersync serve`: the server against real accounts.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::server::{Server, StartOptions};

/// Runs the server with the configuration in `config_path` until SIGINT or SIGTERM.
pub fn serve(config_path: PathBuf, data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(&config_path)?;
    if let Some(data_dir) = data_dir {
        config.data_dir = data_dir;
    }
    actix_web::rt::System::new().block_on(async move {
        let server = Server::start(config, StartOptions::default()).await?;
        super::stop_signal().await;
        server.shutdown(Duration::from_secs(10)).await;
        Ok(())
    })
}
