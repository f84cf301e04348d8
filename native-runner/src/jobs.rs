//! The two jobs over local dumps and files: read items on one thread, parse
//! and price them on the others (each with its own `Run`, merged at the end),
//! then write the output all or nothing.

use std::io::BufRead;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use rust_decimal::Decimal;
use tally_core::consolidate::{Keyed, Prefer};
use tally_core::csv::{write_lines, BadRow, Record, RecordCounter, RecordStream, Row};
use tally_core::detail::{chunks_of, detail_header, push_detail, Chunk, DetailStats, Finisher, Pending};
use tally_core::item::DEFAULT_MAX_RECORD;
use tally_core::item::{
    detect_format, item_from_export_line, DumpError, DumpFormat, DumpPlace, DumpProblem, Lines, ScanJson,
};
use tally_core::job::{JobSpec, Run, MAX_LISTED_PROBLEMS};
use tally_core::pricebook::PriceBook;
use tally_core::publish::{check_history, check_scan, check_shrink, Refusal, Rules};
use tally_core::stats::Stats;
use tally_core::users::Tokenizer;

use crate::atomic::write_atomically;
use crate::aws::{AwsOptions, Clients};
use crate::large::{wanted_key, whole_map, LargeMessages};
use crate::location::{read_chunks, read_optional, DumpSource, LineGuard, Place};
use crate::output::{write_rows, Format, Layout, Partitions};
use crate::progress::Progress;
use crate::s3::Sse;
use crate::spill::{detail_order, settle, Sinks, Sorter};
use crate::writer::stream_to;

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
    let gather = &wholes.gather;
    let workers = workers.max(1);
    let (tx, rx) = sync_channel::<Batch>(workers * 4);
    let rx = std::sync::Mutex::new(rx);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    // One worker's reading: batches until the channel closes.
    let work = |rx: &std::sync::Mutex<std::sync::mpsc::Receiver<Batch>>| -> Result<Run> {
        let mut run = new_run(spec, gather);
        loop {
            gather.drain(&mut run, false)?;
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
                                let place =
                                    || if multi { format!("{}: line {n}", name()) } else { format!("line {n}") };
                                run.push_at(&item, place, map.as_deref());
                            }
                            Err(message) => {
                                let place = if multi { DumpPlace::FileLine(name(), n) } else { DumpPlace::Line(n) };
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
        gather.drain(&mut run, true)?;
        Ok(run)
    };
    std::thread::scope(|scope| -> Result<Run> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (rx, stopped, work) = (&rx, &stopped, &work);
                scope.spawn(move || -> Result<Run> {
                    let worked = work(rx);
                    if worked.is_err() {
                        // The reader must not wait on a full channel that no worker
                        // reads: say stop, and take what is already sent.
                        stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                        while rx.lock().map(|rx| rx.recv().is_ok()).unwrap_or(false) {}
                    }
                    worked
                })
            })
            .collect();

        let read = (|| -> Result<()> {
            for (k, opened) in source.readers().enumerate() {
                let (name, mut reader) = opened?;
                let format = detect_format(reader.fill_buf().with_context(|| format!("cannot read {name}"))?);
                match format {
                    DumpFormat::JsonLines => read_lines(k, &name, reader, max_record, &tx, progress, &stopped)?,
                    DumpFormat::ScanJson => {
                        let mut batch = Vec::with_capacity(BATCH);
                        for item in ScanJson::with_limit(reader, max_record) {
                            if let Err(e) = &item {
                                if e.fatal {
                                    bail!("{name}: {e}");
                                }
                            }
                            batch.push(item);
                            if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                                bail!("a worker failed");
                            }
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

/// What a run gathers besides its rows, and where its rows go.
#[derive(Debug, Clone, Default)]
pub struct Gather {
    /// The detail rows.
    pub details: bool,
    /// The users report.
    pub users: bool,
    /// The users report's token counter (else the estimator's).
    pub tokenizer: Option<Tokenizer>,
    /// Where the rows (and conversations) go as they come: none keeps them in the run.
    pub sinks: Option<Arc<Sinks>>,
}

impl Gather {
    /// Hands `run`'s rows to the sinks, a batch at a time (all of them when `all`).
    pub fn drain(&self, run: &mut Run, all: bool) -> Result<()> {
        match &self.sinks {
            Some(s) => s.drain(run, all),
            None => Ok(()),
        }
    }
}

/// A run of `spec`, gathering what `gather` asks for.
pub fn new_run(spec: &JobSpec, gather: &Gather) -> Run {
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
    stopped: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let send = |first_line: u64, lines: Vec<Vec<u8>>| {
        if stopped.load(std::sync::atomic::Ordering::SeqCst) {
            bail!("a worker failed");
        }
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
    /// The memory the rows may take before they spill to disk (bytes).
    pub memory: usize,
    /// Where they spill.
    pub spill_dir: std::path::PathBuf,
    /// The job's sorters, once it has started.
    pub sinks: Option<Arc<Sinks>>,
    /// The users report, when it is the job (with its token counter).
    pub users: Option<Option<Tokenizer>>,
    /// Check everything, publish nothing.
    pub dry_run: bool,
}

/// `--memory`: the seed's Lambda size.
pub const DEFAULT_MEMORY: usize = 512 << 20;

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
        Ctx {
            aws,
            workers,
            segments,
            quiet,
            max_record: DEFAULT_MAX_RECORD,
            memory: DEFAULT_MEMORY,
            spill_dir: std::env::temp_dir(),
            ..Ctx::default()
        }
    }

    /// What the job's runs gather.
    pub fn gather(&self) -> Gather {
        Gather {
            details: self.detail.is_some(),
            users: self.users.is_some(),
            tokenizer: self.users.flatten(),
            sinks: self.sinks.clone(),
        }
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
pub async fn scan(ctx: &Ctx, items: &Items, spec: &JobSpec, sinks: Option<Arc<Sinks>>) -> Result<Run> {
    let gather = Gather { sinks, ..ctx.gather() };
    match items {
        Items::Table(name) => {
            let progress = Arc::new(Progress::new(format!("scan of table {name}"), ctx.quiet));
            crate::ddb::scan(ctx.clients().await, name, ctx.segments, spec, ctx.large.clone(), gather, progress).await
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
            let wholes =
                Wholes { gather, large: ctx.large.clone(), clients, runtime: tokio::runtime::Handle::current() };
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
    /// Rows sorted on disk, beyond --memory (0: all in memory).
    pub spilled: u64,
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

/// Values up to the first error, which is kept in `failure`.
fn keep<T>(failure: &std::cell::RefCell<Option<anyhow::Error>>) -> impl FnMut(Result<T>) -> Option<T> + '_ {
    move |r| match r {
        Ok(v) => Some(v),
        Err(e) => {
            failure.borrow_mut().get_or_insert(e);
            None
        }
    }
}

/// Prices the detail rows and writes them, once the CSV is published; a
/// failure is reported in the output (the CSV stays published).
async fn write_details(ctx: &Ctx, details: DetailSinks, output: Output) -> Output {
    let Some(d) = &ctx.detail else { return output };
    let written = finish_details(ctx, d, details).await;
    let detail = written.map(|stats| (d.place.to_string(), stats)).map_err(|e| format!("{e:#}"));
    Output { detail: Some(detail), ..output }
}

/// The detail rows: each conversation joined with its chunks and priced,
/// then written in the seed's order; the errors sorted for their
/// percentiles, all within the job's memory.
async fn finish_details(ctx: &Ctx, d: &DetailOut, details: DetailSinks) -> Result<DetailStats> {
    let (book, dir, budget) = (d.book.clone(), ctx.spill_dir.clone(), ctx.memory / 10 * 7 / 3);
    let (rows, stats) = tokio::task::spawn_blocking(move || -> Result<_> {
        let mut finisher = Finisher::new(&book, details.tool_bots);
        let mut rows = Sorter::new(budget / 4 * 3, &dir, detail_order);
        let mut errors: Sorter<Decimal> = Sorter::new(budget / 4, &dir, Decimal::cmp);
        // A spill file that cannot be read stops the detail rows, never shortens them.
        let failure = std::cell::RefCell::new(None);
        let mut chunks = details.chunks.into_sorted()?.map_while(keep(&failure)).peekable();
        let mut n = 0;
        for c in details.conversations.into_sorted()? {
            let c = c?;
            let mine = chunks_of(&c, &mut chunks);
            let (row, error) = finisher.row(c, mine);
            rows.push(row)?;
            if let Some(e) = error {
                errors.push(e)?;
                n += 1;
            }
        }
        drop(chunks);
        let stats = finisher.finish(errors.into_sorted()?.map_while(keep(&failure)), n);
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        Ok((rows, stats))
    })
    .await
    .context("the detail rows stopped")??;
    let sorted = rows.into_sorted()?;
    stream_to(ctx, &d.place, move |w| write_lines(w, &detail_header(), sorted, push_detail)).await?;
    Ok(stats)
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

/// The sorters of a job: the rows by key, then in the output order, each
/// with a share of `--memory` (the rest is for reading and writing).
pub fn sinks(ctx: &Ctx) -> (Arc<Sinks>, Sorter<Row>) {
    // With the users report or the detail rows, a share for them too.
    let parts = if ctx.users.is_some() || ctx.detail.is_some() { 3 } else { 2 };
    let share = ctx.memory / 10 * 7 / parts;
    let users = if ctx.users.is_some() { share } else { 0 };
    let details = if ctx.detail.is_some() { share } else { 0 };
    (Sinks::new(share, users, details, &ctx.spill_dir), Sorter::new(share, &ctx.spill_dir, Row::output_order))
}

/// The detail rows' conversations and chunks, sorted by conversation, and
/// the bots seen calling tools.
pub struct DetailSinks {
    conversations: Sorter<Pending>,
    chunks: Sorter<Chunk>,
    tool_bots: std::collections::BTreeSet<String>,
}

/// The rows sorted by key, and the detail rows' parts, once every worker
/// has handed its rows over.
fn into_parts(sinks: Arc<Sinks>) -> Result<(Sorter<Keyed>, DetailSinks)> {
    let sinks = Arc::try_unwrap(sinks).map_err(|_| anyhow!("internal: a worker still holds the rows"))?;
    let failed = || anyhow!("a worker failed while handing its rows over");
    let details = DetailSinks {
        conversations: sinks.details.into_inner().map_err(|_| failed())?,
        chunks: sinks.chunks.into_inner().map_err(|_| failed())?,
        tool_bots: sinks.tool_bots.into_inner().map_err(|_| failed())?,
    };
    Ok((sinks.rows.into_inner().map_err(|_| failed())?, details))
}

/// The archival job: items to CSV.
pub async fn archive(ctx: &Ctx, items: &Items, spec: &JobSpec, out: &Place) -> Result<Output> {
    crate::guard::distinct(out, &inputs(items, None))?;
    check_detail(ctx, items, None, out)?;
    let (sinks, mut sorted) = self::sinks(ctx);
    let run = scan(ctx, items, spec, Some(sinks.clone())).await?;
    let (keyed, details) = into_parts(sinks)?;
    let settled = settle(keyed, None, Some(&mut sorted))?;
    let spilled = settled.spilled + sorted.spilled;
    let stats = run.finish_streamed(&settled.totals, settled.by_source, settled.repeated_keys)?;
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    if ctx.dry_run {
        return Ok(Output { location: out.to_string(), stats, detail: None, partitions: None, spilled });
    }
    let partitions = write_rows(ctx, out, sorted.into_sorted()?, ctx.layout).await?;
    let output = Output { location: out.to_string(), stats, detail: None, partitions, spilled };
    Ok(write_details(ctx, details, output).await)
}

/// What was read of the history.
#[derive(Debug, Default)]
pub struct HistoryRead {
    /// Rows read.
    pub rows: u64,
    /// `sin_datos` rows dropped.
    pub placeholder_rows: u64,
    /// The first unreadable records.
    pub unreadable: Vec<BadRow>,
    /// All of them.
    pub unreadable_count: u64,
}

/// Reads the historical CSV into `sinks` as it streams in: a missing file
/// is an error unless allowed; an unreadable one always is, and so is one
/// without rows (or mostly unreadable) unless a missing one is allowed.
pub async fn read_history(ctx: &Ctx, place: &Place, allow_missing: bool, sinks: &Sinks) -> Result<HistoryRead> {
    let mut read = HistoryRead::default();
    let mut stream = RecordStream::with_limit(ctx.max_record);
    let mut guard = LineGuard::new(ctx.max_record);
    let mut batch: Vec<Keyed> = Vec::new();
    let mut first = true;
    let mut take = |chunk: &[u8]| -> Result<()> {
        if std::mem::take(&mut first) && chunk.starts_with(b"PAR1") {
            bail!("it is Parquet: the history is the archival's CSV (archive --format csv)");
        }
        guard.check(chunk)?;
        stream
            .feed(chunk, &mut |record| take_record(record, &mut read, &mut batch))
            .map_err(|e| anyhow!("it is unreadable: {e}"))?;
        if batch.len() >= 2048 {
            sinks.rows.lock().map_err(|_| anyhow!("a worker failed"))?.extend(std::mem::take(&mut batch))?;
        }
        Ok(())
    };
    let context = || format!("historical file {place}");
    let found = match place {
        Place::Local(path) => read_chunks(path, &mut take).with_context(context)?,
        Place::S3(url) => {
            crate::s3::read_chunks(&ctx.clients().await.s3, url, &mut take).await.with_context(context)?
        }
        Place::Stdout => bail!("standard output cannot be read"),
    };
    if !found {
        if allow_missing {
            return Ok(HistoryRead::default());
        }
        bail!(
            "historical file {place} does not exist: run the archival job first, or pass \
             --allow-missing-historical to consolidate without history"
        );
    }
    stream
        .finish(&mut |record| take_record(record, &mut read, &mut batch))
        .map_err(|e| anyhow!("historical file {place} is unreadable: {e}"))?;
    sinks.rows.lock().map_err(|_| anyhow!("a worker failed"))?.extend(batch)?;
    let rules = Rules { allow_empty: ctx.rules.allow_empty || allow_missing, ..ctx.rules };
    check_history(read.rows, read.unreadable_count, &rules).with_context(|| format!("historical file {place}"))?;
    Ok(read)
}

/// One record of the history.
fn take_record(record: Record<'_>, read: &mut HistoryRead, batch: &mut Vec<Keyed>) {
    match record {
        Record::Row(row) => {
            read.rows += 1;
            batch.push(Keyed { row: row.to_row(), origin: 0, line: read.rows });
        }
        Record::Placeholder => read.placeholder_rows += 1,
        Record::Bad(bad) => {
            read.unreadable_count += 1;
            if read.unreadable.len() < MAX_LISTED_PROBLEMS {
                read.unreadable.push(bad);
            }
        }
    }
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
    let (sinks, mut sorted) = self::sinks(ctx);
    // Read the history first: no point scanning if it cannot be used.
    let read = read_history(ctx, &history.place, history.allow_missing, &sinks).await?;
    let run = scan(ctx, items, spec, Some(sinks.clone())).await?;
    let (keyed, details) = into_parts(sinks)?;
    let settled = settle(keyed, Some(history.prefer), Some(&mut sorted))?;
    let spilled = settled.spilled + sorted.spilled;
    let mut stats = run.finish_streamed(&settled.totals, settled.by_source, settled.repeated_keys)?;
    stats.historical_rows = Some(read.rows);
    stats.historical_placeholder_rows = Some(read.placeholder_rows);
    stats.historical_unreadable_rows = Some(read.unreadable);
    stats.new_rows = Some(settled.new_rows);
    stats.duplicates_dropped = Some(settled.dropped);
    stats.prefer = Some(history.prefer.as_str().into());
    check_scan(&stats, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    let previous = match ctx.layout.format {
        Format::Csv => previous_rows(ctx, out).await?,
        Format::Parquet => crate::output::previous_rows(ctx, out, ctx.layout).await?.unwrap_or(0),
    };
    check_shrink(previous, stats.total_records, &ctx.rules).map_err(|r| refuse(r, &stats))?;
    if ctx.dry_run {
        return Ok(Output { location: out.to_string(), stats, detail: None, partitions: None, spilled });
    }
    let partitions = write_rows(ctx, out, sorted.into_sorted()?, ctx.layout).await?;
    let output = Output { location: out.to_string(), stats, detail: None, partitions, spilled };
    Ok(write_details(ctx, details, output).await)
}
