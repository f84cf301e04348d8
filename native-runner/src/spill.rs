//! Memory that stays flat: rows (and the users report's conversations) are
//! sorted in memory up to a budget, then spilled to disk as sorted runs and
//! merged back as one sorted stream. Below the budget nothing touches the
//! disk; above it the output is the same, byte for byte.
//!
//! Run files are created in the spill folder (`--spill-dir`, default the
//! system's temporary folder) and unlinked at once: they vanish with the
//! process, whatever way it ends.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use tally_core::billed::{Billing, Call, Turn};
use tally_core::consolidate::{keep, key_order, Keyed, Prefer};
use tally_core::csv::Row;
use tally_core::dates::Day;
use tally_core::detail::{chunk_order, pending_order, Chunk, DetailRow, Pending};
use tally_core::job::Run;
use tally_core::stats::Totals;
use tally_core::users::{conversation_order, Conversation};

/// A value that can be written to a run file and read back.
pub trait Spill: Sized + Send {
    /// Appends its bytes.
    fn encode(&self, out: &mut Vec<u8>);
    /// Reads one back.
    fn decode(input: &mut &[u8]) -> Option<Self>;
    /// About how many bytes of memory it holds.
    fn weight(&self) -> usize;
}

// --- encoding ----------------------------------------------------------------

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_opt(out: &mut Vec<u8>, v: Option<i64>) {
    out.push(u8::from(v.is_some()));
    out.extend_from_slice(&v.unwrap_or(0).to_le_bytes());
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn get_u64(input: &mut &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(take(input, 8)?.try_into().ok()?))
}

fn get_opt(input: &mut &[u8]) -> Option<Option<i64>> {
    let some = take(input, 1)?[0] == 1;
    let v = i64::from_le_bytes(take(input, 8)?.try_into().ok()?);
    Some(some.then_some(v))
}

fn get_string(input: &mut &[u8]) -> Option<String> {
    let n = usize::try_from(get_u64(input)?).ok()?;
    String::from_utf8(take(input, n)?.to_vec()).ok()
}

fn put_decimal(out: &mut Vec<u8>, d: Decimal) {
    out.extend_from_slice(&d.serialize());
}

fn get_decimal(input: &mut &[u8]) -> Option<Decimal> {
    Some(Decimal::deserialize(take(input, 16)?.try_into().ok()?))
}

/// Bytes a value's allocations take besides its own size (the allocator's
/// share included).
const ALLOC: usize = 32;

impl Spill for Row {
    fn encode(&self, out: &mut Vec<u8>) {
        put_opt(out, self.create_date);
        put_u64(out, self.input_token);
        put_u64(out, self.output_token);
        for d in [self.precio_token_input, self.precio_token_output, self.total_price] {
            put_decimal(out, d);
        }
        for s in [&self.pk, &self.sk, &self.source] {
            put_bytes(out, s.as_bytes());
        }
    }

    fn decode(input: &mut &[u8]) -> Option<Row> {
        Some(Row {
            create_date: get_opt(input)?,
            input_token: get_u64(input)?,
            output_token: get_u64(input)?,
            precio_token_input: get_decimal(input)?,
            precio_token_output: get_decimal(input)?,
            total_price: get_decimal(input)?,
            pk: get_string(input)?,
            sk: get_string(input)?,
            source: get_string(input)?,
        })
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Row>() + self.pk.capacity() + self.sk.capacity() + self.source.capacity() + 3 * ALLOC
    }
}

impl Spill for Keyed {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.origin);
        put_u64(out, self.line);
        self.row.encode(out);
    }

    fn decode(input: &mut &[u8]) -> Option<Keyed> {
        let origin = take(input, 1)?[0];
        let line = get_u64(input)?;
        Some(Keyed { row: Row::decode(input)?, origin, line })
    }

    fn weight(&self) -> usize {
        self.row.weight() + 16
    }
}

impl Spill for Conversation {
    fn encode(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.pk.as_bytes());
        put_bytes(out, self.sk.as_bytes());
        put_opt(out, self.created);
        put_opt(out, self.last);
        put_u64(out, self.questions.len() as u64);
        for q in &self.questions {
            put_bytes(out, q.as_bytes());
        }
        put_u64(out, self.likes);
        put_u64(out, self.dislikes);
        put_u64(out, self.tokens);
        put_decimal(out, self.cost);
    }

    fn decode(input: &mut &[u8]) -> Option<Conversation> {
        let pk = get_string(input)?;
        let sk = get_string(input)?;
        let created = get_opt(input)?;
        let last = get_opt(input)?;
        let n = usize::try_from(get_u64(input)?).ok()?;
        let mut questions = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            questions.push(get_string(input)?);
        }
        Some(Conversation {
            pk,
            sk,
            created,
            last,
            questions,
            likes: get_u64(input)?,
            dislikes: get_u64(input)?,
            tokens: get_u64(input)?,
            cost: get_decimal(input)?,
        })
    }

    fn weight(&self) -> usize {
        let questions: usize = self.questions.iter().map(|q| q.capacity() + ALLOC + 24).sum();
        std::mem::size_of::<Conversation>() + self.pk.capacity() + self.sk.capacity() + 2 * ALLOC + questions
    }
}

fn put_opt_decimal(out: &mut Vec<u8>, d: Option<Decimal>) {
    out.push(u8::from(d.is_some()));
    put_decimal(out, d.unwrap_or_default());
}

fn get_opt_decimal(input: &mut &[u8]) -> Option<Option<Decimal>> {
    let some = take(input, 1)?[0] == 1;
    let d = get_decimal(input)?;
    Some(some.then_some(d))
}

impl Spill for Pending {
    fn encode(&self, out: &mut Vec<u8>) {
        self.row.encode(out);
        put_bytes(out, self.bot_id.as_bytes());
        put_opt_decimal(out, self.recorded);
        put_opt(out, self.last_date);
        let b = &self.billing;
        put_u64(out, b.unsized_media);
        out.push(u8::from(b.broken_path) | (u8::from(b.uses_tools) << 1));
        put_u64(out, b.turns.len() as u64);
        for t in &b.turns {
            put_bytes(out, t.id.as_bytes());
            out.push(u8::from(t.on_path));
            put_bytes(out, t.model.as_bytes());
            put_u64(out, t.calls.len() as u64);
            for c in &t.calls {
                put_bytes(out, c.model.as_bytes());
                put_opt(out, c.day.map(|d| d.0));
                put_u64(out, c.input);
                put_u64(out, c.output);
            }
        }
    }

    fn decode(input: &mut &[u8]) -> Option<Pending> {
        let row = Row::decode(input)?;
        let bot_id = get_string(input)?;
        let recorded = get_opt_decimal(input)?;
        let last_date = get_opt(input)?;
        let unsized_media = get_u64(input)?;
        let flags = take(input, 1)?[0];
        let mut turns = Vec::new();
        for _ in 0..get_u64(input)? {
            let id = get_string(input)?;
            let on_path = take(input, 1)?[0] == 1;
            let model = get_string(input)?;
            let mut calls = Vec::new();
            for _ in 0..get_u64(input)? {
                calls.push(Call {
                    model: get_string(input)?,
                    day: get_opt(input)?.map(Day),
                    input: get_u64(input)?,
                    output: get_u64(input)?,
                });
            }
            turns.push(Turn { id, on_path, model, calls });
        }
        let billing = Billing { turns, unsized_media, broken_path: flags & 1 != 0, uses_tools: flags & 2 != 0 };
        Some(Pending { row, bot_id, recorded, billing, last_date })
    }

    fn weight(&self) -> usize {
        let turns: usize = self
            .billing
            .turns
            .iter()
            .map(|t| {
                std::mem::size_of::<Turn>()
                    + t.id.capacity()
                    + t.model.capacity()
                    + t.calls.iter().map(|c| std::mem::size_of::<Call>() + c.model.capacity() + ALLOC).sum::<usize>()
                    + 3 * ALLOC
            })
            .sum();
        self.row.weight() + std::mem::size_of::<Pending>() + self.bot_id.capacity() + turns + 2 * ALLOC
    }
}

impl Spill for Chunk {
    fn encode(&self, out: &mut Vec<u8>) {
        for s in [&self.pk, &self.conversation, &self.message] {
            put_bytes(out, s.as_bytes());
        }
        put_u64(out, self.tokens);
    }

    fn decode(input: &mut &[u8]) -> Option<Chunk> {
        Some(Chunk {
            pk: get_string(input)?,
            conversation: get_string(input)?,
            message: get_string(input)?,
            tokens: get_u64(input)?,
        })
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Chunk>()
            + self.pk.capacity()
            + self.conversation.capacity()
            + self.message.capacity()
            + 3 * ALLOC
    }
}

impl Spill for DetailRow {
    fn encode(&self, out: &mut Vec<u8>) {
        self.row.encode(out);
        for s in [&self.bot_id, &self.model, &self.models] {
            put_bytes(out, s.as_bytes());
        }
        put_u64(out, u64::from(self.turns));
        put_opt(out, self.last_date);
        put_opt_decimal(out, self.recorded_price);
        put_u64(out, self.billed_input_token);
        put_u64(out, self.billed_output_token);
        put_decimal(out, self.billed_price);
    }

    fn decode(input: &mut &[u8]) -> Option<DetailRow> {
        Some(DetailRow {
            row: Row::decode(input)?,
            bot_id: get_string(input)?,
            model: get_string(input)?,
            models: get_string(input)?,
            turns: u32::try_from(get_u64(input)?).ok()?,
            last_date: get_opt(input)?,
            recorded_price: get_opt_decimal(input)?,
            billed_input_token: get_u64(input)?,
            billed_output_token: get_u64(input)?,
            billed_price: get_decimal(input)?,
        })
    }

    fn weight(&self) -> usize {
        self.row.weight() + self.bot_id.capacity() + self.model.capacity() + self.models.capacity() + 120
    }
}

/// A detail row's error, for the median and the 90th percentile.
impl Spill for Decimal {
    fn encode(&self, out: &mut Vec<u8>) {
        put_decimal(out, *self);
    }

    fn decode(input: &mut &[u8]) -> Option<Decimal> {
        get_decimal(input)
    }

    fn weight(&self) -> usize {
        16
    }
}

/// The seed's order of detail rows.
pub fn detail_order(a: &DetailRow, b: &DetailRow) -> Ordering {
    Row::output_order(&a.row, &b.row)
}

// --- the sorter --------------------------------------------------------------

/// A scratch file: created in `dir`, unlinked at once.
pub fn scratch_file(dir: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    for attempt in 0..8u32 {
        let name = format!(
            ".tally-spill-{}-{}-{attempt}",
            std::process::id(),
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
        );
        let path = dir.join(name);
        match fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => {
                let _ = fs::remove_file(&path);
                return Ok(f);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create a spill file in {}", dir.display())),
        }
    }
    bail!("cannot create a spill file in {}", dir.display())
}

/// Sorts values of any number in bounded memory.
pub struct Sorter<T> {
    buf: Vec<T>,
    weight: usize,
    budget: usize,
    cmp: fn(&T, &T) -> Ordering,
    dir: PathBuf,
    runs: Vec<fs::File>,
    /// Values written to run files.
    pub spilled: u64,
}

impl<T> std::fmt::Debug for Sorter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sorter").field("held", &self.buf.len()).field("runs", &self.runs.len()).finish()
    }
}

impl<T: Spill> Sorter<T> {
    /// A sorter holding about `budget` bytes before it spills to `dir`.
    pub fn new(budget: usize, dir: &Path, cmp: fn(&T, &T) -> Ordering) -> Sorter<T> {
        Sorter { buf: Vec::new(), weight: 0, budget, cmp, dir: dir.to_path_buf(), runs: Vec::new(), spilled: 0 }
    }

    /// Takes a value.
    pub fn push(&mut self, value: T) -> Result<()> {
        self.weight += value.weight();
        self.buf.push(value);
        if self.weight > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Takes many.
    pub fn extend(&mut self, values: Vec<T>) -> Result<()> {
        for v in values {
            self.push(v)?;
        }
        Ok(())
    }

    /// Run files written so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    fn spill(&mut self) -> Result<()> {
        let cmp = self.cmp;
        self.buf.sort_by(cmp);
        let file = scratch_file(&self.dir)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let mut bytes = Vec::with_capacity(1024);
        for v in self.buf.drain(..) {
            bytes.clear();
            v.encode(&mut bytes);
            w.write_all(&(bytes.len() as u64).to_le_bytes())?;
            w.write_all(&bytes)?;
            self.spilled += 1;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error()).context("writing a spill file")?;
        file.flush()?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push(file);
        self.weight = 0;
        if self.runs.len() >= MAX_RUNS {
            self.compact()?;
        }
        Ok(())
    }

    /// Merges every run file into one (the open files stay few).
    fn compact(&mut self) -> Result<()> {
        let cmp = self.cmp;
        let merged = merge(std::mem::take(&mut self.runs).into_iter().map(Source::from_file).collect(), cmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, scratch_file(&self.dir)?);
        let mut bytes = Vec::with_capacity(1024);
        for v in merged {
            bytes.clear();
            v?.encode(&mut bytes);
            w.write_all(&(bytes.len() as u64).to_le_bytes())?;
            w.write_all(&bytes)?;
        }
        let mut file = w.into_inner().map_err(|e| e.into_error()).context("writing a spill file")?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push(file);
        Ok(())
    }

    /// Every value, in order (ties: in the order they came).
    pub fn into_sorted(mut self) -> Result<Sorted<T>> {
        let cmp = self.cmp;
        if self.runs.is_empty() {
            self.buf.sort_by(cmp);
            return Ok(Sorted::Memory(self.buf.into_iter()));
        }
        // Once on disk, all on disk: the rest of the budget is for whatever
        // the merged values feed (the next sort, the output).
        if !self.buf.is_empty() {
            self.spill()?;
        }
        self.buf = Vec::new();
        let mut sources: Vec<Source<T>> = self.runs.into_iter().map(Source::from_file).collect();
        sources.push(Source::Memory(self.buf.into_iter()));
        merge(sources, cmp)
    }
}

/// Run files open at once before they are merged into one.
const MAX_RUNS: usize = 64;

/// The sources merged in order.
fn merge<T: Spill>(mut sources: Vec<Source<T>>, cmp: fn(&T, &T) -> Ordering) -> Result<Sorted<T>> {
    let mut heap = BinaryHeap::with_capacity(sources.len());
    for (k, s) in sources.iter_mut().enumerate() {
        if let Some(v) = s.next()? {
            heap.push(Head { value: v, source: k, cmp });
        }
    }
    Ok(Sorted::Merge { heap, sources })
}

/// Where a merge reads values from.
pub enum Source<T> {
    /// A run file.
    File(BufReader<fs::File>, Vec<u8>),
    /// The values still in memory.
    Memory(std::vec::IntoIter<T>),
}

impl<T> std::fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::File(..) => "Source::File",
            Source::Memory(_) => "Source::Memory",
        })
    }
}

impl<T> std::fmt::Debug for Head<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head").field("source", &self.source).finish_non_exhaustive()
    }
}

impl<T: Spill> Source<T> {
    fn from_file(f: fs::File) -> Source<T> {
        Source::File(BufReader::with_capacity(64 << 10, f), Vec::new())
    }

    fn next(&mut self) -> Result<Option<T>> {
        match self {
            Source::Memory(it) => Ok(it.next()),
            Source::File(r, bytes) => {
                let mut len = [0u8; 8];
                match r.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e).context("reading a spill file"),
                }
                // One buffer per run file, reused for each record.
                bytes.resize(usize::try_from(u64::from_le_bytes(len))?, 0);
                r.read_exact(bytes).context("reading a spill file")?;
                let mut input = bytes.as_slice();
                T::decode(&mut input).map(Some).context("a spill file is damaged")
            }
        }
    }
}

/// The next value of one source, ordered for a min-heap (ties: the earlier source).
pub struct Head<T> {
    value: T,
    source: usize,
    cmp: fn(&T, &T) -> Ordering,
}

impl<T> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Head<T> {}

impl<T> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.cmp)(&other.value, &self.value).then_with(|| other.source.cmp(&self.source))
    }
}

/// A sorter's values in order.
pub enum Sorted<T> {
    /// Everything fit in memory.
    Memory(std::vec::IntoIter<T>),
    /// Run files and the rest, merged.
    Merge { heap: BinaryHeap<Head<T>>, sources: Vec<Source<T>> },
}

impl<T> std::fmt::Debug for Sorted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sorted")
    }
}

impl<T: Spill> Iterator for Sorted<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        match self {
            Sorted::Memory(it) => it.next().map(Ok),
            Sorted::Merge { heap, sources } => {
                let head = heap.pop()?;
                match sources[head.source].next() {
                    Ok(Some(v)) => heap.push(Head { value: v, source: head.source, cmp: head.cmp }),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                Some(Ok(head.value))
            }
        }
    }
}

// --- one row per key ----------------------------------------------------------

/// What the rows of a job add up to, once each (pk, sk) is settled.
#[derive(Debug, Default)]
pub struct Settled {
    /// The rows kept.
    pub totals: Totals,
    /// Rows kept per source.
    pub by_source: BTreeMap<String, u64>,
    /// New rows whose (pk, sk) an earlier new row had.
    pub repeated_keys: u64,
    /// Rows dropped as duplicates (consolidation only).
    pub dropped: u64,
    /// New rows.
    pub new_rows: u64,
    /// Rows the key sort spilled to disk.
    pub spilled: u64,
}

/// Goes through the rows by (pk, sk): with `prefer`, keeps one row per
/// key (the first of the history-then-new order, or the last with
/// `Prefer::New`), else every row; counts them, and hands the kept rows to
/// `out` (when the job writes them).
pub fn settle(keyed: Sorter<Keyed>, prefer: Option<Prefer>, mut out: Option<&mut Sorter<Row>>) -> Result<Settled> {
    let mut s = Settled::default();
    let mut group: Vec<Keyed> = Vec::new();
    let mut flush = |group: &mut Vec<Keyed>, s: &mut Settled| -> Result<()> {
        let new = group.iter().filter(|k| k.origin == 1).count() as u64;
        s.new_rows += new;
        s.repeated_keys += new.saturating_sub(1);
        let kept: Vec<Keyed> = match prefer {
            None => std::mem::take(group),
            Some(p) => {
                s.dropped += group.len() as u64 - 1;
                keep(group, p).into_iter().collect()
            }
        };
        for k in kept {
            s.totals.add(&k.row)?;
            // The few sources are counted without a copy of each row's name.
            match s.by_source.get_mut(&k.row.source) {
                Some(n) => *n += 1,
                None => {
                    s.by_source.insert(k.row.source.clone(), 1);
                }
            }
            if let Some(out) = out.as_deref_mut() {
                out.push(k.row)?;
            }
        }
        Ok(())
    };
    s.spilled = keyed.spilled;
    for k in keyed.into_sorted()? {
        let k = k?;
        if group.last().is_some_and(|g| g.row.pk != k.row.pk || g.row.sk != k.row.sk) {
            flush(&mut group, &mut s)?;
        }
        group.push(k);
    }
    if !group.is_empty() {
        flush(&mut group, &mut s)?;
    }
    Ok(s)
}

// --- what the scan workers hand over ----------------------------------------

/// Where a job's runs put their rows (and users' conversations) as they
/// go, so that no worker holds more than a batch of them.
#[derive(Debug)]
pub struct Sinks {
    /// The rows, by key ([`key_order`]).
    pub rows: Mutex<Sorter<Keyed>>,
    /// The users report's conversations.
    pub users: Mutex<Sorter<Conversation>>,
    /// The detail rows' conversations, by (PK, conversation id).
    pub details: Mutex<Sorter<Pending>>,
    /// Their retrieved chunks, the same way.
    pub chunks: Mutex<Sorter<Chunk>>,
    /// Bots seen calling a tool.
    pub tool_bots: Mutex<BTreeSet<String>>,
}

/// Rows or conversations a worker gathers before handing them over.
const HAND_OVER: usize = 2048;

impl Sinks {
    /// Sinks holding about `rows`, `users` and `details` bytes before they spill to `dir`.
    pub fn new(rows: usize, users: usize, details: usize, dir: &Path) -> Arc<Sinks> {
        Arc::new(Sinks {
            rows: Mutex::new(Sorter::new(rows, dir, key_order)),
            users: Mutex::new(Sorter::new(users, dir, conversation_order)),
            details: Mutex::new(Sorter::new(details / 4 * 3, dir, pending_order)),
            chunks: Mutex::new(Sorter::new(details / 4, dir, chunk_order)),
            tool_bots: Mutex::new(BTreeSet::new()),
        })
    }

    /// Takes `run`'s rows and conversations when it holds a batch of them
    /// (or all of them, when `all`).
    pub fn drain(&self, run: &mut Run, all: bool) -> Result<()> {
        if all || run.pending_rows() >= HAND_OVER {
            let rows: Vec<Keyed> = run.take_rows().into_iter().map(|row| Keyed { row, origin: 1, line: 0 }).collect();
            self.rows.lock().map_err(|_| anyhow::anyhow!("a worker failed"))?.extend(rows)?;
        }
        if let Some(details) = run.details_mut() {
            if all || details.pending() >= HAND_OVER {
                let (conversations, chunks, bots) = details.take();
                let failed = || anyhow::anyhow!("a worker failed");
                self.details.lock().map_err(|_| failed())?.extend(conversations)?;
                self.chunks.lock().map_err(|_| failed())?.extend(chunks)?;
                self.tool_bots.lock().map_err(|_| failed())?.extend(bots);
            }
        }
        if let Some(users) = run.users_mut() {
            if all || users.pending() >= HAND_OVER {
                let conversations = users.take_conversations();
                self.users.lock().map_err(|_| anyhow::anyhow!("a worker failed"))?.extend(conversations)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: u64) -> Row {
        Row {
            create_date: (k % 7 != 0).then_some((k * 7919 % 1000) as i64),
            input_token: k,
            output_token: k * 3,
            precio_token_input: Decimal::new(k as i64, 6),
            precio_token_output: Decimal::new(3 * k as i64, 6),
            total_price: Decimal::new(4 * k as i64, 6),
            pk: format!("user-{}", k % 13),
            sk: format!("user-{}#CONV#{k}", k % 13),
            source: "new_table".into(),
        }
    }

    #[test]
    fn values_read_back_as_written() {
        let r = row(12);
        let mut bytes = Vec::new();
        r.encode(&mut bytes);
        assert_eq!(Row::decode(&mut bytes.as_slice()), Some(r.clone()));
        let c = Conversation {
            pk: "p".into(),
            sk: "s".into(),
            created: Some(-5),
            last: None,
            questions: vec!["¿qué?".into(), String::new()],
            likes: 1,
            dislikes: 2,
            tokens: 3,
            cost: Decimal::new(123_456, 6),
        };
        bytes.clear();
        c.encode(&mut bytes);
        assert_eq!(Conversation::decode(&mut bytes.as_slice()), Some(c));
        assert_eq!(Row::decode(&mut &bytes[..3]), None, "a cut record is no record");
    }

    #[test]
    fn a_small_budget_spills_and_sorts_the_same() {
        let dir = std::env::temp_dir();
        let rows: Vec<Row> = (0..5000).map(|k| row(k * 7 % 5000)).collect();
        let mut want = rows.clone();
        want.sort_by(Row::output_order);
        for budget in [1, 10_000, 100_000, usize::MAX] {
            let mut sorter = Sorter::new(budget, &dir, Row::output_order);
            sorter.extend(rows.clone()).expect("push");
            let spilled = sorter.runs() > 0;
            assert_eq!(spilled, budget < usize::MAX, "budget {budget}");
            let got: Vec<Row> = sorter.into_sorted().expect("sorted").map(|r| r.expect("row")).collect();
            assert!(got == want, "budget {budget}");
        }
    }
}
