//! How theta is drawn for a sample: uniform within the bounds from the sample's own stream,
//! a point of a scrambled Sobol sequence (see [`super::sobol`]), or a row of a table the
//! user supplies.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::seeds::SampleRng;
use crate::world::WorldDesc;

use super::sobol::{self, MAX_DIMENSION, MAX_POINTS};
use super::Param;

/// The experimental design of theta.
#[derive(Debug, Clone, PartialEq)]
pub enum Design {
    /// Per attempt, `theta[j] = lo_j + (hi_j − lo_j) · rng.uniform()` in parameter order,
    /// from the sample's own stream (the default).
    Uniform,
    /// Attempt `a` of sample `i`: `theta[j] = lo_j + (hi_j − lo_j) · u`, with `u` coordinate
    /// `j` of point `i` of the Owen-scrambled Sobol sequence scrambled by `(seed, a)` (the
    /// exact formula: [`crate::engine`], "The Sobol design"). It does not draw from the
    /// sample's stream: the simulator gets `SampleRng(seed, i)` untouched at attempt 0.
    /// At most [`sobol::MAX_DIMENSION`] parameters and [`sobol::MAX_POINTS`] samples.
    Sobol,
    /// Row `i` (row-major, `n_samples × n_params`) is theta of sample `i`. A table row
    /// cannot be redrawn: a rejected row is an error naming the sample.
    Table(Arc<Vec<f64>>),
}

impl Design {
    /// A table design from `n_samples × n_params` values, row-major.
    pub fn table(rows: Vec<f64>) -> Self {
        Design::Table(Arc::new(rows))
    }

    /// The design named `name`: `"uniform"` or `"sobol"` (a table needs its values:
    /// [`Design::table`]).
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "uniform" => Ok(Design::Uniform),
            "sobol" => Ok(Design::Sobol),
            other => Err(Error::invalid(format!(
                "design '{other}' is not known (expected 'uniform' or 'sobol')"
            ))),
        }
    }

    /// The design's kind as the manifest records it: `"uniform"`, `"sobol"` or `"table"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Design::Uniform => "uniform",
            Design::Sobol => "sobol",
            Design::Table(_) => "table",
        }
    }

    /// The design a manifest records (`config.engine.design`), for `validate --reproduce`
    /// and resumed runs: uniform or Sobol, whose record must be exactly this library's
    /// (another formula would draw other values). A table is not in the manifest (only its
    /// SHA-256): an error says so.
    pub fn from_json(v: &Value) -> Result<Self> {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("?");
        let d = match kind {
            "table" => {
                return Err(Error::invalid(
                    "the theta design is a table the user supplied; the manifest keeps only its sha256, so the table itself is needed",
                ))
            }
            k => Design::from_name(k)?,
        };
        if d.to_json() != *v {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "the recorded design {v} is not the '{kind}' design of this library ({}): it was drawn by another formula",
                    d.to_json()
                ),
            ));
        }
        Ok(d)
    }

    /// Whether a rejected draw can be redrawn.
    pub(crate) fn redraws(&self) -> bool {
        matches!(self, Design::Uniform | Design::Sobol)
    }

    /// Checks that sample `i` of a world with `n_params` parameters can be drawn (the Sobol
    /// design's limits).
    pub(crate) fn check_point(&self, i: u64, n_params: u32) -> Result<()> {
        if let Design::Sobol = self {
            if n_params > MAX_DIMENSION {
                return Err(Error::invalid(format!(
                    "n_params {n_params} is above the Sobol design's limit of {MAX_DIMENSION} dimensions (the embedded Joe-Kuo direction numbers); use the uniform design or a theta table"
                )));
            }
            if i >= MAX_POINTS {
                return Err(Error::new(
                    ErrorKind::OutOfRange,
                    format!(
                        "sample index {i} is beyond the Sobol design's {MAX_POINTS} = 2^32 points"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks the design against the world (a table's size and values, the Sobol design's
    /// limits).
    pub(crate) fn check(&self, desc: &WorldDesc) -> Result<()> {
        if let Design::Sobol = self {
            if desc.n_samples > MAX_POINTS {
                return Err(Error::invalid(format!(
                    "n_samples {} is above the Sobol design's limit of {MAX_POINTS} = 2^32 samples; use the uniform design",
                    desc.n_samples
                )));
            }
            self.check_point(0, desc.n_params)?;
        }
        if let Design::Table(rows) = self {
            let want = desc.n_samples as u128 * u128::from(desc.n_params);
            if rows.len() as u128 != want {
                return Err(Error::new(
                    ErrorKind::LengthMismatch,
                    format!(
                        "theta table has {} values, expected n_samples × n_params = {} × {} = {want}",
                        rows.len(),
                        desc.n_samples,
                        desc.n_params
                    ),
                ));
            }
            if let Some(k) = rows.iter().position(|x| !x.is_finite()) {
                let p = desc.n_params as usize;
                return Err(Error::new(
                    ErrorKind::NonFinite,
                    format!(
                        "theta table row {} column {} ('{}') is {}, expected a finite value",
                        k / p,
                        k % p,
                        desc.param_names[k % p],
                        rows[k]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Theta of attempt `attempt` (0 = the first draw) of sample `i` under global seed
    /// `seed` (checked by [`Design::check`] or [`Design::check_point`]).
    pub(crate) fn draw(
        &self,
        seed: u64,
        i: u64,
        attempt: u32,
        params: &[Param],
        rng: &mut SampleRng,
        theta: &mut [f64],
    ) {
        match self {
            Design::Uniform => {
                for (x, p) in theta.iter_mut().zip(params) {
                    *x = p.lo + (p.hi - p.lo) * rng.uniform();
                }
            }
            Design::Sobol => {
                for (j, (x, p)) in theta.iter_mut().zip(params).enumerate() {
                    *x = p.lo + (p.hi - p.lo) * sobol::coordinate(seed, attempt, i, j as u32);
                }
            }
            Design::Table(rows) => {
                let n = theta.len();
                let at = i as usize * n;
                theta.copy_from_slice(&rows[at..at + n]);
            }
        }
    }

    /// The design's record in the manifest (a table by its SHA-256, of its values as
    /// little-endian f64 bytes, row-major).
    pub fn to_json(&self) -> Value {
        match self {
            Design::Uniform => json!({
                "kind": "uniform",
                "draw": "theta[j] = lo_j + (hi_j - lo_j) * uniform(), parameter order, per attempt",
            }),
            Design::Sobol => json!({
                "kind": "sobol",
                "draw": "theta[j] = lo_j + (hi_j - lo_j) * u_j(seed, attempt, i); does not draw from SampleRng(seed, i)",
                "sequence": "Sobol, binary order (point i = XOR of the direction numbers of the bits set in i), 32 digits, direction numbers of Joe and Kuo new-joe-kuo-6.21201 (dimension j = line j+1; j = 0: van der Corput)",
                "seed_derivation": "h = mix64(mix64(seed ^ 0x736F626F6C000001) + 0x9E3779B97F4A7C15 * (2^32 * attempt + j + 1)) mod 2^64, mix64 = SplitMix64 output function",
                "scramble": "Owen nested uniform scrambling, Laine-Karras hash (Burley 2020) with Vegdahl 2021 constants: y = rev32(lk(rev32(x), h >> 32)), lk(n, s): n ^= n*0x3D20ADEA; n += s; n *= (s >> 16) | 1; n ^= n*0x05526C56; n ^= n*0x53A22864 (mod 2^32)",
                "low_digits": "t = mix64(h ^ x * 0x9E3779B97F4A7C15) >> 43; u = (y * 2^21 + t) * 2^-53",
                "redraw": "attempt a uses point i of the copy scrambled with (seed, a)",
                "max_dimension": MAX_DIMENSION,
                "max_samples": MAX_POINTS,
            }),
            Design::Table(rows) => {
                let bytes: Vec<u8> = rows.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!({
                    "kind": "table",
                    "values": rows.len(),
                    "sha256": crate::digest::sha256_hex(&bytes),
                })
            }
        }
    }
}
