//! bedrock-chat's large messages: a conversation whose map outgrew the item
//! keeps only part of it in DynamoDB (`IsLargeMessage` true) and the whole
//! map in a bucket, at `LargeMessagePath` (or `<PK>/<conversation>/
//! message_map.json`). `full` counts the whole map and `--detail` bills
//! it; `v1` and `v2` never read it (the Lambdas did not). The store is the
//! bucket, or a local folder holding a copy of it, for tables and dumps
//! alike.

use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use tally_core::estimate::Estimator;
use tally_core::job::Run;
use tally_core::{Attr, Item};

use crate::aws::Clients;
use crate::location::read_optional;
use crate::s3::S3Url;

/// Where the whole maps are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The large-message bucket.
    Bucket(String),
    /// A local folder laid out as the bucket.
    Folder(PathBuf),
}

/// The large-message store and the longest map it may hold.
#[derive(Debug, Clone)]
pub struct LargeMessages {
    /// Where the maps are.
    pub store: Store,
    /// The longest line a map may have (`--max-record-size`).
    pub max_record: usize,
}

impl LargeMessages {
    /// `--large-message-bucket`: an existing folder is a local copy; anything
    /// else (`name`, `s3://name`) is a bucket.
    pub fn new(value: &str, max_record: usize) -> LargeMessages {
        let store = if Path::new(value).is_dir() {
            Store::Folder(PathBuf::from(value))
        } else {
            Store::Bucket(value.trim_start_matches("s3://").trim_end_matches('/').to_string())
        };
        LargeMessages { store, max_record }
    }

    /// Whether the store is a bucket (and so needs AWS).
    pub fn needs_aws(&self) -> bool {
        matches!(self.store, Store::Bucket(_))
    }

    /// Reads the whole map of `key` from a folder; `None` when absent.
    fn read_folder(&self, folder: &Path, key: &str) -> Result<Option<Vec<u8>>> {
        let rel = Path::new(key);
        // The key comes from the data: it may not leave the folder.
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            bail!("large message path {key:?} is not a plain relative path");
        }
        read_optional(&folder.join(rel), self.max_record)
    }

    /// The whole map of `key`; `None` when the store does not have it.
    pub async fn fetch(&self, clients: Option<&Clients>, key: &str) -> Result<Option<Vec<u8>>> {
        match (&self.store, clients) {
            (Store::Folder(folder), _) => self.read_folder(folder, key),
            (Store::Bucket(bucket), Some(clients)) => {
                let url = S3Url { bucket: bucket.clone(), key: key.to_string() };
                crate::s3::get_optional(&clients.s3, &url, self.max_record).await
            }
            (Store::Bucket(_), None) => bail!("internal: the large-message bucket without AWS clients"),
        }
    }

    /// Where `key` is, for messages.
    pub fn shown(&self, key: &str) -> String {
        match &self.store {
            Store::Bucket(bucket) => format!("s3://{bucket}/{key}"),
            Store::Folder(folder) => folder.join(key).display().to_string(),
        }
    }
}

/// The key of an item's whole map.
pub fn map_key(item: &Item) -> Option<String> {
    if let Some(path) = item.get_s("LargeMessagePath") {
        return Some(path.to_string());
    }
    let pk = item.get_s("PK")?;
    let sk = item.get_s("SK")?;
    let conv = sk.split("#CONV#").nth(1)?;
    Some(format!("{pk}/{conv}/message_map.json"))
}

/// The key of `item`'s whole map, when `run` wants it whole (`full`, or
/// the detail rows, the users report) and it is a large message.
pub fn wanted_key(run: &Run, item: &Item) -> Option<String> {
    let wanted = run.spec().estimator == Estimator::Full || run.has_details() || run.has_users();
    let is_large = matches!(item.get("IsLargeMessage"), Some(Attr::Bool(true)));
    if wanted && is_large {
        map_key(item)
    } else {
        None
    }
}

/// The whole map of `item` when the run wants it (`full`, or the detail
/// rows) and the item is a large message; a map the store does not have is
/// `None`, with a warning (the run counts what DynamoDB holds); any other
/// failure stops the run.
pub async fn whole_map(
    run: &Run,
    item: &Item,
    clients: Option<&Clients>,
    large: Option<&LargeMessages>,
) -> Result<Option<String>> {
    let (Some(large), Some(key)) = (large, wanted_key(run, item)) else {
        return Ok(None);
    };
    let found =
        large.fetch(clients, &key).await.with_context(|| format!("large message of {}", item.key_for_messages()))?;
    match found {
        Some(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        None => {
            eprintln!(
                "warning: large message of {} not found at {}: counting what DynamoDB holds",
                item.key_for_messages(),
                large.shown(&key)
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_key_never_leaves_the_folder() {
        let dir = std::env::temp_dir();
        let large = LargeMessages { store: Store::Folder(dir.clone()), max_record: 1 << 20 };
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "./a"] {
            assert!(large.read_folder(&dir, bad).is_err(), "{bad}");
        }
        assert!(large.read_folder(&dir, "surely-not-here/message_map.json").expect("absent").is_none());
        assert_eq!(LargeMessages::new("s3://bkt/", 1).store, Store::Bucket("bkt".into()));
        assert_eq!(LargeMessages::new("bkt", 1).store, Store::Bucket("bkt".into()));
        assert_eq!(LargeMessages::new(dir.to_str().expect("utf-8"), 1).store, Store::Folder(dir));
    }
}
