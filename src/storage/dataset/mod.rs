//! The on-disk layout of a dataset: a root group naming the umedata format, one group per
//! world, and in it the four float32 data arrays plus the `written` mask, all chunked along
//! the sample axis only. Here: the [`World`] handle, its storage options and defaults;
//! creating, opening, each array's stored layout and reading live in the child modules.

use std::path::PathBuf;
use std::sync::{Arc, Once};

use zarrs::array::Array;
use zarrs::storage::{ReadableStorageTraits, StorePrefix};

use crate::error::{from_storage, Error, Result};
use crate::storage::codec::Codec;
use crate::storage::store::AtomicFsStore;
use crate::world::{ArrayKind, WorldDesc};

mod create;
mod layout;
mod open;
mod read;

use layout::{ArrayLayout, Inner};
#[cfg(test)]
pub(crate) use read::SHARD_OPENS;
pub use read::{Unit, UnitRead};

/// Version of the on-disk format written by this library (root group attribute).
pub const FORMAT_VERSION: &str = "0.1";

/// Target size of one trajectories chunk when the caller does not choose a chunk length.
pub const TARGET_CHUNK_BYTES: usize = 1 << 20;

/// Target size of one inner chunk (the unit a random read decodes) of trajectories.
pub const TARGET_INNER_CHUNK_BYTES: usize = 64 << 10;

/// A stored float32 data array of a world.
pub type DataArray = Array<AtomicFsStore>;

/// Storage choices fixed when a world is created.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// Compression.
    pub codec: Codec,
    /// Compression level (`None` = codec default).
    pub clevel: Option<i32>,
    /// Samples per chunk (`None` = about 1 MiB of trajectories per chunk).
    pub chunk_samples: Option<u64>,
    /// Samples per inner chunk of a shard (Zarr v3 `sharding_indexed`): a chunk file is
    /// a shard of inner chunks compressed and checksummed one by one, so a read of one
    /// sample decodes one inner chunk, not the whole chunk. `None` = about 64 KiB of
    /// trajectories; equal to the chunk length = no sharding. Zarr v2 has no sharding.
    pub inner_chunk_samples: Option<u64>,
    /// Append a crc32c checksum to every chunk.
    pub checksum: bool,
    /// fsync every stored value before it becomes visible.
    pub durable: bool,
    /// Zarr format of a new world: 3 or 2.
    pub zarr_format: u8,
}

impl StorageOptions {
    /// The chunk length a world of `desc` gets with these options: `chunk_samples`, or
    /// about 1 MiB of trajectories when it is `None` or 0, at most `n_samples`.
    pub fn chunk_samples_for(&self, desc: &WorldDesc) -> u64 {
        match self.chunk_samples {
            None | Some(0) => default_chunk_samples(desc),
            Some(c) => c.min(desc.n_samples),
        }
    }
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            codec: Codec::BloscLz4,
            clevel: None,
            chunk_samples: None,
            inner_chunk_samples: None,
            checksum: true,
            durable: true,
            zarr_format: 3,
        }
    }
}

/// An opened world: its description and its arrays. Opaque outside the crate: get one
/// from [`crate::Reader::world`] or [`crate::Writer::world`] and pass it to
/// [`crate::Splits`] and [`crate::Manifest`] functions.
pub struct World {
    /// Dataset root on disk.
    pub(crate) root: PathBuf,
    /// Dimensions and names.
    pub(crate) desc: WorldDesc,
    /// Samples per chunk.
    pub(crate) chunk_samples: u64,
    /// Per data array, its inner chunks (sharded arrays only): to decode and verify one
    /// inner chunk on its own, and to build shards without zarrs' extra copies.
    inner: [Option<Inner>; 4],
    /// Per data array that is not sharded, its chunk codecs: a plain chunk is encoded by
    /// the same encoder as one inner chunk of a shard ([`crate::storage::shard`]).
    plain: [Option<Inner>; 4],
    /// Per data array, how its own metadata says it is stored (chunking, data type).
    layouts: [ArrayLayout; 4],
    /// Samples per chunk of the `written` mask, from its own metadata.
    mask_chunk: u64,
    /// Codec name as recorded in the world attributes (`blosc-lz4`, ...).
    pub(crate) codec: String,
    /// `theta`, `trajectories`, `irfs`, `shocks`, in [`ArrayKind::ALL`] order.
    pub(crate) arrays: [DataArray; 4],
    /// The uint8 `written` mask.
    pub(crate) written: DataArray,
    /// The store they live in.
    pub(crate) store: Arc<AtomicFsStore>,
}

fn init_zarrs_config() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut config = zarrs::config::global_config_mut();
        config.set_include_zarrs_metadata(false);
        config.set_store_empty_chunks(true);
    });
}

/// Chunk length used when the caller gives none: about 1 MiB of trajectories, a power of
/// two, at most `n_samples`.
pub fn default_chunk_samples(desc: &WorldDesc) -> u64 {
    let per_sample = desc.sample_len(ArrayKind::Trajectories) * 4;
    let ideal = (TARGET_CHUNK_BYTES as f64 / per_sample as f64).max(1.0);
    let pow2 = 2f64.powi(ideal.log2().round() as i32) as u64;
    // Also within MAX_CHUNK_BYTES of all four arrays (irfs may dwarf the trajectories).
    let fit = crate::world::MAX_CHUNK_BYTES / (desc.sample_bytes() as u64).max(1);
    // ... and few enough chunks (MAX_CHUNKS); validate_chunk reports if both cannot hold.
    let fewest = desc.n_samples.div_ceil(crate::world::MAX_CHUNKS);
    let mut c = pow2.clamp(1, desc.n_samples);
    while c > fit.max(1) {
        c /= 2;
    }
    c.max(fewest).max(1)
}

/// Inner chunk length used when the caller gives none: the divisor of `chunk_samples`
/// (a shard holds whole inner chunks) closest to about 64 KiB of trajectories, if one is
/// within a factor 4 of that; else `chunk_samples` itself (no sharding: a chunk length
/// such as 997 would otherwise get one-sample inner chunks).
pub fn default_inner_chunk_samples(desc: &WorldDesc, chunk_samples: u64) -> u64 {
    let per_sample = (desc.sample_len(ArrayKind::Trajectories) * 4).max(1) as f64;
    let ideal = (TARGET_INNER_CHUNK_BYTES as f64 / per_sample).max(1.0);
    let off = |d: u64| (d as f64 / ideal).ln().abs();
    let mut best = chunk_samples;
    let mut d = 1;
    while d * d <= chunk_samples {
        if chunk_samples.is_multiple_of(d) {
            for cand in [d, chunk_samples / d] {
                if off(cand) <= 4f64.ln() && off(cand) < off(best) {
                    best = cand;
                }
            }
        }
        d += 1;
    }
    best
}

impl World {
    /// Number of chunks along the sample axis.
    pub(crate) fn n_chunks(&self) -> u64 {
        self.desc.n_samples.div_ceil(self.chunk_samples)
    }

    /// Samples held by chunk `c` (the last one may be short).
    pub(crate) fn samples_in_chunk(&self, c: u64) -> u64 {
        let start = c * self.chunk_samples;
        (self.desc.n_samples - start).min(self.chunk_samples)
    }

    /// The array of `kind`.
    pub(crate) fn array(&self, kind: ArrayKind) -> &DataArray {
        &self.arrays[ArrayKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)]
    }

    /// The Zarr format of the world's arrays: 2 or 3.
    pub(crate) fn zarr_format(&self) -> u8 {
        match self.written.metadata() {
            zarrs::metadata::ArrayMetadata::V2(_) => 2,
            _ => 3,
        }
    }

    /// Files of the world that should be on disk and are not: the group and array
    /// metadata, and chunk `c` of every array for each `c` of `chunks` (chunks known to
    /// be stored). Empty when the world is whole. A writer checks it at finalize, so that
    /// a world removed or replaced under it is reported instead of a success.
    pub(crate) fn missing_files(&self, chunks: impl IntoIterator<Item = u64>) -> Vec<PathBuf> {
        let v2 = matches!(self.written.metadata(), zarrs::array::ArrayMetadata::V2(_));
        let dir = self.root.join(&self.desc.world_id);
        let mut want = vec![dir.join(if v2 { ".zgroup" } else { "zarr.json" })];
        let all: Vec<&DataArray> = self.arrays.iter().chain([&self.written]).collect();
        for a in &all {
            let name = a.path().as_str().rsplit('/').next().unwrap_or_default();
            want.push(
                dir.join(name)
                    .join(if v2 { ".zarray" } else { "zarr.json" }),
            );
        }
        for c in chunks {
            for a in &all {
                let mut idx = vec![0u64; a.shape().len()];
                idx[0] = c;
                want.push(self.store.fs_path(&a.chunk_key(&idx)));
            }
        }
        want.retain(|p| !p.is_file());
        want
    }

    /// Bytes stored for the chunks of `array` (metadata excluded).
    pub(crate) fn stored_bytes(&self, array: &DataArray) -> Result<u64> {
        use zarrs::storage::ListableStorageTraits;
        let path = array.path().as_str().trim_start_matches('/');
        let prefix =
            StorePrefix::new(format!("{path}/")).map_err(|e| Error::internal(e.to_string()))?;
        let mut total = 0;
        for k in self
            .store
            .list_prefix(&prefix)
            .map_err(|e| from_storage("listing chunks", e))?
        {
            let leaf = k.as_str().rsplit('/').next().unwrap_or_default();
            if matches!(leaf, "zarr.json" | ".zarray" | ".zattrs") {
                continue;
            }
            total += self
                .store
                .size_key(&k)
                .map_err(|e| from_storage("measuring stored bytes", e))?
                .unwrap_or(0);
        }
        Ok(total)
    }

    /// Stored size in bytes of chunk `c` of `array`, `None` when it is not stored.
    pub(crate) fn chunk_stored_bytes(&self, array: &DataArray, c: u64) -> Result<Option<u64>> {
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        let key = array.chunk_key(&idx);
        self.store
            .size_key(&key)
            .map_err(|e| from_storage(&format!("measuring chunk {c} of {}", array.path()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn desc() -> WorldDesc {
        WorldDesc::new("w", 1000, 200, 40, 8, 3, 3)
    }

    #[test]
    fn default_inner_chunk_is_a_divisor_near_64_kib() {
        // 2,400 B of trajectories per sample: 27 samples would be 64 KiB; 32 is the
        // closest divisor of 512 (and of 64), 27 itself the closest of 27 * 5.
        assert_eq!(default_inner_chunk_samples(&desc(), 512), 32);
        assert_eq!(default_inner_chunk_samples(&desc(), 64), 32);
        assert_eq!(default_inner_chunk_samples(&desc(), 135), 27);
        assert_eq!(default_inner_chunk_samples(&desc(), 7), 7);
        assert_eq!(default_inner_chunk_samples(&desc(), 1), 1);
        // a prime chunk length: no divisor near 27, plain chunks rather than 1-sample ones
        assert_eq!(default_inner_chunk_samples(&desc(), 997), 997);
    }

    fn create(name: &str, chunk: u64, inner: Option<u64>, format: u8) -> Result<World> {
        let dir = std::env::temp_dir().join(format!("ume-ds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = StorageOptions {
            chunk_samples: Some(chunk),
            inner_chunk_samples: inner,
            zarr_format: format,
            ..StorageOptions::default()
        };
        World::create(&dir, &desc(), &opts, false)
    }

    #[test]
    fn inner_chunk_option_is_checked_and_recorded() {
        let err = create("bad", 512, Some(100), 3)
            .err()
            .expect("100 does not divide 512");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(
            err.message()
                .contains("inner_chunk_samples 100 does not divide chunk_samples 512"),
            "{}",
            err.message()
        );
        assert!(create("big", 64, Some(128), 3).is_err());

        let w = create("default", 512, None, 3).unwrap();
        assert_eq!(w.inner_chunk_samples(), 32);
        assert!((0..4).all(|a| w.read_unit_samples(a) == 32 && w.shard_layout(a).is_some()));
        let reopened = World::open(&w.root, "w").unwrap();
        assert_eq!(reopened.inner_chunk_samples(), 32);
        assert!(reopened.shard_layout(1).is_some());
        std::fs::remove_dir_all(&w.root).unwrap();

        // inner == chunk: plain chunks, no sharding codec
        let w = create("plain", 64, Some(64), 3).unwrap();
        assert_eq!(w.inner_chunk_samples(), 64);
        assert!((0..4).all(|a| w.shard_layout(a).is_none() && w.read_unit_samples(a) == 64));
        let meta = std::fs::read_to_string(w.root.join("w/trajectories/zarr.json")).unwrap();
        assert!(!meta.contains("sharding_indexed"), "{meta}");
        std::fs::remove_dir_all(&w.root).unwrap();

        // Zarr v2 has no sharding: the option is ignored
        let w = create("v2", 64, Some(16), 2).unwrap();
        assert_eq!(w.inner_chunk_samples(), 64);
        std::fs::remove_dir_all(&w.root).unwrap();
    }

    /// A u8 array (the split) is stored as one batch: every chunk synced before the first
    /// is renamed into place (not one write-sync-rename after another), the directories
    /// synced, the metadata last.
    #[test]
    fn u8_array_chunks_are_synced_together_then_the_metadata_published() {
        use crate::storage::codec::Codec;
        use crate::storage::crashsim::{Op, Recording};
        use std::path::Path;
        for format in [2u8, 3] {
            let root = std::env::temp_dir()
                .join(format!("ume-ds-u8batch-v{format}-{}", std::process::id()));
            let rec = Recording::start(&root, false);
            let opts = StorageOptions {
                chunk_samples: Some(64),
                zarr_format: format,
                ..StorageOptions::default()
            };
            let w = World::create(&root.join("ds"), &desc(), &opts, false).unwrap();
            let before = rec.ops().len();
            let values: Vec<u8> = (0..1000).map(|i| (i % 3) as u8).collect();
            w.store_u8_array("split", &values, 255, Codec::BloscLz4, true)
                .unwrap();
            let ops = rec.ops()[before..].to_vec();
            drop(rec);
            let dir = Path::new("ds/w/split");
            let is_meta = |p: &Path| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name == "zarr.json" || name.starts_with(".z")
            };
            let renames: Vec<(usize, u64)> = ops
                .iter()
                .enumerate()
                .filter_map(|(n, op)| match op {
                    Op::Rename { to, ino, .. } if to.starts_with(dir) && !is_meta(to) => {
                        Some((n, *ino))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(renames.len(), 16, "v{format}: 1000 samples in chunks of 64");
            let (first, last) = (renames[0].0, renames[15].0);
            for (_, ino) in &renames {
                assert!(
                    ops[..first]
                        .iter()
                        .any(|op| matches!(op, Op::SyncFile { ino: i } if i == ino)),
                    "v{format}: chunk file {ino} renamed before it was synced"
                );
            }
            assert!(
                !ops[first..last]
                    .iter()
                    .any(|op| matches!(op, Op::SyncFile { .. } | Op::Create { .. })),
                "v{format}: the chunks were not published together: {:?}",
                &ops[first..last]
            );
            let meta = ops
                .iter()
                .position(
                    |op| matches!(op, Op::Rename { to, .. } if to.starts_with(dir) && is_meta(to)),
                )
                .expect("metadata stored");
            assert!(meta > last, "v{format}: metadata renamed before the chunks");
            let chunk_dir = if format == 3 {
                dir.join("c")
            } else {
                dir.to_path_buf()
            };
            assert!(
                ops[last..meta]
                    .iter()
                    .any(|op| matches!(op, Op::SyncDir { dir } if *dir == chunk_dir)),
                "v{format}: the chunks' directory was not synced before the metadata: {:?}",
                &ops[last..meta]
            );
            std::fs::remove_dir_all(&root).unwrap();
        }
    }
}
