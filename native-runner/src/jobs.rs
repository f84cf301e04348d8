//! The two jobs over local dumps and files: read items on one thread, parse
//! and price them on the others (each with its own `Run`, merged at the end),
//! then write the output all or nothing.

use std::io::BufRead;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use tally_core::consolidate::{consolidate_run, Prefer};
use tally_core::csv::{read_rows, to_csv_bytes, ReadRows, Row};
use tally_core::item::{detect_format, item_from_export_line, DumpError, DumpFormat, DumpPlace, ScanJson};
use tally_core::job::{JobSpec, Run};
use tally_core::stats::Stats;

use crate::aws::{AwsOptions, Clients};
use crate::ddb::LargeMessages;
use crate::location::{read_optional, write_atomically, DumpSource, Place};
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
pub fn scan_dump(source: &DumpSource, spec: &JobSpec, workers: usize, progress: &Progress) -> Result<Run> {
    let workers = workers.max(1);
    let (tx, rx) = sync_channel::<Batch>(workers * 4);
    let rx = std::sync::Mutex::new(rx);
    let file_names: Vec<String> = Vec::new();
    let file_names = std::sync::Mutex::new(file_names);
    std::thread::scope(|scope| -> Result<Run> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                let file_names = &file_names;
                scope.spawn(move || {
                    let mut run = Run::new(spec.clone());
                    loop {
                        let batch = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = batch else { break };
                        match batch {
                            Batch::Lines { file, first_line, lines } => {
                                let multi = file_names.lock().map(|f| f.len() > 1).unwrap_or(false);
                                for (k, line) in lines.iter().enumerate() {
                                    match item_from_export_line(line) {
                                        Ok(item) => run.push(&item),
                                        Err(message) => {
                                            let n = first_line + k as u64;
                                            let place = DumpPlace::Line(n);
                                            let message = if multi {
                                                let name = file_names.lock().ok().and_then(|f| f.get(file).cloned());
                                                format!("{}: {message}", name.unwrap_or_default())
                                            } else {
                                                message
                                            };
                                            run.dump_error(&DumpError { place, message, fatal: false });
                                        }
                                    }
                                }
                            }
                            Batch::Items(items) => {
                                for item in items {
                                    match item {
                                        Ok(item) => run.push(&item),
                                        Err(e) => run.dump_error(&e),
                                    }
                                }
                            }
                        }
                    }
                    run
                })
            })
            .collect();

        let read = (|| -> Result<()> {
            for (k, opened) in source.readers().enumerate() {
                let (name, mut reader) = opened?;
                if let Ok(mut names) = file_names.lock() {
                    names.push(name.clone());
                }
                let format = detect_format(reader.fill_buf().with_context(|| format!("cannot read {name}"))?);
                match format {
                    DumpFormat::JsonLines => read_lines(k, &name, reader, &tx, progress)?,
                    DumpFormat::ScanJson => {
                        let mut batch = Vec::with_capacity(BATCH);
                        for item in ScanJson::new(reader) {
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
        let mut runs = handles.into_iter().map(|h| h.join().map_err(|_| anyhow!("a worker thread panicked")));
        let mut total = runs.next().unwrap_or_else(|| Ok(Run::new(spec.clone())))?;
        for run in runs {
            total.merge(run?);
        }
        read.with_context(|| format!("reading dump {}", source.shown()))?;
        progress.finish();
        Ok(total)
    })
}

fn read_lines(
    file: usize,
    name: &str,
    mut reader: Box<dyn BufRead + Send>,
    tx: &std::sync::mpsc::SyncSender<Batch>,
    progress: &Progress,
) -> Result<()> {
    let mut line_no = 0u64;
    let mut first_line = 1u64;
    let mut lines: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let n =
            reader.read_until(b'\n', &mut buf).with_context(|| format!("{name}: read error after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let mut text = buf.as_slice();
        if line_no == 1 {
            text = text.strip_prefix("\u{feff}".as_bytes()).unwrap_or(text);
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            if lines.is_empty() {
                first_line = line_no + 1;
            } else {
                // Keep numbering exact: a blank line inside a batch ends it.
                progress.add(lines.len() as u64);
                tx.send(Batch::Lines { file, first_line, lines: std::mem::take(&mut lines) })
                    .map_err(|_| anyhow!("workers stopped"))?;
                first_line = line_no + 1;
            }
            continue;
        }
        lines.push(text.to_vec());
        if lines.len() == BATCH {
            progress.add(lines.len() as u64);
            tx.send(Batch::Lines { file, first_line, lines: std::mem::take(&mut lines) })
                .map_err(|_| anyhow!("workers stopped"))?;
            first_line = line_no + 1;
        }
    }
    if !lines.is_empty() {
        progress.add(lines.len() as u64);
        tx.send(Batch::Lines { file, first_line, lines }).map_err(|_| anyhow!("workers stopped"))?;
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
}

impl Ctx {
    /// A context; AWS is only contacted when a location needs it.
    pub fn new(aws: AwsOptions, workers: usize, segments: i32, quiet: bool) -> Ctx {
        Ctx { aws, workers, segments, quiet, ..Ctx::default() }
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
            crate::ddb::scan(ctx.clients().await, name, ctx.segments, spec, ctx.large.clone(), progress).await
        }
        Items::Dump(place) => {
            let source = match place {
                Place::Local(path) => DumpSource::local(path)?,
                Place::S3(url) => DumpSource::s3(&ctx.clients().await.s3, url).await?,
            };
            let (spec, workers, quiet) = (spec.clone(), ctx.workers, ctx.quiet);
            tokio::task::spawn_blocking(move || {
                let progress = Progress::new(format!("reading {}", source.shown()), quiet);
                scan_dump(&source, &spec, workers, &progress)
            })
            .await
            .context("the dump reader stopped")?
        }
    }
}

/// Reads a whole CSV; `Ok(None)` when it does not exist.
pub async fn read_place(ctx: &Ctx, place: &Place) -> Result<Option<Vec<u8>>> {
    match place {
        Place::Local(path) => read_optional(path),
        Place::S3(url) => crate::s3::get_optional(&ctx.clients().await.s3, url).await,
    }
}

/// Writes the CSV all or nothing.
pub async fn publish(ctx: &Ctx, place: &Place, rows: &[Row]) -> Result<()> {
    let bytes = to_csv_bytes(rows);
    match place {
        Place::Local(path) => write_atomically(path, &bytes).with_context(|| format!("writing {}", path.display())),
        Place::S3(url) => crate::s3::put(&ctx.clients().await.s3, url, bytes, &ctx.sse).await,
    }
}

/// Where a job's output went and what it reports.
#[derive(Debug)]
pub struct Output {
    /// Where the CSV was written.
    pub location: String,
    /// The run's statistics.
    pub stats: Stats,
}

/// The archival job: items to CSV.
pub async fn archive(ctx: &Ctx, items: &Items, spec: &JobSpec, out: &Place) -> Result<Output> {
    let run = scan(ctx, items, spec).await?;
    let (rows, stats) = run.finish();
    publish(ctx, out, &rows).await?;
    Ok(Output { location: out.to_string(), stats })
}

/// Reads the historical CSV: a missing file is an error unless allowed; an
/// unreadable one always is.
pub async fn read_history(ctx: &Ctx, place: &Place, allow_missing: bool) -> Result<ReadRows> {
    match read_place(ctx, place).await? {
        Some(bytes) => read_rows(&bytes).with_context(|| format!("historical file {place} is unreadable")),
        None if allow_missing => Ok(ReadRows::default()),
        None => bail!(
            "historical file {place} does not exist: run the archival job first, or pass \
             --allow-missing-historical to consolidate without history"
        ),
    }
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
    // Read the history first: no point scanning if it cannot be used.
    let rows = read_history(ctx, &history.place, history.allow_missing).await?;
    let run = scan(ctx, items, spec).await?;
    let (rows, stats) = consolidate_run(rows, run, history.prefer);
    publish(ctx, out, &rows).await?;
    Ok(Output { location: out.to_string(), stats })
}
