//! Items per second of each estimator, each run checked against the
//! fixtures' statistics.
//!
//!     cargo bench -p tally-core --bench throughput [-- REPLICAS]
//!
//! Each estimator runs its own fixture job (v1: the archival of
//! `old_table.jsonl`; v2 and full: the daily job over `new_table.jsonl`)
//! over its table replicated REPLICAS times (default 100: 60,000 items,
//! about 4 KB each) with new keys (`<pk>-r<k>`; no key appears inside a
//! message map, so every replica counts the same tokens). Two measures: the
//! whole job from export lines (DynamoDB JSON decoding included) and the job
//! on items already read (as from a table scan). Every run must give the
//! fixture's rows, tokens and cost times REPLICAS, or the bench fails.
//! Memory is measured on the `tally` binary itself by `bench/job/run.sh`.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use rust_decimal::Decimal;
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::{item_from_export_line, Item};
use tally_core::job::{JobSpec, Run};
use tally_core::pricing::Prices;
use tally_core::stats::Stats;

fn fixtures() -> PathBuf {
    std::env::var_os("TALLY_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

/// A fixture table replicated with new keys.
fn corpus(table: &str, replicas: usize) -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join(table)).unwrap();
    let base: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    let pks: Vec<Option<String>> = base
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v["Item"]["PK"]["S"].as_str().map(String::from)
        })
        .collect();
    let mut lines = Vec::with_capacity(base.len() * replicas);
    for r in 0..replicas {
        for (line, pk) in base.iter().zip(&pks) {
            lines.push(match pk {
                Some(pk) => line.replace(pk.as_str(), &format!("{pk}-r{r:04}")),
                None => line.to_string(),
            });
        }
    }
    lines
}

/// An estimator's fixture job: its table, its spec, its expected statistics.
struct Case {
    estimator: Estimator,
    table: &'static str,
    spec: JobSpec,
    stats: serde_json::Value,
}

fn case(estimator: Estimator) -> Case {
    let day = |d: &str| Day::parse(d).unwrap();
    let (table, source, range, stats) = match estimator {
        Estimator::V1 => (
            "old_table.jsonl",
            "old_table",
            DateRange { start: day("2024-01-01"), end: Some(day("2025-12-31")) },
            "expected_archive_v1.stats.json",
        ),
        Estimator::V2 => (
            "new_table.jsonl",
            "new_table",
            DateRange { start: day("2025-12-01"), end: Some(day("2026-12-01")) },
            "expected_new_v2.stats.json",
        ),
        Estimator::Full => (
            "new_table.jsonl",
            "new_table",
            DateRange { start: day("2025-12-01"), end: None },
            "expected_new_full.stats.json",
        ),
    };
    let stats = serde_json::from_slice(&std::fs::read(fixtures().join(stats)).unwrap()).unwrap();
    let spec = JobSpec { estimator, source: source.into(), range, prices: Prices::default() };
    Case { estimator, table, spec, stats }
}

/// Fails loudly unless `got` is the fixture's statistics times `replicas`.
fn check(case: &Case, got: &Stats, replicas: u64) {
    let want = |key: &str| case.stats[key].as_u64().unwrap_or_else(|| panic!("{key} in the fixture")) * replicas;
    let money = |key: &str| case.stats[key].as_str().unwrap().parse::<Decimal>().unwrap() * Decimal::from(replicas);
    let pairs = [
        ("total_records", got.total_records, want("total_records")),
        ("total_input_tokens", got.total_input_tokens, want("total_input_tokens")),
        ("total_output_tokens", got.total_output_tokens, want("total_output_tokens")),
        ("scanned", got.scanned, want("scanned")),
        ("errors", got.errors, want("errors")),
    ];
    for (key, got, want) in pairs {
        assert_eq!(got, want, "{}: {key} is not the fixture's times {replicas}", case.estimator);
    }
    let cost: Decimal = got.total_cost.parse().unwrap();
    assert_eq!(cost, money("total_cost"), "{}: total_cost is not the fixture's times {replicas}", case.estimator);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let replicas: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100);
    println!("each estimator on its fixture table x {replicas}, 1 thread, best of 3; results checked against the fixtures' stats");
    for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let case = case(estimator);
        let lines = corpus(case.table, replicas);
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        let mut items: Vec<Item> = Vec::with_capacity(lines.len());
        for (k, l) in lines.iter().enumerate() {
            items.push(item_from_export_line(l.as_bytes()).unwrap_or_else(|e| panic!("line {}: {e}", k + 1)));
        }
        let mut best = (f64::MAX, f64::MAX);
        for _ in 0..3 {
            let t = Instant::now();
            let mut run = Run::new(case.spec.clone());
            for l in &lines {
                match item_from_export_line(l.as_bytes()) {
                    Ok(item) => run.push(&item),
                    Err(e) => panic!("a corpus line does not parse: {e}"),
                }
            }
            let (_, stats) = run.finish().unwrap();
            let whole = t.elapsed().as_secs_f64();
            check(&case, &stats, replicas as u64);

            let t = Instant::now();
            let mut run = Run::new(case.spec.clone());
            for item in &items {
                run.push(item);
            }
            let (_, stats) = run.finish().unwrap();
            let read = t.elapsed().as_secs_f64();
            check(&case, &stats, replicas as u64);
            best = (best.0.min(whole), best.1.min(read));
        }
        let n = lines.len() as f64;
        println!(
            "{:<4} ({}, {} items, {:.0} MB): whole job {:>7.0} items/s ({:>4.0} MB/s); on read items {:>7.0} items/s  [checked]",
            estimator.as_str(),
            case.table,
            lines.len(),
            bytes as f64 / 1e6,
            n / best.0,
            bytes as f64 / 1e6 / best.0,
            n / best.1
        );
        // For bench/report.sh, which writes the README's table from checked runs.
        println!("figure: {}.whole={:.0}", estimator.as_str(), n / best.0);
        println!("figure: {}.read={:.0}", estimator.as_str(), n / best.1);
    }
}
