//! The C flag values (`UME_LAYOUT_*`, `UME_CODEC_*`, `UME_SEED_*`, `UME_DESIGN_*`, 0/1
//! options) and their
//! conversion to the core's enums. The core never sees a C integer flag: every flag is
//! parsed here, once, with a message that names the accepted values.

use crate::convert::Layout;
use crate::engine::Design;
use crate::error::{Error, Result};
use crate::seeds::SeedDerivation;
use crate::storage::codec::Codec;

/// Row-major (C) buffers: `traj[t][o]` at `t * n_obs + o`.
pub const UME_LAYOUT_C: u32 = 1;
/// Column-major (Fortran, Julia) buffers: `traj(t, o)` at `t + T * o`.
pub const UME_LAYOUT_F: u32 = 2;

/// Blosc with LZ4 and byte shuffle (default).
pub const UME_CODEC_BLOSC_LZ4: u32 = 0;
/// Blosc with Zstd and byte shuffle.
pub const UME_CODEC_BLOSC_ZSTD: u32 = 1;
/// Plain Zstd.
pub const UME_CODEC_ZSTD: u32 = 2;
/// No compression.
pub const UME_CODEC_NONE: u32 = 3;

/// Theta drawn uniformly within the bounds from each sample's stream (the default).
pub const UME_DESIGN_UNIFORM: u32 = 0;
/// Theta from an Owen-scrambled Sobol sequence, point i for sample i (at most 1024
/// parameters and 2^32 samples).
pub const UME_DESIGN_SOBOL: u32 = 1;

/// The layout for a C flag value (`UME_LAYOUT_C` = 1, `UME_LAYOUT_F` = 2).
pub(crate) fn layout(flag: u32) -> Result<Layout> {
    match flag {
        UME_LAYOUT_C => Ok(Layout::C),
        UME_LAYOUT_F => Ok(Layout::F),
        other => Err(Error::invalid(format!(
            "layout flag {other} is not valid (expected 1 = UME_LAYOUT_C or 2 = UME_LAYOUT_F)"
        ))),
    }
}

/// The codec for a C flag value (`UME_CODEC_*`).
pub(crate) fn codec(flag: u32) -> Result<Codec> {
    match flag {
        UME_CODEC_BLOSC_LZ4 => Ok(Codec::BloscLz4),
        UME_CODEC_BLOSC_ZSTD => Ok(Codec::BloscZstd),
        UME_CODEC_ZSTD => Ok(Codec::Zstd),
        UME_CODEC_NONE => Ok(Codec::None),
        other => Err(Error::invalid(format!(
            "codec {other} is not valid (expected 0 = UME_CODEC_BLOSC_LZ4, 1 = UME_CODEC_BLOSC_ZSTD, 2 = UME_CODEC_ZSTD, 3 = UME_CODEC_NONE)"
        ))),
    }
}

/// The seed derivation for a C flag value (`UME_SEED_*`, in [`SeedDerivation::ALL`]
/// order).
pub(crate) fn derivation(flag: u32) -> Result<SeedDerivation> {
    SeedDerivation::ALL.get(flag as usize).copied().ok_or_else(|| {
        Error::invalid(format!(
            "derivation {flag} is not valid (expected 0 = UME_SEED_ADD, 1 = UME_SEED_SPLITMIX64, 2 = UME_SEED_CHACHA20)"
        ))
    })
}

/// The theta design for a C flag value (`UME_DESIGN_*`; a table is set with its values by
/// `ume_gen_config_set_theta_table`).
pub(crate) fn design(flag: u32) -> Result<Design> {
    match flag {
        UME_DESIGN_UNIFORM => Ok(Design::Uniform),
        UME_DESIGN_SOBOL => Ok(Design::Sobol),
        other => Err(Error::invalid(format!(
            "design {other} is not valid (expected 0 = UME_DESIGN_UNIFORM or 1 = UME_DESIGN_SOBOL; a table is set by ume_gen_config_set_theta_table)"
        ))),
    }
}

/// A 0/1 option flag named `name`.
pub(crate) fn boolean(v: u8, name: &str) -> Result<bool> {
    match v {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Error::invalid(format!(
            "option '{name}' is {other}, expected 0 or 1"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_the_core_enums_and_reject_the_rest() {
        assert_eq!(layout(1).unwrap(), Layout::C);
        assert_eq!(layout(2).unwrap(), Layout::F);
        let e = layout(7).unwrap_err();
        assert!(
            e.message().contains("layout flag 7 is not valid"),
            "{}",
            e.message()
        );
        assert_eq!(codec(0).unwrap(), Codec::BloscLz4);
        assert_eq!(codec(3).unwrap(), Codec::None);
        assert!(codec(9)
            .unwrap_err()
            .message()
            .contains("codec 9 is not valid"));
        assert_eq!(design(0).unwrap(), Design::Uniform);
        assert_eq!(design(1).unwrap(), Design::Sobol);
        assert!(design(2)
            .unwrap_err()
            .message()
            .contains("design 2 is not valid"));
        assert_eq!(derivation(2).unwrap(), SeedDerivation::ChaCha20);
        assert!(derivation(3).is_err());
        assert!(boolean(1, "x").unwrap());
        assert!(boolean(2, "fsync")
            .unwrap_err()
            .message()
            .contains("'fsync' is 2"));
    }
}
