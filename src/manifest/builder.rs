//! Filling in a manifest: the constructor, the provenance setters, recording worlds and
//! splits, and the per-world setters. Each setter checks its input against the world it
//! names and refuses it with an actionable error, so a manifest is built right step by
//! step; the whole-manifest rules live in `rules.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::check::{count_written, sharded_inner};
use super::rules::{check_semver, parameter_violations};
use super::{provenance, GitInfo, Manifest, ObservableManifest, RngSeeds, WorldManifest};
use crate::error::{Error, ErrorKind, Result};
use crate::seeds::SeedDerivation;
use crate::splits::Splits;
use crate::storage::dataset::{World, FORMAT_VERSION};
use crate::world::WorldDesc;
use crate::writer::Summary;

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
}
