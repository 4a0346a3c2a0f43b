"""Generation from a Python simulator through umedata's engine (the one ``umedata generate``
and ``ume_generate`` run): theta drawn per sample from its own ChaCha20 stream, rejected
draws redrawn and counted, threads, resume, parts, progress, manifest and splits.

::

    import umedata

    sim = umedata.Simulator("ar1", T=100, H=20,
                            params=[("rho", 0.0, 0.99), ("sigma", 0.1, 1.0)],
                            shocks=[("eps", 1.0)], obs=["y"],
                            reject_reasons=["near_unit_root"])

    def simulate(i, theta, rng, trajectories, irfs, shocks):
        rho, sigma = theta
        if rho > 0.98:
            return umedata.Reject("near_unit_root")      # redrawn from the same stream
        rng.fill_normal(shocks[:, 0])                     # what ume_rng_fill_normal draws
        ...                                               # fill trajectories, irfs in place
        # returning None accepts

    summary = umedata.generate("runs/ar1.zarr", sim, simulate, n_samples=10_000, seed=42)

The callable ``simulate(i, theta, rng, trajectories, irfs, shocks)`` gets

- ``i``: the sample index (int);
- ``theta``: float64 ``(n_params,)``, read-only, drawn by the engine (or a table row);
- ``rng``: a :class:`Rng` bound to sample ``i``'s stream, continuing after the theta
  draws: ``uniform()``, ``normal()``, ``normal(size=n)``, ``fill_normal(out)``,
  ``fill_uniform(out)``, ``next_u64()`` draw exactly what ``ume_rng_uniform`` /
  ``ume_rng_normal`` / ``ume_rng_fill_normal`` / ... draw, in the same order, so a Python
  simulator and a C one make the same samples. It is valid during the call only: using it
  afterwards raises :class:`UmedataError`;
- ``trajectories`` ``(T, n_obs)``, ``irfs`` ``(n_shocks, H+1, n_obs)``, ``shocks``
  ``(T, n_shocks)``: zeroed float64 arrays in C order, to fill in place (new arrays for each
  call, so keeping one is harmless; the engine copies them once the call accepted).

It returns ``None`` (or ``0``) to accept, ``umedata.Reject("reason")`` (a name of
``reject_reasons``) or ``umedata.Reject(code)`` / an int code ``>= 1`` to reject: theta is
then redrawn from the same stream, up to ``max_attempts`` attempts, and the rejection is
counted per reason (summary and manifest). Sample ``i`` is a function of ``(seed, i)``
alone, so 1, 2 or 8 threads, a stop and a resume, or parts all give byte-identical arrays
as long as ``simulate`` is deterministic.

The GIL: the engine runs on its own threads and takes the GIL only to call ``simulate``
(and ``progress``); writing and compression run without it. More threads help when the
simulator spends its time in code that releases the GIL (numpy on large arrays, numba with
``nogil``, a C extension); a pure-Python simulator runs one call at a time. Each call runs
on a fresh Python thread state of an engine thread: ``threading.local`` values do not
persist from one call to the next.

Stopping: an exception in ``simulate`` stops the run; what was stored stays stored, the
rejections of the stored samples are recorded, and :class:`SimulationError` (naming the
sample, the original exception as ``__cause__``) is raised; ``resume=True`` continues.
``KeyboardInterrupt`` (Ctrl-C while ``generate`` runs on the main thread) and a ``progress``
callable that returns True stop the same way (the first raises ``KeyboardInterrupt`` after
storing, the second returns the summary with ``stopped=True``).
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from os import PathLike, fspath
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import _native
from ._native import Reject, Rng, SimulationError

__all__ = [
    "Param",
    "Reject",
    "Rng",
    "Shock",
    "SimulationError",
    "Simulator",
    "finish",
    "generate",
    "prepare",
    "split_rule",
]


@dataclass(frozen=True)
class Param:
    """A parameter drawn uniformly in ``[lo, hi]``; ``default`` (``None``: the midpoint)
    and ``unit`` (``"-"``: dimensionless) go to the manifest."""

    name: str
    lo: float
    hi: float
    default: float | None = None
    unit: str = "-"


@dataclass(frozen=True)
class Shock:
    """A shock with standard deviation ``sigma`` (recorded in the manifest)."""

    name: str
    sigma: float = 1.0


def _param(p) -> Param:
    if isinstance(p, Param):
        return p
    if isinstance(p, Mapping):
        return Param(**p)
    return Param(*p)


def _shock(s) -> Shock:
    if isinstance(s, Shock):
        return s
    if isinstance(s, str):
        return Shock(s)
    if isinstance(s, Mapping):
        return Shock(**s)
    return Shock(*s)


class Simulator:
    """What a simulator is (as ``ume_sim`` in C, ``umedata::Simulator`` in C++): ``name``
    (the world id, ``[A-Za-z0-9_.-]+``), ``version``, trajectory length ``T``, IRF horizon
    ``H`` (IRFs have H+1 points), ``params`` (:class:`Param`, or tuples ``(name, lo, hi[,
    default[, unit]])``, or dicts), ``shocks`` (:class:`Shock`, ``(name, sigma)`` or a name:
    sigma 1), ``obs`` (observable names) and ``reject_reasons``: names for codes 1, 2, ...
    in order, or a dict ``{code: name}``. Checked when built (errors name the value)."""

    def __init__(
        self,
        name: str,
        *,
        T: int,
        H: int,
        params: Sequence,
        obs: Sequence[str],
        shocks: Sequence = (),
        reject_reasons: Sequence[str] | Mapping[int, str] = (),
        version: str = "1.0",
    ):
        self.name = name
        self.version = version
        self.T = int(T)
        self.H = int(H)
        self.params = tuple(_param(p) for p in params)
        self.shocks = tuple(_shock(s) for s in shocks)
        self.obs = tuple(obs)
        if isinstance(reject_reasons, Mapping):
            self.reject_reasons = {int(c): str(n) for c, n in reject_reasons.items()}
        else:
            self.reject_reasons = {k + 1: str(n) for k, n in enumerate(reject_reasons)}
        n = _native.Simulator(name, version, self.T, self.H)
        for p in self.params:
            lo, hi = float(p.lo), float(p.hi)
            default = (lo + hi) / 2 if p.default is None else float(p.default)
            n.add_param(p.name, lo, hi, default, p.unit)
        for s in self.shocks:
            n.add_shock(s.name, float(s.sigma))
        for o in self.obs:
            n.add_obs(o)
        for c, r in self.reject_reasons.items():
            n.set_reject_reason(c, r)
        n.validate()
        self._native = n

    @property
    def n_params(self) -> int:
        return len(self.params)

    @property
    def n_shocks(self) -> int:
        return len(self.shocks)

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    def to_dict(self) -> dict:
        """The description as the manifest records it (``config.engine.simulator``)."""
        return json.loads(self._native.to_json())

    def __repr__(self) -> str:
        return (
            f"umedata.Simulator({self.name!r}, version={self.version!r}, T={self.T}, H={self.H}, "
            f"params={[p.name for p in self.params]}, shocks={[s.name for s in self.shocks]}, "
            f"obs={list(self.obs)})"
        )


def split_rule(
    train: float = 0.8,
    val: float = 0.1,
    test: float = 0.1,
    seed: int = 42,
    ood: Sequence[Mapping[str, Any]] = (),
) -> dict:
    """A split rule (umedata-splits-v1) as a dict: train/val/test fractions of the
    in-distribution samples, the shuffle seed, and out-of-distribution hold-outs applied
    in order, each one of

    - ``{"kind": "slice", "param": "rho", "units": "natural" | "quantile", "range": [lo, hi]}``
      (a band of one parameter),
    - ``{"kind": "corner", "params": [...], "k": 2, "q": 0.05}`` (at least k of the
      parameters in their extreme q-quantiles),
    - ``{"kind": "interpolation", "params": [...], "units": ..., "box": [[lo, hi], ...]}``
      (an interior box).

    Checked against the world's parameters when the splits are computed."""
    return {
        "fractions": {"train": float(train), "val": float(val), "test": float(test)},
        "seed": int(seed),
        "ood": [dict(o) for o in ood],
    }


def split_rule_json(split, seed: int) -> str | None:
    """The JSON text of a split given as ``None`` (the default 0.8/0.1/0.1 with ``seed``),
    ``(train, val, test)``, a rule dict (:func:`split_rule`) or JSON text."""
    if split is None:
        return None
    if isinstance(split, str):
        return split
    if isinstance(split, Mapping):
        rule = dict(split)
        rule.setdefault("seed", int(seed))
        return json.dumps(rule)
    train, val, test = split
    return json.dumps(split_rule(train, val, test, seed))


def _provenance(simulate) -> str:
    """The directory whose git state the manifest records: the simulator's source file's,
    else the working directory."""
    try:
        f = inspect.getsourcefile(simulate) if simulate is not None else None
    except TypeError:
        f = None
    return os.path.dirname(os.path.abspath(f)) if f else os.getcwd()


def _options(
    simulate,
    *,
    n_samples,
    seed,
    threads,
    resume,
    part,
    max_attempts,
    max_samples,
    theta_table,
    design,
    split,
    codec,
    chunk_samples,
    inner_chunk_samples,
    clevel,
    checksum,
    durable,
    zarr_format,
    writer_threads,
    overwrite,
    version,
    provenance_dir,
) -> _native.GenOptions:
    if design not in ("uniform", "sobol", "table"):
        raise _native.UmedataError(f"design is {design!r}, expected 'uniform', 'sobol' or 'table'")
    if (design == "table") != (theta_table is not None):
        raise _native.UmedataError(
            "design 'table' needs theta_table (n_samples, n_params) and theta_table needs design='table'"
            if design == "table"
            else f"theta_table is given, but design is {design!r}: pass design='table'"
        )
    table = None
    if theta_table is not None:
        table = np.ascontiguousarray(theta_table, dtype=np.float64)
    extra = None
    if simulate is not None:
        extra = json.dumps(
            {
                "python_simulator": {
                    "callable": f"{getattr(simulate, '__module__', '?')}.{getattr(simulate, '__qualname__', type(simulate).__name__)}",
                    "umedata_python": _native.__version__,
                }
            }
        )
    return _native.GenOptions(
        seed=int(seed),
        n_samples=int(n_samples or 0),
        threads=int(threads),
        resume=bool(resume),
        part=None if part is None else (int(part[0]), int(part[1])),
        max_attempts=int(max_attempts or 0),
        max_samples=None if max_samples is None else int(max_samples),
        theta_table=table,
        design="uniform" if design == "table" else design,
        split_rule_json=split_rule_json(split, seed),
        codec=codec,
        chunk_samples=chunk_samples,
        inner_chunk_samples=inner_chunk_samples,
        clevel=clevel,
        checksum=checksum,
        durable=durable,
        zarr_format=zarr_format,
        writer_threads=int(writer_threads),
        overwrite=bool(overwrite),
        dataset_version=version,
        provenance_dir=_provenance(simulate) if provenance_dir is None else fspath(provenance_dir),
        config_extra_json=extra,
    )


def generate(
    path: str | PathLike,
    simulator: Simulator,
    simulate: Callable[..., Any],
    *,
    n_samples: int | None = None,
    seed: int = 42,
    threads: int = 1,
    resume: bool = False,
    part: tuple[int, int] | None = None,
    max_attempts: int | None = None,
    max_samples: int | None = None,
    progress: Callable[[int, int, float], Any] | None = None,
    theta_table=None,
    design: str = "uniform",
    split=None,
    codec: str | None = None,
    chunk_samples: int | None = None,
    inner_chunk_samples: int | None = None,
    clevel: int | None = None,
    checksum: bool = True,
    durable: bool = True,
    zarr_format: int = 3,
    writer_threads: int = 0,
    overwrite: bool = False,
    version: str = "1.0.0",
    provenance_dir: str | PathLike | None = None,
) -> dict:
    """Generates world ``simulator.name`` of the dataset at ``path`` by calling
    ``simulate(i, theta, rng, trajectories, irfs, shocks)`` (see the module documentation)
    for every sample the run asks for, and writes its manifest and splits.

    - ``n_samples``: size of a new world (with ``resume`` or ``part``: ``None``, the
      dataset's). ``seed``: global seed (sample i draws from ``Rng(seed, i)``).
    - ``threads``: engine threads (0: one per core); ``writer_threads`` compression
      threads (0: as many). Results do not depend on either.
    - ``resume``: continue an existing dataset (same simulator, seed, design and
      max_attempts, else an error says what differs); only missing samples are simulated.
    - ``part=(start, count)``: one chunk-aligned range of a world made by :func:`prepare`,
      for one of many processes; :func:`finish` writes the manifest once all are done.
    - ``max_attempts``: attempts per sample before the run fails naming the sample
      (default 1000). ``max_samples``: store at most this many, then finish (resumable).
    - ``progress(done, total, rate)``: called after each stored sample (engine threads,
      one call at a time, GIL held); returning True stops the run cleanly.
    - ``design``: ``"uniform"`` (theta uniform within the bounds from ``Rng(seed, i)``),
      ``"sobol"`` (point i of an Owen-scrambled Sobol sequence, computed from (seed, i)
      alone; the simulator's ``rng`` is then untouched by the draw), or ``"table"`` with
      ``theta_table`` ``(n_samples, n_params)``: theta of sample i is row i (a rejected row
      is an error: a table row cannot be redrawn).
    - ``split``: ``(train, val, test)`` fractions, a rule dict (:func:`split_rule`, with
      out-of-distribution hold-outs) or its JSON; default 0.8/0.1/0.1 seeded with ``seed``.
    - storage: ``codec`` (blosc-lz4, blosc-zstd, zstd, none), ``chunk_samples``,
      ``inner_chunk_samples``, ``clevel``, ``checksum``, ``durable``, ``zarr_format``,
      ``overwrite`` as for :class:`Writer`.

    Returns a dict: ``written`` (by this call), ``already``, ``missing``, ``stopped``,
    ``rejections`` ({reason name: count} of this call's samples), ``rejections_by_code``,
    ``rejected``, and the writer's summary of the whole world (``n_samples``,
    ``samples_written``, ``arrays``, ``path``, ``world_id``).

    Raises :class:`SimulationError` when ``simulate`` raised or returned something else
    than the above (``.sample``, ``__cause__``), :class:`UmedataError` for everything the
    engine refuses, ``KeyboardInterrupt`` after a Ctrl-C has stopped the run; in every
    case what was stored stays stored and ``resume=True`` continues."""
    _check_simulator(simulator)
    opts = _options(
        simulate,
        n_samples=n_samples,
        seed=seed,
        threads=threads,
        resume=resume,
        part=part,
        max_attempts=max_attempts,
        max_samples=max_samples,
        theta_table=theta_table,
        design=design,
        split=split,
        codec=codec,
        chunk_samples=chunk_samples,
        inner_chunk_samples=inner_chunk_samples,
        clevel=clevel,
        checksum=checksum,
        durable=durable,
        zarr_format=zarr_format,
        writer_threads=writer_threads,
        overwrite=overwrite,
        version=version,
        provenance_dir=provenance_dir,
    )
    return _native.generate(fspath(path), simulator._native, simulate, opts, progress)


def _check_simulator(simulator) -> None:
    if not isinstance(simulator, Simulator):
        raise _native.UmedataError(
            f"simulator is a {type(simulator).__name__}, expected a umedata.Simulator"
        )


def prepare(path: str | PathLike, simulator: Simulator, **options) -> None:
    """Creates the world of ``simulator`` (``n_samples``) and its manifest, storing no
    sample: the first step of a run split into parts (then one :func:`generate` with
    ``part=(start, count)`` per process, then :func:`finish`). Takes the options of
    :func:`generate` that describe the dataset (``n_samples``, ``seed``, ``split``,
    ``max_attempts``, design and storage)."""
    _check_simulator(simulator)
    _native.prepare(fspath(path), simulator._native, _options(None, **_defaults(options)))


def finish(path: str | PathLike, simulator: Simulator, **options) -> dict:
    """After every part returned: records the rejections of all parts, the splits and
    the final manifest; returns the writer's summary of the whole world. Pass the options
    given to :func:`prepare` (``seed``, ``max_attempts``, design)."""
    _check_simulator(simulator)
    return _native.finish(fspath(path), simulator._native, _options(None, **_defaults(options)))


_DEFAULTS = dict(
    n_samples=None,
    seed=42,
    threads=1,
    resume=False,
    part=None,
    max_attempts=None,
    max_samples=None,
    theta_table=None,
    design="uniform",
    split=None,
    codec=None,
    chunk_samples=None,
    inner_chunk_samples=None,
    clevel=None,
    checksum=True,
    durable=True,
    zarr_format=3,
    writer_threads=0,
    overwrite=False,
    version="1.0.0",
    provenance_dir=None,
)


def _defaults(options: dict) -> dict:
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    return {**_DEFAULTS, **options}


def validate_simulated(
    dataset: str | PathLike,
    simulator: Simulator,
    simulate: Callable[..., Any],
    reproduce: int = 100,
    *,
    reproduce_seed: int = 0,
    threads: int = 0,
) -> dict:
    """Every check of :func:`umedata.validate`, plus ``reproduce`` written samples
    simulated again by ``simulate`` from their recorded seeds and compared bit for bit
    (``umedata validate --reproduce`` for a Python simulator). The report as a dict."""
    _check_simulator(simulator)
    return json.loads(
        _native.validate_with(
            fspath(dataset), simulator._native, simulate, int(reproduce), int(reproduce_seed), int(threads)
        )
    )
