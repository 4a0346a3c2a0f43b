//! Zarr v3 `sharding_indexed` shards built straight from the writer's sample buffers.
//!
//! zarrs can encode a shard from the whole chunk, but it first needs the chunk as one
//! contiguous array and then copies every inner chunk out of it and every encoded inner
//! chunk into the shard: three passes over cold memory per chunk. Inner chunks here run
//! along the sample axis only, so each is a run of whole samples: it is gathered into a
//! small buffer that stays in cache, encoded with the array's own inner codecs, and the
//! encoded pieces are written to the file one after the other. The layout is the one the
//! specification fixes (inner chunks, then the index of `(offset, nbytes)` pairs as
//! little-endian uint64, `u64::MAX` for an absent inner chunk, then its crc32c), for the
//! index codecs `[bytes(little), crc32c]` at the end, which [`crate::dataset`] checks
//! before it lets the writer take this path.

use std::borrow::Cow;
use std::num::NonZeroU64;

use zarrs::array::codec::{CodecChain, Crc32cCodec};
use zarrs::array::{
    ArrayToBytesCodecTraits, BytesToBytesCodecTraits, DataType, FillValue, IntoArrayBytes,
};

use crate::dataset::codec_options;
use crate::error::{Error, Result};

/// How the inner chunks of one array are encoded.
pub struct InnerLayout<'a> {
    /// The inner chunks' codecs (bytes, compressor, checksum).
    pub codecs: &'a CodecChain,
    /// Shape of one inner chunk: `[samples, per-sample dims...]`.
    pub shape: &'a [NonZeroU64],
    /// float32.
    pub data_type: &'a DataType,
    /// NaN.
    pub fill_value: &'a FillValue,
}

/// An encoded shard as the pieces to write one after the other.
pub struct EncodedShard {
    /// Encoded inner chunks in order, then the encoded index.
    pub parts: Vec<Vec<u8>>,
}

impl EncodedShard {
    /// The pieces as slices, for a vectored write.
    pub fn slices(&self) -> Vec<&[u8]> {
        self.parts.iter().map(Vec::as_slice).collect()
    }
}

/// Encodes a shard of `n_inner` inner chunks. `gather(j, buf)` fills `buf` (one inner
/// chunk, row-major, NaN where no sample is) with inner chunk `j` and returns whether any
/// of its samples is present; an inner chunk with none is left out of the shard (its
/// index entry says absent, readers see the fill value).
pub fn encode_shard(
    layout: &InnerLayout<'_>,
    n_inner: usize,
    mut gather: impl FnMut(usize, &mut [f32]) -> bool,
) -> Result<EncodedShard> {
    let inner_len: u64 = layout.shape.iter().map(|d| d.get()).product();
    let mut buf = vec![f32::NAN; inner_len as usize];
    let mut parts = Vec::with_capacity(n_inner + 1);
    let mut index = Vec::with_capacity(n_inner * 16 + 4);
    let mut offset = 0u64;
    let options = codec_options();
    for j in 0..n_inner {
        if !gather(j, &mut buf) {
            index.extend_from_slice(&u64::MAX.to_le_bytes());
            index.extend_from_slice(&u64::MAX.to_le_bytes());
            continue;
        }
        let bytes = buf
            .as_slice()
            .into_array_bytes(layout.data_type)
            .map_err(|e| Error::internal(format!("inner chunk {j}: {e}")))?;
        let encoded = layout
            .codecs
            .encode(
                bytes,
                layout.shape,
                layout.data_type,
                layout.fill_value,
                &options,
            )
            .map_err(|e| Error::internal(format!("encoding inner chunk {j}: {e}")))?
            .into_owned();
        index.extend_from_slice(&offset.to_le_bytes());
        index.extend_from_slice(&(encoded.len() as u64).to_le_bytes());
        offset += encoded.len() as u64;
        parts.push(encoded);
    }
    let index = Crc32cCodec::new()
        .encode(Cow::Owned(index), &options)
        .map_err(|e| Error::internal(format!("shard index checksum: {e}")))?
        .into_owned();
    parts.push(index);
    Ok(EncodedShard { parts })
}

#[cfg(test)]
mod tests {
    use crate::dataset::{codec_options, StorageOptions, World};
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
        let shard = super::encode_shard(&layout, 4, |j, out| {
            out.copy_from_slice(&values[j * 4 * per..(j + 1) * 4 * per]);
            j != 2
        })
        .unwrap();
        w.store.set_parts(&key, &shard.slices()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), by_zarrs);
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
        let shard = super::encode_shard(&layout, 4, |j, out| {
            out.copy_from_slice(&values[j * 4 * per..(j + 1) * 4 * per]);
            true
        })
        .unwrap();
        let key = w.arrays[a].chunk_key(&[0, 0, 0]);
        w.store.set_parts(&key, &shard.slices()).unwrap();
        let path = w.root.join(key.as_str());
        let clean = std::fs::read(&path).unwrap();
        let read = |u: u64| w.read_unit_f32(a, u);
        assert_eq!(read(1).unwrap(), values[4 * per..8 * per].to_vec());

        // a byte in the middle of inner chunk 1
        let start = shard.parts[0].len();
        let mut bytes = clean.clone();
        bytes[start + shard.parts[1].len() / 2] ^= 0x10;
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
