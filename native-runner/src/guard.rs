//! An output must never be one of its own job's inputs: writing it would
//! destroy the input (`--dump x.jsonl --out x.jsonl`) or feed the next run
//! its own output. Checked before anything is read.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::location::Place;

/// The canonical form of a path that may not exist yet (nor its folders):
/// the real path of its nearest existing ancestor, with the rest of it
/// appended (`..` in the rest taken lexically).
fn canonical_or_planned(path: &Path) -> Option<PathBuf> {
    let path = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    let mut rest = Vec::new();
    let mut base = path.as_path();
    let real = loop {
        if let Ok(real) = fs::canonicalize(base) {
            break real;
        }
        // The last component (a `..` has no file name), then what is above it.
        rest.push(base.components().next_back()?.as_os_str().to_os_string());
        base = base.parent()?;
    };
    let mut out = real;
    for part in rest.iter().rev() {
        if part == ".." {
            out.pop();
        } else if part != "." {
            out.push(part);
        }
    }
    Some(out)
}

/// Whether writing `out` would overwrite or land inside `input`.
fn clashes(out: &Place, input: &Place) -> bool {
    match (out, input) {
        (Place::Local(out), Place::Local(input)) => {
            // The same file under any name (symlink, hard link, `./x`).
            if let (Ok(a), Ok(b)) = (fs::metadata(out), fs::metadata(input)) {
                if a.dev() == b.dev() && a.ino() == b.ino() {
                    return true;
                }
            }
            // A new file inside a dump folder would be read by the next run;
            // two outputs not written yet clash when they are the same path.
            match (canonical_or_planned(out), fs::canonicalize(input).ok().or_else(|| canonical_or_planned(input))) {
                (Some(out), Some(input)) => out == input || (input.is_dir() && out.starts_with(&input)),
                _ => false,
            }
        }
        (Place::S3(out), Place::S3(input)) => {
            let prefix = input.key.is_empty() || input.key.ends_with('/');
            out.bucket == input.bucket && (out.key == input.key || (prefix && out.key.starts_with(&input.key)))
        }
        _ => false,
    }
}

/// Refuses an output that is one of `inputs` (each with the flag that named it).
pub fn distinct(out: &Place, inputs: &[(&str, &Place)]) -> Result<()> {
    for (flag, input) in inputs {
        if clashes(out, input) {
            bail!(
                "the output {out} is also the input of {flag} ({input}): writing it would destroy that input; \
                 choose another --out"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_file_under_other_names_clashes() {
        let dir = std::env::temp_dir().join(format!("tally-guard-{}", std::process::id()));
        let data = dir.join("data");
        fs::create_dir_all(&data).expect("dir");
        let dump = dir.join("dump.jsonl");
        fs::write(&dump, b"{}\n").expect("dump");
        let link = dir.join("link.jsonl");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&dump, &link).expect("symlink");
        let hard = dir.join("hard.jsonl");
        let _ = fs::remove_file(&hard);
        fs::hard_link(&dump, &hard).expect("hard link");
        let local = |p: &Path| Place::Local(p.to_path_buf());
        for other in [&dump, &link, &hard, &dir.join("data/../dump.jsonl")] {
            assert!(clashes(&local(other), &local(&dump)), "{}", other.display());
        }
        assert!(clashes(&local(&data.join("new.csv")), &local(&data)));
        // Folders that do not exist yet inside the dump folder are inside it too.
        assert!(clashes(&local(&data.join("reports/deep/x.jsonl")), &local(&data)));
        assert!(!clashes(&local(&data.join("reports/../../elsewhere/x.csv")), &local(&data)));
        assert!(!clashes(&local(&dir.join("out.csv")), &local(&dump)));
        assert!(!clashes(&local(&dir.join("out.csv")), &local(&data)));
        // Two outputs not written yet: the same path under two spellings.
        assert!(clashes(&local(&dir.join("new/a.csv")), &local(&dir.join("new/../new/a.csv"))));
        assert!(!clashes(&local(&dir.join("new/a.csv")), &local(&dir.join("new/b.csv"))));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn s3_keys_and_prefixes_clash() {
        let p = |t: &str| Place::parse(t);
        assert!(clashes(&p("s3://b/x.csv"), &p("s3://b/x.csv")));
        assert!(clashes(&p("s3://b/exp/data/out.csv"), &p("s3://b/exp/")));
        assert!(!clashes(&p("s3://b/x.csv"), &p("s3://c/x.csv")));
        assert!(!clashes(&p("s3://b/out/x.csv"), &p("s3://b/exp/")));
        assert!(!clashes(&p("s3://b/x.csv"), &p("x.csv")));
        let err = distinct(&p("s3://b/h.csv"), &[("--historical", &p("s3://b/h.csv"))]).expect_err("same");
        assert!(err.to_string().contains("also the input of --historical"), "{err}");
    }
}
