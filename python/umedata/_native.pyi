"""Type stubs of umedata._native (the PyO3 extension module; python/src/)."""

from os import PathLike
from typing import Any, Callable, Sequence

import numpy as np
import numpy.typing as npt

__version__: str
STATUS: dict[str, int]

_Path = str | PathLike[str]
_Ids = int | Sequence[int] | npt.NDArray[np.integer]

class UmedataError(Exception):
    status: int
    kind: str
    message: str

class SimulationError(UmedataError):
    sample: int

class Writer:
    def __init__(
        self,
        path: _Path,
        world_id: str,
        n_samples: int,
        T: int,
        H: int,
        n_params: int,
        n_shocks: int,
        n_obs: int,
        param_names: Sequence[str] | None = None,
        shock_names: Sequence[str] | None = None,
        obs_names: Sequence[str] | None = None,
        *,
        codec: str | None = None,
        chunk_samples: int | None = None,
        inner_chunk_samples: int | None = None,
        clevel: int | None = None,
        checksum: bool = True,
        durable: bool = True,
        zarr_format: int = 3,
        threads: int = 0,
        overwrite: bool = False,
        allow_nonfinite: bool = False,
        rewrite: bool = False,
        resume: bool = False,
    ) -> None: ...
    def write_sample(self, i: int, theta: Any, trajectories: Any, irfs: Any, shocks: Any) -> None: ...
    def write_samples(self, start: _Ids, theta: Any, trajectories: Any, irfs: Any, shocks: Any) -> int: ...
    def finalize(self) -> dict[str, Any]: ...
    def missing_count(self) -> int: ...
    def missing(self, start: int = 0, max: int = ...) -> npt.NDArray[np.uint64]: ...
    @property
    def n_samples(self) -> int: ...
    @property
    def chunk_samples(self) -> int: ...
    def __enter__(self) -> Writer: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool: ...

class Reader:
    def __init__(self, path: _Path, world_id: str) -> None: ...
    def info(self) -> dict[str, Any]: ...
    def read(self, ids: _Ids, float64: bool = False, threads: int = 0) -> list[np.ndarray]: ...
    def read_range(self, start: int, count: int, float64: bool = False) -> list[np.ndarray]: ...
    def samples_written(self) -> int: ...
    def mask(self) -> npt.NDArray[np.uint8]: ...
    def split_assignment(self) -> npt.NDArray[np.uint8]: ...

class Rng:
    """The ChaCha20 stream of one sample (what ``ume_rng_*`` draws)."""

    def __init__(self, global_seed: int, sample_index: int) -> None: ...
    def uniform(self, size: int | tuple[int, ...] | None = None) -> Any: ...
    def normal(self, size: int | tuple[int, ...] | None = None) -> Any: ...
    def standard_normal(
        self, size: int | tuple[int, ...] | None = None, out: npt.NDArray[np.float64] | None = None
    ) -> Any: ...
    def next_u64(self) -> int: ...
    def fill_normal(self, out: npt.NDArray[np.float64]) -> None: ...
    def fill_uniform(self, out: npt.NDArray[np.float64]) -> None: ...
    @property
    def valid(self) -> bool: ...

class Reject:
    reason: int | str
    def __init__(self, reason: int | str) -> None: ...

class Simulator:
    def __init__(self, name: str, version: str, T: int, H: int) -> None: ...
    def add_param(self, name: str, lo: float, hi: float, default: float, unit: str) -> None: ...
    def add_shock(self, name: str, sigma: float) -> None: ...
    def add_obs(self, name: str) -> None: ...
    def set_reject_reason(self, code: int, name: str) -> None: ...
    def validate(self) -> None: ...
    def to_json(self) -> str: ...

class GenOptions:
    def __init__(
        self,
        *,
        seed: int = 42,
        n_samples: int = 0,
        threads: int = 1,
        resume: bool = False,
        part: tuple[int, int] | None = None,
        max_attempts: int = 0,
        max_samples: int | None = None,
        theta_table: npt.NDArray[np.float64] | None = None,
        design: str = "uniform",
        split_rule_json: str | None = None,
        codec: str | None = None,
        chunk_samples: int | None = None,
        inner_chunk_samples: int | None = None,
        clevel: int | None = None,
        checksum: bool = True,
        durable: bool = True,
        zarr_format: int = 3,
        writer_threads: int = 0,
        overwrite: bool = False,
        dataset_version: str = "1.0.0",
        provenance_dir: _Path | None = None,
        config_extra_json: str | None = None,
    ) -> None: ...

def generate(
    path: _Path,
    sim: Simulator,
    simulate: Callable[..., Any],
    opts: GenOptions,
    progress: Callable[[int, int, float], Any] | None = None,
) -> dict[str, Any]: ...
def prepare(path: _Path, sim: Simulator, opts: GenOptions) -> None: ...
def finish(path: _Path, sim: Simulator, opts: GenOptions) -> dict[str, Any]: ...
def validate_with(
    dataset: _Path,
    sim: Simulator,
    simulate: Callable[..., Any],
    reproduce: int,
    reproduce_seed: int = 0,
    threads: int = 0,
) -> str: ...
def write_manifest(
    dataset: _Path,
    version: str,
    global_seed: int,
    worlds: Sequence[dict[str, Any]],
    splits: tuple[float, float, float, int] | None = None,
    config_json: str | None = None,
    split_rule_json: str | None = None,
) -> str: ...
def load_manifest(path: _Path) -> str: ...
def check_manifest(dataset: _Path) -> list[str]: ...
def validate(dataset: _Path, reproduce: int = 0, threads: int = 0) -> str: ...
def name_world(
    dataset: _Path,
    world_id: str,
    param_names: Sequence[str] | None = None,
    shock_names: Sequence[str] | None = None,
    obs_names: Sequence[str] | None = None,
) -> None: ...
def world_ids(dataset: _Path) -> list[str]: ...
