//! How theta is drawn for a sample: uniform within the bounds from the sample's own stream,
//! or a row of a table the user supplies.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::seeds::SampleRng;
use crate::world::WorldDesc;

use super::Param;

/// The experimental design of theta.
#[derive(Debug, Clone, PartialEq)]
pub enum Design {
    /// Per attempt, `theta[j] = lo_j + (hi_j − lo_j) · rng.uniform()` in parameter order,
    /// from the sample's own stream (the default).
    Uniform,
    /// Row `i` (row-major, `n_samples × n_params`) is theta of sample `i`. A table row
    /// cannot be redrawn: a rejected row is an error naming the sample.
    Table(Arc<Vec<f64>>),
}

impl Design {
    /// A table design from `n_samples × n_params` values, row-major.
    pub fn table(rows: Vec<f64>) -> Self {
        Design::Table(Arc::new(rows))
    }

    /// Whether a rejected draw can be redrawn.
    pub(crate) fn redraws(&self) -> bool {
        matches!(self, Design::Uniform)
    }

    /// Checks the design against the world (a table's size and values).
    pub(crate) fn check(&self, desc: &WorldDesc) -> Result<()> {
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

    /// Theta of one attempt of sample `i`.
    pub(crate) fn draw(&self, i: u64, params: &[Param], rng: &mut SampleRng, theta: &mut [f64]) {
        match self {
            Design::Uniform => {
                for (x, p) in theta.iter_mut().zip(params) {
                    *x = p.lo + (p.hi - p.lo) * rng.uniform();
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
