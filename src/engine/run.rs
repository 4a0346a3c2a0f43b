//! The threaded loop: K threads pull sample indices, draw, simulate (with redraws) and
//! write; progress and stop; the first error stops every thread.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::convert::Layout;
use crate::error::{Error, Result};
use crate::seeds::SampleRng;
use crate::world::{ArrayKind, WorldDesc};
use crate::writer::{SampleRef, Writer};

use super::{Design, Outcome, Simulate, Simulator};

/// What the progress callback is told after each stored sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Samples stored by this run so far.
    pub done: u64,
    /// Samples this run has to store (those the range lacked at the start).
    pub total: u64,
    /// Samples per second since the run started.
    pub rate: f64,
}

pub(super) struct Job<'a> {
    pub sim: &'a Simulator,
    pub desc: &'a WorldDesc,
    pub simulate: &'a dyn Simulate,
    pub design: &'a Design,
    pub seed: u64,
    pub max_attempts: u32,
    pub threads: usize,
}

pub(super) struct RunOutcome {
    pub written: u64,
    pub stopped: bool,
    pub rejections: BTreeMap<u32, u64>,
    pub error: Option<Error>,
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

pub(super) struct Buffers {
    pub theta: Vec<f64>,
    pub traj: Vec<f64>,
    pub irfs: Vec<f64>,
    pub shocks: Vec<f64>,
}

impl Buffers {
    pub(super) fn new(desc: &WorldDesc) -> Self {
        Buffers {
            theta: vec![0.0; desc.n_params as usize],
            traj: vec![0.0; desc.sample_len(ArrayKind::Trajectories)],
            irfs: vec![0.0; desc.sample_len(ArrayKind::Irfs)],
            shocks: vec![0.0; desc.sample_len(ArrayKind::Shocks)],
        }
    }
}

impl Job<'_> {
    /// Draws and simulates sample `i` until accepted; returns its rejections.
    pub(super) fn sample(&self, i: u64, b: &mut Buffers) -> Result<BTreeMap<u32, u64>> {
        let mut rng = SampleRng::new(self.seed, i);
        let mut mine: BTreeMap<u32, u64> = BTreeMap::new();
        for attempt in 0..self.max_attempts {
            self.design.draw(
                self.seed,
                i,
                attempt,
                &self.sim.params,
                &mut rng,
                &mut b.theta,
            );
            b.traj.fill(0.0);
            b.irfs.fill(0.0);
            b.shocks.fill(0.0);
            let out = catch_unwind(AssertUnwindSafe(|| {
                self.simulate.simulate(
                    i,
                    &b.theta,
                    &mut rng,
                    &mut b.traj,
                    &mut b.irfs,
                    &mut b.shocks,
                )
            }))
            .map_err(|p| {
                Error::invalid(format!(
                    "sample {i}: the simulate callback panicked: {}",
                    panic_text(p.as_ref())
                ))
            })?
            .map_err(|e| e.context(&format!("sample {i}: simulate")))?;
            match out {
                Outcome::Accept => return Ok(mine),
                Outcome::Reject(code) => {
                    if !self.design.redraws() {
                        return Err(Error::invalid(format!(
                            "sample {i}: the simulator rejected row {i} of the theta table (reason {}), and a table row cannot be redrawn; remove or replace that row",
                            self.sim.reason_name(code)
                        )));
                    }
                    *mine.entry(code).or_insert(0) += 1;
                }
            }
        }
        let reasons: Vec<String> = mine
            .iter()
            .map(|(c, k)| format!("{} × {k}", self.sim.reason_name(*c)))
            .collect();
        Err(Error::invalid(format!(
            "sample {i}: no accepted draw in max_attempts = {} attempts (rejected: {}); check the bounds or raise max_attempts",
            self.max_attempts,
            reasons.join(", ")
        )))
    }
}

/// Simulates and writes the samples `todo` on `job.threads` threads.
pub(super) fn run(
    job: &Job<'_>,
    writer: &Writer,
    todo: &[u64],
    progress: Option<&mut (dyn FnMut(super::Progress) -> bool + Send)>,
) -> RunOutcome {
    let total = todo.len() as u64;
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let stopped = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let rejections: Mutex<BTreeMap<u32, u64>> = Mutex::new(BTreeMap::new());
    let progress = progress.map(Mutex::new);
    let t0 = Instant::now();
    let fail = |e: Error| {
        stop.store(true, Ordering::SeqCst);
        first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
    };
    let threads = job.threads.min(todo.len());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut b = Buffers::new(job.desc);
                let mut rej = BTreeMap::new();
                while !stop.load(Ordering::SeqCst) {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = todo.get(k) else { break };
                    let r = job.sample(i, &mut b).and_then(|mine| {
                        writer
                            .write_sample(
                                i,
                                Layout::C,
                                SampleRef {
                                    theta: &b.theta[..],
                                    trajectories: &b.traj,
                                    irfs: &b.irfs,
                                    shocks: &b.shocks,
                                },
                            )
                            .map(|()| mine)
                    });
                    match r {
                        Ok(mine) => {
                            for (c, k) in mine {
                                *rej.entry(c).or_insert(0) += k;
                            }
                        }
                        Err(e) => {
                            fail(e);
                            break;
                        }
                    }
                    let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(p) = &progress {
                        let mut f = p.lock().unwrap_or_else(|p| p.into_inner());
                        let rate = d as f64 / t0.elapsed().as_secs_f64().max(1e-9);
                        let info = super::Progress {
                            done: d,
                            total,
                            rate,
                        };
                        match catch_unwind(AssertUnwindSafe(|| (*f)(info))) {
                            Ok(true) => {
                                stopped.store(true, Ordering::SeqCst);
                                stop.store(true, Ordering::SeqCst);
                            }
                            Ok(false) => {}
                            Err(p) => fail(Error::invalid(format!(
                                "the progress callback panicked: {}",
                                panic_text(p.as_ref())
                            ))),
                        }
                    }
                }
                let mut all = rejections.lock().unwrap_or_else(|p| p.into_inner());
                for (c, k) in rej {
                    *all.entry(c).or_insert(0) += k;
                }
            });
        }
    });
    RunOutcome {
        written: done.into_inner(),
        stopped: stopped.into_inner(),
        rejections: rejections.into_inner().unwrap_or_else(|p| p.into_inner()),
        error: first_error.into_inner().unwrap_or_else(|p| p.into_inner()),
    }
}
