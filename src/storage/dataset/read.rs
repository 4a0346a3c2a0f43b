//! Reading a world's data: read units (an inner chunk of a shard, or a chunk) of each data
//! array, by the fast path for umedata's own layout or the general path that decodes any
//! regular chunking and scatters it into whole samples; absent chunks told apart from
//! fill; and ranges of the `written` mask in the mask's own chunks.

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};

use zarrs::array::codec::Crc32cCodec;
use zarrs::array::{
    data_type, ArrayToBytesCodecTraits, BytesRepresentation, BytesToBytesCodecTraits,
};

use super::layout::Dtype;
use super::{DataArray, World};
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::storage::codec::codec_options;

impl World {
    /// Reads chunk `c` of `array` as float32 (or uint8 widened), fill value where absent.
    pub(crate) fn read_chunk_f32(&self, array: &DataArray, c: u64) -> Result<Vec<f32>> {
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        array
            .retrieve_chunk_opt::<Vec<f32>>(&idx, &codec_options())
            .map_err(|e| from_array(&format!("reading chunk {c} of {}", array.path()), e))
    }

    /// Reads read unit `u` (see [`Self::read_unit_samples`]) of data array `a` as
    /// float32, NaN where nothing is stored. Only for float32 arrays.
    #[cfg(test)]
    pub(crate) fn read_unit_f32(&self, a: usize, u: u64) -> Result<Vec<f32>> {
        match self.read_unit(a, u)? {
            UnitRead::Data(Unit::F32(v)) => Ok(v),
            UnitRead::Data(Unit::F64(_)) => Err(self
                .check_output_type(a, false)
                .err()
                .unwrap_or_else(|| Error::internal("float64 unit"))),
            UnitRead::Missing(_) => {
                let len = self.unit_len(a, u);
                Ok(vec![f32::NAN; len])
            }
        }
    }

    /// Elements of read unit `u` of data array `a` (the last unit may be short).
    #[cfg(test)]
    fn unit_len(&self, a: usize, u: u64) -> usize {
        let us = self.read_unit_samples(a);
        let n = us.min(self.desc.n_samples.saturating_sub(u * us));
        let per: u64 = self.arrays[a].shape()[1..].iter().product();
        (n * per) as usize
    }

    /// Reads read unit `u` (see [`Self::read_unit_samples`]) of data array `a`: its
    /// samples row-major, whole samples back to back (a full unit; positions past the
    /// end of the array hold the fill value).
    ///
    /// Arrays stored as umedata stores them take the fast path. A sharded array's inner
    /// chunk is read from the shard file with one open: its index (checksum verified),
    /// then the inner chunk's bytes, decoded whole with its own codecs so its crc32c is
    /// verified too (zarrs' partial decoders skip that check, and its sub-chunk lookup
    /// overflows on an absent inner chunk). Shards whose index is not the standard
    /// `[bytes, crc32c]` at the end are decoded whole.
    ///
    /// Any other regular chunking (chunks split along the other axes, a different chunk
    /// length per array) and numeric data type is read chunk by chunk, each chunk decoded
    /// whole by zarrs, and its elements placed where they belong.
    ///
    /// An absent chunk (or inner chunk) is [`UnitRead::Missing`] when the array's fill
    /// value is NaN (what umedata writes: it stores every chunk, so an absent one is
    /// lost data); with a numeric fill value (zarr-python's default 0, whose writers
    /// omit chunks equal to it) it reads as that fill value, as Zarr defines.
    pub(crate) fn read_unit(&self, a: usize, u: u64) -> Result<UnitRead> {
        let array = &self.arrays[a];
        let layout = &self.layouts[a];
        if !layout.native {
            return self.read_unit_general(a, u);
        }
        let mut idx = vec![0u64; array.shape().len()];
        let Some(inner) = self.inner[a].as_ref() else {
            idx[0] = u;
            return Ok(self
                .retrieve_f32(array, &idx, layout.fill_nan)?
                .map_or_else(
                    || UnitRead::Missing(self.missing_chunk(array, &idx)),
                    |v| UnitRead::Data(Unit::F32(v)),
                ));
        };
        let us = inner.shape[0].get();
        let per_shard = layout.chunk[0] / us;
        let (c, j) = (u / per_shard, (u % per_shard) as usize);
        idx[0] = c;
        let len = inner.shape.iter().map(|d| d.get()).product::<u64>() as usize;
        if !inner.standard_index || !layout.fill_nan {
            return Ok(match self.retrieve_f32(array, &idx, layout.fill_nan)? {
                Some(shard) => UnitRead::Data(Unit::F32(shard[j * len..(j + 1) * len].to_vec())),
                None => UnitRead::Missing(self.missing_chunk(array, &idx)),
            });
        }
        Ok(match self.open_shard(a, c, u)? {
            Some(mut shard) => self.read_inner(a, &mut shard, u)?,
            None => UnitRead::Missing(self.missing_chunk(array, &idx)),
        })
    }

    /// Read units of data array `a` (see [`Self::read_unit`]), in the given order, each
    /// result exactly what [`Self::read_unit`] returns for it. The inner chunks of a
    /// sharded array are read shard by shard: consecutive units of one shard share one
    /// open of the shard file and one read of its index (checksum verified), and each
    /// inner chunk is still decoded whole with its own crc32c verified. Pass the units of
    /// one shard together (see [`Self::units_per_shard`]) to open each shard once.
    pub(crate) fn read_units(&self, a: usize, units: &[u64]) -> Result<Vec<UnitRead>> {
        let per_shard = self.units_per_shard(a);
        if per_shard == 1 {
            return units.iter().map(|&u| self.read_unit(a, u)).collect();
        }
        let array = &self.arrays[a];
        let mut out = Vec::with_capacity(units.len());
        // the shard open now: (shard number, the shard, None if the file is absent)
        let mut open: Option<(u64, Option<OpenShard>)> = None;
        for &u in units {
            let c = u / per_shard;
            if open.as_ref().is_none_or(|(oc, _)| *oc != c) {
                open = Some((c, self.open_shard(a, c, u)?));
            }
            let Some((_, shard)) = open.as_mut() else {
                unreachable!("a shard was just opened")
            };
            out.push(match shard {
                Some(shard) => self.read_inner(a, shard, u)?,
                None => {
                    let mut idx = vec![0u64; array.shape().len()];
                    idx[0] = c;
                    UnitRead::Missing(self.missing_chunk(array, &idx))
                }
            });
        }
        Ok(out)
    }

    /// Read units per shard file that [`Self::read_units`] reads through one open of the
    /// shard: the inner chunks per shard of an array read by the inner-chunk path
    /// (umedata's layout, standard shard index, NaN fill), else 1.
    pub(crate) fn units_per_shard(&self, a: usize) -> u64 {
        let layout = &self.layouts[a];
        match self.inner[a].as_ref() {
            Some(inner) if layout.native && inner.standard_index && layout.fill_nan => {
                layout.chunk[0] / inner.shape[0].get()
            }
            _ => 1,
        }
    }

    /// The message context for inner chunk `u` of data array `a`.
    fn inner_what(&self, a: usize, u: u64) -> String {
        let us = self.read_unit_samples(a);
        format!(
            "reading inner chunk {u} (samples {}..{}) of {}",
            u * us,
            ((u + 1) * us).min(self.desc.n_samples),
            self.arrays[a].path()
        )
    }

    /// Opens shard `c` of data array `a` (inner-chunk path only) and reads and verifies
    /// its index; `None` when the shard file is absent. `u` is the inner chunk asked for,
    /// named in the errors.
    fn open_shard(&self, a: usize, c: u64, u: u64) -> Result<Option<OpenShard>> {
        let array = &self.arrays[a];
        let per_shard = self.units_per_shard(a);
        let format_err =
            |m: String| Error::new(ErrorKind::Format, format!("{}: {m}", self.inner_what(a, u)));
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        let key = array.chunk_key(&idx).as_str().to_string();
        let path = self.root.join(&key);
        #[cfg(test)]
        SHARD_OPENS.with(|n| n.set(n.get() + 1));
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot open", &path, &e)),
        };
        let io = |e: std::io::Error| Error::io("cannot read", &path, &e);
        let size = f.metadata().map_err(io)?.len();
        let index_len = per_shard * 16 + 4;
        if size < index_len {
            return Err(format_err(format!(
                "shard of {size} bytes is shorter than its {index_len}-byte index"
            )));
        }
        let mut index = vec![0u8; index_len as usize];
        f.seek(SeekFrom::Start(size - index_len)).map_err(io)?;
        f.read_exact(&mut index).map_err(io)?;
        let index = Crc32cCodec::new()
            .decode(
                Cow::Owned(index),
                &BytesRepresentation::FixedSize(index_len - 4),
                &codec_options(),
            )
            .map_err(|e| format_err(format!("shard index: {e}")))?
            .into_owned();
        Ok(Some(OpenShard {
            f,
            path,
            key,
            size,
            data_end: size - index_len,
            index,
        }))
    }

    /// Reads and decodes inner chunk `u` of data array `a` from its open shard.
    fn read_inner(&self, a: usize, shard: &mut OpenShard, u: u64) -> Result<UnitRead> {
        let array = &self.arrays[a];
        let inner = self.inner[a]
            .as_ref()
            .ok_or_else(|| Error::internal("read_inner on an unsharded array"))?;
        let us = inner.shape[0].get();
        let j = (u % self.units_per_shard(a)) as usize;
        let len = inner.shape.iter().map(|d| d.get()).product::<u64>() as usize;
        let format_err =
            |m: String| Error::new(ErrorKind::Format, format!("{}: {m}", self.inner_what(a, u)));
        let entry = |k: usize| {
            let b = &shard.index[j * 16 + k * 8..j * 16 + k * 8 + 8];
            u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        };
        let (offset, nbytes) = (entry(0), entry(1));
        if offset == u64::MAX && nbytes == u64::MAX {
            return Ok(UnitRead::Missing(format!(
                "inner chunk {j} (samples {}..{}) of shard '{}' is absent from the shard's index",
                u * us,
                ((u + 1) * us).min(self.desc.n_samples),
                shard.key
            )));
        }
        if offset
            .checked_add(nbytes)
            .is_none_or(|end| end > shard.data_end)
        {
            return Err(format_err(format!(
                "index entry ({offset}, {nbytes}) points outside the shard's {} bytes",
                shard.size
            )));
        }
        let path = &shard.path;
        let io = |e: std::io::Error| Error::io("cannot read", path, &e);
        let mut encoded = vec![0u8; nbytes as usize];
        shard.f.seek(SeekFrom::Start(offset)).map_err(io)?;
        shard.f.read_exact(&mut encoded).map_err(io)?;
        let decoded = inner
            .codecs
            .decode(
                Cow::Owned(encoded),
                &inner.shape,
                array.data_type(),
                array.fill_value(),
                &codec_options(),
            )
            .map_err(|e| format_err(e.to_string()))?;
        let bytes = decoded
            .into_fixed()
            .map_err(|e| format_err(e.to_string()))?;
        if bytes.len() != len * 4 {
            return Err(format_err(format!(
                "{} bytes decoded, expected {}",
                bytes.len(),
                len * 4
            )));
        }
        // One memcpy into an aligned float buffer (a per-element conversion took a sixth
        // of a sequential read's time).
        let mut values = vec![0f32; len];
        bytemuck::cast_slice_mut::<f32, u8>(&mut values).copy_from_slice(&bytes);
        Ok(UnitRead::Data(Unit::F32(values)))
    }

    /// Chunk `idx` of a float32 `array` decoded whole; `None` when it is absent and
    /// `missing_is_none` (else the fill value).
    fn retrieve_f32(
        &self,
        array: &DataArray,
        idx: &[u64],
        missing_is_none: bool,
    ) -> Result<Option<Vec<f32>>> {
        retrieve::<f32>(array, idx, missing_is_none)
    }

    /// Describes absent chunk `idx` of `array` (for [`UnitRead::Missing`]).
    fn missing_chunk(&self, array: &DataArray, idx: &[u64]) -> String {
        let span = array
            .chunk_subset_bounded(idx)
            .map(|s| {
                format!(
                    " (samples {}..{})",
                    s.start()[0],
                    s.start()[0] + s.shape()[0]
                )
            })
            .unwrap_or_default();
        format!(
            "chunk file '{}'{span} is missing",
            array.chunk_key(idx).as_str()
        )
    }

    /// The general path of [`Self::read_unit`]: every chunk of unit `u` (chunk `u` along
    /// the sample axis, all chunks along the others) decoded whole and scattered into
    /// whole samples.
    fn read_unit_general(&self, a: usize, u: u64) -> Result<UnitRead> {
        let array = &self.arrays[a];
        let layout = &self.layouts[a];
        let shape = array.shape().to_vec();
        let dims = &shape[1..];
        let per: u64 = dims.iter().product();
        let us = layout.chunk[0];
        let len = (us * per) as usize;
        let wide = matches!(layout.dtype, Dtype::F64 | Dtype::I32 | Dtype::U32);
        let mut out32 = if wide {
            Vec::new()
        } else {
            vec![f32::NAN; len]
        };
        let mut out64 = if wide {
            vec![f64::NAN; len]
        } else {
            Vec::new()
        };
        let grid = array.chunk_grid_shape().to_vec();
        let mut idx = vec![0u64; shape.len()];
        idx[0] = u;
        loop {
            let subset = array
                .chunk_subset(&idx)
                .map_err(|e| from_array("chunk grid", e))?;
            let miss = layout.fill_nan;
            macro_rules! place {
                ($t:ty, $out:ident, $conv:expr) => {{
                    match retrieve::<$t>(array, &idx, miss)? {
                        None => return Ok(UnitRead::Missing(self.missing_chunk(array, &idx))),
                        Some(v) => scatter(
                            &v,
                            subset.start(),
                            subset.shape(),
                            &shape,
                            u * us,
                            &mut $out,
                            $conv,
                        ),
                    }
                }};
            }
            match layout.dtype {
                Dtype::F32 => place!(f32, out32, |x: f32| x),
                Dtype::I8 => place!(i8, out32, f32::from),
                Dtype::U8 => place!(u8, out32, f32::from),
                Dtype::I16 => place!(i16, out32, f32::from),
                Dtype::U16 => place!(u16, out32, f32::from),
                Dtype::F64 => place!(f64, out64, |x: f64| x),
                Dtype::I32 => place!(i32, out64, f64::from),
                Dtype::U32 => place!(u32, out64, f64::from),
                Dtype::Other(_) => {
                    return Err(self
                        .check_output_type(a, true)
                        .err()
                        .unwrap_or_else(|| Error::internal("dtype")))
                }
            }
            // next chunk along the non-sample axes (odometer)
            let mut ax = shape.len();
            loop {
                if ax == 1 {
                    return Ok(UnitRead::Data(if wide {
                        Unit::F64(out64)
                    } else {
                        Unit::F32(out32)
                    }));
                }
                ax -= 1;
                idx[ax] += 1;
                if idx[ax] < grid[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
    }

    /// Reads chunk `c` of the `written` mask.
    /// The `written` mask of samples `[start, start + count)`, read in the mask's own
    /// chunks, each decoded whole so that its checksum is verified. `count` is clipped
    /// to the end of the world.
    pub(crate) fn read_mask_range(&self, start: u64, count: u64) -> Result<Vec<u8>> {
        let end = start.saturating_add(count).min(self.desc.n_samples);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        if start >= end {
            return Ok(out);
        }
        let mc = self.mask_chunk;
        let is_bool = self.written.data_type() == &data_type::bool();
        for c in start / mc..=(end - 1) / mc {
            let what = || format!("reading chunk {c} of the written mask");
            let chunk: Vec<u8> = if is_bool {
                self.written
                    .retrieve_chunk_opt::<Vec<bool>>(&[c], &codec_options())
                    .map_err(|e| from_array(&what(), e))?
                    .into_iter()
                    .map(u8::from)
                    .collect()
            } else {
                self.written
                    .retrieve_chunk_opt::<Vec<u8>>(&[c], &codec_options())
                    .map_err(|e| from_array(&what(), e))?
            };
            let first = c * mc;
            let lo = (start.max(first) - first) as usize;
            let hi = (end.min(first + mc) - first) as usize;
            if chunk.len() < hi {
                return Err(Error::new(
                    ErrorKind::Format,
                    format!("{}: {} values decoded, expected {mc}", what(), chunk.len()),
                ));
            }
            out.extend_from_slice(&chunk[lo..hi]);
        }
        Ok(out)
    }

    /// The `written` mask of the samples of chunk `c` (chunks of `chunk_samples`, the
    /// world attribute): `samples_in_chunk(c)` values, read in the mask's own chunks.
    pub(crate) fn read_mask_chunk(&self, c: u64) -> Result<Vec<u8>> {
        self.read_mask_range(c * self.chunk_samples, self.samples_in_chunk(c))
    }
}

/// Samples of a read unit, in the array's data type widened exactly.
pub enum Unit {
    /// float32 (or a narrower integer type, converted exactly).
    F32(Vec<f32>),
    /// float64 (or a 32-bit integer type, converted exactly).
    F64(Vec<f64>),
}

/// What [`World::read_unit`] found.
pub enum UnitRead {
    /// The unit's values.
    Data(Unit),
    /// A chunk (or inner chunk) of the unit is absent from a NaN-filled array: what is
    /// missing, for the message.
    Missing(String),
}

#[cfg(test)]
thread_local! {
    /// Shard files opened by the inner-chunk path on this thread (tests count them).
    pub(crate) static SHARD_OPENS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A shard file open for reading its inner chunks, its index read and verified.
struct OpenShard {
    f: std::fs::File,
    path: std::path::PathBuf,
    /// The shard's key (its path in the store).
    key: String,
    size: u64,
    /// Where the index starts: inner chunks lie before it.
    data_end: u64,
    /// The index without its checksum: (offset, nbytes) little-endian per inner chunk.
    index: Vec<u8>,
}

/// Chunk `idx` of `array` decoded whole as `T`; `None` when it is absent and
/// `missing_is_none` (else the fill value).
fn retrieve<T: zarrs::array::ElementOwned>(
    array: &DataArray,
    idx: &[u64],
    missing_is_none: bool,
) -> Result<Option<Vec<T>>> {
    let what = || format!("reading chunk {idx:?} of {}", array.path());
    if missing_is_none {
        array
            .retrieve_chunk_if_exists_opt::<Vec<T>>(idx, &codec_options())
            .map_err(|e| from_array(&what(), e))
    } else {
        array
            .retrieve_chunk_opt::<Vec<T>>(idx, &codec_options())
            .map(Some)
            .map_err(|e| from_array(&what(), e))
    }
}

/// Copies a decoded chunk (row-major `chunk_shape`, placed at `origin` of an array of
/// `shape`) into `out`, whole samples from sample `first` on; parts of the chunk past the
/// array's end are skipped.
fn scatter<S: Copy, D>(
    src: &[S],
    origin: &[u64],
    chunk_shape: &[u64],
    shape: &[u64],
    first: u64,
    out: &mut [D],
    conv: impl Fn(S) -> D,
) {
    let nd = shape.len();
    let last = nd - 1;
    // row-major strides of a sample block
    let mut strides = vec![1u64; nd];
    for d in (1..last).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    let per: u64 = shape[1..].iter().product();
    let run = chunk_shape[last].min(shape[last].saturating_sub(origin[last])) as usize;
    let mut local = vec![0u64; nd];
    let rows: u64 = chunk_shape[..last].iter().product();
    for row in 0..rows {
        // local index of this row (all axes but the last)
        let mut r = row;
        for d in (0..last).rev() {
            local[d] = r % chunk_shape[d];
            r /= chunk_shape[d];
        }
        let inside = (0..last).all(|d| origin[d] + local[d] < shape[d]);
        let sample = origin[0] + local[0];
        if !inside || sample < first || run == 0 {
            continue;
        }
        let mut dst = (sample - first) * per + origin[last];
        for d in 1..last {
            dst += (origin[d] + local[d]) * strides[d];
        }
        let dst = dst as usize;
        let src_at = (row * chunk_shape[last]) as usize;
        if dst + run > out.len() {
            continue;
        }
        for (o, s) in out[dst..dst + run]
            .iter_mut()
            .zip(&src[src_at..src_at + run])
        {
            *o = conv(*s);
        }
    }
}
