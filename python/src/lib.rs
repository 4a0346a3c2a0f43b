//! `umedata._native`: the Python face of umedata (PyO3 + numpy), over the same safe Rust
//! core the C ABI uses. This module only converts arguments (numpy arrays in and out),
//! releases the GIL around every call into the core that reads, writes, compresses or
//! decodes, and maps core errors to `umedata.UmedataError` (with `.status`, the C status
//! code, and `.kind`). The pure-Python layer (python/umedata/) adds the dataset view,
//! mini-batches and the prototype's API.

use std::borrow::Cow;
use std::path::PathBuf;

use numpy::{
    Element, PyArray1, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use umedata::ffi::status::ume_status;
use umedata::manifest::Manifest;
use umedata::splits::{SplitRule, Splits};
use umedata::validate::{validate as validate_dataset, ValidateOptions};
use umedata::world::ArrayKind;
use umedata::{
    Codec, Error, ErrorKind, Float, Layout, Reader as CoreReader, SampleRef, SeedDerivation,
    StorageOptions, Summary, WorldDesc, Writer as CoreWriter, WriterOptions,
};

mod engine;

pyo3::create_exception!(
    umedata,
    UmedataError,
    PyException,
    "An error of umedata: `.status` is the C status code (7001-7099, as ume_status), `.kind` its name, `.message` the text."
);

/// The C status code of an error kind.
fn status_of(kind: ErrorKind) -> i32 {
    ume_status::from(kind) as i32
}

/// Converts a core error into `UmedataError` carrying status, kind and message.
fn py_err(py: Python<'_>, e: Error) -> PyErr {
    let status = status_of(e.kind());
    let err = UmedataError::new_err(e.message().to_string());
    let v = err.value(py);
    let _ = v.setattr("status", status);
    let _ = v.setattr("kind", format!("{:?}", e.kind()));
    let _ = v.setattr("message", e.message().to_string());
    err
}

/// An argument error raised before the core is called (same exception class).
fn arg_err(py: Python<'_>, kind: ErrorKind, message: String) -> PyErr {
    py_err(py, Error::new(kind, message))
}

trait PyResultExt<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> PyResultExt<T> for umedata::Result<T> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| py_err(py, e))
    }
}

/// A numpy array of float64 or float32 (anything else is converted to float64 by numpy).
enum Arr<'py> {
    F64(PyReadonlyArrayDyn<'py, f64>),
    F32(PyReadonlyArrayDyn<'py, f32>),
}

impl<'py> Arr<'py> {
    fn new(py: Python<'py>, x: &Bound<'py, PyAny>, name: &str) -> PyResult<Self> {
        if let Ok(a) = x.downcast::<PyArrayDyn<f64>>() {
            return Ok(Arr::F64(a.try_readonly()?));
        }
        if let Ok(a) = x.downcast::<PyArrayDyn<f32>>() {
            return Ok(Arr::F32(a.try_readonly()?));
        }
        // ints, float16, lists, ...: numpy converts (an unconvertible value raises there);
        // complex numbers would lose their imaginary part: refused
        if let Ok(kind) = x
            .getattr("dtype")
            .and_then(|d| d.getattr("kind"))
            .and_then(|k| k.extract::<String>())
        {
            if kind == "c" {
                return Err(arg_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("{name} is complex, expected real numbers (float or int)"),
                ));
            }
        }
        let np = py.import("numpy")?;
        let a = np.call_method1("asarray", (x, "float64")).map_err(|e| {
            arg_err(
                py,
                ErrorKind::InvalidArgument,
                format!("{name} is not convertible to a float array: {e}"),
            )
        })?;
        Ok(Arr::F64(a.downcast::<PyArrayDyn<f64>>()?.try_readonly()?))
    }

    fn shape(&self) -> &[usize] {
        match self {
            Arr::F64(a) => a.shape(),
            Arr::F32(a) => a.shape(),
        }
    }

    fn is_f32(&self) -> bool {
        matches!(self, Arr::F32(_))
    }

    /// C-contiguous, Fortran-contiguous (both for 1-d) or neither.
    fn orders(&self) -> (bool, bool) {
        match self {
            Arr::F64(a) => (a.is_c_contiguous(), a.is_fortran_contiguous()),
            Arr::F32(a) => (a.is_c_contiguous(), a.is_fortran_contiguous()),
        }
    }

    /// The elements as float64: borrowed when already float64 and `memory_order` (the
    /// array is contiguous in the layout of the call), else copied (in C order when not
    /// `memory_order`).
    fn data_f64(&self, memory_order: bool) -> Cow<'_, [f64]> {
        match self {
            Arr::F64(a) => match a.as_slice() {
                Ok(s) if memory_order => Cow::Borrowed(s),
                _ => Cow::Owned(a.as_array().iter().copied().collect()),
            },
            Arr::F32(a) => match a.as_slice() {
                Ok(s) if memory_order => Cow::Owned(s.iter().map(|&x| f64::from(x)).collect()),
                _ => Cow::Owned(a.as_array().iter().map(|&x| f64::from(x)).collect()),
            },
        }
    }

    /// The elements of a float32 array, as [`Self::data_f64`].
    fn data_f32(&self, memory_order: bool) -> Cow<'_, [f32]> {
        match self {
            Arr::F32(a) => match a.as_slice() {
                Ok(s) if memory_order => Cow::Borrowed(s),
                _ => Cow::Owned(a.as_array().iter().copied().collect()),
            },
            // only called when every array is float32
            Arr::F64(a) => Cow::Owned(a.as_array().iter().map(|&x| x as f32).collect()),
        }
    }
}

fn shape_str(s: &[usize]) -> String {
    let parts: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Expected per-sample shapes with their names, e.g. `(T, n_obs)`.
fn expected_shape(desc: &WorldDesc, kind: ArrayKind) -> (Vec<usize>, &'static str) {
    let names = match kind {
        ArrayKind::Theta => "(n_params,)",
        ArrayKind::Trajectories => "(T, n_obs)",
        ArrayKind::Irfs => "(n_shocks, H+1, n_obs)",
        ArrayKind::Shocks => "(T, n_shocks)",
    };
    (desc.sample_dims(kind), names)
}

fn check_shape(
    py: Python<'_>,
    desc: &WorldDesc,
    kind: ArrayKind,
    got: &[usize],
    lead: Option<usize>,
) -> PyResult<()> {
    let (mut want, names) = expected_shape(desc, kind);
    let mut names = names.to_string();
    if let Some(n) = lead {
        want.insert(0, n);
        names = format!("(n, {}", &names[1..]).replace(",)", ")");
    }
    if got != want.as_slice() {
        return Err(arg_err(
            py,
            ErrorKind::LengthMismatch,
            format!(
                "{} has shape {}, expected {} = {names}",
                kind.name(),
                shape_str(got),
                shape_str(&want)
            ),
        ));
    }
    Ok(())
}

/// The four arrays of one call, checked against the world's shapes; their common dtype
/// and memory order (Fortran only when all four are Fortran-contiguous and not all
/// C-contiguous; otherwise C, and arrays not C-contiguous are copied).
struct Four<'py> {
    arrs: Vec<Arr<'py>>,
    f32: bool,
    layout: Layout,
}

impl<'py> Four<'py> {
    fn new(
        py: Python<'py>,
        desc: &WorldDesc,
        xs: [&Bound<'py, PyAny>; 4],
        lead: Option<usize>,
    ) -> PyResult<Self> {
        let mut arrs = Vec::with_capacity(4);
        for (k, x) in ArrayKind::ALL.iter().zip(xs) {
            let a = Arr::new(py, x, k.name())?;
            check_shape(py, desc, *k, a.shape(), lead)?;
            arrs.push(a);
        }
        let f32 = arrs.iter().all(Arr::is_f32);
        let all_c = arrs.iter().all(|a| a.orders().0);
        // Stacked batches are taken sample by sample: only C order keeps a sample contiguous.
        let all_f = lead.is_none() && arrs.iter().all(|a| a.orders().1);
        let layout = if !all_c && all_f {
            Layout::F
        } else {
            Layout::C
        };
        Ok(Four { arrs, f32, layout })
    }

    /// Whether array `a` is contiguous in the call's layout (else it is copied in C
    /// order, and the layout is C).
    fn memory_order(&self, a: &Arr<'_>) -> bool {
        let (c, f) = a.orders();
        match self.layout {
            Layout::C => c,
            Layout::F => f,
        }
    }

    fn data_f64(&self) -> [Cow<'_, [f64]>; 4] {
        let a = &self.arrs;
        let m = |i: usize| self.memory_order(&a[i]);
        [
            a[0].data_f64(m(0)),
            a[1].data_f64(m(1)),
            a[2].data_f64(m(2)),
            a[3].data_f64(m(3)),
        ]
    }

    fn data_f32(&self) -> [Cow<'_, [f32]>; 4] {
        let a = &self.arrs;
        let m = |i: usize| self.memory_order(&a[i]);
        [
            a[0].data_f32(m(0)),
            a[1].data_f32(m(1)),
            a[2].data_f32(m(2)),
            a[3].data_f32(m(3)),
        ]
    }
}

/// Sample ids from an int or a sequence / numpy array of ints.
fn ids_from(py: Python<'_>, x: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u64>> {
    if let Ok(a) = x.downcast::<PyArrayDyn<u64>>() {
        return Ok(a.try_readonly()?.as_array().iter().copied().collect());
    }
    let np = py.import("numpy")?;
    let a = np.call_method1("asarray", (x,))?;
    let kind: String = a.getattr("dtype")?.getattr("kind")?.extract()?;
    if kind != "i" && kind != "u" {
        return Err(arg_err(
            py,
            ErrorKind::InvalidArgument,
            format!("{what} must be integers, got an array of dtype kind '{kind}'"),
        ));
    }
    let a = a.call_method1("astype", ("int64",))?;
    let a = a.downcast::<PyArrayDyn<i64>>()?.try_readonly()?;
    a.as_array()
        .iter()
        .map(|&i| {
            u64::try_from(i).map_err(|_| {
                arg_err(
                    py,
                    ErrorKind::OutOfRange,
                    format!("{what} holds {i}, expected sample indices >= 0"),
                )
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------ Writer

/// Writes one world of a dataset. Thread-safe: any number of Python threads may call
/// `write_sample` at once (the GIL is released while a sample is converted and stored).
#[pyclass(module = "umedata._native", frozen)]
struct Writer {
    inner: CoreWriter,
    path: PathBuf,
    allow_nonfinite: bool,
}

fn codec_named(py: Python<'_>, name: &str) -> PyResult<Codec> {
    Codec::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Codec::ALL.iter().map(|c| c.name()).collect();
        arg_err(
            py,
            ErrorKind::InvalidArgument,
            format!(
                "codec '{name}' is not known (expected one of {})",
                names.join(", ")
            ),
        )
    })
}

/// The storage options of a writer (the `Writer` and `generate` keywords); an unknown codec
/// name is an error naming the known ones.
#[allow(clippy::too_many_arguments)]
pub(crate) fn storage_options(
    py: Python<'_>,
    codec: Option<&str>,
    chunk_samples: Option<u64>,
    inner_chunk_samples: Option<u64>,
    clevel: Option<i32>,
    checksum: bool,
    durable: bool,
    zarr_format: u8,
) -> PyResult<StorageOptions> {
    Ok(StorageOptions {
        codec: match codec {
            Some(c) => codec_named(py, c)?,
            None => StorageOptions::default().codec,
        },
        chunk_samples,
        inner_chunk_samples,
        clevel,
        checksum,
        durable,
        zarr_format,
    })
}

#[pymethods]
impl Writer {
    /// Creates world `world_id` in the dataset at `path` (or, with `resume=True`, opens
    /// the existing world to write its missing samples).
    #[new]
    #[pyo3(signature = (path, world_id, n_samples, T, H, n_params, n_shocks, n_obs,
        param_names=None, shock_names=None, obs_names=None, *, codec=None,
        chunk_samples=None, inner_chunk_samples=None, clevel=None, checksum=true,
        durable=true, zarr_format=3, threads=0, overwrite=false, allow_nonfinite=false,
        rewrite=false, resume=false))]
    #[allow(non_snake_case, clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        world_id: &str,
        n_samples: u64,
        T: u32,
        H: u32,
        n_params: u32,
        n_shocks: u32,
        n_obs: u32,
        param_names: Option<Vec<String>>,
        shock_names: Option<Vec<String>>,
        obs_names: Option<Vec<String>>,
        codec: Option<&str>,
        chunk_samples: Option<u64>,
        inner_chunk_samples: Option<u64>,
        clevel: Option<i32>,
        checksum: bool,
        durable: bool,
        zarr_format: u8,
        threads: usize,
        overwrite: bool,
        allow_nonfinite: bool,
        rewrite: bool,
        resume: bool,
    ) -> PyResult<Self> {
        let mut desc = WorldDesc::new(world_id, n_samples, T, H, n_params, n_shocks, n_obs);
        if let Some(n) = param_names {
            desc.param_names = n;
        }
        if let Some(n) = shock_names {
            desc.shock_names = n;
        }
        if let Some(n) = obs_names {
            desc.obs_names = n;
        }
        let opts = WriterOptions {
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
            threads,
            overwrite,
            allow_nonfinite,
            rewrite,
            ..WriterOptions::default()
        };
        let p = path.clone();
        let inner = py
            .allow_threads(move || {
                if resume && p.join(world_id).exists() {
                    let w = CoreWriter::open(&p, world_id, &opts)?;
                    let d = w.desc();
                    let same = (d.n_samples, d.t, d.h, d.n_params, d.n_shocks, d.n_obs)
                        == (desc.n_samples, desc.t, desc.h, desc.n_params, desc.n_shocks, desc.n_obs);
                    if !same {
                        return Err(Error::new(
                            ErrorKind::InvalidArgument,
                            format!(
                                "resume: world '{world_id}' on disk has n_samples={} T={} H={} n_params={} n_shocks={} n_obs={}, the arguments say n_samples={} T={} H={} n_params={} n_shocks={} n_obs={}",
                                d.n_samples, d.t, d.h, d.n_params, d.n_shocks, d.n_obs,
                                desc.n_samples, desc.t, desc.h, desc.n_params, desc.n_shocks, desc.n_obs
                            ),
                        ));
                    }
                    Ok(w)
                } else {
                    CoreWriter::create(&p, &desc, &opts)
                }
            })
            .py(py)?;
        Ok(Writer {
            inner,
            path,
            allow_nonfinite,
        })
    }

    /// Stores sample `i` from four arrays of the world's per-sample shapes: theta
    /// `(n_params,)`, trajectories `(T, n_obs)`, irfs `(n_shocks, H+1, n_obs)`, shocks
    /// `(T, n_shocks)`; any float (or int) dtype, C or Fortran order, or any strides.
    fn write_sample(
        &self,
        py: Python<'_>,
        i: i64,
        theta: &Bound<'_, PyAny>,
        trajectories: &Bound<'_, PyAny>,
        irfs: &Bound<'_, PyAny>,
        shocks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let n = self.inner.desc().n_samples;
        let i = u64::try_from(i).map_err(|_| {
            arg_err(
                py,
                ErrorKind::OutOfRange,
                format!("sample index {i} out of range [0, {n})"),
            )
        })?;
        let four = Four::new(
            py,
            self.inner.desc(),
            [theta, trajectories, irfs, shocks],
            None,
        )?;
        let w = &self.inner;
        if four.f32 {
            let [a, b, c, d] = four.data_f32();
            let s = SampleRef {
                theta: &a,
                trajectories: &b,
                irfs: &c,
                shocks: &d,
            };
            py.allow_threads(|| w.write_sample(i, four.layout, s))
                .py(py)
        } else {
            let [a, b, c, d] = four.data_f64();
            let s = SampleRef {
                theta: &a,
                trajectories: &b,
                irfs: &c,
                shocks: &d,
            };
            py.allow_threads(|| w.write_sample(i, four.layout, s))
                .py(py)
        }
    }

    /// Stores a batch: `start` (an int: samples start, start+1, ...) or a sequence of
    /// sample ids, and the four arrays stacked along a first axis of the batch length.
    /// Ids (in range, no repeats) and, unless non-finite values are allowed, every value
    /// are checked before anything is stored; an error of the store itself (a sample
    /// already written, I/O) stops the batch and the message says how many were stored.
    fn write_samples(
        &self,
        py: Python<'_>,
        start: &Bound<'_, PyAny>,
        theta: &Bound<'_, PyAny>,
        trajectories: &Bound<'_, PyAny>,
        irfs: &Bound<'_, PyAny>,
        shocks: &Bound<'_, PyAny>,
    ) -> PyResult<u64> {
        let desc = self.inner.desc();
        let n = desc.n_samples;
        let first = Arr::new(py, theta, "theta")?;
        let m = first.shape().first().copied().unwrap_or(0);
        drop(first);
        let ids: Vec<u64> = if let Ok(s) = start.extract::<i64>() {
            let s = u64::try_from(s).map_err(|_| {
                arg_err(
                    py,
                    ErrorKind::OutOfRange,
                    format!("start {s} out of range [0, {n})"),
                )
            })?;
            if s.checked_add(m as u64).is_none_or(|e| e > n) {
                return Err(arg_err(
                    py,
                    ErrorKind::OutOfRange,
                    format!("sample range [{s}, {s}+{m}) out of range [0, {n})"),
                ));
            }
            (s..s + m as u64).collect()
        } else {
            ids_from(py, start, "indices")?
        };
        if ids.len() != m {
            return Err(arg_err(
                py,
                ErrorKind::LengthMismatch,
                format!(
                    "indices has {} entries, the stacked arrays {m} samples",
                    ids.len()
                ),
            ));
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for (j, &i) in ids.iter().enumerate() {
            if i >= n {
                return Err(arg_err(
                    py,
                    ErrorKind::OutOfRange,
                    format!("sample index {i} (indices[{j}]) out of range [0, {n})"),
                ));
            }
            if !seen.insert(i) {
                return Err(arg_err(
                    py,
                    ErrorKind::InvalidArgument,
                    format!("sample index {i} appears twice in indices (indices[{j}])"),
                ));
            }
        }
        let four = Four::new(py, desc, [theta, trajectories, irfs, shocks], Some(m))?;
        let lens: Vec<usize> = ArrayKind::ALL.iter().map(|k| desc.sample_len(*k)).collect();
        let w = &self.inner;
        let check_finite = !self.allow_nonfinite;
        fn run<T: Float + Sync>(
            w: &CoreWriter,
            ids: &[u64],
            data: &[Cow<'_, [T]>; 4],
            lens: &[usize],
            check_finite: bool,
        ) -> umedata::Result<u64> {
            let part = |a: usize, j: usize| &data[a][j * lens[a]..(j + 1) * lens[a]];
            if check_finite {
                // The first sample holding a value float32 cannot store (NaN, infinity, a
                // double beyond its range): the core refuses it with its own message and
                // stores nothing, and nothing of the batch was stored before it.
                let bad = (0..ids.len())
                    .find(|&j| (0..4).any(|a| part(a, j).iter().any(|x| !x.to_f32().is_finite())));
                if let Some(j) = bad {
                    let s = SampleRef {
                        theta: part(0, j),
                        trajectories: part(1, j),
                        irfs: part(2, j),
                        shocks: part(3, j),
                    };
                    w.write_sample(ids[j], Layout::C, s)?;
                    return Err(Error::new(
                        ErrorKind::Internal,
                        format!(
                            "sample {} holds a non-finite value but was accepted",
                            ids[j]
                        ),
                    ));
                }
            }
            for (j, &i) in ids.iter().enumerate() {
                let part = |a: usize| part(a, j);
                let s = SampleRef {
                    theta: part(0),
                    trajectories: part(1),
                    irfs: part(2),
                    shocks: part(3),
                };
                w.write_sample(i, Layout::C, s).map_err(|e| {
                    Error::new(
                        e.kind(),
                        format!(
                            "{} (samples stored by this call before it: {j})",
                            e.message()
                        ),
                    )
                })?;
            }
            Ok(ids.len() as u64)
        }
        if four.f32 {
            let data = four.data_f32();
            py.allow_threads(|| run(w, &ids, &data, &lens, check_finite))
                .py(py)
        } else {
            let data = four.data_f64();
            py.allow_threads(|| run(w, &ids, &data, &lens, check_finite))
                .py(py)
        }
    }

    /// Stores what is buffered and returns the summary as a dict: n_samples,
    /// samples_written, chunks_stored_early, arrays {name: {raw_bytes, stored_bytes,
    /// ratio}}. Calling it twice raises (status UME_ERR_FINALIZED).
    fn finalize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let w = &self.inner;
        let s = py.allow_threads(|| w.finalize()).py(py)?;
        summary_dict(py, &s, &self.path, &w.desc().world_id)
    }

    /// How many samples are neither stored nor buffered.
    fn missing_count(&self, py: Python<'_>) -> PyResult<u64> {
        let w = &self.inner;
        py.allow_threads(|| w.missing_count()).py(py)
    }

    /// Up to `max` missing sample ids `>= start`, ascending (to resume a generation).
    #[pyo3(signature = (start=0, max=1 << 20))]
    fn missing<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        max: usize,
    ) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let w = &self.inner;
        let v = py.allow_threads(|| w.missing(start, max)).py(py)?;
        Ok(PyArray1::from_vec(py, v))
    }

    #[getter]
    fn n_samples(&self) -> u64 {
        self.inner.desc().n_samples
    }

    #[getter]
    fn chunk_samples(&self) -> u64 {
        self.inner.chunk_samples()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Finalizes on leaving a `with` block (also after an exception: what was written
    /// is kept); an exception in the block is never hidden by one of finalize.
    fn __exit__(
        &self,
        py: Python<'_>,
        exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let w = &self.inner;
        let r = py.allow_threads(|| w.finalize());
        match r {
            Ok(_) => Ok(false),
            Err(e) if e.kind() == ErrorKind::Finalized => Ok(false),
            Err(e) if exc_type.is_none() => Err(py_err(py, e)),
            Err(_) => Ok(false),
        }
    }
}

/// A writer's summary as a dict: n_samples, samples_written, chunks_stored_early, arrays
/// {name: {raw_bytes, stored_bytes, ratio}}, path, world_id.
fn summary_dict<'py>(
    py: Python<'py>,
    s: &Summary,
    path: &std::path::Path,
    world_id: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("n_samples", s.n_samples)?;
    d.set_item("samples_written", s.samples_written)?;
    d.set_item("chunks_stored_early", s.chunks_stored_early)?;
    let arrays = PyDict::new(py);
    for (k, a) in ArrayKind::ALL.iter().zip(s.arrays.iter()) {
        let x = PyDict::new(py);
        x.set_item("raw_bytes", a.raw_bytes)?;
        x.set_item("stored_bytes", a.stored_bytes)?;
        x.set_item("ratio", a.ratio)?;
        arrays.set_item(k.name(), x)?;
    }
    d.set_item("arrays", arrays)?;
    d.set_item("path", path)?;
    d.set_item("world_id", world_id)?;
    Ok(d)
}

// ------------------------------------------------------------------------------ Reader

/// Reads one world. Thread-safe: share it between Python threads; reads release the GIL.
#[pyclass(module = "umedata._native", frozen)]
struct Reader {
    inner: CoreReader,
}

fn new_out<T: Element + Float>(len: usize) -> Vec<T> {
    vec![T::from_f64(0.0); len]
}

#[pymethods]
impl Reader {
    #[new]
    fn new(py: Python<'_>, path: PathBuf, world_id: String) -> PyResult<Self> {
        let inner = py
            .allow_threads(|| CoreReader::open(&path, &world_id))
            .py(py)?;
        Ok(Reader { inner })
    }

    /// Dimensions and names as a dict (world_id, n_samples, T, H, n_params, n_shocks,
    /// n_obs, param_names, shock_names, obs_names, chunk_samples, inner_chunk_samples,
    /// codec).
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = self.inner.desc();
        let x = PyDict::new(py);
        x.set_item("world_id", d.world_id.clone())?;
        x.set_item("n_samples", d.n_samples)?;
        x.set_item("T", d.t)?;
        x.set_item("H", d.h)?;
        x.set_item("n_params", d.n_params)?;
        x.set_item("n_shocks", d.n_shocks)?;
        x.set_item("n_obs", d.n_obs)?;
        x.set_item("param_names", d.param_names.clone())?;
        x.set_item("shock_names", d.shock_names.clone())?;
        x.set_item("obs_names", d.obs_names.clone())?;
        x.set_item("chunk_samples", self.inner.chunk_samples())?;
        x.set_item("inner_chunk_samples", self.inner.inner_chunk_samples())?;
        x.set_item("codec", self.inner.codec().to_string())?;
        Ok(x)
    }

    /// Samples `ids` (an int sequence or array; any order, repeats allowed) as four
    /// arrays stacked along a first axis, C order, float32 (exact) or float64. Each inner
    /// chunk is decoded once, on `threads` threads (0 = automatic: one per core, this
    /// thread alone for a read that decodes less than about 1 MB), GIL released.
    #[pyo3(signature = (ids, float64=false, threads=0))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        float64: bool,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let ids = ids_from(py, ids, "ids")?;
        if float64 {
            self.read_ids::<f64>(py, &ids, threads)
        } else {
            self.read_ids::<f32>(py, &ids, threads)
        }
    }

    /// Samples `[start, start + count)`, as `read`; the chunks of a long range are
    /// decoded on `threads` threads (0 = automatic: one per core, this thread alone for
    /// a read that decodes less than about 1 MB), GIL released.
    #[pyo3(signature = (start, count, float64=false, threads=0))]
    fn read_range<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        count: u64,
        float64: bool,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        if float64 {
            self.range::<f64>(py, start, count, threads)
        } else {
            self.range::<f32>(py, start, count, threads)
        }
    }

    /// Number of stored samples.
    fn samples_written(&self, py: Python<'_>) -> PyResult<u64> {
        let r = &self.inner;
        py.allow_threads(|| r.samples_written()).py(py)
    }

    /// The `written` mask of the whole world as a uint8 array.
    fn mask<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let r = &self.inner;
        let n = r.desc().n_samples;
        let v = py.allow_threads(|| r.mask(0, n)).py(py)?;
        Ok(PyArray1::from_vec(py, v))
    }

    /// The stored split codes (`<world>/split`), one uint8 per sample.
    fn split_assignment<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let r = &self.inner;
        let v = py
            .allow_threads(|| Splits::load_assignment(r.world()))
            .py(py)?;
        Ok(PyArray1::from_vec(py, v))
    }
}

impl Reader {
    fn arrays<'py, T: Element + Float>(
        &self,
        py: Python<'py>,
        bufs: Vec<Vec<T>>,
        count: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let desc = self.inner.desc();
        let out = PyList::empty(py);
        for (k, b) in ArrayKind::ALL.iter().zip(bufs) {
            let mut shape = vec![count];
            shape.extend(desc.sample_dims(*k));
            out.append(PyArray1::from_vec(py, b).reshape(shape)?)?;
        }
        Ok(out)
    }

    fn read_ids<'py, T: Element + Float + Send>(
        &self,
        py: Python<'py>,
        ids: &[u64],
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let desc = self.inner.desc();
        let mut bufs: Vec<Vec<T>> = ArrayKind::ALL
            .iter()
            .map(|k| new_out(desc.sample_len(*k) * ids.len()))
            .collect();
        let r = &self.inner;
        py.allow_threads(|| {
            let [a, b, c, d] = &mut bufs[..] else {
                unreachable!()
            };
            r.read_samples(
                ids,
                Layout::C,
                [Some(a), Some(b), Some(c), Some(d)],
                threads,
            )
        })
        .py(py)?;
        self.arrays(py, bufs, ids.len())
    }

    fn range<'py, T: Element + Float + Send>(
        &self,
        py: Python<'py>,
        start: u64,
        count: u64,
        threads: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let r = &self.inner;
        r.check_range(start, count).py(py)?;
        let desc = r.desc();
        let mut bufs: Vec<Vec<T>> = ArrayKind::ALL
            .iter()
            .map(|k| new_out(desc.sample_len(*k) * count as usize))
            .collect();
        py.allow_threads(|| {
            let [a, b, c, d] = &mut bufs[..] else {
                unreachable!()
            };
            r.read_range_threads(
                start,
                count,
                Layout::C,
                [Some(a), Some(b), Some(c), Some(d)],
                threads,
            )
        })
        .py(py)?;
        self.arrays(py, bufs, count as usize)
    }
}

// ---------------------------------------------------------------------------- Manifest

/// Writes `<dataset>/manifest.json` for the given worlds (each recorded from the disk,
/// with units, bounds, defaults, shock sigma and canonical observables when given) and
/// computes, stores and records splits when `splits` (train, val, test, seed) or
/// `split_rule_json` (a whole rule, with out-of-distribution hold-outs; see
/// `umedata::splits`) is given. Validated on save. Returns the path.
#[pyfunction]
#[pyo3(signature = (dataset, version, global_seed, worlds, splits=None, config_json=None,
    split_rule_json=None))]
#[allow(clippy::too_many_arguments)]
fn write_manifest(
    py: Python<'_>,
    dataset: PathBuf,
    version: &str,
    global_seed: u64,
    worlds: Vec<Bound<'_, PyDict>>,
    splits: Option<(f64, f64, f64, u64)>,
    config_json: Option<String>,
    split_rule_json: Option<String>,
) -> PyResult<PathBuf> {
    let rule = match (splits, split_rule_json) {
        (Some(_), Some(_)) => {
            return Err(arg_err(
                py,
                ErrorKind::InvalidArgument,
                "give splits (train, val, test, seed) or split_rule_json, not both".into(),
            ))
        }
        (Some((train, val, test, seed)), None) => Some(SplitRule::standard(train, val, test, seed)),
        (None, Some(text)) => Some(SplitRule::from_json(&text).py(py)?),
        (None, None) => None,
    };
    struct W {
        id: String,
        units: Option<Vec<String>>,
        bounds: Option<Vec<[f64; 2]>>,
        defaults: Option<Vec<f64>>,
        sigma: Option<Vec<f64>>,
        n_canonical: Option<u32>,
    }
    fn get<'py>(d: &Bound<'py, PyDict>, k: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(d.get_item(k)?.filter(|v| !v.is_none()))
    }
    let mut ws = Vec::new();
    for d in &worlds {
        ws.push(W {
            id: get(d, "world_id")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or_default(),
            units: get(d, "units")?.map(|v| v.extract()).transpose()?,
            bounds: get(d, "bounds")?.map(|v| v.extract()).transpose()?,
            defaults: get(d, "defaults")?.map(|v| v.extract()).transpose()?,
            sigma: get(d, "sigma")?.map(|v| v.extract()).transpose()?,
            n_canonical: get(d, "n_canonical")?.map(|v| v.extract()).transpose()?,
        });
    }
    let version = version.to_string();
    py.allow_threads(move || -> umedata::Result<PathBuf> {
        let mut m = Manifest::new(&version, global_seed, SeedDerivation::ChaCha20)?;
        m.set_git_from(&dataset);
        if let Some(c) = &config_json {
            m.set_config_json(c, true)?;
        }
        for w in ws {
            let r = CoreReader::open(&dataset, &w.id)?;
            m.record_world(r.world(), None)?;
            m.set_parameters(&w.id, w.units, w.bounds, w.defaults)?;
            if let Some(s) = w.sigma {
                m.set_shock_sigma(&w.id, s)?;
            }
            if let Some(c) = w.n_canonical {
                m.set_n_canonical_obs(&w.id, c)?;
            }
            if let Some(rule) = &rule {
                let s = Splits::compute_for_world(r.world(), rule)?;
                s.store(r.world())?;
                m.set_splits(&s)?;
            }
        }
        m.save(&dataset)
    })
    .py(py)
}

/// Loads and validates a manifest (schema and semantic rules); returns its JSON text.
#[pyfunction]
fn load_manifest(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.allow_threads(|| Manifest::load(&path).map(|m| m.to_json()))
        .py(py)
}

/// Differences between a dataset's manifest and its disk (empty = consistent).
#[pyfunction]
fn check_manifest(py: Python<'_>, dataset: PathBuf) -> PyResult<Vec<String>> {
    py.allow_threads(|| {
        let m = Manifest::load(&dataset.join(umedata::manifest::MANIFEST_FILE))?;
        m.check_dataset(&dataset)
    })
    .py(py)
}

/// Every check of a dataset on disk (as `umedata validate`), the report as JSON text.
#[pyfunction]
#[pyo3(signature = (dataset, reproduce=0, threads=0))]
fn validate(py: Python<'_>, dataset: PathBuf, reproduce: u64, threads: usize) -> PyResult<String> {
    py.allow_threads(|| {
        let opts = ValidateOptions {
            reproduce,
            threads,
            ..ValidateOptions::default()
        };
        validate_dataset(&dataset, &opts).map(|r| r.to_json())
    })
    .py(py)
}

/// Replaces the generated names (`p0..`, `s0..`, `y0..`) of a world written without
/// names by the given ones (see `umedata::names`).
#[pyfunction]
#[pyo3(signature = (dataset, world_id, param_names=None, shock_names=None, obs_names=None))]
fn name_world(
    py: Python<'_>,
    dataset: PathBuf,
    world_id: String,
    param_names: Option<Vec<String>>,
    shock_names: Option<Vec<String>>,
    obs_names: Option<Vec<String>>,
) -> PyResult<()> {
    py.allow_threads(|| {
        umedata::names::name_world(&dataset, &world_id, param_names, shock_names, obs_names)
    })
    .py(py)
}

/// The world ids of a dataset: those its manifest lists, else the groups that open as
/// worlds, sorted.
#[pyfunction]
fn world_ids(py: Python<'_>, dataset: PathBuf) -> PyResult<Vec<String>> {
    py.allow_threads(|| {
        let m = Manifest::load(&dataset.join(umedata::manifest::MANIFEST_FILE)).ok();
        umedata::manifest::world_ids(&dataset, m.as_ref())
    })
    .py(py)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("UmedataError", py.get_type::<UmedataError>())?;
    m.add_class::<Writer>()?;
    m.add_class::<Reader>()?;
    m.add_function(wrap_pyfunction!(write_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(load_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(check_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(name_world, m)?)?;
    m.add_function(wrap_pyfunction!(world_ids, m)?)?;
    m.add("SimulationError", py.get_type::<engine::SimulationError>())?;
    m.add_class::<engine::Rng>()?;
    m.add_class::<engine::Reject>()?;
    m.add_class::<engine::PySimulator>()?;
    m.add_class::<engine::GenOptions>()?;
    m.add_function(wrap_pyfunction!(engine::generate, m)?)?;
    m.add_function(wrap_pyfunction!(engine::prepare, m)?)?;
    m.add_function(wrap_pyfunction!(engine::finish, m)?)?;
    m.add_function(wrap_pyfunction!(engine::validate_with, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let status = PyDict::new(py);
    for kind in [
        ErrorKind::NullArgument,
        ErrorKind::InvalidArgument,
        ErrorKind::OutOfRange,
        ErrorKind::LengthMismatch,
        ErrorKind::AlreadyExists,
        ErrorKind::AlreadyWritten,
        ErrorKind::Finalized,
        ErrorKind::NotFound,
        ErrorKind::Io,
        ErrorKind::Format,
        ErrorKind::NonFinite,
        ErrorKind::NotWritten,
        ErrorKind::Internal,
    ] {
        status.set_item(format!("{kind:?}"), ume_status::from(kind) as i32)?;
    }
    m.add("STATUS", status)?;
    Ok(())
}
