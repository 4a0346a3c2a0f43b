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
    /// The codec for a C flag value (`UME_CODEC_*`).
    pub fn from_flag(flag: u32) -> Result<Self> {
        match flag {
            0 => Ok(Codec::BloscLz4),
            1 => Ok(Codec::BloscZstd),
            2 => Ok(Codec::Zstd),
            3 => Ok(Codec::None),
            other => Err(Error::invalid(format!(
                "codec {other} is not valid (expected 0 = UME_CODEC_BLOSC_LZ4, 1 = UME_CODEC_BLOSC_ZSTD, 2 = UME_CODEC_ZSTD, 3 = UME_CODEC_NONE)"
            ))),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_levels() {
        assert_eq!(Codec::from_flag(0).unwrap(), Codec::BloscLz4);
        assert!(Codec::from_flag(9)
            .unwrap_err()
            .message()
            .contains("codec 9"));
        assert_eq!(Codec::BloscLz4.level(None).unwrap(), 5);
        assert!(Codec::BloscLz4.level(Some(12)).is_err());
        assert_eq!(Codec::Zstd.chain(3, 4, true).unwrap().len(), 2);
        assert_eq!(Codec::None.chain(0, 4, false).unwrap().len(), 0);
    }
}
