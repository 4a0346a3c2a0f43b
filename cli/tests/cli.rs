//! Runs the `umedata` binary on small datasets: generate, inspect, validate (clean and
//! corrupted datasets), resume, plot.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use umedata::manifest::Manifest;
use umedata::splits::{SplitCode, Splits};
use umedata::world::ArrayKind;
use umedata::{Layout, Reader};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_umedata"))
}

fn tmp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("umedata-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("running the umedata binary");
    eprintln!(
        "--- {:?}\n{}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A small dataset: 600 samples, T=30, H=8, chunks of 100 samples.
fn generate(dir: &Path, extra: &[&str]) {
    let o = run(bin()
        .args([
            "generate", "--world", "nk", "-n", "600", "-T", "30", "-H", "8",
        ])
        .args([
            "--chunk-samples",
            "100",
            "--threads",
            "2",
            "--seed",
            "5",
            "-o",
        ])
        .arg(dir)
        .args(extra));
    assert!(o.status.success(), "generate failed");
}

fn validate(dir: &Path, extra: &[&str]) -> (i32, String) {
    let o = run(bin().arg("validate").arg(dir).args(extra));
    (o.status.code().unwrap_or(-1), stdout(&o))
}

/// The line of check `name` in validate's output.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(&format!(" {name}:")))
        .unwrap_or_else(|| panic!("no line for check '{name}' in:\n{out}"))
}

fn read_all(dir: &Path) -> Vec<Vec<u32>> {
    read_all_world(dir, "nk")
}

fn read_all_world(dir: &Path, id: &str) -> Vec<Vec<u32>> {
    let r = Reader::open(dir, id).unwrap();
    let d = r.desc().clone();
    let n = d.n_samples;
    let mut bufs: Vec<Vec<f32>> = ArrayKind::ALL
        .iter()
        .map(|k| vec![0f32; n as usize * d.sample_len(*k)])
        .collect();
    let [a, b, c, e] = &mut bufs[..] else {
        unreachable!()
    };
    r.read_range(0, n, Layout::C, [Some(a), Some(b), Some(c), Some(e)])
        .unwrap();
    bufs.into_iter()
        .map(|v| v.into_iter().map(f32::to_bits).collect())
        .collect()
}

#[test]
fn generate_inspect_validate_plot() {
    let dir = tmp("clean");
    generate(&dir, &[]);
    let (code, out) = validate(&dir, &["--reproduce", "25"]);
    assert_eq!(code, 0, "validate failed:\n{out}");
    assert!(!out.contains("FAIL"));
    assert!(line(&out, "nk: reproduce 25").starts_with("PASS"));
    assert!(line(&out, "nk: written mask complete").contains("600/600"));

    let o = run(bin()
        .args(["validate", "--json", "--reproduce", "3"])
        .arg(&dir));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], Value::Bool(true));
    assert!(v["checks"].as_array().unwrap().len() >= 12);

    let o = run(bin().arg("inspect").arg(&dir));
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("600 written, 0 missing"), "{text}");
    assert!(text.contains("codec blosc-lz4"));
    assert!(text.contains("train 480"), "{text}");
    assert!(text.contains("derivation chacha20"));
    let o = run(bin().args(["inspect", "--json"]).arg(&dir));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let w = &v["worlds"][0];
    assert_eq!(w["arrays"][2]["shape"], serde_json::json!([600, 3, 9, 3]));
    let ratio = w["ratio"].as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 1.5, "ratio {ratio}");

    // Stored data is what the library's reference world simulates.
    let m = Manifest::load(&dir).unwrap();
    let cfg =
        umedata::reference::nk::Config::from_json(&m.config.as_ref().unwrap()["reference_world"])
            .unwrap();
    let s = cfg.sample(5, 123).unwrap();
    let r = Reader::open(&dir, "nk").unwrap();
    let mut theta = [0f64; 8];
    r.read_range(123, 1, Layout::C, [Some(&mut theta[..]), None, None, None])
        .unwrap();
    assert_eq!(theta, s.theta.map(|x| x as f32 as f64));

    let png = tmp("png");
    let o = run(bin().arg("plot").arg(&dir).arg("-o").arg(&png));
    assert!(o.status.success());
    for f in [
        "nk_trajectories.png",
        "nk_irfs.png",
        "nk_theta_coverage.png",
    ] {
        let bytes = std::fs::read(png.join(f)).unwrap();
        assert!(bytes.len() > 10_000, "{f} has {} bytes", bytes.len());
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{f} is not a PNG");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&png);
}

#[test]
fn flipped_byte_in_a_chunk_fails() {
    let dir = tmp("flip");
    generate(&dir, &[]);
    let chunk = dir.join("nk/trajectories/c.1.0.0");
    let mut bytes = std::fs::read(&chunk).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 0x01;
    std::fs::write(&chunk, bytes).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    let l = line(&out, "nk: chunks decode");
    assert!(
        l.starts_with("FAIL") && l.contains("trajectories chunk 1"),
        "{l}"
    );
    assert!(line(&out, "nk: chunks present").starts_with("PASS"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deleted_chunk_fails() {
    let dir = tmp("delete");
    generate(&dir, &[]);
    std::fs::remove_file(dir.join("nk/irfs/c.2.0.0.0")).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    let l = line(&out, "nk: chunks present");
    assert!(
        l.starts_with("FAIL") && l.contains("irfs chunk 2 (samples 200..300) is missing"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn edited_manifest_fails() {
    let dir = tmp("manifest");
    generate(&dir, &[]);
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    // A configuration edited after the fact no longer matches its recorded hash.
    let edited = text.replacen("\"kappa\": 0.1", "\"kappa\": 0.2", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    let l = line(&out, "manifest schema");
    assert!(l.starts_with("FAIL") && l.contains("config_hash"), "{l}");

    // A schema-valid manifest that disagrees with the arrays.
    let edited = text.replacen("\"chunk_samples\": 100", "\"chunk_samples\": 50", 1);
    assert_ne!(edited, text);
    std::fs::write(&path, &edited).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    assert!(line(&out, "manifest schema").starts_with("PASS"));
    let l = line(&out, "manifest matches arrays");
    assert!(
        l.starts_with("FAIL") && l.contains("chunk_samples is 50 in the manifest, 100 on disk"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn overlapping_splits_fail() {
    let dir = tmp("overlap");
    let rule = r#"{"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 9,
        "ood": [{"kind": "slice", "param": "beta", "units": "quantile", "range": [0.9, 1.0]}]}"#;
    generate(&dir, &["--split-rule", rule]);
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "nk: splits disjoint").contains("1 OOD hold-out"));

    // Put one held-out sample into train as well, and record that split consistently in
    // the manifest (counts and hash), so only the overlap itself is wrong.
    let reader = Reader::open(&dir, "nk").unwrap();
    let world = reader.world();
    let mut m = Manifest::load(&dir).unwrap();
    let rec = m.splits["nk"].clone();
    let mut a = Splits::load_assignment(world).unwrap();
    let i = a.iter().position(|&c| c == SplitCode::OOD_SLICE).unwrap();
    a[i] = SplitCode::TRAIN;
    let s = Splits::from_assignment("nk", a, rec.rule.clone()).unwrap();
    s.store(world).unwrap();
    m.set_splits(&s).unwrap();
    m.save(&dir).unwrap();

    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    assert!(line(&out, "manifest matches arrays").starts_with("PASS"));
    let l = line(&out, "nk: splits disjoint");
    assert!(
        l.starts_with("FAIL")
            && l.contains(&format!(
                "sample {i} is train but lies in the held-out region of ood[0]"
            )),
        "{l}"
    );
    assert!(line(&out, "nk: splits deterministic").starts_with("FAIL"));
    let o = run(bin().args(["validate", "--json"]).arg(&dir));
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], Value::Bool(false));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn interrupted_run_resumes_to_the_same_dataset() {
    let whole = tmp("whole");
    generate(&whole, &[]);
    let part = tmp("part");
    generate(&part, &["--max-samples", "250"]);
    let (code, out) = validate(&part, &[]);
    assert_eq!(code, 1);
    let l = line(&out, "nk: written mask complete");
    assert!(
        l.starts_with("FAIL") && l.contains("350 of 600 samples missing"),
        "{l}"
    );

    let o = run(bin()
        .args(["generate", "--resume", "--max-samples", "100", "-o"])
        .arg(&part));
    assert!(o.status.success());
    let o = run(bin().args(["generate", "--resume", "-o"]).arg(&part));
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("wrote 250 samples") && text.contains("350 were already stored"),
        "{text}"
    );
    let (code, out) = validate(&part, &["--reproduce", "10"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(read_all(&part), read_all(&whole));
    let (a, b) = (
        Manifest::load(&part).unwrap(),
        Manifest::load(&whole).unwrap(),
    );
    assert_eq!(a.splits["nk"].sha256, b.splits["nk"].sha256);
    assert_eq!(a.config_hash, b.config_hash);
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&part);
}

#[test]
fn indeterminate_draws_are_redrawn_and_counted() {
    let dir = tmp("indet");
    generate(&dir, &["--bounds", "phi_pi=0.2:3.5"]);
    let m = Manifest::load(&dir).unwrap();
    // The engine's record: rejected draws per reason, over every counted sample.
    let draws = &m.config.as_ref().unwrap()["engine"]["theta_draws"];
    assert_eq!(draws["counted_samples"], 600, "{draws}");
    assert_eq!(draws["complete"], true, "{draws}");
    let n = draws["rejected"]["indeterminate"].as_u64().unwrap();
    assert!(n > 0, "{draws}");
    assert_eq!(
        m.simulators["nk"].parameters.bounds.as_ref().unwrap()[2],
        [0.2, 3.5]
    );
    let (code, out) = validate(&dir, &["--reproduce", "20"]);
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "nk: theta redraw counts").contains(&format!("{n} indeterminate")));
    // Every stored draw satisfies the Taylor principle kappa (phi_pi - 1) + (1 - beta) phi_y > 0.
    let r = Reader::open(&dir, "nk").unwrap();
    let mut theta = vec![0f64; 600 * 8];
    r.read_range(0, 600, Layout::C, [Some(&mut theta[..]), None, None, None])
        .unwrap();
    for t in theta.chunks_exact(8) {
        assert!(0.1 * (t[2] - 1.0) + (1.0 - t[0]) * t[3] > -1e-6, "{t:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--design sobol`: recorded in the manifest, a stopped run resumes to the dataset of one
/// run (a resume with another design is refused), `validate --reproduce` re-draws the Sobol
/// thetas and recounts the redraws, and the thetas are not the uniform design's.
#[test]
fn sobol_design_resumes_and_reproduces() {
    let whole = tmp("sobol_whole");
    let sobol = ["--design", "sobol", "--bounds", "phi_pi=0.2:3.5"];
    generate(&whole, &sobol);
    let m = Manifest::load(&whole).unwrap();
    let design = &m.config.as_ref().unwrap()["engine"]["design"];
    assert_eq!(design["kind"], "sobol", "{design}");
    let part = tmp("sobol_part");
    generate(&part, &[&sobol[..], &["--max-samples", "250"]].concat());
    let o = run(bin()
        .args(["generate", "--resume", "--design", "uniform", "-o"])
        .arg(&part));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--design is uniform") && err.contains("the sobol design"),
        "{err}"
    );
    let o = run(bin()
        .args(["generate", "--resume", "--design", "sobol", "-o"])
        .arg(&part));
    assert!(o.status.success());
    assert_eq!(read_all(&part), read_all(&whole));
    let (code, out) = validate(&part, &["--reproduce", "20"]);
    assert_eq!(code, 0, "{out}");
    let l = line(&out, "nk: reproduce 20");
    assert!(l.starts_with("PASS") && l.contains("sobol design"), "{l}");
    let n = m.config.as_ref().unwrap()["engine"]["theta_draws"]["rejected"]["indeterminate"]
        .as_u64()
        .unwrap();
    assert!(n > 0);
    let l = line(&out, "nk: theta redraw counts");
    assert!(
        l.starts_with("PASS") && l.contains(&format!("{n} indeterminate")),
        "{l}"
    );
    // The uniform design draws other thetas.
    let uniform = tmp("sobol_uniform");
    generate(&uniform, &["--bounds", "phi_pi=0.2:3.5"]);
    assert_ne!(read_all(&uniform)[0], read_all(&whole)[0]);
    // An unknown design is refused before anything is written.
    let bad = tmp("sobol_bad");
    let o = run(bin()
        .args(["generate", "-n", "10", "--design", "halton", "-o"])
        .arg(&bad));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("design 'halton' is not known"));
    assert!(!bad.exists());
    for d in [whole, part, uniform] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn bad_arguments_are_reported() {
    let dir = tmp("bad");
    let o = run(bin()
        .args(["generate", "--world", "rbc", "-n", "10", "-o"])
        .arg(&dir));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a built-in world"));
    let o = run(bin()
        .args(["generate", "-n", "10", "--bounds", "kappa=0:1", "-o"])
        .arg(&dir));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'kappa' is not a parameter"));
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    assert!(line(&out, "dataset").starts_with("FAIL"));
}

#[test]
fn killed_run_resumes_to_the_same_dataset() {
    let whole = tmp("kill-whole");
    let args = [
        "generate",
        "-n",
        "6000",
        "-T",
        "30",
        "-H",
        "8",
        "--chunk-samples",
        "100",
    ];
    let o = run(bin().args(args).args(["--threads", "1", "-o"]).arg(&whole));
    assert!(o.status.success());
    let part = tmp("kill-part");
    let mut child = bin()
        .args(args)
        .args(["--threads", "1", "-o"])
        .arg(&part)
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: nothing is flushed) once a few chunks are on disk, or let it end.
    let marker = part.join("nk/written/c.3");
    while !marker.exists() {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let o = run(bin().args(["generate", "--resume", "-o"]).arg(&part));
    assert!(o.status.success());
    let (code, out) = validate(&part, &["--reproduce", "10"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(read_all(&part), read_all(&whole));
    assert_eq!(
        Manifest::load(&part).unwrap().splits["nk"].sha256,
        Manifest::load(&whole).unwrap().splits["nk"].sha256
    );
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&part);
}

#[test]
fn sharded_world_records_and_checks_its_inner_chunks() {
    let dir = tmp("sharded");
    generate(&dir, &["--inner-chunk-samples", "20"]);
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 0, "validate failed:\n{out}");
    let l = line(&out, "nk: shapes and dtypes");
    assert!(
        l.starts_with("PASS") && l.contains("shards of 20-sample inner chunks"),
        "{l}"
    );
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"inner_chunk_samples\": 20"), "{text}");

    // A manifest that says otherwise is caught.
    let edited = text.replacen(
        "\"inner_chunk_samples\": 20",
        "\"inner_chunk_samples\": 25",
        1,
    );
    std::fs::write(&path, &edited).unwrap();
    let (code, out) = validate(&dir, &[]);
    assert_eq!(code, 1);
    let l = line(&out, "manifest matches arrays");
    assert!(
        l.starts_with("FAIL")
            && l.contains("inner_chunk_samples is 25 in the manifest, 20 on disk"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every argument is checked (and the manifest built and validated) before the dataset is
/// created: a rejected `generate` leaves no output directory behind (issue 15, item 7).
#[test]
fn rejected_generate_leaves_nothing_on_disk() {
    let cases: [&[&str]; 9] = [
        // lo = hi passes the world's own check but not the manifest's (lo < hi)
        &["--bounds", "rho_i=0:0"],
        &["--bounds", "rho_i=1:0"],
        &["--threads", "100000"],
        &["--version", "1.0"],
        &["--split", "0.5,0.3,0.1"],
        &["--split-rule", "{}"],
        &["--chunk-samples", "100", "--inner-chunk-samples", "7"],
        &["-T", "0"],
        &["--codec", "lz5"],
    ];
    for (k, extra) in cases.iter().enumerate() {
        let dir = tmp(&format!("rejected-{k}"));
        let o = run(bin()
            .args(["generate", "-n", "100", "-q", "-o"])
            .arg(&dir)
            .args(*extra));
        assert_eq!(o.status.code(), Some(2), "{extra:?} was not rejected");
        assert!(
            !dir.exists(),
            "{extra:?} was rejected but left '{}' behind",
            dir.display()
        );
    }
    // -n 0 and a world whose irfs overflow
    for (k, extra) in [["-n", "0"], ["-H", "4294967295"]].iter().enumerate() {
        let dir = tmp(&format!("rejected-size-{k}"));
        let mut cmd = bin();
        cmd.args(["generate", "-q", "-o"]).arg(&dir).args(*extra);
        if extra[0] != "-n" {
            cmd.args(["-n", "10"]);
        }
        let o = run(&mut cmd);
        assert_eq!(o.status.code(), Some(2), "{extra:?} was not rejected");
        assert!(!dir.exists(), "{extra:?} left '{}' behind", dir.display());
    }
}

/// Ctrl-C (SIGINT) stops `generate` cleanly: it stores what was simulated, writes the
/// manifest and exits with 130; `--resume` then completes a dataset identical to an
/// uninterrupted one (issue 13: before, a Ctrl-C acted as a kill).
#[cfg(unix)]
#[test]
fn ctrl_c_stops_cleanly_and_resumes() {
    let args = [
        "generate",
        "-n",
        "20000",
        "-T",
        "30",
        "-H",
        "8",
        "--chunk-samples",
        "100",
        "--threads",
        "2",
        "-q",
    ];
    let whole = tmp("sigint-whole");
    let o = run(bin().args(args).arg("-o").arg(&whole));
    assert!(o.status.success());
    let part = tmp("sigint-part");
    let mut child = bin()
        .args(args)
        .arg("-o")
        .arg(&part)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once some chunks are stored (or let it end, then there is nothing to test).
    let marker = part.join("nk/written/c.3");
    let mut interrupted = false;
    while !marker.exists() {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    if child.try_wait().unwrap().is_none() {
        let k = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(k.success());
        interrupted = true;
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if interrupted && out.status.code() == Some(130) {
        // A clean stop: the manifest was written and the dataset is valid but incomplete.
        assert!(
            err.contains("interrupted") && err.contains("--resume"),
            "{err}"
        );
        let m = Manifest::load(&part).unwrap();
        let draws = &m.config.as_ref().unwrap()["engine"]["theta_draws"];
        assert_eq!(draws["complete"], true, "{draws}");
        let (code, out) = validate(&part, &[]);
        assert_eq!(code, 1, "{out}");
        assert!(line(&out, "nk: written mask complete").starts_with("FAIL"));
        assert!(
            line(&out, "manifest matches arrays").starts_with("PASS"),
            "{out}"
        );
    } else {
        eprintln!(
            "the run ended before the interrupt ({:?}): {err}",
            out.status
        );
        assert!(out.status.success());
    }
    let o = run(bin().args(["generate", "--resume", "-o"]).arg(&part));
    assert!(o.status.success());
    let (code, out) = validate(&part, &["--reproduce", "10"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(read_all(&part), read_all(&whole));
    let (a, b) = (
        Manifest::load(&part).unwrap(),
        Manifest::load(&whole).unwrap(),
    );
    assert_eq!(a.splits["nk"].sha256, b.splits["nk"].sha256);
    assert_eq!(a.config_hash, b.config_hash);
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&part);
}

/// `generate --sim` drives the C plugin examples_c/plugin_ar1.c through the engine and
/// `validate --reproduce` re-simulates through it; a changed plugin (another sha256) is a
/// failed check, and `--resume` refuses it (issue 13, item 2). Skipped without `cc`.
#[cfg(unix)]
#[test]
fn plugin_generates_reproduces_and_a_changed_plugin_fails() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tmp("plugin");
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libar1.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples_c/plugin_ar1.c"))
        .arg("-o")
        .arg(&lib)
        .status();
    if !matches!(cc, Ok(s) if s.success()) {
        eprintln!("no working C compiler: skipped");
        return;
    }
    let out = dir.join("ar1.zarr");
    let gen = |extra: &[&str]| {
        run(bin()
            .args(["generate", "--sim"])
            .arg(&lib)
            .args(["-n", "1000", "--chunk-samples", "100", "-o"])
            .arg(&out)
            .args(extra))
    };
    let o = gen(&["--threads", "2", "--max-samples", "300"]);
    assert!(o.status.success());
    let o = gen(&["--resume", "--threads", "1"]);
    assert!(o.status.success(), "resume through the recorded plugin");
    let (code, text) = validate(&out, &["--reproduce", "100"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        line(&text, "ar1: reproduce 100").contains("100 samples re-simulated"),
        "{text}"
    );
    let m = Manifest::load(&out).unwrap();
    let cfg = m.config.as_ref().unwrap();
    let sha = cfg["plugin"]["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert_eq!(cfg["engine"]["simulator"]["name"], "ar1");
    assert_eq!(cfg["engine"]["theta_draws"]["complete"], true);

    // The same samples as one uninterrupted single run with another thread count.
    let whole = dir.join("whole.zarr");
    let o = run(bin()
        .args(["generate", "--sim"])
        .arg(&lib)
        .args([
            "-n",
            "1000",
            "--chunk-samples",
            "100",
            "--threads",
            "3",
            "-o",
        ])
        .arg(&whole));
    assert!(o.status.success());
    assert_eq!(read_all_world(&out, "ar1"), read_all_world(&whole, "ar1"));

    let changed = dir.join("libar1_changed.so");
    let mut bytes = std::fs::read(&lib).unwrap();
    bytes.extend_from_slice(b"changed");
    std::fs::write(&changed, bytes).unwrap();
    let o = run(bin()
        .arg("validate")
        .arg(&out)
        .args(["--reproduce", "10", "--sim"])
        .arg(&changed));
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    let l = line(&text, "ar1: reproduce 10");
    assert!(
        l.starts_with("FAIL") && l.contains(&sha) && l.contains("the simulator changed"),
        "{l}"
    );
    let o = run(bin()
        .args(["generate", "--resume", "--sim"])
        .arg(&changed)
        .arg("-o")
        .arg(&out));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a changed simulator"));

    // The Sobol design through the plugin: re-simulated by validate --reproduce.
    let sob = dir.join("sobol.zarr");
    let o = run(bin()
        .args(["generate", "--sim"])
        .arg(&lib)
        .args([
            "-n",
            "500",
            "--chunk-samples",
            "100",
            "--design",
            "sobol",
            "-o",
        ])
        .arg(&sob));
    assert!(o.status.success());
    let (code, text) = validate(&sob, &["--reproduce", "50"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        line(&text, "ar1: reproduce 50").contains("50 samples re-simulated")
            && text.contains("sobol design"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
