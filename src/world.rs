//! A world: one simulator's dataset group, its dimensions, names and the arrays it holds.

use crate::error::{Error, ErrorKind, Result};
use serde_json::{json, Value};

/// Longest name accepted for a world, parameter, shock or observable.
pub const MAX_NAME_LEN: usize = 256;

/// Description of a world: what a simulator produces per sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldDesc {
    /// Group name inside the dataset, `[A-Za-z0-9_.-]+`, e.g. `nk`.
    pub world_id: String,
    /// Number of samples the world will hold.
    pub n_samples: u64,
    /// Trajectory length.
    pub t: u32,
    /// IRF horizon; IRFs have `h + 1` points.
    pub h: u32,
    /// Number of parameters in `theta`.
    pub n_params: u32,
    /// Number of shocks.
    pub n_shocks: u32,
    /// Number of observables.
    pub n_obs: u32,
    /// Parameter names, `n_params` of them.
    pub param_names: Vec<String>,
    /// Shock names, `n_shocks` of them.
    pub shock_names: Vec<String>,
    /// Observable names, `n_obs` of them.
    pub obs_names: Vec<String>,
}

/// The four per-sample arrays of a world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrayKind {
    /// `(n_params,)` parameters in natural units.
    Theta,
    /// `(T, n_obs)` simulated observables.
    Trajectories,
    /// `(n_shocks, H+1, n_obs)` impulse responses.
    Irfs,
    /// `(T, n_shocks)` shock sequence in standard-deviation units.
    Shocks,
}

impl ArrayKind {
    /// All data arrays, in the order of the C API arguments.
    pub const ALL: [ArrayKind; 4] = [
        ArrayKind::Theta,
        ArrayKind::Trajectories,
        ArrayKind::Irfs,
        ArrayKind::Shocks,
    ];

    /// Array name inside the world group.
    pub fn name(self) -> &'static str {
        match self {
            ArrayKind::Theta => "theta",
            ArrayKind::Trajectories => "trajectories",
            ArrayKind::Irfs => "irfs",
            ArrayKind::Shocks => "shocks",
        }
    }

    /// Dimension names, sample axis first.
    pub fn dimension_names(self) -> &'static [&'static str] {
        match self {
            ArrayKind::Theta => &["sample", "param"],
            ArrayKind::Trajectories => &["sample", "time", "observable"],
            ArrayKind::Irfs => &["sample", "shock", "horizon", "observable"],
            ArrayKind::Shocks => &["sample", "time", "shock"],
        }
    }
}

/// Name of the per-sample mask array (uint8, 1 where stored).
pub const WRITTEN: &str = "written";

impl WorldDesc {
    /// A description with generated names (`p0..`, `s0..`, `y0..`).
    pub fn new(
        world_id: &str,
        n_samples: u64,
        t: u32,
        h: u32,
        n_params: u32,
        n_shocks: u32,
        n_obs: u32,
    ) -> Self {
        let gen = |p: &str, n: u32| (0..n).map(|i| format!("{p}{i}")).collect();
        Self {
            world_id: world_id.to_string(),
            n_samples,
            t,
            h,
            n_params,
            n_shocks,
            n_obs,
            param_names: gen("p", n_params),
            shock_names: gen("s", n_shocks),
            obs_names: gen("y", n_obs),
        }
    }

    /// Per-sample shape of an array (without the sample axis).
    pub fn sample_dims(&self, kind: ArrayKind) -> Vec<usize> {
        let (t, h1) = (self.t as usize, self.h as usize + 1);
        let (p, s, o) = (
            self.n_params as usize,
            self.n_shocks as usize,
            self.n_obs as usize,
        );
        match kind {
            ArrayKind::Theta => vec![p],
            ArrayKind::Trajectories => vec![t, o],
            ArrayKind::Irfs => vec![s, h1, o],
            ArrayKind::Shocks => vec![t, s],
        }
    }

    /// Elements per sample of an array.
    pub fn sample_len(&self, kind: ArrayKind) -> usize {
        self.sample_dims(kind).iter().product()
    }

    /// Bytes per sample of all data arrays as float32.
    pub fn sample_bytes(&self) -> usize {
        ArrayKind::ALL.iter().map(|k| self.sample_len(*k) * 4).sum()
    }

    /// Checks every field; the message names the field, the value and what is expected.
    pub fn validate(&self) -> Result<()> {
        check_name("world_id", &self.world_id)?;
        if self.world_id.starts_with('.') || self.world_id.starts_with("__") {
            return Err(Error::invalid(format!(
                "world_id '{}' must not start with '.' or '__' (reserved by Zarr)",
                self.world_id
            )));
        }
        if self.n_samples == 0 {
            return Err(Error::invalid("n_samples is 0, expected at least 1"));
        }
        // 2^40 samples: beyond any campaign, and keeps index arithmetic far from overflow.
        if self.n_samples > (1u64 << 40) {
            return Err(Error::invalid(format!(
                "n_samples {} is too large (at most 2^40 = {})",
                self.n_samples,
                1u64 << 40
            )));
        }
        for (field, v) in [
            ("T", self.t),
            ("n_params", self.n_params),
            ("n_shocks", self.n_shocks),
            ("n_obs", self.n_obs),
        ] {
            if v == 0 {
                return Err(Error::invalid(format!("{field} is 0, expected at least 1")));
            }
        }
        if self.sample_bytes() > 1 << 30 {
            return Err(Error::invalid(format!(
                "one sample would take {} bytes (T={}, H={}, n_params={}, n_shocks={}, n_obs={}); at most 1 GiB per sample is supported",
                self.sample_bytes(), self.t, self.h, self.n_params, self.n_shocks, self.n_obs
            )));
        }
        for (field, names, n) in [
            ("param_names", &self.param_names, self.n_params),
            ("shock_names", &self.shock_names, self.n_shocks),
            ("obs_names", &self.obs_names, self.n_obs),
        ] {
            if names.len() != n as usize {
                return Err(Error::invalid(format!(
                    "{field} has {} names, expected {n}",
                    names.len()
                )));
            }
            for (i, name) in names.iter().enumerate() {
                if name.is_empty() || name.len() > MAX_NAME_LEN {
                    return Err(Error::invalid(format!(
                        "{field}[{i}] has length {}, expected 1..={MAX_NAME_LEN}",
                        name.len()
                    )));
                }
                if name.chars().any(char::is_control) {
                    return Err(Error::invalid(format!(
                        "{field}[{i}] '{}' contains a control character",
                        name.escape_debug()
                    )));
                }
                if let Some(j) = names[..i].iter().position(|n| n == name) {
                    return Err(Error::invalid(format!(
                        "{field}[{i}] '{name}' repeats {field}[{j}]; names must be unique"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Attributes stored on the world group (key `umedata_world`).
    pub fn to_attributes(&self, chunk_samples: u64, codec: &str) -> Value {
        json!({
            "world_id": self.world_id,
            "n_samples": self.n_samples,
            "T": self.t,
            "H": self.h,
            "n_params": self.n_params,
            "n_shocks": self.n_shocks,
            "n_obs": self.n_obs,
            "param_names": self.param_names,
            "shock_names": self.shock_names,
            "obs_names": self.obs_names,
            "chunk_samples": chunk_samples,
            "codec": codec,
        })
    }

    /// Reads a description back from the world group attributes.
    pub fn from_attributes(attrs: &Value) -> Result<(Self, u64)> {
        let bad = |what: &str| {
            Error::new(
                ErrorKind::Format,
                format!("world group attribute 'umedata_world.{what}' is missing or invalid"),
            )
        };
        let w = attrs.get("umedata_world").ok_or_else(|| bad("(object)"))?;
        let u = |k: &str| w.get(k).and_then(Value::as_u64).ok_or_else(|| bad(k));
        let u32f = |k: &str| u(k).and_then(|v| u32::try_from(v).map_err(|_| bad(k)));
        let names = |k: &str| -> Result<Vec<String>> {
            w.get(k)
                .and_then(Value::as_array)
                .ok_or_else(|| bad(k))?
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad(k)))
                .collect()
        };
        let desc = WorldDesc {
            world_id: w
                .get("world_id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("world_id"))?
                .to_string(),
            n_samples: u("n_samples")?,
            t: u32f("T")?,
            h: u32f("H")?,
            n_params: u32f("n_params")?,
            n_shocks: u32f("n_shocks")?,
            n_obs: u32f("n_obs")?,
            param_names: names("param_names")?,
            shock_names: names("shock_names")?,
            obs_names: names("obs_names")?,
        };
        desc.validate()
            .map_err(|e| Error::new(ErrorKind::Format, format!("stored world: {e}")))?;
        let chunk = u("chunk_samples")?;
        if chunk == 0 {
            return Err(bad("chunk_samples"));
        }
        Ok((desc, chunk))
    }
}

fn check_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(Error::invalid(format!(
            "{field} has length {}, expected 1..={MAX_NAME_LEN}",
            name.len()
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::invalid(format!(
            "{field} '{}' may only contain A-Z a-z 0-9 _ - .",
            name.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_shapes() {
        let w = WorldDesc::new("nk", 10, 200, 40, 8, 3, 3);
        assert_eq!(w.sample_dims(ArrayKind::Irfs), vec![3, 41, 3]);
        assert_eq!(w.sample_bytes(), 4 * (8 + 600 + 369 + 600));
        w.validate().unwrap();
    }

    #[test]
    fn rejects_bad_descriptions() {
        let mut w = WorldDesc::new("nk", 10, 200, 40, 8, 3, 3);
        w.n_samples = 0;
        assert!(w
            .validate()
            .unwrap_err()
            .message()
            .contains("n_samples is 0"));
        let mut w = WorldDesc::new("n/k", 10, 200, 40, 8, 3, 3);
        assert!(w
            .validate()
            .unwrap_err()
            .message()
            .contains("world_id 'n/k'"));
        w.world_id = "nk".into();
        w.param_names[1] = "p0".into();
        assert!(w.validate().unwrap_err().message().contains("repeats"));
        let mut w = WorldDesc::new("nk", 10, 200, 40, 8, 3, 3);
        w.obs_names.pop();
        assert!(w
            .validate()
            .unwrap_err()
            .message()
            .contains("obs_names has 2 names, expected 3"));
    }

    #[test]
    fn attributes_round_trip() {
        let w = WorldDesc::new("rbc", 7, 20, 4, 2, 1, 2);
        let attrs = json!({ "umedata_world": w.to_attributes(4, "blosc-lz4") });
        let (back, chunk) = WorldDesc::from_attributes(&attrs).unwrap();
        assert_eq!(back, w);
        assert_eq!(chunk, 4);
    }
}
