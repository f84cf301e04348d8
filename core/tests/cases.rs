//! One test per fixture file, generated from what is on disk (no list to
//! keep): every `../shared/fixtures/cases/NAME.item.json` is the test
//! `cases::NAME` (each estimator's pair, the kept flags of the date filter,
//! both readings of the date, the map status and the exact cells of the `v2`
//! row), and every `python_written/NAME.csv` the test `python_written::NAME`
//! (the rows a reader gets, placeholders dropped, unreadable lines).
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use tally_core::csv::{read_rows, HEADER};
use tally_core::dates::{format_datetime, CreateTime, DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::{item_from_json, Item};
use tally_core::job::{evaluate, is_conversation, process, JobSpec, Outcome};
use tally_core::pricing::{parse_price, Prices};

/// The fields a case file may hold; any other one fails its test, so that a
/// new kind of expectation is never silently ignored.
const CASE_FIELDS: &[&str] = &[
    "rule",
    "v1",
    "v2",
    "full",
    "full_skipped",
    "create_date",
    "invalid_date",
    "full_create_date",
    "full_invalid_date",
    "map_status",
    "row_v2",
    "prices",
    "filter",
    "lambda_deviation",
];
const FILTER_FIELDS: &[&str] = &["start", "end", "today", "kept_v1", "kept_v2", "kept_full"];

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    let dir = common::fixtures().join("cases");
    let cases = names(&dir, ".item.json");
    let (items, expected) = (cases.clone(), names(&dir, ".expected.json"));
    trials.push(Trial::test("cases::found_each_with_its_expectations", move || {
        if items.is_empty() {
            return Err("no case files found".into());
        }
        ensure_eq(items, expected, "NAME.item.json and NAME.expected.json files")
    }));
    for name in cases {
        trials.push(Trial::test(format!("cases::{name}"), move || check_case(&name)));
    }
    let written = names(&common::fixtures().join("python_written"), ".csv");
    if written.is_empty() {
        trials.push(Trial::test("python_written::files_found", || Err("no python_written CSVs found".into())));
    }
    for name in written {
        trials.push(Trial::test(format!("python_written::{name}"), move || check_python_written(&name)));
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// The sorted names of the files in `dir` ending with `suffix`, without it.
fn names(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(suffix).map(String::from))
        .collect();
    names.sort();
    names
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> Result<(), Failed> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}").into())
    }
}

fn field<'v>(want: &'v Value, key: &str) -> Result<&'v Value, Failed> {
    want.get(key).ok_or_else(|| format!("the case has no {key:?}").into())
}

fn text<'v>(want: &'v Value, key: &str) -> Result<&'v str, Failed> {
    field(want, key)?.as_str().ok_or_else(|| format!("{key:?} is not a string").into())
}

fn flag(want: &Value, key: &str) -> Result<bool, Failed> {
    field(want, key)?.as_bool().ok_or_else(|| format!("{key:?} is not a boolean").into())
}

fn pair(v: &Value, key: &str) -> Result<(u64, u64), Failed> {
    let bad = || format!("{key:?} is not a pair of counts: {v}");
    let a = v.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
    Ok((a[0].as_u64().ok_or_else(bad)?, a[1].as_u64().ok_or_else(bad)?))
}

fn known_fields(v: &Value, known: &[&str], what: &str) -> Result<(), Failed> {
    let object = v.as_object().ok_or_else(|| format!("{what} is not an object"))?;
    let unknown: Vec<&String> = object.keys().filter(|k| !known.contains(&k.as_str())).collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!("{what} has fields this test does not check: {unknown:?}").into())
    }
}

fn day(text: &str) -> Result<Option<Day>, Failed> {
    if text.is_empty() {
        return Ok(None);
    }
    Day::parse(text).map(Some).ok_or_else(|| format!("not a day: {text:?}").into())
}

fn date_of(create_time: CreateTime) -> (String, bool) {
    (create_time.seconds().map(format_datetime).unwrap_or_default(), create_time == CreateTime::Invalid)
}

fn check_case(name: &str) -> Result<(), Failed> {
    let item = item_from_json(&common::read(&format!("cases/{name}.item.json")))
        .map_err(|e| format!("the item does not load: {e:?}"))?;
    let want = common::read_json(&format!("cases/{name}.expected.json"));
    known_fields(&want, CASE_FIELDS, "the case")?;

    for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let key = estimator.as_str();
        if estimator == Estimator::Full && field(&want, "full")?.is_null() {
            ensure_eq(flag(&want, "full_skipped")?, true, "full is null, so full_skipped")?;
            ensure_eq(is_conversation(&item), false, "full skips the item")?;
            continue;
        }
        let eval = evaluate(&item, estimator, None);
        let got = (eval.estimate.tokens.input, eval.estimate.tokens.output);
        ensure_eq(got, pair(field(&want, key)?, key)?, &format!("{key} tokens"))?;
        ensure_eq(eval.map_status.as_str(), text(&want, "map_status")?, &format!("{key} map status"))?;
    }

    // v1 and v2 read the date alike (Python's int()); full reads a decimal.
    let expected_compat = (text(&want, "create_date")?.to_string(), flag(&want, "invalid_date")?);
    for estimator in [Estimator::V1, Estimator::V2] {
        let got = date_of(evaluate(&item, estimator, None).create_time);
        ensure_eq(&got, &expected_compat, &format!("{estimator} (create_date, invalid_date)"))?;
    }
    let expected_full = (text(&want, "full_create_date")?.to_string(), flag(&want, "full_invalid_date")?);
    ensure_eq(date_of(evaluate(&item, Estimator::Full, None).create_time), expected_full, "full date")?;

    let prices = field(&want, "prices")?;
    let price = |key: &str| -> Result<_, Failed> {
        parse_price(text(prices, key)?).map_err(|e| format!("prices.{key}: {e}").into())
    };
    let prices = Prices { input_per_1k: price("input_per_1k")?, output_per_1k: price("output_per_1k")? };
    let open = DateRange { start: Day::parse("0001-01-01").unwrap(), end: None };
    let spec = JobSpec { estimator: Estimator::V2, source: "new_table".into(), range: open, prices };
    let Outcome::Row { row, .. } = process(&item, &spec, None) else {
        return Err("v2 gives no row over an open date range".into());
    };
    let cells = row.cells();
    let row_v2 = field(&want, "row_v2")?;
    known_fields(row_v2, &HEADER, "row_v2")?;
    for (k, column) in HEADER.iter().enumerate() {
        ensure_eq(cells[k].as_str(), text(row_v2, column)?, &format!("row_v2.{column}"))?;
    }

    if let Some(filter) = want.get("filter") {
        known_fields(filter, FILTER_FIELDS, "filter")?;
        check_filter(&item, filter, &spec)?;
    }
    if let Some(note) = want.get("lambda_deviation") {
        ensure_eq(note.as_str().is_some_and(|n| !n.is_empty()), true, "lambda_deviation is a note")?;
    }
    Ok(())
}

/// Whether each estimator keeps the item in the case's date range; with no
/// end, v2 ends on `today`, the date the host passes (spec section 2).
fn check_filter(item: &Item, filter: &Value, base: &JobSpec) -> Result<(), Failed> {
    let start = day(text(filter, "start")?)?.ok_or("filter.start is empty")?;
    let end = day(text(filter, "end")?)?;
    let today = filter.get("today").and_then(Value::as_str).map(day).transpose()?.flatten();
    for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let key = format!("kept_{estimator}");
        let want = flag(filter, &key)?;
        let mut spec = JobSpec { estimator, range: DateRange { start, end }, ..base.clone() };
        if let Some(today) = today {
            spec = spec.ending_today(today);
        }
        let kept = match process(item, &spec, None) {
            Outcome::Row { .. } => true,
            Outcome::Filtered => false,
            Outcome::Skipped => return Err(format!("{key}: {estimator} skipped the item").into()),
            Outcome::Failed(e) => return Err(format!("{key}: {estimator} failed: {e}").into()),
        };
        ensure_eq(kept, want, &format!("filter.{key}"))?;
    }
    Ok(())
}

fn check_python_written(name: &str) -> Result<(), Failed> {
    let read = read_rows(&common::read(&format!("python_written/{name}.csv")))
        .map_err(|e| format!("the CSV does not load: {e}"))?;
    let want = common::read_json(&format!("python_written/{name}.expected.json"));
    let want_rows = field(&want, "rows")?.as_array().ok_or("rows is not a list")?;
    ensure_eq(read.rows.len(), want_rows.len(), "row count")?;
    for (n, (row, want)) in read.rows.iter().zip(want_rows).enumerate() {
        let cells = row.cells();
        for (k, column) in HEADER.iter().enumerate() {
            ensure_eq(cells[k].as_str(), text(want, column)?, &format!("row {}: {column}", n + 1))?;
        }
    }
    let placeholders = field(&want, "placeholder_rows_dropped")?.as_u64().ok_or("placeholder_rows_dropped")?;
    ensure_eq(read.placeholder_rows, placeholders, "placeholder rows dropped")?;
    let bad: Vec<(u64, String)> = read.unreadable.iter().map(|b| (b.line, b.error.clone())).collect();
    let mut want_bad = Vec::new();
    for b in field(&want, "unreadable_rows")?.as_array().ok_or("unreadable_rows is not a list")? {
        want_bad.push((field(b, "line")?.as_u64().ok_or("line")?, text(b, "error")?.to_string()));
    }
    ensure_eq(bad, want_bad, "unreadable rows (line, error)")
}
