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
use crate::storage::codec::Codec;
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
    pow2.clamp(1, desc.n_samples)
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

    /// Creates (or with `overwrite`, replaces) a world in the dataset at `root`.
    pub(crate) fn create(
        root: &Path,
        desc: &WorldDesc,
        opts: &StorageOptions,
        overwrite: bool,
    ) -> Result<World> {
        init_zarrs_config();
        desc.validate()?;
        opts.codec.level(opts.clevel)?;
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
        let format = opts.zarr_format;
        prepare_root(&store, root, format)?;

        // An existing world is replaced only on request.
        let world_id = &desc.world_id;
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
            let prefix = StorePrefix::new(format!("{world_id}/"))
                .map_err(|e| Error::internal(e.to_string()))?;
            store
                .erase_prefix(&prefix)
                .map_err(|e| from_storage("removing the existing world", e))?;
        }

        let level = opts.codec.level(opts.clevel)?;
        let inner_chunk_samples = resolve_inner(desc, opts, chunk_samples)?;
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
        Ok(World {
            root: root.to_path_buf(),
            desc: desc.clone(),
            chunk_samples,
            inner,
            codec: opts.codec.name().to_string(),
            arrays,
            written,
            store,
        })
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
        Ok(World {
            root: root.to_path_buf(),
            desc,
            chunk_samples,
            inner,
            codec,
            arrays,
            written,
            store,
        })
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

    /// Samples per read unit of data array `a`: its inner chunk when sharded, else its
    /// chunk.
    pub(crate) fn read_unit_samples(&self, a: usize) -> u64 {
        self.inner[a]
            .as_ref()
            .map_or(self.chunk_samples, |i| i.shape[0].get())
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
    /// float32, NaN where nothing is stored.
    ///
    /// A sharded array's inner chunk is read from the shard file with one open: its index
    /// (checksum verified), then the inner chunk's bytes, decoded whole with its own codecs
    /// so its crc32c is verified too (zarrs' partial decoders skip that check, and its
    /// sub-chunk lookup overflows on an absent inner chunk). Shards whose index is not the
    /// standard `[bytes, crc32c]` at the end are decoded whole.
    pub(crate) fn read_unit_f32(&self, a: usize, u: u64) -> Result<Vec<f32>> {
        let array = &self.arrays[a];
        let Some(inner) = &self.inner[a] else {
            return self.read_chunk_f32(array, u);
        };
        let us = inner.shape[0].get();
        let per_shard = self.chunk_samples / us;
        let (c, j) = (u / per_shard, (u % per_shard) as usize);
        let len = inner.shape.iter().map(|d| d.get()).product::<u64>() as usize;
        if !inner.standard_index {
            let shard = self.read_chunk_f32(array, c)?;
            return Ok(shard[j * len..(j + 1) * len].to_vec());
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
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        let path = self.root.join(array.chunk_key(&idx).as_str());
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![f32::NAN; len]),
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
            return Ok(vec![f32::NAN; len]);
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
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// Reads chunk `c` of the `written` mask.
    pub(crate) fn read_mask_chunk(&self, c: u64) -> Result<Vec<u8>> {
        self.written
            .retrieve_chunk_opt::<Vec<u8>>(&[c], &codec_options())
            .map_err(|e| from_array(&format!("reading chunk {c} of the written mask"), e))
    }
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
    let shuffle = if typesize > 1 { 1 } else { 0 };
    let compressor = match codec {
        Codec::BloscLz4 => {
            json!({"id": "blosc", "cname": "lz4", "clevel": level, "shuffle": shuffle, "blocksize": 0})
        }
        Codec::BloscZstd => {
            json!({"id": "blosc", "cname": "zstd", "clevel": level, "shuffle": shuffle, "blocksize": 0})
        }
        Codec::Zstd => json!({"id": "zstd", "level": level}),
        Codec::None => Value::Null,
    };
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

/// Codec options used for every chunk operation: one chunk is encoded by one thread (the
/// writer parallelises across chunks), empty chunks are stored (a chunk of NaN is data).
pub fn codec_options() -> zarrs::array::CodecOptions {
    zarrs::array::CodecOptions::default()
        .with_concurrent_target(1)
        .with_store_empty_chunks(true)
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
