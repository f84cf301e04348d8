//! Consolidation (`ACCOUNTING.md` section 10): the history and the new rows
//! in one file, each (pk, sk) once, in the output order.

use std::collections::HashSet;

use crate::csv::{sort_rows, ReadRows, Row};
use crate::job::Run;
use crate::stats::{Stats, StatsError};

/// Which row wins a repeated (pk, sk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    /// The first seen: the historical row (the Lambdas' behaviour).
    #[default]
    Historical,
    /// The last seen: the new row.
    New,
}

impl Prefer {
    /// `historical` or `new`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prefer::Historical => "historical",
            Prefer::New => "new",
        }
    }
}

impl std::str::FromStr for Prefer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "historical" => Ok(Prefer::Historical),
            "new" => Ok(Prefer::New),
            other => Err(format!("unknown preference {other:?} (expected historical or new)")),
        }
    }
}

/// Concatenates history then new rows, keeps one row per (pk, sk) and sorts.
/// Returns the rows and how many were dropped.
pub fn consolidate(historical: Vec<Row>, new: Vec<Row>, prefer: Prefer) -> (Vec<Row>, u64) {
    let total = historical.len() + new.len();
    let mut all = historical;
    all.extend(new);
    if prefer == Prefer::New {
        all.reverse();
    }
    let mut seen: HashSet<(String, String)> = HashSet::with_capacity(total);
    let mut kept = Vec::with_capacity(total);
    for row in all {
        if seen.insert((row.pk.clone(), row.sk.clone())) {
            kept.push(row);
        }
    }
    let dropped = (total - kept.len()) as u64;
    sort_rows(&mut kept);
    (kept, dropped)
}

/// The daily job's end: the history read from its CSV and a finished run of
/// the new table, consolidated, with the statistics of the result.
pub fn consolidate_run(history: ReadRows, run: Run, prefer: Prefer) -> Result<(Vec<Row>, Stats), StatsError> {
    let spec = run.spec().clone();
    let counts = run.counts();
    let (new_rows, new_stats) = run.finish()?;
    let historical_rows = history.rows.len() as u64;
    let new_count = new_rows.len() as u64;
    let (rows, dropped) = consolidate(history.rows, new_rows, prefer);
    let mut stats = Stats::of_rows(&rows, &spec)?;
    stats.set_counts(&counts, new_stats.media_items.is_some());
    stats.historical_rows = Some(historical_rows);
    stats.historical_placeholder_rows = Some(history.placeholder_rows);
    stats.historical_unreadable_rows = Some(history.unreadable);
    stats.new_rows = Some(new_count);
    stats.duplicates_dropped = Some(dropped);
    stats.repeated_keys = new_stats.repeated_keys;
    stats.error_items = new_stats.error_items;
    stats.error_items_truncated = new_stats.error_items_truncated;
    stats.dump_errors = new_stats.dump_errors;
    stats.dump_errors_truncated = new_stats.dump_errors_truncated;
    stats.prefer = Some(prefer.as_str().into());
    Ok((rows, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn row(pk: &str, source: &str, date: Option<i64>) -> Row {
        Row {
            create_date: date,
            input_token: 1,
            output_token: 1,
            precio_token_input: Decimal::ZERO,
            precio_token_output: Decimal::ZERO,
            total_price: Decimal::ZERO,
            pk: pk.into(),
            sk: "s".into(),
            source: source.into(),
        }
    }

    #[test]
    fn first_wins_by_default_last_with_prefer_new() {
        let hist = vec![row("a", "old_table", Some(1)), row("b", "old_table", None)];
        let new = vec![row("a", "new_table", Some(2)), row("c", "new_table", Some(3))];
        let (rows, dropped) = consolidate(hist.clone(), new.clone(), Prefer::Historical);
        assert_eq!(dropped, 1);
        let got: Vec<_> = rows.iter().map(|r| (r.pk.as_str(), r.source.as_str())).collect();
        assert_eq!(got, [("c", "new_table"), ("a", "old_table"), ("b", "old_table")]);
        let (rows, _) = consolidate(hist, new, Prefer::New);
        let got: Vec<_> = rows.iter().map(|r| (r.pk.as_str(), r.source.as_str())).collect();
        assert_eq!(got, [("c", "new_table"), ("a", "new_table"), ("b", "old_table")]);
    }
}
