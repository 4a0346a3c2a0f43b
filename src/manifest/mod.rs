//! The dataset manifest (`<dataset>/manifest.json`): what was generated, how, from which
//! code and configuration, with which seeds and splits. Valid against the embedded
//! `schemas/manifest.json` (Draft-07) plus the rules Draft-07 cannot express (see
//! [`Manifest::semantic_violations`]); both are checked on save and on load.
//!
//! One file per mechanism: the data model (`model.rs`), filling it in (`builder.rs`), the
//! rules and validation (`rules.rs`), reading and saving the file (`io.rs`) and the check
//! against the arrays on disk (`check.rs`). Everything public is re-exported here.

mod builder;
mod check;
mod io;
mod model;
pub(crate) mod provenance;
mod rules;
pub(crate) mod schema;

pub use check::{count_written, world_ids};
pub use io::MANIFEST_FILE;
pub use model::{
    expected_arrays, ArrayInfo, Manifest, ObservableManifest, ParameterManifest, RngSeeds,
    ShockManifest, StorageInfo, WorldManifest,
};
pub use provenance::GitInfo;
pub use rules::check_semver;

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use serde_json::Value;

    use crate::error::ErrorKind;
    use crate::seeds::SeedDerivation;
    use crate::splits::Splits;
    use crate::world::WorldDesc;

    #[test]
    fn the_manifest_file_name_is_a_reserved_world_id() {
        // world.rs lists it by value (the foundation layer imports no manifest).
        assert!(crate::world::RESERVED_IDS.contains(&MANIFEST_FILE));
    }
    use crate::splits::SplitRule;
    use crate::writer::{SampleRef, Writer, WriterOptions};

    use crate::reference::nk;

    pub(super) fn nk_desc(n: u64) -> WorldDesc {
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

    pub(super) fn seed_defaults() -> Vec<f64> {
        nk::DEFAULTS.to_vec()
    }

    fn complete(m: &mut Manifest) {
        m.set_parameters("nk", None, Some(seed_bounds()), Some(seed_defaults()))
            .unwrap();
        m.set_shock_sigma("nk", vec![0.005, 0.01, 0.005]).unwrap();
    }

    pub(super) fn tmp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("ume-man-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
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
