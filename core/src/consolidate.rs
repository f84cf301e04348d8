//! Consolidation (`ACCOUNTING.md` section 10): the history and the new rows
//! in one file, each (pk, sk) once, in the output order.

use std::cmp::Ordering;

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

/// A row and where it came from. Sorted by [`key_order`], the rows sharing
/// a (pk, sk) come together, in the order that decides which one a
/// consolidation keeps: the history before the new rows, the history in its
/// file's order, the new rows in the output order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyed {
    /// The row.
    pub row: Row,
    /// 0: the history; 1: the new rows.
    pub origin: u8,
    /// The history's row number in its file (0 for new rows).
    pub line: u64,
}

/// (pk, sk), then [`Keyed`]'s precedence.
pub fn key_order(a: &Keyed, b: &Keyed) -> Ordering {
    a.row
        .pk
        .as_bytes()
        .cmp(b.row.pk.as_bytes())
        .then_with(|| a.row.sk.as_bytes().cmp(b.row.sk.as_bytes()))
        .then_with(|| a.origin.cmp(&b.origin))
        .then_with(|| a.line.cmp(&b.line))
        .then_with(|| Row::output_order(&a.row, &b.row))
}

/// The one row kept of rows sharing a (pk, sk), given in [`key_order`]:
/// the first (the history's, the Lambdas' behaviour) or, with
/// [`Prefer::New`], the last.
pub fn keep(group: &mut Vec<Keyed>, prefer: Prefer) -> Option<Keyed> {
    let kept = match prefer {
        Prefer::Historical if group.is_empty() => None,
        Prefer::Historical => Some(group.swap_remove(0)),
        Prefer::New => group.pop(),
    };
    group.clear();
    kept
}

/// History then new rows, one row per (pk, sk) ([`keep`]), sorted in the
/// output order. Returns the rows and how many were dropped.
pub fn consolidate(historical: Vec<Row>, new: Vec<Row>, prefer: Prefer) -> (Vec<Row>, u64) {
    let total = historical.len() + new.len();
    let mut all: Vec<Keyed> = historical
        .into_iter()
        .enumerate()
        .map(|(k, row)| Keyed { row, origin: 0, line: k as u64 + 1 })
        .chain(new.into_iter().map(|row| Keyed { row, origin: 1, line: 0 }))
        .collect();
    all.sort_by(key_order);
    let mut kept = Vec::with_capacity(total);
    let mut group: Vec<Keyed> = Vec::new();
    for k in all {
        if group.last().is_some_and(|g| g.row.pk != k.row.pk || g.row.sk != k.row.sk) {
            kept.extend(keep(&mut group, prefer).map(|k| k.row));
        }
        group.push(k);
    }
    kept.extend(keep(&mut group, prefer).map(|k| k.row));
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
