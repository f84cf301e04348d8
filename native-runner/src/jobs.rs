//! The two jobs over local dumps and files: read items on one thread, parse
//! and price them on the others (each with its own `Run`, merged at the end),
//! then write the output all or nothing.

use std::io::BufRead;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use tally_core::consolidate::{consolidate_run, Prefer};
use tally_core::csv::{read_rows, ReadRows, RecordCounter};
use tally_core::detail::{write_detail_csv, DetailStats, Details};
use tally_core::item::DEFAULT_MAX_RECORD;
use tally_core::item::{
    detect_format, item_from_export_line, DumpError, DumpFormat, DumpPlace, DumpProblem, Lines, ScanJson,
};
use tally_core::job::{JobSpec, Run};
use tally_core::pricebook::PriceBook;
use tally_core::publish::{check_history, check_scan, check_shrink, Refusal, Rules};
use tally_core::stats::Stats;
use tally_core::users::Tokenizer;

use crate::atomic::write_atomically;
use crate::aws::{AwsOptions, Clients};
use crate::large::{wanted_key, whole_map, LargeMessages};
use crate::location::{read_chunks, read_optional, DumpSource, LineGuard, Place};
use crate::output::{publish_rows, Format, Layout, Partitions};
use crate::progress::Progress;
use crate::s3::Sse;

/// Lines handed to a worker at a time.
const BATCH: usize = 256;

enum Batch {
    /// Export lines, the first being line `first_line` of `file`.
    Lines { file: usize, first_line: u64, lines: Vec<Vec<u8>> },
    /// Items already parsed (scan documents are split on the reader thread).
    Items(Vec<Result<tally_core::Item, DumpError>>),
}

/// Runs `spec` over every item of the dump, on `workers` threads.
pub fn scan_dump(
    source: &DumpSource,
    spec: &JobSpec,
    workers: usize,
    max_record: usize,
    wholes: &Wholes,
    progress: &Progress,
) -> Result<Run> {
    let gather = wholes.gather;
    let workers = workers.max(1);
    let (tx, rx) = sync_channel::<Batch>(workers * 4);
    let rx = std::sync::Mutex::new(rx);
    std::thread::scope(|scope| -> Result<Run> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                scope.spawn(move || -> Result<Run> {
                    let mut run = new_run(spec, gather);
                    loop {
                        let batch = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else { break };
                        match batch {
                            Batch::Lines { file, first_line, lines } => {
                                let multi = source.parts_len() > 1;
                                let name = || source.part_name(file);
                                for (k, line) in lines.iter().enumerate() {
                                    let n = first_line + k as u64;
                                    match item_from_export_line(line) {
                                        Ok(item) => {
                                            let map = wholes.map(&run, &item)?;
                                            let place = if multi {
                                                format!("{}: line {n}", name())
                                            } else {
                                                format!("line {n}")
                                            };
                                            run.push_at(&item, Some(&place), map.as_deref());
                                        }
                                        Err(message) => {
                                            let place =
                                                if multi { DumpPlace::FileLine(name(), n) } else { DumpPlace::Line(n) };
                                            let problem = DumpProblem::NotAnItem(message);
                                            run.dump_error(&DumpError { place, problem, fatal: false });
                                        }
                                    }
                                }
                            }
                            Batch::Items(items) => {
                                for item in items {
                                    match item {
                                        Ok(item) => {
                                            let map = wholes.map(&run, &item)?;
                                            run.push_with_map(&item, map.as_deref());
                                        }
                                        Err(e) => run.dump_error(&e),
                                    }
                                }
                            }
                        }
                    }
                    Ok(run)
                })
            })
            .collect();

        let read = (|| -> Result<()> {
            for (k, opened) in source.readers().enumerate() {
                let (name, mut reader) = opened?;
                let format = detect_format(reader.fill_buf().with_context(|| format!("cannot read {name}"))?);
                match format {
                    DumpFormat::JsonLines => read_lines(k, &name, reader, max_record, &tx, progress)?,
                    DumpFormat::ScanJson => {
                        let mut batch = Vec::with_capacity(BATCH);
                        for item in ScanJson::with_limit(reader, max_record) {
                            if let Err(e) = &item {
                                if e.fatal {
                                    bail!("{name}: {e}");
                                }
                            }
                            batch.push(item);
                            if batch.len() == BATCH {
                                progress.add(batch.len() as u64);
                                tx.send(Batch::Items(std::mem::take(&mut batch)))
                                    .map_err(|_| anyhow!("workers stopped"))?;
                            }
                        }
                        progress.add(batch.len() as u64);
                        tx.send(Batch::Items(batch)).map_err(|_| anyhow!("workers stopped"))?;
                    }
                }
            }
            Ok(())
        })();
        drop(tx);
        let mut runs =
            handles.into_iter().map(|h| h.join().map_err(|_| anyhow!("a worker thread panicked")).and_then(|r| r));
        let mut total = runs.next().unwrap_or_else(|| Ok(new_run(spec, gather)))?;
        for run in runs {
            total.merge(run?);
        }
        read.with_context(|| format!("reading dump {}", source.shown()))?;
        progress.finish();
        Ok(total)
    })
}

/// What the dump workers need to read large messages whole.
#[derive(Debug, Clone)]
pub struct Wholes {
    /// What the runs gather besides their rows.
    pub gather: Gather,
    /// The large-message store.
    pub large: Option<LargeMessages>,
    /// AWS, when the store is a bucket.
    pub clients: Option<Clients>,
    /// The runtime that fetches from the bucket (the workers are threads).
    pub runtime: tokio::runtime::Handle,
}

impl Wholes {
    /// The whole map of `item`, when it is a large message `run` wants whole.
    fn map(&self, run: &Run, item: &tally_core::Item) -> Result<Option<String>> {
        // The runtime only for the items that need their whole map.
        match &self.large {
            Some(large) if wanted_key(run, item).is_some() => {
                self.runtime.block_on(whole_map(run, item, self.clients.as_ref(), Some(large)))
            }
            _ => Ok(None),
        }
    }
}

/// What a run gathers besides its rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gather {
    /// The detail rows.
    pub details: bool,
    /// The users report.
    pub users: bool,
    /// The users report's token counter (else the estimator's).
    pub tokenizer: Option<Tokenizer>,
}

/// A run of `spec`, gathering what `gather` asks for.
pub fn new_run(spec: &JobSpec, gather: Gather) -> Run {
    let mut run = Run::new(spec.clone());
    if gather.details {
        run = run.with_details();
    }
    if gather.users {
        run = run.with_users(gather.tokenizer);
    }
    run
}

/// Hands the lines of a JSON Lines part to the workers in batches of
/// consecutive line numbers (core's [`Lines`]: BOM, blank lines, the line limit).
fn read_lines(
    file: usize,
    name: &str,
    reader: Box<dyn BufRead + Send>,
    max_record: usize,
    tx: &std::sync::mpsc::SyncSender<Batch>,
    progress: &Progress,
) -> Result<()> {
    let send = |first_line: u64, lines: Vec<Vec<u8>>| {
        progress.add(lines.len() as u64);
        tx.send(Batch::Lines { file, first_line, lines }).map_err(|_| anyhow!("workers stopped"))
    };
    let mut first_line = 1u64;
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    for line in Lines::new(reader, max_record) {
        let (n, text) = line.map_err(|e| anyhow!("{name}: {e}"))?;
        // Keep numbering exact: a gap (blank lines) ends a batch.
        if !lines.is_empty() && (n != first_line + lines.len() as u64 || lines.len() == BATCH) {
            send(first_line, std::mem::take(&mut lines))?;
        }
        if lines.is_empty() {
            first_line = n;
        }
        lines.push(text);
    }
    if !lines.is_empty() {
        send(first_line, lines)?;
    }
    Ok(())
}

/// What a job needs from outside: AWS clients (made on first use), output
/// encryption, the large-message bucket, and its parallelism.
#[derive(Debug, Default)]
pub struct Ctx {
    /// How to reach AWS.
    pub aws: AwsOptions,
    clients: tokio::sync::OnceCell<Clients>,
    /// Server-side encryption of S3 outputs.
    pub sse: Sse,
    /// Where `full` reads large messages.
    pub large: Option<LargeMessages>,
    /// Threads for dumps.
    pub workers: usize,
    /// Parallel scan segments for tables.
    pub segments: i32,
    /// No progress output.
    pub quiet: bool,
    /// The longest line or item an input may have.
    pub max_record: usize,
    /// What a run must pass to publish.
    pub rules: Rules,
    /// The detail output, when asked for.
    pub detail: Option<DetailOut>,
    /// How the output is written (CSV, Parquet, partitions).
    pub layout: Layout,
    /// The users report, when it is the job (with its token counter).
    pub users: Option<Option<Tokenizer>>,
    /// Check everything, publish nothing.
    pub dry_run: bool,
}

/// Where the detail rows go and how their model calls are priced.
#[derive(Debug, Clone)]
pub struct DetailOut {
    /// The detail CSV.
    pub place: Place,
    /// The price book.
    pub book: PriceBook,
}

impl Ctx {
    /// A context; AWS is only contacted when a location needs it.
    pub fn new(aws: AwsOptions, workers: usize, segments: i32, quiet: bool) -> Ctx {
        Ctx { aws, workers, segments, quiet, max_record: DEFAULT_MAX_RECORD, ..Ctx::default() }
    }

    /// What the job's runs gather.
    pub fn gather(&self) -> Gather {
        Gather { details: self.detail.is_some(), users: self.users.is_some(), tokenizer: self.users.flatten() }
    }

    /// The AWS clients, loaded once.
    pub async fn clients(&self) -> &Clients {
        self.clients.get_or_init(|| Clients::load(&self.aws)).await
    }
}

/// Where the items come from.
#[derive(Debug, Clone)]
pub enum Items {
    /// A DynamoDB table, scanned.
    Table(String),
    /// A dump: a local file or folder, an S3 object or an export prefix.
    Dump(Place),
}

/// Runs `spec` over every item.
pub async fn scan(ctx: &Ctx, items: &Items, spec: &JobSpec) -> Result<Run> {
    match items {
        Items::Table(name) => {
            let progress = Arc::new(Progress::new(format!("scan of table {name}"), ctx.quiet));
            crate::ddb::scan(ctx.clients().await, name, ctx.segments, spec, ctx.large.clone(), ctx.gather(), progress)
                .await
        }
        Items::Dump(place) => {
            let source = match place {
                Place::Local(path) => DumpSource::local(path)?,
                Place::S3(url) => DumpSource::s3(&ctx.clients().await.s3, url).await?,
                Place::Stdout => bail!("--dump -: standard output cannot be read"),
            };
            let (spec, workers, quiet, max_record) = (spec.clone(), ctx.workers, ctx.quiet, ctx.max_record);
            let clients = match &ctx.large {
                Some(large) if large.needs_aws() => Some(ctx.clients().await.clone()),
                _ => None,
            };
            let wholes = Wholes {
                gather: ctx.gather(),
                large: ctx.large.clone(),
                clients,
                runtime: tokio::runtime::Handle::current(),
            };
            tokio::task::spawn_blocking(move || {
                let progress = Progress::new(format!("reading {}", source.shown()), quiet);
                scan_dump(&source, &spec, workers, max_record, &wholes, &progress)
            })
            .await
            .context("the dump reader stopped")?
        }
    }
}

/// Reads a whole CSV (no line longer than the record limit); `Ok(None)`
/// when it does not exist.
pub async fn read_place(ctx: &Ctx, place: &Place) -> Result<Option<Vec<u8>>> {
    match place {
        Place::Local(path) => read_optional(path, ctx.max_record),
        Place::S3(url) => crate::s3::get_optional(&ctx.clients().await.s3, url, ctx.max_record).await,
        Place::Stdout => bail!("standard output cannot be read"),
    }
}

/// Writes `bytes` all or nothing.
pub async fn publish_bytes(ctx: &Ctx, place: &Place, bytes: Vec<u8>) -> Result<()> {
    match place {
        Place::Local(path) => write_atomically(path, &bytes).with_context(|| format!("writing {}", path.display())),
        Place::S3(url) => {
            let content_type = match url.key.rsplit_once('.').map(|(_, ext)| ext) {
                Some("parquet") => "application/vnd.apache.parquet",
                Some("json") => "application/json",
                _ => "text/csv",
            };
            crate::s3::put(&ctx.clients().await.s3, url, bytes, &ctx.sse, content_type).await
        }
        Place::Stdout => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.flush()).context("writing standard output")
        }
    }
}

/// The inputs of a job that an output must not be.
pub fn inputs<'a>(items: &'a Items, history: Option<&'a Place>) -> Vec<(&'static str, &'a Place)> {
    let mut inputs = Vec::new();
    if let Items::Dump(place) = items {
        inputs.push(("--dump", place));
    }
    if let Some(h) = history {
        inputs.push(("--historical", h));
    }
    inputs
}

/// Where a job's output went and what it reports.
#[derive(Debug)]
pub struct Output {
    /// Where the CSV was written.
    pub location: String,
    /// The run's statistics.
    pub stats: Stats,
    /// The detail output: where, and what its rows add up to; or why it
    /// was not written (the CSV was).
    pub detail: Option<Result<(String, DetailStats), String>>,
    /// A partitioned output: the partitions written and deleted.
    pub partitions: Option<Partitions>,
}

/// The inputs and the output a detail output must not be.
fn check_detail(ctx: &Ctx, items: &Items, history: Option<&Place>, out: &Place) -> Result<()> {
    if let Some(d) = &ctx.detail {
        let mut others = inputs(items, history);
        others.push(("--out", out));
        crate::guard::distinct(&d.place, &others).context("--detail")?;
    }
    Ok(())
}

/// Prices the detail rows and writes them, once the CSV is published; a
/// failure is reported in the output (the CSV stays published).
async fn write_details(ctx: &Ctx, details: Option<Details>, output: Output) -> Output {
    let (Some(d), Some(details)) = (&ctx.detail, details) else { return output };
    let (rows, stats) = details.finish(&d.book);
    let mut bytes = Vec::with_capacity(rows.len() * 260 + 200);
    let written = match write_detail_csv(&mut bytes, &rows) {
        Ok(()) => publish_bytes(ctx, &d.place, bytes).await,
        Err(e) => Err(e.into()),
    };
    let detail = written.map(|()| (d.place.to_string(), stats)).map_err(|e| format!("{e:#}"));
    Output { detail: Some(detail), ..output }
}

/// A run that may not publish: why, with its statistics (for the report).
#[derive(Debug)]
pub struct Refused {
    /// Why.
    pub refusal: Refusal,
    /// What the run saw.
    pub stats: Box<Stats>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; the previous output is untouched", self.refusal)
    }
}

impl std::error::Error for Refused {}

pub fn refuse(refusal: Refusal, stats: &Stats) -> anyhow::Error {
    Refused { refusal, stats: Box::new(stats.clone()) }.into()
}

/// The archival job: items to CSV.
pub async fn archive(ctx: &Ctx, items: &Items, spec: &JobSpec, out: &Place) -> Result<Output> {
    crate::guard::distinct(out, &inputs(items, None))?;
    check_detail(ctx, items, None, out)?;
    let mut run = scan(ctx, items, spec).await?;
    let details = run.take_details();
    let (rows, stats) = run.finish()?;
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    if ctx.dry_run {
        return Ok(Output { location: out.to_string(), stats, detail: None, partitions: None });
    }
    let partitions = publish_rows(ctx, out, &rows, ctx.layout).await?;
    Ok(write_details(ctx, details, Output { location: out.to_string(), stats, detail: None, partitions }).await)
}

/// Reads the historical CSV: a missing file is an error unless allowed; an
/// unreadable one always is, and so is one without rows (or mostly
/// unreadable) unless a missing one is allowed.
pub async fn read_history(ctx: &Ctx, place: &Place, allow_missing: bool) -> Result<ReadRows> {
    let read = match read_place(ctx, place).await? {
        Some(bytes) if bytes.starts_with(b"PAR1") => {
            bail!("historical file {place} is Parquet: the history is the archival's CSV (archive --format csv)")
        }
        Some(bytes) => read_rows(&bytes).with_context(|| format!("historical file {place} is unreadable"))?,
        None if allow_missing => return Ok(ReadRows::default()),
        None => bail!(
            "historical file {place} does not exist: run the archival job first, or pass \
             --allow-missing-historical to consolidate without history"
        ),
    };
    let rules = Rules { allow_empty: ctx.rules.allow_empty || allow_missing, ..ctx.rules };
    check_history(read.rows.len() as u64, read.unreadable.len() as u64, &rules)
        .with_context(|| format!("historical file {place}"))?;
    Ok(read)
}

/// Rows of the output being replaced (0 when there is none yet), counted
/// as it streams in: nothing of it is kept.
async fn previous_rows(ctx: &Ctx, out: &Place) -> Result<u64> {
    let mut guard = LineGuard::new(ctx.max_record);
    let mut counter = RecordCounter::default();
    let mut take = |chunk: &[u8]| {
        guard.check(chunk)?;
        counter.feed(chunk);
        Ok(())
    };
    let context = || format!("reading the previous output {out}");
    match out {
        Place::Local(path) => read_chunks(path, &mut take).with_context(context)?,
        Place::S3(url) => {
            crate::s3::read_chunks(&ctx.clients().await.s3, url, &mut take).await.with_context(context)?
        }
        Place::Stdout => false,
    };
    Ok(counter.records())
}

/// The history a consolidation merges in.
#[derive(Debug, Clone)]
pub struct History {
    /// The historical CSV.
    pub place: Place,
    /// Whether a missing file means "no history" rather than an error.
    pub allow_missing: bool,
    /// Which row wins a repeated (pk, sk).
    pub prefer: Prefer,
}

/// The daily job: items plus history to the consolidated CSV.
pub async fn consolidate(ctx: &Ctx, items: &Items, spec: &JobSpec, history: &History, out: &Place) -> Result<Output> {
    crate::guard::distinct(out, &inputs(items, Some(&history.place)))?;
    check_detail(ctx, items, Some(&history.place), out)?;
    // Read the history first: no point scanning if it cannot be used.
    let rows = read_history(ctx, &history.place, history.allow_missing).await?;
    let mut run = scan(ctx, items, spec).await?;
    let details = run.take_details();
    let (rows, stats) = consolidate_run(rows, run, history.prefer)?;
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    let previous = match ctx.layout.format {
        Format::Csv => previous_rows(ctx, out).await?,
        Format::Parquet => crate::output::previous_rows(ctx, out, ctx.layout).await?.unwrap_or(0),
    };
    check_shrink(previous, rows.len() as u64, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    if ctx.dry_run {
        return Ok(Output { location: out.to_string(), stats, detail: None, partitions: None });
    }
    let partitions = publish_rows(ctx, out, &rows, ctx.layout).await?;
    Ok(write_details(ctx, details, Output { location: out.to_string(), stats, detail: None, partitions }).await)
}
