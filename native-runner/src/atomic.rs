//! Local outputs written all or nothing: a temporary file with an
//! unpredictable name, created exclusively (never through a symlink) in the
//! output's own folder, given the old file's mode and owner, synced, then
//! renamed over the output. On an error, or a stop signal, it is removed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// 96 random bits, hex: from the kernel, or (if it cannot be read) from the
/// standard library's per-process random hasher keys, the time and a counter.
fn random_suffix() -> String {
    let mut bytes = [0u8; 12];
    let from_kernel = fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_ok();
    if !from_kernel {
        use std::hash::{BuildHasher, Hasher};
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        h.write_u32(std::process::id());
        bytes[..8].copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates `path`, which must not exist: never through a symlink, never
/// an existing file.
fn open_new(path: &Path, mode: u32) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Creates `.NAME.tmp-RANDOM` in `dir`: `O_CREAT | O_EXCL | O_NOFOLLOW`,
/// so a file or symlink planted at that name is never opened. `mode` is
/// masked by the umask, as for any new file.
fn create_temp(dir: &Path, name: &str, mode: u32) -> Result<(PathBuf, fs::File)> {
    let mut last = None;
    for _ in 0..8 {
        let tmp = dir.join(format!(".{name}.tmp-{}", random_suffix()));
        match open_new(&tmp, mode) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e).with_context(|| format!("cannot create a temporary file in {}", dir.display())),
        }
    }
    Err(last.map_or_else(|| anyhow::anyhow!("no name"), anyhow::Error::from))
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))
}

/// The old output's mode and owner, if there is one.
fn old_mode(path: &Path) -> Option<(u32, u32, u32)> {
    fs::metadata(path).ok().map(|m| (m.permissions().mode() & 0o7777, m.uid(), m.gid()))
}

/// Writes `bytes` to `path` all or nothing.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).with_context(|| format!("cannot write {}", file.tmp.display()))?;
    file.commit()
}

/// A local output being written: a temporary file beside it, renamed over
/// it by [`AtomicFile::commit`]; removed if dropped before (an error, a stop).
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<fs::File>>,
    old: Option<(u32, u32, u32)>,
    _registered: crate::cleanup::Registered,
}

impl AtomicFile {
    /// Starts writing `path` (its folders are created).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let old = old_mode(path);
        // Private until it has the old file's mode; a new output gets what a plain create gives.
        let (tmp, file) = create_temp(dir, name, if old.is_some() { 0o600 } else { 0o666 })?;
        let registered = crate::cleanup::temp_file(&tmp);
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
            old,
            _registered: registered,
        })
    }

    /// Syncs and renames the file over the output.
    pub fn commit(mut self) -> Result<()> {
        let Some(buffered) = self.file.take() else { anyhow::bail!("{} was already published", self.path.display()) };
        let file = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", self.tmp.display()))?;
        if let Some((mode, uid, gid)) = self.old {
            // Keep the old owner where we may (root, or our own group); never fatal.
            let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
            file.set_permissions(fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot set the mode of {}", self.tmp.display()))?;
        }
        file.sync_all().with_context(|| format!("cannot sync {}", self.tmp.display()))?;
        // Not after a stop has begun: the stop removes the temporary instead.
        crate::cleanup::commit(|| fs::rename(&self.tmp, &self.path))
            .context("stopped before the output was published")?
            .with_context(|| format!("cannot move {} to {}", self.tmp.display(), self.path.display()))?;
        // The rename is durable once the folder is synced.
        if let Some(dir) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("already published")),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.write_all(buf),
            None => Err(std::io::Error::other("already published")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), std::io::Write::flush)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        crate::cleanup::TEST_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tally-atomic-{name}-{}", random_suffix()));
        fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    #[test]
    fn temporary_names_are_unpredictable() {
        let a = random_suffix();
        assert_eq!(a.len(), 24);
        assert_ne!(a, random_suffix());
    }

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let _serial = serial();
        let dir = scratch("symlink");
        let victim = dir.join("victim");
        fs::write(&victim, b"keep me").expect("victim");
        // A symlink planted at the very name a temporary would take, dangling
        // or not, and a file there: the temporary's own open refuses all.
        let link = dir.join(".out.csv.tmp-planted");
        std::os::unix::fs::symlink(&victim, &link).expect("symlink");
        assert!(open_new(&link, 0o600).is_err());
        let dangling = dir.join(".out.csv.tmp-dangling");
        std::os::unix::fs::symlink(dir.join("nowhere"), &dangling).expect("symlink");
        assert!(open_new(&dangling, 0o600).is_err());
        assert!(!dir.join("nowhere").exists());
        assert!(open_new(&victim, 0o600).is_err());
        write_atomically(&dir.join("out.csv"), b"new").expect("write");
        assert_eq!(fs::read(&victim).expect("read"), b"keep me");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_old_mode_is_kept_and_no_temporary_is_left() {
        let _serial = serial();
        let dir = scratch("mode");
        let out = dir.join("out.csv");
        fs::write(&out, b"old").expect("old");
        fs::set_permissions(&out, fs::Permissions::from_mode(0o600)).expect("chmod");
        write_atomically(&out, b"new").expect("write");
        assert_eq!(fs::read(&out).expect("read"), b"new");
        assert_eq!(fs::metadata(&out).expect("meta").permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = fs::read_dir(&dir).expect("list").filter_map(|e| e.ok()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = fs::remove_dir_all(&dir);
    }
}
