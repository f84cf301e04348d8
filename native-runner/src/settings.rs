//! What a job runs with. Every setting is read from up to four layers, in
//! one order ([`Layers::pick`]): its flag, then the Lambdas' variable
//! (`DYNAMODB_TABLE_NAME`, ...: in every mode, as the Lambda reads them),
//! then the environment of `tally.toml` chosen with `--env`, then a default.

use anyhow::{anyhow, Context, Result};
use rust_decimal::Decimal;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::job::JobSpec;
use tally_core::pricebook::PriceBook;
use tally_core::pricing::{parse_price, Prices};
use tally_core::publish::Rules;

use crate::athena::AthenaNames;
use crate::aws::AwsOptions;
use crate::cli::{AthenaArgs, Common, EnvArgs};
use crate::config::{self, Env, CONSOLIDATED_FILE, HISTORICAL_FILE, USERS_PREFIX};
use crate::jobs::{Ctx, DetailOut, Items};
use crate::large::LargeMessages;
use crate::location::Place;
use crate::output::{Format, Layout, PartitionBy};
use crate::whatif::CATALOG;

/// One setting below its flag: the variable that feeds it and its key in
/// the environment.
#[derive(Debug)]
pub struct Key {
    /// The Lambdas' variable, if one feeds this setting.
    pub var: Option<&'static str>,
    /// The key in `tally.toml`, for messages.
    pub file: &'static str,
    get: fn(&Env) -> Option<&str>,
}

/// The settings the flags, the variables and the file share.
pub mod keys {
    use super::Key;

    pub const OLD_TABLE: Key =
        Key { var: Some("OLD_DYNAMODB_TABLE_NAME"), file: "old_table", get: |e| e.old_table.as_deref() };
    pub const NEW_TABLE: Key =
        Key { var: Some("DYNAMODB_TABLE_NAME"), file: "new_table", get: |e| e.new_table.as_deref() };
    pub const BUCKET: Key = Key { var: Some("S3_BUCKET_NAME"), file: "bucket", get: |e| e.bucket.as_deref() };
    pub const OUTPUT_PREFIX: Key =
        Key { var: Some("S3_OUTPUT_PREFIX"), file: "output_prefix", get: |e| e.output_prefix.as_deref() };
    pub const HISTORICAL_PREFIX: Key =
        Key { var: Some("S3_OLD_DATA_PREFIX"), file: "historical_prefix", get: |e| e.historical_prefix.as_deref() };
    /// Each Lambda read `FILTER_DATE_START` as its own start.
    pub const ARCHIVAL_START: Key = Key {
        var: Some("FILTER_DATE_START"),
        file: "dates.archival_start",
        get: |e| e.dates.archival_start.as_deref(),
    };
    pub const ARCHIVAL_END: Key =
        Key { var: Some("FILTER_DATE_END"), file: "dates.archival_end", get: |e| e.dates.archival_end.as_deref() };
    pub const CONSOLIDATED_START: Key = Key {
        var: Some("FILTER_DATE_START"),
        file: "dates.consolidated_start",
        get: |e| e.dates.consolidated_start.as_deref(),
    };
    /// The daily Lambda had no end: today.
    pub const CONSOLIDATED_END: Key = Key { var: None, file: "(none)", get: |_| None };
    pub const ESTIMATOR: Key = Key { var: None, file: "estimator", get: |e| e.estimator.as_deref() };
    pub const INPUT_PRICE: Key = Key { var: None, file: "input_price", get: |e| e.input_price.as_deref() };
    pub const OUTPUT_PRICE: Key = Key { var: None, file: "output_price", get: |e| e.output_price.as_deref() };
    pub const ATHENA_DATABASE: Key =
        Key { var: Some("ATHENA_DATABASE"), file: "athena.database", get: |e| e.athena.database.as_deref() };
    pub const ATHENA_WORKGROUP: Key =
        Key { var: Some("ATHENA_WORKGROUP"), file: "athena.workgroup", get: |e| e.athena.workgroup.as_deref() };
    pub const ATHENA_VIEW: Key =
        Key { var: Some("ATHENA_VIEW_NAME"), file: "athena.view", get: |e| e.athena.view.as_deref() };
    pub const ATHENA_TABLE: Key = Key { var: None, file: "athena.table", get: |e| e.athena.table.as_deref() };
    pub const DETAIL: Key = Key { var: None, file: "detail", get: |e| e.detail.as_deref() };
    pub const ARCHIVE_DETAIL: Key = Key { var: None, file: "archive_detail", get: |e| e.archive_detail.as_deref() };
    pub const LARGE_MESSAGE_BUCKET: Key = Key {
        var: Some("LARGE_MESSAGE_BUCKET"),
        file: "large_message_bucket",
        get: |e| e.large_message_bucket.as_deref(),
    };
    pub const PRICE_BOOK: Key = Key { var: None, file: "price_book", get: |e| e.price_book.as_deref() };
    pub const SSE: Key = Key { var: Some("S3_SSE"), file: "sse", get: |e| e.sse.as_deref() };
    /// The seed's ETL-1 Lambda read `OUTPUT_PREFIX`.
    pub const USERS_PREFIX: Key =
        Key { var: Some("OUTPUT_PREFIX"), file: "users_prefix", get: |e| e.users_prefix.as_deref() };
    /// bedrock-chat's own variable for its pool.
    pub const USER_POOL_ID: Key =
        Key { var: Some("USER_POOL_ID"), file: "user_pool_id", get: |e| e.user_pool_id.as_deref() };
    /// A setting only its flag sets (the users report's dates: every conversation unless told).
    pub const FLAG_ONLY: Key = Key { var: None, file: "(none)", get: |_| None };
}

/// The Athena workgroup when none is named: the one every account has.
pub const DEFAULT_WORKGROUP: &str = "primary";
/// The seed's view, without its environment prefix.
pub const DEFAULT_VIEW: &str = "token_usage_analysis";
/// The seed's table over the consolidated CSV.
pub const DEFAULT_TABLE: &str = "tokens_table_consolidated";

/// The layers below the flags: the Lambdas' variables and the environment.
pub struct Layers<'a> {
    vars: &'a dyn Fn(&str) -> Option<String>,
    file: Option<&'a Env>,
}

impl std::fmt::Debug for Layers<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layers").field("file", &self.file).finish_non_exhaustive()
    }
}

/// This process's variables.
pub fn process_vars(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl<'a> Layers<'a> {
    pub fn new(vars: &'a dyn Fn(&str) -> Option<String>, file: Option<&'a Env>) -> Self {
        Layers { vars, file }
    }

    /// The one precedence rule: the flag, else the variable (unless empty),
    /// else the environment's value; `None` leaves the default to the caller.
    /// A value that does not parse is an error naming where it was.
    pub fn pick<T>(&self, flag: Option<T>, key: &Key, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>> {
        if flag.is_some() {
            return Ok(flag);
        }
        if let Some(var) = key.var {
            if let Some(value) = (self.vars)(var).filter(|v| !v.is_empty()) {
                return parse(&value).map(Some).map_err(|e| anyhow!("variable {var}: {e}"));
            }
        }
        match self.file.and_then(key.get) {
            Some(value) => parse(value).map(Some).map_err(|e| anyhow!("{} of the environment: {e}", key.file)),
            None => Ok(None),
        }
    }

    /// [`Layers::pick`] for a setting that is text.
    pub fn text(&self, flag: Option<&String>, key: &Key) -> Option<String> {
        let text = |v: &str| Ok::<_, String>(v.to_string());
        self.pick(flag.cloned(), key, text).unwrap_or_default()
    }

    /// `s3://<bucket>/<prefix><file>` from the layered bucket and prefix.
    fn object(&self, prefix: &Key, file: &str) -> Option<String> {
        self.object_or(prefix, "", file)
    }

    /// [`Layers::object`], with `default` when no prefix is set.
    fn object_or(&self, prefix: &Key, default: &str, file: &str) -> Option<String> {
        let bucket = self.text(None, &keys::BUCKET)?;
        let prefix = self.text(None, prefix).unwrap_or_else(|| default.to_string());
        let sep = if prefix.is_empty() || prefix.ends_with('/') { "" } else { "/" };
        Some(format!("s3://{bucket}/{prefix}{sep}{file}"))
    }

    /// The seed's historical CSV in the bucket.
    pub fn historical_object(&self) -> Option<String> {
        self.object(&keys::HISTORICAL_PREFIX, HISTORICAL_FILE)
    }

    /// The seed's consolidated CSV in the bucket.
    pub fn consolidated_object(&self) -> Option<String> {
        self.object(&keys::OUTPUT_PREFIX, CONSOLIDATED_FILE)
    }

    /// The users report of `today` in the bucket: `data_YYYYMMDD.csv` under
    /// the users prefix (the seed's ETL-1 names).
    pub fn users_object(&self, today: Day) -> Option<String> {
        self.object_or(&keys::USERS_PREFIX, USERS_PREFIX, &format!("data_{}.csv", today.to_string().replace('-', "")))
    }

    /// The folder of the consolidated CSV (the Athena table's LOCATION).
    pub fn consolidated_folder(&self) -> Option<String> {
        self.object(&keys::OUTPUT_PREFIX, "")
    }

    /// The folder of the consolidated Parquet output (its table's LOCATION).
    pub fn consolidated_parquet_folder(&self) -> Option<String> {
        let layout = Layout { format: Format::Parquet, partition: Some(PartitionBy::Day) };
        self.consolidated_object().map(|csv| parquet_object(&csv, Job::Consolidate, layout))
    }

    /// Whether the environment asks the daily job to refresh the view.
    pub fn refresh_view(&self) -> bool {
        self.file.and_then(|e| e.athena.refresh).unwrap_or(false)
    }
}

fn parse_day(text: &str) -> Result<Day, String> {
    Day::parse(text).ok_or_else(|| format!("not a YYYY-MM-DD day: {text:?}"))
}

fn parse_price_text(text: &str) -> Result<Decimal, String> {
    parse_price(text).map_err(|e| e.to_string())
}

impl AthenaArgs {
    /// [`AthenaArgs::names`], the table's default following the output's format.
    pub fn names_for(&self, layers: &Layers<'_>, format: Format) -> AthenaNames {
        let mut names = self.names(layers);
        let named = self.athena_table.is_some() || layers.text(None, &keys::ATHENA_TABLE).is_some();
        if format == Format::Parquet && !named {
            names.table = format!("{DEFAULT_TABLE}_parquet");
        }
        names
    }

    /// The Athena names; the database is left out when none is given.
    pub fn names(&self, layers: &Layers<'_>) -> AthenaNames {
        AthenaNames {
            database: layers.text(self.athena_database.as_ref(), &keys::ATHENA_DATABASE),
            workgroup: layers
                .text(self.athena_workgroup.as_ref(), &keys::ATHENA_WORKGROUP)
                .unwrap_or_else(|| DEFAULT_WORKGROUP.into()),
            view: layers.text(self.athena_view.as_ref(), &keys::ATHENA_VIEW).unwrap_or_else(|| DEFAULT_VIEW.into()),
            table: layers.text(self.athena_table.as_ref(), &keys::ATHENA_TABLE).unwrap_or_else(|| DEFAULT_TABLE.into()),
        }
    }
}

/// The price book `source` names: `catalog`, `catalog-regional` or a file.
pub fn price_book(source: &str, region: &str, fallback: Prices) -> Result<PriceBook> {
    let (text, name, regional) = match source {
        "catalog" | "catalog-regional" => (CATALOG.to_string(), "catalog", source == "catalog-regional"),
        path => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read price book {path}"))?;
            (text, path, false)
        }
    };
    PriceBook::read(&text, name, region, regional, fallback).with_context(|| format!("price book {source}"))
}

/// The default Parquet output beside the default CSV `csv`: the seed's
/// ETL-2 object for the users report (`reports/etl-process2/data.parquet`);
/// for the rows, a `-parquet` sibling of the CSV's folder (a folder when
/// partitioned, else the CSV's name in `.parquet`).
fn parquet_object(csv: &str, job: Job, layout: Layout) -> String {
    let (folder, file) = csv.rsplit_once('/').unwrap_or(("", csv));
    if job == Job::Users {
        let folder = folder.strip_suffix("etl-process1").map_or(folder.to_string(), |f| format!("{f}etl-process2"));
        return format!("{folder}/data.parquet");
    }
    let (bucket_end, prefix) = match folder.match_indices('/').nth(2) {
        Some((k, _)) => (k, &folder[k + 1..]),
        None => (folder.len(), ""),
    };
    let sibling = if prefix.is_empty() { "parquet".to_string() } else { format!("{prefix}-parquet") };
    let base = format!("{}/{sibling}/", &folder[..bucket_end]);
    if layout.is_folder() {
        base
    } else {
        format!("{base}{}.parquet", file.trim_end_matches(".csv"))
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// A job with every setting resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub items: Items,
    pub out: Place,
    pub layout: Layout,
    pub spec: JobSpec,
    pub detail: Option<DetailOut>,
}

/// Which job is being resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Archive,
    Consolidate,
    /// The users report: the current table, every day unless told otherwise.
    Users,
}

impl EnvArgs {
    /// The environment `--env` names, if any.
    pub fn environment(&self) -> Result<Option<Env>> {
        let Some(name) = &self.env else { return Ok(None) };
        if !self.config.exists() {
            anyhow::bail!(
                "--env {name} needs a configuration file, and {} does not exist (run from the folder that holds \
                 tally.toml, or give --config PATH)",
                self.config.display()
            );
        }
        config::Config::load(&self.config, true)?.env(name).map(Some)
    }
}

impl Common {
    /// `today` is the end date of a v2 run when none is given (spec section 2).
    pub fn resolve(&self, job: Job, estimator: Option<Estimator>, layers: &Layers<'_>, today: Day) -> Result<Resolved> {
        let (table, start, end, out) = match job {
            Job::Archive => (keys::OLD_TABLE, keys::ARCHIVAL_START, keys::ARCHIVAL_END, layers.historical_object()),
            Job::Consolidate => {
                (keys::NEW_TABLE, keys::CONSOLIDATED_START, keys::CONSOLIDATED_END, layers.consolidated_object())
            }
            Job::Users => (keys::NEW_TABLE, keys::FLAG_ONLY, keys::FLAG_ONLY, layers.users_object(today)),
        };
        let items = if let Some(t) = &self.table {
            Items::Table(t.clone())
        } else if let Some(d) = &self.dump {
            Items::Dump(Place::parse(d))
        } else if let Some(t) = layers.text(None, &table) {
            Items::Table(t)
        } else {
            anyhow::bail!("give --table or --dump (or {}, or --env with {})", table.var.unwrap_or_default(), table.file)
        };
        let layout = self.layout(job)?;
        let out = match layout.format {
            Format::Csv => out,
            // Beside the CSV's folder, never in it: the CSV's table reads every file there.
            Format::Parquet => out.map(|csv| parquet_object(&csv, job, layout)),
        };
        let out = self.out.clone().or(out).context("give --out (or S3_BUCKET_NAME, or --env with a bucket)")?;
        let start = match layers.pick(self.start, &start, parse_day)? {
            Some(day) => day,
            // Every conversation the table holds.
            None if job == Job::Users => Day::parse("0001-01-01").context("the first day")?,
            None => anyhow::bail!("give --start (or FILTER_DATE_START, or --env with {})", start.file),
        };
        let end = layers.pick(self.end, &end, parse_day)?;
        let (default_estimator, default_source) = match job {
            Job::Archive => (Estimator::V1, "old_table"),
            Job::Consolidate | Job::Users => (Estimator::V2, "new_table"),
        };
        let estimator = match job {
            // The environment's estimator is the daily job's (the users report reads the same table).
            Job::Archive => estimator,
            Job::Consolidate | Job::Users => layers.pick(estimator, &keys::ESTIMATOR, |t| t.parse::<Estimator>())?,
        };
        let defaults = Prices::default();
        let prices = Prices {
            input_per_1k: layers
                .pick(self.input_price, &keys::INPUT_PRICE, parse_price_text)?
                .unwrap_or(defaults.input_per_1k),
            output_per_1k: layers
                .pick(self.output_price, &keys::OUTPUT_PRICE, parse_price_text)?
                .unwrap_or(defaults.output_per_1k),
        };
        // Each job its own detail file: one key for both would let the daily
        // job overwrite the archival's rows.
        let detail_key = match job {
            Job::Archive => keys::ARCHIVE_DETAIL,
            Job::Consolidate => keys::DETAIL,
            Job::Users => {
                anyhow::ensure!(
                    self.detail.is_none(),
                    "users writes no detail rows (--detail is archive's and consolidate's)"
                );
                keys::FLAG_ONLY
            }
        };
        let detail = match layers.text(self.detail.as_ref(), &detail_key) {
            Some(place) => {
                let source =
                    layers.text(self.price_book.as_ref(), &keys::PRICE_BOOK).unwrap_or_else(|| "catalog".into());
                let fallback = self.fallback_price.unwrap_or(prices);
                Some(DetailOut {
                    place: Place::parse(&place),
                    book: price_book(&source, &self.price_region, fallback)?,
                })
            }
            None => None,
        };
        Ok(Resolved {
            items,
            out: Place::parse(&out),
            layout,
            detail,
            spec: JobSpec {
                estimator: estimator.unwrap_or(default_estimator),
                source: self.source.clone().unwrap_or_else(|| default_source.to_string()),
                range: DateRange { start, end },
                prices,
            }
            .ending_today(today),
        })
    }

    /// The output's format and partitioning.
    fn layout(&self, job: Job) -> Result<Layout> {
        let partition = match (self.format, self.partition_by, job) {
            (Format::Csv, Some(_), _) => anyhow::bail!("--partition-by is for --format parquet"),
            (Format::Csv, None, _) => None,
            (Format::Parquet, Some(PartitionBy::Day | PartitionBy::Month), Job::Users) => {
                anyhow::bail!("the users report has no date of its own: --partition-by none")
            }
            (Format::Parquet, None, Job::Users) => Some(PartitionBy::None),
            (Format::Parquet, by, _) => Some(by.unwrap_or(PartitionBy::Day)),
        };
        Ok(Layout { format: self.format, partition })
    }

    pub fn ctx(&self, layers: &Layers<'_>) -> Result<Ctx> {
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
        ctx.sse = layers.pick(self.sse.clone(), &keys::SSE, |t| t.parse::<crate::s3::Sse>())?.unwrap_or_default();
        ctx.dry_run = self.dry_run;
        ctx.memory = self.memory;
        if let Some(dir) = &self.spill_dir {
            ctx.spill_dir.clone_from(dir);
        }
        ctx.large = layers
            .text(self.large_message_bucket.as_ref(), &keys::LARGE_MESSAGE_BUCKET)
            .map(|b| LargeMessages::new(&b, self.max_record_size));
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    use crate::cli::{Cli, Command};

    const TOML: &str = r#"
[env.prod]
old_table = "Old"
new_table = "New"
bucket = "reports"
output_prefix = "tokens-analysis/"
historical_prefix = "archives"
estimator = "full"
input_price = "0.001"
dates = { archival_start = "2024-01-01", archival_end = "2025-11-30", consolidated_start = "2025-12-01" }
athena = { database = "db_file", workgroup = "wg_file", refresh = true }
"#;

    fn common(args: &str) -> (Common, Option<Estimator>) {
        let argv = format!("tally consolidate {args}");
        match Cli::try_parse_from(argv.split_whitespace()).expect("arguments").command {
            Command::Consolidate(c) => (c.common, c.estimator),
            _ => unreachable!(),
        }
    }

    fn today() -> Day {
        Day::parse("2026-12-02").expect("day")
    }

    #[test]
    fn a_flag_beats_a_variable_beats_the_file_beats_the_default() {
        let env: config::Config = toml::from_str(TOML).expect("toml");
        let prod = env.env("prod").expect("prod");
        let none = |_: &str| None;
        let vars = |name: &str| match name {
            "DYNAMODB_TABLE_NAME" => Some("NewFromVar".to_string()),
            "S3_BUCKET_NAME" => Some("bucket_var".to_string()),
            "S3_OUTPUT_PREFIX" => Some("elsewhere".to_string()),
            "FILTER_DATE_START" => Some(String::new()), // empty: not set
            "ATHENA_WORKGROUP" => Some("wg_var".to_string()),
            _ => None,
        };
        let file_only = Layers::new(&none, Some(&prod));
        let both = Layers::new(&vars, Some(&prod));
        let vars_only = Layers::new(&vars, None);

        let (c, e) = common("");
        let job = c.resolve(Job::Consolidate, e, &file_only, today()).expect("file");
        assert!(matches!(&job.items, Items::Table(t) if t == "New"));
        assert_eq!(job.out, Place::parse("s3://reports/tokens-analysis/tokens_analysis_consolidated.csv"));
        assert_eq!(job.spec.range.start, Day::parse("2025-12-01").expect("day"));
        assert_eq!(job.spec.estimator, Estimator::Full);
        assert_eq!(job.spec.prices.input_per_1k.to_string(), "0.001");
        assert_eq!(job.spec.prices.output_per_1k, Prices::default().output_per_1k);

        let job = c.resolve(Job::Consolidate, e, &both, today()).expect("both");
        assert!(matches!(&job.items, Items::Table(t) if t == "NewFromVar"));
        assert_eq!(job.out, Place::parse("s3://bucket_var/elsewhere/tokens_analysis_consolidated.csv"));
        assert_eq!(job.spec.range.start, Day::parse("2025-12-01").expect("day"), "an empty variable is unset");

        let (c, e) = common("--table T --out o.csv --start 2026-01-02 --estimator v2 --input-price 0.002");
        let job = c.resolve(Job::Consolidate, e, &both, today()).expect("flags");
        assert!(matches!(&job.items, Items::Table(t) if t == "T"));
        assert_eq!(job.out, Place::parse("o.csv"));
        assert_eq!(job.spec.range.start, Day::parse("2026-01-02").expect("day"));
        assert_eq!(job.spec.estimator, Estimator::V2);
        assert_eq!(job.spec.prices.input_per_1k.to_string(), "0.002");

        // --dump beats the variable's table; archive reads its own keys.
        let (c, _) = common("--dump d.jsonl");
        let job = c.resolve(Job::Archive, None, &both, today()).expect("archive");
        assert!(matches!(&job.items, Items::Dump(_)));
        assert_eq!(job.out, Place::parse("s3://bucket_var/archives/tokens_analysis_old_table.csv"));
        assert_eq!(job.spec.estimator, Estimator::V1, "the environment's estimator is the daily job's");
        assert_eq!(job.spec.range.end, Day::parse("2025-11-30"));

        // Without a file, the variables alone name everything but the start.
        let (c, _) = common("");
        let err = c.resolve(Job::Consolidate, None, &vars_only, today()).expect_err("no start");
        assert!(format!("{err:#}").contains("give --start (or FILTER_DATE_START"), "{err:#}");
        let err = c.resolve(Job::Archive, None, &vars_only, today()).expect_err("no old table");
        assert!(format!("{err:#}").contains("OLD_DYNAMODB_TABLE_NAME"), "{err:#}");

        let bad = |name: &str| (name == "FILTER_DATE_START").then(|| "2025-13-01".to_string());
        let err = c.resolve(Job::Consolidate, None, &Layers::new(&bad, Some(&prod)), today()).expect_err("bad");
        assert!(format!("{err:#}").contains("variable FILTER_DATE_START: not a YYYY-MM-DD day"), "{err:#}");

        let names = |args: &[&str], layers: &Layers<'_>| {
            let mut argv = vec!["tally", "athena-sql"];
            argv.extend(args);
            match Cli::try_parse_from(argv).expect("arguments").command {
                Command::AthenaSql(a) => a.names.names(layers),
                _ => unreachable!(),
            }
        };
        let n = names(&[], &both);
        assert_eq!((n.database.as_deref(), n.workgroup.as_str()), (Some("db_file"), "wg_var"));
        assert_eq!((n.view.as_str(), n.table.as_str()), (DEFAULT_VIEW, DEFAULT_TABLE));
        let n = names(&["--athena-workgroup", "wg_flag"], &both);
        assert_eq!(n.workgroup, "wg_flag");
        let n = names(&[], &Layers::new(&none, None));
        assert_eq!((n.database, n.workgroup.as_str()), (None, DEFAULT_WORKGROUP));
        assert_eq!(both.consolidated_folder().as_deref(), Some("s3://bucket_var/elsewhere/"));
        assert!(both.refresh_view() && !vars_only.refresh_view());
    }

    #[test]
    fn each_job_has_its_own_detail_file_and_the_large_messages_have_their_variable() {
        let text = format!("{TOML}detail = \"daily.csv\"\narchive_detail = \"old.csv\"\n");
        let env: config::Config = toml::from_str(&text).expect("toml");
        let prod = env.env("prod").expect("prod");
        let none = |_: &str| None;
        let layers = Layers::new(&none, Some(&prod));
        let (c, e) = common("--price-book catalog");
        let place = |job| c.resolve(job, e, &layers, today()).expect("resolve").detail.map(|d| d.place);
        assert_eq!(place(Job::Consolidate), Some(Place::parse("daily.csv")));
        assert_eq!(place(Job::Archive), Some(Place::parse("old.csv")));
        let bucket = |name: &str| (name == "LARGE_MESSAGE_BUCKET").then(|| "bedrock-large".to_string());
        let ctx = c.ctx(&Layers::new(&bucket, Some(&prod))).expect("ctx");
        assert!(ctx.large.is_some_and(|l| format!("{:?}", l.store).contains("bedrock-large")));
        assert!(c.ctx(&layers).expect("ctx").large.is_none());
    }

    #[test]
    fn encryption_is_layered_like_every_setting() {
        let env: config::Config = toml::from_str(&format!("{TOML}sse = \"AES256\"\n")).expect("toml");
        let prod = env.env("prod").expect("prod");
        let none = |_: &str| None;
        let kms = |name: &str| (name == "S3_SSE").then(|| "aws:kms:key-1".to_string());
        let sse = |args: &str, layers: &Layers<'_>| common(args).0.ctx(layers).map(|ctx| ctx.sse);
        use crate::s3::Sse;
        assert_eq!(sse("", &Layers::new(&none, None)).expect("default"), Sse::None);
        assert_eq!(sse("", &Layers::new(&none, Some(&prod))).expect("file"), Sse::Aes256);
        assert_eq!(sse("", &Layers::new(&kms, Some(&prod))).expect("var"), Sse::Kms(Some("key-1".into())));
        assert_eq!(sse("--sse none", &Layers::new(&kms, Some(&prod))).expect("flag"), Sse::None);
        let bad = |name: &str| (name == "S3_SSE").then(|| "rot13".to_string());
        let err = sse("", &Layers::new(&bad, None)).expect_err("bad");
        assert!(format!("{err:#}").starts_with("variable S3_SSE: unknown encryption"), "{err:#}");
    }
}
