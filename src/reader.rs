//! The reader: opens a world and copies samples into caller buffers in their layout.

use std::path::Path;

use zarrs::array::ArraySubset;

use crate::dataset::{codec_options, World};
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::layout::{check_len, from_row_major_f32, Float, Layout};
use crate::world::{ArrayKind, WorldDesc};

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

    /// Dimensions and names of the world.
    pub fn desc(&self) -> &WorldDesc {
        &self.world.desc
    }

    /// Samples per chunk.
    pub fn chunk_samples(&self) -> u64 {
        self.world.chunk_samples
    }

    /// The `written` mask of `[start, start + count)`.
    pub fn mask(&self, start: u64, count: u64) -> Result<Vec<u8>> {
        self.check_range(start, count)?;
        let subset = ArraySubset::new_with_start_shape(vec![start], vec![count])
            .map_err(|e| Error::internal(e.to_string()))?;
        self.world
            .written
            .retrieve_array_subset_opt::<Vec<u8>>(&subset, &codec_options())
            .map_err(|e| from_array("reading the written mask", e))
    }

    /// How many samples are stored.
    pub fn samples_written(&self) -> Result<u64> {
        let n = self.world.desc.n_samples;
        let step = self.world.chunk_samples * 64;
        let mut total = 0;
        let mut start = 0;
        while start < n {
            let count = step.min(n - start);
            total += self.mask(start, count)?.iter().filter(|&&m| m != 0).count() as u64;
            start += count;
        }
        Ok(total)
    }

    /// Whether sample `i` is stored.
    pub fn is_written(&self, i: u64) -> Result<bool> {
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
    /// Fails with [`ErrorKind::NotWritten`] if any sample of the range is not stored.
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
            let mut ranges = Vec::with_capacity(dims.len() + 1);
            ranges.push(start..start + count);
            ranges.extend(dims.iter().map(|&d| 0..d as u64));
            let data: Vec<f32> = self.world.arrays[a]
                .retrieve_array_subset_opt(&ArraySubset::new_with_ranges(&ranges), &codec_options())
                .map_err(|e| from_array(&format!("reading {}", kind.name()), e))?;
            let per = desc.sample_len(*kind);
            for s in 0..count as usize {
                from_row_major_f32(
                    &mut buf[s * per..(s + 1) * per],
                    &data[s * per..(s + 1) * per],
                    &dims,
                    layout,
                );
            }
        }
        Ok(())
    }
}
