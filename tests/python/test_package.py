"""The umedata Python package (python/, PyO3): writing, reading, errors, batches, threads.

Needs the package installed in the venv (scripts/test.sh runs `pip install ./python`);
without it these tests skip, unless UME_REQUIRE_PACKAGE=1 (as test.sh sets) makes that a
failure.
"""

from __future__ import annotations

import os
import pickle
import threading

import numpy as np
import pytest

if os.environ.get("UME_REQUIRE_PACKAGE") == "1":
    import umedata
else:
    umedata = pytest.importorskip("umedata", reason="the umedata package is not installed (pip install ./python)")

N, T, H, P, S, O = 50, 6, 2, 3, 2, 2


def sample(i: int):
    """Distinct values, exact in float32, per sample i."""
    base = 1000.0 * i
    theta = base + np.arange(P, dtype=np.float64)
    traj = base + 100 + np.arange(T * O, dtype=np.float64).reshape(T, O)
    irfs = base + 200 + np.arange(S * (H + 1) * O, dtype=np.float64).reshape(S, H + 1, O)
    shocks = base + 300 + np.arange(T * S, dtype=np.float64).reshape(T, S)
    return theta, traj, irfs, shocks


def make(path, n=N, **kw):
    if n >= 8:
        kw.setdefault("chunk_samples", 8)
        kw.setdefault("inner_chunk_samples", 4)
    return umedata.Writer(path, "w", n, T, H, P, S, O, **kw)


@pytest.fixture()
def full(tmp_path):
    """A world of N samples, all written (C order float64)."""
    with make(tmp_path / "d") as w:
        for i in range(N):
            w.write_sample(i, *sample(i))
    return tmp_path / "d"


def check_sample(got: dict, i: int):
    for name, want in zip(("theta", "trajectories", "irfs", "shocks"), sample(i)):
        assert got[name].dtype == np.float32
        np.testing.assert_array_equal(got[name], want.astype(np.float32), err_msg=f"{name} of {i}")


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda a: a, id="c-float64"),
        pytest.param(lambda a: a.astype(np.float32), id="c-float32"),
        pytest.param(lambda a: np.asfortranarray(a), id="fortran-float64"),
        pytest.param(lambda a: np.asfortranarray(a.astype(np.float32)), id="fortran-float32"),
        pytest.param(lambda a: a.astype(np.int64), id="int64"),
        pytest.param(lambda a: np.ascontiguousarray(a[..., ::-1])[..., ::-1], id="strided"),
        pytest.param(lambda a: a.astype(np.float16) if a.max() < 2048 else a, id="float16-or-float64"),
    ],
)
def test_round_trip_any_dtype_and_order(tmp_path, convert):
    n = 10
    with make(tmp_path / "d", n) as w:
        for i in range(n):
            w.write_sample(i, *(convert(a) for a in sample(i)))
    ds = umedata.open(tmp_path / "d")
    assert len(ds) == n and ds.samples_written() == n
    for i in range(n):
        check_sample(ds[i], i)


def test_mixed_orders_and_dtypes_in_one_call(tmp_path):
    with make(tmp_path / "d", 4) as w:
        for i in range(4):
            th, tr, ir, sh = sample(i)
            w.write_sample(i, th.astype(np.float32), np.asfortranarray(tr), ir.tolist(), sh[:, :])
    ds = umedata.open(tmp_path / "d")
    for i in range(4):
        check_sample(ds[i], i)


def test_write_samples_batched(tmp_path):
    stacked = [np.stack(x) for x in zip(*(sample(i) for i in range(N)))]
    with make(tmp_path / "d") as w:
        assert w.write_samples(0, *(a[:20] for a in stacked)) == 20
        ids = np.arange(20, N)[::-1].copy()
        # a batch in Fortran order and float32: converted, placed by id
        w.write_samples(ids, *(np.asfortranarray(a[ids].astype(np.float32)) for a in stacked))
        s = w.finalize()
    assert s["samples_written"] == N and s["n_samples"] == N
    assert set(s["arrays"]) == {"theta", "trajectories", "irfs", "shocks"}
    assert s["arrays"]["trajectories"]["stored_bytes"] > 0
    ds = umedata.open(tmp_path / "d")
    for i in range(N):
        check_sample(ds[i], i)


def test_write_samples_checks_before_storing(tmp_path):
    stacked = [np.stack(x) for x in zip(*(sample(i) for i in range(4)))]
    w = make(tmp_path / "d", 10)
    bad = [a.copy() for a in stacked]
    bad[1][3, 0, 0] = np.nan
    with pytest.raises(umedata.UmedataError) as e:
        w.write_samples(0, *bad)
    assert e.value.status == umedata.STATUS["NonFinite"]
    with pytest.raises(umedata.UmedataError) as e:
        w.write_samples([1, 2, 1, 3], *stacked)
    assert "appears twice" in str(e.value)
    with pytest.raises(umedata.UmedataError) as e:
        w.write_samples(8, *stacked)
    assert e.value.status == umedata.STATUS["OutOfRange"]
    assert "[8, 8+4) out of range [0, 10)" in e.value.message
    assert w.finalize()["samples_written"] == 0


def test_errors_are_exceptions_with_status(tmp_path, full):
    w = make(tmp_path / "e", 5)
    th, tr, ir, sh = sample(0)
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(5, th, tr, ir, sh)
    assert e.value.status == umedata.STATUS["OutOfRange"] == 7003
    assert e.value.kind == "OutOfRange"
    assert "sample index 5 out of range [0, 5)" in str(e.value)
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(0, th, tr.T, ir, sh)  # transposed: refused, never written scrambled
    assert e.value.status == umedata.STATUS["LengthMismatch"]
    assert "trajectories has shape (2, 6), expected (6, 2) = (T, n_obs)" in e.value.message
    tr_nan = tr.copy()
    tr_nan[1, 1] = np.inf
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(0, th, tr_nan, ir, sh)
    assert e.value.status == umedata.STATUS["NonFinite"]
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(0, th + 1j, tr, ir, sh)
    assert e.value.status == umedata.STATUS["InvalidArgument"] and "theta is complex" in e.value.message
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(0, ["a", "b", "c"], tr, ir, sh)
    assert e.value.status == umedata.STATUS["InvalidArgument"] and "theta is not convertible" in e.value.message
    w.write_sample(0, th, tr, ir, sh)
    with pytest.raises(umedata.UmedataError) as e:
        w.write_sample(0, th, tr, ir, sh)
    assert e.value.status == umedata.STATUS["AlreadyWritten"]
    w.finalize()
    with pytest.raises(umedata.UmedataError) as e:
        w.finalize()
    assert e.value.status == umedata.STATUS["Finalized"]
    # creating over an existing world without overwrite
    with pytest.raises(umedata.UmedataError) as e:
        make(tmp_path / "e", 5)
    assert e.value.status == umedata.STATUS["AlreadyExists"]
    # reading
    ds = umedata.open(tmp_path / "e")
    with pytest.raises(umedata.UmedataError) as e:
        ds[1]
    assert e.value.status == umedata.STATUS["NotWritten"]
    with pytest.raises(umedata.UmedataError) as e:
        ds[5]
    assert e.value.status == umedata.STATUS["OutOfRange"]
    with pytest.raises(umedata.UmedataError) as e:
        umedata.open(tmp_path / "nope")
    assert e.value.status in (umedata.STATUS["NotFound"], umedata.STATUS["Io"])
    with pytest.raises(umedata.UmedataError) as e:
        umedata.open(full, "other")
    assert e.value.status == umedata.STATUS["NotFound"]
    with pytest.raises(umedata.UmedataError) as e:
        umedata.Writer(tmp_path / "x", "w", 5, T, H, P, S, O, codec="lzma")
    assert e.value.status == umedata.STATUS["InvalidArgument"] and "lzma" in e.value.message
    assert issubclass(umedata.UmedataError, Exception)


def test_read_random_ids_equals_getitem(full):
    ds = umedata.open(full)
    rng = np.random.default_rng(1)
    for threads in (1, 3, 0):
        ids = rng.integers(0, N, size=37)
        ids[5] = ids[6]  # a repeat
        b = ds.read(ids, threads=threads)
        assert b["trajectories"].shape == (37, T, O)
        for j, i in enumerate(ids):
            one = ds[int(i)]
            for k in ("theta", "trajectories", "irfs", "shocks"):
                np.testing.assert_array_equal(b[k][j], one[k])
            check_sample({k: b[k][j] for k in b}, int(i))
    # negative indices, slices, lists, and float64 output
    check_sample(ds[-1], N - 1)
    s = ds[10:13]
    assert s["theta"].shape == (3, P)
    np.testing.assert_array_equal(s["theta"][2], ds[12]["theta"])
    d64 = umedata.open(full, float64=True)
    assert d64[3]["irfs"].dtype == np.float64
    np.testing.assert_array_equal(d64[3]["irfs"], sample(3)[2])
    with pytest.raises(umedata.UmedataError):
        ds.read([0, N])


class _Recording:
    """Wraps a native Reader and records which read each call went through."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []

    def read(self, *a):
        self.calls.append(("read", a[1:]))
        return self.inner.read(*a)

    def read_range(self, *a):
        self.calls.append(("read_range", a))
        return self.inner.read_range(*a)


def test_ranges_decoded_on_threads_equal_serial(full):
    """Issue 16 item 5: a slice, consecutive ids and an unshuffled epoch are read as a
    range (decoded on the library's threads); any thread count returns the same bytes,
    float32 and float64; a range with an unwritten sample is still an error."""
    for float64 in (False, True):
        ds = umedata.open(full, float64=float64)
        rec = ds._reader = _Recording(ds._reader)
        for start, stop in ((0, N), (3, 41), (9, 11), (17, 50)):
            one = ds.read_range(start, stop - start, threads=1)
            for threads in (2, 3, 0):
                par = ds.read_range(start, stop - start, threads=threads)
                for k in one:
                    assert par[k].dtype == (np.float64 if float64 else np.float32)
                    np.testing.assert_array_equal(par[k], one[k], err_msg=f"{k} [{start}, {stop}) t{threads}")
            for j in range(stop - start):
                check = {k: v[j].astype(np.float32) for k, v in one.items()}
                check_sample(check, start + j)
            rec.calls.clear()
            sl = ds[start:stop]
            ids = ds.read(np.arange(start, stop, dtype=np.uint64), threads=2)
            assert [c[0] for c in rec.calls] == ["read_range", "read_range"], rec.calls
            assert rec.calls[1][1] == (start, stop - start, float64, 2)
            for k in one:
                np.testing.assert_array_equal(sl[k], one[k])
                np.testing.assert_array_equal(ids[k], one[k])
        # not consecutive, or stepped: the ids read
        rec.calls.clear()
        ds.read([4, 5, 7])
        ds[2:20:3]
        ds.read([5, 4])
        assert [c[0] for c in rec.calls] == ["read"] * 3, rec.calls
        # an unshuffled epoch goes through ranges and returns every sample in order
        rec.calls.clear()
        seen = []
        for b in ds.batches(16, shuffle=False):
            seen += b["ids"].tolist()
            check_sample({k: b[k][-1].astype(np.float32) for k in one}, int(b["ids"][-1]))
        assert seen == list(range(N))
        assert {c[0] for c in rec.calls} == {"read_range"}, rec.calls


def test_range_with_unwritten_sample_is_an_error_on_threads(tmp_path):
    with make(tmp_path / "d", 40) as w:
        for i in range(40):
            if i != 21:
                w.write_sample(i, *sample(i))
    ds = umedata.open(tmp_path / "d")
    for threads in (1, 3):
        with pytest.raises(umedata.UmedataError) as e:
            ds.read_range(8, 30, threads=threads)
        assert e.value.status == umedata.STATUS["NotWritten"] and "21" in e.value.message
    # a deleted shard that the mask claims: a format error, never values
    os.remove(tmp_path / "d" / "w" / "shocks" / "c.1.0.0")
    with pytest.raises(umedata.UmedataError) as e:
        ds[0:21]
    assert e.value.status == umedata.STATUS["Format"] and "w/shocks" in e.value.message
    for threads in (1, 3):
        with pytest.raises(umedata.UmedataError) as e:
            ds.read_range(0, 21, threads=threads)
        assert e.value.status == umedata.STATUS["Format"]


def splits_dataset(path):
    """A world with a manifest and standard splits (through the prototype API)."""
    with make(path, 40) as w:
        for i in range(40):
            w.write_sample(i, *sample(i))
    g = umedata.ManifestGenerator(version="1.0.0", output_dir=path, global_seed=1, T=T, H=H)
    g.add_simulator(
        world_id="w",
        n_samples=40,
        param_manifest=umedata.ParameterManifest(
            names=["a", "b", "c"], units=["-"] * 3, bounds=[[0, 1e6]] * 3, defaults=[1, 2, 3]
        ),
        shock_manifest=umedata.ShockManifest(names=["m", "z"], n_shocks=2, sigma=[0.1, 0.2]),
        obs_manifest=umedata.ObservableManifest(canonical_names=["y", "pi"], extra_names=[]),
    )
    g.add_standard_splits(seed=3)
    g.save()
    return umedata.open(path)


def test_split_and_batches(tmp_path):
    ds = splits_dataset(tmp_path / "d")
    train, val, test = ds.split("train"), ds.split("val"), ds.split("test")
    assert len(train) == 32 and len(val) == 4 and len(test) == 4
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(40))
    with pytest.raises(umedata.UmedataError):
        ds.split("training")

    def epoch(seed, epoch=0, **kw):
        return [b["ids"].tolist() for b in ds.batches(5, shuffle=True, seed=seed, split="train", epoch=epoch, **kw)]

    a = epoch(7)
    assert [len(b) for b in a] == [5] * 6 + [2]
    flat = [i for b in a for i in b]
    assert sorted(flat) == sorted(train.tolist())  # each train id exactly once
    assert flat != sorted(flat)  # shuffled
    assert epoch(7) == a  # deterministic for a seed
    assert epoch(8) != a and epoch(7, epoch=1) != a
    assert [len(b) for b in epoch(7, drop_last=True)] == [5] * 6
    # batch contents are the samples of its ids
    for b in ds.batches(8, seed=0, split="val"):
        for j, i in enumerate(b["ids"]):
            check_sample({k: b[k][j] for k in ("theta", "trajectories", "irfs", "shocks")}, int(i))
    # unshuffled over everything, and early stop does not hang
    it = ds.batches(16, shuffle=False)
    assert next(it)["ids"].tolist() == list(range(16))
    it.close()
    # map-style subset (what a DataLoader needs: __len__, __getitem__)
    sub = ds.subset("test")
    assert len(sub) == 4
    check_sample(sub[0], int(test[0]))
    ds2 = pickle.loads(pickle.dumps(ds))
    check_sample(ds2[3], 3)


def test_batch_read_error_is_raised_by_the_iterator(tmp_path):
    with make(tmp_path / "d", 16) as w:
        for i in range(12):
            w.write_sample(i, *sample(i))
    ds = umedata.open(tmp_path / "d")
    it = ds.batches(4, shuffle=False)
    for _ in range(3):
        next(it)
    with pytest.raises(umedata.UmedataError) as e:
        next(it)
    assert e.value.status == umedata.STATUS["NotWritten"]


def test_threads_write_and_read_concurrently(tmp_path):
    n = 64
    w = make(tmp_path / "d", n)
    errors = []

    def writer(k):
        try:
            for i in range(k, n, 4):
                w.write_sample(i, *sample(i))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert not errors
    assert w.finalize()["samples_written"] == n
    ds = umedata.open(tmp_path / "d")
    results = {}

    def reader(k):
        try:
            rng = np.random.default_rng(k)
            for _ in range(20):
                ids = rng.integers(0, n, size=9)
                b = ds.read(ids)
                for j, i in enumerate(ids):
                    np.testing.assert_array_equal(b["theta"][j], sample(int(i))[0].astype(np.float32))
                i = int(rng.integers(0, n))
                check_sample(ds[i], i)
            results[k] = True
        except Exception as e:  # pragma: no cover - reported below
            results[k] = e

    ts = [threading.Thread(target=reader, args=(k,)) for k in range(6)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert results == {k: True for k in range(6)}


def test_writer_context_manager_keeps_data_on_exception(tmp_path):
    with pytest.raises(RuntimeError):
        with make(tmp_path / "d", 10) as w:
            w.write_sample(0, *sample(0))
            raise RuntimeError("simulator failed")
    ds = umedata.open(tmp_path / "d")
    assert ds.samples_written() == 1
    check_sample(ds[0], 0)


def test_resume_writes_the_missing_samples(tmp_path):
    w = make(tmp_path / "d", 20)
    for i in range(0, 20, 2):
        w.write_sample(i, *sample(i))
    w.finalize()
    w = make(tmp_path / "d", 20, resume=True)
    missing = w.missing().tolist()
    assert missing == list(range(1, 20, 2))
    for i in missing:
        w.write_sample(i, *sample(i))
    assert w.finalize()["samples_written"] == 20
    ds = umedata.open(tmp_path / "d")
    for i in range(20):
        check_sample(ds[i], i)


def test_open_without_world_id_needs_a_single_world(tmp_path):
    for wid in ("a", "b"):
        w = umedata.Writer(tmp_path / "d", wid, 2, T, H, P, S, O)
        w.write_sample(0, *sample(0))
        w.finalize()
    with pytest.raises(umedata.UmedataError) as e:
        umedata.open(tmp_path / "d")
    assert e.value.status == umedata.STATUS["InvalidArgument"]
    assert "['a', 'b']" in e.value.message
    check_sample(umedata.open(tmp_path / "d", "b")[0], 0)
