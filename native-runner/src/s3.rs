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

/// A byte range of an object (`bytes=-8`: its last 8 bytes); `None` when
/// it does not exist.
pub async fn get_range(s3: &aws_sdk_s3::Client, url: &S3Url, range: &str) -> Result<Option<Vec<u8>>> {
    let got = s3.get_object().bucket(&url.bucket).key(&url.key).range(range).send().await;
    let out = match got {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(anyhow!("{}", describe(&e))).with_context(|| format!("cannot read {url}")),
    };
    let bytes = out.body.collect().await.with_context(|| format!("reading {url}"))?;
    Ok(Some(bytes.into_bytes().to_vec()))
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
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let send = async move {
        let _ = tx.send(Piece::Bytes(bytes)).await;
        let _ = tx.send(Piece::Done).await;
    };
    let (_, written) = tokio::join!(send, upload(s3, url, sse, content_type, rx));
    written
}

/// What a producer hands an upload: bytes, then `Done` once every byte was
/// produced (an upload whose channel closes without it is aborted).
#[derive(Debug)]
pub enum Piece {
    /// More of the object.
    Bytes(Vec<u8>),
    /// The object is complete.
    Done,
}

fn with_sse_put(
    req: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    sse: &Sse,
) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
    match sse {
        Sse::None => req,
        Sse::Aes256 => req.server_side_encryption(ServerSideEncryption::Aes256),
        Sse::Kms(key) => req.server_side_encryption(ServerSideEncryption::AwsKms).set_ssekms_key_id(key.clone()),
    }
}

/// Writes the object from the pieces `rx` brings, as they come: one
/// request when it is small, else a multipart upload of 16 MiB parts
/// (completed only after `Done`, aborted on any failure or a stop).
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    url: &S3Url,
    sse: &Sse,
    content_type: &str,
    mut rx: tokio::sync::mpsc::Receiver<Piece>,
) -> Result<()> {
    let context = || format!("cannot write {url}");
    let mut pending: Vec<u8> = Vec::new();
    let mut done = false;
    // Gather the first part: a small object is one request.
    while pending.len() <= PART_SIZE {
        match rx.recv().await {
            Some(Piece::Bytes(b)) => pending.extend_from_slice(&b),
            Some(Piece::Done) => {
                done = true;
                break;
            }
            None => bail!("{url}: the output was not complete; nothing was written"),
        }
    }
    if done {
        let req = s3
            .put_object()
            .bucket(&url.bucket)
            .key(&url.key)
            .content_type(content_type)
            .body(ByteStream::from(pending));
        let req = with_sse_put(req, sse);
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
        let send_part = |bytes: Vec<u8>, parts: &mut Vec<CompletedPart>| {
            let number = parts.len() as i32 + 1;
            let req = s3
                .upload_part()
                .bucket(&url.bucket)
                .key(&url.key)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(bytes));
            async move {
                let part = req.send().await.map_err(|e| anyhow!("{}", describe(&e)))?;
                Ok::<_, anyhow::Error>(
                    CompletedPart::builder().part_number(number).set_e_tag(part.e_tag().map(String::from)).build(),
                )
            }
        };
        loop {
            while pending.len() >= PART_SIZE {
                let rest = pending.split_off(PART_SIZE);
                let part = send_part(std::mem::replace(&mut pending, rest), &mut parts).await?;
                parts.push(part);
            }
            match rx.recv().await {
                Some(Piece::Bytes(b)) => pending.extend_from_slice(&b),
                Some(Piece::Done) => break,
                None => bail!("the output was not complete"),
            }
        }
        if !pending.is_empty() {
            let part = send_part(std::mem::take(&mut pending), &mut parts).await?;
            parts.push(part);
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
