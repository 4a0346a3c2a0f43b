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
