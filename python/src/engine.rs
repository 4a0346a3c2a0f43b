//! The generation engine (`umedata::engine`) driven by a Python callable: the simulator's
//! description (`Simulator`), the generation options (`GenOptions`), the per-sample
//! generator lent to the callable (`Rng`), `Reject`, and `generate` / `prepare` /
//! `finish` / `validate_with`. Only conversions live here; draws, redraws, threads, resume,
//! parts, manifest and splits are the engine's.
//!
//! The GIL: the engine runs on its own threads; each call of the Python simulator (and of
//! the progress callable) takes the GIL for the length of the call and nothing else does,
//! so writing, compression and a simulator that releases the GIL (numpy) run in parallel.
//! The thread that called `generate` waits without the GIL and checks for signals between
//! waits: Ctrl-C stops the run cleanly (resumable) and `KeyboardInterrupt` is raised once
//! everything is stored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use numpy::{
    PyArray1, PyArray2, PyArray3, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use umedata::engine::{
    self, Design, GenerateOptions, Outcome, Progress, Report, Simulate, Simulator as CoreSim,
};
use umedata::validate::{validate_with as core_validate_with, External, ValidateOptions};
use umedata::{Error, ErrorKind, SampleRng, SplitRule, Summary, WorldDesc, WriterOptions};

use crate::{arg_err, py_err, storage_options, summary_dict, PyResultExt, UmedataError};

pyo3::create_exception!(
    umedata,
    SimulationError,
    UmedataError,
    "The Python simulator failed for one sample (it raised, or returned something the engine cannot use): `.sample` is the sample index, `__cause__` the original exception. What was stored stays stored; `generate(..., resume=True)` continues."
);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

// --------------------------------------------------------------------------------- Rng

/// The ChaCha20 stream of one sample (the same values `ume_rng_*` draws, in the same
/// order). Lent to `simulate` for one call: it is valid during the call only, and any use
/// afterwards raises `UmedataError` (it holds nothing of the engine's any more).
/// `Rng(global_seed, sample_index)` makes a standalone one (as `ume_rng_new`).
#[pyclass(module = "umedata._native", frozen)]
pub struct Rng {
    state: Mutex<Option<SampleRng>>,
    /// The sample whose call lent it (`None`: standalone).
    lent_for: Option<u64>,
}

impl Rng {
    fn with<R>(&self, py: Python<'_>, f: impl FnOnce(&mut SampleRng) -> R) -> PyResult<R> {
        let mut g = lock(&self.state);
        match g.as_mut() {
            Some(r) => Ok(f(r)),
            None => Err(arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!(
                    "this Rng was lent to simulate for sample {} and is no longer valid: draw from it only during that call",
                    self.lent_for.map_or_else(|| "?".into(), |i| i.to_string())
                ),
            )),
        }
    }

    /// Fills `out` (float64, writable, any shape; values in C order of its indices).
    fn fill(
        &self,
        py: Python<'_>,
        out: &Bound<'_, PyAny>,
        draw: fn(&mut SampleRng) -> f64,
    ) -> PyResult<()> {
        let arr = out.downcast::<PyArrayDyn<f64>>().map_err(|_| {
            arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!(
                    "out is a {}, expected a writable float64 numpy array",
                    out.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ),
            )
        })?;
        let mut w = arr.try_readwrite().map_err(|e| {
            arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!("out is not writable ({e}), expected a writable float64 numpy array"),
            )
        })?;
        self.with(py, |r| match w.as_slice_mut() {
            Ok(s) => s.iter_mut().for_each(|x| *x = draw(r)),
            Err(_) => w.as_array_mut().iter_mut().for_each(|x| *x = draw(r)),
        })
    }

    fn draws<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
        draw: fn(&mut SampleRng) -> f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(size) = size.filter(|s| !s.is_none()) else {
            return Ok(self.with(py, draw)?.into_pyobject(py)?.into_any());
        };
        let shape: Vec<usize> = match size.extract::<usize>() {
            Ok(n) => vec![n],
            Err(_) => size.extract().map_err(|_| {
                arg_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("size is {size}, expected None, an int >= 0 or a tuple of them"),
                )
            })?,
        };
        let n: usize = shape.iter().product();
        let v = self.with(py, |r| (0..n).map(|_| draw(r)).collect::<Vec<f64>>())?;
        Ok(PyArray1::from_vec(py, v).reshape(shape)?.into_any())
    }
}

#[pymethods]
impl Rng {
    /// The stream of sample `sample_index` under `global_seed` (as `ume_rng_new`).
    #[new]
    fn new(global_seed: u64, sample_index: u64) -> Self {
        Rng {
            state: Mutex::new(Some(SampleRng::new(global_seed, sample_index))),
            lent_for: None,
        }
    }

    /// The next uniform in [0, 1) (`ume_rng_uniform`), or an array of `size` of them.
    #[pyo3(signature = (size=None))]
    fn uniform<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.draws(py, size, SampleRng::uniform)
    }

    /// The next standard normal (`ume_rng_normal`), or an array of `size` of them (the
    /// same values as that many calls, as `ume_rng_fill_normal`).
    #[pyo3(signature = (size=None))]
    fn normal<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.draws(py, size, SampleRng::normal)
    }

    /// numpy's name: `standard_normal(size)` is `normal(size)`; `standard_normal(out=a)`
    /// (or `standard_normal(a)` with a numpy array) fills the float64 array `a` in place
    /// (as `fill_normal`) and returns it.
    #[pyo3(signature = (size=None, out=None))]
    fn standard_normal<'py>(
        &self,
        py: Python<'py>,
        size: Option<&Bound<'py, PyAny>>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (size, out) = match (size, out) {
            (Some(a), None) if a.downcast::<PyUntypedArray>().is_ok() => (None, Some(a)),
            other => other,
        };
        match out {
            Some(a) if size.is_none_or(|s| s.is_none()) => {
                self.fill(py, a, SampleRng::normal)?;
                Ok(a.clone())
            }
            Some(_) => Err(arg_err(
                py,
                ErrorKind::InvalidArgument,
                "give size or out, not both".into(),
            )),
            None => self.draws(py, size, SampleRng::normal),
        }
    }

    /// The next raw 64-bit output (`ume_rng_next_u64`).
    fn next_u64(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, SampleRng::next_u64)
    }

    /// Fills the float64 array `out` in place with standard normals, in the C order of its
    /// indices (`ume_rng_fill_normal`; no allocation).
    fn fill_normal(&self, py: Python<'_>, out: &Bound<'_, PyAny>) -> PyResult<()> {
        self.fill(py, out, SampleRng::normal)
    }

    /// Fills the float64 array `out` in place with uniforms (`ume_rng_fill_uniform`).
    fn fill_uniform(&self, py: Python<'_>, out: &Bound<'_, PyAny>) -> PyResult<()> {
        self.fill(py, out, SampleRng::uniform)
    }

    /// Whether draws are allowed (False once the call that lent it returned).
    #[getter]
    fn valid(&self) -> bool {
        lock(&self.state).is_some()
    }

    fn __repr__(&self) -> String {
        match (self.lent_for, self.valid()) {
            (Some(i), true) => format!("umedata.Rng(lent for sample {i})"),
            (Some(i), false) => format!("umedata.Rng(lent for sample {i}, no longer valid)"),
            (None, _) => "umedata.Rng(standalone)".into(),
        }
    }
}

// ------------------------------------------------------------------------------ Reject

/// What `simulate` returns to reject the draw: `Reject("indeterminate")` (a reason name
/// of the simulator) or `Reject(code)` (an int >= 1). Theta is redrawn from the same
/// stream and the rejection counted per reason.
#[pyclass(module = "umedata._native", frozen)]
pub struct Reject {
    #[pyo3(get)]
    reason: PyObject,
}

#[pymethods]
impl Reject {
    #[new]
    fn new(py: Python<'_>, reason: &Bound<'_, PyAny>) -> PyResult<Self> {
        let ok = match reason.extract::<i64>() {
            Ok(c) => {
                !reason.is_instance_of::<pyo3::types::PyBool>()
                    && c >= 1
                    && c <= i64::from(u32::MAX)
            }
            Err(_) => reason.extract::<String>().is_ok_and(|s| !s.is_empty()),
        };
        if !ok {
            return Err(arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!("Reject reason is {reason}, expected a reason name of the simulator or an int code >= 1"),
            ));
        }
        Ok(Reject {
            reason: reason.clone().unbind(),
        })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "umedata.Reject({})",
            self.reason
                .bind(py)
                .repr()
                .map_or_else(|_| "?".into(), |r| r.to_string())
        )
    }
}

// --------------------------------------------------------------------------- Simulator

/// What a simulator is (as `ume_sim`): name (the world id) and version, T and H, its
/// parameters, shocks, observables and reject reason names. Built empty, then filled with
/// `add_param`, `add_shock`, `add_obs`, `set_reject_reason` (the Python layer,
/// `umedata.Simulator`, does it from lists).
#[pyclass(module = "umedata._native", name = "Simulator")]
pub struct PySimulator {
    pub(crate) inner: CoreSim,
}

#[pymethods]
impl PySimulator {
    #[new]
    #[allow(non_snake_case)]
    fn new(py: Python<'_>, name: &str, version: &str, T: u32, H: u32) -> PyResult<Self> {
        Ok(PySimulator {
            inner: CoreSim::new(name, version, T, H).py(py)?,
        })
    }

    fn add_param(
        &mut self,
        py: Python<'_>,
        name: &str,
        lo: f64,
        hi: f64,
        default: f64,
        unit: &str,
    ) -> PyResult<()> {
        self.inner.add_param(name, lo, hi, default, unit).py(py)
    }

    fn add_shock(&mut self, py: Python<'_>, name: &str, sigma: f64) -> PyResult<()> {
        self.inner.add_shock(name, sigma).py(py)
    }

    fn add_obs(&mut self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.inner.add_obs(name).py(py)
    }

    fn set_reject_reason(&mut self, py: Python<'_>, code: u32, name: &str) -> PyResult<()> {
        self.inner.set_reject_reason(code, name).py(py)
    }

    /// Checks that the description is complete and a valid world.
    fn validate(&self, py: Python<'_>) -> PyResult<()> {
        self.inner.validate().py(py)
    }

    /// The description as recorded in the manifest (`config.engine.simulator`), JSON text.
    fn to_json(&self) -> String {
        self.inner.to_json().to_string()
    }
}

// -------------------------------------------------------------------------- GenOptions

/// How to generate (as `ume_gen_config`); built by `umedata.generate` from its keyword
/// arguments. Every value is checked here or by the engine before anything is written.
#[pyclass(module = "umedata._native", frozen)]
pub struct GenOptions {
    inner: GenerateOptions,
}

#[pymethods]
impl GenOptions {
    #[new]
    #[pyo3(signature = (*, seed=42, n_samples=0, threads=1, resume=false, part=None,
        max_attempts=0, max_samples=None, theta_table=None, design="uniform", split_rule_json=None,
        codec=None, chunk_samples=None, inner_chunk_samples=None, clevel=None,
        checksum=true, durable=true, zarr_format=3, writer_threads=0, overwrite=false,
        dataset_version="1.0.0", provenance_dir=None, config_extra_json=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        seed: u64,
        n_samples: u64,
        threads: usize,
        resume: bool,
        part: Option<(u64, u64)>,
        max_attempts: u32,
        max_samples: Option<u64>,
        theta_table: Option<PyReadonlyArrayDyn<'_, f64>>,
        design: &str,
        split_rule_json: Option<&str>,
        codec: Option<&str>,
        chunk_samples: Option<u64>,
        inner_chunk_samples: Option<u64>,
        clevel: Option<i32>,
        checksum: bool,
        durable: bool,
        zarr_format: u8,
        writer_threads: usize,
        overwrite: bool,
        dataset_version: &str,
        provenance_dir: Option<PathBuf>,
        config_extra_json: Option<&str>,
    ) -> PyResult<Self> {
        let design = match theta_table {
            None => Design::from_name(design).py(py)?,
            Some(t) => {
                if t.ndim() != 2 {
                    return Err(arg_err(
                        py,
                        ErrorKind::LengthMismatch,
                        format!(
                            "theta_table has {} dimensions, expected 2 (n_samples, n_params)",
                            t.ndim()
                        ),
                    ));
                }
                Design::table(t.as_array().iter().copied().collect())
            }
        };
        let split_rule = split_rule_json
            .map(SplitRule::from_json)
            .transpose()
            .py(py)?;
        let config_extra = match config_extra_json {
            None => serde_json::Map::new(),
            Some(text) => match serde_json::from_str(text) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => {
                    return Err(arg_err(
                        py,
                        ErrorKind::InvalidArgument,
                        format!("config_extra_json is {text:?}, expected a JSON object"),
                    ))
                }
            },
        };
        let writer = WriterOptions {
            storage: storage_options(
                py,
                codec,
                chunk_samples,
                inner_chunk_samples,
                clevel,
                checksum,
                durable,
                zarr_format,
            )?,
            threads: writer_threads,
            overwrite,
            ..WriterOptions::default()
        };
        Ok(GenOptions {
            inner: GenerateOptions {
                seed,
                n_samples,
                threads,
                design,
                part,
                resume,
                split_rule,
                writer,
                max_attempts,
                dataset_version: dataset_version.into(),
                provenance_dir,
                max_samples,
                config_extra,
            },
        })
    }
}

// ------------------------------------------------------------- the Python simulate call

/// The callable as the engine's `Simulate`: each call takes the GIL, lends the sample's
/// generator to a fresh `Rng`, hands fresh numpy arrays and copies the accepted result
/// into the engine's buffers. The first failure is kept (with its sample) to be raised by
/// `generate`.
struct PySimulate {
    func: Py<PyAny>,
    desc: WorldDesc,
    /// Reason name -> code, from the simulator's description.
    codes: BTreeMap<String, u32>,
    failure: Mutex<Option<(u64, PyErr)>>,
}

impl PySimulate {
    fn new(func: Py<PyAny>, sim: &CoreSim) -> Self {
        PySimulate {
            func,
            desc: sim.desc(1),
            codes: sim
                .reject_reasons
                .iter()
                .map(|(c, n)| (n.clone(), *c))
                .collect(),
            failure: Mutex::new(None),
        }
    }

    fn outcome(&self, py: Python<'_>, ret: &Bound<'_, PyAny>) -> PyResult<Outcome> {
        if ret.is_none() {
            return Ok(Outcome::Accept);
        }
        let bad = |what: String| -> PyErr {
            arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!("simulate returned {what}, expected None (accept), umedata.Reject(reason) or an int reason code >= 1 (0 accepts)"),
            )
        };
        let code_of = |x: &Bound<'_, PyAny>| -> PyResult<Outcome> {
            if x.is_instance_of::<pyo3::types::PyBool>() {
                return Err(bad(format!("the bool {x}")));
            }
            if let Ok(c) = x.extract::<i64>() {
                return match c {
                    0 => Ok(Outcome::Accept),
                    c if c >= 1 && c <= i64::from(u32::MAX) => Ok(Outcome::Reject(c as u32)),
                    c => Err(bad(c.to_string())),
                };
            }
            if let Ok(name) = x.extract::<String>() {
                return match self.codes.get(&name) {
                    Some(c) => Ok(Outcome::Reject(*c)),
                    None => Err(arg_err(
                        py,
                        ErrorKind::InvalidArgument,
                        format!(
                            "simulate rejected with reason '{name}', which the simulator does not name (its reject_reasons: {}); add it to reject_reasons",
                            if self.codes.is_empty() {
                                "none".to_string()
                            } else {
                                self.codes.keys().cloned().collect::<Vec<_>>().join(", ")
                            }
                        ),
                    )),
                };
            }
            Err(bad(x.repr().map_or_else(|_| "?".into(), |r| r.to_string())))
        };
        if let Ok(r) = ret.downcast::<Reject>() {
            let reason = r.get().reason.bind(py);
            return match code_of(reason)? {
                Outcome::Accept => Err(bad("Reject(0)".into())),
                o => Ok(o),
            };
        }
        if ret.extract::<String>().is_ok() {
            return Err(bad(format!(
                "the string {} (reject with umedata.Reject(name))",
                ret.repr().map_or_else(|_| "?".into(), |r| r.to_string())
            )));
        }
        code_of(ret)
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &self,
        py: Python<'_>,
        sample: u64,
        theta: &[f64],
        rng: &mut SampleRng,
        traj: &mut [f64],
        irfs: &mut [f64],
        shocks: &mut [f64],
    ) -> PyResult<Outcome> {
        let d = &self.desc;
        let (t, h1, o, s) = (
            d.t as usize,
            d.h as usize + 1,
            d.n_obs as usize,
            d.n_shocks as usize,
        );
        let th = PyArray1::from_slice(py, theta);
        th.getattr("flags")?.setattr("writeable", false)?;
        let tr = PyArray2::<f64>::zeros(py, [t, o], false);
        let ir = PyArray3::<f64>::zeros(py, [s, h1, o], false);
        let sh = PyArray2::<f64>::zeros(py, [t, s], false);
        let lent = Bound::new(
            py,
            Rng {
                state: Mutex::new(Some(std::mem::replace(rng, SampleRng::new(0, 0)))),
                lent_for: Some(sample),
            },
        )?;
        let ret = self.func.bind(py).call1((
            sample,
            th,
            lent.clone(),
            tr.clone(),
            ir.clone(),
            sh.clone(),
        ));
        // The stream goes back to the engine whatever happened; the Rng is now empty.
        match lock(&lent.get().state).take() {
            Some(r) => *rng = r,
            None => {
                return Err(py_err(
                    py,
                    Error::new(
                        ErrorKind::Internal,
                        "the lent generator vanished during simulate",
                    ),
                ))
            }
        }
        let outcome = self.outcome(py, &ret?)?;
        if outcome == Outcome::Accept {
            copy_back(py, tr.as_any(), "trajectories", "(T, n_obs)", traj)?;
            copy_back(py, ir.as_any(), "irfs", "(n_shocks, H+1, n_obs)", irfs)?;
            copy_back(py, sh.as_any(), "shocks", "(T, n_shocks)", shocks)?;
        }
        Ok(outcome)
    }
}

/// Copies an array handed to `simulate` into the engine's buffer, checking that the
/// callable left its dtype and size alone (it may have been reshaped or re-viewed).
fn copy_back(
    py: Python<'_>,
    arr: &Bound<'_, PyAny>,
    name: &str,
    dims: &str,
    dst: &mut [f64],
) -> PyResult<()> {
    let a = arr.downcast::<PyArrayDyn<f64>>().map_err(|_| {
        arg_err(
            py,
            ErrorKind::InvalidArgument,
            format!("simulate changed the dtype of {name}, expected float64 {dims}: write into the array, do not re-view it"),
        )
    })?;
    let r = a.try_readonly()?;
    if r.len() != dst.len() {
        return Err(arg_err(
            py,
            ErrorKind::LengthMismatch,
            format!(
                "simulate changed the size of {name} to {} values, expected {} = {dims}",
                r.len(),
                dst.len()
            ),
        ));
    }
    match r.as_slice() {
        Ok(s) => dst.copy_from_slice(s),
        Err(_) => dst
            .iter_mut()
            .zip(r.as_array().iter())
            .for_each(|(d, x)| *d = *x),
    }
    Ok(())
}

impl Simulate for PySimulate {
    fn simulate(
        &self,
        sample: u64,
        theta: &[f64],
        rng: &mut SampleRng,
        traj: &mut [f64],
        irfs: &mut [f64],
        shocks: &mut [f64],
    ) -> umedata::Result<Outcome> {
        Python::with_gil(|py| {
            self.call(py, sample, theta, rng, traj, irfs, shocks)
                .map_err(|e| {
                    let msg = format!("the Python simulator raised {e}");
                    lock(&self.failure).get_or_insert((sample, e));
                    Error::new(ErrorKind::InvalidArgument, msg)
                })
        })
    }
}

// ------------------------------------------------------------------------------- runs

fn report_dict<'py>(
    py: Python<'py>,
    r: &Report,
    sim: &CoreSim,
    path: &Path,
) -> PyResult<Bound<'py, PyDict>> {
    let d = summary_dict(py, &r.summary, path, &sim.name)?;
    d.set_item("written", r.written)?;
    d.set_item("already", r.already)?;
    d.set_item("missing", r.missing)?;
    d.set_item("stopped", r.stopped)?;
    let named = PyDict::new(py);
    let coded = PyDict::new(py);
    for (c, k) in &r.rejections {
        let name = sim
            .reject_reasons
            .get(c)
            .cloned()
            .unwrap_or_else(|| c.to_string());
        named.set_item(name, k)?;
        coded.set_item(c, k)?;
    }
    d.set_item("rejections", named)?;
    d.set_item("rejections_by_code", coded)?;
    d.set_item("rejected", r.rejections.values().sum::<u64>())?;
    Ok(d)
}

/// The exception `generate` raises for a failed simulate call: a `SimulationError` naming
/// the sample, caused by the original (an exception that is not an `Exception`, such as
/// `KeyboardInterrupt`, is raised as it is).
fn simulation_error(py: Python<'_>, sample: u64, cause: PyErr) -> PyErr {
    if !cause.is_instance_of::<PyException>(py) {
        return cause;
    }
    let msg = format!(
        "sample {sample}: simulate failed: {cause}; what was stored stays stored (call generate again with resume=True to continue)"
    );
    let e = SimulationError::new_err(msg.clone());
    let v = e.value(py);
    let _ = v.setattr("status", crate::status_of(ErrorKind::InvalidArgument));
    let _ = v.setattr("kind", "InvalidArgument");
    let _ = v.setattr("message", msg);
    let _ = v.setattr("sample", sample);
    e.set_cause(py, Some(cause));
    e
}

/// Runs the engine: generates what `opts` asks for with the Python callable `simulate`
/// (see `umedata.generate`); returns the summary as a dict.
#[pyfunction]
#[pyo3(signature = (path, sim, simulate, opts, progress=None))]
pub fn generate<'py>(
    py: Python<'py>,
    path: PathBuf,
    sim: PyRef<'py, PySimulator>,
    simulate: Py<PyAny>,
    opts: PyRef<'py, GenOptions>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    if !simulate.bind(py).is_callable() {
        return Err(arg_err(
            py,
            ErrorKind::InvalidArgument,
            "simulate is not callable, expected simulate(i, theta, rng, trajectories, irfs, shocks)".into(),
        ));
    }
    let core_sim = sim.inner.clone();
    let gen_opts = opts.inner.clone();
    let pysim = PySimulate::new(simulate, &core_sim);
    let interrupted = AtomicBool::new(false);
    let progress_failure: Mutex<Option<PyErr>> = Mutex::new(None);
    let mut on_progress = |p: Progress| -> bool {
        if interrupted.load(Ordering::SeqCst) {
            return true;
        }
        let Some(f) = &progress else { return false };
        Python::with_gil(|py| {
            match f
                .bind(py)
                .call1((p.done, p.total, p.rate))
                .and_then(|r| r.is_truthy())
            {
                Ok(stop) => stop,
                Err(e) => {
                    lock(&progress_failure).get_or_insert(e);
                    true
                }
            }
        })
    };
    let (tx, rx) = mpsc::channel();
    let mut interrupt: Option<PyErr> = None;
    let result = std::thread::scope(|s| {
        let (path, core_sim, gen_opts, pysim) = (&path, &core_sim, &gen_opts, &pysim);
        let on_progress = &mut on_progress;
        s.spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine::generate(path, core_sim, pysim, gen_opts, Some(on_progress))
            }))
            .unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Internal,
                    "the generation engine panicked",
                ))
            });
            let _ = tx.send(r);
        });
        let mut rx = rx;
        loop {
            // (the receiver is not Sync: it goes into the GIL-free wait and comes back)
            let (got, back) = py.allow_threads(move || {
                let got = rx.recv_timeout(Duration::from_millis(50));
                (got, rx)
            });
            rx = back;
            match got {
                Ok(r) => break r,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if interrupt.is_none() {
                        if let Err(e) = py.check_signals() {
                            interrupted.store(true, Ordering::SeqCst);
                            interrupt = Some(e);
                        }
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    break Err(Error::new(
                        ErrorKind::Internal,
                        "the generation engine ended without a result",
                    ))
                }
            }
        }
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    if let Some((sample, e)) = lock(&pysim.failure).take() {
        return Err(simulation_error(py, sample, e));
    }
    if let Some(e) = lock(&progress_failure).take() {
        return Err(e);
    }
    let report = result.py(py)?;
    report_dict(py, &report, &core_sim, &path)
}

/// Creates the world and its manifest, no sample (the first step of a run in parts).
#[pyfunction]
pub fn prepare(
    py: Python<'_>,
    path: PathBuf,
    sim: PyRef<'_, PySimulator>,
    opts: PyRef<'_, GenOptions>,
) -> PyResult<()> {
    let (s, o) = (&sim.inner, &opts.inner);
    py.allow_threads(|| engine::prepare(&path, s, o)).py(py)
}

/// After every part returned: rejections, splits and the final manifest; returns the
/// writer's summary (whole world) as a dict.
#[pyfunction]
pub fn finish<'py>(
    py: Python<'py>,
    path: PathBuf,
    sim: PyRef<'py, PySimulator>,
    opts: PyRef<'py, GenOptions>,
) -> PyResult<Bound<'py, PyDict>> {
    let (s, o) = (&sim.inner, &opts.inner);
    let summary: Summary = py.allow_threads(|| engine::finish(&path, s, o)).py(py)?;
    summary_dict(py, &summary, &path, &s.name)
}

/// `validate` with re-simulation through a Python simulator: `reproduce` written samples
/// are simulated again by `simulate` and compared bit for bit. JSON text of the report.
#[pyfunction]
#[pyo3(signature = (dataset, sim, simulate, reproduce, reproduce_seed=0, threads=0))]
pub fn validate_with(
    py: Python<'_>,
    dataset: PathBuf,
    sim: PyRef<'_, PySimulator>,
    simulate: Py<PyAny>,
    reproduce: u64,
    reproduce_seed: u64,
    threads: usize,
) -> PyResult<String> {
    let core_sim = sim.inner.clone();
    let pysim = PySimulate::new(simulate, &core_sim);
    let opts = ValidateOptions {
        reproduce,
        reproduce_seed,
        threads,
    };
    let ext = External {
        sim: &core_sim,
        simulate: &pysim,
        sha256: None,
        label: format!("Python simulator '{}'", core_sim.name),
    };
    let r = py.allow_threads(|| core_validate_with(&dataset, &opts, Some(&ext)));
    if let Some((sample, e)) = lock(&pysim.failure).take() {
        return Err(simulation_error(py, sample, e));
    }
    r.map(|r| r.to_json()).py(py)
}
