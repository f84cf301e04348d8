//! Statistics of a run (`ACCOUNTING.md` section 11), in the JSON shape of
//! the fixtures' `.stats.json` files: money as 6-decimal strings, average
//! token counts as 2-decimal strings, both rounded half to even.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::csv::{BadRow, Row};
use crate::job::{records_by_source, Counts, JobSpec};
use crate::pricing::{cost, fixed2, format6};

/// Something that went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where: `PK/SK` of an item, or a dump line.
    pub at: String,
    /// What.
    pub error: String,
}

/// The statistics of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Estimator used for new rows.
    pub estimator: String,
    /// `source` of new rows.
    pub source: String,
    /// First day of the date filter.
    pub start: String,
    /// Last day of the date filter (empty: none).
    pub end: String,
    /// Input price per 1K.
    pub input_per_1k: String,
    /// Output price per 1K.
    pub output_per_1k: String,
    /// Rows in the output.
    pub total_records: u64,
    /// Sum of `input_token`.
    pub total_input_tokens: u64,
    /// Sum of `output_token`.
    pub total_output_tokens: u64,
    /// Both sums.
    pub total_tokens: u64,
    /// The summed input tokens priced, round6.
    pub total_input_cost: String,
    /// The summed output tokens priced, round6.
    pub total_output_cost: String,
    /// Sum of `total_price`.
    pub total_cost: String,
    /// `total_cost / total_records`, round6.
    pub average_cost_per_record: String,
    /// `total_input_tokens / total_records`, 2 decimals.
    pub average_input_tokens: String,
    /// `total_output_tokens / total_records`, 2 decimals.
    pub average_output_tokens: String,
    /// Rows per `source`.
    pub records_by_source: BTreeMap<String, u64>,
    /// Items read.
    pub scanned: u64,
    /// Rows produced by this run's scan.
    pub processed: u64,
    /// Items outside the date range.
    pub filtered: u64,
    /// Items that are not conversations (`full`).
    pub skipped: u64,
    /// Rows whose `CreateTime` was not a number.
    pub invalid_dates: u64,
    /// Rows whose map text could not be parsed.
    pub unreadable_maps: u64,
    /// Items or dump entries that could not be processed.
    pub errors: u64,
    /// Image and attachment items seen (`full` only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub media_items: Option<u64>,
    /// Consolidation: rows read from the history.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub historical_rows: Option<u64>,
    /// Consolidation: `sin_datos` rows dropped from the history.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub historical_placeholder_rows: Option<u64>,
    /// Consolidation: unreadable history records.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub historical_unreadable_rows: Option<Vec<BadRow>>,
    /// Consolidation: rows produced from the table.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_rows: Option<u64>,
    /// Consolidation: rows dropped as repeated (pk, sk).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duplicates_dropped: Option<u64>,
    /// Dump entries that were not items (counted in `errors`; an entry that
    /// is not an item is not `scanned`).
    #[serde(skip)]
    pub unreadable_entries: u64,
    /// Rows whose (`pk`, `sk`) an earlier row of the same input had.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub repeated_keys: u64,
    /// Items that could not be processed (the first 1,000).
    pub error_items: Vec<Problem>,
    /// Error items beyond the first 1,000: counted, not listed.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub error_items_truncated: u64,
    /// Dump entries that were not items (the first 1,000).
    pub dump_errors: Vec<Problem>,
    /// Dump errors beyond the first 1,000: counted, not listed.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub dump_errors_truncated: u64,
    /// Consolidation: which side wins a repeated (pk, sk).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prefer: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `num / den` rounded half to even at 2 decimals, exactly.
pub fn average2(num: u64, den: u64) -> String {
    fixed2(i128::from(num), i128::from(den))
}

/// Token and cost totals of a set of rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Rows.
    pub records: u64,
    /// Sum of input tokens.
    pub input_tokens: u64,
    /// Sum of output tokens.
    pub output_tokens: u64,
    /// Sum of `total_price`.
    pub cost: Decimal,
}

/// Totals that cannot be reported exactly (they are never saturated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// A token sum beyond what a count holds.
    #[error("the {0} tokens of the rows add up to more than 18,446,744,073,709,551,615")]
    Tokens(&'static str),
    /// A money sum, or tokens priced, beyond what the money type holds.
    #[error("the {0} of the rows is beyond what can be represented (about 7.9e28 USD): check the prices")]
    Money(&'static str),
}

impl Totals {
    /// Adds the rows up, exactly.
    pub fn of(rows: &[Row]) -> Result<Totals, StatsError> {
        let mut t = Totals::default();
        for row in rows {
            t.add(row)?;
        }
        Ok(t)
    }

    /// Counts one more row (rows streamed past, not kept).
    pub fn add(&mut self, row: &Row) -> Result<(), StatsError> {
        self.records += 1;
        self.input_tokens = self.input_tokens.checked_add(row.input_token).ok_or(StatsError::Tokens("input"))?;
        self.output_tokens = self.output_tokens.checked_add(row.output_token).ok_or(StatsError::Tokens("output"))?;
        self.cost = self.cost.checked_add(row.total_price).ok_or(StatsError::Money("total cost"))?;
        Ok(())
    }
}

impl Stats {
    /// The statistics of `rows` under `spec`, with zero counters.
    pub fn of_rows(rows: &[Row], spec: &JobSpec) -> Result<Stats, StatsError> {
        Stats::of_totals(&Totals::of(rows)?, records_by_source(rows), spec)
    }

    /// [`Stats::of_rows`] from rows counted as they streamed past: their
    /// totals and their count per source.
    pub fn of_totals(t: &Totals, by_source: BTreeMap<String, u64>, spec: &JobSpec) -> Result<Stats, StatsError> {
        let priced = |tokens, per_1k, what| cost(tokens, per_1k).map(format6).map_err(|_| StatsError::Money(what));
        let average_cost = if t.records == 0 { Decimal::ZERO } else { t.cost / Decimal::from(t.records) };
        Ok(Stats {
            estimator: spec.estimator.as_str().into(),
            source: spec.source.clone(),
            start: spec.range.start.to_string(),
            end: spec.range.end.map(|d| d.to_string()).unwrap_or_default(),
            input_per_1k: spec.prices.input_per_1k.normalize().to_string(),
            output_per_1k: spec.prices.output_per_1k.normalize().to_string(),
            total_records: t.records,
            total_input_tokens: t.input_tokens,
            total_output_tokens: t.output_tokens,
            total_tokens: t.input_tokens.checked_add(t.output_tokens).ok_or(StatsError::Tokens("input and output"))?,
            total_input_cost: priced(t.input_tokens, spec.prices.input_per_1k, "input cost")?,
            total_output_cost: priced(t.output_tokens, spec.prices.output_per_1k, "output cost")?,
            total_cost: format6(t.cost),
            average_cost_per_record: format6(average_cost),
            average_input_tokens: average2(t.input_tokens, t.records),
            average_output_tokens: average2(t.output_tokens, t.records),
            records_by_source: by_source,
            scanned: 0,
            processed: 0,
            filtered: 0,
            skipped: 0,
            invalid_dates: 0,
            unreadable_maps: 0,
            errors: 0,
            media_items: None,
            historical_rows: None,
            historical_placeholder_rows: None,
            historical_unreadable_rows: None,
            new_rows: None,
            duplicates_dropped: None,
            unreadable_entries: 0,
            repeated_keys: 0,
            error_items: Vec::new(),
            error_items_truncated: 0,
            dump_errors: Vec::new(),
            dump_errors_truncated: 0,
            prefer: None,
        })
    }

    /// Sets the job's counters (`media_items` only for `full`).
    pub fn set_counts(&mut self, c: &Counts, with_media: bool) {
        self.scanned = c.scanned;
        self.processed = c.processed;
        self.filtered = c.filtered;
        self.skipped = c.skipped;
        self.invalid_dates = c.invalid_dates;
        self.unreadable_maps = c.unreadable_maps;
        self.errors = c.errors;
        self.media_items = with_media.then_some(c.media_items);
        self.unreadable_entries = c.unreadable_entries;
        self.repeated_keys = c.repeated_keys;
    }

    /// Pretty JSON, as the fixtures are written.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_round_half_even() {
        assert_eq!(average2(56590, 589), "96.08");
        assert_eq!(average2(1, 8), "0.12");
        assert_eq!(average2(3, 8), "0.38");
        assert_eq!(average2(0, 0), "0.00");
        assert_eq!(average2(5, 1), "5.00");
    }

    #[test]
    fn totals_never_saturate() {
        let row = |tokens: u64| crate::csv::Row {
            create_date: None,
            input_token: tokens,
            output_token: 0,
            precio_token_input: Decimal::ZERO,
            precio_token_output: Decimal::ZERO,
            total_price: Decimal::ZERO,
            pk: String::new(),
            sk: String::new(),
            source: "s".into(),
        };
        assert_eq!(Totals::of(&[row(u64::MAX / 2 + 1), row(u64::MAX / 2 + 1)]), Err(StatsError::Tokens("input")));
        assert_eq!(Totals::of(&[row(u64::MAX / 2), row(u64::MAX / 2)]).map(|t| t.input_tokens), Ok(u64::MAX - 1));
        let spec = crate::job::JobSpec {
            estimator: crate::estimate::Estimator::V2,
            source: "s".into(),
            range: crate::dates::DateRange { start: crate::dates::Day(0), end: None },
            prices: crate::pricing::Prices { input_per_1k: Decimal::MAX, ..crate::pricing::Prices::default() },
        };
        assert_eq!(Stats::of_rows(&[row(1_000_000)], &spec).map(|_| ()), Err(StatsError::Money("input cost")));
    }
}
