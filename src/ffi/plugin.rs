//! Simulator plugins for `umedata generate --sim ./libmysim.so`: the one versioned entry
//! point a plugin exports (`umedata_plugin_v1`), the description it fills in
//! (`ume_plugin_v1`), and the host side that checks that description and wraps its
//! callback for the engine (`load_v1`, used by the CLI, which opens the library).
//!
//! A plugin does not link libumedata: it includes `umedata.h` for the types only, and
//! draws its shocks through the generator functions the host puts into the struct (they
//! are the host's own `ume_rng_*`, so the host's lent generator is the one drawn from).

use std::ffi::{c_char, c_void};

use super::engine::{ume_simulate_fn, CSimulate};
use super::rng::ume_rng;
use super::status::ume_status;
use super::{try_buffer, try_names, try_str};
use crate::engine::{Simulate, Simulator};
use crate::error::{Error, Result};

/// Version of the plugin ABI this library implements: the host sets
/// `ume_plugin_v1.abi_version` to it before calling `umedata_plugin_v1`.
pub const UME_PLUGIN_ABI_VERSION: u32 = 1;

/// `double` generator function a host lends a plugin (`ume_rng_uniform`, `ume_rng_normal`):
/// stores the next draw of `rng` in `*out`; returns UME_OK.
pub type ume_plugin_rng_fn =
    Option<unsafe extern "C" fn(rng: *mut ume_rng, out: *mut f64) -> ume_status>;

/// Buffer generator function a host lends a plugin (`ume_rng_fill_normal`): fills `n`
/// draws into `buf`; returns UME_OK.
pub type ume_plugin_rng_fill_fn =
    Option<unsafe extern "C" fn(rng: *mut ume_rng, buf: *mut f64, n: usize) -> ume_status>;

/// What a simulator plugin declares (ABI version 1). The HOST zeroes the struct, sets the
/// "in" fields and calls the plugin's entry point `int32_t umedata_plugin_v1(ume_plugin_v1
/// *p)`, which fills the "out" fields and returns 0 (nonzero: the plugin refuses, e.g. an
/// `abi_version` it does not know; the host reports the code).
///
/// Growth: later versions only append fields. `struct_size` is the size of the struct the
/// host allocated: a plugin must not write beyond it, and a host reads only the fields a
/// plugin of this `abi_version` knows. A change that cannot be appended gets a new entry
/// point (`umedata_plugin_v2`).
///
/// Everything the plugin points to (strings, arrays, `user`) must stay valid and unchanged
/// while the library is loaded. `simulate` is called from several threads at once (see
/// `ume_simulate_fn`): it must draw only from the `rng` it is given, through the `rng_*`
/// functions of this struct (copy them in the entry point), so a sample is a function of
/// (seed, index) alone and `umedata validate --reproduce` can re-simulate it.
#[repr(C)]
#[allow(non_snake_case)]
pub struct ume_plugin_v1 {
    /// In: `sizeof(ume_plugin_v1)` of the host.
    pub struct_size: u32,
    /// In: `UME_PLUGIN_ABI_VERSION` of the host.
    pub abi_version: u32,
    /// In: the host's `ume_rng_uniform` (uniform in [0, 1)).
    pub rng_uniform: ume_plugin_rng_fn,
    /// In: the host's `ume_rng_normal` (standard normal).
    pub rng_normal: ume_plugin_rng_fn,
    /// In: the host's `ume_rng_fill_normal` (n standard normals).
    pub rng_fill_normal: ume_plugin_rng_fill_fn,
    /// Out: simulator name, the world id (`[A-Za-z0-9_.-]+`).
    pub name: *const c_char,
    /// Out: simulator version (free text, recorded in the manifest).
    pub version: *const c_char,
    /// Out: trajectory length (>= 1).
    pub T: u32,
    /// Out: IRF horizon (IRFs have H+1 points).
    pub H: u32,
    /// Out: number of parameters (>= 1).
    pub n_params: u32,
    /// Out: `n_params` parameter names, in theta order.
    pub param_names: *const *const c_char,
    /// Out: `n_params` lower bounds (theta is drawn uniformly in [lo, hi]).
    pub param_lo: *const f64,
    /// Out: `n_params` upper bounds (> lo).
    pub param_hi: *const f64,
    /// Out: `n_params` defaults within the bounds, or NULL (the midpoints).
    pub param_default: *const f64,
    /// Out: `n_params` units, or NULL (all "-").
    pub param_units: *const *const c_char,
    /// Out: number of shocks.
    pub n_shocks: u32,
    /// Out: `n_shocks` shock names.
    pub shock_names: *const *const c_char,
    /// Out: `n_shocks` standard deviations (> 0, recorded in the manifest).
    pub shock_sigma: *const f64,
    /// Out: number of observables (>= 1).
    pub n_obs: u32,
    /// Out: `n_obs` observable names.
    pub obs_names: *const *const c_char,
    /// Out: number of named rejection reasons (may be 0).
    pub n_reject_reasons: u32,
    /// Out: names of reason codes 1..=n_reject_reasons, or NULL.
    pub reject_reason_names: *const *const c_char,
    /// Out: the simulate callback (required).
    pub simulate: ume_simulate_fn,
    /// Out: passed to `simulate` as `user`.
    pub user: *mut c_void,
}

/// The entry point a plugin exports under the name `umedata_plugin_v1`. Returns 0 when it
/// filled `p`, nonzero to refuse.
pub type ume_plugin_entry_v1 = Option<unsafe extern "C" fn(p: *mut ume_plugin_v1) -> i32>;

/// A plugin's simulator, checked, with its callback (Rust host side).
pub struct LoadedPlugin {
    /// The simulator it declared.
    pub sim: Simulator,
    simulate: CSimulate,
}

// SAFETY: a plugin's callback and `user` are documented (ume_plugin_v1) as usable from
// any thread, several at once; the description is owned Rust data.
unsafe impl Send for LoadedPlugin {}

impl LoadedPlugin {
    /// Its callback, for [`crate::engine::generate`] and
    /// [`crate::engine::simulate_sample`].
    pub fn simulate(&self) -> &dyn Simulate {
        &self.simulate
    }
}

/// Calls a plugin's entry point and checks what it declared (names, counts, bounds,
/// sigma, callback). Errors name the field and the value the plugin gave.
///
/// # Safety
/// `entry` must be the `umedata_plugin_v1` function of a library that stays loaded as
/// long as the result is used, and must follow the contract of [`ume_plugin_v1`].
pub unsafe fn load_v1(
    entry: unsafe extern "C" fn(*mut ume_plugin_v1) -> i32,
) -> Result<LoadedPlugin> {
    let mut p = ume_plugin_v1 {
        struct_size: std::mem::size_of::<ume_plugin_v1>() as u32,
        abi_version: UME_PLUGIN_ABI_VERSION,
        rng_uniform: Some(super::rng::ume_rng_uniform),
        rng_normal: Some(super::rng::ume_rng_normal),
        rng_fill_normal: Some(super::rng::ume_rng_fill_normal),
        name: std::ptr::null(),
        version: std::ptr::null(),
        T: 0,
        H: 0,
        n_params: 0,
        param_names: std::ptr::null(),
        param_lo: std::ptr::null(),
        param_hi: std::ptr::null(),
        param_default: std::ptr::null(),
        param_units: std::ptr::null(),
        n_shocks: 0,
        shock_names: std::ptr::null(),
        shock_sigma: std::ptr::null(),
        n_obs: 0,
        obs_names: std::ptr::null(),
        n_reject_reasons: 0,
        reject_reason_names: std::ptr::null(),
        simulate: None,
        user: std::ptr::null_mut(),
    };
    // SAFETY: the caller's contract; `p` is a valid, initialized struct of the size given.
    let code = unsafe { entry(&mut p) };
    if code != 0 {
        return Err(Error::invalid(format!(
            "the plugin's umedata_plugin_v1 returned {code}, expected 0 (it refused ABI version {UME_PLUGIN_ABI_VERSION})"
        )));
    }
    let need = |ptr_null: bool, n: u32, field: &str| {
        if ptr_null && n > 0 {
            Err(Error::invalid(format!(
                "plugin field {field} is NULL, expected {n} entries"
            )))
        } else {
            Ok(())
        }
    };
    // SAFETY (all blocks below): the plugin's contract: each pointer is NULL (checked) or
    // holds as many valid entries as its count says, strings NUL-terminated.
    let name = unsafe { try_str(p.name, "name") }?;
    let version = unsafe { try_str(p.version, "version") }?;
    let mut sim = Simulator::new(name, version, p.T, p.H)?;
    let n = p.n_params as usize;
    need(p.param_names.is_null(), p.n_params, "param_names")?;
    let names = unsafe { try_names(p.param_names, p.n_params, "param_names", "p") }?;
    let lo = unsafe { try_buffer(p.param_lo, n, "param_lo") }?;
    let hi = unsafe { try_buffer(p.param_hi, n, "param_hi") }?;
    let def: Vec<f64> = if p.param_default.is_null() {
        lo.iter().zip(hi).map(|(a, b)| 0.5 * (a + b)).collect()
    } else {
        unsafe { try_buffer(p.param_default, n, "param_default") }?.to_vec()
    };
    let units: Vec<String> = if p.param_units.is_null() {
        vec!["-".into(); n]
    } else {
        unsafe { try_names(p.param_units, p.n_params, "param_units", "") }?
    };
    for j in 0..n {
        sim.add_param(&names[j], lo[j], hi[j], def[j], &units[j])
            .map_err(|e| e.context("plugin"))?;
    }
    need(p.shock_names.is_null(), p.n_shocks, "shock_names")?;
    let shocks = unsafe { try_names(p.shock_names, p.n_shocks, "shock_names", "s") }?;
    let sigma: &[f64] = if p.n_shocks == 0 {
        &[]
    } else {
        unsafe { try_buffer(p.shock_sigma, p.n_shocks as usize, "shock_sigma") }?
    };
    for (s, sd) in shocks.iter().zip(sigma) {
        sim.add_shock(s, *sd).map_err(|e| e.context("plugin"))?;
    }
    need(p.obs_names.is_null(), p.n_obs, "obs_names")?;
    for o in unsafe { try_names(p.obs_names, p.n_obs, "obs_names", "o") }? {
        sim.add_obs(&o).map_err(|e| e.context("plugin"))?;
    }
    if !p.reject_reason_names.is_null() {
        let reasons = unsafe {
            try_names(
                p.reject_reason_names,
                p.n_reject_reasons,
                "reject_reason_names",
                "",
            )
        }?;
        for (k, r) in reasons.iter().enumerate() {
            sim.set_reject_reason(k as u32 + 1, r)
                .map_err(|e| e.context("plugin"))?;
        }
    }
    sim.validate().map_err(|e| e.context("plugin"))?;
    let f = p.simulate.ok_or_else(|| {
        Error::invalid("plugin field simulate is NULL, expected the simulate callback")
    })?;
    Ok(LoadedPlugin {
        sim,
        simulate: CSimulate { f, user: p.user },
    })
}
