//! The writer: buffers samples per chunk and stores each chunk once, whole and compressed,
//! on a pool of worker threads.
//!
//! # Memory bound
//! A chunk buffer is allocated when its first sample arrives and handed to the workers when
//! its last sample arrives. At most `max_open_chunks` buffers stay partially filled (by
//! default about 8 MiB worth, but at least one more than the number of caller threads, so
//! that callers each filling their own block of samples never wait for each other). A
//! caller that would open one more waits while the others keep filling the open ones; when
//! none does, the oldest partial buffer is stored as it is (unwritten samples stay NaN, the
//! `written` mask says which are real). If later samples of such a chunk arrive, the chunk
//! is read back and completed (one read-modify-write per eviction, never per sample).
//! In-order writes from any number of threads do not evict; random-order writes of a world
//! with more chunks than `max_open_chunks` do.
//! Peak memory ≈ (max_open_chunks + callers + threads) × chunk bytes.
//!
//! # Durability order
//! The data chunks of a chunk index are stored (atomically, see `storage::store`) before the
//! `written` mask chunk that claims them, so the mask never claims a sample that is not on
//! disk. In durable mode (the default) the workers rename new data chunks into place without
//! waiting for the disk (a chunk that replaces one is fsynced before its rename, see
//! the store's deferred sync mode); a sync thread takes every chunk stored meanwhile,
//! fdatasyncs those data files, fsyncs their directories, and only then stores the mask
//! chunks that claim them (each fsynced before its rename). So the mask never claims a
//! sample a power loss could take away, while the compression workers never wait for the
//! disk; finalize also fsyncs the mask's directory. A kill or a power loss loses the claims
//! the sync thread had not published yet (those samples are simply written again on
//! resume). Without `durable` nothing is fsynced: the order holds against a killed process
//! only.
//!
//! # Where things are
//! - this file: the options, the public API of [`Writer`] and the state its threads share;
//! - `buffer`: chunk buffers, packing a caller's sample into them, gathering them back;
//! - `admission`: the open-chunk budget, back-pressure, storing chunks early, waiting;
//! - `flush`: the workers and the sync thread storing data chunks and masks in order;
//! - `resume`: what is already stored, missing samples, checks that the world is ours.

mod admission;
mod buffer;
mod flush;
mod resume;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::convert::{check_len, extend_row_major_f32, first_non_finite, Float, Layout};
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::storage::claims::Claims;
use crate::storage::codec::codec_options;
use crate::storage::dataset::{StorageOptions, World};
use crate::storage::shard::ShardScratch;
use crate::world::{ArrayKind, WorldDesc};

use buffer::Slot;
use flush::{Job, MaskClaim, Pool};
use resume::{check_not_replaced, dir_identity, refuse_foreign_layout};

/// Options of a writer, beyond the storage choices.
#[derive(Debug, Clone, Default)]
pub struct WriterOptions {
    /// Compression, chunking, checksums, durability.
    pub storage: StorageOptions,
    /// Compression worker threads (0 = number of cores).
    pub threads: usize,
    /// Partially filled chunks kept in memory (0 = about 8 MiB worth, at least 2 and at
    /// least one more than the number of caller threads).
    pub max_open_chunks: usize,
    /// Replace an existing world of the same id.
    pub overwrite: bool,
    /// Store NaN and infinities instead of rejecting them.
    pub allow_nonfinite: bool,
    /// Let a write replace a sample that is already stored (instead of an error).
    pub rewrite: bool,
    /// Lease of this writer's hold on the world and claims on its chunks, in seconds: they
    /// are renewed every third of it, and another host may take them over once they were
    /// not renewed for that long (see the claims module of the storage layer). 0 = the environment variable
    /// `UME_CLAIM_LEASE_SECONDS`, else 600.
    pub claim_lease_seconds: u64,
}

/// Most compression worker threads a writer starts (`threads`; 0 picks one per core, at
/// most this many).
pub const MAX_THREADS: usize = 1024;

/// Most partially filled chunks a writer keeps open (`max_open_chunks`); memory grows
/// with it (about max_open_chunks × bytes per chunk).
pub const MAX_OPEN_CHUNKS: usize = 1 << 16;

impl WriterOptions {
    /// Checks the writer's own bounds (threads, open chunks) before anything is created;
    /// the storage choices are checked against the world when the world is created.
    pub fn validate(&self) -> Result<()> {
        if self.threads > MAX_THREADS {
            return Err(Error::invalid(format!(
                "n_threads {} is too large (at most {MAX_THREADS}; 0 = one per core)",
                self.threads
            )));
        }
        if self.max_open_chunks > MAX_OPEN_CHUNKS {
            return Err(Error::invalid(format!(
                "max_open_chunks {} is too large (at most {MAX_OPEN_CHUNKS}; 0 = about 8 MiB worth)",
                self.max_open_chunks
            )));
        }
        Ok(())
    }
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
    /// Partial chunks stored early to stay within the memory bound (each one is read back
    /// if more of its samples arrive later). 0 for writes in chunk order.
    pub chunks_stored_early: u64,
}

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
    has_pending_error: AtomicBool,
    max_open: usize,
    /// `max_open` is the default, so it grows with the number of callers.
    max_open_auto: bool,
    /// Per-sample dimensions and lengths of the four arrays (computed once).
    dims: [Vec<usize>; 4],
    lens: [usize; 4],
    /// Chunks handed to the workers and not yet stored.
    queued: AtomicUsize,
    max_queued: usize,
    /// Threads inside `write_sample` right now.
    active_writers: AtomicUsize,
    /// Samples placed into chunk buffers so far: the progress other threads make.
    placed: AtomicU64,
    /// Chunks evicted (stored before they were complete) so far.
    stored_early: AtomicU64,
    /// The chunk each thread waiting in [`Writer::admit_new_chunk`] wants to open.
    admitting: Mutex<Vec<u64>>,
    /// Most threads ever seen inside `write_sample` at once: how many callers there are.
    /// (`active_writers` alone would miss a caller preempted between two calls.)
    callers: AtomicUsize,
    /// Signalled whenever a chunk leaves the open set.
    progress: (Mutex<()>, Condvar),
    /// Samples this writer may write (the whole world, or a claimed range).
    range: std::ops::Range<u64>,
    /// Durable mode: the workers compress and write data chunks without waiting for the
    /// disk; the syncer thread fdatasyncs them and only then publishes (and syncs) their
    /// `written` mask chunk. Disk waits overlap with compression instead of stalling it.
    durable: bool,
    /// Masks stored data is waiting to be claimed by, in order (the syncer's queue, kept
    /// visible so that a chunk reloaded in the meantime sees its newest mask).
    pending_masks: Mutex<Vec<MaskClaim>>,
    syncer: Mutex<Option<Sender<MaskClaim>>>,
    /// Shard-building memory of the threads that store chunks, reused from chunk to chunk
    /// (one per thread storing at the same time; freed with the writer).
    scratch: Mutex<Vec<ShardScratch>>,
    /// Set when this writer lost its hold or a claim (see the claims module of the storage layer): nothing
    /// more is stored, the range may be someone else's now.
    claims_lost: Option<crate::storage::claims::LostFlag>,
}

/// Writes the samples of one world. `Sync`: share one writer between threads.
pub struct Writer {
    shared: Arc<Shared>,
    /// The thread making stored chunks durable and publishing their masks (durable mode).
    syncer: Mutex<Option<JoinHandle<()>>>,
    /// Chunk claims of a range writer, released at finalize (or drop).
    claims: Mutex<Option<Claims>>,
    rewrite: bool,
    pool: Mutex<Option<Pool>>,
    /// Writes hold it shared; finalize holds it exclusively, so it waits for writes in flight.
    gate: RwLock<()>,
    finalized: AtomicBool,
    allow_nonfinite: bool,
}

/// The error for a thread the system would not start (workers already started stop when
/// their job channel closes as the half-built writer is dropped).
fn spawn_error(what: &str, k: usize, e: &std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("cannot start {what} (#{k}): {e}; lower n_threads"),
    )
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked poisons nothing we cannot still read safely: the slot states
    // are always left consistent before any operation that could panic.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Writer {
    /// Creates the world `desc` in the dataset at `path` and returns a writer for it.
    /// The world is held (see the claims module of the storage layer) until the writer is finalized or dropped:
    /// no create with `overwrite`, in this process or another, replaces it meanwhile; and
    /// an existing world that another live writer holds is not replaced.
    pub fn create(path: &Path, desc: &WorldDesc, opts: &WriterOptions) -> Result<Writer> {
        opts.validate()?;
        let lease = crate::storage::claims::lease_seconds(opts.claim_lease_seconds)?;
        let (world, hold) =
            World::create_held(path, desc, &opts.storage, opts.overwrite, Some(lease))?;
        let range = 0..world.desc.n_samples;
        Self::from_world(world, opts, range, hold)
    }

    /// Reopens world `world_id` of the dataset at `path` to write the samples it lacks
    /// (resume after a crash or pre-emption). Stale temporary files of killed writers are
    /// removed; the `written` mask says which samples are stored.
    pub fn open(path: &Path, world_id: &str, opts: &WriterOptions) -> Result<Writer> {
        opts.validate()?;
        let lease = crate::storage::claims::lease_seconds(opts.claim_lease_seconds)?;
        let before = dir_identity(&path.join(world_id));
        let world = World::open(path, world_id)?;
        refuse_foreign_layout(&world)?;
        let hold = Claims::hold(path, world_id, lease)?;
        check_not_replaced(path, world_id, before)?;
        crate::storage::store::clean_stale_temp_files(&path.join(world_id))?;
        let range = 0..world.desc.n_samples;
        let writer = Self::from_world(world, opts, range, Some(hold))?;
        writer.load_stored()?;
        Ok(writer)
    }

    /// Opens samples `[start, start + count)` of an existing world for this process only:
    /// many processes (MPI ranks, array tasks) write disjoint ranges of one world at once.
    /// The range must be chunk-aligned (start a multiple of the chunk length, end too or
    /// the world's end) so no two processes ever share a chunk; ranges that overlap a
    /// range another live writer holds are refused (see the claims module of the storage layer).
    pub fn open_range(
        path: &Path,
        world_id: &str,
        start: u64,
        count: u64,
        opts: &WriterOptions,
    ) -> Result<Writer> {
        opts.validate()?;
        let lease = crate::storage::claims::lease_seconds(opts.claim_lease_seconds)?;
        let before = dir_identity(&path.join(world_id));
        let world = World::open(path, world_id)?;
        refuse_foreign_layout(&world)?;
        let (n, cs) = (world.desc.n_samples, world.chunk_samples);
        let end = start.checked_add(count).filter(|&e| e <= n && count > 0);
        let Some(end) = end else {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!("sample range [{start}, {start}+{count}) is empty or outside [0, {n})"),
            ));
        };
        if !start.is_multiple_of(cs) || (end % cs != 0 && end != n) {
            return Err(Error::invalid(format!(
                "sample range [{start}, {end}) is not chunk-aligned: start and end must be multiples of the chunk length {cs} (or end = n_samples = {n})"
            )));
        }
        let claims = Claims::acquire(path, world_id, start / cs..end.div_ceil(cs), lease)?;
        check_not_replaced(path, world_id, before)?;
        crate::storage::store::clean_stale_temp_files(&path.join(world_id))?;
        let writer = Self::from_world(world, opts, start..end, Some(claims))?;
        writer.load_stored()?;
        Ok(writer)
    }

    fn from_world(
        world: World,
        opts: &WriterOptions,
        range: std::ops::Range<u64>,
        claims: Option<Claims>,
    ) -> Result<Writer> {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get().min(MAX_THREADS))
        } else {
            opts.threads
        };
        let chunk_bytes = world.chunk_samples as usize * world.desc.sample_bytes();
        // 0: about 8 MiB worth, and at least callers + 1 (see admit_new_chunk).
        let max_open = if opts.max_open_chunks == 0 {
            ((8usize << 20) / chunk_bytes.max(1)).max(2)
        } else {
            opts.max_open_chunks
        };
        let n_chunks = world.n_chunks() as usize;
        // Durability of the data comes from the syncer thread, not from an fsync inside
        // every write (see the Deferred mode of crate::storage::store).
        let durable = opts.storage.durable;
        if durable {
            let data = world.arrays.iter();
            let prefixes = data.map(|a| format!("{}/", a.path().as_str().trim_start_matches('/')));
            world.store.set_deferred(prefixes.collect());
        } else {
            world.store.set_durable(false);
        }
        world.store.set_early_writeback(durable);
        let shared = Arc::new(Shared {
            slots: (0..n_chunks).map(|_| Mutex::new(Slot::Empty)).collect(),
            stored: (0..n_chunks).map(|_| AtomicU64::new(0)).collect(),
            open: Mutex::new(VecDeque::new()),
            samples_stored: AtomicU64::new(0),
            pending_error: Mutex::new(None),
            has_pending_error: AtomicBool::new(false),
            max_open,
            max_open_auto: opts.max_open_chunks == 0,
            dims: ArrayKind::ALL.map(|k| world.desc.sample_dims(k)),
            lens: ArrayKind::ALL.map(|k| world.desc.sample_len(k)),
            queued: AtomicUsize::new(0),
            max_queued: threads,
            active_writers: AtomicUsize::new(0),
            placed: AtomicU64::new(0),
            stored_early: AtomicU64::new(0),
            admitting: Mutex::new(Vec::new()),
            callers: AtomicUsize::new(0),
            progress: (Mutex::new(()), Condvar::new()),
            range,
            durable,
            pending_masks: Mutex::new(Vec::new()),
            syncer: Mutex::new(None),
            scratch: Mutex::new(Vec::new()),
            claims_lost: claims.as_ref().map(Claims::lost_flag),
            world,
        });
        let (tx, rx) = channel::<Job>();
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
                    .map_err(|e| spawn_error("a flush thread", k, &e))
            })
            .collect::<Result<Vec<_>>>()?;
        let syncer = durable
            .then(|| {
                let (tx, rx) = channel::<MaskClaim>();
                *lock(&shared.syncer) = Some(tx);
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("umedata-sync".into())
                    .spawn(move || {
                        // Everything queued is synced together: one fsync per directory
                        // for all the chunks stored meanwhile.
                        while let Ok(claim) = rx.recv() {
                            let mut batch = vec![claim];
                            batch.extend(rx.try_iter());
                            shared.sync_and_claim(&batch);
                        }
                    })
                    .map_err(|e| spawn_error("the sync thread", 0, &e))
            })
            .transpose()?;
        Ok(Writer {
            shared,
            syncer: Mutex::new(syncer),
            claims: Mutex::new(claims),
            rewrite: opts.rewrite,
            pool: Mutex::new(Some((tx, workers))),
            gate: RwLock::new(()),
            finalized: AtomicBool::new(false),
            allow_nonfinite: opts.allow_nonfinite,
        })
    }

    /// The world being written (its root, chunking and codec).
    pub fn world(&self) -> &World {
        &self.shared.world
    }

    /// The world's dimensions and names.
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
        let range = &self.shared.range;
        if !range.contains(&i) {
            return Err(Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "sample index {i} is outside this writer's range [{}, {})",
                    range.start, range.end
                ),
            ));
        }
        for kind in ArrayKind::ALL {
            check_len(kind.name(), sample.get(kind).len(), desc.sample_len(kind))?;
        }
        let packed = self.pack(i, layout, &sample)?;
        let _gate = self.gate.read().unwrap_or_else(|p| p.into_inner());
        if self.finalized.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Finalized,
                "the writer was finalized; it accepts no more samples",
            ));
        }
        if self.shared.has_pending_error.load(Ordering::Acquire) {
            if let Some(e) = self.shared.take_pending_error() {
                return Err(e);
            }
        }
        let now_active = self.shared.active_writers.fetch_add(1, Ordering::AcqRel) + 1;
        self.shared.callers.fetch_max(now_active, Ordering::AcqRel);
        let result = self.store_sample(i, packed);
        self.shared.active_writers.fetch_sub(1, Ordering::AcqRel);
        result
    }

    /// Stops the writer without storing the samples still buffered in partial chunks: they
    /// stay missing in the `written` mask, and a resume writes them again. Chunks already
    /// handed to the workers are completed and claimed as usual, so nothing on disk is
    /// left half-done. For a garbage collector's finalizer, which must not compress a
    /// whole open chunk at an arbitrary moment. A second call, or a call after
    /// [`Self::finalize`], does nothing.
    pub fn discard(&self) -> Result<()> {
        let _gate = self.gate.write().unwrap_or_else(|p| p.into_inner());
        if self.finalized.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let open: Vec<u64> = lock(&self.shared.open).drain(..).collect();
        for c in open {
            let mut slot = lock(&self.shared.slots[c as usize]);
            if matches!(*slot, buffer::Slot::Open(_)) {
                *slot = buffer::Slot::Empty;
            }
        }
        let closed = self.close();
        lock(&self.claims).take();
        closed
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
        // Files that vanished explain a failed store better than the store's own error.
        let closed = self.close();
        let closed = self.check_intact().and(closed);
        // Claims go even when storing failed: the chunks are resumable by anyone now.
        lock(&self.claims).take();
        closed?;
        self.summary()
    }

    /// How many samples of the writer's range are neither stored nor buffered.
    pub fn missing_count(&self) -> Result<u64> {
        let mut n = 0;
        self.for_each_missing(self.shared.range.start, |_| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    /// Up to `max` missing sample indices `>= from`, ascending.
    pub fn missing(&self, from: u64, max: usize) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        if max > 0 {
            self.for_each_missing(from, |i| {
                out.push(i);
                out.len() < max
            })?;
        }
        Ok(out)
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
            chunks_stored_early: self.shared.stored_early.load(Ordering::Acquire),
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
        lock(&self.claims).take();
    }
}

impl Shared {
    fn take_pending_error(&self) -> Option<Error> {
        let e = lock(&self.pending_error).take();
        self.has_pending_error.store(false, Ordering::Release);
        e
    }

    fn set_pending_error(&self, e: Error) {
        let mut pending = lock(&self.pending_error);
        if pending.is_none() {
            *pending = Some(e);
        }
        self.has_pending_error.store(true, Ordering::Release);
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

    fn values_ref(v: &[Vec<f64>; 4]) -> SampleRef<'_, f64> {
        SampleRef {
            theta: &v[0],
            trajectories: &v[1],
            irfs: &v[2],
            shocks: &v[3],
        }
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
    fn discard_stores_no_partial_chunk_and_a_resume_completes() {
        let p = tmp("discard");
        let d = small(40);
        let w = Writer::create(&p, &d, &opts(8, 0)).unwrap();
        for i in 0..12 {
            write(&w, i); // chunk 0 complete, chunk 1 half full
        }
        w.discard().unwrap();
        w.discard().unwrap(); // a second call does nothing
        drop(w);
        let r = Reader::open(&p, "w").unwrap();
        assert_eq!(
            r.samples_written().unwrap(),
            8,
            "only the complete chunk is stored"
        );
        drop(r);
        let w = Writer::open(&p, "w", &opts(8, 0)).unwrap();
        assert_eq!(w.missing_count().unwrap(), 32);
        for i in w.missing(0, 100).unwrap() {
            write(&w, i);
        }
        w.finalize().unwrap();
        drop(w);
        let fresh = tmp("discard-fresh");
        let w = Writer::create(&fresh, &d, &opts(8, 0)).unwrap();
        for i in 0..40 {
            write(&w, i);
        }
        w.finalize().unwrap();
        assert_eq!(read_all(&p), read_all(&fresh));
        std::fs::remove_dir_all(&p).unwrap();
        std::fs::remove_dir_all(&fresh).unwrap();
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
    fn eight_threads_random_order_match_serial() {
        let desc = small(1000);
        let serial = tmp("stress-serial");
        let w = Writer::create(&serial, &desc, &opts(16, 0)).unwrap();
        (0..1000).for_each(|i| write(&w, i));
        w.finalize().unwrap();
        let p = tmp("stress-8");
        // few open chunks: the threads also go through the early-store/read-back path
        let w = Writer::create(&p, &desc, &opts(16, 4)).unwrap();
        let mut order: Vec<u64> = (0..1000).collect();
        let mut x = 99u64;
        for k in (1..order.len()).rev() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            order.swap(k, (x >> 33) as usize % (k + 1));
        }
        std::thread::scope(|s| {
            for part in order.chunks(125) {
                let w = &w;
                s.spawn(move || part.iter().for_each(|&i| write(w, i)));
            }
        });
        assert_eq!(w.finalize().unwrap().samples_written, 1000);
        assert_eq!(read_all(&p), read_all(&serial));
        std::fs::remove_dir_all(p).unwrap();
        std::fs::remove_dir_all(serial).unwrap();
    }

    #[test]
    fn interleaved_callers_wait_instead_of_evicting() {
        // Two callers writing samples 2k and 2k+1 (the OpenMP static-schedule pattern) with
        // only 2 open chunks allowed: the one ahead must wait for the other, not store its
        // chunks early. A caller preempted between two calls once made the leader evict
        // the laggard's chunk, which then had to be reopened, and so on (a cascade of
        // hundreds of read-backs in 10^6 samples).
        let desc = small(4096);
        let p = tmp("interleaved");
        let w = Writer::create(&p, &desc, &opts(16, 2)).unwrap();
        // Both start together, as an OpenMP team does (a caller that starts alone is a
        // lone caller until the other shows up, and may store a few chunks early).
        let start = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for t in 0..2u64 {
                let (w, start) = (&w, &start);
                s.spawn(move || {
                    start.wait();
                    (t..4096).step_by(2).for_each(|i| {
                        write(w, i);
                        if i % 64 == t {
                            // the scheduler's doing, made certain
                            std::thread::sleep(Duration::from_micros(500));
                        }
                    })
                });
            }
        });
        let summary = w.finalize().unwrap();
        assert_eq!(summary.samples_written, 4096);
        // 256 chunks. The cascade stored every chunk early (259-268 measured); a few are
        // fine: a thread descheduled for over 10 ms on a loaded machine, or a caller that
        // starts writing a moment before the other counts as a lone caller.
        assert!(
            summary.chunks_stored_early < 64,
            "{} of 256 chunks stored early",
            summary.chunks_stored_early
        );
        std::fs::remove_dir_all(p).unwrap();
    }

    #[test]
    fn lone_random_order_caller_stores_chunks_early() {
        let desc = small(256);
        let p = tmp("lone-random");
        let w = Writer::create(&p, &desc, &opts(16, 2)).unwrap();
        // Sample k of every chunk, then k + 1 of every chunk, ...: never two chunks
        // complete before all are open.
        for k in 0..16 {
            for c in 0..16 {
                write(&w, c * 16 + k);
            }
        }
        let summary = w.finalize().unwrap();
        assert_eq!(summary.samples_written, 256);
        assert!(summary.chunks_stored_early > 16, "{summary:?}");
        std::fs::remove_dir_all(p).unwrap();
    }

    #[test]
    fn reloading_an_evicted_chunk_sees_its_uncommitted_mask() {
        // One open chunk at a time: chunk 0 is stored early and then completed; when the
        // sync thread has not published its mask yet, the reload must use the pending
        // mask, not the older one on disk (which claims nothing). (Timing decides which
        // path runs; both must give the full world.)
        let desc = small(12);
        let p = tmp("pending-mask");
        let mut o = opts(4, 1);
        o.threads = 8;
        let w = Writer::create(&p, &desc, &o).unwrap();
        for i in [0, 1, 4, 2, 8, 3, 5, 6, 7, 9, 10, 11] {
            write(&w, i);
        }
        assert_eq!(w.missing_count().unwrap(), 0);
        assert_eq!(w.finalize().unwrap().samples_written, 12);
        let r = Reader::open(&p, "w").unwrap();
        assert_eq!(r.samples_written().unwrap(), 12);
        std::fs::remove_dir_all(p).unwrap();
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
                    crate::convert::from_row_major_f32(
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
        let mut big = v[1].clone();
        big[4] = 1e300;
        let e = w
            .write_sample(
                1,
                Layout::C,
                SampleRef {
                    theta: &v[0],
                    trajectories: &big,
                    irfs: &v[2],
                    shocks: &v[3],
                },
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NonFinite);
        assert!(e.message().contains("trajectories element 4"), "{e}");
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
    fn reopen_resumes_missing_samples_and_rewrite_is_opt_in() {
        let desc = small(20);
        let p = tmp("resume");
        let w = Writer::create(&p, &desc, &opts(4, 0)).unwrap();
        for i in [0, 1, 2, 3, 5, 9, 17] {
            write(&w, i);
        }
        w.finalize().unwrap();
        drop(w);
        let w = Writer::open(&p, "w", &opts(0, 0)).unwrap();
        assert_eq!(w.chunk_samples(), 4);
        assert_eq!(w.missing_count().unwrap(), 13);
        assert_eq!(w.missing(0, 5).unwrap(), vec![4, 6, 7, 8, 10]);
        assert_eq!(w.missing(16, 100).unwrap(), vec![16, 18, 19]);
        let e = w
            .write_sample(5, Layout::C, values_ref(&sample_values(&desc, 5)))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyWritten);
        for i in w.missing(0, 100).unwrap() {
            write(&w, i);
        }
        assert_eq!(w.missing_count().unwrap(), 0);
        assert_eq!(w.finalize().unwrap().samples_written, 20);
        drop(w);
        // the same data as an uninterrupted run
        let q = tmp("resume-ref");
        let r = Writer::create(&q, &desc, &opts(4, 0)).unwrap();
        (0..20).for_each(|i| write(&r, i));
        r.finalize().unwrap();
        assert_eq!(read_all(&p), read_all(&q));
        // rewrite replaces a stored sample when asked to
        let mut o = opts(0, 0);
        o.rewrite = true;
        let w = Writer::open(&p, "w", &o).unwrap();
        let v = sample_values(&desc, 7);
        w.write_sample(5, Layout::C, values_ref(&v)).unwrap();
        assert_eq!(w.finalize().unwrap().samples_written, 20);
        let back = read_all(&p);
        let per = desc.sample_len(ArrayKind::Theta);
        assert_eq!(back[0][5 * per], v[0][0] as f32);
        std::fs::remove_dir_all(p).unwrap();
        std::fs::remove_dir_all(q).unwrap();
    }

    #[test]
    fn disjoint_ranges_from_concurrent_writers() {
        let desc = small(38);
        let p = tmp("ranges");
        Writer::create(&p, &desc, &opts(8, 0))
            .unwrap()
            .finalize()
            .unwrap();
        let e = Writer::open_range(&p, "w", 3, 8, &opts(0, 0))
            .err()
            .unwrap();
        assert!(e.message().contains("not chunk-aligned"), "{e}");
        let a = Writer::open_range(&p, "w", 0, 16, &opts(0, 0)).unwrap();
        let b = Writer::open_range(&p, "w", 16, 22, &opts(0, 0)).unwrap();
        let e = Writer::open_range(&p, "w", 8, 16, &opts(0, 0))
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.message().contains("chunk 1"), "{e}");
        let e = a
            .write_sample(16, Layout::C, values_ref(&sample_values(&desc, 16)))
            .unwrap_err();
        assert_eq!(
            e.message(),
            "sample index 16 is outside this writer's range [0, 16)"
        );
        std::thread::scope(|s| {
            s.spawn(|| (0..16).rev().for_each(|i| write(&a, i)));
            s.spawn(|| (16..38).for_each(|i| write(&b, i)));
        });
        assert_eq!(a.finalize().unwrap().samples_written, 16);
        assert_eq!(b.finalize().unwrap().samples_written, 22);
        assert!(
            !p.join(".umedata").exists(),
            "claims are removed after finalize"
        );
        let r = Reader::open(&p, "w").unwrap();
        assert_eq!(r.samples_written().unwrap(), 38);
        let q = tmp("ranges-ref");
        let w = Writer::create(&q, &desc, &opts(8, 0)).unwrap();
        (0..38).for_each(|i| write(&w, i));
        w.finalize().unwrap();
        assert_eq!(read_all(&p), read_all(&q));
        std::fs::remove_dir_all(p).unwrap();
        std::fs::remove_dir_all(q).unwrap();
    }

    #[test]
    fn zarr_v2_round_trip_and_consolidated_metadata() {
        let desc = small(9);
        let p = tmp("v2");
        let mut o = opts(4, 0);
        o.storage.zarr_format = 2;
        let w = Writer::create(&p, &desc, &o).unwrap();
        (0..9).for_each(|i| write(&w, i));
        let s = w.finalize().unwrap();
        assert_eq!(s.samples_written, 9);
        assert!(s.arrays[1].stored_bytes > 0);
        drop(w);
        for f in [
            ".zgroup",
            ".zmetadata",
            "w/.zgroup",
            "w/theta/.zarray",
            "w/theta/0.0",
        ] {
            assert!(p.join(f).exists(), "{f} missing");
        }
        let v2 = read_all(&p);
        let p3 = tmp("v3-of-v2");
        let w = Writer::create(&p3, &desc, &opts(4, 0)).unwrap();
        (0..9).for_each(|i| write(&w, i));
        w.finalize().unwrap();
        assert_eq!(read_all(&p3), v2);
        // a v3 world cannot join a v2 dataset
        let mut other = small(3);
        other.world_id = "x".into();
        let e = Writer::create(&p, &other, &opts(2, 0)).err().unwrap();
        assert!(e.message().contains("is Zarr v2"), "{e}");
        std::fs::remove_dir_all(p).unwrap();
        std::fs::remove_dir_all(p3).unwrap();
    }

    #[test]
    fn create_refuses_foreign_non_empty_directory() {
        let p = tmp("foreign");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("notes.txt"), b"mine").unwrap();
        let e = Writer::create(&p, &small(3), &opts(2, 0)).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(
            e.message().contains("not empty and not a umedata dataset"),
            "{e}"
        );
        assert!(p.join("notes.txt").exists());
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

    #[test]
    fn overwrite_checks_everything_before_touching_the_old_world() {
        let desc = small(4);
        let p = tmp("overwrite-checks");
        let w = Writer::create(&p, &desc, &opts(2, 0)).unwrap();
        for i in 0..4 {
            write(&w, i);
        }
        w.finalize().unwrap();
        // an inner chunk length that does not divide the chunk length: refused, and the
        // old world is untouched (it used to be erased first)
        let mut o = opts(2, 0);
        o.overwrite = true;
        o.storage.inner_chunk_samples = Some(3);
        let e = Writer::create(&p, &desc, &o).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let r = Reader::open(&p, &desc.world_id).unwrap();
        assert_eq!(r.samples_written().unwrap(), 4);
        // a live holder (a writer of this process) blocks the overwrite; after it, it works
        let holder = Writer::open(&p, &desc.world_id, &opts(2, 0)).unwrap();
        o.storage.inner_chunk_samples = None;
        let e = Writer::create(&p, &desc, &o).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
        assert!(e.message().contains("held open"), "{e}");
        assert_eq!(r.samples_written().unwrap(), 4);
        drop(holder);
        Writer::create(&p, &desc, &o).unwrap().finalize().unwrap();
        assert!(!p.join(".umedata").exists(), "no hold or trash is left");
        std::fs::remove_dir_all(p).unwrap();
    }
}
