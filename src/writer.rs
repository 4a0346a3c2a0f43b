//! The writer: buffers samples per chunk and stores each chunk once, whole and compressed,
//! on a pool of worker threads.
//!
//! # Memory bound
//! A chunk buffer is allocated when its first sample arrives and handed to the workers when
//! its last sample arrives. At most `max_open_chunks` buffers stay partially filled; when a
//! write opens one more, the oldest partial buffer is stored as it is (unwritten samples stay
//! NaN, the `written` mask says which are real). If later samples of such a chunk arrive,
//! the chunk is read back and completed (one read-modify-write per eviction, never per
//! sample). In-order writes from any number of threads never evict; purely random-order
//! writes of a world with more chunks than `max_open_chunks` do.
//! Peak memory ≈ (max_open_chunks + 2 × threads + callers) × chunk bytes.
//!
//! # Durability order
//! The data chunks of a chunk index are stored (atomically, see [`crate::store`]) before the
//! `written` mask chunk that claims them, so the mask never claims a sample that is not on
//! disk.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use crate::dataset::{codec_options, StorageOptions, World};
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::layout::{check_len, first_non_finite, to_row_major_f32, Float, Layout};
use crate::world::{ArrayKind, WorldDesc};

/// Options of a writer, beyond the storage choices.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Compression, chunking, checksums, durability.
    pub storage: StorageOptions,
    /// Compression worker threads (0 = number of cores).
    pub threads: usize,
    /// Partially filled chunks kept in memory (0 = about 32 MiB worth, at least 2).
    pub max_open_chunks: usize,
    /// Replace an existing world of the same id.
    pub overwrite: bool,
    /// Store NaN and infinities instead of rejecting them.
    pub allow_nonfinite: bool,
}

/// One sample's four arrays, each in the caller's layout.
#[derive(Debug, Clone, Copy)]
pub struct SampleRef<'a, T> {
    /// `(n_params,)`
    pub theta: &'a [T],
    /// `(T, n_obs)`
    pub trajectories: &'a [T],
    /// `(n_shocks, H+1, n_obs)`
    pub irfs: &'a [T],
    /// `(T, n_shocks)`
    pub shocks: &'a [T],
}

impl<'a, T> SampleRef<'a, T> {
    fn get(&self, kind: ArrayKind) -> &'a [T] {
        match kind {
            ArrayKind::Theta => self.theta,
            ArrayKind::Trajectories => self.trajectories,
            ArrayKind::Irfs => self.irfs,
            ArrayKind::Shocks => self.shocks,
        }
    }
}

/// Raw and stored size of one array after finalize.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ArrayStats {
    /// Bytes of the stored chunks before compression.
    pub raw_bytes: u64,
    /// Bytes of the stored chunks on disk.
    pub stored_bytes: u64,
    /// `stored_bytes / raw_bytes` (0 when nothing is stored).
    pub ratio: f64,
}

/// What a finalized writer stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Samples of the world.
    pub n_samples: u64,
    /// Samples stored (the `written` mask's count).
    pub samples_written: u64,
    /// Per array, in [`ArrayKind::ALL`] order.
    pub arrays: [ArrayStats; 4],
}

/// Samples of one chunk being assembled.
struct ChunkBuf {
    data: [Vec<f32>; 4],
    filled: Vec<u8>,
    count: u64,
}

enum Slot {
    Empty,
    Open(Box<ChunkBuf>),
    /// Handed to a worker; writes to this chunk wait until it is stored.
    Flushing,
}

struct Job {
    chunk: u64,
    buf: Box<ChunkBuf>,
}

/// The job queue and the worker threads draining it.
type Pool = (SyncSender<Job>, Vec<JoinHandle<()>>);

/// State shared by the callers and the workers.
struct Shared {
    world: World,
    slots: Vec<Mutex<Slot>>,
    /// Samples of each chunk that are on disk (and claimed by the mask).
    stored: Vec<AtomicU64>,
    /// Chunks with an open buffer, oldest first.
    open: Mutex<VecDeque<u64>>,
    samples_stored: AtomicU64,
    /// An error of a background flush, reported by the next call.
    pending_error: Mutex<Option<Error>>,
    max_open: usize,
}

/// Writes the samples of one world. `Sync`: share one writer between threads.
pub struct Writer {
    shared: Arc<Shared>,
    pool: Mutex<Option<Pool>>,
    /// Writes hold it shared; finalize holds it exclusively, so it waits for writes in flight.
    gate: RwLock<()>,
    finalized: AtomicBool,
    allow_nonfinite: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked poisons nothing we cannot still read safely: the slot states
    // are always left consistent before any operation that could panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Writer {
    /// Creates the world `desc` in the dataset at `path` and returns a writer for it.
    pub fn create(path: &Path, desc: &WorldDesc, opts: &WriterOptions) -> Result<Writer> {
        let world = World::create(path, desc, &opts.storage, opts.overwrite)?;
        Ok(Self::from_world(world, opts))
    }

    fn from_world(world: World, opts: &WriterOptions) -> Writer {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            opts.threads
        };
        let chunk_bytes = world.chunk_samples as usize * world.desc.sample_bytes();
        let max_open = if opts.max_open_chunks == 0 {
            ((32usize << 20) / chunk_bytes.max(1)).max(2)
        } else {
            opts.max_open_chunks
        };
        let n_chunks = world.n_chunks() as usize;
        let shared = Arc::new(Shared {
            slots: (0..n_chunks).map(|_| Mutex::new(Slot::Empty)).collect(),
            stored: (0..n_chunks).map(|_| AtomicU64::new(0)).collect(),
            open: Mutex::new(VecDeque::new()),
            samples_stored: AtomicU64::new(0),
            pending_error: Mutex::new(None),
            max_open,
            world,
        });
        let (tx, rx) = sync_channel::<Job>(threads);
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|k| {
                let rx = Arc::clone(&rx);
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("umedata-flush-{k}"))
                    .spawn(move || loop {
                        let job = lock(&rx).recv();
                        match job {
                            Ok(job) => shared.flush(job),
                            Err(_) => break,
                        }
                    })
                    .expect("spawning a umedata flush thread")
            })
            .collect();
        Writer {
            shared,
            pool: Mutex::new(Some((tx, workers))),
            gate: RwLock::new(()),
            finalized: AtomicBool::new(false),
            allow_nonfinite: opts.allow_nonfinite,
        }
    }

    /// The world being written.
    pub fn desc(&self) -> &WorldDesc {
        &self.shared.world.desc
    }

    /// Samples per chunk.
    pub fn chunk_samples(&self) -> u64 {
        self.shared.world.chunk_samples
    }

    /// Stores sample `i`. Checks the index, every buffer length and (unless allowed) that
    /// all values are finite before anything is copied; a rejected call changes nothing.
    pub fn write_sample<T: Float>(
        &self,
        i: u64,
        layout: Layout,
        sample: SampleRef<'_, T>,
    ) -> Result<()> {
        let world = &self.shared.world;
        let desc = &world.desc;
        if i >= desc.n_samples {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("sample index {i} out of range [0, {})", desc.n_samples),
            ));
        }
        for kind in ArrayKind::ALL {
            check_len(kind.name(), sample.get(kind).len(), desc.sample_len(kind))?;
        }
        if !self.allow_nonfinite {
            for kind in ArrayKind::ALL {
                if let Some(pos) = first_non_finite(sample.get(kind)) {
                    return Err(Error::new(
                        ErrorKind::NonFinite,
                        format!(
                            "sample {i}: {}[{pos}] is NaN or infinite (set allow_nonfinite to store such values)",
                            kind.name()
                        ),
                    ));
                }
            }
        }
        let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
        if self.finalized.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Finalized,
                "the writer was finalized; it accepts no more samples",
            ));
        }
        if let Some(e) = lock(&self.shared.pending_error).take() {
            return Err(e);
        }
        let cs = world.chunk_samples;
        let c = i / cs;
        let k = (i % cs) as usize;
        let full = loop {
            let mut slot = lock(&self.shared.slots[c as usize]);
            if matches!(*slot, Slot::Flushing) {
                drop(slot);
                std::thread::sleep(std::time::Duration::from_micros(50));
                continue;
            }
            if matches!(*slot, Slot::Empty) {
                let on_disk = self.shared.stored[c as usize].load(Ordering::Acquire);
                if on_disk == world.samples_in_chunk(c) {
                    return Err(already_written(i));
                }
                let buf = self.shared.new_buffer(c, on_disk > 0)?;
                *slot = Slot::Open(buf);
                lock(&self.shared.open).push_back(c);
            }
            let Slot::Open(buf) = &mut *slot else {
                unreachable!("slot is open here")
            };
            if buf.filled[k] != 0 {
                return Err(already_written(i));
            }
            for (a, kind) in ArrayKind::ALL.iter().enumerate() {
                let n = desc.sample_len(*kind);
                let dst = &mut buf.data[a][k * n..(k + 1) * n];
                to_row_major_f32(dst, sample.get(*kind), &desc.sample_dims(*kind), layout);
            }
            buf.filled[k] = 1;
            buf.count += 1;
            if buf.count == world.samples_in_chunk(c) {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                break Some(buf);
            }
            break None;
        };
        if let Some(buf) = full {
            self.shared.forget_open(c);
            self.submit(Job { chunk: c, buf })?;
        }
        self.evict_over_limit()
    }

    /// Hands a chunk to the workers (blocks while they are all busy: that is the memory bound).
    fn submit(&self, job: Job) -> Result<()> {
        let tx = lock(&self.pool).as_ref().map(|(tx, _)| tx.clone());
        match tx {
            Some(tx) => tx.send(job).map_err(|e| {
                // Only if every worker died; keep the data so finalize can report it.
                let Job { chunk, buf } = e.0;
                *lock(&self.shared.slots[chunk as usize]) = Slot::Open(buf);
                Error::internal("the flush threads are gone")
            }),
            None => {
                self.shared.flush(job);
                Ok(())
            }
        }
    }

    fn evict_over_limit(&self) -> Result<()> {
        loop {
            let victim = {
                let mut open = lock(&self.shared.open);
                if open.len() <= self.shared.max_open {
                    return Ok(());
                }
                open.pop_front()
            };
            let Some(c) = victim else { return Ok(()) };
            let mut slot = lock(&self.shared.slots[c as usize]);
            if let Slot::Open(_) = &*slot {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                drop(slot);
                self.submit(Job { chunk: c, buf })?;
            }
        }
    }

    /// Stores every partially filled chunk, waits for the workers and returns what is on
    /// disk. Afterwards the writer accepts no more samples. Calling it twice is an error.
    pub fn finalize(&self) -> Result<Summary> {
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        if self.finalized.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                ErrorKind::Finalized,
                "the writer was already finalized",
            ));
        }
        self.close()?;
        self.summary()
    }

    /// Flushes all open chunks and stops the workers.
    fn close(&self) -> Result<()> {
        let open: Vec<u64> = lock(&self.shared.open).drain(..).collect();
        for c in open {
            let mut slot = lock(&self.shared.slots[c as usize]);
            if let Slot::Open(_) = &*slot {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                drop(slot);
                self.submit(Job { chunk: c, buf })?;
            }
        }
        if let Some((tx, workers)) = lock(&self.pool).take() {
            drop(tx);
            for w in workers {
                if w.join().is_err() {
                    return Err(Error::internal("a flush thread panicked"));
                }
            }
        }
        // Anything a failed flush left in memory is tried once more, here, in this thread.
        for (c, slot) in self.shared.slots.iter().enumerate() {
            let mut slot = lock(slot);
            if let Slot::Open(_) = &*slot {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                drop(slot);
                lock(&self.shared.pending_error).take();
                self.shared.flush(Job {
                    chunk: c as u64,
                    buf,
                });
            }
        }
        match lock(&self.shared.pending_error).take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn summary(&self) -> Result<Summary> {
        let world = &self.shared.world;
        let mut arrays = [ArrayStats::default(); 4];
        let stored_chunks: u64 = self
            .shared
            .stored
            .iter()
            .enumerate()
            .filter(|(_, s)| s.load(Ordering::Acquire) > 0)
            .map(|(c, _)| world.samples_in_chunk(c as u64))
            .sum();
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            let raw = stored_chunks * world.desc.sample_len(*kind) as u64 * 4;
            let stored = world.stored_bytes(&world.arrays[a])?;
            arrays[a] = ArrayStats {
                raw_bytes: raw,
                stored_bytes: stored,
                ratio: if raw == 0 {
                    0.0
                } else {
                    stored as f64 / raw as f64
                },
            };
        }
        Ok(Summary {
            n_samples: world.desc.n_samples,
            samples_written: self.shared.samples_stored.load(Ordering::Acquire),
            arrays,
        })
    }
}

impl Drop for Writer {
    /// A writer dropped without finalize still stores what it holds (errors are lost; call
    /// finalize to see them).
    fn drop(&mut self) {
        if !self.finalized.swap(true, Ordering::AcqRel) {
            let _ = self.close();
        }
    }
}

fn already_written(i: u64) -> Error {
    Error::new(
        ErrorKind::AlreadyWritten,
        format!("sample {i} was already written"),
    )
}

impl Shared {
    fn forget_open(&self, c: u64) {
        let mut open = lock(&self.open);
        if let Some(pos) = open.iter().position(|&x| x == c) {
            open.remove(pos);
        }
    }

    /// A buffer for chunk `c`, filled with what is on disk when the chunk was stored before.
    fn new_buffer(&self, c: u64, from_disk: bool) -> Result<Box<ChunkBuf>> {
        let world = &self.world;
        let n = world.samples_in_chunk(c) as usize;
        let cs = world.chunk_samples as usize;
        if from_disk {
            let mut data: [Vec<f32>; 4] = Default::default();
            for (a, kind) in ArrayKind::ALL.iter().enumerate() {
                let mut v = world.read_chunk_f32(&world.arrays[a], c)?;
                v.truncate(n * world.desc.sample_len(*kind));
                data[a] = v;
            }
            let mut filled = world.read_mask_chunk(c)?;
            filled.truncate(n);
            let count = filled.iter().filter(|&&f| f != 0).count() as u64;
            let _ = cs;
            return Ok(Box::new(ChunkBuf {
                data,
                filled,
                count,
            }));
        }
        let data = ArrayKind::ALL.map(|kind| vec![f32::NAN; n * world.desc.sample_len(kind)]);
        Ok(Box::new(ChunkBuf {
            data,
            filled: vec![0; n],
            count: 0,
        }))
    }

    /// Encodes and stores one chunk of every array, then its mask chunk. On failure the
    /// buffer goes back to its slot (nothing is lost) and the error waits for the next call.
    fn flush(&self, job: Job) {
        let Job { chunk: c, buf } = job;
        match self.store_chunk(c, &buf) {
            Ok(()) => {
                let before = self.stored[c as usize].swap(buf.count, Ordering::AcqRel);
                self.samples_stored
                    .fetch_add(buf.count - before, Ordering::AcqRel);
                *lock(&self.slots[c as usize]) = Slot::Empty;
            }
            Err(e) => {
                *lock(&self.slots[c as usize]) = Slot::Open(buf);
                lock(&self.open).push_back(c);
                let mut pending = lock(&self.pending_error);
                if pending.is_none() {
                    *pending = Some(e);
                }
            }
        }
    }

    fn store_chunk(&self, c: u64, buf: &ChunkBuf) -> Result<()> {
        let world = &self.world;
        let opts = codec_options();
        let cs = world.chunk_samples as usize;
        let n = world.samples_in_chunk(c) as usize;
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            let array = &world.arrays[a];
            let per = world.desc.sample_len(*kind);
            let mut idx = vec![0u64; array.shape().len()];
            idx[0] = c;
            // The last chunk is stored at full chunk size (Zarr chunks are regular); the
            // samples past n_samples are padding.
            let store = |data: &[f32]| {
                array
                    .store_chunk_opt(&idx, data, &opts)
                    .map_err(|e| from_array(&format!("storing chunk {c} of {}", kind.name()), e))
            };
            if n == cs {
                store(&buf.data[a])?;
            } else {
                let mut padded = buf.data[a].clone();
                padded.resize(cs * per, f32::NAN);
                store(&padded)?;
            }
        }
        let mut mask = buf.filled.clone();
        mask.resize(cs, 0);
        world
            .written
            .store_chunk_opt(&[c], mask.as_slice(), &opts)
            .map_err(|e| from_array(&format!("storing chunk {c} of the written mask"), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::Reader;

    pub(crate) fn tmp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ume-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    fn sample_values(desc: &WorldDesc, i: u64) -> [Vec<f64>; 4] {
        ArrayKind::ALL.map(|kind| {
            (0..desc.sample_len(kind))
                .map(|j| (i as f64) * 0.5 + (j as f64).sin() + kind as u8 as f64)
                .collect()
        })
    }

    fn write(w: &Writer, i: u64) {
        let v = sample_values(w.desc(), i);
        w.write_sample(
            i,
            Layout::C,
            SampleRef {
                theta: &v[0],
                trajectories: &v[1],
                irfs: &v[2],
                shocks: &v[3],
            },
        )
        .unwrap();
    }

    fn read_all(path: &Path) -> [Vec<f32>; 4] {
        let r = Reader::open(path, "w").unwrap();
        let n = r.desc().n_samples;
        let mut out: [Vec<f32>; 4] =
            ArrayKind::ALL.map(|k| vec![0f32; n as usize * r.desc().sample_len(k)]);
        let [a, b, c, d] = &mut out;
        r.read_range(0, n, Layout::C, [Some(a), Some(b), Some(c), Some(d)])
            .unwrap();
        out
    }

    fn small(n: u64) -> WorldDesc {
        WorldDesc::new("w", n, 7, 3, 2, 2, 3)
    }

    fn opts(chunk: u64, max_open: usize) -> WriterOptions {
        let mut o = WriterOptions::default();
        o.storage.chunk_samples = Some(chunk);
        o.max_open_chunks = max_open;
        o
    }

    #[test]
    fn random_order_and_threads_match_serial() {
        let desc = small(103);
        let serial = tmp("serial");
        let w = Writer::create(&serial, &desc, &opts(8, 0)).unwrap();
        (0..103).for_each(|i| write(&w, i));
        let s = w.finalize().unwrap();
        assert_eq!(s.samples_written, 103);
        let want = read_all(&serial);

        // random order with evictions (2 open chunks for 13 chunks): read-modify-write path
        let random = tmp("random");
        let w = Writer::create(&random, &desc, &opts(8, 2)).unwrap();
        let mut order: Vec<u64> = (0..103).collect();
        let mut x = 12345u64;
        for k in (1..order.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(k, (x >> 33) as usize % (k + 1));
        }
        order.iter().for_each(|&i| write(&w, i));
        assert_eq!(w.finalize().unwrap().samples_written, 103);
        assert_eq!(read_all(&random), want);

        // two threads sharing one writer, interleaved indices
        let threaded = tmp("threaded");
        let w = Writer::create(&threaded, &desc, &opts(8, 0)).unwrap();
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let w = &w;
                s.spawn(move || (t..103).step_by(2).for_each(|i| write(w, i)));
            }
        });
        assert_eq!(w.finalize().unwrap().samples_written, 103);
        assert_eq!(read_all(&threaded), want);
        for p in [serial, random, threaded] {
            std::fs::remove_dir_all(p).unwrap();
        }
    }

    #[test]
    fn fortran_f64_equals_c_f32() {
        let desc = small(5);
        let (pc, pf) = (tmp("c32"), tmp("f64"));
        let wc = Writer::create(&pc, &desc, &opts(2, 0)).unwrap();
        let wf = Writer::create(&pf, &desc, &opts(2, 0)).unwrap();
        for i in 0..5 {
            let v = sample_values(&desc, i);
            let c32: Vec<Vec<f32>> = v
                .iter()
                .map(|a| a.iter().map(|&x| x as f32).collect())
                .collect();
            wc.write_sample(
                i,
                Layout::C,
                SampleRef {
                    theta: &c32[0],
                    trajectories: &c32[1],
                    irfs: &c32[2],
                    shocks: &c32[3],
                },
            )
            .unwrap();
            // the same logical arrays, column-major, double precision
            let f: Vec<Vec<f64>> = ArrayKind::ALL
                .iter()
                .zip(&v)
                .map(|(k, a)| {
                    let dims = desc.sample_dims(*k);
                    let mut out = vec![0f64; a.len()];
                    crate::layout::from_row_major_f32(
                        &mut out,
                        &a.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                        &dims,
                        Layout::F,
                    );
                    // keep full f64 precision: transpose the f64 values the same way
                    let mut exact = vec![0f64; a.len()];
                    transpose_c_to_f(&mut exact, a, &dims);
                    assert_eq!(out.len(), exact.len());
                    exact
                })
                .collect();
            wf.write_sample(
                i,
                Layout::F,
                SampleRef {
                    theta: &f[0],
                    trajectories: &f[1],
                    irfs: &f[2],
                    shocks: &f[3],
                },
            )
            .unwrap();
        }
        wc.finalize().unwrap();
        wf.finalize().unwrap();
        let (a, b) = (read_all(&pc), read_all(&pf));
        assert_eq!(a, b);
        std::fs::remove_dir_all(pc).unwrap();
        std::fs::remove_dir_all(pf).unwrap();
    }

    fn transpose_c_to_f(dst: &mut [f64], src: &[f64], dims: &[usize]) {
        // element with C multi-index goes to its column-major position
        let n = src.len();
        for (c_pos, &v) in src.iter().enumerate() {
            let mut rem = c_pos;
            let mut f_pos = 0;
            let mut f_stride = 1;
            let mut idx = vec![0; dims.len()];
            for ax in (0..dims.len()).rev() {
                idx[ax] = rem % dims[ax];
                rem /= dims[ax];
            }
            for ax in 0..dims.len() {
                f_pos += idx[ax] * f_stride;
                f_stride *= dims[ax];
            }
            assert!(f_pos < n);
            dst[f_pos] = v;
        }
    }

    #[test]
    fn rejected_writes_change_nothing() {
        let desc = small(4);
        let p = tmp("rejects");
        let w = Writer::create(&p, &desc, &opts(2, 0)).unwrap();
        write(&w, 0);
        let v = sample_values(&desc, 1);
        let short = &v[1][..3];
        let e = w
            .write_sample(
                1,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: short,
                    irfs: &v[2],
                    shocks: &v[3],
                },
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LengthMismatch);
        assert!(
            e.message()
                .contains("trajectories buffer has 3 elements, expected 21"),
            "{e}"
        );
        let mut nan = v[3].clone();
        nan[2] = f64::NAN;
        let e = w
            .write_sample(
                1,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: &v[1],
                    irfs: &v[2],
                    shocks: &nan,
                },
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NonFinite);
        assert!(e.message().contains("shocks[2]"), "{e}");
        let e = w
            .write_sample(
                4,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: &v[1],
                    irfs: &v[2],
                    shocks: &v[3],
                },
            )
            .unwrap_err();
        assert_eq!(e.message(), "sample index 4 out of range [0, 4)");
        assert_eq!(
            w.write_sample(
                0,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: &v[1],
                    irfs: &v[2],
                    shocks: &v[3]
                }
            )
            .unwrap_err()
            .kind(),
            ErrorKind::AlreadyWritten
        );
        (1..4).for_each(|i| write(&w, i));
        // sample 0's chunk is complete and stored now: writing it again is still refused
        assert_eq!(
            w.write_sample(
                0,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: &v[1],
                    irfs: &v[2],
                    shocks: &v[3]
                }
            )
            .unwrap_err()
            .kind(),
            ErrorKind::AlreadyWritten
        );
        let s = w.finalize().unwrap();
        assert_eq!(s.samples_written, 4);
        assert!(s.arrays[1].ratio > 0.0);
        assert_eq!(w.finalize().unwrap_err().kind(), ErrorKind::Finalized);
        drop(w);
        let back = read_all(&p);
        let v0 = sample_values(&desc, 0);
        assert_eq!(
            back[1][..21],
            v0[1].iter().map(|&x| x as f32).collect::<Vec<_>>()[..]
        );
        std::fs::remove_dir_all(p).unwrap();
    }

    #[test]
    fn partial_world_reports_unwritten() {
        let desc = small(10);
        let p = tmp("partial");
        let w = Writer::create(&p, &desc, &opts(4, 0)).unwrap();
        for i in [0, 1, 5, 9] {
            write(&w, i);
        }
        assert_eq!(w.finalize().unwrap().samples_written, 4);
        let r = Reader::open(&p, "w").unwrap();
        assert_eq!(r.samples_written().unwrap(), 4);
        assert!(r.is_written(5).unwrap());
        assert!(!r.is_written(6).unwrap());
        let mut theta = vec![0f32; 2];
        let e = r
            .read_range(6, 1, Layout::C, [Some(&mut theta), None, None, None])
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotWritten);
        std::fs::remove_dir_all(p).unwrap();
    }

    #[test]
    fn create_refuses_existing_world_unless_overwrite() {
        let desc = small(3);
        let p = tmp("exists");
        Writer::create(&p, &desc, &opts(2, 0))
            .unwrap()
            .finalize()
            .unwrap();
        let e = Writer::create(&p, &desc, &opts(2, 0)).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let mut o = opts(2, 0);
        o.overwrite = true;
        Writer::create(&p, &desc, &o).unwrap().finalize().unwrap();
        std::fs::remove_dir_all(p).unwrap();
    }
}
