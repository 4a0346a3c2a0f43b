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
