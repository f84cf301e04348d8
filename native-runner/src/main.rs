//! `tally`: the archival and daily consolidation jobs over DynamoDB, S3 and
//! local files, the Athena view, and the demo.
//!
//! Every number comes from `tally-core`; this binary owns the command line,
//! AWS clients, files, threads and progress.

mod athena;
mod atomic;
mod aws;
mod cleanup;
mod clock;
mod config;
mod cron;
mod ddb;
mod demo;
mod guard;
mod jobs;
mod location;
mod progress;
mod report;
mod s3;
mod schedule;
mod whatif;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args, Parser, Subcommand};
use rust_decimal::Decimal;
use tally_core::consolidate::Prefer;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::job::JobSpec;
use tally_core::pricing::{parse_price, Prices};
use tally_core::publish::{Budget, Rules};

use crate::athena::AthenaNames;
use crate::aws::AwsOptions;
use crate::jobs::{Ctx, Items, Output};
use crate::location::Place;

#[derive(Parser, Debug)]
#[command(
    name = "tally",
    version,
    about = "What a bedrock-chat deployment's conversations cost, exactly as the Lambdas counted it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The one-time archival job: the legacy table (or its dump) to a CSV.
    Archive(ArchiveArgs),
    /// The daily job: the current table (or its dump) plus the history, consolidated.
    Consolidate(ConsolidateArgs),
    /// Print the Athena table DDL and the view.
    AthenaSql(AthenaSqlArgs),
    /// Run the daily consolidation at each time of the environment's cron (UTC).
    Schedule(ScheduleArgs),
    /// Sample tables, both jobs on local files, and how to open the explorer.
    Demo(DemoArgs),
    /// Re-price a CSV under other prices (catalog models or custom), side by side.
    Whatif(whatif::WhatIfArgs),
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("input").args(["table", "dump"])))]
struct Common {
    /// An environment of the configuration file (test, prod): tables, bucket,
    /// prefixes, dates, prices and Athena names come from it (the Lambdas'
    /// variables, such as DYNAMODB_TABLE_NAME, override it; flags override both).
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// The configuration file.
    #[arg(long, value_name = "PATH", default_value = "tally.toml")]
    config: PathBuf,
    /// The DynamoDB table to scan.
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
    /// A dump instead of the table: JSON Lines of {"Item": ...} (.jsonl, .gz), the
    /// JSON of `aws dynamodb scan`, or an Export-to-S3 folder; a path or s3://B/K
    /// (a key ending with / reads every part under it).
    #[arg(long, value_name = "PATH|s3://B/K")]
    dump: Option<String>,
    /// Where to write the CSV (with --env: the seed's object in the bucket).
    #[arg(long, value_name = "PATH|s3://B/K")]
    out: Option<String>,
    /// First day kept (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    start: Option<Day>,
    /// Last day kept (inclusive). None: today (UTC) for estimator v2, as the
    /// daily Lambda did; no upper bound for v1 and full.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    end: Option<Day>,
    /// The `source` column.
    #[arg(long)]
    source: Option<String>,
    /// USD per 1,000 input tokens (default 0.003).
    #[arg(long, value_name = "P", value_parser = parse_price_arg)]
    input_price: Option<Decimal>,
    /// USD per 1,000 output tokens (default 0.015).
    #[arg(long, value_name = "P", value_parser = parse_price_arg)]
    output_price: Option<Decimal>,
    /// Print one JSON object (output location and statistics) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Worker threads for dumps (1 to 256; default: the machine's cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Parallel scan segments for a table (1 to 4096; default: 4 per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=4096))]
    segments: Option<i32>,
    /// Publish nothing if more entries than this (a count, or a share such as
    /// 1%) of the input or the history cannot be read.
    #[arg(long, value_name = "N|P%", default_value = "1%")]
    max_errors: Budget,
    /// Publish nothing if more rows than this repeat a (pk, sk) of the same
    /// input (a table has none: a repeat means the input was read twice over).
    #[arg(long, value_name = "N|P%", default_value = "0")]
    max_repeated_keys: Budget,
    /// Publish even if the input holds no item (or the history no row).
    #[arg(long)]
    allow_empty: bool,
    /// The longest line or item an input may have (K, M, G: binary units).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    max_record_size: usize,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Attempts per AWS request; throttling and server errors are retried with backoff.
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_attempts: u32,
    /// Server-side encryption of S3 outputs: none, AES256, aws:kms or aws:kms:KEY-ID.
    #[arg(long, value_name = "MODE", default_value = "none")]
    sse: s3::Sse,
    /// The bedrock-chat large-message bucket (estimator full reads whole maps from it).
    #[arg(long, value_name = "BUCKET")]
    large_message_bucket: Option<String>,
}

#[derive(Args, Debug)]
struct ArchiveArgs {
    #[command(flatten)]
    common: Common,
    /// Estimator: v1 (the archival Lambda, the default), v2 or full.
    #[arg(long)]
    estimator: Option<Estimator>,
}

#[derive(Args, Debug, Clone)]
struct AthenaArgs {
    /// Athena database (default cat_prod_analytics_db).
    #[arg(long, value_name = "NAME")]
    athena_database: Option<String>,
    /// Athena workgroup (default wg-cat-prod-analytics).
    #[arg(long, value_name = "NAME")]
    athena_workgroup: Option<String>,
    /// The view to refresh (default cat_prod_token_usage_analysis).
    #[arg(long, value_name = "NAME")]
    athena_view: Option<String>,
    /// The table over the consolidated CSV (default tokens_table_consolidated).
    #[arg(long, value_name = "NAME")]
    athena_table: Option<String>,
}

impl AthenaArgs {
    fn names(&self, env: Option<&config::Env>) -> AthenaNames {
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

#[derive(Args, Debug, Clone)]
pub struct ConsolidateArgs {
    #[command(flatten)]
    common: Common,
    /// Estimator: v2 (the daily Lambda, the default) or full.
    #[arg(long)]
    estimator: Option<Estimator>,
    /// The historical CSV written by the archival job (with --env: the seed's object).
    #[arg(long, value_name = "PATH|s3://B/K")]
    historical: Option<String>,
    /// Which row wins a repeated (pk, sk): historical (the Lambdas') or new.
    #[arg(long, default_value = "historical")]
    prefer: Prefer,
    /// Consolidate without history when the historical file does not exist (or has no rows).
    #[arg(long)]
    allow_missing_historical: bool,
    /// Publish nothing if the output would have fewer rows than the previous
    /// one by more than this (a count, or a share such as 10%).
    #[arg(long, value_name = "N|P%", default_value = "10%")]
    max_shrink: Budget,
    /// Refresh the Athena view once the output is written.
    #[arg(long, conflicts_with = "no_athena")]
    athena: bool,
    /// Do not refresh the Athena view, even if the environment says to.
    #[arg(long)]
    no_athena: bool,
    #[command(flatten)]
    names: AthenaArgs,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// The environment whose schedule and jobs to run.
    #[arg(long, value_name = "NAME")]
    env: String,
    /// The configuration file.
    #[arg(long, value_name = "PATH", default_value = "tally.toml")]
    config: PathBuf,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Print the next N run times and stop.
    #[arg(long, value_name = "N")]
    dry_run: Option<usize>,
    /// Pretend the clock reads this UTC time now (YYYY-MM-DD HH:MM:SS), for rehearsals.
    #[arg(long, value_name = "TIME", hide = true)]
    fake_now: Option<String>,
    /// More `tally consolidate` options for every run, after `--`
    /// (e.g. `-- --sse aws:kms --segments 16 --no-athena`).
    #[arg(last = true, value_name = "CONSOLIDATE OPTIONS")]
    consolidate_options: Vec<String>,
}

#[derive(Args, Debug)]
struct AthenaSqlArgs {
    #[command(flatten)]
    names: AthenaArgs,
    /// The S3 folder holding the consolidated CSV (the table's LOCATION).
    #[arg(long, value_name = "s3://B/PREFIX/", default_value = "s3://cat-prod-normalize-reports/tokens-analysis/")]
    location: String,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Folder for the sample tables and the CSVs.
    #[arg(long, default_value = "tally-demo")]
    dir: PathBuf,
    /// Conversations in each sample table (1 to 10,000,000).
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    items: u32,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("not a YYYY-MM-DD day: {s:?}"))
}

/// `64M`, `512K`, `1G`, `1000` (bytes): binary units, at least 1 KiB.
fn parse_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((k, _)) => s.split_at(k),
        None => (s, ""),
    };
    let shift = match unit.to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return Err(format!("not a size: {s:?} (such as 64M)")),
    };
    let n: usize = digits.parse().map_err(|_| format!("not a size: {s:?} (such as 64M)"))?;
    let bytes = n.checked_mul(1 << shift).ok_or_else(|| format!("too large: {s:?}"))?;
    if bytes < 1024 {
        return Err(format!("{s:?} is below the smallest record size, 1K"));
    }
    Ok(bytes)
}

fn parse_price_arg(s: &str) -> Result<Decimal, String> {
    parse_price(s).map_err(|e| e.to_string())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A job with every setting resolved: flags, then the Lambdas' variables,
/// then the environment, then the defaults.
#[derive(Debug, Clone)]
pub struct Resolved {
    items: Items,
    out: Place,
    spec: JobSpec,
}

/// Which job is being resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    Archive,
    Consolidate,
}

impl Common {
    fn environment(&self) -> Result<Option<config::Env>> {
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
    fn resolve(
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

    fn ctx(&self) -> Ctx {
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

/// What a consolidation did: the output it wrote, and the Athena refresh
/// when one was asked for (it can fail after the output was published).
#[derive(Debug)]
pub struct Consolidated {
    /// The output written.
    pub output: Output,
    /// The refresh: its id and state, or why it failed.
    pub athena: Option<Result<serde_json::Value>>,
}

impl Consolidated {
    /// The Athena part of the report: the refresh, or `{"error": ...}`.
    pub fn athena_report(&self) -> Option<serde_json::Value> {
        self.athena.as_ref().map(|r| match r {
            Ok(v) => v.clone(),
            Err(e) => serde_json::json!({ "error": format!("{e:#}") }),
        })
    }
}

/// The output was published but the Athena view was not refreshed (exit 3).
#[derive(Debug)]
pub struct ViewNotRefreshed(pub String);

impl std::fmt::Display for ViewNotRefreshed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the consolidated file was written, but the Athena view was not refreshed: {}", self.0)
    }
}

impl std::error::Error for ViewNotRefreshed {}

/// Runs the daily consolidation as configured (used by `consolidate` and
/// `schedule`); `today` ends a v2 run when no end date is given. An error
/// means nothing was published; a failed Athena refresh comes back in
/// [`Consolidated::athena`].
pub async fn consolidate(c: &ConsolidateArgs, today: Day) -> Result<Consolidated> {
    let env = c.common.environment()?;
    let job = c.common.resolve(Job::Consolidate, c.estimator, env.as_ref(), today)?;
    anyhow::ensure!(
        job.spec.estimator != Estimator::V1,
        "consolidate takes estimator v2 or full (v1 is the archival job's)"
    );
    let historical = match (&c.historical, &env) {
        (Some(h), _) => h.clone(),
        (None, Some(e)) => e.historical_object()?,
        (None, None) => anyhow::bail!("give --historical (or --env with a bucket)"),
    };
    let mut ctx = c.common.ctx();
    ctx.rules.max_shrink = c.max_shrink;
    let history =
        jobs::History { place: Place::parse(&historical), allow_missing: c.allow_missing_historical, prefer: c.prefer };
    let output = jobs::consolidate(&ctx, &job.items, &job.spec, &history, &job.out).await?;
    let refresh_wanted = !c.no_athena && (c.athena || env.as_ref().and_then(|e| e.athena.refresh).unwrap_or(false));
    let athena = if refresh_wanted {
        let names = c.names.names(env.as_ref());
        let refresh = athena::refresh_view(ctx.clients().await, &names, Duration::from_secs(300)).await;
        Some(refresh.and_then(|r| Ok(serde_json::to_value(r)?)))
    } else {
        None
    };
    Ok(Consolidated { output, athena })
}

async fn run(cli: Cli) -> Result<()> {
    if !matches!(cli.command, Command::Schedule(_)) {
        // A one-shot command stopped by SIGINT / SIGTERM leaves no temporary
        // file and no unfinished upload behind (the schedule stops on its own terms).
        tokio::spawn(cleanup::exit_on_stop());
    }
    match cli.command {
        Command::Archive(a) => {
            let env = a.common.environment()?;
            let job = a.common.resolve(Job::Archive, a.estimator, env.as_ref(), clock::today_utc())?;
            let ctx = a.common.ctx();
            let out = jobs::archive(&ctx, &job.items, &job.spec, &job.out).await;
            let out = report::refusal(out, a.common.json)?;
            report::report(&out, a.common.json, None, job.out == Place::Stdout);
        }
        Command::Consolidate(c) => {
            let done = report::refusal(consolidate(&c, clock::today_utc()).await, c.common.json)?;
            let to_stderr = c.common.out.as_deref() == Some("-");
            report::report(&done.output, c.common.json, done.athena_report(), to_stderr);
            if let Some(Err(e)) = done.athena {
                return Err(ViewNotRefreshed(format!("{e:#}")).into());
            }
        }
        Command::AthenaSql(a) => {
            println!("{};\n", athena::table_ddl(&a.names.names(None), &a.location)?);
            println!("{};", athena::view_sql(&a.names.names(None))?);
        }
        Command::Schedule(s) => schedule::run(&s).await?,
        Command::Demo(d) => demo::run(&d.dir, d.items as usize, d.json).await.context("demo")?,
        Command::Whatif(w) => whatif::run(w).await?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tally: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // A reader blocked on its input (a pipe, a stalled mount) must not keep
    // an abandoned run's process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: error: {e:#}");
            // 3: published, but the view was not refreshed; 1: nothing published.
            if e.downcast_ref::<ViewNotRefreshed>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
