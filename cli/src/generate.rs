//! `umedata generate`: a dataset of a built-in reference world, written in parallel through
//! the library's `Writer` (the same calls a C user makes), with manifest and splits.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};
use umedata::manifest::Manifest;
use umedata::reference::nk;
use umedata::seeds::SeedDerivation;
use umedata::splits::{SplitRule, Splits};
use umedata::{Codec, Layout, SampleRef, StorageOptions, Writer, WriterOptions};

use crate::common::{lib, CONFIG_DRAWS_KEY, CONFIG_WORLD_KEY};

/// Arguments of `umedata generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Built-in world to simulate (only `nk`, the three-equation New Keynesian model).
    #[arg(long, default_value = "nk")]
    pub world: String,
    /// Number of samples (ignored with --resume: the dataset's own count is used).
    #[arg(short = 'n', long)]
    pub n: Option<u64>,
    /// Output dataset directory.
    #[arg(short = 'o', long)]
    pub out: PathBuf,
    /// Global seed (per-sample ChaCha20 streams derive from it).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Simulation threads (0 = one per core); the writer uses as many compression threads.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Train,val,test fractions of the standard split.
    #[arg(long, default_value = "0.8,0.1,0.1")]
    pub split: String,
    /// Full split rule as JSON (fractions, seed, OOD hold-outs); overrides --split.
    #[arg(long)]
    pub split_rule: Option<String>,
    /// Trajectory length.
    #[arg(short = 'T', long = "T", default_value_t = nk::T_DEFAULT)]
    pub t: u32,
    /// IRF horizon (IRFs have H+1 points).
    #[arg(short = 'H', long = "H", default_value_t = nk::H_DEFAULT)]
    pub h: u32,
    /// Sampling bounds of a parameter, NAME=LO:HI (repeatable), e.g. phi_pi=0.5:3.5.
    #[arg(long = "bounds", value_name = "NAME=LO:HI")]
    pub bounds: Vec<String>,
    /// Codec: blosc-lz4, blosc-zstd, zstd or none.
    #[arg(long, default_value = "blosc-lz4")]
    pub codec: String,
    /// Samples per chunk (default: about 1 MiB of trajectories).
    #[arg(long)]
    pub chunk_samples: Option<u64>,
    /// Samples per inner chunk, the unit a random read decodes (each chunk is a shard of
    /// inner chunks); must divide the chunk length. Default: about 64 KiB of trajectories;
    /// equal to the chunk length for plain, unsharded chunks.
    #[arg(long)]
    pub inner_chunk_samples: Option<u64>,
    /// Dataset version recorded in the manifest (semver).
    #[arg(long, default_value = "1.0.0")]
    pub version: String,
    /// Continue an interrupted run: write only the samples the dataset lacks.
    #[arg(long)]
    pub resume: bool,
    /// Replace an existing dataset world.
    #[arg(long)]
    pub overwrite: bool,
    /// Write at most this many samples in this run, then finalize (continue with --resume;
    /// for jobs with a time budget).
    #[arg(long)]
    pub max_samples: Option<u64>,
    /// No progress bar and no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_codec(name: &str) -> Result<Codec> {
    Codec::from_name(name).with_context(|| {
        format!("--codec '{name}' is not known (expected blosc-lz4, blosc-zstd, zstd or none)")
    })
}

fn parse_fractions(s: &str) -> Result<[f64; 3]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .with_context(|| format!("--split '{s}': expected three numbers TRAIN,VAL,TEST"))?;
    match v.as_slice() {
        [a, b, c] => Ok([*a, *b, *c]),
        _ => bail!(
            "--split '{s}' has {} numbers, expected three (TRAIN,VAL,TEST)",
            v.len()
        ),
    }
}

fn apply_bounds(cfg: &mut nk::Config, specs: &[String]) -> Result<()> {
    for spec in specs {
        let (name, range) = spec
            .split_once('=')
            .with_context(|| format!("--bounds '{spec}': expected NAME=LO:HI"))?;
        let j = nk::PARAM_NAMES
            .iter()
            .position(|p| *p == name)
            .with_context(|| {
                format!(
                    "--bounds '{spec}': '{name}' is not a parameter (parameters: {})",
                    nk::PARAM_NAMES.join(", ")
                )
            })?;
        let (lo, hi) = range
            .split_once(':')
            .with_context(|| format!("--bounds '{spec}': expected NAME=LO:HI"))?;
        let lo: f64 = lo
            .trim()
            .parse()
            .with_context(|| format!("--bounds '{spec}': LO"))?;
        let hi: f64 = hi
            .trim()
            .parse()
            .with_context(|| format!("--bounds '{spec}': HI"))?;
        cfg.bounds[j] = [lo, hi];
    }
    lib(cfg.validate())
}

/// The manifest's `config`: the reference world (enough to re-simulate) and the redraws.
pub fn config_value(cfg: &nk::Config, n: u64, rejected: nk::Rejections) -> Value {
    json!({
        "generator": "umedata generate",
        CONFIG_WORLD_KEY: cfg.to_json(),
        CONFIG_DRAWS_KEY: {
            "n_samples": n,
            "indeterminate_redrawn": rejected.indeterminate,
            "no_stable_solution_redrawn": rejected.other,
        },
    })
}

fn provenance_dir() -> PathBuf {
    // The simulator of a built-in world is umedata itself: record the repository it was
    // built from when it is still there, else the working directory.
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    if src.is_dir() {
        src.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
    }
}

/// Runs `umedata generate`.
pub fn run(a: &Args) -> Result<()> {
    if a.world != nk::WORLD_ID {
        bail!(
            "--world '{}' is not a built-in world (built-in: {})",
            a.world,
            umedata::reference::WORLDS.join(", ")
        );
    }
    let threads = if a.threads == 0 {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get().min(umedata::writer::MAX_THREADS))
    } else {
        a.threads
    };
    let interactive = !a.quiet && std::io::stderr().is_terminal();
    let opts = WriterOptions {
        storage: StorageOptions {
            codec: parse_codec(&a.codec)?,
            chunk_samples: a.chunk_samples,
            inner_chunk_samples: a.inner_chunk_samples,
            ..StorageOptions::default()
        },
        threads,
        overwrite: a.overwrite,
        ..WriterOptions::default()
    };
    // Bounds of the options (threads, open chunks) before any thread or file is made.
    lib(opts.validate()).context("--threads")?;
    let t0 = Instant::now();
    let (writer, mut manifest, cfg, seed, rule) = if a.resume {
        let writer = lib(Writer::open(&a.out, &a.world, &opts))
            .with_context(|| format!("--resume: reopening '{}'", a.out.display()))?;
        let manifest =
            lib(Manifest::load(&a.out)).context("--resume needs the manifest of the first run")?;
        let cfg = match crate::common::reference_config(&manifest, &a.world) {
            Some(c) => c?,
            None => bail!(
                "--resume: the manifest of '{}' records no reference-world configuration",
                a.out.display()
            ),
        };
        let seed = manifest.rng_seeds.global;
        if let Some(n) = a.n {
            if n != writer.desc().n_samples {
                bail!(
                    "--resume: -n {n} differs from the dataset's n_samples {}",
                    writer.desc().n_samples
                );
            }
        }
        let rule = manifest
            .splits
            .get(&a.world)
            .map(|r| r.rule.clone())
            .or_else(|| {
                manifest
                    .config
                    .as_ref()
                    .and_then(|c| c.get("split_rule"))
                    .and_then(|r| serde_json::from_value(r.clone()).ok())
            })
            .context("--resume: the manifest records no split rule")?;
        (writer, manifest, cfg, seed, rule)
    } else {
        // Every argument is checked, and the whole manifest built and validated, before
        // anything is created on disk: a rejected invocation leaves no dataset behind.
        let n = a.n.context("-n is required (number of samples)")?;
        let mut cfg = nk::Config {
            t: a.t,
            h: a.h,
            ..nk::Config::default()
        };
        apply_bounds(&mut cfg, &a.bounds)?;
        let rule = match &a.split_rule {
            Some(text) => lib(SplitRule::from_json(text))?,
            None => {
                let [tr, va, te] = parse_fractions(&a.split)?;
                SplitRule::standard(tr, va, te, a.seed)
            }
        };
        let desc = cfg.desc(n);
        lib(desc.validate())?;
        lib(rule.validate(&desc.param_names))?;
        let mut m = lib(Manifest::new(&a.version, a.seed, SeedDerivation::ChaCha20))?;
        let chunk = umedata::StorageOptions {
            chunk_samples: a.chunk_samples,
            ..Default::default()
        }
        .chunk_samples_for(&desc);
        lib(desc.validate_chunk(chunk)).context("--chunk-samples")?;
        lib(m.add_world(&desc, chunk, opts.storage.codec.name(), 0))?;
        set_world_metadata(&mut m, &cfg)?;
        let rejected = crate::common::count_rejections(&cfg, a.seed, n, threads)?;
        let mut config = config_value(&cfg, n, rejected);
        config["split_rule"] = serde_json::to_value(&rule)?;
        lib(m.set_config_json(&config.to_string(), true))?;
        m.set_git_from(&provenance_dir());
        lib(m.validate()).context("the manifest of this run")?;
        let fresh = !a.out.exists();
        let writer = lib(Writer::create(&a.out, &desc, &opts))
            .with_context(|| format!("creating '{}'", a.out.display()))?;
        let saved = lib(m.record_world(writer.world(), None))
            .and_then(|()| set_world_metadata(&mut m, &cfg))
            // Saved before any sample: an interrupted run can be resumed from it.
            .and_then(|()| lib(m.save(&a.out)));
        if let Err(e) = saved {
            drop(writer);
            if fresh {
                // Created just now and holding no sample: leave nothing half-made behind.
                let _ = std::fs::remove_dir_all(&a.out);
            }
            return Err(e);
        }
        (writer, m, cfg, a.seed, rule)
    };

    let n = writer.desc().n_samples;
    let mut todo: Vec<u64> = if a.resume {
        lib(writer.missing(0, usize::MAX))?
    } else {
        (0..n).collect()
    };
    let already = n - todo.len() as u64;
    if let Some(max) = a.max_samples {
        todo.truncate(max as usize);
    }
    let bar = if interactive {
        let b =
            ProgressBar::with_draw_target(Some(todo.len() as u64), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} samples  {rate}  ETA {eta}",
            )?
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} samples/s", s.per_sec());
                },
            ),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        b
    } else {
        ProgressBar::hidden()
    };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let t_sim = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut done_local = 0u64;
                while !failed.load(Ordering::Relaxed) {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = todo.get(k) else { break };
                    let r = cfg.sample(seed, i).and_then(|smp| {
                        writer.write_sample(
                            i,
                            Layout::C,
                            SampleRef {
                                theta: &smp.theta[..],
                                trajectories: &smp.trajectories,
                                irfs: &smp.irfs,
                                shocks: &smp.shocks,
                            },
                        )
                    });
                    if let Err(e) = r {
                        failed.store(true, Ordering::Relaxed);
                        first_error.lock().unwrap().get_or_insert(anyhow::anyhow!(
                            "sample {i}: {} ({:?})",
                            e.message(),
                            e.kind()
                        ));
                        break;
                    }
                    done_local += 1;
                    if done_local.is_multiple_of(64) {
                        bar.inc(64);
                    }
                }
                bar.inc(done_local % 64);
            });
        }
    });
    let sim_secs = t_sim.elapsed().as_secs_f64();
    let summary = lib(writer.finalize())?;
    let write_secs = t_sim.elapsed().as_secs_f64();
    bar.finish_and_clear();
    if let Some(e) = first_error.into_inner().unwrap() {
        // Whatever was stored stays valid; the manifest still describes the run.
        lib(manifest.record_world(writer.world(), Some(&summary)))?;
        lib(manifest.save(&a.out))?;
        return Err(e.context("generation stopped; rerun with --resume to continue"));
    }
    lib(manifest.record_world(writer.world(), Some(&summary)))?;
    set_world_metadata(&mut manifest, &cfg)?;
    let splits = lib(Splits::compute_for_world(writer.world(), &rule))?;
    lib(splits.store(writer.world()))?;
    lib(manifest.set_splits(&splits))?;
    lib(manifest.save(&a.out))?;
    drop(writer);

    if !a.quiet {
        let written_now = todo.len() as u64;
        let raw: u64 = summary.arrays.iter().map(|s| s.raw_bytes).sum();
        let stored: u64 = summary.arrays.iter().map(|s| s.stored_bytes).sum();
        println!(
            "wrote {written_now} samples of '{}' to {} in {:.2} s ({:.0} samples/s, {threads} threads; simulation loop {:.2} s){}",
            a.world,
            a.out.display(),
            write_secs,
            written_now as f64 / write_secs.max(1e-9),
            sim_secs,
            if already > 0 { format!("; {already} were already stored") } else { String::new() }
        );
        println!(
            "samples written {}/{}; stored {} of {} raw (ratio {:.3}); total time {:.2} s",
            summary.samples_written,
            summary.n_samples,
            crate::common::human_bytes(stored),
            crate::common::human_bytes(raw),
            if raw > 0 {
                stored as f64 / raw as f64
            } else {
                0.0
            },
            t0.elapsed().as_secs_f64()
        );
        let c = splits.record.counts;
        println!(
            "splits: train {} val {} test {} ood {} not written {}",
            c.train,
            c.val,
            c.test,
            c.ood_slice + c.ood_corner + c.ood_interpolation,
            c.not_written
        );
        if summary.samples_written < summary.n_samples {
            println!(
                "{} samples still missing: continue with `umedata generate --resume -o {}`",
                summary.n_samples - summary.samples_written,
                a.out.display()
            );
        }
    }
    Ok(())
}

fn set_world_metadata(m: &mut Manifest, cfg: &nk::Config) -> Result<()> {
    lib(m.set_parameters(
        nk::WORLD_ID,
        Some(nk::UNITS.iter().map(|s| s.to_string()).collect()),
        Some(cfg.bounds.to_vec()),
        Some(
            nk::DEFAULTS
                .iter()
                .zip(cfg.bounds.iter())
                .map(|(d, [lo, hi])| d.clamp(*lo, *hi))
                .collect(),
        ),
    ))?;
    lib(m.set_shock_sigma(nk::WORLD_ID, cfg.shock_sigma()))
}
