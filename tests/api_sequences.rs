//! Property test: random sequences of API calls, valid and invalid, against a model.
//! No call may panic, every result must be the one the model predicts, and at the end
//! the data on disk must be exactly what the model says was accepted.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use umedata::{ErrorKind, Layout, Reader, SampleRef, WorldDesc, Writer, WriterOptions};

const N: u64 = 24;

#[derive(Debug, Clone)]
enum Op {
    /// Write sample `i` (may be out of range); `short` cuts a buffer, `nan` poisons one.
    Write {
        i: u64,
        short: bool,
        nan: bool,
    },
    Finalize,
    /// Drop the writer (storing what it buffers) and reopen the world for writing.
    Reopen,
    Read {
        i: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..N + 4, prop::bool::weighted(0.1), prop::bool::weighted(0.1))
            .prop_map(|(i, short, nan)| Op::Write { i, short, nan }),
        1 => Just(Op::Finalize),
        1 => Just(Op::Reopen),
        2 => (0..N + 2).prop_map(|i| Op::Read { i }),
    ]
}

fn desc() -> WorldDesc {
    WorldDesc::new("w", N, 3, 1, 2, 1, 2)
}

fn values(i: u64, version: usize) -> [Vec<f64>; 4] {
    let d = desc();
    umedata::ArrayKind::ALL.map(|k| {
        (0..d.sample_len(k))
            .map(|j| (i * 100 + j as u64) as f64 + version as f64 * 0.25)
            .collect()
    })
}

fn read(path: &Path, i: u64) -> Result<[Vec<f64>; 4], umedata::Error> {
    let r = Reader::open(path, "w")?;
    let d = desc();
    let mut out = umedata::ArrayKind::ALL.map(|k| vec![0f64; d.sample_len(k)]);
    let [a, b, c, e] = &mut out;
    r.read_range(i, 1, Layout::C, [Some(a), Some(b), Some(c), Some(e)])?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_call_sequences_never_panic_nor_corrupt(ops in prop::collection::vec(op(), 1..40)) {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ume-prop-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        let mut opts = WriterOptions::default();
        opts.storage.chunk_samples = Some(4);
        opts.storage.durable = false;
        opts.max_open_chunks = 2;
        opts.threads = 1;
        let mut writer = Some(Writer::create(&path, &desc(), &opts).unwrap());
        let mut finalized = false;
        // model: sample -> version of the values accepted for it
        let mut model: HashMap<u64, usize> = HashMap::new();

        for (step, op) in ops.iter().enumerate() {
            match op {
                Op::Write { i, short, nan } => {
                    let w = writer.as_ref().unwrap();
                    let mut v = values(*i, step);
                    if *short { v[1].pop(); }
                    if *nan { v[3][0] = f64::NAN; }
                    let r = w.write_sample(*i, Layout::C, SampleRef {
                        theta: &v[0], trajectories: &v[1], irfs: &v[2], shocks: &v[3],
                    });
                    let expected = if *i >= N {
                        Some(ErrorKind::OutOfRange)
                    } else if *short {
                        Some(ErrorKind::LengthMismatch)
                    } else if *nan {
                        Some(ErrorKind::NonFinite)
                    } else if finalized {
                        Some(ErrorKind::Finalized)
                    } else if model.contains_key(i) {
                        Some(ErrorKind::AlreadyWritten)
                    } else {
                        None
                    };
                    prop_assert_eq!(r.as_ref().err().map(|e| e.kind()), expected, "{:?}: {:?}", op, r);
                    if r.is_ok() {
                        model.insert(*i, step);
                    }
                }
                Op::Finalize => {
                    let r = writer.as_ref().unwrap().finalize();
                    if finalized {
                        prop_assert_eq!(r.unwrap_err().kind(), ErrorKind::Finalized);
                    } else {
                        prop_assert_eq!(r.unwrap().samples_written, model.len() as u64);
                    }
                    finalized = true;
                }
                Op::Reopen => {
                    drop(writer.take());
                    writer = Some(Writer::open(&path, "w", &opts).unwrap());
                    finalized = false;
                    let missing = writer.as_ref().unwrap().missing_count().unwrap();
                    prop_assert_eq!(missing, N - model.len() as u64);
                }
                Op::Read { i } => {
                    // Reads see what is on disk; buffered samples may not be there yet,
                    // but whatever is there must be exactly what was accepted.
                    match read(&path, *i) {
                        Ok(v) => {
                            let version = model.get(i).copied();
                            prop_assert!(version.is_some(), "sample {} read but never accepted", i);
                            let want = values(*i, version.unwrap());
                            for a in 0..4 {
                                let w32: Vec<f64> = want[a].iter().map(|x| *x as f32 as f64).collect();
                                prop_assert_eq!(&v[a], &w32);
                            }
                        }
                        Err(e) => prop_assert!(
                            matches!(e.kind(), ErrorKind::NotWritten | ErrorKind::OutOfRange),
                            "{e}"
                        ),
                    }
                }
            }
        }
        drop(writer.take());
        let r = Reader::open(&path, "w").unwrap();
        prop_assert_eq!(r.samples_written().unwrap(), model.len() as u64);
        for i in 0..N {
            match model.get(&i) {
                Some(&version) => {
                    let got = read(&path, i).unwrap();
                    let want = values(i, version);
                    for a in 0..4 {
                        let w32: Vec<f64> = want[a].iter().map(|x| *x as f32 as f64).collect();
                        prop_assert_eq!(&got[a], &w32);
                    }
                }
                None => prop_assert!(!r.is_written(i).unwrap()),
            }
        }
        std::fs::remove_dir_all(&path).unwrap();
    }
}
