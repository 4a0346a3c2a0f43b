//! The manifest's data model: the structs that `manifest.json` (de)serializes into (the
//! manifest, its worlds, parameters, shocks, observables, storage and seeds) and the arrays a
//! world description implies. Kept apart from the rules and the I/O so that the shape of the
//! file can be read in one place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::splits::SplitRecord;
use crate::world::{ArrayKind, WorldDesc, WRITTEN};

/// The seed record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RngSeeds {
    /// Global seed.
    pub global: u64,
    /// Whether samples draw from their own seeds.
    pub per_sample: bool,
    /// Name of the derivation ([`SeedDerivation::name`](crate::seeds::SeedDerivation::name)).
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
    pub(super) fn from_desc(
        desc: &WorldDesc,
        chunk_samples: u64,
        codec: &str,
        samples_written: u64,
    ) -> Self {
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

impl Manifest {
    /// The manifest as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The manifest as pretty-printed JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
