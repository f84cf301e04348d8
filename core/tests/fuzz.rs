//! No panic on any input: random and mutated items, message maps, dumps and
//! CSV rows go through every parser and estimator. Bounded: the number of
//! cases per property is `TALLY_FUZZ_CASES` (default 512).
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use tally_core::csv::{read_rows, to_csv_bytes};
use tally_core::dates::{DateRange, Day};
use tally_core::estimate::{estimate, Estimator};
use tally_core::item::{read_dump, Item, JsonLines, ScanJson};
use tally_core::job::{JobSpec, Run};
use tally_core::messagemap::MessageMap;
use tally_core::pricing::Prices;
use tally_core::pyjson::Doc;

fn config() -> ProptestConfig {
    let cases = std::env::var("TALLY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn spec(estimator: Estimator) -> JobSpec {
    JobSpec {
        estimator,
        source: "new_table".into(),
        range: DateRange { start: Day::parse("2025-12-01").unwrap(), end: None },
        prices: Prices::default(),
    }
}

/// The message-map texts and item lines of the corpora, to mutate.
fn seeds() -> &'static (Vec<String>, Vec<Vec<u8>>) {
    static SEEDS: std::sync::OnceLock<(Vec<String>, Vec<Vec<u8>>)> = std::sync::OnceLock::new();
    SEEDS.get_or_init(load_seeds)
}

fn load_seeds() -> (Vec<String>, Vec<Vec<u8>>) {
    let mut maps = Vec::new();
    let mut lines = Vec::new();
    for corpus in ["old_table.jsonl", "new_table.jsonl"] {
        let bytes = common::read(corpus);
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).step_by(7) {
            lines.push(line.to_vec());
            if let Some(Ok(item)) = JsonLines::new(line).next() {
                if let Some(text) = item.get_s("MessageMap") {
                    maps.push(text.to_string());
                }
            }
        }
    }
    (maps, lines)
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let token = prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\\ud83d".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"1e400".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"ody\": \",".to_vec()),
        Just("é😀\u{200b}".as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), token).prop_map(|(i, t)| Edit::Insert(i, t)),
        (any::<usize>(), 1usize..32).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match e {
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    bytes[i % n] = *b;
                }
            }
            Edit::Insert(i, t) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, t.iter().copied());
            }
            Edit::Delete(i, len) => {
                let at = i % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Edit::Truncate(i) => bytes.truncate(i % n),
        }
    }
    bytes
}

fn run_all_estimators(text: &str) {
    let map = MessageMap::from_text(text);
    for e in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let _ = estimate(&map, e);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic_the_json_parser(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Doc::parse(&text);
        run_all_estimators(&text);
    }

    #[test]
    fn mutated_message_maps_never_panic(pick in any::<prop::sample::Index>(), edits in edits()) {
        let (maps, _) = seeds();
        let seed = maps[pick.index(maps.len())].clone().into_bytes();
        let text = String::from_utf8_lossy(&apply(seed, &edits)).into_owned();
        run_all_estimators(&text);
    }

    #[test]
    fn mutated_dump_lines_never_panic_a_run(pick in any::<prop::sample::Index>(), edits in edits()) {
        let (_, lines) = seeds();
        let line = apply(lines[pick.index(lines.len())].clone(), &edits);
        for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
            let mut run = Run::new(spec(estimator));
            for item in JsonLines::new(line.as_slice()) {
                match item {
                    Ok(item) => run.push(&item),
                    Err(e) => run.dump_error(&e),
                }
            }
            let (rows, stats) = run.finish();
            let lines = line.split(|&b| b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)).count();
            prop_assert_eq!(stats.scanned + stats.dump_errors.len() as u64, lines as u64);
            prop_assert!(rows.len() as u64 <= stats.scanned);
        }
    }

    /// The fast DynamoDB-JSON reader and serde agree on every mutated line.
    #[test]
    fn fast_item_reader_agrees_with_serde(pick in any::<prop::sample::Index>(), edits in edits()) {
        let (_, lines) = seeds();
        let line = apply(lines[pick.index(lines.len())].clone(), &edits);
        let fast = tally_core::item::item_from_export_line(&line);
        let serde = tally_core::item::item_from_export_line_serde(&line);
        prop_assert_eq!(fast, serde);
    }

    #[test]
    fn mutated_scan_documents_never_panic(edits in edits()) {
        let doc = br#"{"Items": [{"PK": {"S": "a"}, "SK": {"S": "a#CONV#1"}, "MessageMap": {"S": "{\"a\": {\"role\": \"user\", \"content\": \"hola\"}}"}}, {"PK": {"S": "b"}}], "Count": 2}"#;
        let doc = apply(doc.to_vec(), &edits);
        let mut n = 0;
        for item in ScanJson::new(doc.as_slice()) {
            n += 1;
            prop_assert!(n < 100);
            if let Ok(item) = item { let mut run = Run::new(spec(Estimator::Full)); run.push(&item); }
        }
        let _ = read_dump(std::io::Cursor::new(doc)).count();
    }

    #[test]
    fn random_items_never_panic(attrs in proptest::collection::vec(("[A-Za-z]{1,12}", "[ -~]{0,40}"), 0..8)) {
        let item = Item { attrs: attrs.into_iter().map(|(k, v)| (k, tally_core::Attr::S(v))).collect() };
        let mut run = Run::new(spec(Estimator::V2));
        run.push(&item);
        let _ = run.finish();
    }

    #[test]
    fn mutated_csv_never_panics_and_accounts_for_every_record(edits in edits()) {
        let csv = common::read("python_written/damaged_rows.csv");
        let csv = apply(csv, &edits);
        if let Ok(read) = read_rows(&csv) {
            let records = read.rows.len() + read.unreadable.len() + read.placeholder_rows as usize;
            prop_assert!(records <= csv.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1);
            // What was read writes back and reads again to the same rows.
            let again = read_rows(&to_csv_bytes(&read.rows)).unwrap();
            prop_assert_eq!(again.rows, read.rows);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// The explorer's integer re-pricing equals the decimal pricing of the jobs.
    #[test]
    fn integer_repricing_equals_decimal_pricing(
        input in 0u64..2_000_000_000,
        output in 0u64..2_000_000_000,
        (pin, sin) in (0i64..50_000_000, 3u32..12),
        (pout, sout) in (0i64..50_000_000, 3u32..12),
    ) {
        let prices = Prices {
            input_per_1k: rust_decimal::Decimal::new(pin, sin),
            output_per_1k: rust_decimal::Decimal::new(pout, sout),
        };
        let want = prices.price(tally_core::Tokens { input, output }).unwrap().total;
        let got = tally_core::whatif::reprice_micros(&prices, input, output);
        prop_assert_eq!(rust_decimal::Decimal::new(got, 6), want);
    }
}
