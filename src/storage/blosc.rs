//! Blosc 1 frames for LZ4 (with or without byte shuffle), written straight into the
//! caller's buffer with scratch memory kept from one call to the next.
//!
//! The writer compresses every inner chunk with blosc-lz4. c-blosc 1's only thread-safe
//! entry point, `blosc_compress_ctx`, allocates its shuffle buffer (twice the block size)
//! on every call, and glibc hands that memory back to the kernel between calls: measured
//! on the benchmark, 79 % of the writer's 118,000 page faults per 100,000 samples came from
//! that buffer, about a tenth of the writer's CPU time, before the output was copied twice
//! more (into a fresh `Vec`, then behind a checksum). This module writes the same frame
//! c-blosc 1.21 writes, byte for byte (the unit tests compare the two), with the same
//! block size, split rule and LZ4 acceleration, calling the same LZ4 library blosc links;
//! only where the memory comes from differs. Readers see an ordinary blosc frame and
//! decode it with c-blosc, numcodecs or any other blosc 1 decoder.
//!
//! Other codecs (zstd, blosc-zstd) keep going through zarrs' codec chain.
//!
//! The one codec module allowed `unsafe` (see the crate root): the SSE2 byte shuffle and
//! the call into the LZ4 C library; each block has its SAFETY comment.
#![allow(unsafe_code)]

/// `BLOSC_VERSION_FORMAT` of c-blosc 1.x.
const VERSION_FORMAT: u8 = 2;
/// `BLOSC_LZ4_VERSION_FORMAT`.
const LZ4_VERSION_FORMAT: u8 = 1;
/// `BLOSC_LZ4_FORMAT`, stored in bits 5..8 of the flags.
const LZ4_FORMAT: u8 = 1;
const DOSHUFFLE: u8 = 0x1;
const MEMCPYED: u8 = 0x2;
const DONT_SPLIT: u8 = 0x10;
/// `BLOSC_MAX_OVERHEAD`: the header.
pub const HEADER: usize = 16;
/// Buffers smaller than this are stored, not compressed (`MIN_BUFFERSIZE`).
const MIN_BUFFERSIZE: usize = 128;
/// Most splits a block is cut into (`MAX_SPLITS`).
const MAX_SPLITS: usize = 16;
/// `BLOSC_MAX_TYPESIZE`.
const MAX_TYPESIZE: usize = 255;
/// The L1 size c-blosc assumes when it picks a block size.
const L1: usize = 32 * 1024;
/// `BLOSC_MAX_BUFFERSIZE` (`INT_MAX - BLOSC_MAX_OVERHEAD`).
const MAX_BUFFERSIZE: usize = i32::MAX as usize - HEADER;

/// The parameters of a `blosc` codec with `cname = "lz4"` and `blocksize = 0` (automatic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BloscLz4 {
    /// 0..=9; 0 stores the data uncompressed.
    pub clevel: u8,
    /// Element size in bytes (what the shuffle transposes).
    pub typesize: usize,
    /// Byte shuffle before compression.
    pub shuffle: bool,
}

/// Scratch memory of one compressing thread, reused from call to call.
#[derive(Default)]
pub struct Scratch {
    shuffled: Vec<u8>,
}

impl BloscLz4 {
    /// The largest frame [`Self::compress_into`] can write for `nbytes` of input (c-blosc
    /// gives up compressing past this and stores the data).
    pub fn max_frame_len(nbytes: usize) -> usize {
        nbytes + HEADER
    }

    /// Writes the blosc frame of `src` at the start of `out` (at least
    /// [`Self::max_frame_len`] bytes long) and returns the frame's length.
    ///
    /// # Panics
    /// If `out` is too short or `src` is longer than blosc 1 allows (2 GiB): both are
    /// checked by the callers, which size `out` and cut inner chunks.
    pub fn compress_into(&self, src: &[u8], out: &mut [u8], scratch: &mut Scratch) -> usize {
        let nbytes = src.len();
        assert!(nbytes <= MAX_BUFFERSIZE, "blosc buffer of {nbytes} bytes");
        let maxbytes = Self::max_frame_len(nbytes);
        assert!(out.len() >= maxbytes, "blosc output buffer too short");
        let typesize = if self.typesize > MAX_TYPESIZE || self.typesize == 0 {
            1
        } else {
            self.typesize
        };
        let blocksize = compute_blocksize(self.clevel, typesize, nbytes);
        let nblocks = nbytes.div_ceil(blocksize.max(1));
        let leftover = nbytes % blocksize.max(1);

        let mut flags = LZ4_FORMAT << 5;
        if self.shuffle {
            flags |= DOSHUFFLE;
        }
        if !split_block(typesize, blocksize) {
            flags |= DONT_SPLIT;
        }
        let memcpy_only = self.clevel == 0 || nbytes < MIN_BUFFERSIZE;
        let mut ntbytes = 0;
        if !memcpy_only {
            ntbytes = self.compress_blocks(
                src, out, scratch, typesize, blocksize, nblocks, leftover, flags,
            );
        }
        if ntbytes == 0 {
            // Stored: the header, then the bytes as they are.
            flags |= MEMCPYED;
            out[HEADER..HEADER + nbytes].copy_from_slice(src);
            ntbytes = HEADER + nbytes;
        }
        out[0] = VERSION_FORMAT;
        out[1] = LZ4_VERSION_FORMAT;
        out[2] = flags;
        out[3] = typesize as u8;
        out[4..8].copy_from_slice(&(nbytes as u32).to_le_bytes());
        out[8..12].copy_from_slice(&(blocksize as u32).to_le_bytes());
        out[12..16].copy_from_slice(&(ntbytes as u32).to_le_bytes());
        ntbytes
    }

    /// The compressed blocks after the header and the block-start table; returns the
    /// frame length, or 0 when the data does not compress (c-blosc then stores it).
    #[allow(clippy::too_many_arguments)]
    fn compress_blocks(
        &self,
        src: &[u8],
        out: &mut [u8],
        scratch: &mut Scratch,
        typesize: usize,
        blocksize: usize,
        nblocks: usize,
        leftover: usize,
        flags: u8,
    ) -> usize {
        let maxbytes = Self::max_frame_len(src.len());
        let dont_split = flags & DONT_SPLIT != 0;
        let doshuffle = self.shuffle && typesize > 1;
        let accel = 10 - i32::from(self.clevel);
        if doshuffle && scratch.shuffled.len() < blocksize {
            scratch.shuffled.resize(blocksize, 0);
        }
        let mut ntbytes = HEADER + 4 * nblocks;
        for j in 0..nblocks {
            out[HEADER + 4 * j..HEADER + 4 * j + 4]
                .copy_from_slice(&(ntbytes as u32).to_le_bytes());
            let last = j == nblocks - 1 && leftover > 0;
            let bsize = if last { leftover } else { blocksize };
            let block = &src[j * blocksize..j * blocksize + bsize];
            let data: &[u8] = if doshuffle {
                let t = &mut scratch.shuffled[..bsize];
                shuffle(typesize, block, t);
                t
            } else {
                block
            };
            let nsplits = if !dont_split && !last { typesize } else { 1 };
            let neblock = bsize / nsplits;
            for s in 0..nsplits {
                let split = &data[s * neblock..(s + 1) * neblock];
                ntbytes += 4;
                let mut maxout = neblock;
                if ntbytes + maxout > maxbytes {
                    if maxbytes <= ntbytes {
                        return 0;
                    }
                    maxout = maxbytes - ntbytes;
                }
                let mut cbytes = lz4_compress(split, &mut out[ntbytes..ntbytes + maxout], accel);
                if cbytes == 0 || cbytes == neblock {
                    if ntbytes + neblock > maxbytes {
                        return 0;
                    }
                    out[ntbytes..ntbytes + neblock].copy_from_slice(split);
                    cbytes = neblock;
                }
                out[ntbytes - 4..ntbytes].copy_from_slice(&(cbytes as u32).to_le_bytes());
                ntbytes += cbytes;
            }
        }
        ntbytes
    }
}

/// c-blosc 1.21's `compute_blocksize` for an automatic block size.
fn compute_blocksize(clevel: u8, typesize: usize, nbytes: usize) -> usize {
    if nbytes < typesize {
        return 1;
    }
    let mut blocksize = nbytes;
    if nbytes >= L1 {
        blocksize = L1;
        blocksize = match clevel {
            0 => blocksize / 4,
            1 => blocksize / 2,
            2 => blocksize,
            3 => blocksize * 2,
            4 | 5 => blocksize * 4,
            _ => blocksize * 8,
        };
    }
    if clevel > 0 && split_block(typesize, blocksize) {
        blocksize = blocksize.min(1 << 18) * typesize;
        blocksize = blocksize.clamp(1 << 16, 1 << 20);
    }
    if blocksize > nbytes {
        blocksize = nbytes;
    }
    if blocksize > typesize {
        blocksize = blocksize / typesize * typesize;
    }
    blocksize
}

/// c-blosc 1's default split rule (`BLOSC_FORWARD_COMPAT_SPLIT`) for LZ4.
fn split_block(typesize: usize, blocksize: usize) -> bool {
    typesize <= MAX_SPLITS && blocksize / typesize >= MIN_BUFFERSIZE
}

/// Byte shuffle: byte `k` of element `i` goes to `dst[k * n + i]`; trailing bytes that do
/// not make a whole element are copied as they are (c-blosc's `shuffle`).
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    let n = src.len() / typesize;
    let whole = n * typesize;
    let done = if typesize == 4 {
        // SAFETY: the only requirement is SSE2 (or nothing, off x86_64), which every
        // x86_64 CPU has.
        #[allow(unused_unsafe)]
        unsafe {
            shuffle4_simd(&src[..whole], &mut dst[..whole])
        }
    } else {
        0
    };
    for (i, e) in src[..whole].chunks_exact(typesize).enumerate().skip(done) {
        for (k, &byte) in e.iter().enumerate() {
            dst[k * n + i] = byte;
        }
    }
    dst[whole..src.len()].copy_from_slice(&src[whole..]);
}

/// Shuffles the first elements of a typesize-4 buffer 16 at a time (c-blosc's
/// `shuffle4_sse2`); returns how many elements it did.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn shuffle4_simd(src: &[u8], dst: &mut [u8]) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_loadu_si128, _mm_shuffle_epi32, _mm_storeu_si128, _mm_unpackhi_epi32,
        _mm_unpackhi_epi64, _mm_unpacklo_epi16, _mm_unpacklo_epi32, _mm_unpacklo_epi64,
        _mm_unpacklo_epi8,
    };
    let n = src.len() / 4;
    let vectorized = n - n % 16;
    for (i, block) in src[..vectorized * 4].chunks_exact(64).enumerate() {
        let mut x = [[0u8; 16]; 4];
        for (j, lane) in block.chunks_exact(16).enumerate() {
            // SAFETY: `lane` is 16 readable bytes; loadu has no alignment requirement.
            let v = unsafe { _mm_loadu_si128(lane.as_ptr().cast::<__m128i>()) };
            // bytes of 4 elements -> byte k of each element together
            let hi = _mm_shuffle_epi32::<0xd8>(v);
            let lo = _mm_shuffle_epi32::<0x8d>(v);
            let v = _mm_unpacklo_epi8(hi, lo);
            let w = _mm_shuffle_epi32::<0x4e>(v);
            let v = _mm_unpacklo_epi16(v, w);
            // SAFETY: `x[j]` is 16 writable bytes; storeu has no alignment requirement.
            unsafe { _mm_storeu_si128(x[j].as_mut_ptr().cast::<__m128i>(), v) };
        }
        // SAFETY: as above, 16-byte loads from the arrays just written.
        let [a, b, c, d] = x.map(|l| unsafe { _mm_loadu_si128(l.as_ptr().cast::<__m128i>()) });
        let (t0, t1) = (_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
        let (t2, t3) = (_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d));
        let out = [
            _mm_unpacklo_epi64(t0, t2),
            _mm_unpackhi_epi64(t0, t2),
            _mm_unpacklo_epi64(t1, t3),
            _mm_unpackhi_epi64(t1, t3),
        ];
        for (k, v) in out.into_iter().enumerate() {
            let at = &mut dst[k * n + i * 16..k * n + i * 16 + 16];
            // SAFETY: `at` is 16 writable bytes; storeu has no alignment requirement.
            unsafe { _mm_storeu_si128(at.as_mut_ptr().cast::<__m128i>(), v) };
        }
    }
    vectorized
}

#[cfg(not(target_arch = "x86_64"))]
fn shuffle4_simd(_src: &[u8], _dst: &mut [u8]) -> usize {
    0
}

/// `LZ4_compress_fast` into `dst`; 0 when the result does not fit.
fn lz4_compress(src: &[u8], dst: &mut [u8], accel: i32) -> usize {
    // Lengths fit in i32: blosc buffers are below 2 GiB (checked in compress_into).
    // SAFETY: LZ4 reads exactly `src.len()` bytes of `src` and writes at most `dst.len()`
    // bytes into `dst`, both valid for the call; it keeps no pointer after returning.
    let n = unsafe {
        lz4_sys::LZ4_compress_fast(
            src.as_ptr().cast(),
            dst.as_mut_ptr().cast(),
            src.len() as i32,
            dst.len() as i32,
            accel,
        )
    };
    n.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use zarrs::array::codec::BloscShuffleMode;
    use zarrs::array::codec::{BloscCodec, BloscCompressionLevel, BloscCompressor};
    use zarrs::array::BytesToBytesCodecTraits;

    /// The frame c-blosc writes through zarrs' codec (what zarrs stored before this module).
    fn by_c_blosc(p: &BloscLz4, src: &[u8]) -> Vec<u8> {
        let codec = BloscCodec::new(
            BloscCompressor::LZ4,
            BloscCompressionLevel::try_from(p.clevel).unwrap(),
            None,
            if p.shuffle {
                BloscShuffleMode::Shuffle
            } else {
                BloscShuffleMode::NoShuffle
            },
            Some(p.typesize),
        )
        .unwrap();
        codec
            .encode(
                std::borrow::Cow::Borrowed(src),
                &crate::storage::codec::codec_options(),
            )
            .unwrap()
            .into_owned()
    }

    fn ours(p: &BloscLz4, src: &[u8], scratch: &mut Scratch) -> Vec<u8> {
        let mut out = vec![0xAB; BloscLz4::max_frame_len(src.len())];
        let n = p.compress_into(src, &mut out, scratch);
        out.truncate(n);
        out
    }

    /// AR(1)-like float32 data: compresses a little, like the simulators' output.
    fn floats(n: usize, seed: u32) -> Vec<u8> {
        let mut x = 0.0f32;
        let mut s = seed;
        (0..n)
            .flat_map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                x = 0.9 * x + ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5);
                x.to_le_bytes()
            })
            .collect()
    }

    #[test]
    fn frames_equal_c_blosc_byte_for_byte() {
        let mut scratch = Scratch::default();
        let mut noise = 0x1234_5678u32;
        let random: Vec<u8> = (0..300_000)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                noise as u8
            })
            .collect();
        let zeros = vec![0u8; 200_000];
        // sizes around every branch: below MIN_BUFFERSIZE, below L1, one block, several
        // blocks with a leftover, not a multiple of the type size
        let sizes = [
            0usize, 3, 100, 127, 128, 1_000, 4_099, 32_768, 76_800, 76_803, 131_072, 600_000,
            1_300_001,
        ];
        for &size in &sizes {
            let data = floats(size.div_ceil(4), size as u32);
            let data = &data[..size];
            for clevel in [0u8, 1, 3, 5, 9] {
                for (typesize, shuffle) in [(4, true), (1, false), (8, true), (4, false)] {
                    let p = BloscLz4 {
                        clevel,
                        typesize,
                        shuffle,
                    };
                    assert_eq!(
                        ours(&p, data, &mut scratch),
                        by_c_blosc(&p, data),
                        "size {size} {p:?}"
                    );
                }
            }
        }
        let p = BloscLz4 {
            clevel: 5,
            typesize: 4,
            shuffle: true,
        };
        for data in [&random[..], &random[..77_777], &zeros[..]] {
            assert_eq!(ours(&p, data, &mut scratch), by_c_blosc(&p, data));
        }
    }

    #[test]
    fn frames_decode_with_c_blosc() {
        let p = BloscLz4 {
            clevel: 5,
            typesize: 4,
            shuffle: true,
        };
        let data = floats(50_000, 7);
        let frame = ours(&p, &data, &mut Scratch::default());
        let codec = BloscCodec::new(
            BloscCompressor::LZ4,
            BloscCompressionLevel::try_from(5u8).unwrap(),
            None,
            BloscShuffleMode::Shuffle,
            Some(4),
        )
        .unwrap();
        let back = codec
            .decode(
                std::borrow::Cow::Owned(frame),
                &zarrs::array::BytesRepresentation::FixedSize(data.len() as u64),
                &crate::storage::codec::codec_options(),
            )
            .unwrap();
        assert_eq!(&back[..], &data[..]);
    }

    #[test]
    fn shuffle_transposes_bytes_and_keeps_the_tail() {
        let src: Vec<u8> = (0..10).collect();
        let mut dst = vec![0; 10];
        shuffle(4, &src, &mut dst);
        assert_eq!(dst, [0, 4, 1, 5, 2, 6, 3, 7, 8, 9]);
        shuffle(3, &src, &mut dst);
        assert_eq!(dst, [0, 3, 6, 1, 4, 7, 2, 5, 8, 9]);
        // the vectorised part (16 elements at a time) and the rest agree with the
        // definition, for lengths around multiples of 64 bytes
        for len in [63usize, 64, 65, 127, 128, 130, 1000, 4099] {
            let src: Vec<u8> = (0..len).map(|i| (i * 7 + i / 256) as u8).collect();
            let mut dst = vec![0; len];
            shuffle(4, &src, &mut dst);
            let n = len / 4;
            for i in 0..n {
                for k in 0..4 {
                    assert_eq!(
                        dst[k * n + i],
                        src[4 * i + k],
                        "len {len} element {i} byte {k}"
                    );
                }
            }
            assert_eq!(dst[4 * n..], src[4 * n..]);
        }
    }
}
