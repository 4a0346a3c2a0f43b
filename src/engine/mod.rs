//! The generation engine: everything `umedata generate` does for the built-in world, for
//! any simulator. The user describes the simulator ([`Simulator`]: parameters with bounds,
//! defaults and units; shocks with sigma; observables; T and H) and gives one callback
//! ([`Simulate`]); [`generate`] then, for every sample of the range asked for:
//!
//! - draws theta from the sample's own stream [`SampleRng::new`]`(seed, i)` (uniform within
//!   the bounds, [`Design::Uniform`], the default), as point `i` of a scrambled Sobol
//!   sequence ([`Design::Sobol`], computed from `(seed, i)` alone, see [`sobol`]) or takes
//!   row `i` of a table ([`Design::Table`]);
//! - hands the callback the sample's generator for its shocks, so sample `i` is a function
//!   of `(seed, i)` alone, whatever the thread count, order, parts or kill/resume history;
//! - redraws a theta the callback rejects ([`Outcome::Reject`]) (uniform: from the same
//!   stream; Sobol: point `i` of the next independently scrambled copy), counting
//!   rejections per reason code, and gives up after
//!   [`GenerateOptions::max_attempts`] attempts ([`MAX_ATTEMPTS_DEFAULT`]) with an error
//!   naming the sample;
//! - runs on K threads and writes through [`Writer`]; skips what is already stored (resume,
//!   parts); reports progress to an optional callback that may ask to stop (the run is then
//!   finalized cleanly and can be resumed);
//! - writes the manifest (simulator, design, seeds, rejections, splits) like the CLI.
//!
//! # The exact draw of sample `i` (what `validate --reproduce` must repeat)
//! ```text
//! rng = SampleRng(seed, i)
//! for attempt in 0..max_attempts:
//!     theta[j] = lo_j + (hi_j - lo_j) * rng.uniform()   for j in parameter order   (Uniform)
//!     theta[j] = lo_j + (hi_j - lo_j) * u_j             u = sobol point i of copy
//!                                  scrambled by (seed, attempt); rng not used  (Sobol)
//!     theta    = table row i                                                      (Table)
//!     trajectories, irfs, shocks = 0
//!     outcome = simulate(i, theta, rng, trajectories, irfs, shocks)   # same rng, continued
//!     Accept -> stored;  Reject(code) -> counted, next attempt (a table row cannot be redrawn: error)
//! ```
//! With the Sobol and table designs the callback's stream is `SampleRng(seed, i)` from its
//! first value (the design draws nothing from it); with the uniform design it comes after
//! the `n_params` uniforms of theta. The Sobol formula, its limits (1024 parameters, 2^32
//! samples) and what redraws do to its balance: [`sobol`].
//!
//! # Parts (MPI ranks, array tasks)
//! [`prepare`] creates the world and the manifest once; each process runs [`generate`]
//! with [`GenerateOptions::part`] set to its chunk-aligned range (the writer's
//! `open_range`: disjoint ranges, claimed); [`finish`] then records the rejections, the
//! splits and the final manifest once. A run without `part` does all three itself.
//!
//! # Rejection counts
//! Every run records the rejections of the samples it stored in a small JSON file under
//! `<dataset>/.umedata-engine/<world_id>/` (one per range; a hidden directory without
//! `zarr.json`, so Zarr readers ignore it); the manifest's `config.engine.theta_draws` is
//! their sum. A process killed after storing samples but before recording them leaves
//! those samples uncounted: `counted_samples` is then below `samples_written` and
//! `complete` is false (the arrays are still exact). With a durable writer (the default) a
//! record is synced, file then directory, before the manifest that sums it is written, so
//! a power loss cannot leave a manifest counting a record that is gone.

mod design;
mod run;
pub mod sobol;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use zarrs::storage::{Bytes, StoreKey, WritableStorageTraits};

use crate::error::{from_storage, Error, ErrorKind, Result};
use crate::manifest::Manifest;
use crate::seeds::{SampleRng, SeedDerivation};
use crate::splits::{SplitRule, Splits};
use crate::storage::store::AtomicFsStore;
use crate::world::WorldDesc;
use crate::writer::{Summary, Writer, WriterOptions};

pub use design::Design;
pub use run::Progress;

/// Attempts per sample before the engine gives up on it (rejected draws are redrawn up to
/// this many times in total), unless [`GenerateOptions::max_attempts`] says otherwise.
pub const MAX_ATTEMPTS_DEFAULT: u32 = 1000;
/// Most attempts per sample that may be configured.
pub const MAX_ATTEMPTS_LIMIT: u32 = 1_000_000;
/// Directory (inside the dataset) of the per-run rejection records.
pub const RECORDS_DIR: &str = ".umedata-engine";
/// Key of the engine's record inside the manifest's `config`.
pub const CONFIG_ENGINE_KEY: &str = "engine";

/// One parameter of a simulator: theta is drawn uniformly in `[lo, hi]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Name (unique within the simulator).
    pub name: String,
    /// Lower bound.
    pub lo: f64,
    /// Upper bound (`> lo`).
    pub hi: f64,
    /// Calibrated default, within `[lo, hi]`.
    pub default: f64,
    /// Unit (`"-"` for dimensionless).
    pub unit: String,
}

/// One shock of a simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct Shock {
    /// Name.
    pub name: String,
    /// Standard deviation (`> 0`), recorded in the manifest.
    pub sigma: f64,
}

/// What a simulator is: its name and version (the world id and the manifest's record),
/// its parameters, shocks, observables and the lengths T (trajectories) and H (IRF
/// horizon; IRFs have H+1 points).
#[derive(Debug, Clone, PartialEq)]
pub struct Simulator {
    /// Name: the world id of the dataset group, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// Version of the simulator (free text, recorded in the manifest).
    pub version: String,
    /// Trajectory length.
    pub t: u32,
    /// IRF horizon.
    pub h: u32,
    /// Parameters, in theta order.
    pub params: Vec<Param>,
    /// Shocks, in the order of the `shocks` and `irfs` arrays.
    pub shocks: Vec<Shock>,
    /// Observables, in the order of the `trajectories` and `irfs` arrays.
    pub obs: Vec<String>,
    /// Names of rejection reason codes (for the manifest; unnamed codes appear as numbers).
    pub reject_reasons: BTreeMap<u32, String>,
}

fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{what} '{}' is empty or contains a control character, expected a printable name",
            name.escape_debug()
        )));
    }
    Ok(())
}

impl Simulator {
    /// A simulator with no parameters, shocks or observables yet.
    pub fn new(name: &str, version: &str, t: u32, h: u32) -> Result<Self> {
        check_name("name", name)?;
        check_name("version", version)?;
        if t == 0 {
            return Err(Error::invalid("T is 0, expected at least 1"));
        }
        Ok(Self {
            name: name.into(),
            version: version.into(),
            t,
            h,
            params: Vec::new(),
            shocks: Vec::new(),
            obs: Vec::new(),
            reject_reasons: BTreeMap::new(),
        })
    }

    /// Adds a parameter drawn uniformly in `[lo, hi]` (finite, `lo < hi`), with a default
    /// in `[lo, hi]` and a unit (`"-"` for dimensionless).
    pub fn add_param(
        &mut self,
        name: &str,
        lo: f64,
        hi: f64,
        default: f64,
        unit: &str,
    ) -> Result<()> {
        check_name("parameter name", name)?;
        check_name(&format!("unit of parameter '{name}'"), unit)?;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::invalid(format!(
                "bounds of parameter '{name}' are [{lo}, {hi}], expected finite lo < hi"
            )));
        }
        if !(lo..=hi).contains(&default) {
            return Err(Error::invalid(format!(
                "default of parameter '{name}' is {default}, expected a value in [{lo}, {hi}]"
            )));
        }
        if self.params.iter().any(|p| p.name == name) {
            return Err(Error::invalid(format!(
                "parameter '{name}' was already added"
            )));
        }
        self.params.push(Param {
            name: name.into(),
            lo,
            hi,
            default,
            unit: unit.into(),
        });
        Ok(())
    }

    /// Adds a shock with standard deviation `sigma` (finite, `> 0`).
    pub fn add_shock(&mut self, name: &str, sigma: f64) -> Result<()> {
        check_name("shock name", name)?;
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::invalid(format!(
                "sigma of shock '{name}' is {sigma}, expected a finite number > 0"
            )));
        }
        if self.shocks.iter().any(|s| s.name == name) {
            return Err(Error::invalid(format!("shock '{name}' was already added")));
        }
        self.shocks.push(Shock {
            name: name.into(),
            sigma,
        });
        Ok(())
    }

    /// Adds an observable.
    pub fn add_obs(&mut self, name: &str) -> Result<()> {
        check_name("observable name", name)?;
        if self.obs.iter().any(|o| o == name) {
            return Err(Error::invalid(format!(
                "observable '{name}' was already added"
            )));
        }
        self.obs.push(name.into());
        Ok(())
    }

    /// Names rejection reason `code` (`>= 1`) for the manifest, e.g. 1 = "indeterminate".
    pub fn set_reject_reason(&mut self, code: u32, name: &str) -> Result<()> {
        check_name("reason name", name)?;
        if code == 0 {
            return Err(Error::invalid(
                "reason code 0 means 'accepted', expected a code >= 1",
            ));
        }
        self.reject_reasons.insert(code, name.into());
        Ok(())
    }

    /// The world description of `n_samples` samples of this simulator.
    pub fn desc(&self, n_samples: u64) -> WorldDesc {
        WorldDesc {
            world_id: self.name.clone(),
            n_samples,
            t: self.t,
            h: self.h,
            n_params: self.params.len() as u32,
            n_shocks: self.shocks.len() as u32,
            n_obs: self.obs.len() as u32,
            param_names: self.params.iter().map(|p| p.name.clone()).collect(),
            shock_names: self.shocks.iter().map(|s| s.name.clone()).collect(),
            obs_names: self.obs.clone(),
        }
    }

    /// Checks that the description is complete (at least one parameter and observable)
    /// and is a valid world.
    pub fn validate(&self) -> Result<()> {
        if self.params.is_empty() {
            return Err(Error::invalid(format!(
                "simulator '{}' has no parameters, expected at least 1 (add them first)",
                self.name
            )));
        }
        if self.obs.is_empty() {
            return Err(Error::invalid(format!(
                "simulator '{}' has no observables, expected at least 1 (add them first)",
                self.name
            )));
        }
        self.desc(1).validate()
    }

    fn reason_name(&self, code: u32) -> String {
        self.reject_reasons
            .get(&code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }

    /// The simulator's record in the manifest's configuration (everything a draw depends
    /// on, so a resumed run can check it is the same simulator).
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "version": self.version,
            "T": self.t,
            "H": self.h,
            "params": self.params.iter().map(|p| json!({"name": p.name, "lo": p.lo, "hi": p.hi, "default": p.default, "unit": p.unit})).collect::<Vec<_>>(),
            "shocks": self.shocks.iter().map(|s| json!({"name": s.name, "sigma": s.sigma})).collect::<Vec<_>>(),
            "obs": self.obs,
            "reject_reasons": self.reject_reasons.iter().map(|(c, n)| (c.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

/// What the simulate callback says about one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The sample is good: it is stored.
    Accept,
    /// Reject this theta (indeterminate, explosive, no convergence, ...) with a reason
    /// code `>= 1`: it is counted and theta is redrawn.
    Reject(u32),
}

/// The user's simulator. Called from the engine's threads, any number at once, each call
/// with its own buffers and generator: `theta` (n_params), `trajectories` (T × n_obs,
/// row-major), `irfs` (n_shocks × (H+1) × n_obs), `shocks` (T × n_shocks), all zero on
/// entry. An `Err` aborts the run (what was stored stays, resumable).
pub trait Simulate: Sync {
    /// Simulates sample `sample` at `theta`, drawing shocks from `rng`.
    fn simulate(
        &self,
        sample: u64,
        theta: &[f64],
        rng: &mut SampleRng,
        trajectories: &mut [f64],
        irfs: &mut [f64],
        shocks: &mut [f64],
    ) -> Result<Outcome>;
}

impl<F> Simulate for F
where
    F: Fn(u64, &[f64], &mut SampleRng, &mut [f64], &mut [f64], &mut [f64]) -> Result<Outcome>
        + Sync,
{
    fn simulate(
        &self,
        sample: u64,
        theta: &[f64],
        rng: &mut SampleRng,
        trajectories: &mut [f64],
        irfs: &mut [f64],
        shocks: &mut [f64],
    ) -> Result<Outcome> {
        self(sample, theta, rng, trajectories, irfs, shocks)
    }
}

/// How a generation runs.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Global seed: sample `i` draws from `SampleRng::new(seed, i)`.
    pub seed: u64,
    /// Number of samples of the world (a resumed run or a part may give 0: the dataset's).
    pub n_samples: u64,
    /// Simulation threads (0 = one per core).
    pub threads: usize,
    /// How theta is drawn.
    pub design: Design,
    /// Only samples `[start, start + count)` (chunk-aligned), for one of many processes;
    /// the world must exist ([`prepare`]) and [`finish`] writes the manifest at the end.
    pub part: Option<(u64, u64)>,
    /// Continue an existing dataset: simulate only the samples it lacks.
    pub resume: bool,
    /// Split rule (`None`: train/val/test 0.8/0.1/0.1 seeded with `seed`).
    pub split_rule: Option<SplitRule>,
    /// Storage and writer options (`threads` 0 = as many compression threads as `threads`).
    pub writer: WriterOptions,
    /// Attempts per sample before giving up (0 = [`MAX_ATTEMPTS_DEFAULT`]).
    pub max_attempts: u32,
    /// Dataset version for the manifest (semver).
    pub dataset_version: String,
    /// Directory whose git state is recorded as provenance (`None`: "unknown").
    pub provenance_dir: Option<PathBuf>,
    /// Store at most this many samples in this call, then finalize (resumable), e.g. for
    /// jobs with a time budget (`None`: all that are missing).
    pub max_samples: Option<u64>,
    /// More entries of the manifest's `config` (e.g. the CLI's plugin path and sha256, or
    /// a built-in world's configuration); the engine's own keys (`generator`, `engine`,
    /// `split_rule`) cannot be replaced.
    pub config_extra: serde_json::Map<String, Value>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            n_samples: 0,
            threads: 0,
            design: Design::Uniform,
            part: None,
            resume: false,
            split_rule: None,
            writer: WriterOptions::default(),
            max_attempts: 0,
            dataset_version: "1.0.0".into(),
            provenance_dir: None,
            max_samples: None,
            config_extra: serde_json::Map::new(),
        }
    }
}

impl GenerateOptions {
    fn attempts(&self) -> Result<u32> {
        match self.max_attempts {
            0 => Ok(MAX_ATTEMPTS_DEFAULT),
            m if m > MAX_ATTEMPTS_LIMIT => Err(Error::invalid(format!(
                "max_attempts {m} is too large, expected 1..={MAX_ATTEMPTS_LIMIT} (0 = {MAX_ATTEMPTS_DEFAULT})"
            ))),
            m => Ok(m),
        }
    }

    fn threads(&self) -> Result<usize> {
        let max = crate::writer::MAX_THREADS;
        match self.threads {
            0 => Ok(std::thread::available_parallelism().map_or(2, |n| n.get().min(max))),
            k if k > max => Err(Error::invalid(format!(
                "threads {k} is too large, expected 1..={max} (0 = one per core)"
            ))),
            k => Ok(k),
        }
    }

    fn writer_options(&self) -> Result<WriterOptions> {
        let mut w = self.writer.clone();
        if w.threads == 0 {
            w.threads = self.threads()?;
        }
        w.validate()?;
        Ok(w)
    }

    fn rule(&self) -> SplitRule {
        self.split_rule
            .clone()
            .unwrap_or_else(|| SplitRule::standard(0.8, 0.1, 0.1, self.seed))
    }
}

/// What one [`generate`] call did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Samples simulated and stored by this call.
    pub written: u64,
    /// Samples of the range that were already stored before this call.
    pub already: u64,
    /// Samples of the range still missing afterwards (non-zero after a stop).
    pub missing: u64,
    /// The progress callback asked to stop.
    pub stopped: bool,
    /// Rejections of this call's samples, per reason code.
    pub rejections: BTreeMap<u32, u64>,
    /// The writer's summary (whole world: samples written, bytes, ratios).
    pub summary: Summary,
}

/// Creates the world of `sim` (`opts.n_samples` samples) and its manifest, storing no
/// sample: the first step of a run split into parts. Everything is checked, and the
/// manifest built and validated, before anything is created on disk.
pub fn prepare(path: &Path, sim: &Simulator, opts: &GenerateOptions) -> Result<()> {
    let (writer, _) = create(path, sim, opts)?;
    writer.finalize()?;
    Ok(())
}

/// Generates the samples `opts` asks for (see the module documentation): the whole world
/// (created, or reopened with `opts.resume`) with its manifest and splits, or one part.
/// `progress`, if given, is called after every stored sample (from the engine's threads,
/// one call at a time); returning `true` stops the run: what was simulated is stored, the
/// manifest written, and the run can be resumed. An error (of the callback, a sample
/// without an accepted draw, the store) stops it the same way and is returned.
pub fn generate(
    path: &Path,
    sim: &Simulator,
    simulate: &dyn Simulate,
    opts: &GenerateOptions,
    progress: Option<&mut (dyn FnMut(Progress) -> bool + Send)>,
) -> Result<Report> {
    sim.validate()?;
    let attempts = opts.attempts()?;
    let threads = opts.threads()?;
    let (writer, manifest) = match (opts.part, opts.resume) {
        (None, false) => {
            let (w, m) = create(path, sim, opts)?;
            (w, Some(m))
        }
        (None, true) => {
            let w = Writer::open(path, &sim.name, &opts.writer_options()?)?;
            let m = Manifest::load(path)?;
            check_matches(&m, &w, sim, opts)?;
            (w, Some(m))
        }
        (Some((start, count)), _) => {
            let w = Writer::open_range(path, &sim.name, start, count, &opts.writer_options()?)?;
            let m = Manifest::load(path)?;
            check_matches(&m, &w, sim, opts)?;
            (w, None)
        }
    };
    let desc = writer.desc().clone();
    opts.design.check(&desc)?;
    let (start, end) = match opts.part {
        Some((s, c)) => (s, s + c),
        None => (0, desc.n_samples),
    };
    let mut todo = writer.missing(start, usize::MAX)?;
    todo.retain(|&i| i < end);
    let already = (end - start) - todo.len() as u64;
    if let Some(max) = opts.max_samples {
        todo.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    let job = run::Job {
        sim,
        desc: &desc,
        simulate,
        design: &opts.design,
        seed: opts.seed,
        max_attempts: attempts,
        threads,
    };
    let outcome = run::run(&job, &writer, &todo, progress);
    // Whatever happened, what was simulated is stored and the claims released; the
    // rejections of the stored samples are recorded once the store worked, and the
    // manifest (of a whole-world run) then agrees with the arrays, as after a stop.
    let summary = writer.finalize();
    if let Some(e) = outcome.error {
        if let Ok(summary) = &summary {
            let recorded = add_record(
                path,
                &sim.name,
                (start, end),
                outcome.written,
                &outcome.rejections,
                opts.writer.storage.durable,
            );
            if let (Ok(()), Some(m)) = (recorded, manifest) {
                let _ = finish_manifest(path, sim, opts, &writer, summary, m);
            }
        }
        return Err(e);
    }
    let summary = summary?;
    add_record(
        path,
        &sim.name,
        (start, end),
        outcome.written,
        &outcome.rejections,
        opts.writer.storage.durable,
    )?;
    if let Some(m) = manifest {
        finish_manifest(path, sim, opts, &writer, &summary, m)?;
    }
    Ok(Report {
        written: outcome.written,
        already,
        missing: (end - start) - already - outcome.written,
        stopped: outcome.stopped,
        rejections: outcome.rejections,
        summary,
    })
}

/// One sample exactly as [`generate`] makes it (float64, before float32 storage): the
/// same draw, redraws and callback, for `validate --reproduce` and for tests. `max_attempts`
/// 0 means [`MAX_ATTEMPTS_DEFAULT`].
#[derive(Debug, Clone, PartialEq)]
pub struct SampleData {
    /// `(n_params,)`
    pub theta: Vec<f64>,
    /// `(T, n_obs)`
    pub trajectories: Vec<f64>,
    /// `(n_shocks, H+1, n_obs)`
    pub irfs: Vec<f64>,
    /// `(T, n_shocks)`
    pub shocks: Vec<f64>,
    /// Rejected draws before the accepted one, per reason code.
    pub rejections: BTreeMap<u32, u64>,
}

/// Simulates sample `i` of a dataset with global seed `seed` through the engine's own
/// per-sample path (see the module documentation): what [`generate`] stores for `i`.
pub fn simulate_sample(
    sim: &Simulator,
    simulate: &dyn Simulate,
    design: &Design,
    seed: u64,
    max_attempts: u32,
    i: u64,
) -> Result<SampleData> {
    sim.validate()?;
    let opts = GenerateOptions {
        max_attempts,
        ..GenerateOptions::default()
    };
    let desc = sim.desc(i.saturating_add(1));
    design.check_point(i, desc.n_params)?;
    if let Design::Table(rows) = design {
        let p = sim.params.len() as u128;
        if (rows.len() as u128) < (u128::from(i) + 1) * p {
            return Err(Error::invalid(format!(
                "sample {i} is beyond the theta table of {} rows",
                rows.len() as u128 / p
            )));
        }
    }
    let job = run::Job {
        sim,
        desc: &desc,
        simulate,
        design,
        seed,
        max_attempts: opts.attempts()?,
        threads: 1,
    };
    let mut b = run::Buffers::new(&desc);
    let rejections = job.sample(i, &mut b)?;
    Ok(SampleData {
        theta: b.theta,
        trajectories: b.traj,
        irfs: b.irfs,
        shocks: b.shocks,
        rejections,
    })
}

/// The last step of a run split into parts: records the rejections of all parts, the
/// splits and the final manifest. Run it once, after every part finished.
pub fn finish(path: &Path, sim: &Simulator, opts: &GenerateOptions) -> Result<Summary> {
    sim.validate()?;
    let writer = Writer::open(path, &sim.name, &opts.writer_options()?)?;
    let m = Manifest::load(path)?;
    check_matches(&m, &writer, sim, opts)?;
    let summary = writer.finalize()?;
    finish_manifest(path, sim, opts, &writer, &summary, m)?;
    Ok(summary)
}

fn config_value(sim: &Simulator, opts: &GenerateOptions, n: u64, draws: Value) -> Result<Value> {
    let mut v = json!({
        "generator": "umedata engine",
        CONFIG_ENGINE_KEY: {
            "simulator": sim.to_json(),
            "design": opts.design.to_json(),
            "max_attempts": opts.attempts()?,
            "n_samples": n,
            "theta_draw": "see umedata::engine: SampleRng(global_seed, i); per attempt theta from the design, then the simulator continues the same stream",
            "theta_draws": draws,
        },
        "split_rule": serde_json::to_value(opts.rule()).map_err(|e| Error::internal(e.to_string()))?,
    });
    if let Value::Object(map) = &mut v {
        for (k, x) in &opts.config_extra {
            if !map.contains_key(k) {
                map.insert(k.clone(), x.clone());
            }
        }
    }
    Ok(v)
}

fn create(path: &Path, sim: &Simulator, opts: &GenerateOptions) -> Result<(Writer, Manifest)> {
    sim.validate()?;
    if opts.part.is_some() || opts.resume {
        return Err(Error::invalid(
            "prepare creates a new world: part and resume must not be set",
        ));
    }
    let n = opts.n_samples;
    let desc = sim.desc(n);
    desc.validate()?;
    opts.design.check(&desc)?;
    let wopts = opts.writer_options()?;
    let rule = opts.rule();
    rule.validate(&desc.param_names)?;
    let mut m = Manifest::new(&opts.dataset_version, opts.seed, SeedDerivation::ChaCha20)?;
    let chunk = wopts.storage.chunk_samples_for(&desc);
    desc.validate_chunk(chunk)?;
    m.add_world(&desc, chunk, wopts.storage.codec.name(), 0)?;
    set_world_metadata(&mut m, sim)?;
    let draws = json!({"rejected": {}, "counted_samples": 0, "complete": true});
    m.set_config_json(&config_value(sim, opts, n, draws)?.to_string(), true)?;
    if let Some(dir) = &opts.provenance_dir {
        m.set_git_from(dir);
    }
    m.validate()?;
    let fresh = !path.exists();
    let writer = Writer::create(path, &desc, &wopts)?;
    let saved = clear_records(path, &sim.name)
        .and_then(|()| m.record_world(writer.world(), None))
        .and_then(|()| set_world_metadata(&mut m, sim))
        .and_then(|()| m.save(path).map(|_| ()));
    if let Err(e) = saved {
        drop(writer);
        if fresh {
            let _ = std::fs::remove_dir_all(path);
        }
        return Err(e);
    }
    Ok((writer, m))
}

fn set_world_metadata(m: &mut Manifest, sim: &Simulator) -> Result<()> {
    m.set_parameters(
        &sim.name,
        Some(sim.params.iter().map(|p| p.unit.clone()).collect()),
        Some(sim.params.iter().map(|p| [p.lo, p.hi]).collect()),
        Some(sim.params.iter().map(|p| p.default).collect()),
    )?;
    if !sim.shocks.is_empty() {
        m.set_shock_sigma(&sim.name, sim.shocks.iter().map(|s| s.sigma).collect())?;
    }
    Ok(())
}

/// A dataset reopened for resume, a part or finish must be the one this simulator and
/// these options made: anything else would mix two different datasets.
fn check_matches(m: &Manifest, w: &Writer, sim: &Simulator, opts: &GenerateOptions) -> Result<()> {
    let mismatch = |what: &str, given: String, stored: String| {
        Err(Error::invalid(format!(
            "{what} is {given}, but the dataset was generated with {stored} (resume, parts and finish must use the first run's)"
        )))
    };
    let eng = m
        .config
        .as_ref()
        .and_then(|c| c.get(CONFIG_ENGINE_KEY))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Format,
                "the manifest records no engine configuration (config.engine): this dataset was not made by the generation engine",
            )
        })?;
    let stored_sim = eng.get("simulator").cloned().unwrap_or(Value::Null);
    if stored_sim != sim.to_json() {
        return mismatch(
            "the simulator",
            sim.to_json().to_string(),
            stored_sim.to_string(),
        );
    }
    if m.rng_seeds.global != opts.seed {
        return mismatch(
            "seed",
            opts.seed.to_string(),
            m.rng_seeds.global.to_string(),
        );
    }
    let stored_design = eng.get("design").cloned().unwrap_or(Value::Null);
    if stored_design != opts.design.to_json() {
        return mismatch(
            "the design",
            opts.design.to_json().to_string(),
            stored_design.to_string(),
        );
    }
    let stored_attempts = eng.get("max_attempts").and_then(Value::as_u64);
    if stored_attempts != Some(u64::from(opts.attempts()?)) {
        return mismatch(
            "max_attempts",
            opts.attempts()?.to_string(),
            format!("{stored_attempts:?}"),
        );
    }
    let n = w.desc().n_samples;
    if opts.n_samples != 0 && opts.n_samples != n {
        return mismatch("n_samples", opts.n_samples.to_string(), n.to_string());
    }
    if *w.desc() != sim.desc(n) {
        return mismatch(
            "the world description",
            format!("{:?}", sim.desc(n)),
            format!("{:?}", w.desc()),
        );
    }
    Ok(())
}

fn finish_manifest(
    path: &Path,
    sim: &Simulator,
    opts: &GenerateOptions,
    writer: &Writer,
    summary: &Summary,
    mut m: Manifest,
) -> Result<()> {
    let (counted, rejections) = sum_records(path, &sim.name)?;
    let named: serde_json::Map<String, Value> = rejections
        .iter()
        .map(|(c, k)| (sim.reason_name(*c), json!(k)))
        .collect();
    let draws = json!({
        "rejected": named,
        "counted_samples": counted,
        "complete": counted == summary.samples_written,
    });
    let rule = match m.config.as_ref().and_then(|c| c.get("split_rule")) {
        Some(r) => serde_json::from_value::<SplitRule>(r.clone())
            .map_err(|e| Error::new(ErrorKind::Format, format!("config.split_rule: {e}")))?,
        None => opts.rule(),
    };
    let mut config = config_value(sim, opts, summary.n_samples, draws)?;
    config["split_rule"] =
        serde_json::to_value(&rule).map_err(|e| Error::internal(e.to_string()))?;
    m.set_config_json(&config.to_string(), true)?;
    m.record_world(writer.world(), Some(summary))?;
    set_world_metadata(&mut m, sim)?;
    let splits = Splits::compute_for_world(writer.world(), &rule)?;
    splits.store(writer.world())?;
    m.set_splits(&splits)?;
    m.save(path)?;
    Ok(())
}

fn records_dir(path: &Path, world: &str) -> PathBuf {
    path.join(RECORDS_DIR).join(world)
}

fn clear_records(path: &Path, world: &str) -> Result<()> {
    let dir = records_dir(path, world);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("removing old rejection records", &dir, &e)),
    }
}

fn parse_record(text: &str, file: &Path) -> Result<(u64, BTreeMap<u32, u64>)> {
    let bad = || {
        Error::new(
            ErrorKind::Format,
            format!("rejection record '{}' is not valid", file.display()),
        )
    };
    let v: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let samples = v.get("samples").and_then(Value::as_u64).ok_or_else(bad)?;
    let mut rej = BTreeMap::new();
    for (k, c) in v
        .get("rejected")
        .and_then(Value::as_object)
        .ok_or_else(bad)?
    {
        rej.insert(
            k.parse::<u32>().map_err(|_| bad())?,
            c.as_u64().ok_or_else(bad)?,
        );
    }
    Ok((samples, rej))
}

/// Adds this run's counts to the record of range `[start, end)`, stored like every other
/// file of the dataset (`AtomicFsStore::set`: atomic, and with a durable writer synced,
/// then its directories, before this returns, so the manifest written next never counts a
/// record a power loss could take back). Ranges of live writers are disjoint, so no two
/// processes update one record at once.
fn add_record(
    path: &Path,
    world: &str,
    (start, end): (u64, u64),
    samples: u64,
    rejections: &BTreeMap<u32, u64>,
    durable: bool,
) -> Result<()> {
    let name = format!("run-{start}-{end}.json");
    let file = records_dir(path, world).join(&name);
    let (mut total, mut rej) = match std::fs::read_to_string(&file) {
        Ok(text) => parse_record(&text, &file)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (0, BTreeMap::new()),
        Err(e) => return Err(Error::io("reading", &file, &e)),
    };
    total += samples;
    for (c, k) in rejections {
        *rej.entry(*c).or_insert(0) += k;
    }
    let v = json!({
        "samples": total,
        "rejected": rej.iter().map(|(c, k)| (c.to_string(), json!(k))).collect::<serde_json::Map<_, _>>(),
    });
    let store = AtomicFsStore::open(path, durable)?;
    let key = StoreKey::new(format!("{RECORDS_DIR}/{world}/{name}"))
        .map_err(|e| Error::internal(e.to_string()))?;
    store
        .set(&key, Bytes::from(v.to_string().into_bytes()))
        .map_err(|e| from_storage(&format!("writing '{}'", file.display()), e))
}

fn sum_records(path: &Path, world: &str) -> Result<(u64, BTreeMap<u32, u64>)> {
    let dir = records_dir(path, world);
    let mut total = 0;
    let mut rej = BTreeMap::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, rej)),
        Err(e) => return Err(Error::io("listing", &dir, &e)),
    };
    for e in entries {
        let p = e.map_err(|e| Error::io("listing", &dir, &e))?.path();
        let is_record = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("run-") && n.ends_with(".json"));
        if !is_record {
            continue;
        }
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io("reading", &p, &e))?;
        let (s, r) = parse_record(&text, &p)?;
        total += s;
        for (c, k) in r {
            *rej.entry(c).or_insert(0) += k;
        }
    }
    Ok((total, rej))
}
