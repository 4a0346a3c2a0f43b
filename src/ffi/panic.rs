//! The panic boundary: every entry point runs its body through `guard`, so no panic
//! ever unwinds into C, and every error becomes a status plus a thread-local message.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::set_last_error;
use super::status::ume_status;
use crate::error::Result;

/// Runs `body` for the C function `name`: `UME_OK` on success, otherwise the error's status
/// with the message "`name`: ..." stored for the calling thread.
pub(crate) fn guard(name: &str, body: impl FnOnce() -> Result<()>) -> ume_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ume_status::UME_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message()));
            e.kind().into()
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "{name}: internal panic (a bug in umedata, please report it): {what}"
            ));
            ume_status::UME_ERR_PANIC
        }
    }
}

/// Runs a body that cannot report errors (the free functions): panics are caught and
/// recorded, never propagated.
pub(crate) fn guard_void(name: &str, body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown panic".into());
        set_last_error(&format!("{name}: internal panic: {what}"));
    }
}
