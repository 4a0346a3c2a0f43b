//! Library version at run time, to compare with the `UME_VERSION_*` macros of the header
//! a program was compiled with.

use std::ffi::c_char;

/// The library version as "MAJOR.MINOR.PATCH", a static string (do not free). Compare with
/// the UME_VERSION_MAJOR/MINOR/PATCH macros to detect a header/library mismatch.
#[no_mangle]
pub extern "C" fn ume_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
