//! Environments (`test`, `prod`): what the seeds' TypeScript configs held,
//! in `tally.toml`. How they combine with the Lambdas' variables and the
//! flags is `settings.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Environments by name.
    #[serde(default)]
    pub env: BTreeMap<String, Env>,
}

/// One environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Env {
    /// The legacy table (archival job).
    pub old_table: Option<String>,
    /// The current table (daily job).
    pub new_table: Option<String>,
    /// The reports bucket.
    pub bucket: Option<String>,
    /// Prefix of the consolidated CSV (`tokens-analysis/`).
    pub output_prefix: Option<String>,
    /// Prefix of the historical CSV (`archives/tokens-analysis/`).
    pub historical_prefix: Option<String>,
    /// Date filters.
    #[serde(default)]
    pub dates: Dates,
    /// Estimator of the daily job (`v2` or `full`).
    pub estimator: Option<String>,
    /// USD per 1K input tokens.
    pub input_price: Option<String>,
    /// USD per 1K output tokens.
    pub output_price: Option<String>,
    /// Where the daily job's detail rows go (`consolidate --detail`).
    pub detail: Option<String>,
    /// Where the archival's detail rows go (`archive --detail`).
    pub archive_detail: Option<String>,
    /// bedrock-chat's large-message bucket (`--large-message-bucket`).
    pub large_message_bucket: Option<String>,
    /// How they are priced (`--price-book`).
    pub price_book: Option<String>,
    /// Server-side encryption of S3 outputs (`--sse`).
    pub sse: Option<String>,
    /// Prefix of the users report (`reports/etl-process1/`, the seed's ETL-1).
    pub users_prefix: Option<String>,
    /// bedrock-chat's Cognito user pool (`users --user-pool-id`).
    pub user_pool_id: Option<String>,
    /// How `deploy/` (the CDK app) deploys this environment: function names,
    /// memory, timeouts, tags. The runner does not read it.
    pub deploy: Option<toml::Table>,
    /// Athena names.
    #[serde(default)]
    pub athena: Athena,
    /// The daily job's schedule.
    #[serde(default)]
    pub schedule: ScheduleConfig,
}

/// Date filters of the two jobs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dates {
    /// First day of the archival job.
    pub archival_start: Option<String>,
    /// Last day of the archival job.
    pub archival_end: Option<String>,
    /// First day of the daily job (the migration date).
    pub consolidated_start: Option<String>,
}

/// Athena names.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Athena {
    /// Database.
    pub database: Option<String>,
    /// Workgroup.
    pub workgroup: Option<String>,
    /// View.
    pub view: Option<String>,
    /// Table over the consolidated CSV.
    pub table: Option<String>,
    /// Whether the daily job refreshes the view.
    pub refresh: Option<bool>,
}

/// The daily job's schedule.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Whether `tally schedule` may run it.
    pub enabled: Option<bool>,
    /// `cron(30 4 * * ? *)` (AWS syntax, UTC).
    pub cron: Option<String>,
}

/// The seeds' file names.
pub const HISTORICAL_FILE: &str = "tokens_analysis_old_table.csv";
/// The seeds' file names.
pub const CONSOLIDATED_FILE: &str = "tokens_analysis_consolidated.csv";
/// The seed's ETL-1 prefix of the users report, when none is configured.
pub const USERS_PREFIX: &str = "reports/etl-process1/";

impl Config {
    /// Reads `path`; a missing default file is an empty configuration.
    pub fn load(path: &Path, explicit: bool) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("cannot read configuration {}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(Config::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read configuration {}", path.display())),
        }
    }

    /// Environment `name`.
    pub fn env(&self, name: &str) -> Result<Env> {
        self.env.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = self.env.keys().map(String::as_str).collect();
            anyhow!("no environment {name:?} in the configuration (known: {})", known.join(", "))
        })
    }
}

impl Env {
    /// The cron of an enabled schedule, or why there is none.
    pub fn enabled_schedule(&self, name: &str) -> Result<String> {
        if self.schedule.enabled != Some(true) {
            bail!(
                "the schedule of environment {name:?} is disabled (schedule.enabled = false): \
                 run `tally consolidate --env {name}` by hand"
            );
        }
        self.schedule.cron.clone().ok_or_else(|| anyhow!("environment {name:?} has no schedule.cron"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r#"
[env.prod]
old_table = "BedrockChatStack-Old"
new_table = "BedrockChatStack-New"
bucket = "cat-prod-normalize-reports"
output_prefix = "tokens-analysis/"
historical_prefix = "archives/tokens-analysis/"
dates = { archival_start = "2024-01-01", archival_end = "2025-11-30", consolidated_start = "2025-12-01" }
athena = { database = "cat_prod_analytics_db", workgroup = "wg-cat-prod-analytics", view = "cat_prod_token_usage_analysis" }
schedule = { enabled = true, cron = "cron(30 4 * * ? *)" }

[env.test]
bucket = "cat-test-normalize-reports"
schedule = { enabled = false }
"#;

    #[test]
    fn environments_and_schedules() {
        let config: Config = toml::from_str(TOML).expect("toml");
        let prod = config.env("prod").expect("prod");
        assert_eq!(prod.new_table.as_deref(), Some("BedrockChatStack-New"));
        assert_eq!(prod.enabled_schedule("prod").expect("cron"), "cron(30 4 * * ? *)");
        let test = config.env("test").expect("test");
        assert!(test.enabled_schedule("test").is_err_and(|e| e.to_string().contains("disabled")));
        assert!(config.env("staging").is_err_and(|e| e.to_string().contains("known: prod, test")));
        assert!(toml::from_str::<Config>("[env.x]\nbukcet = \"typo\"").is_err());
    }
}
