//! `tally archive` and `tally consolidate` as processes over dump files and
//! local CSVs: the fixtures' outputs byte for byte, every dump layout, and
//! the failures that must never publish anything.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;

use support::*;

fn archive_args<'a>(dump: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["archive", "--dump", dump, "--out", out, "--start", "2024-01-01", "--end", "2025-12-31", "--json"]
}

#[test]
fn archive_matches_the_lambda_byte_for_byte() {
    let s = Scratch::new("archive");
    let out = s.path("old.csv");
    let dump = fixture("old_table.jsonl");
    let report = tally_ok(&archive_args(dump.to_str().unwrap(), out.to_str().unwrap()));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
    assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
}

#[test]
fn daily_v2_and_full_match_the_expected_files() {
    let s = Scratch::new("daily");
    let dump = fixture("new_table.jsonl");
    let args = |estimator: &'static str, out: &std::path::Path, end: Option<&'static str>| {
        let mut args = vec!["archive", "--dump", dump.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(["--start", "2025-12-01", "--estimator", estimator, "--source", "new_table", "--json"]);
        args.extend(end.map(|e| ["--end", e]).into_iter().flatten());
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| tally_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // v2 with no end date ends today (UTC); the fixtures' rows are the same
    // for any today from 2026-11-20 to 2034-12-31.
    let out = s.path("v2-today.csv");
    assert_stats_ending_today(|| run(args("v2", &out, None)), &fixture("expected_new_v2.stats.json"));
    assert_same_file(&out, &fixture("expected_new_v2.csv"));
    // With the fixtures' own end date, every statistic is theirs.
    let out = s.path("v2.csv");
    assert_stats(&run(args("v2", &out, Some("2026-12-01"))), &fixture("expected_new_v2.stats.json"));
    assert_same_file(&out, &fixture("expected_new_v2.csv"));
    // full has no upper bound: the items dated after today are kept.
    let out = s.path("full.csv");
    assert_stats(&run(args("full", &out, None)), &fixture("expected_new_full.stats.json"));
    assert_same_file(&out, &fixture("expected_new_full.csv"));
}

#[test]
fn the_summary_names_the_dates_it_used() {
    let s = Scratch::new("summary");
    let out = s.path("v2.csv");
    let dump = fixture("new_table.jsonl");
    let args = ["archive", "--dump", dump.to_str().unwrap(), "--out", out.to_str().unwrap(), "--start", "2025-12-01"];
    let before = today_utc();
    let text = tally_ok(&[&args[..], &["--estimator", "v2"]].concat());
    let after = today_utc();
    assert!(
        text.contains(&format!("dates: from 2025-12-01 to {before} (UTC, estimator v2)"))
            || text.contains(&format!("dates: from 2025-12-01 to {after} (UTC, estimator v2)")),
        "{text}"
    );
    let text = tally_ok(&[&args[..], &["--estimator", "full"]].concat());
    assert!(text.contains("dates: from 2025-12-01 no end date (UTC, estimator full)"), "{text}");
}

fn consolidate(dump: &str, historical: &str, out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "consolidate",
        "--dump",
        dump,
        "--historical",
        historical,
        "--out",
        out,
        "--start",
        "2025-12-01",
        "--json",
    ];
    args.extend_from_slice(extra);
    tally(&args)
}

#[test]
fn consolidation_matches_the_lambda_with_one_and_four_threads() {
    let s = Scratch::new("consolidate");
    for threads in ["1", "4"] {
        let out = s.path(&format!("consolidated-{threads}.csv"));
        let dump = fixture("new_table.jsonl");
        let hist = fixture("expected_archive_v1.csv");
        let run = || {
            let (dump, hist, out) = (dump.to_str().unwrap(), hist.to_str().unwrap(), out.to_str().unwrap());
            let o = consolidate(dump, hist, out, &["--threads", threads]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap()
        };
        assert_stats_ending_today(run, &fixture("expected_consolidated.stats.json"));
        assert_same_file(&out, &fixture("expected_consolidated.csv"));
    }
}

/// The fixture dump as gzip, as `aws dynamodb scan` JSON, and as an
/// Export-to-S3 folder of gzipped parts: the same output each time.
#[test]
fn every_dump_layout_gives_the_same_csv() {
    let s = Scratch::new("layouts");
    let jsonl = read(&fixture("old_table.jsonl"));
    let lines: Vec<&[u8]> = jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();

    let gz = s.path("old_table.jsonl.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&jsonl).unwrap();
    enc.finish().unwrap();

    let scan = s.path("scan.json");
    let items: Vec<serde_json::Value> =
        lines.iter().map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap()["Item"].clone()).collect();
    let doc = serde_json::json!({"Items": items, "Count": items.len(), "ScannedCount": items.len(), "ConsumedCapacity": null});
    std::fs::write(&scan, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let export = s.path("AWSDynamoDB/01700000000000-abcdef12/data");
    std::fs::create_dir_all(&export).unwrap();
    for (k, chunk) in lines.chunks(150).enumerate() {
        let part = export.join(format!("part-{k:04}.json.gz"));
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(part).unwrap(), flate2::Compression::fast());
        for line in chunk {
            enc.write_all(line).unwrap();
            enc.write_all(b"\n").unwrap();
        }
        enc.finish().unwrap();
    }
    std::fs::write(s.path("AWSDynamoDB/01700000000000-abcdef12/manifest-summary.json"), b"{}").unwrap();

    for (name, dump) in [("gz", gz), ("scan", scan), ("export", s.path("AWSDynamoDB"))] {
        let out = s.path(&format!("{name}.csv"));
        let report = tally_ok(&archive_args(dump.to_str().unwrap(), out.to_str().unwrap()));
        assert_same_file(&out, &fixture("expected_archive_v1.csv"));
        assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
    }

    // A broken line of an export's second part is named by its file and line.
    let part = export.join("part-0001.json.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&part).unwrap(), flate2::Compression::fast());
    enc.write_all(lines[150]).unwrap();
    enc.write_all(b"\n{\"Item\": oops}\n").unwrap();
    enc.finish().unwrap();
    let out = s.path("broken.csv");
    let report = tally_ok(
        &[&archive_args(s.path("AWSDynamoDB").to_str().unwrap(), out.to_str().unwrap())[..], &["--max-errors", "5"]]
            .concat(),
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let at = report["stats"]["dump_errors"][0]["at"].as_str().unwrap();
    assert!(at.ends_with("part-0001.json.gz: line 2"), "{at}");
}

#[test]
fn bad_lines_are_reported_by_line_and_counted_and_the_rest_is_written() {
    let s = Scratch::new("badlines");
    let mut jsonl = read(&fixture("old_table.jsonl"));
    jsonl.extend_from_slice(b"{\"Item\": {\"PK\": {\"S\": \"x\"}, oops}\n{\"Item\": {\"PK\": {\"N\": \"7\"}, \"SK\": {\"S\": \"x#CONV#1\"}}}\n");
    let dump = s.path("dump.jsonl");
    std::fs::write(&dump, &jsonl).unwrap();
    let out = s.path("out.csv");
    let report = tally_ok(&archive_args(dump.to_str().unwrap(), out.to_str().unwrap()));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&read(&fixture("expected_archive_v1.stats.json"))).unwrap();
    let fixture_lines = read(&fixture("old_table.jsonl")).iter().filter(|&&b| b == b'\n').count();
    assert_eq!(report["stats"]["errors"], 2);
    assert_eq!(report["stats"]["total_records"], want["total_records"]);
    assert_eq!(report["stats"]["scanned"], want["scanned"].as_u64().unwrap() + 1);
    assert_eq!(report["stats"]["dump_errors"][0]["at"], format!("line {}", fixture_lines + 1));
    // The item that cannot be processed is named by its line and its key (a number PK shown as such).
    assert_eq!(report["stats"]["error_items"][0]["at"], format!("line {} (N:7/x#CONV#1)", fixture_lines + 2));
    assert!(report["stats"]["error_items"][0]["error"].as_str().unwrap().contains("PK is of type N"));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
}

#[test]
fn a_missing_history_is_an_error_and_publishes_nothing() {
    let s = Scratch::new("nohistory");
    let out = s.path("consolidated.csv");
    std::fs::write(&out, b"previous output\n").unwrap();
    let dump = fixture("new_table.jsonl");
    let o = consolidate(dump.to_str().unwrap(), s.path("absent.csv").to_str().unwrap(), out.to_str().unwrap(), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not exist") && err.contains("--allow-missing-historical"), "{err}");
    assert_eq!(read(&out), b"previous output\n");

    let o = consolidate(
        dump.to_str().unwrap(),
        s.path("absent.csv").to_str().unwrap(),
        out.to_str().unwrap(),
        &["--allow-missing-historical"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_same_file(&out, &fixture("expected_new_v2.csv"));
}

#[test]
fn a_view_refresh_without_a_database_is_refused_before_anything_is_written() {
    let s = Scratch::new("nodatabase");
    let out = s.path("consolidated.csv");
    let dump = fixture("new_table.jsonl");
    let history = fixture("expected_archive_v1.csv");
    let o = consolidate(dump.to_str().unwrap(), history.to_str().unwrap(), out.to_str().unwrap(), &["--athena"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the view refresh needs an Athena database"), "{err}");
    assert!(!out.exists(), "nothing is published");
}

#[test]
fn an_unreadable_history_is_an_error_and_publishes_nothing() {
    let s = Scratch::new("badhistory");
    let out = s.path("consolidated.csv");
    std::fs::write(&out, b"previous output\n").unwrap();
    let hist = s.path("hist.csv");
    std::fs::write(&hist, b"create_date,input_token\n2025-01-01 00:00:00,1\n").unwrap();
    let dump = fixture("new_table.jsonl");
    let o = consolidate(dump.to_str().unwrap(), hist.to_str().unwrap(), out.to_str().unwrap(), &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unreadable") && err.contains("missing column"), "{err}");
    assert_eq!(read(&out), b"previous output\n");
}

#[test]
fn a_truncated_dump_fails_and_publishes_nothing() {
    let s = Scratch::new("truncated");
    let jsonl = read(&fixture("old_table.jsonl"));
    let mut gz = Vec::new();
    let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::fast());
    enc.write_all(&jsonl).unwrap();
    enc.finish().unwrap();
    let dump = s.path("cut.jsonl.gz");
    std::fs::write(&dump, &gz[..gz.len() / 2]).unwrap();
    let out = s.path("out.csv");
    std::fs::write(&out, b"previous output\n").unwrap();
    let o = tally(&archive_args(dump.to_str().unwrap(), out.to_str().unwrap()));
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cut.jsonl.gz"), "{err}");
    assert_eq!(read(&out), b"previous output\n");
}

#[test]
fn the_demo_runs_both_jobs_and_consolidates() {
    let s = Scratch::new("demo");
    let report = tally_ok(&["demo", "--dir", s.0.to_str().unwrap(), "--items", "300", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let consolidated = &report["consolidated"]["stats"];
    assert!(consolidated["duplicates_dropped"].as_u64().unwrap() > 0);
    assert_eq!(consolidated["errors"], 0);
    let csv = read(&s.path("tokens_analysis_consolidated.csv"));
    assert!(csv.starts_with(
        b"create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n"
    ));
    assert_eq!(csv.iter().filter(|&&b| b == b'\n').count() as u64, consolidated["total_records"].as_u64().unwrap() + 1);
    // The detail rows of the current table's conversations, beside it.
    let detail = &report["detail"];
    assert_eq!(detail["output"], s.path("tokens_detail.csv").to_str().unwrap());
    let rows = detail["stats"]["conversations"].as_u64().unwrap();
    assert!(rows > 0 && rows <= consolidated["new_rows"].as_u64().unwrap(), "{detail}");
    let text = String::from_utf8(read(&s.path("tokens_detail.csv"))).unwrap();
    assert_eq!(text.lines().count() as u64, rows + 1);
    assert!(text.lines().next().unwrap().ends_with(",billed_input_token,billed_output_token,billed_price"));
}

#[test]
fn bad_arguments_are_refused_with_a_message() {
    let o = tally(&["archive", "--dump", "x", "--out", "y", "--start", "2025-13-01"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a YYYY-MM-DD day"));
    let o = tally(&[
        "consolidate",
        "--dump",
        "x",
        "--historical",
        "h",
        "--out",
        "y",
        "--start",
        "2025-01-01",
        "--estimator",
        "v1",
    ]);
    // Refused for the estimator itself, before the (missing) inputs are looked at.
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("consolidate takes estimator v2 or full (v1 is the archival job's)"), "{err}");
    // Detail rows in the folder the Athena table reads would be read as its rows: refused before any read.
    let o = tally(&[
        "consolidate",
        "--dump",
        "x",
        "--historical",
        "h",
        "--out",
        "s3://reports/tokens-analysis/tokens_analysis_consolidated.csv",
        "--detail",
        "s3://reports/tokens-analysis/detail/tokens_detail.csv",
        "--start",
        "2025-01-01",
        "--athena",
        "--athena-database",
        "db",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("must not be in the output's folder (s3://reports/tokens-analysis/)"), "{err}");
}

#[test]
fn whatif_reprices_a_csv_as_the_decimal_pricing_does() {
    use rust_decimal::Decimal;
    use tally_core::pricing::{parse_price, Prices};
    let csv = fixture("expected_consolidated.csv");
    let report = tally_ok(&[
        "whatif",
        csv.to_str().unwrap(),
        "--prices",
        "0.0008/0.004",
        "--model",
        "3 Haiku",
        "--batch",
        "--source",
        "new_table",
        "--top",
        "3",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    // Independently: every new_table row priced by the jobs' decimal
    // pricing (rows without tokens keep their recorded cost), at half price.
    let rows = tally_core::csv::read_rows(&read(&csv)).unwrap().rows;
    let want = |input: &str, output: &str| -> String {
        let half = Decimal::new(5, 1);
        let prices = Prices {
            input_per_1k: parse_price(input).unwrap() * half,
            output_per_1k: parse_price(output).unwrap() * half,
        };
        let total: Decimal = rows
            .iter()
            .filter(|r| r.source == "new_table")
            .map(|r| {
                if r.input_token == 0 && r.output_token == 0 && !r.total_price.is_zero() {
                    r.total_price
                } else {
                    prices.price(tally_core::Tokens { input: r.input_token, output: r.output_token }).unwrap().total
                }
            })
            .sum();
        format!("{total:.6}")
    };
    let scenarios = v["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    assert_eq!(scenarios[0]["name"], "Claude 3 Haiku");
    assert_eq!(scenarios[0]["whatif_cost"], want("0.00025", "0.00125"));
    assert_eq!(scenarios[1]["whatif_cost"], want("0.0008", "0.004"));
    assert_eq!(scenarios[1]["batch"], "0.5");
    let stats: serde_json::Value = serde_json::from_slice(&read(&fixture("expected_consolidated.stats.json"))).unwrap();
    assert_eq!(v["views"]["headline"]["records"], stats["records_by_source"]["new_table"]);
    assert_eq!(v["views"]["top"].as_array().unwrap().len(), 3);

    // Unreadable lines are listed with their line numbers, and the rest is re-priced.
    let damaged = fixture("python_written/damaged_rows.csv");
    let want_bad: serde_json::Value =
        serde_json::from_slice(&read(&fixture("python_written/damaged_rows.expected.json"))).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&tally_ok(&["whatif", damaged.to_str().unwrap(), "--prices", "0.003/0.015", "--json"]))
            .unwrap();
    let lines =
        |x: &serde_json::Value| x.as_array().unwrap().iter().map(|b| b["line"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(lines(&v["unreadable"]), lines(&want_bad["unreadable_rows"]));
    assert_eq!(v["rows"].as_u64().unwrap() as usize, want_bad["rows"].as_array().unwrap().len());

    // A model that is not in the catalog, or a missing file: a clear message.
    let out = tally(&["whatif", csv.to_str().unwrap(), "--model", "gpt-7"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model matches \"gpt-7\""));
    let out = tally(&["whatif", "no-such.csv"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.csv does not exist"));
}

/// The detail rows of bedrock-chat's own table (large messages from a local
/// copy of the bucket): one per conversation, `recorded_price` its
/// `TotalPrice`, the seed's CSV unchanged; an unknown model is named.
#[test]
fn detail_rows_beside_the_seed_csv() {
    let s = Scratch::new("detail");
    let dir = fixture("bedrock_chat");
    let dump = dir.join("conversation_table.jsonl");
    let large = dir.join("large_messages");
    let (out, detail) = (s.path("consolidated.csv"), s.path("detail.csv"));
    let base = [
        "consolidate",
        "--dump",
        dump.to_str().unwrap(),
        "--historical",
        "absent.csv",
        "--allow-missing-historical",
        "--start",
        "2025-12-01",
        "--end",
        "2026-12-01",
        "--json",
    ];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let o = tally(&args);
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&[
        "--out",
        out.to_str().unwrap(),
        "--detail",
        detail.to_str().unwrap(),
        "--large-message-bucket",
        large.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_same_file(&out, &dir.join("expected_v2.csv"));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let stats = &report["detail"]["stats"];
    assert_eq!(report["detail"]["output"], detail.to_str().unwrap());
    assert_eq!(stats["conversations"], 120);
    assert_eq!(stats["broken_paths"], 0, "every large map was read from the folder");
    // The built-in catalog has no DeepSeek price: its calls are counted and named.
    assert!(stats["unknown_models"]["deepseek-r1"].as_u64().unwrap() > 0, "{stats}");

    // recorded_price is each conversation's TotalPrice, read here from the dump.
    let mut total_price = std::collections::BTreeMap::new();
    for line in read(&dump).split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let item: serde_json::Value = serde_json::from_slice(line).unwrap();
        if let Some(price) = item["Item"]["TotalPrice"]["N"].as_str() {
            let price: rust_decimal::Decimal = price.parse().unwrap();
            total_price
                .insert(item["Item"]["SK"]["S"].as_str().unwrap().to_string(), format!("{:.6}", price.round_dp(6)));
        }
    }
    let text = String::from_utf8(read(&detail)).unwrap();
    let rows = csv_rows(&text);
    assert_eq!(
        rows[0][9..],
        [
            "bot_id",
            "model",
            "models",
            "turns",
            "last_date",
            "recorded_price",
            "billed_input_token",
            "billed_output_token",
            "billed_price"
        ]
    );
    assert_eq!(rows.len(), 121);
    for row in &rows[1..] {
        assert_eq!(row[14], total_price[&row[7]], "{}", row[7]);
        assert!(row[15].parse::<u64>().unwrap() > 0 && row[16].parse::<u64>().unwrap() > 0, "{row:?}");
    }

    // `tally report` over it: per model, the billed and recorded sums of its rows.
    let report = tally_ok(&["report", detail.to_str().unwrap(), "--by", "model,user", "--top", "1000", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let mut by_model: std::collections::BTreeMap<String, (rust_decimal::Decimal, rust_decimal::Decimal, u64)> =
        Default::default();
    for row in &rows[1..] {
        let e = by_model.entry(row[10].clone()).or_default();
        e.0 += row[17].parse::<rust_decimal::Decimal>().unwrap();
        e.1 += row[14].parse::<rust_decimal::Decimal>().unwrap();
        e.2 += 1;
    }
    let groups = report["breakdowns"][0]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), by_model.len());
    for g in groups {
        let (billed, recorded, n) = &by_model[g["key"].as_str().unwrap()];
        assert_eq!(g["cost"].as_str().unwrap(), format!("{billed:.6}"));
        assert_eq!(g["recorded"].as_str().unwrap(), format!("{recorded:.6}"));
        assert_eq!(g["conversations"].as_u64().unwrap(), *n);
    }
    assert_eq!(report["accuracy"]["recorded_total"], stats["recorded_total"]);
    assert_eq!(report["breakdowns"][1]["by"], "user");

    // `tally whatif --map`: the mapped model's billed tokens at the new
    // prices, every other conversation at its billed price.
    let out = tally_ok(&[
        "whatif",
        detail.to_str().unwrap(),
        "--map",
        "claude-v4-sonnet=0.001/0.005",
        "--by",
        "model",
        "--json",
    ]);
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    let scenario = &out["scenarios"][0];
    let round =
        |d: rust_decimal::Decimal| d.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven);
    let mut want = rust_decimal::Decimal::ZERO;
    for row in &rows[1..] {
        let billed: rust_decimal::Decimal = row[17].parse().unwrap();
        want += if row[10] == "claude-v4-sonnet" {
            let (i, o): (rust_decimal::Decimal, rust_decimal::Decimal) =
                (row[15].parse().unwrap(), row[16].parse().unwrap());
            round(i * rust_decimal::Decimal::new(1, 3) / rust_decimal::Decimal::ONE_THOUSAND)
                + round(o * rust_decimal::Decimal::new(5, 3) / rust_decimal::Decimal::ONE_THOUSAND)
        } else {
            billed
        };
    }
    assert_eq!(scenario["basis"], "billed");
    assert_eq!(scenario["actual_cost"], stats["billed_total"]);
    assert_eq!(scenario["whatif_cost"].as_str().unwrap(), format!("{want:.6}"));
    let sonnet = scenario["by"].as_array().unwrap().iter().find(|g| g["key"] == "claude-v4-sonnet").unwrap();
    assert_ne!(sonnet["difference"], "0.000000");
    let others: Vec<&serde_json::Value> =
        scenario["by"].as_array().unwrap().iter().filter(|g| g["key"] != "claude-v4-sonnet").collect();
    assert!(others.iter().all(|g| g["difference"] == "0.000000"), "{others:?}");

    // bedrock-chat's own table as the book: every model known.
    let book = fixture("../pricing/bedrock_chat_models.json");
    let (code, stdout, stderr) = run(&[
        "--out",
        s.path("c2.csv").to_str().unwrap(),
        "--detail",
        s.path("d2.csv").to_str().unwrap(),
        "--large-message-bucket",
        large.to_str().unwrap(),
        "--price-book",
        book.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["detail"]["stats"]["unknown_models"], serde_json::json!({}));
    assert!(report["detail"]["stats"]["price_book"].as_str().unwrap().ends_with("bedrock_chat_models.json us-east-1"));

    // A detail output that is an input or the CSV itself is refused, before anything is written.
    let (code, _, stderr) =
        run(&["--out", s.path("c3.csv").to_str().unwrap(), "--detail", s.path("c3.csv").to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("--detail") && !s.path("c3.csv").exists(), "{stderr}");
    let (code, _, stderr) = run(&["--out", s.path("c4.csv").to_str().unwrap(), "--detail", dump.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!s.path("c4.csv").exists());
}

/// Rows of a CSV, split on commas outside quotes (enough for these files).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|line| {
            let (mut cells, mut cell, mut quoted) = (Vec::new(), String::new(), false);
            for c in line.chars() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => cells.push(std::mem::take(&mut cell)),
                    c => cell.push(c),
                }
            }
            cells.push(cell);
            cells
        })
        .collect()
}

/// The Lambda's runtime (`provided.al2023`) has glibc 2.34: the binary may
/// need no symbol version above it (`objdump -T`, from binutils).
#[test]
fn the_binary_runs_on_amazon_linux_2023s_glibc() {
    let out = std::process::Command::new("objdump").arg("-T").arg(env!("CARGO_BIN_EXE_tally")).output().unwrap();
    assert!(out.status.success(), "objdump: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let versions: Vec<(u32, u32)> = text
        .split("GLIBC_")
        .skip(1)
        .filter_map(|rest| {
            let v: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            let mut parts = v.split('.').map(|p| p.parse::<u32>().ok());
            Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
        })
        .collect();
    assert!(!versions.is_empty(), "no GLIBC symbol read: is the binary dynamic?");
    let newest = versions.iter().max().unwrap();
    assert!(*newest <= (2, 34), "the binary needs GLIBC_{}.{}, above Amazon Linux 2023's 2.34", newest.0, newest.1);
}
