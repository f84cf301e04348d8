//! The explorer's engine on a detail CSV of about a million rows: the
//! detail rows of bedrock-chat's own table (`../shared/fixtures/bedrock_chat/`,
//! with its large messages, priced with bedrock-chat's `us-east-1` table),
//! each repeated under new keys; every figure checked against the fixture's
//! totals times the repeats.
//!
//!     cargo bench -p tally-core --bench detail [-- ROWS]
//!     cargo bench -p tally-core --bench detail -- --write bench/data/detail_1m.csv   # for bench/browser
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use rust_decimal::Decimal;
use tally_core::breakdown::By;
use tally_core::dates::{DateRange, Day};
use tally_core::detail::{write_detail_csv, DetailStats};
use tally_core::estimate::Estimator;
use tally_core::item::JsonLines;
use tally_core::job::{JobSpec, Run};
use tally_core::pricebook::PriceBook;
use tally_core::pricing::{parse_price, Prices};
use tally_core::whatif::{Filter, Scenario, Table};

fn fixtures() -> std::path::PathBuf {
    std::env::var_os("TALLY_FIXTURES")
        .map(Into::into)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

/// The fixture's detail CSV and its statistics.
fn fixture_detail() -> (String, DetailStats) {
    let dir = fixtures().join("bedrock_chat");
    let spec = JobSpec {
        estimator: Estimator::V2,
        source: "new_table".into(),
        range: DateRange { start: Day::parse("2025-12-01").unwrap(), end: Day::parse("2026-12-01") },
        prices: Prices::default(),
    };
    let mut run = Run::new(spec).with_details();
    let dump = std::fs::read(dir.join("conversation_table.jsonl")).unwrap();
    for item in JsonLines::new(dump.as_slice()) {
        let item = item.unwrap();
        let large = item
            .get_s("LargeMessagePath")
            .map(|key| std::fs::read_to_string(dir.join("large_messages").join(key)).unwrap());
        run.push_with_map(&item, large.as_deref());
    }
    let table = std::fs::read_to_string(fixtures().join("../pricing/bedrock_chat_models.json")).unwrap();
    let book = PriceBook::from_json(&table, "bedrock-chat", "us-east-1", Prices::default()).unwrap();
    let (rows, stats) = run.take_details().unwrap().finish(&book);
    let mut csv = Vec::new();
    write_detail_csv(&mut csv, &rows).unwrap();
    (String::from_utf8(csv).unwrap(), stats)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let want_rows: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    // `--write PATH`: only write the file (and PATH.stats.json, its totals) for bench/browser.
    let write_to = args.iter().position(|a| a == "--write").map(|k| args[k + 1].clone());
    let (csv, stats) = fixture_detail();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let repeats = want_rows.div_ceil(rows.len());
    // Each repeat under new keys: 1,000 users' worth of pk suffixes, unique sk.
    let mut data = String::with_capacity(csv.len() * repeats);
    data.push_str(header);
    data.push('\n');
    for k in 0..repeats {
        for row in &rows {
            let cells: Vec<&str> = row.split(',').collect();
            // New keys shaped as bedrock-chat's: the sk starts with its pk.
            let pk = format!("{}-u{}", cells[6], k % 1000);
            let sk = match cells[7].strip_prefix(cells[6]) {
                Some(rest) => format!("{pk}{rest}-r{k}"),
                None => format!("{}-r{k}", cells[7]),
            };
            let mut out: Vec<&str> = cells.clone();
            out[6] = &pk;
            out[7] = &sk;
            data.push_str(&out.join(","));
            data.push('\n');
        }
    }
    let total_rows = rows.len() * repeats;
    let times = Decimal::from(repeats as u64);
    let recorded = stats.recorded_total.parse::<Decimal>().unwrap() * times;
    let billed = stats.billed_total.parse::<Decimal>().unwrap() * times;
    let bytes = data.into_bytes();
    if args.iter().any(|a| a == "--profile-load") {
        // Only the load, ten times (for `perf record`).
        for _ in 0..10 {
            let t = Instant::now();
            let table = Table::from_csv(bytes.clone()).unwrap();
            println!("load {:.0} ms ({} rows)", t.elapsed().as_secs_f64() * 1e3, table.len());
        }
        return;
    }
    if let Some(path) = write_to {
        // The Lambdas' total_price column, summed from the fixture's rows, independently of the engine.
        let seed_total: Decimal = rows.iter().map(|r| r.split(',').nth(5).unwrap().parse::<Decimal>().unwrap()).sum();
        let sidecar = serde_json::json!({
            "rows": total_rows,
            "repeats": repeats,
            "recorded_total": recorded.to_string(),
            "billed_total": billed.to_string(),
            "total_cost": (seed_total * times).to_string(),
            "bytes": bytes.len(),
        });
        std::fs::write(&path, &bytes).unwrap();
        std::fs::write(format!("{path}.stats.json"), serde_json::to_string_pretty(&sidecar).unwrap()).unwrap();
        println!("wrote {path} ({total_rows} rows, {} bytes) and its .stats.json", bytes.len());
        return;
    }
    let mb = bytes.len() as f64 / 1e6;
    let mut best = [f64::MAX; 8];
    for _ in 0..3 {
        let mut t = Instant::now();
        let mut lap = || {
            let s = t.elapsed().as_secs_f64();
            t = Instant::now();
            s
        };
        let table = Table::from_csv(bytes.clone()).unwrap();
        let load = lap();
        let views = table.views(&Filter::default(), 10).unwrap();
        let views_s = lap();
        let users = table.breakdown(&Filter::default(), By::User, 20, "").unwrap();
        let users_s = lap();
        let bots = table.breakdown(&Filter::default(), By::Bot, 20, "").unwrap();
        let models = table.breakdown(&Filter::default(), By::Model, 20, "").unwrap();
        let groups_s = lap();
        let accuracy = table.accuracy(&Filter::default(), 10).unwrap();
        let accuracy_s = lap();
        let whatif = table.whatif(&Filter::default(), &Scenario::on_demand(Prices::default())).unwrap();
        let whatif_s = lap();
        let p = |s: &str| parse_price(s).unwrap();
        let mapping = Scenario {
            per_model: vec![(
                "claude-v4-sonnet".into(),
                Prices { input_per_1k: p("0.001"), output_per_1k: p("0.005") },
            )],
            keep_unmapped: true,
            ..Scenario::default()
        };
        let mapped = table.whatif(&Filter::default(), &mapping).unwrap();
        let mapped_s = lap();
        let again = table.breakdown(&Filter::default(), By::User, 20, "").unwrap();
        let again_s = lap();
        // The answers: the fixture's totals times the repeats.
        let money = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(table.len(), total_rows, "rows");
        assert_eq!(views.headline.records as usize, total_rows);
        assert_eq!(money(&accuracy.recorded_total), recorded, "recorded total");
        assert_eq!(money(&accuracy.billed_total), billed, "billed total");
        for b in [&users, &bots, &models] {
            assert_eq!(money(&b.total_cost), billed, "{:?} total", b.by);
        }
        assert_eq!(money(&whatif.actual_cost), billed, "the what-if holds billed tokens against the billed price");
        assert!(money(&mapped.whatif_cost) < billed, "Sonnet 4 at Haiku prices costs less");
        assert_eq!(users, again);
        let all = load + views_s + users_s + groups_s + accuracy_s + whatif_s;
        let laps = [load, views_s, users_s, groups_s, accuracy_s, whatif_s, mapped_s, all];
        for (b, l) in best.iter_mut().zip(laps) {
            *b = b.min(l);
        }
        eprintln!("by user again: {:.1} ms", again_s * 1e3);
    }
    let ms = |s: f64| s * 1e3;
    println!(
        "detail CSV, {total_rows} rows ({mb:.0} MB): load {:.0} ms, views {:.0} ms, by user {:.0} ms, by bot + model {:.0} ms, \
         accuracy {:.0} ms, what-if {:.1} ms, per-model what-if {:.1} ms; load and every view {:.0} ms \
         (best of 3; checked against the fixture's totals x {repeats})",
        ms(best[0]),
        ms(best[1]),
        ms(best[2]),
        ms(best[3]),
        ms(best[4]),
        ms(best[5]),
        ms(best[6]),
        ms(best[7])
    );
    println!("figure: detail.all_ms={:.0}", ms(best[7]));
    println!("figure: detail.whatif_ms={:.1}", ms(best[6]));
}
