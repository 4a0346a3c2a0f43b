//! Cross-process claims on chunks and holds on worlds: how many processes (MPI ranks,
//! Slurm array tasks) write disjoint, chunk-aligned sample ranges of one world without a
//! coordinator, and why `overwrite` never destroys a world a writer has open.
//!
//! # Files
//! * A **hold**: every writer (create, resume, range) creates one file
//!   `<dataset>/.umedata/holds/<world>/<host>-<pid>-<n>` for as long as it is open. A
//!   create with `overwrite` looks there first and refuses to replace the world while any
//!   live writer holds it (the message names the holder and its file).
//! * A **claim** per chunk of a range writer, `<dataset>/.umedata/claims/<world>.<chunk>`,
//!   created with `O_CREAT|O_EXCL` (`create_new`), so two processes can never both hold a
//!   chunk, whatever the timing.
//!
//! Each file holds one line, `<host> <pid> start=<ticks> job=<id> lease=<seconds>`: the
//! host, the process, the process's start time (field 22 of `/proc/<pid>/stat`, so that a
//! reused pid is told apart), the job it belongs to (below) and its lease. Files are
//! removed when the writer is finalized or dropped, and the directories with them when
//! they are empty, so a finished dataset has no trace of them.
//!
//! # Leases: when a claim or hold of another writer is stale
//! A live writer renews its files every `lease / 3` (a background thread sets their
//! modification time to now), and checks on each renewal that they still name it. The file
//! of another writer is **stale**, and is taken over (claims) or ignored (holds), when:
//! 1. it names this host and its pid no longer exists (the process died), or
//! 2. it names this host, that pid exists but started at another time than the file says
//!    (the pid was reused by an unrelated process), or
//! 3. it names another host and the same job id as this process (a pre-empted Slurm task
//!    restarted on another node takes its range back at once), or
//! 4. it names another host and was not renewed for longer than its own lease (the lease
//!    written in the file; the reader's lease for files without one).
//!
//! A file naming a live process of this host is never stale, whatever its age or job. A
//! file of another host is live until its lease runs out: its age is measured against the
//! file's modification time, so hosts sharing a dataset over NFS need clocks within a few
//! seconds of each other (a lease of minutes leaves ample margin), and a process stopped
//! (SIGSTOP, suspended job) for longer than its lease loses its claims: it notices at its
//! next renewal, and its writes and finalize then fail instead of writing into a range
//! someone else holds.
//!
//! The lease is [`crate::writer::WriterOptions::claim_lease_seconds`]; 0 takes
//! `UME_CLAIM_LEASE_SECONDS` from the environment, else [`DEFAULT_LEASE_SECS`] (10 minutes).
//! The job id is `UME_JOB_ID`, else `slurm:<SLURM_ARRAY_JOB_ID>_<SLURM_ARRAY_TASK_ID>`
//! (with `.<SLURM_PROCID>` when set) in a Slurm array task, else none. Two live processes
//! must never share a job id.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, Result};

/// Lease of claims and holds when neither the options nor the environment set one.
pub const DEFAULT_LEASE_SECS: u64 = 600;
/// Shortest lease accepted (renewal every lease / 3 must be at least a second).
pub const MIN_LEASE_SECS: u64 = 3;

/// Age after which an empty or unreadable claim or hold file (its creator failed between
/// creating and writing it) is stale, whoever made it.
pub const UNWRITTEN_GRACE_SECS: u64 = 3;
/// Longest lease accepted (a year).
pub const MAX_LEASE_SECS: u64 = 365 * 24 * 3600;
/// Environment variable giving the lease in seconds when the options leave it at 0.
pub const LEASE_ENV: &str = "UME_CLAIM_LEASE_SECONDS";
/// Environment variable naming the job (takes precedence over Slurm's variables).
pub const JOB_ENV: &str = "UME_JOB_ID";

/// Claims (and the hold) held by one writer, renewed in the background until released.
#[derive(Debug)]
pub struct Claims {
    /// `<dataset>/.umedata`
    base: PathBuf,
    world_id: String,
    /// The hold file first, then the chunk claims.
    files: Arc<Mutex<Vec<PathBuf>>>,
    hold: PathBuf,
    /// The line our files hold.
    line: String,
    /// Why a file of ours no longer names us (found by the renewal thread).
    lost: LostFlag,
    renewer: Option<(Sender<()>, JoinHandle<()>)>,
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

/// When process `pid` started (field 22 of `/proc/<pid>/stat`, clock ticks since boot);
/// `None` where that is unknown.
pub fn pid_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from the
    // last ')', after which field 3 comes.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// This process's job id (see the module doc), without whitespace.
pub fn job_id() -> Option<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let id = match var(JOB_ENV) {
        Some(j) => j,
        None => {
            let (a, t) = (var("SLURM_ARRAY_JOB_ID")?, var("SLURM_ARRAY_TASK_ID")?);
            match var("SLURM_PROCID") {
                Some(p) => format!("slurm:{a}_{t}.{p}"),
                None => format!("slurm:{a}_{t}"),
            }
        }
    };
    Some(id.split_whitespace().collect::<Vec<_>>().join("_"))
}

/// The lease in seconds: `opt` if not 0, else `UME_CLAIM_LEASE_SECONDS`, else the default.
pub fn lease_seconds(opt: u64) -> Result<u64> {
    let (value, origin) = if opt != 0 {
        (opt, "claim_lease_seconds".to_string())
    } else {
        match std::env::var(LEASE_ENV) {
            Ok(v) => {
                let parsed = v.trim().parse::<u64>().map_err(|_| {
                    Error::invalid(format!(
                        "environment variable {LEASE_ENV} is '{v}', expected a whole number of seconds in [{MIN_LEASE_SECS}, {MAX_LEASE_SECS}]"
                    ))
                })?;
                (parsed, format!("environment variable {LEASE_ENV}"))
            }
            Err(_) => return Ok(DEFAULT_LEASE_SECS),
        }
    };
    if !(MIN_LEASE_SECS..=MAX_LEASE_SECS).contains(&value) {
        return Err(Error::invalid(format!(
            "{origin} is {value}, expected a lease in seconds in [{MIN_LEASE_SECS}, {MAX_LEASE_SECS}]"
        )));
    }
    Ok(value)
}

/// What a claim or hold file says about its owner.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    host: String,
    pid: Option<u32>,
    start: Option<u64>,
    job: Option<String>,
    lease: Option<u64>,
}

impl Record {
    fn mine(lease: u64) -> Record {
        let pid = std::process::id();
        Record {
            host: this_host(),
            pid: Some(pid),
            start: pid_start_time(pid),
            job: job_id(),
            lease: Some(lease),
        }
    }

    /// Parses a file's line (older files hold only `<host> <pid>`).
    fn parse(text: &str) -> Record {
        let mut it = text.split_whitespace();
        let host = it.next().unwrap_or("").to_string();
        let pid = it.next().and_then(|p| p.parse().ok());
        let mut r = Record {
            host,
            pid,
            start: None,
            job: None,
            lease: None,
        };
        for kv in it {
            match kv.split_once('=') {
                Some(("start", v)) => r.start = v.parse().ok(),
                Some(("job", v)) if v != "-" => r.job = Some(v.to_string()),
                Some(("lease", v)) => r.lease = v.parse().ok(),
                _ => {}
            }
        }
        r
    }

    fn line(&self) -> String {
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
        format!(
            "{} {} start={} job={} lease={}\n",
            self.host,
            opt(self.pid.map(u64::from)),
            opt(self.start),
            self.job.as_deref().unwrap_or("-"),
            opt(self.lease)
        )
    }

    /// "host h, pid p, job j" for messages.
    fn who(&self) -> String {
        if self.host.is_empty() {
            return "unknown owner".into();
        }
        let mut s = format!("host {}", self.host);
        if let Some(p) = self.pid {
            s += &format!(", pid {p}");
        }
        if let Some(j) = &self.job {
            s += &format!(", job {j}");
        }
        s
    }
}

/// Whether the owner of a file may still be writing.
enum Verdict {
    /// Live, and why (for the message).
    Live(String),
    /// Stale, and why.
    Stale,
}

/// Applies the lease rules of the module doc to the file of `rec`, last renewed `age` ago.
fn judge(rec: &Record, age: Option<Duration>, me: &Record, my_lease: u64) -> Verdict {
    if rec.host.is_empty() {
        // An empty or unreadable file: its creator died, or failed to write it (disk
        // full), between creating and writing it, which are microseconds apart. Only a
        // file that young may still be being written.
        let age = age.unwrap_or_default().as_secs();
        return if age >= UNWRITTEN_GRACE_SECS {
            Verdict::Stale
        } else {
            Verdict::Live(format!(
                "a file still being written ({age} s old; taken over after {UNWRITTEN_GRACE_SECS} s if it stays empty)"
            ))
        };
    }
    if rec.host == me.host {
        let Some(pid) = rec.pid else {
            return Verdict::Stale;
        };
        if !pid_alive(pid) {
            return Verdict::Stale;
        }
        if let (Some(then), Some(now)) = (rec.start, pid_start_time(pid)) {
            if then != now {
                return Verdict::Stale; // pid reused by another process
            }
        }
        return Verdict::Live("a live process on this host".into());
    }
    if rec.job.is_some() && rec.job == me.job {
        return Verdict::Stale; // the same job, restarted on another node
    }
    let lease = rec.lease.unwrap_or(my_lease);
    let age = age.unwrap_or_default().as_secs();
    if age > lease {
        return Verdict::Stale;
    }
    Verdict::Live(format!(
        "another host; lease of {lease} s renewed {age} s ago, stale in {} s unless renewed",
        lease - age
    ))
}

/// Age of a file (time since its last renewal); `None` if it cannot be read.
fn age_of(path: &Path) -> Option<Duration> {
    let m = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(SystemTime::now().duration_since(m).unwrap_or_default())
}

fn base_dir(root: &Path) -> PathBuf {
    root.join(".umedata")
}

fn holds_dir(root: &Path, world_id: &str) -> PathBuf {
    base_dir(root).join("holds").join(world_id)
}

/// A unique suffix for this process's hold and trash names.
fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        this_host(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Creates `path` exclusively with `content`, creating its directory (again, should a
/// releasing writer remove it in between).
fn create_exclusive(path: &Path, content: &str) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                // A file we could not fill (disk full) would block others until it is
                // judged stale: remove it and report.
                return f.write_all(content.as_bytes()).inspect_err(|_| {
                    let _ = std::fs::remove_file(path);
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Takes over the stale file `path` whose content was `seen`: moves it aside (only one
/// taker can), checks that what was moved is still that stale file (not a claim another
/// taker created meanwhile, which is put back), then creates ours. Returns whether the
/// chunk is ours now.
fn take_over(path: &Path, seen: &str, content: &str) -> bool {
    let aside = path.with_file_name(format!(".stale-{}", unique()));
    if std::fs::rename(path, &aside).is_err() {
        return false; // someone else moved it first
    }
    let moved = std::fs::read_to_string(&aside).unwrap_or_default();
    if moved != seen {
        // A fresh claim of another taker: put it back (unless a third one is there now).
        let _ = std::fs::hard_link(&aside, path);
        let _ = std::fs::remove_file(&aside);
        return false;
    }
    let _ = std::fs::remove_file(&aside);
    create_exclusive(path, content).is_ok()
}

impl Claims {
    /// Holds world `world_id` of the dataset at `root` (no chunk claims): what a writer of
    /// the whole world takes, so that no overwrite replaces the world under it.
    pub fn hold(root: &Path, world_id: &str, lease: u64) -> Result<Claims> {
        Self::acquire_impl(root, world_id, None, lease)
    }

    /// Holds world `world_id` and claims its chunks `chunks` (a range writer). Chunks
    /// claimed by a live writer are refused; stale claims (see the module doc) are taken
    /// over.
    pub fn acquire(
        root: &Path,
        world_id: &str,
        chunks: std::ops::Range<u64>,
        lease: u64,
    ) -> Result<Claims> {
        Self::acquire_impl(root, world_id, Some(chunks), lease)
    }

    fn acquire_impl(
        root: &Path,
        world_id: &str,
        chunks: Option<std::ops::Range<u64>>,
        lease: u64,
    ) -> Result<Claims> {
        let me = Record::mine(lease);
        let line = me.line();
        let base = base_dir(root);
        let mut hold = holds_dir(root, world_id).join(unique());
        let mut files = vec![hold.clone()];
        match create_exclusive(&hold, &line) {
            Ok(()) => {}
            // On a read-only filesystem nobody can replace the world either: a writer of
            // the whole world goes on without a hold (and fails at its first store).
            Err(e) if chunks.is_none() && e.raw_os_error() == Some(libc::EROFS) => {
                hold = PathBuf::new();
                files.clear();
            }
            Err(e) => return Err(Error::io("cannot create the hold file", &hold, &e)),
        }
        let mut claims = Claims {
            base: base.clone(),
            world_id: world_id.to_string(),
            files: Arc::new(Mutex::new(files)),
            hold,
            line: line.clone(),
            lost: LostFlag {
                why: Arc::new(Mutex::new(None)),
                world_id: world_id.to_string(),
            },
            renewer: None,
        };
        let dir = base.join("claims");
        for c in chunks.unwrap_or(0..0) {
            let path = dir.join(format!("{world_id}.{c}"));
            match create_exclusive(&path, &line) {
                Ok(()) => claims.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let seen = std::fs::read_to_string(&path).unwrap_or_default();
                    let owner = Record::parse(&seen);
                    let why = match judge(&owner, age_of(&path), &me, lease) {
                        Verdict::Stale if take_over(&path, &seen, &line) => {
                            claims.push(path);
                            continue;
                        }
                        Verdict::Stale => "it was just taken over by another writer".into(),
                        Verdict::Live(why) => why,
                    };
                    claims.release();
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "chunk {c} of world '{world_id}' is claimed by another writer ({}; {why}); ranges of concurrent writers must not overlap (remove '{}' if that writer is gone)",
                            owner.who(),
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
        claims.start_renewal(line, lease);
        Ok(claims)
    }

    fn push(&self, path: PathBuf) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(path);
    }

    /// Starts the thread renewing the files every `lease / 3`.
    fn start_renewal(&mut self, line: String, lease: u64) {
        let (tx, rx) = channel::<()>();
        let files = Arc::clone(&self.files);
        let lost = Arc::clone(&self.lost.why);
        let every = Duration::from_secs(lease) / 3;
        let spawned = std::thread::Builder::new()
            .name("umedata-lease".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    let files = files.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    for f in files {
                        if let Err(why) = renew(&f, &line) {
                            let mut lost = lost.lock().unwrap_or_else(|p| p.into_inner());
                            lost.get_or_insert(why);
                        }
                    }
                }
            });
        // Without the thread the files are still exclusive; they only age.
        if let Ok(handle) = spawned {
            self.renewer = Some((tx, handle));
        }
    }

    /// Renews every file now (what the background thread does every lease / 3).
    #[cfg(test)]
    pub fn renew_now(&self) -> Result<()> {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for f in files {
            renew(&f, &self.line).map_err(|why| Error::new(ErrorKind::AlreadyExists, why))?;
        }
        Ok(())
    }

    /// Shared view of whether this writer lost a claim or its hold.
    pub fn lost_flag(&self) -> LostFlag {
        self.lost.clone()
    }

    /// Removes this writer's files (and the directories if now empty).
    pub fn release(&mut self) {
        if let Some((tx, handle)) = self.renewer.take() {
            drop(tx);
            let _ = handle.join();
        }
        let files: Vec<PathBuf> = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for f in files {
            // Only files that still name us: one taken over belongs to its new owner.
            if std::fs::read_to_string(&f).is_ok_and(|t| t == self.line) {
                let _ = std::fs::remove_file(f);
            }
        }
        remove_empty_dirs(&self.base, &self.world_id);
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        self.release();
    }
}

/// Whether a writer lost a claim or its hold (another writer took it over after the lease
/// ran out, or the file was removed); set by the renewal thread.
#[derive(Debug, Clone)]
pub struct LostFlag {
    why: Arc<Mutex<Option<String>>>,
    world_id: String,
}

impl LostFlag {
    /// The error to report, if the writer lost a file.
    pub fn error(&self) -> Option<Error> {
        let why = self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "this writer lost its hold on world '{}': {why}; another writer may have taken over its range, so nothing more is stored",
                self.world_id
            ),
        ))
    }
}

/// Sets the modification time of our file `f` to now, after checking it still says `line`.
fn renew(f: &Path, line: &str) -> std::result::Result<(), String> {
    match std::fs::read_to_string(f) {
        Ok(text) if text == line => {}
        Ok(text) => {
            return Err(format!(
                "'{}' now names another writer ({})",
                f.display(),
                Record::parse(&text).who()
            ))
        }
        Err(e) => return Err(format!("'{}' cannot be read: {e}", f.display())),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(f)
        .and_then(|h| h.set_modified(SystemTime::now()))
        .map_err(|e| format!("'{}' cannot be renewed: {e}", f.display()))
}

fn remove_empty_dirs(base: &Path, world_id: &str) {
    let holds = base.join("holds");
    for d in [
        holds.join(world_id),
        holds,
        base.join("claims"),
        base.join("trash"),
        base.to_path_buf(),
    ] {
        let _ = std::fs::remove_dir(d);
    }
}

/// Refuses (`AlreadyExists`) when a live writer other than `own` holds world `world_id`
/// of the dataset at `root`. Stale holds (see the module doc) are removed on the way.
pub fn refuse_if_held(root: &Path, world_id: &str, own: Option<&Claims>) -> Result<()> {
    let dir = holds_dir(root, world_id);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("cannot list the holds of the world", &dir, &e)),
    };
    let lease = lease_seconds(0).unwrap_or(DEFAULT_LEASE_SECS);
    let me = Record::mine(lease);
    for entry in entries.flatten() {
        let path = entry.path();
        if own.is_some_and(|o| o.hold == path) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // released meanwhile
        };
        let owner = Record::parse(&text);
        match judge(&owner, age_of(&path), &me, lease) {
            Verdict::Stale => {
                let _ = std::fs::remove_file(&path);
            }
            Verdict::Live(why) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "world '{world_id}' in '{}' is held open by a writer ({}; {why}) through '{}'; it is not replaced while held: finalize or free that writer first (or remove that file if the writer is gone)",
                        root.display(),
                        owner.who(),
                        path.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Moves the directory of world `world_id` out of the way in one rename (into
/// `.umedata/trash`), so that a replacement never leaves half a world behind: the old
/// world is whole or gone. If a live writer appears meanwhile (it took its hold after
/// [`refuse_if_held`] looked), the world is moved back and the replacement refused. On
/// success the moved world is deleted.
pub fn remove_world(root: &Path, world_id: &str, own: Option<&Claims>) -> Result<()> {
    let world_dir = root.join(world_id);
    let trash = base_dir(root)
        .join("trash")
        .join(format!("{world_id}.{}", unique()));
    if let Some(parent) = trash.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("cannot create the trash directory", parent, &e))?;
    }
    std::fs::rename(&world_dir, &trash)
        .map_err(|e| Error::io("cannot move the existing world aside", &world_dir, &e))?;
    if let Err(e) = refuse_if_held(root, world_id, own) {
        return match std::fs::rename(&trash, &world_dir) {
            Ok(()) => Err(e),
            Err(io) => Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{}; moving the world back from '{}' failed: {io}",
                    e.message(),
                    trash.display()
                ),
            )),
        };
    }
    let _ = std::fs::remove_dir_all(&trash);
    let _ = std::fs::remove_dir(base_dir(root).join("trash"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("ume-claims-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join(".umedata/claims")).unwrap();
        root
    }

    /// Writes a claim file by hand, renewed `age` ago.
    fn plant(path: &Path, line: &str, age: Duration) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, line).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn overlapping_claims_are_refused_and_released_ones_reusable() {
        let root = root("overlap");
        let a = Claims::acquire(&root, "nk", 0..4, 600).unwrap();
        let b = Claims::acquire(&root, "nk", 4..8, 600).unwrap();
        let e = Claims::acquire(&root, "nk", 3..5, 600).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.message().contains("chunk 3"), "{e}");
        assert!(e.message().contains("a live process on this host"), "{e}");
        // the failed attempt rolled back: chunk 5.. is not left claimed by it
        assert_eq!(b.files.lock().unwrap().len(), 5);
        drop(a);
        Claims::acquire(&root, "nk", 0..4, 600).unwrap();
        drop(b);
        assert!(!root.join(".umedata").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn claims_of_dead_processes_are_taken_over() {
        let root = root("dead");
        // pid 2^22+1 is above Linux's pid_max default; it cannot be alive
        let dead = format!("{} {}\n", this_host(), (1u32 << 22) + 1);
        std::fs::write(root.join(".umedata/claims/nk.0"), dead).unwrap();
        let c = Claims::acquire(&root, "nk", 0..1, 600).unwrap();
        assert_eq!(c.files.lock().unwrap().len(), 2);
        assert_eq!(
            Record::parse(&std::fs::read_to_string(root.join(".umedata/claims/nk.0")).unwrap()).pid,
            Some(std::process::id())
        );
        drop(c);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn claim_of_a_dead_host_expires_with_its_lease() {
        let root = root("deadhost");
        let claims = root.join(".umedata/claims");
        // another host, lease 600 s, last renewed an hour ago: stale
        plant(
            &claims.join("nk.0"),
            "othernode 4242 start=99 job=- lease=600\n",
            HOUR,
        );
        // an old-format claim of another host (no lease: the taker's lease applies)
        plant(&claims.join("nk.1"), "othernode 4243\n", HOUR);
        let c = Claims::acquire(&root, "nk", 0..2, 600).unwrap();
        assert_eq!(c.files.lock().unwrap().len(), 3);
        drop(c);
        // a live lease of another host is refused, naming it and when it runs out
        plant(
            &claims.join("nk.0"),
            "othernode 4242 start=99 job=- lease=600\n",
            Duration::from_secs(30),
        );
        let e = Claims::acquire(&root, "nk", 0..1, 600).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        for part in [
            "chunk 0",
            "host othernode, pid 4242",
            "lease of 600 s",
            "nk.0",
        ] {
            assert!(e.message().contains(part), "{part}: {e}");
        }
        // the holder's own lease counts, not the taker's: a 2-hour lease is still live
        plant(
            &claims.join("nk.0"),
            "othernode 4242 start=99 job=- lease=7200\n",
            HOUR,
        );
        let e = Claims::acquire(&root, "nk", 0..1, 600).unwrap_err();
        assert!(e.message().contains("lease of 7200 s"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn claim_naming_a_reused_pid_is_taken_over() {
        let root = root("reused");
        let claims = root.join(".umedata/claims");
        let me = std::process::id();
        let start = pid_start_time(me).expect("/proc/self/stat has a start time");
        // our pid, but a process that started at another time: the pid was reused
        plant(
            &claims.join("nk.0"),
            &format!("{} {me} start={} job=- lease=600\n", this_host(), start + 1),
            Duration::ZERO,
        );
        let c = Claims::acquire(&root, "nk", 0..1, 600).unwrap();
        drop(c);
        // our pid with our start time: a live process, refused
        plant(
            &claims.join("nk.0"),
            &format!("{} {me} start={start} job=- lease=600\n", this_host()),
            HOUR,
        );
        let e = Claims::acquire(&root, "nk", 0..1, 600).unwrap_err();
        assert!(e.message().contains("a live process on this host"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn judge_applies_the_job_rule_only_to_other_hosts() {
        let me = Record {
            host: "here".into(),
            pid: Some(std::process::id()),
            start: pid_start_time(std::process::id()),
            job: Some("slurm:7_3".into()),
            lease: Some(600),
        };
        let fresh = Some(Duration::ZERO);
        // the same job on another node: the restarted task takes it back at once
        let there = Record {
            host: "there".into(),
            ..me.clone()
        };
        assert!(matches!(judge(&there, fresh, &me, 600), Verdict::Stale));
        // another job on another node, fresh lease: live
        let other = Record {
            job: Some("slurm:7_4".into()),
            ..there.clone()
        };
        assert!(matches!(judge(&other, fresh, &me, 600), Verdict::Live(_)));
        // same host, same job, live process: never taken over
        let real_me = Record {
            host: this_host(),
            ..me.clone()
        };
        assert!(matches!(
            judge(&real_me, fresh, &real_me, 600),
            Verdict::Live(_)
        ));
    }

    #[test]
    fn empty_files_are_stale_after_a_short_grace_whoever_made_them() {
        let me = Record::mine(600);
        let empty = Record::parse("");
        assert!(matches!(
            judge(
                &empty,
                Some(Duration::from_secs(UNWRITTEN_GRACE_SECS)),
                &me,
                600
            ),
            Verdict::Stale
        ));
        assert!(matches!(
            judge(&empty, Some(Duration::ZERO), &me, 600),
            Verdict::Live(_)
        ));
        // Through the real acquire: an empty claim left by a failed write, old enough.
        let root = std::env::temp_dir().join(format!("ume-claims-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let file = root.join(".umedata/claims/w.0");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let f = std::fs::File::create(&file).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(60))
            .unwrap();
        drop(f);
        let claims = Claims::acquire(&root, "w", 0..1, 600).expect("an old empty claim is stale");
        assert!(Record::parse(&std::fs::read_to_string(&file).unwrap())
            .pid
            .is_some());
        drop(claims);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn record_round_trips_and_old_format_parses() {
        let r = Record::mine(90);
        assert_eq!(Record::parse(&r.line()), r);
        let old = Record::parse("node7 123\n");
        assert_eq!(
            (old.host.as_str(), old.pid, old.lease),
            ("node7", Some(123), None)
        );
        assert_eq!(old.who(), "host node7, pid 123");
    }

    #[test]
    fn lease_comes_from_options_then_environment() {
        assert_eq!(lease_seconds(42).unwrap(), 42);
        let e = lease_seconds(1).unwrap_err();
        assert!(e.message().contains("claim_lease_seconds is 1"), "{e}");
    }

    #[test]
    fn renewal_refreshes_and_detects_a_takeover() {
        let root = root("renew");
        let c = Claims::acquire(&root, "nk", 0..1, 600).unwrap();
        let claim = root.join(".umedata/claims/nk.0");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&claim)
            .unwrap();
        f.set_modified(SystemTime::now() - HOUR).unwrap();
        c.renew_now().unwrap();
        assert!(age_of(&claim).unwrap() < HOUR / 2);
        std::fs::write(&claim, "othernode 1 start=- job=- lease=600\n").unwrap();
        let e = c.renew_now().unwrap_err();
        assert!(e.message().contains("host othernode, pid 1"), "{e}");
        drop(c);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
