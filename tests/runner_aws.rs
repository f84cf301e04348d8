//! The runner against a local AWS emulator (moto's server): the real SDK
//! calls for DynamoDB scans, S3 reads and writes and the Athena view, with
//! the fixtures' outputs byte for byte, and the failures that must leave the
//! previous output object as it was.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;
use std::sync::{Arc, Mutex};

use support::moto::{aws_env, Aws, Moto};
use support::proxy::{Policy, Proxy};
use support::*;

/// Runs `tally` against the emulator.
fn tally_aws(moto: &Moto, args: &[&str]) -> Output {
    tally_aws_vars(moto, &[], args)
}

/// `tally` against the emulator, with some of the Lambdas' variables set.
fn tally_aws_vars(moto: &Moto, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = tally_command();
    cmd.args(args).envs(vars.iter().copied());
    for (k, v) in aws_env(&moto.url()) {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "tally failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// A fresh emulator, a runtime and clients for it.
fn emulator() -> (Moto, tokio::runtime::Runtime, Aws) {
    let moto = Moto::start();
    let rt = runtime();
    let aws = rt.block_on(Aws::new(&moto.url()));
    (moto, rt, aws)
}

/// Unique names per test, so tests can share an emulator process or not.
fn name(test: &str) -> String {
    format!("{test}-{}", std::process::id()).replace('_', "-")
}

#[test]
fn archive_and_consolidate_from_tables_to_s3_match_the_lambdas() {
    let (moto, rt, aws) = emulator();
    let (old, new, bucket) = (name("old"), name("new"), name("reports"));
    rt.block_on(async {
        aws.seed_stack(&old, &new, &bucket, "wg-from-variable").await;
    });

    for segments in ["1", "4"] {
        let key = format!("archives/tokens-analysis/{segments}/tokens_analysis_old_table.csv");
        let out_url = format!("s3://{bucket}/{key}");
        let report = ok(&tally_aws(
            &moto,
            &[
                "archive",
                "--table",
                &old,
                "--out",
                &out_url,
                "--start",
                "2024-01-01",
                "--end",
                "2025-12-31",
                "--segments",
                segments,
                "--json",
            ],
        ));
        assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
        let got = rt.block_on(aws.get(&bucket, &key));
        assert_eq!(got, read(&fixture("expected_archive_v1.csv")), "archive with {segments} segments");
        assert_eq!(rt.block_on(aws.content_type(&bucket, &key)).as_deref(), Some("text/csv"));

        let consolidated = format!("tokens-analysis/{segments}/tokens_analysis_consolidated.csv");
        let consolidated_url = format!("s3://{bucket}/{consolidated}");
        let mut report = String::new();
        let args = [
            "consolidate",
            "--table",
            &new,
            "--historical",
            &out_url,
            "--out",
            &consolidated_url,
            "--start",
            "2025-12-01",
            "--segments",
            segments,
            "--athena",
            "--json",
        ];
        // No end date: v2 ends today, the daily Lambda's end. The Athena
        // names come from the Lambda's variables, without --env.
        let vars = [("ATHENA_DATABASE", "db_from_variable"), ("ATHENA_WORKGROUP", "wg-from-variable")];
        assert_stats_ending_today(
            || {
                report = ok(&tally_aws_vars(&moto, &vars, &args));
                report.clone()
            },
            &fixture("expected_consolidated.stats.json"),
        );
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["athena"]["state"], "SUCCEEDED");
        assert!(!report["athena"]["query_execution_id"].as_str().unwrap().is_empty());
        assert_eq!(rt.block_on(aws.get(&bucket, &consolidated)), read(&fixture("expected_consolidated.csv")));
    }
}

#[test]
fn dumps_on_s3_give_the_same_csv() {
    let (moto, rt, aws) = emulator();
    let bucket = name("dumps");
    let jsonl = read(&fixture("old_table.jsonl"));
    rt.block_on(async {
        aws.create_bucket(&bucket).await;
        aws.put(&bucket, "plain/old_table.jsonl", jsonl.clone()).await;
        // An Export-to-S3 folder: gzipped parts and a manifest.
        let lines: Vec<&[u8]> = jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
        for (k, chunk) in lines.chunks(200).enumerate() {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            for line in chunk {
                enc.write_all(line).unwrap();
                enc.write_all(b"\n").unwrap();
            }
            aws.put(&bucket, &format!("AWSDynamoDB/0170-abc/data/part-{k}.json.gz"), enc.finish().unwrap()).await;
        }
        aws.put(&bucket, "AWSDynamoDB/0170-abc/manifest-summary.json", b"{}".to_vec()).await;
    });
    for dump in [format!("s3://{bucket}/plain/old_table.jsonl"), format!("s3://{bucket}/AWSDynamoDB/0170-abc/")] {
        let out = format!("s3://{bucket}/out/{}.csv", dump.len());
        let report = ok(&tally_aws(
            &moto,
            &["archive", "--dump", &dump, "--out", &out, "--start", "2024-01-01", "--end", "2025-12-31", "--json"],
        ));
        assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
        let key = out.trim_start_matches(&format!("s3://{bucket}/")).to_string();
        assert_eq!(rt.block_on(aws.get(&bucket, &key)), read(&fixture("expected_archive_v1.csv")), "{dump}");
    }
}

#[test]
fn a_missing_or_unreadable_history_on_s3_leaves_the_output_as_it_was() {
    let (moto, rt, aws) = emulator();
    let (bucket, table) = (name("hist"), name("newt"));
    rt.block_on(async {
        aws.create_bucket(&bucket).await;
        aws.table_from(&table, &fixture("new_table.jsonl")).await;
        aws.put(&bucket, "out.csv", b"previous output\n".to_vec()).await;
        aws.put(&bucket, "bad.csv", b"create_date,input_token\n".to_vec()).await;
    });
    let out = format!("s3://{bucket}/out.csv");
    let missing = format!("s3://{bucket}/absent.csv");
    let o = tally_aws(
        &moto,
        &["consolidate", "--table", &table, "--historical", &missing, "--out", &out, "--start", "2025-12-01"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rt.block_on(aws.get(&bucket, "out.csv")), b"previous output\n");

    let bad = format!("s3://{bucket}/bad.csv");
    let o = tally_aws(
        &moto,
        &["consolidate", "--table", &table, "--historical", &bad, "--out", &out, "--start", "2025-12-01"],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing column"), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rt.block_on(aws.get(&bucket, "out.csv")), b"previous output\n");

    // Allowed explicitly: the new rows alone.
    let o = tally_aws(
        &moto,
        &[
            "consolidate",
            "--table",
            &table,
            "--historical",
            &missing,
            "--out",
            &out,
            "--start",
            "2025-12-01",
            "--allow-missing-historical",
        ],
    );
    ok(&o);
    assert_eq!(rt.block_on(aws.get(&bucket, "out.csv")), read(&fixture("expected_new_v2.csv")));
}

#[test]
fn a_failed_scan_or_upload_publishes_nothing() {
    let mut moto = Moto::start();
    let rt = runtime();
    let aws = rt.block_on(Aws::new(&moto.url()));
    let bucket = name("fail");
    rt.block_on(async {
        aws.create_bucket(&bucket).await;
        aws.put(&bucket, "out.csv", b"previous output\n".to_vec()).await;
    });
    let out = format!("s3://{bucket}/out.csv");
    // A table that does not exist: the scan fails, nothing is written.
    let o = tally_aws(
        &moto,
        &["archive", "--table", "no-such-table", "--out", &out, "--start", "2024-01-01", "--max-attempts", "2"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("scan of table no-such-table failed"), "{err}");
    assert_eq!(rt.block_on(aws.get(&bucket, "out.csv")), b"previous output\n");

    // An upload refused (the bucket does not exist): exit non-zero, with the reason.
    let dump = fixture("old_table.jsonl");
    let o = tally_aws(
        &moto,
        &[
            "archive",
            "--dump",
            dump.to_str().unwrap(),
            "--out",
            "s3://no-such-bucket/x.csv",
            "--start",
            "2024-01-01",
            "--max-attempts",
            "2",
        ],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot write s3://no-such-bucket/x.csv") && err.contains("NoSuchBucket"), "{err}");

    // The emulator gone: the scan fails after its retries.
    moto.stop();
    let o =
        tally_aws(&moto, &["archive", "--table", "t", "--out", &out, "--start", "2024-01-01", "--max-attempts", "2"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("scan of table t failed"));
}

#[test]
fn athena_sql_prints_the_table_and_the_view() {
    let sql = |vars: &[(&str, &str)], args: &[&str]| {
        let mut argv = vec!["athena-sql"];
        argv.extend(args);
        let o = tally_command().args(argv).envs(vars.iter().copied()).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let text = sql(&[], &["--athena-view", "cat_test_token_usage_analysis", "--location", "s3://b/tokens-analysis/"]);
    assert!(text.contains("CREATE EXTERNAL TABLE IF NOT EXISTS `tokens_table_consolidated` ("), "{text}");
    assert!(text.contains("LOCATION 's3://b/tokens-analysis/'"));
    assert!(text.contains("'skip.header.line.count'='1'"));
    assert!(text.contains("precio_token_input DECIMAL(10,6)"));
    assert!(text.contains("CREATE OR REPLACE VIEW cat_test_token_usage_analysis AS"));

    // The Lambda's variables name the database and the location.
    let vars = [("ATHENA_DATABASE", "db_v"), ("S3_BUCKET_NAME", "bkt"), ("S3_OUTPUT_PREFIX", "out/")];
    let text = sql(&vars, &[]);
    assert!(text.contains("IF NOT EXISTS `db_v`.`tokens_table_consolidated`"), "{text}");
    assert!(text.contains("LOCATION 's3://bkt/out/'"), "{text}");

    // tally.toml's environment, below the variables.
    let scratch = Scratch::new("athena-sql");
    let config = write_config(&scratch.0, "from-file", "cron(30 4 * * ? *)", false);
    let config = config.to_str().unwrap();
    let text = sql(&[], &["--env", "ci", "--config", config]);
    assert!(text.contains("IF NOT EXISTS `db`.`tokens_table_consolidated`"), "{text}");
    assert!(text.contains("LOCATION 's3://from-file/tokens-analysis/'"), "{text}");
    assert!(text.contains("CREATE OR REPLACE VIEW v_ci AS"), "{text}");
    let text = sql(&[("ATHENA_VIEW_NAME", "v_var")], &["--env", "ci", "--config", config]);
    assert!(text.contains("CREATE OR REPLACE VIEW v_var AS"), "{text}");

    let o = tally(&["athena-sql"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("give --location"));
}

/// A configuration with one environment whose names the test controls.
fn write_config(dir: &std::path::Path, bucket: &str, cron: &str, enabled: bool) -> std::path::PathBuf {
    let path = dir.join("tally.toml");
    let text = format!(
        "[env.ci]\nold_table = \"not-used\"\nnew_table = \"overridden-by-DYNAMODB_TABLE_NAME\"\nbucket = \"{bucket}\"\n\
         output_prefix = \"tokens-analysis/\"\nhistorical_prefix = \"archives/tokens-analysis/\"\n\
         dates = {{ archival_start = \"2024-01-01\", archival_end = \"2025-12-31\", consolidated_start = \"2025-12-01\" }}\n\
         athena = {{ database = \"db\", workgroup = \"wg-ci\", view = \"v_ci\", refresh = true }}\n\
         schedule = {{ enabled = {enabled}, cron = \"{cron}\" }}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_environment_with_lambda_variables_runs_both_jobs_and_the_schedule() {
    use std::io::{BufRead, BufReader};
    let (moto, rt, aws) = emulator();
    let (old, new, bucket) = (name("env-old"), name("env-new"), name("env-reports"));
    rt.block_on(async {
        aws.seed_stack(&old, &new, &bucket, "wg-ci").await;
    });
    let scratch = Scratch::new("env");
    let config = write_config(&scratch.0, &bucket, "cron(30 4 * * ? *)", true);
    let config = config.to_str().unwrap();
    let with_env = |args: &[&str]| {
        let mut cmd = tally_command();
        cmd.args(args).env("OLD_DYNAMODB_TABLE_NAME", &old).env("DYNAMODB_TABLE_NAME", &new);
        for (k, v) in aws_env(&moto.url()) {
            cmd.env(k, v);
        }
        cmd
    };

    // The archival job: table, dates and output object from the environment.
    let o = with_env(&["archive", "--env", "ci", "--config", config, "--json"]).output().unwrap();
    let report = ok(&o);
    assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
    let archived = rt.block_on(aws.get(&bucket, "archives/tokens-analysis/tokens_analysis_old_table.csv"));
    assert_eq!(archived, read(&fixture("expected_archive_v1.csv")));

    // The schedule, rehearsed two seconds before its time: one run, then a clean stop.
    let mut child = with_env(&["schedule", "--env", "ci", "--config", config, "--fake-now", "2026-11-22 04:29:58"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("run succeeded") || line.contains("run failed") {
            break;
        }
    }
    assert!(log.contains("next run at 2026-11-22 04:30:00 UTC"), "{log}");
    let rows = read(&fixture("expected_consolidated.csv")).iter().filter(|&&b| b == b'\n').count() - 1;
    assert!(log.contains(&format!("run succeeded: {rows} rows")) && log.contains("Athena SUCCEEDED"), "{log}");
    // v2 ends on the day of the run, by the schedule's (rehearsed) clock.
    assert!(log.contains("dates from 2025-12-01 to 2026-11-22)"), "{log}");
    let consolidated = rt.block_on(aws.get(&bucket, "tokens-analysis/tokens_analysis_consolidated.csv"));
    assert_eq!(consolidated, read(&fixture("expected_consolidated.csv")));
    // It waits for the next day's run; SIGTERM stops it cleanly.
    std::thread::sleep(std::time::Duration::from_millis(300));
    send_signal(child.id(), "TERM");
    let status = child.wait().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "exit {status:?}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("next run at 2026-11-23 04:30:00 UTC")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("stopping")), "{rest:?}");

    // A disabled schedule refuses to start.
    let disabled = write_config(&scratch.0, &bucket, "cron(30 4 * * ? *)", false);
    let o = with_env(&["schedule", "--env", "ci", "--config", disabled.to_str().unwrap()]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is disabled"));
}

#[test]
fn throttling_and_server_errors_are_retried_and_the_output_is_identical() {
    let (moto, rt, aws) = emulator();
    let (table, bucket) = (name("throttled"), name("throttled-out"));
    rt.block_on(async {
        aws.table_from(&table, &fixture("old_table.jsonl")).await;
        aws.create_bucket(&bucket).await;
    });
    let proxy = Proxy::start(moto.port, Policy { throttle_scans: 2, ..Policy::default() });
    let out = format!("s3://{bucket}/old.csv");
    let o = tally_via(
        &proxy.url(),
        &[
            "archive",
            "--table",
            &table,
            "--out",
            &out,
            "--start",
            "2024-01-01",
            "--end",
            "2025-12-31",
            "--segments",
            "3",
            "--json",
        ],
    );
    let report = ok(&o);
    assert_stats(&report, &fixture("expected_archive_v1.stats.json"));
    assert!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst) >= 3, "the proxy injected too few errors");
    assert_eq!(rt.block_on(aws.get(&bucket, "old.csv")), read(&fixture("expected_archive_v1.csv")));
    // A retry is never silent.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Scan: attempt 2 (the last one was throttled, failed or stalled)"), "{err}");
}

/// Runs `tally` with the emulator's credentials against `endpoint`.
fn tally_via(endpoint: &str, args: &[&str]) -> Output {
    let mut cmd = tally_command();
    cmd.args(args);
    for (k, v) in aws_env(endpoint) {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_emulator_stopping_mid_scan_or_a_refused_upload_leaves_the_old_output() {
    let moto = Arc::new(Mutex::new(Moto::start()));
    let port = moto.lock().unwrap().port;
    let url = moto.lock().unwrap().url();
    let rt = runtime();
    let aws = rt.block_on(Aws::new(&url));
    let (table, bucket) = (name("midscan"), name("midscan-out"));
    rt.block_on(async {
        aws.table_from(&table, &fixture("new_table.jsonl")).await;
        aws.create_bucket(&bucket).await;
        aws.put(&bucket, "out.csv", b"previous output\n".to_vec()).await;
    });
    let out = format!("s3://{bucket}/out.csv");

    // S3 refuses the upload: non-zero exit with the reason, old object kept.
    let proxy = Proxy::start(port, Policy { refuse_puts: true, ..Policy::default() });
    let o = tally_via(
        &proxy.url(),
        &["archive", "--table", &table, "--out", &out, "--start", "2025-12-01", "--max-attempts", "2"],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("cannot write") && err.contains("AccessDenied"), "{err}");
    assert_eq!(rt.block_on(aws.get(&bucket, "out.csv")), b"previous output\n");
    drop(proxy);

    // The emulator stops after the first page of the scan (600 items of
    // about 4.7 KB are three 1 MB pages): the scan fails, nothing is written.
    let scratch = Scratch::new("midscan");
    let local_out = scratch.path("out.csv");
    std::fs::write(&local_out, b"previous output\n").unwrap();
    let stopper = moto.clone();
    let proxy = Proxy::start(
        port,
        Policy { after_scans: Some((1, Box::new(move || stopper.lock().unwrap().stop()))), ..Policy::default() },
    );
    let o = tally_via(
        &proxy.url(),
        &[
            "archive",
            "--table",
            &table,
            "--out",
            local_out.to_str().unwrap(),
            "--start",
            "2025-12-01",
            "--segments",
            "1",
            "--max-attempts",
            "2",
        ],
    );
    assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("scan of table") && err.contains("failed"), "{err}");
    // One page answered, then both attempts at the next one lost.
    assert_eq!(proxy.scans.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(read(&local_out), b"previous output\n");
}

/// bedrock-chat's own table (written by its backend code) with its
/// large-message bucket: `full` reads each large map from the bucket and
/// gives the fixture's rows byte for byte; without the bucket, and with v2,
/// what DynamoDB holds (the compat estimators never read the bucket).
#[test]
fn full_reads_large_messages_from_their_bucket() {
    let (moto, rt, aws) = emulator();
    let (table, large, out_bucket) = (name("bc-table"), name("bc-large"), name("bc-out"));
    let dir = fixture("bedrock_chat");
    let maps = files_under(&dir.join("large_messages"));
    assert!(!maps.is_empty());
    rt.block_on(async {
        aws.create_table(&table).await;
        aws.create_bucket(&large).await;
        aws.create_bucket(&out_bucket).await;
        aws.load_table(&table, &read(&dir.join("conversation_table.jsonl"))).await;
        for (key, bytes) in &maps {
            aws.put(&large, key, bytes.clone()).await;
        }
    });
    let run = |estimator: &str, bucket: Option<&str>, key: &str| {
        let out = format!("s3://{out_bucket}/{key}");
        let mut args =
            vec!["archive", "--table", &table, "--out", &out, "--start", "2025-12-01", "--end", "2026-12-01"];
        args.extend_from_slice(&["--source", "new_table", "--estimator", estimator, "--json"]);
        if let Some(b) = bucket {
            args.extend_from_slice(&["--large-message-bucket", b]);
        }
        let report = ok(&tally_aws(&moto, &args));
        (report, rt.block_on(aws.get(&out_bucket, key)))
    };
    let expect = |name: &str, (report, csv): (String, Vec<u8>)| {
        assert!(csv == read(&dir.join(format!("{name}.csv"))), "{name}.csv differs");
        assert_stats(&report, &dir.join(format!("{name}.stats.json")));
    };
    expect("expected_full_large_messages", run("full", Some(&large), "full-large.csv"));
    expect("expected_full", run("full", None, "full.csv"));
    expect("expected_v2", run("v2", None, "v2.csv"));
    expect("expected_v2", run("v2", Some(&large), "v2-large.csv"));
    // The detail rows from the table and the bucket, written to S3: the
    // same bytes as from the dump and a local copy of the bucket.
    let detail = format!("s3://{out_bucket}/detail.csv");
    let args = ["archive", "--table", &table, "--out", "x", "--start", "2025-12-01", "--end", "2026-12-01"];
    let out = format!("s3://{out_bucket}/with-detail.csv");
    let mut args = args.to_vec();
    args[4] = &out;
    args.extend_from_slice(&["--source", "new_table", "--estimator", "v2", "--large-message-bucket", &large]);
    args.extend_from_slice(&["--detail", &detail, "--json"]);
    let report: serde_json::Value = serde_json::from_str(&ok(&tally_aws(&moto, &args))).unwrap();
    assert_eq!(report["detail"]["stats"]["conversations"], 120);
    assert_eq!(report["detail"]["stats"]["broken_paths"], 0);
    let from_s3 = rt.block_on(aws.get(&out_bucket, "detail.csv"));
    let scratch = Scratch::new("detail-local");
    let local = scratch.path("detail.csv");
    let dump = dir.join("conversation_table.jsonl");
    let folder = dir.join("large_messages");
    tally_ok(&[
        "archive",
        "--dump",
        dump.to_str().unwrap(),
        "--out",
        scratch.path("seed.csv").to_str().unwrap(),
        "--start",
        "2025-12-01",
        "--end",
        "2026-12-01",
        "--source",
        "new_table",
        "--estimator",
        "v2",
        "--large-message-bucket",
        folder.to_str().unwrap(),
        "--detail",
        local.to_str().unwrap(),
    ]);
    assert!(from_s3 == read(&local), "the detail from the table and the bucket differs from the dump's");
    // A map missing from the bucket: what DynamoDB holds, with a warning.
    let (gone, _) = &maps[0];
    rt.block_on(aws.delete(&large, gone));
    let out = format!("s3://{out_bucket}/missing.csv");
    let args = ["archive", "--table", &table, "--out", &out, "--start", "2025-12-01", "--end", "2026-12-01"];
    let o = tally_aws(
        &moto,
        &[&args[..], &["--source", "new_table", "--estimator", "full", "--large-message-bucket", &large]].concat(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("not found") && err.contains("counting what DynamoDB holds"), "{err}");
}

#[test]
fn a_large_output_is_uploaded_in_parts_encrypted_and_equal_to_the_local_file() {
    let (moto, rt, aws) = emulator();
    let (table, bucket) = (name("multipart-t"), name("multipart-out"));
    // A history of 120,000 rows makes a consolidated CSV above the 16 MB
    // single-request limit, so the output goes up as a multipart upload.
    let mut history = String::from(
        "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n",
    );
    for i in 0..120_000u64 {
        let (m, d, h) = (1 + i % 11, 1 + i % 28, i % 24);
        history += &format!(
            "2025-{m:02}-{d:02} {h:02}:00:00,{i},{o},0.000000,0.000000,0.000000,user-{i:06}@example.com,user-{i:06}@example.com#CONV#{i:020},old_table\n",
            o = i / 2
        );
    }
    let dir = Scratch::new("multipart");
    let local_history = dir.path("history.csv");
    std::fs::write(&local_history, &history).unwrap();
    rt.block_on(async {
        aws.table_from(&table, &fixture("new_table.jsonl")).await;
        aws.create_bucket(&bucket).await;
        aws.put(&bucket, "history.csv", history.into_bytes()).await;
    });
    let local_out = dir.path("consolidated.csv");
    let common = ["consolidate", "--table", &table, "--start", "2025-12-01", "--json"];
    let mut to_s3 = common.to_vec();
    let (hist_url, out_url) = (format!("s3://{bucket}/history.csv"), format!("s3://{bucket}/out/consolidated.csv"));
    to_s3.extend_from_slice(&["--historical", &hist_url, "--out", &out_url, "--sse", "AES256"]);
    // Through a proxy that counts the parts S3 receives.
    let counting = Proxy::start(moto.port, Policy::default());
    ok(&tally_via(&counting.url(), &to_s3));
    let parts = counting.upload_parts.load(std::sync::atomic::Ordering::SeqCst);
    drop(counting);
    let mut to_file = common.to_vec();
    to_file.extend_from_slice(&["--historical", local_history.to_str().unwrap(), "--out", local_out.to_str().unwrap()]);
    ok(&tally_aws(&moto, &to_file));
    let written = rt.block_on(aws.get(&bucket, "out/consolidated.csv"));
    assert!(written.len() > 16 * 1024 * 1024, "{} bytes: not a multipart-sized output", written.len());
    assert_eq!(parts as usize, written.len().div_ceil(16 * 1024 * 1024), "UploadPart requests");
    assert!(written == std::fs::read(&local_out).unwrap(), "the S3 object differs from the local file");
    assert_eq!(rt.block_on(aws.encryption(&bucket, "out/consolidated.csv")).as_deref(), Some("AES256"));
    assert_eq!(rt.block_on(aws.content_type(&bucket, "out/consolidated.csv")).as_deref(), Some("text/csv"));
    assert_eq!(rt.block_on(aws.open_uploads(&bucket)), 0);

    // Parts refused: the run fails, the old object stays, and no unfinished
    // multipart upload is left behind (it would be billed until aborted).
    let proxy = Proxy::start(moto.port, Policy { refuse_puts: true, ..Policy::default() });
    let mut refused = common.to_vec();
    refused.extend_from_slice(&["--historical", &hist_url, "--out", &out_url, "--max-attempts", "2"]);
    let o = tally_via(&proxy.url(), &refused);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(rt.block_on(aws.get(&bucket, "out/consolidated.csv")) == written, "the old object changed");
    assert_eq!(rt.block_on(aws.open_uploads(&bucket)), 0, "an unfinished multipart upload was left");
}

#[test]
fn an_s3_output_that_is_an_input_is_refused() {
    let (moto, rt, aws) = emulator();
    let bucket = name("same-key");
    let history = read(&fixture("expected_archive_v1.csv"));
    let dump = read(&fixture("new_table.jsonl"));
    rt.block_on(async {
        aws.create_bucket(&bucket).await;
        aws.put(&bucket, "h.csv", history.clone()).await;
        aws.put(&bucket, "export/data/part.jsonl", dump.clone()).await;
    });
    let h = format!("s3://{bucket}/h.csv");
    let (export, inside) = (format!("s3://{bucket}/export/"), format!("s3://{bucket}/export/data/out.jsonl"));
    for (dump_arg, out) in [(export.as_str(), h.as_str()), (export.as_str(), inside.as_str())] {
        let args = ["consolidate", "--dump", dump_arg, "--historical", &h, "--out", out, "--start", "2025-12-01"];
        let o = tally_aws(&moto, &args);
        assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("is also the input of"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(rt.block_on(aws.get(&bucket, "h.csv")) == history);
    assert!(rt.block_on(aws.get(&bucket, "export/data/part.jsonl")) == dump);
}

/// A running `tally lambda` against a local Runtime API and the emulator.
struct Function {
    child: std::process::Child,
    api: support::runtime_api::RuntimeApi,
}

impl Function {
    fn start(moto: &Moto, job: &str, vars: &[(&str, &str)]) -> Function {
        let api = support::runtime_api::RuntimeApi::start();
        let mut cmd = tally_command();
        cmd.arg("lambda")
            .env("TALLY_JOB", job)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("cat-test-tokens-{job}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .envs(vars.iter().copied())
            .stderr(std::process::Stdio::piped());
        for (k, v) in aws_env(&moto.url()) {
            cmd.env(k, v);
        }
        Function { child: cmd.spawn().unwrap(), api }
    }

    /// Sends an event and waits for the function's answer.
    fn invoke(&self, event: serde_json::Value) -> support::runtime_api::Outcome {
        let id = self.api.invoke(&event);
        self.api.outcome(&id, std::time::Duration::from_secs(120))
    }

    /// Stops the function; its log lines.
    fn stop(self) -> Vec<serde_json::Value> {
        send_signal(self.child.id(), "TERM");
        let out = self.child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stderr).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

/// The seeds' two Lambdas as `tally lambda`, through the Runtime API protocol:
/// the archival `{}`, the daily job on a scheduled event (its Athena view
/// refreshed), a dry run, and a failing run (missing history) answering 500
/// with the previous output untouched.
#[test]
fn the_lambda_runs_both_jobs_through_the_runtime_api() {
    use support::runtime_api::Outcome;
    let (moto, rt, aws) = emulator();
    let (old, new, bucket) = (name("lambda-old"), name("lambda-new"), name("lambda-reports"));
    rt.block_on(aws.seed_stack(&old, &new, &bucket, "wg-lambda"));
    let common = [("S3_BUCKET_NAME", bucket.as_str()), ("S3_OLD_DATA_PREFIX", "archives/tokens-analysis/")];

    let archival = Function::start(
        &moto,
        "archive",
        &[
            &common[..],
            &[
                ("OLD_DYNAMODB_TABLE_NAME", &old),
                ("FILTER_DATE_START", "2024-01-01"),
                ("FILTER_DATE_END", "2025-12-31"),
            ],
        ]
        .concat(),
    );
    let Outcome::Response(answer) = archival.invoke(serde_json::json!({})) else { panic!("the archival failed") };
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let history_key = "archives/tokens-analysis/tokens_analysis_old_table.csv";
    assert_eq!(answer["body"]["s3_file"], format!("s3://{bucket}/{history_key}"));
    let want: serde_json::Value = serde_json::from_slice(&read(&fixture("expected_archive_v1.stats.json"))).unwrap();
    assert_eq!(answer["body"]["statistics"], want);
    assert_eq!(rt.block_on(aws.get(&bucket, history_key)), read(&fixture("expected_archive_v1.csv")));
    let logs = archival.stop();
    let events: Vec<&str> = logs.iter().filter_map(|l| l["event"].as_str()).collect();
    for e in ["init", "start", "read", "written", "done"] {
        assert!(events.contains(&e), "no {e:?} log line in {events:?}");
    }

    let daily_vars = [
        &common[..],
        &[
            ("DYNAMODB_TABLE_NAME", new.as_str()),
            ("S3_OUTPUT_PREFIX", "tokens-analysis/"),
            ("FILTER_DATE_START", "2025-12-01"),
            ("ATHENA_DATABASE", "cat_test_analytics_db"),
            ("ATHENA_WORKGROUP", "wg-lambda"),
        ],
    ]
    .concat();
    let daily = Function::start(&moto, "consolidate", &daily_vars);
    let scheduled = serde_json::json!({
        "version": "0", "id": "e1", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2026-12-02T04:30:00Z", "region": "us-east-1", "resources": [], "detail": {}
    });
    let out_key = "tokens-analysis/tokens_analysis_consolidated.csv";
    let mut answer = serde_json::Value::Null;
    assert_stats_ending_today(
        || {
            let Outcome::Response(a) = daily.invoke(scheduled.clone()) else { panic!("the daily run failed") };
            answer = a;
            serde_json::json!({ "stats": answer["body"]["statistics"] }).to_string()
        },
        &fixture("expected_consolidated.stats.json"),
    );
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"]["athena"]["state"], "SUCCEEDED", "{answer}");
    // The table first (a new account has none), over the output's folder, then the view.
    let query = |id: &serde_json::Value| {
        let id = id.as_str().unwrap().to_string();
        rt.block_on(async {
            let q = aws.athena.get_query_execution().query_execution_id(id).send().await.unwrap();
            q.query_execution().and_then(|e| e.query()).unwrap_or_default().to_string()
        })
    };
    let ddl = query(&answer["body"]["athena"]["table_query_execution_id"]);
    assert!(
        ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS `cat_test_analytics_db`.`tokens_table_consolidated`"),
        "{ddl}"
    );
    assert!(ddl.contains(&format!("LOCATION 's3://{bucket}/tokens-analysis/'")), "{ddl}");
    assert!(query(&answer["body"]["athena"]["query_execution_id"])
        .starts_with("CREATE OR REPLACE VIEW token_usage_analysis AS"));
    assert_eq!(rt.block_on(aws.get(&bucket, out_key)), read(&fixture("expected_consolidated.csv")));

    // A dry run checks everything and writes nothing.
    rt.block_on(aws.delete(&bucket, out_key));
    let Outcome::Response(dry) = daily.invoke(serde_json::json!({ "dry_run": true })) else { panic!("dry run") };
    assert_eq!(
        (dry["statusCode"].as_u64(), dry["body"]["message"].as_str()),
        (Some(200), Some("dry run: nothing was written"))
    );
    assert!(rt.block_on(aws.get_optional(&bucket, out_key)).is_none(), "a dry run wrote the output");
    daily.stop();

    // As deploy/ ships it: tally.toml beside the binary, TALLY_ENV naming the
    // environment, which adds what the variables do not say (here the detail rows).
    let root = Scratch::new("lambda-task-root");
    let detail_key = "tokens-detail/tokens_detail.csv";
    let toml = format!("[env.lambda]\ndetail = \"s3://{bucket}/{detail_key}\"\nsse = \"AES256\"\n");
    std::fs::write(root.path("tally.toml"), toml).unwrap();
    let task_root = root.0.to_str().unwrap();
    let vars = [&daily_vars[..], &[("TALLY_ENV", "lambda"), ("LAMBDA_TASK_ROOT", task_root)]].concat();
    let deployed = Function::start(&moto, "consolidate", &vars);
    let Outcome::Response(answer) = deployed.invoke(serde_json::json!({})) else { panic!("the deployed run failed") };
    assert_eq!(answer["body"]["detail"]["output"], format!("s3://{bucket}/{detail_key}"), "{answer}");
    let detail = rt.block_on(aws.get(&bucket, detail_key));
    assert!(
        detail.starts_with(b"create_date,input_token,"),
        "{}",
        String::from_utf8_lossy(&detail[..detail.len().min(200)])
    );
    assert_eq!(rt.block_on(aws.get(&bucket, out_key)), read(&fixture("expected_consolidated.csv")));
    deployed.stop();

    // No history where the daily job looks: 500, and the previous output is untouched.
    rt.block_on(aws.put(&bucket, out_key, b"previous\n".to_vec()));
    let vars = [&daily_vars[..], &[("S3_OLD_DATA_PREFIX", "nowhere/")]].concat();
    let failing = Function::start(&moto, "consolidate", &vars);
    let Outcome::Response(answer) = failing.invoke(serde_json::json!({})) else { panic!("a manual run answers") };
    assert_eq!(answer["statusCode"], 500, "{answer}");
    let chain = answer["body"]["error"].as_array().unwrap();
    assert!(chain.iter().any(|e| e.as_str().unwrap().contains("does not exist")), "{answer}");
    assert_eq!(rt.block_on(aws.get(&bucket, out_key)), b"previous\n");
    // The same failure on a scheduled event is a function error (retries, dead-letter queue).
    let Outcome::Error(error) = failing.invoke(scheduled) else { panic!("a scheduled failure is an error") };
    assert!(error.to_string().contains("does not exist"), "{error}");
    let logs = failing.stop();
    assert!(logs.iter().any(|l| l["event"] == "failed"));
    assert!(!logs.iter().any(|l| l.to_string().contains("testing")), "a credential reached the logs");
}

#[test]
fn the_lambda_runs_the_users_report_with_the_seeds_etl1_variables() {
    use support::runtime_api::Outcome;
    let (moto, rt, aws) = emulator();
    let (table, bucket) = (name("lambda-users-table"), name("lambda-users-reports"));
    rt.block_on(async {
        aws.table_from(&table, &fixture("bedrock_chat/conversation_table.jsonl")).await;
        aws.create_bucket(&bucket).await;
    });
    let pool = rt.block_on(aws.create_user_pool("lambda-users"));
    // The seed's ETL-1 Lambda variables (its Stack 1), and bedrock-chat's pool.
    let vars = [
        ("DYNAMODB_TABLE_NAME", table.as_str()),
        ("S3_BUCKET_NAME", bucket.as_str()),
        ("OUTPUT_PREFIX", "reports/etl-process1/"),
        ("USER_POOL_ID", pool.as_str()),
    ];
    let function = Function::start(&moto, "users", &vars);
    let Outcome::Response(answer) = function.invoke(serde_json::json!({ "end": "2026-12-01" })) else {
        panic!("the users report failed")
    };
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["body"]["message"], "users report completed");
    assert_eq!(answer["body"]["users"]["conversations"], 120, "{answer}");
    let key = format!("reports/etl-process1/data_{}.csv", today_utc().replace('-', ""));
    assert_eq!(answer["body"]["s3_file"], format!("s3://{bucket}/{key}"));
    let csv = rt.block_on(aws.get(&bucket, &key));
    assert!(
        csv.starts_with(b"usuario_id,nombre,email,fecha_primera_conversacion,"),
        "{}",
        String::from_utf8_lossy(&csv[..80])
    );
    let logs = function.stop();
    assert!(logs.iter().any(|l| l["event"] == "written"), "{logs:?}");
}
