//! What a run leaves half-done while it works (temporary files, unfinished
//! S3 multipart uploads), registered here so that a failure, SIGINT or
//! SIGTERM removes it: the previous output is never touched, and no debris
//! is left beside it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
/// Set (under the `PENDING` lock) once a stop has begun: no new work is
/// registered and nothing more is committed.
static STOPPING: AtomicBool = AtomicBool::new(false);
/// S3 uploads being completed right now (their outcome is S3's to decide).
static COMPLETING: AtomicUsize = AtomicUsize::new(0);

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

/// Publishes a local output (`rename`) unless a stop has begun: runs under
/// the registry's lock, so a stop either comes first (and nothing is
/// published) or after (and the output is whole). `None` when stopping.
pub fn commit<T>(publish: impl FnOnce() -> T) -> Option<T> {
    let _guard = PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if STOPPING.load(Ordering::SeqCst) {
        return None;
    }
    Some(publish())
}

/// Marks an S3 upload as being completed; `None` when a stop has begun.
/// The mark lasts as long as the value.
pub fn completing() -> Option<Completing> {
    let _guard = PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if STOPPING.load(Ordering::SeqCst) {
        return None;
    }
    COMPLETING.fetch_add(1, Ordering::SeqCst);
    Some(Completing)
}

/// An S3 upload being completed (see [`completing`]).
#[derive(Debug)]
pub struct Completing;

impl Drop for Completing {
    fn drop(&mut self) {
        COMPLETING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Removes every registered temporary file and aborts every registered
/// upload (each abort waits at most a few seconds). From then on nothing is
/// committed. True when an S3 upload was being completed at that moment (it
/// may have been published).
pub async fn undo_all() -> bool {
    let pending: Vec<Pending> = match PENDING.lock() {
        Ok(mut p) => {
            STOPPING.store(true, Ordering::SeqCst);
            p.drain(..).map(|(_, p)| p).collect()
        }
        Err(_) => return false,
    };
    let racing = COMPLETING.load(Ordering::SeqCst) > 0;
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
    racing
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
    if undo_all().await {
        eprintln!(
            "tally: stopped by a signal while an S3 output was being completed: it may have been published; \
             unfinished outputs removed, other uploads aborted"
        );
    } else {
        eprintln!("tally: stopped by a signal: unfinished outputs removed, uploads aborted (the previous outputs stay as they were)");
    }
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
        assert!(!undo_all().await);
        assert!(!pending.exists());
        assert!(done.exists());
        // Once stopping, nothing more is published (reset for the other tests).
        assert_eq!(commit(|| 1), None);
        STOPPING.store(false, Ordering::SeqCst);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
