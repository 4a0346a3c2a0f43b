//! The C ABI. This layer only converts arguments, checks pointers and lengths, guards the
//! panic boundary (`panic::guard`) and turns errors into an [`status::ume_status`] plus
//! a thread-local message ([`error`]). All logic lives in the safe modules.
//!
//! One file per handle type: [`writer`] (`ume_writer`), [`config`] (`ume_writer_config`),
//! [`reader`] (`ume_reader`), [`rng`] (`ume_rng`), [`manifest`] (`ume_manifest`),
//! [`splits`] (`ume_splits`), [`engine`] (`ume_sim`, `ume_gen_config`, `ume_gen_summary`);
//! [`flags`] parses every C flag value.

// The C face: raw pointers from C are this module's whole job.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod config;
pub mod engine;
pub mod error;
pub mod flags;
pub mod manifest;
pub mod panic;
pub mod plugin;
pub mod reader;
pub mod rng;
pub mod splits;
pub mod status;
pub mod validate;
pub mod version;
pub mod writer;

use std::ffi::{c_char, CStr};

use crate::error::{Error, ErrorKind, Result};

pub use flags::{
    UME_CODEC_BLOSC_LZ4, UME_CODEC_BLOSC_ZSTD, UME_CODEC_NONE, UME_CODEC_ZSTD, UME_LAYOUT_C,
    UME_LAYOUT_F,
};

/// Addresses of the live handles (writers, readers) this library handed out. Freeing or
/// using an address that is not live (double free, use after free, a pointer that never
/// came from us) is reported as UME_ERR_INVALID_ARGUMENT instead of corrupting memory.
/// (An address reused by a newer handle cannot be told apart; that is C's limit.)
static LIVE_HANDLES: std::sync::LazyLock<std::sync::RwLock<std::collections::HashSet<usize>>> =
    std::sync::LazyLock::new(Default::default);

/// Boxes `value`, records its address as live and returns the raw handle.
pub(crate) fn register_handle<T>(value: T) -> *mut T {
    let ptr = Box::into_raw(Box::new(value));
    LIVE_HANDLES
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ptr as usize);
    ptr
}

/// Forgets a live handle; false if it was not live (already freed or foreign).
pub(crate) fn unregister_handle<T>(ptr: *mut T) -> bool {
    LIVE_HANDLES
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&(ptr as usize))
}

/// A shared reference to a live handle, or an error naming the argument.
///
/// # Safety
/// `ptr` is NULL or was returned by [`register_handle`] for a `T`.
unsafe fn try_handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    if ptr.is_null() {
        return Err(null(name));
    }
    let live = LIVE_HANDLES
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&(ptr as usize));
    if !live {
        return Err(Error::invalid(format!(
            "argument '{name}' ({ptr:p}) is not a live handle (already freed, or not created by umedata)"
        )));
    }
    // SAFETY: registered handles are live boxes of T until unregistered by their free.
    Ok(unsafe { &*ptr })
}

/// Like [`try_handle`], for handles that calls mutate (`ume_rng`).
///
/// # Safety
/// `ptr` is NULL or was returned by [`register_handle`] for a `T`, and no other
/// reference to it is in use (the handle's documented thread-safety contract).
unsafe fn try_handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: liveness checked by try_handle; exclusivity is the caller's contract.
    unsafe { try_handle(ptr as *const T, name) }?;
    Ok(unsafe { &mut *ptr })
}

/// Takes a registered handle back from C, for a function that releases it: `None` for
/// NULL (a no-op) and for a handle that is not live (double free), which is left alone
/// and reported in the thread's error message.
///
/// # Safety
/// `ptr` is NULL or was returned by [`register_handle`] for a `T`.
unsafe fn take_handle<T>(ptr: *mut T, fn_name: &str, arg: &str) -> Option<Box<T>> {
    if ptr.is_null() {
        return None;
    }
    if !unregister_handle(ptr) {
        error::set_last_error(&format!(
            "{fn_name}: argument '{arg}' ({ptr:p}) is not a live handle (double free?); nothing was freed"
        ));
        return None;
    }
    // SAFETY: a live handle is a Box created by register_handle; unregistered once.
    Some(unsafe { Box::from_raw(ptr) })
}

/// Frees a registered handle (see [`take_handle`] for NULL and double frees).
///
/// # Safety
/// `ptr` is NULL or was returned by [`register_handle`] for a `T`.
unsafe fn free_handle<T>(ptr: *mut T, fn_name: &str, arg: &str) {
    // SAFETY: forwarded contract.
    drop(unsafe { take_handle(ptr, fn_name, arg) });
}

fn null(name: &str) -> Error {
    Error::new(
        ErrorKind::NullArgument,
        format!("argument '{name}' is NULL"),
    )
}

/// A shared reference from a handle pointer, or a NullArgument error naming it.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` created by this library.
unsafe fn try_ref<'a, T>(ptr: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: the caller guarantees a non-NULL ptr is a live handle.
    unsafe { ptr.as_ref() }.ok_or_else(|| null(name))
}

/// A writable reference to an out-parameter, or a NullArgument error naming it.
///
/// # Safety
/// `ptr` is NULL or valid for writes of one `T`.
unsafe fn try_out<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: the caller guarantees a non-NULL ptr is valid for writes.
    unsafe { ptr.as_mut() }.ok_or_else(|| null(name))
}

/// A UTF-8 string from a C string argument.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
unsafe fn try_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(null(name));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str().map_err(|_| {
        Error::invalid(format!(
            "argument '{name}' is not valid UTF-8: {}",
            s.to_string_lossy()
        ))
    })
}

/// A slice of `len` elements, after the length has been checked against `expected` and the
/// pointer for NULL and alignment. The check comes first so no slice of a wrong, possibly
/// huge, length is ever formed.
///
/// # Safety
/// A non-NULL `ptr` is valid for reads of `len` elements.
unsafe fn try_slice<'a, T>(
    ptr: *const T,
    len: usize,
    expected: usize,
    name: &str,
) -> Result<&'a [T]> {
    if ptr.is_null() {
        return Err(null(name));
    }
    crate::convert::check_len(name, len, expected)?;
    check_aligned(ptr, name)?;
    // SAFETY: non-NULL, aligned, and the caller guarantees `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`try_slice`] for an output buffer; NULL with length 0 means "skip this array".
///
/// # Safety
/// A non-NULL `ptr` is valid for writes of `len` elements.
unsafe fn try_slice_out<'a, T>(
    ptr: *mut T,
    len: usize,
    expected: usize,
    name: &str,
) -> Result<Option<&'a mut [T]>> {
    if ptr.is_null() {
        return if len == 0 { Ok(None) } else { Err(null(name)) };
    }
    crate::convert::check_len(name, len, expected)?;
    check_aligned(ptr, name)?;
    // SAFETY: non-NULL, aligned, and the caller guarantees `len` writable elements.
    Ok(Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) }))
}

/// The caller's sample buffer of `len` elements, checked only for what the core cannot
/// check: NULL, alignment and a length that fits in memory. Its length against the world's
/// shapes is the core's check (`Writer::write_sample`, `Reader::read_range`), done once,
/// there, before anything is read or written.
///
/// # Safety
/// A non-NULL `ptr` is valid for reads of `len` elements.
unsafe fn try_buffer<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    if ptr.is_null() {
        return Err(null(name));
    }
    check_fits::<T>(len, name)?;
    check_aligned(ptr, name)?;
    // SAFETY: non-NULL, aligned, at most isize::MAX bytes, and the caller guarantees `len`
    // readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`try_buffer`] for an output buffer; NULL with length 0 means "skip this array".
///
/// # Safety
/// A non-NULL `ptr` is valid for writes of `len` elements.
unsafe fn try_buffer_out<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<Option<&'a mut [T]>> {
    if ptr.is_null() {
        return if len == 0 { Ok(None) } else { Err(null(name)) };
    }
    check_fits::<T>(len, name)?;
    check_aligned(ptr, name)?;
    // SAFETY: non-NULL, aligned, at most isize::MAX bytes, and the caller guarantees `len`
    // writable elements.
    Ok(Some(unsafe { std::slice::from_raw_parts_mut(ptr, len) }))
}

/// A buffer of `len` elements of `T` can exist (at most isize::MAX bytes).
fn check_fits<T>(len: usize, name: &str) -> Result<()> {
    let fits = len
        .checked_mul(std::mem::size_of::<T>())
        .is_some_and(|b| b <= isize::MAX as usize);
    if fits {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::LengthMismatch,
            format!("{name} buffer length {len} is larger than any buffer can be"),
        ))
    }
}

fn check_aligned<T>(ptr: *const T, name: &str) -> Result<()> {
    if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
        return Err(Error::invalid(format!(
            "argument '{name}' ({ptr:p}) is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    Ok(())
}

/// `n` strings from a C array of C strings (NULL array = generated names).
///
/// # Safety
/// A non-NULL `ptr` points to `n` pointers, each NULL or NUL-terminated.
unsafe fn try_names(
    ptr: *const *const c_char,
    n: u32,
    field: &str,
    prefix: &str,
) -> Result<Vec<String>> {
    if ptr.is_null() {
        return Ok((0..n).map(|i| format!("{prefix}{i}")).collect());
    }
    (0..n as usize)
        .map(|i| {
            // SAFETY: the caller guarantees `n` readable pointers.
            let p = unsafe { *ptr.add(i) };
            // SAFETY: each is NULL or NUL-terminated.
            unsafe { try_str(p, &format!("{field}[{i}]")) }.map(str::to_string)
        })
        .collect()
}
