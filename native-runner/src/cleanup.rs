//! What a run leaves half-done while it works (temporary files, unfinished
//! S3 multipart uploads), registered here so that a failure, SIGINT or
//! SIGTERM removes it: the previous output is never touched, and no debris
//! is left beside it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Something to undo if the run stops before it is done.
#[derive(Debug)]
enum Pending {
    /// A temporary file, not yet renamed over its output.
    File(PathBuf),
    /// An S3 multipart upload, not yet completed.
    Upload { client: aws_sdk_s3::Client, bucket: String, key: String, id: String },
}

static PENDING: Mutex<Vec<(u64, Pending)>> = Mutex::new(Vec::new());
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A registration; dropping it forgets the entry (the work was finished or
/// cleaned up by its owner).
#[derive(Debug)]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut pending) = PENDING.lock() {
            pending.retain(|(id, _)| *id != self.0);
        }
    }
}

fn register(p: Pending) -> Registered {
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut pending) = PENDING.lock() {
        pending.push((id, p));
    }
    Registered(id)
}

/// Registers a temporary file to remove if the process is stopped.
pub fn temp_file(path: &Path) -> Registered {
    register(Pending::File(path.to_path_buf()))
}

/// Registers a multipart upload to abort if the process is stopped.
pub fn upload(client: &aws_sdk_s3::Client, bucket: &str, key: &str, id: &str) -> Registered {
    register(Pending::Upload { client: client.clone(), bucket: bucket.into(), key: key.into(), id: id.into() })
}

/// Removes every registered temporary file and aborts every registered
/// upload (each abort waits at most a few seconds).
pub async fn undo_all() {
    let pending: Vec<Pending> = match PENDING.lock() {
        Ok(mut p) => p.drain(..).map(|(_, p)| p).collect(),
        Err(_) => return,
    };
    for p in pending {
        match p {
            Pending::File(path) => {
                let _ = std::fs::remove_file(&path);
            }
            Pending::Upload { client, bucket, key, id } => {
                let abort = client.abort_multipart_upload().bucket(&bucket).key(&key).upload_id(&id).send();
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), abort).await;
            }
        }
    }
}

/// Resolves when the process is asked to stop (SIGINT, SIGTERM).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Waits for a stop request, undoes what is pending and exits with 130
/// (the shell's code for an interrupted command). For the one-shot commands;
/// `schedule` handles its own stops.
pub async fn exit_on_stop() {
    stop_signal().await;
    eprintln!("tally: stopped by a signal: unfinished outputs removed, uploads aborted (the previous outputs stay as they were)");
    undo_all().await;
    std::process::exit(130);
}

/// Held by the tests that register or undo (the registry is process-wide).
#[cfg(test)]
pub static TEST_LOCK: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    #[allow(clippy::await_holding_lock)]
    async fn a_stop_removes_what_is_pending_and_only_that() {
        let _serial = TEST_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = std::env::temp_dir().join(format!("tally-cleanup-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (pending, done) = (dir.join(".out.csv.tmp-a"), dir.join(".out.csv.tmp-b"));
        std::fs::write(&pending, b"half").expect("pending");
        std::fs::write(&done, b"kept").expect("done");
        let _kept = temp_file(&pending);
        drop(temp_file(&done)); // finished: no longer registered
        undo_all().await;
        assert!(!pending.exists());
        assert!(done.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
