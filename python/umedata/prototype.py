"""The Python prototype's API on umedata: ``DatasetWriter``, ``ManifestGenerator`` and the
simulator manifests, so that code written for the prototype runs with only its imports
changed (``from umedata import ...``).

Differences, where umedata is stricter than the prototype was:

* storage is umedata's (one Zarr v3 group per world with the four arrays and a
  ``written`` mask, float32, checksummed), readable by zarr-python, xarray, tensorstore;
* the prototype wrote no names into the data; umedata worlds carry them. A world written
  by ``DatasetWriter`` without names gets generated ones (``p0..``), and
  ``ManifestGenerator.save`` gives it the names of its manifests (once; names chosen
  when writing are never replaced);
* ``save`` validates the manifest (schema and semantic rules) and computes and stores
  the splits from the stored ``theta`` (umedata-splits-v1), instead of listing indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike, fspath
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _native
from .dataset import ARRAYS, Dataset, _error


@dataclass
class ParameterManifest:
    """Names, units, ``[lo, hi]`` bounds and defaults of a simulator's parameters."""

    names: Sequence[str]
    units: Sequence[str] | None = None
    bounds: Any = None
    defaults: Any = None


@dataclass
class ShockManifest:
    """Names, count and standard deviations of a simulator's shocks."""

    names: Sequence[str]
    n_shocks: int | None = None
    sigma: Any = None


@dataclass
class ObservableManifest:
    """Canonical observables first, then extra ones."""

    canonical_names: Sequence[str]
    extra_names: Sequence[str] = field(default_factory=list)


class DatasetWriter:
    """Writes one world (``output_dir/world_id``), as the prototype's writer did.

    ``n_obs`` defaults to 3 (the prototype's canonical observables); names and every
    option of :class:`umedata.Writer` (``chunk_samples``, ``codec``, ``overwrite``, ...)
    may be given as keywords. Thread-safe.
    """

    def __init__(
        self,
        output_dir: str | PathLike,
        world_id: str,
        n_samples: int,
        T: int,
        H: int,
        n_params: int,
        n_shocks: int,
        n_obs: int = 3,
        **options,
    ):
        self.output_dir = Path(output_dir)
        self.world_id = world_id
        self.n_samples = n_samples
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._writer = _native.Writer(
            fspath(self.output_dir), world_id, n_samples, T, H, n_params, n_shocks, n_obs, **options
        )
        self.summary: dict | None = None

    def write_sample(self, i: int, theta, trajectories, irfs, shocks) -> None:
        """Stores sample ``i``: theta ``(n_params,)``, trajectories ``(T, n_obs)``, irfs
        ``(n_shocks, H+1, n_obs)``, shocks ``(T, n_shocks)``; float32 storage."""
        self._writer.write_sample(i, theta, trajectories, irfs, shocks)

    def write_samples(self, start, theta, trajectories, irfs, shocks) -> int:
        """Stores a stacked batch (see :meth:`umedata.Writer.write_samples`)."""
        return self._writer.write_samples(start, theta, trajectories, irfs, shocks)

    def finalize(self) -> dict:
        """Stores what is buffered; returns the summary (``samples_written``,
        ``n_samples``, per-array ``raw_bytes``/``stored_bytes``/``ratio`` under ``arrays``
        and, as the prototype had it, ``compression_ratio`` per array: raw / stored)."""
        s = self._writer.finalize()
        s["compression_ratio"] = {
            k: (a["raw_bytes"] / a["stored_bytes"] if a["stored_bytes"] else 0.0)
            for k, a in s["arrays"].items()
        }
        self.summary = s
        return s

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.summary is None:
            try:
                self.finalize()
            except Exception:
                if exc_type is None:
                    raise
        return False

    @staticmethod
    def load_dataset(output_dir: str | PathLike, world_id: str):
        """The whole world as ``(trajectories, irfs, shocks, theta)`` float32 arrays, in
        the prototype's order. Every sample must be stored."""
        ds = Dataset(output_dir, world_id)
        b = ds.read_range(0, len(ds))
        return b["trajectories"], b["irfs"], b["shocks"], b["theta"]


class ManifestGenerator:
    """Builds ``output_dir/manifest.json``: version, seeds, git and configuration
    provenance, the simulators' manifests and the splits. Written by umedata's core
    (validated on save and on load)."""

    def __init__(
        self,
        version: str,
        output_dir: str | PathLike,
        global_seed: int,
        T: int,
        H: int,
        config: dict | None = None,
    ):
        self.version = version
        self.output_dir = Path(output_dir)
        self.global_seed = int(global_seed)
        self.T = int(T)
        self.H = int(H)
        self.config = config
        self.simulators: dict[str, dict] = {}
        self._splits: tuple | None = None
        self._split_rule: str | None = None

    def add_simulator(
        self,
        world_id: str,
        n_samples: int,
        param_manifest: ParameterManifest,
        shock_manifest: ShockManifest,
        obs_manifest: ObservableManifest,
    ) -> None:
        """Records a world written under ``output_dir`` with its manifests (checked
        against the world on disk when saving)."""
        self.simulators[world_id] = {
            "n_samples": int(n_samples),
            "params": param_manifest,
            "shocks": shock_manifest,
            "obs": obs_manifest,
        }

    def add_standard_splits(
        self, seed: int = 42, train: float = 0.8, val: float = 0.1, test: float = 0.1
    ) -> None:
        """Train/val/test fractions of every world's written samples, shuffled with
        ``seed`` (computed from the stored theta when saving)."""
        self._splits = (float(train), float(val), float(test), int(seed))
        self._split_rule = None

    def add_splits(self, rule: dict | str) -> None:
        """A whole split rule for every world, with out-of-distribution hold-outs: a dict
        from :func:`umedata.split_rule` (e.g. ``split_rule(0.8, 0.1, 0.1, seed=42,
        ood=[{"kind": "slice", "param": "rho", "units": "quantile", "range": [0.9, 1.0]}])``)
        or its JSON text. Replaces :meth:`add_standard_splits`; checked against each world's
        parameters and computed from the stored theta when saving."""
        import json

        self._split_rule = rule if isinstance(rule, str) else json.dumps(rule)
        self._splits = None

    def _world_entry(self, world_id: str, sim: dict) -> dict:
        r = _native.Reader(fspath(self.output_dir), world_id)
        info = r.info()
        for what, mine, disk in (
            ("n_samples", sim["n_samples"], info["n_samples"]),
            ("T", self.T, info["T"]),
            ("H", self.H, info["H"]),
        ):
            if mine != disk:
                raise _error(
                    "InvalidArgument",
                    f"world '{world_id}': {what} is {mine} in the manifest generator, {disk} on disk",
                )
        p, s, o = sim["params"], sim["shocks"], sim["obs"]
        if s.n_shocks is not None and int(s.n_shocks) != len(s.names):
            raise _error(
                "LengthMismatch",
                f"world '{world_id}': ShockManifest n_shocks is {s.n_shocks}, but it has {len(s.names)} names",
            )
        obs = list(o.canonical_names) + list(o.extra_names)
        _native.name_world(
            fspath(self.output_dir), world_id, list(p.names), list(s.names), obs
        )
        return {
            "world_id": world_id,
            "units": None if p.units is None else [str(u) for u in p.units],
            "bounds": None if p.bounds is None else np.asarray(p.bounds, dtype=float).tolist(),
            "defaults": None if p.defaults is None else np.asarray(p.defaults, dtype=float).tolist(),
            "sigma": None if s.sigma is None else np.asarray(s.sigma, dtype=float).tolist(),
            "n_canonical": len(o.canonical_names),
        }

    def save(self) -> Path:
        """Writes ``manifest.json`` (and each world's ``split`` array when splits were
        asked for); returns its path."""
        import json

        worlds = [self._world_entry(w, sim) for w, sim in self.simulators.items()]
        config = None if self.config is None else json.dumps(self.config)
        return Path(
            _native.write_manifest(
                fspath(self.output_dir),
                self.version,
                self.global_seed,
                worlds,
                self._splits,
                config,
                self._split_rule,
            )
        )

    @staticmethod
    def load(path: str | PathLike) -> dict:
        """The manifest at ``path`` as a dict, validated (schema and semantic rules)."""
        import json

        p = Path(path)
        if p.is_dir():
            p = p / "manifest.json"
        return json.loads(_native.load_manifest(fspath(p)))


__all__ = [
    "ARRAYS",
    "DatasetWriter",
    "ManifestGenerator",
    "ObservableManifest",
    "ParameterManifest",
    "ShockManifest",
]
