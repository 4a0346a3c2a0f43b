//! Zarr v3 `sharding_indexed` shards built straight from the writer's sample buffers.
//!
//! zarrs can encode a shard from the whole chunk, but it first needs the chunk as one
//! contiguous array and then copies every inner chunk out of it and every encoded inner
//! chunk into the shard: three passes over cold memory per chunk. Inner chunks here run
//! along the sample axis only, so each is a run of whole samples: it is gathered into a
//! small buffer that stays in cache, encoded with the array's own inner codecs (the
//! default blosc-lz4 chain by [`crate::storage::blosc`], in place) into one shard buffer the thread
//! keeps from chunk to chunk, and written to the file in one piece. The layout is the one the
//! specification fixes (inner chunks, then the index of `(offset, nbytes)` pairs as
//! little-endian uint64, `u64::MAX` for an absent inner chunk, then its crc32c), for the
//! index codecs `[bytes(little), crc32c]` at the end, which [`crate::storage::dataset`] checks
//! before it lets the writer take this path.

use std::num::NonZeroU64;

use serde_json::Value;
use zarrs::array::codec::CodecChain;
use zarrs::array::{ArrayToBytesCodecTraits, DataType, FillValue, IntoArrayBytes};

use crate::error::{Error, Result};
use crate::storage::blosc::BloscLz4;
use crate::storage::codec::codec_options;

/// How the inner chunks of one array are encoded.
pub struct InnerLayout<'a> {
    /// The inner chunks' codecs (bytes, compressor, checksum).
    pub codecs: &'a CodecChain,
    /// The same codecs when they are ones this module encodes itself (see [`DirectCodecs`]).
    pub direct: Option<&'a DirectCodecs>,
    /// Shape of one inner chunk: `[samples, per-sample dims...]`.
    pub shape: &'a [NonZeroU64],
    /// float32.
    pub data_type: &'a DataType,
    /// NaN.
    pub fill_value: &'a FillValue,
}

/// Inner-chunk codecs `[bytes(little), blosc(lz4, blocksize 0), crc32c?]`, the default
/// chain, encoded here into the shard buffer ([`crate::storage::blosc`] says why) instead of by
/// zarrs. Float32 values are viewed as their little-endian bytes, so only on
/// little-endian targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectCodecs {
    /// The blosc parameters.
    pub blosc: BloscLz4,
    /// A crc32c follows the blosc frame.
    pub checksum: bool,
}

impl DirectCodecs {
    /// Recognises the chain from the `codecs` of a sharding codec's configuration.
    pub fn from_metadata(codecs: &Value) -> Option<Self> {
        if cfg!(target_endian = "big") {
            return None;
        }
        let list = codecs.as_array()?;
        let (first, rest) = list.split_first()?;
        if *first != serde_json::json!({"name": "bytes", "configuration": {"endian": "little"}}) {
            return None;
        }
        let (blosc, rest) = rest.split_first()?;
        let checksum = match rest {
            [] => false,
            [c] if *c == serde_json::json!({"name": "crc32c"}) => true,
            _ => return None,
        };
        let cfg = &blosc["configuration"];
        if blosc["name"] != "blosc" || cfg["cname"] != "lz4" {
            return None;
        }
        if !(cfg["blocksize"].is_null() || cfg["blocksize"] == 0) {
            return None;
        }
        let shuffle = match cfg["shuffle"].as_str()? {
            "shuffle" => true,
            "noshuffle" => false,
            _ => return None,
        };
        let clevel = u8::try_from(cfg["clevel"].as_u64()?)
            .ok()
            .filter(|l| *l <= 9)?;
        let typesize = usize::try_from(cfg["typesize"].as_u64().unwrap_or(1)).ok()?;
        Some(DirectCodecs {
            blosc: BloscLz4 {
                clevel,
                typesize,
                shuffle,
            },
            checksum,
        })
    }
}

/// Memory one encoding thread keeps from shard to shard, so that building a shard
/// allocates nothing and touches no fresh page once it has been through one.
#[derive(Default)]
pub struct ShardScratch {
    /// The shard being built; only grows. Its first `len` bytes are the shard.
    out: Vec<u8>,
    /// One inner chunk, gathered.
    inner: Vec<f32>,
    index: Vec<u8>,
    blosc: crate::storage::blosc::Scratch,
}

impl ShardScratch {
    /// Makes `out[pos..pos + n]` exist.
    fn reserve(&mut self, pos: usize, n: usize) {
        if self.out.len() < pos + n {
            self.out.resize(pos + n, 0);
        }
    }

    /// Appends `bytes` at `pos`; returns the new end.
    fn put(&mut self, pos: usize, bytes: &[u8]) -> usize {
        self.reserve(pos, bytes.len());
        self.out[pos..pos + bytes.len()].copy_from_slice(bytes);
        pos + bytes.len()
    }
}

/// Encodes a shard of `n_inner` inner chunks into `scratch` and returns it. `gather(j,
/// buf)` fills `buf` (one inner chunk, row-major, NaN where no sample is) with inner chunk
/// `j` and returns whether any of its samples is present; an inner chunk with none is
/// left out of the shard (its index entry says absent, readers see the fill value).
pub fn encode_shard<'s>(
    layout: &InnerLayout<'_>,
    n_inner: usize,
    scratch: &'s mut ShardScratch,
    mut gather: impl FnMut(usize, &mut [f32]) -> bool,
) -> Result<&'s [u8]> {
    let inner_len = layout.shape.iter().map(|d| d.get()).product::<u64>() as usize;
    if scratch.inner.len() != inner_len {
        scratch.inner = vec![f32::NAN; inner_len];
    }
    let mut index = std::mem::take(&mut scratch.index);
    index.clear();
    let mut pos = 0usize;
    let options = codec_options();
    for j in 0..n_inner {
        let mut buf = std::mem::take(&mut scratch.inner);
        let present = gather(j, &mut buf);
        let start = pos;
        let encoded = if present {
            encode_one(layout, &buf, scratch, pos, &options)
                .map_err(|e| Error::internal(format!("encoding inner chunk {j}: {e}")))
        } else {
            Ok(pos)
        };
        scratch.inner = buf;
        pos = encoded?;
        let (offset, nbytes) = if present {
            (start as u64, (pos - start) as u64)
        } else {
            (u64::MAX, u64::MAX)
        };
        index.extend_from_slice(&offset.to_le_bytes());
        index.extend_from_slice(&nbytes.to_le_bytes());
    }
    let crc = crc32c::crc32c(&index);
    index.extend_from_slice(&crc.to_le_bytes());
    pos = scratch.put(pos, &index);
    scratch.index = index;
    Ok(&scratch.out[..pos])
}

/// Encodes one whole chunk of an array that is not sharded into `scratch` and returns it:
/// `fill(buf)` fills `buf` (the chunk, row-major, NaN where no sample is). The same encoder
/// as one inner chunk of a shard, so every full chunk of every format has one path: the
/// direct blosc-lz4 frames for umedata's default chain, zarrs' codec chain for the others
/// (zstd, none, Zarr v2).
pub fn encode_chunk<'s>(
    layout: &InnerLayout<'_>,
    scratch: &'s mut ShardScratch,
    fill: impl FnOnce(&mut [f32]),
) -> Result<&'s [u8]> {
    let len = layout.shape.iter().map(|d| d.get()).product::<u64>() as usize;
    let mut buf = std::mem::take(&mut scratch.inner);
    buf.clear();
    buf.resize(len, f32::NAN);
    fill(&mut buf);
    let end = encode_one(layout, &buf, scratch, 0, &codec_options());
    scratch.inner = buf;
    let end = end.map_err(|e| Error::internal(format!("encoding a chunk: {e}")))?;
    Ok(&scratch.out[..end])
}

/// Encodes `values` (one inner chunk, or one whole plain chunk) with `layout`'s codecs at
/// `pos` of the scratch buffer; returns the end.
fn encode_one(
    layout: &InnerLayout<'_>,
    values: &[f32],
    scratch: &mut ShardScratch,
    pos: usize,
    options: &zarrs::array::CodecOptions,
) -> std::result::Result<usize, String> {
    if let Some(direct) = layout.direct {
        return Ok(encode_direct(direct, values, scratch, pos));
    }
    let bytes = values
        .into_array_bytes(layout.data_type)
        .map_err(|e| e.to_string())?;
    let encoded = layout
        .codecs
        .encode(
            bytes,
            layout.shape,
            layout.data_type,
            layout.fill_value,
            options,
        )
        .map_err(|e| e.to_string())?;
    Ok(scratch.put(pos, &encoded))
}

/// Writes the encoded inner chunk `values` at `pos` of the shard buffer; returns its end.
fn encode_direct(
    direct: &DirectCodecs,
    values: &[f32],
    scratch: &mut ShardScratch,
    pos: usize,
) -> usize {
    let bytes = f32_bytes(values);
    let max = BloscLz4::max_frame_len(bytes.len());
    scratch.reserve(pos, max + 4);
    let n = direct
        .blosc
        .compress_into(bytes, &mut scratch.out[pos..pos + max], &mut scratch.blosc);
    let mut end = pos + n;
    if direct.checksum {
        let crc = crc32c::crc32c(&scratch.out[pos..end]);
        scratch.out[end..end + 4].copy_from_slice(&crc.to_le_bytes());
        end += 4;
    }
    end
}

/// The bytes of `values` in memory order (little-endian, where [`DirectCodecs`] is used).
fn f32_bytes(values: &[f32]) -> &[u8] {
    bytemuck::cast_slice(values)
}

#[cfg(test)]
mod tests {
    use crate::storage::codec::codec_options;
    use crate::storage::dataset::{StorageOptions, World};
    use crate::world::WorldDesc;

    fn world(name: &str, inner: u64) -> World {
        let dir = std::env::temp_dir().join(format!("ume-shard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let desc = WorldDesc::new("w", 40, 5, 2, 3, 2, 2);
        let opts = StorageOptions {
            chunk_samples: Some(16),
            inner_chunk_samples: Some(inner),
            ..StorageOptions::default()
        };
        World::create(&dir, &desc, &opts, false).unwrap()
    }

    /// A plain (unsharded) chunk encoded by `encode_chunk`, the writer's one path, is byte
    /// for byte the chunk zarrs stores from the same values, for every codec and both Zarr
    /// formats; the default blosc-lz4 v3 chain takes the direct encoder.
    #[test]
    fn plain_chunk_equals_zarrs_chunk_for_every_codec_and_format() {
        use crate::storage::codec::Codec;
        let cases = [
            (Codec::BloscLz4, 3u8, true),
            (Codec::BloscLz4, 2, false),
            (Codec::BloscZstd, 3, false),
            (Codec::Zstd, 3, false),
            (Codec::None, 3, false),
            (Codec::Zstd, 2, false),
        ];
        for (k, (codec, format, direct)) in cases.into_iter().enumerate() {
            let dir = std::env::temp_dir().join(format!("ume-plain-{k}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let desc = WorldDesc::new("w", 40, 5, 2, 3, 2, 2);
            let opts = StorageOptions {
                codec,
                chunk_samples: Some(16),
                inner_chunk_samples: Some(16),
                zarr_format: format,
                ..StorageOptions::default()
            };
            let w = World::create(&dir, &desc, &opts, false).unwrap();
            let a = 1;
            let array = &w.arrays[a];
            assert!(w.shard_layout(a).is_none());
            let layout = w.chunk_layout(a).expect("plain chunks have chunk codecs");
            assert_eq!(layout.direct.is_some(), direct, "{codec:?} v{format}");
            let values: Vec<f32> = (0..16 * 10)
                .map(|i| {
                    if i % 37 == 0 {
                        f32::NAN
                    } else {
                        (i as f32).cos()
                    }
                })
                .collect();
            array
                .store_chunk_opt(&[1, 0, 0], values.as_slice(), &codec_options())
                .unwrap();
            let path = w.root.join(array.chunk_key(&[1, 0, 0]).as_str());
            let by_zarrs = std::fs::read(&path).unwrap();
            let mut scratch = super::ShardScratch::default();
            let ours =
                super::encode_chunk(&layout, &mut scratch, |out| out.copy_from_slice(&values))
                    .unwrap();
            assert_eq!(ours, by_zarrs.as_slice(), "{codec:?} v{format}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// A shard built here is byte for byte the one zarrs builds from the same chunk, and
    /// zarrs decodes it to the same values (absent inner chunks included).
    #[test]
    fn hand_built_shard_equals_zarrs_shard() {
        let w = world("eq", 4);
        let a = 1; // trajectories: (n, T=5, n_obs=2)
        let array = &w.arrays[a];
        let per = 10;
        // samples 0..16 of chunk 1; samples 8..12 absent (an inner chunk of NaN)
        let values: Vec<f32> = (0..16 * per)
            .map(|k| {
                if (8 * per..12 * per).contains(&k) {
                    f32::NAN
                } else {
                    (k as f32).sin()
                }
            })
            .collect();
        array
            .store_chunk_opt(&[1, 0, 0], values.as_slice(), &codec_options())
            .unwrap();
        let key = array.chunk_key(&[1, 0, 0]);
        let path = w.root.join(key.as_str());
        let by_zarrs = std::fs::read(&path).unwrap();

        let layout = w.shard_layout(a).expect("sharded, standard index");
        assert!(
            layout.direct.is_some(),
            "the default codecs are encoded here"
        );
        let mut scratch = super::ShardScratch::default();
        let mut encode = |layout: &super::InnerLayout<'_>| {
            let shard = super::encode_shard(layout, 4, &mut scratch, |j, out| {
                out.copy_from_slice(&values[j * 4 * per..(j + 1) * 4 * per]);
                j != 2
            })
            .unwrap();
            w.store.set_bytes(&key, shard).unwrap();
            std::fs::read(&path).unwrap()
        };
        assert_eq!(encode(&layout), by_zarrs);
        // through zarrs' codecs too (the path of the other compressors)
        let through_zarrs = super::InnerLayout {
            direct: None,
            ..w.shard_layout(a).unwrap()
        };
        assert_eq!(encode(&through_zarrs), by_zarrs);
        assert_eq!(encode(&layout), by_zarrs, "scratch reused");
        let back: Vec<f32> = w.read_chunk_f32(array, 1).unwrap();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        // inner chunk by inner chunk, the absent one included (zarrs' own sub-chunk lookup
        // overflows on it)
        for j in 0..4u64 {
            let got = w.read_unit_f32(a, 4 + j).unwrap();
            let want = &values[j as usize * 4 * per..(j as usize + 1) * 4 * per];
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "inner chunk {j}"
            );
        }
        std::fs::remove_dir_all(&w.root).unwrap();
    }

    /// One flipped byte in an inner chunk fails that inner chunk's read and no other; a
    /// flipped byte in the index fails every read of the shard.
    #[test]
    fn checksums_cover_inner_chunks_and_index() {
        let w = world("crc", 4);
        let a = 1;
        let per = 10;
        let values: Vec<f32> = (0..16 * per).map(|k| k as f32).collect();
        let layout = w.shard_layout(a).unwrap();
        let mut scratch = super::ShardScratch::default();
        let shard = super::encode_shard(&layout, 4, &mut scratch, |j, out| {
            out.copy_from_slice(&values[j * 4 * per..(j + 1) * 4 * per]);
            true
        })
        .unwrap();
        let key = w.arrays[a].chunk_key(&[0, 0, 0]);
        w.store.set_bytes(&key, shard).unwrap();
        // inner chunk 1's (offset, nbytes) from the index at the end
        let entry = shard.len() - 4 - 16 * 3;
        let word = |k: usize| u64::from_le_bytes(shard[k..k + 8].try_into().unwrap()) as usize;
        let (start1, len1) = (word(entry), word(entry + 8));
        let path = w.root.join(key.as_str());
        let clean = std::fs::read(&path).unwrap();
        let read = |u: u64| w.read_unit_f32(a, u);
        assert_eq!(read(1).unwrap(), values[4 * per..8 * per].to_vec());

        // a byte in the middle of inner chunk 1
        let mut bytes = clean.clone();
        bytes[start1 + len1 / 2] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let err = read(1).unwrap_err();
        assert!(err.message().contains("inner chunk 1"), "{}", err.message());
        assert!(
            err.message().to_lowercase().contains("checksum"),
            "{}",
            err.message()
        );
        assert_eq!(read(0).unwrap(), values[..4 * per].to_vec());

        // a byte of the index
        let mut bytes = clean;
        let n = bytes.len();
        bytes[n - 10] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        for u in 0..4 {
            assert!(
                read(u).is_err(),
                "inner chunk {u} read despite a corrupt index"
            );
        }
        std::fs::remove_dir_all(&w.root).unwrap();
    }
}
