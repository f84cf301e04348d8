//! `tally`: the archival and daily consolidation jobs, and the demo.
//!
//! Every number comes from `tally-core`; this binary owns files, threads,
//! progress and the command line.

mod demo;
mod jobs;
mod location;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use rust_decimal::Decimal;
use tally_core::consolidate::Prefer;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::job::JobSpec;
use tally_core::pricing::{parse_price, Prices};

use crate::jobs::Output;
use crate::location::DumpSource;

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
    /// The one-time archival job: legacy table (or its dump) to a CSV.
    Archive(ArchiveArgs),
    /// The daily job: current table (or its dump) plus the history, consolidated.
    Consolidate(ConsolidateArgs),
    /// Sample tables, both jobs on local files, and how to open the explorer.
    Demo(DemoArgs),
}

#[derive(Args, Debug)]
struct Common {
    /// A dump of the table: JSON Lines of {"Item": ...} (.jsonl, .gz), the JSON
    /// of `aws dynamodb scan`, or a folder of Export-to-S3 parts.
    #[arg(long, value_name = "PATH")]
    dump: PathBuf,
    /// Where to write the CSV.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
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
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

#[derive(Args, Debug)]
struct ArchiveArgs {
    #[command(flatten)]
    common: Common,
    /// Estimator: v1 (the archival Lambda), v2 or full.
    #[arg(long, default_value = "v1")]
    estimator: Estimator,
}

#[derive(Args, Debug)]
struct ConsolidateArgs {
    #[command(flatten)]
    common: Common,
    /// Estimator: v2 (the daily Lambda) or full.
    #[arg(long, default_value = "v2")]
    estimator: Estimator,
    /// The historical CSV written by the archival job.
    #[arg(long, value_name = "PATH")]
    historical: PathBuf,
    /// Which row wins a repeated (pk, sk): historical (the Lambdas') or new.
    #[arg(long, default_value = "historical")]
    prefer: Prefer,
    /// Consolidate without history when the historical file does not exist.
    #[arg(long)]
    allow_missing_historical: bool,
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

impl Common {
    fn spec(&self, estimator: Estimator, default_source: &str) -> JobSpec {
        JobSpec {
            estimator,
            source: self
                .source
                .clone()
                .unwrap_or_else(|| default_source.to_string()),
            range: DateRange {
                start: self.start,
                end: self.end,
            },
            prices: Prices {
                input_per_1k: self.input_price,
                output_per_1k: self.output_price,
            },
        }
    }

    fn workers(&self) -> usize {
        self.threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

/// Prints the result: one JSON object, or a short summary.
pub fn report(output: &Output, json: bool) {
    if json {
        let value = serde_json::json!({ "output": output.location, "stats": output.stats });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return;
    }
    let s = &output.stats;
    let by_source: Vec<String> = s
        .records_by_source
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    println!(
        "wrote {} rows to {} ({})",
        s.total_records,
        output.location,
        by_source.join(", ")
    );
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
    for p in s.dump_errors.iter().chain(&s.error_items).take(10) {
        eprintln!("  problem: {}: {}", p.at, p.error);
    }
    if let Some(rows) = &s.historical_unreadable_rows {
        for b in rows.iter().take(10) {
            eprintln!("  unreadable history: {b}");
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Archive(a) => {
            let spec = a.common.spec(a.estimator, "old_table");
            let source = DumpSource::local(&a.common.dump)?;
            let out = jobs::archive(
                &source,
                &spec,
                &a.common.out,
                a.common.workers(),
                a.common.json,
            )?;
            report(&out, a.common.json);
        }
        Command::Consolidate(c) => {
            anyhow::ensure!(
                c.estimator != Estimator::V1,
                "consolidate takes estimator v2 or full (v1 is the archival job's)"
            );
            let spec = c.common.spec(c.estimator, "new_table");
            let source = DumpSource::local(&c.common.dump)?;
            let out = jobs::consolidate(
                &source,
                &spec,
                jobs::History {
                    path: &c.historical,
                    allow_missing: c.allow_missing_historical,
                    prefer: c.prefer,
                },
                &c.common.out,
                c.common.workers(),
                c.common.json,
            )?;
            report(&out, c.common.json);
        }
        Command::Demo(d) => demo::run(&d.dir, d.items, d.json).context("demo")?,
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
