//! `ume_writer_config`: the writer's options as an opaque handle with one setter per
//! option, so that a minor version can add an option (a new setter) without changing the
//! layout of anything a compiled program holds. The by-value `ume_writer_options` struct is
//! frozen at its 0.2 layout and stays accepted by `ume_writer_create` and friends; new
//! options exist only here.

use super::panic::{guard, guard_void};
use super::status::ume_status;
use super::{flags, free_handle, register_handle, try_handle, try_handle_mut, try_out};
use crate::error::{Error, Result};
use crate::writer::WriterOptions;

/// Writer options (opaque). Created by `ume_writer_config_new` with the defaults of
/// `ume_writer_options_default()`, changed with `ume_writer_config_set_*`, passed to
/// `ume_writer_create_with_config`, `ume_writer_open_with_config` or
/// `ume_writer_open_range_with_config` (which copy it: the config may be freed or reused
/// right after), released by `ume_writer_config_free`. Setters check their value at once
/// and leave the config unchanged on error. Not thread-safe while being changed; a config
/// no thread changes may be passed to any number of creates at once.
pub struct ume_writer_config {
    pub(crate) inner: WriterOptions,
}

/// Creates a config holding the default options (blosc-lz4, automatic chunking and threads,
/// checksums and fsync on, no overwrite, non-finite values rejected, Zarr v3) in `*out`.
/// The caller owns it and releases it with `ume_writer_config_free`. Errors:
/// UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_new(out: *mut *mut ume_writer_config) -> ume_status {
    guard("ume_writer_config_new", || {
        // SAFETY: NULL-checked.
        let out = unsafe { try_out(out, "out") }?;
        *out = register_handle(ume_writer_config {
            inner: WriterOptions::default(),
        });
        Ok(())
    })
}

/// Releases a config. NULL is a no-op; a double free is detected, ignored and reported in
/// the thread's error message. Writers created with it are not affected.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_free(config: *mut ume_writer_config) {
    guard_void("ume_writer_config_free", || {
        // SAFETY: NULL or a handle from ume_writer_config_new (checked against the registry).
        unsafe { free_handle(config, "ume_writer_config_free", "config") }
    });
}

/// The options held by `config`, or the defaults for NULL.
///
/// # Safety
/// `config` is NULL or a pointer the caller got from `ume_writer_config_new`.
pub(crate) unsafe fn options(config: *const ume_writer_config) -> Result<WriterOptions> {
    if config.is_null() {
        return Ok(WriterOptions::default());
    }
    // SAFETY: checked against the live-handle registry.
    Ok(unsafe { try_handle(config, "config") }?.inner.clone())
}

/// Runs `set` on the options of a live config; on error the config keeps its old value.
///
/// # Safety
/// `config` is NULL or a handle from `ume_writer_config_new` that no other thread uses.
unsafe fn update(
    name: &str,
    config: *mut ume_writer_config,
    set: impl FnOnce(&mut WriterOptions) -> Result<()>,
) -> ume_status {
    guard(name, || {
        // SAFETY: checked against the registry; exclusivity is the documented contract.
        let c = unsafe { try_handle_mut(config, "config") }?;
        let mut next = c.inner.clone();
        set(&mut next)?;
        c.inner = next;
        Ok(())
    })
}

/// Compression: `codec` is UME_CODEC_BLOSC_LZ4 (default), UME_CODEC_BLOSC_ZSTD,
/// UME_CODEC_ZSTD or UME_CODEC_NONE; `clevel` its level, -1 for the codec's default
/// (blosc 0..=9, zstd -7..=22). Errors: UME_ERR_INVALID_ARGUMENT naming the value.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_codec(
    config: *mut ume_writer_config,
    codec: u32,
    clevel: i32,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_codec", config, |o| {
            let codec = flags::codec(codec)?;
            let clevel = (clevel != -1).then_some(clevel);
            codec.level(clevel)?;
            o.storage.codec = codec;
            o.storage.clevel = clevel;
            Ok(())
        })
    }
}

/// Chunking: `chunk_samples` samples per chunk (0 = about 1 MiB of trajectories, a power
/// of two; more than n_samples is clipped to n_samples) and `inner_chunk_samples` per
/// inner chunk of a Zarr v3 shard (0 = about 64 KiB of trajectories; equal to
/// chunk_samples = no sharding; otherwise a divisor of chunk_samples, checked when the
/// world is created, since chunk_samples may be 0 here).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_chunking(
    config: *mut ume_writer_config,
    chunk_samples: u64,
    inner_chunk_samples: u64,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_chunking", config, |o| {
            if chunk_samples != 0
                && inner_chunk_samples != 0
                && (inner_chunk_samples > chunk_samples
                    || !chunk_samples.is_multiple_of(inner_chunk_samples))
            {
                return Err(Error::invalid(format!(
                    "inner_chunk_samples {inner_chunk_samples} does not divide chunk_samples {chunk_samples} (expected a divisor of it, or 0 for the default)"
                )));
            }
            o.storage.chunk_samples = (chunk_samples != 0).then_some(chunk_samples);
            o.storage.inner_chunk_samples =
                (inner_chunk_samples != 0).then_some(inner_chunk_samples);
            Ok(())
        })
    }
}

/// Threads and memory: `n_threads` compression threads (0 = one per core) and
/// `max_open_chunks` partially filled chunks kept in memory (0 = about 8 MiB worth, and
/// at least one per caller thread plus one). Limits are checked when the writer starts.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_threads(
    config: *mut ume_writer_config,
    n_threads: u32,
    max_open_chunks: u32,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_threads", config, |o| {
            o.threads = n_threads as usize;
            o.max_open_chunks = max_open_chunks as usize;
            Ok(())
        })
    }
}

/// What the options named by a `UME_CONFIG_*` constant turn on or off.
fn set_flag(o: &mut WriterOptions, option: u32, on: bool) -> Result<()> {
    match option {
        UME_CONFIG_OVERWRITE => o.overwrite = on,
        UME_CONFIG_ALLOW_NONFINITE => o.allow_nonfinite = on,
        UME_CONFIG_CHECKSUM => o.storage.checksum = on,
        UME_CONFIG_FSYNC => o.storage.durable = on,
        UME_CONFIG_REWRITE => o.rewrite = on,
        other => {
            return Err(Error::invalid(format!(
                "option {other} is not a UME_CONFIG_* flag (expected 1 = OVERWRITE, 2 = ALLOW_NONFINITE, 3 = CHECKSUM, 4 = FSYNC, 5 = REWRITE)"
            )))
        }
    }
    Ok(())
}

/// Replace an existing world of the same id (default off; a world that a live writer holds
/// is never replaced).
pub const UME_CONFIG_OVERWRITE: u32 = 1;
/// Store NaN and infinities instead of rejecting them with UME_ERR_NON_FINITE (default off).
pub const UME_CONFIG_ALLOW_NONFINITE: u32 = 2;
/// Append a crc32c checksum to every (inner) chunk (default on; Zarr v2 has none).
pub const UME_CONFIG_CHECKSUM: u32 = 3;
/// fsync every chunk before the `written` mask claims it (default on).
pub const UME_CONFIG_FSYNC: u32 = 4;
/// Writing a sample that is already stored replaces it instead of UME_ERR_ALREADY_WRITTEN
/// (default off).
pub const UME_CONFIG_REWRITE: u32 = 5;

/// Turns the on/off option `option` (a `UME_CONFIG_*` constant) on (`on` = 1) or off (0).
/// New on/off options of later minor versions get new constants, not new functions.
/// Errors: UME_ERR_INVALID_ARGUMENT for an unknown option or `on` other than 0/1.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_flag(
    config: *mut ume_writer_config,
    option: u32,
    on: u8,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_flag", config, |o| {
            let on = flags::boolean(on, "on")?;
            set_flag(o, option, on)
        })
    }
}

/// Zarr format of a new world: 3 (default) or 2 (for readers without Zarr v3 support; no
/// sharding and no checksums there). Errors: UME_ERR_INVALID_ARGUMENT for other values.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_zarr_format(
    config: *mut ume_writer_config,
    zarr_format: u32,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_zarr_format", config, |o| {
            o.storage.zarr_format = match zarr_format {
                2 => 2,
                3 => 3,
                other => {
                    return Err(Error::invalid(format!(
                        "zarr_format is {other}, expected 2 or 3"
                    )))
                }
            };
            Ok(())
        })
    }
}

/// Lease of this writer's hold on its world and claims on its chunks, in seconds: renewed
/// every third of it while the writer lives; a writer on another host may take them over
/// once they were not renewed for that long (a pre-empted Slurm task restarted elsewhere).
/// 0 (default) = the environment variable UME_CLAIM_LEASE_SECONDS, else 600. Errors:
/// UME_ERR_INVALID_ARGUMENT outside [3, 31536000].
#[no_mangle]
pub unsafe extern "C" fn ume_writer_config_set_claim_lease(
    config: *mut ume_writer_config,
    seconds: u64,
) -> ume_status {
    // SAFETY: forwarded contract of `update`.
    unsafe {
        update("ume_writer_config_set_claim_lease", config, |o| {
            if seconds != 0 {
                crate::storage::claims::lease_seconds(seconds)?;
            }
            o.claim_lease_seconds = seconds;
            Ok(())
        })
    }
}
