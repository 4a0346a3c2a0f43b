//! The generation engine (issue 13): determinism across threads, stop/resume and parts;
//! rejections counted; bad simulators and bad options refused with clear errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use umedata::engine::{self, Design, GenerateOptions, Outcome, Progress, Simulator};
use umedata::{ErrorKind, Layout, Manifest, Reader, SampleRng, StorageOptions, WriterOptions};

const N: u64 = 300;
const CHUNK: u64 = 32;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ume_engine_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A second small model: y_t = rho y_{t-1} + sigma eps_t; draws with rho > 0.8 are
/// "explosive" (reason 1), sigma < 0.2 "degenerate" (reason 2).
fn ar1() -> Simulator {
    let mut s = Simulator::new("ar1", "0.1.0", 16, 4).unwrap();
    s.add_param("rho", 0.0, 1.0, 0.5, "-").unwrap();
    s.add_param("sigma", 0.1, 1.0, 0.5, "-").unwrap();
    s.add_shock("eps", 1.0).unwrap();
    s.add_obs("y").unwrap();
    s.set_reject_reason(1, "explosive").unwrap();
    s.set_reject_reason(2, "degenerate").unwrap();
    s
}

fn ar1_sim(
    _i: u64,
    theta: &[f64],
    rng: &mut SampleRng,
    traj: &mut [f64],
    irfs: &mut [f64],
    shocks: &mut [f64],
) -> umedata::Result<Outcome> {
    let (rho, sigma) = (theta[0], theta[1]);
    if rho > 0.8 {
        return Ok(Outcome::Reject(1));
    }
    if sigma < 0.2 {
        return Ok(Outcome::Reject(2));
    }
    rng.fill_normal(shocks);
    let mut y = 0.0;
    for (t, e) in shocks.iter().enumerate() {
        y = rho * y + sigma * e;
        traj[t] = y;
    }
    let mut x = sigma;
    for v in irfs.iter_mut() {
        *v = x;
        x *= rho;
    }
    Ok(Outcome::Accept)
}

fn opts(threads: usize) -> GenerateOptions {
    GenerateOptions {
        seed: 7,
        n_samples: N,
        threads,
        writer: WriterOptions {
            storage: StorageOptions {
                chunk_samples: Some(CHUNK),
                ..StorageOptions::default()
            },
            ..WriterOptions::default()
        },
        ..GenerateOptions::default()
    }
}

/// Every file of the dataset except the manifest (timestamps) and the rejection records.
fn arrays(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if rel == "manifest.json" || rel.starts_with(engine::RECORDS_DIR) {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    assert!(
        out.keys().any(|k| k.contains("trajectories")),
        "{:?}",
        out.keys()
    );
    out
}

fn assert_same(a: &Path, b: &Path) {
    let (x, y) = (arrays(a), arrays(b));
    assert_eq!(
        x.keys().collect::<Vec<_>>(),
        y.keys().collect::<Vec<_>>(),
        "{} vs {}",
        a.display(),
        b.display()
    );
    for (k, v) in &x {
        assert!(
            v == &y[k],
            "{k} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

fn theta(dir: &Path, start: u64, count: u64) -> Vec<f64> {
    let rd = Reader::open(dir, "ar1").unwrap();
    let mut out = vec![0.0; 2 * count as usize];
    rd.read_range(
        start,
        count,
        Layout::C,
        [Some(&mut out[..]), None, None, None],
    )
    .unwrap();
    out
}

fn draws(dir: &Path) -> serde_json::Value {
    let m = Manifest::load(dir).unwrap();
    m.config.unwrap()["engine"]["theta_draws"].clone()
}

#[test]
fn same_seed_same_bytes_for_1_2_8_threads() {
    let sim = ar1();
    let dirs: Vec<PathBuf> = [1, 2, 8]
        .iter()
        .map(|k| tmp(&format!("threads{k}")))
        .collect();
    for (k, d) in [1, 2, 8].iter().zip(&dirs) {
        let r = engine::generate(d, &sim, &ar1_sim, &opts(*k), None).unwrap();
        assert_eq!(
            (r.written, r.already, r.missing, r.stopped),
            (N, 0, 0, false)
        );
        assert_eq!(r.summary.samples_written, N);
    }
    assert_same(&dirs[0], &dirs[1]);
    assert_same(&dirs[0], &dirs[2]);
    // Rejections are a property of (seed, i): the same counts, complete, per reason name.
    let d0 = draws(&dirs[0]);
    assert_eq!(d0, draws(&dirs[2]));
    assert_eq!(d0["complete"], true);
    assert_eq!(d0["counted_samples"], N);
    assert!(d0["rejected"]["explosive"].as_u64().unwrap() > 0, "{d0}");
    assert!(d0["rejected"]["degenerate"].as_u64().unwrap() > 0, "{d0}");
    // Sample i is a function of (seed, i) alone: re-simulate sample 123 by hand.
    let stored = theta(&dirs[0], 123, 1);
    let mut rng = SampleRng::new(7, 123);
    let theta = loop {
        let th = [rng.uniform(), 0.1 + 0.9 * rng.uniform()];
        let (mut a, mut b, mut c) = (vec![0.0; 16], vec![0.0; 5], vec![0.0; 16]);
        if ar1_sim(123, &th, &mut rng, &mut a, &mut b, &mut c).unwrap() == Outcome::Accept {
            break th;
        }
    };
    assert_eq!(stored, theta.map(|x| x as f32 as f64).to_vec());
    for d in dirs {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn stopped_by_progress_then_resumed_is_identical() {
    let sim = ar1();
    let (whole, cut) = (tmp("whole"), tmp("cut"));
    engine::generate(&whole, &sim, &ar1_sim, &opts(2), None).unwrap();
    let calls = AtomicU64::new(0);
    let mut stop_at_100 = |p: Progress| {
        calls.fetch_add(1, Ordering::SeqCst);
        assert_eq!(p.total, N);
        p.done >= 100
    };
    let r = engine::generate(&cut, &sim, &ar1_sim, &opts(2), Some(&mut stop_at_100)).unwrap();
    assert!(r.stopped && r.written >= 100 && r.written < N, "{r:?}");
    assert_eq!(r.missing, N - r.written);
    assert_eq!(r.summary.samples_written, r.written);
    // The stopped run is a valid, resumable dataset with a manifest.
    assert_eq!(draws(&cut)["counted_samples"], r.written);
    let first = r.written;
    let resumed = GenerateOptions {
        resume: true,
        n_samples: 0,
        ..opts(8)
    };
    let r2 = engine::generate(&cut, &sim, &ar1_sim, &resumed, None).unwrap();
    assert_eq!((r2.written, r2.already, r2.missing), (N - first, first, 0));
    assert_same(&whole, &cut);
    assert_eq!(draws(&whole), draws(&cut));
    // Nothing left: a second resume writes nothing and changes nothing.
    let r3 = engine::generate(&cut, &sim, &ar1_sim, &resumed, None).unwrap();
    assert_eq!((r3.written, r3.already), (0, N));
    assert_same(&whole, &cut);
    std::fs::remove_dir_all(whole).unwrap();
    std::fs::remove_dir_all(cut).unwrap();
}

#[test]
fn parts_then_finish_is_identical() {
    let sim = ar1();
    let (whole, parts) = (tmp("pwhole"), tmp("parts"));
    engine::generate(&whole, &sim, &ar1_sim, &opts(1), None).unwrap();
    engine::prepare(&parts, &sim, &opts(1)).unwrap();
    // Three parts, in a shuffled order, with different thread counts.
    for (start, count, k) in [(192, N - 192, 2), (0, 96, 1), (96, 96, 8)] {
        let o = GenerateOptions {
            part: Some((start, count)),
            ..opts(k)
        };
        let r = engine::generate(&parts, &sim, &ar1_sim, &o, None).unwrap();
        assert_eq!((r.written, r.missing), (count, 0));
    }
    engine::finish(&parts, &sim, &opts(1)).unwrap();
    assert_same(&whole, &parts);
    assert_eq!(draws(&whole), draws(&parts));
    // A part that is not chunk-aligned is refused by the writer, naming the range.
    let bad = GenerateOptions {
        part: Some((10, 20)),
        ..opts(1)
    };
    let e = engine::generate(&parts, &sim, &ar1_sim, &bad, None).unwrap_err();
    assert!(e.message().contains("chunk-aligned"), "{}", e.message());
    std::fs::remove_dir_all(whole).unwrap();
    std::fs::remove_dir_all(parts).unwrap();
}

#[test]
fn resume_refuses_other_seed_or_simulator() {
    let sim = ar1();
    let d = tmp("mismatch");
    engine::generate(&d, &sim, &ar1_sim, &opts(1), None).unwrap();
    let other_seed = GenerateOptions {
        resume: true,
        seed: 8,
        ..opts(1)
    };
    let e = engine::generate(&d, &sim, &ar1_sim, &other_seed, None).unwrap_err();
    assert!(
        e.message().contains("seed is 8") && e.message().contains("7"),
        "{}",
        e.message()
    );
    let mut sim2 = ar1();
    sim2.version = "0.2.0".into();
    let resume = GenerateOptions {
        resume: true,
        ..opts(1)
    };
    let e = engine::generate(&d, &sim2, &ar1_sim, &resume, None).unwrap_err();
    assert!(e.message().contains("0.2.0"), "{}", e.message());
    // Other bounds would draw other thetas: refused too.
    let mut sim3 = ar1();
    sim3.params[0].hi = 0.9;
    let e = engine::generate(&d, &sim3, &ar1_sim, &resume, None).unwrap_err();
    assert!(e.message().contains("\"hi\":0.9"), "{}", e.message());
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn gives_up_after_max_attempts_naming_the_sample() {
    let sim = ar1();
    let d = tmp("giveup");
    let always =
        |_: u64, _: &[f64], _: &mut SampleRng, _: &mut [f64], _: &mut [f64], _: &mut [f64]| {
            Ok(Outcome::Reject(1))
        };
    let o = GenerateOptions {
        max_attempts: 50,
        ..opts(2)
    };
    let e = engine::generate(&d, &sim, &always, &o, None).unwrap_err();
    assert!(
        e.message()
            .contains("no accepted draw in max_attempts = 50")
            && e.message().contains("explosive × 50")
            && e.message().starts_with("sample "),
        "{}",
        e.message()
    );
    std::fs::remove_dir_all(d).unwrap();
    // The documented default is 1000.
    assert_eq!(engine::MAX_ATTEMPTS_DEFAULT, 1000);
}

#[test]
fn callback_error_or_panic_is_an_error_and_resumable() {
    let sim = ar1();
    let d = tmp("panic");
    let bad =
        |i: u64, th: &[f64], r: &mut SampleRng, a: &mut [f64], b: &mut [f64], c: &mut [f64]| {
            if i == 200 {
                panic!("boom at {i}");
            }
            ar1_sim(i, th, r, a, b, c)
        };
    let e = engine::generate(&d, &sim, &bad, &opts(1), None).unwrap_err();
    assert!(
        e.message().contains("sample 200") && e.message().contains("boom at 200"),
        "{}",
        e.message()
    );
    // The run was finalized: the manifest agrees with what was stored (200 samples).
    let m = umedata::Manifest::load(&d).unwrap();
    assert_eq!(m.check_dataset(&d).unwrap(), Vec::<String>::new());
    let written = m.simulators.values().next().map(|w| w.samples_written);
    assert_eq!(written, Some(200));
    let err =
        |i: u64, th: &[f64], r: &mut SampleRng, a: &mut [f64], b: &mut [f64], c: &mut [f64]| {
            if i == 250 {
                return Err(umedata::Error::new(
                    ErrorKind::InvalidArgument,
                    "solver diverged",
                ));
            }
            ar1_sim(i, th, r, a, b, c)
        };
    let resume = GenerateOptions {
        resume: true,
        ..opts(1)
    };
    let e = engine::generate(&d, &sim, &err, &resume, None).unwrap_err();
    assert!(
        e.message().contains("sample 250") && e.message().contains("solver diverged"),
        "{}",
        e.message()
    );
    // What was stored stays; the good simulator completes it, identical to one run.
    engine::generate(&d, &sim, &ar1_sim, &resume, None).unwrap();
    let whole = tmp("panic_whole");
    engine::generate(&whole, &sim, &ar1_sim, &opts(1), None).unwrap();
    assert_same(&whole, &d);
    std::fs::remove_dir_all(d).unwrap();
    std::fs::remove_dir_all(whole).unwrap();
}

#[test]
fn table_design_stores_the_table_and_refuses_bad_tables() {
    let sim = ar1();
    let d = tmp("table");
    let rows: Vec<f64> = (0..N)
        .flat_map(|i| [0.5 * (i % 3) as f64 / 2.0, 0.5])
        .collect();
    let o = GenerateOptions {
        design: Design::table(rows.clone()),
        ..opts(2)
    };
    engine::generate(&d, &sim, &ar1_sim, &o, None).unwrap();
    let got = theta(&d, 0, N);
    assert_eq!(
        got,
        rows.iter().map(|x| *x as f32 as f64).collect::<Vec<_>>()
    );
    // Wrong size, non-finite value, a rejected row.
    let short = GenerateOptions {
        design: Design::table(vec![0.5; 10]),
        ..opts(1)
    };
    let e = engine::generate(&tmp("t2"), &sim, &ar1_sim, &short, None).unwrap_err();
    assert!(
        e.message().contains("theta table has 10 values, expected"),
        "{}",
        e.message()
    );
    assert!(!tmp("t2").exists(), "a refused run leaves nothing behind");
    let mut nan = rows.clone();
    nan[7] = f64::NAN;
    let e = engine::generate(
        &tmp("t3"),
        &sim,
        &ar1_sim,
        &GenerateOptions {
            design: Design::table(nan),
            ..opts(1)
        },
        None,
    )
    .unwrap_err();
    assert!(
        e.message().contains("row 3 column 1 ('sigma')"),
        "{}",
        e.message()
    );
    let mut explosive = rows;
    explosive[2 * 17] = 0.95;
    let t4 = tmp("t4");
    let e = engine::generate(
        &t4,
        &sim,
        &ar1_sim,
        &GenerateOptions {
            design: Design::table(explosive),
            ..opts(1)
        },
        None,
    )
    .unwrap_err();
    assert!(
        e.message().contains("rejected row 17") && e.message().contains("explosive"),
        "{}",
        e.message()
    );
    std::fs::remove_dir_all(d).unwrap();
    let _ = std::fs::remove_dir_all(t4);
}

#[test]
fn bad_descriptions_are_refused() {
    let mut s = Simulator::new("x", "1", 4, 1).unwrap();
    let e = s.add_param("a", 1.0, 1.0, 1.0, "-").unwrap_err();
    assert!(
        e.message().contains("bounds of parameter 'a' are [1, 1]"),
        "{}",
        e.message()
    );
    let e = s.add_param("a", 0.0, 1.0, 2.0, "-").unwrap_err();
    assert!(
        e.message().contains("default of parameter 'a' is 2"),
        "{}",
        e.message()
    );
    s.add_param("a", 0.0, 1.0, 0.5, "-").unwrap();
    assert!(s.add_param("a", 0.0, 1.0, 0.5, "-").is_err());
    let e = s.add_shock("e", 0.0).unwrap_err();
    assert!(
        e.message().contains("sigma of shock 'e' is 0"),
        "{}",
        e.message()
    );
    assert!(Simulator::new("x", "1", 0, 1)
        .unwrap_err()
        .message()
        .contains("T is 0"));
    let e = engine::generate(&tmp("noobs"), &s, &ar1_sim, &opts(1), None).unwrap_err();
    assert!(e.message().contains("no observables"), "{}", e.message());
    assert!(s.set_reject_reason(0, "x").is_err());
}

fn sobol_opts(threads: usize) -> GenerateOptions {
    GenerateOptions {
        design: Design::Sobol,
        ..opts(threads)
    }
}

/// The Sobol design: byte-identical for 1, 2 and 8 threads, after a stop and a resume, and
/// split into parts; theta within the bounds and not the uniform design's.
#[test]
fn sobol_same_bytes_for_threads_resume_and_parts() {
    let sim = ar1();
    let dirs: Vec<PathBuf> = [1, 2, 8]
        .iter()
        .map(|k| tmp(&format!("sobol{k}")))
        .collect();
    for (k, d) in [1, 2, 8].iter().zip(&dirs) {
        let r = engine::generate(d, &sim, &ar1_sim, &sobol_opts(*k), None).unwrap();
        assert_eq!((r.written, r.missing), (N, 0));
    }
    assert_same(&dirs[0], &dirs[1]);
    assert_same(&dirs[0], &dirs[2]);
    let d0 = draws(&dirs[0]);
    assert_eq!(d0, draws(&dirs[2]));
    assert!(d0["rejected"]["explosive"].as_u64().unwrap() > 0, "{d0}");
    // The manifest records the design with its formula.
    let m = Manifest::load(&dirs[0]).unwrap();
    let rec = &m.config.unwrap()["engine"]["design"];
    assert_eq!(rec, &Design::Sobol.to_json());
    assert_eq!(rec["kind"], "sobol");
    assert_eq!(rec["max_dimension"], 1024);
    assert_eq!(Design::from_json(rec).unwrap(), Design::Sobol);
    // Stopped, then resumed on other threads.
    let cut = tmp("sobol_cut");
    let mut stop_at_100 = |p: Progress| p.done >= 100;
    let r = engine::generate(&cut, &sim, &ar1_sim, &sobol_opts(2), Some(&mut stop_at_100)).unwrap();
    assert!(r.stopped && r.written < N, "{r:?}");
    let resumed = GenerateOptions {
        resume: true,
        n_samples: 0,
        ..sobol_opts(8)
    };
    engine::generate(&cut, &sim, &ar1_sim, &resumed, None).unwrap();
    assert_same(&dirs[0], &cut);
    assert_eq!(draws(&dirs[0]), draws(&cut));
    // Parts in shuffled order.
    let parts = tmp("sobol_parts");
    engine::prepare(&parts, &sim, &sobol_opts(1)).unwrap();
    for (start, count, k) in [(192, N - 192, 2), (0, 96, 1), (96, 96, 8)] {
        let o = GenerateOptions {
            part: Some((start, count)),
            ..sobol_opts(k)
        };
        engine::generate(&parts, &sim, &ar1_sim, &o, None).unwrap();
    }
    engine::finish(&parts, &sim, &sobol_opts(1)).unwrap();
    assert_same(&dirs[0], &parts);
    // Within the bounds (rho < 0.8 accepted, sigma in [0.2, 1]) and not the uniform draws.
    let th = theta(&dirs[0], 0, N);
    for p in th.chunks(2) {
        assert!(
            (0.0..=0.8).contains(&p[0]) && (0.2..=1.0).contains(&p[1]),
            "{p:?}"
        );
    }
    let uni = tmp("sobol_vs_uniform");
    engine::generate(&uni, &sim, &ar1_sim, &opts(1), None).unwrap();
    assert_ne!(th, theta(&uni, 0, N));
    for d in dirs.iter().chain([&cut, &parts, &uni]) {
        std::fs::remove_dir_all(d).unwrap();
    }
}

/// A rejected Sobol draw of sample i is redrawn as point i of the copy scrambled with
/// (seed, attempt); the simulator's stream is SampleRng(seed, i) from its first value; the
/// first 2^m accepted-at-once samples keep the design's stratification.
#[test]
fn sobol_redraws_as_documented() {
    let sim = ar1();
    let attempts = std::sync::Mutex::new(Vec::new());
    let recording =
        |i: u64, th: &[f64], r: &mut SampleRng, a: &mut [f64], b: &mut [f64], c: &mut [f64]| {
            let first = r.clone().next_u64();
            let out = ar1_sim(i, th, r, a, b, c)?;
            attempts.lock().unwrap().push((i, th.to_vec(), first, out));
            Ok(out)
        };
    let d = tmp("sobol_redraw");
    engine::generate(&d, &sim, &recording, &sobol_opts(2), None).unwrap();
    let stored = theta(&d, 0, N);
    let mut log = attempts.into_inner().unwrap();
    log.sort_by_key(|(i, ..)| *i); // stable: attempts of one sample stay in order
    let mut redrawn = 0;
    for i in 0..N {
        let mine: Vec<_> = log.iter().filter(|(j, ..)| *j == i).collect();
        for (a, (_, th, first, out)) in mine.iter().enumerate() {
            let want = [
                engine::sobol::point(7, a as u32, i, 0).unwrap(),
                0.1 + 0.9 * engine::sobol::point(7, a as u32, i, 1).unwrap(),
            ];
            assert_eq!(th, &want.to_vec(), "sample {i} attempt {a}");
            if a == 0 {
                assert_eq!(*first, SampleRng::new(7, i).next_u64(), "sample {i}");
            }
            assert_eq!(*out == Outcome::Accept, a + 1 == mine.len());
        }
        let last = &mine.last().unwrap().1;
        assert_eq!(
            &stored[2 * i as usize..2 * i as usize + 2],
            &[last[0] as f32 as f64, last[1] as f32 as f64]
        );
        redrawn += usize::from(mine.len() > 1);
    }
    assert!(redrawn > 30, "{redrawn} samples redrawn");
    // One sample alone (validate --reproduce's path) gives the same.
    let one = engine::simulate_sample(&sim, &ar1_sim, &Design::Sobol, 7, 0, 123).unwrap();
    assert_eq!(
        one.theta
            .iter()
            .map(|x| *x as f32 as f64)
            .collect::<Vec<_>>(),
        stored[246..248].to_vec()
    );
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn sobol_limits_and_resume_with_another_design_are_refused() {
    let sim = ar1();
    let d = tmp("sobol_mismatch");
    engine::generate(&d, &sim, &ar1_sim, &sobol_opts(1), None).unwrap();
    let e = engine::generate(
        &d,
        &sim,
        &ar1_sim,
        &GenerateOptions {
            resume: true,
            ..opts(1)
        },
        None,
    )
    .unwrap_err();
    assert!(
        e.message().contains("the design is") && e.message().contains("\"kind\":\"sobol\""),
        "{}",
        e.message()
    );
    std::fs::remove_dir_all(d).unwrap();
    // More parameters than dimensions.
    let mut wide = Simulator::new("wide", "1", 2, 0).unwrap();
    for j in 0..1025 {
        wide.add_param(&format!("p{j}"), 0.0, 1.0, 0.5, "-")
            .unwrap();
    }
    wide.add_shock("eps", 1.0).unwrap();
    wide.add_obs("y").unwrap();
    let w = tmp("sobol_wide");
    let e = engine::generate(&w, &wide, &ar1_sim, &sobol_opts(1), None).unwrap_err();
    assert!(
        e.message()
            .contains("n_params 1025 is above the Sobol design's limit of 1024"),
        "{}",
        e.message()
    );
    assert!(!w.exists(), "a refused run leaves nothing behind");
    // More samples than points.
    let big = GenerateOptions {
        n_samples: (1 << 32) + 1,
        ..sobol_opts(1)
    };
    let e = engine::generate(&w, &sim, &ar1_sim, &big, None).unwrap_err();
    assert!(
        e.message()
            .contains("n_samples 4294967297 is above the Sobol design's limit of 4294967296"),
        "{}",
        e.message()
    );
    assert!(!w.exists());
    let e = engine::simulate_sample(&sim, &ar1_sim, &Design::Sobol, 7, 0, 1 << 32).unwrap_err();
    assert!(
        e.message().contains("sample index 4294967296"),
        "{}",
        e.message()
    );
    assert!(Design::from_name("halton")
        .unwrap_err()
        .message()
        .contains("design 'halton' is not known"));
}
