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
use tally_core::csv::{push_row, to_csv_bytes, Row};
use tally_core::dates::Day;

use crate::jobs::{publish_bytes, read_place, Ctx};
use crate::location::Place;

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

/// A whole binary file (no line limit); `None` when it does not exist.
async fn read_binary(ctx: &Ctx, place: &Place) -> Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    let mut take = |chunk: &[u8]| {
        bytes.extend_from_slice(chunk);
        Ok(())
    };
    let found = match place {
        Place::Local(path) => crate::location::read_chunks(path, &mut take)?,
        Place::S3(url) => crate::s3::read_chunks(&ctx.clients().await.s3, url, &mut take).await?,
        Place::Stdout => false,
    };
    Ok(found.then_some(bytes))
}

/// Rows of the previous output at `out` (0 when there is none).
pub async fn previous_rows(ctx: &Ctx, out: &Place, layout: Layout) -> Result<Option<u64>> {
    if layout.is_folder() {
        return Ok(read_manifest(ctx, out).await?.map(|m| m.partitions.values().map(|p| p.rows).sum()));
    }
    if layout.format == Format::Parquet {
        return match read_binary(ctx, out).await? {
            Some(bytes) => Ok(Some(crate::parquet::rows_in(bytes)?)),
            None => Ok(None),
        };
    }
    Ok(None)
}

/// Writes the rows (sorted, in the seed's order) as `layout` says; what the
/// partitioned publish did, for the report.
pub async fn publish_rows(ctx: &Ctx, out: &Place, rows: &[Row], layout: Layout) -> Result<Option<Partitions>> {
    match (layout.format, layout.partition) {
        (Format::Csv, _) => publish_bytes(ctx, out, to_csv_bytes(rows)).await.map(|()| None),
        (Format::Parquet, None | Some(PartitionBy::None)) => {
            publish_bytes(ctx, out, crate::parquet::rows_parquet(rows)?).await.map(|()| None)
        }
        (Format::Parquet, Some(by)) => publish_partitions(ctx, out, rows, by).await.map(Some),
    }
}

/// The partitions of `rows` (each in the rows' order) and their manifest entries.
fn partition(rows: &[Row], by: PartitionBy) -> BTreeMap<String, (Vec<Row>, PartitionEntry)> {
    let mut parts: BTreeMap<String, (Vec<Row>, u64)> = BTreeMap::new();
    let mut line = String::new();
    for row in rows {
        let (rows, hash) =
            parts.entry(by.value(row.create_date)).or_insert_with(|| (Vec::new(), 0xcbf2_9ce4_8422_2325));
        line.clear();
        push_row(&mut line, row);
        *hash = fnv1a(line.as_bytes(), *hash);
        rows.push(row.clone());
    }
    parts
        .into_iter()
        .map(|(k, (rows, hash))| {
            let entry = PartitionEntry { rows: rows.len() as u64, hash: format!("{hash:016x}") };
            (k, (rows, entry))
        })
        .collect()
}

async fn publish_partitions(ctx: &Ctx, folder: &Place, rows: &[Row], by: PartitionBy) -> Result<Partitions> {
    let old = read_manifest(ctx, folder).await?.filter(|m| m.partition_by == by.as_str()).unwrap_or_default();
    let parts = partition(rows, by);
    let mut done = Partitions { partitions: parts.len() as u64, ..Partitions::default() };
    let mut manifest = Manifest { partition_by: by.as_str().into(), partitions: BTreeMap::new() };
    for (value, (rows, entry)) in parts {
        if old.partitions.get(&value) != Some(&entry) {
            let place = inside(folder, &format!("dt={value}/{PART_FILE}"))?;
            let bytes = crate::parquet::rows_parquet(&rows)?;
            if let Place::Local(path) = &place {
                std::fs::create_dir_all(path.parent().context("a partition's folder")?)
                    .with_context(|| format!("cannot create the folder of {}", path.display()))?;
            }
            publish_bytes(ctx, &place, bytes).await?;
            done.written.push(value.clone());
        }
        manifest.partitions.insert(value, entry);
    }
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
    }

    #[test]
    fn the_hash_is_fnv1a() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a(b"", 0xcbf2_9ce4_8422_2325), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a", 0xcbf2_9ce4_8422_2325), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar", 0xcbf2_9ce4_8422_2325), 0x8594_4171_f739_67e8);
    }
}
