//! Shared helpers for the fixture-driven tests: the fixtures are read in
//! place from `../shared/fixtures` beside the project root.
#![allow(clippy::disallowed_macros, clippy::disallowed_methods, dead_code, unreachable_pub)]

use std::path::PathBuf;

/// `../shared/fixtures`, or `$TALLY_FIXTURES` when set.
pub fn fixtures() -> PathBuf {
    if let Some(dir) = std::env::var_os("TALLY_FIXTURES") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

pub fn read(rel: &str) -> Vec<u8> {
    let path = fixtures().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn read_json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}
