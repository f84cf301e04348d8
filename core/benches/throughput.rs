//! Items per second of each estimator, and peak memory while streaming.
//!
//!     cargo bench -p tally-core --bench throughput [-- ITEMS]
//!
//! The corpus is the two fixture tables replicated with new keys to ITEMS
//! items (default 120,000; about 4.0 KB an item). Each estimator runs the
//! whole job on one thread: parse the export line, read the date and the
//! message map, estimate, price, keep the row. Then the same corpus is
//! streamed from a file by a child process that keeps no rows, at N and 2N
//! items, to show that peak memory does not grow with the number of items.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, clippy::unwrap_used, clippy::print_stdout)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use tally_core::dates::{DateRange, Day};
use tally_core::estimate::Estimator;
use tally_core::item::item_from_export_line;
use tally_core::job::{process, JobSpec, Outcome, Run};
use tally_core::pricing::Prices;

fn fixtures() -> PathBuf {
    std::env::var_os("TALLY_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

/// The fixture lines, replicated with new keys (`<pk>-r<k>`).
fn corpus(items: usize) -> Vec<String> {
    let mut base = Vec::new();
    for table in ["old_table.jsonl", "new_table.jsonl"] {
        let text = std::fs::read_to_string(fixtures().join(table)).unwrap();
        base.extend(text.lines().filter(|l| !l.is_empty()).map(String::from));
    }
    let pks: Vec<Option<String>> = base
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            v["Item"]["PK"]["S"].as_str().map(String::from)
        })
        .collect();
    (0..items)
        .map(|i| {
            let (k, r) = (i % base.len(), i / base.len());
            match &pks[k] {
                Some(pk) => base[k].replace(pk.as_str(), &format!("{pk}-r{r:04}")),
                None => base[k].clone(),
            }
        })
        .collect()
}

fn spec(estimator: Estimator) -> JobSpec {
    JobSpec {
        estimator,
        source: "new_table".into(),
        range: DateRange { start: Day::parse("2024-01-01").unwrap(), end: None },
        prices: Prices::default(),
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child mode: stream a dump file through the v2 job, keeping no rows.
fn stream(path: &str) {
    let reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path).unwrap());
    let spec = spec(Estimator::V2);
    let (mut n, mut priced) = (0u64, 0u64);
    for line in reader.split(b'\n') {
        let line = line.unwrap();
        if line.is_empty() {
            continue;
        }
        n += 1;
        if let Ok(item) = item_from_export_line(&line) {
            if let Outcome::Row { .. } = process(&item, &spec, None) {
                priced += 1;
            }
        }
    }
    println!("{n} {priced} {}", peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--stream") {
        stream(&args[1]);
        return;
    }
    let items: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(120_000);
    if args.get(1).map(String::as_str) == Some("--job-only") {
        // For profilers: the v2 job over and over.
        let lines = corpus(items);
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed().as_secs() < 8 {
            let mut run = Run::new(spec(Estimator::V2));
            for l in &lines {
                if let Ok(item) = item_from_export_line(l.as_bytes()) {
                    run.push(&item);
                }
            }
            n += run.finish().0.len();
        }
        println!("{n}");
        return;
    }
    if args.get(1).map(String::as_str) == Some("--maps-only") {
        // For profilers: parse the message maps over and over.
        let lines = corpus(items);
        let parsed: Vec<tally_core::Item> =
            lines.iter().filter_map(|l| item_from_export_line(l.as_bytes()).ok()).collect();
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed().as_secs() < 8 {
            for i in &parsed {
                n += usize::from(tally_core::messagemap::MessageMap::from_attr(i.get("MessageMap")).doc.is_some());
            }
        }
        println!("{n}");
        return;
    }
    let t = Instant::now();
    let lines = corpus(items);
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    println!(
        "corpus: {items} items, {:.1} MB ({:.2} KB/item), built in {:.1} s",
        bytes as f64 / 1e6,
        bytes as f64 / items as f64 / 1e3,
        t.elapsed().as_secs_f64()
    );

    // Parsing alone, for the breakdown.
    let t = Instant::now();
    let mut parsed = 0;
    for l in &lines {
        parsed += usize::from(item_from_export_line(l.as_bytes()).is_ok());
    }
    let parse_secs = t.elapsed().as_secs_f64();
    println!(
        "parse only (DynamoDB JSON): {:>9.0} items/s  {:>6.0} MB/s",
        parsed as f64 / parse_secs,
        bytes as f64 / 1e6 / parse_secs
    );

    // The message maps alone: parsing them, then estimating pre-parsed ones.
    let parsed_items: Vec<tally_core::Item> =
        lines.iter().filter_map(|l| item_from_export_line(l.as_bytes()).ok()).collect();
    let maps: Vec<&str> = parsed_items.iter().filter_map(|i| i.get_s("MessageMap")).collect();
    let map_bytes: usize = maps.iter().map(|m| m.len()).sum();
    let t = Instant::now();
    let mut ok = 0;
    for m in &maps {
        ok += usize::from(tally_core::messagemap::MessageMap::from_text(m).doc.is_some());
    }
    let secs = t.elapsed().as_secs_f64();
    assert!(ok > 0);
    let docs: Vec<_> = maps.iter().map(|m| tally_core::messagemap::MessageMap::from_text(m)).collect();
    println!(
        "message maps parse only: {:>9.0} maps/s   {:>6.0} MB/s",
        maps.len() as f64 / secs,
        map_bytes as f64 / 1e6 / secs
    );
    let t = Instant::now();
    let mut total = 0u64;
    for d in &docs {
        total += tally_core::estimate::estimate(d, Estimator::V2).tokens.input;
    }
    let secs = t.elapsed().as_secs_f64();
    println!("v2 estimate only (parsed): {:>9.0} maps/s  (checksum {total})", docs.len() as f64 / secs);
    drop(docs);

    // Each estimator on items already read (as from a table scan, where the
    // SDK has decoded the DynamoDB JSON): date, map, estimate, price, row.
    for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let mut run = Run::new(spec(estimator));
            for item in &parsed_items {
                run.push(item);
            }
            let (rows, _) = run.finish();
            assert!(!rows.is_empty());
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "estimator {:<4} on read items, 1 thread: {:>9.0} items/s  (best of 3: {:.3} s)",
            estimator.as_str(),
            parsed_items.len() as f64 / best,
            best
        );
    }
    drop(parsed_items);

    for estimator in [Estimator::V1, Estimator::V2, Estimator::Full] {
        let mut best = f64::MAX;
        let mut rows = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let mut run = Run::new(spec(estimator));
            for l in &lines {
                if let Ok(item) = item_from_export_line(l.as_bytes()) {
                    run.push(&item);
                }
            }
            let (r, _) = run.finish();
            rows = r.len();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "estimator {:<4} whole job, 1 thread: {:>9.0} items/s  {:>6.0} MB/s  ({rows} rows, best of 3: {:.3} s)",
            estimator.as_str(),
            items as f64 / best,
            bytes as f64 / 1e6 / best,
            best
        );
    }

    // Peak memory while streaming N and 2N items from a file.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    for copies in [1, 2] {
        let path = dir.join(format!("corpus-x{copies}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for _ in 0..copies {
            for l in &lines {
                f.write_all(l.as_bytes()).unwrap();
                f.write_all(b"\n").unwrap();
            }
        }
        f.flush().unwrap();
        drop(f);
        let t = Instant::now();
        let out = std::process::Command::new(&exe).args(["--stream", path.to_str().unwrap()]).output().unwrap();
        let secs = t.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&out.stdout);
        let parts: Vec<u64> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
        if let [n, priced, kib] = parts[..] {
            println!(
                "streaming v2 from a file, {n} items ({priced} priced): peak RSS {:.1} MiB, {:.0} items/s",
                kib as f64 / 1024.0,
                n as f64 / secs
            );
        }
        let _ = std::fs::remove_file(&path);
    }
}
