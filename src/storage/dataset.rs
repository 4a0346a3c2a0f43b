//! The on-disk layout of a dataset: a root group naming the umedata format, one group per
//! world, and in it the four float32 data arrays plus the `written` mask, all chunked along
//! the sample axis only.

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use serde_json::{json, Value};
use zarrs::array::codec::{CodecChain, Crc32cCodec};
use zarrs::array::{
    data_type, Array, ArrayBuilder, ArrayToBytesCodecTraits, BytesRepresentation,
    BytesToBytesCodecTraits,
};
use zarrs::group::{Group, GroupBuilder};
use zarrs::metadata::v3::MetadataV3;
use zarrs::storage::{ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits};

use crate::error::{from_array, from_storage, Error, ErrorKind, Result};
use crate::storage::claims::Claims;
use crate::storage::codec::{codec_options, Codec};
use crate::storage::shard::{DirectCodecs, InnerLayout};
use crate::storage::store::AtomicFsStore;
use crate::world::{ArrayKind, WorldDesc, WRITTEN};

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
        if chunk_samples % d == 0 {
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

/// The inner chunk length for `opts`, checked against the chunk length.
fn resolve_inner(desc: &WorldDesc, opts: &StorageOptions, chunk_samples: u64) -> Result<u64> {
    if opts.zarr_format == 2 {
        return Ok(chunk_samples);
    }
    match opts.inner_chunk_samples {
        None | Some(0) => Ok(default_inner_chunk_samples(desc, chunk_samples)),
        Some(i) if i <= chunk_samples && chunk_samples % i == 0 => Ok(i),
        Some(i) => Err(Error::invalid(format!(
            "inner_chunk_samples {i} does not divide chunk_samples {chunk_samples} (expected a divisor of it, or 0 for the default)"
        ))),
    }
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

    /// Creates (or with `overwrite`, replaces) a world in the dataset at `root`. A world
    /// held by a live writer is never replaced (see [`crate::storage::claims`]).
    #[cfg(test)]
    pub(crate) fn create(
        root: &Path,
        desc: &WorldDesc,
        opts: &StorageOptions,
        overwrite: bool,
    ) -> Result<World> {
        Self::create_held(root, desc, opts, overwrite, None).map(|(world, _)| world)
    }

    /// [`World::create`], holding the world (with a lease of `lease` seconds) from before
    /// the existing one is checked until the returned claims are dropped: what a writer
    /// does, so that no other process replaces the world under it.
    pub(crate) fn create_held(
        root: &Path,
        desc: &WorldDesc,
        opts: &StorageOptions,
        overwrite: bool,
        lease: Option<u64>,
    ) -> Result<(World, Option<Claims>)> {
        init_zarrs_config();
        desc.validate()?;
        let chunk_samples = opts.chunk_samples_for(desc);
        desc.validate_chunk(chunk_samples)?;
        let level = opts.codec.level(opts.clevel)?;
        let inner_chunk_samples = resolve_inner(desc, opts, chunk_samples)?;
        if root.exists() && !root.is_dir() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("path '{}' exists and is not a directory", root.display()),
            ));
        }
        crate::storage::store::create_dir_durable(root, opts.durable)
            .map_err(|e| Error::io("cannot create dataset directory", root, &e))?;
        let store = AtomicFsStore::open(root, opts.durable)?;
        let format = opts.zarr_format;
        prepare_root(&store, root, format)?;

        // Everything that can be refused was checked above, before an existing world
        // is touched.
        let world_id = &desc.world_id;
        let hold = lease.map(|l| Claims::hold(root, world_id, l)).transpose()?;

        // An existing world is replaced only on request, and never while a writer holds it.
        let world_path = format!("/{world_id}");
        if get_json(&store, &group_key(format, world_id))?.is_some() {
            if !overwrite {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "world '{world_id}' already exists in '{}' (set the overwrite option to replace it)",
                        root.display()
                    ),
                ));
            }
            crate::storage::claims::refuse_if_held(root, world_id, hold.as_ref())?;
            crate::storage::claims::remove_world(root, world_id, hold.as_ref())?;
        }

        let build = |kind: Option<ArrayKind>| -> Result<DataArray> {
            let (name, dims, dim_names, typesize): (&str, Vec<usize>, &[&str], usize) = match kind {
                Some(k) => (k.name(), desc.sample_dims(k), k.dimension_names(), 4),
                None => (WRITTEN, vec![], &["sample"], 1),
            };
            let mut shape = vec![desc.n_samples];
            shape.extend(dims.iter().map(|&d| d as u64));
            let mut chunk = vec![chunk_samples];
            chunk.extend(dims.iter().map(|&d| d as u64));
            let path = format!("{world_path}/{name}");
            // The small `written` mask is read whole; the data arrays are sharded.
            let inner = (kind.is_some() && inner_chunk_samples < chunk_samples).then(|| {
                let mut inner = vec![inner_chunk_samples];
                inner.extend(dims.iter().map(|&d| d as u64));
                inner
            });
            let spec = ArraySpec {
                path: &path,
                shape,
                chunk,
                inner,
                float: typesize == 4,
                dim_names,
            };
            if format == 2 {
                create_array_v2(&store, &spec, opts.codec, level)
            } else {
                create_array_v3(
                    &store,
                    &spec,
                    opts.codec.chain(level, typesize, opts.checksum)?,
                )
            }
        };
        let arrays = [
            build(Some(ArrayKind::Theta))?,
            build(Some(ArrayKind::Trajectories))?,
            build(Some(ArrayKind::Irfs))?,
            build(Some(ArrayKind::Shocks))?,
        ];
        let written = build(None)?;
        // The group metadata goes last: a world whose group metadata exists has all its arrays.
        let mut attrs = serde_json::Map::new();
        attrs.insert(
            "umedata_world".into(),
            desc.to_attributes(chunk_samples, opts.codec.name()),
        );
        store_group(&store, format, world_id, attrs)?;
        if format == 2 {
            consolidate_v2(&store)?;
        }
        let inner = inner_layouts(&arrays)?;
        let layouts = array_layouts(&arrays, &inner)?;
        let mask_chunk = mask_chunk_samples(&written)?;
        let world = World {
            root: root.to_path_buf(),
            desc: desc.clone(),
            chunk_samples,
            inner,
            layouts,
            mask_chunk,
            codec: opts.codec.name().to_string(),
            arrays,
            written,
            store,
        };
        Ok((world, hold))
    }

    /// The Zarr format of the world's arrays: 2 or 3.
    pub(crate) fn zarr_format(&self) -> u8 {
        match self.written.metadata() {
            zarrs::metadata::ArrayMetadata::V2(_) => 2,
            _ => 3,
        }
    }

    /// Stores `values` as the `(n_samples,)` uint8 array `name` of the world (dimension
    /// `sample`, chunked like the world, in the world's Zarr format with `codec`; Zarr v3
    /// adds a crc32c checksum if `checksum`), replacing an earlier array of that name:
    /// chunks first, the array metadata last (then, for Zarr v2, the consolidated
    /// metadata), each file atomically. Positions past `values` hold `fill`.
    pub(crate) fn store_u8_array(
        &self,
        name: &str,
        values: &[u8],
        fill: u8,
        codec: Codec,
        checksum: bool,
    ) -> Result<()> {
        let level = codec.level(None)?;
        let world_id = &self.desc.world_id;
        let path = format!("/{world_id}/{name}");
        let prefix = StorePrefix::new(format!("{world_id}/{name}/"))
            .map_err(|e| Error::internal(e.to_string()))?;
        self.store
            .erase_prefix(&prefix)
            .map_err(|e| from_storage(&format!("removing the previous {name} array"), e))?;
        let format = self.zarr_format();
        let v2 = (format == 2).then(|| {
            let zarray = json!({
                "zarr_format": 2,
                "shape": [self.desc.n_samples],
                "chunks": [self.chunk_samples],
                "dtype": "|u1",
                "compressor": v2_compressor(codec, level, 1),
                "fill_value": fill,
                "order": "C",
                "filters": null,
                "dimension_separator": ".",
            });
            let zattrs = json!({"_ARRAY_DIMENSIONS": ["sample"]});
            (zarray, zattrs)
        });
        let array = match &v2 {
            Some((zarray, _)) => {
                let meta: zarrs::metadata::v2::ArrayMetadataV2 =
                    serde_json::from_value(zarray.clone())
                        .map_err(|e| Error::internal(format!("array {name} (v2): {e}")))?;
                Array::new_with_metadata(
                    self.store.clone(),
                    &path,
                    zarrs::metadata::ArrayMetadata::V2(meta),
                )
                .map_err(|e| Error::internal(format!("array {name} (v2): {e}")))?
            }
            None => {
                let mut builder = ArrayBuilder::new(
                    vec![self.desc.n_samples],
                    vec![self.chunk_samples],
                    data_type::uint8(),
                    fill,
                );
                builder
                    .bytes_to_bytes_codecs(codec.chain(level, 1, checksum)?)
                    .dimension_names(Some(["sample"]));
                builder
                    .build(self.store.clone(), &path)
                    .map_err(|e| Error::internal(format!("array {name}: {e}")))?
            }
        };
        let cs = self.chunk_samples as usize;
        for c in 0..self.n_chunks() {
            let lo = (c as usize * cs).min(values.len());
            let hi = (lo + cs).min(values.len());
            let mut chunk = values[lo..hi].to_vec();
            chunk.resize(cs, fill);
            array
                .store_chunk_opt(&[c], chunk.as_slice(), &codec_options())
                .map_err(|e| from_array(&format!("storing chunk {c} of the {name} array"), e))?;
        }
        match v2 {
            Some((zarray, zattrs)) => {
                let key = path.trim_start_matches('/');
                put_json(&self.store, &format!("{key}/.zattrs"), &zattrs)?;
                put_json(&self.store, &format!("{key}/.zarray"), &zarray)?;
                consolidate_v2(&self.store)
            }
            None => array
                .store_metadata()
                .map_err(|e| from_storage(&format!("writing metadata of the {name} array"), e)),
        }
    }

    /// Opens an existing world for reading (or resuming).
    pub(crate) fn open(root: &Path, world_id: &str) -> Result<World> {
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
        let kind_of = |prefix: String| {
            // Missing metadata is "not found"; metadata that exists but does not parse is a
            // format problem the user must hear about differently.
            let present = ["zarr.json", ".zgroup", ".zarray"].iter().any(|leaf| {
                matches!(
                    StoreKey::new(format!("{prefix}/{leaf}")).map(|k| store.get(&k)),
                    Ok(Ok(Some(_)))
                )
            });
            if present {
                ErrorKind::Format
            } else {
                ErrorKind::NotFound
            }
        };
        let group = Group::open(store.clone(), &world_path).map_err(|e| {
            Error::new(
                kind_of(world_id.to_string()),
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
                    kind_of(format!("{world_id}/{name}")),
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
        let inner = inner_layouts(&arrays)?;
        let layouts = array_layouts(&arrays, &inner)?;
        let mask_chunk = mask_chunk_samples(&written)?;
        Ok(World {
            root: root.to_path_buf(),
            desc,
            chunk_samples,
            inner,
            layouts,
            mask_chunk,
            codec,
            arrays,
            written,
            store,
        })
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

    /// Reads chunk `c` of `array` as float32 (or uint8 widened), fill value where absent.
    pub(crate) fn read_chunk_f32(&self, array: &DataArray, c: u64) -> Result<Vec<f32>> {
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        array
            .retrieve_chunk_opt::<Vec<f32>>(&idx, &codec_options())
            .map_err(|e| from_array(&format!("reading chunk {c} of {}", array.path()), e))
    }

    /// Samples per inner chunk (of trajectories; all data arrays share it when umedata
    /// wrote them); equal to `chunk_samples` when the arrays are not sharded.
    pub(crate) fn inner_chunk_samples(&self) -> u64 {
        self.read_unit_samples(1)
    }

    /// Samples per read unit of data array `a`, from its own metadata: its inner chunk
    /// when it is sharded the way umedata shards, else its chunk length along the sample
    /// axis.
    pub(crate) fn read_unit_samples(&self, a: usize) -> u64 {
        let layout = &self.layouts[a];
        match &self.inner[a] {
            Some(i) if layout.native => i.shape[0].get(),
            _ => layout.chunk[0],
        }
    }

    /// Samples per chunk of data array `a` along the sample axis, from its own metadata.
    pub(crate) fn array_chunk_samples(&self, a: usize) -> u64 {
        self.layouts[a].chunk[0]
    }

    /// Chunk shape of data array `a` (of its shards when sharded), from its own metadata.
    pub(crate) fn array_chunk_shape(&self, a: usize) -> &[u64] {
        &self.layouts[a].chunk
    }

    /// Codec of data array `a` as found in its metadata, in the names of the world
    /// attributes (`blosc-lz4`, `zstd`, `gzip`, `none`, ...).
    pub(crate) fn array_codec(&self, a: usize) -> &str {
        &self.layouts[a].codec
    }

    /// Samples per chunk of the `written` mask, from its own metadata.
    pub(crate) fn mask_chunk_samples(&self) -> u64 {
        self.mask_chunk
    }

    /// Why this world cannot be written by umedata (resumed or extended), `None` when its
    /// arrays are stored exactly as umedata stores them: float32 chunks (or shards of
    /// inner chunks) of `chunk_samples` whole samples, and a uint8 mask chunked alike.
    /// Worlds written by other tools may be read, but writing into them with the world
    /// attribute's chunking could corrupt them.
    pub(crate) fn layout_problem(&self) -> Option<String> {
        let world = &self.desc.world_id;
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            let l = &self.layouts[a];
            if !l.native || l.chunk[0] != self.chunk_samples {
                return Some(format!(
                    "array '{world}/{}' is stored as {} chunks of shape {:?}; umedata writes only float32 chunks of shape [{}, <whole sample>] (the world attribute's chunk_samples)",
                    kind.name(),
                    l.dtype.name(),
                    l.chunk,
                    self.chunk_samples
                ));
            }
        }
        if self.mask_chunk != self.chunk_samples || self.written.data_type() != &data_type::uint8()
        {
            return Some(format!(
                "the written mask of '{world}' is chunked by {} samples (uint8 and {} expected)",
                self.mask_chunk, self.chunk_samples
            ));
        }
        None
    }

    /// Checks that data array `a` can be copied into `f64` buffers (`to_f64`) or `f32`
    /// buffers exactly: every value of its data type must be representable. float32,
    /// (u)int8 and (u)int16 go to both; float64 and (u)int32 only to float64; any other
    /// data type is refused.
    pub(crate) fn check_output_type(&self, a: usize, to_f64: bool) -> Result<()> {
        let dtype = &self.layouts[a].dtype;
        let ok = match dtype {
            Dtype::F32 | Dtype::I8 | Dtype::U8 | Dtype::I16 | Dtype::U16 => true,
            Dtype::F64 | Dtype::I32 | Dtype::U32 => to_f64,
            Dtype::Other(_) => false,
        };
        if ok {
            return Ok(());
        }
        let path = self.arrays[a].path();
        Err(Error::new(
            ErrorKind::Format,
            match dtype {
                Dtype::Other(_) => format!(
                    "array '{}' has data type {}, expected float32 (or float64, int8, int16, int32, uint8, uint16, uint32, which are converted exactly)",
                    path.as_str().trim_start_matches('/'),
                    dtype.name()
                ),
                _ => format!(
                    "array '{}' has data type {}, which float32 output would round: expected float32 (or int8, int16, uint8, uint16) for a float32 read; read it as float64",
                    path.as_str().trim_start_matches('/'),
                    dtype.name()
                ),
            },
        ))
    }

    /// Inner chunk shape of data array `a` (sample axis first), `None` when it is not
    /// sharded.
    pub(crate) fn inner_chunk_shape(&self, a: usize) -> Option<Vec<u64>> {
        self.inner[a]
            .as_ref()
            .map(|i| i.shape.iter().map(|d| d.get()).collect())
    }

    /// How to build shards of data array `a` by hand ([`crate::storage::shard`]); `None` when it
    /// is not sharded or its shard index is not the `[bytes(little), crc32c]` at the end
    /// that [`crate::storage::shard::encode_shard`] writes (a world made by another tool).
    pub(crate) fn shard_layout(&self, a: usize) -> Option<InnerLayout<'_>> {
        let inner = self.inner[a].as_ref().filter(|i| i.standard_index)?;
        Some(InnerLayout {
            codecs: &inner.codecs,
            direct: inner.direct.as_ref(),
            shape: &inner.shape,
            data_type: self.arrays[a].data_type(),
            fill_value: self.arrays[a].fill_value(),
        })
    }

    /// Reads read unit `u` (see [`Self::read_unit_samples`]) of data array `a` as
    /// float32, NaN where nothing is stored. Only for float32 arrays.
    #[cfg(test)]
    pub(crate) fn read_unit_f32(&self, a: usize, u: u64) -> Result<Vec<f32>> {
        match self.read_unit(a, u)? {
            UnitRead::Data(Unit::F32(v)) => Ok(v),
            UnitRead::Data(Unit::F64(_)) => Err(self
                .check_output_type(a, false)
                .err()
                .unwrap_or_else(|| Error::internal("float64 unit"))),
            UnitRead::Missing(_) => {
                let len = self.unit_len(a, u);
                Ok(vec![f32::NAN; len])
            }
        }
    }

    /// Elements of read unit `u` of data array `a` (the last unit may be short).
    #[cfg(test)]
    fn unit_len(&self, a: usize, u: u64) -> usize {
        let us = self.read_unit_samples(a);
        let n = us.min(self.desc.n_samples.saturating_sub(u * us));
        let per: u64 = self.arrays[a].shape()[1..].iter().product();
        (n * per) as usize
    }

    /// Reads read unit `u` (see [`Self::read_unit_samples`]) of data array `a`: its
    /// samples row-major, whole samples back to back (a full unit; positions past the
    /// end of the array hold the fill value).
    ///
    /// Arrays stored as umedata stores them take the fast path. A sharded array's inner
    /// chunk is read from the shard file with one open: its index (checksum verified),
    /// then the inner chunk's bytes, decoded whole with its own codecs so its crc32c is
    /// verified too (zarrs' partial decoders skip that check, and its sub-chunk lookup
    /// overflows on an absent inner chunk). Shards whose index is not the standard
    /// `[bytes, crc32c]` at the end are decoded whole.
    ///
    /// Any other regular chunking (chunks split along the other axes, a different chunk
    /// length per array) and numeric data type is read chunk by chunk, each chunk decoded
    /// whole by zarrs, and its elements placed where they belong.
    ///
    /// An absent chunk (or inner chunk) is [`UnitRead::Missing`] when the array's fill
    /// value is NaN (what umedata writes: it stores every chunk, so an absent one is
    /// lost data); with a numeric fill value (zarr-python's default 0, whose writers
    /// omit chunks equal to it) it reads as that fill value, as Zarr defines.
    pub(crate) fn read_unit(&self, a: usize, u: u64) -> Result<UnitRead> {
        let array = &self.arrays[a];
        let layout = &self.layouts[a];
        if !layout.native {
            return self.read_unit_general(a, u);
        }
        let mut idx = vec![0u64; array.shape().len()];
        let Some(inner) = self.inner[a].as_ref() else {
            idx[0] = u;
            return Ok(self
                .retrieve_f32(array, &idx, layout.fill_nan)?
                .map_or_else(
                    || UnitRead::Missing(self.missing_chunk(array, &idx)),
                    |v| UnitRead::Data(Unit::F32(v)),
                ));
        };
        let us = inner.shape[0].get();
        let per_shard = layout.chunk[0] / us;
        let (c, j) = (u / per_shard, (u % per_shard) as usize);
        idx[0] = c;
        let len = inner.shape.iter().map(|d| d.get()).product::<u64>() as usize;
        if !inner.standard_index || !layout.fill_nan {
            return Ok(match self.retrieve_f32(array, &idx, layout.fill_nan)? {
                Some(shard) => UnitRead::Data(Unit::F32(shard[j * len..(j + 1) * len].to_vec())),
                None => UnitRead::Missing(self.missing_chunk(array, &idx)),
            });
        }
        let what = || {
            format!(
                "reading inner chunk {u} (samples {}..{}) of {}",
                u * us,
                ((u + 1) * us).min(self.desc.n_samples),
                array.path()
            )
        };
        let format_err = |m: String| Error::new(ErrorKind::Format, format!("{}: {m}", what()));
        let key = array.chunk_key(&idx);
        let path = self.root.join(key.as_str());
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(UnitRead::Missing(self.missing_chunk(array, &idx)))
            }
            Err(e) => return Err(Error::io("cannot open", &path, &e)),
        };
        let io = |e: std::io::Error| Error::io("cannot read", &path, &e);
        let size = f.metadata().map_err(io)?.len();
        let index_len = per_shard * 16 + 4;
        if size < index_len {
            return Err(format_err(format!(
                "shard of {size} bytes is shorter than its {index_len}-byte index"
            )));
        }
        let mut index = vec![0u8; index_len as usize];
        f.seek(SeekFrom::Start(size - index_len)).map_err(io)?;
        f.read_exact(&mut index).map_err(io)?;
        let index = Crc32cCodec::new()
            .decode(
                Cow::Owned(index),
                &BytesRepresentation::FixedSize(index_len - 4),
                &codec_options(),
            )
            .map_err(|e| format_err(format!("shard index: {e}")))?;
        let entry = |k: usize| {
            let b = &index[j * 16 + k * 8..j * 16 + k * 8 + 8];
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        };
        let (offset, nbytes) = (entry(0), entry(1));
        if offset == u64::MAX && nbytes == u64::MAX {
            return Ok(UnitRead::Missing(format!(
                "inner chunk {j} (samples {}..{}) of shard '{}' is absent from the shard's index",
                u * us,
                ((u + 1) * us).min(self.desc.n_samples),
                key.as_str()
            )));
        }
        if offset
            .checked_add(nbytes)
            .is_none_or(|end| end > size - index_len)
        {
            return Err(format_err(format!(
                "index entry ({offset}, {nbytes}) points outside the shard's {size} bytes"
            )));
        }
        let mut encoded = vec![0u8; nbytes as usize];
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        f.read_exact(&mut encoded).map_err(io)?;
        let decoded = inner
            .codecs
            .decode(
                Cow::Owned(encoded),
                &inner.shape,
                array.data_type(),
                array.fill_value(),
                &codec_options(),
            )
            .map_err(|e| format_err(e.to_string()))?;
        let bytes = decoded
            .into_fixed()
            .map_err(|e| format_err(e.to_string()))?;
        if bytes.len() != len * 4 {
            return Err(format_err(format!(
                "{} bytes decoded, expected {}",
                bytes.len(),
                len * 4
            )));
        }
        Ok(UnitRead::Data(Unit::F32(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )))
    }

    /// Chunk `idx` of a float32 `array` decoded whole; `None` when it is absent and
    /// `missing_is_none` (else the fill value).
    fn retrieve_f32(
        &self,
        array: &DataArray,
        idx: &[u64],
        missing_is_none: bool,
    ) -> Result<Option<Vec<f32>>> {
        retrieve::<f32>(array, idx, missing_is_none)
    }

    /// Describes absent chunk `idx` of `array` (for [`UnitRead::Missing`]).
    fn missing_chunk(&self, array: &DataArray, idx: &[u64]) -> String {
        let span = array
            .chunk_subset_bounded(idx)
            .map(|s| {
                format!(
                    " (samples {}..{})",
                    s.start()[0],
                    s.start()[0] + s.shape()[0]
                )
            })
            .unwrap_or_default();
        format!(
            "chunk file '{}'{span} is missing",
            array.chunk_key(idx).as_str()
        )
    }

    /// The general path of [`Self::read_unit`]: every chunk of unit `u` (chunk `u` along
    /// the sample axis, all chunks along the others) decoded whole and scattered into
    /// whole samples.
    fn read_unit_general(&self, a: usize, u: u64) -> Result<UnitRead> {
        let array = &self.arrays[a];
        let layout = &self.layouts[a];
        let shape = array.shape().to_vec();
        let dims = &shape[1..];
        let per: u64 = dims.iter().product();
        let us = layout.chunk[0];
        let len = (us * per) as usize;
        let wide = matches!(layout.dtype, Dtype::F64 | Dtype::I32 | Dtype::U32);
        let mut out32 = if wide {
            Vec::new()
        } else {
            vec![f32::NAN; len]
        };
        let mut out64 = if wide {
            vec![f64::NAN; len]
        } else {
            Vec::new()
        };
        let grid = array.chunk_grid_shape().to_vec();
        let mut idx = vec![0u64; shape.len()];
        idx[0] = u;
        loop {
            let subset = array
                .chunk_subset(&idx)
                .map_err(|e| from_array("chunk grid", e))?;
            let miss = layout.fill_nan;
            macro_rules! place {
                ($t:ty, $out:ident, $conv:expr) => {{
                    match retrieve::<$t>(array, &idx, miss)? {
                        None => return Ok(UnitRead::Missing(self.missing_chunk(array, &idx))),
                        Some(v) => scatter(
                            &v,
                            subset.start(),
                            subset.shape(),
                            &shape,
                            u * us,
                            &mut $out,
                            $conv,
                        ),
                    }
                }};
            }
            match layout.dtype {
                Dtype::F32 => place!(f32, out32, |x: f32| x),
                Dtype::I8 => place!(i8, out32, f32::from),
                Dtype::U8 => place!(u8, out32, f32::from),
                Dtype::I16 => place!(i16, out32, f32::from),
                Dtype::U16 => place!(u16, out32, f32::from),
                Dtype::F64 => place!(f64, out64, |x: f64| x),
                Dtype::I32 => place!(i32, out64, f64::from),
                Dtype::U32 => place!(u32, out64, f64::from),
                Dtype::Other(_) => {
                    return Err(self
                        .check_output_type(a, true)
                        .err()
                        .unwrap_or_else(|| Error::internal("dtype")))
                }
            }
            // next chunk along the non-sample axes (odometer)
            let mut ax = shape.len();
            loop {
                if ax == 1 {
                    return Ok(UnitRead::Data(if wide {
                        Unit::F64(out64)
                    } else {
                        Unit::F32(out32)
                    }));
                }
                ax -= 1;
                idx[ax] += 1;
                if idx[ax] < grid[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
    }

    /// Reads chunk `c` of the `written` mask.
    /// The `written` mask of samples `[start, start + count)`, read in the mask's own
    /// chunks, each decoded whole so that its checksum is verified. `count` is clipped
    /// to the end of the world.
    pub(crate) fn read_mask_range(&self, start: u64, count: u64) -> Result<Vec<u8>> {
        let end = start.saturating_add(count).min(self.desc.n_samples);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        if start >= end {
            return Ok(out);
        }
        let mc = self.mask_chunk;
        let is_bool = self.written.data_type() == &data_type::bool();
        for c in start / mc..=(end - 1) / mc {
            let what = || format!("reading chunk {c} of the written mask");
            let chunk: Vec<u8> = if is_bool {
                self.written
                    .retrieve_chunk_opt::<Vec<bool>>(&[c], &codec_options())
                    .map_err(|e| from_array(&what(), e))?
                    .into_iter()
                    .map(u8::from)
                    .collect()
            } else {
                self.written
                    .retrieve_chunk_opt::<Vec<u8>>(&[c], &codec_options())
                    .map_err(|e| from_array(&what(), e))?
            };
            let first = c * mc;
            let lo = (start.max(first) - first) as usize;
            let hi = (end.min(first + mc) - first) as usize;
            if chunk.len() < hi {
                return Err(Error::new(
                    ErrorKind::Format,
                    format!("{}: {} values decoded, expected {mc}", what(), chunk.len()),
                ));
            }
            out.extend_from_slice(&chunk[lo..hi]);
        }
        Ok(out)
    }

    /// The `written` mask of the samples of chunk `c` (chunks of `chunk_samples`, the
    /// world attribute): `samples_in_chunk(c)` values, read in the mask's own chunks.
    pub(crate) fn read_mask_chunk(&self, c: u64) -> Result<Vec<u8>> {
        self.read_mask_range(c * self.chunk_samples, self.samples_in_chunk(c))
    }
}

/// Samples of a read unit, in the array's data type widened exactly.
pub enum Unit {
    /// float32 (or a narrower integer type, converted exactly).
    F32(Vec<f32>),
    /// float64 (or a 32-bit integer type, converted exactly).
    F64(Vec<f64>),
}

/// What [`World::read_unit`] found.
pub enum UnitRead {
    /// The unit's values.
    Data(Unit),
    /// A chunk (or inner chunk) of the unit is absent from a NaN-filled array: what is
    /// missing, for the message.
    Missing(String),
}

/// Chunk `idx` of `array` decoded whole as `T`; `None` when it is absent and
/// `missing_is_none` (else the fill value).
fn retrieve<T: zarrs::array::ElementOwned>(
    array: &DataArray,
    idx: &[u64],
    missing_is_none: bool,
) -> Result<Option<Vec<T>>> {
    let what = || format!("reading chunk {idx:?} of {}", array.path());
    if missing_is_none {
        array
            .retrieve_chunk_if_exists_opt::<Vec<T>>(idx, &codec_options())
            .map_err(|e| from_array(&what(), e))
    } else {
        array
            .retrieve_chunk_opt::<Vec<T>>(idx, &codec_options())
            .map(Some)
            .map_err(|e| from_array(&what(), e))
    }
}

/// Copies a decoded chunk (row-major `chunk_shape`, placed at `origin` of an array of
/// `shape`) into `out`, whole samples from sample `first` on; parts of the chunk past the
/// array's end are skipped.
fn scatter<S: Copy, D>(
    src: &[S],
    origin: &[u64],
    chunk_shape: &[u64],
    shape: &[u64],
    first: u64,
    out: &mut [D],
    conv: impl Fn(S) -> D,
) {
    let nd = shape.len();
    let last = nd - 1;
    // row-major strides of a sample block
    let mut strides = vec![1u64; nd];
    for d in (1..last).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let per: u64 = shape[1..].iter().product();
    let run = chunk_shape[last].min(shape[last].saturating_sub(origin[last])) as usize;
    let mut local = vec![0u64; nd];
    let rows: u64 = chunk_shape[..last].iter().product();
    for row in 0..rows {
        // local index of this row (all axes but the last)
        let mut r = row;
        for d in (0..last).rev() {
            local[d] = r % chunk_shape[d];
            r /= chunk_shape[d];
        }
        let inside = (0..last).all(|d| origin[d] + local[d] < shape[d]);
        let sample = origin[0] + local[0];
        if !inside || sample < first || run == 0 {
            continue;
        }
        let mut dst = (sample - first) * per + origin[last];
        for d in 1..last {
            dst += (origin[d] + local[d]) * strides[d];
        }
        let dst = dst as usize;
        let src_at = (row * chunk_shape[last]) as usize;
        if dst + run > out.len() {
            continue;
        }
        for (o, s) in out[dst..dst + run]
            .iter_mut()
            .zip(&src[src_at..src_at + run])
        {
            *o = conv(*s);
        }
    }
}

/// Element type of a stored array, from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    I8,
    I16,
    I32,
    U8,
    U16,
    U32,
    /// Anything else, by name (refused).
    Other(String),
}

impl Dtype {
    fn from_name(name: &str) -> Dtype {
        match name {
            "float32" => Dtype::F32,
            "float64" => Dtype::F64,
            "int8" => Dtype::I8,
            "int16" => Dtype::I16,
            "int32" => Dtype::I32,
            "uint8" => Dtype::U8,
            "uint16" => Dtype::U16,
            "uint32" => Dtype::U32,
            other => Dtype::Other(other.to_string()),
        }
    }

    /// From a Zarr v2 `dtype` such as `<f8` or `|u1`.
    fn from_v2(dtype: &str) -> Dtype {
        let body = dtype.trim_start_matches(['<', '>', '|', '=']);
        let name = match body {
            "f4" => "float32",
            "f8" => "float64",
            "i1" => "int8",
            "i2" => "int16",
            "i4" => "int32",
            "u1" => "uint8",
            "u2" => "uint16",
            "u4" => "uint32",
            _ => return Dtype::Other(dtype.to_string()),
        };
        Dtype::from_name(name)
    }

    fn name(&self) -> &str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
            Dtype::I8 => "int8",
            Dtype::I16 => "int16",
            Dtype::I32 => "int32",
            Dtype::U8 => "uint8",
            Dtype::U16 => "uint16",
            Dtype::U32 => "uint32",
            Dtype::Other(s) => s,
        }
    }
}

/// How a data array is stored, from its own metadata.
struct ArrayLayout {
    dtype: Dtype,
    /// Chunk (shard) shape; the chunk grid is regular.
    chunk: Vec<u64>,
    /// Stored as umedata stores it: float32 chunks of whole samples (full extent on every
    /// axis but the first) and, when sharded, inner chunks of whole samples that divide
    /// the chunk; read by the fast path.
    native: bool,
    /// The fill value is NaN (an absent chunk is lost data, not a value).
    fill_nan: bool,
    /// Codec name (`blosc-lz4`, `zstd`, `gzip`, `none`, ...).
    codec: String,
}

/// The codec of an array in the names the world attributes use.
fn codec_name(meta: &Value) -> String {
    let mut names = Vec::new();
    if let Some(codecs) = meta["codecs"].as_array() {
        let codecs = match codecs.iter().find(|c| c["name"] == "sharding_indexed") {
            Some(s) => s["configuration"]["codecs"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            None => codecs.clone(),
        };
        for c in &codecs {
            // a codec without configuration may be written as its bare name
            let name = c.as_str().or_else(|| c["name"].as_str()).unwrap_or("?");
            match name {
                "bytes" | "crc32c" => {}
                "blosc" => names.push(format!(
                    "blosc-{}",
                    c["configuration"]["cname"].as_str().unwrap_or("?")
                )),
                other => names.push(other.to_string()),
            }
        }
    } else {
        for f in meta["filters"].as_array().into_iter().flatten() {
            names.push(f["id"].as_str().unwrap_or("?").to_string());
        }
        let comp = &meta["compressor"];
        if let Some(id) = comp["id"].as_str() {
            names.push(match id {
                "blosc" => format!("blosc-{}", comp["cname"].as_str().unwrap_or("?")),
                other => other.to_string(),
            });
        }
    }
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join("+")
    }
}

/// The layout of each data array, from its own metadata.
fn array_layouts(arrays: &[DataArray; 4], inner: &[Option<Inner>; 4]) -> Result<[ArrayLayout; 4]> {
    let layout = |a: usize| -> Result<ArrayLayout> {
        let array = &arrays[a];
        let meta = serde_json::to_value(array.metadata())
            .map_err(|e| Error::internal(format!("metadata of {}: {e}", array.path())))?;
        let name = array.path().as_str().trim_start_matches('/').to_string();
        let dtype = match meta["data_type"].as_str() {
            Some(n) => Dtype::from_name(n),
            None => meta["dtype"].as_str().map_or_else(
                || Dtype::Other(meta["data_type"].to_string()),
                Dtype::from_v2,
            ),
        };
        if meta["zarr_format"] == 3 && meta["chunk_grid"]["name"] != "regular" {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "array '{name}' has chunk grid {}, expected a regular one",
                    meta["chunk_grid"]["name"]
                ),
            ));
        }
        let nd = array.shape().len();
        let chunk: Vec<u64> = array
            .chunk_shape(&vec![0; nd])
            .map_err(|e| from_array(&format!("chunk shape of '{name}'"), e))?
            .iter()
            .map(|d| d.get())
            .collect();
        let whole = |c: &[u64]| c[1..] == array.shape()[1..];
        let native = dtype == Dtype::F32
            && whole(&chunk)
            && match &inner[a] {
                None => true,
                Some(i) => {
                    let s: Vec<u64> = i.shape.iter().map(|d| d.get()).collect();
                    whole(&s) && chunk[0] % s[0] == 0
                }
            };
        let fill = array.fill_value().as_ne_bytes();
        let fill_nan = match dtype {
            Dtype::F32 => {
                fill.len() == 4 && f32::from_ne_bytes([fill[0], fill[1], fill[2], fill[3]]).is_nan()
            }
            Dtype::F64 => {
                fill.len() == 8 && f64::from_ne_bytes(fill.try_into().unwrap_or([0; 8])).is_nan()
            }
            _ => false,
        };
        Ok(ArrayLayout {
            dtype,
            chunk,
            native,
            fill_nan,
            codec: codec_name(&meta),
        })
    };
    Ok([layout(0)?, layout(1)?, layout(2)?, layout(3)?])
}

/// Samples per chunk of the 1-d `written` mask, which must be uint8 or bool.
fn mask_chunk_samples(written: &DataArray) -> Result<u64> {
    let name = written.path().as_str().trim_start_matches('/').to_string();
    let dt = written.data_type();
    if written.shape().len() != 1 || (dt != &data_type::uint8() && dt != &data_type::bool()) {
        return Err(Error::new(
            ErrorKind::Format,
            format!(
                "array '{name}' has shape {:?} and data type {}, expected 1-d uint8 (or bool)",
                written.shape(),
                serde_json::to_value(written.metadata())
                    .ok()
                    .and_then(|m| m.get("data_type").or_else(|| m.get("dtype")).cloned())
                    .unwrap_or(Value::Null)
            ),
        ));
    }
    written
        .chunk_shape(&[0])
        .map(|c| c[0].get())
        .map_err(|e| from_array(&format!("chunk shape of '{name}'"), e))
}

/// The inner chunks of a sharded data array.
struct Inner {
    codecs: Arc<CodecChain>,
    shape: Vec<NonZeroU64>,
    /// The shard index is `[bytes(little), crc32c]` at the end (what zarrs writes by
    /// default and what [`crate::storage::shard`] builds).
    standard_index: bool,
    /// The inner codecs, when the writer encodes them itself.
    direct: Option<DirectCodecs>,
}

/// The inner chunks of each data array, from its metadata (`None` for an array that is
/// not sharded).
fn inner_layouts(arrays: &[DataArray; 4]) -> Result<[Option<Inner>; 4]> {
    let layout = |array: &DataArray| -> Result<Option<Inner>> {
        let meta = serde_json::to_value(array.metadata())
            .map_err(|e| Error::internal(format!("metadata of {}: {e}", array.path())))?;
        let Some(codecs) = meta["codecs"].as_array() else {
            return Ok(None); // Zarr v2
        };
        let Some(sharding) = codecs.iter().find(|c| c["name"] == "sharding_indexed") else {
            return Ok(None);
        };
        let bad = |e: String| {
            Error::new(
                ErrorKind::Format,
                format!("sharding codec of {}: {e}", array.path()),
            )
        };
        let cfg = &sharding["configuration"];
        let inner: Vec<MetadataV3> =
            serde_json::from_value(cfg["codecs"].clone()).map_err(|e| bad(e.to_string()))?;
        let chain = CodecChain::from_metadata(&inner).map_err(|e| bad(e.to_string()))?;
        let shape: Vec<NonZeroU64> =
            serde_json::from_value(cfg["chunk_shape"].clone()).map_err(|e| bad(e.to_string()))?;
        if shape.len() != array.shape().len() {
            return Err(bad(format!("inner chunk shape {shape:?}")));
        }
        let standard_index = cfg["index_location"].as_str().unwrap_or("end") == "end"
            && cfg["index_codecs"]
                == json!([{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}]);
        Ok(Some(Inner {
            codecs: Arc::new(chain),
            direct: DirectCodecs::from_metadata(&cfg["codecs"]),
            shape,
            standard_index,
        }))
    };
    Ok([
        layout(&arrays[0])?,
        layout(&arrays[1])?,
        layout(&arrays[2])?,
        layout(&arrays[3])?,
    ])
}

/// What an array of a world looks like, independent of the Zarr format.
struct ArraySpec<'a> {
    path: &'a str,
    shape: Vec<u64>,
    chunk: Vec<u64>,
    /// Inner chunk shape when chunks are shards (Zarr v3 only).
    inner: Option<Vec<u64>>,
    /// float32 (fill NaN) or uint8 (fill 0).
    float: bool,
    dim_names: &'a [&'a str],
}

fn key(k: &str) -> Result<StoreKey> {
    StoreKey::new(k).map_err(|e| Error::internal(format!("store key '{k}': {e}")))
}

/// The key of a group's metadata document (`prefix` "" for the root).
fn group_key(format: u8, prefix: &str) -> String {
    let name = if format == 2 { ".zgroup" } else { "zarr.json" };
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

fn get_json(store: &AtomicFsStore, k: &str) -> Result<Option<Value>> {
    let Some(bytes) = store
        .get(&key(k)?)
        .map_err(|e| from_storage(&format!("reading {k}"), e))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::new(ErrorKind::Format, format!("'{k}' is not valid JSON: {e}")))
}

fn put_json(store: &AtomicFsStore, k: &str, v: &Value) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::internal(e.to_string()))?;
    store
        .set(&key(k)?, bytes.into())
        .map_err(|e| from_storage(&format!("writing {k}"), e))
}

/// Creates the root group in `format`, or checks that the existing one is a umedata
/// dataset of that format.
fn prepare_root(store: &Arc<AtomicFsStore>, root: &Path, format: u8) -> Result<()> {
    let v3 = get_json(store, "zarr.json")?;
    let v2 = get_json(store, ".zgroup")?;
    let existing = match (&v3, &v2) {
        (Some(_), _) => Some(3),
        (None, Some(_)) => Some(2),
        (None, None) => None,
    };
    if let Some(existing) = existing {
        let attrs = if existing == 3 {
            v3.and_then(|v| v.get("attributes").cloned())
        } else {
            get_json(store, ".zattrs")?
        };
        if attrs
            .as_ref()
            .and_then(|a| a.pointer("/umedata/format_version"))
            .is_none()
        {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "'{}' is a Zarr hierarchy that umedata did not create; choose another path",
                    root.display()
                ),
            ));
        }
        if existing != format {
            return Err(Error::invalid(format!(
                "dataset '{}' is Zarr v{existing}; a world in Zarr v{format} cannot be added to it",
                root.display()
            )));
        }
        return Ok(());
    }
    // A creation killed before the root metadata landed leaves only temp files: not data.
    crate::storage::store::clean_stale_temp_files(root)?;
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
    let mut attrs = serde_json::Map::new();
    attrs.insert(
        "umedata".into(),
        json!({"format_version": FORMAT_VERSION, "library_version": env!("CARGO_PKG_VERSION")}),
    );
    store_group(store, format, "", attrs)
}

/// Writes a group's metadata (and, for Zarr v2, its `.zattrs`).
fn store_group(
    store: &Arc<AtomicFsStore>,
    format: u8,
    prefix: &str,
    attrs: serde_json::Map<String, Value>,
) -> Result<()> {
    if format == 2 {
        let attrs_key = if prefix.is_empty() {
            ".zattrs".to_string()
        } else {
            format!("{prefix}/.zattrs")
        };
        put_json(store, &attrs_key, &Value::Object(attrs))?;
        return put_json(store, &group_key(2, prefix), &json!({"zarr_format": 2}));
    }
    let path = format!("/{prefix}");
    let mut group = GroupBuilder::new()
        .build(store.clone(), &path)
        .map_err(|e| Error::internal(format!("group '{path}': {e}")))?;
    *group.attributes_mut() = attrs;
    group
        .store_metadata()
        .map_err(|e| from_storage(&format!("writing metadata of group '{path}'"), e))
}

fn create_array_v3(
    store: &Arc<AtomicFsStore>,
    spec: &ArraySpec<'_>,
    codecs: Vec<Arc<dyn zarrs::array::codec::api::BytesToBytesCodecTraits>>,
) -> Result<DataArray> {
    let mut builder = if spec.float {
        ArrayBuilder::new(
            spec.shape.clone(),
            spec.chunk.clone(),
            data_type::float32(),
            f32::NAN,
        )
    } else {
        ArrayBuilder::new(
            spec.shape.clone(),
            spec.chunk.clone(),
            data_type::uint8(),
            0u8,
        )
    };
    builder
        .bytes_to_bytes_codecs(codecs)
        // Chunk files `c.<i>.0.0` side by side rather than nested `c/<i>/0/0`: a
        // directory per chunk cost two mkdirs per array per chunk, a third of the
        // writer's system time. Every Zarr v3 reader knows the "." separator.
        .chunk_key_encoding_default_separator(zarrs::array::ChunkKeySeparator::Dot)
        .dimension_names(Some(spec.dim_names.iter().copied()));
    if let Some(inner) = &spec.inner {
        // The codecs above then apply to each inner chunk; the shard index gets bytes +
        // crc32c (zarrs' default) and sits at the end of the shard.
        builder.subchunk_shape(inner.clone());
    }
    let array = builder
        .build(store.clone(), spec.path)
        .map_err(|e| Error::internal(format!("array {}: {e}", spec.path)))?;
    array
        .store_metadata()
        .map_err(|e| from_storage(&format!("writing metadata of {}", spec.path), e))?;
    Ok(array)
}

/// A Zarr v2 array: `.zarray` with the numcodecs compressor, dimension names in
/// `.zattrs` as `_ARRAY_DIMENSIONS` (the xarray convention). No checksum: v2 has no
/// place for one after the compressor.
fn create_array_v2(
    store: &Arc<AtomicFsStore>,
    spec: &ArraySpec<'_>,
    codec: Codec,
    level: i32,
) -> Result<DataArray> {
    let typesize = if spec.float { 4 } else { 1 };
    let compressor = v2_compressor(codec, level, typesize);
    let zarray = json!({
        "zarr_format": 2,
        "shape": spec.shape,
        "chunks": spec.chunk,
        "dtype": if spec.float { "<f4" } else { "|u1" },
        "compressor": compressor,
        "fill_value": if spec.float { json!("NaN") } else { json!(0) },
        "order": "C",
        "filters": null,
        "dimension_separator": ".",
    });
    let prefix = spec.path.trim_start_matches('/');
    put_json(
        store,
        &format!("{prefix}/.zattrs"),
        &json!({"_ARRAY_DIMENSIONS": spec.dim_names}),
    )?;
    put_json(store, &format!("{prefix}/.zarray"), &zarray)?;
    Array::open(store.clone(), spec.path)
        .map_err(|e| Error::internal(format!("reopening v2 array {}: {e}", spec.path)))
}

/// The numcodecs compressor of a Zarr v2 array (`null` for no compression); byte shuffle
/// for items wider than one byte.
fn v2_compressor(codec: Codec, level: i32, typesize: usize) -> Value {
    let shuffle = if typesize > 1 { 1 } else { 0 };
    match codec {
        Codec::BloscLz4 => {
            json!({"id": "blosc", "cname": "lz4", "clevel": level, "shuffle": shuffle, "blocksize": 0})
        }
        Codec::BloscZstd => {
            json!({"id": "blosc", "cname": "zstd", "clevel": level, "shuffle": shuffle, "blocksize": 0})
        }
        Codec::Zstd => json!({"id": "zstd", "level": level}),
        Codec::None => Value::Null,
    }
}

/// Rewrites the consolidated metadata (`.zmetadata`) of a Zarr v2 dataset from every
/// metadata document in it, so readers can open the whole hierarchy with one read.
fn consolidate_v2(store: &AtomicFsStore) -> Result<()> {
    use zarrs::storage::ListableStorageTraits;
    let keys = store
        .list()
        .map_err(|e| from_storage("listing the dataset", e))?;
    let mut metadata = serde_json::Map::new();
    for k in keys {
        let name = k.as_str();
        let leaf = name.rsplit('/').next().unwrap_or(name);
        if matches!(leaf, ".zgroup" | ".zattrs" | ".zarray") {
            if let Some(v) = get_json(store, name)? {
                metadata.insert(name.to_string(), v);
            }
        }
    }
    put_json(
        store,
        ".zmetadata",
        &json!({"zarr_consolidated_format": 1, "metadata": metadata}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
