//! `umedata validate`: every check a dataset must pass, one line each.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use anyhow::Result;
use serde_json::{json, Value};
use umedata::manifest::Manifest;
use umedata::reference::nk;
use umedata::seeds::{SampleRng, SeedDerivation};
use umedata::splits::{self, OodRule, SplitCode, SplitRecord, Splits, CODES};
use umedata::storage::dataset::World;
use umedata::world::{ArrayKind, WRITTEN};
use umedata::{Layout, Reader};

use crate::common::{load_manifest, reference_config, world_ids, CONFIG_DRAWS_KEY};

/// Arguments of `umedata validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Dataset directory.
    pub dir: PathBuf,
    /// Re-simulate this many random written samples of built-in worlds from their recorded
    /// seeds and compare them bit for bit.
    #[arg(long, default_value_t = 0)]
    pub reproduce: u64,
    /// Seed choosing which samples --reproduce re-simulates.
    #[arg(long, default_value_t = 0)]
    pub reproduce_seed: u64,
    /// Threads reading chunks (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON document instead of lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pass,
    Fail,
    Skip,
}

struct Check {
    name: String,
    status: Status,
    detail: String,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

impl Report {
    fn add(&mut self, name: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            status,
            detail: detail.into(),
        });
    }
    fn result(&mut self, name: impl Into<String>, r: std::result::Result<String, String>) {
        match r {
            Ok(d) => self.add(name, Status::Pass, d),
            Err(d) => self.add(name, Status::Fail, d),
        }
    }
}

/// First few items of a list, for messages.
fn first<T: std::fmt::Display>(v: &[T], k: usize) -> String {
    let s: Vec<String> = v.iter().take(k).map(|x| x.to_string()).collect();
    if v.len() > k {
        format!("{}, ... ({} in all)", s.join(", "), v.len())
    } else {
        s.join(", ")
    }
}

fn code_name(c: u8) -> &'static str {
    CODES
        .iter()
        .find(|(_, x)| *x == c)
        .map(|(n, _)| *n)
        .unwrap_or("invalid")
}

/// The root group says it is a umedata dataset.
fn check_root(dir: &Path) -> std::result::Result<String, String> {
    let (file, pointer) = if dir.join("zarr.json").is_file() {
        (dir.join("zarr.json"), "/attributes/umedata/format_version")
    } else if dir.join(".zattrs").is_file() {
        (dir.join(".zattrs"), "/umedata/format_version")
    } else {
        return Err(format!(
            "'{}' has no root zarr.json (not a Zarr v3 group)",
            dir.display()
        ));
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read '{}': {e}", file.display()))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| format!("'{}' is not JSON: {e}", file.display()))?;
    match v.pointer(pointer).and_then(Value::as_str) {
        Some(ver) => Ok(format!("umedata format {ver}")),
        None => Err(format!(
            "'{}' has no umedata format_version attribute",
            file.display()
        )),
    }
}

/// An array to check: name, array, dimension names, chunk shape, float32 (else uint8).
type ArraySpec<'a> = (
    String,
    &'a umedata::storage::dataset::DataArray,
    Vec<String>,
    Vec<u64>,
    bool,
);

/// Data types, dimension names and chunk shapes of the arrays as stored.
fn check_arrays(world: &World) -> std::result::Result<String, String> {
    let mut problems = Vec::new();
    let cs = world.chunk_samples;
    let mut specs: Vec<ArraySpec> = ArrayKind::ALL
        .iter()
        .map(|k| {
            let mut chunk = vec![cs];
            chunk.extend(world.desc.sample_dims(*k).iter().map(|&d| d as u64));
            (
                k.name().to_string(),
                world.array(*k),
                k.dimension_names().iter().map(|s| s.to_string()).collect(),
                chunk,
                true,
            )
        })
        .collect();
    specs.push((
        WRITTEN.to_string(),
        &world.written,
        vec!["sample".into()],
        vec![cs],
        false,
    ));
    for (name, array, dims, chunk, float) in specs {
        let meta = serde_json::to_value(array.metadata()).unwrap_or(Value::Null);
        let dtype = meta
            .get("data_type")
            .or_else(|| meta.get("dtype"))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_default();
        let want: &[&str] = if float {
            &["float32", "<f4"]
        } else {
            &["uint8", "|u1"]
        };
        if !want.contains(&dtype.as_str()) {
            problems.push(format!(
                "{name} has data type {dtype}, expected {}",
                want[0]
            ));
        }
        let stored_dims: Vec<String> = meta
            .get("dimension_names")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .or_else(|| {
                meta.pointer("/attributes/_ARRAY_DIMENSIONS")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().unwrap_or("").to_string())
                            .collect()
                    })
            })
            .unwrap_or_default();
        if stored_dims != dims {
            problems.push(format!(
                "{name} has dimension names {stored_dims:?}, expected {dims:?}"
            ));
        }
        let stored_chunk: Vec<u64> = array
            .chunk_shape(&vec![0; array.shape().len()])
            .map(|c| c.iter().map(|x| x.get()).collect())
            .unwrap_or_default();
        if stored_chunk != chunk {
            problems.push(format!("{name} has chunk shape {stored_chunk:?}, expected {chunk:?} (whole samples along the sample axis)"));
        }
    }
    // Sharded arrays: inner chunks of whole samples, the same number for every data
    // array, dividing the chunk (what umedata writes and its reader relies on).
    let mut inner_samples = Vec::new();
    for (a, kind) in ArrayKind::ALL.iter().enumerate() {
        let Some(shape) = world.inner_chunk_shape(a) else {
            continue;
        };
        let us = shape[0];
        let mut want = vec![us];
        want.extend(world.desc.sample_dims(*kind).iter().map(|&d| d as u64));
        if shape != want || us == 0 || cs % us != 0 {
            problems.push(format!(
                "{} has inner chunk shape {shape:?}, expected [k, {}] with k dividing {cs} (whole samples)",
                kind.name(),
                want[1..].iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ));
        }
        inner_samples.push((kind.name(), us));
    }
    if !inner_samples.is_empty() && inner_samples.len() != ArrayKind::ALL.len() {
        problems.push(format!(
            "only some data arrays are sharded ({}), expected all or none",
            inner_samples
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else if inner_samples.windows(2).any(|w| w[0].1 != w[1].1) {
        problems.push(format!(
            "data arrays have different inner chunks ({}), expected the same number of samples",
            inner_samples
                .iter()
                .map(|(n, u)| format!("{n} {u}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if problems.is_empty() {
        let inner = match inner_samples.first() {
            Some((_, us)) => format!(", shards of {us}-sample inner chunks"),
            None => String::new(),
        };
        Ok(format!(
            "theta, trajectories, irfs, shocks float32; written uint8; dimension names and chunks ({cs} samples{inner}) as expected"
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// What one pass over every chunk found.
#[derive(Default)]
struct ChunkScan {
    mask: Vec<u8>,
    missing: Vec<String>,
    undecodable: Vec<String>,
    nonfinite: Vec<String>,
    bad_mask_values: Vec<u64>,
}

fn scan_chunks(world: &World, threads: usize) -> ChunkScan {
    let n_chunks = world.n_chunks();
    let next = AtomicU64::new(0);
    let out = Mutex::new(ChunkScan {
        mask: vec![0; world.desc.n_samples as usize],
        ..ChunkScan::default()
    });
    let cs = world.chunk_samples;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let c = next.fetch_add(1, Ordering::Relaxed);
                if c >= n_chunks {
                    break;
                }
                let k = world.samples_in_chunk(c) as usize;
                let (lo, hi) = (c * cs, c * cs + k as u64);
                let mut local = ChunkScan::default();
                let mask = match world.read_mask_chunk(c) {
                    Ok(m) => m[..k].to_vec(),
                    Err(e) => {
                        local.undecodable.push(format!("written chunk {c} (samples {lo}..{hi}): {}", e.message()));
                        vec![0; k]
                    }
                };
                for (j, &m) in mask.iter().enumerate() {
                    if m > 1 {
                        local.bad_mask_values.push(lo + j as u64);
                    }
                }
                let n_written = mask.iter().filter(|&&m| m != 0).count();
                if n_written > 0 {
                    for kind in ArrayKind::ALL {
                        let array = world.array(kind);
                        match crate::common::zarrs_like::chunk_size(world, array, c) {
                            Ok(Some(_)) => {}
                            Ok(None) => {
                                local.missing.push(format!(
                                    "{} chunk {c} (samples {lo}..{hi}) is missing but the mask claims {n_written} of its samples",
                                    kind.name()
                                ));
                                continue;
                            }
                            Err(e) => {
                                local.missing.push(format!("{} chunk {c}: {e:#}", kind.name()));
                                continue;
                            }
                        }
                        match world.read_chunk_f32(array, c) {
                            Err(e) => local.undecodable.push(format!(
                                "{} chunk {c} (samples {lo}..{hi}): {}",
                                kind.name(),
                                e.message()
                            )),
                            Ok(data) => {
                                let per = world.desc.sample_len(kind);
                                for (j, &m) in mask.iter().enumerate() {
                                    if m == 0 {
                                        continue;
                                    }
                                    let row = &data[j * per..(j + 1) * per];
                                    if let Some(p) = row.iter().position(|x| !x.is_finite()) {
                                        local.nonfinite.push(format!(
                                            "{}[{}] element {p} is {}",
                                            kind.name(),
                                            lo + j as u64,
                                            row[p]
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
                let mut o = out.lock().unwrap();
                o.mask[lo as usize..hi as usize].copy_from_slice(&mask);
                o.missing.extend(local.missing);
                o.undecodable.extend(local.undecodable);
                o.nonfinite.extend(local.nonfinite);
                o.bad_mask_values.extend(local.bad_mask_values);
            });
        }
    });
    let mut o = out.into_inner().unwrap();
    o.missing.sort();
    o.undecodable.sort();
    o.nonfinite.sort();
    o.bad_mask_values.sort();
    o
}

/// Index of the first OOD rule whose (resolved) region holds `row`.
fn ood_region(
    rules: &[OodRule],
    names: &[String],
    row: &[f32],
) -> std::result::Result<Option<usize>, String> {
    let col = |p: &str| -> std::result::Result<f64, String> {
        names
            .iter()
            .position(|n| n == p)
            .map(|j| f64::from(row[j]))
            .ok_or_else(|| format!("rule names unknown parameter '{p}'"))
    };
    for (r, rule) in rules.iter().enumerate() {
        let hit = match rule {
            OodRule::Slice {
                param, resolved, ..
            } => {
                let [lo, hi] = resolved.ok_or(format!("ood[{r}] has no resolved range"))?;
                let x = col(param)?;
                lo <= x && x <= hi
            }
            OodRule::Corner {
                params,
                k,
                resolved,
                ..
            } => {
                let res = resolved
                    .as_ref()
                    .ok_or(format!("ood[{r}] has no resolved range"))?;
                let mut extreme = 0;
                for (p, [lo, hi]) in params.iter().zip(res) {
                    let x = col(p)?;
                    if x <= *lo || x >= *hi {
                        extreme += 1;
                    }
                }
                extreme >= *k
            }
            OodRule::Interpolation {
                params, resolved, ..
            } => {
                let res = resolved
                    .as_ref()
                    .ok_or(format!("ood[{r}] has no resolved box"))?;
                let mut inside = true;
                for (p, [lo, hi]) in params.iter().zip(res) {
                    let x = col(p)?;
                    inside &= *lo <= x && x <= *hi;
                }
                inside
            }
        };
        if hit {
            return Ok(Some(r));
        }
    }
    Ok(None)
}

fn check_splits(report: &mut Report, id: &str, world: &World, rec: &SplitRecord) {
    let assignment = match Splits::load_assignment(world) {
        Ok(a) => a,
        Err(e) => {
            report.add(
                format!("{id}: splits stored"),
                Status::Fail,
                e.message().to_string(),
            );
            return;
        }
    };
    let (theta, mask) = match splits::read_theta(world) {
        Ok(x) => x,
        Err(e) => {
            report.add(
                format!("{id}: splits"),
                Status::Fail,
                format!("theta unreadable: {}", e.message()),
            );
            return;
        }
    };
    let p = world.desc.n_params as usize;
    // Covering: every written sample has exactly one valid code, unwritten ones 255.
    let mut bad = Vec::new();
    for (i, (&c, &m)) in assignment.iter().zip(&mask).enumerate() {
        let ok = if m != 0 {
            c <= SplitCode::OOD_INTERPOLATION
        } else {
            c == SplitCode::NOT_WRITTEN
        };
        if !ok {
            bad.push(format!(
                "sample {i} (written={m}) has code {c} ({})",
                code_name(c)
            ));
        }
    }
    report.result(
        format!("{id}: splits covering"),
        if bad.is_empty() {
            let c = &rec.counts;
            Ok(format!(
                "every written sample in one split: train {} val {} test {} ood {} (not written {})",
                c.train,
                c.val,
                c.test,
                c.ood_slice + c.ood_corner + c.ood_interpolation,
                c.not_written
            ))
        } else {
            Err(first(&bad, 5))
        },
    );
    // Disjoint: in-distribution samples lie outside every held-out region, held-out ones
    // inside the region of the rule whose code they carry.
    let mut overlaps = Vec::new();
    let mut rule_errors = Vec::new();
    for (i, (row, &c)) in theta.chunks_exact(p).zip(&assignment).enumerate() {
        if mask[i] == 0 || c > SplitCode::OOD_INTERPOLATION {
            continue;
        }
        match ood_region(&rec.rule.ood, &world.desc.param_names, row) {
            Err(e) => {
                rule_errors.push(e);
                break;
            }
            Ok(Some(r)) => {
                let want = rec.rule.ood[r].code();
                if c != want {
                    overlaps.push(format!(
                        "sample {i} is {} but lies in the held-out region of ood[{r}] ({})",
                        code_name(c),
                        code_name(want)
                    ));
                }
            }
            Ok(None) => {
                if c >= SplitCode::OOD_SLICE {
                    overlaps.push(format!(
                        "sample {i} is {} but lies outside every held-out region",
                        code_name(c)
                    ));
                }
            }
        }
    }
    report.result(
        format!("{id}: splits disjoint"),
        if !rule_errors.is_empty() {
            Err(rule_errors.join("; "))
        } else if overlaps.is_empty() {
            Ok(format!(
                "train, val, test and {} OOD hold-out(s) do not overlap",
                rec.rule.ood.len()
            ))
        } else {
            Err(format!("splits overlap: {}", first(&overlaps, 3)))
        },
    );
    // Deterministic: recomputing the recorded rule on the stored theta gives the stored split.
    match splits::compute(id, &theta, &mask, &world.desc.param_names, &rec.rule) {
        Err(e) => report.add(
            format!("{id}: splits deterministic"),
            Status::Fail,
            format!("the recorded rule cannot be recomputed: {}", e.message()),
        ),
        Ok(again) => {
            let diff: Vec<String> = again
                .assignment
                .iter()
                .zip(&assignment)
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| {
                    format!(
                        "sample {i} stored {} recomputed {}",
                        code_name(*b),
                        code_name(*a)
                    )
                })
                .collect();
            report.result(
                format!("{id}: splits deterministic"),
                if diff.is_empty() {
                    Ok(format!(
                        "recomputing rule {} (seed {}) gives the stored split",
                        rec.rule.algorithm, rec.rule.seed
                    ))
                } else {
                    Err(format!(
                        "{} samples differ from the recomputed split: {}",
                        diff.len(),
                        first(&diff, 3)
                    ))
                },
            );
        }
    }
}

/// Re-simulates `k` written samples of a reference world and compares bits.
fn check_reproduce(
    report: &mut Report,
    a: &Args,
    threads: usize,
    id: &str,
    world: &World,
    m: &Manifest,
    mask: &[u8],
) {
    let name = format!("{id}: reproduce {}", a.reproduce);
    let cfg = match reference_config(m, id) {
        None => {
            report.add(
                name,
                Status::Skip,
                "not a built-in world (no reference configuration in the manifest)",
            );
            return;
        }
        Some(Err(e)) => {
            report.add(name, Status::Fail, format!("{e:#}"));
            return;
        }
        Some(Ok(c)) => c,
    };
    if m.rng_seeds.derivation_algorithm != SeedDerivation::ChaCha20.name() {
        report.add(
            name,
            Status::Fail,
            format!(
                "seed derivation '{}' is not the one generate uses",
                m.rng_seeds.derivation_algorithm
            ),
        );
        return;
    }
    let written: Vec<u64> = mask
        .iter()
        .enumerate()
        .filter(|(_, &x)| x != 0)
        .map(|(i, _)| i as u64)
        .collect();
    let mut chosen: Vec<u64> = if a.reproduce as usize >= written.len() {
        written.clone()
    } else {
        let mut rng = SampleRng::new(a.reproduce_seed, u64::MAX - 1);
        let mut pick = std::collections::BTreeSet::new();
        while pick.len() < a.reproduce as usize {
            pick.insert(written[rng.below(written.len() as u64) as usize]);
        }
        pick.into_iter().collect()
    };
    chosen.sort_unstable();
    let reader = match Reader::open(&world.root, id) {
        Ok(r) => r,
        Err(e) => {
            report.add(name, Status::Fail, e.message().to_string());
            return;
        }
    };
    let d = &world.desc;
    let seed = m.rng_seeds.global;
    let mut diffs = Vec::new();
    for &i in &chosen {
        let sample = match cfg.sample(seed, i) {
            Ok(s) => s,
            Err(e) => {
                diffs.push(format!("sample {i}: cannot re-simulate: {}", e.message()));
                continue;
            }
        };
        let mut bufs: Vec<Vec<f32>> = ArrayKind::ALL
            .iter()
            .map(|k| vec![0f32; d.sample_len(*k)])
            .collect();
        let [t, tr, ir, sh] = &mut bufs[..] else {
            unreachable!()
        };
        if let Err(e) = reader.read_range(i, 1, Layout::C, [Some(t), Some(tr), Some(ir), Some(sh)])
        {
            diffs.push(format!("sample {i}: cannot read: {}", e.message()));
            continue;
        }
        let fresh: [&[f64]; 4] = [
            &sample.theta,
            &sample.trajectories,
            &sample.irfs,
            &sample.shocks,
        ];
        for (kind, (stored, new)) in ArrayKind::ALL.iter().zip(bufs.iter().zip(fresh)) {
            if stored.len() != new.len() {
                diffs.push(format!(
                    "sample {i}: {} has {} values, the world {} ",
                    kind.name(),
                    new.len(),
                    stored.len()
                ));
                continue;
            }
            if let Some(p) = stored
                .iter()
                .zip(new)
                .position(|(s, n)| s.to_bits() != (*n as f32).to_bits())
            {
                diffs.push(format!(
                    "sample {i}: {} element {p} is {} on disk, {} re-simulated",
                    kind.name(),
                    stored[p],
                    new[p] as f32
                ));
            }
        }
    }
    report.result(
        name,
        if diffs.is_empty() {
            Ok(format!(
                "{} samples re-simulated from seed {seed} (ChaCha20 stream per sample) match bit for bit",
                chosen.len()
            ))
        } else {
            Err(first(&diffs, 3))
        },
    );
    // The redraw counts recorded in the manifest.
    if let Some(rec) = m.config.as_ref().and_then(|c| c.get(CONFIG_DRAWS_KEY)) {
        let (total, err) = match crate::common::count_rejections(&cfg, seed, d.n_samples, threads) {
            Ok(t) => (t, None),
            Err(e) => (nk::Rejections::default(), Some(format!("{e:#}"))),
        };
        let want = (
            rec.get("indeterminate_redrawn").and_then(Value::as_u64),
            rec.get("no_stable_solution_redrawn")
                .and_then(Value::as_u64),
        );
        report.result(
            format!("{id}: theta redraw counts"),
            match err {
                Some(e) => Err(e),
                None if want == (Some(total.indeterminate), Some(total.other)) => Ok(format!(
                    "{} indeterminate and {} unstable draws redrawn, as recorded",
                    total.indeterminate, total.other
                )),
                None => Err(format!(
                    "redrawing gives {} indeterminate / {} unstable, the manifest records {:?} / {:?}",
                    total.indeterminate, total.other, want.0, want.1
                )),
            },
        );
    }
}

/// Runs `umedata validate`; the exit code is 1 when any check fails.
pub fn run(a: &Args) -> Result<ExitCode> {
    let threads = if a.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        a.threads
    };
    let dir = &a.dir;
    let mut report = Report::default();
    report.result("dataset", check_root(dir));
    let (manifest, manifest_err) = load_manifest(dir);
    match &manifest {
        Some(m) => report.add(
            "manifest schema",
            Status::Pass,
            format!(
                "valid against schemas/manifest.json and the semantic rules (version {})",
                m.version
            ),
        ),
        None => report.add(
            "manifest schema",
            Status::Fail,
            manifest_err.unwrap_or_default(),
        ),
    }
    if let Some(m) = &manifest {
        report.result(
            "manifest matches arrays",
            match m.check_dataset(dir) {
                Ok(d) if d.is_empty() => Ok(format!("{} world(s): shapes, names, chunking, codec, written counts, split hashes agree", m.simulators.len())),
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
        report.result(format!("{id}: shapes and dtypes"), check_arrays(&world));
        let scan = scan_chunks(&world, threads);
        report.result(
            format!("{id}: chunks present"),
            if scan.missing.is_empty() {
                Ok("every chunk the written mask claims is stored".into())
            } else {
                Err(first(&scan.missing, 3))
            },
        );
        report.result(
            format!("{id}: chunks decode"),
            if scan.undecodable.is_empty() {
                Ok("every stored chunk decodes (crc32c checksums verified)".into())
            } else {
                Err(first(&scan.undecodable, 3))
            },
        );
        report.result(
            format!("{id}: finite values"),
            if scan.nonfinite.is_empty() {
                Ok("no NaN or infinity in written samples".into())
            } else {
                Err(first(&scan.nonfinite, 3))
            },
        );
        let written = scan.mask.iter().filter(|&&m| m != 0).count() as u64;
        let unwritten: Vec<u64> = scan
            .mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m == 0)
            .map(|(i, _)| i as u64)
            .collect();
        report.result(
            format!("{id}: written mask complete"),
            if !scan.bad_mask_values.is_empty() {
                Err(format!(
                    "mask values other than 0/1 at samples {}",
                    first(&scan.bad_mask_values, 5)
                ))
            } else if unwritten.is_empty() {
                Ok(format!(
                    "{written}/{} samples written",
                    world.desc.n_samples
                ))
            } else {
                Err(format!(
                    "{} of {} samples missing (first: {}); resume the run to complete it",
                    unwritten.len(),
                    world.desc.n_samples,
                    first(&unwritten, 5)
                ))
            },
        );
        match manifest.as_ref().and_then(|m| m.splits.get(id)) {
            Some(rec) => check_splits(&mut report, id, &world, rec),
            None => report.add(
                format!("{id}: splits"),
                Status::Skip,
                "no split recorded in the manifest",
            ),
        }
        if a.reproduce > 0 {
            match &manifest {
                Some(m) => check_reproduce(&mut report, a, threads, id, &world, m, &scan.mask),
                None => report.add(
                    format!("{id}: reproduce {}", a.reproduce),
                    Status::Fail,
                    "no manifest: seeds unknown",
                ),
            }
        }
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if a.json {
        let checks: Vec<Value> = report
            .checks
            .iter()
            .map(|c| {
                json!({
                    "check": c.name,
                    "status": match c.status { Status::Pass => "PASS", Status::Fail => "FAIL", Status::Skip => "SKIP" },
                    "detail": c.detail,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "dataset": dir.display().to_string(),
                "passed": failed == 0,
                "failed": failed,
                "checks": checks,
            }))?
        );
    } else {
        for c in &report.checks {
            let s = match c.status {
                Status::Pass => "PASS",
                Status::Fail => "FAIL",
                Status::Skip => "SKIP",
            };
            println!("{s}  {}: {}", c.name, c.detail);
        }
        if failed == 0 {
            println!("all {} checks passed", report.checks.len());
        } else {
            println!("{failed} of {} checks FAILED", report.checks.len());
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
