//! Cross-process claims on chunks: how many processes (MPI ranks, Slurm array tasks) write
//! disjoint, chunk-aligned sample ranges of one world without a coordinator.
//!
//! A process that opens a range creates one claim file per chunk of it,
//! `<dataset>/.umedata/claims/<world>.<chunk>`, with `O_CREAT|O_EXCL` semantics
//! (`create_new`), so two processes can never both hold a chunk, whatever the timing.
//! The file says which host and process holds it. A claim left by a process that died on
//! this host (its pid no longer exists) is taken over; a claim held by a live process, or
//! by a process on another host, is refused with a message naming the file. Claims are
//! removed when the writer is finalized or dropped, and the directories with them when
//! they are empty, so a finished dataset has no trace of them.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// Claims held by one writer.
#[derive(Debug)]
pub struct Claims {
    dir: PathBuf,
    files: Vec<PathBuf>,
}

/// This machine's host name (for claim and temp file ownership), "localhost" if unknown.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
        .replace(['/', '-', ' '], "_")
}

/// Whether process `pid` exists on this host (Linux /proc; elsewhere assumed alive).
pub fn pid_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

fn claims_dir(root: &Path) -> PathBuf {
    root.join(".umedata").join("claims")
}

impl Claims {
    /// Claims chunks `chunks` of `world_id` in the dataset at `root`.
    pub fn acquire(root: &Path, world_id: &str, chunks: std::ops::Range<u64>) -> Result<Claims> {
        let dir = claims_dir(root);
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("cannot create the claims directory", &dir, &e))?;
        let host = this_host();
        let me = format!("{host} {}\n", std::process::id());
        let mut claims = Claims {
            dir,
            files: Vec::new(),
        };
        for c in chunks {
            let path = claims.dir.join(format!("{world_id}.{c}"));
            match create_claim(&path, &me) {
                Ok(()) => claims.files.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut it = owner.split_whitespace();
                    let (o_host, o_pid) = (it.next().unwrap_or(""), it.next());
                    let stale = o_host == host
                        && o_pid
                            .and_then(|p| p.parse::<u32>().ok())
                            .is_some_and(|p| !pid_alive(p));
                    if stale {
                        let _ = std::fs::remove_file(&path);
                        if create_claim(&path, &me).is_ok() {
                            claims.files.push(path);
                            continue;
                        }
                    }
                    let who = owner.trim();
                    claims.release();
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "chunk {c} of world '{world_id}' is claimed by another writer ({}); ranges of concurrent writers must not overlap (remove '{}' if that writer is gone)",
                            if who.is_empty() { "unknown owner" } else { who },
                            path.display()
                        ),
                    ));
                }
                Err(e) => {
                    claims.release();
                    return Err(Error::io("cannot create claim file", &path, &e));
                }
            }
        }
        Ok(claims)
    }

    /// Removes this writer's claims (and the claim directories if now empty).
    pub fn release(&mut self) {
        for f in self.files.drain(..) {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir(&self.dir);
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        self.release();
    }
}

fn create_claim(path: &Path, content: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_claims_are_refused_and_released_ones_reusable() {
        let root = std::env::temp_dir().join(format!("ume-claims-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let a = Claims::acquire(&root, "nk", 0..4).unwrap();
        let b = Claims::acquire(&root, "nk", 4..8).unwrap();
        let e = Claims::acquire(&root, "nk", 3..5).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.message().contains("chunk 3"), "{e}");
        // the failed attempt rolled back: chunk 5.. is not left claimed by it
        assert!(!root.join(".umedata/claims/nk.5").exists() || b.files.len() == 4);
        drop(a);
        Claims::acquire(&root, "nk", 0..4).unwrap();
        drop(b);
        assert!(!root.join(".umedata").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn claims_of_dead_processes_are_taken_over() {
        let root = std::env::temp_dir().join(format!("ume-claims-dead-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join(".umedata/claims")).unwrap();
        // pid 2^22+1 is above Linux's pid_max default; it cannot be alive
        std::fs::write(
            root.join(".umedata/claims/nk.0"),
            format!("{} {}\n", this_host(), (1u32 << 22) + 1),
        )
        .unwrap();
        std::fs::write(root.join(".umedata/claims/nk.1"), "otherhost 1\n").unwrap();
        let c = Claims::acquire(&root, "nk", 0..1).unwrap();
        assert_eq!(c.files.len(), 1);
        let e = Claims::acquire(&root, "nk", 1..2).unwrap_err();
        assert!(e.message().contains("otherhost 1"), "{e}");
        drop(c);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
