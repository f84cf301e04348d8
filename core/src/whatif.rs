//! The explorer's engine: a consolidated CSV as columns, the views the
//! seed's Athena queries answer (totals, by source, by day, by hour, the most
//! expensive conversations), and what-if re-pricing under other prices.
//!
//! Money is kept in exact integer millionths of a dollar (every price column
//! has 6 decimals), so sums are exact and a million rows re-price in a few
//! milliseconds; the per-row rounding is the same half-to-even `round6` as
//! [`crate::pricing`], which the tests check against the decimal path.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::breakdown::Keys;
use crate::csv::{BadRow, Columns, CsvError, Fields, Record, Records, RowRef, HEADER, RETRY_AFTER};
use crate::dates::{format_datetime, Day};
use crate::filebytes::{records_from, FileBytes, FileSource, RereadError, Rereader};
use crate::pricing::{div_half_even, fixed2, rounds_up, Prices};

const NO_DATE: i64 = i64::MIN;

/// Distinct sources kept apart; any more are counted together.
const MAX_SOURCES: usize = 1024;
const OTHER_SOURCES: &str = "(other sources)";

pub use crate::pricing::micros_text;

/// A sum of i64 values kept exactly in 128 bits at the cost of 64-bit adds
/// (wasm32 has no native 128-bit arithmetic): the low word wraps, the high
/// word counts the wraps. Totals can never saturate or wrap silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sum128 {
    lo: i64,
    hi: i64,
}

impl Sum128 {
    #[inline]
    fn add(&mut self, x: i64) {
        let (sum, wrapped) = self.lo.overflowing_add(x);
        self.lo = sum;
        if wrapped {
            self.hi += if x < 0 { -1 } else { 1 };
        }
    }

    fn get(self) -> i128 {
        (i128::from(self.hi) << 64) + i128::from(self.lo)
    }
}

/// A sum of u64 values kept exactly in 128 bits at the cost of 64-bit adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SumU128 {
    lo: u64,
    hi: u64,
}

impl SumU128 {
    #[inline]
    fn add(&mut self, x: u64) {
        let (sum, wrapped) = self.lo.overflowing_add(x);
        self.lo = sum;
        self.hi += u64::from(wrapped);
    }

    fn get(self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }
}

/// Why a scenario cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhatIfError {
    /// A row's cost at these prices does not fit the engine's money (about
    /// 9.2 trillion dollars a row).
    #[error(
        "at these prices a row of {input} input and {output} output tokens would cost more than \
         $9,223,372,036,854.775807, which cannot be represented: check the prices"
    )]
    RowTooCostly {
        /// Its input tokens.
        input: u64,
        /// Its output tokens.
        output: u64,
    },
    /// A price times the batch multiplier does not fit a decimal.
    #[error("a price times the batch multiplier is too large to represent: check the prices and the multiplier")]
    BatchTooLarge,
    /// A row to export could not be read back from the file.
    #[error(transparent)]
    Reread(#[from] RereadError),
}

/// Whether a row's key is a conversation's: bedrock-chat writes
/// `<PK>#CONV#<id>` (checked where it is first, then anywhere).
fn is_conversation_key(pk: &[u8], sk: &[u8]) -> bool {
    const MARK: &[u8] = b"#CONV#";
    sk.get(pk.len()..pk.len() + MARK.len()) == Some(MARK) || sk.windows(MARK.len()).any(|w| w == MARK)
}

/// Days in the month of a run-rate projection.
pub const PROJECTION_DAYS: i128 = 30;

/// The rows of a consolidated CSV, by column.
#[derive(Debug)]
pub struct Table {
    file: FileBytes,
    columns: Option<Columns>,
    offset: Vec<usize>,
    secs: Vec<i64>,
    day: Vec<i32>,
    hour: Vec<u8>,
    pub(crate) input: Vec<u64>,
    pub(crate) output: Vec<u64>,
    pub(crate) total: Vec<i64>,
    source: Vec<u16>,
    /// Whether each row is a conversation (its `sk` holds `#CONV#`).
    conversation: Vec<bool>,
    sources: Vec<String>,
    unreadable: Vec<BadRow>,
    placeholder_rows: u64,
    span: Option<(Day, Day)>,
    /// Users, and the detail columns of a detail CSV ([`crate::breakdown`]).
    pub(crate) keys: Keys,
}

/// Which rows a view looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// First day (inclusive); rows without a date are left out when set.
    pub from: Option<Day>,
    /// Last day (inclusive); rows without a date are left out when set.
    pub to: Option<Day>,
    /// Users (`pk`) to keep (`None`: all).
    pub users: Option<Vec<String>>,
    /// Bots to keep (`None`: all; a file without detail columns has none).
    pub bots: Option<Vec<String>>,
    /// Models to keep (`None`: all; likewise).
    pub models: Option<Vec<String>>,
    /// Sources to keep (`None`: all).
    pub sources: Option<Vec<String>>,
}

/// Prices to re-price under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// Per-1K prices.
    pub prices: Prices,
    /// Batch inference: both prices times this multiplier ([`BATCH_MULTIPLIER`]
    /// on Bedrock); `None` for on-demand.
    pub batch: Option<Decimal>,
    /// In a detail CSV, the rows of these models (its `model` column) at
    /// these prices instead ("price every claude-v3.5-sonnet conversation as
    /// Haiku 4.5"); a seed CSV has no models, so it uses `prices` alone.
    pub per_model: Vec<(String, Prices)>,
    /// With `per_model`: the rows of the other models keep their cost
    /// instead of taking `prices` (a scenario that changes only the mapped models).
    pub keep_unmapped: bool,
}

/// The columns a what-if re-prices ([`Table::basis`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Basis<'a> {
    pub(crate) input: &'a [u64],
    pub(crate) output: &'a [u64],
    pub(crate) cost: &'a [i64],
    pub(crate) model: Option<&'a [u32]>,
}

/// A scenario's rates, per model for a detail CSV.
struct Rates {
    /// The rates of the rows no mapping names (`None`: they keep their cost).
    default: Option<(Rate, Rate)>,
    /// By model id: its own rates, if the scenario maps it.
    per_model: Vec<Option<(Rate, Rate)>>,
}

impl Rates {
    /// The rates of a row of `model`; `None` when it keeps its cost.
    #[inline]
    fn of(&self, model: Option<u32>) -> Option<&(Rate, Rate)> {
        match model.and_then(|m| self.per_model.get(m as usize)) {
            Some(Some(r)) => Some(r),
            _ => self.default.as_ref(),
        }
    }
}

/// Bedrock's batch inference price, as a multiplier of the on-demand price.
pub const BATCH_MULTIPLIER: Decimal = Decimal::from_parts(5, 0, 0, false, 1);

/// Headline figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Headline {
    /// Rows (the run statistics' `total_records`).
    pub records: u64,
    /// Rows that are conversations (`SK` with `#CONV#`); the others
    /// (`#RELATED_DOCUMENT#`, `#BOT#`, ...) are counted apart.
    pub conversations: u64,
    /// Rows that are not conversations.
    pub other_items: u64,
    /// Cost of the conversations / their number, round6 (the other items
    /// left out of the average).
    pub avg_cost_per_conversation: String,
    /// Input tokens (sums are exact: a cell holds up to 10^15).
    pub input_tokens: u128,
    /// Output tokens.
    pub output_tokens: u128,
    /// Both.
    pub total_tokens: u128,
    /// Sum of `total_price`.
    pub total_cost: String,
    /// `total_cost / records`, round6.
    pub avg_cost: String,
}

impl Headline {
    /// The figures of `records` rows (of which `conversations`) and their sums.
    fn of(
        records: u64,
        input: u128,
        output: u128,
        cost: i128,
        conversations: u64,
        conversation_cost: i128,
    ) -> Headline {
        Headline {
            records,
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            total_cost: micros_text(cost),
            avg_cost: micros_text(div_half_even(cost, i128::from(records))),
            conversations,
            other_items: records - conversations,
            avg_cost_per_conversation: micros_text(div_half_even(conversation_cost, i128::from(conversations))),
        }
    }
}

/// One source's figures (the seed's queries 1 and 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceView {
    /// `source`.
    pub source: String,
    /// Rows.
    pub records: u64,
    /// Input tokens.
    pub input_tokens: u128,
    /// Output tokens.
    pub output_tokens: u128,
    /// Sum of `total_price`.
    pub total_cost: String,
    /// Earliest `create_date` (empty: none).
    pub earliest: String,
    /// Latest `create_date` (empty: none).
    pub latest: String,
}

/// One day's cost by source (query 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayView {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Rows that day.
    pub records: u64,
    /// Cost per source, in the order of [`Views::sources`].
    pub cost_by_source: Vec<String>,
    /// Cost of the day.
    pub total_cost: String,
}

/// Averages for one hour of the day (query 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HourView {
    /// 0..23.
    pub hour: u8,
    /// Rows in that hour.
    pub records: u64,
    /// Average input tokens (2 decimals).
    pub avg_input: String,
    /// Average output tokens (2 decimals).
    pub avg_output: String,
    /// Average cost (6 decimals).
    pub avg_cost: String,
}

/// One of the most expensive conversations (query 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopRow {
    /// `create_date`.
    pub create_date: String,
    /// `input_token`.
    pub input_token: u64,
    /// `output_token`.
    pub output_token: u64,
    /// `total_price`.
    pub total_price: String,
    /// `pk`.
    pub pk: String,
    /// `sk`.
    pub sk: String,
    /// `source`.
    pub source: String,
}

/// Every view of the explorer for one filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Views {
    /// Headline figures.
    pub headline: Headline,
    /// The sources present in the table, in first-seen order.
    pub sources: Vec<String>,
    /// Figures per source (sources with rows in the filter).
    pub by_source: Vec<SourceView>,
    /// Cost per day, most recent last.
    pub daily: Vec<DayView>,
    /// Averages per hour of the day (hours with rows).
    pub hourly: Vec<HourView>,
    /// The most expensive conversations.
    pub top: Vec<TopRow>,
}

/// A what-if result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIf {
    /// Rows considered.
    pub records: u64,
    /// Actual cost: the sum of `total_price`, or of `billed_price` in a
    /// detail CSV (whose billed tokens are what is re-priced: see `basis`).
    pub actual_cost: String,
    /// Cost under the scenario.
    pub whatif_cost: String,
    /// `whatif - actual`.
    pub difference: String,
    /// `difference / actual` in percent, 2 decimals (empty when actual is 0).
    pub difference_pct: String,
    /// Per day: actual and what-if cost.
    pub daily: Vec<WhatIfDay>,
    /// First day of the run-rate window: the later of 29 days before its end
    /// and the first day with data (empty: no dated rows).
    pub window_start: String,
    /// Last day of that window (the last day with data).
    pub window_end: String,
    /// Days in the window (1 to 30).
    pub window_days: u32,
    /// What-if cost of the window scaled to 30 days: the monthly cost at the
    /// run-rate of the last 30 days of data (or of all of it, when shorter).
    pub monthly_projection: String,
    /// Actual cost of the same window, scaled the same way.
    pub monthly_actual: String,
    /// Rows with no tokens but a recorded cost (unreadable maps): carried
    /// at their recorded cost, as no price can be applied to them.
    pub rows_at_recorded_cost: u64,
    /// What was re-priced: `billed` (a detail CSV's billed tokens, held
    /// against its billed price) or `estimated` (the Lambdas' tokens and price).
    pub basis: &'static str,
    /// Per source (sources with rows in the filter, in first-seen order).
    pub by_source: Vec<WhatIfSource>,
}

/// One source's cost, actual and under the scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIfSource {
    /// `source`.
    pub source: String,
    /// Rows.
    pub records: u64,
    /// Actual cost.
    pub actual: String,
    /// Cost under the scenario.
    pub whatif: String,
}

/// One day of a what-if.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIfDay {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Actual cost.
    pub actual: String,
    /// Cost under the scenario.
    pub whatif: String,
}

/// Per-1K price as `mantissa / 10^scale` dollars, and a memo of costs.
struct Rate {
    mantissa: u128,
    divisor: u128,
    /// The cost of 0..MEMO tokens.
    memo: Vec<i64>,
    /// For larger counts `t = a * MEMO + b` (when the products fit 64 bits):
    /// the quotient and remainder of `b * mantissa / divisor` ...
    low: Vec<(u64, u64)>,
    /// ... and of `a * MEMO * mantissa / divisor`: their sum is exact, so
    /// a cost is two lookups and no division (wasm divides slowly).
    high: Vec<(u64, u64)>,
}

/// Token counts below this are looked up whole; below `MEMO * MEMO`, in two parts.
const MEMO: u64 = 4096;

impl Rate {
    fn new(per_1k: Decimal) -> Rate {
        let per_1k = per_1k.normalize();
        let mantissa = per_1k.mantissa().unsigned_abs();
        let scale = per_1k.scale();
        // micros = tokens * per_1k / 1000 * 1e6 = tokens * mantissa * 1000 / 10^scale
        let (mantissa, divisor) =
            if scale <= 3 { (mantissa * 10u128.pow(3 - scale), 1) } else { (mantissa, 10u128.pow(scale - 3)) };
        let mut rate = Rate { mantissa, divisor, memo: Vec::new(), low: Vec::new(), high: Vec::new() };
        rate.memo = (0..MEMO).map(|t| rate.compute(t)).collect();
        // The two-part tables, when every product below MEMO * MEMO tokens fits 64 bits.
        if let (Ok(m), Ok(d)) = (u64::try_from(mantissa), u64::try_from(divisor)) {
            if d > 0 && (MEMO * MEMO).checked_mul(m).is_some() && d.checked_mul(2).is_some() {
                let qr = |n: u64| (n / d, n % d);
                rate.low = (0..MEMO).map(|b| qr(b * m)).collect();
                rate.high = (0..MEMO).map(|a| qr(a * MEMO * m)).collect();
            }
        }
        rate
    }

    /// The cost of `tokens` from the two-part tables, if they cover it.
    #[inline]
    fn by_parts(&self, tokens: u64) -> Option<i64> {
        let (a, b) = (tokens / MEMO, tokens % MEMO);
        let (&(qa, ra), &(qb, rb)) = (self.high.get(a as usize)?, self.low.get(b as usize)?);
        let d = self.divisor as u64;
        let (mut q, mut r) = (qa + qb, ra + rb);
        if r >= d {
            q += 1;
            r -= d;
        }
        // Half to even, as `compute` rounds.
        let up = match (2 * r).cmp(&d) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Equal => q % 2 == 1,
            std::cmp::Ordering::Less => false,
        };
        i64::try_from(q + u64::from(up)).ok()
    }

    fn compute(&self, tokens: u64) -> i64 {
        // The common case in 64 bits (wasm32 emulates 128-bit division).
        if let (Ok(m), Ok(d)) = (u64::try_from(self.mantissa), u64::try_from(self.divisor)) {
            if let Some(num) = tokens.checked_mul(m) {
                let (q, r) = (num / d, num % d);
                let q = q + u64::from(rounds_up(q.into(), r.into(), d.into()));
                return i64::try_from(q).unwrap_or(i64::MAX);
            }
        }
        let Some(num) = (tokens as u128).checked_mul(self.mantissa) else {
            return i64::MAX;
        };
        if self.divisor == 1 {
            return i64::try_from(num).unwrap_or(i64::MAX);
        }
        let (q, r) = (num / self.divisor, num % self.divisor);
        let q = q + u128::from(rounds_up(q, r, self.divisor));
        i64::try_from(q).unwrap_or(i64::MAX)
    }

    #[inline]
    fn micros(&self, tokens: u64) -> i64 {
        match self.memo.get(tokens as usize) {
            Some(&m) => m,
            None => self.by_parts(tokens).unwrap_or_else(|| self.compute(tokens)),
        }
    }
}

impl Scenario {
    /// On-demand prices.
    pub fn on_demand(prices: Prices) -> Scenario {
        Scenario { prices, ..Scenario::default() }
    }

    /// The prices actually applied (times the batch multiplier, if any).
    pub fn effective(&self) -> Result<Prices, WhatIfError> {
        self.scaled(self.prices)
    }

    fn scaled(&self, prices: Prices) -> Result<Prices, WhatIfError> {
        match self.batch {
            Some(m) => prices.scaled(m).ok_or(WhatIfError::BatchTooLarge),
            None => Ok(prices),
        }
    }
}

/// Whether a row keeps its recorded cost under every scenario: it has no
/// tokens but a cost (the zero case of the spec, section 3: an unreadable or
/// empty map keeps the item's `TotalPrice`), so there is nothing to re-price.
#[inline]
fn keeps_recorded_cost(input: u64, output: u64, recorded_micros: i64) -> bool {
    input == 0 && output == 0 && recorded_micros != 0
}

/// One row's cost: `None` when it does not fit in i64 millionths ([`Rate`]
/// gives `i64::MAX` for a product that does not).
#[inline]
fn row_cost(rin: &Rate, rout: &Rate, input: u64, output: u64) -> Option<i64> {
    let (a, b) = (rin.micros(input), rout.micros(output));
    if a == i64::MAX || b == i64::MAX {
        return None;
    }
    a.checked_add(b).filter(|c| *c != i64::MAX)
}

/// Re-prices one token pair in millionths, as `Prices::price` would; `None`
/// when the cost cannot be represented.
pub fn reprice_micros(prices: &Prices, input: u64, output: u64) -> Option<i64> {
    row_cost(&Rate::new(prices.input_per_1k), &Rate::new(prices.output_per_1k), input, output)
}

/// A [`Table`] read as the file's bytes arrive ([`TableBuilder::push`]),
/// so that reading a file and parsing it overlap: the same table as
/// [`Table::from_csv`] of the whole file, whatever the chunks.
#[derive(Debug)]
pub struct TableBuilder {
    t: Table,
    users: crate::breakdown::Users,
    last_source: u16,
    /// The bytes not read yet (all the file's, for a builder that keeps them).
    window: Vec<u8>,
    /// The file offset of `window[0]`.
    base: usize,
    /// Where the file is read back from once its bytes are let go (`None`: they are kept).
    source: Option<Box<dyn FileSource>>,
    /// Where the next record (or blank line) starts in the window, and its line.
    pos: usize,
    line: u64,
    /// Window bytes to gather before parsing again.
    wait_until: usize,
}

impl TableBuilder {
    /// A builder expecting about `size` bytes (0: unknown), keeping them.
    pub fn with_capacity(size: usize) -> TableBuilder {
        TableBuilder::over(Vec::with_capacity(size), size, None)
    }

    /// A builder expecting about `size` bytes that lets each go once its
    /// records are read, the table reading rows back from `source` (the same
    /// bytes, kept elsewhere). Memory written for the first time costs about
    /// as much as reading the bytes into it (page faults, in the browser
    /// too): a window reused chunk after chunk is written once.
    pub fn letting_go(size: usize, source: Box<dyn FileSource>) -> TableBuilder {
        TableBuilder::over(Vec::new(), size, Some(source))
    }

    /// A builder whose first bytes are `data`, expecting about `size` in all.
    fn over(data: Vec<u8>, size: usize, source: Option<Box<dyn FileSource>>) -> TableBuilder {
        let mut t = Table {
            file: FileBytes::Kept(Vec::new()),
            columns: None,
            offset: Vec::new(),
            conversation: Vec::new(),
            secs: Vec::new(),
            day: Vec::new(),
            hour: Vec::new(),
            input: Vec::new(),
            output: Vec::new(),
            total: Vec::new(),
            source: Vec::new(),
            sources: Vec::new(),
            unreadable: Vec::new(),
            placeholder_rows: 0,
            span: None,
            keys: Keys::default(),
        };
        let rows = size / 150 + 16;
        t.offset.reserve(rows);
        t.conversation.reserve(rows);
        t.secs.reserve(rows);
        t.day.reserve(rows);
        t.hour.reserve(rows);
        t.input.reserve(rows);
        t.output.reserve(rows);
        t.total.reserve(rows);
        t.source.reserve(rows);
        // The users are interned while each row is in the cache: every file
        // shows its cost by user, and reading the keys back later costs a
        // trip to memory per row (about three times the interning itself).
        let users = crate::breakdown::Users::with_capacity(rows);
        TableBuilder { t, users, last_source: 0, window: data, base: 0, source, pos: 0, line: 1, wait_until: 0 }
    }

    /// Bytes taken so far.
    pub fn len(&self) -> usize {
        self.base + self.window.len()
    }

    /// Whether no byte was taken yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes the file's next bytes, and reads the records they complete.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), CsvError> {
        self.push_with(chunk.len(), |room| room.copy_from_slice(chunk))
    }

    /// Takes the file's next `n` bytes, which `fill` writes in place (the
    /// browser's copies them from its own memory straight into the builder's),
    /// and reads the records they complete.
    pub fn push_with(&mut self, n: usize, fill: impl FnOnce(&mut [u8])) -> Result<(), CsvError> {
        let len = self.window.len();
        self.window.resize(len + n, 0);
        fill(&mut self.window[len..]);
        if self.window.len() < self.wait_until {
            return Ok(());
        }
        self.read(false)
    }

    /// The end of the file: its last records, and the table.
    pub fn finish(mut self) -> Result<Table, CsvError> {
        self.read(true)?;
        if self.t.columns.is_none() {
            return Err(CsvError::Empty);
        }
        let mut t = self.t;
        t.file = match self.source {
            None => FileBytes::Kept(self.window),
            Some(source) => FileBytes::Outside { len: self.base + self.window.len(), source },
        };
        t.span = t.compute_span();
        t.keys.users = self.users;
        Ok(t)
    }

    fn read(&mut self, at_end: bool) -> Result<(), CsvError> {
        let window = std::mem::take(&mut self.window);
        let read = self.read_in(&window, at_end);
        // The keys waiting to be interned are ranges of this window.
        self.users.flush(&window);
        self.window = window;
        // The bytes read are let go (unless kept) once the header is read:
        // until then each reading starts again at the file's first byte.
        if self.source.is_some() && self.t.columns.is_some() && self.pos > 0 {
            self.window.drain(..self.pos);
            self.base += self.pos;
            self.wait_until = self.wait_until.saturating_sub(self.pos);
            self.pos = 0;
        }
        read
    }

    /// Reads the records of `data` from `pos` that the bytes after them
    /// complete (all of them `at_end`).
    fn read_in(&mut self, data: &[u8], at_end: bool) -> Result<(), CsvError> {
        // Until the header is read, from the start (a BOM is skipped there only).
        let mut records =
            if self.t.columns.is_none() { Records::new(data) } else { Records::resume(data, self.pos, self.line) };
        self.wait_until = 0;
        loop {
            let (pos, line) = (records.offset(), records.line());
            let Some((line_of, offset, fields)) = records.next_record() else {
                // Blank lines to the end, and more may come: read again from them.
                if !at_end {
                    self.hold(pos, line, data.len());
                }
                return Ok(());
            };
            // A record reaching the end of the bytes, or whose quotes have not
            // closed yet, may be completed by the next bytes.
            if !at_end && (fields.next_offset() >= data.len() || fields.is_unterminated()) {
                self.hold(pos, line, data.len());
                return Ok(());
            }
            match &self.t.columns {
                None => {
                    self.t.columns = Some(Columns::from_header(&fields)?);
                    self.t.keys = Keys::from_header(&fields);
                }
                Some(columns) => {
                    let record = columns.record(&fields, line_of);
                    self.take(data, offset, record, &fields, line_of);
                }
            }
            (self.pos, self.line) = (records.offset(), records.line());
        }
    }

    /// Reading stops at `pos` (line `line`) until more bytes arrive; after
    /// many bytes held, until they have doubled.
    fn hold(&mut self, pos: usize, line: u64, len: usize) {
        (self.pos, self.line) = (pos, line);
        let held = len - pos;
        if held > RETRY_AFTER {
            self.wait_until = len + held;
        }
    }

    /// One record after the header.
    fn take(&mut self, data: &[u8], offset: usize, record: Record<'_>, cells: &Fields<'_>, line: u64) {
        let t = &mut self.t;
        match record {
            Record::Row(row) => {
                if let Err(bad) = t.keys.push(cells, line) {
                    t.unreadable.push(bad);
                    return;
                }
                // Few sources, mostly runs of one: the last one, then a scan.
                let last = self.last_source;
                let src = if t.sources.get(last as usize).is_some_and(|s| s == row.source) {
                    last
                } else {
                    match t.sources.iter().position(|s| s == row.source) {
                        Some(k) => k as u16,
                        None if t.sources.len() < MAX_SOURCES => {
                            t.sources.push(row.source.to_string());
                            (t.sources.len() - 1) as u16
                        }
                        // A file with thousands of sources: the rest share one.
                        None => match t.sources.iter().position(|s| s == OTHER_SOURCES) {
                            Some(k) => k as u16,
                            None => {
                                t.sources.push(OTHER_SOURCES.to_string());
                                (t.sources.len() - 1) as u16
                            }
                        },
                    }
                };
                self.last_source = src;
                let secs = row.create_date.unwrap_or(NO_DATE);
                t.offset.push(self.base + offset);
                self.users.push(data, row.pk);
                t.conversation.push(is_conversation_key(row.pk, row.sk));
                t.secs.push(secs);
                if secs == NO_DATE {
                    t.day.push(i32::MIN);
                    t.hour.push(u8::MAX);
                } else {
                    t.day.push(secs.div_euclid(86_400) as i32);
                    t.hour.push((secs.rem_euclid(86_400) / 3600) as u8);
                }
                t.input.push(row.input_token);
                t.output.push(row.output_token);
                t.total.push(row.total_micros);
                t.source.push(src);
            }
            Record::Placeholder => t.placeholder_rows += 1,
            Record::Bad(bad) => t.unreadable.push(bad),
        }
    }
}

impl Table {
    /// Reads a CSV (any shape the Lambdas or Tally wrote).
    pub fn from_csv(data: Vec<u8>) -> Result<Table, CsvError> {
        let size = data.len();
        TableBuilder::over(data, size, None).finish()
    }

    /// Rows read.
    pub fn len(&self) -> usize {
        self.secs.len()
    }

    /// The file's size in bytes.
    pub fn bytes(&self) -> usize {
        self.file.len()
    }

    /// Whether no row was read.
    pub fn is_empty(&self) -> bool {
        self.secs.is_empty()
    }

    /// Records that could not be read, with their lines.
    pub fn unreadable(&self) -> &[BadRow] {
        &self.unreadable
    }

    /// `sin_datos` rows dropped.
    pub fn placeholder_rows(&self) -> u64 {
        self.placeholder_rows
    }

    /// The sources, in first-seen order.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// First and last day with data.
    pub fn day_span(&self) -> Option<(Day, Day)> {
        self.span
    }

    fn compute_span(&self) -> Option<(Day, Day)> {
        let mut it = self.day.iter().filter(|&&d| d != i32::MIN);
        let first = *it.next()?;
        let (lo, hi) = it.fold((first, first), |(lo, hi), &d| (lo.min(d), hi.max(d)));
        Some((Day(lo as i64), Day(hi as i64)))
    }

    /// Dense (day, source) cells for sums by day: the first day and the
    /// number of days, when the file's days are close enough together for
    /// `per_day` cells a day to stay small (else sums go to a map by day).
    fn day_slots(&self, per_day: usize) -> Option<(i32, usize)> {
        const MAX_CELLS: usize = 1 << 18;
        let (lo, hi) = self.day_span()?;
        let days = usize::try_from(hi.0 - lo.0 + 1).ok()?;
        (days.saturating_mul(per_day.max(1)) <= MAX_CELLS).then_some((lo.0 as i32, days))
    }

    pub(crate) fn selector(&self, f: &Filter) -> impl Fn(usize) -> bool + '_ {
        let lo = f.from.map_or(i32::MIN, |d| d.0.clamp(i32::MIN as i64 + 1, i32::MAX as i64) as i32);
        let hi = f.to.map_or(i32::MAX, |d| d.0.clamp(i32::MIN as i64, i32::MAX as i64) as i32);
        let dated_only = f.from.is_some() || f.to.is_some();
        let mut allowed = vec![f.sources.is_none(); self.sources.len()];
        if let Some(keep) = &f.sources {
            for (k, s) in self.sources.iter().enumerate() {
                allowed[k] = keep.iter().any(|x| x == s);
            }
        }
        let users = f.users.as_ref().map(|_| self.users());
        let users_allowed = users.and_then(|u| u.users.allowed(&f.users));
        let detail = self.keys.detail.as_ref();
        // A file without detail columns has no bot or model to keep.
        let none = |keep: &Option<Vec<String>>| keep.as_ref().map(|_| Vec::new());
        let bots = detail.map_or_else(|| none(&f.bots), |d| d.bots.allowed(&f.bots));
        let models = detail.map_or_else(|| none(&f.models), |d| d.models.allowed(&f.models));
        let by_key = users_allowed.is_some() || bots.is_some() || models.is_some();
        let admits = |allowed: &Option<Vec<bool>>, ids: Option<&Vec<u32>>, i: usize| match (allowed, ids) {
            (None, _) => true,
            (Some(a), Some(ids)) => a[ids[i] as usize],
            (Some(_), None) => false,
        };
        // No filter (the page's first views): every row, without looking.
        let every = !dated_only && f.sources.is_none() && !by_key;
        move |i| {
            if every {
                return true;
            }
            let d = self.day[i];
            allowed[self.source[i] as usize]
                && (if d == i32::MIN { !dated_only } else { d >= lo && d <= hi })
                && (!by_key
                    || admits(&users_allowed, users.map(|u| &u.user), i)
                        && admits(&bots, detail.map(|d| &d.bot), i)
                        && admits(&models, detail.map(|d| &d.model), i))
        }
    }

    /// All the views for `filter`, with the `top_n` most expensive rows.
    pub fn views(&self, filter: &Filter, top_n: usize) -> Result<Views, RereadError> {
        let keep = self.selector(filter);
        let ns = self.sources.len();
        // Sums in 64-bit words (wasm32 has no 128-bit adds), per source
        // only: the whole file's are the sources' added up.
        #[derive(Clone, Copy)]
        struct Acc {
            records: u64,
            input: SumU128,
            output: SumU128,
            cost: Sum128,
            first: i64,
            last: i64,
        }
        let empty = Acc {
            records: 0,
            input: SumU128::default(),
            output: SumU128::default(),
            cost: Sum128::default(),
            first: i64::MAX,
            last: i64::MIN,
        };
        let (mut conversations, mut conversation_cost) = (0u64, Sum128::default());
        let mut per_source = vec![empty; ns];
        let mut hours = [(0u64, SumU128::default(), SumU128::default(), Sum128::default()); 24];
        // Each day's rows and cost by source: in dense cells of (day,
        // source), or (days too far apart) in a map by day, the last day's
        // entry at hand (rows mostly come in runs of a day).
        let dense = self.day_slots(ns);
        let (base, slots) = dense.unwrap_or((0, 0));
        let mut cells = vec![(0u64, Sum128::default()); slots * ns];
        let mut days: BTreeMap<i32, (u64, Vec<Sum128>)> = BTreeMap::new();
        let top_n = top_n.min(self.len());
        let mut top: Vec<(i64, usize)> = Vec::with_capacity(top_n + 1);
        let mut last_day = i32::MIN;
        let mut day_acc: Option<&mut (u64, Vec<Sum128>)> = None;
        for i in 0..self.len() {
            if !keep(i) {
                continue;
            }
            let (inp, out, cost, secs) = (self.input[i], self.output[i], self.total[i], self.secs[i]);
            if self.conversation[i] {
                conversations += 1;
                conversation_cost.add(cost);
            }
            let src = self.source[i] as usize;
            let acc = &mut per_source[src];
            acc.records += 1;
            acc.input.add(inp);
            acc.output.add(out);
            acc.cost.add(cost);
            if secs != NO_DATE {
                acc.first = acc.first.min(secs);
                acc.last = acc.last.max(secs);
            }
            let h = self.hour[i];
            if h != u8::MAX {
                let slot = &mut hours[h as usize];
                slot.0 += 1;
                slot.1.add(inp);
                slot.2.add(out);
                slot.3.add(cost);
                let d = self.day[i];
                if dense.is_some() {
                    let cell = &mut cells[(d - base) as usize * ns + src];
                    cell.0 += 1;
                    cell.1.add(cost);
                } else {
                    if d != last_day || day_acc.is_none() {
                        last_day = d;
                        day_acc = Some(days.entry(d).or_insert_with(|| (0, vec![Sum128::default(); ns])));
                    }
                    if let Some(acc) = day_acc.as_deref_mut() {
                        acc.0 += 1;
                        acc.1[src].add(cost);
                    }
                }
            }
            if top_n > 0 {
                let c = self.total[i];
                if top.len() < top_n || c > top[top.len() - 1].0 {
                    // Highest cost first; on equal cost the earlier row (file order).
                    let at = top.partition_point(|&(tc, ti)| tc > c || tc == c && ti < i);
                    top.insert(at, (c, i));
                    top.truncate(top_n);
                }
            }
        }
        for (slot, day) in cells.chunks_exact(ns.max(1)).enumerate() {
            let rows: u64 = day.iter().map(|c| c.0).sum();
            if rows > 0 {
                days.insert(base + slot as i32, (rows, day.iter().map(|c| c.1).collect()));
            }
        }
        let all = per_source.iter().fold((0u64, 0u128, 0u128, 0i128), |t, a| {
            (t.0 + a.records, t.1 + a.input.get(), t.2 + a.output.get(), t.3 + a.cost.get())
        });
        let date = |s: i64| {
            if s == NO_DATE || s == i64::MAX || s == i64::MIN {
                String::new()
            } else {
                format_datetime(s)
            }
        };
        Ok(Views {
            headline: Headline::of(all.0, all.1, all.2, all.3, conversations, conversation_cost.get()),
            sources: self.sources.clone(),
            by_source: per_source
                .iter()
                .enumerate()
                .filter(|(_, a)| a.records > 0)
                .map(|(k, a)| SourceView {
                    source: self.sources[k].clone(),
                    records: a.records,
                    input_tokens: a.input.get(),
                    output_tokens: a.output.get(),
                    total_cost: micros_text(a.cost.get()),
                    earliest: date(a.first),
                    latest: date(a.last),
                })
                .collect(),
            daily: days
                .into_iter()
                .map(|(d, (records, costs))| DayView {
                    day: Day(d as i64).to_string(),
                    records,
                    total_cost: micros_text(costs.iter().map(|c| c.get()).sum()),
                    cost_by_source: costs.into_iter().map(|c| micros_text(c.get())).collect(),
                })
                .collect(),
            hourly: hours
                .iter()
                .enumerate()
                .filter(|(_, h)| h.0 > 0)
                .map(|(hour, h)| HourView {
                    hour: hour as u8,
                    records: h.0,
                    avg_input: fixed2(h.1.get() as i128, h.0 as i128),
                    avg_output: fixed2(h.2.get() as i128, h.0 as i128),
                    avg_cost: micros_text(div_half_even(h.3.get(), h.0 as i128)),
                })
                .collect(),
            top: {
                let mut file = self.rereader();
                top.into_iter().map(|(_, i)| self.top_row(&mut file, i)).collect::<Result<_, _>>()?
            },
        })
    }

    /// The headline figures alone for `filter` (what [`Table::views`] gives
    /// as its headline, for a fraction of its work: the page's change
    /// against the previous period).
    pub fn headline(&self, filter: &Filter) -> Headline {
        let keep = self.selector(filter);
        let (mut records, mut input, mut output, mut cost) =
            (0u64, SumU128::default(), SumU128::default(), Sum128::default());
        let (mut conversations, mut conversation_cost) = (0u64, Sum128::default());
        for i in 0..self.len() {
            if !keep(i) {
                continue;
            }
            records += 1;
            input.add(self.input[i]);
            output.add(self.output[i]);
            cost.add(self.total[i]);
            if self.conversation[i] {
                conversations += 1;
                conversation_cost.add(self.total[i]);
            }
        }
        Headline::of(records, input.get(), output.get(), cost.get(), conversations, conversation_cost.get())
    }

    /// Reads rows back from the file.
    pub(crate) fn rereader(&self) -> Rereader<'_> {
        Rereader::new(&self.file)
    }

    /// Re-reads row `i` from the CSV for display.
    pub(crate) fn top_row(&self, file: &mut Rereader<'_>, i: usize) -> Result<TopRow, RereadError> {
        self.reread(file, i, |row| TopRow {
            create_date: row.create_date.map(format_datetime).unwrap_or_default(),
            input_token: row.input_token,
            output_token: row.output_token,
            total_price: micros_text(row.total_micros as i128),
            pk: crate::csv::text_of(row.pk),
            sk: crate::csv::text_of(row.sk),
            source: row.source.to_string(),
        })
    }

    /// `f` of row `i` read back from the file, once checked to be the row
    /// read (its date, tokens and price): a file changed since is an error,
    /// never another row's keys shown beside this one's figures.
    pub(crate) fn reread<R>(
        &self,
        file: &mut Rereader<'_>,
        i: usize,
        f: impl FnOnce(&RowRef<'_>) -> R,
    ) -> Result<R, RereadError> {
        let offset = self.offset[i];
        let changed = RereadError::Changed { offset };
        let columns = self.columns.ok_or_else(|| changed.clone())?;
        let mut want = 0;
        loop {
            let (bytes, at_end) = file.bytes_at(offset, want)?;
            let mut records = records_from(bytes);
            let record = records.next_record();
            // Not whole in these bytes (the rule the builder reads by): more of them.
            let whole = record.as_ref().is_some_and(|(_, _, f)| f.next_offset() < bytes.len() && !f.is_unterminated());
            if !whole && !at_end {
                want = bytes.len() * 2;
                continue;
            }
            let (_, _, fields) = record.ok_or_else(|| changed.clone())?;
            let Record::Row(row) = columns.record(&fields, 0) else {
                return Err(changed);
            };
            let same = row.create_date.unwrap_or(NO_DATE) == self.secs[i]
                && (row.input_token, row.output_token, row.total_micros)
                    == (self.input[i], self.output[i], self.total[i]);
            if !same {
                return Err(changed);
            }
            return Ok(f(&row));
        }
    }

    /// The scenario's rates (each mapped model's too, batch applied).
    fn rates(&self, scenario: &Scenario) -> Result<Rates, WhatIfError> {
        let rate = |p: Prices| -> Result<(Rate, Rate), WhatIfError> {
            let p = scenario.scaled(p)?;
            Ok((Rate::new(p.input_per_1k), Rate::new(p.output_per_1k)))
        };
        let mut per_model = Vec::new();
        if let Some(d) = self.keys.detail.as_ref().filter(|_| !scenario.per_model.is_empty()) {
            per_model = (0..d.models.len()).map(|_| None).collect();
            for (model, prices) in &scenario.per_model {
                if let Some(k) = d.models.find(model.as_bytes()) {
                    per_model[k as usize] = Some(rate(*prices)?);
                }
            }
        }
        let keep = scenario.keep_unmapped && !scenario.per_model.is_empty();
        Ok(Rates { default: if keep { None } else { Some(rate(scenario.prices)?) }, per_model })
    }

    /// What a what-if re-prices: the tokens and the cost they are held
    /// against (a detail CSV's billed ones, else the Lambdas'), and the
    /// models; chosen once per query, not per row.
    pub(crate) fn basis(&self) -> Basis<'_> {
        match &self.keys.detail {
            Some(d) => {
                Basis { input: &d.billed_input, output: &d.billed_output, cost: &d.billed, model: Some(&d.model) }
            }
            None => Basis { input: &self.input, output: &self.output, cost: &self.total, model: None },
        }
    }

    /// Row `i` under `rates`: its cost, the cost it is held against, and
    /// whether it kept that cost.
    #[inline]
    fn cost_of(basis: &Basis<'_>, i: usize, rates: &Rates) -> Result<(i64, i64, bool), WhatIfError> {
        match (&rates.per_model[..], &rates.default) {
            // One rate for every row (a seed CSV, or no model mapped): the hot path.
            ([], Some(fixed)) => Self::cost_at(basis, i, Some(fixed)),
            _ => Self::cost_at(basis, i, rates.of(basis.model.map(|m| m[i]))),
        }
    }

    #[inline]
    fn cost_at(basis: &Basis<'_>, i: usize, rate: Option<&(Rate, Rate)>) -> Result<(i64, i64, bool), WhatIfError> {
        let (inp, out, recorded) = (basis.input[i], basis.output[i], basis.cost[i]);
        match rate {
            Some((rin, rout)) if !keeps_recorded_cost(inp, out, recorded) => {
                let cost =
                    row_cost(rin, rout, inp, out).ok_or(WhatIfError::RowTooCostly { input: inp, output: out })?;
                Ok((cost, recorded, false))
            }
            _ => Ok((recorded, recorded, true)),
        }
    }

    /// Each kept row's cost under `scenario`, in millionths (rows without
    /// tokens but with a recorded cost keep it), or `None` for rows left out.
    pub(crate) fn repriced(
        &self,
        filter: &Filter,
        scenario: &Scenario,
    ) -> Result<(Vec<Option<i64>>, u64), WhatIfError> {
        let rates = self.rates(scenario)?;
        let basis = self.basis();
        let keep = self.selector(filter);
        let mut carried = 0;
        let mut costs = Vec::with_capacity(self.len());
        for i in 0..self.len() {
            if !keep(i) {
                costs.push(None);
                continue;
            }
            let (cost, _, kept) = Self::cost_of(&basis, i, &rates)?;
            carried += u64::from(kept);
            costs.push(Some(cost));
        }
        Ok((costs, carried))
    }

    /// The total cost of the filtered rows under each scenario, in one pass
    /// (the page ranks the catalog's models for the file just opened):
    /// [`WhatIf::whatif_cost`] of each, or `None` for one that cannot be
    /// priced (a row whose cost at its prices would not fit).
    pub fn whatif_totals(&self, filter: &Filter, scenarios: &[Scenario]) -> Vec<Option<String>> {
        let basis = self.basis();
        let keep = self.selector(filter);
        let mut rates: Vec<Option<Rates>> = scenarios.iter().map(|s| self.rates(s).ok()).collect();
        let mut totals = vec![Sum128::default(); scenarios.len()];
        for i in 0..self.len() {
            if !keep(i) {
                continue;
            }
            for (rate, total) in rates.iter_mut().zip(&mut totals) {
                if let Some(r) = rate {
                    match Self::cost_of(&basis, i, r) {
                        Ok((cost, _, _)) => total.add(cost),
                        Err(_) => *rate = None,
                    }
                }
            }
        }
        rates.iter().zip(totals).map(|(rate, total)| rate.as_ref().map(|_| micros_text(total.get()))).collect()
    }

    /// The cost of the filtered rows under `scenario`, beside the actual cost.
    pub fn whatif(&self, filter: &Filter, scenario: &Scenario) -> Result<WhatIf, WhatIfError> {
        let rates = self.rates(scenario)?;
        let basis = self.basis();
        let keep = self.selector(filter);
        let everything = *filter == Filter::default();
        // Row costs in i64 millionths, sums exact in 128 bits ([`Sum128`]).
        // Each row lands in one cell of (day, source): the totals, the days
        // and the sources are the cells' sums, so a row costs one update.
        // The last day slot holds the rows without a date (and every row of
        // a file whose days are too far apart for dense slots, which then go
        // to `sparse` too).
        #[derive(Clone, Copy, Default)]
        struct Cell {
            rows: u64,
            carried: u64,
            actual: Sum128,
            whatif: Sum128,
        }
        let sources = self.sources.len().max(1);
        let dense = self.day_slots(sources);
        let (base, slots) = dense.unwrap_or((0, 0));
        let mut cells = vec![Cell::default(); (slots + 1) * sources];
        let mut sparse: BTreeMap<i32, (Sum128, Sum128)> = BTreeMap::new();
        for i in 0..self.len() {
            if !everything && !keep(i) {
                continue;
            }
            let (cost, recorded, kept) = Self::cost_of(&basis, i, &rates)?;
            let d = self.day[i];
            let slot = if d == i32::MIN || dense.is_none() { slots } else { (d - base) as usize };
            let cell = &mut cells[slot * sources + self.source[i] as usize];
            cell.rows += 1;
            cell.carried += u64::from(kept);
            cell.actual.add(recorded);
            cell.whatif.add(cost);
            if dense.is_none() && d != i32::MIN {
                let day = sparse.entry(d).or_default();
                day.0.add(recorded);
                day.1.add(cost);
            }
        }
        let (mut records, mut carried, mut actual, mut whatif) = (0u64, 0u64, 0i128, 0i128);
        let mut per_source = vec![(0u64, 0i128, 0i128); self.sources.len()];
        let mut days: BTreeMap<i32, (i128, i128)> = BTreeMap::new();
        for (slot, row) in cells.chunks_exact(sources).enumerate() {
            let mut day = (0u64, 0i128, 0i128);
            for (src, cell) in row.iter().enumerate().filter(|(_, c)| c.rows > 0) {
                let (a, w) = (cell.actual.get(), cell.whatif.get());
                day = (day.0 + cell.rows, day.1 + a, day.2 + w);
                carried += cell.carried;
                let s = &mut per_source[src];
                *s = (s.0 + cell.rows, s.1 + a, s.2 + w);
            }
            records += day.0;
            (actual, whatif) = (actual + day.1, whatif + day.2);
            if slot < slots && day.0 > 0 {
                days.insert(base + slot as i32, (day.1, day.2));
            }
        }
        days.extend(sparse.into_iter().map(|(d, (a, w))| (d, (a.get(), w.get()))));
        let (mut window_start, mut window_end, mut window_days, mut month_whatif, mut month_actual) =
            (String::new(), String::new(), 0u32, 0i128, 0i128);
        if let (Some((&first_day, _)), Some((&last, _))) = (days.first_key_value(), days.last_key_value()) {
            // The days the data covers, up to 30: a file (or a filter) of ten
            // days projects ten days' cost times three, not ten days' cost.
            let first = (last - (PROJECTION_DAYS as i32 - 1)).max(first_day);
            let (mut a_sum, mut w_sum) = (0i128, 0i128);
            for (_, (a, w)) in days.range(first..=last) {
                a_sum += a;
                w_sum += w;
            }
            let n = i128::from(last - first + 1);
            month_actual = div_half_even(a_sum * PROJECTION_DAYS, n);
            month_whatif = div_half_even(w_sum * PROJECTION_DAYS, n);
            window_days = n as u32;
            window_start = Day(first as i64).to_string();
            window_end = Day(last as i64).to_string();
        }
        let difference = whatif - actual;
        Ok(WhatIf {
            records,
            actual_cost: micros_text(actual),
            whatif_cost: micros_text(whatif),
            difference: micros_text(difference),
            difference_pct: if actual == 0 { String::new() } else { fixed2(difference * 100, actual) },
            daily: days
                .into_iter()
                .map(|(d, (a, w))| WhatIfDay {
                    day: Day(d as i64).to_string(),
                    actual: micros_text(a),
                    whatif: micros_text(w),
                })
                .collect(),
            window_start,
            window_end,
            window_days,
            monthly_projection: micros_text(month_whatif),
            monthly_actual: micros_text(month_actual),
            by_source: self
                .sources
                .iter()
                .zip(per_source)
                .filter(|(_, p)| p.0 > 0)
                .map(|(name, (n, a, w))| WhatIfSource {
                    source: name.clone(),
                    records: n,
                    actual: micros_text(a),
                    whatif: micros_text(w),
                })
                .collect(),
            rows_at_recorded_cost: carried,
            basis: if self.keys.detail.is_some() { "billed" } else { "estimated" },
        })
    }

    /// The filtered rows re-priced under `scenario`, as a CSV for
    /// spreadsheets: the nine columns with the scenario's prices, then the
    /// actual `total_price`; text cells that a spreadsheet would run as a
    /// formula (`=`, `+`, `-`, `@`) are neutralised with a leading `'`.
    pub fn whatif_csv(&self, filter: &Filter, scenario: &Scenario) -> Result<Vec<u8>, WhatIfError> {
        let rates = self.rates(scenario)?;
        let basis = self.basis();
        let (costs, _) = self.repriced(filter, scenario)?;
        let mut out = String::with_capacity(self.file.len() / 2 + 256);
        out.push_str(&HEADER.join(","));
        out.push_str(",actual_total_price\n");
        if self.columns.is_none() {
            return Ok(out.into_bytes());
        }
        let mut file = self.rereader();
        for (i, cost) in costs.iter().enumerate() {
            let Some(cost) = cost else { continue };
            // The tokens re-priced (a detail CSV's billed ones) and the cost held against.
            let (inp, outp, recorded) = (basis.input[i], basis.output[i], basis.cost[i]);
            let model = basis.model.map(|m| m[i]);
            let rates = rates.of(model).filter(|_| !keeps_recorded_cost(inp, outp, recorded));
            // A row that keeps its cost shows it whole, with no split.
            let (pin, pout) = rates.map_or((0, 0), |(rin, rout)| (rin.micros(inp), rout.micros(outp)));
            self.reread(&mut file, i, |row| {
                if let Some(s) = row.create_date {
                    crate::dates::write_datetime(s, &mut out);
                }
                out.push_str(&format!(
                    ",{},{},{},{},{},",
                    inp,
                    outp,
                    micros_text(pin as i128),
                    micros_text(pout as i128),
                    micros_text(*cost as i128)
                ));
                let (pk, sk) = (crate::csv::text_of(row.pk), crate::csv::text_of(row.sk));
                for (k, text) in [pk.as_str(), sk.as_str(), row.source].into_iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    push_spreadsheet_cell(&mut out, text);
                }
                out.push(',');
                out.push_str(&micros_text(recorded as i128));
                out.push('\n');
            })?;
        }
        Ok(out.into_bytes())
    }
}

/// A text cell, quoted where needed and safe to open in a spreadsheet: a
/// cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, also
/// after leading white space or line ends, or starting with a tab or CR)
/// gets a leading `'`.
fn push_spreadsheet_cell(out: &mut String, text: &str) {
    let lead = text.trim_start_matches([' ', '\t', '\r', '\n']);
    let risky = lead.starts_with(['=', '+', '-', '@']) || text.starts_with(['\t', '\r']);
    let needs_quotes = text.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
    }
    if risky {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if needs_quotes {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimate::Tokens;
    use crate::pricing::parse_price;

    #[test]
    fn a_rate_prices_every_count_as_exact_decimals_do() {
        let edges = [0, 1, 2, 4095, 4096, 4097, 8191, 8192, 123_457, 16_777_215, 16_777_216, 16_777_217, 1 << 40];
        let mut counts: Vec<u64> = edges.to_vec();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            counts.push(x % [5_000, 70_000, 20_000_000][(x % 3) as usize]);
        }
        for price in ["0.003", "0.015", "0.00025", "0.0008", "0.0000125", "3", "0.000001", "0.0000005", "1234.5678"] {
            let per_1k = parse_price(price).expect("price");
            let rate = Rate::new(per_1k);
            for &t in &counts {
                let exact = (Decimal::from(t) * per_1k * Decimal::from(1000))
                    .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointNearestEven);
                let want = i64::try_from(exact.mantissa()).unwrap_or(i64::MAX);
                assert_eq!(rate.micros(t), want, "{t} tokens at {price}");
            }
        }
    }

    const CSV: &str =
        "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source
2025-12-02 10:00:00,1000,2000,0.003000,0.030000,0.033000,a,a#CONV#1,new_table
2025-12-01 23:00:00,6,2,0.000018,0.000030,0.000048,=cmd,b#CONV#2,new_table
2024-05-01 09:30:00,10,10,0.000030,0.000150,0.000180,c,c#CONV#3,old_table
,0,0,0.000000,0.000000,0.013080,d,d#CONV#4,old_table
";

    fn table() -> Table {
        Table::from_csv(CSV.as_bytes().to_vec()).expect("table")
    }

    /// Every byte pushed alone, and every two-chunk split: the table of the whole file.
    #[test]
    fn a_table_read_in_chunks_is_the_whole_files() {
        let detail = crate::detail::DETAIL_COLUMNS.join(",");
        let row = "2025-12-01 10:00:00,10,20,0.000030,0.000300,0.000330,u1,u1#CONV#a,new_table";
        let dated = "2025-12-01 10:00:00,10,20,0.000030,0.000300,0.000330";
        let header = HEADER.join(",");
        let files = [
            // A BOM, CRLF, blank lines (\r\n and lone \r), a quoted key across
            // lines, a placeholder, an unreadable date, another source.
            format!(
                "\u{feff}{header}\r\n\r\n{row}\r\n\r\r\n{dated},\"u\n2\",\"u2#CONV#b\",new_table\r\n\
                 {dated},\"u,1\",s,old_table\n2025-13-01 00:00:00,1,1,0,0,0,u3,s,x\n{row}\n\
                 sin_datos,1,1,0,0,0,sin_datos,s,new_table\n\r"
            ),
            // A quote that never closes: one unreadable record, then the rest.
            format!("{header}\n{row}\n\"open,1,2,3\n{row}\n{row}"),
            // A detail CSV.
            format!("{header},{detail}\n{row},b1,m1,m1,1,,0.5,1,2,0.000001\n{row},,m2,m2,1,,,1,2,0.1\n"),
        ];
        for file in files {
            let bytes = file.as_bytes();
            let whole = format!("{:?}", Table::from_csv(bytes.to_vec()).expect("whole"));
            let mut builder = TableBuilder::with_capacity(bytes.len());
            for b in bytes {
                builder.push(std::slice::from_ref(b)).expect("byte");
            }
            assert_eq!(format!("{:?}", builder.finish().expect("bytes")), whole, "byte by byte: {file:?}");
            for cut in 0..=bytes.len() {
                let mut builder = TableBuilder::with_capacity(0);
                builder.push(&bytes[..cut]).expect("first");
                builder.push(&bytes[cut..]).expect("second");
                assert_eq!(format!("{:?}", builder.finish().expect("split")), whole, "cut at {cut}: {file:?}");
                // The same, letting the bytes go as they are read.
                let mut builder = TableBuilder::letting_go(0, Box::new(Bytes::of(bytes)));
                builder.push(&bytes[..cut]).expect("first");
                builder.push(&bytes[cut..]).expect("second");
                assert_eq!(format!("{:?}", builder.finish().expect("split")), whole, "let go, cut at {cut}: {file:?}");
            }
            let mut builder = TableBuilder::letting_go(bytes.len(), Box::new(Bytes::of(bytes)));
            for b in bytes {
                builder.push(std::slice::from_ref(b)).expect("byte");
            }
            let let_go = builder.finish().expect("bytes");
            assert_eq!(format!("{let_go:?}"), whole, "let go, byte by byte: {file:?}");
            // Its rows read back (a few bytes at a time in tests: records
            // span reads, across CRLF, lone CR and quoted line breaks) are the kept table's.
            let kept = Table::from_csv(bytes.to_vec()).expect("whole");
            let all = Filter::default();
            assert_eq!(let_go.views(&all, 10).expect("let go"), kept.views(&all, 10).expect("kept"), "{file:?}");
            let scenario = Scenario::on_demand(Prices::default());
            assert_eq!(
                let_go.whatif_csv(&all, &scenario).expect("let go"),
                kept.whatif_csv(&all, &scenario).expect("kept")
            );
            if kept.has_detail() {
                assert_eq!(let_go.accuracy(&all, 5).expect("let go"), kept.accuracy(&all, 5).expect("kept"));
            }
        }
    }

    /// A row read back from bytes that are no longer the file's is an
    /// error, never another row's keys beside this one's figures: changed
    /// bytes (a price, a date), and bytes that cannot be read.
    #[test]
    fn a_row_that_cannot_be_read_back_as_it_was_is_an_error() {
        let detail = crate::detail::DETAIL_COLUMNS.join(",");
        let file = format!(
            "{},{detail}\n2025-12-01 10:00:00,10,20,0.000030,0.000300,0.000330,u1,u1#CONV#a,new_table,b1,m1,m1,1,,0.5,1,2,0.000001\n",
            HEADER.join(",")
        );
        let all = Filter::default();
        let scenario = Scenario::on_demand(Prices::default());
        let at = file.find("2025").expect("row");
        for changed in [file.replace("0.000330", "0.000331"), file.replace("10:00:00", "10:00:01")] {
            let mut builder = TableBuilder::letting_go(file.len(), Box::new(Bytes::of(changed.as_bytes())));
            builder.push(file.as_bytes()).expect("read");
            let t = builder.finish().expect("table");
            assert_eq!(t.views(&all, 1).expect_err("changed"), RereadError::Changed { offset: at });
            assert!(matches!(
                t.accuracy(&all, 1),
                Err(crate::breakdown::BreakdownError::Reread(RereadError::Changed { .. }))
            ));
            assert_eq!(
                t.whatif_csv(&all, &scenario).expect_err("changed"),
                WhatIfError::Reread(RereadError::Changed { offset: at })
            );
            // Without rows to show, nothing is read back.
            assert_eq!(t.views(&all, 0).expect("no rows shown").headline.records, 1);
        }
        // Unreadable, or cut short (fewer bytes than the file had).
        let mut gone = Bytes::of(file.as_bytes());
        gone.unreadable = true;
        for source in [gone, Bytes::of(&file.as_bytes()[..at + 30])] {
            let mut builder = TableBuilder::letting_go(file.len(), Box::new(source));
            builder.push(file.as_bytes()).expect("read");
            let t = builder.finish().expect("table");
            assert_eq!(t.views(&all, 1).expect_err("unreadable"), RereadError::Unreadable { offset: at });
        }
    }

    /// A file's bytes kept elsewhere, counting the reads back.
    #[derive(Debug)]
    struct Bytes {
        data: Vec<u8>,
        reads: std::rc::Rc<std::cell::Cell<usize>>,
        unreadable: bool,
    }

    impl Bytes {
        fn of(data: &[u8]) -> Bytes {
            Bytes { data: data.to_vec(), reads: Default::default(), unreadable: false }
        }
    }

    impl FileSource for Bytes {
        fn read_at(&self, offset: usize, out: &mut [u8]) -> Option<usize> {
            self.reads.set(self.reads.get() + 1);
            if self.unreadable {
                return None;
            }
            let n = out.len().min(self.data.len().saturating_sub(offset));
            out[..n].copy_from_slice(&self.data[offset..offset + n]);
            Some(n)
        }
    }

    /// A table that let its file's bytes go reads its rows back from the
    /// source: the same most expensive rows and export as a table that kept
    /// them, a block at a time (not a read per row), and a record longer
    /// than a block whole.
    #[test]
    fn a_table_that_let_its_bytes_go_reads_rows_back_from_the_source() {
        let long = "k".repeat(3 * crate::filebytes::BLOCK);
        let mut file = format!("{}\n", HEADER.join(","));
        for k in 0..30_000 {
            file.push_str(&format!(
                "2025-12-01 10:00:00,{k},20,0.000030,0.000300,0.000330,u{k},u{k}#CONV#a,new_table\n"
            ));
        }
        file.push_str(&format!("2025-12-02 10:00:00,1,1,0,0,9.000000,\"{long}\n\",u#CONV#b,new_table\n"));
        file.push_str("2025-12-03 10:00:00,1,1,0,0,8.000000,last,last#CONV#c,new_table");
        let kept = Table::from_csv(file.clone().into_bytes()).expect("kept");
        let source = Bytes::of(file.as_bytes());
        let reads = source.reads.clone();
        let mut builder = TableBuilder::letting_go(file.len(), Box::new(source));
        for chunk in file.as_bytes().chunks(100_000) {
            builder.push(chunk).expect("chunk");
            assert!(
                builder.window.len() < 4 * crate::filebytes::BLOCK,
                "the window holds {} bytes",
                builder.window.len()
            );
        }
        let let_go = builder.finish().expect("let go");
        assert_eq!(reads.get(), 0, "nothing read back while reading");
        assert_eq!(let_go.bytes(), file.len());
        let (a, b) =
            (kept.views(&Filter::default(), 5).expect("views"), let_go.views(&Filter::default(), 5).expect("views"));
        assert_eq!(b.top.len(), 5);
        assert_eq!(b.top[0].pk, format!("{long}\n"));
        assert_eq!(b.top[1].pk, "last");
        assert_eq!(a, b);
        let scenario = Scenario::on_demand(Prices::default());
        reads.set(0);
        let export = let_go.whatif_csv(&Filter::default(), &scenario).expect("export");
        assert_eq!(export, kept.whatif_csv(&Filter::default(), &scenario).expect("export"));
        // The first row a few bytes at a time (as rows shown are), then blocks.
        assert!(reads.get() <= file.len() / crate::filebytes::BLOCK + 12, "{} reads back for the export", reads.get());
    }

    /// A quote that never closes early in a large file: read once more only
    /// when the bytes held have doubled (not at every chunk: that would be quadratic).
    #[test]
    fn an_open_quote_is_read_again_only_as_the_bytes_held_double() {
        let row = "2025-12-01 10:00:00,10,20,0.000030,0.000300,0.000330,u1,u1#CONV#a,new_table\n";
        // Rows read and let go first: the window's positions move before the quote.
        let mut file = format!("{}\n{}\"{row}", HEADER.join(","), row.repeat(50));
        file.push_str(&row.repeat(20_000));
        let whole = format!("{:?}", Table::from_csv(file.clone().into_bytes()).expect("whole"));
        let builders =
            [TableBuilder::with_capacity(0), TableBuilder::letting_go(0, Box::new(Bytes::of(file.as_bytes())))];
        for mut builder in builders {
            let mut reads = 0;
            for chunk in file.as_bytes().chunks(1024) {
                let before = builder.wait_until;
                builder.push(chunk).expect("chunk");
                reads += usize::from(builder.window.len() >= before);
            }
            assert!(reads < 100, "{reads} readings of {} chunks", file.len() / 1024);
            let table = builder.finish().expect("table");
            assert_eq!(format!("{table:?}"), whole);
            assert_eq!(table.unreadable().len(), 1);
            assert_eq!(table.len(), 20_050);
        }
    }

    #[test]
    fn views_add_up() {
        let v = table().views(&Filter::default(), 2).expect("views");
        assert_eq!(v.headline.records, 4);
        assert_eq!(v.headline.total_cost, "0.046308");
        assert_eq!(v.headline.avg_cost, "0.011577");
        assert_eq!(v.by_source.len(), 2);
        assert_eq!(v.by_source[1].earliest, "2024-05-01 09:30:00");
        assert_eq!(v.daily.len(), 3);
        assert_eq!(v.daily[2].cost_by_source, vec!["0.033000".to_string(), "0.000000".to_string()]);
        assert_eq!(v.hourly.iter().map(|h| h.hour).collect::<Vec<_>>(), vec![9, 10, 23]);
        assert_eq!(v.top.iter().map(|t| t.pk.as_str()).collect::<Vec<_>>(), vec!["a", "d"]);
    }

    /// Days too far apart for dense cells by day are summed by day all the
    /// same: the views and what-if of a file with one more row, 8,000 years
    /// later, are the file's days and that one.
    #[test]
    fn days_far_apart_are_summed_by_day_too() {
        let near = table();
        let far =
            Table::from_csv(format!("{CSV}9999-12-31 10:00:00,1,1,0,0,0.000001,e,e#CONV#5,new_table\n").into_bytes())
                .expect("table");
        assert!(near.day_slots(2).is_some() && far.day_slots(2).is_none());
        let (a, b) =
            (near.views(&Filter::default(), 0).expect("views"), far.views(&Filter::default(), 0).expect("views"));
        assert_eq!(b.daily.len(), a.daily.len() + 1);
        assert_eq!(b.daily[..a.daily.len()], a.daily[..]);
        let last = &b.daily[a.daily.len()];
        assert_eq!((last.day.as_str(), last.records), ("9999-12-31", 1));
        assert_eq!(last.cost_by_source, ["0.000001", "0.000000"]);
        let scenario = Scenario::on_demand(Prices::default());
        let (a, b) = (
            near.whatif(&Filter::default(), &scenario).expect("a"),
            far.whatif(&Filter::default(), &scenario).expect("b"),
        );
        assert_eq!(b.daily.len(), a.daily.len() + 1);
        assert_eq!(b.daily[..a.daily.len()], a.daily[..]);
    }

    #[test]
    fn filters_by_day_and_source() {
        let t = table();
        let f = Filter { from: Day::parse("2025-12-01"), to: Day::parse("2025-12-01"), ..Filter::default() };
        assert_eq!(t.views(&f, 0).expect("views").headline.records, 1);
        let f = Filter { sources: Some(vec!["old_table".into()]), ..Filter::default() };
        assert_eq!(t.views(&f, 0).expect("views").headline.records, 2);
    }

    /// The headline call gives the views' headline, for every filter (a
    /// `#BOT#` item among them: counted apart from the conversations).
    #[test]
    fn the_headline_alone_is_the_views_headline() {
        let t =
            Table::from_csv(format!("{CSV}2025-12-01 12:00:00,5,5,0,0,0.000500,a,a#BOT#x,new_table\n").into_bytes())
                .expect("table");
        let day = |d: &str| Day::parse(d);
        let filters = [
            Filter::default(),
            Filter { from: day("2025-12-01"), to: day("2025-12-01"), ..Filter::default() },
            Filter { from: day("2026-01-01"), ..Filter::default() },
            Filter { sources: Some(vec!["old_table".into()]), ..Filter::default() },
            Filter { users: Some(vec!["a".into()]), ..Filter::default() },
        ];
        for f in filters {
            assert_eq!(t.headline(&f), t.views(&f, 0).expect("views").headline, "{f:?}");
        }
        let h = t.headline(&Filter { from: day("2025-12-01"), ..Filter::default() });
        assert_eq!((h.records, h.conversations, h.other_items, h.total_cost.as_str()), (3, 2, 1, "0.033548"));
        assert_eq!(h.avg_cost_per_conversation, "0.016524");
    }

    /// Every scenario's total in one pass is its what-if's; one that cannot be priced is `None`.
    #[test]
    fn whatif_totals_are_each_whatifs_cost() {
        let t = table();
        let scenario = |i: &str, o: &str, batch| Scenario {
            prices: Prices { input_per_1k: parse_price(i).expect("p"), output_per_1k: parse_price(o).expect("p") },
            batch,
            ..Scenario::default()
        };
        let scenarios = [
            scenario("0.00025", "0.00125", None),
            scenario("0.003", "0.015", Some(BATCH_MULTIPLIER)),
            scenario("9223372036854775807", "0", None),
            scenario("0", "0", None),
        ];
        for f in [Filter::default(), Filter { sources: Some(vec!["old_table".into()]), ..Filter::default() }] {
            let totals = t.whatif_totals(&f, &scenarios);
            let each: Vec<Option<String>> =
                scenarios.iter().map(|s| t.whatif(&f, s).ok().map(|w| w.whatif_cost)).collect();
            assert_eq!(totals, each, "{f:?}");
            assert_eq!(totals[2], None);
        }
        assert_eq!(t.whatif_totals(&Filter::default(), &scenarios)[3].as_deref(), Some("0.013080"));
    }

    #[test]
    fn whatif_matches_decimal_pricing() {
        let t = table();
        let prices = Prices {
            input_per_1k: parse_price("0.00025").expect("p"),
            output_per_1k: parse_price("0.00125").expect("p"),
        };
        let w = t.whatif(&Filter::default(), &Scenario::on_demand(prices)).expect("priced");
        let mut want = Decimal::new(13080, 6);
        for (i, o) in [(1000, 2000), (6, 2), (10, 10)] {
            want += prices.price(Tokens { input: i, output: o }).expect("price").total;
        }
        assert_eq!(w.whatif_cost, format!("{want:.6}"));
        assert_eq!(w.rows_at_recorded_cost, 1);
        assert_eq!(w.window_end, "2025-12-02");
        assert_eq!(w.window_start, "2025-11-03");
        assert_eq!(w.window_days, 30);
        // The sources add up to the totals.
        let sum = |f: fn(&WhatIfSource) -> &String| {
            w.by_source.iter().map(|b| parse_price(f(b)).expect("money")).sum::<Decimal>()
        };
        assert_eq!(format!("{:.6}", sum(|b| &b.whatif)), w.whatif_cost);
        assert_eq!(format!("{:.6}", sum(|b| &b.actual)), w.actual_cost);
        assert_eq!(w.by_source.iter().map(|b| b.records).sum::<u64>(), w.records);
    }

    #[test]
    fn small_negative_percentages_keep_their_sign() {
        assert_eq!(fixed2(-51, 10_000), "-0.01");
        assert_eq!(fixed2(-50, 10_000), "0.00"); // -0.005: a tie, to the even 0
        assert_eq!(fixed2(-1, 200), "0.00"); // rounds to zero: no sign
        assert_eq!(fixed2(-5_000, 10_000), "-0.50");
        assert_eq!(fixed2(-15_000, 10_000), "-1.50");
        assert_eq!(fixed2(5_000, 10_000), "0.50");
        assert_eq!(fixed2(1, 200), "0.00"); // 0.005 is a tie: half to even
        assert_eq!(fixed2(3, 200), "0.02");
        assert_eq!(fixed2(-3, 200), "-0.02");
        assert_eq!(fixed2(7, -10_000), "0.00");
        assert_eq!(fixed2(70, -10_000), "-0.01");
    }

    #[test]
    fn projection_is_a_run_rate_over_the_days_covered() {
        // Ten days of 1.000000 each: 30 days at that rate is 30.000000.
        let mut csv = HEADER.join(",");
        csv.push('\n');
        for d in 1..=10 {
            csv += &format!("2026-11-{d:02} 10:00:00,1000,0,1.000000,0.000000,1.000000,p{d},s{d},new_table\n");
        }
        let t = Table::from_csv(csv.into_bytes()).expect("table");
        let w = t.whatif(&Filter::default(), &Scenario::on_demand(Prices::default())).expect("priced");
        assert_eq!((w.window_start.as_str(), w.window_end.as_str(), w.window_days), ("2026-11-01", "2026-11-10", 10));
        assert_eq!(w.monthly_actual, "30.000000");
        // 1000 input tokens at 0.003 = 0.003000 a day → 0.090000 a month.
        assert_eq!(w.monthly_projection, "0.090000");
        // A filter starting inside the data narrows the window the same way.
        let f = Filter { from: Day::parse("2026-11-08"), ..Filter::default() };
        let w = t.whatif(&f, &Scenario::on_demand(Prices::default())).expect("priced");
        assert_eq!((w.window_days, w.monthly_actual.as_str()), (3, "30.000000"));
    }

    #[test]
    fn token_sums_past_64_bits_stay_exact() {
        // 20,000 rows of 10^15 tokens (the most a cell holds) in one hour of
        // one source: 2 x 10^19, past what u64 holds (1.8 x 10^19).
        let mut csv = HEADER.join(",");
        csv.push('\n');
        for k in 0..20_000 {
            csv +=
                &format!("2026-11-01 10:00:00,1000000000000000,999999999999999,0,0,0,p{k},p{k}#CONV#{k},new_table\n");
        }
        let t = Table::from_csv(csv.into_bytes()).expect("table");
        let v = t.views(&Filter::default(), 0).expect("views");
        assert_eq!(t.headline(&Filter::default()), v.headline);
        assert_eq!(v.headline.input_tokens, 20_000_000_000_000_000_000);
        assert_eq!(v.headline.output_tokens, 19_999_999_999_999_980_000);
        assert_eq!(v.by_source[0].input_tokens, 20_000_000_000_000_000_000);
        assert_eq!(v.hourly[0].avg_output, "999999999999999.00");
    }

    #[test]
    fn totals_never_saturate_and_unpriceable_rows_are_an_error() {
        // 3,000 rows of 9 billion dollars (the largest a cell holds is 10
        // billion): 27 trillion, past what i64 millionths hold (9.2 trillion).
        let mut csv = HEADER.join(",");
        csv.push('\n');
        for k in 0..3000 {
            let d = 1 + k % 3;
            csv += &format!("2026-11-0{d} 10:00:00,1000,0,0,0,9000000000.000000,p{k},s{k},new_table\n");
        }
        let t = Table::from_csv(csv.into_bytes()).expect("table");
        assert_eq!(t.len(), 3000);
        let w = t.whatif(&Filter::default(), &Scenario::on_demand(Prices::default())).expect("priced");
        assert_eq!(w.actual_cost, "27000000000000.000000");
        assert_eq!(w.by_source[0].actual, "27000000000000.000000");
        let days: Vec<&str> = w.daily.iter().map(|d| d.actual.as_str()).collect();
        assert_eq!(days, ["9000000000000.000000"; 3]);
        assert_eq!(t.views(&Filter::default(), 1).expect("views").headline.total_cost, "27000000000000.000000");
        // A price that makes a row's cost unrepresentable is an error, not a saturated figure.
        let absurd = Prices { input_per_1k: parse_price("100000000000000").expect("p"), ..Prices::default() };
        let err = t.whatif(&Filter::default(), &Scenario::on_demand(absurd)).expect_err("too costly");
        assert_eq!(err, WhatIfError::RowTooCostly { input: 1000, output: 0 });
        assert!(t.whatif_csv(&Filter::default(), &Scenario::on_demand(absurd)).is_err());
        let huge = Prices { input_per_1k: Decimal::MAX, ..Prices::default() };
        let doubled = Scenario { prices: huge, batch: Some(Decimal::TWO), ..Scenario::default() };
        assert_eq!(t.whatif(&Filter::default(), &doubled).expect_err("overflow"), WhatIfError::BatchTooLarge);
        let mut sum = Sum128::default();
        for x in [i64::MAX, i64::MAX, 2, i64::MIN, -5] {
            sum.add(x);
        }
        assert_eq!(sum.get(), 2 * i128::from(i64::MAX) + 2 + i128::from(i64::MIN) - 5);
    }

    #[test]
    fn spreadsheet_cells_never_start_a_formula() {
        let cell = |t: &str| {
            let mut out = String::new();
            push_spreadsheet_cell(&mut out, t);
            out
        };
        assert_eq!(cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(cell("  =1+1"), "'  =1+1");
        assert_eq!(cell("\n@SUM(A1)"), "\"'\n@SUM(A1)\"");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("user-1@example.com"), "user-1@example.com");
        assert_eq!(cell("a,\"b\""), "\"a,\"\"b\"\"\"");
    }

    #[test]
    fn exported_csv_neutralises_formulas() {
        let csv = table()
            .whatif_csv(
                &Filter::default(),
                &Scenario { prices: Prices::default(), batch: Some(BATCH_MULTIPLIER), ..Scenario::default() },
            )
            .expect("priced");
        let text = String::from_utf8(csv).expect("utf8");
        assert!(text.contains(",'=cmd,"), "{text}");
        assert!(text.lines().next().is_some_and(|h| h.ends_with(",actual_total_price")));
    }
}
