//! Outputs written as they are produced, all or nothing: a producer writes
//! into a blocking `Write` (on a blocking thread) while the bytes go to a
//! temporary file renamed over the output, or to an S3 upload completed
//! only once the producer has finished; memory holds a part at most.

use std::io::Write;

use anyhow::{anyhow, Context, Result};

use crate::atomic::AtomicFile;
use crate::jobs::Ctx;
use crate::location::Place;
use crate::s3::Piece;

/// The content type of an object, by its name.
pub fn content_type_of(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("parquet") => "application/vnd.apache.parquet",
        Some("json") => "application/json",
        _ => "text/csv",
    }
}

/// Bytes gathered before they are handed to the upload.
const PIECE: usize = 4 << 20;

/// A `Write` whose bytes go to an upload, a piece at a time.
struct ToUpload {
    tx: tokio::sync::mpsc::Sender<Piece>,
    buf: Vec<u8>,
}

impl ToUpload {
    fn send(&mut self) -> std::io::Result<()> {
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.tx.blocking_send(Piece::Bytes(piece)).map_err(|_| std::io::Error::other("the upload stopped"))
    }
}

impl Write for ToUpload {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(buf);
        if self.buf.len() >= PIECE {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the output at `place` with `produce`; it is published only if
/// `produce` succeeds (and the write after it).
pub async fn stream_to<R: Send + 'static>(
    ctx: &Ctx,
    place: &Place,
    produce: impl FnOnce(&mut (dyn Write + Send)) -> Result<R> + Send + 'static,
) -> Result<R> {
    match place {
        Place::Local(path) => {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                let mut file = AtomicFile::create(&path)?;
                let r = produce(&mut file)?;
                file.commit().with_context(|| format!("writing {}", path.display()))?;
                Ok(r)
            })
            .await
            .context("the writer stopped")?
        }
        Place::Stdout => tokio::task::spawn_blocking(move || {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            let r = produce(&mut out)?;
            out.flush().context("writing standard output")?;
            Ok(r)
        })
        .await
        .context("the writer stopped")?,
        Place::S3(url) => {
            let s3 = ctx.clients().await.s3.clone();
            let (tx, rx) = tokio::sync::mpsc::channel(2);
            let producer = tokio::task::spawn_blocking(move || {
                let mut w = ToUpload { tx, buf: Vec::with_capacity(PIECE) };
                let r = produce(&mut w)?;
                w.send()?;
                w.tx.blocking_send(Piece::Done).map_err(|_| anyhow!("the upload stopped"))?;
                Ok::<R, anyhow::Error>(r)
            });
            let uploaded = crate::s3::upload(&s3, url, &ctx.sse, content_type_of(&url.key), rx);
            let (produced, uploaded) = tokio::join!(producer, uploaded);
            let produced = produced.context("the writer stopped").and_then(|r| r);
            match (produced, uploaded) {
                (Ok(r), Ok(())) => Ok(r),
                // The upload failed first; the producer only saw it stop.
                (Err(_), Err(u)) if !format!("{u:#}").contains("not complete") => Err(u),
                (Err(p), _) => Err(p),
                (Ok(_), Err(u)) => Err(u),
            }
        }
    }
}
