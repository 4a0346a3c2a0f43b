//! Creating a world: the root group (or the check that an existing root is a umedata
//! dataset of the same Zarr format), the world's arrays in Zarr v3 or v2, its group
//! metadata last, v2's consolidated metadata, and extra uint8 arrays such as the stored
//! split. Its siblings that open and read a world never write to the store.

use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use zarrs::array::{data_type, Array, ArrayBuilder};
use zarrs::group::GroupBuilder;
use zarrs::storage::{ReadableStorageTraits, StoreKey, StorePrefix, WritableStorageTraits};

use super::layout::{array_layouts, inner_layouts, mask_chunk_samples, plain_layouts};
use super::{
    default_inner_chunk_samples, init_zarrs_config, DataArray, StorageOptions, World,
    FORMAT_VERSION,
};
use crate::error::{from_array, from_storage, Error, ErrorKind, Result};
use crate::storage::claims::Claims;
use crate::storage::codec::{codec_options, Codec};
use crate::storage::store::AtomicFsStore;
use crate::world::{ArrayKind, WorldDesc, WRITTEN};

/// The inner chunk length for `opts`, checked against the chunk length.
fn resolve_inner(desc: &WorldDesc, opts: &StorageOptions, chunk_samples: u64) -> Result<u64> {
    if opts.zarr_format == 2 {
        return Ok(chunk_samples);
    }
    match opts.inner_chunk_samples {
        None | Some(0) => Ok(default_inner_chunk_samples(desc, chunk_samples)),
        Some(i) if i <= chunk_samples && chunk_samples.is_multiple_of(i) => Ok(i),
        Some(i) => Err(Error::invalid(format!(
            "inner_chunk_samples {i} does not divide chunk_samples {chunk_samples} (expected a divisor of it, or 0 for the default)"
        ))),
    }
}

impl World {
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
        let plain = plain_layouts(&arrays, &inner)?;
        let layouts = array_layouts(&arrays, &inner)?;
        let mask_chunk = mask_chunk_samples(&written)?;
        let world = World {
            root: root.to_path_buf(),
            desc: desc.clone(),
            chunk_samples,
            inner,
            plain,
            layouts,
            mask_chunk,
            codec: opts.codec.name().to_string(),
            arrays,
            written,
            store,
        };
        Ok((world, hold))
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
        // One batch: the chunks go to the disk together and are synced before any is
        // visible, instead of one fdatasync after another (one chunk per data chunk). The
        // metadata, written after, makes the array visible.
        self.store.batch(&format!("{world_id}/{name}/"), || {
            for c in 0..self.n_chunks() {
                let lo = (c as usize * cs).min(values.len());
                let hi = (lo + cs).min(values.len());
                let mut chunk = values[lo..hi].to_vec();
                chunk.resize(cs, fill);
                array
                    .store_chunk_opt(&[c], chunk.as_slice(), &codec_options())
                    .map_err(|e| {
                        from_array(&format!("storing chunk {c} of the {name} array"), e)
                    })?;
            }
            Ok(())
        })?;
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
