//! What is already stored: loading the `written` mask when a world is reopened, listing the
//! missing samples, and checking that the world is still this writer's (not replaced at
//! open, not changed by another process before finalize). Separate from the write path.

use super::*;

impl Writer {
    /// Reads the `written` mask of the writer's chunks: how many samples each has on disk.
    pub(super) fn load_stored(&self) -> Result<()> {
        let shared = &self.shared;
        let world = &shared.world;
        let mut total = 0;
        for c in self.chunks() {
            let n = world.samples_in_chunk(c) as usize;
            let count = world.read_mask_chunk(c)?[..n]
                .iter()
                .filter(|&&m| m != 0)
                .count() as u64;
            shared.stored[c as usize].store(count, Ordering::Release);
            total += count;
        }
        shared.samples_stored.store(total, Ordering::Release);
        Ok(())
    }

    /// Chunk indices of the writer's range.
    fn chunks(&self) -> std::ops::Range<u64> {
        let cs = self.shared.world.chunk_samples;
        self.shared.range.start / cs..self.shared.range.end.div_ceil(cs)
    }
    /// Calls `f` on each missing index `>= from` in the range until it returns false.
    pub(super) fn for_each_missing(&self, from: u64, mut f: impl FnMut(u64) -> bool) -> Result<()> {
        let shared = &self.shared;
        let world = &shared.world;
        let cs = world.chunk_samples;
        let from = from.max(shared.range.start);
        if from >= shared.range.end {
            return Ok(());
        }
        for c in from / cs..shared.range.end.div_ceil(cs) {
            let n = world.samples_in_chunk(c) as usize;
            let filled: Vec<u8> = loop {
                let slot = lock(&shared.slots[c as usize]);
                match &*slot {
                    Slot::Open(buf) => break buf.filled.clone(),
                    Slot::Flushing => {
                        drop(slot);
                        std::thread::sleep(Duration::from_micros(50));
                    }
                    Slot::Empty => {
                        let on_disk = shared.stored[c as usize].load(Ordering::Acquire);
                        break if on_disk == n as u64 {
                            vec![1; n]
                        } else if on_disk == 0 {
                            vec![0; n]
                        } else {
                            shared.mask_of(c)?[..n].to_vec()
                        };
                    }
                }
            };
            for (k, &m) in filled.iter().enumerate() {
                let i = c * cs + k as u64;
                if m == 0 && i >= from && !f(i) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// After the last store: this writer still held its world and range, and every file
    /// it stored (and the metadata) is still there; else finalize must not report success.
    pub(super) fn check_intact(&self) -> Result<()> {
        if let Some(e) = self.shared.claims_lost.as_ref().and_then(|l| l.error()) {
            return Err(e);
        }
        let world = &self.shared.world;
        let stored = self
            .chunks()
            .filter(|&c| self.shared.stored[c as usize].load(Ordering::Acquire) > 0);
        let missing = world.missing_files(stored);
        if missing.is_empty() {
            return Ok(());
        }
        let shown: Vec<String> = missing
            .iter()
            .take(4)
            .map(|p| format!("'{}'", p.display()))
            .collect();
        let more = match missing.len() {
            n if n > 4 => format!(" and {} more", n - 4),
            _ => String::new(),
        };
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "world '{}' in '{}' lost files while this writer had it open: {}{more} missing (was the world removed or replaced by another process?); the samples this writer stored there cannot be read back",
                world.desc.world_id,
                world.root.display(),
                shown.join(", ")
            ),
        ))
    }
}

/// Device and inode of directory `dir`, if it exists.
pub(super) fn dir_identity(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

/// Refuses to go on when the world's directory is not the one that was there before it
/// was opened: another process replaced it before this writer's hold was in place.
pub(super) fn check_not_replaced(
    root: &Path,
    world_id: &str,
    before: Option<(u64, u64)>,
) -> Result<()> {
    if dir_identity(&root.join(world_id)) == before {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "world '{world_id}' in '{}' was replaced by another writer while it was being opened; open it again",
            root.display()
        ),
    ))
}

/// A world whose arrays are not stored as umedata stores them (written by another tool)
/// can be read but not written: writing chunks of the attribute's `chunk_samples` into it
/// would corrupt it.
pub(super) fn refuse_foreign_layout(world: &World) -> Result<()> {
    match world.layout_problem() {
        None => Ok(()),
        Some(p) => Err(Error::new(
            ErrorKind::Format,
            format!(
                "world '{}' cannot be written by umedata: {p}",
                world.desc.world_id
            ),
        )),
    }
}
