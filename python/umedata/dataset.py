"""Reading a world for training: a map-style dataset, batched reads, shuffled mini-batches."""

from __future__ import annotations

import queue
import threading
from os import PathLike, fspath
from typing import Iterator, Sequence

import numpy as np

from . import _native
from ._native import UmedataError

ARRAYS = ("theta", "trajectories", "irfs", "shocks")

#: Split names as stored in ``<world>/split`` (umedata-splits-v1).
SPLIT_CODES = {
    "train": 0,
    "val": 1,
    "test": 2,
    "ood_slice": 3,
    "ood_corner": 4,
    "ood_interpolation": 5,
    "not_written": 255,
}


def _error(kind: str, message: str) -> UmedataError:
    e = UmedataError(message)
    e.status = _native.STATUS[kind]
    e.kind = kind
    e.message = message
    return e


def open(path: str | PathLike, world_id: str | None = None, *, float64: bool = False) -> "Dataset":
    """Opens world ``world_id`` of the dataset at ``path`` (``None``: its only world)."""
    return Dataset(path, world_id, float64=float64)


class Dataset:
    """One world of a dataset, map-style: ``len(ds)`` samples, ``ds[i]`` a dict of numpy
    arrays (``theta``, ``trajectories``, ``irfs``, ``shocks``), float32 as stored (or
    float64 with ``float64=True``). PyTorch's ``DataLoader`` accepts it as it is (and
    :meth:`subset` for a split). Safe to share between threads; picklable (re-opens)."""

    def __init__(self, path: str | PathLike, world_id: str | None = None, *, float64: bool = False):
        self.path = fspath(path)
        if world_id is None:
            ids = _native.world_ids(self.path)
            if len(ids) != 1:
                raise _error(
                    "InvalidArgument" if ids else "NotFound",
                    f"world_id is None, but dataset '{self.path}' has "
                    f"{len(ids)} worlds {ids}: pass world_id (one of them)",
                )
            world_id = ids[0]
        self.world_id = world_id
        self.float64 = float64
        self._reader = _native.Reader(self.path, world_id)
        self.info = self._reader.info()
        self._split = None

    # pickling (DataLoader workers started by spawn): re-open by path
    def __getstate__(self):
        return {"path": self.path, "world_id": self.world_id, "float64": self.float64}

    def __setstate__(self, state):
        self.__init__(state["path"], state["world_id"], float64=state["float64"])

    def __repr__(self) -> str:
        i = self.info
        return (
            f"umedata.Dataset('{self.path}', world_id='{self.world_id}', n_samples={i['n_samples']}, "
            f"T={i['T']}, H={i['H']}, n_params={i['n_params']}, n_shocks={i['n_shocks']}, n_obs={i['n_obs']})"
        )

    def __len__(self) -> int:
        return int(self.info["n_samples"])

    def _index(self, i) -> int:
        n = len(self)
        try:
            i = int(i)
        except TypeError:
            raise _error("InvalidArgument", f"sample index {i!r} is not an integer") from None
        if i < -n or i >= n:
            raise _error("OutOfRange", f"sample index {i} out of range [0, {n})")
        return i + n if i < 0 else i

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1 and stop > start:
                return self.read_range(start, stop - start)
            return self.read(np.arange(len(self))[key])
        if isinstance(key, (list, tuple, np.ndarray)):
            return self.read(key)
        i = self._index(key)
        arrays = self._reader.read_range(i, 1, self.float64)
        return {name: a[0] for name, a in zip(ARRAYS, arrays)}

    def read(self, indices: Sequence[int] | np.ndarray, *, threads: int = 0) -> dict:
        """Samples ``indices`` (any order, repeats allowed; negative counts from the end)
        stacked along a first axis. The ids are grouped by inner chunk, each inner chunk
        is decoded once, in parallel on ``threads`` threads (0 = automatic: one per core,
        the calling thread alone for a read that decodes less than about 1 MB), without
        the GIL. Consecutive ascending ids (a slice, an unshuffled epoch) are read as a
        range (:meth:`read_range`)."""
        ids = np.asarray(indices)
        if ids.ndim != 1:
            ids = ids.reshape(-1)
        if ids.size == 0:
            # an empty selection (also [], which numpy makes float64): empty arrays
            return self._empty()
        if ids.dtype.kind == "i" and ids.min() < 0:
            ids = np.where(ids < 0, ids + len(self), ids)
        if (
            ids.size > 1
            and ids.dtype.kind in "iu"
            and 0 <= int(ids[0])
            and int(ids[-1]) < len(self)
            and int(ids[-1]) - int(ids[0]) == ids.size - 1
            and bool(np.all(np.diff(ids) == 1))
        ):
            return self.read_range(int(ids[0]), ids.size, threads=threads)
        arrays = self._reader.read(ids, self.float64, threads)
        return dict(zip(ARRAYS, arrays))

    def _empty(self) -> dict:
        i = self.info
        T, H, P, S, O = (int(i[k]) for k in ("T", "H", "n_params", "n_shocks", "n_obs"))
        shapes = ((P,), (T, O), (S, H + 1, O), (T, S))
        dtype = np.float64 if self.float64 else np.float32
        return {name: np.zeros((0, *shape), dtype=dtype) for name, shape in zip(ARRAYS, shapes)}

    def read_range(self, start: int, count: int, *, threads: int = 0) -> dict:
        """Samples ``[start, start + count)`` stacked along a first axis. The chunks of a
        long range are decoded in parallel on ``threads`` threads (0 = automatic: one per
        core, the calling thread alone for a read that decodes less than about 1 MB),
        without the GIL."""
        return dict(zip(ARRAYS, self._reader.read_range(start, count, self.float64, threads)))

    def samples_written(self) -> int:
        return int(self._reader.samples_written())

    def mask(self) -> np.ndarray:
        """The ``written`` mask (uint8, 1 where a sample is stored)."""
        return self._reader.mask()

    def split(self, name: str) -> np.ndarray:
        """Sample ids (ascending, uint64) of split ``name`` (``train``, ``val``, ``test``,
        ``ood_slice``, ``ood_corner``, ``ood_interpolation``) from the split the
        manifest records (stored as ``<world>/split``)."""
        if name not in SPLIT_CODES:
            raise _error(
                "InvalidArgument",
                f"split '{name}' is not known (expected one of {', '.join(SPLIT_CODES)})",
            )
        if self._split is None:
            self._split = self._reader.split_assignment()
        return np.flatnonzero(self._split == SPLIT_CODES[name]).astype(np.uint64)

    def subset(self, ids_or_split) -> "Subset":
        """A map-style view over a split (by name) or over given ids, for ``DataLoader``."""
        ids = self.split(ids_or_split) if isinstance(ids_or_split, str) else np.asarray(ids_or_split)
        return Subset(self, ids)

    def batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        seed: int | None = None,
        split: str | None = None,
        *,
        ids: Sequence[int] | np.ndarray | None = None,
        epoch: int = 0,
        drop_last: bool = False,
        prefetch: int = 2,
        threads: int = 0,
    ) -> Iterator[dict]:
        """One epoch of mini-batches over ``split`` (or ``ids``, or every sample): each a
        dict of stacked arrays plus ``ids``. With ``shuffle`` the order is a permutation
        drawn from ``numpy.random.default_rng([seed, epoch])`` (the same for the same seed
        and epoch). Batches are read ahead (``prefetch`` of them) on a background thread
        that decodes without the GIL while the caller trains."""
        if batch_size < 1:
            raise _error("InvalidArgument", f"batch_size {batch_size} is not valid, expected at least 1")
        if prefetch < 1:
            raise _error("InvalidArgument", f"prefetch {prefetch} is not valid, expected at least 1")
        if ids is not None and split is not None:
            raise _error("InvalidArgument", "give split or ids, not both")
        if ids is not None:
            order = np.asarray(ids, dtype=np.uint64)
        elif split is not None:
            order = self.split(split)
        else:
            order = np.arange(len(self), dtype=np.uint64)
        if shuffle:
            if seed is None:
                seed = int(np.random.SeedSequence().entropy % (1 << 63))
            order = np.random.default_rng([seed, epoch]).permutation(order)
        n = len(order)
        stops = list(range(0, n, batch_size))
        if drop_last and n % batch_size:
            stops = stops[:-1]
        return _Prefetch(self, order, stops, batch_size, prefetch, threads)


class _Prefetch:
    """Iterator over batches read by a background thread; closing it (or dropping it)
    stops the thread. An error of a read is raised at the batch it belongs to."""

    _END = object()

    def __init__(self, ds: Dataset, order, stops, batch_size, prefetch, threads):
        self._q: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._done = False
        self._len = len(stops)

        def work():
            try:
                for s in stops:
                    if self._stop.is_set():
                        return
                    ids = order[s : s + batch_size]
                    try:
                        b = ds.read(ids, threads=threads)
                        b["ids"] = ids
                    except BaseException as e:  # handed to the consumer
                        b = e
                    while not self._stop.is_set():
                        try:
                            self._q.put(b, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if isinstance(b, BaseException):
                        return
            finally:
                while not self._stop.is_set():
                    try:
                        self._q.put(self._END, timeout=0.1)
                        break
                    except queue.Full:
                        continue

        self._thread = threading.Thread(target=work, name="umedata-prefetch", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        return self._len

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        if self._done:
            raise StopIteration
        b = self._q.get()
        if b is self._END:
            self._done = True
            self._thread.join()
            raise StopIteration
        if isinstance(b, BaseException):
            self.close()
            raise b
        return b

    def close(self) -> None:
        self._done = True
        self._stop.set()
        self._thread.join()

    def __del__(self):
        try:
            self._stop.set()
        except Exception:
            pass


class Subset:
    """A map-style view of some samples of a :class:`Dataset` (``len``, ``[k]``)."""

    def __init__(self, dataset: Dataset, ids):
        self.dataset = dataset
        self.ids = np.asarray(ids, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return self.dataset.read(self.ids[k])
        n = len(self.ids)
        k = int(k)
        if k < -n or k >= n:
            raise _error("OutOfRange", f"index {k} out of range [0, {n}) of the subset")
        return self.dataset[int(self.ids[k])]
