//! No panic on any input: random and mutated items, message maps, dumps and
//! CSV rows go through every parser and estimator. Bounded: the number of
//! cases per property is `TALLY_FUZZ_CASES` (default 512).
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used)]

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
            let (rows, stats) = run.finish().unwrap();
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
        let _ = read_dump(std::io::Cursor::new(doc), 1 << 20).count();
    }

    #[test]
    fn random_items_never_panic(attrs in proptest::collection::vec(("[A-Za-z]{1,12}", "[ -~]{0,40}"), 0..8)) {
        let item = Item { attrs: attrs.into_iter().map(|(k, v)| (k, tally_core::Attr::S(v))).collect() };
        let mut run = Run::new(spec(Estimator::V2));
        run.push(&item);
        prop_assert!(run.finish().is_ok());
    }

    /// Typed values of every kind where the rules read them: CreateTime,
    /// TotalPrice, MessageMap (S, N, M, L, BOOL, NULL, sets), keys of any type.
    #[test]
    fn random_typed_items_never_panic(
        create in attr(), total in attr(), map in attr(), pk in attr(), sk in attr(), large in attr()
    ) {
        let item = Item { attrs: vec![
            ("CreateTime".into(), create), ("TotalPrice".into(), total), ("MessageMap".into(), map),
            ("PK".into(), pk), ("SK".into(), sk), ("IsLargeMessage".into(), large),
        ].into_iter().collect() };
        for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
            let mut run = Run::new(spec(estimator));
            run.push(&item);
            run.push_with_map(&item, Some("{\"a\": {\"role\": \"user\", \"content\": \"x\"}}"));
            prop_assert!(run.finish().is_ok());
        }
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

/// A JSON value that is not a string, for a `role`.
fn non_string_json() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("0".to_string()),
        Just("2.5".to_string()),
        Just("[\"user\"]".to_string()),
        Just("{\"role\": \"user\"}".to_string()),
    ]
}

/// A message node `{"role": ROLE, "content": ...}` with a string role or,
/// when `bad` is given, that non-string role; the content a string or a
/// list of text items (one of which may be a nested message).
fn node_json(bad: Option<String>) -> impl Strategy<Value = String> {
    let role = prop_oneof![Just("user"), Just("assistant"), Just("system"), Just("bot"), Just("tool"), Just("")];
    let text = "[a-z ]{0,20}";
    (role, text, text, any::<bool>()).prop_map(move |(role, a, b, nested)| {
        let role = bad.clone().unwrap_or_else(|| format!("\"{role}\""));
        let content = if nested {
            format!("[{{\"content_type\": \"text\", \"body\": \"{a}\"}}, {{\"role\": \"assistant\", \"content\": \"{b}\"}}]")
        } else {
            format!("\"{a}{b}\"")
        };
        format!("{{\"role\": {role}, \"content\": {content}}}")
    })
}

proptest! {
    #![proptest_config(config())]

    /// `full` has no compat-only rule (spec section 13): a role that is not a
    /// string is the empty role, never the Lambdas' (1, 1) for the map,
    /// while v1 and v2 give (1, 1) whatever else the map holds.
    #[test]
    fn a_non_string_role_floors_compat_maps_only(
        good in proptest::collection::vec(node_json(None), 0..4),
        bad in non_string_json().prop_flat_map(|r| node_json(Some(r))),
        at in any::<prop::sample::Index>(),
    ) {
        let mut with_bad = good.clone();
        let at = at.index(good.len() + 1);
        with_bad.insert(at, bad.clone());
        let mut with_empty = good.clone();
        let empty_role = bad.replacen(&bad["{\"role\": ".len()..bad.find(", \"content\"").unwrap()], "\"\"", 1);
        with_empty.insert(at, empty_role);
        let map = |nodes: &[String]| {
            let body: Vec<String> = nodes.iter().enumerate().map(|(k, n)| format!("\"n{k}\": {n}")).collect();
            format!("{{{}}}", body.join(", "))
        };
        let (bad_map, empty_map) = (map(&with_bad), map(&with_empty));
        let tokens = |text: &str, e: Estimator| {
            let t = estimate(&MessageMap::from_text(text), e).tokens;
            (t.input, t.output)
        };
        prop_assert_eq!(tokens(&bad_map, Estimator::Full), tokens(&empty_map, Estimator::Full), "{}", bad_map);
        prop_assert_eq!(tokens(&bad_map, Estimator::V1), (1, 1), "{}", bad_map);
        prop_assert_eq!(tokens(&bad_map, Estimator::V2), (1, 1), "{}", bad_map);
    }

    /// `full` reads `CreateTime` as a decimal number: the texts that only
    /// Python's `int()` reads (white space, `_`, non-ASCII digits) are
    /// invalid dates, and zero is no date, never 1970 (spec section 2).
    #[test]
    fn full_never_reads_a_date_as_int_does(
        text in "[ \t\u{3000}]{0,2}[+-]?[0-9\u{ff10}-\u{ff19}\u{660}-\u{669}_]{1,15}[ \t]{0,2}",
        flag in any::<bool>(),
    ) {
        use tally_core::dates::{CreateTime, DateReading};
        let attr = tally_core::Attr::S(text.clone());
        let compat = CreateTime::read(Some(&attr), DateReading::PythonInt);
        let full = CreateTime::read(Some(&attr), DateReading::Decimal);
        let plain = text.trim_start_matches(['+', '-']).bytes().all(|b| b.is_ascii_digit());
        match full {
            CreateTime::Millis(ms) => {
                prop_assert!(plain && ms != 0, "{:?} -> {:?}", text, full);
                // The Lambdas cannot date 0001-01-01; full can.
                prop_assert!(compat == full || ms < -62_135_510_400_000, "{:?}: {:?}", text, compat);
            }
            CreateTime::NoDate => prop_assert!(plain && text.trim_start_matches(['+', '-']).bytes().all(|b| b == b'0')),
            CreateTime::Invalid => prop_assert!(!plain || compat == CreateTime::Invalid, "{:?}", text),
        }
        let b = tally_core::Attr::Bool(flag);
        prop_assert_eq!(CreateTime::read(Some(&b), DateReading::Decimal), CreateTime::Invalid);
        let want = if flag { CreateTime::Millis(1) } else { CreateTime::NoDate };
        prop_assert_eq!(CreateTime::read(Some(&b), DateReading::PythonInt), want);
    }
}

/// A random typed attribute value, numbers and map texts biased to the edges.
fn attr() -> impl Strategy<Value = tally_core::Attr> {
    use tally_core::Attr;
    let number = prop_oneof![
        "-?[0-9]{1,25}(\\.[0-9]{0,12})?([eE][+-]?[0-9]{1,4})?",
        Just("NaN".to_string()),
        Just("1e400".to_string()),
        Just("99999999999999999999999999999999".to_string()),
        "[ -~]{0,12}",
    ];
    let map_text = prop_oneof![
        Just(
            "{\"a\": {\"role\": \"user\", \"content\": [{\"content_type\": \"text\", \"body\": \"hola\"}]}}"
                .to_string()
        ),
        Just("[1, 2]".to_string()),
        Just("null".to_string()),
        "[ -~]{0,30}",
    ];
    let leaf = prop_oneof![
        number.clone().prop_map(Attr::N),
        number.prop_map(Attr::S),
        map_text.prop_map(Attr::S),
        any::<bool>().prop_map(Attr::Bool),
        Just(Attr::Null),
        "[A-Za-z0-9+/=]{0,12}".prop_map(Attr::B),
        proptest::collection::vec("[0-9]{1,3}", 0..3).prop_map(Attr::NS),
        proptest::collection::vec("[ -~]{0,5}", 0..3).prop_map(Attr::SS),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Attr::L),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("role".to_string()),
                        Just("content".to_string()),
                        Just("body".to_string()),
                        Just("content_type".to_string()),
                        "[a-z]{1,6}"
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Attr::M(kv.into_iter().collect())),
        ]
    })
}

/// A CSV row of the consolidated schema with cells biased to the edges (free
/// text has no quote or comma, so each row stays one record).
fn explorer_row() -> impl Strategy<Value = String> {
    let date = prop_oneof![
        Just(String::new()),
        Just("Fecha inválida".to_string()),
        "(19|20|99)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]",
        "[ !#-+./-~]{0,19}",
    ];
    let tokens = prop_oneof!["[0-9]{1,16}", Just("1234.0".to_string()), "[ !#-+./-~]{0,6}"];
    let money = prop_oneof![
        "[0-9]{1,11}\\.[0-9]{6}",
        "-?[0-9]{1,3}(\\.[0-9]{1,9})?(e-?[0-9]{1,2})?",
        Just("9999999999.999999".to_string()),
        "[ !#-+./-~]{0,6}",
    ];
    let text = prop_oneof!["[a-z0-9#@=+-]{0,12}", Just("\"q,\"\"x\"".to_string()), Just("sin_datos".to_string())];
    (date, tokens.clone(), tokens, money.clone(), money.clone(), money, text.clone(), text.clone(), text)
        .prop_map(|(d, i, o, pi, po, t, pk, sk, src)| format!("{d},{i},{o},{pi},{po},{t},{pk},{sk},{src}"))
}

proptest! {
    #![proptest_config(config())]

    /// Random CSVs read in random chunks (as the page reads a file while it
    /// arrives): the table of the whole file.
    #[test]
    fn explorer_table_in_chunks_is_the_whole_files(
        rows in proptest::collection::vec(explorer_row(), 0..40),
        ends in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        chunk in 1usize..300,
    ) {
        use tally_core::whatif::{Table, TableBuilder};
        let mut csv = tally_core::csv::HEADER.join(",");
        csv.push_str(ends);
        for r in &rows {
            csv += r;
            csv.push_str(ends);
        }
        let whole = format!("{:?}", Table::from_csv(csv.clone().into_bytes()).unwrap());
        let mut builder = TableBuilder::with_capacity(0);
        for part in csv.as_bytes().chunks(chunk) {
            builder.push(part).unwrap();
        }
        prop_assert_eq!(format!("{:?}", builder.finish().unwrap()), whole);
    }

    /// The explorer's engine on random CSVs: loading, every view, what-ifs
    /// (with filters, batch and extreme prices) and the export never panic,
    /// and every record is accounted for.
    #[test]
    fn explorer_engine_never_panics(
        rows in proptest::collection::vec(explorer_row(), 0..40),
        top_n in prop_oneof![Just(0usize), Just(10usize), Just(usize::MAX)],
        price in prop_oneof![Just("0.003"), Just("0"), Just("123456789.123456789"), Just("0.0000000000001")],
        from in prop_oneof![Just(None), Just(Day::parse("2025-12-01"))],
    ) {
        use tally_core::whatif::{Filter, Scenario, Table, BATCH_MULTIPLIER};
        let mut csv = tally_core::csv::HEADER.join(",");
        csv.push('\n');
        for r in &rows {
            csv += r;
            csv.push('\n');
        }
        // The header is always there: the table must load, whatever the rows hold.
        let loaded = Table::from_csv(csv.into_bytes());
        prop_assert!(loaded.is_ok(), "{:?}", loaded.err());
        let table = loaded.unwrap();
        let accounted = table.len() + table.unreadable().len() + table.placeholder_rows() as usize;
        prop_assert_eq!(accounted, rows.len());
        let p = tally_core::pricing::parse_price(price).unwrap();
        let prices = Prices { input_per_1k: p, output_per_1k: p };
        for filter in [Filter::default(), Filter { from, to: from, sources: Some(vec!["x".into()]), ..Filter::default() }] {
            let views = table.views(&filter, top_n).unwrap();
            prop_assert!(views.top.len() <= top_n.min(views.headline.records as usize));
            for batch in [None, Some(BATCH_MULTIPLIER)] {
                let scenario = Scenario { prices, batch, ..Scenario::default() };
                match table.whatif(&filter, &scenario) {
                    Ok(w) => {
                        // The re-pricing sees the rows the views see, at their recorded cost.
                        prop_assert_eq!(w.records, views.headline.records);
                        prop_assert_eq!(&w.actual_cost, &views.headline.total_cost);
                        prop_assert!(table.whatif_csv(&filter, &scenario).is_ok());
                    }
                    // Only an absurd price can make a row unrepresentable (a cell holds
                    // at most 10^15 tokens: at 0.003 per 1K that is 3 billion dollars).
                    Err(e) => prop_assert!(price == "123456789.123456789", "{e} at {price}"),
                }
            }
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
        let got = tally_core::whatif::reprice_micros(&prices, input, output).unwrap();
        prop_assert_eq!(rust_decimal::Decimal::new(got, 6), want);
    }
}
