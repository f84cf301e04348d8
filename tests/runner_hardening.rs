//! Regression tests of the hardening issue: each failure a careless operator
//! or a hostile input caused, named after it. Each asserts the exit status,
//! the message, and that the previous output is byte-identical.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

const PREVIOUS: &[u8] = b"previous output\n";

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Asserts a run failed (exit 1, not a crash) with `message`, and left `kept` as it was.
fn assert_refused(o: &Output, message: &str, kept: &[(&Path, &[u8])]) {
    assert_eq!(o.status.code(), Some(1), "exit status: {}", text(o));
    assert!(text(o).contains(message), "expected {message:?} in:\n{}", text(o));
    for (path, bytes) in kept {
        assert_eq!(&read(path), bytes, "{} changed", path.display());
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn archive(dump: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["archive", "--dump", s(dump), "--out", s(out), "--start", "2024-01-01", "--end", "2025-12-31"];
    args.extend_from_slice(extra);
    tally(&args)
}

fn consolidate(dump: &Path, history: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args =
        vec!["consolidate", "--dump", s(dump), "--historical", s(history), "--out", s(out), "--start", "2025-12-01"];
    args.extend_from_slice(extra);
    tally(&args)
}

/// A scratch folder with a previous output in it.
fn with_previous(name: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(name);
    let out = scratch.path("out.csv");
    std::fs::write(&out, PREVIOUS).unwrap();
    (scratch, out)
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

// 1. An output that is also an input.

#[test]
fn an_output_that_is_the_dump_is_refused_under_any_name() {
    let sc = Scratch::new("out-is-dump");
    let dump = sc.path("x.jsonl");
    std::fs::copy(fixture("old_table.jsonl"), &dump).unwrap();
    let original = read(&dump);
    std::os::unix::fs::symlink(&dump, sc.path("alias.jsonl")).unwrap();
    std::fs::hard_link(&dump, sc.path("hard.jsonl")).unwrap();
    for out in ["x.jsonl", "alias.jsonl", "hard.jsonl", "./sub/../x.jsonl"] {
        std::fs::create_dir_all(sc.path("sub")).unwrap();
        let o = archive(&dump, &sc.path(out), &[]);
        assert_refused(&o, "is also the input of --dump", &[(&dump, &original)]);
    }
    // Nor inside a dump folder, where the next run would read it.
    let folder = sc.path("export");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(fixture("old_table.jsonl"), folder.join("part.jsonl")).unwrap();
    let o = archive(&folder, &folder.join("out.jsonl"), &[]);
    assert_refused(&o, "is also the input of --dump", &[]);
    assert!(!folder.join("out.jsonl").exists());
}

#[test]
fn an_output_that_is_the_history_is_refused() {
    let sc = Scratch::new("out-is-history");
    let history = sc.path("h.csv");
    std::fs::copy(fixture("python_written/damaged_rows.csv"), &history).unwrap();
    let original = read(&history);
    let o = consolidate(&fixture("new_table.jsonl"), &history, &history, &["--max-errors", "100%"]);
    assert_refused(&o, "is also the input of --historical", &[(&history, &original)]);
}

// 2. The temporary output file.

#[test]
fn the_replaced_output_keeps_its_mode_and_no_temporary_is_left() {
    let (sc, out) = with_previous("mode");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = archive(&fixture("old_table.jsonl"), &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(read(&out), read(&fixture("expected_archive_v1.csv")));
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(temporaries(&sc.0), Vec::<String>::new());
}

#[test]
fn a_failed_write_leaves_no_temporary_and_the_old_output() {
    // The output is a folder with a file in it: the final rename fails, for
    // root too, after the temporary was written.
    let sc = Scratch::new("failed-write");
    let out = sc.path("out.csv");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep"), PREVIOUS).unwrap();
    let o = archive(&fixture("old_table.jsonl"), &out, &[]);
    assert_refused(&o, "cannot move", &[(&out.join("keep"), PREVIOUS)]);
    assert_eq!(temporaries(&sc.0), Vec::<String>::new());
}

// 3. An export folder read twice over.

fn export_folder(root: &Path) -> PathBuf {
    let data = root.join("AWSDynamoDB/01700000000000-abcdef12/data");
    std::fs::create_dir_all(&data).unwrap();
    let jsonl = read(&fixture("old_table.jsonl"));
    let lines: Vec<&[u8]> = jsonl.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
    for (k, chunk) in lines.chunks(300).enumerate() {
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(data.join(format!("part-{k}.json.gz"))).unwrap(),
            flate2::Compression::fast(),
        );
        for line in chunk {
            enc.write_all(line).unwrap();
            enc.write_all(b"\n").unwrap();
        }
        enc.finish().unwrap();
    }
    data
}

#[test]
fn a_symlink_loop_inside_an_export_is_not_followed() {
    let sc = Scratch::new("export-loop");
    let data = export_folder(&sc.path("dump"));
    std::os::unix::fs::symlink("..", data.join("loop")).unwrap();
    let out = sc.path("out.csv");
    let report = archive(&sc.path("dump"), &out, &["--json"]);
    assert!(report.status.success(), "{}", text(&report));
    assert!(text(&report).contains("is a symlink: not followed"), "{}", text(&report));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
}

#[test]
fn a_stray_uncompressed_copy_in_an_export_is_ignored() {
    let sc = Scratch::new("export-stray");
    let data = export_folder(&sc.path("dump"));
    let mut plain = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(data.join("part-0.json.gz")).unwrap())
        .read_to_end_into(&mut plain);
    std::fs::write(data.join("part-0.json"), &plain).unwrap();
    let out = sc.path("out.csv");
    let o = archive(&sc.path("dump"), &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("part-0.json is not an export part"), "{}", text(&o));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
    // Outside an export, a part and its .gz twin are refused.
    let plain_dir = sc.path("plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    std::fs::copy(data.join("part-0.json"), plain_dir.join("a.json")).unwrap();
    std::fs::copy(data.join("part-0.json.gz"), plain_dir.join("a.json.gz")).unwrap();
    std::fs::write(&out, PREVIOUS).unwrap();
    assert_refused(&archive(&plain_dir, &out, &[]), "two copies of one part", &[(&out, PREVIOUS)]);
}

#[test]
fn an_export_manifest_decides_the_parts() {
    let sc = Scratch::new("export-manifest");
    let data = export_folder(&sc.path("dump"));
    let export = data.parent().unwrap();
    let keys: String = (0..2)
        .map(|k| format!("{{\"itemCount\":300,\"dataFileS3Key\":\"AWSDynamoDB/01700000000000-abcdef12/data/part-{k}.json.gz\"}}\n"))
        .collect();
    std::fs::write(export.join("manifest-files.json"), keys).unwrap();
    // A part the manifest does not list is not read (every item would count twice).
    std::fs::copy(data.join("part-0.json.gz"), data.join("part-0-copy.json.gz")).unwrap();
    let out = sc.path("out.csv");
    let o = archive(&data, &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("not in the export's manifest"), "{}", text(&o));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
    std::fs::remove_file(data.join("part-1.json.gz")).unwrap();
    std::fs::write(&out, PREVIOUS).unwrap();
    assert_refused(&archive(&data, &out, &[]), "the export is incomplete", &[(&out, PREVIOUS)]);
}

#[test]
fn an_export_still_running_is_refused() {
    let (sc, out) = with_previous("export-running");
    let data = export_folder(&sc.path("dump"));
    let export = data.parent().unwrap();
    std::fs::write(export.join("_started"), b"").unwrap();
    assert_refused(&archive(&sc.path("dump"), &out, &[]), "an export that has not finished", &[(&out, PREVIOUS)]);
    // Finished: its manifest is there, and it reads.
    let keys: String = (0..2)
        .map(|k| format!("{{\"dataFileS3Key\":\"AWSDynamoDB/01700000000000-abcdef12/data/part-{k}.json.gz\"}}\n"))
        .collect();
    std::fs::write(export.join("manifest-files.json"), keys).unwrap();
    let o = archive(&sc.path("dump"), &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_same_file(&out, &fixture("expected_archive_v1.csv"));
}

#[test]
fn a_dump_read_twice_is_refused_for_its_repeated_keys() {
    let (sc, out) = with_previous("repeated");
    let dump = sc.path("twice.jsonl");
    let mut twice = read(&fixture("old_table.jsonl"));
    twice.extend(read(&fixture("old_table.jsonl")));
    std::fs::write(&dump, twice).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&read(&fixture("expected_archive_v1.stats.json"))).unwrap();
    let o = archive(&dump, &out, &[]);
    let rows = want["total_records"].as_u64().unwrap();
    assert_refused(&o, &format!("{rows} rows repeat a (pk, sk) of the same input"), &[(&out, PREVIOUS)]);
    // Asked for, it publishes, and says so.
    let o = archive(&dump, &out, &["--max-repeated-keys", "100%", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["stats"]["repeated_keys"], rows);
}

// 4. Useless input publishes.

#[test]
fn an_empty_dump_publishes_nothing() {
    let (sc, out) = with_previous("empty");
    let dump = sc.path("empty.jsonl");
    std::fs::write(&dump, b"").unwrap();
    assert_refused(&archive(&dump, &out, &[]), "the input holds no item", &[(&out, PREVIOUS)]);
    let o = archive(&dump, &out, &["--allow-empty"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("wrote 0 rows to"), "{}", text(&o));
    assert!(!text(&o).contains("()"), "{}", text(&o));
}

#[test]
fn a_csv_or_a_binary_file_given_as_dump_publishes_nothing() {
    let (sc, out) = with_previous("csv-as-dump");
    let binary = sc.path("binary.jsonl");
    std::fs::write(&binary, (0..=255u8).cycle().take(100_000).collect::<Vec<u8>>()).unwrap();
    for dump in [fixture("expected_archive_v1.csv"), binary] {
        assert_refused(
            &archive(&dump, &out, &[]),
            "could not be read (more than --max-errors 1%)",
            &[(&out, PREVIOUS)],
        );
    }
}

#[test]
fn a_useless_dump_does_not_replace_the_consolidated_file() {
    let (sc, out) = with_previous("useless-daily");
    let o = consolidate(&fixture("expected_archive_v1.csv"), &fixture("expected_archive_v1.csv"), &out, &[]);
    assert_refused(&o, "could not be read", &[(&out, PREVIOUS)]);
    let empty = sc.path("empty.jsonl");
    std::fs::write(&empty, b"\n\n").unwrap();
    let o = consolidate(&empty, &fixture("expected_archive_v1.csv"), &out, &[]);
    assert_refused(&o, "the input holds no item", &[(&out, PREVIOUS)]);
}

#[test]
fn a_history_without_readable_rows_publishes_nothing() {
    let (sc, out) = with_previous("bad-history");
    let history = sc.path("h.csv");
    let header =
        "create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n";
    std::fs::write(&history, format!("{header}x,1,1,0,0,0,a,b,old_table\ny,2,2,0,0,0,c,d,old_table\n")).unwrap();
    let o = consolidate(&fixture("new_table.jsonl"), &history, &out, &[]);
    assert_refused(&o, "has only unreadable rows", &[(&out, PREVIOUS)]);
    std::fs::write(&history, header).unwrap();
    let o = consolidate(&fixture("new_table.jsonl"), &history, &out, &[]);
    assert_refused(&o, "has no rows", &[(&out, PREVIOUS)]);
}

#[test]
fn the_daily_job_refuses_to_shrink_the_consolidated_file() {
    let sc = Scratch::new("shrink");
    let out = sc.path("consolidated.csv");
    std::fs::copy(fixture("expected_consolidated.csv"), &out).unwrap();
    let previous = read(&out);
    let rows = previous.iter().filter(|&&b| b == b'\n').count() - 1;
    // A dump holding only a tenth of the table.
    let jsonl = read(&fixture("new_table.jsonl"));
    let part: Vec<u8> = jsonl.split_inclusive(|&b| b == b'\n').take(60).flatten().copied().collect();
    let dump = sc.path("part.jsonl");
    std::fs::write(&dump, part).unwrap();
    let history = sc.path("h.csv");
    std::fs::write(&history, b"create_date,input_token,output_token,precio_token_input,precio_token_output,total_price,pk,sk,source\n2025-01-01 00:00:00,1,1,0.000003,0.000015,0.000018,p,s,old_table\n").unwrap();
    let o = consolidate(&dump, &history, &out, &[]);
    assert_refused(&o, &format!("where the previous one has {rows}"), &[(&out, &previous)]);
    let o = consolidate(&dump, &history, &out, &["--max-shrink", "100%"]);
    assert!(o.status.success(), "{}", text(&o));
}

// 5. Memory on hostile input.

/// Runs tally under a virtual-memory limit (KiB), as a shell's `ulimit -v`.
fn tally_limited(kib: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_tally"))
        .args(args)
        .output()
        .unwrap()
}

const LIMIT_KIB: u64 = 1 << 20; // 1 GiB of address space

#[test]
fn dev_zero_as_dump_history_or_whatif_fails_within_the_limits() {
    let (sc, out) = with_previous("dev-zero");
    let o = tally_limited(LIMIT_KIB, &["archive", "--dump", "/dev/zero", "--out", s(&out), "--start", "2024-01-01"]);
    assert_refused(&o, "longer than the limit of 64 MiB", &[(&out, PREVIOUS)]);
    let dump = fixture("new_table.jsonl");
    let args = ["consolidate", "--dump", s(&dump), "--historical", "/dev/zero"];
    let o = tally_limited(LIMIT_KIB, &[&args[..], &["--out", s(&out), "--start", "2025-12-01"]].concat());
    assert_refused(&o, "longer than the limit of 64 MiB", &[(&out, PREVIOUS)]);
    let o = tally_limited(LIMIT_KIB, &["whatif", "/dev/zero"]);
    assert_refused(&o, "longer than the limit of 64 MiB", &[]);
    drop(sc);
}

#[test]
fn a_gzip_bomb_and_a_1_gib_line_fail_within_the_limits() {
    let (sc, out) = with_previous("bomb");
    // 1 GiB of 'a' without a line end, as 1,024 gzip members of 1 MiB (about 1 MB on disk).
    let mut member = Vec::new();
    let mut enc = flate2::write::GzEncoder::new(&mut member, flate2::Compression::best());
    enc.write_all(&vec![b'a'; 1 << 20]).unwrap();
    enc.finish().unwrap();
    let bomb = sc.path("bomb.jsonl.gz");
    let mut f = std::fs::File::create(&bomb).unwrap();
    for _ in 0..1024 {
        f.write_all(&member).unwrap();
    }
    drop(f);
    let o = tally_limited(LIMIT_KIB, &["archive", "--dump", s(&bomb), "--out", s(&out), "--start", "2024-01-01"]);
    assert_refused(&o, "longer than the limit of 64 MiB", &[(&out, PREVIOUS)]);
    // A sparse 1 GiB file: one line of zero bytes.
    let line = sc.path("line.jsonl");
    std::fs::File::create(&line).unwrap().set_len(1 << 30).unwrap();
    let o = tally_limited(LIMIT_KIB, &["archive", "--dump", s(&line), "--out", s(&out), "--start", "2024-01-01"]);
    assert_refused(&o, "longer than the limit of 64 MiB", &[(&out, PREVIOUS)]);
    // The limit is the operator's to set.
    let o = tally_limited(
        LIMIT_KIB,
        &["archive", "--dump", s(&line), "--out", s(&out), "--start", "2024-01-01", "--max-record-size", "1M"],
    );
    assert_refused(&o, "longer than the limit of 1 MiB", &[(&out, PREVIOUS)]);
}

#[test]
fn huge_bad_values_are_quoted_short_and_the_error_list_says_it_is_truncated() {
    let (sc, out) = with_previous("bad-values");
    let dump = sc.path("bad.jsonl");
    let mut bytes = read(&fixture("old_table.jsonl"));
    let huge = "x".repeat(1 << 20);
    for _ in 0..3 {
        bytes.extend_from_slice(
            format!("{{\"Item\": {{\"PK\": {{\"S\": \"{huge}\"}}, \"SK\": {{\"N\": \"1\"}}}}}}\n").as_bytes(),
        );
    }
    for k in 0..1100 {
        bytes.extend_from_slice(format!("not json {k}\n").as_bytes());
    }
    std::fs::write(&dump, bytes).unwrap();
    let o = archive(&dump, &out, &["--json", "--max-errors", "100%"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(o.stdout.len() < 1 << 20, "the report is {} bytes", o.stdout.len());
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let stats = &report["stats"];
    assert_eq!(stats["errors"], 1103);
    assert_eq!(stats["dump_errors"].as_array().unwrap().len(), 1000);
    assert_eq!(stats["dump_errors_truncated"], 100);
    let at = stats["error_items"][0]["at"].as_str().unwrap();
    assert!(at.len() < 400 && at.contains('…'), "{at}");
}

// 6. Flags that panicked or aborted.

#[test]
fn out_of_range_flags_are_refused_at_parse_time() {
    for (args, message) in [
        (&["demo", "--items", "18446744073709551615"][..], "--items"),
        (&["archive", "--dump", "x", "--out", "y", "--start", "2025-01-01", "--threads", "100000"][..], "--threads"),
        (
            &["archive", "--table", "t", "--out", "y", "--start", "2025-01-01", "--segments", "1000000"][..],
            "--segments",
        ),
        (
            &["archive", "--dump", "x", "--out", "y", "--start", "2025-01-01", "--max-errors", "150%"][..],
            "--max-errors",
        ),
    ] {
        let o = tally(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(message) && !text(&o).contains("panicked"), "{args:?}: {}", text(&o));
    }
}

// 7. Signals leave debris.

#[test]
fn a_stop_signal_leaves_no_debris_and_the_old_output() {
    let (sc, out) = with_previous("signal");
    let fifo = sc.path("dump.jsonl");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for signal in ["INT", "TERM"] {
        let mut child = tally_command()
            .args(["archive", "--dump", s(&fifo), "--out", s(&out), "--start", "2024-01-01"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Feed some items, keep the pipe open: the run is mid-read.
        let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
        writer.write_all(&read(&fixture("old_table.jsonl"))[..100_000]).unwrap();
        std::thread::sleep(Duration::from_millis(500));
        send_signal(child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "tally did not stop on SIG{signal}");
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(writer);
        let o = child.wait_with_output().unwrap();
        assert_eq!(status.code(), Some(130), "SIG{signal}: {}", text(&o));
        assert!(text(&o).contains("stopped by a signal"), "{}", text(&o));
        assert_eq!(read(&out), PREVIOUS);
        assert_eq!(temporaries(&sc.0), Vec::<String>::new());
    }
}

// 10. The smaller ones.

#[test]
fn a_second_stop_of_the_schedule_abandons_the_run_and_exits_non_zero() {
    let (sc, out) = with_previous("schedule-stop");
    let config = sc.path("tally.toml");
    std::fs::write(
        &config,
        "[env.x]\nnew_table = \"t\"\nbucket = \"b\"\nschedule = { cron = \"cron(* * * * ? *)\", enabled = true }\n",
    )
    .unwrap();
    let fifo = sc.path("dump.jsonl");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let history = fixture("expected_archive_v1.csv");
    let mut child = tally_command()
        .args(["schedule", "--env", "x", "--config", s(&config), "--fake-now", "2026-12-02 04:29:59", "--"])
        .args(["--dump", s(&fifo), "--historical", s(&history), "--out", s(&out), "--start", "2025-12-01"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run starts, and reads a pipe that never ends.
    let mut writer = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    writer.write_all(&read(&fixture("new_table.jsonl"))[..50_000]).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..2 {
        send_signal(child.id(), "INT");
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the schedule did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(writer);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let log = text(&o);
    assert!(log.contains("finishing the current run first") && log.contains("the run is abandoned"), "{log}");
    assert_eq!(read(&out), PREVIOUS);
    assert_eq!(temporaries(&sc.0), Vec::<String>::new());
}

#[test]
fn a_cron_that_never_matches_is_refused() {
    let sc = Scratch::new("cron");
    let config = sc.path("tally.toml");
    std::fs::write(
        &config,
        "[env.x]\nnew_table = \"t\"\nbucket = \"b\"\nschedule = { cron = \"cron(0 0 30 2 ? *)\", enabled = true }\n",
    )
    .unwrap();
    let o = tally(&["schedule", "--env", "x", "--config", s(&config), "--dry-run", "3"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("never matches a real date"), "{}", text(&o));
}

#[test]
fn data_cannot_write_to_the_terminal() {
    let (sc, out) = with_previous("escapes");
    let dump = sc.path("dump.jsonl");
    let mut bytes = read(&fixture("old_table.jsonl"));
    bytes.extend_from_slice(b"{\"Item\": {\"PK\": {\"S\": \"\\u001b[2K\\rrun succeeded\"}, \"SK\": {\"N\": \"1\"}}}\n");
    std::fs::write(&dump, bytes).unwrap();
    let o = archive(&dump, &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let all = text(&o);
    assert!(!all.contains('\u{1b}') && all.contains("\\u{1b}[2K\\u{d}run succeeded"), "{all}");
}

#[test]
fn out_dash_writes_the_csv_to_standard_output() {
    let o = tally(&[
        "archive",
        "--dump",
        s(&fixture("old_table.jsonl")),
        "--out",
        "-",
        "--start",
        "2024-01-01",
        "--end",
        "2025-12-31",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(o.stdout, read(&fixture("expected_archive_v1.csv")));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"output\": \"standard output\""));
    assert!(!Path::new("-").exists());
}

// 11. Ergonomics.

#[test]
fn a_mistyped_subcommand_or_flag_gets_a_suggestion() {
    let o = tally(&["archiv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("similar subcommand") && text(&o).contains("archive"), "{}", text(&o));
    let o = tally(&["archive", "--dumpp", "x"]);
    assert!(text(&o).contains("--dump"), "{}", text(&o));
}

#[test]
fn env_without_a_configuration_file_names_the_file() {
    let sc = Scratch::new("no-config");
    let o = tally_command().args(["consolidate", "--env", "prod"]).current_dir(&sc.0).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("tally.toml does not exist"), "{}", text(&o));
}

#[test]
fn summaries_have_thousands_separators() {
    let (_sc, out) = with_previous("thousands");
    let o =
        consolidate(&fixture("new_table.jsonl"), &fixture("expected_archive_v1.csv"), &out, &["--max-shrink", "100%"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows = read(&fixture("expected_consolidated.csv")).iter().filter(|&&b| b == b'\n').count() - 1;
    let with_commas = format!("{},{:03}", rows / 1000, rows % 1000);
    assert!(text(&o).contains(&format!("wrote {with_commas} rows")), "{}", text(&o));
}

#[test]
fn the_demo_hints_name_the_binary_and_spare_the_demo_outputs() {
    let sc = Scratch::new("demo-hints");
    let o = tally(&["demo", "--dir", s(&sc.0), "--items", "40"]);
    assert!(o.status.success(), "{}", text(&o));
    let hints: Vec<&str> =
        std::str::from_utf8(&o.stdout).unwrap().lines().filter(|l| l.contains(" archive --dump")).collect();
    assert_eq!(hints.len(), 1, "{}", text(&o));
    assert!(hints[0].contains(env!("CARGO_BIN_EXE_tally").rsplit('/').next().unwrap()), "{}", hints[0]);
    assert!(!hints[0].contains(s(&sc.0)), "the hint would overwrite the demo's output: {}", hints[0]);
}

trait ReadToEndInto {
    fn read_to_end_into(self, buf: &mut Vec<u8>);
}

impl<R: std::io::Read> ReadToEndInto for R {
    fn read_to_end_into(mut self, buf: &mut Vec<u8>) {
        self.read_to_end(buf).unwrap();
    }
}
