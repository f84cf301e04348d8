//! What a job runs with, resolved from the flags, the Lambdas' variables,
//! the environment of `tally.toml` and the defaults, in that order.

use anyhow::{Context, Result};
use rust_decimal::Decimal;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::job::JobSpec;
use tally_core::pricing::{parse_price, Prices};
use tally_core::publish::Rules;

use crate::athena::AthenaNames;
use crate::aws::AwsOptions;
use crate::cli::{AthenaArgs, Common};
use crate::jobs::{Ctx, Items};
use crate::location::Place;
use crate::{config, ddb};

impl AthenaArgs {
    pub fn names(&self, env: Option<&config::Env>) -> AthenaNames {
        let e = env.map(|e| e.athena.clone()).unwrap_or_default();
        let pick = |flag: &Option<String>, from_env: Option<String>, default: &str| {
            flag.clone().or(from_env).unwrap_or_else(|| default.to_string())
        };
        AthenaNames {
            database: pick(&self.athena_database, e.database, "cat_prod_analytics_db"),
            workgroup: pick(&self.athena_workgroup, e.workgroup, "wg-cat-prod-analytics"),
            view: pick(&self.athena_view, e.view, "cat_prod_token_usage_analysis"),
            table: pick(&self.athena_table, e.table, "tokens_table_consolidated"),
        }
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A job with every setting resolved: flags, then the Lambdas' variables,
/// then the environment, then the defaults.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub items: Items,
    pub out: Place,
    pub spec: JobSpec,
}

/// Which job is being resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Archive,
    Consolidate,
}

impl Common {
    pub fn environment(&self) -> Result<Option<config::Env>> {
        let Some(name) = &self.env else { return Ok(None) };
        if !self.config.exists() {
            anyhow::bail!(
                "--env {name} needs a configuration file, and {} does not exist (run from the folder that holds \
                 tally.toml, or give --config PATH)",
                self.config.display()
            );
        }
        let config = config::Config::load(&self.config, true)?;
        Ok(Some(config.env(name, |v| std::env::var(v).ok())?))
    }

    /// `today` is the end date of a v2 run when none is given (spec section 2).
    pub fn resolve(
        &self,
        job: Job,
        estimator: Option<Estimator>,
        env: Option<&config::Env>,
        today: Day,
    ) -> Result<Resolved> {
        let day = |text: &Option<String>, what: &str| -> Result<Option<Day>> {
            text.as_deref()
                .map(|t| Day::parse(t).with_context(|| format!("{what}: not a YYYY-MM-DD day: {t:?}")))
                .transpose()
        };
        let price = |text: &Option<String>| -> Result<Option<Decimal>> {
            text.as_deref().map(|t| parse_price(t).map_err(anyhow::Error::from)).transpose()
        };
        let (env_table, env_out, env_start, env_end, env_estimator) = match (env, job) {
            (Some(e), Job::Archive) => (
                e.old_table.clone(),
                Some(e.historical_object()?),
                day(&e.dates.archival_start, "dates.archival_start")?,
                day(&e.dates.archival_end, "dates.archival_end")?,
                None,
            ),
            (Some(e), Job::Consolidate) => (
                e.new_table.clone(),
                Some(e.consolidated_object()?),
                day(&e.dates.consolidated_start, "dates.consolidated_start")?,
                None,
                e.estimator.as_deref().map(str::parse::<Estimator>).transpose().map_err(anyhow::Error::msg)?,
            ),
            (None, _) => (None, None, None, None, None),
        };
        let items = match (&self.table, &self.dump, env_table) {
            (Some(t), _, _) => Items::Table(t.clone()),
            (None, Some(d), _) => Items::Dump(Place::parse(d)),
            (None, None, Some(t)) => Items::Table(t),
            (None, None, None) => anyhow::bail!("give --table or --dump (or --env with a table)"),
        };
        let out = self.out.clone().or(env_out).context("give --out (or --env with a bucket)")?;
        let start = self.start.or(env_start).context("give --start (or --env with dates)")?;
        let default_estimator = if job == Job::Archive { Estimator::V1 } else { Estimator::V2 };
        let default_source = if job == Job::Archive { "old_table" } else { "new_table" };
        let (env_in, env_out_price) = match env {
            Some(e) => (price(&e.input_price)?, price(&e.output_price)?),
            None => (None, None),
        };
        let defaults = Prices::default();
        Ok(Resolved {
            items,
            out: Place::parse(&out),
            spec: JobSpec {
                estimator: estimator.or(env_estimator).unwrap_or(default_estimator),
                source: self.source.clone().unwrap_or_else(|| default_source.to_string()),
                range: DateRange { start, end: self.end.or(env_end) },
                prices: Prices {
                    input_per_1k: self.input_price.or(env_in).unwrap_or(defaults.input_per_1k),
                    output_per_1k: self.output_price.or(env_out_price).unwrap_or(defaults.output_per_1k),
                },
            }
            .ending_today(today),
        })
    }

    pub fn ctx(&self) -> Ctx {
        let aws = AwsOptions { endpoint_url: self.endpoint_url.clone(), max_attempts: self.max_attempts };
        let threads = self.threads.map_or_else(cores, usize::from);
        let segments = self.segments.unwrap_or((4 * cores()).min(4096) as i32);
        let mut ctx = Ctx::new(aws, threads, segments, self.json);
        ctx.max_record = self.max_record_size;
        ctx.rules = Rules {
            max_errors: self.max_errors,
            max_repeated_keys: self.max_repeated_keys,
            allow_empty: self.allow_empty,
            ..Rules::default()
        };
        ctx.sse = self.sse.clone();
        ctx.large = self
            .large_message_bucket
            .clone()
            .map(|bucket| ddb::LargeMessages { bucket, max_record: self.max_record_size });
        ctx
    }
}
