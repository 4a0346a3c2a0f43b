//! How each array of a world is stored, read from its own metadata rather than assumed:
//! data type, chunk and inner-chunk (shard) shapes, codec names, fill value, the mask's
//! chunking; and the judgments made on it (is it umedata's own layout, which output types
//! it converts to exactly). Creating and opening both build it, reading relies on it.

use std::num::NonZeroU64;
use std::sync::Arc;

use serde_json::{json, Value};
use zarrs::array::codec::CodecChain;
use zarrs::array::data_type;
use zarrs::metadata::v3::MetadataV3;

use super::{DataArray, World};
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::storage::shard::{DirectCodecs, InnerLayout};
use crate::world::ArrayKind;

impl World {
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

    /// How to encode a whole chunk of data array `a` when it is not sharded: its codecs,
    /// for [`crate::storage::shard::encode_chunk`]; `None` for a sharded array.
    pub(crate) fn chunk_layout(&self, a: usize) -> Option<InnerLayout<'_>> {
        let plain = self.plain[a].as_ref()?;
        Some(InnerLayout {
            codecs: &plain.codecs,
            direct: plain.direct.as_ref(),
            shape: &plain.shape,
            data_type: self.arrays[a].data_type(),
            fill_value: self.arrays[a].fill_value(),
        })
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
}

/// Element type of a stored array, from its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Dtype {
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
pub(super) struct ArrayLayout {
    pub(super) dtype: Dtype,
    /// Chunk (shard) shape; the chunk grid is regular.
    pub(super) chunk: Vec<u64>,
    /// Stored as umedata stores it: float32 chunks of whole samples (full extent on every
    /// axis but the first) and, when sharded, inner chunks of whole samples that divide
    /// the chunk; read by the fast path.
    pub(super) native: bool,
    /// The fill value is NaN (an absent chunk is lost data, not a value).
    pub(super) fill_nan: bool,
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
pub(super) fn array_layouts(
    arrays: &[DataArray; 4],
    inner: &[Option<Inner>; 4],
) -> Result<[ArrayLayout; 4]> {
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
                    whole(&s) && chunk[0].is_multiple_of(s[0])
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
pub(super) fn mask_chunk_samples(written: &DataArray) -> Result<u64> {
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

/// The chunk codecs of each data array that is not sharded (`None` for a sharded one):
/// its whole codec chain (Zarr v3 or v2), and the direct encoder when the chain is
/// umedata's default blosc-lz4 one.
pub(super) fn plain_layouts(
    arrays: &[DataArray; 4],
    inner: &[Option<Inner>; 4],
) -> Result<[Option<Inner>; 4]> {
    let layout = |a: usize| -> Result<Option<Inner>> {
        let array = &arrays[a];
        if inner[a].is_some() {
            return Ok(None);
        }
        let meta = serde_json::to_value(array.metadata())
            .map_err(|e| Error::internal(format!("metadata of {}: {e}", array.path())))?;
        let shape = array
            .chunk_shape(&vec![0; array.shape().len()])
            .map_err(|e| from_array(&format!("chunk shape of {}", array.path()), e))?;
        Ok(Some(Inner {
            codecs: array.codecs(),
            // Zarr v2 metadata has no `codecs`: its chains go through zarrs.
            direct: DirectCodecs::from_metadata(&meta["codecs"]),
            shape: shape.to_vec(),
            standard_index: true,
        }))
    };
    Ok([layout(0)?, layout(1)?, layout(2)?, layout(3)?])
}

/// The inner chunks of a sharded data array.
pub(super) struct Inner {
    pub(super) codecs: Arc<CodecChain>,
    pub(super) shape: Vec<NonZeroU64>,
    /// The shard index is `[bytes(little), crc32c]` at the end (what zarrs writes by
    /// default and what [`crate::storage::shard`] builds).
    pub(super) standard_index: bool,
    /// The inner codecs, when the writer encodes them itself.
    direct: Option<DirectCodecs>,
}

/// The inner chunks of each data array, from its metadata (`None` for an array that is
/// not sharded).
pub(super) fn inner_layouts(arrays: &[DataArray; 4]) -> Result<[Option<Inner>; 4]> {
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
