//! The two jobs over local dumps and files: read items on one thread, parse
//! and price them on the others (each with its own `Run`, merged at the end),
//! then write the output all or nothing.

use std::io::BufRead;
use std::path::Path;
use std::sync::mpsc::sync_channel;

use anyhow::{anyhow, bail, Context, Result};
use tally_core::consolidate::{consolidate_run, Prefer};
use tally_core::csv::{read_rows, to_csv_bytes, ReadRows, Row};
use tally_core::item::{
    detect_format, item_from_export_line, DumpError, DumpFormat, DumpPlace, ScanJson,
};
use tally_core::job::{JobSpec, Run};
use tally_core::stats::Stats;

use crate::location::{read_optional, write_atomically, DumpSource};
use crate::progress::Progress;

/// Lines handed to a worker at a time.
const BATCH: usize = 256;

enum Batch {
    /// Export lines, the first being line `first_line` of `file`.
    Lines {
        file: usize,
        first_line: u64,
        lines: Vec<Vec<u8>>,
    },
    /// Items already parsed (scan documents are split on the reader thread).
    Items(Vec<Result<tally_core::Item, DumpError>>),
}

/// Runs `spec` over every item of the dump, on `workers` threads.
pub fn scan_dump(
    source: &DumpSource,
    spec: &JobSpec,
    workers: usize,
    progress: &Progress,
) -> Result<Run> {
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
                            Batch::Lines {
                                file,
                                first_line,
                                lines,
                            } => {
                                let multi = file_names.lock().map(|f| f.len() > 1).unwrap_or(false);
                                for (k, line) in lines.iter().enumerate() {
                                    match item_from_export_line(line) {
                                        Ok(item) => run.push(&item),
                                        Err(message) => {
                                            let n = first_line + k as u64;
                                            let place = DumpPlace::Line(n);
                                            let message = if multi {
                                                let name = file_names
                                                    .lock()
                                                    .ok()
                                                    .and_then(|f| f.get(file).cloned());
                                                format!("{}: {message}", name.unwrap_or_default())
                                            } else {
                                                message
                                            };
                                            run.dump_error(&DumpError {
                                                place,
                                                message,
                                                fatal: false,
                                            });
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
                let format = detect_format(
                    reader
                        .fill_buf()
                        .with_context(|| format!("cannot read {name}"))?,
                );
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
                        tx.send(Batch::Items(batch))
                            .map_err(|_| anyhow!("workers stopped"))?;
                    }
                }
            }
            Ok(())
        })();
        drop(tx);
        let mut runs = handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a worker thread panicked")));
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
        let n = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{name}: read error after line {line_no}"))?;
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
                tx.send(Batch::Lines {
                    file,
                    first_line,
                    lines: std::mem::take(&mut lines),
                })
                .map_err(|_| anyhow!("workers stopped"))?;
                first_line = line_no + 1;
            }
            continue;
        }
        lines.push(text.to_vec());
        if lines.len() == BATCH {
            progress.add(lines.len() as u64);
            tx.send(Batch::Lines {
                file,
                first_line,
                lines: std::mem::take(&mut lines),
            })
            .map_err(|_| anyhow!("workers stopped"))?;
            first_line = line_no + 1;
        }
    }
    if !lines.is_empty() {
        progress.add(lines.len() as u64);
        tx.send(Batch::Lines {
            file,
            first_line,
            lines,
        })
        .map_err(|_| anyhow!("workers stopped"))?;
    }
    Ok(())
}

/// Where a job's output goes and what it reports.
#[derive(Debug)]
pub struct Output {
    /// Where the CSV was written.
    pub location: String,
    /// The run's statistics.
    pub stats: Stats,
}

/// The archival job: dump to CSV.
pub fn archive(
    source: &DumpSource,
    spec: &JobSpec,
    out: &Path,
    workers: usize,
    quiet: bool,
) -> Result<Output> {
    let progress = Progress::new(format!("reading {}", source.shown()), quiet);
    let run = scan_dump(source, spec, workers, &progress)?;
    let (rows, stats) = run.finish();
    publish(out, &rows)?;
    Ok(Output {
        location: out.display().to_string(),
        stats,
    })
}

/// Reads the historical CSV: a missing file is an error unless allowed; an
/// unreadable one always is.
pub fn read_history(path: &Path, allow_missing: bool) -> Result<ReadRows> {
    match read_optional(path)? {
        Some(bytes) => read_rows(&bytes)
            .with_context(|| format!("historical file {} is unreadable", path.display())),
        None if allow_missing => Ok(ReadRows::default()),
        None => bail!(
            "historical file {} does not exist: run the archival job first, or pass \
             --allow-missing-historical to consolidate without history",
            path.display()
        ),
    }
}

/// The history a consolidation merges in.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    /// The historical CSV.
    pub path: &'a Path,
    /// Whether a missing file means "no history" rather than an error.
    pub allow_missing: bool,
    /// Which row wins a repeated (pk, sk).
    pub prefer: Prefer,
}

/// The daily job: dump plus history to the consolidated CSV.
pub fn consolidate(
    source: &DumpSource,
    spec: &JobSpec,
    history: History<'_>,
    out: &Path,
    workers: usize,
    quiet: bool,
) -> Result<Output> {
    // Read the history first: no point scanning if it cannot be used.
    let rows = read_history(history.path, history.allow_missing)?;
    let progress = Progress::new(format!("reading {}", source.shown()), quiet);
    let run = scan_dump(source, spec, workers, &progress)?;
    let (rows, stats) = consolidate_run(rows, run, history.prefer);
    publish(out, &rows)?;
    Ok(Output {
        location: out.display().to_string(),
        stats,
    })
}

fn publish(out: &Path, rows: &[Row]) -> Result<()> {
    write_atomically(out, &to_csv_bytes(rows)).with_context(|| format!("writing {}", out.display()))
}
