//! `ume_reader`: open a world and read samples into caller buffers.

use std::ffi::c_char;
use std::path::Path;

use super::panic::{guard, guard_void};
use super::status::ume_status;
use super::{
    free_handle, register_handle, try_buffer, try_buffer_out, try_handle, try_out, try_str,
};
use crate::convert::Float;
use crate::error::Result;
use crate::reader::Reader;

/// An open dataset world for reading (opaque). Thread-safe for concurrent reads.
/// Created by `ume_reader_open`, released by `ume_reader_free`.
pub struct ume_reader {
    pub(crate) inner: Reader,
}

/// Dimensions of a world.
#[repr(C)]
#[allow(non_snake_case)]
pub struct ume_world_shape {
    /// Samples in the world.
    pub n_samples: u64,
    /// Samples per chunk of the trajectories array, from its own metadata (a world
    /// written by another tool may chunk its arrays differently from one another).
    pub chunk_samples: u64,
    /// Trajectory length.
    pub T: u32,
    /// IRF horizon (H + 1 points).
    pub H: u32,
    /// Parameters.
    pub n_params: u32,
    /// Shocks.
    pub n_shocks: u32,
    /// Observables.
    pub n_obs: u32,
}

pub(crate) fn shape_of(d: &crate::world::WorldDesc, chunk_samples: u64) -> ume_world_shape {
    ume_world_shape {
        n_samples: d.n_samples,
        chunk_samples,
        T: d.t,
        H: d.h,
        n_params: d.n_params,
        n_shocks: d.n_shocks,
        n_obs: d.n_obs,
    }
}

/// Opens world `world_id` of the dataset at `path`. On success the caller owns `*out`
/// and releases it with `ume_reader_free`; on failure `*out` is NULL.
/// Errors: UME_ERR_NOT_FOUND (no dataset or world), UME_ERR_FORMAT (not a umedata world).
#[no_mangle]
pub unsafe extern "C" fn ume_reader_open(
    path: *const c_char,
    world_id: *const c_char,
    out: *mut *mut ume_reader,
) -> ume_status {
    guard("ume_reader_open", || {
        // SAFETY: pointer arguments are checked for NULL by the helpers.
        let out = unsafe { try_out(out, "out") }?;
        *out = std::ptr::null_mut();
        let path = unsafe { try_str(path, "path") }?;
        let world_id = unsafe { try_str(world_id, "world_id") }?;
        let reader = Reader::open(Path::new(path), world_id)?;
        *out = register_handle(ume_reader { inner: reader });
        Ok(())
    })
}

/// Fills `*out` with the world's dimensions.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_shape(
    reader: *const ume_reader,
    out: *mut ume_world_shape,
) -> ume_status {
    guard("ume_reader_shape", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = shape_of(r.desc(), r.chunk_samples());
        Ok(())
    })
}

/// Stores in `*out` how many samples the `written` mask marks as stored.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_samples_written(
    reader: *const ume_reader,
    out: *mut u64,
) -> ume_status {
    guard("ume_reader_samples_written", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = r.samples_written()?;
        Ok(())
    })
}

/// Stores 1 in `*out` if sample `i` is stored, else 0. Errors: UME_ERR_OUT_OF_RANGE.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_is_written(
    reader: *const ume_reader,
    i: u64,
    out: *mut u8,
) -> ume_status {
    guard("ume_reader_is_written", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = u8::from(r.is_written(i)?);
        Ok(())
    })
}

/// Sets how many threads `ume_reader_read_f32` / `ume_reader_read_f64` (ranges) decode on:
/// 0 (the default) = automatic: one per core, but the calling thread alone for a read that
/// decodes less than about 1 MB (one sample, a few samples); 1 = the calling thread only
/// (e.g. when the caller already reads from many threads of its own); n = up to n threads.
/// A range read then decodes the chunks (inner chunks of a shard) of all four arrays in
/// parallel on threads the library starts for that call, and returns exactly the bytes a
/// one-thread read returns. `ume_reader_read_ids_*` take their thread count as an
/// argument and are not affected.
///
/// Thread-safe: may be called while other threads read through `reader`; reads that
/// start afterwards use the new count. Errors: UME_ERR_NULL_ARGUMENT (`reader` NULL),
/// UME_ERR_INVALID_ARGUMENT (a freed or foreign handle).
#[no_mangle]
pub unsafe extern "C" fn ume_reader_set_threads(
    reader: *const ume_reader,
    n_threads: u32,
) -> ume_status {
    guard("ume_reader_set_threads", || {
        // SAFETY: NULL-checked; a non-NULL handle comes from ume_reader_open.
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        r.set_threads(n_threads as usize);
        Ok(())
    })
}

/// Stores in `*out` the thread count set by `ume_reader_set_threads` (0 = automatic, the
/// default). Thread-safe. Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT (a freed
/// or foreign handle).
#[no_mangle]
pub unsafe extern "C" fn ume_reader_threads(
    reader: *const ume_reader,
    out: *mut u32,
) -> ume_status {
    guard("ume_reader_threads", || {
        // SAFETY: NULL-checked handle and out-parameter.
        let r = &unsafe { try_handle(reader, "reader") }?.inner;
        let out = unsafe { try_out(out, "out") }?;
        *out = u32::try_from(r.threads()).unwrap_or(u32::MAX);
        Ok(())
    })
}

#[allow(clippy::too_many_arguments)]
unsafe fn read<T: Float>(
    reader: *const ume_reader,
    start: u64,
    count: u64,
    layout: u32,
    theta: *mut T,
    theta_len: usize,
    traj: *mut T,
    traj_len: usize,
    irfs: *mut T,
    irfs_len: usize,
    shocks: *mut T,
    shocks_len: usize,
) -> Result<()> {
    // SAFETY: NULL-checked; a non-NULL handle comes from ume_reader_open.
    let r = &unsafe { try_handle(reader, "reader") }?.inner;
    let layout = super::flags::layout(layout)?;
    // SAFETY: each buffer is checked for NULL, alignment and size; the range and the
    // lengths against the world's shapes are checked by the reader before it writes.
    let out = unsafe {
        [
            try_buffer_out(theta, theta_len, "theta")?,
            try_buffer_out(traj, traj_len, "trajectories")?,
            try_buffer_out(irfs, irfs_len, "irfs")?,
            try_buffer_out(shocks, shocks_len, "shocks")?,
        ]
    };
    r.read_range(start, count, layout, out)
}

/// Reads samples [start, start + count) into float buffers. See `ume_reader_read_f64`.
/// An array stored as float64 or (u)int32 (a world written by another tool) would be
/// rounded: its read fails with UME_ERR_FORMAT naming the data type; read it with
/// `ume_reader_read_f64`.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_read_f32(
    reader: *const ume_reader,
    start: u64,
    count: u64,
    layout: u32,
    theta: *mut f32,
    theta_len: usize,
    trajectories: *mut f32,
    trajectories_len: usize,
    irfs: *mut f32,
    irfs_len: usize,
    shocks: *mut f32,
    shocks_len: usize,
) -> ume_status {
    guard("ume_reader_read_f32", || unsafe {
        read(
            reader,
            start,
            count,
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

/// Reads samples [start, start + count) into double buffers.
///
/// Each buffer receives `count` per-sample blocks back to back, each block in `layout`
/// (so a Fortran caller passes `traj(T, n_obs, count)`); `*_len` is the element count,
/// `count` times the per-sample count. A buffer may be NULL with length 0 to skip that
/// array. Errors: UME_ERR_OUT_OF_RANGE, UME_ERR_LENGTH_MISMATCH, UME_ERR_NOT_WRITTEN (a
/// sample of the range was never stored; nothing is copied), UME_ERR_FORMAT (a corrupt
/// chunk, e.g. a checksum mismatch; a chunk file or inner chunk that the `written` mask
/// claims is missing, the message names the array, the chunk and the samples; an array
/// data type that cannot be converted exactly).
///
/// The arrays are read as their own Zarr metadata describes them, whatever the world
/// attributes say: any regular chunking (also split along time, shocks or observables,
/// different per array, sharded or not), the codecs blosc, zstd, gzip, crc32c or none,
/// either byte order. Data types float32, float64, int8/16/32 and uint8/16/32 are
/// converted exactly to double; float32 output accepts float32 and (u)int8/16 only. An
/// absent chunk of an array whose fill value is a number (not NaN) reads as that value,
/// as Zarr defines; umedata's NaN-filled arrays never omit a chunk. Thread-safe: many
/// threads may read through one reader at once.
///
/// A long range is decoded on the library's threads (`ume_reader_set_threads`; default
/// automatic: one per core for reads that decode more than about 1 MB, e.g. a chunk of
/// samples; the calling thread alone for one sample). A decoding error (UME_ERR_FORMAT)
/// may then leave the buffers partly filled: do not use them after an error.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_read_f64(
    reader: *const ume_reader,
    start: u64,
    count: u64,
    layout: u32,
    theta: *mut f64,
    theta_len: usize,
    trajectories: *mut f64,
    trajectories_len: usize,
    irfs: *mut f64,
    irfs_len: usize,
    shocks: *mut f64,
    shocks_len: usize,
) -> ume_status {
    guard("ume_reader_read_f64", || unsafe {
        read(
            reader,
            start,
            count,
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

#[allow(clippy::too_many_arguments)]
unsafe fn read_ids<T: Float + Send>(
    reader: *const ume_reader,
    ids: *const u64,
    n_ids: usize,
    layout: u32,
    theta: *mut T,
    theta_len: usize,
    traj: *mut T,
    traj_len: usize,
    irfs: *mut T,
    irfs_len: usize,
    shocks: *mut T,
    shocks_len: usize,
    n_threads: u32,
) -> Result<()> {
    // SAFETY: NULL-checked; a non-NULL handle comes from ume_reader_open.
    let r = &unsafe { try_handle(reader, "reader") }?.inner;
    let layout = super::flags::layout(layout)?;
    // SAFETY: `ids` and each buffer are checked for NULL, alignment and size; the ids and
    // the lengths against the world's shapes are checked by the reader before it writes.
    let ids = unsafe { try_buffer(ids, n_ids, "ids") }?;
    let out = unsafe {
        [
            try_buffer_out(theta, theta_len, "theta")?,
            try_buffer_out(traj, traj_len, "trajectories")?,
            try_buffer_out(irfs, irfs_len, "irfs")?,
            try_buffer_out(shocks, shocks_len, "shocks")?,
        ]
    };
    r.read_samples(ids, layout, out, n_threads as usize)
}

/// Reads the samples `ids[0..n_ids]` into float buffers. See `ume_reader_read_ids_f64`;
/// an array stored as float64 or (u)int32 fails with UME_ERR_FORMAT as in
/// `ume_reader_read_f32`.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_read_ids_f32(
    reader: *const ume_reader,
    ids: *const u64,
    n_ids: usize,
    layout: u32,
    theta: *mut f32,
    theta_len: usize,
    trajectories: *mut f32,
    trajectories_len: usize,
    irfs: *mut f32,
    irfs_len: usize,
    shocks: *mut f32,
    shocks_len: usize,
    n_threads: u32,
) -> ume_status {
    guard("ume_reader_read_ids_f32", || unsafe {
        read_ids(
            reader,
            ids,
            n_ids,
            layout,
            theta,
            theta_len,
            trajectories,
            trajectories_len,
            irfs,
            irfs_len,
            shocks,
            shocks_len,
            n_threads,
        )
    })
}

/// Reads the samples `ids[0..n_ids]` (any order, repeats allowed: a shuffled mini-batch)
/// into double buffers: block `j` of each buffer receives sample `ids[j]`, in `layout`.
///
/// Each buffer holds `n_ids` per-sample blocks back to back, as in `ume_reader_read_f64`
/// with `count = n_ids`; `*_len` is the element count. A buffer may be NULL with length 0
/// to skip that array. The ids are grouped by inner chunk (chunk of an unsharded world)
/// so each is read, checksum-verified and decoded once, the chunks of one shard file
/// through one open and one index read, on up to `n_threads` threads (the calling thread
/// and n_threads - 1 the library starts; 0 = automatic: one per core, the calling thread
/// alone for a batch that decodes less than about 1 MB; 1 = the calling thread only). The caller keeps ownership of `ids`
/// and the buffers; nothing is retained after the call.
///
/// Errors, all checked before anything is copied: UME_ERR_NULL_ARGUMENT (`reader`, `ids`,
/// or a buffer NULL with a nonzero length), UME_ERR_INVALID_ARGUMENT (`n_ids` is 0, or
/// an unknown layout), UME_ERR_OUT_OF_RANGE (an id >= n_samples; the message names it
/// and its position), UME_ERR_LENGTH_MISMATCH (a buffer length other than `n_ids` times
/// the per-sample length), UME_ERR_NOT_WRITTEN (an id never stored); and, while
/// decoding, UME_ERR_FORMAT as in `ume_reader_read_f64` (a corrupt or missing chunk: the
/// buffers may then be partly filled and must not be used).
/// Thread-safe: many threads may read through one reader at once.
#[no_mangle]
pub unsafe extern "C" fn ume_reader_read_ids_f64(
    reader: *const ume_reader,
    ids: *const u64,
    n_ids: usize,
    layout: u32,
    theta: *mut f64,
    theta_len: usize,
    trajectories: *mut f64,
    trajectories_len: usize,
    irfs: *mut f64,
    irfs_len: usize,
    shocks: *mut f64,
    shocks_len: usize,
    n_threads: u32,
) -> ume_status {
    guard("ume_reader_read_ids_f64", || unsafe {
        read_ids(
            reader,
            ids,
            n_ids,
            layout,
            theta,
            theta_len,
            trajectories,
            trajectories_len,
            irfs,
            irfs_len,
            shocks,
            shocks_len,
            n_threads,
        )
    })
}

/// Releases a reader. NULL is a no-op; a second free of the same handle is detected and
/// ignored (the thread's error message says so).
#[no_mangle]
pub unsafe extern "C" fn ume_reader_free(reader: *mut ume_reader) {
    guard_void("ume_reader_free", || {
        // SAFETY: NULL or a handle from this library, checked against the registry.
        unsafe { free_handle(reader, "ume_reader_free", "reader") }
    });
}
