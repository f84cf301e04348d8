//! Where data is read from and written to: local paths and S3 objects, and
//! the parts of a dump (one file, or the data folder of an Export to S3).

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
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
    /// `-`: standard output (outputs only).
    Stdout,
}

impl Place {
    /// `s3://bucket/key`, `-` (standard output) or a local path.
    pub fn parse(text: &str) -> Place {
        if text == "-" {
            return Place::Stdout;
        }
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
            Place::Stdout => f.write_str("standard output"),
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
    /// A `.jsonl`, `.json`, `.gz` file, or a folder (an Export-to-S3 folder
    /// or its `data/` folder, or any folder of such files, read in name
    /// order): see [`local_parts`].
    pub fn local(path: &Path) -> Result<DumpSource> {
        let meta = fs::metadata(path).with_context(|| format!("cannot read dump {}", path.display()))?;
        let files = if meta.is_dir() {
            let files = local_parts(path)?;
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
            let all = crate::s3::list(client, url).await?;
            // Each manifest, read once: those under the prefix and, pointed at
            // an export's data/ folder, the one beside it.
            let mut manifests: Vec<(String, Vec<u8>)> = Vec::new();
            let mut keys: Vec<String> =
                all.iter().filter(|k| k.rsplit('/').next() == Some("manifest-files.json")).cloned().collect();
            if let Some(export) = url.key.strip_suffix("data/") {
                keys.push(format!("{export}manifest-files.json"));
            }
            for key in keys {
                let murl = S3Url { bucket: url.bucket.clone(), key };
                if let Some(text) = crate::s3::get_optional(client, &murl, 1 << 20).await? {
                    manifests.push((murl.key, text));
                }
            }
            let mut listed = None;
            for (key, text) in &manifests {
                let root = key.strip_suffix("manifest-files.json").unwrap_or("");
                let shown = format!("s3://{}/{key}", url.bucket);
                for name in manifest_names(&String::from_utf8_lossy(text), &shown)? {
                    listed.get_or_insert_with(Vec::new).push(format!("{root}data/{name}"));
                }
            }
            if manifests.is_empty() && all.iter().any(|k| k.ends_with("/_started") || k == "_started") {
                bail!(
                    "{url} holds an export that has not finished (_started, but no manifest-files.json): wait for it"
                );
            }
            let files: Vec<String> = all.into_iter().filter(|k| is_dump_part(k)).collect();
            let (keys, ignored) = choose_parts(files, listed)?;
            for (k, why) in ignored {
                eprintln!("warning: s3://{}/{k} is {why}: ignored", url.bucket);
            }
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

    /// How many parts it has (known before any is read).
    pub fn parts_len(&self) -> usize {
        self.parts.len()
    }

    /// The name of part `k`.
    pub fn part_name(&self, k: usize) -> String {
        self.parts.get(k).map(Part::name).unwrap_or_default()
    }

    /// How to name it in messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Walks a folder without following symlinks (a link such as `loop -> ..`
/// would read the dump over and over); the files, the export manifests
/// (`manifest-files.json`) and the symlinks skipped.
/// What a walk of a dump folder found.
#[derive(Debug, Default)]
struct Walked {
    files: Vec<PathBuf>,
    manifests: Vec<PathBuf>,
    links: Vec<PathBuf>,
    /// An export's `_started` marker.
    started: bool,
}

fn walk(dir: &Path, walked: &mut Walked) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type().with_context(|| format!("cannot read {}", path.display()))?;
        if kind.is_symlink() {
            walked.links.push(path);
        } else if kind.is_dir() {
            walk(&path, walked)?;
        } else if kind.is_file() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name == "manifest-files.json" {
                walked.manifests.push(path);
            } else if name == "_started" {
                // DynamoDB writes it when an export starts, the manifests when it ends.
                walked.started = true;
            } else if is_dump_part(name) {
                walked.files.push(path);
            }
        }
    }
    Ok(())
}

/// The parts an export's `manifest-files.json` lists (JSON Lines with a
/// `dataFileS3Key`), as files of its `data/` folder.
fn manifest_parts(manifest: &Path) -> Result<Vec<PathBuf>> {
    let text = fs::read_to_string(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let root = manifest.parent().unwrap_or(Path::new("."));
    let names = manifest_names(&text, &manifest.display().to_string())?;
    Ok(names.iter().map(|name| root.join("data").join(name)).collect())
}

/// The part file names a `manifest-files.json` lists: JSON Lines, each with
/// a `dataFileS3Key` whose last segment is a part of the export's `data/`.
fn manifest_names(text: &str, shown: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (k, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let entry: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{shown} line {}: not JSON", k + 1))?;
        let key =
            entry["dataFileS3Key"].as_str().with_context(|| format!("{shown} line {}: no dataFileS3Key", k + 1))?;
        let name = key.rsplit('/').next().unwrap_or(key);
        if name.is_empty() || name.starts_with('.') {
            bail!("{shown} line {}: {key:?} is not a part", k + 1);
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// A file of a dump folder that is not read, and why.
pub type Ignored = (String, &'static str);

/// Which files of a dump folder are its parts (names `/`-separated, as
/// listed), and which are ignored, each with why:
/// - `listed` (from export manifests): exactly those parts; one that is not
///   among `files` is an error, files not listed are ignored;
/// - otherwise, in an export's `data/` folder only `*.json.gz` parts (a
///   stray uncompressed copy beside them is ignored), elsewhere every file;
/// - a file and its `.gz` twin are refused (every item would count twice).
///
/// The parts come sorted, each once.
pub fn choose_parts(files: Vec<String>, listed: Option<Vec<String>>) -> Result<(Vec<String>, Vec<Ignored>)> {
    let mut ignored = Vec::new();
    let mut parts: Vec<String> = match listed {
        Some(listed) => {
            let present: std::collections::HashSet<&str> = files.iter().map(String::as_str).collect();
            if let Some(missing) = listed.iter().find(|p| !present.contains(p.as_str())) {
                bail!("the export's manifest lists {missing}, which is missing: the export is incomplete");
            }
            let wanted: std::collections::HashSet<&str> = listed.iter().map(String::as_str).collect();
            ignored.extend(
                files
                    .iter()
                    .filter(|f| !wanted.contains(f.as_str()))
                    .map(|f| (f.clone(), "not in the export's manifest")),
            );
            listed
        }
        None => files
            .into_iter()
            .filter(|f| {
                let keep = export_id(f).is_none() || f.ends_with(".json.gz");
                if !keep {
                    ignored.push((f.clone(), "not an export part (*.json.gz)"));
                }
                keep
            })
            .collect(),
    };
    parts.sort();
    parts.dedup();
    let stem = |p: &str| p.strip_suffix(".gz").unwrap_or(p).to_string();
    let mut stems: Vec<(String, &String)> = parts.iter().map(|p| (stem(p), p)).collect();
    stems.sort();
    for pair in stems.windows(2) {
        if pair[0].0 == pair[1].0 {
            bail!(
                "{} and {} are two copies of one part: remove one (each item would be counted twice)",
                pair[0].1,
                pair[1].1
            );
        }
    }
    Ok((parts, ignored))
}

/// The parts of a local dump folder ([`choose_parts`]); no symlink is
/// followed, and a file linked twice is read once.
pub fn local_parts(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut walked = Walked::default();
    walk(dir, &mut walked)?;
    let Walked { files, mut manifests, links, started } = walked;
    // Pointed at an export's data/ folder: its manifest sits beside it.
    if dir.file_name().is_some_and(|n| n == "data") {
        let beside = dir.join("..").join("manifest-files.json");
        if beside.is_file() {
            manifests.push(beside);
        }
    }
    if started && manifests.is_empty() {
        bail!(
            "{} holds an export that has not finished (_started, but no manifest-files.json): wait for it",
            dir.display()
        );
    }
    for link in &links {
        eprintln!("warning: {} is a symlink: not followed (point --dump at the real file or folder)", link.display());
    }
    let name = |p: &Path| p.to_string_lossy().replace('\\', "/");
    let listed = if manifests.is_empty() {
        None
    } else {
        let mut listed = Vec::new();
        for m in &manifests {
            listed.extend(manifest_parts(m)?.iter().map(|p| name(&normalize(p))));
        }
        Some(listed)
    };
    let files: Vec<String> = files.iter().map(|f| name(&normalize(f))).collect();
    let (parts, ignored) = choose_parts(files, listed)?;
    for (f, why) in ignored {
        eprintln!("warning: {f} is {why}: ignored");
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for part in parts.into_iter().map(PathBuf::from) {
        let meta = fs::metadata(&part).with_context(|| format!("cannot read {}", part.display()))?;
        if seen.insert((meta.dev(), meta.ino())) {
            out.push(part);
        }
    }
    Ok(out)
}

/// `a/b/../c` as `a/c`, without touching the file system (the walk never
/// follows links, so `..` here only comes from `data/..`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Checks, chunk by chunk, that no line of an input is longer than `max`
/// bytes: `/dev/zero` or a file without line ends fails at the limit instead
/// of filling memory (or running forever).
#[derive(Debug)]
pub struct LineGuard {
    /// Bytes since the last `\n`.
    run: usize,
    /// Line ends seen.
    lines: u64,
    max: usize,
}

impl LineGuard {
    /// Lines of at most `max` bytes.
    pub fn new(max: usize) -> LineGuard {
        LineGuard { run: 0, lines: 0, max }
    }

    /// Takes the next chunk; an error when a line grows past the limit.
    pub fn check(&mut self, chunk: &[u8]) -> Result<()> {
        for (k, part) in chunk.split(|&b| b == b'\n').enumerate() {
            let len = if k == 0 { self.run + part.len() } else { part.len() };
            if k > 0 {
                self.lines += 1;
            }
            if len > self.max {
                bail!(
                    "line {} is longer than the limit of {} (--max-record-size): is this the right file?",
                    self.lines + 1,
                    tally_core::item::limit_text(self.max)
                );
            }
            self.run = len;
        }
        Ok(())
    }
}

/// A whole text input (a CSV, a message map) gathered chunk by chunk, no
/// line of it longer than the limit ([`LineGuard`]).
#[derive(Debug)]
pub struct BoundedText {
    bytes: Vec<u8>,
    guard: LineGuard,
}

impl BoundedText {
    /// Lines of at most `max` bytes.
    pub fn new(max: usize) -> BoundedText {
        BoundedText { bytes: Vec::new(), guard: LineGuard::new(max) }
    }

    /// Appends a chunk; an error when a line grows past the limit.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.guard.check(chunk)?;
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    /// The text.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Hands a local file to `take` a chunk at a time; `Ok(false)` when it does
/// not exist.
pub fn read_chunks(path: &Path, mut take: impl FnMut(&[u8]) -> Result<()>) -> Result<bool> {
    let mut f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).with_context(|| format!("cannot open {}", path.display())),
    };
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        take(&chunk[..n]).with_context(|| format!("reading {}", path.display()))?;
    }
}

/// Reads a whole local file, no line longer than `max_line` bytes;
/// `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path, max_line: usize) -> Result<Option<Vec<u8>>> {
    let mut text = BoundedText::new(max_line);
    let found = read_chunks(path, |chunk| text.push(chunk))?;
    Ok(found.then(|| text.into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_folders_give_each_part_once() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = "x/AWSDynamoDB/01-a/data/";
        let files = names(&[&format!("{e}p1.json.gz"), &format!("{e}p1.json"), &format!("{e}p2.json.gz")]);
        let (parts, ignored) = choose_parts(files.clone(), None).expect("parts");
        assert_eq!(parts, names(&[&format!("{e}p1.json.gz"), &format!("{e}p2.json.gz")]));
        assert_eq!(ignored, vec![(format!("{e}p1.json"), "not an export part (*.json.gz)")]);
        let listed = names(&[&format!("{e}p2.json.gz")]);
        let (parts, ignored) = choose_parts(files.clone(), Some(listed)).expect("manifest");
        assert_eq!(parts, names(&[&format!("{e}p2.json.gz")]));
        assert_eq!(ignored.len(), 2);
        let err = choose_parts(files, Some(names(&[&format!("{e}p9.json.gz")]))).expect_err("missing part");
        assert!(err.to_string().contains("incomplete"), "{err}");
        let err = choose_parts(names(&["d/a.jsonl", "d/a.jsonl.gz"]), None).expect_err("twins");
        assert!(err.to_string().contains("two copies"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("TALLY_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Whatever a folder holds, the parts chosen are files it holds,
        /// sorted, each once, with no `.gz` twin, and only `*.json.gz` in an
        /// export's data/ folder unless a manifest lists them.
        #[test]
        fn chosen_parts_are_a_clean_subset(
            files in proptest::collection::vec("(x/AWSDynamoDB/0[12]-a/data/|d/|)p[0-3]\\.(json|jsonl)(\\.gz)?", 0..12),
            listed in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..4)),
        ) {
            let listed = listed.map(|ix| ix.iter().filter(|_| !files.is_empty()).map(|i| files[i.index(files.len())].clone()).collect::<Vec<_>>());
            if let Ok((parts, ignored)) = choose_parts(files.clone(), listed.clone()) {
                let mut sorted = parts.clone();
                sorted.sort();
                sorted.dedup();
                proptest::prop_assert_eq!(&sorted, &parts);
                for p in &parts {
                    proptest::prop_assert!(files.contains(p));
                    let twin = format!("{}.gz", p);
                    proptest::prop_assert!(!parts.contains(&twin));
                    if listed.is_none() && export_id(p).is_some() {
                        proptest::prop_assert!(p.ends_with(".json.gz"));
                    }
                }
                for (f, _) in &ignored {
                    proptest::prop_assert!(!parts.contains(f));
                }
            }
        }
    }

    #[test]
    fn bounded_text_refuses_a_line_past_the_limit() {
        let mut t = BoundedText::new(4);
        t.push(b"ab").expect("short");
        t.push(b"cd\nefgh\n").expect("at the limit");
        t.push(b"ij").expect("short");
        assert!(t.push(b"klm").is_err());
        let mut t = BoundedText::new(4);
        assert!(t.push(b"abcdefgh\nx").is_err());
        let mut t = BoundedText::new(4);
        t.push(b"abc").expect("short");
        assert!(t.push(b"de\n").is_err());
        let mut t = BoundedText::new(4);
        t.push(b"a\nb\n").expect("short lines");
        assert_eq!(t.into_bytes(), b"a\nb\n");
    }

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
