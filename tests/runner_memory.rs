//! Memory that stays flat: with a tiny `--memory` every job sorts its rows
//! on disk, and its outputs are still the fixtures' byte for byte (CSV,
//! Parquet partitions, the users report); a spill folder that cannot be
//! written stops the run before anything is published.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn archive_and_consolidate_spill_and_write_the_same_bytes() {
    let scratch = Scratch::new("memory-jobs");
    let old = fixture("old_table.jsonl");
    let out = scratch.path("old.csv");
    let args = ["archive", "--dump", s(&old), "--out", s(&out), "--start", "2024-01-01", "--end", "2025-12-31"];
    let report = tally_ok(&[&args[..], &["--json", "--memory", "1K", "--threads", "2"]].concat());
    assert!(json(&report)["spilled_rows"].as_u64().unwrap() > 1000, "{report}");
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
    assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
    // The default budget holds the fixtures in memory.
    let report = tally_ok(&[&args[..], &["--json"]].concat());
    assert_eq!(json(&report)["spilled_rows"], 0);

    let new = fixture("new_table.jsonl");
    let history = fixture("expected_archive_v1.csv");
    for memory in ["1K", "64K"] {
        let out = scratch.path(&format!("consolidated-{memory}.csv"));
        let run = || {
            let args = ["consolidate", "--dump", s(&new), "--historical", s(&history), "--out", s(&out)];
            tally_ok(&[&args[..], &["--start", "2025-12-01", "--json", "--memory", memory]].concat())
        };
        let mut report = String::new();
        assert_stats_ending_today(
            || {
                report = run();
                report.clone()
            },
            &fixture("expected_consolidated.stats.json"),
        );
        assert!(json(&report)["spilled_rows"].as_u64().unwrap() > 0, "{memory}: {report}");
        assert_same_file(&out, &fixture("expected_consolidated.csv"));
    }
}

#[test]
fn parquet_partitions_and_the_users_report_are_the_same_spilled() {
    let scratch = Scratch::new("memory-outputs");
    let new = fixture("new_table.jsonl");
    let history = fixture("expected_archive_v1.csv");
    let run = |out: &Path, memory: &str| {
        let args = ["consolidate", "--dump", s(&new), "--historical", s(&history), "--out", s(out)];
        let args = [&args[..], &["--start", "2025-12-01", "--end", "2026-12-01", "--format", "parquet"]].concat();
        json(&tally_ok(&[&args[..], &["--json", "--memory", memory]].concat()))
    };
    let (small, large) = (scratch.path("small"), scratch.path("large"));
    assert!(run(&small, "1K")["spilled_rows"].as_u64().unwrap() > 0);
    assert_eq!(run(&large, "512M")["spilled_rows"], 0);
    let (a, b) = (files_under(&small), files_under(&large));
    assert!(a.len() > 100 && a == b, "{} and {} files", a.len(), b.len());

    let bc = fixture("bedrock_chat/conversation_table.jsonl");
    let large_messages = fixture("bedrock_chat/large_messages");
    let users = |out: &Path, memory: &str| {
        let args = ["users", "--dump", s(&bc), "--large-message-bucket", s(&large_messages), "--out", s(out)];
        json(&tally_ok(&[&args[..], &["--json", "--memory", memory]].concat()))
    };
    let (u_small, u_large) = (scratch.path("users-small.csv"), scratch.path("users-large.csv"));
    assert!(users(&u_small, "1K")["spilled_rows"].as_u64().unwrap() > 0);
    users(&u_large, "512M");
    assert_same_file(&u_small, &u_large);

    // The detail rows: conversations joined with their chunks and priced on disk.
    let detail = |name: &str, memory: &str| {
        let (seed, out) = (scratch.path(&format!("{name}-seed.csv")), scratch.path(&format!("{name}.csv")));
        let args = ["archive", "--dump", s(&bc), "--large-message-bucket", s(&large_messages), "--out", s(&seed)];
        let args = [&args[..], &["--start", "2025-12-01", "--end", "2026-12-01", "--estimator", "v2"]].concat();
        let report = json(&tally_ok(&[&args[..], &["--detail", s(&out), "--json", "--memory", memory]].concat()));
        (report["detail"]["stats"].clone(), read(&out))
    };
    let (small_stats, small_rows) = detail("detail-small", "1K");
    let (large_stats, large_rows) = detail("detail-large", "512M");
    assert_eq!(small_stats["conversations"], 120);
    assert_eq!(small_stats, large_stats);
    assert!(small_rows == large_rows, "the spilled detail rows differ");
}

#[test]
fn a_spill_folder_that_cannot_be_written_publishes_nothing() {
    let scratch = Scratch::new("memory-spill-dir");
    let old = fixture("old_table.jsonl");
    let out = scratch.path("old.csv");
    let missing = scratch.path("no/such/folder");
    let args = ["archive", "--dump", s(&old), "--out", s(&out), "--start", "2024-01-01", "--memory", "1K"];
    let o = tally(&[&args[..], &["--spill-dir", s(&missing)]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("spill file") && err.contains("no/such/folder"), "{err}");
    assert!(!out.exists());

    // More batches than the workers' channel holds, every worker failing at
    // its first spill: the reader is told to stop (it used to wait forever).
    let text = String::from_utf8(read(&old)).unwrap();
    let big = scratch.path("big.jsonl");
    let mut f = std::fs::File::create(&big).unwrap();
    for r in 0..40 {
        std::io::Write::write_all(&mut f, text.replace("\"S\": \"", &format!("\"S\": \"r{r}-")).as_bytes()).unwrap();
    }
    drop(f);
    let args = ["archive", "--dump", s(&big), "--out", s(&out), "--start", "2024-01-01", "--memory", "1K"];
    let mut child = tally_command()
        .args([&args[..], &["--threads", "2", "--spill-dir", s(&missing)]].concat())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("tally hung after its workers failed");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success() && !out.exists());
}
