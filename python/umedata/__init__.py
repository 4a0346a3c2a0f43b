"""umedata from Python: write and read simulation training datasets (Zarr) with numpy.

The heavy lifting is the same Rust core the C library uses (``umedata._native``, built
with PyO3): conversion, compression, decoding and file I/O run with the GIL released, so
Python threads write and read in parallel.

Writing::

    import umedata
    with umedata.Writer("runs/v1.zarr", "nk", n_samples=1000, T=200, H=40,
                        n_params=8, n_shocks=3, n_obs=3) as w:
        w.write_sample(0, theta, trajectories, irfs, shocks)        # any float dtype/order
        w.write_samples(1, thetas, trajs, irfss, shockss)           # stacked batches

Reading for training::

    ds = umedata.open("runs/v1.zarr")            # the only world, or world_id="nk"
    len(ds); ds[7]["trajectories"]               # dict of numpy arrays
    batch = ds.read([3, 99, 12])                 # stacked, each inner chunk decoded once
    for b in ds.batches(256, shuffle=True, seed=0, split="train"):
        ...                                      # read ahead on a background thread

Generating from a Python simulator through the engine (draws, redraws, threads, resume,
parts, manifest, splits)::

    sim = umedata.Simulator("ar1", T=100, H=20, params=[("rho", 0.0, 0.99)], obs=["y"])
    umedata.generate("runs/ar1.zarr", sim, simulate, n_samples=10_000, seed=42)

(see :mod:`umedata.engine` for ``simulate(i, theta, rng, trajectories, irfs, shocks)``).

Errors are :class:`UmedataError` with ``.status`` (the C status code, see ``STATUS``),
``.kind`` and ``.message``.

The prototype's API (``DatasetWriter``, ``ManifestGenerator``, ``ParameterManifest``,
``ShockManifest``, ``ObservableManifest``) is in :mod:`umedata.prototype` and exported
here.
"""

from __future__ import annotations

import json as _json
from os import PathLike as _PathLike

from ._native import STATUS, Reader, UmedataError, Writer, __version__
from . import _native
from .dataset import Dataset, Subset, open
from .engine import (
    Param,
    Reject,
    Rng,
    Shock,
    SimulationError,
    Simulator,
    finish,
    generate,
    prepare,
    split_rule,
    validate_simulated,
)
from .prototype import (
    DatasetWriter,
    ManifestGenerator,
    ObservableManifest,
    ParameterManifest,
    ShockManifest,
)

__all__ = [
    "STATUS",
    "Dataset",
    "DatasetWriter",
    "ManifestGenerator",
    "ObservableManifest",
    "Param",
    "ParameterManifest",
    "Reader",
    "Reject",
    "Rng",
    "Shock",
    "ShockManifest",
    "SimulationError",
    "Simulator",
    "Subset",
    "UmedataError",
    "Writer",
    "__version__",
    "check_manifest",
    "finish",
    "generate",
    "load_manifest",
    "open",
    "prepare",
    "split_rule",
    "validate",
    "validate_simulated",
    "world_ids",
]


def load_manifest(path: str | _PathLike) -> dict:
    """Loads ``manifest.json`` (a file, or a dataset directory holding one), validated
    against the schema and umedata's semantic rules; returns it as a dict."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    return _json.loads(_native.load_manifest(p))


def check_manifest(dataset: str | _PathLike) -> list[str]:
    """Differences between a dataset's manifest and what is on disk (empty: consistent)."""
    return list(_native.check_manifest(dataset))


def validate(dataset: str | _PathLike, reproduce: int = 0, threads: int = 0) -> dict:
    """Every check of ``umedata validate`` on a dataset; the report as a dict with
    ``passed``, ``failed`` and ``checks`` (each ``check``, ``status``, ``detail``)."""
    return _json.loads(_native.validate(dataset, reproduce, threads))


def world_ids(dataset: str | _PathLike) -> list[str]:
    """The world ids of a dataset (from its manifest, else its world groups)."""
    return list(_native.world_ids(dataset))
