//! Validation of a dataset on disk: every check `umedata validate` runs, as a library call
//! that returns a structured [`Report`] (the CLI and `ume_dataset_validate` only format it).
//!
//! The checks, in order: the root group (`arrays`), the manifest (schema and semantic
//! rules on load, then against the arrays), and per world: it opens, the arrays' data
//! types, dimension names and chunking, one pass over every chunk (present where the mask
//! claims samples, decodes with checksums verified, finite values in written samples, the
//! mask holds only 0/1 and is complete), the recorded split (`splits`: stored, covering,
//! disjoint, deterministic) and, on request, re-simulation of built-in worlds
//! (`reproduce`).

mod arrays;
mod reproduce;
mod splits;

use std::path::Path;

use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::error::Result;
use crate::manifest::{world_ids, Manifest, MANIFEST_FILE};
use crate::storage::dataset::World;

/// Outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed: the dataset is not valid.
    Fail,
    /// The check does not apply (no split recorded, not a built-in world).
    Skip,
}

impl Status {
    /// `PASS`, `FAIL` or `SKIP` (as in the JSON report).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check: its name (`"nk: chunks decode"`), outcome and a one-line detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Name, prefixed by the world id for per-world checks.
    #[serde(rename = "check")]
    pub name: String,
    /// Outcome.
    pub status: Status,
    /// What was found (on failure: the first few problems and how many in all).
    pub detail: String,
}

/// The result of [`validate`]: every check in the order it ran.
///
/// Serializes (serde) to `{"dataset", "passed", "failed", "checks": [{"check", "status",
/// "detail"}]}`, the document `umedata validate --json` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The dataset path as given.
    pub dataset: String,
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when no check failed (skipped checks do not fail a dataset).
    pub fn passed(&self) -> bool {
        self.failed() == 0
    }

    /// Number of failed checks.
    pub fn failed(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count()
    }

    /// The first check called `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The report as pretty-printed JSON (see [`Report`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub(crate) fn add(
        &mut self,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) {
        self.checks.push(Check {
            name: name.into(),
            status,
            detail: detail.into(),
        });
    }

    pub(crate) fn result(
        &mut self,
        name: impl Into<String>,
        r: std::result::Result<String, String>,
    ) {
        match r {
            Ok(d) => self.add(name, Status::Pass, d),
            Err(d) => self.add(name, Status::Fail, d),
        }
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Report", 4)?;
        st.serialize_field("dataset", &self.dataset)?;
        st.serialize_field("passed", &self.passed())?;
        st.serialize_field("failed", &self.failed())?;
        st.serialize_field("checks", &self.checks)?;
        st.end()
    }
}

/// What [`validate`] does beyond the checks every dataset gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Re-simulate this many randomly chosen written samples of built-in worlds from their
    /// recorded seeds and compare them bit for bit (0 = no re-simulation).
    pub reproduce: u64,
    /// Seed choosing which samples `reproduce` re-simulates.
    pub reproduce_seed: u64,
    /// Threads reading chunks (0 = one per core).
    pub threads: usize,
}

/// Key of the CLI plugin record (`{"path", "sha256"}`) inside the manifest's `config`.
pub const CONFIG_PLUGIN_KEY: &str = "plugin";

/// A simulator that is not built in, to re-simulate with (`umedata validate --sim`): its
/// description and callback, and the sha256 of its code, compared with the manifest's
/// `config.plugin.sha256` (a changed simulator is a failed check, never silently used).
pub struct External<'a> {
    /// The simulator's description (must equal the recorded `config.engine.simulator`).
    pub sim: &'a crate::engine::Simulator,
    /// Its callback.
    pub simulate: &'a dyn crate::engine::Simulate,
    /// SHA-256 (hex) of its code, e.g. of the plugin's shared library.
    pub sha256: Option<String>,
    /// Name for messages (e.g. the plugin's path).
    pub label: String,
}

/// First few items of a list, for messages.
pub(crate) fn first<T: std::fmt::Display>(v: &[T], k: usize) -> String {
    let s: Vec<String> = v.iter().take(k).map(|x| x.to_string()).collect();
    if v.len() > k {
        format!("{}, ... ({} in all)", s.join(", "), v.len())
    } else {
        s.join(", ")
    }
}

/// The manifest if the dataset has one, or why it could not be loaded.
fn load_manifest(dir: &Path) -> std::result::Result<Manifest, String> {
    if !dir.join(MANIFEST_FILE).is_file() {
        return Err(format!("no {MANIFEST_FILE} in '{}'", dir.display()));
    }
    Manifest::load(dir).map_err(|e| e.message().to_string())
}

/// Runs every check on the dataset at `dir` and returns the report; a dataset is valid
/// when [`Report::passed`]. Problems with the dataset are failed checks, never an `Err`:
/// the call fails only when `dir` is a directory that cannot be listed. Reads only
/// (never modifies the dataset); safe to run while no writer has the dataset open.
pub fn validate(dir: &Path, opts: &ValidateOptions) -> Result<Report> {
    validate_with(dir, opts, None)
}

/// [`validate`], re-simulating (with `opts.reproduce`) through `external` as well: the
/// simulator of a world that is not built in (a plugin of `umedata generate --sim`).
pub fn validate_with(
    dir: &Path,
    opts: &ValidateOptions,
    external: Option<&External<'_>>,
) -> Result<Report> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        opts.threads
    };
    let mut report = Report {
        dataset: dir.display().to_string(),
        checks: Vec::new(),
    };
    report.result("dataset", arrays::check_root(dir));
    let manifest = match load_manifest(dir) {
        Ok(m) => {
            report.add(
                "manifest schema",
                Status::Pass,
                format!(
                    "valid against schemas/manifest.json and the semantic rules (version {})",
                    m.version
                ),
            );
            Some(m)
        }
        Err(e) => {
            report.add("manifest schema", Status::Fail, e);
            None
        }
    };
    if let Some(m) = &manifest {
        report.result(
            "manifest matches arrays",
            match m.check_dataset(dir) {
                Ok(d) if d.is_empty() => Ok(format!(
                    "{} world(s): shapes, names, chunking, codec, written counts, split hashes agree",
                    m.simulators.len()
                )),
                Ok(d) => Err(d.join("; ")),
                Err(e) => Err(e.message().to_string()),
            },
        );
    }
    let ids = if dir.is_dir() {
        world_ids(dir, manifest.as_ref())?
    } else {
        Vec::new()
    };
    if ids.is_empty() {
        report.add("worlds", Status::Fail, "no world found");
    }
    for id in &ids {
        let world = match World::open(dir, id) {
            Ok(w) => {
                report.add(
                    format!("{id}: open"),
                    Status::Pass,
                    format!("n={} T={} H={}", w.desc.n_samples, w.desc.t, w.desc.h),
                );
                w
            }
            Err(e) => {
                report.add(format!("{id}: open"), Status::Fail, e.message().to_string());
                continue;
            }
        };
        report.result(
            format!("{id}: shapes and dtypes"),
            arrays::check_arrays(&world),
        );
        let scan = arrays::scan_chunks(&world, threads);
        scan.report(&mut report, id, &world);
        match manifest.as_ref().and_then(|m| m.splits.get(id)) {
            Some(rec) => splits::check_splits(&mut report, id, &world, rec),
            None => report.add(
                format!("{id}: splits"),
                Status::Skip,
                "no split recorded in the manifest",
            ),
        }
        if opts.reproduce > 0 {
            match &manifest {
                Some(m) => reproduce::check_reproduce(
                    &mut report,
                    opts,
                    threads,
                    id,
                    &world,
                    m,
                    &scan.mask,
                    external,
                ),
                None => report.add(
                    format!("{id}: reproduce {}", opts.reproduce),
                    Status::Fail,
                    "no manifest: seeds unknown",
                ),
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Layout;
    use crate::world::{ArrayKind, WorldDesc};
    use crate::writer::{SampleRef, Writer, WriterOptions};

    /// A complete world "w" of 20 samples in chunks of 8, no manifest.
    fn dataset(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ume_validate_{name}_{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let desc = WorldDesc::new("w", 20, 4, 2, 3, 1, 2);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(8);
        let w = Writer::create(&dir, &desc, &opts).unwrap();
        for i in 0..20 {
            let [t, tr, ir, sh] = ArrayKind::ALL.map(|k| vec![i as f32 * 0.5; desc.sample_len(k)]);
            let s = SampleRef {
                theta: &t,
                trajectories: &tr,
                irfs: &ir,
                shocks: &sh,
            };
            w.write_sample(i, Layout::C, s).unwrap();
        }
        w.finalize().unwrap();
        dir
    }

    /// The file of chunk `c` of `kind`.
    fn chunk_file(dir: &Path, kind: ArrayKind, c: u64) -> std::path::PathBuf {
        let world = World::open(dir, "w").unwrap();
        let array = world.array(kind);
        let mut idx = vec![0; array.shape().len()];
        idx[0] = c;
        dir.join(array.chunk_key(&idx).as_str())
    }

    fn status(r: &Report, name: &str) -> Status {
        r.check(name)
            .unwrap_or_else(|| panic!("no check '{name}' in {r:?}"))
            .status
    }

    #[test]
    fn damaged_and_deleted_chunks_fail_the_checks_that_read_them() {
        let dir = dataset("damaged");
        let opts = ValidateOptions {
            threads: 2,
            ..ValidateOptions::default()
        };
        let r = validate(&dir, &opts).unwrap();
        assert_eq!(status(&r, "manifest schema"), Status::Fail);
        assert_eq!(r.failed(), 1, "{r:?}");
        for name in [
            "dataset",
            "w: open",
            "w: shapes and dtypes",
            "w: chunks present",
        ] {
            assert_eq!(status(&r, name), Status::Pass, "{name}");
        }
        assert_eq!(status(&r, "w: chunks decode"), Status::Pass);
        assert_eq!(status(&r, "w: written mask complete"), Status::Pass);
        assert_eq!(status(&r, "w: splits"), Status::Skip);

        // Flip bytes inside chunk 1 of irfs: the checksum catches it.
        let f = chunk_file(&dir, ArrayKind::Irfs, 1);
        let mut bytes = std::fs::read(&f).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 4] {
            *b ^= 0xFF;
        }
        std::fs::write(&f, &bytes).unwrap();
        // Delete chunk 2 of shocks, which the mask says holds samples 16..20.
        std::fs::remove_file(chunk_file(&dir, ArrayKind::Shocks, 2)).unwrap();

        let r = validate(&dir, &opts).unwrap();
        assert!(!r.passed());
        let decode = r.check("w: chunks decode").unwrap();
        assert_eq!(decode.status, Status::Fail);
        assert!(
            decode.detail.starts_with("irfs chunk 1 (samples 8..16)"),
            "{}",
            decode.detail
        );
        let present = r.check("w: chunks present").unwrap();
        assert_eq!(present.status, Status::Fail);
        assert!(
            present
                .detail
                .contains("shocks chunk 2 (samples 16..20) is missing but the mask claims 4"),
            "{}",
            present.detail
        );
        // The JSON document the CLI prints and the C function returns.
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["passed"], serde_json::json!(false));
        assert_eq!(v["failed"], serde_json::json!(3));
        assert_eq!(v["dataset"], serde_json::json!(dir.display().to_string()));
        let c = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "w: chunks decode")
            .unwrap();
        assert_eq!(c["status"], "FAIL");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_without_worlds_fails_without_error() {
        let dir = std::env::temp_dir().join(format!("ume_validate_empty_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let r = validate(&dir, &ValidateOptions::default()).unwrap();
        assert_eq!(status(&r, "dataset"), Status::Fail);
        assert_eq!(status(&r, "worlds"), Status::Fail);
        assert!(r
            .check("dataset")
            .unwrap()
            .detail
            .contains("no root zarr.json"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
