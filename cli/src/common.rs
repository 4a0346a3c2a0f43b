//! Helpers shared by the subcommands.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::{anyhow, Context, Result};
use umedata::manifest::{Manifest, MANIFEST_FILE};
use umedata::reference::nk;
use umedata::storage::dataset::World;

/// Key of the reference-world configuration inside the manifest's `config`.
pub const CONFIG_WORLD_KEY: &str = "reference_world";
/// Key of the determinacy counts inside the manifest's `config`.
pub const CONFIG_DRAWS_KEY: &str = "theta_draws";

/// Converts a library error into an `anyhow` error with its kind.
pub fn lib<T>(r: umedata::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("{} ({:?})", e.message(), e.kind()))
}

/// World ids of a dataset: the manifest's worlds when it has one, otherwise the
/// sub-directories that open as worlds.
pub fn world_ids(dir: &Path, manifest: Option<&Manifest>) -> Result<Vec<String>> {
    if let Some(m) = manifest {
        if !m.simulators.is_empty() {
            return Ok(m.simulators.keys().cloned().collect());
        }
    }
    let mut ids = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading '{}'", dir.display()))? {
        let e = e?;
        if e.path().join("zarr.json").is_file() || e.path().join(".zgroup").is_file() {
            if let Some(name) = e.file_name().to_str() {
                if World::open(dir, name).is_ok() {
                    ids.push(name.to_string());
                }
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// The manifest if the dataset has one (and the load error if it does not parse).
pub fn load_manifest(dir: &Path) -> (Option<Manifest>, Option<String>) {
    if !dir.join(MANIFEST_FILE).is_file() {
        return (
            None,
            Some(format!("no {MANIFEST_FILE} in '{}'", dir.display())),
        );
    }
    match Manifest::load(dir) {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e.message().to_string())),
    }
}

/// The reference-world configuration a manifest records for world `id`, if any.
pub fn reference_config(m: &Manifest, id: &str) -> Option<Result<nk::Config>> {
    let v = m.config.as_ref()?.get(CONFIG_WORLD_KEY)?;
    if id != nk::WORLD_ID || v.get("world").and_then(|w| w.as_str()) != Some(id) {
        return None;
    }
    Some(lib(nk::Config::from_json(v)))
}

/// Determinacy redraws over samples `0..n` (cheap: theta draws and solves only).
pub fn count_rejections(
    cfg: &nk::Config,
    seed: u64,
    n: u64,
    threads: usize,
) -> Result<nk::Rejections> {
    let next = AtomicU64::new(0);
    let total = Mutex::new(nk::Rejections::default());
    let err = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = nk::Rejections::default();
                loop {
                    let start = next.fetch_add(4096, Ordering::Relaxed);
                    if start >= n {
                        break;
                    }
                    for i in start..(start + 4096).min(n) {
                        match cfg.rejections(seed, i) {
                            Ok(r) => mine.add(r),
                            Err(e) => {
                                *err.lock().unwrap() = Some(e);
                                return;
                            }
                        }
                    }
                }
                total.lock().unwrap().add(mine);
            });
        }
    });
    if let Some(e) = err.into_inner().unwrap() {
        return lib(Err(e));
    }
    Ok(total.into_inner().unwrap())
}

/// Human-readable bytes.
pub fn human_bytes(b: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = b as f64;
    let mut u = 0;
    while x >= 1024.0 && u + 1 < units.len() {
        x /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{x:.1} {}", units[u])
    }
}

/// Chunks of an array that are stored, their total stored bytes and the samples they hold.
pub fn stored_chunks(
    world: &World,
    array: &umedata::storage::dataset::DataArray,
) -> Result<(u64, u64, u64)> {
    use zarrs_like::chunk_size;
    let (mut n, mut bytes, mut samples) = (0, 0, 0);
    for c in 0..world.n_chunks() {
        if let Some(s) = chunk_size(world, array, c)? {
            n += 1;
            bytes += s;
            samples += world.samples_in_chunk(c);
        }
    }
    Ok((n, bytes, samples))
}

/// Access to chunk keys through the library's store.
pub mod zarrs_like {
    use anyhow::{anyhow, Result};
    use umedata::storage::dataset::{DataArray, World};

    /// Size in bytes of chunk `c` of `array`, `None` when it is not stored.
    pub fn chunk_size(world: &World, array: &DataArray, c: u64) -> Result<Option<u64>> {
        let mut idx = vec![0u64; array.shape().len()];
        idx[0] = c;
        let key = array.chunk_key(&idx);
        let path = world.root.join(key.as_str());
        match std::fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow!("cannot stat '{}': {e}", path.display())),
        }
    }
}
