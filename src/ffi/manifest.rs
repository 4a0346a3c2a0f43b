//! `ume_manifest`: build, validate, save, load and check the dataset manifest, and
//! finalize a writer together with its manifest.

use std::ffi::{c_char, CString};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use super::panic::{guard, guard_void};
use super::reader::ume_reader;
use super::splits::ume_splits;
use super::status::ume_status;
use super::writer::{summary, ume_summary, ume_world_desc, ume_writer};
use super::{free_handle, register_handle, try_handle, try_names, try_out, try_slice, try_str};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Manifest;

/// A dataset manifest being built or loaded (opaque). Thread-safe (calls are serialized).
/// Created by `ume_manifest_new` or `ume_manifest_load`, released by `ume_manifest_free`.
///
/// Typical use: `ume_manifest_new` → `ume_manifest_set_config_json`, `ume_manifest_set_git`
/// → `ume_manifest_add_world_from_writer` (right after `ume_writer_create`) →
/// `ume_manifest_set_parameters`, `ume_manifest_set_shock_sigma`,
/// `ume_manifest_set_n_canonical_obs` → write the samples →
/// `ume_writer_finalize_with_manifest` (saves `<dataset>/manifest.json`).
pub struct ume_manifest {
    pub(crate) inner: Mutex<Manifest>,
}

fn lock(m: &ume_manifest) -> MutexGuard<'_, Manifest> {
    m.inner.lock().unwrap_or_else(|p| p.into_inner())
}

/// Creates a manifest for dataset version `version` (semver, e.g. "1.0.0") whose samples
/// are seeded from `global_seed` by `derivation` (UME_SEED_*), created now, git
/// "unknown" and an empty configuration until set. The caller frees `*out` with
/// `ume_manifest_free`. Errors: UME_ERR_INVALID_ARGUMENT (bad semver or derivation).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_new(
    version: *const c_char,
    global_seed: u64,
    derivation: u32,
    out: *mut *mut ume_manifest,
) -> ume_status {
    guard("ume_manifest_new", || {
        // SAFETY: pointer arguments are checked for NULL by the helpers.
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let version = unsafe { try_str(version, "version") }?;
        let m = Manifest::new(version, global_seed, super::flags::derivation(derivation)?)?;
        *out = register_handle(ume_manifest {
            inner: Mutex::new(m),
        });
        Ok(())
    })
}

/// Sets the run configuration from JSON text (an object). `config_hash` becomes the
/// SHA-256 of its canonical form (sorted keys, no whitespace, RFC 8785 style), so key order
/// and formatting do not matter. With `store_config` = 1 the configuration itself is kept
/// in the manifest too. Errors: UME_ERR_INVALID_ARGUMENT (not JSON, not an object).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_set_config_json(
    manifest: *mut ume_manifest,
    config_json: *const c_char,
    store_config: u8,
) -> ume_status {
    guard("ume_manifest_set_config_json", || {
        // SAFETY: NULL-checked handle and string.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let text = unsafe { try_str(config_json, "config_json") }?;
        if store_config > 1 {
            return Err(Error::invalid(format!(
                "store_config is {store_config}, expected 0 or 1"
            )));
        }
        lock(m).set_config_json(text, store_config == 1)
    })
}

/// Records the HEAD commit and dirty flag (tracked files only) of the git repository that
/// contains `repo_path` (searched upwards). Outside a repository the commit is "unknown"
/// and the flag null: that is not an error.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_set_git(
    manifest: *mut ume_manifest,
    repo_path: *const c_char,
) -> ume_status {
    guard("ume_manifest_set_git", || {
        // SAFETY: NULL-checked handle and string.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let path = unsafe { try_str(repo_path, "repo_path") }?;
        lock(m).set_git_from(Path::new(path));
        Ok(())
    })
}

/// Adds (or refreshes) the world of an open writer: names, shapes, chunking, codec, and
/// samples written so far according to the mask on disk. Call it right after
/// `ume_writer_create` to set units/bounds/sigma before finalizing. Units, bounds,
/// defaults, sigma and the canonical/extra split already set for the world are kept.
/// Errors: UME_ERR_INVALID_ARGUMENT (T or H differ from the manifest's other worlds).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_add_world_from_writer(
    manifest: *mut ume_manifest,
    writer: *const ume_writer,
) -> ume_status {
    guard("ume_manifest_add_world_from_writer", || {
        // SAFETY: NULL-checked handles from this library.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        lock(m).record_world(w.world(), None)
    })
}

/// Adds (or refreshes) the world of an open reader (samples written counted from its
/// mask). Same rules as `ume_manifest_add_world_from_writer`.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_add_world_from_reader(
    manifest: *mut ume_manifest,
    reader: *const ume_reader,
) -> ume_status {
    guard("ume_manifest_add_world_from_reader", || {
        // SAFETY: NULL-checked handles from this library.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        lock(m).record_world(r.world(), None)
    })
}

/// Adds (or refreshes) a world by description, without opening it: `chunk_samples` > 0,
/// `codec` a UME_CODEC_* value, `samples_written` <= n_samples. Errors:
/// UME_ERR_INVALID_ARGUMENT (bad description, codec, counts, or T/H differing from other
/// worlds).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_add_world(
    manifest: *mut ume_manifest,
    world: *const ume_world_desc,
    chunk_samples: u64,
    codec: u32,
    samples_written: u64,
) -> ume_status {
    guard("ume_manifest_add_world", || {
        // SAFETY: NULL-checked; the description's arrays have the declared lengths.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let desc = unsafe { super::writer::world_desc(world) }?;
        let codec = super::flags::codec(codec)?;
        lock(m).add_world(&desc, chunk_samples, codec.name(), samples_written)
    })
}

fn n_of(m: &Manifest, world_id: &str, what: &str) -> Result<usize> {
    let w = m.simulators.get(world_id).ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "world_id '{world_id}' is not in the manifest (worlds: [{}]); add the world first",
                m.simulators.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    Ok(match what {
        "params" => w.parameters.names.len(),
        _ => w.shocks.names.len(),
    })
}

/// Sets the parameter manifest of world `world_id`: `units` (n_params strings, e.g. "-"
/// for dimensionless), `bounds` (2*n_params doubles: lo0, hi0, lo1, hi1, ... with lo < hi)
/// and `defaults` (n_params doubles within their bounds). Any of the three may be NULL
/// with length 0 to leave it unchanged. Lengths are checked before anything is read.
/// Errors: UME_ERR_NOT_FOUND (world not added), UME_ERR_LENGTH_MISMATCH (the message names
/// the argument, the length given and the one expected), UME_ERR_INVALID_ARGUMENT
/// (lo >= hi, non-finite value, default outside its bounds).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ume_manifest_set_parameters(
    manifest: *mut ume_manifest,
    world_id: *const c_char,
    units: *const *const c_char,
    units_len: usize,
    bounds: *const f64,
    bounds_len: usize,
    defaults: *const f64,
    defaults_len: usize,
) -> ume_status {
    guard("ume_manifest_set_parameters", || {
        // SAFETY: NULL-checked handle and string; arrays are length-checked before reads.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        let mut g = lock(m);
        let n = n_of(&g, world_id, "params")?;
        let units = if units.is_null() && units_len == 0 {
            None
        } else {
            unsafe { try_slice(units, units_len, n, "units") }?;
            Some(unsafe { try_names(units, n as u32, "units", "") }?)
        };
        let bounds = if bounds.is_null() && bounds_len == 0 {
            None
        } else {
            let b = unsafe { try_slice(bounds, bounds_len, 2 * n, "bounds") }?;
            Some(b.chunks_exact(2).map(|p| [p[0], p[1]]).collect())
        };
        let defaults = if defaults.is_null() && defaults_len == 0 {
            None
        } else {
            Some(unsafe { try_slice(defaults, defaults_len, n, "defaults") }?.to_vec())
        };
        g.set_parameters(world_id, units, bounds, defaults)
    })
}

/// Sets the standard deviation of each shock of world `world_id` (`sigma_len` must be
/// n_shocks; each value finite and > 0). Errors: UME_ERR_NOT_FOUND,
/// UME_ERR_LENGTH_MISMATCH, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_set_shock_sigma(
    manifest: *mut ume_manifest,
    world_id: *const c_char,
    sigma: *const f64,
    sigma_len: usize,
) -> ume_status {
    guard("ume_manifest_set_shock_sigma", || {
        // SAFETY: NULL-checked handle and string; the array is length-checked first.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        let mut g = lock(m);
        let n = n_of(&g, world_id, "shocks")?;
        let s = unsafe { try_slice(sigma, sigma_len, n, "sigma") }?.to_vec();
        g.set_shock_sigma(world_id, s)
    })
}

/// Declares the first `n_canonical` observables of world `world_id` canonical (e.g.
/// output, inflation, rate) and the rest extra. By default all are canonical.
/// Errors: UME_ERR_NOT_FOUND, UME_ERR_INVALID_ARGUMENT (n_canonical > n_obs).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_set_n_canonical_obs(
    manifest: *mut ume_manifest,
    world_id: *const c_char,
    n_canonical: u32,
) -> ume_status {
    guard("ume_manifest_set_n_canonical_obs", || {
        // SAFETY: NULL-checked handle and string.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        lock(m).set_n_canonical_obs(world_id, n_canonical)
    })
}

/// Records a split (rule, counts, SHA-256 of the assignment) for its world, which must be
/// in the manifest with the same number of samples. The assignment itself is stored by
/// `ume_splits_store`. Errors: UME_ERR_NOT_FOUND, UME_ERR_LENGTH_MISMATCH.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_set_splits(
    manifest: *mut ume_manifest,
    splits: *const ume_splits,
) -> ume_status {
    guard("ume_manifest_set_splits", || {
        // SAFETY: NULL-checked handles from this library.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        lock(m).set_splits(s)
    })
}

/// Checks the manifest against the embedded schemas/manifest.json (Draft-07) and the rules
/// the schema cannot express. Errors: UME_ERR_INVALID_ARGUMENT whose message lists each
/// violation with its JSON path and rule, e.g. "at /simulators/nk/parameters/bounds/2:
/// [3.5, 1.05] for 'phi_pi', expected finite [lo, hi] with lo < hi".
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_validate(manifest: *const ume_manifest) -> ume_status {
    guard("ume_manifest_validate", || {
        // SAFETY: NULL-checked handle.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        lock(m).validate()
    })
}

/// Validates the manifest and saves it as `<dataset>/manifest.json` atomically (temporary
/// file, fsync, rename: a crash leaves the old file or the new one). Nothing is written
/// when it is invalid. Errors: UME_ERR_INVALID_ARGUMENT (as `ume_manifest_validate`),
/// UME_ERR_NOT_FOUND (no such directory), UME_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_save(
    manifest: *const ume_manifest,
    dataset: *const c_char,
) -> ume_status {
    guard("ume_manifest_save", || {
        // SAFETY: NULL-checked handle and string.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let dataset = unsafe { try_str(dataset, "dataset") }?;
        lock(m).save(Path::new(dataset)).map(|_| ())
    })
}

/// Loads and validates `<path>/manifest.json` (or `path` itself if it is a file) into
/// `*out` (caller frees with `ume_manifest_free`; NULL on failure). Errors:
/// UME_ERR_NOT_FOUND, UME_ERR_IO, UME_ERR_FORMAT (not JSON, schema or rule violations,
/// each listed with its JSON path and rule).
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_load(
    path: *const c_char,
    out: *mut *mut ume_manifest,
) -> ume_status {
    guard("ume_manifest_load", || {
        // SAFETY: pointer arguments are checked for NULL by the helpers.
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let path = unsafe { try_str(path, "path") }?;
        let m = Manifest::load(Path::new(path))?;
        *out = register_handle(ume_manifest {
            inner: Mutex::new(m),
        });
        Ok(())
    })
}

/// The manifest as pretty-printed JSON in `*out` (not validated; call
/// `ume_manifest_validate` for that). Free the string with `ume_string_free`.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_to_json(
    manifest: *const ume_manifest,
    out: *mut *mut c_char,
) -> ume_status {
    guard("ume_manifest_to_json", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let text = lock(m).to_json();
        *out = CString::new(text)
            .map_err(|e| Error::internal(e.to_string()))?
            .into_raw();
        Ok(())
    })
}

/// Releases a string returned by `ume_manifest_to_json`, `ume_splits_to_json` or
/// `ume_dataset_validate`. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn ume_string_free(s: *mut c_char) {
    guard_void("ume_string_free", || {
        if !s.is_null() {
            // SAFETY: created by CString::into_raw in this library, freed once.
            drop(unsafe { CString::from_raw(s) });
        }
    });
}

/// Compares the manifest with the dataset at `dataset`: per world the shapes, names,
/// chunking, codec and written count, per split the array's counts and SHA-256, and
/// worlds on disk the manifest lacks. UME_OK when they agree; otherwise UME_ERR_FORMAT
/// with every difference in the message ("world 'nk': samples_written is 300 in the
/// manifest, 299 on disk; ...").
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_check_dataset(
    manifest: *const ume_manifest,
    dataset: *const c_char,
) -> ume_status {
    guard("ume_manifest_check_dataset", || {
        // SAFETY: NULL-checked handle and string.
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let dataset = unsafe { try_str(dataset, "dataset") }?;
        let diffs = lock(m).check_dataset(Path::new(dataset))?;
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Format,
                format!(
                    "manifest and dataset '{dataset}' differ in {} point(s): {}",
                    diffs.len(),
                    diffs.join("; ")
                ),
            ))
        }
    })
}

/// Releases a manifest. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn ume_manifest_free(manifest: *mut ume_manifest) {
    guard_void("ume_manifest_free", || {
        // SAFETY: NULL or a handle from register_handle; double frees are detected.
        unsafe { free_handle(manifest, "ume_manifest_free", "manifest") };
    });
}

/// Finalizes `writer` (as `ume_writer_finalize`), records its world with the samples
/// written into `manifest`, validates it and saves `<dataset>/manifest.json` atomically.
/// `summary_out` may be NULL.
///
/// The manifest is checked *before* the writer is finalized: if it would be invalid (for
/// example bounds or sigma of this world not set: add the world with
/// `ume_manifest_add_world_from_writer` and set them first) the call fails with
/// UME_ERR_INVALID_ARGUMENT, the writer stays open and the call can be repeated. Other
/// errors: those of `ume_writer_finalize` (the writer is then finalized as far as
/// possible), UME_ERR_IO when saving.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_finalize_with_manifest(
    writer: *mut ume_writer,
    manifest: *mut ume_manifest,
    summary_out: *mut ume_summary,
) -> ume_status {
    guard("ume_writer_finalize_with_manifest", || {
        // SAFETY: NULL-checked handles from this library.
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        let m = unsafe { try_handle(manifest, "manifest") }?;
        let mut g = lock(m);
        // Would the manifest be valid with this world? (samples_written is a placeholder.)
        let world = w.world();
        let mut trial = g.clone();
        trial.add_world(&world.desc, world.chunk_samples, &world.codec, 0)?;
        trial.validate()?;
        let s = w.finalize()?;
        g.record_world(world, Some(&s))?;
        g.save(&world.root)?;
        // SAFETY: NULL or valid for one write, by the caller's contract.
        if let Some(out) = unsafe { summary_out.as_mut() } {
            *out = summary(&s);
        }
        Ok(())
    })
}
