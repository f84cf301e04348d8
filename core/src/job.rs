//! The jobs as pure functions: an item in, a priced row (or the reason there
//! is none) out, and a [`Run`] that gathers rows and counters as items
//! arrive, in any order and from any number of scan segments.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::csv::{sort_rows, Row};
use crate::dates::{CreateTime, DateRange, Day};
use crate::detail::Details;
use crate::estimate::{estimate, Estimate, Estimator};
use crate::item::{Attr, DumpError, Item};
use crate::messagemap::{MapStatus, MessageMap};
use crate::numtext;
use crate::pricing::{PriceError, Prices};
use crate::stats::{Problem, Stats, StatsError, Totals};
use crate::users::{Tokenizer, Users};

/// At most this many problems are listed in a run's statistics; all are counted.
pub const MAX_LISTED_PROBLEMS: usize = 1000;

/// What a job does with each item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The estimator.
    pub estimator: Estimator,
    /// The `source` column (`old_table`, `new_table`).
    pub source: String,
    /// Items with a date outside are filtered out. With v2 and no end date,
    /// a host passes today's UTC date as the end ([`JobSpec::ending_today`]).
    pub range: DateRange,
    /// The prices.
    pub prices: Prices,
}

impl JobSpec {
    /// The job with the end date a host passes when the user gives none:
    /// `today` (UTC) for v2, whose Lambda always ends today; the others keep
    /// no upper bound (spec section 2).
    pub fn ending_today(mut self, today: Day) -> JobSpec {
        if self.range.end.is_none() && self.estimator.ends_today_by_default() {
            self.range.end = Some(today);
        }
        self
    }
}

/// Everything the rules say about one item, before filtering.
#[derive(Debug)]
pub struct Evaluation {
    /// Its `CreateTime`.
    pub create_time: CreateTime,
    /// What its message map was.
    pub map_status: MapStatus,
    /// The estimate.
    pub estimate: Estimate,
}

/// Reads an item's date and map and runs one estimator. `large_map`, when
/// given, is the full message map fetched for a large-message item: only
/// `full` reads it; `v1` and `v2` count what DynamoDB holds, as the Lambdas
/// did (spec 6.3), so their numbers never depend on a bucket being given.
pub fn evaluate(item: &Item, estimator: Estimator, large_map: Option<&str>) -> Evaluation {
    let create_time = CreateTime::read(item.get("CreateTime"), estimator.date_reading());
    let (map_status, estimate) = estimate_map(item, estimator, large_map);
    Evaluation { create_time, map_status, estimate }
}

/// The map part of [`evaluate`]: its status and the estimate.
fn estimate_map(item: &Item, estimator: Estimator, large_map: Option<&str>) -> (MapStatus, Estimate) {
    let map = match large_map.filter(|_| estimator == Estimator::Full) {
        Some(text) => MessageMap::from_text(text),
        None => MessageMap::from_attr(item.get("MessageMap")),
    };
    (map.status, estimate(&map, estimator))
}

/// Whether the `full` estimator takes this item (its SK is a conversation).
pub fn is_conversation(item: &Item) -> bool {
    item.get_s("SK").is_some_and(|sk| sk.contains("#CONV#"))
}

/// What became of one item.
#[derive(Debug)]
pub enum Outcome {
    /// A row, with what was noticed on the way.
    Row {
        /// The row.
        row: Row,
        /// The date was not a number.
        invalid_date: bool,
        /// The map text could not be parsed.
        unreadable_map: bool,
        /// Media items seen (`full`).
        media_items: u64,
    },
    /// Not a conversation (`full` only).
    Skipped,
    /// Outside the date range.
    Filtered,
    /// Could not be processed.
    Failed(JobError),
}

/// Why an item gives no row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// `PK` or `SK` is not a string.
    #[error("{key} is of type {kind}, not a string")]
    KeyNotString {
        /// `PK` or `SK`.
        key: &'static str,
        /// The DynamoDB type it has (`N`, `M`, ...).
        kind: &'static str,
    },
    /// `TotalPrice` is a number beyond what a price holds.
    #[error("TotalPrice {0} is out of range")]
    TotalPriceOutOfRange(String),
    /// The tokens cannot be priced at these prices.
    #[error(transparent)]
    Price(#[from] PriceError),
}

fn key_string(item: &Item, key: &'static str) -> Result<String, JobError> {
    match item.get(key) {
        None => Ok(String::new()),
        Some(Attr::S(s)) => Ok(s.clone()),
        Some(other) => Err(JobError::KeyNotString { key, kind: other.type_name() }),
    }
}

/// `round6(TotalPrice)`, 0 when absent or not a number.
fn recorded_total(item: &Item) -> Result<Decimal, JobError> {
    let text = match item.get("TotalPrice") {
        Some(Attr::N(t) | Attr::S(t)) => t,
        _ => return Ok(Decimal::new(0, 6)),
    };
    let Some(num) = numtext::parse(text) else {
        return Ok(Decimal::new(0, 6));
    };
    num.round6().ok_or_else(|| JobError::TotalPriceOutOfRange(excerpt(text)))
}

/// Runs one item through the job.
pub fn process(item: &Item, spec: &JobSpec, large_map: Option<&str>) -> Outcome {
    if spec.estimator == Estimator::Full && !is_conversation(item) {
        return Outcome::Skipped;
    }
    let create_time = CreateTime::read(item.get("CreateTime"), spec.estimator.date_reading());
    if let CreateTime::Millis(ms) = create_time {
        if !spec.range.contains_ms(ms, spec.estimator.end_bound()) {
            return Outcome::Filtered;
        }
    }
    let (pk, sk) = match (key_string(item, "PK"), key_string(item, "SK")) {
        (Ok(pk), Ok(sk)) => (pk, sk),
        (Err(e), _) | (_, Err(e)) => return Outcome::Failed(e),
    };
    // The date is read once, above; the map only for the items kept.
    let (map_status, estimate) = estimate_map(item, spec.estimator, large_map);
    let priced = if map_status.is_void() {
        recorded_total(item).map(|total| {
            let zero = Decimal::new(0, 6);
            (zero, zero, total)
        })
    } else {
        spec.prices.price(estimate.tokens).map(|p| (p.input, p.output, p.total)).map_err(JobError::from)
    };
    let (input, output, total) = match priced {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e),
    };
    Outcome::Row {
        row: Row {
            create_date: create_time.seconds(),
            input_token: estimate.tokens.input,
            output_token: estimate.tokens.output,
            precio_token_input: input,
            precio_token_output: output,
            total_price: total,
            pk,
            sk,
            source: spec.source.clone(),
        },
        invalid_date: create_time == CreateTime::Invalid,
        unreadable_map: map_status == MapStatus::Unreadable,
        media_items: estimate.media_items,
    }
}

/// The job's own counters (`ACCOUNTING.md` section 11).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items read.
    pub scanned: u64,
    /// Rows produced.
    pub processed: u64,
    /// Items outside the date range.
    pub filtered: u64,
    /// Items that are not conversations (`full`).
    pub skipped: u64,
    /// Rows whose date was not a number.
    pub invalid_dates: u64,
    /// Rows whose map text could not be parsed.
    pub unreadable_maps: u64,
    /// Items (or dump entries) that could not be processed.
    pub errors: u64,
    /// Media items seen (`full`).
    pub media_items: u64,
    /// Dump entries that were not items (also in `errors`).
    pub unreadable_entries: u64,
    /// Rows whose (`pk`, `sk`) an earlier row had (known once the run is finished).
    pub repeated_keys: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.unreadable_entries += o.unreadable_entries;
        self.repeated_keys += o.repeated_keys;
        self.scanned += o.scanned;
        self.processed += o.processed;
        self.filtered += o.filtered;
        self.skipped += o.skipped;
        self.invalid_dates += o.invalid_dates;
        self.unreadable_maps += o.unreadable_maps;
        self.errors += o.errors;
        self.media_items += o.media_items;
    }
}

/// A job in progress: rows and counters gathered item by item.
#[derive(Debug, Clone)]
pub struct Run {
    spec: JobSpec,
    rows: Vec<Row>,
    counts: Counts,
    error_items: Vec<Problem>,
    dump_errors: Vec<Problem>,
    /// Problems counted but not listed (beyond [`MAX_LISTED_PROBLEMS`]).
    truncated: (u64, u64),
    /// The detail rows, when asked for.
    details: Option<Details>,
    /// The users report, when asked for.
    users: Option<Users>,
}

impl Run {
    /// A run of `spec` with nothing read yet.
    pub fn new(spec: JobSpec) -> Run {
        Run {
            spec,
            rows: Vec::new(),
            counts: Counts::default(),
            error_items: Vec::new(),
            dump_errors: Vec::new(),
            truncated: (0, 0),
            details: None,
            users: None,
        }
    }

    /// The run, also gathering the users report ([`crate::users`]), its
    /// tokens counted by `tokenizer` when given.
    pub fn with_users(mut self, tokenizer: Option<Tokenizer>) -> Run {
        self.users = Some(Users::new(tokenizer));
        self
    }

    /// Whether it gathers the users report.
    pub fn has_users(&self) -> bool {
        self.users.is_some()
    }

    /// The users report being gathered.
    pub fn users_mut(&mut self) -> Option<&mut Users> {
        self.users.as_mut()
    }

    /// The users report gathered.
    pub fn take_users(&mut self) -> Option<Users> {
        self.users.take()
    }

    /// The run, also gathering the detail rows ([`crate::detail`]).
    pub fn with_details(mut self) -> Run {
        self.details = Some(Details::default());
        self
    }

    /// Whether it gathers the detail rows.
    pub fn has_details(&self) -> bool {
        self.details.is_some()
    }

    /// The detail rows being gathered.
    pub fn details_mut(&mut self) -> Option<&mut Details> {
        self.details.as_mut()
    }

    /// The detail rows gathered, to be finished with a price book.
    pub fn take_details(&mut self) -> Option<Details> {
        self.details.take()
    }

    /// The job.
    pub fn spec(&self) -> &JobSpec {
        &self.spec
    }

    /// Counters so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Takes one item.
    pub fn push(&mut self, item: &Item) {
        self.push_with_map(item, None);
    }

    /// [`Run::push_with_map`] of an item read at `place()` (a dump line),
    /// which names it in the problem list if it cannot be processed (the
    /// place is made only then: most items are processed).
    pub fn push_at(&mut self, item: &Item, place: impl FnOnce() -> String, large_map: Option<&str>) {
        let before = self.error_items.len();
        self.push_with_map(item, large_map);
        if let Some(problem) = self.error_items.get_mut(before) {
            problem.at = format!("{} ({})", place(), problem.at);
        }
    }

    /// Takes one item whose full message map was fetched separately.
    pub fn push_with_map(&mut self, item: &Item, large_map: Option<&str>) {
        self.counts.scanned += 1;
        if let Some(details) = &mut self.details {
            if item.get_s("SK").is_some_and(|sk| sk.contains("#RELATED_DOCUMENT#")) {
                details.push_related(item);
            }
        }
        match process(item, &self.spec, large_map) {
            Outcome::Row { row, invalid_date, unreadable_map, media_items } => {
                self.counts.processed += 1;
                self.counts.invalid_dates += u64::from(invalid_date);
                self.counts.unreadable_maps += u64::from(unreadable_map);
                self.counts.media_items += media_items;
                if let Some(details) = self.details.as_mut().filter(|_| is_conversation(item)) {
                    details.push(item, &row, large_map);
                }
                if let Some(users) = self.users.as_mut().filter(|_| is_conversation(item)) {
                    users.push(item, &row, &self.spec.prices, large_map);
                }
                self.rows.push(row);
            }
            Outcome::Skipped => self.counts.skipped += 1,
            Outcome::Filtered => self.counts.filtered += 1,
            Outcome::Failed(error) => {
                self.counts.errors += 1;
                if self.error_items.len() < MAX_LISTED_PROBLEMS {
                    self.error_items.push(Problem { at: item.key_for_messages(), error: excerpt(&error.to_string()) });
                } else {
                    self.truncated.0 += 1;
                }
            }
        }
    }

    /// Records a dump entry that was not a readable item.
    pub fn dump_error(&mut self, e: &DumpError) {
        self.counts.errors += 1;
        self.counts.unreadable_entries += 1;
        if self.dump_errors.len() < MAX_LISTED_PROBLEMS {
            self.dump_errors.push(Problem { at: e.place.to_string(), error: excerpt(&e.problem.to_string()) });
        } else {
            self.truncated.1 += 1;
        }
    }

    /// Adds another run of the same job (a scan segment) to this one.
    pub fn merge(&mut self, other: Run) {
        self.counts.add(&other.counts);
        self.rows.extend(other.rows);
        if let (Some(mine), Some(theirs)) = (&mut self.details, other.details) {
            mine.merge(theirs);
        }
        if let (Some(mine), Some(theirs)) = (&mut self.users, other.users) {
            mine.merge(theirs);
        }
        let lists = [
            (&mut self.error_items, other.error_items, &mut self.truncated.0, other.truncated.0),
            (&mut self.dump_errors, other.dump_errors, &mut self.truncated.1, other.truncated.1),
        ];
        for (mine, theirs, dropped, their_dropped) in lists {
            let room = MAX_LISTED_PROBLEMS.saturating_sub(mine.len());
            *dropped += their_dropped + theirs.len().saturating_sub(room) as u64;
            mine.extend(theirs.into_iter().take(room));
        }
    }

    /// The rows gathered since the last call, taken out of the run (a host
    /// that spills rows to disk takes them as they come; the counters stay).
    pub fn take_rows(&mut self) -> Vec<Row> {
        std::mem::take(&mut self.rows)
    }

    /// Rows gathered and not taken.
    pub fn pending_rows(&self) -> usize {
        self.rows.len()
    }

    /// The statistics of a run whose rows were all taken ([`Run::take_rows`])
    /// and counted by the host as they streamed past: their totals, per
    /// source, and how many repeated a (pk, sk).
    pub fn finish_streamed(
        self,
        totals: &Totals,
        by_source: BTreeMap<String, u64>,
        repeated_keys: u64,
    ) -> Result<Stats, StatsError> {
        debug_assert!(self.rows.is_empty(), "every row was taken");
        let mut counts = self.counts;
        counts.repeated_keys = repeated_keys;
        let mut stats = Stats::of_totals(totals, by_source, &self.spec)?;
        stats.set_counts(&counts, self.spec.estimator == Estimator::Full);
        stats.error_items = self.error_items;
        stats.dump_errors = self.dump_errors;
        (stats.error_items_truncated, stats.dump_errors_truncated) = self.truncated;
        Ok(stats)
    }

    /// The sorted rows and the run's statistics.
    pub fn finish(mut self) -> Result<(Vec<Row>, Stats), StatsError> {
        sort_rows(&mut self.rows);
        self.counts.repeated_keys = repeated_keys(&self.rows);
        let mut stats = Stats::of_rows(&self.rows, &self.spec)?;
        stats.set_counts(&self.counts, self.spec.estimator == Estimator::Full);
        stats.error_items = self.error_items;
        stats.dump_errors = self.dump_errors;
        (stats.error_items_truncated, stats.dump_errors_truncated) = self.truncated;
        Ok((self.rows, stats))
    }
}

/// Rows whose (`pk`, `sk`) an earlier row had: a table's keys are unique, so
/// any repeat means the input was read more than once.
pub fn repeated_keys(rows: &[Row]) -> u64 {
    let mut keys: Vec<(&str, &str)> = rows.iter().map(|r| (r.pk.as_str(), r.sk.as_str())).collect();
    keys.sort_unstable();
    keys.windows(2).filter(|w| w[0] == w[1]).count() as u64
}

/// The most of a problem's text that is listed: a bad value can be
/// megabytes long, and every problem is printed and kept in the report.
pub const MAX_PROBLEM_TEXT: usize = 240;

/// `text` cut to [`MAX_PROBLEM_TEXT`] bytes (on a character boundary), with
/// how long it was.
pub fn excerpt(text: &str) -> String {
    if text.len() <= MAX_PROBLEM_TEXT {
        return text.to_string();
    }
    let mut end = MAX_PROBLEM_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Rows per source, for statistics.
pub fn records_by_source(rows: &[Row]) -> BTreeMap<String, u64> {
    let mut by = BTreeMap::new();
    for row in rows {
        *by.entry(row.source.clone()).or_insert(0) += 1;
    }
    by
}
