//! Storing chunks: the worker jobs, encoding and storing data chunks and then the `written`
//! mask chunk that claims them, the sync thread of durable mode and closing the pool.
//! Separate because it holds the durability order (see "Durability order" in the parent).

use super::buffer::ChunkBuf;
use super::*;

pub(super) struct Job {
    pub(super) chunk: u64,
    pub(super) buf: Box<ChunkBuf>,
}

/// A `written` mask chunk waiting to be published: (chunk index, mask).
pub(super) type MaskClaim = (u64, Vec<u8>);

/// The job queue and the worker threads draining it.
pub(super) type Pool = (Sender<Job>, Vec<JoinHandle<()>>);

/// The chunk indices of sample-axis chunk `c` of `array` (all other axes are whole).
fn data_chunk_index(array: &crate::storage::dataset::DataArray, c: u64) -> Vec<u64> {
    let mut idx = vec![0u64; array.shape().len()];
    idx[0] = c;
    idx
}

impl Writer {
    /// Hands a chunk to the workers. Never blocks: the memory bound is enforced when
    /// chunks are opened ([`Self::admit_new_chunk`]), so that every writing thread shares
    /// the back-pressure, not only the one that happens to complete chunks.
    pub(super) fn submit(&self, job: Job) -> Result<()> {
        let tx = lock(&self.pool).as_ref().map(|(tx, _)| tx.clone());
        self.shared.queued.fetch_add(1, Ordering::AcqRel);
        match tx {
            Some(tx) => tx.send(job).map_err(|e| {
                self.shared.queued.fetch_sub(1, Ordering::AcqRel);
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

    /// Flushes all open chunks and stops the workers.
    pub(super) fn close(&self) -> Result<()> {
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
                self.shared.take_pending_error();
                self.shared.queued.fetch_add(1, Ordering::AcqRel);
                self.shared.flush(Job {
                    chunk: c as u64,
                    buf,
                });
            }
        }
        // Let the syncer drain its queue, then retry (here) what it could not do.
        lock(&self.shared.syncer).take();
        if let Some(t) = lock(&self.syncer).take() {
            if t.join().is_err() {
                self.shared
                    .set_pending_error(Error::internal("the sync thread panicked"));
            }
        }
        let leftover: Vec<MaskClaim> = lock(&self.shared.pending_masks).clone();
        if !leftover.is_empty() {
            self.shared.sync_and_claim(&leftover);
        }
        if self.shared.durable {
            // The masks' own directory entries: durable when finalize returns.
            if let Err(e) = self.shared.world.store.sync_dirs() {
                self.shared.set_pending_error(e);
            }
        }
        match self.shared.take_pending_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Shared {
    /// The newest `written` mask of chunk `c`: a pending one (not yet committed) wins over
    /// the one on disk, which may be older.
    pub(super) fn mask_of(&self, c: u64) -> Result<Vec<u8>> {
        let pending = lock(&self.pending_masks)
            .iter()
            .rev()
            .find(|(pc, _)| *pc == c)
            .map(|(_, m)| m.clone());
        match pending {
            Some(m) => Ok(m),
            None => self.world.read_mask_chunk(c),
        }
    }

    /// Encodes and stores one chunk of every array, then its mask chunk. On failure the
    /// buffer goes back to its slot (nothing is lost) and the error waits for the next call.
    pub(super) fn flush(&self, job: Job) {
        let Job { chunk: c, buf } = job;
        // A panic here (a bug) must not leave the slot `Flushing` forever, which would
        // hang every later write to this chunk: it becomes an error, the buffer is kept.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.store_data(c, &buf).and_then(|()| {
                let mut mask = buf.filled.clone();
                mask.resize(self.world.chunk_samples as usize, 0);
                if self.durable {
                    lock(&self.pending_masks).push((c, mask.clone()));
                    if let Some(tx) = lock(&self.syncer).as_ref() {
                        // If the syncer is gone the mask stays pending; close retries it.
                        let _ = tx.send((c, mask));
                    }
                    Ok(())
                } else {
                    self.store_mask(c, &mask)
                }
            })
        }))
        .unwrap_or_else(|_| {
            Err(Error::internal(format!(
                "internal panic while storing chunk {c} (a bug in umedata, please report it)"
            )))
        });
        self.queued.fetch_sub(1, Ordering::AcqRel);
        match result {
            Ok(()) => {
                let before = self.stored[c as usize].swap(buf.count, Ordering::AcqRel);
                if buf.count >= before {
                    self.samples_stored
                        .fetch_add(buf.count - before, Ordering::AcqRel);
                } else {
                    self.samples_stored
                        .fetch_sub(before - buf.count, Ordering::AcqRel);
                }
                *lock(&self.slots[c as usize]) = Slot::Empty;
            }
            Err(e) => {
                *lock(&self.slots[c as usize]) = Slot::Open(buf);
                lock(&self.open).push_back(c);
                self.set_pending_error(e);
            }
        }
        self.notify_progress();
    }

    /// Makes the stored data chunks of the chunks in `claims` durable (fdatasync of
    /// exactly those files, then fsync of the directories they were renamed into), then
    /// stores each `written` mask chunk (the store fsyncs a mask before its rename); a mask
    /// leaves the pending list only then. On failure the rest stays pending (finalize
    /// retries) and the error waits for the next call.
    pub(super) fn sync_and_claim(&self, claims: &[MaskClaim]) {
        let store = &self.world.store;
        let data_durable = claims
            .iter()
            .try_for_each(|(c, _)| {
                self.world
                    .arrays
                    .iter()
                    .try_for_each(|a| store.sync_key(&a.chunk_key(&data_chunk_index(a, *c))))
            })
            .and_then(|()| store.sync_dirs());
        if let Err(e) = data_durable {
            self.set_pending_error(e);
            return;
        }
        for (c, mask) in claims {
            if let Err(e) = self.store_mask(*c, mask) {
                self.set_pending_error(e);
                return;
            }
            let mut pending = lock(&self.pending_masks);
            if let Some(pos) = pending.iter().position(|(pc, m)| pc == c && m == mask) {
                pending.remove(pos);
            }
        }
    }

    /// Encodes and stores chunk `c` of the four data arrays.
    fn store_data(&self, c: u64, buf: &ChunkBuf) -> Result<()> {
        if let Some(e) = self.claims_lost.as_ref().and_then(|l| l.error()) {
            return Err(e);
        }
        let world = &self.world;
        let mut scratch = lock(&self.scratch).pop().unwrap_or_default();
        let result = ArrayKind::ALL.iter().enumerate().try_for_each(|(a, kind)| {
            let array = &world.arrays[a];
            let idx = data_chunk_index(array, c);
            if let Some(layout) = world.shard_layout(a) {
                let us = layout.shape[0].get() as usize;
                let n_inner = world.chunk_samples as usize / us;
                let shard = crate::storage::shard::encode_shard(
                    &layout,
                    n_inner,
                    &mut scratch,
                    |j, out| self.gather(buf, a, j * us, out),
                )
                .map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!("storing chunk {c} of {}: {}", kind.name(), e.message()),
                    )
                })?;
                return world.store.set_bytes(&array.chunk_key(&idx), shard);
            }
            // A plain chunk: the same encoder as one inner chunk. Zarr chunks are regular:
            // the last chunk is stored at full size, the samples past n_samples being NaN
            // padding.
            let layout = world.chunk_layout(a).ok_or_else(|| {
                Error::internal(format!(
                    "array {} has neither shards nor chunk codecs",
                    kind.name()
                ))
            })?;
            let chunk = crate::storage::shard::encode_chunk(&layout, &mut scratch, |out| {
                self.gather(buf, a, 0, out);
            })
            .map_err(|e| {
                Error::new(
                    e.kind(),
                    format!("storing chunk {c} of {}: {}", kind.name(), e.message()),
                )
            })?;
            world.store.set_bytes(&array.chunk_key(&idx), chunk)
        });
        lock(&self.scratch).push(scratch);
        result
    }

    /// Stores chunk `c` of the `written` mask (only after its data chunks are stored).
    fn store_mask(&self, c: u64, mask: &[u8]) -> Result<()> {
        self.world
            .written
            .store_chunk_opt(&[c], mask, &codec_options())
            .map_err(|e| from_array(&format!("storing chunk {c} of the written mask"), e))
    }
}
