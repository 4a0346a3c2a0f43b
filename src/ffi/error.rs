//! The thread-local error message. Each thread sees the message of its own last failed
//! call, so OpenMP threads sharing one writer never overwrite each other's messages.

use std::cell::RefCell;
use std::ffi::{c_char, CString};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// The message of the most recent failed umedata call on the calling thread, or "" if none
/// failed yet. Messages name the function, the argument, the value given and the one
/// expected. The pointer stays valid until the next failing umedata call on this thread;
/// copy the text to keep it. Never NULL; do not free it.
#[no_mangle]
pub extern "C" fn ume_last_error_message() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}
