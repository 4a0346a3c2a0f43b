//! Chunk buffers: a caller's sample is packed into one float32 buffer outside any lock and
//! placed into the buffer of its chunk; the worker storing the chunk gathers the arrays back.
//! Separate from admission (when a buffer may open) and flush (how it is stored).

use super::*;

/// Samples of one chunk being assembled.
///
/// Each sample is converted into its own buffer outside any lock, so threads writing
/// into the same chunk only meet for the instant it takes to place a pointer; the worker
/// that stores the chunk assembles the contiguous arrays.
pub(super) struct ChunkBuf {
    /// Arrays read back from disk when an early-stored chunk is completed later.
    pub(super) base: Option<[Vec<f32>; 4]>,
    /// Per sample of the chunk: theta, trajectories, irfs, shocks back to back, row-major.
    pub(super) samples: Vec<Option<Box<[f32]>>>,
    pub(super) filled: Vec<u8>,
    pub(super) count: u64,
}

pub(super) enum Slot {
    Empty,
    Open(Box<ChunkBuf>),
    /// Handed to a worker; writes to this chunk wait until it is stored.
    Flushing,
}

fn already_written(i: u64) -> Error {
    Error::new(
        ErrorKind::AlreadyWritten,
        format!("sample {i} was already written"),
    )
}

impl Writer {
    /// The sample as one row-major float32 buffer (the four arrays one after the other),
    /// checked for non-finite values unless they are allowed. The check runs on the
    /// converted copy while it is still in cache: one pass over the caller's memory.
    pub(super) fn pack<T: Float>(
        &self,
        i: u64,
        layout: Layout,
        sample: &SampleRef<'_, T>,
    ) -> Result<Box<[f32]>> {
        let shared = &self.shared;
        let mut packed = Vec::with_capacity(shared.lens.iter().sum());
        for (a, kind) in ArrayKind::ALL.iter().enumerate() {
            extend_row_major_f32(&mut packed, sample.get(*kind), &shared.dims[a], layout);
        }
        if !self.allow_nonfinite {
            if let Some(pos) = first_non_finite(&packed) {
                return Err(self.non_finite_error(i, sample, pos));
            }
        }
        Ok(packed.into_boxed_slice())
    }

    /// The error for a sample whose converted value at row-major position `pos` is not
    /// finite: NaN or infinite as given (named by its index in the caller's buffer), or an
    /// f64 beyond the float32 range.
    fn non_finite_error<T: Float>(&self, i: u64, sample: &SampleRef<'_, T>, pos: usize) -> Error {
        for kind in ArrayKind::ALL {
            if let Some(at) = first_non_finite(sample.get(kind)) {
                return Error::new(
                    ErrorKind::NonFinite,
                    format!(
                        "sample {i}: {}[{at}] is NaN or infinite (set allow_nonfinite to store such values)",
                        kind.name()
                    ),
                );
            }
        }
        let (a, off) = self.shared.locate(pos);
        Error::new(
            ErrorKind::NonFinite,
            format!(
                "sample {i}: {} element {off} (row-major) is outside the float32 range (|x| > 3.4e38)",
                ArrayKind::ALL[a].name()
            ),
        )
    }

    /// Copies a checked sample into its chunk buffer; hands the chunk on when complete.
    pub(super) fn store_sample(&self, i: u64, packed: Box<[f32]>) -> Result<()> {
        let shared = &self.shared;
        let world = &shared.world;
        let cs = world.chunk_samples;
        let c = i / cs;
        let k = (i % cs) as usize;
        let mut packed = Some(packed);
        let mut admitted = false;
        let mut opened = false;
        let full = loop {
            let mut slot = lock(&shared.slots[c as usize]);
            if matches!(*slot, Slot::Flushing) {
                drop(slot);
                std::thread::sleep(Duration::from_micros(50));
                continue;
            }
            if matches!(*slot, Slot::Empty) {
                let on_disk = shared.stored[c as usize].load(Ordering::Acquire);
                if on_disk == world.samples_in_chunk(c) && !self.rewrite {
                    return Err(already_written(i));
                }
                if !admitted {
                    drop(slot);
                    self.admit_new_chunk(c)?;
                    admitted = true;
                    continue;
                }
                let buf = shared.new_buffer(c, on_disk > 0)?;
                *slot = Slot::Open(buf);
                lock(&shared.open).push_back(c);
                opened = true;
            }
            let Slot::Open(buf) = &mut *slot else {
                unreachable!("slot is open here")
            };
            if buf.filled[k] != 0 {
                if !self.rewrite {
                    return Err(already_written(i));
                }
            } else {
                buf.filled[k] = 1;
                buf.count += 1;
            }
            buf.samples[k] = packed.take();
            shared.placed.fetch_add(1, Ordering::Release);
            if buf.count == world.samples_in_chunk(c) {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                break Some(buf);
            }
            break None;
        };
        if opened {
            // Threads waiting to open this very chunk stop waiting (and stop counting as
            // idle in admit_new_chunk).
            shared.notify_progress();
        }
        if let Some(buf) = full {
            shared.forget_open(c);
            self.submit(Job { chunk: c, buf })?;
        }
        Ok(())
    }
}

impl Shared {
    /// The array and offset of position `pos` of a packed sample.
    fn locate(&self, mut pos: usize) -> (usize, usize) {
        for (a, &n) in self.lens.iter().enumerate() {
            if pos < n {
                return (a, pos);
            }
            pos -= n;
        }
        (3, pos)
    }

    /// A buffer for chunk `c`; when the chunk was stored early, what is on disk becomes its
    /// base (the one read-modify-write an eviction costs).
    fn new_buffer(&self, c: u64, from_disk: bool) -> Result<Box<ChunkBuf>> {
        let world = &self.world;
        let n = world.samples_in_chunk(c) as usize;
        let (base, filled) = if from_disk {
            let mut data: [Vec<f32>; 4] = Default::default();
            for (a, v) in data.iter_mut().enumerate() {
                *v = world.read_chunk_f32(&world.arrays[a], c)?;
            }
            let mut filled = self.mask_of(c)?;
            filled.truncate(n);
            (Some(data), filled)
        } else {
            (None, vec![0; n])
        };
        let count = filled.iter().filter(|&&f| f != 0).count() as u64;
        Ok(Box::new(ChunkBuf {
            base,
            samples: (0..n).map(|_| None).collect(),
            filled,
            count,
        }))
    }

    /// Copies array `a` of the chunk's samples `first..first + out.len() / per` into `out`
    /// (NaN where no sample is); returns whether any of them is stored or being stored.
    pub(super) fn gather(&self, buf: &ChunkBuf, a: usize, first: usize, out: &mut [f32]) -> bool {
        let per = self.lens[a];
        let offset: usize = self.lens[..a].iter().sum();
        let mut any = false;
        for (k, dst) in out.chunks_exact_mut(per).enumerate() {
            let s = first + k;
            match (buf.samples.get(s), &buf.base) {
                (Some(Some(sample)), _) => {
                    dst.copy_from_slice(&sample[offset..offset + per]);
                    any = true;
                }
                (Some(None), Some(base)) if buf.filled[s] != 0 => {
                    dst.copy_from_slice(&base[a][s * per..(s + 1) * per]);
                    any = true;
                }
                _ => dst.fill(f32::NAN),
            }
        }
        any
    }
}
