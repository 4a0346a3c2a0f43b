//! The reader: opens a world and copies samples into caller buffers in their layout.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::convert::{check_len, from_row_major, from_row_major_f32, Float, Layout};
use crate::error::{Error, ErrorKind, Result};
use crate::storage::dataset::{Unit, UnitRead, World};
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
    /// Threads of a range read ([`Self::set_threads`]); 0 = one per core.
    threads: AtomicUsize,
}

/// With the automatic thread count (0), a read that decodes less than this (bytes of
/// decoded read units, all arrays) runs on the calling thread: starting threads would
/// cost more than they save (a single sample of the default layout decodes ~0.2 MB).
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The threads of a read that decodes `decoded_bytes`: `threads` as given; for 0
/// (automatic) one per core, or 1 below [`PARALLEL_MIN_BYTES`].
fn resolve_threads(threads: usize, decoded_bytes: usize) -> usize {
    match threads {
        0 if decoded_bytes < PARALLEL_MIN_BYTES => 1,
        0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
        t => t,
    }
}

impl Reader {
    /// Opens world `world_id` of the dataset at `path`.
    pub fn open(path: &Path, world_id: &str) -> Result<Reader> {
        Ok(Reader {
            world: World::open(path, world_id)?,
            threads: AtomicUsize::new(0),
        })
    }

    /// Sets how many threads a range read ([`Self::read_range`]) decodes on: 0 (the
    /// default) = automatic: one per core, but the calling thread alone for a read that
    /// decodes less than about 1 MB (e.g. one sample); 1 = the calling thread only; n =
    /// up to n threads. Takes effect for the reads that start after it; safe while other
    /// threads read.
    pub fn set_threads(&self, threads: usize) {
        self.threads.store(threads, Ordering::Relaxed);
    }

    /// The thread count set by [`Self::set_threads`] (0 = automatic).
    pub fn threads(&self) -> usize {
        self.threads.load(Ordering::Relaxed)
    }

    /// The opened world (root, chunking, codec, arrays).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Dimensions and names of the world.
    pub fn desc(&self) -> &WorldDesc {
        &self.world.desc
    }

    /// Samples per chunk of the trajectories array (from its own metadata).
    pub fn chunk_samples(&self) -> u64 {
        self.world.array_chunk_samples(1)
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
        self.world.read_mask_range(start, count)
    }

    /// How many samples are stored.
    pub fn samples_written(&self) -> Result<u64> {
        let (n, mc) = (self.world.desc.n_samples, self.world.mask_chunk_samples());
        let mut total = 0;
        let mut start = 0;
        while start < n {
            total += self
                .world
                .read_mask_range(start, mc)?
                .iter()
                .filter(|&&m| m != 0)
                .count() as u64;
            start += mc;
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

    /// Checks that `[start, start + count)` is a non-empty range of the world's samples.
    pub fn check_range(&self, start: u64, count: u64) -> Result<()> {
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
    /// so that every byte returned was verified. Decodes on the threads set by
    /// [`Self::set_threads`] (see [`Self::read_range_threads`]).
    pub fn read_range<T: Float>(
        &self,
        start: u64,
        count: u64,
        layout: Layout,
        out: [Option<&mut [T]>; 4],
    ) -> Result<()> {
        self.read_range_threads(start, count, layout, out, self.threads())
    }

    /// [`Self::read_range`] on up to `threads` threads (0 = automatic, see
    /// [`Self::set_threads`]): the read units of all four arrays (a shard's inner chunks
    /// through one open of the shard file) are decoded in parallel, the samples placed as
    /// they arrive. Every check is done before anything
    /// is decoded; a decoding error (a corrupt or missing chunk) stops the read and may
    /// leave the buffers partly filled.
    pub fn read_range_threads<T: Float>(
        &self,
        start: u64,
        count: u64,
        layout: Layout,
        out: [Option<&mut [T]>; 4],
        threads: usize,
    ) -> Result<()> {
        self.check_range(start, count)?;
        let desc = &self.world.desc;
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            if let Some(buf) = &out[a] {
                check_len(kind.name(), buf.len(), desc.range_len(*kind, count)?)?;
            }
        }
        for (a, _) in ArrayKind::ALL.iter().enumerate() {
            if out[a].is_some() {
                self.world.check_output_type(a, T::IS_F64)?;
            }
        }
        let mask = self.mask(start, count)?;
        if let Some(pos) = mask.iter().position(|&m| m == 0) {
            return Err(Error::new(
                ErrorKind::NotWritten,
                format!("sample {} was never written", start + pos as u64),
            ));
        }
        // Every unit holding part of the range, with the output positions it feeds,
        // grouped by array and shard (one group per shard, units in order).
        let mut groups: Vec<UnitJob> = Vec::new();
        for (a, buf) in out.iter().enumerate() {
            if buf.is_none() {
                continue;
            }
            // Whole inner chunks of a sharded array, else whole chunks: the smallest units
            // whose checksum can be verified.
            let us = self.world.read_unit_samples(a);
            let units = (start / us..=(start + count - 1) / us).map(|u| {
                let (lo, hi) = unit_part(us, u, start, count);
                let first_out = (u * us + lo as u64 - start) as usize;
                let wants = (lo..hi).enumerate().map(|(j, k)| (first_out + j, k));
                (u, wants.collect())
            });
            group_by_shard(&mut groups, a, self.world.units_per_shard(a), units);
        }
        self.decode_groups(groups, out, layout, threads)
    }

    /// Copies the samples `ids` (any order, repeats allowed) into the given buffers
    /// (`None` skips an array): block `j` of each buffer receives sample `ids[j]`, in
    /// `layout`. The ids are grouped by read unit (inner chunk of a sharded array, else
    /// chunk) so that each unit is decoded once and verified whole, and the units of all
    /// four arrays are decoded on up to `threads` threads (0 = automatic: one per core,
    /// the calling thread alone for a read that decodes less than about 1 MB). Checks every
    /// id and buffer length, and that every sample is stored, before decoding anything;
    /// the errors are those of [`Self::read_range`].
    pub fn read_samples<T: Float + Send>(
        &self,
        ids: &[u64],
        layout: Layout,
        out: [Option<&mut [T]>; 4],
        threads: usize,
    ) -> Result<()> {
        let desc = &self.world.desc;
        let n = desc.n_samples;
        if ids.is_empty() {
            return Err(Error::invalid(
                "ids is empty, expected at least 1 sample index",
            ));
        }
        if let Some((j, i)) = ids.iter().enumerate().find(|(_, &i)| i >= n) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("sample index {i} (ids[{j}]) out of range [0, {n})"),
            ));
        }
        let count = ids.len() as u64;
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            if let Some(buf) = &out[a] {
                check_len(kind.name(), buf.len(), desc.range_len(*kind, count)?)?;
                self.world.check_output_type(a, T::IS_F64)?;
            }
        }
        // The written mask, one mask chunk at a time, each read once.
        let mc = self.world.mask_chunk_samples();
        let mut mask_chunks: std::collections::BTreeMap<u64, Vec<u8>> = Default::default();
        for &i in ids {
            let c = i / mc;
            let m = match mask_chunks.entry(c) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => {
                    let start = c * mc;
                    e.insert(self.world.read_mask_range(start, mc.min(n - start))?)
                }
            };
            if m[(i - c * mc) as usize] == 0 {
                return Err(Error::new(
                    ErrorKind::NotWritten,
                    format!("sample {i} was never written"),
                ));
            }
        }
        // Every unit to decode, with the output positions it feeds, grouped by array and
        // shard: a job reads the units of one shard through one open of the file and one
        // read of its index (see `decode_groups` for how a shard's units are split).
        let mut groups: Vec<UnitJob> = Vec::new();
        for (a, buf) in out.iter().enumerate() {
            if buf.is_none() {
                continue;
            }
            let us = self.world.read_unit_samples(a);
            let mut units: std::collections::BTreeMap<u64, Vec<(usize, usize)>> =
                Default::default();
            for (pos, &i) in ids.iter().enumerate() {
                units
                    .entry(i / us)
                    .or_default()
                    .push((pos, (i % us) as usize));
            }
            group_by_shard(&mut groups, a, self.world.units_per_shard(a), units);
        }
        self.decode_groups(groups, out, layout, threads)
    }

    /// Decodes the units of `groups` (each the units of one shard of one array, with the
    /// output positions they feed) and places their samples into `out`, on up to
    /// `threads` threads (see [`resolve_threads`]). A shard's units are split over
    /// several jobs when it holds more than a quarter of a thread's share. The first
    /// error stops it.
    fn decode_groups<T: Float>(
        &self,
        groups: Vec<UnitJob>,
        mut out: [Option<&mut [T]>; 4],
        layout: Layout,
        threads: usize,
    ) -> Result<()> {
        let desc = &self.world.desc;
        let total_units: usize = groups.iter().map(|g| g.1.len()).sum();
        let decoded_bytes: usize = groups
            .iter()
            .map(|(a, units)| {
                let unit =
                    self.world.read_unit_samples(*a) as usize * desc.sample_len(ArrayKind::ALL[*a]);
                units.len().saturating_mul(unit.saturating_mul(4))
            })
            .fold(0, usize::saturating_add);
        let threads = resolve_threads(threads, decoded_bytes);
        // About four jobs per thread when one array's shard holds most of the work (a
        // range: one shard per array), so that the threads finish together.
        let max_units = if threads <= 1 {
            usize::MAX
        } else {
            total_units.div_ceil(4 * threads).max(1)
        };
        let jobs: Vec<UnitJob> = groups
            .into_iter()
            .flat_map(|(a, units)| {
                let mut units = units.into_iter().peekable();
                std::iter::from_fn(move || {
                    units.peek()?;
                    Some((a, units.by_ref().take(max_units).collect::<Vec<_>>()))
                })
            })
            .collect();
        let dims: Vec<Vec<usize>> = ArrayKind::ALL
            .iter()
            .map(|k| desc.sample_dims(*k))
            .collect();
        let pers: Vec<usize> = ArrayKind::ALL.iter().map(|k| desc.sample_len(*k)).collect();
        let decode = |job: &UnitJob| -> Result<Vec<Unit>> {
            let (a, units) = job;
            let us = self.world.read_unit_samples(*a);
            let ns: Vec<u64> = units.iter().map(|(u, _)| *u).collect();
            let reads = self.world.read_units(*a, &ns)?;
            reads
                .into_iter()
                .zip(units)
                .map(|(read, (u, wants))| match read {
                    UnitRead::Data(d) => Ok(d),
                    UnitRead::Missing(what) => {
                        let first = wants.iter().map(|w| w.1).min().unwrap_or(0) as u64;
                        let last = wants.iter().map(|w| w.1).max().unwrap_or(0) as u64;
                        Err(missing_unit_error(
                            desc,
                            *a,
                            &what,
                            u * us + first,
                            u * us + last + 1,
                        ))
                    }
                })
                .collect()
        };
        let threads = threads.min(jobs.len());
        if threads <= 1 {
            for job in &jobs {
                let data = decode(job)?;
                if let Some(buf) = out[job.0].as_deref_mut() {
                    for (d, (_, wants)) in data.iter().zip(&job.1) {
                        scatter_unit(buf, d, wants, pers[job.0], &dims[job.0], layout);
                    }
                }
            }
            return Ok(());
        }
        // `threads - 1` workers and this thread decode jobs (the costly part); workers
        // hand theirs over and this thread places the samples of every job, between its
        // own jobs and at the end. The first error stops everyone.
        #[cfg(test)]
        WORKERS_STARTED.with(|n| n.set(n.get() + threads as u64 - 1));
        use std::sync::atomic::Ordering::Relaxed;
        let next = std::sync::atomic::AtomicUsize::new(0);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Result<Vec<Unit>>)>(threads * 2);
        std::thread::scope(|scope| {
            for _ in 1..threads {
                let tx = tx.clone();
                let (next, stop, jobs, decode) = (&next, &stop, &jobs, &decode);
                scope.spawn(move || {
                    while !stop.load(Relaxed) {
                        let j = next.fetch_add(1, Relaxed);
                        let Some(job) = jobs.get(j) else { break };
                        if tx.send((j, decode(job))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut first_err = None;
            let mut place = |j: usize, data: Result<Vec<Unit>>| match data {
                Ok(data) if first_err.is_none() => {
                    let (a, units) = &jobs[j];
                    if let Some(buf) = out[*a].as_deref_mut() {
                        for (d, (_, wants)) in data.iter().zip(units) {
                            scatter_unit(buf, d, wants, pers[*a], &dims[*a], layout);
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    stop.store(true, Relaxed);
                    first_err.get_or_insert(e);
                }
            };
            while !stop.load(Relaxed) {
                while let Ok((j, data)) = rx.try_recv() {
                    place(j, data);
                }
                let j = next.fetch_add(1, Relaxed);
                let Some(job) = jobs.get(j) else { break };
                place(j, decode(job));
            }
            // the workers' last jobs (the channel closes when they have all stopped)
            for (j, data) in rx {
                place(j, data);
            }
            first_err.map_or(Ok(()), Err)
        })
    }
}

#[cfg(test)]
thread_local! {
    /// Decoding workers started by reads called from this thread (tests count them).
    static WORKERS_STARTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Read units of one shard to decode: (array, [(unit, the (output position, sample
/// within the unit) pairs it feeds)]).
type UnitJob = (usize, Vec<(u64, Vec<(usize, usize)>)>);

/// Appends the units of array `a` (in ascending order, each with the output positions it
/// feeds) to `groups`, one group per shard of `per_shard` units: a job reads the units of
/// one shard through one open of the file and one read of its index.
fn group_by_shard(
    groups: &mut Vec<UnitJob>,
    a: usize,
    per_shard: u64,
    units: impl IntoIterator<Item = (u64, Vec<(usize, usize)>)>,
) {
    let mut shard: Option<u64> = None;
    for (u, wants) in units {
        if shard != Some(u / per_shard) {
            shard = Some(u / per_shard);
            groups.push((a, Vec::new()));
        }
        if let Some(g) = groups.last_mut() {
            g.1.push((u, wants));
        }
    }
}

/// The error for a unit (chunk or inner chunk) of array `a` absent from disk while the
/// written mask claims samples `first..last` of it.
fn missing_unit_error(desc: &WorldDesc, a: usize, what: &str, first: u64, last: u64) -> Error {
    Error::new(
        ErrorKind::Format,
        format!(
            "array '{}/{}': {what}, but the written mask says samples {first}..{last} of it are stored: the dataset is damaged (restore the file from a copy, or rewrite those samples)",
            desc.world_id,
            ArrayKind::ALL[a].name()
        ),
    )
}

/// Scatters the decoded unit `data` of array `a` to every output position that asked
/// for one of its samples: `wants` holds (position in the output, sample within the
/// unit).
fn scatter_unit<T: Float>(
    buf: &mut [T],
    data: &Unit,
    wants: &[(usize, usize)],
    per: usize,
    dims: &[usize],
    layout: Layout,
) {
    for &(pos, k) in wants {
        let dst = &mut buf[pos * per..(pos + 1) * per];
        match data {
            Unit::F32(v) => from_row_major_f32(dst, &v[k * per..(k + 1) * per], dims, layout),
            Unit::F64(v) => {
                from_row_major(dst, &v[k * per..(k + 1) * per], dims, layout, T::from_f64)
            }
        }
    }
}

/// The part `[lo, hi)` of unit `u` (units of `us` samples) in `[start, start + count)`.
fn unit_part(us: u64, u: u64, start: u64, count: u64) -> (usize, usize) {
    let first = u * us;
    let lo = start.max(first) - first;
    let hi = (start + count).min(first + us) - first;
    (lo as usize, hi as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writer::{SampleRef, Writer, WriterOptions};
    use zarrs::array::ArraySubset;
    use zarrs::array::{data_type, ArrayBuilder};

    fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ume-rd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    /// Value `j` of array `a` of sample `i`: all distinct, exact in float32.
    fn value(a: usize, i: u64, j: usize) -> f64 {
        (a * 100_000 + i as usize * 100 + j) as f64
    }

    /// A world of `n` samples, T = 4, n_obs = 2, all written, finalized.
    fn written_world(name: &str, n: u64, chunk: u64, inner: Option<u64>, only: u64) -> PathBuf {
        let dir = tmp(name);
        let desc = WorldDesc::new("w", n, 4, 1, 2, 2, 2);
        let mut o = WriterOptions::default();
        o.storage.chunk_samples = Some(chunk);
        o.storage.inner_chunk_samples = inner;
        let w = Writer::create(&dir, &desc, &o).unwrap();
        for i in 0..only {
            let v: Vec<Vec<f64>> = (0..4)
                .map(|a| {
                    (0..desc.sample_len(ArrayKind::ALL[a]))
                        .map(|j| value(a, i, j))
                        .collect()
                })
                .collect();
            let s = SampleRef {
                theta: &v[0],
                trajectories: &v[1],
                irfs: &v[2],
                shocks: &v[3],
            };
            w.write_sample(i, Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        dir
    }

    use std::path::PathBuf;

    /// Replaces array `a` of world `w` by one with `chunk` shape and data type float64
    /// (`wide`) or float32, holding the same values, as zarr-python or tensorstore would.
    fn rechunk(dir: &Path, a: usize, chunk: Vec<u64>, wide: bool) {
        let r = Reader::open(dir, "w").unwrap();
        let desc = r.desc().clone();
        let kind = ArrayKind::ALL[a];
        let n = desc.n_samples;
        let per = desc.sample_len(kind);
        let mut shape = vec![n];
        shape.extend(desc.sample_dims(kind).iter().map(|&d| d as u64));
        let store = r.world().store.clone();
        let path = format!("/w/{}", kind.name());
        drop(r);
        std::fs::remove_dir_all(dir.join("w").join(kind.name())).unwrap();
        let values: Vec<f64> = (0..n)
            .flat_map(|i| (0..per).map(move |j| value(a, i, j)))
            .collect();
        let all = ArraySubset::new_with_shape(shape.clone());
        if wide {
            let arr = ArrayBuilder::new(shape, chunk, data_type::float64(), f64::NAN)
                .build(store, &path)
                .unwrap();
            arr.store_metadata().unwrap();
            arr.store_array_subset(&all, values).unwrap();
        } else {
            let arr = ArrayBuilder::new(shape, chunk, data_type::float32(), f32::NAN)
                .build(store, &path)
                .unwrap();
            arr.store_metadata().unwrap();
            let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            arr.store_array_subset(&all, v).unwrap();
        }
    }

    fn read_one<T: Float>(r: &Reader, i: u64, a: usize) -> Result<Vec<T>> {
        let kind = ArrayKind::ALL[a];
        let mut buf = vec![T::from_f32(0.0); r.desc().sample_len(kind)];
        let mut out: [Option<&mut [T]>; 4] = [None, None, None, None];
        out[a] = Some(&mut buf);
        r.read_range(i, 1, Layout::C, out)?;
        Ok(buf)
    }

    /// Issue 15 item 1: arrays chunked differently from the `umedata_world` attribute
    /// (split along time, another chunk length, float64) are read from their own
    /// metadata. On the base commit sample 1 of the time-chunked trajectories came back
    /// as `8 9 12 13 ...` with success.
    #[test]
    fn arrays_chunked_unlike_the_attribute_are_read_exactly() {
        let dir = written_world("rechunk", 10, 4, None, 10);
        rechunk(&dir, 1, vec![2, 2, 2], false); // trajectories: 2 samples x 2 steps
        rechunk(&dir, 2, vec![3, 1, 2, 1], true); // irfs: float64, split on every axis
        rechunk(&dir, 0, vec![7, 1], false); // theta: 7 samples, one parameter
        let r = Reader::open(&dir, "w").unwrap();
        assert_eq!(r.samples_written().unwrap(), 10);
        for i in 0..10 {
            for a in 0..4 {
                let got: Vec<f64> = read_one(&r, i, a).unwrap();
                let want: Vec<f64> = (0..got.len()).map(|j| value(a, i, j)).collect();
                assert_eq!(got, want, "array {a} sample {i}");
            }
        }
        // a range across chunks, in Fortran order
        let per = r.desc().sample_len(ArrayKind::Trajectories);
        let mut traj = vec![0f32; 5 * per];
        r.read_range(3, 5, Layout::F, [None, Some(&mut traj), None, None])
            .unwrap();
        for s in 0..5 {
            for t in 0..4 {
                for o in 0..2 {
                    assert_eq!(
                        f64::from(traj[s * per + o * 4 + t]),
                        value(1, 3 + s as u64, t * 2 + o)
                    );
                }
            }
        }
        // float64 into float32 would round: refused, naming the dtype
        let err = read_one::<f32>(&r, 1, 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Format);
        assert!(
            err.message().contains("data type float64"),
            "{}",
            err.message()
        );
        // such a world is not resumed by the writer (its chunks would not line up)
        let err = Writer::open(&dir, "w", &WriterOptions::default())
            .err()
            .expect("foreign layout refused");
        assert_eq!(err.kind(), ErrorKind::Format);
        assert!(err.message().contains("w/theta"), "{}", err.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 15 item 2: a deleted chunk whose samples the mask claims is a format error
    /// naming the array, the chunk and the samples, not NaN with success.
    #[test]
    fn missing_chunk_of_written_samples_is_an_error() {
        for (name, inner) in [("plain", Some(4)), ("sharded", Some(2))] {
            let dir = written_world(name, 10, 4, inner, 10);
            std::fs::remove_file(dir.join("w/theta/c.0.0")).unwrap();
            let r = Reader::open(&dir, "w").unwrap();
            assert!(r.is_written(1).unwrap());
            let err = read_one::<f64>(&r, 1, 0).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Format, "{name}: {}", err.message());
            let m = err.message();
            assert!(m.contains("w/theta") && m.contains("c.0.0"), "{m}");
            assert!(m.contains("samples 1..2"), "{m}");
            // other arrays and other chunks still read
            assert!(read_one::<f64>(&r, 1, 1).is_ok());
            assert!(read_one::<f64>(&r, 5, 0).is_ok());
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// An inner chunk absent from its shard's index while the mask claims its samples.
    #[test]
    fn absent_inner_chunk_of_written_samples_is_an_error() {
        // samples 0..2 written: inner chunk 1 (samples 2..4) of shard 0 stays absent
        let dir = written_world("inner", 8, 4, Some(2), 2);
        let r = Reader::open(&dir, "w").unwrap();
        assert!(matches!(
            read_one::<f64>(&r, 3, 1).unwrap_err().kind(),
            ErrorKind::NotWritten
        ));
        r.world().written.store_chunk(&[0], vec![1u8; 4]).unwrap();
        let err = read_one::<f64>(&r, 3, 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Format, "{}", err.message());
        let m = err.message();
        assert!(
            m.contains("inner chunk 1") && m.contains("w/trajectories"),
            "{m}"
        );
        assert!(m.contains("samples 3..4"), "{m}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 16: a batched read of a list of ids (any order, repeats) returns exactly
    /// what per-sample reads return, for sharded and plain worlds, in both layouts, on
    /// one thread and several.
    #[test]
    fn read_samples_equals_per_sample_reads() {
        for (name, inner) in [("bplain", Some(4)), ("bsharded", Some(2))] {
            let dir = written_world(name, 23, 4, inner, 23);
            let r = Reader::open(&dir, "w").unwrap();
            let ids = [22u64, 0, 5, 5, 13, 1, 2, 3, 21, 9, 0];
            for layout in [Layout::C, Layout::F] {
                for threads in [1, 3, 0] {
                    let lens: Vec<usize> = ArrayKind::ALL
                        .iter()
                        .map(|k| r.desc().sample_len(*k))
                        .collect();
                    let mut bufs: Vec<Vec<f64>> =
                        lens.iter().map(|l| vec![-1.0; l * ids.len()]).collect();
                    let [b0, b1, b2, b3] = &mut bufs[..] else {
                        unreachable!()
                    };
                    r.read_samples(
                        &ids,
                        layout,
                        [Some(b0), Some(b1), Some(b2), Some(b3)],
                        threads,
                    )
                    .unwrap();
                    for (j, &i) in ids.iter().enumerate() {
                        for a in 0..4 {
                            let mut want = vec![0f64; lens[a]];
                            let mut out: [Option<&mut [f64]>; 4] = [None, None, None, None];
                            out[a] = Some(&mut want);
                            r.read_range(i, 1, layout, out).unwrap();
                            assert_eq!(
                                &bufs[a][j * lens[a]..(j + 1) * lens[a]],
                                &want[..],
                                "{name} array {a} id {i} threads {threads}"
                            );
                        }
                    }
                }
            }
            // only one array asked for, float32
            let mut t = vec![0f32; r.desc().sample_len(ArrayKind::Theta) * 2];
            r.read_samples(&[7, 3], Layout::C, [Some(&mut t), None, None, None], 2)
                .unwrap();
            assert_eq!(f64::from(t[0]), value(0, 7, 0));
            assert_eq!(f64::from(t[2]), value(0, 3, 0));
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// Issue 16: the batched read refuses what the range read refuses, before copying.
    #[test]
    fn read_samples_errors() {
        let dir = written_world("berr", 10, 4, Some(2), 6);
        let r = Reader::open(&dir, "w").unwrap();
        let per = r.desc().sample_len(ArrayKind::Theta);
        let mut t = vec![0f64; per * 2];
        let e = r
            .read_samples(&[1, 10], Layout::C, [Some(&mut t), None, None, None], 2)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfRange);
        assert!(
            e.message()
                .contains("sample index 10 (ids[1]) out of range [0, 10)"),
            "{}",
            e.message()
        );
        let e = r
            .read_samples(&[1, 7], Layout::C, [Some(&mut t), None, None, None], 2)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotWritten, "{}", e.message());
        let e = r
            .read_samples(&[1], Layout::C, [Some(&mut t), None, None, None], 2)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthMismatch, "{}", e.message());
        let e = r
            .read_samples::<f64>(&[], Layout::C, [None, None, None, None], 2)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        // a deleted shard whose samples the mask claims: a format error, not NaN
        std::fs::remove_file(dir.join("w/trajectories/c.1.0.0")).unwrap();
        let mut tr = vec![0f64; r.desc().sample_len(ArrayKind::Trajectories) * 2];
        for threads in [1, 4] {
            let e = r
                .read_samples(
                    &[0, 5],
                    Layout::C,
                    [None, Some(&mut tr), None, None],
                    threads,
                )
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Format, "{}", e.message());
            assert!(e.message().contains("w/trajectories"), "{}", e.message());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
    /// Issue 16: a batch reads the inner chunks of one shard through one open of the
    /// shard file (one index read); on the base every inner chunk opened its shard again
    /// (here 4 arrays x 7 inner chunks = 28 opens instead of 4 x 2 shards = 8).
    #[test]
    fn read_samples_opens_each_shard_once() {
        use crate::storage::dataset::SHARD_OPENS;
        let dir = written_world("bopen", 40, 8, Some(2), 40);
        let r = Reader::open(&dir, "w").unwrap();
        // shard 0: inner chunks 0, 1, 3; shard 3: inner chunks 12..16 (samples 24..32)
        let ids = [25u64, 0, 7, 3, 30, 24, 27, 29, 31, 2, 6];
        let lens: Vec<usize> = ArrayKind::ALL
            .iter()
            .map(|k| r.desc().sample_len(*k))
            .collect();
        let mut bufs: Vec<Vec<f64>> = lens.iter().map(|l| vec![0.0; l * ids.len()]).collect();
        let [b0, b1, b2, b3] = &mut bufs[..] else {
            unreachable!()
        };
        let before = SHARD_OPENS.with(|n| n.get());
        r.read_samples(&ids, Layout::C, [Some(b0), Some(b1), Some(b2), Some(b3)], 1)
            .unwrap();
        assert_eq!(SHARD_OPENS.with(|n| n.get()) - before, 8);
        for (j, &i) in ids.iter().enumerate() {
            for a in 0..4 {
                let want: Vec<f64> = (0..lens[a]).map(|k| value(a, i, k)).collect();
                assert_eq!(&bufs[a][j * lens[a]..(j + 1) * lens[a]], &want[..]);
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `World::read_units` returns for every unit, in any order and across shards,
    /// exactly what `read_unit` returns; a batch inside one shard split over threads
    /// equals per-sample reads too.
    #[test]
    fn read_units_equals_read_unit() {
        for (name, inner) in [("uplain", None), ("ushard", Some(2)), ("ushard4", Some(4))] {
            // 37 samples of 8 per shard: the last shard is partly past the end, and
            // samples 33..37 are not written (their inner chunk 16 half, 17 absent).
            let dir = written_world(name, 37, 8, inner, 33);
            let r = Reader::open(&dir, "w").unwrap();
            let w = r.world();
            for a in 0..4 {
                let us = w.read_unit_samples(a);
                let n_units = 37u64.div_ceil(us);
                let units: Vec<u64> = (0..n_units).rev().chain(0..n_units).collect();
                let got = w.read_units(a, &units).unwrap();
                assert_eq!(got.len(), units.len());
                for (g, &u) in got.iter().zip(&units) {
                    match (g, w.read_unit(a, u).unwrap()) {
                        (UnitRead::Data(Unit::F32(x)), UnitRead::Data(Unit::F32(y))) => {
                            let (x, y): (Vec<u32>, Vec<u32>) = (
                                x.iter().map(|v| v.to_bits()).collect(),
                                y.iter().map(|v| v.to_bits()).collect(),
                            );
                            assert_eq!(x, y, "{name} array {a} unit {u}");
                        }
                        (UnitRead::Missing(x), UnitRead::Missing(y)) => assert_eq!(x, &y),
                        _ => panic!("{name} array {a} unit {u}: read_units and read_unit differ"),
                    }
                }
            }
            // a batch within one shard, split over several threads
            let ids = [7u64, 1, 0, 6, 3, 2, 5, 4, 1];
            let per = r.desc().sample_len(ArrayKind::Irfs);
            for threads in [1, 2, 4] {
                let mut b = vec![0f64; per * ids.len()];
                r.read_samples(&ids, Layout::F, [None, None, Some(&mut b), None], threads)
                    .unwrap();
                for (j, &i) in ids.iter().enumerate() {
                    let mut wf = vec![0f64; per];
                    r.read_range(i, 1, Layout::F, [None, None, Some(&mut wf), None])
                        .unwrap();
                    assert_eq!(&b[j * per..(j + 1) * per], &wf[..], "{name} t{threads}");
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// Grouping by shard keeps every checksum verified: a flipped byte inside one inner
    /// chunk of a shard, or in the shard index, is a format error of the batch (never
    /// wrong values), and an inner chunk absent from the index while the mask claims it
    /// is one too.
    #[test]
    fn read_samples_by_shard_verifies_every_checksum() {
        let shard = "w/trajectories/c.0.0.0";
        let per = |r: &Reader| r.desc().sample_len(ArrayKind::Trajectories);
        let ids = [0u64, 5, 2, 7, 4];
        // the index of shard 0 (4 inner chunks of 2): its entry for inner chunk 2
        let entry = |bytes: &[u8], j: usize| {
            let at = bytes.len() - (4 * 16 + 4) + j * 16;
            let le = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
            (le(at), le(at + 8))
        };
        for what in ["inner chunk", "index"] {
            let dir = written_world("bcrc", 16, 8, Some(2), 16);
            let path = dir.join(shard);
            let mut bytes = std::fs::read(&path).unwrap();
            let at = if what == "index" {
                bytes.len() - 10
            } else {
                let (off, len) = entry(&bytes, 2);
                (off + len / 2) as usize
            };
            bytes[at] ^= 0x40;
            std::fs::write(&path, &bytes).unwrap();
            let r = Reader::open(&dir, "w").unwrap();
            for threads in [1, 3] {
                let mut b = vec![0f32; per(&r) * ids.len()];
                let e = r
                    .read_samples(&ids, Layout::C, [None, Some(&mut b), None, None], threads)
                    .unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Format, "{what}: {}", e.message());
                assert!(e.message().contains("w/trajectories"), "{}", e.message());
            }
            // other shards still read
            let mut b = vec![0f32; per(&r)];
            r.read_samples(&[9], Layout::C, [None, Some(&mut b), None, None], 1)
                .unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
        }
        // inner chunk 3 (samples 6..8) never written, then claimed by the mask
        let dir = written_world("babs", 16, 8, Some(2), 6);
        let r = Reader::open(&dir, "w").unwrap();
        r.world().written.store_chunk(&[0], vec![1u8; 8]).unwrap();
        let mut b = vec![0f32; per(&r) * 3];
        let e = r
            .read_samples(&[1, 7, 3], Layout::C, [None, Some(&mut b), None, None], 1)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format, "{}", e.message());
        assert!(e.message().contains("inner chunk 3"), "{}", e.message());
        assert!(e.message().contains("samples 7..8"), "{}", e.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// All four arrays of `[start, start + count)` read on `threads` threads, into
    /// buffers pre-filled with -1.
    fn range_all<T: Float>(
        r: &Reader,
        start: u64,
        count: u64,
        layout: Layout,
        threads: usize,
    ) -> Result<Vec<Vec<T>>> {
        let mut bufs: Vec<Vec<T>> = ArrayKind::ALL
            .iter()
            .map(|k| vec![T::from_f32(-1.0); r.desc().sample_len(*k) * count as usize])
            .collect();
        let [b0, b1, b2, b3] = &mut bufs[..] else {
            unreachable!()
        };
        r.read_range_threads(
            start,
            count,
            layout,
            [Some(b0), Some(b1), Some(b2), Some(b3)],
            threads,
        )?;
        Ok(bufs)
    }

    /// Issue 16 item 5: a range read decoded on several threads returns exactly the
    /// bytes of a one-thread read, float32 and float64, C and Fortran layouts, sharded
    /// and plain worlds, ranges that start and end inside units and shards; and threads
    /// are really started (counted), so the parallel path is the one compared.
    #[test]
    fn read_range_parallel_equals_serial() {
        for (name, inner) in [("pplain", None), ("pshard", Some(2)), ("pshard4", Some(4))] {
            let dir = written_world(name, 45, 8, inner, 45);
            let r = Reader::open(&dir, "w").unwrap();
            for (start, count) in [(0u64, 45u64), (3, 37), (9, 2), (17, 24), (44, 1)] {
                for layout in [Layout::C, Layout::F] {
                    let one32 = range_all::<f32>(&r, start, count, layout, 1).unwrap();
                    let one64 = range_all::<f64>(&r, start, count, layout, 1).unwrap();
                    // the serial read holds the values written (C layout checked here)
                    if layout == Layout::C {
                        for (a, got) in one64.iter().enumerate() {
                            let per = r.desc().sample_len(ArrayKind::ALL[a]);
                            for s in 0..count as usize {
                                for j in 0..per {
                                    let want = value(a, start + s as u64, j);
                                    assert_eq!(got[s * per + j], want, "{name} a{a}");
                                }
                            }
                        }
                    }
                    for threads in [2usize, 3, 8] {
                        let before = WORKERS_STARTED.with(|n| n.get());
                        let par32 = range_all::<f32>(&r, start, count, layout, threads).unwrap();
                        let par64 = range_all::<f64>(&r, start, count, layout, threads).unwrap();
                        let started = WORKERS_STARTED.with(|n| n.get()) - before;
                        assert!(
                            started >= 2,
                            "{name} [{start}, +{count}) t{threads}: {started}"
                        );
                        assert_eq!(
                            par32, one32,
                            "{name} [{start}, +{count}) {layout:?} t{threads}"
                        );
                        assert_eq!(
                            par64, one64,
                            "{name} [{start}, +{count}) {layout:?} t{threads}"
                        );
                    }
                }
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// The general path (arrays chunked unlike umedata, float64 among them) read in
    /// parallel equals the serial read and the values written.
    #[test]
    fn read_range_parallel_foreign_chunking() {
        let dir = written_world("pforeign", 10, 4, None, 10);
        rechunk(&dir, 1, vec![2, 2, 2], false);
        rechunk(&dir, 2, vec![3, 1, 2, 1], true);
        rechunk(&dir, 0, vec![7, 1], false);
        let r = Reader::open(&dir, "w").unwrap();
        for layout in [Layout::C, Layout::F] {
            let one = range_all::<f64>(&r, 1, 9, layout, 1).unwrap();
            let before = WORKERS_STARTED.with(|n| n.get());
            let par = range_all::<f64>(&r, 1, 9, layout, 4).unwrap();
            assert!(WORKERS_STARTED.with(|n| n.get()) > before);
            assert_eq!(par, one, "{layout:?}");
            if layout == Layout::C {
                let per = r.desc().sample_len(ArrayKind::Irfs);
                for s in 0..9 {
                    for j in 0..per {
                        assert_eq!(par[2][s * per + j], value(2, 1 + s as u64, j));
                    }
                }
            }
        }
        // float64 into float32 is still refused when parallel
        let e = range_all::<f32>(&r, 0, 10, Layout::C, 4).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format, "{}", e.message());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A parallel range read refuses what the serial one refuses: a deleted chunk (or
    /// shard) that the mask claims is a format error naming the array and the samples,
    /// an unwritten sample is NotWritten; never values with success.
    #[test]
    fn read_range_parallel_errors() {
        for (name, inner, file) in [
            ("pemiss", None, "w/trajectories/c.2.0.0"),
            ("pemsh", Some(2), "w/trajectories/c.2.0.0"),
        ] {
            let dir = written_world(name, 40, 8, inner, 36);
            std::fs::remove_file(dir.join(file)).unwrap();
            let r = Reader::open(&dir, "w").unwrap();
            for threads in [1, 2, 4] {
                let e = range_all::<f32>(&r, 0, 32, Layout::C, threads).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::Format, "{name}: {}", e.message());
                let m = e.message();
                assert!(m.contains("w/trajectories") && m.contains("c.2.0.0"), "{m}");
                assert!(m.contains("samples 16..") || m.contains("samples 2"), "{m}");
                let e = range_all::<f32>(&r, 30, 8, Layout::C, threads).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::NotWritten, "{}", e.message());
                assert!(e.message().contains("sample 36"), "{}", e.message());
            }
            // the other chunks still read, in parallel
            assert!(range_all::<f32>(&r, 24, 12, Layout::C, 4).is_ok());
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    /// `set_threads` is what `read_range` uses: 1 starts no thread, n starts n - 1 workers
    /// beside the calling thread (at most one per job); automatic (0, the default) keeps a small read on the calling thread
    /// and decodes a read of more than 1 MB on one thread per core.
    #[test]
    fn read_range_uses_set_threads() {
        let dir = tmp("pset");
        // trajectories of 4096 x 2 float32 = 32 KiB per sample: 40 samples decode 1.3 MB
        let desc = WorldDesc::new("w", 40, 4096, 1, 2, 2, 2);
        let mut o = WriterOptions::default();
        o.storage.chunk_samples = Some(8);
        o.storage.inner_chunk_samples = Some(2);
        let w = Writer::create(&dir, &desc, &o).unwrap();
        for i in 0..40u64 {
            let v: Vec<Vec<f32>> = ArrayKind::ALL
                .iter()
                .map(|k| {
                    (0..desc.sample_len(*k))
                        .map(|j| (i * 7 + j as u64 % 1000) as f32)
                        .collect()
                })
                .collect();
            let s = SampleRef {
                theta: &v[0],
                trajectories: &v[1],
                irfs: &v[2],
                shocks: &v[3],
            };
            w.write_sample(i, Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        let r = Reader::open(&dir, "w").unwrap();
        assert_eq!(r.threads(), 0);
        let per = desc.sample_len(ArrayKind::Trajectories);
        let started = |r: &Reader, start: u64, count: u64| {
            let mut b = vec![0f32; per * count as usize];
            let before = WORKERS_STARTED.with(|n| n.get());
            r.read_range(start, count, Layout::C, [None, Some(&mut b), None, None])
                .unwrap();
            assert_eq!(
                b[per * count as usize - 1],
                ((start + count - 1) * 7 + (per as u64 - 1) % 1000) as f32
            );
            WORKERS_STARTED.with(|n| n.get()) - before
        };
        let cores = std::thread::available_parallelism().map_or(1, |t| t.get()) as u64;
        // automatic: one sample on this thread, 40 samples (1.3 MB, 20 units) per core
        assert_eq!(started(&r, 5, 1), 0);
        let auto = started(&r, 0, 40);
        if cores > 1 {
            assert!(
                auto >= 1 && auto < cores,
                "{auto} workers for {cores} cores"
            );
        } else {
            assert_eq!(auto, 0);
        }
        r.set_threads(1);
        assert_eq!(r.threads(), 1);
        assert_eq!(started(&r, 0, 40), 0);
        // explicit: the calling thread and 2 workers, even for a small read; one job (one
        // sample of one array) needs no worker
        r.set_threads(3);
        assert_eq!(started(&r, 0, 40), 2);
        assert_eq!(started(&r, 5, 1), 0);
        assert_eq!(started(&r, 4, 4), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
