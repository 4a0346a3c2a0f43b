//! Crash-state testing of the store's durability order (issue 15), in the manner of ALICE
//! and CrashMonkey: the file operations of real write runs are recorded (see
//! `store::fsop`), and for every crash point (every prefix of the log) the on-disk states a
//! POSIX file system may leave after a power loss are rebuilt in a temp dir and read with
//! the real [`Reader`]: every sample the surviving `written` mask claims must read back
//! exactly a value that was written for it.
//!
//! # The persistence model (what may survive a power loss)
//! - A file's written data is durable once the file is fsynced/fdatasynced; before that it
//!   may be lost (the file reads empty) or kept.
//! - A directory entry (mkdir, create, rename, unlink) is durable once its directory is
//!   fsynced; before that it may be lost or kept, each one independently of the others
//!   (no ordering between unsynced operations is assumed). A rename that is kept names
//!   the renamed file's data, whatever happened to the entry of its old name. A file or
//!   directory under a directory whose own entry is lost is gone.
//!
//! # The enumeration, and its bound
//! At a crash point, the operations not yet durable that can change what a reader sees
//! are: writes of files that are renamed to a real name, renames, unlinks of real names and
//! mkdirs (creates and unlinks of temp names cannot: no reader opens a temp name; they are
//! taken as kept). They are grouped by the chunk index of the real name they affect
//! (`c.3.0`, `c.3` and the v2 `3.0` are chunk 3); everything else (metadata, directories)
//! is the group `meta`. Whether a chunk's samples read back depends only on that chunk's
//! files and on `meta`, so for each chunk group every subset of (that group + `meta`) is
//! enumerated, the other groups' operations kept; with no chunk group, every subset of
//! `meta`. When such a set has more than [`EXHAUSTIVE`] operations, the states are bounded:
//! all kept, all lost, each single operation lost (the others kept), each single one kept
//! (the others lost), and [`RANDOM`] random subsets (a fixed seed). Identical resulting
//! trees are read once.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::convert::Layout;
use crate::reader::Reader;
use crate::storage::store::TEMP_MARKER;
use crate::world::ArrayKind;

/// Largest set of unsynced operations whose subsets are all enumerated.
pub const EXHAUSTIVE: usize = 10;
/// Random subsets drawn for a larger set.
pub const RANDOM: usize = 16;

static ACTIVE: Mutex<Vec<(PathBuf, Arc<Recorder>)>> = Mutex::new(Vec::new());

/// The recorder of the root `path` is under, if one is recording.
pub(crate) fn recorder(path: &Path) -> Option<Arc<Recorder>> {
    let active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    active
        .iter()
        .find(|(root, _)| path.starts_with(root))
        .map(|(_, r)| Arc::clone(r))
}

/// Whether stores under `path` must reproduce the order of operations before issue 15.
pub(crate) fn legacy_order(path: &Path) -> bool {
    recorder(path).is_some_and(|r| r.legacy)
}

/// One recorded file operation; paths are relative to the recorded root, files are
/// identified by an inode number of the recorder.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Mkdir {
        dir: PathBuf,
    },
    Create {
        path: PathBuf,
        ino: u64,
    },
    Write {
        ino: u64,
        data: Arc<Vec<u8>>,
    },
    SyncFile {
        ino: u64,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
        ino: u64,
    },
    Unlink {
        path: PathBuf,
    },
    SyncDir {
        dir: PathBuf,
    },
}

#[derive(Default)]
struct Log {
    ops: Vec<Op>,
    /// The live name -> inode map.
    live: HashMap<PathBuf, u64>,
    next_ino: u64,
}

/// Performs the store's file operations under one root and logs them, in the order they
/// happened (one lock around each operation and its log entry).
pub(crate) struct Recorder {
    root: PathBuf,
    legacy: bool,
    log: Mutex<Log>,
}

impl Recorder {
    fn rel(&self, p: &Path) -> PathBuf {
        p.strip_prefix(&self.root).unwrap_or(p).to_path_buf()
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn mkdir(&self, dir: &Path) -> std::io::Result<()> {
        let mut log = self.log();
        std::fs::create_dir(dir)?;
        log.ops.push(Op::Mkdir { dir: self.rel(dir) });
        Ok(())
    }

    pub(crate) fn write_new(&self, path: &Path, bytes: &[u8]) -> std::io::Result<File> {
        let mut log = self.log();
        let mut f = File::create(path)?;
        let ino = log.next_ino;
        log.next_ino += 1;
        log.live.insert(self.rel(path), ino);
        log.ops.push(Op::Create {
            path: self.rel(path),
            ino,
        });
        f.write_all(bytes)?;
        log.ops.push(Op::Write {
            ino,
            data: Arc::new(bytes.to_vec()),
        });
        Ok(f)
    }

    pub(crate) fn sync_file(&self, f: &File, path: &Path) -> std::io::Result<()> {
        let mut log = self.log();
        f.sync_data()?;
        if let Some(&ino) = log.live.get(&self.rel(path)) {
            log.ops.push(Op::SyncFile { ino });
        }
        Ok(())
    }

    pub(crate) fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        let mut log = self.log();
        std::fs::rename(from, to)?;
        let (from, to) = (self.rel(from), self.rel(to));
        assert_eq!(
            from.parent(),
            to.parent(),
            "the store renames within a directory"
        );
        if let Some(ino) = log.live.remove(&from) {
            log.live.insert(to.clone(), ino);
            log.ops.push(Op::Rename { from, to, ino });
        }
        Ok(())
    }

    pub(crate) fn unlink(&self, path: &Path) -> std::io::Result<()> {
        let mut log = self.log();
        std::fs::remove_file(path)?;
        let path = self.rel(path);
        log.live.remove(&path);
        log.ops.push(Op::Unlink { path });
        Ok(())
    }

    pub(crate) fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        let mut log = self.log();
        File::open(dir)?.sync_all()?;
        log.ops.push(Op::SyncDir { dir: self.rel(dir) });
        Ok(())
    }
}

/// Records the file operations under `root` until dropped.
pub(crate) struct Recording(Arc<Recorder>);

impl Recording {
    /// Starts recording under `root` (created empty, and taken as durable); with `legacy`,
    /// stores under it use the order of operations before issue 15.
    pub(crate) fn start(root: &Path, legacy: bool) -> Recording {
        let _ = std::fs::remove_dir_all(root);
        std::fs::create_dir_all(root).unwrap();
        let r = Arc::new(Recorder {
            root: root.to_path_buf(),
            legacy,
            log: Mutex::new(Log::default()),
        });
        ACTIVE
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((root.to_path_buf(), Arc::clone(&r)));
        Recording(r)
    }

    pub(crate) fn ops(&self) -> Vec<Op> {
        self.0.log().ops.clone()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let mut active = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
        active.retain(|(_, r)| !Arc::ptr_eq(r, &self.0));
    }
}

fn parent(p: &Path) -> PathBuf {
    p.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn is_temp(p: &Path) -> bool {
    p.to_string_lossy().contains(TEMP_MARKER)
}

/// The chunk index a file name stands for (`c.3.0`, `c.3`, v2 `3.0`), if any.
fn chunk_of(p: &Path) -> Option<u64> {
    let name = p.file_name()?.to_str()?;
    let name = name.strip_prefix("c.").unwrap_or(name);
    name.split('.').next()?.parse().ok()
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Entry {
    Dir,
    File(u64),
}

/// A file system state: entries by relative path, and the data of each inode.
#[derive(Clone, Default)]
struct State {
    entries: BTreeMap<PathBuf, Entry>,
    data: HashMap<u64, Arc<Vec<u8>>>,
}

impl State {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Mkdir { dir } => {
                self.entries.insert(dir.clone(), Entry::Dir);
            }
            Op::Create { path, ino } => {
                self.entries.insert(path.clone(), Entry::File(*ino));
            }
            Op::Write { ino, data } => {
                self.data.insert(*ino, Arc::clone(data));
            }
            Op::Rename { from, to, ino } => {
                self.entries.insert(to.clone(), Entry::File(*ino));
                if self.entries.get(from) == Some(&Entry::File(*ino)) {
                    self.entries.remove(from);
                }
            }
            Op::Unlink { path } => {
                self.entries.remove(path);
            }
            Op::SyncFile { .. } | Op::SyncDir { .. } => {}
        }
    }

    /// The entries a reader can reach: every ancestor directory's entry present.
    fn visible(&self) -> Vec<(&PathBuf, Entry)> {
        self.entries
            .iter()
            .filter(|(p, _)| {
                p.ancestors()
                    .skip(1)
                    .filter(|a| !a.as_os_str().is_empty())
                    .all(|a| self.entries.get(a) == Some(&Entry::Dir))
            })
            .map(|(p, e)| (p, *e))
            .collect()
    }

    fn contents(&self, ino: u64) -> &[u8] {
        self.data.get(&ino).map_or(&[][..], |d| d.as_slice())
    }

    /// What a reader would see, as one number (temp names excluded).
    fn signature(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (p, e) in self.visible() {
            if is_temp(p) {
                continue;
            }
            p.hash(&mut h);
            match e {
                Entry::Dir => 0u8.hash(&mut h),
                Entry::File(ino) => self.contents(ino).hash(&mut h),
            }
        }
        h.finish()
    }

    fn materialize(&self, dir: &Path) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        for (p, e) in self.visible() {
            match e {
                Entry::Dir => std::fs::create_dir_all(dir.join(p)).unwrap(),
                Entry::File(ino) => std::fs::write(dir.join(p), self.contents(ino)).unwrap(),
            }
        }
    }
}

/// For each operation, the index of the sync that makes it durable (`usize::MAX` if none).
fn durable_at(ops: &[Op]) -> Vec<usize> {
    let mut at = vec![usize::MAX; ops.len()];
    for (i, op) in ops.iter().enumerate() {
        let made_durable_by = |s: &Op| match (op, s) {
            (Op::Write { ino, .. }, Op::SyncFile { ino: j }) => ino == j,
            (Op::Mkdir { dir: p }, Op::SyncDir { dir })
            | (Op::Create { path: p, .. }, Op::SyncDir { dir })
            | (Op::Unlink { path: p }, Op::SyncDir { dir })
            | (Op::Rename { to: p, .. }, Op::SyncDir { dir }) => parent(p) == *dir,
            _ => false,
        };
        if matches!(op, Op::SyncFile { .. } | Op::SyncDir { .. }) {
            continue;
        }
        if let Some(j) = ops[i + 1..].iter().position(made_durable_by) {
            at[i] = i + 1 + j;
        }
    }
    at
}

/// The outcome of exploring one run.
#[derive(Debug, Default)]
pub(crate) struct Explored {
    /// Operations recorded.
    pub ops: usize,
    /// (crash point, state) pairs explored.
    pub states: usize,
    /// Distinct trees read with the reader.
    pub distinct: usize,
    /// Crash points whose state sets were bounded (more than [`EXHAUSTIVE`] operations).
    pub bounded_points: usize,
    /// Explored states in which a claimed sample does not read back.
    pub violations: usize,
    /// The first few violations, described.
    pub examples: Vec<String>,
    /// Violations by kind (the start of their message).
    pub kinds: BTreeMap<String, usize>,
}

/// Explores every crash point of `ops` (recorded under a root whose dataset is `rel_ds`)
/// and checks each state with `check` (which gets the dataset path of the rebuilt tree).
pub(crate) fn explore(
    ops: &[Op],
    scratch: &Path,
    rel_ds: &Path,
    check: &dyn Fn(&Path) -> Result<(), String>,
) -> Explored {
    let at = durable_at(ops);
    let mut out = Explored {
        ops: ops.len(),
        ..Explored::default()
    };
    let mut seen: HashMap<u64, Option<String>> = HashMap::new();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    for k in 0..=ops.len() {
        // The inodes renamed to a real name within the prefix (their writes matter).
        let mut published: HashMap<u64, PathBuf> = HashMap::new();
        for op in &ops[..k] {
            if let Op::Rename { to, ino, .. } = op {
                if !is_temp(to) {
                    published.entry(*ino).or_insert_with(|| to.clone());
                }
            }
        }
        let mut base = State::default();
        // Unsynced operations that matter, with their group (chunk index or None = meta).
        let mut open: Vec<(usize, Option<u64>)> = Vec::new();
        for (i, op) in ops[..k].iter().enumerate() {
            if at[i] < k {
                base.apply(op);
                continue;
            }
            let target = match op {
                Op::SyncFile { .. } | Op::SyncDir { .. } => continue,
                Op::Write { ino, .. } => published.get(ino).cloned(),
                Op::Mkdir { dir } => Some(dir.clone()),
                Op::Rename { to, .. } => Some(to.clone()),
                Op::Create { path, .. } | Op::Unlink { path } => {
                    (!is_temp(path)).then(|| path.clone())
                }
            };
            match target {
                // Matters to no reader: taken as kept.
                None => base.apply(op),
                Some(t) => {
                    let is_dir = matches!(op, Op::Mkdir { .. });
                    open.push((i, if is_dir { None } else { chunk_of(&t) }));
                }
            }
        }
        let mut groups: Vec<Option<u64>> = open.iter().filter_map(|(_, g)| *g).map(Some).collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.is_empty() {
            groups.push(None);
        }
        let mut bounded = false;
        for g in groups {
            let dims: Vec<usize> = open
                .iter()
                .filter(|(_, og)| og.is_none() || *og == g)
                .map(|(i, _)| *i)
                .collect();
            let others: Vec<usize> = open
                .iter()
                .filter(|(_, og)| og.is_some() && *og != g)
                .map(|(i, _)| *i)
                .collect();
            let n = dims.len();
            let subsets: Vec<Vec<bool>> = if n <= EXHAUSTIVE {
                (0..1u64 << n)
                    .map(|m| (0..n).map(|b| m >> b & 1 == 1).collect())
                    .collect()
            } else {
                bounded = true;
                let mut s = vec![vec![true; n], vec![false; n]];
                for b in 0..n {
                    let mut lost = vec![true; n];
                    lost[b] = false;
                    s.push(lost);
                    let mut kept = vec![false; n];
                    kept[b] = true;
                    s.push(kept);
                }
                for _ in 0..RANDOM {
                    s.push((0..n).map(|_| rng.next_u32() & 1 == 1).collect());
                }
                s
            };
            for keep in subsets {
                let mut kept: Vec<usize> = others.clone();
                kept.extend(dims.iter().zip(&keep).filter(|(_, k)| **k).map(|(i, _)| *i));
                kept.sort_unstable();
                let mut state = base.clone();
                for i in kept {
                    state.apply(&ops[i]);
                }
                out.states += 1;
                let sig = state.signature();
                let verdict = seen.entry(sig).or_insert_with(|| {
                    state.materialize(scratch);
                    check(&scratch.join(rel_ds)).err()
                });
                if let Some(v) = verdict {
                    out.violations += 1;
                    let kind = v.split(':').next().unwrap_or_default();
                    let kind: String = kind.chars().filter(|c| !c.is_ascii_digit()).collect();
                    *out.kinds.entry(kind).or_default() += 1;
                    if out.examples.len() < 5 {
                        out.examples.push(format!(
                            "crash after op {k} ({:?}): {v}",
                            ops.get(k.wrapping_sub(1))
                        ));
                    }
                }
            }
        }
        if bounded {
            out.bounded_points += 1;
        }
    }
    out.distinct = seen.len();
    let _ = std::fs::remove_dir_all(scratch);
    out
}

/// The check of one rebuilt dataset: every sample the `written` mask of world `w` claims
/// reads back exactly: each of its four arrays equals that array in one of the versions
/// `allowed(i)` gives (four arrays of float32, C order); a world that cannot be opened is a violation only when a mask chunk
/// file with data exists (something was claimed).
pub(crate) fn check_claims(
    ds: &Path,
    allowed: &dyn Fn(u64) -> Vec<[Vec<f32>; 4]>,
) -> Result<(), String> {
    let r = match Reader::open(ds, "w") {
        Ok(r) => r,
        Err(e) => {
            let masks = ds.join("w/written");
            let claimed = std::fs::read_dir(&masks)
                .into_iter()
                .flatten()
                .flatten()
                .any(|f| {
                    let name = f.file_name().to_string_lossy().into_owned();
                    chunk_of(Path::new(&name)).is_some()
                        && !is_temp(Path::new(&name))
                        && f.metadata().is_ok_and(|m| m.len() > 0)
                });
            return if claimed {
                Err(format!(
                    "world does not open although a mask chunk exists: {e}"
                ))
            } else {
                Ok(())
            };
        }
    };
    let n = r.desc().n_samples;
    let mask = r.mask(0, n).map_err(|e| format!("mask unreadable: {e}"))?;
    for i in (0..n).filter(|&i| mask[i as usize] != 0) {
        let mut got: [Vec<f32>; 4] = ArrayKind::ALL.map(|k| vec![0f32; r.desc().sample_len(k)]);
        let [a, b, c, d] = &mut got;
        r.read_range(i, 1, Layout::C, [Some(a), Some(b), Some(c), Some(d)])
            .map_err(|e| format!("sample {i} claimed but unreadable: {e}"))?;
        // Each array holds one of the values written for it (a rewrite replaces the four
        // arrays' chunks one after the other, so a crash in between may mix versions).
        let versions = allowed(i);
        for (a, g) in got.iter().enumerate() {
            let same = |want: &[Vec<f32>; 4]| {
                want[a]
                    .iter()
                    .zip(g)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            };
            if !versions.iter().any(same) {
                return Err(format!(
                    "sample {i} claimed but its {} reads back {:?}...",
                    ArrayKind::ALL[a].name(),
                    &g[..g.len().min(3)]
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldDesc;
    use crate::writer::{SampleRef, Writer, WriterOptions};

    /// Sample `i` as written the `version`th time (0 = first write, 1 = a rewrite).
    fn values(desc: &WorldDesc, i: u64, version: u32) -> [Vec<f64>; 4] {
        ArrayKind::ALL.map(|kind| {
            (0..desc.sample_len(kind))
                .map(|j| {
                    i as f64 * 0.5 + j as f64 * 0.25 + kind as u8 as f64 + 1000.0 * version as f64
                })
                .collect()
        })
    }

    fn write(w: &Writer, i: u64, version: u32) {
        let v = values(w.desc(), i, version);
        let s = SampleRef {
            theta: &v[0],
            trajectories: &v[1],
            irfs: &v[2],
            shocks: &v[3],
        };
        w.write_sample(i, Layout::C, s).unwrap();
    }

    fn desc(n: u64) -> WorldDesc {
        WorldDesc::new("w", n, 3, 2, 2, 1, 1)
    }

    fn opts(chunk: u64, inner: Option<u64>, threads: usize, max_open: usize) -> WriterOptions {
        let mut o = WriterOptions::default();
        o.storage.chunk_samples = Some(chunk);
        o.storage.inner_chunk_samples = inner;
        o.threads = threads;
        o.max_open_chunks = max_open;
        o
    }

    /// Records `scenario` writing dataset `<root>/ds` (with the old order of operations
    /// when `legacy`) and explores its crash states; `rewritten(i)` says whether sample
    /// `i` may also hold its rewritten values.
    fn run(
        name: &str,
        legacy: bool,
        n: u64,
        rewritten: &dyn Fn(u64) -> bool,
        scenario: &dyn Fn(&Path),
    ) -> Explored {
        // tmpfs when there is one: the rebuilt trees are many and small.
        let shm = Path::new("/dev/shm");
        let tmp = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let root = tmp.join(format!(
            "ume-crash-{name}-{}-{}",
            u8::from(legacy),
            std::process::id()
        ));
        let rec = Recording::start(&root, legacy);
        scenario(&root.join("ds"));
        let ops = rec.ops();
        drop(rec);
        let d = desc(n);
        let f32s = |v: [Vec<f64>; 4]| v.map(|a| a.iter().map(|&x| x as f32).collect());
        let allowed = |i: u64| {
            let mut out = vec![f32s(values(&d, i, 0))];
            if rewritten(i) {
                out.push(f32s(values(&d, i, 1)));
            }
            out
        };
        let scratch = root.with_extension("state");
        let out = explore(&ops, &scratch, Path::new("ds"), &|ds| {
            check_claims(ds, &allowed)
        });
        std::fs::remove_dir_all(&root).unwrap();
        eprintln!(
            "crash states {name} ({} order): {} ops, {} states explored ({} distinct trees read, {} crash points bounded), {} violations{}",
            if legacy { "old" } else { "new" },
            out.ops,
            out.states,
            out.distinct,
            out.bounded_points,
            out.violations,
            if out.kinds.is_empty() { String::new() } else { format!(" {:?}", out.kinds) }
        );
        out
    }

    /// (a) samples in order, two compression threads, sharded chunks.
    fn in_order(ds: &Path) {
        let w = Writer::create(ds, &desc(8), &opts(4, Some(2), 2, 0)).unwrap();
        for i in 0..8 {
            write(&w, i, 0);
        }
        w.finalize().unwrap();
    }

    /// (b) a lone caller in random order: partial chunks stored early, read back and
    /// stored again.
    fn random_order(ds: &Path) {
        let w = Writer::create(ds, &desc(12), &opts(4, None, 1, 2)).unwrap();
        for i in [0, 5, 9, 1, 6, 2, 10, 3, 7, 11, 4, 8] {
            write(&w, i, 0);
        }
        let s = w.finalize().unwrap();
        assert!(
            s.chunks_stored_early > 0,
            "the scenario must store chunks early"
        );
    }

    /// (c) resume: a first writer stores chunk 0 and half of chunk 1, a second one opens
    /// the world and writes the rest (chunk 1 is read back and replaced).
    fn resume(ds: &Path) {
        let o = opts(4, None, 1, 0);
        let w = Writer::create(ds, &desc(8), &o).unwrap();
        for i in 0..6 {
            write(&w, i, 0);
        }
        drop(w);
        let w = Writer::open(ds, "w", &o).unwrap();
        for i in 6..8 {
            write(&w, i, 0);
        }
        w.finalize().unwrap();
    }

    /// (d) rewrite: samples of complete, claimed chunks are written again.
    fn rewrite(ds: &Path) {
        let mut o = opts(4, None, 1, 0);
        let w = Writer::create(ds, &desc(8), &o).unwrap();
        for i in 0..8 {
            write(&w, i, 0);
        }
        w.finalize().unwrap();
        o.rewrite = true;
        let w = Writer::open(ds, "w", &o).unwrap();
        for i in [1, 2, 5] {
            write(&w, i, 1);
        }
        w.finalize().unwrap();
    }

    const REWRITTEN: [u64; 3] = [1, 2, 5];

    #[test]
    fn crash_states_in_order() {
        let new = run("order", false, 8, &|_| false, &in_order);
        assert_eq!(new.violations, 0, "{:#?}", new.examples);
        assert!(run("order", true, 8, &|_| false, &in_order).violations > 0);
    }

    #[test]
    fn crash_states_random_order_with_early_stores() {
        let new = run("random", false, 12, &|_| false, &random_order);
        assert_eq!(new.violations, 0, "{:#?}", new.examples);
        assert!(run("random", true, 12, &|_| false, &random_order).violations > 0);
    }

    #[test]
    fn crash_states_resume() {
        let new = run("resume", false, 8, &|_| false, &resume);
        assert_eq!(new.violations, 0, "{:#?}", new.examples);
        assert!(run("resume", true, 8, &|_| false, &resume).violations > 0);
    }

    #[test]
    fn crash_states_rewrite() {
        let rw = |i| REWRITTEN.contains(&i);
        let new = run("rewrite", false, 8, &rw, &rewrite);
        assert_eq!(new.violations, 0, "{:#?}", new.examples);
        assert!(run("rewrite", true, 8, &rw, &rewrite).violations > 0);
    }
}
