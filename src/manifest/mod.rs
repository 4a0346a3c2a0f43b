//! The dataset manifest (`<dataset>/manifest.json`): what was generated, how, from which
//! code and configuration, with which seeds and splits. Valid against the embedded
//! `schemas/manifest.json` (Draft-07) plus the rules Draft-07 cannot express (see
//! [`Manifest::semantic_violations`]); both are checked on save and on load.

pub(crate) mod provenance;
pub(crate) mod schema;

pub use provenance::GitInfo;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zarrs::storage::{Bytes, StoreKey, WritableStorageTraits};

use crate::error::{from_storage, Error, ErrorKind, Result};
use crate::seeds::SeedDerivation;
use crate::splits::{SplitCounts, SplitRecord, Splits};
use crate::storage::dataset::{World, FORMAT_VERSION};
use crate::world::{ArrayKind, WorldDesc, WRITTEN};
use crate::writer::Summary;

/// File name of the manifest inside a dataset.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The world ids of the dataset at `dataset`: those `manifest` lists when it is given and
/// lists any, otherwise the sub-directories that open as worlds, sorted. Fails only when
/// the directory cannot be listed.
pub fn world_ids(dataset: &Path, manifest: Option<&Manifest>) -> Result<Vec<String>> {
    if let Some(m) = manifest {
        if !m.simulators.is_empty() {
            return Ok(m.simulators.keys().cloned().collect());
        }
    }
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!("cannot list dataset directory '{}': {e}", dataset.display()),
        )
    };
    let mut ids = Vec::new();
    for e in std::fs::read_dir(dataset).map_err(io)? {
        let e = e.map_err(io)?;
        if e.path().join("zarr.json").is_file() || e.path().join(".zgroup").is_file() {
            if let Some(name) = e.file_name().to_str() {
                if World::open(dataset, name).is_ok() {
                    ids.push(name.to_string());
                }
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// The seed record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngSeeds {
    /// Global seed.
    pub global: u64,
    /// Whether samples draw from their own seeds.
    pub per_sample: bool,
    /// Name of the derivation ([`SeedDerivation::name`]).
    pub derivation_algorithm: String,
}

/// Parameters of a world. Units, bounds and defaults are `None` until set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterManifest {
    /// Names, as in the world.
    pub names: Vec<String>,
    /// Units, one per name (default `"-"`, dimensionless).
    pub units: Vec<String>,
    /// `[lo, hi]` per name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Vec<[f64; 2]>>,
    /// Default (calibrated) value per name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Vec<f64>>,
}

/// Shocks of a world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShockManifest {
    /// Names.
    pub names: Vec<String>,
    /// Number of shocks.
    pub n_shocks: u32,
    /// Standard deviation per shock (`None` until set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<Vec<f64>>,
}

/// Observables of a world: the first ones canonical, the rest extra.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObservableManifest {
    /// Canonical observables (e.g. output, inflation, rate).
    pub canonical_names: Vec<String>,
    /// Extra observables.
    pub extra_names: Vec<String>,
}

/// Shape and dimension names of one stored array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayInfo {
    /// Shape, sample axis first.
    pub shape: Vec<u64>,
    /// Dimension names.
    pub dimension_names: Vec<String>,
}

/// How a world is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageInfo {
    /// Always `float32`.
    pub dtype: String,
    /// Samples per chunk.
    pub chunk_samples: u64,
    /// Samples per inner chunk when the data arrays' chunks are shards (Zarr v3
    /// `sharding_indexed`): the unit a single-sample read decodes. Absent when the chunks
    /// are not sharded (and in manifests written before umedata 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_chunk_samples: Option<u64>,
    /// Codec name (`blosc-lz4`, ...).
    pub codec: String,
    /// theta, trajectories, irfs, shocks, written.
    pub arrays: BTreeMap<String, ArrayInfo>,
}

/// One world (simulator) of the dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldManifest {
    /// Samples of the world.
    pub n_samples: u64,
    /// Samples stored.
    pub samples_written: u64,
    /// Trajectory length.
    #[serde(rename = "T")]
    pub t: u32,
    /// IRF horizon.
    #[serde(rename = "H")]
    pub h: u32,
    /// Parameter manifest.
    pub parameters: ParameterManifest,
    /// Shock manifest.
    pub shocks: ShockManifest,
    /// Observable manifest.
    pub observables: ObservableManifest,
    /// Storage.
    pub storage: StorageInfo,
}

impl WorldManifest {
    fn from_desc(desc: &WorldDesc, chunk_samples: u64, codec: &str, samples_written: u64) -> Self {
        let arrays = expected_arrays(desc);
        WorldManifest {
            n_samples: desc.n_samples,
            samples_written,
            t: desc.t,
            h: desc.h,
            parameters: ParameterManifest {
                names: desc.param_names.clone(),
                units: vec!["-".into(); desc.param_names.len()],
                bounds: None,
                defaults: None,
            },
            shocks: ShockManifest {
                names: desc.shock_names.clone(),
                n_shocks: desc.n_shocks,
                sigma: None,
            },
            observables: ObservableManifest {
                canonical_names: desc.obs_names.clone(),
                extra_names: Vec::new(),
            },
            storage: StorageInfo {
                dtype: "float32".into(),
                chunk_samples,
                inner_chunk_samples: None,
                codec: codec.into(),
                arrays,
            },
        }
    }

    /// All observable names, canonical first.
    pub fn obs_names(&self) -> Vec<String> {
        let o = &self.observables;
        o.canonical_names
            .iter()
            .chain(&o.extra_names)
            .cloned()
            .collect()
    }
}

/// Shapes and dimension names of the arrays a world description implies.
pub fn expected_arrays(desc: &WorldDesc) -> BTreeMap<String, ArrayInfo> {
    let mut m = BTreeMap::new();
    for kind in ArrayKind::ALL {
        let mut shape = vec![desc.n_samples];
        shape.extend(desc.sample_dims(kind).iter().map(|&d| d as u64));
        m.insert(
            kind.name().to_string(),
            ArrayInfo {
                shape,
                dimension_names: kind
                    .dimension_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
        );
    }
    m.insert(
        WRITTEN.to_string(),
        ArrayInfo {
            shape: vec![desc.n_samples],
            dimension_names: vec!["sample".into()],
        },
    );
    m
}

/// The manifest of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// On-disk format version of umedata.
    pub umedata_format_version: String,
    /// Library version that wrote the manifest.
    pub library_version: String,
    /// Dataset version (semver).
    pub version: String,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// HEAD commit or "unknown".
    pub git_hash: String,
    /// Dirty flag (null when unknown).
    pub git_dirty: Option<bool>,
    /// Work directory the provenance was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_repository: Option<String>,
    /// SHA-256 of the canonical configuration.
    pub config_hash: String,
    /// The configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Seeds.
    pub rng_seeds: RngSeeds,
    /// Trajectory length of every world (set by the first world recorded).
    #[serde(rename = "T", default, skip_serializing_if = "Option::is_none")]
    pub t: Option<u32>,
    /// IRF horizon of every world (set by the first world recorded).
    #[serde(rename = "H", default, skip_serializing_if = "Option::is_none")]
    pub h: Option<u32>,
    /// Worlds by id.
    pub simulators: BTreeMap<String, WorldManifest>,
    /// Split records by world id.
    pub splits: BTreeMap<String, SplitRecord>,
}

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
    /// A new manifest for dataset version `version`, seeds from `global_seed` by
    /// `derivation`, created now, git "unknown", empty configuration.
    pub fn new(version: &str, global_seed: u64, derivation: SeedDerivation) -> Result<Self> {
        check_semver("version", version)?;
        let config = Value::Object(Default::default());
        Ok(Self {
            umedata_format_version: FORMAT_VERSION.into(),
            library_version: env!("CARGO_PKG_VERSION").into(),
            version: version.into(),
            created_at: provenance::now_rfc3339(),
            git_hash: "unknown".into(),
            git_dirty: None,
            git_repository: None,
            config_hash: provenance::config_hash(&config),
            config: None,
            rng_seeds: RngSeeds {
                global: global_seed,
                per_sample: true,
                derivation_algorithm: derivation.name().into(),
            },
            t: None,
            h: None,
            simulators: BTreeMap::new(),
            splits: BTreeMap::new(),
        })
    }

    /// Sets the configuration from JSON text (an object); its hash is the SHA-256 of the
    /// canonical form. With `store`, the configuration itself goes into the manifest too.
    pub fn set_config_json(&mut self, text: &str, store: bool) -> Result<()> {
        let v = provenance::parse_config(text)?;
        self.config_hash = provenance::config_hash(&v);
        self.config = store.then_some(v);
        Ok(())
    }

    /// Records the git provenance of the repository containing `path` ("unknown" outside
    /// a repository; never an error).
    pub fn set_git_from(&mut self, path: &Path) {
        self.set_git(provenance::git_info(path));
    }

    /// Records git provenance.
    pub fn set_git(&mut self, info: GitInfo) {
        self.git_hash = info.commit;
        self.git_dirty = info.dirty;
        self.git_repository = info.workdir;
    }

    fn check_t_h(&mut self, world_id: &str, t: u32, h: u32) -> Result<()> {
        for (field, mine, theirs) in [("T", &mut self.t, t), ("H", &mut self.h, h)] {
            match mine {
                Some(v) if *v != theirs => {
                    return Err(Error::invalid(format!(
                        "world '{world_id}' has {field}={theirs}, but the manifest's {field} is {v} (all worlds of a dataset share T and H)"
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds (or updates) a world from its description. Units, bounds, defaults, sigma and
    /// the canonical/extra split of an existing entry with the same names are kept.
    pub fn add_world(
        &mut self,
        desc: &WorldDesc,
        chunk_samples: u64,
        codec: &str,
        samples_written: u64,
    ) -> Result<()> {
        desc.validate()?;
        if chunk_samples == 0 {
            return Err(Error::invalid("chunk_samples is 0, expected at least 1"));
        }
        if samples_written > desc.n_samples {
            return Err(Error::invalid(format!(
                "samples_written {samples_written} exceeds n_samples {}",
                desc.n_samples
            )));
        }
        self.check_t_h(&desc.world_id, desc.t, desc.h)?;
        let mut new = WorldManifest::from_desc(desc, chunk_samples, codec, samples_written);
        if let Some(old) = self.simulators.get(&desc.world_id) {
            if old.parameters.names == new.parameters.names {
                new.parameters = old.parameters.clone();
            }
            if old.shocks.names == new.shocks.names {
                new.shocks.sigma = old.shocks.sigma.clone();
            }
            if old.obs_names() == desc.obs_names {
                new.observables = old.observables.clone();
            }
        }
        self.t = Some(desc.t);
        self.h = Some(desc.h);
        self.simulators.insert(desc.world_id.clone(), new);
        Ok(())
    }

    /// Records a world as a writer or reader sees it; `summary` (from
    /// [`crate::Writer::finalize`]) gives samples_written, otherwise the `written` mask on
    /// disk is counted.
    pub fn record_world(&mut self, world: &World, summary: Option<&Summary>) -> Result<()> {
        let written = match summary {
            Some(s) => s.samples_written,
            None => count_written(world)?,
        };
        self.add_world(&world.desc, world.chunk_samples, &world.codec, written)?;
        let entry = self.world_mut(&world.desc.world_id)?;
        entry.storage.inner_chunk_samples = sharded_inner(world);
        Ok(())
    }

    fn world_mut(&mut self, world_id: &str) -> Result<&mut WorldManifest> {
        let known: Vec<String> = self.simulators.keys().cloned().collect();
        self.simulators.get_mut(world_id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "world_id '{world_id}' is not in the manifest (worlds: [{}]); add the world first",
                    known.join(", ")
                ),
            )
        })
    }

    /// Sets units, bounds and defaults of a world's parameters (`None` leaves one as it
    /// is). Each must have one entry per parameter; bounds need `lo < hi` and defaults
    /// must lie within them.
    pub fn set_parameters(
        &mut self,
        world_id: &str,
        units: Option<Vec<String>>,
        bounds: Option<Vec<[f64; 2]>>,
        defaults: Option<Vec<f64>>,
    ) -> Result<()> {
        let w = self.world_mut(world_id)?;
        let n = w.parameters.names.len();
        let len = |field: &str, got: usize| -> Result<()> {
            if got != n {
                return Err(Error::new(
                    ErrorKind::LengthMismatch,
                    format!(
                        "{field} has {got} entries, expected {n} (n_params of world '{world_id}')"
                    ),
                ));
            }
            Ok(())
        };
        let mut p = w.parameters.clone();
        if let Some(u) = units {
            len("units", u.len())?;
            if let Some(i) = u.iter().position(String::is_empty) {
                return Err(Error::invalid(format!(
                    "units[{i}] is empty (use \"-\" for dimensionless)"
                )));
            }
            p.units = u;
        }
        if let Some(b) = bounds {
            len("bounds", b.len())?;
            p.bounds = Some(b);
        }
        if let Some(d) = defaults {
            len("defaults", d.len())?;
            p.defaults = Some(d);
        }
        let errs = parameter_violations(&format!("/simulators/{world_id}/parameters"), &p);
        if let Some(e) = errs.first() {
            return Err(Error::invalid(e.clone()));
        }
        self.world_mut(world_id)?.parameters = p;
        Ok(())
    }

    /// Sets the standard deviation of each shock (n_shocks values, each > 0).
    pub fn set_shock_sigma(&mut self, world_id: &str, sigma: Vec<f64>) -> Result<()> {
        let w = self.world_mut(world_id)?;
        let n = w.shocks.names.len();
        if sigma.len() != n {
            return Err(Error::new(
                ErrorKind::LengthMismatch,
                format!(
                    "sigma has {} entries, expected {n} (n_shocks of world '{world_id}')",
                    sigma.len()
                ),
            ));
        }
        if let Some((i, s)) = sigma
            .iter()
            .enumerate()
            .find(|(_, s)| !(s.is_finite() && **s > 0.0))
        {
            return Err(Error::invalid(format!(
                "sigma[{i}] is {s}, expected a finite number > 0"
            )));
        }
        w.shocks.sigma = Some(sigma);
        Ok(())
    }

    /// Declares the first `n_canonical` observables canonical and the rest extra.
    pub fn set_n_canonical_obs(&mut self, world_id: &str, n_canonical: u32) -> Result<()> {
        let w = self.world_mut(world_id)?;
        let all = w.obs_names();
        if n_canonical as usize > all.len() {
            return Err(Error::invalid(format!(
                "n_canonical is {n_canonical}, expected 0..={} (n_obs of world '{world_id}')",
                all.len()
            )));
        }
        let (c, e) = all.split_at(n_canonical as usize);
        w.observables = ObservableManifest {
            canonical_names: c.to_vec(),
            extra_names: e.to_vec(),
        };
        Ok(())
    }

    /// Records a split (rule, counts, hash) of a world already in the manifest.
    pub fn set_splits(&mut self, splits: &Splits) -> Result<()> {
        let w = self.world_mut(&splits.world_id)?;
        if w.n_samples != splits.record.n_samples {
            return Err(Error::new(
                ErrorKind::LengthMismatch,
                format!(
                    "split of world '{}' has {} samples, the manifest's world has {}",
                    splits.world_id, splits.record.n_samples, w.n_samples
                ),
            ));
        }
        self.splits
            .insert(splits.world_id.clone(), splits.record.clone());
        Ok(())
    }

    /// The manifest as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The manifest as pretty-printed JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

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

    /// Validates and saves the manifest as `<dataset>/manifest.json`, atomically (temp
    /// file, fsync, rename). Returns the path written.
    pub fn save(&self, dataset: &Path) -> Result<PathBuf> {
        self.validate()?;
        if !dataset.is_dir() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "dataset '{}' does not exist or is not a directory",
                    dataset.display()
                ),
            ));
        }
        let mut text = self.to_json();
        text.push('\n');
        let store = crate::storage::store::AtomicFsStore::open(dataset, true)?;
        let key = StoreKey::new(MANIFEST_FILE).map_err(|e| Error::internal(e.to_string()))?;
        store
            .set(&key, Bytes::from(text.into_bytes()))
            .map_err(|e| {
                from_storage(
                    &format!("writing '{}/{MANIFEST_FILE}'", dataset.display()),
                    e,
                )
            })?;
        Ok(dataset.join(MANIFEST_FILE))
    }

    /// Parses and fully validates manifest JSON text (errors are [`ErrorKind::Format`]).
    pub fn from_json(text: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::Format,
                format!("manifest is not valid JSON: {e}"),
            )
        })?;
        schema::validate(&v, ErrorKind::Format)?;
        let m: Manifest = serde_json::from_value(v.clone()).map_err(|e| {
            Error::new(
                ErrorKind::Format,
                format!("manifest does not match umedata's model: {e}"),
            )
        })?;
        validate_value(&v, Some(&m), ErrorKind::Format)?;
        Ok(m)
    }

    /// Loads `<path>/manifest.json` (or `path` itself when it is a file) and validates it.
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            Error::new(kind, format!("cannot read '{}': {e}", file.display()))
        })?;
        Self::from_json(&text)
            .map_err(|e| Error::new(e.kind(), format!("'{}': {}", file.display(), e.message())))
    }

    /// Compares the manifest with the dataset on disk: every world's shapes, names,
    /// chunking, codec and written count, and every split's array, counts and hash.
    /// Returns the differences (empty = consistent).
    pub fn check_dataset(&self, dataset: &Path) -> Result<Vec<String>> {
        let mut diffs = Vec::new();
        for (id, w) in &self.simulators {
            let world = match World::open(dataset, id) {
                Ok(world) => world,
                Err(e) => {
                    diffs.push(format!("world '{id}': cannot be opened: {}", e.message()));
                    continue;
                }
            };
            let d = &world.desc;
            let mut cmp = |what: &str, manifest: String, disk: String| {
                if manifest != disk {
                    diffs.push(format!(
                        "world '{id}': {what} is {manifest} in the manifest, {disk} on disk"
                    ));
                }
            };
            cmp(
                "n_samples",
                w.n_samples.to_string(),
                d.n_samples.to_string(),
            );
            cmp("T", w.t.to_string(), d.t.to_string());
            cmp("H", w.h.to_string(), d.h.to_string());
            cmp(
                "parameter names",
                format!("{:?}", w.parameters.names),
                format!("{:?}", d.param_names),
            );
            cmp(
                "shock names",
                format!("{:?}", w.shocks.names),
                format!("{:?}", d.shock_names),
            );
            cmp(
                "observable names",
                format!("{:?}", w.obs_names()),
                format!("{:?}", d.obs_names),
            );
            // The arrays' own metadata, not the world attribute, says how they are stored.
            cmp(
                "chunk_samples",
                w.storage.chunk_samples.to_string(),
                disk_chunking(&world),
            );
            // Older manifests do not say; a manifest that does must match the disk.
            if let Some(inner) = w.storage.inner_chunk_samples {
                let disk = sharded_inner(&world)
                    .map_or_else(|| "absent (not sharded)".to_string(), |u| u.to_string());
                cmp("inner_chunk_samples", inner.to_string(), disk);
            }
            cmp("codec", w.storage.codec.clone(), disk_codec(&world));
            let disk_arrays: BTreeMap<String, Vec<u64>> = ArrayKind::ALL
                .iter()
                .map(|k| (k.name().to_string(), world.array(*k).shape().to_vec()))
                .chain([(WRITTEN.to_string(), world.written.shape().to_vec())])
                .collect();
            for (name, info) in &w.storage.arrays {
                let disk = disk_arrays.get(name).cloned().unwrap_or_default();
                cmp(
                    &format!("shape of '{name}'"),
                    format!("{:?}", info.shape),
                    format!("{disk:?}"),
                );
            }
            match count_written(&world) {
                Ok(n) => cmp(
                    "samples_written",
                    w.samples_written.to_string(),
                    n.to_string(),
                ),
                Err(e) => diffs.push(format!(
                    "world '{id}': written mask unreadable: {}",
                    e.message()
                )),
            }
            if let Some(rec) = self.splits.get(id) {
                match Splits::load_assignment(&world) {
                    Err(e) => diffs.push(format!("world '{id}': split: {}", e.message())),
                    Ok(a) => {
                        let sha = provenance::sha256_hex(&a);
                        if sha != rec.sha256 {
                            diffs.push(format!(
                                "world '{id}': split array has SHA-256 {sha}, the manifest records {}",
                                rec.sha256
                            ));
                        }
                        match SplitCounts::of(&a) {
                            Ok(c) if c != rec.counts => diffs.push(format!(
                                "world '{id}': split counts are {:?} on disk, {:?} in the manifest",
                                crate::splits::counts_map(&c),
                                crate::splits::counts_map(&rec.counts)
                            )),
                            Ok(_) => {}
                            Err(e) => diffs.push(format!("world '{id}': {}", e.message())),
                        }
                    }
                }
            }
        }
        // Worlds on disk that the manifest does not list.
        if let Ok(entries) = std::fs::read_dir(dataset) {
            let mut extra: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().join("zarr.json").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !self.simulators.contains_key(name))
                .filter(|name| World::open(dataset, name).is_ok())
                .collect();
            extra.sort();
            for name in extra {
                diffs.push(format!("world '{name}' is on disk but not in the manifest"));
            }
        }
        Ok(diffs)
    }
}

/// Schema violations, then semantic ones, of a manifest value.
fn validate_value(v: &Value, m: Option<&Manifest>, kind: ErrorKind) -> Result<()> {
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

fn parameter_violations(base: &str, p: &ParameterManifest) -> Vec<String> {
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

/// The chunk length of the world's arrays from their metadata: one number when all data
/// arrays and the mask are chunked by whole samples alike, else each array's chunk shape.
fn disk_chunking(world: &World) -> String {
    let c = world.array_chunk_samples(0);
    let uniform = (0..4).all(|a| {
        let shape = world.array_chunk_shape(a);
        shape[0] == c && shape[1..] == world.arrays[a].shape()[1..]
    }) && world.mask_chunk_samples() == c;
    if uniform {
        return c.to_string();
    }
    let mut parts: Vec<String> = ArrayKind::ALL
        .iter()
        .enumerate()
        .map(|(a, k)| format!("{} chunks {:?}", k.name(), world.array_chunk_shape(a)))
        .collect();
    parts.push(format!("{WRITTEN} chunks [{}]", world.mask_chunk_samples()));
    parts.join(", ")
}

/// The codec of the world's data arrays from their metadata (each array's when they
/// differ).
fn disk_codec(world: &World) -> String {
    let first = world.array_codec(0);
    if (1..4).all(|a| world.array_codec(a) == first) {
        return first.to_string();
    }
    ArrayKind::ALL
        .iter()
        .enumerate()
        .map(|(a, k)| format!("{} {}", k.name(), world.array_codec(a)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Samples per inner chunk of a world whose data arrays are sharded, `None` otherwise.
fn sharded_inner(world: &World) -> Option<u64> {
    world
        .inner_chunk_shape(1)
        .map(|shape| shape[0])
        .filter(|&u| u != world.chunk_samples)
}

/// Samples marked written in the mask on disk.
pub fn count_written(world: &World) -> Result<u64> {
    let mut total = 0;
    for c in 0..world.n_chunks() {
        let n = world.samples_in_chunk(c) as usize;
        total += world.read_mask_chunk(c)?[..n]
            .iter()
            .filter(|&&m| m != 0)
            .count() as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_file_name_is_a_reserved_world_id() {
        // world.rs lists it by value (the foundation layer imports no manifest).
        assert!(crate::world::RESERVED_IDS.contains(&MANIFEST_FILE));
    }
    use crate::splits::SplitRule;
    use crate::writer::{SampleRef, Writer, WriterOptions};

    use crate::reference::nk;

    fn nk_desc(n: u64) -> WorldDesc {
        let mut d = WorldDesc::new("nk", n, 8, 3, 8, 3, 3);
        d.param_names = nk::PARAM_NAMES.iter().map(|s| s.to_string()).collect();
        d.shock_names = nk::SHOCK_NAMES.iter().map(|s| s.to_string()).collect();
        d.obs_names = nk::OBS_NAMES.iter().map(|s| s.to_string()).collect();
        d
    }

    /// The prototype's bounds and defaults, as the reference world defines them.
    fn seed_bounds() -> Vec<[f64; 2]> {
        nk::BOUNDS.to_vec()
    }

    fn seed_defaults() -> Vec<f64> {
        nk::DEFAULTS.to_vec()
    }

    fn complete(m: &mut Manifest) {
        m.set_parameters("nk", None, Some(seed_bounds()), Some(seed_defaults()))
            .unwrap();
        m.set_shock_sigma("nk", vec![0.005, 0.01, 0.005]).unwrap();
    }

    fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ume-man-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }

    /// Issue 15 item 1: the check compares the arrays' real chunking and codec, not the
    /// world attribute; a mask chunked unlike the attribute is counted, not a panic.
    #[test]
    fn check_compares_the_arrays_not_the_attribute() {
        use zarrs::array::codec::GzipCodec;
        use zarrs::array::{data_type, ArrayBuilder, ArraySubset};
        let dir = tmp("real");
        let desc = nk_desc(40);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(16);
        opts.storage.inner_chunk_samples = Some(16);
        let w = Writer::create(&dir, &desc, &opts).unwrap();
        let (p, t, o) = (desc.n_params as usize, desc.t as usize, desc.n_obs as usize);
        for i in 0..40u64 {
            let z: Vec<f64> = (0..t * o).map(|k| (i * 100 + k as u64) as f64).collect();
            let th: Vec<f64> = seed_defaults().to_vec();
            let irf = vec![0.1; desc.sample_len(crate::ArrayKind::Irfs)];
            let sh = vec![0.0; desc.sample_len(crate::ArrayKind::Shocks)];
            assert_eq!(th.len(), p);
            let s = SampleRef {
                theta: &th,
                trajectories: &z,
                irfs: &irf,
                shocks: &sh,
            };
            w.write_sample(i, crate::Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        let mut m = Manifest::new("1.0.0", 42, SeedDerivation::Add).unwrap();
        m.record_world(w.world(), None).unwrap();
        let before = m.check_dataset(&dir).unwrap();
        assert!(before.is_empty(), "{before:?}");
        let store = w.world().store.clone();
        drop(w);
        // trajectories rewritten gzip-compressed in chunks of 16 samples x 3 steps, the
        // mask in chunks of 5: the attribute still says 16 and blosc-lz4
        std::fs::remove_dir_all(dir.join("nk/trajectories")).unwrap();
        std::fs::remove_dir_all(dir.join("nk/written")).unwrap();
        let z: Vec<f32> = (0..40u64)
            .flat_map(|i| (0..t * o).map(move |k| (i * 100 + k as u64) as f32))
            .collect();
        let shape = vec![40, t as u64, o as u64];
        let traj = ArrayBuilder::new(
            shape.clone(),
            vec![16, 3, o as u64],
            data_type::float32(),
            f32::NAN,
        )
        .bytes_to_bytes_codecs(vec![std::sync::Arc::new(GzipCodec::new(5).unwrap())])
        .build(store.clone(), "/nk/trajectories")
        .unwrap();
        traj.store_metadata().unwrap();
        traj.store_array_subset(&ArraySubset::new_with_shape(shape), z)
            .unwrap();
        let mask = ArrayBuilder::new(vec![40], vec![5], data_type::uint8(), 0u8)
            .build(store, "/nk/written")
            .unwrap();
        mask.store_metadata().unwrap();
        mask.store_array_subset(&ArraySubset::new_with_shape(vec![40]), vec![1u8; 40])
            .unwrap();
        let diffs = m.check_dataset(&dir).unwrap();
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(
            diffs[0].contains("chunk_samples is 16 in the manifest")
                && diffs[0].contains("trajectories chunks [16, 3, 3]")
                && diffs[0].contains("written chunks [5]"),
            "{diffs:?}"
        );
        assert!(
            diffs[1].contains("codec is blosc-lz4 in the manifest")
                && diffs[1].contains("trajectories gzip"),
            "{diffs:?}"
        );
        // and the rechunked world reads back exactly
        let r = crate::Reader::open(&dir, "nk").unwrap();
        let mut buf = vec![0f64; t * o];
        r.read_range(33, 1, crate::Layout::C, [None, Some(&mut buf), None, None])
            .unwrap();
        assert_eq!(buf[7], 3307.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn build_validate_save_load_round_trip() {
        let dir = tmp("rt");
        let desc = nk_desc(40);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(16);
        opts.storage.inner_chunk_samples = Some(4);
        let w = Writer::create(&dir, &desc, &opts).unwrap();
        for i in 0..40u64 {
            let th: Vec<f64> = seed_defaults()
                .iter()
                .map(|x| x * (1.0 + i as f64 * 1e-3))
                .collect();
            let z = vec![0.5; 24];
            let irf = vec![0.1; 3 * 4 * 3];
            let sh = vec![0.0; 24];
            w.write_sample(
                i,
                crate::Layout::C,
                SampleRef {
                    theta: &th,
                    trajectories: &z,
                    irfs: &irf,
                    shocks: &sh,
                },
            )
            .unwrap();
        }
        let summary = w.finalize().unwrap();
        let mut m = Manifest::new("1.0.0", 42, SeedDerivation::Add).unwrap();
        m.set_config_json(r#"{"model": "nk", "n": 40}"#, true)
            .unwrap();
        m.record_world(w.world(), Some(&summary)).unwrap();
        assert_eq!(m.simulators["nk"].storage.inner_chunk_samples, Some(4));
        // Incomplete: bounds, defaults and sigma are missing, and the messages say where.
        let err = m.validate().unwrap_err().message().to_string();
        assert!(
            err.contains("/simulators/nk/parameters") && err.contains("bounds"),
            "{err}"
        );
        assert!(err.contains("sigma"), "{err}");
        complete(&mut m);
        m.set_n_canonical_obs("nk", 2).unwrap();
        let rule = SplitRule::standard(0.8, 0.1, 0.1, 7);
        let s = Splits::compute_for_world(w.world(), &rule).unwrap();
        s.store(w.world()).unwrap();
        m.set_splits(&s).unwrap();
        m.validate().unwrap();
        let path = m.save(&dir).unwrap();
        let back = Manifest::load(&dir).unwrap();
        assert_eq!(back, m);
        assert_eq!(Manifest::load(&path).unwrap(), m);
        assert!(m.check_dataset(&dir).unwrap().is_empty());
        assert_eq!(
            back.simulators["nk"].observables.extra_names,
            vec!["rate".to_string()]
        );
        // The consistency check sees a changed count and a different split.
        let mut m2 = m.clone();
        m2.simulators.get_mut("nk").unwrap().samples_written = 39;
        m2.simulators
            .get_mut("nk")
            .unwrap()
            .storage
            .inner_chunk_samples = Some(8);
        m2.splits.get_mut("nk").unwrap().sha256 = "0".repeat(64);
        let diffs = m2.check_dataset(&dir).unwrap();
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(diffs[0].contains("inner_chunk_samples is 8 in the manifest, 4 on disk"));
        assert!(diffs[1].contains("samples_written is 39 in the manifest, 40 on disk"));
        assert!(diffs[2].contains("SHA-256"));
        // A manifest from before umedata 0.2 does not say: nothing to compare.
        let mut m3 = m.clone();
        m3.simulators
            .get_mut("nk")
            .unwrap()
            .storage
            .inner_chunk_samples = None;
        assert!(m3.check_dataset(&dir).unwrap().is_empty());
        assert!(!m3.to_json().contains("inner_chunk_samples"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn valid_manifest() -> Manifest {
        let mut m =
            Manifest::new("1.2.3-rc.1+build.5", u64::MAX, SeedDerivation::SplitMix64).unwrap();
        m.add_world(&nk_desc(100), 32, "blosc-lz4", 100).unwrap();
        complete(&mut m);
        m
    }

    #[test]
    fn corrupted_manifests_are_rejected_naming_the_field() {
        let good = valid_manifest().to_value();
        Manifest::from_json(&good.to_string()).unwrap();
        type Corrupt = Box<dyn Fn(&mut Value)>;
        let cases: Vec<(&str, Corrupt, &[&str])> = vec![
            (
                "wrong type",
                Box::new(|v| v["T"] = "200".into()),
                &["/T", "type"],
            ),
            (
                "missing field",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("git_hash");
                }),
                &["git_hash", "required"],
            ),
            (
                "bad semver",
                Box::new(|v| v["version"] = "1.0".into()),
                &["/version", "pattern"],
            ),
            (
                "bounds lo > hi",
                Box::new(|v| {
                    v["simulators"]["nk"]["parameters"]["bounds"][2] =
                        serde_json::json!([3.5, 1.05])
                }),
                &["/simulators/nk/parameters/bounds/2", "lo < hi"],
            ),
            (
                "bounds length",
                Box::new(|v| {
                    v["simulators"]["nk"]["parameters"]["bounds"]
                        .as_array_mut()
                        .unwrap()
                        .pop();
                }),
                &["/simulators/nk/parameters/bounds", "7 entries, expected 8"],
            ),
            (
                "duplicate names",
                Box::new(|v| v["simulators"]["nk"]["parameters"]["names"][1] = "beta".into()),
                &["/simulators/nk/parameters/names", "uniqueItems"],
            ),
            (
                "bad date",
                Box::new(|v| v["created_at"] = "yesterday".into()),
                &["/created_at"],
            ),
            (
                "bad hash",
                Box::new(|v| v["git_hash"] = "xyz".into()),
                &["/git_hash", "pattern"],
            ),
            (
                "sigma <= 0",
                Box::new(|v| v["simulators"]["nk"]["shocks"]["sigma"][0] = 0.0.into()),
                &["/simulators/nk/shocks/sigma/0", "exclusiveMinimum"],
            ),
            (
                "config hash",
                Box::new(|v| v["config"] = serde_json::json!({"a": 1})),
                &["/config_hash"],
            ),
            (
                "unknown derivation",
                Box::new(|v| v["rng_seeds"]["derivation_algorithm"] = "magic".into()),
                &["/rng_seeds/derivation_algorithm", "enum"],
            ),
        ];
        for (what, corrupt, needles) in cases {
            let mut v = good.clone();
            corrupt(&mut v);
            let e = Manifest::from_json(&v.to_string()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Format, "{what}");
            for n in needles {
                assert!(
                    e.message().contains(n),
                    "{what}: '{}' lacks '{n}'",
                    e.message()
                );
            }
            // Rejected on save as well (when the model can hold it).
            if let Ok(m) = serde_json::from_value::<Manifest>(v) {
                let dir = tmp("corrupt");
                std::fs::create_dir_all(&dir).unwrap();
                let e = m.save(&dir).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}");
                assert!(e.message().contains(needles[0]), "{what}: {}", e.message());
                assert!(!dir.join(MANIFEST_FILE).exists());
                std::fs::remove_dir_all(&dir).unwrap();
            }
        }
    }

    #[test]
    fn setters_check_lengths_and_values() {
        let mut m = Manifest::new("0.1.0", 1, SeedDerivation::Add).unwrap();
        assert!(Manifest::new("1.0", 1, SeedDerivation::Add)
            .unwrap_err()
            .message()
            .contains("version '1.0'"));
        assert_eq!(
            m.set_shock_sigma("nk", vec![1.0]).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        m.add_world(&nk_desc(10), 5, "zstd", 0).unwrap();
        let e = m
            .set_parameters("nk", None, Some(vec![[0.0, 1.0]; 7]), None)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "bounds has 7 entries, expected 8 (n_params of world 'nk')"
        );
        let mut b = seed_bounds();
        b[3] = [1.0, 0.0];
        let e = m.set_parameters("nk", None, Some(b), None).unwrap_err();
        assert!(
            e.message().contains("bounds/3: [1, 0] for 'phi_y'"),
            "{}",
            e.message()
        );
        let mut d = seed_defaults();
        d[0] = 2.0;
        let e = m
            .set_parameters("nk", None, Some(seed_bounds()), Some(d))
            .unwrap_err();
        assert!(
            e.message()
                .contains("defaults/0: 2 for 'beta' lies outside"),
            "{}",
            e.message()
        );
        assert!(m
            .set_shock_sigma("nk", vec![1.0, -1.0, 1.0])
            .unwrap_err()
            .message()
            .contains("sigma[1] is -1"));
        assert!(m.set_n_canonical_obs("nk", 4).is_err());
        let mut other = nk_desc(10);
        other.world_id = "rbc".into();
        other.t = 9;
        assert!(m
            .add_world(&other, 5, "zstd", 0)
            .unwrap_err()
            .message()
            .contains("T=9"));
        for v in [
            "1.0.0",
            "0.0.1-alpha",
            "1.0.0+20130313144700",
            "1.0.0-beta.11+exp.sha.5114f85",
        ] {
            check_semver("version", v).unwrap();
        }
        for v in [
            "01.0.0",
            "1.0",
            "1.0.0-",
            "1.0.0+",
            "a.b.c",
            "1.0.0-al..pha",
        ] {
            assert!(check_semver("version", v).is_err(), "{v}");
        }
    }
}
