//! The row and its CSV (`ACCOUNTING.md` section 9): an exact writer, and a
//! tolerant reader for every shape the Python Lambdas wrote.

use std::fmt::Write as _;
use std::io::{self, Write};

use rust_decimal::Decimal;

use crate::dates::write_datetime;
use crate::numtext::{self, decimal_from_micros};

/// The columns, in the order written.
pub const HEADER: [&str; 9] = [
    "create_date",
    "input_token",
    "output_token",
    "precio_token_input",
    "precio_token_output",
    "total_price",
    "pk",
    "sk",
    "source",
];

/// The `pk` of the row the Lambdas wrote when they found nothing.
pub const PLACEHOLDER_PK: &str = "sin_datos";

/// The Lambdas' text for a date they could not read.
pub const INVALID_DATE_TEXT: &str = "Fecha inválida";

/// One priced conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `create_date` as epoch seconds; `None` is written empty.
    pub create_date: Option<i64>,
    /// `input_token`.
    pub input_token: u64,
    /// `output_token`.
    pub output_token: u64,
    /// `precio_token_input` (6 decimals).
    pub precio_token_input: Decimal,
    /// `precio_token_output` (6 decimals).
    pub precio_token_output: Decimal,
    /// `total_price` (6 decimals).
    pub total_price: Decimal,
    /// `pk`.
    pub pk: String,
    /// `sk`.
    pub sk: String,
    /// `source`: `old_table`, `new_table`, ...
    pub source: String,
}

impl Row {
    /// The nine cells exactly as written.
    pub fn cells(&self) -> [String; 9] {
        let date = self.create_date.map(crate::dates::format_datetime).unwrap_or_default();
        [
            date,
            self.input_token.to_string(),
            self.output_token.to_string(),
            format!("{:.6}", money6(self.precio_token_input)),
            format!("{:.6}", money6(self.precio_token_output)),
            format!("{:.6}", money6(self.total_price)),
            self.pk.clone(),
            self.sk.clone(),
            self.source.clone(),
        ]
    }

    /// The output order of every job: `create_date` descending with empty
    /// dates last, then `pk`, then `sk` (bytes), then the remaining columns
    /// so that equal keys still sort the same way every time.
    pub fn output_order(a: &Row, b: &Row) -> std::cmp::Ordering {
        let date = match (a.create_date, b.create_date) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        date.then_with(|| a.pk.as_bytes().cmp(b.pk.as_bytes()))
            .then_with(|| a.sk.as_bytes().cmp(b.sk.as_bytes()))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.input_token.cmp(&b.input_token))
            .then_with(|| a.output_token.cmp(&b.output_token))
            .then_with(|| a.total_price.cmp(&b.total_price))
            .then_with(|| a.precio_token_input.cmp(&b.precio_token_input))
    }
}

/// Sorts rows in the output order.
pub fn sort_rows(rows: &mut [Row]) {
    rows.sort_unstable_by(Row::output_order);
}

// --- writing ---------------------------------------------------------------

pub(crate) fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A price as written: rounded half to even at 6 decimals (`{:.6}` alone
/// truncates), `-0` as `0`. Rows priced by the core already are.
#[inline]
pub(crate) fn money6(d: Decimal) -> Decimal {
    if d.scale() == 6 && d.is_sign_positive() {
        d
    } else {
        crate::pricing::round6(d)
    }
}

/// Appends one CSV line (with its `\n`) for `row`.
pub fn push_row(out: &mut String, row: &Row) {
    if let Some(secs) = row.create_date {
        write_datetime(secs, out);
    }
    let _ = write!(
        out,
        ",{},{},{:.6},{:.6},{:.6},",
        row.input_token,
        row.output_token,
        money6(row.precio_token_input),
        money6(row.precio_token_output),
        money6(row.total_price)
    );
    push_field(out, &row.pk);
    out.push(',');
    push_field(out, &row.sk);
    out.push(',');
    push_field(out, &row.source);
    out.push('\n');
}

/// Writes the header and every row: UTF-8, no BOM, `\n`, RFC 4180 quoting
/// only where needed.
pub fn write_csv<W: Write>(w: W, rows: &[Row]) -> io::Result<()> {
    write_lines(w, &HEADER.join(","), rows.iter().map(Ok), |out, row| push_row(out, row))
}

/// Writes `header`, then each item's line (`push` appends it with its
/// `\n`) as the items come, through a 64 KiB buffer; the first item that
/// is an error stops it.
pub fn write_lines<W: Write, T, E: From<io::Error>>(
    mut w: W,
    header: &str,
    items: impl IntoIterator<Item = Result<T, E>>,
    push: impl Fn(&mut String, &T),
) -> Result<(), E> {
    let mut buf = String::with_capacity(64 * 1024);
    buf.push_str(header);
    buf.push('\n');
    for item in items {
        push(&mut buf, &item?);
        if buf.len() > 60 * 1024 {
            w.write_all(buf.as_bytes())?;
            buf.clear();
        }
    }
    w.write_all(buf.as_bytes())?;
    w.flush()?;
    Ok(())
}

/// The whole CSV as bytes.
pub fn to_csv_bytes(rows: &[Row]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 170 + 100);
    // Writing to a Vec cannot fail.
    let _ = write_csv(&mut out, rows);
    out
}

// --- reading ---------------------------------------------------------------

/// A file that cannot be read as rows at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    /// No header line.
    #[error("empty file: no header line")]
    Empty,
    /// A required column is absent from the header.
    #[error("missing column {0:?} in the header")]
    MissingColumn(&'static str),
}

/// A record that could not be read, with the line where it starts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct BadRow {
    /// Physical line where the record starts (the header is line 1).
    pub line: u64,
    /// What was wrong.
    pub error: String,
}

impl BadRow {
    /// The record starting at `line`, and why it cannot be read.
    pub fn new(line: u64, error: RecordError) -> BadRow {
        BadRow { line, error: error.to_string() }
    }
}

/// The cells of a record, borrowed, checked and converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef<'a> {
    /// `create_date` (epoch seconds).
    pub create_date: Option<i64>,
    /// `input_token`.
    pub input_token: u64,
    /// `output_token`.
    pub output_token: u64,
    /// `precio_token_input` in millionths.
    pub input_micros: i64,
    /// `precio_token_output` in millionths.
    pub output_micros: i64,
    /// `total_price` in millionths.
    pub total_micros: i64,
    /// `pk`.
    pub pk: &'a [u8],
    /// `sk`.
    pub sk: &'a [u8],
    /// `source`.
    pub source: &'a str,
}

impl RowRef<'_> {
    /// An owned row.
    pub fn to_row(&self) -> Row {
        let dec = |m: i64| decimal_from_micros(m as i128).unwrap_or_default();
        Row {
            create_date: self.create_date,
            input_token: self.input_token,
            output_token: self.output_token,
            precio_token_input: dec(self.input_micros),
            precio_token_output: dec(self.output_micros),
            total_price: dec(self.total_micros),
            pk: text_of(self.pk),
            sk: text_of(self.sk),
            source: self.source.to_string(),
        }
    }
}

/// Text already checked to be UTF-8.
pub fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What one record was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A readable row.
    Row(RowRef<'a>),
    /// The Lambdas' `sin_datos` placeholder, to drop.
    Placeholder,
    /// An unreadable record.
    Bad(BadRow),
}

/// A cell as quoted in a message: at most 80 bytes of it (a bad cell can be
/// megabytes long), with its length when cut.
fn quoted(s: &[u8]) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return format!("'{}'", String::from_utf8_lossy(s));
    }
    let text = String::from_utf8_lossy(&s[..MAX]);
    format!("'{}…' ({} bytes)", text.trim_end_matches('\u{fffd}'), s.len())
}

/// Why a record of a CSV cannot be read (its text is the `error` of a
/// [`BadRow`], as the reports and the fixtures write it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A quoted field runs to the end of the file.
    #[error("a quoted field never closes")]
    Unterminated,
    /// Not as many fields as the header.
    #[error("expected {expected} fields, got {got}")]
    FieldCount {
        /// The header's.
        expected: usize,
        /// This record's.
        got: usize,
    },
    /// A text column that is not UTF-8.
    #[error("not UTF-8 in {0}")]
    NotUtf8(&'static str),
    /// A number column that holds no number (the cell, quoted short).
    #[error("not a number: {0}")]
    NotANumber(String),
    /// A token count with a fraction.
    #[error("not an integer: {0}")]
    NotAnInteger(String),
    /// A token count below zero.
    #[error("negative token count: {0}")]
    NegativeTokens(String),
    /// A token count above [`MAX_TOKENS`].
    #[error("token count out of range: {0}")]
    TokensOutOfRange(String),
    /// A price too large to hold.
    #[error("number out of range: {0}")]
    MoneyOutOfRange(String),
    /// A `create_date` that is not `YYYY-MM-DD HH:MM:SS`.
    #[error("not a date: {0}")]
    NotADate(String),
}

/// The largest token count read (a quadrillion): beyond it a cell is out of
/// range, so sums over millions of rows cannot overflow.
pub const MAX_TOKENS: u64 = 1_000_000_000_000_000;

/// Reads a token count: an integer, possibly written `1234.0`.
pub(crate) fn parse_tokens(cell: &[u8]) -> Result<u64, RecordError> {
    if !cell.is_empty() && cell.len() <= 15 {
        let (mut v, mut ok) = (0u64, true);
        for &d in cell {
            let digit = d.wrapping_sub(b'0');
            ok &= digit < 10;
            v = v * 10 + digit as u64;
        }
        if ok {
            return Ok(v);
        }
    }
    let text = std::str::from_utf8(cell).map_err(|_| RecordError::NotANumber(quoted(cell)))?;
    let num = numtext::parse(text).ok_or_else(|| RecordError::NotANumber(quoted(cell)))?;
    if !num.is_integral() {
        return Err(RecordError::NotAnInteger(quoted(cell)));
    }
    if num.negative && !num.is_zero() {
        return Err(RecordError::NegativeTokens(quoted(cell)));
    }
    num.trunc_i128()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v <= MAX_TOKENS)
        .ok_or_else(|| RecordError::TokensOutOfRange(quoted(cell)))
}

/// Reads a price, rounded half to even at 6 decimals, in millionths.
pub(crate) fn parse_money(cell: &[u8]) -> Result<i64, RecordError> {
    // Fastest path: `d+.dddddd`, exactly as Tally writes them.
    if let Some((int, [b'.', frac @ ..])) =
        cell.len().checked_sub(7).filter(|d| (1..=12).contains(d)).map(|d| cell.split_at(d))
    {
        let (mut v, mut ok) = (0i64, true);
        for &d in int {
            let digit = d.wrapping_sub(b'0');
            ok &= digit < 10;
            v = v * 10 + digit as i64;
        }
        let mut f = 0i64;
        if let [a, b, c, d, e, g] = *frac {
            for digit in [a, b, c, d, e, g].map(|x| x.wrapping_sub(b'0')) {
                ok &= digit < 10;
                f = f * 10 + digit as i64;
            }
        }
        if ok {
            return Ok(v * 1_000_000 + f);
        }
    }
    // Fast path: `d+.dddddd` with at most 6 decimals.
    let mut v: i64 = 0;
    let mut i = 0;
    while i < cell.len() && i < 12 && cell[i].is_ascii_digit() {
        v = v * 10 + (cell[i] - b'0') as i64;
        i += 1;
    }
    if i > 0 && cell.get(i) == Some(&b'.') {
        let frac = &cell[i + 1..];
        if (1..=6).contains(&frac.len()) {
            let mut ok = true;
            for &d in frac {
                ok &= d.is_ascii_digit();
                v = v * 10 + (d.wrapping_sub(b'0')) as i64;
            }
            if ok {
                const SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
                return Ok(v * SCALE[frac.len()]);
            }
        }
    }
    let bad = || RecordError::NotANumber(quoted(cell));
    let text = std::str::from_utf8(cell).map_err(|_| bad())?;
    let num = numtext::parse(text).ok_or_else(bad)?;
    num.micros_half_even()
        .and_then(|m| i64::try_from(m).ok())
        .filter(|m| m.unsigned_abs() < 10_000_000_000_000_000)
        .ok_or_else(|| RecordError::MoneyOutOfRange(quoted(cell)))
}

fn parse_date(cell: &[u8]) -> Result<Option<i64>, RecordError> {
    if cell.is_empty() || cell == INVALID_DATE_TEXT.as_bytes() {
        return Ok(None);
    }
    crate::dates::parse_datetime_bytes(cell).map(Some).ok_or_else(|| RecordError::NotADate(quoted(cell)))
}

/// One record's fields, borrowed from the file or from the reader's buffer.
#[derive(Debug)]
pub struct Fields<'r> {
    bytes: &'r [u8],
    bounds: &'r [(u32, u32)],
    /// A quoted field that never closes: the record is unreadable, and
    /// reading went on at the next line.
    unterminated: bool,
    /// Where the next record (or blank line) starts.
    next: usize,
}

impl<'r> Fields<'r> {
    /// The byte offset just after this record (its line end included).
    pub fn next_offset(&self) -> usize {
        self.next
    }

    /// Whether the record had a quoted field that never closed.
    pub fn is_unterminated(&self) -> bool {
        self.unterminated
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `k` (empty when out of range).
    pub fn get(&self, k: usize) -> &'r [u8] {
        self.bounds.get(k).map_or(&[], |&(a, b)| &self.bytes[a as usize..b as usize])
    }
}

/// `0x0101…01`: a byte repeated over a word by multiplication.
const EVERY_BYTE: u64 = 0x0101_0101_0101_0101;

/// The high bit of each byte of `x` that is zero, exactly (no borrow
/// crosses bytes, unlike the subtracting test).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Calls `f` with the index of each `,` of `s`, in order: eight bytes at a
/// time, each word's commas as the bits of a mask.
#[inline]
fn for_each_comma(s: &[u8], mut f: impl FnMut(usize)) {
    let mut words = s.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let x = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        let mut hits = zero_bytes(x ^ (EVERY_BYTE * b',' as u64));
        while hits != 0 {
            f(at + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        at += 8;
    }
    for (k, &c) in words.remainder().iter().enumerate() {
        if c == b',' {
            f(at + k);
        }
    }
}

/// The records of a CSV held in memory, read as the Lambdas' readers did:
/// `,` between fields, `"` quoting, `\n`, `\r\n` or `\r` ending records,
/// blank lines skipped, a leading BOM ignored. Unquoted lines (all of those
/// Tally writes) take a fast path; quoted ones go through `csv-core`.
#[derive(Debug)]
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    line: u64,
    bounds: Vec<(u32, u32)>,
    unquoted: Vec<u8>,
    ends: Vec<usize>,
}

impl<'a> Records<'a> {
    /// Reads `data`.
    pub fn new(data: &'a [u8]) -> Records<'a> {
        let pos = if data.starts_with(b"\xef\xbb\xbf") { 3 } else { 0 };
        Records { data, pos, line: 1, bounds: Vec::with_capacity(16), unquoted: Vec::new(), ends: vec![0; 16] }
    }

    /// Reads `data` from `pos`, where a record (or blank line) of line
    /// `line` starts: reading goes on where an earlier reading of the same
    /// file's first bytes stopped.
    pub fn resume(data: &'a [u8], pos: usize, line: u64) -> Records<'a> {
        Records { pos, line, ..Records::new(data) }
    }

    /// Byte offset where the next record (or blank line) starts.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// The line where the next record (or blank line) starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next record: its starting line and byte offset, and its fields.
    pub fn next_record(&mut self) -> Option<(u64, usize, Fields<'_>)> {
        let data = self.data;
        // Skip blank lines.
        loop {
            match data.get(self.pos) {
                None => return None,
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                }
                Some(b'\r') => {
                    // A lone carriage return ends a line too (old Mac files).
                    if data.get(self.pos + 1) != Some(&b'\n') {
                        self.line += 1;
                    }
                    self.pos += 1;
                }
                Some(_) => break,
            }
        }
        let start = self.pos;
        let line = self.line;
        // Fast path: a line without quotes or stray carriage returns (all
        // those Tally writes): its end, then a check and its commas, each a
        // SIMD search (memchr).
        let eol = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |k| start + k);
        let crlf = eol < data.len() && eol > start && data[eol - 1] == b'\r';
        let end = if crlf { eol - 1 } else { eol };
        let body = &data[start..end];
        if data.len() < u32::MAX as usize && memchr::memchr2(b'"', b'\r', body).is_none() {
            self.bounds.clear();
            let mut field_start = start;
            for_each_comma(body, |k| {
                self.bounds.push((field_start as u32, (start + k) as u32));
                field_start = start + k + 1;
            });
            self.bounds.push((field_start as u32, end as u32));
            if eol < data.len() {
                self.pos = eol + 1;
                self.line += 1;
            } else {
                self.pos = eol;
            }
            let next = self.pos;
            return Some((line, start, Fields { bytes: data, bounds: &self.bounds, unterminated: false, next }));
        }
        self.slow_record(start, line)
    }

    fn slow_record(&mut self, start: usize, line: u64) -> Option<(u64, usize, Fields<'_>)> {
        let mut reader = csv_core::Reader::new();
        let mut input = &self.data[start..];
        if self.unquoted.len() < input.len().min(1 << 16) + 64 {
            self.unquoted.resize(input.len().min(1 << 16) + 64, 0);
        }
        let (mut nout_total, mut nend_total, mut nin_total) = (0usize, 0usize, 0usize);
        loop {
            let (res, nin, nout, nend) =
                reader.read_record(input, &mut self.unquoted[nout_total..], &mut self.ends[nend_total..]);
            input = &input[nin..];
            nin_total += nin;
            nout_total += nout;
            nend_total += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if nin == 0 && nout == 0 && nend == 0 && input.is_empty() {
                        // Signal the end of input: the reader finishes the record.
                        let (res, _, nout, nend) =
                            reader.read_record(&[], &mut self.unquoted[nout_total..], &mut self.ends[nend_total..]);
                        nout_total += nout;
                        nend_total += nend;
                        if res == csv_core::ReadRecordResult::OutputFull {
                            let len = self.unquoted.len();
                            self.unquoted.resize(len * 2, 0);
                            continue;
                        }
                        break;
                    }
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.unquoted.len();
                    self.unquoted.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        let consumed = &self.data[start..start + nin_total];
        // A record that runs to the end of the file across lines with an odd
        // number of quotes has a quoted field that never closed: one bad
        // record, and reading goes on at the next line rather than losing
        // the rest of the file inside the quotes.
        let at_end = start + nin_total >= self.data.len();
        if at_end && consumed.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
            if let Some(eol) = consumed.iter().position(|&b| b == b'\n' || b == b'\r') {
                self.pos = start + eol + 1;
                if consumed[eol] == b'\r' && self.data.get(self.pos) == Some(&b'\n') {
                    self.pos += 1;
                }
                self.line += 1;
                self.bounds.clear();
                let next = self.pos;
                return Some((line, start, Fields { bytes: &[], bounds: &self.bounds, unterminated: true, next }));
            }
        }
        self.line += line_breaks(consumed);
        self.pos = start + nin_total;
        if consumed.last() == Some(&b'\r') && self.data.get(self.pos) == Some(&b'\n') {
            // `\r\n` split by the reader: the `\r` was counted as the break.
            self.pos += 1;
        }
        self.bounds.clear();
        let mut a = 0;
        for &e in &self.ends[..nend_total] {
            self.bounds.push((a as u32, e as u32));
            a = e;
        }
        if self.pos == start {
            return None;
        }
        let next = self.pos;
        Some((
            line,
            start,
            Fields { bytes: &self.unquoted[..nout_total], bounds: &self.bounds, unterminated: false, next },
        ))
    }
}

/// Line breaks in `s`: `\n`, and `\r` not followed by `\n`.
fn line_breaks(s: &[u8]) -> u64 {
    let mut n = 0;
    for (k, &b) in s.iter().enumerate() {
        if b == b'\n' || b == b'\r' && s.get(k + 1) != Some(&b'\n') {
            n += 1;
        }
    }
    n
}

/// Where each of the nine columns is in the file's header.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    index: [usize; 9],
    width: usize,
}

impl Columns {
    /// Matches the header by name (a leading BOM is ignored; extra columns too).
    pub fn from_header(header: &Fields<'_>) -> Result<Columns, CsvError> {
        let names: Vec<&[u8]> = (0..header.len()).map(|k| header.get(k)).collect();
        if names.is_empty() || names.len() == 1 && names[0].is_empty() {
            return Err(CsvError::Empty);
        }
        let mut index = [0usize; 9];
        for (slot, want) in index.iter_mut().zip(HEADER) {
            *slot = names.iter().position(|n| *n == want.as_bytes()).ok_or(CsvError::MissingColumn(want))?;
        }
        Ok(Columns { index, width: names.len() })
    }

    /// Checks and converts one record's cells.
    pub fn record<'r>(&self, cells: &Fields<'r>, line: u64) -> Record<'r> {
        if cells.unterminated {
            return Record::Bad(BadRow::new(line, RecordError::Unterminated));
        }
        if cells.len() != self.width {
            return Record::Bad(BadRow::new(line, RecordError::FieldCount { expected: self.width, got: cells.len() }));
        }
        let cell = |k: usize| cells.get(self.index[k]);
        if cell(6) == PLACEHOLDER_PK.as_bytes() {
            return Record::Placeholder;
        }
        // Keys are checked, not converted: the explorer never needs them as text.
        let checked = |k: usize| {
            let bytes = cell(k);
            if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
                Ok(bytes)
            } else {
                Err(RecordError::NotUtf8(HEADER[k]))
            }
        };
        let text = |k: usize| {
            let bytes = cell(k);
            // ASCII (the usual keys and sources) needs no UTF-8 decoding.
            if bytes.is_ascii() {
                std::str::from_utf8(bytes).map_err(|_| RecordError::NotUtf8(HEADER[k]))
            } else {
                std::str::from_utf8(bytes).map_err(|_| RecordError::NotUtf8(HEADER[k]))
            }
        };
        let parsed = (|| -> Result<RowRef<'r>, RecordError> {
            Ok(RowRef {
                create_date: parse_date(cell(0))?,
                input_token: parse_tokens(cell(1))?,
                output_token: parse_tokens(cell(2))?,
                input_micros: parse_money(cell(3))?,
                output_micros: parse_money(cell(4))?,
                total_micros: parse_money(cell(5))?,
                pk: checked(6)?,
                sk: checked(7)?,
                source: text(8)?,
            })
        })();
        match parsed {
            Ok(row) => Record::Row(row),
            Err(error) => Record::Bad(BadRow::new(line, error)),
        }
    }
}

/// Everything read from a CSV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadRows {
    /// The rows, in file order.
    pub rows: Vec<Row>,
    /// `sin_datos` rows dropped.
    pub placeholder_rows: u64,
    /// Records that could not be read.
    pub unreadable: Vec<BadRow>,
}

/// Counts a CSV's records as its bytes arrive, keeping none of them: line
/// ends outside quotes that end a non-blank line (cheap, for comparing an
/// output's size with the previous one's, however large it is).
#[derive(Debug, Clone)]
pub struct RecordCounter {
    lines: u64,
    in_quotes: bool,
    blank: bool,
}

impl Default for RecordCounter {
    fn default() -> Self {
        RecordCounter { lines: 0, in_quotes: false, blank: true }
    }
}

impl RecordCounter {
    /// Takes the next bytes of the file.
    pub fn feed(&mut self, data: &[u8]) {
        for &b in data {
            match b {
                b'"' => {
                    self.in_quotes = !self.in_quotes;
                    self.blank = false;
                }
                b'\n' if !self.in_quotes => {
                    self.lines += u64::from(!self.blank);
                    self.blank = true;
                }
                b'\r' | b' ' | b'\t' => {}
                _ => self.blank = false,
            }
        }
    }

    /// The records after the header.
    pub fn records(&self) -> u64 {
        (self.lines + u64::from(!self.blank)).saturating_sub(1)
    }
}

/// The records of a CSV after its header, without reading them ([`RecordCounter`]).
pub fn count_records(data: &[u8]) -> u64 {
    let mut counter = RecordCounter::default();
    counter.feed(data);
    counter.records()
}

/// Bytes a record may hold back (a quoted field still open, a very long
/// line) before a reading as the bytes arrive tries it again only once the
/// bytes held have doubled: each try reads it from its start, and this
/// keeps the reading linear ([`RecordStream`], the explorer's `TableBuilder`).
pub(crate) const RETRY_AFTER: usize = 1 << 16;

/// Reads a CSV's records as its bytes arrive, so that a file of any size
/// is read in bounded memory: a record is handed over once the bytes after
/// it have arrived (its line end seen), with the line where it starts; the
/// same records, lines and errors as [`for_each_record`] over the whole file.
#[derive(Debug, Default)]
pub struct RecordStream {
    /// Bytes of the record not yet complete.
    carry: Vec<u8>,
    /// The header's columns, once read.
    columns: Option<Columns>,
    /// Lines before `carry`.
    lines_before: u64,
    /// The longest an unfinished quoted record may grow before it is taken
    /// as unterminated (0: no limit).
    max_held: usize,
    /// Bytes to gather before a large unfinished record is parsed again
    /// (each retry reads it from its start: waiting for it to double keeps
    /// the reading linear).
    wait_until: usize,
}

impl RecordStream {
    /// A reader with nothing read yet.
    pub fn new() -> RecordStream {
        RecordStream::default()
    }

    /// A reader that takes a quoted record still open after `max` bytes
    /// as one whose quote never closes (one unreadable record, the reading
    /// going on at its next line), as the whole-file reader does at the
    /// file's end: a stray quote never holds the rest of a file.
    pub fn with_limit(max: usize) -> RecordStream {
        RecordStream { max_held: max, ..RecordStream::default() }
    }

    /// Bytes held for a record not yet complete.
    pub fn held(&self) -> usize {
        self.carry.len()
    }

    /// Takes the next bytes; `f` gets each record they complete.
    pub fn feed<F: FnMut(Record<'_>) + ?Sized>(&mut self, chunk: &[u8], f: &mut F) -> Result<(), CsvError> {
        self.carry.extend_from_slice(chunk);
        if self.carry.len() < self.wait_until {
            return Ok(());
        }
        self.drain(false, f)
    }

    /// The end of the file: the last record, and an error for a file
    /// without a header.
    pub fn finish<F: FnMut(Record<'_>) + ?Sized>(mut self, f: &mut F) -> Result<(), CsvError> {
        self.drain(true, f)?;
        if self.columns.is_none() {
            return Err(CsvError::Empty);
        }
        Ok(())
    }

    fn drain<F: FnMut(Record<'_>) + ?Sized>(&mut self, at_end: bool, f: &mut F) -> Result<(), CsvError> {
        let data = std::mem::take(&mut self.carry);
        // Only the file's first bytes may hold a BOM.
        let later = self.lines_before > 0 || self.columns.is_some();
        let mut records = if later { Records::resume(&data, 0, 1) } else { Records::new(&data) };
        let keep_from;
        self.wait_until = 0;
        loop {
            let Some((line, start, fields)) = records.next_record() else {
                // Blank lines to the end: nothing kept, every line counted; but a
                // last `\r` may be the first half of a `\r\n`.
                keep_from = if !at_end && data.last() == Some(&b'\r') { data.len() - 1 } else { data.len() };
                self.lines_before += line_breaks(&data[..keep_from]);
                break;
            };
            // A record reaching the end of the bytes, or whose quotes have not
            // closed yet, may be completed by the next bytes (within the limit).
            let open = fields.unterminated && (self.max_held == 0 || data.len() - start <= self.max_held);
            if !at_end && (fields.next >= data.len() && !fields.unterminated || open) {
                keep_from = start;
                self.lines_before += line - 1;
                let held = data.len() - start;
                if held > RETRY_AFTER {
                    let limit = if self.max_held == 0 { usize::MAX } else { self.max_held + 1 };
                    self.wait_until = held.saturating_mul(2).min(limit.max(held + 1));
                }
                break;
            }
            let line = self.lines_before + line;
            match &self.columns {
                None => self.columns = Some(Columns::from_header(&fields)?),
                Some(columns) => f(columns.record(&fields, line)),
            }
        }
        self.carry = data[keep_from..].to_vec();
        Ok(())
    }
}

/// Reads every row of a CSV; unreadable records are listed, not fatal.
pub fn read_rows(data: &[u8]) -> Result<ReadRows, CsvError> {
    let mut out = ReadRows::default();
    for_each_record(data, |_, record| match record {
        Record::Row(row) => out.rows.push(row.to_row()),
        Record::Placeholder => out.placeholder_rows += 1,
        Record::Bad(bad) => out.unreadable.push(bad),
    })?;
    Ok(out)
}

/// Calls `f` with the byte offset and the reading of every record after the header.
pub fn for_each_record(data: &[u8], mut f: impl FnMut(usize, Record<'_>)) -> Result<(), CsvError> {
    for_each_record_cells(data, |_| (), |(), offset, record, _, _| f(offset, record))
}

/// [`for_each_record`] with a state made from the header's cells, handed
/// each record's cells and line too (for the columns after the nine).
pub fn for_each_record_cells<H>(
    data: &[u8],
    header: impl FnOnce(&Fields<'_>) -> H,
    mut f: impl FnMut(&mut H, usize, Record<'_>, &Fields<'_>, u64),
) -> Result<H, CsvError> {
    let mut records = Records::new(data);
    let (columns, mut state) = match records.next_record() {
        None => return Err(CsvError::Empty),
        Some((_, _, names)) => (Columns::from_header(&names)?, header(&names)),
    };
    while let Some((line, offset, fields)) = records.next_record() {
        let record = columns.record(&fields, line);
        f(&mut state, offset, record, &fields, line);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            create_date: Some(1_764_590_400),
            input_token: 1234,
            output_token: 5678,
            precio_token_input: Decimal::new(3702, 6),
            precio_token_output: Decimal::new(85170, 6),
            total_price: Decimal::new(88872, 6),
            pk: "p,k".into(),
            sk: "s\"k".into(),
            source: "old_table".into(),
        }
    }

    /// Every record's reading and line, as text (rows, placeholders, errors).
    fn readings(each: impl FnOnce(&mut dyn FnMut(Record<'_>))) -> Vec<String> {
        let mut out = Vec::new();
        each(&mut |r: Record<'_>| {
            out.push(match r {
                Record::Row(row) => format!("{:?}", row.to_row()),
                Record::Placeholder => "placeholder".into(),
                Record::Bad(bad) => bad.to_string(),
            })
        });
        out
    }

    #[test]
    fn a_stream_reads_what_the_whole_file_reads_at_any_chunk_size() {
        let mut data = String::from("\u{feff}");
        data.push_str(&HEADER.join(","));
        data.push_str("\r\n");
        let mut line = String::new();
        push_row(&mut line, &row());
        data.push_str(&line);
        data.push_str("\n\n");
        data.push_str(&line.replace("\"p,k\"", "\"p\nk\""));
        data.push_str("2025-12-01 12:00:00,1,2,x,0,0,p,s,src\r\n\r\n");
        data.push_str(&line.replace("\"p,k\"", "sin_datos"));
        data.push('\r');
        data.push_str("a,b\n");
        data.push_str("2025-12-01 12:00:00,1,2,0,0,0,\"unclosed,s,src\n");
        data.push_str(&line);
        data.push_str(&line);
        data.push_str("2025-12-01 12:00:00,1,2,0,0,0,\"never closed,s,src\n");
        data.push_str(line.trim_end());
        let whole = readings(|f| for_each_record(data.as_bytes(), |_, r| f(r)).expect("readable"));
        assert_eq!(whole.len(), 9, "{whole:#?}");
        assert!(whole.iter().any(|r| r.contains("line 15") && r.contains("never closes")), "{whole:#?}");
        for size in [1, 2, 3, 5, 7, 16, 64, data.len()] {
            let streamed = readings(|f| {
                let mut stream = RecordStream::new();
                for chunk in data.as_bytes().chunks(size) {
                    stream.feed(chunk, f).expect("readable");
                }
                stream.finish(f).expect("readable");
            });
            assert_eq!(streamed, whole, "chunks of {size} bytes");
        }
        let empty = RecordStream::new();
        assert_eq!(empty.finish(&mut |_| {}), Err(CsvError::Empty));
        // A stray quote: the whole file reads it as one unreadable record and
        // goes on; a limited stream does the same however much follows it.
        let mut stray = String::from(&HEADER.join(","));
        stray.push('\n');
        stray.push_str("2025-12-01 12:00:00,1,2,0,0,0,\"stray,s,src\n");
        for k in 0..2000 {
            stray.push_str(&format!("2025-12-01 12:00:00,1,2,0.000003,0.000030,0.000033,p{k},s,src\n"));
        }
        let whole = readings(|f| for_each_record(stray.as_bytes(), |_, r| f(r)).expect("readable"));
        assert_eq!(whole.len(), 2001);
        assert!(whole[0].contains("line 2") && whole[0].contains("never closes"), "{}", whole[0]);
        let streamed = readings(|f| {
            let mut stream = RecordStream::with_limit(4096);
            for chunk in stray.as_bytes().chunks(1000) {
                stream.feed(chunk, f).expect("readable");
            }
            stream.finish(f).expect("readable");
        });
        assert_eq!(streamed, whole);
    }

    #[test]
    fn writes_exact_lines() {
        let mut s = String::new();
        push_row(&mut s, &row());
        assert_eq!(s, "2025-12-01 12:00:00,1234,5678,0.003702,0.085170,0.088872,\"p,k\",\"s\"\"k\",old_table\n");
    }

    #[test]
    fn prices_are_rounded_half_even_when_written() {
        let r = Row {
            precio_token_input: Decimal::new(12_345_675, 10), // 0.0012345675 → 0.001235 (not truncated)
            precio_token_output: Decimal::new(-1, 8),         // -0.00000001 → 0.000000, no sign
            total_price: Decimal::new(12_345, 7),             // 0.0012345 → 0.001234 (a tie, to even)
            ..row()
        };
        let mut s = String::new();
        push_row(&mut s, &r);
        assert!(s.contains(",0.001235,0.000000,0.001234,"), "{s}");
        assert_eq!(&r.cells()[3..6], ["0.001235", "0.000000", "0.001234"]);
    }

    #[test]
    fn round_trips() {
        let rows = vec![row(), Row { create_date: None, pk: "x\ny".into(), ..row() }];
        let bytes = to_csv_bytes(&rows);
        let read = read_rows(&bytes).expect("csv");
        assert_eq!(read.rows, rows);
        assert!(read.unreadable.is_empty());
    }

    #[test]
    fn numbers_the_lambdas_wrote() {
        assert_eq!(parse_tokens(b"1234.0"), Ok(1234));
        assert_eq!(parse_tokens(b"1000000000000000"), Ok(MAX_TOKENS));
        assert_eq!(
            parse_tokens(b"1000000000000001").map_err(|e| e.to_string()),
            Err("token count out of range: '1000000000000001'".to_string())
        );
        assert!(parse_tokens(b"18446744073709551615").is_err());
        assert_eq!(parse_tokens(b"12.5").map_err(|e| e.to_string()), Err("not an integer: '12.5'".to_string()));
        assert_eq!(parse_tokens(b"diez").map_err(|e| e.to_string()), Err("not a number: 'diez'".to_string()));
        assert_eq!(parse_money(b"3e-06"), Ok(3));
        for (text, micros) in
            [("0.003300", 3300), ("12.000001", 12_000_001), ("999999999999.999999", 999_999_999_999_999_999)]
        {
            assert_eq!(parse_money(text.as_bytes()), Ok(micros), "{text}");
        }
        // Near misses of the fast path go to the general reader: refused, or read exactly.
        for text in ["1.00000x", "a.123456", "1-.123456", "1.2.3456"] {
            assert!(parse_money(text.as_bytes()).is_err(), "{text}");
        }
        assert_eq!(parse_money(b"1.2345675"), Ok(1_234_568), "seven decimals: half to even");
        assert_eq!(parse_money(b"1.2345665"), Ok(1_234_566));
        assert_eq!(parse_tokens(b"00120"), Ok(120));
        assert!(parse_tokens(b"12a").is_err() && parse_tokens(b"1/2").is_err() && parse_tokens(b":").is_err());
        assert_eq!(parse_money(b"0.08887199999999999"), Ok(88872));
        assert_eq!(parse_money(b"0.0"), Ok(0));
        assert_eq!(parse_money(b"NaN").map_err(|e| e.to_string()), Err("not a number: 'NaN'".to_string()));
        assert_eq!(parse_money(b"inf").map_err(|e| e.to_string()), Err("not a number: 'inf'".to_string()));
    }

    #[test]
    fn every_comma_is_found_once_in_order() {
        // `-` is `,` ^ 1: a borrowing zero-byte test would flag it after a comma.
        let texts =
            ["", "abc", "abcdefgh,", ",,,,,,,,,", "a,-b,--,-,-", ",-,-,-,-,-,-,-,-", "é€😀,abcdefghijk,", ",x", "a,b"];
        for text in texts {
            let b = text.as_bytes();
            let want: Vec<usize> = (0..b.len()).filter(|&i| b[i] == b',').collect();
            let mut got = Vec::new();
            for_each_comma(b, |k| got.push(k));
            assert_eq!(got, want, "{text:?}");
        }
    }

    const H: &str =
        "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source";

    #[test]
    fn an_unterminated_quote_loses_one_record_not_the_rest_of_the_file() {
        let text = format!(
            "{H}\n2025-12-01 10:00:00,1,1,0.000003,0.000015,0.000018,a,b,new_table\n\
             2025-12-01 10:00:00,1,1,0.000003,0.000015,0.000018,\"broken,b,new_table\n\
             2025-12-02 10:00:00,2,2,0.000006,0.000030,0.000036,c,d,new_table\n\
             2025-12-03 10:00:00,3,3,0.000009,0.000045,0.000054,e,f,new_table\n"
        );
        let read = read_rows(text.as_bytes()).expect("csv");
        assert_eq!(read.rows.iter().map(|r| r.pk.as_str()).collect::<Vec<_>>(), ["a", "c", "e"]);
        assert_eq!(read.unreadable, vec![BadRow { line: 3, error: "a quoted field never closes".into() }]);
    }

    #[test]
    fn lone_carriage_returns_end_lines() {
        let text = format!(
            "{H}\r2025-12-01 10:00:00,1,1,0.000003,0.000015,0.000018,a,b,new_table\r\r\
             2025-12-01 10:00:00,x,1,0.000003,0.000015,0.000018,c,d,new_table\r\
             2025-12-01 10:00:00,1,1,0.000003,0.000015,0.000018,\"e\",f,new_table\r\
             2025-12-01 10:00:00,y,1,0.000003,0.000015,0.000018,\"g\",h,new_table\r\n\
             2025-12-01 10:00:00,z,1,0.000003,0.000015,0.000018,i,j,new_table\n"
        );
        let read = read_rows(text.as_bytes()).expect("csv");
        assert_eq!(read.rows.iter().map(|r| r.pk.as_str()).collect::<Vec<_>>(), ["a", "e"]);
        let lines: Vec<u64> = read.unreadable.iter().map(|b| b.line).collect();
        assert_eq!(lines, [4, 6, 7], "{:?}", read.unreadable);
    }

    #[test]
    fn missing_column_is_fatal() {
        let err = read_rows(b"create_date,input_token\n").expect_err("missing columns");
        assert_eq!(err, CsvError::MissingColumn("output_token"));
        assert_eq!(read_rows(b"").expect_err("empty"), CsvError::Empty);
        assert_eq!(read_rows(b"\n\n").expect_err("blank"), CsvError::Empty);
    }

    #[test]
    fn records_are_counted_without_reading_them() {
        assert_eq!(count_records(b""), 0);
        assert_eq!(count_records(b"a,b\n"), 0);
        assert_eq!(count_records(b"a,b\n1,2\n3,4"), 2);
        assert_eq!(count_records(b"a,b\r\n1,\"x\ny\"\r\n\r\n3,4\r\n"), 2);
        assert_eq!(count_records(b"a,b\n1,\"say \"\"hi\"\"\n\"\n"), 1);
    }
}
