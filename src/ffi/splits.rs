//! `ume_splits`: train/val/test and out-of-distribution splits of a world, computed from
//! its stored theta, stored as the uint8 array `<world>/split`, queried per sample.

use std::ffi::{c_char, CString};
use std::path::Path;

use super::panic::{guard, guard_void};
use super::status::ume_status;
use super::{free_handle, register_handle, try_handle, try_out, try_slice_out, try_str};
use crate::error::{Error, ErrorKind};
use crate::manifest::Manifest;
use crate::splits::{SplitCode, SplitRule, Splits};
use crate::storage::dataset::World;

/// Split code of training samples.
pub const UME_SPLIT_TRAIN: u8 = 0;
/// Split code of validation samples.
pub const UME_SPLIT_VAL: u8 = 1;
/// Split code of test samples.
pub const UME_SPLIT_TEST: u8 = 2;
/// Split code of samples held out by a "slice" rule.
pub const UME_SPLIT_OOD_SLICE: u8 = 3;
/// Split code of samples held out by a "corner" rule.
pub const UME_SPLIT_OOD_CORNER: u8 = 4;
/// Split code of samples held out by an "interpolation" rule.
pub const UME_SPLIT_OOD_INTERPOLATION: u8 = 5;
/// Split code of samples that were never written.
pub const UME_SPLIT_NOT_WRITTEN: u8 = 255;

// The C constants are literals (cbindgen cannot evaluate paths); they must equal the core's.
const _: () = assert!(
    UME_SPLIT_TRAIN == SplitCode::TRAIN
        && UME_SPLIT_VAL == SplitCode::VAL
        && UME_SPLIT_TEST == SplitCode::TEST
        && UME_SPLIT_OOD_SLICE == SplitCode::OOD_SLICE
        && UME_SPLIT_OOD_CORNER == SplitCode::OOD_CORNER
        && UME_SPLIT_OOD_INTERPOLATION == SplitCode::OOD_INTERPOLATION
        && UME_SPLIT_NOT_WRITTEN == SplitCode::NOT_WRITTEN
);

/// The split of one world (opaque): one code per sample plus the record the manifest
/// keeps (rule with resolved thresholds, counts, SHA-256). Created by `ume_splits_compute`
/// or `ume_splits_load`, released by `ume_splits_free`. Read-only after creation:
/// thread-safe for the query functions.
///
/// Rule (JSON, "umedata-splits-v1"), e.g.
/// `{"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 42, "ood": [
///   {"kind": "slice", "param": "beta", "units": "quantile", "range": [0.9, 1.0]},
///   {"kind": "corner", "params": ["phi_pi", "phi_y"], "k": 2, "q": 0.05},
///   {"kind": "interpolation", "params": ["rho_a"], "units": "natural", "box": [[0.4, 0.5]]}]}`
/// - Only written samples take part (others: UME_SPLIT_NOT_WRITTEN).
/// - Quantiles (units "quantile", and corner's q) are of the written samples' finite
///   theta values, method "lower": the floor(q*(m-1))-th smallest of m values.
/// - OOD rules in order; a sample selected by several gets the first one's code. slice:
///   `lo <= theta[param] <= hi`. corner: at least k of params have theta <= quantile(q) or
///   theta >= quantile(1-q). interpolation: `lo_j <= theta[params[j]] <= hi_j` for all j.
/// - The remaining m samples: counts floor(f*m) per class plus the leftover to the largest
///   fractional parts (ties train, val, test), so each count is within 1 of f*m; order
///   by a Fisher-Yates shuffle (j = m-1 down to 1, swap with an unbiased draw in [0, j])
///   on the ChaCha20 stream ume_rng_new(seed, 2^64-1); first train, then val, then test.
pub struct ume_splits {
    pub(crate) inner: Splits,
}

/// Reads theta and the written mask of world `world_id` in `dataset` and computes its
/// split by `rule_json` (see `ume_splits`) into `*out` (caller frees with
/// `ume_splits_free`; NULL on failure). Nothing is stored: call `ume_splits_store` and
/// `ume_manifest_set_splits`. Errors: UME_ERR_INVALID_ARGUMENT (rule: bad JSON, fractions
/// not summing to 1, unknown parameter, bad range; the message names the rule field),
/// UME_ERR_NOT_FOUND, UME_ERR_FORMAT (a chunk fails its checksum).
#[no_mangle]
pub unsafe extern "C" fn ume_splits_compute(
    dataset: *const c_char,
    world_id: *const c_char,
    rule_json: *const c_char,
    out: *mut *mut ume_splits,
) -> ume_status {
    guard("ume_splits_compute", || {
        // SAFETY: pointer arguments are checked for NULL by the helpers.
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let dataset = unsafe { try_str(dataset, "dataset") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        let rule = SplitRule::from_json(unsafe { try_str(rule_json, "rule_json") }?)?;
        let world = World::open(Path::new(dataset), world_id)?;
        rule.validate(&world.desc.param_names)?;
        let s = Splits::compute_for_world(&world, &rule)?;
        *out = register_handle(ume_splits { inner: s });
        Ok(())
    })
}

/// Stores the split as the uint8 array `<world_id>/split` of `dataset` (dims ("sample",),
/// chunked and compressed like the world's arrays, fill value 255), replacing an earlier
/// one, in the world's Zarr format (a Zarr v2 world gets `.zarray`/`.zattrs` and its
/// consolidated `.zmetadata` refreshed). Chunks are written first and the array metadata
/// last, each atomically.
/// Errors: UME_ERR_NOT_FOUND, UME_ERR_INVALID_ARGUMENT (the world has another sample
/// count), UME_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_store(
    splits: *const ume_splits,
    dataset: *const c_char,
) -> ume_status {
    guard("ume_splits_store", || {
        // SAFETY: NULL-checked handle from this library.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        let dataset = unsafe { try_str(dataset, "dataset") }?;
        let world = World::open(Path::new(dataset), &s.world_id)?;
        s.store(&world)
    })
}

/// Loads the stored split of world `world_id` with its record from
/// `<dataset>/manifest.json` into `*out` (caller frees with `ume_splits_free`).
/// Errors: UME_ERR_NOT_FOUND (no split array, no manifest, or no split record for the
/// world), UME_ERR_FORMAT (the array's SHA-256 or counts differ from the record).
#[no_mangle]
pub unsafe extern "C" fn ume_splits_load(
    dataset: *const c_char,
    world_id: *const c_char,
    out: *mut *mut ume_splits,
) -> ume_status {
    guard("ume_splits_load", || {
        // SAFETY: pointer arguments are checked for NULL by the helpers.
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let dataset = unsafe { try_str(dataset, "dataset") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        let world = World::open(Path::new(dataset), world_id)?;
        let manifest = Manifest::load(Path::new(dataset))?;
        let record = manifest.splits.get(world_id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("the manifest of '{dataset}' has no split record for world '{world_id}'"),
            )
        })?;
        let a = Splits::load_assignment(&world)?;
        let s = Splits::from_assignment(world_id, a, record.rule.clone())?;
        if s.record.sha256 != record.sha256 || s.record.counts != record.counts {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "split array of world '{world_id}' has SHA-256 {}, the manifest records {}",
                    s.record.sha256, record.sha256
                ),
            ));
        }
        *out = register_handle(ume_splits { inner: s });
        Ok(())
    })
}

/// Stores the number of samples (length of the assignment) in `*out`.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_n_samples(
    splits: *const ume_splits,
    out: *mut u64,
) -> ume_status {
    guard("ume_splits_n_samples", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        *unsafe { try_out(out, "out") }? = s.assignment.len() as u64;
        Ok(())
    })
}

/// Stores the split code of sample `i` (UME_SPLIT_*) in `*out`.
/// Errors: UME_ERR_OUT_OF_RANGE, UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_get(
    splits: *const ume_splits,
    i: u64,
    out: *mut u8,
) -> ume_status {
    guard("ume_splits_get", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = s.get(i)?;
        Ok(())
    })
}

/// Stores the number of samples with split code `code` in `*out`.
/// Errors: UME_ERR_INVALID_ARGUMENT (not a UME_SPLIT_* code).
#[no_mangle]
pub unsafe extern "C" fn ume_splits_count(
    splits: *const ume_splits,
    code: u8,
    out: *mut u64,
) -> ume_status {
    guard("ume_splits_count", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        s.indices(code)?; // validates the code
        *out = s.record.counts.get(code);
        Ok(())
    })
}

/// Writes the indices of the samples with split code `code`, ascending, to `buf` and their
/// number to `*n_out`. `buf_len` must be at least that number (ask first with `buf` NULL
/// and `buf_len` 0, or use `ume_splits_count`). Errors: UME_ERR_LENGTH_MISMATCH (buffer
/// too small; nothing written), UME_ERR_INVALID_ARGUMENT (bad code), UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_indices(
    splits: *const ume_splits,
    code: u8,
    buf: *mut u64,
    buf_len: usize,
    n_out: *mut usize,
) -> ume_status {
    guard("ume_splits_indices", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        let n_out = unsafe { try_out(n_out, "n_out") }?;
        let idx = s.indices(code)?;
        *n_out = idx.len();
        if buf.is_null() && buf_len == 0 {
            return Ok(());
        }
        if buf_len < idx.len() {
            return Err(Error::new(
                ErrorKind::LengthMismatch,
                format!(
                    "buf_len is {buf_len}, expected at least {} (samples with code {code})",
                    idx.len()
                ),
            ));
        }
        // SAFETY: `buf` is valid for `buf_len` writes by the caller's contract.
        if let Some(b) = unsafe { try_slice_out(buf, buf_len, buf_len, "buf") }? {
            b[..idx.len()].copy_from_slice(&idx);
        }
        Ok(())
    })
}

/// The split record (rule with resolved thresholds, counts, SHA-256) as JSON in `*out`;
/// free it with `ume_string_free`.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_to_json(
    splits: *const ume_splits,
    out: *mut *mut c_char,
) -> ume_status {
    guard("ume_splits_to_json", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let s = &unsafe { try_handle(splits, "splits") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        let text =
            serde_json::to_string_pretty(&s.record).map_err(|e| Error::internal(e.to_string()))?;
        *out = CString::new(text)
            .map_err(|e| Error::internal(e.to_string()))?
            .into_raw();
        Ok(())
    })
}

/// Releases a split. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn ume_splits_free(splits: *mut ume_splits) {
    guard_void("ume_splits_free", || {
        // SAFETY: NULL or a handle from register_handle; double frees are detected.
        unsafe { free_handle(splits, "ume_splits_free", "splits") };
    });
}
