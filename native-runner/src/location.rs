//! Where data is read from and written to: local paths for now (S3 URLs
//! come with the AWS runner).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::read::MultiGzDecoder;

/// A dump to read: one file, or a folder of export parts.
#[derive(Debug, Clone)]
pub struct DumpSource {
    files: Vec<PathBuf>,
    shown: String,
}

impl DumpSource {
    /// A `.jsonl`, `.json`, `.gz` file, or a folder (an Export-to-S3 `data/`
    /// folder or any folder of such files, read in name order).
    pub fn local(path: &Path) -> Result<DumpSource> {
        let meta =
            fs::metadata(path).with_context(|| format!("cannot read dump {}", path.display()))?;
        let files = if meta.is_dir() {
            let mut files = Vec::new();
            collect_parts(path, &mut files)?;
            files.sort();
            if files.is_empty() {
                bail!(
                    "no dump files (*.json, *.jsonl, *.gz) in {}",
                    path.display()
                );
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        Ok(DumpSource {
            files,
            shown: path.display().to_string(),
        })
    }

    /// The files, each opened as a buffered, decompressed reader.
    pub fn readers(&self) -> impl Iterator<Item = Result<(String, Box<dyn BufRead + Send>)>> + '_ {
        self.files.iter().map(|p| {
            let file = fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            let is_gz = p.extension().is_some_and(|e| e == "gz");
            let reader: Box<dyn BufRead + Send> = if is_gz {
                Box::new(BufReader::with_capacity(
                    1 << 20,
                    MultiGzDecoder::new(BufReader::new(file)),
                ))
            } else {
                Box::new(BufReader::with_capacity(1 << 20, file))
            };
            Ok((p.display().to_string(), reader))
        })
    }

    /// How to name it in messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

fn collect_parts(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_parts(&path, out)?;
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // An export's manifests describe the parts; they are not items.
            let is_part = !name.starts_with("manifest-") && !name.starts_with(['_', '.']);
            if is_part
                && [".json", ".jsonl", ".json.gz", ".jsonl.gz"]
                    .iter()
                    .any(|s| name.ends_with(s))
            {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// Reads a whole local file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::File::open(path) {
        Ok(mut f) => {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}

/// Writes `bytes` to `path` all or nothing: a temporary file beside it,
/// flushed and synced, then renamed over the old one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f =
            fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("cannot sync {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
