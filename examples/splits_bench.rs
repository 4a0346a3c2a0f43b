//! Timing of split computation for 10^6 samples (issue #3: "splits for 10^6 samples in
//! under a second"). Not a test: prints figures.
//!
//!     cargo run --release --example splits_bench [n_samples]
//!
//! 1. In memory: theta of n samples × 8 parameters (uniform draws), a standard
//!    train/val/test rule, then the same with three OOD rules (slice in quantiles, corner,
//!    interpolation). Best and median of 5 runs.
//! 2. From disk: a world of n samples (theta 8 parameters, tiny other arrays) is written,
//!    then `Splits::compute_for_world` (reads theta and the mask, verifies checksums) and
//!    `Splits::store` (writes the uint8 `split` array) are timed.

use std::time::Instant;

use umedata::splits::{compute, SplitRule, Splits};
use umedata::{Layout, SampleRef, SampleRng, WorldDesc, Writer, WriterOptions};

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut t = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        last = Some(f());
        t.push(t0.elapsed().as_secs_f64());
    }
    t.sort_by(f64::total_cmp);
    (t[0], t[t.len() / 2], last.unwrap())
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let p = 8;
    let names: Vec<String> = [
        "beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rng = SampleRng::new(1, 0);
    let theta: Vec<f32> = (0..n * p).map(|_| rng.uniform() as f32).collect();
    let mask = vec![1u8; n];
    let standard = SplitRule::standard(0.8, 0.1, 0.1, 42);
    let ood = SplitRule::from_json(
        r#"{"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 42, "ood": [
            {"kind": "slice", "param": "beta", "units": "quantile", "range": [0.9, 1.0]},
            {"kind": "corner", "params": ["phi_pi", "phi_y", "rho_a"], "k": 2, "q": 0.05},
            {"kind": "interpolation", "params": ["sigma", "rho_i"], "units": "quantile", "box": [[0.4, 0.6], [0.4, 0.6]]}]}"#,
    )
    .unwrap();
    println!(
        "splits_bench: n = {n} samples, {p} parameters, {} threads available",
        std::thread::available_parallelism()
            .map(|x| x.get())
            .unwrap_or(1)
    );
    for (label, rule) in [
        ("standard 0.8/0.1/0.1", &standard),
        ("standard + 3 OOD rules", &ood),
    ] {
        let (best, median, s) = time(5, || compute("nk", &theta, &mask, &names, rule).unwrap());
        let c = s.record.counts;
        println!(
            "in memory, {label:<24}: best {:.3} s, median {:.3} s  (train {} val {} test {} slice {} corner {} interp {})",
            best, median, c.train, c.val, c.test, c.ood_slice, c.ood_corner, c.ood_interpolation
        );
    }

    // From disk.
    let dir = std::env::temp_dir().join(format!("ume-splits-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut desc = WorldDesc::new("nk", n as u64, 1, 0, p as u32, 1, 1);
    desc.param_names = names.clone();
    let mut opts = WriterOptions::default();
    opts.storage.chunk_samples = Some(65_536);
    opts.storage.durable = false;
    let t0 = Instant::now();
    let w = Writer::create(&dir, &desc, &opts).unwrap();
    let theta64: Vec<f64> = theta.iter().map(|&x| f64::from(x)).collect();
    for i in 0..n {
        w.write_sample(
            i as u64,
            Layout::C,
            SampleRef {
                theta: &theta64[i * p..(i + 1) * p],
                trajectories: &[0.0],
                irfs: &[0.0],
                shocks: &[0.0],
            },
        )
        .unwrap();
    }
    w.finalize().unwrap();
    println!(
        "(setup: wrote {n} samples in {:.2} s)",
        t0.elapsed().as_secs_f64()
    );
    let (best, median, s) = time(3, || Splits::compute_for_world(w.world(), &ood).unwrap());
    println!("from disk, read theta + mask + compute (3 OOD rules): best {best:.3} s, median {median:.3} s");
    let (best, median, _) = time(3, || s.store(w.world()).unwrap());
    println!(
        "store the uint8 split array ({} chunks): best {best:.3} s, median {median:.3} s",
        n.div_ceil(65_536)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
