//! Status codes returned by every C function, in their own numeric range (7000+) so they
//! are not mistaken for errno values or another library's codes.

use crate::error::ErrorKind;

/// Result of a umedata call. `UME_OK` (0) is success; everything else is an error whose
/// details are in `ume_last_error_message()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ume_status {
    /// Success.
    UME_OK = 0,
    /// A required pointer argument was NULL.
    UME_ERR_NULL_ARGUMENT = 7001,
    /// A value is not acceptable (layout flag, codec, name, dimension, ...).
    UME_ERR_INVALID_ARGUMENT = 7002,
    /// A sample index or range lies outside [0, n_samples).
    UME_ERR_OUT_OF_RANGE = 7003,
    /// A buffer length does not match the length implied by the world's shapes.
    UME_ERR_LENGTH_MISMATCH = 7004,
    /// The dataset world exists and overwrite was not requested.
    UME_ERR_ALREADY_EXISTS = 7005,
    /// The sample was already written.
    UME_ERR_ALREADY_WRITTEN = 7006,
    /// The writer was finalized.
    UME_ERR_FINALIZED = 7007,
    /// Dataset, world or array not found.
    UME_ERR_NOT_FOUND = 7008,
    /// The operating system refused an operation (permission, disk full, ...).
    UME_ERR_IO = 7009,
    /// Data on disk is not what umedata expects.
    UME_ERR_FORMAT = 7010,
    /// NaN or infinity in the input (rejected unless allow_nonfinite is set).
    UME_ERR_NON_FINITE = 7011,
    /// A sample that was never stored was read.
    UME_ERR_NOT_WRITTEN = 7012,
    /// A bug in umedata was caught at the C boundary; please report it.
    UME_ERR_PANIC = 7098,
    /// An internal error; please report it.
    UME_ERR_INTERNAL = 7099,
}

impl From<ErrorKind> for ume_status {
    fn from(kind: ErrorKind) -> Self {
        use ume_status::*;
        match kind {
            ErrorKind::NullArgument => UME_ERR_NULL_ARGUMENT,
            ErrorKind::InvalidArgument => UME_ERR_INVALID_ARGUMENT,
            ErrorKind::OutOfRange => UME_ERR_OUT_OF_RANGE,
            ErrorKind::LengthMismatch => UME_ERR_LENGTH_MISMATCH,
            ErrorKind::AlreadyExists => UME_ERR_ALREADY_EXISTS,
            ErrorKind::AlreadyWritten => UME_ERR_ALREADY_WRITTEN,
            ErrorKind::Finalized => UME_ERR_FINALIZED,
            ErrorKind::NotFound => UME_ERR_NOT_FOUND,
            ErrorKind::Io => UME_ERR_IO,
            ErrorKind::Format => UME_ERR_FORMAT,
            ErrorKind::NonFinite => UME_ERR_NON_FINITE,
            ErrorKind::NotWritten => UME_ERR_NOT_WRITTEN,
            ErrorKind::Internal => UME_ERR_INTERNAL,
        }
    }
}

/// A static, NUL-terminated description of a status code; never NULL, never freed.
/// Unknown codes give "unknown status".
#[no_mangle]
pub extern "C" fn ume_status_string(status: u32) -> *const std::ffi::c_char {
    let s: &'static [u8] = match status {
        0 => b"ok\0",
        7001 => b"a required pointer argument was NULL\0",
        7002 => b"invalid argument\0",
        7003 => b"sample index out of range\0",
        7004 => b"buffer length does not match the shape\0",
        7005 => b"dataset world already exists\0",
        7006 => b"sample already written\0",
        7007 => b"writer already finalized\0",
        7008 => b"not found\0",
        7009 => b"input/output error\0",
        7010 => b"unexpected data on disk\0",
        7011 => b"NaN or infinity in the input\0",
        7012 => b"sample not written\0",
        7098 => b"internal panic (a bug in umedata)\0",
        7099 => b"internal error (a bug in umedata)\0",
        _ => b"unknown status\0",
    };
    s.as_ptr().cast()
}
