//! Helpers shared by the subcommands.

use std::path::Path;

use anyhow::{anyhow, Result};
use umedata::manifest::{Manifest, MANIFEST_FILE};
use umedata::reference::nk;

/// Keys of the reference-world configuration and the theta-draw counts inside the
/// manifest's `config`.
pub use umedata::reference::{CONFIG_DRAWS_KEY, CONFIG_WORLD_KEY};

/// Converts a library error into an `anyhow` error with its kind.
pub fn lib<T>(r: umedata::Result<T>) -> Result<T> {
    r.map_err(|e| anyhow!("{} ({:?})", e.message(), e.kind()))
}

/// World ids of a dataset: the manifest's worlds when it has one, otherwise the
/// sub-directories that open as worlds.
pub fn world_ids(dir: &Path, manifest: Option<&Manifest>) -> Result<Vec<String>> {
    lib(umedata::manifest::world_ids(dir, manifest))
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
    umedata::reference::config_from_manifest(m, id).map(lib)
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
