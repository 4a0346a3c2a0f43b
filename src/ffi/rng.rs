//! `ume_rng`: the portable per-sample generator (ChaCha20), and per-sample seed
//! derivation. The exact algorithm is in `src/seeds.rs` and repeated in the header.

use std::ffi::c_char;

use super::panic::{guard, guard_void};
use super::status::ume_status;
use super::{free_handle, register_handle, try_handle_mut, try_out, try_slice_out};
use crate::seeds::{sample_seed, SampleRng};

/// Per-sample seed `global_seed + sample_index` (mod 2^64), the prototype's rule.
pub const UME_SEED_ADD: u32 = 0;
/// Per-sample seed = output `sample_index` of SplitMix64 started at `global_seed`:
/// `mix64(global_seed + (sample_index + 1) * 0x9E3779B97F4A7C15)` with
/// `mix64(z)`: `z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) *
/// 0x94D049BB133111EB; return z ^ (z >> 31)` (mod 2^64). No two samples of a dataset share
/// a seed.
pub const UME_SEED_SPLITMIX64: u32 = 1;
/// Sample i draws from `ume_rng_new(global_seed, i)`; there is no integer seed.
pub const UME_SEED_CHACHA20: u32 = 2;

/// A ChaCha20 stream for one sample (opaque). Created by `ume_rng_new`, released by
/// `ume_rng_free`. Not thread-safe: one generator per thread (they are cheap: create one
/// per sample).
///
/// Algorithm (identical on every machine):
/// - ChaCha20, 20 rounds, original layout (64-bit block counter in state words 12-13,
///   64-bit stream id in words 14-15); key = `global_seed` as 8 bytes little-endian then
///   24 zero bytes; stream id = `sample_index`; counter starts at 0.
/// - 64-bit output k = keystream words 2(k mod 8) (low half) and 2(k mod 8)+1 (high half)
///   of block floor(k/8), words read little-endian.
/// - uniform = `(x >> 11) * 2^-53` for the next 64-bit output x, in [0, 1).
/// - normal: Marsaglia polar method: repeat `u = 2*U1 - 1; v = 2*U2 - 1; s = u*u + v*v`
///   (no fused multiply-add) until `0 < s < 1`; `f = sqrt(-2*log(s)/s)`; return `u*f` and
///   keep `v*f` as the next normal (a uniform drawn in between does not discard it). `log`
///   is musl's; a reimplementation with another `log` may differ in the last bit.
///
/// Test vectors: tests/vectors/rng_chacha20.txt.
pub struct ume_rng {
    pub(crate) inner: SampleRng,
    /// The engine's per-thread handle lent to a simulate callback: it belongs to the
    /// engine, and `ume_rng_free` refuses it (freeing it would leave the engine writing
    /// into freed memory when the callback returns).
    pub(crate) lent: bool,
}

/// Creates the generator of sample `sample_index` under `global_seed` in `*out`. The caller
/// owns it and releases it with `ume_rng_free`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_new(
    global_seed: u64,
    sample_index: u64,
    out: *mut *mut ume_rng,
) -> ume_status {
    guard("ume_rng_new", || {
        // SAFETY: NULL-checked; valid for one write by the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        *out = register_handle(ume_rng {
            inner: SampleRng::new(global_seed, sample_index),
            lent: false,
        });
        Ok(())
    })
}

/// Stores the next raw 64-bit output in `*out`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_next_u64(rng: *mut ume_rng, out: *mut u64) -> ume_status {
    guard("ume_rng_next_u64", || {
        // SAFETY: NULL-checked handle from ume_rng_new, used by one thread.
        let r = unsafe { try_handle_mut(rng, "rng") }?;
        let out = unsafe { try_out(out, "out") }?;
        *out = r.inner.next_u64();
        Ok(())
    })
}

/// Stores the next uniform draw in [0, 1) in `*out`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_uniform(rng: *mut ume_rng, out: *mut f64) -> ume_status {
    guard("ume_rng_uniform", || {
        // SAFETY: NULL-checked handle from ume_rng_new, used by one thread.
        let r = unsafe { try_handle_mut(rng, "rng") }?;
        let out = unsafe { try_out(out, "out") }?;
        *out = r.inner.uniform();
        Ok(())
    })
}

/// Stores the next standard normal draw in `*out`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_normal(rng: *mut ume_rng, out: *mut f64) -> ume_status {
    guard("ume_rng_normal", || {
        // SAFETY: NULL-checked handle from ume_rng_new, used by one thread.
        let r = unsafe { try_handle_mut(rng, "rng") }?;
        let out = unsafe { try_out(out, "out") }?;
        *out = r.inner.normal();
        Ok(())
    })
}

/// Fills `buf[0..n)` with uniforms (the same values as n calls of `ume_rng_uniform`).
/// `buf` may be NULL only when n is 0. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_fill_uniform(
    rng: *mut ume_rng,
    buf: *mut f64,
    n: usize,
) -> ume_status {
    guard("ume_rng_fill_uniform", || {
        // SAFETY: NULL-checked handle; `buf` valid for n writes by the caller's contract.
        let r = unsafe { try_handle_mut(rng, "rng") }?;
        if let Some(b) = unsafe { try_slice_out(buf, n, n, "buf") }? {
            r.inner.fill_uniform(b);
        }
        Ok(())
    })
}

/// Fills `buf[0..n)` with standard normals (the same values as n calls of
/// `ume_rng_normal`). `buf` may be NULL only when n is 0. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_fill_normal(
    rng: *mut ume_rng,
    buf: *mut f64,
    n: usize,
) -> ume_status {
    guard("ume_rng_fill_normal", || {
        // SAFETY: NULL-checked handle; `buf` valid for n writes by the caller's contract.
        let r = unsafe { try_handle_mut(rng, "rng") }?;
        if let Some(b) = unsafe { try_slice_out(buf, n, n, "buf") }? {
            r.inner.fill_normal(b);
        }
        Ok(())
    })
}

/// Releases a generator made by `ume_rng_new`. NULL is a no-op. The generator the engine
/// lends to a `ume_simulate_fn` callback belongs to the engine: it is not freed (the
/// thread's error message says so) and stays valid for the rest of the call.
#[no_mangle]
pub unsafe extern "C" fn ume_rng_free(rng: *mut ume_rng) {
    guard_void("ume_rng_free", || {
        // SAFETY: NULL or a handle from register_handle (checked live before it is read).
        if let Ok(r) = unsafe { try_handle_mut(rng, "rng") } {
            if r.lent {
                crate::ffi::error::set_last_error(
                    "ume_rng_free: argument 'rng' is the generator the engine lent to the simulate callback; it belongs to the engine and was not freed",
                );
                return;
            }
        }
        // SAFETY: NULL or a handle from register_handle; double frees are detected.
        unsafe { free_handle(rng, "ume_rng_free", "rng") };
    });
}

/// Stores the integer seed of sample `sample_index` in `*out` under `derivation`
/// (UME_SEED_ADD or UME_SEED_SPLITMIX64). Errors: UME_ERR_INVALID_ARGUMENT for an unknown
/// derivation or UME_SEED_CHACHA20 (which has no integer seed: use `ume_rng_new`),
/// UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_sample_seed(
    global_seed: u64,
    sample_index: u64,
    derivation: u32,
    out: *mut u64,
) -> ume_status {
    guard("ume_sample_seed", || {
        // SAFETY: NULL-checked; valid for one write by the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        *out = sample_seed(
            global_seed,
            sample_index,
            super::flags::derivation(derivation)?,
        )?;
        Ok(())
    })
}

/// The name a derivation has in the manifest (`rng_seeds.derivation_algorithm`), e.g.
/// "global_seed + sample_index"; "" for an unknown flag. Static: never NULL, never freed.
#[no_mangle]
pub extern "C" fn ume_seed_derivation_name(derivation: u32) -> *const c_char {
    let s: &'static [u8] = match derivation {
        UME_SEED_ADD => b"global_seed + sample_index\0",
        UME_SEED_SPLITMIX64 => b"splitmix64(global_seed, sample_index)\0",
        UME_SEED_CHACHA20 => b"chacha20(key=global_seed, stream=sample_index)\0",
        _ => b"\0",
    };
    s.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_core() {
        for d in 0..3u32 {
            // SAFETY: static NUL-terminated strings.
            let c = unsafe { std::ffi::CStr::from_ptr(ume_seed_derivation_name(d)) };
            assert_eq!(
                c.to_str().unwrap(),
                crate::ffi::flags::derivation(d).unwrap().name()
            );
        }
    }
}
