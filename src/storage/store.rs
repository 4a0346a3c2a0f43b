//! The filesystem store under every dataset: zarrs' `FilesystemStore` for reading and
//! listing, with whole-value writes made atomic (temp file + rename), so that a process
//! killed at any instant leaves either the old value or the new one, never a torn chunk or
//! a truncated `zarr.json`.
//!
//! # Durability (power loss, not only a killed process)
//! What a store promises depends on its [`SyncMode`] mode:
//! - [`SyncMode::Full`] (`durable`, the default; metadata, manifests, splits): each value is
//!   fsynced before its rename, and its directory (and every directory created for it) is
//!   fsynced after, so when `set` returns the value survives a power loss.
//! - [`SyncMode::Deferred`] (a durable writer): values under the deferred prefixes (the data
//!   arrays) are renamed into place without waiting for the disk, unless they replace an
//!   existing value (then they are fsynced before the rename, so the old value, which a
//!   `written` mask may claim, is replaced only by a durable one). Every other value (the
//!   mask) is fsynced before its rename. Directory entries are made durable by
//!   [`AtomicFsStore::sync_dirs`]; the writer calls [`AtomicFsStore::sync_key`] on the data
//!   and then `sync_dirs` before it stores a mask that claims that data.
//! - [`SyncMode::Off`] (`durable = 0`): no fsync at all. A killed process still leaves old or
//!   new values, never torn ones, but a power loss may lose or empty any file written
//!   since the last `sync` of the system, including data the mask claims.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

use crate::error::{Error, ErrorKind, Result};

pub use crate::world::TEMP_MARKER;

/// When a store makes what it writes durable (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SyncMode {
    /// No fsync: safe against a killed process only.
    Off = 0,
    /// Every value and its directory entry durable when `set` returns.
    Full = 1,
    /// Deferred data values, synced by the caller before it publishes what depends on them.
    Deferred = 2,
}

/// Threads that sync the values of a batch at once (they wait for the disk, not the CPU).
const BATCH_SYNC_THREADS: usize = 8;

/// Values written under a prefix during [`AtomicFsStore::batch`], not yet visible.
#[derive(Debug)]
struct Batch {
    prefix: String,
    /// (temp file, target), in the order written.
    files: Vec<(PathBuf, PathBuf)>,
    /// Directories that gain an entry when the batch is published (deepest last).
    dirs: Vec<PathBuf>,
}

/// A Zarr store on a local filesystem whose `set` is atomic.
#[derive(Debug)]
pub struct AtomicFsStore {
    inner: FilesystemStore,
    /// A [`SyncMode`] as `u8`.
    mode: AtomicU8,
    /// Key prefixes whose new values are not synced in [`SyncMode::Deferred`] mode.
    deferred: Mutex<Vec<String>>,
    /// Directories whose entries changed and are not yet fsynced ([`SyncMode::Deferred`]).
    dirty_dirs: Mutex<Vec<PathBuf>>,
    /// Start writeback of each value as soon as it is written (see
    /// [`AtomicFsStore::set_early_writeback`]).
    early_writeback: std::sync::atomic::AtomicBool,
    counter: AtomicU64,
    /// The open batch, if any (see [`AtomicFsStore::batch`]).
    batch: Mutex<Option<Batch>>,
    /// `<host>-<pid>`, so a later run can tell whose temp files are stale.
    owner: String,
    /// Test only: reproduce the order of operations of umedata before issue 15 (no
    /// directory fsync, deferred values and masks renamed before they are synced), so the
    /// crash-state test can show what that order loses.
    #[cfg(test)]
    legacy_order: bool,
}

impl AtomicFsStore {
    /// A store rooted at `root`: [`SyncMode::Full`] with `durable`, else [`SyncMode::Off`].
    pub fn open(root: &Path, durable: bool) -> Result<Arc<Self>> {
        let inner = FilesystemStore::new(root).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("path '{}' cannot hold a store: {e}", root.display()),
            )
        })?;
        let mode = if durable {
            SyncMode::Full
        } else {
            SyncMode::Off
        };
        Ok(Arc::new(Self {
            inner,
            mode: AtomicU8::new(mode as u8),
            deferred: Mutex::new(Vec::new()),
            dirty_dirs: Mutex::new(Vec::new()),
            early_writeback: std::sync::atomic::AtomicBool::new(false),
            counter: AtomicU64::new(0),
            batch: Mutex::new(None),
            owner: format!(
                "{}-{}",
                crate::storage::claims::this_host(),
                std::process::id()
            ),
            #[cfg(test)]
            legacy_order: crate::storage::crashsim::legacy_order(root),
        }))
    }

    fn mode(&self) -> SyncMode {
        match self.mode.load(Ordering::Relaxed) {
            0 => SyncMode::Off,
            1 => SyncMode::Full,
            _ => SyncMode::Deferred,
        }
    }

    /// Turns every fsync off (`durable = 0`) or back to [`SyncMode::Full`].
    pub fn set_durable(&self, durable: bool) {
        let mode = if durable {
            SyncMode::Full
        } else {
            SyncMode::Off
        };
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// [`SyncMode::Deferred`] for the keys under `prefixes` (a durable writer's data arrays,
    /// e.g. `"w/theta/"`): the caller syncs them ([`Self::sync_key`], [`Self::sync_dirs`])
    /// before it publishes what depends on them.
    pub fn set_deferred(&self, prefixes: Vec<String>) {
        *self.deferred.lock().unwrap_or_else(|p| p.into_inner()) = prefixes;
        self.mode.store(SyncMode::Deferred as u8, Ordering::Relaxed);
    }

    /// With `on`, every value written is handed to the disk at once (Linux
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait), so a later
    /// [`Self::sync_key`] finds its data already on the way instead of starting the whole
    /// write then: the disk works while the next chunks are compressed.
    pub fn set_early_writeback(&self, on: bool) {
        self.early_writeback.store(on, Ordering::Relaxed);
    }

    /// Runs `f` with the values it stores under `prefix` (e.g. `"w/split/"`) batched: each is
    /// written to its temp file and handed to the disk at once (not waited for), and only
    /// when `f` returned `Ok` are they all synced, then renamed into place, then their
    /// directories synced. Every value is still durable before its rename makes it visible
    /// (the same promise as [`SyncMode::Full`], whatever the store's mode, except
    /// [`SyncMode::Off`], where the batch is a no-op), but the disk writes all of them
    /// together instead of one at a time, each behind its own fdatasync (a world's split
    /// array has one chunk per data chunk). Values under `prefix` are invisible to readers
    /// until `f` returns. If `f` or the publication fails, the temp files are removed
    /// (values already renamed stay). One batch at a time per store.
    pub fn batch<R>(&self, prefix: &str, f: impl FnOnce() -> Result<R>) -> Result<R> {
        if self.mode() == SyncMode::Off {
            return f();
        }
        {
            let mut b = self.batch.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(open) = b.as_ref() {
                return Err(Error::internal(format!(
                    "a batch of '{}' is open in this store; batches do not nest ('{prefix}')",
                    open.prefix
                )));
            }
            *b = Some(Batch {
                prefix: prefix.to_string(),
                files: Vec::new(),
                dirs: Vec::new(),
            });
        }
        let result = f();
        let batch = self
            .batch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| Error::internal("the store's batch vanished"))?;
        let published = match result {
            Ok(r) => self.publish(&batch).map(|()| r),
            Err(e) => Err(e),
        };
        if published.is_err() {
            for (tmp, _) in &batch.files {
                let _ = fsop::unlink(tmp);
            }
        }
        published
    }

    /// Syncs, renames and syncs the directories of a batch's values.
    fn publish(&self, batch: &Batch) -> Result<()> {
        // The data went to the disk when each file was written; the syncs now wait for it,
        // several at once: the block layer merges the cache flushes of concurrent syncs, so
        // 50 files take about one flush instead of 50 in a row.
        let next = AtomicUsize::new(0);
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let work = || {
            while let Some((tmp, _)) = batch.files.get(next.fetch_add(1, Ordering::Relaxed)) {
                if let Err(e) = fsop::sync_path(tmp) {
                    failed
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(Error::io("cannot sync", tmp, &e));
                    next.store(batch.files.len(), Ordering::Relaxed);
                }
            }
        };
        std::thread::scope(|s| {
            // Helpers that cannot be started leave their share to this thread.
            for _ in 1..batch.files.len().min(BATCH_SYNC_THREADS) {
                let _ = std::thread::Builder::new().spawn_scoped(s, work);
            }
            work();
        });
        if let Some(e) = failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        for (tmp, target) in &batch.files {
            fsop::rename(tmp, target).map_err(|e| Error::io("cannot rename", tmp, &e))?;
        }
        for d in batch.dirs.iter().rev() {
            self.sync_dir(d)
                .map_err(|e| Error::io("cannot sync directory", d, &e))?;
        }
        Ok(())
    }

    /// Writes `bytes` to a temp file of `target` for the open batch if `key` belongs to it;
    /// `None` if it does not.
    fn write_batched(
        &self,
        key: &StoreKey,
        target: &Path,
        bytes: &[u8],
    ) -> Option<std::io::Result<()>> {
        let mut guard = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        let batch = guard
            .as_mut()
            .filter(|b| key.as_str().starts_with(b.prefix.as_str()))?;
        let mut new_dirs = Vec::new();
        let result = (|| -> std::io::Result<()> {
            if let Some(parent) = target.parent() {
                create_dirs(parent, &mut new_dirs)?;
            }
            let tmp = self.temp_path(target);
            let f = fsop::write_new(&tmp, bytes)?;
            start_writeback(&f);
            drop(f);
            batch.files.push((tmp, target.to_path_buf()));
            Ok(())
        })();
        // Directories that gain an entry: the new directories' parents (outermost first),
        // then the target's.
        let parents = new_dirs
            .iter()
            .filter_map(|d| d.parent())
            .chain(target.parent())
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            });
        for p in parents {
            if !batch.dirs.contains(&p) {
                batch.dirs.push(p);
            }
        }
        Some(result)
    }

    /// The file that holds the value at `key`.
    pub fn fs_path(&self, key: &StoreKey) -> PathBuf {
        self.inner.key_to_fspath(key)
    }

    /// Makes the value at `key` durable (fdatasync of that one file; its directory entry
    /// needs [`Self::sync_dirs`]).
    pub fn sync_key(&self, key: &StoreKey) -> Result<()> {
        let path = self.inner.key_to_fspath(key);
        fsop::sync_path(&path).map_err(|e| Error::io("cannot sync", &path, &e))
    }

    /// Makes the directory entries written since the last call durable (fsync of each
    /// directory a value was renamed into or a directory was created in).
    pub fn sync_dirs(&self) -> Result<()> {
        let dirs = std::mem::take(&mut *self.dirty_dirs.lock().unwrap_or_else(|p| p.into_inner()));
        for (k, d) in dirs.iter().enumerate() {
            if let Err(e) = self.sync_dir(d) {
                // Not synced: keep them for the next call.
                self.mark_dirty(&dirs[k..]);
                return Err(Error::io("cannot sync directory", d, &e));
            }
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        #[cfg(test)]
        if self.legacy_order {
            return Ok(());
        }
        fsop::sync_dir(dir)
    }

    fn mark_dirty(&self, dirs: &[PathBuf]) {
        let mut dirty = self.dirty_dirs.lock().unwrap_or_else(|p| p.into_inner());
        for d in dirs {
            if !dirty.contains(d) {
                dirty.push(d.clone());
            }
        }
    }

    fn temp_path(&self, target: &Path) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = target
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        target.with_file_name(format!(".{name}{TEMP_MARKER}{}-{n}", self.owner))
    }

    /// Stores `bytes` at `key`, as atomically as `set`, from a borrowed buffer (a shard
    /// built in a writer thread's reused buffer) and with a umedata error.
    pub fn set_bytes(&self, key: &StoreKey, bytes: &[u8]) -> Result<()> {
        let path = self.inner.key_to_fspath(key);
        self.write_atomic(key, &path, bytes)
            .map_err(|e| Error::io("cannot write", &path, &e))
    }

    fn is_deferred(&self, key: &StoreKey) -> bool {
        let deferred = self.deferred.lock().unwrap_or_else(|p| p.into_inner());
        deferred
            .iter()
            .any(|p| key.as_str().starts_with(p.as_str()))
    }

    fn write_atomic(&self, key: &StoreKey, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(r) = self.write_batched(key, target, bytes) {
            return r;
        }
        let mode = self.mode();
        let deferred = mode == SyncMode::Deferred && self.is_deferred(key);
        #[cfg(test)]
        let legacy = self.legacy_order;
        #[cfg(not(test))]
        let legacy = false;
        let mut new_dirs = Vec::new();
        if let Some(parent) = target.parent() {
            create_dirs(parent, &mut new_dirs)?;
        }
        // The value must be durable before its rename makes it visible, unless nothing
        // can depend on it until the caller syncs it: a deferred value that replaces
        // nothing (the old value of a replaced chunk may be claimed by the mask).
        let sync_first = match mode {
            SyncMode::Off => false,
            SyncMode::Full => true,
            SyncMode::Deferred if legacy => false,
            SyncMode::Deferred => !deferred || fsop::exists(target),
        };
        let tmp = self.temp_path(target);
        let result = (|| -> std::io::Result<()> {
            let f = fsop::write_new(&tmp, bytes)?;
            if self.early_writeback.load(Ordering::Relaxed) {
                start_writeback(&f);
            }
            if sync_first {
                fsop::sync_file(&f, &tmp)?;
            }
            drop(f);
            fsop::rename(&tmp, target)?;
            if legacy && mode == SyncMode::Deferred && !deferred {
                // The old order: the mask was renamed first, synced after.
                fsop::sync_path(target)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = fsop::unlink(&tmp);
        }
        result?;
        if mode == SyncMode::Off {
            return Ok(());
        }
        // Directories that gained an entry: the new directories' parents, and the target's.
        let mut dirs: Vec<PathBuf> = new_dirs
            .iter()
            .filter_map(|d| d.parent())
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .map(Path::to_path_buf)
            .collect();
        if let Some(parent) = target.parent() {
            dirs.push(parent.to_path_buf());
        }
        if mode == SyncMode::Full {
            // Deepest first: a directory's own entries before the entry naming it.
            for d in dirs.iter().rev() {
                self.sync_dir(d)?;
            }
        } else {
            self.mark_dirty(&dirs);
        }
        Ok(())
    }
}

/// Creates `dir` and its missing ancestors, appending each directory created (outermost
/// first) to `created`. One `mkdir` when `dir` exists, like `create_dir_all`.
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> std::io::Result<()> {
    match fsop::mkdir(dir) {
        Ok(()) => {
            created.push(dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) else {
                return Err(e);
            };
            create_dirs(parent, created)?;
            match fsop::mkdir(dir) {
                Ok(()) => {
                    created.push(dir.to_path_buf());
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Creates directory `dir` and its missing ancestors; with `durable`, the parent of every
/// directory created is fsynced, so the new directories survive a power loss.
pub fn create_dir_durable(dir: &Path, durable: bool) -> std::io::Result<()> {
    let mut created = Vec::new();
    create_dirs(dir, &mut created)?;
    if durable {
        #[cfg(test)]
        if crate::storage::crashsim::legacy_order(dir) {
            return Ok(());
        }
        for d in created.iter().rev() {
            match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => fsop::sync_dir(p)?,
                _ => fsop::sync_dir(Path::new("."))?,
            }
        }
    }
    Ok(())
}

/// The file operations of the store, one function each, so that a test can record them
/// ([`crate::storage::crashsim`]: every operation under a recorded root is logged in the order it
/// happened). Outside tests these are the plain system calls.
mod fsop {
    use std::fs::File;
    use std::io::Write;
    use std::path::Path;

    macro_rules! recorded {
        ($path:expr, $rec:ident => $recorded:expr, $plain:expr) => {{
            #[cfg(test)]
            if let Some($rec) = crate::storage::crashsim::recorder($path) {
                return $recorded;
            }
            let _ = $path;
            $plain
        }};
    }

    pub fn mkdir(dir: &Path) -> std::io::Result<()> {
        recorded!(dir, r => r.mkdir(dir), std::fs::create_dir(dir))
    }

    /// Creates `path` (which must not exist) holding `bytes`.
    pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
        recorded!(path, r => r.write_new(path, bytes), {
            let mut f = File::create(path)?;
            f.write_all(bytes)?;
            Ok(f)
        })
    }

    pub fn sync_file(f: &File, path: &Path) -> std::io::Result<()> {
        recorded!(path, r => r.sync_file(f, path), f.sync_data())
    }

    pub fn sync_path(path: &Path) -> std::io::Result<()> {
        recorded!(path, r => r.sync_file(&File::open(path)?, path), File::open(path)?.sync_data())
    }

    pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
        recorded!(from, r => r.rename(from, to), std::fs::rename(from, to))
    }

    pub fn unlink(path: &Path) -> std::io::Result<()> {
        recorded!(path, r => r.unlink(path), std::fs::remove_file(path))
    }

    pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
        recorded!(dir, r => r.sync_dir(dir), File::open(dir)?.sync_all())
    }

    pub fn exists(path: &Path) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }
}

/// Starts writing `f`'s dirty pages to disk without waiting for them. Only a hint: a
/// failure here shows up again, and is reported, at the fdatasync that follows.
#[cfg(target_os = "linux")]
// The one system call std does not wrap (nor do rustix or nix): the only `unsafe` outside
// ffi/ and the blosc SIMD module.
#[allow(unsafe_code)]
fn start_writeback(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the lifetime of `f`; the call reads no memory of
    // ours and only queues I/O.
    let _ = unsafe { libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_f: &std::fs::File) {}

/// Removes the temporary files that killed writers left under `dir`: those of processes of
/// this host that no longer exist, and any older than a day (other hosts' live writers
/// never keep a temp file that long). Returns how many were removed.
pub fn clean_stale_temp_files(dir: &Path) -> Result<usize> {
    let host = crate::storage::claims::this_host();
    let mut removed = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("cannot list", &d, &e)),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pos) = name.find(TEMP_MARKER) else {
                continue;
            };
            // <host>-<pid>-<n> after the marker; the host has no '-' (see this_host).
            let mut parts = name[pos + TEMP_MARKER.len()..].splitn(3, '-');
            let (t_host, t_pid) = (parts.next().unwrap_or(""), parts.next());
            let dead = t_host == host
                && t_pid
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|p| !crate::storage::claims::pid_alive(p));
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 24 * 3600);
            if (dead || old) && fsop::unlink(&path).is_ok() {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

impl ReadableStorageTraits for AtomicFsStore {
    fn get_partial_many<'a>(
        &'a self,
        key: &StoreKey,
        byte_ranges: ByteRangeIterator<'a>,
    ) -> Result<MaybeBytesIterator<'a>, StorageError> {
        self.inner.get_partial_many(key, byte_ranges)
    }

    fn size_key(&self, key: &StoreKey) -> Result<Option<u64>, StorageError> {
        self.inner.size_key(key)
    }

    fn supports_get_partial(&self) -> bool {
        self.inner.supports_get_partial()
    }
}

impl ListableStorageTraits for AtomicFsStore {
    fn list(&self) -> Result<StoreKeys, StorageError> {
        self.inner.list()
    }

    fn list_prefix(&self, prefix: &StorePrefix) -> Result<StoreKeys, StorageError> {
        self.inner.list_prefix(prefix)
    }

    fn list_dir(&self, prefix: &StorePrefix) -> Result<StoreKeysPrefixes, StorageError> {
        self.inner.list_dir(prefix)
    }

    fn size_prefix(&self, prefix: &StorePrefix) -> Result<u64, StorageError> {
        self.inner.size_prefix(prefix)
    }
}

impl WritableStorageTraits for AtomicFsStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> Result<(), StorageError> {
        let path = self.inner.key_to_fspath(key);
        self.write_atomic(key, &path, &value)
            .map_err(|e| StorageError::IOError(Arc::new(e)))
    }

    fn set_partial_many(
        &self,
        key: &StoreKey,
        _offset_values: OffsetBytesIterator,
    ) -> Result<(), StorageError> {
        Err(StorageError::Other(format!(
            "partial writes are not supported by umedata's atomic store (key {key})"
        )))
    }

    fn erase(&self, key: &StoreKey) -> Result<(), StorageError> {
        self.inner.erase(key)
    }

    fn erase_prefix(&self, prefix: &StorePrefix) -> Result<(), StorageError> {
        self.inner.erase_prefix(prefix)
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_is_visible_and_leaves_no_temp_files() {
        let dir = std::env::temp_dir().join(format!("ume-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = AtomicFsStore::open(&dir, true).unwrap();
        let key = StoreKey::new("a/c/0/0").unwrap();
        store.set(&key, Bytes::from_static(b"hello")).unwrap();
        store.set(&key, Bytes::from_static(b"hi")).unwrap();
        assert_eq!(store.get(&key).unwrap().unwrap().as_ref(), b"hi");
        let names: Vec<_> = std::fs::read_dir(dir.join("a/c/0"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["0".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn files_under(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().display().to_string());
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_batch_is_invisible_until_it_returns_then_durable_before_visible() {
        use crate::storage::crashsim::{Op, Recording};
        let dir = std::env::temp_dir().join(format!("ume-batch-{}", std::process::id()));
        let rec = Recording::start(&dir, false);
        let store = AtomicFsStore::open(&dir, true).unwrap();
        let k = |s: &str| StoreKey::new(s).unwrap();
        let keys: Vec<StoreKey> = (0..20).map(|c| k(&format!("w/split/c/{c}"))).collect();
        let out = store
            .batch("w/split/", || {
                for (c, key) in keys.iter().enumerate() {
                    store.set(key, Bytes::from(vec![c as u8; 3])).unwrap();
                    assert!(
                        store.get(key).unwrap().is_none(),
                        "visible inside the batch"
                    );
                }
                // Outside the prefix: stored at once.
                store
                    .set(&k("w/zarr.json"), Bytes::from_static(b"{}"))
                    .unwrap();
                assert!(store.get(&k("w/zarr.json")).unwrap().is_some());
                Ok(7)
            })
            .unwrap();
        assert_eq!(out, 7);
        for (c, key) in keys.iter().enumerate() {
            assert_eq!(store.get(key).unwrap().unwrap().as_ref(), &[c as u8; 3]);
        }
        let mut want: Vec<String> = (0..20).map(|c| format!("w/split/c/{c}")).collect();
        want.push("w/zarr.json".into());
        want.sort();
        assert_eq!(files_under(&dir), want, "no temp file left");

        // The order on disk: every batched file synced before the first of them becomes
        // visible, their directories synced after the last rename, deepest first.
        let ops = rec.ops();
        let renamed: Vec<(usize, u64)> = ops
            .iter()
            .enumerate()
            .filter_map(|(n, op)| match op {
                Op::Rename { to, ino, .. } if to.starts_with("w/split") => Some((n, *ino)),
                _ => None,
            })
            .collect();
        assert_eq!(renamed.len(), 20);
        let first_rename = renamed[0].0;
        let last_rename = renamed[19].0;
        for (_, ino) in &renamed {
            let synced = ops[..first_rename]
                .iter()
                .any(|op| matches!(op, Op::SyncFile { ino: i } if i == ino));
            assert!(synced, "file {ino} visible before it was synced: {ops:?}");
        }
        let dir_syncs: Vec<PathBuf> = ops[last_rename..]
            .iter()
            .filter_map(|op| match op {
                Op::SyncDir { dir } => Some(dir.clone()),
                _ => None,
            })
            .collect();
        let p = PathBuf::from;
        // (the root gained "w")
        assert_eq!(dir_syncs, vec![p("w/split/c"), p("w/split"), p("w"), p("")]);
        drop(rec);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_batch_leaves_nothing_and_batches_do_not_nest() {
        let dir = std::env::temp_dir().join(format!("ume-batch-err-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = AtomicFsStore::open(&dir, true).unwrap();
        let key = StoreKey::new("w/split/c/0").unwrap();
        let r: Result<()> = store.batch("w/split/", || {
            store.set(&key, Bytes::from_static(b"x")).unwrap();
            let nested = store.batch("w/other/", || Ok(()));
            assert!(nested.unwrap_err().message().contains("do not nest"));
            Err(Error::invalid("stop"))
        });
        assert_eq!(r.unwrap_err().message(), "stop");
        assert!(files_under(&dir).is_empty(), "{:?}", files_under(&dir));
        // The store works normally afterwards, and a non-durable store does not batch.
        store.set(&key, Bytes::from_static(b"y")).unwrap();
        assert_eq!(files_under(&dir), vec!["w/split/c/0".to_string()]);
        let off = AtomicFsStore::open(&dir, false).unwrap();
        off.batch("w/split/", || {
            off.set(&key, Bytes::from_static(b"z")).unwrap();
            assert_eq!(off.get(&key).unwrap().unwrap().as_ref(), b"z");
            Ok(())
        })
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = std::env::temp_dir().join(format!("ume-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/c")).unwrap();
        let host = crate::storage::claims::this_host();
        let dead = dir.join(format!("a/c/.0{TEMP_MARKER}{host}-{}-0", (1u32 << 22) + 1));
        let live = dir.join(format!(
            "a/c/.1{TEMP_MARKER}{host}-{}-0",
            std::process::id()
        ));
        let other = dir.join(format!("a/c/.2{TEMP_MARKER}elsewhere-1-0"));
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        std::fs::write(dir.join("a/c/0"), b"data").unwrap();
        assert_eq!(clean_stale_temp_files(&dir).unwrap(), 1);
        assert!(!dead.exists() && live.exists() && other.exists());
        assert!(dir.join("a/c/0").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
