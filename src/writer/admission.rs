//! Admission of new chunk buffers: the open-chunk budget that bounds memory, back-pressure
//! on the callers, storing the oldest open chunk early, and waiting for progress.
//! Separate because it alone decides when a caller waits; see "Memory bound" in the parent.

use super::*;

/// A thread's entry in the list of threads waiting to open a chunk; removed when dropped
/// (also on an early return or an error).
struct Waiting<'a>(&'a Mutex<Vec<u64>>, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut waiting = lock(self.0);
        if let Some(pos) = waiting.iter().position(|&w| w == self.1) {
            waiting.swap_remove(pos);
        }
    }
}

impl Writer {
    /// Waits until chunk `want` may be opened: fewer than `max_queued` chunks await the
    /// workers and fewer than `max_open` are partially filled. Queued chunks always drain,
    /// so for them this only waits. For open ones, waiting helps only if another thread is
    /// filling them (in-order writes from several threads drift apart a little, and the
    /// lagging thread completes the oldest chunk soon), so this waits while other threads
    /// keep placing samples. When every caller waits here, the one furthest behind is let
    /// through, up to one chunk per caller over the budget: it is about to complete chunks
    /// and free the others. The oldest open chunk is stored early (evicted) when a lone
    /// caller writes out of order, when even that allowance is used up, or when no sample
    /// has been placed for a quiet time.
    pub(super) fn admit_new_chunk(&self, want: u64) -> Result<()> {
        // No sample placed for this long although other threads are inside write_sample:
        // they are not filling the open chunks (out-of-order writes), waiting will not help.
        const QUIET: Duration = Duration::from_millis(10);
        // How long every caller must have been waiting here before a chunk is evicted.
        const ALL_WAITING: Duration = Duration::from_micros(200);
        let shared = &self.shared;
        lock(&shared.admitting).push(want);
        let _admitting = Waiting(&shared.admitting, want);
        let mut quiet_since = Instant::now();
        let mut seen = shared.placed.load(Ordering::Acquire);
        loop {
            // Another thread may have opened (or even completed) the chunk meanwhile.
            if !matches!(*lock(&shared.slots[want as usize]), Slot::Empty) {
                return Ok(());
            }
            let (m, cv) = &shared.progress;
            let guard = lock(m);
            let queued = shared.queued.load(Ordering::Acquire);
            let open = lock(&shared.open).len();
            let callers = shared.callers.load(Ordering::Acquire);
            let (all_waiting, laggard) = {
                // Only waiters whose chunk is still unopened: one just woken by the thread
                // that opened its chunk is about to leave.
                let waiting = lock(&shared.admitting);
                let stuck: Vec<u64> = waiting
                    .iter()
                    .copied()
                    .filter(|&w| matches!(*lock(&shared.slots[w as usize]), Slot::Empty))
                    .collect();
                let lowest = stuck.iter().min().copied().unwrap_or(want);
                (stuck.len() >= callers, lowest == want)
            };
            // Callers writing their own blocks of samples (OpenMP static schedule) need one
            // open chunk each: the default budget allows that.
            let budget = if shared.max_open_auto {
                shared.max_open.max(callers + 1)
            } else {
                shared.max_open
            };
            if queued < shared.max_queued {
                if open < budget {
                    return Ok(());
                }
                if callers > 1 && all_waiting && laggard && open < budget + callers - 1 {
                    return Ok(());
                }
            }
            let placed = shared.placed.load(Ordering::Acquire);
            if placed != seen {
                seen = placed;
                quiet_since = Instant::now();
            }
            let patience = if callers <= 1 {
                // A lone caller: nobody else will fill the open chunks.
                Duration::ZERO
            } else if all_waiting {
                ALL_WAITING
            } else {
                QUIET
            };
            let quiet = quiet_since.elapsed();
            if queued >= shared.max_queued || quiet < patience {
                let _ = cv.wait_timeout(guard, (patience - quiet.min(patience)).max(ALL_WAITING));
                continue;
            }
            drop(guard);
            let victim = lock(&shared.open).pop_front();
            let Some(c) = victim else { continue };
            let mut slot = lock(&shared.slots[c as usize]);
            if let Slot::Open(_) = &*slot {
                let Slot::Open(buf) = std::mem::replace(&mut *slot, Slot::Flushing) else {
                    unreachable!()
                };
                drop(slot);
                shared.stored_early.fetch_add(1, Ordering::AcqRel);
                self.submit(Job { chunk: c, buf })?;
            }
            quiet_since = Instant::now();
        }
    }
}

impl Shared {
    pub(super) fn forget_open(&self, c: u64) {
        let mut open = lock(&self.open);
        if let Some(pos) = open.iter().position(|&x| x == c) {
            open.remove(pos);
        }
        drop(open);
        self.notify_progress();
    }

    pub(super) fn notify_progress(&self) {
        let _g = lock(&self.progress.0);
        self.progress.1.notify_all();
    }
}
