//! The on-disk layout of a dataset: a root group naming the umedata format, one group per
//! world, and in it the four float32 data arrays plus the `written` mask, all chunked along
//! the sample axis only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use serde_json::{json, Value};
use zarrs::array::{data_type, Array, ArrayBuilder};
use zarrs::group::{Group, GroupBuilder};
use zarrs::storage::{ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits};

use crate::codec::Codec;
use crate::error::{from_array, from_storage, Error, ErrorKind, Result};
use crate::store::AtomicFsStore;
use crate::world::{ArrayKind, WorldDesc, WRITTEN};

/// Version of the on-disk format written by this library (root group attribute).
pub const FORMAT_VERSION: &str = "0.1";

/// Target size of one trajectories chunk when the caller does not choose a chunk length.
pub const TARGET_CHUNK_BYTES: usize = 1 << 20;

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
    /// Append a crc32c checksum to every chunk.
    pub checksum: bool,
    /// fsync every stored value before it becomes visible.
    pub durable: bool,
}

impl Default for StorageOptions {
    fn default() -> Self {
        Self {
            codec: Codec::BloscLz4,
            clevel: None,
            chunk_samples: None,
            checksum: true,
            durable: true,
        }
    }
}

/// An opened world: its description and its arrays.
pub struct World {
    /// Dataset root on disk.
    pub root: PathBuf,
    /// Dimensions and names.
    pub desc: WorldDesc,
    /// Samples per chunk.
    pub chunk_samples: u64,
    /// Codec name as recorded in the world attributes (`blosc-lz4`, ...).
    pub codec: String,
    /// `theta`, `trajectories`, `irfs`, `shocks`, in [`ArrayKind::ALL`] order.
    pub arrays: [DataArray; 4],
    /// The uint8 `written` mask.
    pub written: DataArray,
    /// The store they live in.
    pub store: Arc<AtomicFsStore>,
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
    pow2.clamp(1, desc.n_samples)
}

impl World {
    /// Number of chunks along the sample axis.
    pub fn n_chunks(&self) -> u64 {
        self.desc.n_samples.div_ceil(self.chunk_samples)
    }

    /// Samples held by chunk `c` (the last one may be short).
    pub fn samples_in_chunk(&self, c: u64) -> u64 {
        let start = c * self.chunk_samples;
        (self.desc.n_samples - start).min(self.chunk_samples)
    }

    /// The array of `kind`.
    pub fn array(&self, kind: ArrayKind) -> &DataArray {
        &self.arrays[ArrayKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)]
    }

    /// Creates (or with `overwrite`, replaces) a world in the dataset at `root`.
    pub fn create(
        root: &Path,
        desc: &WorldDesc,
        opts: &StorageOptions,
        overwrite: bool,
    ) -> Result<World> {
        init_zarrs_config();
        desc.validate()?;
        let level = opts.codec.level(opts.clevel)?;
        let chunk_samples = match opts.chunk_samples {
            None | Some(0) => default_chunk_samples(desc),
            Some(c) if c > desc.n_samples => desc.n_samples,
            Some(c) => c,
        };
        if root.exists() && !root.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("path '{}' exists and is not a directory", root.display()),
            ));
        }
        std::fs::create_dir_all(root)
            .map_err(|e| Error::io("cannot create dataset directory", root, &e))?;
        let store = AtomicFsStore::open(root, opts.durable)?;

        // Root group: create it, or check that an existing one is ours.
        let root_key = StoreKey::new("zarr.json").map_err(|e| Error::internal(e.to_string()))?;
        match store
            .get(&root_key)
            .map_err(|e| from_storage("reading root zarr.json", e))?
        {
            Some(bytes) => {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    Error::new(
                        ErrorKind::Format,
                        format!("'{}/zarr.json' is not valid JSON: {e}", root.display()),
                    )
                })?;
                if v.pointer("/attributes/umedata/format_version").is_none() {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "'{}' is a Zarr hierarchy that umedata did not create; choose another path",
                            root.display()
                        ),
                    ));
                }
            }
            None => {
                let is_empty = std::fs::read_dir(root)
                    .map_err(|e| Error::io("cannot list", root, &e))?
                    .next()
                    .is_none();
                if !is_empty {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "directory '{}' is not empty and not a umedata dataset; choose an empty or new path",
                            root.display()
                        ),
                    ));
                }
                let attrs = json!({
                    "format_version": FORMAT_VERSION,
                    "library_version": env!("CARGO_PKG_VERSION"),
                });
                let mut group = GroupBuilder::new()
                    .build(store.clone(), "/")
                    .map_err(|e| Error::internal(format!("root group: {e}")))?;
                group.attributes_mut().insert("umedata".into(), attrs);
                group
                    .store_metadata()
                    .map_err(|e| from_storage("writing root group metadata", e))?;
            }
        }

        // World group.
        let world_path = format!("/{}", desc.world_id);
        let world_key = StoreKey::new(format!("{}/zarr.json", desc.world_id))
            .map_err(|e| Error::internal(e.to_string()))?;
        let exists = store
            .get(&world_key)
            .map_err(|e| from_storage("reading world metadata", e))?
            .is_some();
        if exists {
            if !overwrite {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "world '{}' already exists in '{}' (set the overwrite option to replace it)",
                        desc.world_id,
                        root.display()
                    ),
                ));
            }
            let prefix = StorePrefix::new(format!("{}/", desc.world_id))
                .map_err(|e| Error::internal(e.to_string()))?;
            store
                .erase_prefix(&prefix)
                .map_err(|e| from_storage("removing the existing world", e))?;
        }
        let mut group = GroupBuilder::new()
            .build(store.clone(), &world_path)
            .map_err(|e| Error::internal(format!("world group: {e}")))?;
        group.attributes_mut().insert(
            "umedata_world".into(),
            desc.to_attributes(chunk_samples, opts.codec.name()),
        );

        let build = |kind: Option<ArrayKind>| -> Result<DataArray> {
            let (name, dims, dim_names, typesize): (&str, Vec<usize>, &[&str], usize) = match kind {
                Some(k) => (k.name(), desc.sample_dims(k), k.dimension_names(), 4),
                None => (WRITTEN, vec![], &["sample"], 1),
            };
            let mut shape = vec![desc.n_samples];
            shape.extend(dims.iter().map(|&d| d as u64));
            let mut chunk = vec![chunk_samples];
            chunk.extend(dims.iter().map(|&d| d as u64));
            let mut builder = if typesize == 4 {
                ArrayBuilder::new(shape, chunk, data_type::float32(), f32::NAN)
            } else {
                ArrayBuilder::new(shape, chunk, data_type::uint8(), 0u8)
            };
            builder
                .bytes_to_bytes_codecs(opts.codec.chain(level, typesize, opts.checksum)?)
                .dimension_names(Some(dim_names.iter().copied()));
            let path = format!("{world_path}/{name}");
            let array = builder
                .build(store.clone(), &path)
                .map_err(|e| Error::internal(format!("array {name}: {e}")))?;
            array
                .store_metadata()
                .map_err(|e| from_storage(&format!("writing metadata of {name}"), e))?;
            Ok(array)
        };
        let arrays = [
            build(Some(ArrayKind::Theta))?,
            build(Some(ArrayKind::Trajectories))?,
            build(Some(ArrayKind::Irfs))?,
            build(Some(ArrayKind::Shocks))?,
        ];
        let written = build(None)?;
        // The group metadata goes last: a world whose zarr.json exists has all its arrays.
        group
            .store_metadata()
            .map_err(|e| from_storage("writing world group metadata", e))?;
        Ok(World {
            root: root.to_path_buf(),
            desc: desc.clone(),
            chunk_samples,
            codec: opts.codec.name().to_string(),
            arrays,
            written,
            store,
        })
    }

    /// Opens an existing world for reading (or resuming).
    pub fn open(root: &Path, world_id: &str) -> Result<World> {
        init_zarrs_config();
        if !root.is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "dataset '{}' does not exist or is not a directory",
                    root.display()
                ),
            ));
        }
        let store = AtomicFsStore::open(root, true)?;
        let world_path = format!("/{world_id}");
        let kind_of = |key: String| {
            // Missing metadata is "not found"; metadata that exists but does not parse is a
            // format problem the user must hear about differently.
            match StoreKey::new(key).ok().map(|k| store.get(&k)) {
                Some(Ok(Some(_))) => ErrorKind::Format,
                _ => ErrorKind::NotFound,
            }
        };
        let group = Group::open(store.clone(), &world_path).map_err(|e| {
            Error::new(
                kind_of(format!("{world_id}/zarr.json")),
                format!(
                    "world '{world_id}' cannot be opened in dataset '{}': {e}",
                    root.display()
                ),
            )
        })?;
        let attrs = Value::Object(group.attributes().clone());
        let (desc, chunk_samples) = WorldDesc::from_attributes(&attrs)?;
        let codec = attrs
            .pointer("/umedata_world/codec")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string();
        if desc.world_id != world_id {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "world group '{world_id}' says its world_id is '{}'",
                    desc.world_id
                ),
            ));
        }
        let open = |name: &str, dims: Vec<usize>| -> Result<DataArray> {
            let path = format!("{world_path}/{name}");
            let array = Array::open(store.clone(), &path).map_err(|e| {
                Error::new(
                    kind_of(format!("{world_id}/{name}/zarr.json")),
                    format!("array '{world_id}/{name}' cannot be opened: {e}"),
                )
            })?;
            let mut shape = vec![desc.n_samples];
            shape.extend(dims.iter().map(|&d| d as u64));
            if array.shape() != shape.as_slice() {
                return Err(Error::new(
                    ErrorKind::Format,
                    format!(
                        "array '{world_id}/{name}' has shape {:?}, the world attributes imply {:?}",
                        array.shape(),
                        shape
                    ),
                ));
            }
            Ok(array)
        };
        let arrays = [
            open("theta", desc.sample_dims(ArrayKind::Theta))?,
            open("trajectories", desc.sample_dims(ArrayKind::Trajectories))?,
            open("irfs", desc.sample_dims(ArrayKind::Irfs))?,
            open("shocks", desc.sample_dims(ArrayKind::Shocks))?,
        ];
        let written = open(WRITTEN, vec![])?;
        Ok(World {
            root: root.to_path_buf(),
            desc,
            chunk_samples,
            codec,
            arrays,
            written,
            store,
        })
    }

    /// Bytes stored for the chunks of `array` (metadata excluded).
    pub fn stored_bytes(&self, array: &DataArray) -> Result<u64> {
        use zarrs::storage::ListableStorageTraits;
        let prefix = StorePrefix::new(format!(
            "{}/c/",
            array.path().as_str().trim_start_matches('/')
        ))
        .map_err(|e| Error::internal(e.to_string()))?;
        self.store
            .size_prefix(&prefix)
            .map_err(|e| from_storage("measuring stored bytes", e))
    }

    /// Reads chunk `c` of `array` as float32 (or uint8 widened), fill value where absent.
    pub fn read_chunk_f32(&self, array: &DataArray, c: u64) -> Result<Vec<f32>> {
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        array
            .retrieve_chunk_opt::<Vec<f32>>(&idx, &codec_options())
            .map_err(|e| from_array(&format!("reading chunk {c} of {}", array.path()), e))
    }

    /// Reads chunk `c` of the `written` mask.
    pub fn read_mask_chunk(&self, c: u64) -> Result<Vec<u8>> {
        self.written
            .retrieve_chunk_opt::<Vec<u8>>(&[c], &codec_options())
            .map_err(|e| from_array(&format!("reading chunk {c} of the written mask"), e))
    }
}

/// Codec options used for every chunk operation: one chunk is encoded by one thread (the
/// writer parallelises across chunks), empty chunks are stored (a chunk of NaN is data).
pub fn codec_options() -> zarrs::array::CodecOptions {
    zarrs::array::CodecOptions::default()
        .with_concurrent_target(1)
        .with_store_empty_chunks(true)
}
