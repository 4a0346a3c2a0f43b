//! `ume_dataset_validate`: every check `umedata validate` runs, from C, as a JSON report.
//!
//! Plain arguments instead of an options struct: a later option is a new function, never a
//! changed struct layout.

use std::ffi::{c_char, CString};
use std::path::Path;

use super::panic::guard;
use super::status::ume_status;
use super::{try_out, try_str};
use crate::error::Error;
use crate::validate::{validate, ValidateOptions};

/// Validates the dataset at `path` as `umedata validate` does: the root group, the
/// manifest (schema, semantic rules, agreement with the arrays), and per world the arrays'
/// types, names and chunking, every chunk (present where the written mask claims samples,
/// decoding with checksums verified, finite values), the mask, the recorded split
/// (covering, disjoint, deterministic) and, when `reproduce` > 0, that many written samples
/// of built-in worlds re-simulated from their recorded seeds (chosen with
/// `reproduce_seed`) and compared bit for bit. `n_threads` threads read chunks
/// (0 = one per core).
///
/// On UME_OK the checks ran: `*passed_out` is 1 when no check failed, 0 otherwise (an
/// invalid dataset is a report, not an error). When `report_json_out` is not NULL,
/// `*report_json_out` receives the report as a NUL-terminated JSON string owned by the
/// caller, who frees it with `ume_string_free`:
/// `{"dataset": path, "passed": bool, "failed": n, "checks": [{"check": "nk: chunks
/// decode", "status": "PASS" | "FAIL" | "SKIP", "detail": "..."}]}`.
///
/// Errors (then `*report_json_out` is NULL and `*passed_out` 0, where given): UME_ERR_NULL_ARGUMENT
/// (`path` or `passed_out` NULL), UME_ERR_INVALID_ARGUMENT (`path` not UTF-8), UME_ERR_IO
/// (the dataset directory exists but cannot be listed).
///
/// Thread safety: may be called from any thread, also concurrently; it only reads the
/// dataset. Run it when no writer has the dataset open: a world being written reports
/// the samples stored so far as missing.
#[no_mangle]
pub unsafe extern "C" fn ume_dataset_validate(
    path: *const c_char,
    reproduce: u64,
    reproduce_seed: u64,
    n_threads: u32,
    report_json_out: *mut *mut c_char,
    passed_out: *mut i32,
) -> ume_status {
    guard("ume_dataset_validate", || {
        // SAFETY: NULL (no report wanted) or writable, by the caller's contract.
        let mut json = unsafe { report_json_out.as_mut() };
        if let Some(out) = json.as_deref_mut() {
            *out = std::ptr::null_mut();
        }
        // SAFETY: NULL-checked out-parameter; the caller guarantees it is writable.
        let passed = unsafe { try_out(passed_out, "passed_out") }?;
        *passed = 0;
        // SAFETY: NULL-checked, NUL-terminated by the caller's contract.
        let path = unsafe { try_str(path, "path") }?;
        let opts = ValidateOptions {
            reproduce,
            reproduce_seed,
            threads: n_threads as usize,
        };
        let report = validate(Path::new(path), &opts)?;
        if let Some(out) = json {
            *out = CString::new(report.to_json())
                .map_err(|e| Error::internal(e.to_string()))?
                .into_raw();
        }
        *passed = i32::from(report.passed());
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Layout;
    use crate::ffi::manifest::ume_string_free;
    use crate::world::{ArrayKind, WorldDesc};
    use crate::writer::{SampleRef, Writer, WriterOptions};

    /// A complete dataset of `n` samples (no manifest: "manifest schema" fails).
    fn dataset(dir: &Path, n: u64) {
        let desc = WorldDesc::new("w", n, 4, 2, 2, 1, 1);
        let w = Writer::create(dir, &desc, &WriterOptions::default()).unwrap();
        for i in 0..n {
            let [t, tr, ir, sh] = ArrayKind::ALL.map(|k| vec![i as f32; desc.sample_len(k)]);
            let s = SampleRef {
                theta: &t,
                trajectories: &tr,
                irfs: &ir,
                shocks: &sh,
            };
            w.write_sample(i, Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
    }

    fn run(path: &str) -> (ume_status, Option<serde_json::Value>, i32) {
        let c = CString::new(path).unwrap();
        let mut json: *mut c_char = std::ptr::null_mut();
        let mut passed = -1;
        let st = unsafe { ume_dataset_validate(c.as_ptr(), 0, 0, 1, &mut json, &mut passed) };
        let v = (!json.is_null()).then(|| {
            let text = unsafe { std::ffi::CStr::from_ptr(json) }.to_str().unwrap();
            serde_json::from_str(text).unwrap()
        });
        unsafe { ume_string_free(json) };
        (st, v, passed)
    }

    #[test]
    fn reports_checks_and_verdict_as_json() {
        let dir = std::env::temp_dir().join(format!("ume_ffi_validate_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dataset(&dir, 10);
        let (st, v, passed) = run(dir.to_str().unwrap());
        assert_eq!(st, ume_status::UME_OK);
        assert_eq!(passed, 0, "no manifest: that check fails");
        let v = v.unwrap();
        assert_eq!(v["passed"], serde_json::json!(false));
        let checks = v["checks"].as_array().unwrap();
        let status = |name: &str| {
            checks
                .iter()
                .find(|c| c["check"] == name)
                .map(|c| c["status"].as_str().unwrap().to_string())
        };
        assert_eq!(status("manifest schema").as_deref(), Some("FAIL"));
        assert_eq!(status("w: chunks decode").as_deref(), Some("PASS"));
        assert_eq!(status("w: written mask complete").as_deref(), Some("PASS"));
        assert_eq!(v["failed"], serde_json::json!(1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn null_arguments_are_errors_and_clear_the_outputs() {
        let mut json: *mut c_char = std::ptr::dangling_mut();
        let mut passed = 7;
        let st = unsafe { ume_dataset_validate(std::ptr::null(), 0, 0, 0, &mut json, &mut passed) };
        assert_eq!(st, ume_status::UME_ERR_NULL_ARGUMENT);
        assert!(json.is_null());
        assert_eq!(passed, 0);
        let c = CString::new(".").unwrap();
        let st =
            unsafe { ume_dataset_validate(c.as_ptr(), 0, 0, 0, &mut json, std::ptr::null_mut()) };
        assert_eq!(st, ume_status::UME_ERR_NULL_ARGUMENT);
    }
}
