//! Server configuration: read from a TOML file, secrets from environment variables.
//!
//! Every key has a default except the credentials, so a config file only names what differs.
//! `intersync.example.toml` at the repository root documents each key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::connectors::Secret;
use crate::sync::attributes::AttributeMap;

/// Environment variable that contains the Salesforce connected app's client secret.
pub const ENV_SALESFORCE_CLIENT_SECRET: &str = "INTERSYNC_SALESFORCE_CLIENT_SECRET";
/// Environment variable that contains the Intercom access token.
pub const ENV_INTERCOM_ACCESS_TOKEN: &str = "INTERSYNC_INTERCOM_ACCESS_TOKEN";
/// Environment variable that contains the Intercom app's client secret, which signs webhooks.
pub const ENV_INTERCOM_WEBHOOK_SECRET: &str = "INTERSYNC_INTERCOM_WEBHOOK_SECRET";

/// Errors from reading or checking a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}; copy intersync.example.toml to start one")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("invalid config file {path}: {error}")]
    Parse {
        path: PathBuf,
        error: Box<toml::de::Error>,
    },
    #[error("missing secret: set the environment variable {variable} ({what})")]
    MissingSecret {
        variable: &'static str,
        what: &'static str,
    },
    #[error("invalid value {value:?} for {key}: {reason}")]
    Invalid {
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// The whole server configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Scopes every stored key, so one store can later hold several workspaces.
    pub workspace_id: String,
    /// Address of the HTTP server (webhook, status, metrics, admin).
    pub listen: SocketAddr,
    /// Folder of the redb file `intersync.redb`.
    pub data_dir: PathBuf,
    pub salesforce: SalesforceSettings,
    pub intercom: IntercomSettings,
    pub sync: SyncSettings,
    pub health: HealthSettings,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            workspace_id: "default".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("."),
            salesforce: SalesforceSettings::default(),
            intercom: IntercomSettings::default(),
            sync: SyncSettings::default(),
            health: HealthSettings::default(),
        }
    }
}

/// How to reach and poll Salesforce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforceSettings {
    /// OAuth login URL; API calls go to the `instance_url` the token endpoint returns.
    pub login_url: String,
    pub client_id: String,
    /// Read from `INTERSYNC_SALESFORCE_CLIENT_SECRET`, never from the file.
    #[serde(skip)]
    pub client_secret: Secret,
    /// REST API version path segment, such as `v60.0`.
    pub api_version: String,
    /// Seconds between two polls for changed Leads and Contacts.
    pub poll_interval_secs: u64,
    /// Seconds before the watermark that each poll reads again, for rows that commit late.
    pub poll_overlap_secs: u64,
    /// Share of the org's daily API allowance above which intersync stops calling, 0 to 1.
    pub api_budget_share: f64,
    /// External-id field on Lead and Contact that holds the Intercom contact id; creates
    /// upsert on it so a retried create never makes a second record.
    pub external_id_field: String,
    /// Milliseconds the writer waits to fill a batch before it flushes a smaller one.
    pub batch_delay_ms: u64,
    /// Records per sObject Collections call, 1 to 200; 1 turns batching off.
    pub batch_size: usize,
    /// Seconds one HTTP call may take.
    pub timeout_secs: u64,
    /// The OAuth callback URL registered on the connected app: this server's
    /// `/oauth/callback` as the operator's browser reaches it.
    pub redirect_uri: String,
}

impl Default for SalesforceSettings {
    fn default() -> Self {
        Self {
            login_url: "https://login.salesforce.com".to_owned(),
            client_id: String::new(),
            client_secret: Secret::default(),
            api_version: "v60.0".to_owned(),
            poll_interval_secs: 300,
            poll_overlap_secs: 120,
            api_budget_share: 0.8,
            external_id_field: "Intercom_Id__c".to_owned(),
            batch_delay_ms: 200,
            batch_size: 200,
            timeout_secs: 30,
            redirect_uri: "http://127.0.0.1:8080/oauth/callback".to_owned(),
        }
    }
}

/// How to reach Intercom and verify its webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntercomSettings {
    pub base_url: String,
    /// Value of the `Intercom-Version` header.
    pub api_version: String,
    /// Read from `INTERSYNC_INTERCOM_ACCESS_TOKEN`, never from the file.
    #[serde(skip)]
    pub access_token: Secret,
    /// Read from `INTERSYNC_INTERCOM_WEBHOOK_SECRET`, never from the file.
    #[serde(skip)]
    pub webhook_secret: Secret,
    /// Largest accepted webhook body, in bytes.
    pub max_webhook_bytes: usize,
    pub timeout_secs: u64,
}

impl Default for IntercomSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.intercom.io".to_owned(),
            api_version: "2.11".to_owned(),
            access_token: Secret::default(),
            webhook_secret: Secret::default(),
            max_webhook_bytes: 256 * 1024,
            timeout_secs: 30,
        }
    }
}

/// The mapped attributes and their conflict policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// Create a Salesforce Lead for an Intercom person with no match (off by default).
    pub create_leads: bool,
    /// Attribute pairs to sync besides the mapping key (the email).
    pub attributes: Vec<AttributeSetting>,
    /// Seconds an idle mapping actor lives before it stops.
    pub actor_idle_secs: u64,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            create_leads: false,
            attributes: default_attributes(),
            actor_idle_secs: 60,
        }
    }
}

/// One mapped attribute pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSetting {
    /// Intercom attribute: a standard field (`name`, `phone`, `unsubscribed_from_emails`) or
    /// `custom_attributes.<name>`.
    pub intercom: String,
    /// Salesforce field API name, the same on Lead and Contact.
    pub salesforce: String,
    /// Conflict policy: `newest_wins`, `prefer_salesforce`, `prefer_salesforce_unless_blank`,
    /// `prefer_intercom`, `intercom_to_salesforce`, `salesforce_to_intercom` or `none`.
    #[serde(default = "default_policy")]
    pub policy: String,
    /// Value type on both sides: `text`, `integer`, `float`, `boolean`, `date` or `datetime`.
    #[serde(default = "default_kind")]
    pub kind: String,
}

fn default_kind() -> String {
    "text".to_owned()
}

fn default_policy() -> String {
    "newest_wins".to_owned()
}

fn default_attributes() -> Vec<AttributeSetting> {
    let pair = |intercom: &str, salesforce: &str, kind: &str| AttributeSetting {
        intercom: intercom.to_owned(),
        salesforce: salesforce.to_owned(),
        policy: default_policy(),
        kind: kind.to_owned(),
    };
    vec![
        pair("name", "Name", "text"),
        pair("phone", "Phone", "text"),
        pair("unsubscribed_from_emails", "HasOptedOutOfEmail", "boolean"),
        pair("custom_attributes.job_title", "Title", "text"),
    ]
}

/// The healthcheck schedule and where its findings go.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthSettings {
    /// Seconds between two healthchecks.
    pub interval_secs: u64,
    /// URL that receives a JSON POST when the workspace turns unhealthy or healthy again.
    pub notify_url: Option<String>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            interval_secs: 3600,
            notify_url: None,
        }
    }
}

impl Config {
    /// Reads `path`, then the secrets from the environment, and checks the values.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_owned(),
            error,
        })?;
        let mut config: Config = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            error: Box::new(error),
        })?;
        config.validate()?;
        AttributeMap::from_settings(&config.sync)?;
        config.salesforce.client_secret = require_env(
            ENV_SALESFORCE_CLIENT_SECRET,
            "the Salesforce connected app's client secret",
        )?;
        config.intercom.access_token =
            require_env(ENV_INTERCOM_ACCESS_TOKEN, "the Intercom access token")?;
        config.intercom.webhook_secret = require_env(
            ENV_INTERCOM_WEBHOOK_SECRET,
            "the Intercom app's client secret that signs webhooks",
        )?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and relations that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let share = self.salesforce.api_budget_share;
        if !(0.0..=1.0).contains(&share) {
            return Err(ConfigError::Invalid {
                key: "salesforce.api_budget_share",
                value: share.to_string(),
                reason: "must be between 0 and 1".to_owned(),
            });
        }
        let batch = self.salesforce.batch_size;
        if !(1..=200).contains(&batch) {
            return Err(ConfigError::Invalid {
                key: "salesforce.batch_size",
                value: batch.to_string(),
                reason: "sObject Collections take 1 to 200 records".to_owned(),
            });
        }
        if self.salesforce.poll_interval_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "salesforce.poll_interval_secs",
                value: "0".to_owned(),
                reason: "must be at least 1 second".to_owned(),
            });
        }
        if self.salesforce.client_id.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "salesforce.client_id",
                value: self.salesforce.client_id.clone(),
                reason: "set it to the connected app's consumer key".to_owned(),
            });
        }
        for (key, url) in [
            ("salesforce.login_url", &self.salesforce.login_url),
            ("salesforce.redirect_uri", &self.salesforce.redirect_uri),
            ("intercom.base_url", &self.intercom.base_url),
        ] {
            if let Err(error) = reqwest::Url::parse(url) {
                return Err(ConfigError::Invalid {
                    key,
                    value: url.clone(),
                    reason: format!("not a URL ({error}); write it as https://host/path"),
                });
            }
        }
        if self.workspace_id.is_empty() {
            return Err(ConfigError::Invalid {
                key: "workspace_id",
                value: String::new(),
                reason: "must not be empty".to_owned(),
            });
        }
        Ok(())
    }

    /// Path of the redb file inside `data_dir`.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("intersync.redb")
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.salesforce.poll_interval_secs)
    }
}

fn require_env(variable: &'static str, what: &'static str) -> Result<Secret, ConfigError> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Ok(Secret::new(value)),
        _ => Err(ConfigError::MissingSecret { variable, what }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let text = include_str!("../intersync.example.toml");
        let config: Config = toml::from_str(text).expect("example config parses");
        config.validate().expect("example config is valid");
        assert_eq!(config.salesforce.poll_interval_secs, 300);
    }

    #[test]
    fn unknown_key_is_rejected() {
        let error = toml::from_str::<Config>("pol_interval = 3").unwrap_err();
        assert!(error.to_string().contains("pol_interval"), "{error}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut config = Config::default();
        config.salesforce.client_secret = Secret::new("sf-secret-value");
        config.intercom.access_token = Secret::new("ic-token-value");
        config.intercom.webhook_secret = Secret::new("hook-secret-value");
        let debug = format!("{config:?}");
        for secret in ["sf-secret-value", "ic-token-value", "hook-secret-value"] {
            assert!(!debug.contains(secret), "{secret} appears in {debug}");
        }
    }

    #[test]
    fn budget_share_out_of_range_is_rejected() {
        let mut config = Config::default();
        config.salesforce.api_budget_share = 1.5;
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("api_budget_share"), "{error}");
    }
}
