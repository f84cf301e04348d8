//! Helpers for the end-to-end tests: fixtures in place, scratch folders,
//! and the `tally` binary run as a real process.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/fixtures` beside the project root (or `$TALLY_FIXTURES`).
pub fn fixtures() -> PathBuf {
    std::env::var_os("TALLY_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// A fresh scratch folder under target/, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e").join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The Lambdas' variables, which `tally` reads in every mode.
pub const SEED_VARS: [&str; 17] = [
    "S3_SSE",
    "OUTPUT_PREFIX",
    "USER_POOL_ID",
    "LARGE_MESSAGE_BUCKET",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "TALLY_ENV",
    "TALLY_CONFIG",
    "DYNAMODB_TABLE_NAME",
    "OLD_DYNAMODB_TABLE_NAME",
    "S3_BUCKET_NAME",
    "S3_OUTPUT_PREFIX",
    "S3_OLD_DATA_PREFIX",
    "FILTER_DATE_START",
    "FILTER_DATE_END",
    "ATHENA_DATABASE",
    "ATHENA_WORKGROUP",
    "ATHENA_VIEW_NAME",
];

/// `tally`, with none of the Lambdas' variables of the caller's shell.
pub fn tally_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally"));
    for var in SEED_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `tally` with `args`.
pub fn tally(args: &[&str]) -> Output {
    tally_command().args(args).output().unwrap()
}

/// Runs `tally` and insists it succeeded; returns its stdout.
pub fn tally_ok(args: &[&str]) -> String {
    let out = tally(args);
    assert!(out.status.success(), "tally {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts two files are byte-identical, naming the first differing line.
pub fn assert_same_file(got: &Path, want: &Path) {
    let (g, w) = (read(got), read(want));
    if g != w {
        let (g, w) = (String::from_utf8_lossy(&g), String::from_utf8_lossy(&w));
        for (n, (a, b)) in g.lines().zip(w.lines()).enumerate() {
            assert_eq!(a, b, "{} vs {}: line {}", got.display(), want.display(), n + 1);
        }
        panic!("{} and {} differ (length or line ends)", got.display(), want.display());
    }
}

/// The `stats` of a `--json` report, compared with a `.stats.json` fixture.
pub fn assert_stats(json_report: &str, want_path: &Path) {
    let report: serde_json::Value = serde_json::from_str(json_report).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&read(want_path)).unwrap();
    assert_eq!(report["stats"], want, "statistics differ from {}", want_path.display());
}

/// Today's UTC day, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    tally_core::dates::Day(secs.div_euclid(86_400)).to_string()
}

/// Runs `run` and checks the v2 report it returns: its statistics are the
/// fixture's except `end`, which is the day of the run (UTC): the end date
/// the runner passes to v2 when none is given (spec section 2).
pub fn assert_stats_ending_today(run: impl FnOnce() -> String, want_path: &Path) {
    let before = today_utc();
    let report: serde_json::Value = serde_json::from_str(&run()).unwrap();
    let after = today_utc();
    let mut stats = report["stats"].clone();
    let end = stats["end"].as_str().unwrap_or_default().to_string();
    assert!(end == before || end == after, "v2 ended on {end:?}, not today ({before})");
    let want: serde_json::Value = serde_json::from_slice(&read(want_path)).unwrap();
    stats["end"] = want["end"].clone();
    assert_eq!(stats, want, "statistics differ from {} (besides the end date)", want_path.display());
}

/// Sends `signal` (`INT`, `TERM`) to a process, with the shell's own `kill`
/// (no procps needed).
pub fn send_signal(pid: u32, signal: &str) {
    let sent = Command::new("sh").arg("-c").arg(format!("kill -{signal} {pid}")).status().unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

pub mod moto;
pub mod proxy;
pub mod runtime_api;

/// Every file under `root`: (its path relative to `root`, with `/`, and its bytes), sorted.
pub fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, read(&path)));
            }
        }
    }
    out.sort();
    out
}

/// A tool `scripts/setup.sh` installs under `$TALLY_TOOLS` (default `~/.cache/tally`).
pub fn tool(rel: &str) -> PathBuf {
    let tools = std::env::var_os("TALLY_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/tally"));
    tools.join(rel)
}
