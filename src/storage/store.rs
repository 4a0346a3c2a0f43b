//! The filesystem store under every dataset: zarrs' `FilesystemStore` for reading and
//! listing, with whole-value writes made atomic (temp file + fsync + rename), so that a
//! process killed at any instant leaves either the old value or the new one, never a torn
//! chunk or a truncated `zarr.json`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use zarrs::filesystem::FilesystemStore;
use zarrs::storage::byte_range::ByteRangeIterator;
use zarrs::storage::{
    Bytes, ListableStorageTraits, MaybeBytesIterator, OffsetBytesIterator, ReadableStorageTraits,
    StorageError, StoreKey, StoreKeys, StoreKeysPrefixes, StorePrefix, WritableStorageTraits,
};

use crate::error::{Error, ErrorKind, Result};

/// Marker inside the names of temporary files; a killed run may leave such files behind.
pub const TEMP_MARKER: &str = ".umetmp-";

/// A Zarr store on a local filesystem whose `set` is atomic.
#[derive(Debug)]
pub struct AtomicFsStore {
    inner: FilesystemStore,
    /// fsync each value before its rename (see [`AtomicFsStore::set_durable`]).
    durable: std::sync::atomic::AtomicBool,
    /// Start writeback of each value as soon as it is written (see
    /// [`AtomicFsStore::set_early_writeback`]).
    early_writeback: std::sync::atomic::AtomicBool,
    counter: AtomicU64,
    /// `<host>-<pid>`, so a later run can tell whose temp files are stale.
    owner: String,
}

impl AtomicFsStore {
    /// A store rooted at `root`. With `durable`, each value is fsynced before its rename.
    pub fn open(root: &Path, durable: bool) -> Result<Arc<Self>> {
        let inner = FilesystemStore::new(root).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("path '{}' cannot hold a store: {e}", root.display()),
            )
        })?;
        Ok(Arc::new(Self {
            inner,
            durable: std::sync::atomic::AtomicBool::new(durable),
            early_writeback: std::sync::atomic::AtomicBool::new(false),
            counter: AtomicU64::new(0),
            owner: format!(
                "{}-{}",
                crate::storage::claims::this_host(),
                std::process::id()
            ),
        }))
    }

    /// Turns the per-value fsync on or off. A writer that syncs on its own thread turns it
    /// off and calls [`Self::sync_key`] before it publishes what depends on the data.
    pub fn set_durable(&self, durable: bool) {
        self.durable.store(durable, Ordering::Relaxed);
    }

    /// With `on`, every value written is handed to the disk at once (Linux
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait), so a later
    /// [`Self::sync_key`] finds its data already on the way instead of starting the whole
    /// write then: the disk works while the next chunks are compressed.
    pub fn set_early_writeback(&self, on: bool) {
        self.early_writeback.store(on, Ordering::Relaxed);
    }

    /// The file that holds the value at `key`.
    pub fn fs_path(&self, key: &StoreKey) -> PathBuf {
        self.inner.key_to_fspath(key)
    }

    /// Makes the value at `key` durable (fdatasync of that one file).
    pub fn sync_key(&self, key: &StoreKey) -> Result<()> {
        let path = self.inner.key_to_fspath(key);
        std::fs::File::open(&path)
            .and_then(|f| f.sync_data())
            .map_err(|e| Error::io("cannot sync", &path, &e))
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
        self.write_atomic(&path, bytes)
            .map_err(|e| Error::io("cannot write", &path, &e))
    }

    fn write_atomic(&self, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = self.temp_path(target);
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            if self.early_writeback.load(Ordering::Relaxed) {
                start_writeback(&f);
            }
            if self.durable.load(Ordering::Relaxed) {
                f.sync_data()?;
            }
            drop(f);
            std::fs::rename(&tmp, target)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// Starts writing `f`'s dirty pages to disk without waiting for them. Only a hint: a
/// failure here shows up again, and is reported, at the fdatasync that follows.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // TODO(issue 12): the last unsafe outside ffi/ and blosc; goes with the durability rework
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
            if (dead || old) && std::fs::remove_file(&path).is_ok() {
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
        self.write_atomic(&path, &value)
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
