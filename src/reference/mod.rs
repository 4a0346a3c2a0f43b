//! Built-in reference worlds: real models a new user can generate a dataset from with one
//! command (`umedata generate --world nk`), and that `umedata validate --reproduce` can
//! re-simulate from a sample's recorded seed to check stored data bit for bit.
//!
//! Everything here is pure safe Rust and deterministic: given the same theta and shocks,
//! the same bits come out on every machine (only IEEE-754 basic operations and the
//! correctly rounded square root are used; the random draws come from
//! [`crate::seeds::SampleRng`]).

pub mod nk;

/// Names of the built-in worlds.
pub const WORLDS: [&str; 1] = [nk::WORLD_ID];

use crate::error::Result;
use crate::manifest::Manifest;

/// Key of a built-in world's configuration ([`nk::Config::to_json`]) inside the manifest's
/// `config`, as `umedata generate` records it.
pub const CONFIG_WORLD_KEY: &str = "reference_world";
/// Key of the theta-draw redraw counts inside the manifest's `config`
/// (`indeterminate_redrawn`, `no_stable_solution_redrawn`).
pub const CONFIG_DRAWS_KEY: &str = "theta_draws";

/// The built-in world configuration a manifest records for world `id`: `None` when `id`
/// is not a built-in world generated from a recorded configuration, `Some(Err)` when the
/// recorded configuration is not valid.
pub fn config_from_manifest(m: &Manifest, id: &str) -> Option<Result<nk::Config>> {
    let v = m.config.as_ref()?.get(CONFIG_WORLD_KEY)?;
    if id != nk::WORLD_ID || v.get("world").and_then(|w| w.as_str()) != Some(id) {
        return None;
    }
    Some(nk::Config::from_json(v))
}
