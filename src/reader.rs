//! The reader: opens a world and copies samples into caller buffers in their layout.

use std::path::Path;

use crate::convert::{check_len, from_row_major_f32, Float, Layout};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::dataset::World;
use crate::world::{ArrayKind, WorldDesc};

/// What is stored of one array ([`Reader::stored`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Chunks (shards of a sharded world) present on disk.
    pub chunks: u64,
    /// Their total size in bytes, as stored (compressed, with checksums and shard indexes).
    pub bytes: u64,
    /// Samples those chunks span.
    pub samples: u64,
}

/// Reads the samples of one world. `Sync`: share it between threads.
pub struct Reader {
    world: World,
}

impl Reader {
    /// Opens world `world_id` of the dataset at `path`.
    pub fn open(path: &Path, world_id: &str) -> Result<Reader> {
        Ok(Reader {
            world: World::open(path, world_id)?,
        })
    }

    /// The opened world (root, chunking, codec, arrays).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Dimensions and names of the world.
    pub fn desc(&self) -> &WorldDesc {
        &self.world.desc
    }

    /// Samples per chunk.
    pub fn chunk_samples(&self) -> u64 {
        self.world.chunk_samples
    }

    /// Codec name as recorded in the world (`blosc-lz4`, `blosc-zstd`, `zstd`, `none`).
    pub fn codec(&self) -> &str {
        &self.world.codec
    }

    /// Samples per inner chunk of a sharded world (the unit a read decodes); equal to
    /// [`Self::chunk_samples`] when the world is not sharded.
    pub fn inner_chunk_samples(&self) -> u64 {
        self.world.inner_chunk_samples()
    }

    /// Number of chunks along the sample axis (stored or not).
    pub fn n_chunks(&self) -> u64 {
        self.world.n_chunks()
    }

    /// What is stored of array `kind`: chunks present, their bytes on disk and the samples
    /// they span (each stored chunk counts all of its samples, written or not).
    pub fn stored(&self, kind: ArrayKind) -> Result<Stored> {
        let w = &self.world;
        let array = w.array(kind);
        let mut out = Stored::default();
        for c in 0..w.n_chunks() {
            if let Some(bytes) = w.chunk_stored_bytes(array, c)? {
                out.chunks += 1;
                out.bytes += bytes;
                out.samples += w.samples_in_chunk(c);
            }
        }
        Ok(out)
    }

    /// The `written` mask of `[start, start + count)`. Whole mask chunks are read so
    /// their checksums are verified.
    pub fn mask(&self, start: u64, count: u64) -> Result<Vec<u8>> {
        self.check_range(start, count)?;
        let cs = self.world.chunk_samples;
        let mut out = Vec::with_capacity(count as usize);
        for c in start / cs..=(start + count - 1) / cs {
            let chunk = self.world.read_mask_chunk(c)?;
            let (lo, hi) = self.chunk_part(c, start, count);
            out.extend_from_slice(&chunk[lo..hi]);
        }
        Ok(out)
    }

    /// The part `[lo, hi)` of chunk `c` that falls in `[start, start + count)`.
    fn chunk_part(&self, c: u64, start: u64, count: u64) -> (usize, usize) {
        unit_part(self.world.chunk_samples, c, start, count)
    }

    /// How many samples are stored.
    pub fn samples_written(&self) -> Result<u64> {
        let mut total = 0;
        for c in 0..self.world.n_chunks() {
            let n = self.world.samples_in_chunk(c) as usize;
            total += self.world.read_mask_chunk(c)?[..n]
                .iter()
                .filter(|&&m| m != 0)
                .count() as u64;
        }
        Ok(total)
    }

    /// Whether sample `i` is stored.
    pub fn is_written(&self, i: u64) -> Result<bool> {
        let n = self.world.desc.n_samples;
        if i >= n {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("sample index {i} out of range [0, {n})"),
            ));
        }
        Ok(self.mask(i, 1)?[0] != 0)
    }

    fn check_range(&self, start: u64, count: u64) -> Result<()> {
        let n = self.world.desc.n_samples;
        if count == 0 {
            return Err(Error::invalid("count is 0, expected at least 1"));
        }
        match start.checked_add(count) {
            Some(end) if end <= n => Ok(()),
            _ => Err(Error::new(
                ErrorKind::OutOfRange,
                format!("sample range [{start}, {start}+{count}) out of range [0, {n})"),
            )),
        }
    }

    /// Copies samples `[start, start + count)` into the given buffers (`None` skips an
    /// array). Each buffer holds `count` per-sample blocks back to back, each in `layout`.
    /// Fails with [`ErrorKind::NotWritten`] if any sample of the range is not stored, and
    /// with [`ErrorKind::Format`] if a chunk fails its checksum. Only the inner chunks
    /// holding the range are read (whole chunks of an unsharded world), each decoded whole
    /// so that every byte returned was verified.
    pub fn read_range<T: Float>(
        &self,
        start: u64,
        count: u64,
        layout: Layout,
        mut out: [Option<&mut [T]>; 4],
    ) -> Result<()> {
        self.check_range(start, count)?;
        let desc = &self.world.desc;
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            if let Some(buf) = &out[a] {
                check_len(
                    kind.name(),
                    buf.len(),
                    count as usize * desc.sample_len(*kind),
                )?;
            }
        }
        let mask = self.mask(start, count)?;
        if let Some(pos) = mask.iter().position(|&m| m == 0) {
            return Err(Error::new(
                ErrorKind::NotWritten,
                format!("sample {} was never written", start + pos as u64),
            ));
        }
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            let Some(buf) = out[a].as_deref_mut() else {
                continue;
            };
            let dims = desc.sample_dims(*kind);
            let per = desc.sample_len(*kind);
            // Whole inner chunks of a sharded array, else whole chunks: the smallest units
            // whose checksum can be verified.
            let us = self.world.read_unit_samples(a);
            for u in start / us..=(start + count - 1) / us {
                let data = self.world.read_unit_f32(a, u)?;
                let (lo, hi) = unit_part(us, u, start, count);
                let first_out = (u * us + lo as u64 - start) as usize;
                for (j, k) in (lo..hi).enumerate() {
                    let s = first_out + j;
                    from_row_major_f32(
                        &mut buf[s * per..(s + 1) * per],
                        &data[k * per..(k + 1) * per],
                        &dims,
                        layout,
                    );
                }
            }
        }
        Ok(())
    }
}

/// The part `[lo, hi)` of unit `u` (units of `us` samples) in `[start, start + count)`.
fn unit_part(us: u64, u: u64, start: u64, count: u64) -> (usize, usize) {
    let first = u * us;
    let lo = start.max(first) - first;
    let hi = (start + count).min(first + us) - first;
    (lo as usize, hi as usize)
}
