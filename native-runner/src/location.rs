//! Where data is read from and written to: local paths and S3 objects, and
//! the parts of a dump (one file, or the data folder of an Export to S3).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use flate2::read::MultiGzDecoder;

use crate::s3::S3Url;

/// Where a CSV is read or written: a local path or an S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A local file.
    Local(PathBuf),
    /// `s3://bucket/key`.
    S3(S3Url),
}

impl Place {
    /// `s3://bucket/key` or a local path.
    pub fn parse(text: &str) -> Place {
        match S3Url::parse(text) {
            Some(url) => Place::S3(url),
            None => Place::Local(PathBuf::from(text)),
        }
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Local(p) => write!(f, "{}", p.display()),
            Place::S3(u) => write!(f, "{u}"),
        }
    }
}

/// One file of a dump.
#[derive(Debug, Clone)]
pub enum Part {
    /// A local file.
    Local(PathBuf),
    /// An S3 object, fetched with this client when its turn comes.
    S3(S3Url, aws_sdk_s3::Client, tokio::runtime::Handle),
}

impl Part {
    fn name(&self) -> String {
        match self {
            Part::Local(p) => p.display().to_string(),
            Part::S3(u, ..) => u.to_string(),
        }
    }

    fn is_gz(&self) -> bool {
        match self {
            Part::Local(p) => p.extension().is_some_and(|e| e == "gz"),
            Part::S3(u, ..) => u.key.ends_with(".gz"),
        }
    }

    /// Opens the part as a buffered, decompressed reader. An S3 object is
    /// streamed as it downloads: a 10 GB dump never has to fit in memory.
    /// (Called from the reader thread, outside the async runtime.)
    fn open(&self) -> Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Part::Local(p) => Box::new(fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?),
            Part::S3(url, client, handle) => {
                let body = handle
                    .block_on(crate::s3::open(client, url))?
                    .ok_or_else(|| anyhow::anyhow!("{url} does not exist"))?;
                Box::new(S3Reader { body, handle: handle.clone(), url: url.clone(), chunk: bytes::Bytes::new() })
            }
        };
        Ok(if self.is_gz() {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(BufReader::new(raw))))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, raw))
        })
    }
}

/// An S3 object's body as a blocking reader, one downloaded chunk at a time.
struct S3Reader {
    body: aws_sdk_s3::primitives::ByteStream,
    handle: tokio::runtime::Handle,
    url: S3Url,
    chunk: bytes::Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(crate::s3::next_chunk(&mut self.body, &self.url)) {
                Ok(Some(chunk)) => self.chunk = chunk,
                Ok(None) => return Ok(0),
                Err(e) => return Err(std::io::Error::other(format!("{e:#}"))),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// The export id of an Export-to-S3 part (`.../AWSDynamoDB/<id>/data/...`).
fn export_id(path: &str) -> Option<&str> {
    let mut parts = path.split('/');
    parts.by_ref().find(|p| *p == "AWSDynamoDB")?;
    parts.next()
}

/// Refuses parts from more than one Export to S3: reading two exports of the
/// same table would count every conversation twice.
fn one_export<'a>(names: impl Iterator<Item = &'a str>, shown: &str) -> Result<()> {
    let mut ids: Vec<&str> = names.filter_map(export_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() > 1 {
        bail!(
            "{shown} holds {} exports ({}): point --dump at one export's data/ folder \
             (AWSDynamoDB/<id>/data/), or each table would be counted more than once",
            ids.len(),
            ids.join(", ")
        );
    }
    Ok(())
}

/// Whether a file name is a dump part (export manifests are not).
pub fn is_dump_part(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    let is_part = !base.starts_with("manifest-") && !base.starts_with(['_', '.']);
    is_part && [".json", ".jsonl", ".json.gz", ".jsonl.gz"].iter().any(|s| base.ends_with(s))
}

/// A dump to read: one file, or a folder of export parts.
#[derive(Debug, Clone)]
pub struct DumpSource {
    parts: Vec<Part>,
    shown: String,
}

impl DumpSource {
    /// A `.jsonl`, `.json`, `.gz` file, or a folder (an Export-to-S3 `data/`
    /// folder or any folder of such files, read in name order).
    pub fn local(path: &Path) -> Result<DumpSource> {
        let meta = fs::metadata(path).with_context(|| format!("cannot read dump {}", path.display()))?;
        let files = if meta.is_dir() {
            let mut files = Vec::new();
            collect_parts(path, &mut files)?;
            files.sort();
            if files.is_empty() {
                bail!("no dump files (*.json, *.jsonl, *.gz) in {}", path.display());
            }
            let names: Vec<String> = files.iter().map(|f| f.to_string_lossy().replace('\\', "/")).collect();
            one_export(names.iter().map(String::as_str), &path.display().to_string())?;
            files
        } else {
            vec![path.to_path_buf()]
        };
        Ok(DumpSource { parts: files.into_iter().map(Part::Local).collect(), shown: path.display().to_string() })
    }

    /// An S3 object, or every part under a prefix ending with `/` (an
    /// Export-to-S3 `data/` folder, or the export's own folder).
    pub async fn s3(client: &aws_sdk_s3::Client, url: &S3Url) -> Result<DumpSource> {
        let handle = tokio::runtime::Handle::current();
        let keys = if url.key.is_empty() || url.key.ends_with('/') {
            let keys: Vec<String> =
                crate::s3::list(client, url).await?.into_iter().filter(|k| is_dump_part(k)).collect();
            if keys.is_empty() {
                bail!("no dump parts (*.json.gz, *.jsonl, ...) under {url}");
            }
            one_export(keys.iter().map(String::as_str), &url.to_string())?;
            keys
        } else {
            vec![url.key.clone()]
        };
        let parts = keys
            .into_iter()
            .map(|key| Part::S3(S3Url { bucket: url.bucket.clone(), key }, client.clone(), handle.clone()))
            .collect();
        Ok(DumpSource { parts, shown: url.to_string() })
    }

    /// The parts, each opened in turn as a buffered, decompressed reader.
    pub fn readers(&self) -> impl Iterator<Item = Result<(String, Box<dyn BufRead + Send>)>> + '_ {
        self.parts.iter().map(|p| Ok((p.name(), p.open()?)))
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
            if is_dump_part(name) {
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
            f.read_to_end(&mut bytes).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Some(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot open {}", path.display())),
    }
}

/// Writes `bytes` to `path` all or nothing: a temporary file beside it,
/// flushed and synced, then renamed over the old one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut f = fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
        fs::rename(&tmp, path).with_context(|| format!("cannot move {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_two_exports_are_refused() {
        let one = ["p/AWSDynamoDB/0001-a/data/x.json.gz", "p/AWSDynamoDB/0001-a/data/y.json.gz"];
        assert!(one_export(one.into_iter(), "s3://b/p/").is_ok());
        assert!(one_export(["plain.jsonl"].into_iter(), "d").is_ok());
        let two = ["p/AWSDynamoDB/0001-a/data/x.json.gz", "p/AWSDynamoDB/0002-b/data/x.json.gz"];
        let err = one_export(two.into_iter(), "s3://b/p/").expect_err("two exports").to_string();
        assert!(err.contains("2 exports (0001-a, 0002-b)"), "{err}");
    }
}
