//! The command line: every subcommand, flag and its help, and the parsers
//! of flag values. What the flags mean is resolved in `settings.rs`.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};
use rust_decimal::Decimal;
use tally_core::breakdown::By;
use tally_core::consolidate::Prefer;
use tally_core::dates::Day;
use tally_core::estimate::Estimator;
use tally_core::pricing::{parse_price, Prices};
use tally_core::publish::Budget;

use crate::output::{Format, PartitionBy};
use crate::s3;

#[derive(Parser, Debug)]
#[command(
    name = "tally",
    version,
    about = "What a bedrock-chat deployment's conversations cost, exactly as the Lambdas counted it"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
    Whatif(WhatIfArgs),
    /// The per-user report (the seeds' ETL-1): one row per user with their
    /// conversations, questions, feedback, tokens and cost.
    Users(UsersArgs),
    /// Who and what costs money in a CSV: by user, and in a detail CSV by bot
    /// and model, with the recorded price against the estimate.
    Report(ReportArgs),
    /// The AWS Lambda function (the Runtime API loop): runs the job TALLY_JOB
    /// names (archive or consolidate), configured by the seeds' variables.
    Lambda,
}

/// Which environment of the configuration file, if any.
#[derive(Args, Debug, Clone)]
pub struct EnvArgs {
    /// An environment of the configuration file (test, prod): tables, bucket,
    /// prefixes, dates, prices and Athena names come from it. The Lambdas'
    /// variables (named at each flag) override it, with or without --env;
    /// flags override both.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// The configuration file.
    #[arg(long, value_name = "PATH", default_value = "tally.toml")]
    pub config: PathBuf,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("input").args(["table", "dump"])))]
pub struct Common {
    #[command(flatten)]
    pub env: EnvArgs,
    /// The DynamoDB table to scan (variable: OLD_DYNAMODB_TABLE_NAME for
    /// archive, DYNAMODB_TABLE_NAME for consolidate).
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// A dump instead of the table: JSON Lines of {"Item": ...} (.jsonl, .gz), the
    /// JSON of `aws dynamodb scan`, or an Export-to-S3 folder; a path or s3://B/K
    /// (a key ending with / reads every part under it).
    #[arg(long, value_name = "PATH|s3://B/K")]
    pub dump: Option<String>,
    /// Where to write the CSV (default: the seed's object in S3_BUCKET_NAME,
    /// under S3_OLD_DATA_PREFIX for archive, S3_OUTPUT_PREFIX for consolidate).
    #[arg(long, value_name = "PATH|s3://B/K")]
    pub out: Option<String>,
    /// First day kept (YYYY-MM-DD, UTC, inclusive; variable: FILTER_DATE_START).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub start: Option<Day>,
    /// Last day kept (inclusive; variable for archive: FILTER_DATE_END). None:
    /// today (UTC) for estimator v2, as the daily Lambda did; no upper bound
    /// for v1 and full.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub end: Option<Day>,
    /// The `source` column.
    #[arg(long)]
    pub source: Option<String>,
    /// USD per 1,000 input tokens (default 0.003).
    #[arg(long, value_name = "P", value_parser = parse_price_arg)]
    pub input_price: Option<Decimal>,
    /// USD per 1,000 output tokens (default 0.015).
    #[arg(long, value_name = "P", value_parser = parse_price_arg)]
    pub output_price: Option<Decimal>,
    /// Print one JSON object (output location and statistics) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// The output's format: csv (the seed's, the default) or parquet (the Athena
    /// types of `tally athena-sql`, exact decimals, snappy).
    #[arg(long, value_name = "csv|parquet", default_value = "csv")]
    pub format: Format,
    /// Parquet only: one file (none; the users report's only choice) or Hive-style
    /// partitions under --out as a folder, dt=YYYY-MM-DD/ (day, the default for
    /// archive and consolidate) or dt=YYYY-MM/ (month); a run rewrites only the
    /// partitions whose rows changed.
    #[arg(long, value_name = "day|month|none")]
    pub partition_by: Option<PartitionBy>,
    /// The memory the rows may take (K, M, G); beyond it they are sorted on disk,
    /// in --spill-dir, and the output is the same. Default 512M, the seed's Lambda.
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size)]
    pub memory: usize,
    /// Where rows spill beyond --memory (default: the system's temporary folder,
    /// /tmp on Lambda). The files are unlinked as soon as they are created.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Worker threads for dumps (1 to 256; default: the machine's cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Parallel scan segments for a table (1 to 4096; default: 4 per core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=4096))]
    pub segments: Option<i32>,
    /// Publish nothing if more entries than this (a count, or a share such as
    /// 1%) of the input or the history cannot be read.
    #[arg(long, value_name = "N|P%", default_value = "1%")]
    pub max_errors: Budget,
    /// Publish nothing if more rows than this repeat a (pk, sk) of the same
    /// input (a table has none: a repeat means the input was read twice over).
    #[arg(long, value_name = "N|P%", default_value = "0")]
    pub max_repeated_keys: Budget,
    /// Publish even if the input holds no item (or the history no row).
    #[arg(long)]
    pub allow_empty: bool,
    /// Read and price everything, check what would be published, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The longest line or item an input may have (K, M, G: binary units).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_record_size: usize,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Attempts per AWS request; throttling and server errors are retried with backoff.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_attempts: u32,
    /// Server-side encryption of S3 outputs: none (the default), AES256, aws:kms or
    /// aws:kms:KEY-ID (variable: S3_SSE; also `sse` in tally.toml).
    #[arg(long, value_name = "MODE")]
    pub sse: Option<s3::Sse>,
    /// The bedrock-chat large-message bucket (estimator full and --detail read whole maps from it),
    /// or a local folder (variable: LARGE_MESSAGE_BUCKET, bedrock-chat's own; also
    /// `large_message_bucket` in tally.toml).
    #[arg(long, value_name = "BUCKET")]
    pub large_message_bucket: Option<String>,
    /// Also write one row per conversation (the nine columns, then bot_id, model,
    /// models, turns, last_date, recorded_price and the billed tokens and price):
    /// a path or s3://B/K (also `detail` in tally.toml).
    #[arg(long, value_name = "PATH|s3://B/K")]
    pub detail: Option<String>,
    /// How --detail prices each model call: `catalog` (web/prices.json, built in,
    /// global prices), `catalog-regional` (its regional-profile prices), or a file:
    /// a catalog, Tally's book, or bedrock-chat's own price table (also `price_book`).
    #[arg(long, value_name = "catalog|catalog-regional|FILE")]
    pub price_book: Option<String>,
    /// The region of bedrock-chat's own price table (its `default` when absent).
    #[arg(long, value_name = "REGION", default_value = "us-east-1")]
    pub price_region: String,
    /// The price of a call whose model the book does not know, IN/OUT per 1K
    /// (default: --input-price / --output-price); such calls are counted and named.
    #[arg(long, value_name = "IN/OUT")]
    pub fallback_price: Option<Prices>,
}

#[derive(Args, Debug)]
pub struct ArchiveArgs {
    #[command(flatten)]
    pub common: Common,
    /// Estimator: v1 (the archival Lambda, the default), v2 or full.
    #[arg(long)]
    pub estimator: Option<Estimator>,
}

#[derive(Args, Debug)]
pub struct UsersArgs {
    /// The table is the current one (variable: DYNAMODB_TABLE_NAME); without
    /// --start every conversation counts; --out defaults to the seed's
    /// `reports/etl-process1/data_YYYYMMDD.csv` in S3_BUCKET_NAME (prefix: OUTPUT_PREFIX).
    #[command(flatten)]
    pub common: Common,
    /// Estimator of tokens_total and costo_estimado_usd: v2 (the default), v1 or full.
    #[arg(long)]
    pub estimator: Option<Estimator>,
    /// The bedrock-chat deployment's Cognito user pool, for `nombre` and
    /// `email` (variable: USER_POOL_ID; also `user_pool_id` in tally.toml).
    /// Without it they are empty.
    #[arg(long, value_name = "ID")]
    pub user_pool_id: Option<String>,
    /// How tokens_total is counted: `estimator` (the run's estimator, the
    /// default) or `cl100k` (tiktoken's cl100k_base over the text of every
    /// user and assistant message, as the seed's ETL-2 did; priced at the run's prices).
    #[arg(long, value_name = "estimator|cl100k", default_value = "estimator")]
    pub tokenizer: TokenCount,
}

/// How the users report counts tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCount {
    /// The run's estimator.
    Estimator,
    /// tiktoken's `cl100k_base`.
    Cl100k,
}

impl std::str::FromStr for TokenCount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "estimator" => Ok(TokenCount::Estimator),
            "cl100k" | "cl100k_base" => Ok(TokenCount::Cl100k),
            _ => Err(format!("not a token count: {s:?} (estimator or cl100k)")),
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct AthenaArgs {
    /// Athena database (variable: ATHENA_DATABASE; needed to refresh the view).
    #[arg(long, value_name = "NAME")]
    pub athena_database: Option<String>,
    /// Athena workgroup (variable: ATHENA_WORKGROUP; default primary).
    #[arg(long, value_name = "NAME")]
    pub athena_workgroup: Option<String>,
    /// The view to refresh (variable: ATHENA_VIEW_NAME; default token_usage_analysis).
    #[arg(long, value_name = "NAME")]
    pub athena_view: Option<String>,
    /// The table over the consolidated CSV (default tokens_table_consolidated;
    /// tokens_table_consolidated_parquet over Parquet).
    #[arg(long, value_name = "NAME")]
    pub athena_table: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ConsolidateArgs {
    #[command(flatten)]
    pub common: Common,
    /// Estimator: v2 (the daily Lambda, the default) or full.
    #[arg(long)]
    pub estimator: Option<Estimator>,
    /// The historical CSV written by the archival job (default: the seed's
    /// object in S3_BUCKET_NAME under S3_OLD_DATA_PREFIX).
    #[arg(long, value_name = "PATH|s3://B/K")]
    pub historical: Option<String>,
    /// Which row wins a repeated (pk, sk): historical (the Lambdas') or new.
    #[arg(long, default_value = "historical")]
    pub prefer: Prefer,
    /// Consolidate without history when the historical file does not exist (or has no rows).
    #[arg(long)]
    pub allow_missing_historical: bool,
    /// Publish nothing if the output would have fewer rows than the previous
    /// one by more than this (a count, or a share such as 10%).
    #[arg(long, value_name = "N|P%", default_value = "10%")]
    pub max_shrink: Budget,
    /// Refresh the Athena view once the output is written.
    #[arg(long, conflicts_with = "no_athena")]
    pub athena: bool,
    /// Do not refresh the Athena view, even if the environment says to.
    #[arg(long)]
    pub no_athena: bool,
    /// The longest the Athena refresh may wait for its two queries, in seconds
    /// (the Lambda also stops it before its own deadline).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub athena_timeout: u64,
    #[command(flatten)]
    pub names: AthenaArgs,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// The environment whose schedule and jobs to run.
    #[arg(long, value_name = "NAME")]
    pub env: String,
    /// The configuration file.
    #[arg(long, value_name = "PATH", default_value = "tally.toml")]
    pub config: PathBuf,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the next N run times and stop.
    #[arg(long, value_name = "N")]
    pub dry_run: Option<usize>,
    /// Pretend the clock reads this UTC time now (YYYY-MM-DD HH:MM:SS), for rehearsals.
    #[arg(long, value_name = "TIME", hide = true)]
    pub fake_now: Option<String>,
    /// More `tally consolidate` options for every run, after `--`
    /// (e.g. `-- --sse aws:kms --segments 16 --no-athena`).
    #[arg(last = true, value_name = "CONSOLIDATE OPTIONS")]
    pub consolidate_options: Vec<String>,
}

#[derive(Args, Debug)]
pub struct AthenaSqlArgs {
    #[command(flatten)]
    pub env: EnvArgs,
    #[command(flatten)]
    pub names: AthenaArgs,
    /// The S3 folder holding the consolidated CSV, the table's LOCATION
    /// (default: S3_BUCKET_NAME and S3_OUTPUT_PREFIX, or the environment's;
    /// for Parquet, that prefix with `-parquet`).
    #[arg(long, value_name = "s3://B/PREFIX/")]
    pub location: Option<String>,
    /// The table over the CSV (the default) or over `consolidate --format parquet`'s output.
    #[arg(long, value_name = "csv|parquet", default_value = "csv")]
    pub format: Format,
    /// The Parquet output's partitioning (day, the default, month or none).
    #[arg(long, value_name = "day|month|none")]
    pub partition_by: Option<PartitionBy>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the sample tables and the CSVs.
    #[arg(long, default_value = "tally-demo")]
    pub dir: PathBuf,
    /// Conversations in each sample table (1 to 10,000,000).
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub items: u32,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn parse_day(s: &str) -> Result<Day, String> {
    Day::parse(s).ok_or_else(|| format!("not a YYYY-MM-DD day: {s:?}"))
}

/// `64M`, `512K`, `1G`, `1000` (bytes): binary units, at least 1 KiB.
pub fn parse_size(s: &str) -> Result<usize, String> {
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

pub fn parse_price_arg(s: &str) -> Result<Decimal, String> {
    parse_price(s).map_err(|e| e.to_string())
}

#[derive(Args, Debug)]
pub struct WhatIfArgs {
    /// The CSV (tokens_analysis_consolidated.csv or any of its schema): a path or s3://B/K.
    #[arg(value_name = "PATH|s3://B/K", required_unless_present = "list_models")]
    pub csv: Option<String>,
    /// A model of the catalog: its id, or a unique part of its name or id (repeatable).
    /// With neither --model nor --prices, every model of the catalog.
    #[arg(long = "model", value_name = "MODEL")]
    pub models: Vec<String>,
    /// Custom prices per 1K tokens, INPUT/OUTPUT, e.g. 0.0008/0.004 (repeatable).
    #[arg(long = "prices", value_name = "IN/OUT")]
    pub prices: Vec<Prices>,
    /// In a detail CSV, price one model's conversations as another:
    /// MODEL=TARGET, TARGET a catalog model or IN/OUT per 1K (repeatable). The
    /// mappings make one scenario in which the other models keep their cost.
    #[arg(long = "map", value_name = "MODEL=TARGET")]
    pub maps: Vec<String>,
    /// Also each scenario by user, bot or model (the most expensive --top groups).
    #[arg(long, value_name = "user|bot|model")]
    pub by: Option<By>,
    /// Batch inference: every scenario at the catalog's batch multiplier.
    #[arg(long)]
    pub batch: bool,
    /// Only rows on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub from: Option<Day>,
    /// Only rows on or before this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub to: Option<Day>,
    /// Only these sources (repeatable), e.g. new_table.
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// The most expensive conversations to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Another price catalog, in the shape of web/prices.json.
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,
    /// Print the catalog's models and stop.
    #[arg(long)]
    pub list_models: bool,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The CSV: a seed CSV (by user only) or a detail CSV (`--detail`); a path or s3://B/K.
    #[arg(value_name = "PATH|s3://B/K")]
    pub csv: String,
    /// Group by user, bot or model (repeatable, or comma-separated).
    #[arg(long = "by", value_name = "user|bot|model", value_delimiter = ',', default_value = "user")]
    pub by: Vec<By>,
    /// The most expensive groups to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Only groups whose name contains this (case-insensitive).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub search: String,
    /// Only rows on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub from: Option<Day>,
    /// Only rows on or before this day.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub to: Option<Day>,
    /// Only these users (pk; repeatable).
    #[arg(long = "user", value_name = "PK")]
    pub users: Vec<String>,
    /// Only these bots (repeatable; "" for conversations without a bot).
    #[arg(long = "bot", value_name = "BOT_ID")]
    pub bots: Vec<String>,
    /// Only these models (repeatable).
    #[arg(long = "model", value_name = "MODEL")]
    pub models: Vec<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// A custom AWS endpoint, such as a local emulator (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}
