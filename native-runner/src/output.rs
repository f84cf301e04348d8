//! How a job's rows are published: the seed's CSV (the default), one
//! Parquet file, or Parquet partitioned by day or month under a folder
//! (Hive style, `dt=2026-03-01/data.parquet`).
//!
//! A partitioned output carries a manifest (`_tally_partitions.json`: each
//! partition's rows and a hash of their content; Athena skips files whose
//! name starts with `_`). A run writes only the partitions whose rows
//! changed, deletes those left without rows, and writes the manifest last,
//! so a run stopped half-way is completed by the next one: the partitions it
//! did not reach still differ from the old manifest.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};

use tally_core::csv::{push_row, write_lines, Row, HEADER};
use tally_core::dates::Day;

use crate::atomic::AtomicFile;
use crate::jobs::{publish_bytes, read_place, Ctx};
use crate::location::Place;
use crate::s3::Piece;
use crate::spill::Sorted;
use crate::writer::stream_to;

/// The output's file format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// The seed's CSV.
    #[default]
    Csv,
    /// Parquet (Athena's types, snappy).
    Parquet,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            _ => Err(format!("not a format: {s:?} (csv or parquet)")),
        }
    }
}

/// How a Parquet output is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionBy {
    /// One file.
    None,
    /// `dt=YYYY-MM-DD/`.
    Day,
    /// `dt=YYYY-MM/`.
    Month,
}

impl std::str::FromStr for PartitionBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(PartitionBy::None),
            "day" => Ok(PartitionBy::Day),
            "month" => Ok(PartitionBy::Month),
            _ => Err(format!("not a partitioning: {s:?} (day, month or none)")),
        }
    }
}

impl PartitionBy {
    /// The name the manifest and the Athena DDL use.
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionBy::None => "none",
            PartitionBy::Day => "day",
            PartitionBy::Month => "month",
        }
    }

    /// A number naming the partition of a row, cheap to compare row by row
    /// (the day, or the month's number), in step with [`PartitionBy::value`].
    fn key(self, create_date: Option<i64>) -> i64 {
        let day = create_date.unwrap_or(0).div_euclid(86_400);
        match self {
            PartitionBy::Month => {
                let (y, m, _) = Day(day).ymd();
                y * 12 + m
            }
            _ => day,
        }
    }

    /// The partition of a row: its UTC day or month; rows without a date
    /// go to 1970-01-01 (their `create_date` stays null).
    pub fn value(self, create_date: Option<i64>) -> String {
        let day = Day(create_date.unwrap_or(0).div_euclid(86_400)).to_string();
        match self {
            PartitionBy::Month => day[..7].to_string(),
            _ => day,
        }
    }
}

/// How the rows are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Layout {
    /// The format.
    pub format: Format,
    /// Parquet's partitioning (`None` for CSV).
    pub partition: Option<PartitionBy>,
}

impl Layout {
    /// Whether `--out` names a folder (partitioned Parquet).
    pub fn is_folder(&self) -> bool {
        matches!(self.partition, Some(PartitionBy::Day | PartitionBy::Month))
    }
}

/// The manifest's file name, inside the output folder.
pub const MANIFEST: &str = "_tally_partitions.json";
/// Each partition's file.
pub const PART_FILE: &str = "data.parquet";

/// The manifest of a partitioned output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `day` or `month`.
    pub partition_by: String,
    /// Per partition value: its rows and their hash.
    pub partitions: BTreeMap<String, PartitionEntry>,
}

/// One partition in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionEntry {
    /// Rows.
    pub rows: u64,
    /// FNV-1a (64 bits, hex) of the rows as the seed's CSV lines.
    pub hash: String,
}

/// What a partitioned publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Partitions {
    /// Partitions in the output.
    pub partitions: u64,
    /// Partitions written by this run (their rows changed or are new).
    pub written: Vec<String>,
    /// Partitions deleted (no rows left).
    pub deleted: Vec<String>,
}

/// FNV-1a, 64 bits: a stable hash of the rows (a change detector, not a
/// security measure).
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// `folder` joined with `rel` (a folder ends with `/` in S3).
fn inside(folder: &Place, rel: &str) -> Result<Place> {
    Ok(match folder {
        Place::Local(dir) => Place::Local(dir.join(rel)),
        Place::S3(url) => {
            let sep = if url.key.is_empty() || url.key.ends_with('/') { "" } else { "/" };
            Place::S3(crate::s3::S3Url { bucket: url.bucket.clone(), key: format!("{}{sep}{rel}", url.key) })
        }
        Place::Stdout => bail!("a partitioned output needs a folder, not standard output"),
    })
}

/// The previous manifest of `folder`, if any.
pub async fn read_manifest(ctx: &Ctx, folder: &Place) -> Result<Option<Manifest>> {
    let place = inside(folder, MANIFEST)?;
    match read_place(ctx, &place).await? {
        Some(bytes) => {
            let m = serde_json::from_slice(&bytes).with_context(|| format!("the manifest {place} is unreadable"))?;
            Ok(Some(m))
        }
        None => Ok(None),
    }
}

/// A Parquet file's footer (its metadata), read from its end alone; `None`
/// when the file does not exist.
async fn read_footer(ctx: &Ctx, place: &Place) -> Result<Option<Vec<u8>>> {
    let context = || format!("reading the previous output {place}");
    match place {
        Place::Local(path) => {
            let mut f = match std::fs::File::open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e).with_context(context),
            };
            let len = f.metadata().with_context(context)?.len();
            let tail = |f: &mut std::fs::File, n: u64| -> Result<Vec<u8>> {
                anyhow::ensure!(n <= len, "not a Parquet file (too short)");
                f.seek(SeekFrom::Start(len - n))?;
                let mut buf = vec![0u8; usize::try_from(n)?];
                f.read_exact(&mut buf)?;
                Ok(buf)
            };
            let end = tail(&mut f, 8).with_context(context)?;
            let n = crate::parquet::footer_len(&end).with_context(context)?;
            Ok(Some(tail(&mut f, n + 8).with_context(context)?))
        }
        Place::S3(url) => {
            let s3 = &ctx.clients().await.s3;
            let Some(end) = crate::s3::get_range(s3, url, "bytes=-8").await.with_context(context)? else {
                return Ok(None);
            };
            let n = crate::parquet::footer_len(&end).with_context(context)?;
            let range = format!("bytes=-{}", n + 8);
            Ok(crate::s3::get_range(s3, url, &range).await.with_context(context)?)
        }
        Place::Stdout => Ok(None),
    }
}

/// Rows of the previous output at `out` (0 when there is none).
pub async fn previous_rows(ctx: &Ctx, out: &Place, layout: Layout) -> Result<Option<u64>> {
    if layout.is_folder() {
        return Ok(read_manifest(ctx, out).await?.map(|m| m.partitions.values().map(|p| p.rows).sum()));
    }
    if layout.format == Format::Parquet {
        return match read_footer(ctx, out).await? {
            Some(footer) => Ok(Some(crate::parquet::rows_in_footer(&footer)?)),
            None => Ok(None),
        };
    }
    Ok(None)
}

/// Writes the rows (sorted, in the seed's order) as `layout` says, as
/// they come; what a partitioned publish did, for the report.
pub async fn write_rows(ctx: &Ctx, out: &Place, rows: Sorted<Row>, layout: Layout) -> Result<Option<Partitions>> {
    match (layout.format, layout.partition) {
        (Format::Csv, _) => {
            stream_to(ctx, out, move |w| write_lines(w, &HEADER.join(","), rows, push_row)).await.map(|()| None)
        }
        (Format::Parquet, None | Some(PartitionBy::None)) => {
            stream_to(ctx, out, move |w| crate::parquet::rows_parquet_to(rows, w).map(|_| ())).await.map(|()| None)
        }
        (Format::Parquet, Some(by)) => publish_partitions(ctx, out, rows, by).await.map(Some),
    }
}

/// Where a changed partition is published.
enum Target {
    Local,
    S3(aws_sdk_s3::Client, crate::s3::Sse),
}

/// Publishes a partition's file (`file`, read from its start) at `place`.
fn publish_file(target: &Target, place: &Place, mut file: std::fs::File, rt: &tokio::runtime::Handle) -> Result<()> {
    match (target, place) {
        (Target::Local, Place::Local(path)) => {
            let mut out = AtomicFile::create(path)?;
            std::io::copy(&mut file, &mut out).with_context(|| format!("writing {}", path.display()))?;
            out.commit()
        }
        (Target::S3(s3, sse), Place::S3(url)) => rt.block_on(async {
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let send = async move {
                loop {
                    let mut piece = vec![0u8; 8 << 20];
                    let n = match read_full(&mut file, &mut piece) {
                        Ok(n) => n,
                        Err(_) => return,
                    };
                    piece.truncate(n);
                    if n > 0 && tx.send(Piece::Bytes(piece)).await.is_err() {
                        return;
                    }
                    if n < 8 << 20 {
                        let _ = tx.send(Piece::Done).await;
                        return;
                    }
                }
            };
            let (_, up) = tokio::join!(send, crate::s3::upload(s3, url, sse, "application/vnd.apache.parquet", rx));
            up
        }),
        _ => bail!("internal: a partition in the wrong place"),
    }
}

/// Writes `manifest` into `folder` (from a blocking thread).
fn publish_manifest(target: &Target, folder: &Place, manifest: &Manifest, rt: &tokio::runtime::Handle) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(manifest)?;
    match (target, inside(folder, MANIFEST)?) {
        (Target::Local, Place::Local(path)) => {
            let mut out = AtomicFile::create(&path)?;
            out.write_all(&bytes).with_context(|| format!("writing {}", path.display()))?;
            out.commit()
        }
        (Target::S3(s3, sse), Place::S3(url)) => rt.block_on(crate::s3::put(s3, &url, bytes, sse, "application/json")),
        _ => bail!("internal: a manifest in the wrong place"),
    }
}

/// Reads until `buf` is full or the file ends; the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

async fn publish_partitions(ctx: &Ctx, folder: &Place, rows: Sorted<Row>, by: PartitionBy) -> Result<Partitions> {
    let old = read_manifest(ctx, folder).await?.filter(|m| m.partition_by == by.as_str()).unwrap_or_default();
    let target = match folder {
        Place::Local(_) => Target::Local,
        Place::S3(_) => Target::S3(ctx.clients().await.s3.clone(), ctx.sse.clone()),
        Place::Stdout => bail!("a partitioned output needs a folder, not standard output"),
    };
    let (folder_c, dir, rt) = (folder.clone(), ctx.spill_dir.clone(), tokio::runtime::Handle::current());
    let old_c = old.clone();
    let (manifest, mut done) = tokio::task::spawn_blocking(move || -> Result<(Manifest, Partitions)> {
        let mut rows = rows.peekable();
        let mut manifest = Manifest { partition_by: by.as_str().into(), partitions: BTreeMap::new() };
        let mut done = Partitions::default();
        let mut interim = false;
        loop {
            let (key, value) = match rows.peek() {
                None => break,
                Some(Err(_)) => {
                    return Err(rows.next().and_then(Result::err).unwrap_or_else(|| anyhow::anyhow!("a row")))
                }
                Some(Ok(row)) => (by.key(row.create_date), by.value(row.create_date)),
            };
            if manifest.partitions.contains_key(&value) {
                bail!("the rows of partition {value} are not together: dates before 1970 cannot be partitioned");
            }
            let (mut hash, mut count) = (0xcbf2_9ce4_8422_2325u64, 0u64);
            let mut line = String::new();
            let part = std::iter::from_fn(|| {
                let same = matches!(rows.peek(), Some(Ok(r)) if by.key(r.create_date) == key);
                if !same && !matches!(rows.peek(), Some(Err(_))) {
                    return None;
                }
                let row = rows.next()?;
                if let Ok(r) = &row {
                    line.clear();
                    push_row(&mut line, r);
                    hash = fnv1a(line.as_bytes(), hash);
                    count += 1;
                }
                Some(row)
            });
            let file = std::io::BufWriter::with_capacity(1 << 20, crate::spill::scratch_file(&dir)?);
            let file = crate::parquet::rows_parquet_to(part, file)?;
            let mut file = file.into_inner().map_err(|e| e.into_error()).context("writing a partition")?;
            let entry = PartitionEntry { rows: count, hash: format!("{hash:016x}") };
            if old_c.partitions.get(&value) != Some(&entry) {
                // Before the first file changes, the manifest vouches only for the
                // partitions this run has checked: if it stops half-way, the next
                // run rewrites everything else.
                if !interim {
                    publish_manifest(&target, &folder_c, &manifest, &rt)?;
                    interim = true;
                }
                file.seek(SeekFrom::Start(0))?;
                let place = inside(&folder_c, &format!("dt={value}/{PART_FILE}"))?;
                publish_file(&target, &place, file, &rt)?;
                done.written.push(value.clone());
            }
            manifest.partitions.insert(value, entry);
        }
        let deleting = old_c.partitions.keys().any(|v| !manifest.partitions.contains_key(v));
        if deleting && !interim {
            // The partitions to delete leave the manifest before their files go.
            publish_manifest(&target, &folder_c, &manifest, &rt)?;
        }
        Ok((manifest, done))
    })
    .await
    .context("the writer stopped")??;
    done.partitions = manifest.partitions.len() as u64;
    for value in old.partitions.keys().filter(|v| !manifest.partitions.contains_key(*v)) {
        let place = inside(folder, &format!("dt={value}/{PART_FILE}"))?;
        match &place {
            Place::Local(path) => match std::fs::remove_file(path) {
                Ok(()) => {
                    let _ = std::fs::remove_dir(path.parent().context("a partition's folder")?);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("cannot delete {}", path.display())),
            },
            Place::S3(url) => crate::s3::delete(&ctx.clients().await.s3, url).await?,
            Place::Stdout => {}
        }
        done.deleted.push(value.clone());
    }
    let text = serde_json::to_vec_pretty(&manifest)?;
    publish_bytes(ctx, &inside(folder, MANIFEST)?, text).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_to_their_utc_day_or_month() {
        assert_eq!(PartitionBy::Day.value(Some(1_772_409_599)), "2026-03-01");
        assert_eq!(PartitionBy::Day.value(Some(1_772_409_600)), "2026-03-02");
        assert_eq!(PartitionBy::Month.value(Some(1_772_409_600)), "2026-03");
        assert_eq!(PartitionBy::Day.value(None), "1970-01-01");
        assert_eq!(PartitionBy::Day.value(Some(-1)), "1969-12-31");
        // The keys split rows exactly where the values do.
        for by in [PartitionBy::Day, PartitionBy::Month] {
            for (a, b) in
                [(1_772_409_599, 1_772_409_600), (1_772_323_200, 1_772_409_599), (1_769_817_599, 1_769_817_600)]
            {
                assert_eq!(by.key(Some(a)) == by.key(Some(b)), by.value(Some(a)) == by.value(Some(b)), "{a} {b}");
            }
        }
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b"", 0xcbf2_9ce4_8422_2325), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a", 0xcbf2_9ce4_8422_2325), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar", 0xcbf2_9ce4_8422_2325), 0x8594_4171_f739_67e8);
    }
}
