//! A world: one simulator's dataset group, its dimensions, names and the arrays it holds.

use crate::error::{Error, ErrorKind, Result};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Longest name accepted for a world, parameter, shock or observable.
pub const MAX_NAME_LEN: usize = 256;

/// Marker inside the names of the store's temporary files (a killed run may leave such
/// files behind); a world id may not contain it. Defined here, with the other names the
/// layout reserves, and used by the store.
pub const TEMP_MARKER: &str = ".umetmp-";

/// Names a world id may not take (compared ignoring ASCII case, for case-insensitive
/// filesystems): the files the layout keeps at the dataset root beside the world groups
/// (the root group metadata of Zarr v3 and the dataset manifest). The Zarr v2 root files
/// (`.zgroup`, `.zattrs`, `.zmetadata`) and the claims directory `.umedata` start with
/// '.', which no world id may.
pub const RESERVED_IDS: [&str; 2] = ["zarr.json", "manifest.json"];

/// Most samples a world may hold (2^40): index arithmetic stays far from overflow.
pub const MAX_SAMPLES: u64 = 1 << 40;

/// Most parameters, shocks or observables a world may have (2^20 = 1,048,576): each has
/// a name stored in the world's metadata and in the manifest.
pub const MAX_NAMES: u32 = 1 << 20;

/// Most bytes one sample of all four arrays may take as float32 (1 GiB).
pub const MAX_SAMPLE_BYTES: u64 = 1 << 30;

/// Most chunks along the sample axis (2^22 = 4,194,304): a writer keeps a little state per
/// chunk, so `n_samples / chunk_samples` is bounded; with [`MAX_CHUNK_BYTES`] a world holds
/// at most 4 PiB.
pub const MAX_CHUNKS: u64 = 1 << 22;

/// Most bytes one chunk (chunk_samples samples of all four arrays, as float32) may take
/// (1 GiB): a chunk is held in memory while it fills and compressed in one piece.
pub const MAX_CHUNK_BYTES: u64 = 1 << 30;

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

    /// Bytes per sample of all data arrays as float32 (of a validated description).
    pub fn sample_bytes(&self) -> usize {
        ArrayKind::ALL.iter().map(|k| self.sample_len(*k) * 4).sum()
    }

    /// Bytes per sample of all data arrays as float32, computed without overflow: `None`
    /// if any product exceeds `u64` (such a world is refused by [`Self::validate_sizes`]).
    pub fn checked_sample_bytes(&self) -> Option<u64> {
        ArrayKind::ALL.iter().try_fold(0u64, |acc, &k| {
            let elems = self
                .sample_dims(k)
                .iter()
                .try_fold(1u64, |p, &d| p.checked_mul(d as u64))?;
            acc.checked_add(elems.checked_mul(4)?)
        })
    }

    /// Elements of `count` samples of `kind` back to back, checked against overflow (the
    /// length of a caller's buffer for a range read).
    pub fn range_len(&self, kind: ArrayKind, count: u64) -> Result<usize> {
        (self.sample_len(kind) as u64)
            .checked_mul(count)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "count {count} samples of {} ({} elements each) exceed the address space",
                    kind.name(),
                    self.sample_len(kind)
                ))
            })
    }

    /// Checks the id and every size, but not the names: cheap, and done before any name
    /// is generated or copied, so absurd sizes are refused at once. Part of
    /// [`Self::validate`].
    pub fn validate_sizes(&self) -> Result<()> {
        check_name("world_id", &self.world_id)?;
        if self.world_id.starts_with('.') || self.world_id.starts_with("__") {
            return Err(Error::invalid(format!(
                "world_id '{}' must not start with '.' or '__' (reserved by Zarr)",
                self.world_id
            )));
        }
        if self.world_id.contains(TEMP_MARKER) {
            return Err(Error::invalid(format!(
                "world_id '{}' contains '{}', which marks the temporary files of the store",
                self.world_id, TEMP_MARKER
            )));
        }
        if let Some(reserved) = RESERVED_IDS
            .iter()
            .find(|r| r.eq_ignore_ascii_case(&self.world_id))
        {
            return Err(Error::invalid(format!(
                "world_id '{}' is reserved: the dataset layout uses '{reserved}' at the dataset root (reserved: {})",
                self.world_id,
                RESERVED_IDS.join(", ")
            )));
        }
        if self.n_samples == 0 {
            return Err(Error::invalid("n_samples is 0, expected at least 1"));
        }
        // 2^40 samples: beyond any campaign, and keeps index arithmetic far from overflow.
        if self.n_samples > MAX_SAMPLES {
            return Err(Error::invalid(format!(
                "n_samples {} is too large (at most 2^40 = {MAX_SAMPLES})",
                self.n_samples,
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
        for (field, v) in [
            ("n_params", self.n_params),
            ("n_shocks", self.n_shocks),
            ("n_obs", self.n_obs),
        ] {
            if v > MAX_NAMES {
                return Err(Error::invalid(format!(
                    "{field} {v} is too large (at most 2^20 = {MAX_NAMES})"
                )));
            }
        }
        let too_big = |bytes: String| {
            Error::invalid(format!(
                "one sample would take {bytes} bytes (T={}, H={}, n_params={}, n_shocks={}, n_obs={}; irfs alone n_shocks*(H+1)*n_obs*4); at most 1 GiB = {MAX_SAMPLE_BYTES} bytes per sample is supported",
                self.t, self.h, self.n_params, self.n_shocks, self.n_obs
            ))
        };
        match self.checked_sample_bytes() {
            None => return Err(too_big("more than 2^64".into())),
            Some(b) if b > MAX_SAMPLE_BYTES => return Err(too_big(b.to_string())),
            Some(_) => {}
        }
        Ok(())
    }

    /// Checks that chunks of `chunk_samples` samples stay within [`MAX_CHUNK_BYTES`] and
    /// that the world has at most [`MAX_CHUNKS`] of them.
    pub fn validate_chunk(&self, chunk_samples: u64) -> Result<()> {
        let per = self.checked_sample_bytes().unwrap_or(u64::MAX);
        let n_chunks = self.n_samples.div_ceil(chunk_samples.max(1));
        if n_chunks > MAX_CHUNKS {
            return Err(Error::invalid(format!(
                "chunk_samples {chunk_samples} cuts n_samples {} into {n_chunks} chunks; at most 2^22 = {MAX_CHUNKS} chunks (chunk_samples at least {})",
                self.n_samples,
                self.n_samples.div_ceil(MAX_CHUNKS)
            )));
        }
        match chunk_samples.checked_mul(per) {
            Some(b) if b <= MAX_CHUNK_BYTES => Ok(()),
            b => Err(Error::invalid(format!(
                "chunk_samples {chunk_samples} × {per} bytes per sample = {} bytes per chunk; at most 1 GiB = {MAX_CHUNK_BYTES} bytes per chunk (at most {} samples per chunk for this world)",
                b.map_or("more than 2^64".to_string(), |b| b.to_string()),
                (MAX_CHUNK_BYTES / per.max(1)).max(1)
            ))),
        }
    }

    /// Checks every field; the message names the field, the value and what is expected.
    /// Sizes first ([`Self::validate_sizes`]), then the names (duplicates found by hashing).
    pub fn validate(&self) -> Result<()> {
        self.validate_sizes()?;
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
            let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
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
                if let Some(j) = seen.insert(name, i) {
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
        desc.validate_chunk(chunk)
            .map_err(|e| Error::new(ErrorKind::Format, format!("stored world: {e}")))?;
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
    fn irfs_of_2_pow_64_bytes_are_refused_not_wrapped() {
        // n_shocks * (H+1) * n_obs * 4 = 2^16 * 2^32 * 2^14 * 4 = 2^64: wraps to 0 in usize.
        let w = WorldDesc::new("big", 10, 1, u32::MAX, 1, 1 << 16, 1 << 14);
        assert_eq!(w.checked_sample_bytes(), None);
        let msg = w.validate().unwrap_err().message().to_string();
        assert!(
            msg.contains("more than 2^64") && msg.contains("1 GiB"),
            "{msg}"
        );
    }

    #[test]
    fn sizes_are_checked_before_names() {
        // 2^22 observables: refused by the name-count limit without looking at names.
        let w = WorldDesc {
            obs_names: Vec::new(),
            ..WorldDesc::new("w", 10, 1, 0, 1, 1, 1)
        };
        let w = WorldDesc {
            n_obs: 1 << 22,
            ..w
        };
        let msg = w.validate_sizes().unwrap_err().message().to_string();
        assert!(
            msg.contains("n_obs 4194304") && msg.contains("1048576"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_check_is_not_quadratic() {
        // 2^20 names with the duplicate last: a pairwise scan would take ~5e11 comparisons.
        let mut w = WorldDesc::new("w", 10, 1, 0, 1, 1, MAX_NAMES);
        w.validate().unwrap();
        let last = w.obs_names.len() - 1;
        w.obs_names[last] = "y7".into();
        let msg = w.validate().unwrap_err().message().to_string();
        assert!(
            msg.contains("obs_names[1048575] 'y7' repeats obs_names[7]"),
            "{msg}"
        );
    }

    #[test]
    fn chunk_bytes_are_bounded() {
        let w = WorldDesc::new("w", 1 << 20, 1024, 0, 1, 1, 1024);
        let per = w.checked_sample_bytes().unwrap();
        assert!(w.validate_chunk(MAX_CHUNK_BYTES / per).is_ok());
        let msg = w.validate_chunk(1 << 20).unwrap_err().message().to_string();
        assert!(
            msg.contains("chunk_samples 1048576") && msg.contains("1 GiB"),
            "{msg}"
        );
        let w = WorldDesc::new("w", 1 << 40, 1, 0, 1, 1, 1);
        let msg = w.validate_chunk(1).unwrap_err().message().to_string();
        assert!(msg.contains("at least 262144"), "{msg}");
        assert!(w.validate_chunk(1 << 18).is_ok());
    }

    #[test]
    fn reserved_world_ids_are_refused() {
        for id in ["manifest.json", "zarr.json", "Manifest.JSON", "a.umetmp-x"] {
            let w = WorldDesc::new(id, 10, 2, 1, 1, 1, 1);
            let msg = w.validate().unwrap_err().message().to_string();
            assert!(msg.contains(&format!("world_id '{id}'")), "{msg}");
        }
        for id in ["manifest", "zarr", "split", "nk.json"] {
            WorldDesc::new(id, 10, 2, 1, 1, 1, 1).validate().unwrap();
        }
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
