//! The four corpus runs of `../shared/fixtures/` produce byte-identical CSVs
//! and equal statistics. (The Lambdas' own CSVs are read in `cases.rs`.)
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used)]

mod common;

use tally_core::consolidate::{consolidate_run, Prefer};
use tally_core::csv::{read_rows, to_csv_bytes};
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::JsonLines;
use tally_core::job::{JobSpec, Run};
use tally_core::pricing::Prices;
use tally_core::stats::Stats;

/// "Today" as the fixtures were generated: the end date a host passes to v2
/// when the user gives none (any day from 2026-11-20 to 2034-12-31 gives the
/// same rows; the statistics echo it).
const TODAY: &str = "2026-12-01";

fn spec(estimator: Estimator, source: &str, start: &str, end: Option<&str>) -> JobSpec {
    JobSpec {
        estimator,
        source: source.into(),
        range: DateRange { start: Day::parse(start).unwrap(), end: end.map(|e| Day::parse(e).unwrap()) },
        prices: Prices::default(),
    }
    .ending_today(Day::parse(TODAY).unwrap())
}

fn run(dump: &str, spec: JobSpec) -> Run {
    let bytes = common::read(dump);
    let mut run = Run::new(spec);
    for item in JsonLines::new(bytes.as_slice()) {
        match item {
            Ok(item) => run.push(&item),
            Err(e) => run.dump_error(&e),
        }
    }
    run
}

fn assert_same_csv(got: &[u8], expected: &str) {
    let want = common::read(expected);
    if got != want.as_slice() {
        let got = String::from_utf8_lossy(got);
        let want = String::from_utf8_lossy(&want);
        for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{expected}: first difference at line {}", n + 1);
        }
        assert_eq!(got.lines().count(), want.lines().count(), "{expected}: line count");
        panic!("{expected}: bytes differ (line ends?)");
    }
}

fn assert_same_stats(got: &Stats, expected: &str) {
    let got = serde_json::to_value(got).unwrap();
    let want = common::read_json(expected);
    assert_eq!(got, want, "{expected}");
}

#[test]
fn archive_v1_matches_the_lambda() {
    let (rows, stats) =
        run("old_table.jsonl", spec(Estimator::V1, "old_table", "2024-01-01", Some("2025-12-31"))).finish().unwrap();
    assert_same_csv(&to_csv_bytes(&rows), "expected_archive_v1.csv");
    assert_same_stats(&stats, "expected_archive_v1.stats.json");
}

#[test]
fn daily_v2_matches_the_lambda() {
    let (rows, stats) = run("new_table.jsonl", spec(Estimator::V2, "new_table", "2025-12-01", None)).finish().unwrap();
    assert_same_csv(&to_csv_bytes(&rows), "expected_new_v2.csv");
    assert_same_stats(&stats, "expected_new_v2.stats.json");
}

#[test]
fn daily_full_matches_the_expected_rows() {
    let (rows, stats) =
        run("new_table.jsonl", spec(Estimator::Full, "new_table", "2025-12-01", None)).finish().unwrap();
    assert_same_csv(&to_csv_bytes(&rows), "expected_new_full.csv");
    assert_same_stats(&stats, "expected_new_full.stats.json");
}

#[test]
fn consolidation_matches_the_lambda() {
    let history = read_rows(&common::read("expected_archive_v1.csv")).unwrap();
    let new = run("new_table.jsonl", spec(Estimator::V2, "new_table", "2025-12-01", None));
    let (rows, stats) = consolidate_run(history, new, Prefer::Historical).unwrap();
    assert_same_csv(&to_csv_bytes(&rows), "expected_consolidated.csv");
    assert_same_stats(&stats, "expected_consolidated.stats.json");
}

#[test]
fn output_does_not_depend_on_item_order() {
    let bytes = common::read("new_table.jsonl");
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    lines.reverse();
    // Two "segments" fed in reverse order, merged.
    let spec = spec(Estimator::V2, "new_table", "2025-12-01", None);
    let (mut a, mut b) = (Run::new(spec.clone()), Run::new(spec));
    for (k, line) in lines.iter().enumerate() {
        let item = JsonLines::new(*line).next().unwrap().unwrap();
        if k % 2 == 0 {
            a.push(&item)
        } else {
            b.push(&item)
        }
    }
    b.merge(a);
    let (rows, _) = b.finish().unwrap();
    assert_same_csv(&to_csv_bytes(&rows), "expected_new_v2.csv");
}
