//! `tally`: the archival and daily consolidation jobs over DynamoDB, S3 and
//! local files, the Athena view, and the demo.
//!
//! Every number comes from `tally-core`; this binary owns the command line,
//! AWS clients, files, threads and progress.

mod athena;
mod aws;
mod ddb;
mod demo;
mod jobs;
mod location;
mod progress;
mod s3;

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
    /// Sample tables, both jobs on local files, and how to open the explorer.
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
#[command(group(ArgGroup::new("input").required(true).args(["table", "dump"])))]
struct Common {
    /// The DynamoDB table to scan.
    #[arg(long, value_name = "NAME")]
    table: Option<String>,
    /// A dump instead of the table: JSON Lines of {"Item": ...} (.jsonl, .gz), the
    /// JSON of `aws dynamodb scan`, or an Export-to-S3 folder; a path or s3://B/K
    /// (a key ending with / reads every part under it).
    #[arg(long, value_name = "PATH|s3://B/K")]
    dump: Option<String>,
    /// Where to write the CSV.
    #[arg(long, value_name = "PATH|s3://B/K")]
    out: String,
    /// First day kept (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    start: Day,
    /// Last day kept (inclusive); none means no upper bound.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    end: Option<Day>,
    /// The `source` column.
    #[arg(long)]
    source: Option<String>,
    /// USD per 1,000 input tokens.
    #[arg(long, value_name = "P", value_parser = parse_price_arg, default_value = "0.003")]
    input_price: Decimal,
    /// USD per 1,000 output tokens.
    #[arg(long, value_name = "P", value_parser = parse_price_arg, default_value = "0.015")]
    output_price: Decimal,
    /// Print one JSON object (output location and statistics) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Worker threads for dumps (default: the machine's cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Parallel scan segments for a table (default: 4 per core).
    #[arg(long, value_name = "N")]
    segments: Option<i32>,
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
    /// Estimator: v1 (the archival Lambda), v2 or full.
    #[arg(long, default_value = "v1")]
    estimator: Estimator,
}

#[derive(Args, Debug, Clone)]
struct AthenaArgs {
    /// Athena database.
    #[arg(long, value_name = "NAME", default_value = "cat_prod_analytics_db")]
    athena_database: String,
    /// Athena workgroup.
    #[arg(long, value_name = "NAME", default_value = "wg-cat-prod-analytics")]
    athena_workgroup: String,
    /// The view to refresh.
    #[arg(long, value_name = "NAME", default_value = "cat_prod_token_usage_analysis")]
    athena_view: String,
    /// The table over the consolidated CSV.
    #[arg(long, value_name = "NAME", default_value = "tokens_table_consolidated")]
    athena_table: String,
}

impl AthenaArgs {
    fn names(&self) -> AthenaNames {
        AthenaNames {
            database: self.athena_database.clone(),
            workgroup: self.athena_workgroup.clone(),
            view: self.athena_view.clone(),
            table: self.athena_table.clone(),
        }
    }
}

#[derive(Args, Debug)]
struct ConsolidateArgs {
    #[command(flatten)]
    common: Common,
    /// Estimator: v2 (the daily Lambda) or full.
    #[arg(long, default_value = "v2")]
    estimator: Estimator,
    /// The historical CSV written by the archival job.
    #[arg(long, value_name = "PATH|s3://B/K")]
    historical: String,
    /// Which row wins a repeated (pk, sk): historical (the Lambdas') or new.
    #[arg(long, default_value = "historical")]
    prefer: Prefer,
    /// Consolidate without history when the historical file does not exist.
    #[arg(long)]
    allow_missing_historical: bool,
    /// Refresh the Athena view once the output is written.
    #[arg(long)]
    athena: bool,
    #[command(flatten)]
    names: AthenaArgs,
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
    /// Conversations in each sample table.
    #[arg(long, default_value_t = 1500)]
    items: usize,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
}

fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("not a YYYY-MM-DD day: {s:?}"))
}

fn parse_price_arg(s: &str) -> Result<Decimal, String> {
    parse_price(s).map_err(|e| e.to_string())
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

impl Common {
    fn spec(&self, estimator: Estimator, default_source: &str) -> JobSpec {
        JobSpec {
            estimator,
            source: self.source.clone().unwrap_or_else(|| default_source.to_string()),
            range: DateRange { start: self.start, end: self.end },
            prices: Prices { input_per_1k: self.input_price, output_per_1k: self.output_price },
        }
    }

    fn items(&self) -> Items {
        match (&self.table, &self.dump) {
            (Some(table), _) => Items::Table(table.clone()),
            (None, Some(dump)) => Items::Dump(Place::parse(dump)),
            (None, None) => Items::Table(String::new()),
        }
    }

    fn ctx(&self) -> Ctx {
        let aws = AwsOptions { endpoint_url: self.endpoint_url.clone(), max_attempts: self.max_attempts };
        let mut ctx =
            Ctx::new(aws, self.threads.unwrap_or_else(cores), self.segments.unwrap_or(4 * cores() as i32), self.json);
        ctx.sse = self.sse.clone();
        ctx.large = self.large_message_bucket.clone().map(|bucket| ddb::LargeMessages { bucket });
        ctx
    }
}

/// Prints the result: one JSON object, or a short summary.
pub fn report(output: &Output, json: bool, extra: Option<serde_json::Value>) {
    if json {
        let mut value = serde_json::json!({ "output": output.location, "stats": output.stats });
        if let Some(extra) = extra {
            value["athena"] = extra;
        }
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return;
    }
    let s = &output.stats;
    let by_source: Vec<String> = s.records_by_source.iter().map(|(k, v)| format!("{k} {v}")).collect();
    println!("wrote {} rows to {} ({})", s.total_records, output.location, by_source.join(", "));
    println!(
        "  tokens: {} input, {} output; cost: {} USD (input {} + output {} at {}/{} per 1K)",
        s.total_input_tokens,
        s.total_output_tokens,
        s.total_cost,
        s.total_input_cost,
        s.total_output_cost,
        s.input_per_1k,
        s.output_per_1k
    );
    println!(
        "  items: {} read, {} priced, {} outside the dates, {} skipped, {} invalid dates, {} unreadable maps, {} errors",
        s.scanned, s.processed, s.filtered, s.skipped, s.invalid_dates, s.unreadable_maps, s.errors
    );
    if let (Some(h), Some(d)) = (s.historical_rows, s.duplicates_dropped) {
        let bad = s.historical_unreadable_rows.as_ref().map_or(0, Vec::len);
        println!(
            "  history: {h} rows ({bad} unreadable), {d} duplicates dropped (prefer {})",
            s.prefer.as_deref().unwrap_or("")
        );
    }
    if let Some(extra) = extra {
        println!("  athena: {extra}");
    }
    for p in s.dump_errors.iter().chain(&s.error_items).take(10) {
        eprintln!("  problem: {}: {}", p.at, p.error);
    }
    if let Some(rows) = &s.historical_unreadable_rows {
        for b in rows.iter().take(10) {
            eprintln!("  unreadable history: {b}");
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Archive(a) => {
            let spec = a.common.spec(a.estimator, "old_table");
            let ctx = a.common.ctx();
            let out = jobs::archive(&ctx, &a.common.items(), &spec, &Place::parse(&a.common.out)).await?;
            report(&out, a.common.json, None);
        }
        Command::Consolidate(c) => {
            anyhow::ensure!(
                c.estimator != Estimator::V1,
                "consolidate takes estimator v2 or full (v1 is the archival job's)"
            );
            let spec = c.common.spec(c.estimator, "new_table");
            let ctx = c.common.ctx();
            let history = jobs::History {
                place: Place::parse(&c.historical),
                allow_missing: c.allow_missing_historical,
                prefer: c.prefer,
            };
            let out = jobs::consolidate(&ctx, &c.common.items(), &spec, &history, &Place::parse(&c.common.out)).await?;
            let refresh = if c.athena {
                let refresh = athena::refresh_view(ctx.clients().await, &c.names.names(), Duration::from_secs(300))
                    .await
                    .context("the consolidated file was written, but the Athena view was not refreshed")?;
                Some(serde_json::to_value(refresh)?)
            } else {
                None
            };
            report(&out, c.common.json, refresh);
        }
        Command::AthenaSql(a) => {
            println!("{};\n", athena::table_ddl(&a.names.names(), &a.location)?);
            println!("{};", athena::view_sql(&a.names.names())?);
        }
        Command::Demo(d) => demo::run(&d.dir, d.items, d.json).await.context("demo")?,
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
