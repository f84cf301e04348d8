//! The explorer's engine natively: CSV bytes to columns, every view, and
//! one what-if recompute, on a consolidated CSV (default: the anchors'
//! 1,000,000-row file that `bench/browser/run.mjs` makes in `bench/data/`).
//!
//!     cargo bench -p tally-core --bench explorer [-- FILE.csv]
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stdout)]

use std::time::Instant;

use tally_core::breakdown::By;
use tally_core::pricing::{parse_price, Prices};
use tally_core::whatif::{Filter, Scenario, Table};

fn main() {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/data/consolidated_1m.csv");
    let path = std::env::args().skip(1).find(|a| !a.starts_with("--")).unwrap_or_else(|| default.to_string());
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e} (make it with node bench/browser/run.mjs)"));
    let stats_path = format!("{path}.stats.json");
    let stats: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&stats_path).unwrap_or_else(|e| panic!("{stats_path}: {e}: the run could not be checked")),
    )
    .unwrap();
    let mb = bytes.len() as f64 / 1e6;
    let mut best = [f64::MAX; 4];
    let mut users = [f64::MAX; 2];
    for _ in 0..3 {
        let data = bytes.clone();
        let t = Instant::now();
        let table = Table::from_csv(data).unwrap();
        let load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let views = table.views(&Filter::default(), 10).unwrap();
        let view_secs = t.elapsed().as_secs_f64();
        let scenario = Scenario {
            prices: Prices {
                input_per_1k: parse_price("0.0008").unwrap(),
                output_per_1k: parse_price("0.004").unwrap(),
            },
            ..Scenario::default()
        };
        let t = Instant::now();
        let w = table.whatif(&Filter::default(), &scenario).expect("priced");
        let whatif = t.elapsed().as_secs_f64();
        best = [best[0].min(load), best[1].min(view_secs), best[2].min(whatif), best[3].min(load + view_secs + whatif)];
        // Cost by user: the first call interns the users, the next ones reuse them.
        let t = Instant::now();
        let first = table.breakdown(&Filter::default(), By::User, 10, "").expect("users");
        let first_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let again = table.breakdown(&Filter::default(), By::User, 10, "").expect("users");
        users = [users[0].min(first_secs), users[1].min(t.elapsed().as_secs_f64())];
        assert_eq!(serde_json::json!(first.total_cost), stats["total_cost"].clone(), "by-user total");
        assert_eq!(first, again);
        // The generator's totals (its .stats.json beside the file) are the answer.
        let want = |key: &str| stats[key].clone();
        assert_eq!(serde_json::json!(table.len()), want("rows"), "rows");
        assert_eq!(serde_json::json!(views.headline.input_tokens), want("total_input_tokens"), "input tokens");
        assert_eq!(serde_json::json!(views.headline.output_tokens), want("total_output_tokens"), "output tokens");
        assert_eq!(serde_json::json!(views.headline.total_cost), want("total_cost"), "total cost");
        assert_eq!(serde_json::json!(w.actual_cost), want("total_cost"), "what-if's actual cost");
        let seed = table.whatif(&Filter::default(), &Scenario::on_demand(Prices::default())).expect("priced");
        assert_eq!(serde_json::json!(seed.whatif_cost), want("total_cost"), "what-if at the generator's prices");
    }
    println!("{path}: {mb:.0} MB");
    println!(
        "load {:.0} ms ({:.0} MB/s), views {:.0} ms, what-if {:.1} ms, all {:.0} ms (best of 3; checked against the generator's totals)",
        best[0] * 1e3,
        mb / best[0],
        best[1] * 1e3,
        best[2] * 1e3,
        best[3] * 1e3
    );
    println!("figure: load_ms={:.0}", best[0] * 1e3);
    println!("figure: views_ms={:.0}", best[1] * 1e3);
    println!("figure: whatif_ms={:.1}", best[2] * 1e3);
    println!("cost by user: first {:.0} ms (interning the users), then {:.0} ms", users[0] * 1e3, users[1] * 1e3);
    println!("figure: by_user_first_ms={:.0}", users[0] * 1e3);
    println!("figure: by_user_ms={:.0}", users[1] * 1e3);
}
