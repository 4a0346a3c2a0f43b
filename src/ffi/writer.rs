//! `ume_writer`: create a world, write samples from any thread, finalize.

use std::ffi::c_char;
use std::path::Path;

use super::panic::{guard, guard_void};
use super::status::ume_status;
use super::{
    free_handle, register_handle, take_handle, try_buffer, try_handle, try_names, try_out, try_ref,
    try_str,
};
use crate::convert::Float;
use crate::error::{Error, Result};
use crate::world::WorldDesc;
use crate::writer::{ArrayStats, SampleRef, Summary, Writer, WriterOptions};

/// An open writer for one dataset world (opaque). Thread-safe: any number of threads may
/// call `ume_writer_write_sample_*` on the same handle at once. Created by
/// `ume_writer_create`, released by `ume_writer_free`.
pub struct ume_writer {
    pub(crate) inner: Writer,
}

/// What a simulator produces per sample, and the names of its dimensions.
///
/// Limits (checked before any name is read or generated and before anything is created;
/// UME_ERR_INVALID_ARGUMENT names the field and the limit): 1 <= n_samples <= 2^40;
/// T, n_params, n_shocks, n_obs >= 1; n_params, n_shocks, n_obs <= 2^20 (1,048,576) each;
/// one sample of all four arrays as float32, 4 * (n_params + T*n_obs +
/// n_shocks*(H+1)*n_obs + T*n_shocks) bytes, at most 1 GiB (computed without overflow);
/// names 1..=256 bytes, unique within their list.
#[repr(C)]
#[allow(non_snake_case)]
pub struct ume_world_desc {
    /// Group name inside the dataset, characters A-Z a-z 0-9 _ - . (e.g. "nk"), 1..=256
    /// bytes, not starting with '.' or "__", not containing ".umetmp-", and not a name the
    /// dataset root uses: "zarr.json", "manifest.json" (ignoring case).
    pub world_id: *const c_char,
    /// Number of samples the world holds.
    pub n_samples: u64,
    /// Trajectory length.
    pub T: u32,
    /// IRF horizon: IRFs have H + 1 points (h = 0..H).
    pub H: u32,
    /// Parameters per sample.
    pub n_params: u32,
    /// Shocks.
    pub n_shocks: u32,
    /// Observables.
    pub n_obs: u32,
    /// n_params names, or NULL for "p0", "p1", ...
    pub param_names: *const *const c_char,
    /// n_shocks names, or NULL for "s0", "s1", ...
    pub shock_names: *const *const c_char,
    /// n_obs names, or NULL for "y0", "y1", ...
    pub obs_names: *const *const c_char,
}

/// Writer options. Start from `ume_writer_options_default()` and change fields.
///
/// Frozen at its 0.2 layout: it never gains a field (programs compiled against any 0.x
/// or 1.x header pass it as they are). Options added later exist only in the opaque
/// `ume_writer_config` (`ume_writer_create_with_config`).
#[repr(C)]
pub struct ume_writer_options {
    /// UME_CODEC_BLOSC_LZ4 (default), UME_CODEC_BLOSC_ZSTD, UME_CODEC_ZSTD or UME_CODEC_NONE.
    pub codec: u32,
    /// Compression level, -1 for the codec's default.
    pub clevel: i32,
    /// Samples per chunk; 0 chooses about 1 MiB of trajectories per chunk. A chunk of all
    /// four arrays (chunk_samples × bytes per sample) may take at most 1 GiB, and a world
    /// at most 2^22 chunks (n_samples / chunk_samples, rounded up).
    pub chunk_samples: u64,
    /// Compression threads, at most 1024; 0 = one per core (at most 1024).
    pub n_threads: u32,
    /// Partially filled chunks kept in memory; 0 = about 8 MiB worth, and at least one per
    /// caller thread plus one (callers writing their own blocks of samples each keep one
    /// open). A thread that would open one more waits while other threads keep filling the
    /// open ones (in-order writes from several threads drift apart a little); when none
    /// does (out-of-order writes), the oldest is stored early and read back once if more
    /// of its samples arrive. At most 65536 (memory grows by one chunk per open chunk).
    pub max_open_chunks: u32,
    /// 1 = replace an existing world of the same id; 0 = fail with UME_ERR_ALREADY_EXISTS.
    pub overwrite: u8,
    /// 1 = store NaN/Inf values; 0 = reject them with UME_ERR_NON_FINITE (default).
    pub allow_nonfinite: u8,
    /// 1 = append a crc32c checksum to every chunk (default), 0 = none.
    pub checksum: u8,
    /// 1 (default) = what the `written` mask claims survives a power loss: data and
    /// directories are fsynced before the mask claims them, a replaced chunk or a mask
    /// before its rename. 0 = no fsync: safe against a killed process only.
    pub fsync: u8,
    /// 1 = writing a sample that is already stored replaces it; 0 = UME_ERR_ALREADY_WRITTEN
    /// (default). Matters when a world is reopened with `ume_writer_open`.
    pub rewrite: u8,
    /// Zarr format of a new world: 3 (default) or 2 (for readers without Zarr v3 support).
    pub zarr_format: u8,
    /// Samples per inner chunk (Zarr v3): each chunk file is a shard of inner chunks,
    /// compressed and checksummed one by one, so reading one sample decodes one inner
    /// chunk instead of the whole chunk. 0 = about 64 KiB of trajectories (a divisor of
    /// chunk_samples); equal to chunk_samples = no sharding; otherwise it must divide
    /// chunk_samples. Ignored for Zarr v2, which has no sharding.
    pub inner_chunk_samples: u32,
}

/// Raw and stored bytes of one array.
#[repr(C)]
pub struct ume_array_stats {
    /// Bytes of the stored chunks before compression.
    pub raw_bytes: u64,
    /// Bytes on disk.
    pub stored_bytes: u64,
    /// stored_bytes / raw_bytes (0 if nothing was stored).
    pub ratio: f64,
}

/// What a finalized writer stored.
#[repr(C)]
pub struct ume_summary {
    /// Samples of the world.
    pub n_samples: u64,
    /// Samples stored (the `written` mask's count).
    pub samples_written: u64,
    /// Per-array sizes.
    pub theta: ume_array_stats,
    /// Per-array sizes.
    pub trajectories: ume_array_stats,
    /// Per-array sizes.
    pub irfs: ume_array_stats,
    /// Per-array sizes.
    pub shocks: ume_array_stats,
    /// Partial chunks stored early to stay within `max_open_chunks` (each is read back
    /// when more of its samples arrive). 0 for writes in sample order; many means the
    /// write order is costing read-backs (raise max_open_chunks or write in order).
    pub chunks_stored_early: u64,
}

/// The default options: blosc-lz4 with byte shuffle, automatic chunking and threads,
/// checksums and fsync on, no overwrite, non-finite values rejected.
#[no_mangle]
pub extern "C" fn ume_writer_options_default() -> ume_writer_options {
    ume_writer_options {
        codec: super::UME_CODEC_BLOSC_LZ4,
        clevel: -1,
        chunk_samples: 0,
        n_threads: 0,
        max_open_chunks: 0,
        overwrite: 0,
        allow_nonfinite: 0,
        checksum: 1,
        fsync: 1,
        rewrite: 0,
        zarr_format: 3,
        inner_chunk_samples: 0,
    }
}

/// The safe description behind a C `ume_world_desc` (NULL-checked, names copied).
///
/// # Safety
/// `world` is NULL or points to a description whose name arrays are NULL or hold the
/// declared number of NULL or NUL-terminated strings.
pub(crate) unsafe fn world_desc(world: *const ume_world_desc) -> Result<WorldDesc> {
    // SAFETY: NULL-checked by the helpers; lengths are the caller's contract.
    let w = unsafe { try_ref(world, "world") }?;
    let world_id = unsafe { try_str(w.world_id, "world->world_id") }?;
    let mut desc = WorldDesc {
        world_id: world_id.to_string(),
        n_samples: w.n_samples,
        t: w.T,
        h: w.H,
        n_params: w.n_params,
        n_shocks: w.n_shocks,
        n_obs: w.n_obs,
        param_names: Vec::new(),
        shock_names: Vec::new(),
        obs_names: Vec::new(),
    };
    // Sizes first: no name is generated or copied for a world that is refused anyway.
    desc.validate_sizes()?;
    desc.param_names = unsafe { try_names(w.param_names, w.n_params, "param_names", "p") }?;
    desc.shock_names = unsafe { try_names(w.shock_names, w.n_shocks, "shock_names", "s") }?;
    desc.obs_names = unsafe { try_names(w.obs_names, w.n_obs, "obs_names", "y") }?;
    Ok(desc)
}

fn convert_options(o: &ume_writer_options) -> Result<WriterOptions> {
    let mut opts = WriterOptions::default();
    opts.storage.codec = super::flags::codec(o.codec)?;
    opts.storage.clevel = match o.clevel {
        -1 => None,
        l => Some(l),
    };
    opts.storage.chunk_samples = (o.chunk_samples != 0).then_some(o.chunk_samples);
    opts.storage.inner_chunk_samples =
        (o.inner_chunk_samples != 0).then_some(u64::from(o.inner_chunk_samples));
    opts.storage.checksum = super::flags::boolean(o.checksum, "checksum")?;
    opts.storage.durable = super::flags::boolean(o.fsync, "fsync")?;
    opts.threads = o.n_threads as usize;
    opts.max_open_chunks = o.max_open_chunks as usize;
    opts.overwrite = super::flags::boolean(o.overwrite, "overwrite")?;
    opts.allow_nonfinite = super::flags::boolean(o.allow_nonfinite, "allow_nonfinite")?;
    opts.rewrite = super::flags::boolean(o.rewrite, "rewrite")?;
    opts.storage.zarr_format = match o.zarr_format {
        2 | 3 => o.zarr_format,
        other => {
            return Err(Error::invalid(format!(
                "option 'zarr_format' is {other}, expected 2 or 3"
            )))
        }
    };
    // Validate the level now so the error names the option.
    opts.storage.codec.level(opts.storage.clevel)?;
    Ok(opts)
}

/// Creates world `world->world_id` in the dataset directory `path` (created if missing;
/// other worlds already in it are kept) and returns a writer in `*out`.
///
/// `opts` may be NULL for the defaults. Fails with UME_ERR_ALREADY_EXISTS if the world
/// exists and `opts->overwrite` is 0, or if `opts->overwrite` is 1 but a live writer (of
/// this process or another: create, resume or range) holds the world open: the message
/// names its host, pid and hold file, and nothing of the world is touched. A holder that
/// died does not count (see `ume_writer_open_range` for the lease rules). Every writer
/// holds its world until `ume_writer_finalize` or `ume_writer_free`. UME_ERR_IO if the
/// directory cannot be created, UME_ERR_INVALID_ARGUMENT for a bad description (zero
/// sizes, sizes beyond the limits documented at `ume_world_desc`, a reserved world id,
/// duplicate or bad names) or bad options (n_threads > 1024, max_open_chunks > 65536, a
/// chunk beyond 1 GiB or 2^22 chunks); these are checked before anything is created on
/// disk.
/// On success the caller owns `*out` and must release it with `ume_writer_free`
/// (after `ume_writer_finalize`). On failure `*out` is set to NULL.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_create(
    path: *const c_char,
    world: *const ume_world_desc,
    opts: *const ume_writer_options,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_create", || {
        // SAFETY: the caller's pointers, forwarded.
        unsafe { create_writer(out, path, world, || struct_options(opts.as_ref())) }
    })
}

/// Shared body of the f32 and f64 writes: all checks happen before any data moves.
#[allow(clippy::too_many_arguments)]
unsafe fn write_sample<T: Float>(
    w: *mut ume_writer,
    i: u64,
    layout: u32,
    theta: *const T,
    theta_len: usize,
    traj: *const T,
    traj_len: usize,
    irfs: *const T,
    irfs_len: usize,
    shocks: *const T,
    shocks_len: usize,
) -> Result<()> {
    // SAFETY: checked to be a live handle.
    let w = &unsafe { try_handle(w, "writer") }?.inner;
    let layout = super::flags::layout(layout)?;
    // SAFETY: each buffer is checked for NULL, alignment and size; the index and the
    // lengths against the world's shapes are checked by the writer before it reads them.
    let sample = unsafe {
        SampleRef {
            theta: try_buffer(theta, theta_len, "theta")?,
            trajectories: try_buffer(traj, traj_len, "trajectories")?,
            irfs: try_buffer(irfs, irfs_len, "irfs")?,
            shocks: try_buffer(shocks, shocks_len, "shocks")?,
        }
    };
    w.write_sample(i, layout, sample)
}

/// Writes sample `i` from float (f32) buffers. See `ume_writer_write_sample_f64`.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_write_sample_f32(
    writer: *mut ume_writer,
    i: u64,
    layout: u32,
    theta: *const f32,
    theta_len: usize,
    trajectories: *const f32,
    trajectories_len: usize,
    irfs: *const f32,
    irfs_len: usize,
    shocks: *const f32,
    shocks_len: usize,
) -> ume_status {
    guard("ume_writer_write_sample_f32", || unsafe {
        write_sample(
            writer,
            i,
            layout,
            theta,
            theta_len,
            trajectories,
            trajectories_len,
            irfs,
            irfs_len,
            shocks,
            shocks_len,
        )
    })
}

/// Writes sample `i` from double buffers (rounded to float32 for storage).
///
/// Buffers hold one sample each: theta `n_params`, trajectories `T*n_obs`, irfs
/// `n_shocks*(H+1)*n_obs`, shocks `T*n_shocks` elements; each `*_len` is that element
/// count, checked before anything is read. `layout` is UME_LAYOUT_C (row-major,
/// `traj[t][o]`) or UME_LAYOUT_F (column-major, Fortran `traj(T, n_obs)` / Julia
/// `Matrix{Float64}(T, n_obs)` passed as they are). Samples may come in any order and from
/// any thread. The buffers are copied before the call returns; the caller keeps them.
///
/// Errors: UME_ERR_OUT_OF_RANGE (i >= n_samples), UME_ERR_LENGTH_MISMATCH,
/// UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT (layout), UME_ERR_NON_FINITE,
/// UME_ERR_ALREADY_WRITTEN, UME_ERR_FINALIZED, or UME_ERR_IO from an earlier background
/// flush. A rejected call stores nothing and leaves sample `i` writable.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_write_sample_f64(
    writer: *mut ume_writer,
    i: u64,
    layout: u32,
    theta: *const f64,
    theta_len: usize,
    trajectories: *const f64,
    trajectories_len: usize,
    irfs: *const f64,
    irfs_len: usize,
    shocks: *const f64,
    shocks_len: usize,
) -> ume_status {
    guard("ume_writer_write_sample_f64", || unsafe {
        write_sample(
            writer,
            i,
            layout,
            theta,
            theta_len,
            trajectories,
            trajectories_len,
            irfs,
            irfs_len,
            shocks,
            shocks_len,
        )
    })
}

pub(crate) fn stats(s: &ArrayStats) -> ume_array_stats {
    ume_array_stats {
        raw_bytes: s.raw_bytes,
        stored_bytes: s.stored_bytes,
        ratio: s.ratio,
    }
}

pub(crate) fn summary(s: &Summary) -> ume_summary {
    ume_summary {
        n_samples: s.n_samples,
        samples_written: s.samples_written,
        theta: stats(&s.arrays[0]),
        trajectories: stats(&s.arrays[1]),
        irfs: stats(&s.arrays[2]),
        shocks: stats(&s.arrays[3]),
        chunks_stored_early: s.chunks_stored_early,
    }
}

/// Stores every buffered sample, waits for the compression threads and fills `*summary_out`
/// (may be NULL). Afterwards writes fail with UME_ERR_FINALIZED; the handle must still be
/// released with `ume_writer_free`. Call it once, when no other thread is writing (writes
/// in flight are waited for). Errors: UME_ERR_IO if a chunk could not be stored,
/// UME_ERR_FINALIZED on a second call.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_finalize(
    writer: *mut ume_writer,
    summary_out: *mut ume_summary,
) -> ume_status {
    guard("ume_writer_finalize", || {
        // SAFETY: checked to be a live handle.
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        let s = w.finalize()?;
        // SAFETY: NULL or valid for one write, by the caller's contract.
        if let Some(out) = unsafe { summary_out.as_mut() } {
            *out = summary(&s);
        }
        Ok(())
    })
}

/// Releases a writer. NULL is a no-op. A writer that was not finalized stores its buffered
/// samples first (errors are lost: call `ume_writer_finalize` to see them). The handle
/// must not be used afterwards, and must not be in use by another thread. Freeing a handle
/// twice is detected: nothing happens and the thread's error message says so.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_free(writer: *mut ume_writer) {
    guard_void("ume_writer_free", || {
        // SAFETY: NULL or a handle from this library, checked against the registry.
        unsafe { free_handle(writer, "ume_writer_free", "writer") }
    });
}

/// Releases a writer WITHOUT storing the samples still buffered in its partial chunks:
/// they stay missing (the `written` mask does not claim them) and a resume
/// (`ume_writer_open`) writes them again. Chunks already complete and handed to the
/// compression threads are stored and claimed as usual, so nothing on disk is left
/// half-done. Meant for garbage-collected bindings (Julia, Python) whose finalizers must
/// not compress a whole open chunk at an arbitrary moment; C programs call
/// `ume_writer_finalize` then `ume_writer_free`. NULL is a no-op. The handle is freed: do
/// not use it or free it afterwards (a second call is detected and reported like a double
/// free). Must not run while another thread uses the handle. Errors from storing the
/// chunks in flight are lost (the mask never claims what was not stored).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_discard(writer: *mut ume_writer) {
    guard_void("ume_writer_discard", || {
        // SAFETY: NULL or a handle from this library, checked against the registry.
        if let Some(w) = unsafe { take_handle(writer, "ume_writer_discard", "writer") } {
            let _ = w.inner.discard();
        }
    });
}

/// Reopens world `world_id` of the dataset at `path` to write the samples it lacks
/// (resume after a crash or pre-emption). Chunking, codec and shapes are those stored;
/// from `opts` (NULL = defaults) only n_threads, max_open_chunks, allow_nonfinite,
/// rewrite and fsync apply. Temporary files left by killed writers are removed. Use
/// `ume_writer_missing` to list what is left to do. The writer holds the world (no
/// overwrite replaces it) until finalized or freed. The caller owns `*out` (free with
/// `ume_writer_free`). Errors: UME_ERR_NOT_FOUND, UME_ERR_FORMAT, UME_ERR_IO,
/// UME_ERR_INVALID_ARGUMENT for a bad `UME_CLAIM_LEASE_SECONDS`, n_threads > 1024 or
/// max_open_chunks > 65536 (checked first).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_open(
    path: *const c_char,
    world_id: *const c_char,
    opts: *const ume_writer_options,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_open", || {
        // SAFETY: the caller's pointers, forwarded.
        unsafe { open_writer(out, path, world_id, None, || struct_options(opts.as_ref())) }
    })
}

/// Opens samples [start, start + count) of an existing world for this process only, so
/// that many processes (MPI ranks, Slurm array tasks) write disjoint ranges of one world
/// at once. The range must be chunk-aligned: `start` a multiple of the chunk length
/// (`ume_writer_shape` / `ume_reader_shape` give it) and the end too, or equal to
/// n_samples. Writes outside the range fail with UME_ERR_OUT_OF_RANGE. A range that
/// overlaps one held by another live writer is refused with UME_ERR_ALREADY_EXISTS (the
/// message names the holder's host, pid, job and lease, and its claim file).
///
/// Claims expire safely, so a task pre-empted and restarted elsewhere gets its range
/// back. A claim is taken over when: it names this host and a pid that no longer exists,
/// or that now belongs to a process with another start time (a reused pid); or it names
/// another host and the same job id as this process (`UME_JOB_ID`, else
/// `SLURM_ARRAY_JOB_ID`_`SLURM_ARRAY_TASK_ID`, then `.SLURM_PROCID` when set); or it names another host
/// and its lease ran out. A live writer renews its claims every third of its lease
/// (a background thread); the lease is `UME_CLAIM_LEASE_SECONDS` from the environment
/// (3 to 31536000, default 600). A claim of a live process on this host is never taken
/// over. Hosts sharing a dataset need clocks within a few seconds of each other; two live
/// processes must never share a job id. A writer that lost a claim (stopped for longer
/// than its lease) stores nothing more and fails at finalize. Finalizing releases the
/// range.
/// Typical MPI use: rank 0 creates the world (ume_writer_create + ume_writer_finalize),
/// barrier, every rank opens its range, writes, finalizes; barrier; one rank writes the
/// manifest. The caller owns `*out` (free with `ume_writer_free`).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_open_range(
    path: *const c_char,
    world_id: *const c_char,
    start: u64,
    count: u64,
    opts: *const ume_writer_options,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_open_range", || {
        let range = Some((start, count));
        // SAFETY: the caller's pointers, forwarded.
        unsafe { open_writer(out, path, world_id, range, || struct_options(opts.as_ref())) }
    })
}

/// Like `ume_writer_create`, with the options in an opaque `ume_writer_config` (NULL =
/// defaults) instead of the frozen `ume_writer_options` struct: the form that gets every
/// option added after 0.2. The config is copied; the caller keeps and frees it. The caller
/// owns `*out` (NULL on failure) and releases it with `ume_writer_free`.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_create_with_config(
    path: *const c_char,
    world: *const ume_world_desc,
    config: *const super::config::ume_writer_config,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_create_with_config", || {
        // SAFETY: the caller's pointers, forwarded (the config checked for liveness).
        unsafe { create_writer(out, path, world, || super::config::options(config)) }
    })
}

/// Like `ume_writer_open`, with the options in a `ume_writer_config` (NULL = defaults).
/// Only threads, max_open_chunks, allow_nonfinite, rewrite and fsync apply to a world that
/// exists. The caller owns `*out` (NULL on failure; free with `ume_writer_free`).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_open_with_config(
    path: *const c_char,
    world_id: *const c_char,
    config: *const super::config::ume_writer_config,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_open_with_config", || {
        // SAFETY: the caller's pointers, forwarded (the config checked for liveness).
        unsafe { open_writer(out, path, world_id, None, || super::config::options(config)) }
    })
}

/// Like `ume_writer_open_range`, with the options in a `ume_writer_config` (NULL =
/// defaults). The caller owns `*out` (NULL on failure; free with `ume_writer_free`).
#[no_mangle]
pub unsafe extern "C" fn ume_writer_open_range_with_config(
    path: *const c_char,
    world_id: *const c_char,
    start: u64,
    count: u64,
    config: *const super::config::ume_writer_config,
    out: *mut *mut ume_writer,
) -> ume_status {
    guard("ume_writer_open_range_with_config", || {
        let range = Some((start, count));
        // SAFETY: the caller's pointers, forwarded (the config checked for liveness).
        unsafe {
            open_writer(out, path, world_id, range, || {
                super::config::options(config)
            })
        }
    })
}

/// The options of the frozen struct, or the defaults for NULL.
fn struct_options(o: Option<&ume_writer_options>) -> Result<WriterOptions> {
    match o {
        Some(o) => convert_options(o),
        None => convert_options(&ume_writer_options_default()),
    }
}

/// The body of every create function: `*out` cleared, the arguments converted in their
/// order (path, description, then the options), the world created and its handle stored.
///
/// # Safety
/// The pointers are those of `ume_writer_create` (NULL-checked here).
unsafe fn create_writer(
    out: *mut *mut ume_writer,
    path: *const c_char,
    world: *const ume_world_desc,
    opts: impl FnOnce() -> Result<WriterOptions>,
) -> Result<()> {
    // SAFETY: pointer arguments are checked for NULL by the helpers.
    let out = unsafe { try_out(out, "out") }?;
    *out = std::ptr::null_mut();
    let path = unsafe { try_str(path, "path") }?;
    let desc = unsafe { world_desc(world) }?;
    let writer = Writer::create(Path::new(path), &desc, &opts()?)?;
    *out = register_handle(ume_writer { inner: writer });
    Ok(())
}

/// The body of every open function (`range` = `(start, count)` for a range writer, `None`
/// for the whole world), in the same order as [`create_writer`].
///
/// # Safety
/// The pointers are those of `ume_writer_open` (NULL-checked here).
unsafe fn open_writer(
    out: *mut *mut ume_writer,
    path: *const c_char,
    world_id: *const c_char,
    range: Option<(u64, u64)>,
    opts: impl FnOnce() -> Result<WriterOptions>,
) -> Result<()> {
    // SAFETY: pointer arguments are checked for NULL by the helpers.
    let out = unsafe { try_out(out, "out") }?;
    *out = std::ptr::null_mut();
    let path = Path::new(unsafe { try_str(path, "path") }?);
    let world_id = unsafe { try_str(world_id, "world_id") }?;
    let opts = opts()?;
    let writer = match range {
        None => Writer::open(path, world_id, &opts)?,
        Some((start, count)) => Writer::open_range(path, world_id, start, count, &opts)?,
    };
    *out = register_handle(ume_writer { inner: writer });
    Ok(())
}

/// Stores in `*out` how many samples of the writer's range are neither stored nor
/// waiting in its buffers.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_missing_count(
    writer: *const ume_writer,
    out: *mut u64,
) -> ume_status {
    guard("ume_writer_missing_count", || {
        // SAFETY: checked to be a live handle; out NULL-checked.
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = w.missing_count()?;
        Ok(())
    })
}

/// Lists missing sample indices `>= from`, ascending: up to `capacity` of them go into
/// `indices` (caller-owned, `capacity` elements) and their number into `*n_out`. Page
/// through all of them by calling again with `from` = last index + 1 until `*n_out` is 0.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_missing(
    writer: *const ume_writer,
    from: u64,
    indices: *mut u64,
    capacity: usize,
    n_out: *mut usize,
) -> ume_status {
    guard("ume_writer_missing", || {
        // SAFETY: checked to be a live handle; out-parameters NULL/length-checked.
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        let n_out = unsafe { try_out(n_out, "n_out") }?;
        *n_out = 0;
        let found = w.missing(from, capacity)?;
        if let Some(buf) = unsafe { super::try_slice_out(indices, capacity, capacity, "indices") }?
        {
            buf[..found.len()].copy_from_slice(&found);
        }
        *n_out = found.len();
        Ok(())
    })
}

/// Fills `*out` with the dimensions and chunk length of the writer's world.
#[no_mangle]
pub unsafe extern "C" fn ume_writer_shape(
    writer: *const ume_writer,
    out: *mut super::reader::ume_world_shape,
) -> ume_status {
    guard("ume_writer_shape", || {
        // SAFETY: checked to be a live handle; out NULL-checked.
        let w = &unsafe { try_handle(writer, "writer") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = super::reader::shape_of(w.desc(), w.chunk_samples());
        Ok(())
    })
}
