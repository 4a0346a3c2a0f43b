//! Loading a simulator plugin (`--sim ./libmysim.so`): opens the shared library, finds its
//! one entry point `umedata_plugin_v1`, and lets the library check what it declares
//! (`umedata::ffi::plugin::load_v1`). The file's sha256 is what the manifest records.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use umedata::engine::{Simulate, Simulator};
use umedata::ffi::plugin::{load_v1, ume_plugin_v1, LoadedPlugin};

use crate::common::lib;

/// The symbol every plugin exports.
pub const ENTRY_POINT: &str = "umedata_plugin_v1";

/// A loaded plugin: its simulator and callback, kept with the library that holds them.
pub struct Plugin {
    /// Absolute path of the shared library.
    pub path: PathBuf,
    /// SHA-256 (hex) of the file as loaded.
    pub sha256: String,
    /// The simulator it declares.
    pub sim: Simulator,
    loaded: LoadedPlugin,
    // Dropped last: the callback points into it.
    _lib: libloading::Library,
}

impl Plugin {
    /// Opens `path` and calls its entry point.
    pub fn load(path: &Path) -> Result<Plugin> {
        let abs = std::fs::canonicalize(path)
            .with_context(|| format!("--sim '{}': no such file", path.display()))?;
        let bytes =
            std::fs::read(&abs).with_context(|| format!("--sim '{}': reading", abs.display()))?;
        let sha256 = umedata::digest::sha256_hex(&bytes);
        // SAFETY: loading a library runs its initializers; the user asked for this file.
        let library = unsafe { libloading::Library::new(&abs) }
            .with_context(|| format!("--sim '{}': not a loadable shared library", abs.display()))?;
        // SAFETY: the symbol's type is the documented entry point of a umedata plugin.
        let entry: libloading::Symbol<unsafe extern "C" fn(*mut ume_plugin_v1) -> i32> =
            unsafe { library.get(ENTRY_POINT.as_bytes()) }.with_context(|| {
                format!(
                    "--sim '{}': exports no '{ENTRY_POINT}' (the entry point of a umedata plugin, see umedata.h)",
                    abs.display()
                )
            })?;
        // SAFETY: the library stays loaded as long as `loaded` (both live in `Plugin`, the
        // library dropped last).
        let loaded = lib(unsafe { load_v1(*entry) })
            .with_context(|| format!("--sim '{}'", abs.display()))?;
        Ok(Plugin {
            path: abs,
            sha256,
            sim: loaded.sim.clone(),
            loaded,
            _lib: library,
        })
    }

    /// The plugin's simulate callback.
    pub fn simulate(&self) -> &dyn Simulate {
        self.loaded.simulate()
    }
}
