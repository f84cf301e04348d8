//! `tally`: the archival and daily consolidation jobs over DynamoDB, S3 and
//! local files, the Athena view, and the demo.
//!
//! Every number comes from `tally-core`; this binary owns the command line,
//! AWS clients, files, threads and progress.

mod athena;
mod atomic;
mod aws;
mod cleanup;
mod cli;
mod clock;
mod cognito;
mod config;
mod costs;
mod cron;
mod ddb;
mod demo;
mod guard;
mod jobs;
mod lambda;
mod large;
mod location;
mod output;
mod parquet;
mod progress;
mod report;
mod s3;
mod schedule;
mod settings;
mod spill;
mod tokenizer;
mod users;
mod whatif;
mod writer;

use std::process::ExitCode;

/// mimalloc: rows allocated by the scan workers and freed when they spill
/// go back to the system, so that peak memory stays flat (glibc's
/// per-thread arenas fragmented: +15 % at 2M items against 200k).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use tally_core::dates::Day;
use tally_core::estimate::Estimator;

use crate::cli::{ArchiveArgs, Cli, Command, ConsolidateArgs};
use crate::jobs::Output;
use crate::location::Place;
use crate::settings::{Job, Layers};

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

/// The output was published but a step after it failed (exit 3): the
/// Athena refresh, or the detail output.
#[derive(Debug)]
pub struct PublishedButNot(pub String);

impl std::fmt::Display for PublishedButNot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PublishedButNot {}

/// The error of a published output whose detail output failed.
fn detail_failure(output: &jobs::Output) -> Option<PublishedButNot> {
    match &output.detail {
        Some(Err(e)) => {
            Some(PublishedButNot(format!("{} was written, but the detail output was not: {e}", output.location)))
        }
        _ => None,
    }
}

/// Runs the daily consolidation as configured (used by `consolidate` and
/// `schedule`); `today` ends a v2 run when no end date is given. An error
/// means nothing was published; a failed Athena refresh comes back in
/// [`Consolidated::athena`]. `stop_by` (the Lambda's deadline) bounds the
/// Athena refresh's wait besides `--athena-timeout`.
pub async fn consolidate(c: &ConsolidateArgs, today: Day, stop_by: Option<std::time::Instant>) -> Result<Consolidated> {
    let env = c.common.env.environment()?;
    let layers = Layers::new(&settings::process_vars, env.as_ref());
    let job = c.common.resolve(Job::Consolidate, c.estimator, &layers, today)?;
    anyhow::ensure!(
        job.spec.estimator != Estimator::V1,
        "consolidate takes estimator v2 or full (v1 is the archival job's)"
    );
    let historical = c
        .historical
        .clone()
        .or_else(|| layers.historical_object())
        .context("give --historical (or S3_BUCKET_NAME, or --env with a bucket)")?;
    // The refresh is checked before anything is written: a missing database
    // would otherwise only show once the output was published.
    let wanted = !c.no_athena && !c.common.dry_run && (c.athena || layers.refresh_view());
    let refresh = wanted.then(|| c.names.names_for(&layers, job.layout.format));
    if let Some(names) = &refresh {
        anyhow::ensure!(
            names.database.is_some(),
            "the view refresh needs an Athena database: give --athena-database, ATHENA_DATABASE or \
             athena.database (or --no-athena)"
        );
        // The table reads every file under the output's folder: detail rows there would be read as rows.
        if let (Some(folder), Some(detail)) = (athena::folder_of(&job.out), &job.detail) {
            anyhow::ensure!(
                !matches!(&detail.place, Place::S3(_)) || !detail.place.to_string().starts_with(&folder),
                "the detail rows ({}) must not be in the output's folder ({folder}): the Athena table reads \
                 every file there; give them another prefix",
                detail.place
            );
        }
    }
    let mut ctx = c.common.ctx(&layers)?;
    ctx.rules.max_shrink = c.max_shrink;
    ctx.detail = job.detail.clone();
    ctx.layout = job.layout;
    let history =
        jobs::History { place: Place::parse(&historical), allow_missing: c.allow_missing_historical, prefer: c.prefer };
    let output = jobs::consolidate(&ctx, &job.items, &job.spec, &history, &job.out).await?;
    let athena = match refresh {
        Some(names) => {
            // A partitioned output's --out is the folder itself, with or without its '/'.
            let location = match &job.out {
                Place::S3(url) if job.layout.is_folder() => {
                    let sep = if url.key.is_empty() || url.key.ends_with('/') { "" } else { "/" };
                    Some(format!("{url}{sep}"))
                }
                out => athena::folder_of(out),
            };
            let mut wait = Duration::from_secs(c.athena_timeout);
            if let Some(stop_by) = stop_by {
                wait = wait.min(stop_by.saturating_duration_since(std::time::Instant::now()));
            }
            let refresh = athena::refresh(ctx.clients().await, &names, location.as_deref(), ctx.layout, wait).await;
            Some(refresh.and_then(|r| Ok(serde_json::to_value(r)?)))
        }
        None => None,
    };
    Ok(Consolidated { output, athena })
}

/// Runs the archival job as configured (used by `archive` and the Lambda).
pub async fn archive(a: &ArchiveArgs, today: Day) -> Result<jobs::Output> {
    let env = a.common.env.environment()?;
    let layers = Layers::new(&settings::process_vars, env.as_ref());
    let job = a.common.resolve(Job::Archive, a.estimator, &layers, today)?;
    let mut ctx = a.common.ctx(&layers)?;
    ctx.detail = job.detail.clone();
    ctx.layout = job.layout;
    jobs::archive(&ctx, &job.items, &job.spec, &job.out).await
}

async fn run(cli: Cli) -> Result<()> {
    if !matches!(cli.command, Command::Schedule(_)) {
        // A one-shot command stopped by SIGINT / SIGTERM leaves no temporary
        // file and no unfinished upload behind (the schedule stops on its own terms).
        tokio::spawn(cleanup::exit_on_stop());
    }
    match cli.command {
        Command::Archive(a) => {
            let out = report::refusal(archive(&a, clock::today_utc()).await, a.common.json)?;
            let to_stderr = a.common.out.as_deref() == Some("-");
            report::report(&out, a.common.json, None, to_stderr);
            if let Some(e) = detail_failure(&out) {
                return Err(e.into());
            }
        }
        Command::Consolidate(c) => {
            let done = report::refusal(consolidate(&c, clock::today_utc(), None).await, c.common.json)?;
            let to_stderr = c.common.out.as_deref() == Some("-");
            report::report(&done.output, c.common.json, done.athena_report(), to_stderr);
            if let Some(Err(e)) = done.athena {
                let text = format!("the consolidated file was written, but the Athena view was not refreshed: {e:#}");
                return Err(PublishedButNot(text).into());
            }
            if let Some(e) = detail_failure(&done.output) {
                return Err(e.into());
            }
        }
        Command::AthenaSql(a) => {
            let env = a.env.environment()?;
            let layers = Layers::new(&settings::process_vars, env.as_ref());
            let folder = match a.format {
                output::Format::Csv => layers.consolidated_folder(),
                output::Format::Parquet => layers.consolidated_parquet_folder(),
            };
            let location = a.location.clone().or(folder).context(
                "give --location s3://BUCKET/PREFIX/ (or S3_BUCKET_NAME and S3_OUTPUT_PREFIX, or --env with a bucket)",
            )?;
            let names = a.names.names_for(&layers, a.format);
            match a.format {
                output::Format::Csv => println!("{};\n", athena::table_ddl(&names, &location)?),
                output::Format::Parquet => {
                    let by = a.partition_by.unwrap_or(output::PartitionBy::Day);
                    println!("{};\n", athena::parquet_table_ddl(&names, &location, by)?);
                }
            }
            println!("{};", athena::view_sql(&names)?);
        }
        Command::Schedule(s) => schedule::run(&s).await?,
        Command::Demo(d) => demo::run(&d.dir, d.items as usize, d.json).await.context("demo")?,
        Command::Whatif(w) => whatif::run(w).await?,
        Command::Report(r) => costs::run(r).await?,
        Command::Users(u) => {
            let done = report::refusal(users::run(&u, clock::today_utc()).await, u.common.json)?;
            report::report_users(&done, u.common.json, u.common.out.as_deref() == Some("-"));
        }
        Command::Lambda => lambda::run().await?,
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
            // 3: published, but the view or the detail was not; 1: nothing published.
            if e.downcast_ref::<PublishedButNot>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
