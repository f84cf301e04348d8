//! S3 objects: `s3://bucket/key` locations, reading whole objects, listing
//! export parts, and writing outputs (multipart when large) all or nothing.

use anyhow::{anyhow, bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};

use crate::aws::describe;

/// Parts of this size are uploaded one by one above it.
const PART_SIZE: usize = 16 * 1024 * 1024;

/// An `s3://bucket/key` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key (may be a prefix ending with `/`).
    pub key: String,
}

impl S3Url {
    /// Parses `s3://bucket/key`; `None` for anything else.
    pub fn parse(text: &str) -> Option<S3Url> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| S3Url { bucket: bucket.into(), key: key.into() })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// Server-side encryption for outputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sse {
    /// The bucket's default.
    #[default]
    None,
    /// SSE-S3 (AES256).
    Aes256,
    /// SSE-KMS, with an optional key id.
    Kms(Option<String>),
}

impl std::str::FromStr for Sse {
    type Err = String;
    fn from_str(s: &str) -> Result<Sse, String> {
        match s {
            "none" => Ok(Sse::None),
            "AES256" | "aes256" => Ok(Sse::Aes256),
            "aws:kms" | "kms" => Ok(Sse::Kms(None)),
            other => match other.strip_prefix("aws:kms:").or_else(|| other.strip_prefix("kms:")) {
                Some(key) => Ok(Sse::Kms(Some(key.to_string()))),
                None => Err(format!("unknown encryption {other:?} (none, AES256, aws:kms or aws:kms:KEY-ID)")),
            },
        }
    }
}

/// How long a body may go without a byte before the read fails.
const STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// The next chunk of a body; an error if none comes within [`STALL`].
pub async fn next_chunk(body: &mut ByteStream, url: &S3Url) -> Result<Option<bytes::Bytes>> {
    match tokio::time::timeout(STALL, body.try_next()).await {
        Ok(chunk) => chunk.with_context(|| format!("reading {url}")),
        Err(_) => bail!("reading {url}: no data for {} s", STALL.as_secs()),
    }
}

/// Opens an object for streaming; `Ok(None)` when it does not exist.
pub async fn open(s3: &aws_sdk_s3::Client, url: &S3Url) -> Result<Option<ByteStream>> {
    match s3.get_object().bucket(&url.bucket).key(&url.key).send().await {
        Ok(out) => Ok(Some(out.body)),
        Err(err) => {
            let missing = err.as_service_error().is_some_and(|e| e.is_no_such_key());
            if missing {
                Ok(None)
            } else {
                Err(anyhow!("{}", describe(&err))).with_context(|| format!("cannot read {url}"))
            }
        }
    }
}

/// Hands an object to `take` a chunk at a time as it downloads; `Ok(false)`
/// when it does not exist.
pub async fn read_chunks(
    s3: &aws_sdk_s3::Client,
    url: &S3Url,
    mut take: impl FnMut(&[u8]) -> Result<()>,
) -> Result<bool> {
    let Some(mut body) = open(s3, url).await? else {
        return Ok(false);
    };
    while let Some(chunk) = next_chunk(&mut body, url).await? {
        take(&chunk).with_context(|| format!("reading {url}"))?;
    }
    Ok(true)
}

/// Reads a whole object, no line longer than `max_line` bytes; `Ok(None)`
/// when it does not exist.
pub async fn get_optional(s3: &aws_sdk_s3::Client, url: &S3Url, max_line: usize) -> Result<Option<Vec<u8>>> {
    let mut text = crate::location::BoundedText::new(max_line);
    let found = read_chunks(s3, url, |chunk| text.push(chunk)).await?;
    Ok(found.then(|| text.into_bytes()))
}

/// The keys under a prefix, in name order.
pub async fn list(s3: &aws_sdk_s3::Client, prefix: &S3Url) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(&prefix.bucket).prefix(&prefix.key).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| anyhow!("{}", describe(&e))).with_context(|| format!("cannot list {prefix}"))?;
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(String::from)));
    }
    keys.sort();
    Ok(keys)
}

/// Deletes the object (a missing one is no error).
pub async fn delete(s3: &aws_sdk_s3::Client, url: &S3Url) -> Result<()> {
    let _completing = crate::cleanup::completing().ok_or_else(|| anyhow!("stopped before the delete"))?;
    s3.delete_object()
        .bucket(&url.bucket)
        .key(&url.key)
        .send()
        .await
        .map_err(|e| anyhow!("{}", describe(&e)))
        .with_context(|| format!("cannot delete {url}"))?;
    Ok(())
}

/// Writes `bytes` as the object, of `content_type`, in one request or in
/// parts; an unfinished multipart upload is aborted, so the old object stays
/// as it was.
pub async fn put(s3: &aws_sdk_s3::Client, url: &S3Url, bytes: Vec<u8>, sse: &Sse, content_type: &str) -> Result<()> {
    let context = || format!("cannot write {url}");
    if bytes.len() <= PART_SIZE {
        let mut req =
            s3.put_object().bucket(&url.bucket).key(&url.key).content_type(content_type).body(ByteStream::from(bytes));
        req = match sse {
            Sse::None => req,
            Sse::Aes256 => req.server_side_encryption(ServerSideEncryption::Aes256),
            Sse::Kms(key) => req.server_side_encryption(ServerSideEncryption::AwsKms).set_ssekms_key_id(key.clone()),
        };
        let _completing = crate::cleanup::completing().ok_or_else(|| anyhow!("stopped before the upload"))?;
        req.send().await.map_err(|e| anyhow!("{}", describe(&e))).with_context(context)?;
        return Ok(());
    }
    let mut create = s3.create_multipart_upload().bucket(&url.bucket).key(&url.key).content_type(content_type);
    create = match sse {
        Sse::None => create,
        Sse::Aes256 => create.server_side_encryption(ServerSideEncryption::Aes256),
        Sse::Kms(key) => create.server_side_encryption(ServerSideEncryption::AwsKms).set_ssekms_key_id(key.clone()),
    };
    let upload = create.send().await.map_err(|e| anyhow!("{}", describe(&e))).with_context(context)?;
    let Some(upload_id) = upload.upload_id() else { bail!("{url}: no upload id in the multipart answer") };
    // Aborted on an error here, and by a stop signal (crate::cleanup).
    let registered = crate::cleanup::upload(s3, &url.bucket, &url.key, upload_id);
    let result = async {
        let mut parts = Vec::new();
        for (k, chunk) in bytes.chunks(PART_SIZE).enumerate() {
            let number = k as i32 + 1;
            let part = s3
                .upload_part()
                .bucket(&url.bucket)
                .key(&url.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| anyhow!("{}", describe(&e)))?;
            parts.push(CompletedPart::builder().part_number(number).set_e_tag(part.e_tag().map(String::from)).build());
        }
        let _completing =
            crate::cleanup::completing().ok_or_else(|| anyhow!("stopped before the upload was completed"))?;
        s3.complete_multipart_upload()
            .bucket(&url.bucket)
            .key(&url.key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| anyhow!("{}", describe(&e)))?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    if result.is_err() {
        let _ = s3.abort_multipart_upload().bucket(&url.bucket).key(&url.key).upload_id(upload_id).send().await;
    }
    drop(registered);
    result.with_context(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert_eq!(S3Url::parse("s3://b/k/x.csv"), Some(S3Url { bucket: "b".into(), key: "k/x.csv".into() }));
        assert_eq!(S3Url::parse("s3://b"), Some(S3Url { bucket: "b".into(), key: String::new() }));
        assert_eq!(S3Url::parse("/tmp/x"), None);
        assert_eq!(S3Url::parse("s3:///k"), None);
        assert_eq!("aws:kms:abc".parse::<Sse>(), Ok(Sse::Kms(Some("abc".into()))));
    }
}
