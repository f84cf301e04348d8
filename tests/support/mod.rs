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

/// Runs `tally` with `args`.
pub fn tally(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tally")).args(args).output().unwrap()
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

pub mod moto;
pub mod proxy;
