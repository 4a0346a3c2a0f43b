//! Train/val/test and out-of-distribution splits, computed from the stored `theta`
//! (so they can be made, or remade, after generation) and stored as the uint8 array
//! `<world>/split` (dims `("sample",)`, chunked and compressed like the other arrays).
//!
//! # Codes
//! `0` train, `1` val, `2` test, `3` OOD slice, `4` OOD corner, `5` OOD interpolation,
//! `255` not written (the sample is not stored, its theta is unknown).
//!
//! # Rule (`umedata-splits-v1`), given as JSON (the manifest records it, resolved)
//! ```json
//! {"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 42,
//!  "ood": [{"kind": "slice", "param": "beta", "units": "quantile", "range": [0.9, 1.0]},
//!          {"kind": "corner", "params": ["phi_pi", "phi_y"], "k": 2, "q": 0.05},
//!          {"kind": "interpolation", "params": ["rho_a"], "units": "natural", "box": [[0.4, 0.5]]}]}
//! ```
//! 1. Only written samples take part; `255` marks the others.
//! 2. Quantiles are of the written samples' finite theta values of one parameter, method
//!    "lower": `quantile(q)` = the `⌊q·(m−1)⌋`-th smallest (0-based) of the `m` values
//!    (NumPy `np.quantile(x, q, method="lower")`). A rule's `resolved` field records the
//!    natural-unit thresholds it used.
//! 3. OOD rules, in the order given; a sample selected by several takes the code of the
//!    first. *slice*: `lo <= θ[param] <= hi`. *corner*: at least `k` of `params` are
//!    extreme, `θ[p] <= quantile_p(q)` or `θ[p] >= quantile_p(1−q)`. *interpolation*:
//!    `lo_j <= θ[params[j]] <= hi_j` for every `j` (an interior box). Bounds are closed;
//!    NaN never matches.
//! 4. The other written samples (`m` of them, in index order) are shuffled with
//!    Fisher–Yates (`for j = m−1 down to 1: swap(j, below(j+1))`) driven by the ChaCha20
//!    stream `SampleRng::new(seed, 2^64−1)` (`below(n)`: draw 64-bit `x` until
//!    `x < 2^64 − (2^64 mod n)`, take `x mod n`). Counts: `⌊f_c·m⌋` each, the remaining
//!    samples go one each to the classes with the largest fractional parts `f_c·m − ⌊f_c·m⌋`
//!    (ties: train, val, test), so each count is within 1 of `f_c·m`. The first `n_train`
//!    shuffled samples are train, the next `n_val` val, the rest test.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zarrs::array::Array;

use crate::digest::sha256_hex;
use crate::error::{from_array, Error, ErrorKind, Result};
use crate::seeds::SampleRng;
use crate::storage::codec::codec_options;
use crate::storage::codec::Codec;
use crate::storage::dataset::World;

/// The values of the `split` array (associated constants, so they stay out of the C
/// header; C uses `UME_SPLIT_*`).
///
/// cbindgen:ignore
#[derive(Debug, Clone, Copy)]
pub struct SplitCode;

/// cbindgen:ignore
impl SplitCode {
    /// Training samples.
    pub const TRAIN: u8 = 0;
    /// Validation samples.
    pub const VAL: u8 = 1;
    /// Test samples.
    pub const TEST: u8 = 2;
    /// Held out by a slice rule.
    pub const OOD_SLICE: u8 = 3;
    /// Held out by a corner rule.
    pub const OOD_CORNER: u8 = 4;
    /// Held out by an interpolation rule.
    pub const OOD_INTERPOLATION: u8 = 5;
    /// Never written (theta unknown).
    pub const NOT_WRITTEN: u8 = 255;
}

/// Name of the split array in the world group.
pub const SPLIT_ARRAY: &str = "split";
/// Name of the split algorithm.
pub const ALGORITHM: &str = "umedata-splits-v1";
/// ChaCha20 stream id of the shuffle.
const SHUFFLE_STREAM: u64 = u64::MAX;

/// Every code with its name, in the order of [`SplitCounts`].
pub const CODES: [(&str, u8); 7] = [
    ("train", SplitCode::TRAIN),
    ("val", SplitCode::VAL),
    ("test", SplitCode::TEST),
    ("ood_slice", SplitCode::OOD_SLICE),
    ("ood_corner", SplitCode::OOD_CORNER),
    ("ood_interpolation", SplitCode::OOD_INTERPOLATION),
    ("not_written", SplitCode::NOT_WRITTEN),
];

/// Whether `code` is one of [`CODES`].
pub fn is_code(code: u8) -> bool {
    CODES.iter().any(|(_, c)| *c == code)
}

/// Fractions of the in-distribution samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fractions {
    /// Training fraction.
    pub train: f64,
    /// Validation fraction.
    pub val: f64,
    /// Test fraction.
    pub test: f64,
}

/// Units of the bounds of an OOD rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Units {
    /// Values of theta.
    Natural,
    /// Quantiles in `[0, 1]` of the stored theta.
    Quantile,
}

/// One out-of-distribution hold-out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OodRule {
    /// A band of one parameter.
    Slice {
        /// Parameter name.
        param: String,
        /// Units of `range`.
        units: Units,
        /// `[lo, hi]`.
        range: [f64; 2],
        /// Natural-unit band used (filled in when computed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<[f64; 2]>,
    },
    /// Samples where at least `k` of `params` are in their extreme `q`-quantiles.
    Corner {
        /// Parameter names.
        params: Vec<String>,
        /// How many must be extreme.
        k: u32,
        /// Tail probability, `0 < q < 0.5`.
        q: f64,
        /// Per parameter `[quantile(q), quantile(1 − q)]` (filled in when computed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<Vec<[f64; 2]>>,
    },
    /// An interior box.
    Interpolation {
        /// Parameter names.
        params: Vec<String>,
        /// Units of `box`.
        units: Units,
        /// `[lo, hi]` per parameter.
        #[serde(rename = "box")]
        bounds: Vec<[f64; 2]>,
        /// Natural-unit box used (filled in when computed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<Vec<[f64; 2]>>,
    },
}

impl OodRule {
    /// The code of the samples this rule holds out.
    pub fn code(&self) -> u8 {
        match self {
            OodRule::Slice { .. } => SplitCode::OOD_SLICE,
            OodRule::Corner { .. } => SplitCode::OOD_CORNER,
            OodRule::Interpolation { .. } => SplitCode::OOD_INTERPOLATION,
        }
    }
}

fn default_algorithm() -> String {
    ALGORITHM.to_string()
}

/// How to split a world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRule {
    /// Always [`ALGORITHM`].
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// Fractions of the in-distribution samples.
    pub fractions: Fractions,
    /// Seed of the shuffle.
    pub seed: u64,
    /// Out-of-distribution hold-outs, applied in order.
    #[serde(default)]
    pub ood: Vec<OodRule>,
}

impl SplitRule {
    /// Train/val/test only.
    pub fn standard(train: f64, val: f64, test: f64, seed: u64) -> Self {
        Self {
            algorithm: default_algorithm(),
            fractions: Fractions { train, val, test },
            seed,
            ood: Vec::new(),
        }
    }

    /// A rule from its JSON form (see the module documentation).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| {
            Error::invalid(format!(
                "rule_json is not a valid split rule: {e} (expected e.g. {{\"fractions\": {{\"train\": 0.8, \"val\": 0.1, \"test\": 0.1}}, \"seed\": 42, \"ood\": []}})"
            ))
        })
    }

    /// Checks the rule against the parameter names of a world.
    pub fn validate(&self, param_names: &[String]) -> Result<()> {
        if self.algorithm != ALGORITHM {
            return Err(Error::invalid(format!(
                "rule.algorithm is '{}', expected '{ALGORITHM}'",
                self.algorithm
            )));
        }
        let f = self.fractions;
        for (name, v) in [("train", f.train), ("val", f.val), ("test", f.test)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid(format!(
                    "rule.fractions.{name} is {v}, expected a number in [0, 1]"
                )));
            }
        }
        let sum = f.train + f.val + f.test;
        if (sum - 1.0).abs() > 1e-9 {
            return Err(Error::invalid(format!(
                "rule.fractions sum to {sum} (train {} + val {} + test {}), expected 1",
                f.train, f.val, f.test
            )));
        }
        let find = |field: String, name: &str| -> Result<usize> {
            param_names.iter().position(|p| p == name).ok_or_else(|| {
                Error::invalid(format!(
                    "{field} '{name}' is not a parameter of the world (parameters: {})",
                    param_names.join(", ")
                ))
            })
        };
        let check_interval = |field: String, iv: [f64; 2], units: Units| -> Result<()> {
            let [lo, hi] = iv;
            if !(lo.is_finite() && hi.is_finite()) || lo > hi {
                return Err(Error::invalid(format!(
                    "{field} is [{lo}, {hi}], expected finite [lo, hi] with lo <= hi"
                )));
            }
            if units == Units::Quantile && !(0.0 <= lo && hi <= 1.0) {
                return Err(Error::invalid(format!(
                    "{field} is [{lo}, {hi}] in quantiles, expected 0 <= lo <= hi <= 1"
                )));
            }
            Ok(())
        };
        for (r, rule) in self.ood.iter().enumerate() {
            match rule {
                OodRule::Slice {
                    param,
                    units,
                    range,
                    ..
                } => {
                    find(format!("rule.ood[{r}].param"), param)?;
                    check_interval(format!("rule.ood[{r}].range"), *range, *units)?;
                }
                OodRule::Corner { params, k, q, .. } => {
                    check_params(r, params, &find)?;
                    if *k < 1 || *k as usize > params.len() {
                        return Err(Error::invalid(format!(
                            "rule.ood[{r}].k is {k}, expected 1..={} (the number of params)",
                            params.len()
                        )));
                    }
                    if !(*q > 0.0 && *q < 0.5) {
                        return Err(Error::invalid(format!(
                            "rule.ood[{r}].q is {q}, expected 0 < q < 0.5"
                        )));
                    }
                }
                OodRule::Interpolation {
                    params,
                    units,
                    bounds,
                    ..
                } => {
                    check_params(r, params, &find)?;
                    if bounds.len() != params.len() {
                        return Err(Error::new(
                            ErrorKind::LengthMismatch,
                            format!(
                                "rule.ood[{r}].box has {} intervals, expected {} (one per param)",
                                bounds.len(),
                                params.len()
                            ),
                        ));
                    }
                    for (j, iv) in bounds.iter().enumerate() {
                        check_interval(format!("rule.ood[{r}].box[{j}]"), *iv, *units)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_params(
    r: usize,
    params: &[String],
    find: &impl Fn(String, &str) -> Result<usize>,
) -> Result<()> {
    if params.is_empty() {
        return Err(Error::invalid(format!(
            "rule.ood[{r}].params is empty, expected at least one parameter name"
        )));
    }
    for (j, p) in params.iter().enumerate() {
        find(format!("rule.ood[{r}].params[{j}]"), p)?;
        if params[..j].contains(p) {
            return Err(Error::invalid(format!(
                "rule.ood[{r}].params[{j}] '{p}' is listed twice"
            )));
        }
    }
    Ok(())
}

/// Samples per code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitCounts {
    /// Training samples.
    pub train: u64,
    /// Validation samples.
    pub val: u64,
    /// Test samples.
    pub test: u64,
    /// Held out by slice rules.
    pub ood_slice: u64,
    /// Held out by corner rules.
    pub ood_corner: u64,
    /// Held out by interpolation rules.
    pub ood_interpolation: u64,
    /// Not written.
    pub not_written: u64,
}

impl SplitCounts {
    /// Counts of an assignment; fails on a byte that is no code.
    pub fn of(assignment: &[u8]) -> Result<Self> {
        let mut hist = [0u64; 256];
        for &a in assignment {
            hist[a as usize] += 1;
        }
        if let Some(bad) = (0..256).find(|&c| hist[c] > 0 && !is_code(c as u8)) {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "split array holds {} value(s) {bad}, which is no split code (0-5, 255)",
                    hist[bad]
                ),
            ));
        }
        Ok(Self {
            train: hist[0],
            val: hist[1],
            test: hist[2],
            ood_slice: hist[3],
            ood_corner: hist[4],
            ood_interpolation: hist[5],
            not_written: hist[255],
        })
    }

    /// The count of `code`.
    pub fn get(&self, code: u8) -> u64 {
        match code {
            SplitCode::TRAIN => self.train,
            SplitCode::VAL => self.val,
            SplitCode::TEST => self.test,
            SplitCode::OOD_SLICE => self.ood_slice,
            SplitCode::OOD_CORNER => self.ood_corner,
            SplitCode::OOD_INTERPOLATION => self.ood_interpolation,
            SplitCode::NOT_WRITTEN => self.not_written,
            _ => 0,
        }
    }

    /// Sum of all counts.
    pub fn total(&self) -> u64 {
        CODES.iter().map(|(_, c)| self.get(*c)).sum()
    }
}

/// What the manifest records about a world's split (`splits.<world_id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRecord {
    /// Always `"split"`.
    pub array: String,
    /// Length of the assignment.
    pub n_samples: u64,
    /// Code table (constant, for readers of the JSON).
    pub codes: Value,
    /// Samples per code.
    pub counts: SplitCounts,
    /// SHA-256 of the assignment bytes.
    pub sha256: String,
    /// The rule, with resolved thresholds.
    pub rule: SplitRule,
}

/// The code table as JSON.
pub fn codes_json() -> Value {
    let m: serde_json::Map<String, Value> = CODES
        .iter()
        .map(|(n, c)| (n.to_string(), json!(c)))
        .collect();
    Value::Object(m)
}

/// A computed (or loaded) split of one world.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// The world it belongs to.
    pub world_id: String,
    /// One code per sample.
    pub assignment: Vec<u8>,
    /// The record for the manifest.
    pub record: SplitRecord,
}

/// One held-out region in natural units, its parameters as theta columns.
enum Region {
    /// `lo <= x <= hi` for one column.
    Band(usize, f64, f64),
    /// At least `k` columns at or beyond their `[lo, hi]` quantiles.
    Corner(Vec<(usize, f64, f64)>, u32),
    /// Every column inside its `[lo, hi]`.
    Box_(Vec<(usize, f64, f64)>),
}

/// The held-out regions of OOD rules whose `resolved` ranges are filled in (as
/// [`compute`] fills them, and as the manifest records them): the one matching rule
/// used by [`compute`] to assign samples and by validation to check a stored split.
pub(crate) struct OodRegions {
    regions: Vec<Region>,
}

impl OodRegions {
    /// Looks up every parameter of `rules` in `names` (the theta columns). Fails naming
    /// the rule when a parameter is unknown or a rule has no resolved range.
    pub(crate) fn new(rules: &[OodRule], names: &[String]) -> Result<Self> {
        let col = |p: &str| -> Result<usize> {
            names
                .iter()
                .position(|n| n == p)
                .ok_or_else(|| Error::invalid(format!("rule names unknown parameter '{p}'")))
        };
        let unresolved =
            |r: usize, what: &str| Error::invalid(format!("ood[{r}] has no resolved {what}"));
        let mut regions = Vec::with_capacity(rules.len());
        for (r, rule) in rules.iter().enumerate() {
            regions.push(match rule {
                OodRule::Slice {
                    param, resolved, ..
                } => {
                    let [lo, hi] = resolved.ok_or_else(|| unresolved(r, "range"))?;
                    Region::Band(col(param)?, lo, hi)
                }
                OodRule::Corner {
                    params,
                    k,
                    resolved,
                    ..
                } => {
                    let res = resolved.as_ref().ok_or_else(|| unresolved(r, "range"))?;
                    let t = params
                        .iter()
                        .zip(res)
                        .map(|(p, [lo, hi])| Ok((col(p)?, *lo, *hi)))
                        .collect::<Result<_>>()?;
                    Region::Corner(t, *k)
                }
                OodRule::Interpolation {
                    params, resolved, ..
                } => {
                    let res = resolved.as_ref().ok_or_else(|| unresolved(r, "box"))?;
                    let t = params
                        .iter()
                        .zip(res)
                        .map(|(p, [lo, hi])| Ok((col(p)?, *lo, *hi)))
                        .collect::<Result<_>>()?;
                    Region::Box_(t)
                }
            });
        }
        Ok(OodRegions { regions })
    }

    /// Index of the first rule whose region holds `row` (one sample's theta).
    pub(crate) fn find(&self, row: &[f32]) -> Option<usize> {
        let x = |j: usize| f64::from(row[j]);
        self.regions.iter().position(|t| match t {
            Region::Band(j, lo, hi) => *lo <= x(*j) && x(*j) <= *hi,
            Region::Corner(t, k) => {
                let extreme = t
                    .iter()
                    .filter(|(j, lo, hi)| x(*j) <= *lo || x(*j) >= *hi)
                    .count();
                extreme >= *k as usize
            }
            Region::Box_(t) => t.iter().all(|(j, lo, hi)| *lo <= x(*j) && x(*j) <= *hi),
        })
    }
}

/// The lower `q`-quantile of the finite values in `col` (method "lower"), or None.
fn quantile(col: &mut [f32], q: f64) -> Option<f64> {
    if col.is_empty() {
        return None;
    }
    let idx = ((q * (col.len() - 1) as f64).floor() as usize).min(col.len() - 1);
    let (_, v, _) = col.select_nth_unstable_by(idx, f32::total_cmp);
    Some(f64::from(*v))
}

/// Column `j` of theta over the written samples, finite values only.
fn column(theta: &[f32], n_params: usize, mask: &[u8], j: usize) -> Vec<f32> {
    theta
        .chunks_exact(n_params)
        .zip(mask)
        .filter(|(_, &m)| m != 0)
        .map(|(row, _)| row[j])
        .filter(|v| v.is_finite())
        .collect()
}

/// Computes the split of `n = mask.len()` samples from `theta` (`n × n_params`, row-major,
/// as stored) and the `written` mask.
pub fn compute(
    world_id: &str,
    theta: &[f32],
    mask: &[u8],
    param_names: &[String],
    rule: &SplitRule,
) -> Result<Splits> {
    let p = param_names.len();
    let n = mask.len();
    if p == 0 || theta.len() != n * p {
        return Err(Error::new(
            ErrorKind::LengthMismatch,
            format!(
                "theta has {} values, expected {n} samples x {p} parameters = {}",
                theta.len(),
                n * p
            ),
        ));
    }
    compute_from(world_id, Some(theta), mask, param_names, rule)
}

/// [`compute`]; `theta` may be `None` only for a rule without OOD regions (the split of
/// the in-distribution samples depends on the mask alone).
fn compute_from(
    world_id: &str,
    theta: Option<&[f32]>,
    mask: &[u8],
    param_names: &[String],
    rule: &SplitRule,
) -> Result<Splits> {
    let p = param_names.len();
    let n = mask.len();
    let theta_or_internal = || {
        theta
            .ok_or_else(|| Error::internal("the split rule has OOD regions but theta was not read"))
    };
    rule.validate(param_names)?;
    let idx = |name: &str| param_names.iter().position(|x| x == name).unwrap_or(0);
    let mut resolved_rule = rule.clone();
    let no_data = |what: &str| {
        Error::invalid(format!(
            "{what}: no written sample has a finite value of this parameter, so its quantiles are undefined"
        ))
    };
    let resolve = |j: usize, units: Units, iv: [f64; 2], what: &str| -> Result<[f64; 2]> {
        match units {
            Units::Natural => Ok(iv),
            Units::Quantile => {
                let mut col = column(theta_or_internal()?, p, mask, j);
                let lo = quantile(&mut col, iv[0]).ok_or_else(|| no_data(what))?;
                let hi = quantile(&mut col, iv[1]).ok_or_else(|| no_data(what))?;
                Ok([lo, hi])
            }
        }
    };
    for (r, ood) in resolved_rule.ood.iter_mut().enumerate() {
        match ood {
            OodRule::Slice {
                param,
                units,
                range,
                resolved,
            } => {
                let iv = resolve(idx(param), *units, *range, &format!("rule.ood[{r}]"))?;
                *resolved = Some(iv);
            }
            OodRule::Corner {
                params,
                q,
                resolved,
                ..
            } => {
                let mut res = Vec::new();
                for name in params.iter() {
                    let iv = resolve(
                        idx(name),
                        Units::Quantile,
                        [*q, 1.0 - *q],
                        &format!("rule.ood[{r}]"),
                    )?;
                    res.push(iv);
                }
                *resolved = Some(res);
            }
            OodRule::Interpolation {
                params,
                units,
                bounds,
                resolved,
            } => {
                let mut res = Vec::new();
                for (name, iv) in params.iter().zip(bounds.iter()) {
                    res.push(resolve(idx(name), *units, *iv, &format!("rule.ood[{r}]"))?);
                }
                *resolved = Some(res);
            }
        }
    }
    let regions = OodRegions::new(&resolved_rule.ood, param_names)?;
    let codes: Vec<u8> = resolved_rule.ood.iter().map(OodRule::code).collect();
    let theta = if codes.is_empty() {
        None
    } else {
        Some(theta_or_internal()?)
    };

    let mut assignment = vec![SplitCode::NOT_WRITTEN; n];
    let mut in_dist: Vec<u64> = Vec::with_capacity(n);
    for (i, &m) in mask.iter().enumerate() {
        if m == 0 {
            continue;
        }
        match theta.and_then(|t| regions.find(&t[i * p..(i + 1) * p])) {
            Some(r) => assignment[i] = codes[r],
            None => in_dist.push(i as u64),
        }
    }

    // Exact counts by largest remainder.
    let m = in_dist.len() as u64;
    let f = [
        rule.fractions.train,
        rule.fractions.val,
        rule.fractions.test,
    ];
    let mut counts = [0u64; 3];
    let mut frac = [0f64; 3];
    for c in 0..3 {
        let target = f[c] * m as f64;
        counts[c] = (target.floor() as u64).min(m);
        frac[c] = target - counts[c] as f64;
    }
    let mut left = m.saturating_sub(counts.iter().sum());
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| frac[b].total_cmp(&frac[a]).then(a.cmp(&b)));
    for &c in order.iter().cycle() {
        if left == 0 {
            break;
        }
        counts[c] += 1;
        left -= 1;
    }

    // Fisher-Yates on the in-distribution samples.
    let mut rng = SampleRng::new(rule.seed, SHUFFLE_STREAM);
    for j in (1..in_dist.len()).rev() {
        let k = rng.below(j as u64 + 1) as usize;
        in_dist.swap(j, k);
    }
    let (n_train, n_val) = (counts[0] as usize, counts[1] as usize);
    for (pos, &i) in in_dist.iter().enumerate() {
        assignment[i as usize] = if pos < n_train {
            SplitCode::TRAIN
        } else if pos < n_train + n_val {
            SplitCode::VAL
        } else {
            SplitCode::TEST
        };
    }
    Splits::from_assignment(world_id, assignment, resolved_rule)
}

impl Splits {
    /// Wraps an assignment with its rule, computing counts and hash.
    pub fn from_assignment(world_id: &str, assignment: Vec<u8>, rule: SplitRule) -> Result<Self> {
        let counts = SplitCounts::of(&assignment)?;
        let record = SplitRecord {
            array: SPLIT_ARRAY.into(),
            n_samples: assignment.len() as u64,
            codes: codes_json(),
            counts,
            sha256: sha256_hex(&assignment),
            rule,
        };
        Ok(Self {
            world_id: world_id.to_string(),
            assignment,
            record,
        })
    }

    /// Reads the mask of world `world`, and its theta when the rule has OOD regions (the
    /// rest of the split depends on the mask alone), and computes its split.
    pub fn compute_for_world(world: &World, rule: &SplitRule) -> Result<Self> {
        let names = &world.desc.param_names;
        if rule.ood.is_empty() {
            let mask = read_mask(world)?;
            return compute_from(&world.desc.world_id, None, &mask, names, rule);
        }
        let (theta, mask) = read_theta(world)?;
        compute(&world.desc.world_id, &theta, &mask, names, rule)
    }

    /// The code of sample `i`.
    pub fn get(&self, i: u64) -> Result<u8> {
        self.assignment.get(i as usize).copied().ok_or_else(|| {
            Error::new(
                ErrorKind::OutOfRange,
                format!(
                    "sample index {i} out of range [0, {})",
                    self.assignment.len()
                ),
            )
        })
    }

    /// Indices of the samples with `code`, ascending.
    pub fn indices(&self, code: u8) -> Result<Vec<u64>> {
        if !is_code(code) {
            return Err(Error::invalid(format!(
                "split code {code} is not valid (expected 0 train, 1 val, 2 test, 3 ood_slice, 4 ood_corner, 5 ood_interpolation, 255 not_written)"
            )));
        }
        Ok(self
            .assignment
            .iter()
            .enumerate()
            .filter(|(_, &c)| c == code)
            .map(|(i, _)| i as u64)
            .collect())
    }

    /// Stores the assignment as `<world>/split` (replacing an earlier one): chunks first,
    /// the array metadata last, each file atomically.
    pub fn store(&self, world: &World) -> Result<()> {
        if world.desc.world_id != self.world_id || world.desc.n_samples != self.record.n_samples {
            return Err(Error::invalid(format!(
                "split of world '{}' ({} samples) cannot be stored in world '{}' ({} samples)",
                self.world_id, self.record.n_samples, world.desc.world_id, world.desc.n_samples
            )));
        }
        let codec = Codec::from_name(&world.codec).unwrap_or(Codec::BloscLz4);
        let checksum = serde_json::to_value(world.written.metadata())
            .ok()
            .and_then(|m| m.get("codecs").cloned())
            .map(|c| c.to_string().contains("crc32c"))
            .unwrap_or(true);
        // In the world's own Zarr format (v2 worlds get a v2 array and consolidated
        // metadata that lists it).
        world.store_u8_array(
            SPLIT_ARRAY,
            &self.assignment,
            SplitCode::NOT_WRITTEN,
            codec,
            checksum,
        )
    }

    /// Reads the stored `<world>/split` array (rule unknown: pass the manifest's record
    /// rule, or a standard placeholder).
    pub fn load_assignment(world: &World) -> Result<Vec<u8>> {
        let path = format!("/{}/{SPLIT_ARRAY}", world.desc.world_id);
        let array = Array::open(world.store.clone(), &path).map_err(|e| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "world '{}' has no stored split array ({e}); compute and store one first",
                    world.desc.world_id
                ),
            )
        })?;
        if array.shape() != [world.desc.n_samples] {
            return Err(Error::new(
                ErrorKind::Format,
                format!(
                    "split array has shape {:?}, expected [{}]",
                    array.shape(),
                    world.desc.n_samples
                ),
            ));
        }
        let cs = array
            .chunk_shape(&[0])
            .map_err(|e| from_array("split chunking", e))?[0]
            .get() as usize;
        let n = world.desc.n_samples as usize;
        let mut out = Vec::with_capacity(n);
        for c in 0..n.div_ceil(cs) {
            let chunk = array
                .retrieve_chunk_opt::<Vec<u8>>(&[c as u64], &codec_options())
                .map_err(|e| from_array(&format!("reading chunk {c} of the split array"), e))?;
            let take = (n - c * cs).min(cs);
            out.extend_from_slice(&chunk[..take]);
        }
        Ok(out)
    }
}

/// The written mask of a world, read chunk by chunk (checksums verified).
fn read_mask(world: &World) -> Result<Vec<u8>> {
    let mut mask = Vec::with_capacity(world.desc.n_samples as usize);
    for c in 0..world.n_chunks() {
        let k = world.samples_in_chunk(c) as usize;
        mask.extend_from_slice(&world.read_mask_chunk(c)?[..k]);
    }
    Ok(mask)
}

/// Theta (`n × n_params` float32, row-major) and the written mask of a world, read chunk
/// by chunk (checksums verified).
pub fn read_theta(world: &World) -> Result<(Vec<f32>, Vec<u8>)> {
    let n = world.desc.n_samples as usize;
    let p = world.desc.n_params as usize;
    let mut theta = Vec::with_capacity(n * p);
    let mut mask = Vec::with_capacity(n);
    for c in 0..world.n_chunks() {
        let k = world.samples_in_chunk(c) as usize;
        let m = world.read_mask_chunk(c)?;
        mask.extend_from_slice(&m[..k]);
        if m[..k].iter().any(|&x| x != 0) {
            let t = world.read_chunk_f32(&world.arrays[0], c)?;
            theta.extend_from_slice(&t[..k * p]);
        } else {
            theta.resize(theta.len() + k * p, f32::NAN);
        }
    }
    Ok((theta, mask))
}

/// Per-code counts of an assignment as a JSON-friendly map (for messages).
pub fn counts_map(c: &SplitCounts) -> BTreeMap<&'static str, u64> {
    CODES.iter().map(|(n, code)| (*n, c.get(*code))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator for test data (not the product RNG).
    fn theta_grid(n: usize, p: usize, seed: u64) -> Vec<f32> {
        let mut r = SampleRng::new(seed, 0);
        (0..n * p).map(|_| r.uniform() as f32).collect()
    }

    fn names(p: usize) -> Vec<String> {
        (0..p).map(|i| format!("p{i}")).collect()
    }

    #[test]
    fn ood_regions_match_resolved_rules_and_name_what_is_wrong() {
        let names = names(3);
        let rules: Vec<OodRule> = serde_json::from_str(
            r#"[{"kind": "slice", "param": "p1", "units": "natural", "range": [0, 1], "resolved": [0.8, 0.9]},
                {"kind": "corner", "params": ["p0", "p2"], "k": 2, "q": 0.1, "resolved": [[0.1, 0.9], [0.1, 0.9]]},
                {"kind": "interpolation", "params": ["p0"], "units": "natural", "box": [[0, 1]], "resolved": [[0.4, 0.6]]}]"#,
        )
        .unwrap();
        let r = OodRegions::new(&rules, &names).unwrap();
        assert_eq!(r.find(&[0.5, 0.85, 0.5]), Some(0), "slice first");
        assert_eq!(r.find(&[0.05, 0.5, 0.95]), Some(1), "two extremes");
        assert_eq!(
            r.find(&[0.05, 0.5, 0.5]),
            None,
            "one extreme is not a corner"
        );
        assert_eq!(r.find(&[0.5, 0.5, 0.5]), Some(2), "inside the box");
        assert_eq!(r.find(&[0.3, 0.5, 0.5]), None);

        let mut unresolved = rules.clone();
        if let OodRule::Corner { resolved, .. } = &mut unresolved[1] {
            *resolved = None;
        }
        let e = OodRegions::new(&unresolved, &names).err().unwrap();
        assert_eq!(e.message(), "ood[1] has no resolved range");
        let e = OodRegions::new(&rules, &names[..2]).err().unwrap();
        assert_eq!(e.message(), "rule names unknown parameter 'p2'");
    }

    fn check_invariants(s: &Splits, mask: &[u8], rule: &SplitRule) {
        let a = &s.assignment;
        assert_eq!(a.len(), mask.len());
        // Covering: every written sample has exactly one code, unwritten ones 255.
        for (i, (&c, &m)) in a.iter().zip(mask).enumerate() {
            assert_eq!(m == 0, c == SplitCode::NOT_WRITTEN, "sample {i}");
        }
        let counts = SplitCounts::of(a).unwrap();
        assert_eq!(counts.total(), a.len() as u64);
        let m = (counts.train + counts.val + counts.test) as f64;
        let f = rule.fractions;
        for (got, frac) in [
            (counts.train, f.train),
            (counts.val, f.val),
            (counts.test, f.test),
        ] {
            assert!(
                (got as f64 - frac * m).abs() < 1.0 + 1e-9,
                "{got} vs {frac} x {m}"
            );
        }
        // Disjoint index lists whose union is everything.
        let mut all: Vec<u64> = CODES
            .iter()
            .flat_map(|(_, c)| s.indices(*c).unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..a.len() as u64).collect::<Vec<_>>());
        assert_eq!(s.record.sha256, sha256_hex(a));
    }

    #[test]
    fn property_standard_splits() {
        for (case, (n, fr, seed)) in [
            (1usize, (0.8, 0.1, 0.1), 0u64),
            (2, (0.5, 0.5, 0.0), 1),
            (3, (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0), 2),
            (10, (0.7, 0.2, 0.1), 3),
            (997, (0.8, 0.1, 0.1), 4),
            (1000, (0.6, 0.25, 0.15), 5),
            (4099, (0.0, 0.0, 1.0), 6),
        ]
        .into_iter()
        .enumerate()
        {
            let p = 3;
            let theta = theta_grid(n, p, case as u64);
            let mut mask = vec![1u8; n];
            if n > 10 {
                for i in (0..n).step_by(7) {
                    mask[i] = 0;
                }
            }
            let rule = SplitRule::standard(fr.0, fr.1, fr.2, seed);
            let s = compute("w", &theta, &mask, &names(p), &rule).unwrap();
            check_invariants(&s, &mask, &rule);
            // Deterministic for a seed; another seed gives another assignment.
            let again = compute("w", &theta, &mask, &names(p), &rule).unwrap();
            assert_eq!(s, again);
            if n >= 100 && fr.0 > 0.0 && fr.0 < 1.0 {
                let other = compute(
                    "w",
                    &theta,
                    &mask,
                    &names(p),
                    &SplitRule::standard(fr.0, fr.1, fr.2, seed + 100),
                )
                .unwrap();
                assert_ne!(s.assignment, other.assignment);
            }
        }
    }

    #[test]
    fn property_ood_holds_contain_exactly_their_samples() {
        let (n, p) = (5000, 4);
        let theta = theta_grid(n, p, 77);
        let mut mask = vec![1u8; n];
        mask[17] = 0;
        let rule: SplitRule = SplitRule::from_json(
            r#"{"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 9, "ood": [
                {"kind": "slice", "param": "p0", "units": "quantile", "range": [0.9, 1.0]},
                {"kind": "corner", "params": ["p1", "p2"], "k": 2, "q": 0.1},
                {"kind": "interpolation", "params": ["p1", "p3"], "units": "natural", "box": [[0.4, 0.6], [0.45, 0.55]]}
            ]}"#,
        )
        .unwrap();
        let s = compute("w", &theta, &mask, &names(p), &rule).unwrap();
        check_invariants(&s, &mask, &rule);
        // Recompute the selections independently with sorted columns.
        let written: Vec<usize> = (0..n).filter(|&i| mask[i] == 1).collect();
        let q_lower = |j: usize, q: f64| {
            let mut v: Vec<f32> = written.iter().map(|&i| theta[i * p + j]).collect();
            v.sort_by(f32::total_cmp);
            f64::from(v[(q * (v.len() - 1) as f64).floor() as usize])
        };
        let x = |i: usize, j: usize| f64::from(theta[i * p + j]);
        let (s_lo, s_hi) = (q_lower(0, 0.9), q_lower(0, 1.0));
        let c = [
            (1, q_lower(1, 0.1), q_lower(1, 0.9)),
            (2, q_lower(2, 0.1), q_lower(2, 0.9)),
        ];
        let mut n_sel = [0u64; 3];
        for &i in &written {
            let slice = s_lo <= x(i, 0) && x(i, 0) <= s_hi;
            let corner = c
                .iter()
                .filter(|(j, lo, hi)| x(i, *j) <= *lo || x(i, *j) >= *hi)
                .count()
                >= 2;
            let interp = (0.4..=0.6).contains(&x(i, 1)) && (0.45..=0.55).contains(&x(i, 3));
            let want = if slice {
                SplitCode::OOD_SLICE
            } else if corner {
                SplitCode::OOD_CORNER
            } else if interp {
                SplitCode::OOD_INTERPOLATION
            } else {
                s.assignment[i].min(SplitCode::TEST)
            };
            assert_eq!(s.assignment[i], want, "sample {i}");
            for (k, sel) in [slice, corner, interp].into_iter().enumerate() {
                n_sel[k] += u64::from(sel);
            }
        }
        // Method "lower": the 0.9-quantile of m = 4999 values is the value of rank
        // floor(0.9 * 4998) = 4498, so the band holds ranks 4498..=4998 (no ties in random
        // floats): 501 samples.
        assert_eq!(s.record.counts.ood_slice, 4999 - 4498);
        assert!(s.record.counts.ood_corner > 0 && s.record.counts.ood_interpolation > 0);
        assert!(n_sel[1] >= s.record.counts.ood_corner);
        let OodRule::Slice { resolved, .. } = &s.record.rule.ood[0] else {
            panic!()
        };
        assert_eq!(*resolved, Some([s_lo, s_hi]));
    }

    #[test]
    fn rule_errors_name_the_field() {
        let p = names(3);
        let bad = |json: &str| {
            SplitRule::from_json(json)
                .and_then(|r| r.validate(&p))
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(
            bad(r#"{"fractions": {"train": 0.8, "val": 0.1, "test": 0.2}, "seed": 1}"#)
                .contains("rule.fractions sum to 1.1")
        );
        assert!(bad(r#"{"fractions": {"train": 0.8, "val": 0.1}, "seed": 1}"#).contains("test"));
        assert!(bad(r#"{"fractions": {"train": 1, "val": 0, "test": 0}, "seed": 1, "ood": [{"kind": "slice", "param": "zz", "units": "natural", "range": [0, 1]}]}"#)
            .contains("rule.ood[0].param 'zz'"));
        assert!(bad(r#"{"fractions": {"train": 1, "val": 0, "test": 0}, "seed": 1, "ood": [{"kind": "corner", "params": ["p0"], "k": 2, "q": 0.1}]}"#)
            .contains("rule.ood[0].k is 2"));
        assert!(bad(r#"{"fractions": {"train": 1, "val": 0, "test": 0}, "seed": 1, "ood": [{"kind": "slice", "param": "p0", "units": "quantile", "range": [0.5, 1.5]}]}"#)
            .contains("rule.ood[0].range"));
        assert!(bad(r#"{"fractions": {"train": 1, "val": 0, "test": 0}, "seed": 1, "ood": [{"kind": "blob"}]}"#)
            .contains("blob"));
    }

    #[test]
    fn store_and_load_round_trip() {
        store_and_load_round_trip_in(3);
    }

    /// A Zarr v2 world gets a Zarr v2 split array (`.zarray`, no v3 `zarr.json`), listed
    /// in the consolidated metadata.
    #[test]
    fn zarr_v2_world_gets_a_v2_split_array() {
        let dir = store_and_load_round_trip_in(2);
        let split = dir.join("nk").join(SPLIT_ARRAY);
        assert!(split.join(".zarray").is_file());
        assert!(!split.join("zarr.json").exists());
        let zarray: Value =
            serde_json::from_slice(&std::fs::read(split.join(".zarray")).unwrap()).unwrap();
        assert_eq!(zarray["zarr_format"], 2);
        assert_eq!(zarray["dtype"], "|u1");
        assert_eq!(zarray["fill_value"], 255);
        assert_eq!(zarray["chunks"], json!([16]));
        let zattrs: Value =
            serde_json::from_slice(&std::fs::read(split.join(".zattrs")).unwrap()).unwrap();
        assert_eq!(zattrs["_ARRAY_DIMENSIONS"], json!(["sample"]));
        let zmeta: Value =
            serde_json::from_slice(&std::fs::read(dir.join(".zmetadata")).unwrap()).unwrap();
        assert_eq!(zmeta["metadata"]["nk/split/.zarray"], zarray);
        assert_eq!(zmeta["metadata"]["nk/split/.zattrs"], zattrs);
        // chunk keys of v2 (dimension separator '.'): "0".."3"
        assert!(split.join("3").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Without OOD regions the split depends on the mask alone: theta is not read (a
    /// garbled theta array does not matter), and the split is the one computed from theta.
    #[test]
    fn a_rule_without_ood_regions_reads_the_mask_only_and_splits_the_same() {
        let dir = std::env::temp_dir().join(format!("ume-splits-mask-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_world(&dir, 3);
        let world = World::open(&dir, "nk").unwrap();
        let names = world.desc.param_names.clone();
        let rule = SplitRule::standard(0.6, 0.2, 0.2, 3);
        let (theta, mask) = read_theta(&world).unwrap();
        let want = compute("nk", &theta, &mask, &names, &rule).unwrap();
        let got = Splits::compute_for_world(&world, &rule).unwrap();
        assert_eq!(got.assignment, want.assignment);
        assert_eq!(got.record, want.record);
        assert_eq!(got.get(3).unwrap(), SplitCode::NOT_WRITTEN);
        // Garble every theta chunk: the mask-only split is unchanged, a rule with an OOD
        // region (which needs theta) now fails.
        let mut stack = vec![dir.join("nk/theta")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().unwrap() != "zarr.json" {
                    std::fs::write(&p, b"not a chunk").unwrap();
                }
            }
        }
        let world = World::open(&dir, "nk").unwrap();
        let again = Splits::compute_for_world(&world, &rule).unwrap();
        assert_eq!(again.assignment, want.assignment);
        let ood = SplitRule::from_json(
            r#"{"fractions": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 3,
            "ood": [{"kind": "slice", "param": "p0", "units": "natural", "range": [40, 45]}]}"#,
        )
        .unwrap();
        assert!(Splits::compute_for_world(&world, &ood).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A world "nk" of 50 samples (chunks of 16) in `dir`, sample 3 missing.
    fn write_world(dir: &std::path::Path, format: u8) {
        use crate::world::WorldDesc;
        use crate::writer::{SampleRef, Writer, WriterOptions};
        let desc = WorldDesc::new("nk", 50, 2, 1, 2, 1, 1);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(16);
        opts.storage.zarr_format = format;
        let w = Writer::create(dir, &desc, &opts).unwrap();
        for i in 0..50u64 {
            if i == 3 {
                continue;
            }
            let th = [i as f64, (50 - i) as f64];
            w.write_sample(
                i,
                crate::Layout::C,
                SampleRef {
                    theta: &th,
                    trajectories: &[0.0; 2],
                    irfs: &[0.0; 2],
                    shocks: &[0.0; 2],
                },
            )
            .unwrap();
        }
        w.finalize().unwrap();
    }

    fn store_and_load_round_trip_in(format: u8) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ume-splits-v{format}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_world(&dir, format);
        let world = World::open(&dir, "nk").unwrap();
        let rule = SplitRule::from_json(
            r#"{"fractions": {"train": 0.6, "val": 0.2, "test": 0.2}, "seed": 3,
            "ood": [{"kind": "slice", "param": "p0", "units": "natural", "range": [40, 45]}]}"#,
        )
        .unwrap();
        let s = Splits::compute_for_world(&world, &rule).unwrap();
        assert_eq!(s.get(3).unwrap(), SplitCode::NOT_WRITTEN);
        assert_eq!(
            s.indices(SplitCode::OOD_SLICE).unwrap(),
            vec![40, 41, 42, 43, 44, 45]
        );
        s.store(&world).unwrap();
        s.store(&world).unwrap(); // replacing is fine
        assert_eq!(Splits::load_assignment(&world).unwrap(), s.assignment);
        let reopened = World::open(&dir, "nk").unwrap();
        assert_eq!(reopened.zarr_format(), format);
        assert_eq!(Splits::load_assignment(&reopened).unwrap(), s.assignment);
        if format == 3 {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        dir
    }
}
