//! The rules a manifest must satisfy beyond the Draft-07 schema (semantic versions, lengths
//! that match the names, bounds and defaults, shared T and H, consistent arrays and splits)
//! and the validation that reports schema and semantic violations together. Separate from
//! the model so that every rule can be found, and changed, in one file.

use serde_json::Value;

use super::{expected_arrays, provenance, schema, Manifest, ParameterManifest};
use crate::error::{Error, ErrorKind, Result};
use crate::world::WorldDesc;

/// Checks a semantic version (semver 2.0.0); the message names `field`.
pub fn check_semver(field: &str, v: &str) -> Result<()> {
    let (core, rest) = match v.find(['-', '+']) {
        Some(p) => (&v[..p], &v[p..]),
        None => (v, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let num_ok = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    let ok = parts.len() == 3
        && parts.iter().all(|p| num_ok(p))
        && (rest.is_empty() || {
            let (pre, build) = match rest.strip_prefix('-') {
                Some(r) => match r.split_once('+') {
                    Some((p, b)) => (Some(p), Some(b)),
                    None => (Some(r), None),
                },
                None => (None, rest.strip_prefix('+')),
            };
            let part_ok = |x: Option<&str>| match x {
                None => true,
                Some(p) => ident_ok(p) && p.split('.').all(|x| !x.is_empty()),
            };
            part_ok(pre) && part_ok(build)
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{field} '{v}' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0 or 1.2.0-rc.1)"
        )))
    }
}

fn is_valid_pointer_key(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl Manifest {
    /// Rules beyond the Draft-07 schema, as messages naming the JSON path.
    pub fn semantic_violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(cfg) = &self.config {
            let h = provenance::config_hash(cfg);
            if h != self.config_hash {
                v.push(format!(
                    "at /config_hash: {} is not the SHA-256 of the canonical config ({h})",
                    self.config_hash
                ));
            }
        }
        if let Err(e) = check_semver("version", &self.version) {
            v.push(format!("at /version: {}", e.message()));
        }
        for (id, w) in &self.simulators {
            let base = format!("/simulators/{}", is_valid_pointer_key(id));
            if id.starts_with("__") {
                v.push(format!(
                    "at {base}: world_id '{id}' must not start with '__'"
                ));
            }
            if w.samples_written > w.n_samples {
                v.push(format!(
                    "at {base}/samples_written: {} exceeds n_samples {}",
                    w.samples_written, w.n_samples
                ));
            }
            for (f, mine, top) in [("T", w.t, self.t), ("H", w.h, self.h)] {
                if top != Some(mine) {
                    v.push(format!(
                        "at {base}/{f}: {mine} differs from the top-level {f} ({})",
                        top.map(|x| x.to_string())
                            .unwrap_or_else(|| "missing".into())
                    ));
                }
            }
            v.extend(parameter_violations(
                &format!("{base}/parameters"),
                &w.parameters,
            ));
            for (field, missing) in [
                ("parameters/bounds", w.parameters.bounds.is_none()),
                ("parameters/defaults", w.parameters.defaults.is_none()),
                ("shocks/sigma", w.shocks.sigma.is_none()),
            ] {
                if missing {
                    v.push(format!(
                        "at {base}/{field}: not set (ume_manifest_set_parameters / ume_manifest_set_shock_sigma)"
                    ));
                }
            }
            let s = &w.shocks;
            if s.n_shocks as usize != s.names.len() {
                v.push(format!(
                    "at {base}/shocks/n_shocks: {} but there are {} shock names",
                    s.n_shocks,
                    s.names.len()
                ));
            }
            if let Some(sigma) = &s.sigma {
                if sigma.len() != s.names.len() {
                    v.push(format!(
                        "at {base}/shocks/sigma: {} entries, expected {} (one per shock name)",
                        sigma.len(),
                        s.names.len()
                    ));
                }
            }
            let obs = w.obs_names();
            if let Some((i, name)) = obs.iter().enumerate().find(|(i, n)| obs[..*i].contains(n)) {
                v.push(format!(
                    "at {base}/observables: name '{name}' (observable {i}) is both canonical and extra or repeated"
                ));
            }
            if obs.is_empty() {
                v.push(format!("at {base}/observables: no observable names"));
            }
            let desc = WorldDesc {
                world_id: id.clone(),
                n_samples: w.n_samples,
                t: w.t,
                h: w.h,
                n_params: w.parameters.names.len() as u32,
                n_shocks: w.shocks.names.len() as u32,
                n_obs: obs.len() as u32,
                param_names: w.parameters.names.clone(),
                shock_names: w.shocks.names.clone(),
                obs_names: obs,
            };
            let want = expected_arrays(&desc);
            if w.storage.arrays != want {
                for (name, info) in &want {
                    match w.storage.arrays.get(name) {
                        Some(got) if got == info => {}
                        Some(got) => v.push(format!(
                            "at {base}/storage/arrays/{name}: shape {:?} dims {:?}, expected shape {:?} dims {:?} from n_samples, T, H and the names",
                            got.shape, got.dimension_names, info.shape, info.dimension_names
                        )),
                        None => v.push(format!("at {base}/storage/arrays: '{name}' is missing")),
                    }
                }
            }
        }
        for (id, rec) in &self.splits {
            let base = format!("/splits/{}", is_valid_pointer_key(id));
            match self.simulators.get(id) {
                None => v.push(format!("at {base}: world '{id}' is not in /simulators")),
                Some(w) if w.n_samples != rec.n_samples => v.push(format!(
                    "at {base}/n_samples: {} differs from the world's n_samples {}",
                    rec.n_samples, w.n_samples
                )),
                Some(_) => {}
            }
            if rec.counts.total() != rec.n_samples {
                v.push(format!(
                    "at {base}/counts: sum to {}, expected n_samples {}",
                    rec.counts.total(),
                    rec.n_samples
                ));
            }
            let names = self
                .simulators
                .get(id)
                .map(|w| w.parameters.names.clone())
                .unwrap_or_default();
            if let Err(e) = rec.rule.validate(&names) {
                v.push(format!("at {base}/rule: {}", e.message()));
            }
        }
        v
    }

    /// Schema and semantic check; the error (of `kind`) lists every violation with its path.
    pub fn validate_as(&self, kind: ErrorKind) -> Result<()> {
        validate_value(&self.to_value(), Some(self), kind)
    }

    /// Checks the manifest as it would be saved.
    pub fn validate(&self) -> Result<()> {
        self.validate_as(ErrorKind::InvalidArgument)
    }
}

/// Schema violations, then semantic ones, of a manifest value.
pub(super) fn validate_value(v: &Value, m: Option<&Manifest>, kind: ErrorKind) -> Result<()> {
    let mut msgs: Vec<String> = schema::violations(v)?
        .iter()
        .map(|x| x.to_string())
        .collect();
    let n_schema = msgs.len();
    if let Some(m) = m {
        msgs.extend(m.semantic_violations());
    }
    if msgs.is_empty() {
        return Ok(());
    }
    let total = msgs.len();
    let listed: Vec<String> = msgs.into_iter().take(10).collect();
    Err(Error::new(
        kind,
        format!(
            "manifest is invalid ({n_schema} schema violation(s) of schemas/manifest.json, {} other): {}{}",
            total - n_schema,
            listed.join("; "),
            if total > 10 {
                format!("; and {} more", total - 10)
            } else {
                String::new()
            }
        ),
    ))
}

pub(super) fn parameter_violations(base: &str, p: &ParameterManifest) -> Vec<String> {
    let mut v = Vec::new();
    let n = p.names.len();
    if p.units.len() != n {
        v.push(format!(
            "at {base}/units: {} entries, expected {n} (one per parameter name)",
            p.units.len()
        ));
    }
    if let Some(b) = &p.bounds {
        if b.len() != n {
            v.push(format!(
                "at {base}/bounds: {} entries, expected {n} (one per parameter name)",
                b.len()
            ));
        }
        for (i, [lo, hi]) in b.iter().enumerate() {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                let name = p.names.get(i).map(String::as_str).unwrap_or("?");
                v.push(format!(
                    "at {base}/bounds/{i}: [{lo}, {hi}] for '{name}', expected finite [lo, hi] with lo < hi"
                ));
            }
        }
    }
    if let Some(d) = &p.defaults {
        if d.len() != n {
            v.push(format!(
                "at {base}/defaults: {} entries, expected {n} (one per parameter name)",
                d.len()
            ));
        }
        for (i, x) in d.iter().enumerate() {
            let name = p.names.get(i).map(String::as_str).unwrap_or("?");
            if !x.is_finite() {
                v.push(format!(
                    "at {base}/defaults/{i}: {x} for '{name}' is not finite"
                ));
            } else if let Some([lo, hi]) = p.bounds.as_ref().and_then(|b| b.get(i)) {
                if lo < hi && !(lo <= x && x <= hi) {
                    v.push(format!(
                        "at {base}/defaults/{i}: {x} for '{name}' lies outside its bounds [{lo}, {hi}]"
                    ));
                }
            }
        }
    }
    v
}
