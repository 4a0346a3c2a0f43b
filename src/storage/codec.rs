//! Compression choices for the stored arrays and their zarrs codec chains.

use std::sync::Arc;

use zarrs::array::codec::api::BytesToBytesCodecTraits;
use zarrs::array::codec::{BloscCodec, BloscCompressionLevel, BloscCompressor, BloscShuffleMode};
use zarrs::array::codec::{Crc32cCodec, ZstdCodec};

use crate::error::{Error, Result};

/// Compression of the stored chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Blosc with LZ4 and byte shuffle: fast, the default.
    BloscLz4,
    /// Blosc with Zstd and byte shuffle: smaller, slower.
    BloscZstd,
    /// Plain Zstd.
    Zstd,
    /// No compression.
    None,
}

impl Codec {
    /// Every codec the writer can store.
    pub const ALL: [Codec; 4] = [Codec::BloscLz4, Codec::BloscZstd, Codec::Zstd, Codec::None];

    /// The codec recorded under `name` in the world attributes ([`Codec::name`]).
    pub fn from_name(name: &str) -> Option<Codec> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Short name recorded in the world attributes.
    pub fn name(self) -> &'static str {
        match self {
            Codec::BloscLz4 => "blosc-lz4",
            Codec::BloscZstd => "blosc-zstd",
            Codec::Zstd => "zstd",
            Codec::None => "none",
        }
    }

    /// Level used when the caller leaves it to us.
    pub fn default_level(self) -> i32 {
        match self {
            Codec::BloscLz4 => 5,
            Codec::BloscZstd => 3,
            Codec::Zstd => 3,
            Codec::None => 0,
        }
    }

    /// Checks a level given by the caller (`None` = default).
    pub fn level(self, level: Option<i32>) -> Result<i32> {
        let Some(l) = level else {
            return Ok(self.default_level());
        };
        let (lo, hi) = match self {
            Codec::BloscLz4 | Codec::BloscZstd => (0, 9),
            Codec::Zstd => (-7, 22),
            Codec::None => (0, 0),
        };
        if (lo..=hi).contains(&l) {
            Ok(l)
        } else {
            Err(Error::invalid(format!(
                "clevel {l} is out of range for codec {} (expected {lo}..={hi}, or -1 for the default)",
                self.name()
            )))
        }
    }

    /// The bytes-to-bytes codecs for float32 (typesize 4) or uint8 (typesize 1) data,
    /// followed by a crc32c checksum when `checksum` is set.
    pub(crate) fn chain(
        self,
        level: i32,
        typesize: usize,
        checksum: bool,
    ) -> Result<Vec<Arc<dyn BytesToBytesCodecTraits>>> {
        let mut codecs: Vec<Arc<dyn BytesToBytesCodecTraits>> = Vec::new();
        let blosc = |cname| -> Result<Arc<dyn BytesToBytesCodecTraits>> {
            let clevel = BloscCompressionLevel::try_from(level as u8)
                .map_err(|l| Error::invalid(format!("blosc clevel {l} out of range 0..=9")))?;
            let shuffle = if typesize > 1 {
                BloscShuffleMode::Shuffle
            } else {
                BloscShuffleMode::NoShuffle
            };
            let codec = BloscCodec::new(cname, clevel, None, shuffle, Some(typesize))
                .map_err(|e| Error::internal(format!("blosc codec: {e}")))?;
            Ok(Arc::new(codec))
        };
        match self {
            Codec::BloscLz4 => codecs.push(blosc(BloscCompressor::LZ4)?),
            Codec::BloscZstd => codecs.push(blosc(BloscCompressor::Zstd)?),
            Codec::Zstd => codecs.push(Arc::new(ZstdCodec::new(level, false))),
            Codec::None => {}
        }
        if checksum {
            codecs.push(Arc::new(Crc32cCodec::new()));
        }
        Ok(codecs)
    }
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

    #[test]
    fn flags_and_levels() {
        for c in Codec::ALL {
            assert_eq!(Codec::from_name(c.name()), Some(c));
        }
        assert_eq!(Codec::from_name("lzma"), None);
        assert_eq!(Codec::BloscLz4.level(None).unwrap(), 5);
        assert!(Codec::BloscLz4.level(Some(12)).is_err());
        assert_eq!(Codec::Zstd.chain(3, 4, true).unwrap().len(), 2);
        assert_eq!(Codec::None.chain(0, 4, false).unwrap().len(), 0);
    }
}
