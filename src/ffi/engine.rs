//! The generation engine's C face: `ume_sim` (a simulator description built with setters),
//! `ume_gen_config` (how to generate: seed, samples, threads, design, part, resume,
//! splits, writer options), `ume_generate` (with the `ume_simulate_fn` and
//! `ume_progress_fn` callbacks) and `ume_gen_summary` (what a run did). All logic is in
//! `crate::engine`; this file converts arguments and callbacks.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void};
use std::path::Path;

use super::config::ume_writer_config;
use super::panic::{guard, guard_void};
use super::rng::ume_rng;
use super::status::ume_status;
use super::{
    free_handle, register_handle, try_handle, try_handle_mut, try_out, try_str, unregister_handle,
};
use crate::engine::{self, Design, GenerateOptions, Outcome, Progress, Simulate, Simulator};
use crate::error::{Error, Result};
use crate::seeds::SampleRng;
use crate::splits::SplitRule;

/// A simulator description (opaque): name, version, T, H, parameters (bounds, default,
/// unit), shocks (sigma), observables and names of rejection reasons. Created by
/// `ume_sim_new`, completed with `ume_sim_add_param`, `ume_sim_add_shock`, `ume_sim_add_obs`
/// (their order is the order of theta, shocks and observables in the arrays), released by
/// `ume_sim_free`. Not thread-safe while being changed; `ume_generate` only reads it.
pub struct ume_sim {
    pub(crate) inner: Simulator,
}

/// How to generate (opaque): created by `ume_gen_config_new` with the defaults (seed 42,
/// n_samples 0 = must be set for a new dataset, threads 0 = one per core, uniform design,
/// the whole world, no resume, train/val/test 0.8/0.1/0.1 seeded with the seed, the writer
/// defaults, max_attempts 1000), changed by `ume_gen_config_set_*` (each checks its value
/// at once and leaves the config unchanged on error), released by `ume_gen_config_free`.
/// `ume_generate` copies what it needs. Not thread-safe while being changed.
pub struct ume_gen_config {
    pub(crate) inner: GenerateOptions,
}

/// What one `ume_generate` call did (opaque): read with `ume_gen_summary_get` and
/// `ume_gen_summary_rejections`, release with `ume_gen_summary_free`.
pub struct ume_gen_summary {
    pub(crate) report: engine::Report,
}

/// The simulate callback, called for every attempt of every sample, from the engine's
/// threads, several at once (`user` must be safe to use concurrently, or the run single
/// threaded). `sample` is the index; `theta` (n_params) is this attempt's draw; `rng` is the
/// sample's own generator `ume_rng_new(seed, sample)`, already advanced past the theta
/// draws of the uniform design (the Sobol design and a table draw nothing from it), to
/// draw the shocks from (use it only during the call; do not free it);
/// `traj` (T × n_obs), `irfs` (n_shocks × (H+1) × n_obs) and `shocks` (T × n_shocks) are
/// row-major, zero on entry, and are what gets stored. Return 0 to accept the sample, a
/// reason code > 0 to reject this theta (it is counted and redrawn by the design),
/// a value < 0 to abort the whole run with an error (what was stored stays, resumable).
pub type ume_simulate_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        sample: u64,
        theta: *const f64,
        rng: *mut ume_rng,
        traj: *mut f64,
        irfs: *mut f64,
        shocks: *mut f64,
    ) -> i32,
>;

/// The progress callback: called after every stored sample, from the engine's threads but
/// one call at a time, with the samples stored by this run so far, the number this run has
/// to store, and the rate in samples per second. Return nonzero to stop: the engine stops
/// taking new samples, stores what was simulated, writes the manifest and returns UME_OK
/// with `UME_GEN_STOPPED` = 1 in the summary; the run can be resumed.
pub type ume_progress_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, done: u64, total: u64, rate: f64) -> i32>;

/// `ume_gen_summary_get`: samples simulated and stored by this call.
pub const UME_GEN_WRITTEN: u32 = 0;
/// `ume_gen_summary_get`: samples of the range already stored before this call.
pub const UME_GEN_ALREADY: u32 = 1;
/// `ume_gen_summary_get`: samples of the range still missing after this call.
pub const UME_GEN_MISSING: u32 = 2;
/// `ume_gen_summary_get`: 1 if the progress callback stopped the run, else 0.
pub const UME_GEN_STOPPED: u32 = 3;
/// `ume_gen_summary_get`: samples of the whole world stored on disk.
pub const UME_GEN_SAMPLES_WRITTEN: u32 = 4;
/// `ume_gen_summary_get`: rejected draws of this call's samples, all reasons together.
pub const UME_GEN_REJECTED: u32 = 5;

/// Creates a simulator description with no parameters, shocks or observables in `*out`.
/// `name` becomes the world id (`[A-Za-z0-9_.-]+`), `version` is recorded in the
/// manifest; T >= 1. The caller owns it and releases it with `ume_sim_free`. Errors:
/// UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_sim_new(
    name: *const c_char,
    version: *const c_char,
    t: u32,
    h: u32,
    out: *mut *mut ume_sim,
) -> ume_status {
    guard("ume_sim_new", || {
        // SAFETY: NULL-checked C strings and out-pointer, by the caller's contract.
        let out = unsafe { try_out(out, "out") }?;
        let name = unsafe { try_str(name, "name") }?;
        let version = unsafe { try_str(version, "version") }?;
        *out = register_handle(ume_sim {
            inner: Simulator::new(name, version, t, h)?,
        });
        Ok(())
    })
}

/// Releases a simulator description. NULL is a no-op; a double free is detected, ignored
/// and reported in the thread's error message.
#[no_mangle]
pub unsafe extern "C" fn ume_sim_free(sim: *mut ume_sim) {
    guard_void("ume_sim_free", || {
        // SAFETY: NULL or a handle from ume_sim_new (checked against the registry).
        unsafe { free_handle(sim, "ume_sim_free", "sim") }
    });
}

unsafe fn update_sim(
    name: &str,
    sim: *mut ume_sim,
    f: impl FnOnce(&mut Simulator) -> Result<()>,
) -> ume_status {
    guard(name, || {
        // SAFETY: checked against the registry; exclusivity is the documented contract.
        let s = unsafe { try_handle_mut(sim, "sim") }?;
        f(&mut s.inner)
    })
}

/// Adds a parameter (the next entry of theta), drawn uniformly in [lo, hi] (finite,
/// lo < hi), with a default in [lo, hi] and a unit ("-" for dimensionless). Errors:
/// UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT (bounds, default, repeated name).
#[no_mangle]
pub unsafe extern "C" fn ume_sim_add_param(
    sim: *mut ume_sim,
    name: *const c_char,
    lo: f64,
    hi: f64,
    default_value: f64,
    unit: *const c_char,
) -> ume_status {
    // SAFETY: forwarded contract; strings NULL-checked.
    unsafe {
        update_sim("ume_sim_add_param", sim, |s| {
            let name = try_str(name, "name")?;
            let unit = try_str(unit, "unit")?;
            s.add_param(name, lo, hi, default_value, unit)
        })
    }
}

/// Adds a shock (the next entry of the shocks and irfs arrays) with standard deviation
/// `sigma` (finite, > 0; recorded in the manifest). Errors: UME_ERR_NULL_ARGUMENT,
/// UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_sim_add_shock(
    sim: *mut ume_sim,
    name: *const c_char,
    sigma: f64,
) -> ume_status {
    // SAFETY: forwarded contract; string NULL-checked.
    unsafe {
        update_sim("ume_sim_add_shock", sim, |s| {
            s.add_shock(try_str(name, "name")?, sigma)
        })
    }
}

/// Adds an observable (the next entry of the trajectories and irfs arrays). Errors:
/// UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_sim_add_obs(sim: *mut ume_sim, name: *const c_char) -> ume_status {
    // SAFETY: forwarded contract; string NULL-checked.
    unsafe {
        update_sim("ume_sim_add_obs", sim, |s| {
            s.add_obs(try_str(name, "name")?)
        })
    }
}

/// Names rejection reason `code` (>= 1) for the manifest (e.g. 1 = "indeterminate");
/// unnamed codes are recorded as numbers. Errors: UME_ERR_NULL_ARGUMENT,
/// UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_sim_set_reject_reason(
    sim: *mut ume_sim,
    code: i32,
    name: *const c_char,
) -> ume_status {
    // SAFETY: forwarded contract; string NULL-checked.
    unsafe {
        update_sim("ume_sim_set_reject_reason", sim, |s| {
            let c = u32::try_from(code).map_err(|_| {
                Error::invalid(format!("reason code {code} is negative, expected >= 1"))
            })?;
            s.set_reject_reason(c, try_str(name, "name")?)
        })
    }
}

/// Creates a generation config holding the defaults in `*out` (see `ume_gen_config`). The
/// caller owns it and releases it with `ume_gen_config_free`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_new(out: *mut *mut ume_gen_config) -> ume_status {
    guard("ume_gen_config_new", || {
        // SAFETY: NULL-checked.
        let out = unsafe { try_out(out, "out") }?;
        *out = register_handle(ume_gen_config {
            inner: GenerateOptions::default(),
        });
        Ok(())
    })
}

/// Releases a generation config. NULL is a no-op; a double free is detected and reported.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_free(config: *mut ume_gen_config) {
    guard_void("ume_gen_config_free", || {
        // SAFETY: NULL or a handle from ume_gen_config_new (checked against the registry).
        unsafe { free_handle(config, "ume_gen_config_free", "config") }
    });
}

unsafe fn update_cfg(
    name: &str,
    config: *mut ume_gen_config,
    f: impl FnOnce(&mut GenerateOptions) -> Result<()>,
) -> ume_status {
    guard(name, || {
        // SAFETY: checked against the registry; exclusivity is the documented contract.
        let c = unsafe { try_handle_mut(config, "config") }?;
        let mut next = c.inner.clone();
        f(&mut next)?;
        c.inner = next;
        Ok(())
    })
}

/// Global seed: sample i draws from `ume_rng_new(seed, i)`. Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_seed(
    config: *mut ume_gen_config,
    seed: u64,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_seed", config, |o| {
            o.seed = seed;
            Ok(())
        })
    }
}

/// Number of samples of the world (0 = the dataset's, for resume, parts and finish).
/// Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_samples(
    config: *mut ume_gen_config,
    n_samples: u64,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_samples", config, |o| {
            o.n_samples = n_samples;
            Ok(())
        })
    }
}

/// Simulation threads (0 = one per core, at most 1024). The result does not depend on it.
/// Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_threads(
    config: *mut ume_gen_config,
    threads: u32,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_threads", config, |o| {
            let max = crate::writer::MAX_THREADS;
            if threads as usize > max {
                return Err(Error::invalid(format!(
                    "threads {threads} is too large, expected 0..={max} (0 = one per core)"
                )));
            }
            o.threads = threads as usize;
            Ok(())
        })
    }
}

/// Attempts per sample before the run fails naming the sample (0 = 1000, at most
/// 1000000). Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_max_attempts(
    config: *mut ume_gen_config,
    max_attempts: u32,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_max_attempts", config, |o| {
            if max_attempts > engine::MAX_ATTEMPTS_LIMIT {
                return Err(Error::invalid(format!(
                    "max_attempts {max_attempts} is too large, expected 0..={} (0 = {})",
                    engine::MAX_ATTEMPTS_LIMIT,
                    engine::MAX_ATTEMPTS_DEFAULT
                )));
            }
            o.max_attempts = max_attempts;
            Ok(())
        })
    }
}

/// Only samples [start, start + count) (chunk-aligned, checked by `ume_generate`): one of
/// many processes (MPI rank, array task). The world must exist (`ume_generate_prepare`);
/// after all parts, `ume_generate_finish` writes the manifest. count 0 = the whole world.
/// Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_OUT_OF_RANGE (start + count overflows).
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_part(
    config: *mut ume_gen_config,
    start: u64,
    count: u64,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_part", config, |o| {
            if start.checked_add(count).is_none() {
                return Err(Error::new(
                    crate::error::ErrorKind::OutOfRange,
                    format!("part [{start}, {start}+{count}) overflows 64 bits"),
                ));
            }
            o.part = (count > 0).then_some((start, count));
            Ok(())
        })
    }
}

/// Resume (nonzero): continue an existing dataset made by the engine, simulating only the
/// samples it lacks; seed, design, simulator and max_attempts must be the first run's.
/// Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_resume(
    config: *mut ume_gen_config,
    resume: i32,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_resume", config, |o| {
            o.resume = resume != 0;
            Ok(())
        })
    }
}

/// Train/val/test fractions of the split (each in [0, 1], summing to 1) and the seed of
/// the assignment. Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_split(
    config: *mut ume_gen_config,
    train: f64,
    val: f64,
    test: f64,
    split_seed: u64,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_split", config, |o| {
            let rule = SplitRule::standard(train, val, test, split_seed);
            rule.validate(&[])?;
            o.split_rule = Some(rule);
            Ok(())
        })
    }
}

/// How theta is drawn: `UME_DESIGN_UNIFORM` (0, the default: uniform within the bounds
/// from each sample's stream) or `UME_DESIGN_SOBOL` (1: point i of an Owen-scrambled Sobol
/// sequence for sample i, computed from (seed, i) alone, so threads, parts and resume give
/// the same dataset; a rejected draw is redrawn from an independently scrambled copy; the
/// simulator's `rng` is then `ume_rng_new(seed, i)` untouched by the design; at most 1024
/// parameters and 2^32 samples, checked by `ume_generate`). Replaces a theta table set
/// before. The exact formula is in the README and the manifest. Errors:
/// UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT (another value; the config is unchanged).
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_design(
    config: *mut ume_gen_config,
    design: u32,
) -> ume_status {
    // SAFETY: forwarded contract.
    unsafe {
        update_cfg("ume_gen_config_set_design", config, |o| {
            o.design = super::flags::design(design)?;
            Ok(())
        })
    }
}

/// Theta from a table instead of uniform draws: `values` holds n_samples × n_params
/// numbers, row-major (row i = theta of sample i), copied now (NULL with n_values 0 goes
/// back to the uniform design). Its size and values are checked by `ume_generate`; a
/// table row cannot be redrawn, so a rejected row is an error naming the sample.
/// Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_theta_table(
    config: *mut ume_gen_config,
    values: *const f64,
    n_values: usize,
) -> ume_status {
    // SAFETY: forwarded contract; `values` valid for n_values reads by the caller's contract.
    unsafe {
        update_cfg("ume_gen_config_set_theta_table", config, |o| {
            if values.is_null() && n_values == 0 {
                o.design = Design::Uniform;
                return Ok(());
            }
            let v = super::try_buffer(values, n_values, "values")?;
            o.design = Design::table(v.to_vec());
            Ok(())
        })
    }
}

/// Storage and writer options (codec, chunking, ...) from a writer config, copied now
/// (NULL = the defaults). Its thread count 0 means as many compression threads as
/// simulation threads. Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_config_set_writer_config(
    config: *mut ume_gen_config,
    writer_config: *const ume_writer_config,
) -> ume_status {
    // SAFETY: forwarded contract; writer_config NULL or a live handle (checked).
    unsafe {
        update_cfg("ume_gen_config_set_writer_config", config, |o| {
            o.writer = super::config::options(writer_config)?;
            Ok(())
        })
    }
}

/// A `ume_rng` handle of this thread, registered once, that lends its generator to C
/// for the length of one callback.
struct LentRng(*mut ume_rng);

impl Drop for LentRng {
    fn drop(&mut self) {
        if unregister_handle(self.0) {
            // SAFETY: registered by register_handle below and unregistered once, here.
            drop(unsafe { Box::from_raw(self.0) });
        }
    }
}

thread_local! {
    static LENT_RNG: RefCell<Option<LentRng>> = const { RefCell::new(None) };
}

pub(crate) struct CSimulate {
    pub(crate) f: unsafe extern "C" fn(
        *mut c_void,
        u64,
        *const f64,
        *mut ume_rng,
        *mut f64,
        *mut f64,
        *mut f64,
    ) -> i32,
    pub(crate) user: *mut c_void,
}

// SAFETY: `ume_generate` documents that the callback and `user` are used from several
// threads at once; the caller promises they are safe to use so.
unsafe impl Sync for CSimulate {}

impl Simulate for CSimulate {
    fn simulate(
        &self,
        sample: u64,
        theta: &[f64],
        rng: &mut SampleRng,
        traj: &mut [f64],
        irfs: &mut [f64],
        shocks: &mut [f64],
    ) -> Result<Outcome> {
        let handle = LENT_RNG.with(|cell| {
            cell.borrow_mut()
                .get_or_insert_with(|| {
                    LentRng(register_handle(ume_rng {
                        inner: SampleRng::new(0, 0),
                        lent: true,
                    }))
                })
                .0
        });
        // SAFETY: `handle` is this thread's live ume_rng; only this thread uses it, and only
        // during the call. The buffers are valid for their lengths for the whole call.
        let code = unsafe {
            std::mem::swap(&mut (*handle).inner, rng);
            let code = (self.f)(
                self.user,
                sample,
                theta.as_ptr(),
                handle,
                traj.as_mut_ptr(),
                irfs.as_mut_ptr(),
                shocks.as_mut_ptr(),
            );
            std::mem::swap(&mut (*handle).inner, rng);
            code
        };
        match code {
            0 => Ok(Outcome::Accept),
            c if c > 0 => Ok(Outcome::Reject(c as u32)),
            c => Err(Error::invalid(format!(
                "the simulate callback returned {c} (a negative value aborts the run)"
            ))),
        }
    }
}

struct CProgress {
    f: unsafe extern "C" fn(*mut c_void, u64, u64, f64) -> i32,
    user: *mut c_void,
}

// SAFETY: called one call at a time (under the engine's lock) from its threads, as
// documented for `ume_progress_fn`.
unsafe impl Send for CProgress {}

/// Runs the simulator `sim` with `simulate` over the samples `config` asks for and writes
/// them to the dataset at `path` (see `ume_gen_config`): a new world with its manifest and
/// splits, a resumed one (`ume_gen_config_set_resume`) or one part
/// (`ume_gen_config_set_part`). Sample i is a function of (seed, i) alone: the same seed
/// gives byte-identical arrays for any thread count, any stop/resume history and any
/// split into parts. Theta is drawn per attempt from `ume_rng_new(seed, i)` as
/// `lo + (hi - lo) * uniform` in parameter order (or is point i of the Sobol design, see
/// `ume_gen_config_set_design`, or is taken from the theta table), then the
/// callback continues the same stream; a rejected theta is redrawn, up to
/// max_attempts (default 1000) attempts, then the run fails naming the sample.
/// `simulate` and `progress` are called from the engine's threads (see their typedefs);
/// `progress` may be NULL. `summary_out` may be NULL; otherwise `*summary_out` receives a
/// summary the caller releases with `ume_gen_summary_free` (also after a stop).
/// Errors: UME_ERR_NULL_ARGUMENT; UME_ERR_INVALID_ARGUMENT (a description, option, or a
/// seed/design/simulator that differs from the dataset's on resume; a callback that
/// returned < 0 or a sample that found no accepted draw: the message names the sample);
/// UME_ERR_ALREADY_EXISTS; UME_ERR_LENGTH_MISMATCH (theta table size); UME_ERR_NON_FINITE;
/// I/O and format errors of the writer. After an error, what was stored stays valid and
/// the run can be resumed.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ume_generate(
    path: *const c_char,
    sim: *const ume_sim,
    config: *const ume_gen_config,
    simulate: ume_simulate_fn,
    user: *mut c_void,
    progress: ume_progress_fn,
    progress_user: *mut c_void,
    summary_out: *mut *mut ume_gen_summary,
) -> ume_status {
    guard("ume_generate", || {
        // SAFETY: NULL-checked arguments and live handles, by the caller's contract.
        let path = unsafe { try_str(path, "path") }?;
        let sim = unsafe { try_handle(sim, "sim") }?;
        let config = unsafe { try_handle(config, "config") }?;
        let f = simulate.ok_or_else(|| super::null("simulate"))?;
        let c_sim = CSimulate { f, user };
        let mut c_progress = progress.map(|f| CProgress {
            f,
            user: progress_user,
        });
        let mut call = c_progress.as_mut().map(|p| {
            move |info: Progress| {
                // SAFETY: the caller's callback, called one at a time.
                unsafe { (p.f)(p.user, info.done, info.total, info.rate) != 0 }
            }
        });
        let report = engine::generate(
            Path::new(path),
            &sim.inner,
            &c_sim,
            &config.inner,
            call.as_mut()
                .map(|c| c as &mut (dyn FnMut(Progress) -> bool + Send)),
        )?;
        if !summary_out.is_null() {
            // SAFETY: non-NULL, valid for one write by the caller's contract.
            unsafe { *summary_out = register_handle(ume_gen_summary { report }) };
        }
        Ok(())
    })
}

/// Creates the world of `sim` and its manifest at `path`, storing no sample: the first
/// step of a run split into parts (call it once, e.g. on MPI rank 0, before the parts).
/// `config` must not have a part or resume set. Errors: as `ume_generate`.
#[no_mangle]
pub unsafe extern "C" fn ume_generate_prepare(
    path: *const c_char,
    sim: *const ume_sim,
    config: *const ume_gen_config,
) -> ume_status {
    guard("ume_generate_prepare", || {
        // SAFETY: NULL-checked arguments and live handles.
        let path = unsafe { try_str(path, "path") }?;
        let sim = unsafe { try_handle(sim, "sim") }?;
        let config = unsafe { try_handle(config, "config") }?;
        engine::prepare(Path::new(path), &sim.inner, &config.inner)
    })
}

/// The last step of a run split into parts (call it once, after every part returned):
/// records the rejections of all parts, computes the splits and writes the final
/// manifest. Errors: as `ume_generate`.
#[no_mangle]
pub unsafe extern "C" fn ume_generate_finish(
    path: *const c_char,
    sim: *const ume_sim,
    config: *const ume_gen_config,
) -> ume_status {
    guard("ume_generate_finish", || {
        // SAFETY: NULL-checked arguments and live handles.
        let path = unsafe { try_str(path, "path") }?;
        let sim = unsafe { try_handle(sim, "sim") }?;
        let config = unsafe { try_handle(config, "config") }?;
        engine::finish(Path::new(path), &sim.inner, &config.inner).map(|_| ())
    })
}

/// Stores one number of the summary in `*out`: `what` is UME_GEN_WRITTEN,
/// UME_GEN_ALREADY, UME_GEN_MISSING, UME_GEN_STOPPED, UME_GEN_SAMPLES_WRITTEN or
/// UME_GEN_REJECTED. Errors: UME_ERR_NULL_ARGUMENT, UME_ERR_INVALID_ARGUMENT (unknown `what`).
#[no_mangle]
pub unsafe extern "C" fn ume_gen_summary_get(
    summary: *const ume_gen_summary,
    what: u32,
    out: *mut u64,
) -> ume_status {
    guard("ume_gen_summary_get", || {
        // SAFETY: NULL-checked live handle and out-pointer.
        let s = unsafe { try_handle(summary, "summary") }?;
        let out = unsafe { try_out(out, "out") }?;
        let r = &s.report;
        *out = match what {
            UME_GEN_WRITTEN => r.written,
            UME_GEN_ALREADY => r.already,
            UME_GEN_MISSING => r.missing,
            UME_GEN_STOPPED => u64::from(r.stopped),
            UME_GEN_SAMPLES_WRITTEN => r.summary.samples_written,
            UME_GEN_REJECTED => r.rejections.values().sum(),
            other => {
                return Err(Error::invalid(format!(
                "what {other} is not known, expected UME_GEN_WRITTEN (0) .. UME_GEN_REJECTED (5)"
            )))
            }
        };
        Ok(())
    })
}

/// Stores in `*out` how many draws of this call's samples were rejected with reason
/// `code` (0 if none). Errors: UME_ERR_NULL_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_summary_rejections(
    summary: *const ume_gen_summary,
    code: i32,
    out: *mut u64,
) -> ume_status {
    guard("ume_gen_summary_rejections", || {
        // SAFETY: NULL-checked live handle and out-pointer.
        let s = unsafe { try_handle(summary, "summary") }?;
        let out = unsafe { try_out(out, "out") }?;
        let map: &BTreeMap<u32, u64> = &s.report.rejections;
        *out = u32::try_from(code)
            .ok()
            .and_then(|c| map.get(&c).copied())
            .unwrap_or(0);
        Ok(())
    })
}

/// Releases a summary. NULL is a no-op; a double free is detected and reported.
#[no_mangle]
pub unsafe extern "C" fn ume_gen_summary_free(summary: *mut ume_gen_summary) {
    guard_void("ume_gen_summary_free", || {
        // SAFETY: NULL or a handle from ume_generate (checked against the registry).
        unsafe { free_handle(summary, "ume_gen_summary_free", "summary") }
    });
}
