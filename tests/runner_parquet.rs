//! `--format parquet` end to end: every Parquet output read back by pyarrow
//! (a reader that is not ours) and held against the CSV of the same run,
//! value by value and type by type; a partitioned daily run that rewrites
//! only the partitions whose rows changed, locally and in S3.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use support::moto::{aws_env, Aws, Moto};
use support::*;

/// pyarrow's Python, installed by `scripts/setup.sh`.
fn pyarrow_python() -> PathBuf {
    let python = tool("pyarrow/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup.sh (it installs pyarrow)", python.display());
    python
}

/// pyarrow reads `parquet` and finds every value and type of `csv`.
fn assert_pyarrow_reads_the_csv(kind: &str, parquet: &Path, csv: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/support/parquet_check.py");
    let mut shown = parquet.to_str().unwrap().to_string();
    if parquet.is_dir() {
        shown.push('/');
    }
    let out = std::process::Command::new(pyarrow_python()).arg(script).args([kind, &shown]).arg(csv).output().unwrap();
    assert!(
        out.status.success(),
        "pyarrow on {shown}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok "), "{}", String::from_utf8_lossy(&out.stdout));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `consolidate` of the fixtures into `out`, with `extra` flags; its JSON report.
fn consolidate(dump: &Path, out: &str, extra: &[&str]) -> serde_json::Value {
    let history = fixture("expected_archive_v1.csv");
    let mut args = vec!["consolidate", "--dump", s(dump), "--historical", s(&history), "--out", out];
    args.extend_from_slice(&["--start", "2025-12-01", "--end", "2026-12-01", "--json"]);
    args.extend_from_slice(extra);
    serde_json::from_str(&tally_ok(&args)).unwrap()
}

#[test]
fn every_parquet_output_reads_back_as_its_csv() {
    let scratch = Scratch::new("parquet-read-back");
    let dump = fixture("new_table.jsonl");
    let csv = scratch.path("consolidated.csv");
    consolidate(&dump, s(&csv), &[]);
    for (by, name) in [("day", "by-day"), ("month", "by-month"), ("none", "one.parquet")] {
        let out = scratch.path(name);
        let report = consolidate(&dump, s(&out), &["--format", "parquet", "--partition-by", by]);
        assert_eq!(report["stats"]["total_records"], 1138);
        assert_pyarrow_reads_the_csv("rows", &out, &csv);
    }
    // The previous Parquet file's rows are read from its footer: a much
    // smaller output is refused (--max-shrink) and the file stays as it was.
    let one = scratch.path("one.parquet");
    let before = read(&one);
    let history = fixture("expected_archive_v1.csv");
    let args = ["consolidate", "--dump", s(&dump), "--historical", s(&history), "--out", s(&one)];
    let args = [&args[..], &["--start", "2026-06-01", "--end", "2026-12-01", "--format", "parquet"]].concat();
    let o = tally(&[&args[..], &["--partition-by", "none", "--allow-missing-historical"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("1138"), "{err}");
    assert!(read(&one) == before);
    // The archival, one file; and the same rows give the same bytes.
    let old = fixture("old_table.jsonl");
    let archive = |out: &Path, extra: &[&str]| {
        let mut args =
            vec!["archive", "--dump", s(&old), "--out", s(out), "--start", "2024-01-01", "--end", "2025-12-31"];
        args.extend_from_slice(extra);
        tally_ok(&args);
    };
    let (a_csv, a_pq, again) = (scratch.path("old.csv"), scratch.path("old.parquet"), scratch.path("again.parquet"));
    archive(&a_csv, &[]);
    archive(&a_pq, &["--format", "parquet", "--partition-by", "none"]);
    archive(&again, &["--format", "parquet", "--partition-by", "none"]);
    assert_same_file(&a_csv, &fixture("expected_archive_v1.csv"));
    assert_pyarrow_reads_the_csv("rows", &a_pq, &a_csv);
    assert!(read(&a_pq) == read(&again), "the same rows gave different Parquet bytes");
    // The daily job's history is the archival's CSV; a Parquet one is named as such.
    let args = ["consolidate", "--dump", s(&dump), "--historical", s(&a_pq), "--out", "x.csv", "--start", "2025-12-01"];
    let o = tally(&args);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("is Parquet"));
    // The users report, with hostile questions and 6-decimal costs.
    let bc = fixture("bedrock_chat/conversation_table.jsonl");
    let large = fixture("bedrock_chat/large_messages");
    let users = |out: &Path, extra: &[&str]| {
        let mut args = vec!["users", "--dump", s(&bc), "--large-message-bucket", s(&large), "--out", s(out)];
        args.extend_from_slice(extra);
        tally_ok(&args);
    };
    let (u_csv, u_pq) = (scratch.path("users.csv"), scratch.path("users.parquet"));
    users(&u_csv, &[]);
    users(&u_pq, &["--format", "parquet"]);
    assert_pyarrow_reads_the_csv("users", &u_pq, &u_csv);
    // What does not fit is refused with a message.
    let o = tally(&["users", "--dump", s(&bc), "--out", s(&u_pq), "--format", "parquet", "--partition-by", "day"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--partition-by none"));
    let o = tally(&["archive", "--dump", s(&old), "--out", "x.csv", "--start", "2024-01-01", "--partition-by", "day"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--format parquet"));
}

/// Each partition's file under `dir`: (dt, (inode, bytes)).
fn partition_files(dir: &Path) -> BTreeMap<String, (u64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if let Some(dt) = name.strip_prefix("dt=") {
            let file = path.join("data.parquet");
            out.insert(dt.to_string(), (std::fs::metadata(&file).unwrap().ino(), read(&file)));
        }
    }
    out
}

/// The dump with one conversation changed: its user's text is longer, so
/// its row (on its day) costs more. The day and the dump.
fn touch_one_conversation(dump: &Path) -> (String, String) {
    let text = String::from_utf8(read(dump)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // A conversation with a readable map and a date inside the run's range.
    let (k, item) = lines
        .iter()
        .enumerate()
        .find_map(|(k, l)| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let item = &v["Item"];
            let ms: f64 = item["CreateTime"]["N"].as_str()?.parse().ok()?;
            let in_range = (1_764_547_200_000.0..1_796_083_200_000.0).contains(&ms);
            let conv = item["SK"]["S"].as_str()?.contains("#CONV#") && item["MessageMap"]["S"].is_string();
            (in_range && conv && l.contains(r#"\"body\": \""#)).then(|| (k, item.clone()))
        })
        .unwrap();
    let ms: f64 = item["CreateTime"]["N"].as_str().unwrap().parse().unwrap();
    let day = tally_core::dates::Day((ms / 86_400_000.0).floor() as i64).to_string();
    let changed = lines[k].replacen(r#"\"body\": \""#, r#"\"body\": \"a much longer question than before "#, 1);
    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    lines[k] = changed;
    (day, lines.join("\n") + "\n")
}

#[test]
fn a_daily_run_rewrites_only_the_partitions_whose_rows_changed() {
    let scratch = Scratch::new("parquet-partitions");
    let dump = fixture("new_table.jsonl");
    let out = scratch.path("consolidated-parquet");
    let first = consolidate(&dump, s(&out), &["--format", "parquet"]);
    let before = partition_files(&out);
    assert_eq!(first["partitions"]["written"].as_array().unwrap().len(), before.len());
    assert_eq!(first["partitions"]["partitions"], before.len());
    // The same input again: nothing is rewritten.
    let again = consolidate(&dump, s(&out), &["--format", "parquet"]);
    assert_eq!(again["partitions"]["written"], serde_json::json!([]));
    assert_eq!(partition_files(&out), before);
    // One conversation changed: only its day is rewritten, the others keep their files.
    let (day, text) = touch_one_conversation(&dump);
    let changed = scratch.path("changed.jsonl");
    std::fs::write(&changed, text).unwrap();
    let third = consolidate(&changed, s(&out), &["--format", "parquet"]);
    assert_eq!(third["partitions"]["written"], serde_json::json!([day]));
    let after = partition_files(&out);
    assert_eq!(after.len(), before.len());
    for (dt, (inode, bytes)) in &after {
        if *dt == day {
            assert!(before[dt].0 != *inode && before[dt].1 != *bytes, "{dt} was not rewritten");
        } else {
            assert_eq!((&before[dt].0, &before[dt].1), (inode, bytes), "{dt} was rewritten");
        }
    }
    let csv = scratch.path("changed.csv");
    consolidate(&changed, s(&csv), &[]);
    assert_pyarrow_reads_the_csv("rows", &out, &csv);
    // A day whose rows are gone is deleted (the day's rows are filtered out by --end).
    let last = after.keys().rfind(|d| d.as_str() <= "2026-12-01").unwrap().clone();
    let history = fixture("expected_archive_v1.csv");
    let end = tally_core::dates::Day(tally_core::dates::Day::parse(&last).unwrap().0 - 1).to_string();
    let report: serde_json::Value = serde_json::from_str(&tally_ok(&[
        "consolidate",
        "--dump",
        s(&changed),
        "--historical",
        s(&history),
        "--out",
        s(&out),
        "--start",
        "2025-12-01",
        "--end",
        &end,
        "--format",
        "parquet",
        "--max-shrink",
        "100%",
        "--json",
    ]))
    .unwrap();
    assert!(report["partitions"]["deleted"].as_array().unwrap().contains(&serde_json::json!(last)), "{report}");
    assert!(!out.join(format!("dt={last}")).exists());
}

#[test]
fn a_run_that_fails_half_way_is_repaired_by_the_next() {
    let scratch = Scratch::new("parquet-half-way");
    let dump = fixture("new_table.jsonl");
    let out = scratch.path("consolidated-parquet");
    consolidate(&dump, s(&out), &["--format", "parquet"]);
    let good = partition_files(&out);
    // Run 2: other prices, and an old conversation so long that its row
    // cannot be a DECIMAL(10,6): the newer days are rewritten, then it fails.
    let (day, text) = touch_one_conversation(&dump);
    let long = text.replacen("a much longer question than before ", &"x".repeat(400_000), 1);
    let bad = scratch.path("bad.jsonl");
    std::fs::write(&bad, long).unwrap();
    let history = fixture("expected_archive_v1.csv");
    let args = ["consolidate", "--dump", s(&bad), "--historical", s(&history), "--out", s(&out)];
    let args = [&args[..], &["--start", "2025-12-01", "--end", "2026-12-01", "--format", "parquet"]].concat();
    let o = tally(&[&args[..], &["--output-price", "100", "--input-price", "100"]].concat());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("does not fit DECIMAL(10,6)"), "{err}");
    let after_failure = partition_files(&out);
    let changed = after_failure.iter().filter(|(dt, f)| good[*dt].1 != f.1).count();
    assert!(changed > 0, "the failed run changed no file before {day}");
    // Run 3, the first run's input again: every partition is the first run's again.
    consolidate(&dump, s(&out), &["--format", "parquet"]);
    let repaired = partition_files(&out);
    for (dt, (_, bytes)) in &good {
        assert!(repaired[dt].1 == *bytes, "{dt} still holds the failed run's rows");
    }
}

#[test]
fn partitions_in_s3_are_written_once_and_read_back() {
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let aws = rt.block_on(Aws::new(&moto.url()));
    let bucket = "parquet-reports";
    rt.block_on(aws.create_bucket(bucket));
    let run = |dump: &Path| {
        let mut cmd = tally_command();
        let history = fixture("expected_archive_v1.csv");
        cmd.args(["consolidate", "--dump", s(dump), "--historical", s(&history)]);
        cmd.args(["--out", &format!("s3://{bucket}/tokens-analysis-parquet/"), "--start", "2025-12-01"]);
        cmd.args(["--end", "2026-12-01", "--format", "parquet", "--json"]);
        for (k, v) in aws_env(&moto.url()) {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    let dump = fixture("new_table.jsonl");
    let first = run(&dump);
    let written = first["partitions"]["written"].as_array().unwrap().len();
    assert!(written > 100, "{written}");
    let (day, text) = touch_one_conversation(&dump);
    let scratch = Scratch::new("parquet-s3");
    let changed = scratch.path("changed.jsonl");
    std::fs::write(&changed, text).unwrap();
    assert_eq!(run(&changed)["partitions"]["written"], serde_json::json!([day]));
    // The objects are what a local run writes, byte for byte.
    let local = scratch.path("local");
    consolidate(&changed, s(&local), &["--format", "parquet"]);
    let files = partition_files(&local);
    for (dt, (_, bytes)) in &files {
        let key = format!("tokens-analysis-parquet/dt={dt}/data.parquet");
        assert!(rt.block_on(aws.get(bucket, &key)) == *bytes, "{key} differs from the local file");
    }
    let manifest = rt.block_on(aws.get(bucket, "tokens-analysis-parquet/_tally_partitions.json"));
    assert!(manifest == read(&local.join("_tally_partitions.json")));
    // The table over the partitions and the seed's view: created through Athena.
    rt.block_on(aws.create_workgroup("wg-parquet"));
    let mut cmd = tally_command();
    let history = fixture("expected_archive_v1.csv");
    cmd.args(["consolidate", "--dump", s(&changed), "--historical", s(&history)]);
    cmd.args(["--out", &format!("s3://{bucket}/tokens-analysis-parquet/"), "--start", "2025-12-01"]);
    cmd.args(["--end", "2026-12-01", "--format", "parquet", "--json", "--athena", "--athena-database", "db"]);
    cmd.args(["--athena-workgroup", "wg-parquet"]);
    for (k, v) in aws_env(&moto.url()) {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["athena"]["state"], "SUCCEEDED", "{report}");
    assert!(report["athena"]["table_query_execution_id"].is_string(), "{report}");
    assert_eq!(report["partitions"]["written"], serde_json::json!([]));
    let first_key = format!("tokens-analysis-parquet/dt={}/data.parquet", files.keys().next().unwrap());
    let content_type = rt.block_on(aws.content_type(bucket, &first_key));
    assert_eq!(content_type.as_deref(), Some("application/vnd.apache.parquet"));
}
