"""Generation from a Python simulator through the engine (umedata.generate, issue #16 item 2
and issue #13): the Rng draws the C stream, threads/stop/resume/parts give identical
arrays, rejections are counted, failures stop cleanly and resume, the AR(1) model in
Python stores what the C plugin stores through `umedata generate --sim`; and the small
leftovers of #16 (ds.read([]), OOD splits from the package).

Needs the package (as test_package.py). The plugin comparison needs the CMake build
(UME_WRITE_DEMO=build/write_demo, as scripts/test.sh sets: libar1.so next to it, the CLI in
the cargo target directory), or UMEDATA_CLI and UMEDATA_PLUGIN_AR1; without them it skips.
"""

from __future__ import annotations

import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

if os.environ.get("UME_REQUIRE_PACKAGE") == "1":
    import umedata
else:
    umedata = pytest.importorskip("umedata", reason="the umedata package is not installed (pip install ./python)")

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "examples_python"))

import generate_ar1  # noqa: E402  (the example is the AR(1) model of examples_c/plugin_ar1.c)

AR1 = generate_ar1.AR1
T, H = generate_ar1.T, generate_ar1.H
ARRAYS = ("theta", "trajectories", "irfs", "shocks")
N = 300
CHUNK = 32


def ar1(i, theta, rng, traj, irfs, shocks):
    return generate_ar1.simulate(i, theta, rng, traj, irfs, shocks)


def gen(path, simulate=ar1, sim=AR1, **kw):
    kw.setdefault("n_samples", None if kw.get("resume") or kw.get("part") else N)
    kw.setdefault("seed", 7)
    kw.setdefault("chunk_samples", CHUNK)
    kw.setdefault("inner_chunk_samples", CHUNK // 2)
    kw.setdefault("durable", False)
    return umedata.generate(path, sim, simulate, **kw)


def stored(path, world="ar1") -> dict:
    """Every array of the world as stored (float32), plus the mask and the split."""
    ds = umedata.open(path, world)
    out = {k: v for k, v in ds.read_range(0, len(ds)).items()} if ds.samples_written() == len(ds) else {}
    out["written"] = ds.mask()
    return out


def assert_identical(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs"


def assert_valid_but_incomplete(path):
    """Stopped runs leave a finalized dataset: every check of validate passes but the one
    that says samples are missing."""
    failed = [c["check"] for c in umedata.validate(path)["checks"] if c["status"] == "FAIL"]
    assert failed == ["ar1: written mask complete"], failed


def draws_record(path) -> dict:
    m = umedata.load_manifest(path)
    return m["config"]["engine"]["theta_draws"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run: 300 samples, seed 7, 1 thread."""
    p = tmp_path_factory.mktemp("ref") / "ar1.zarr"
    s = gen(p, threads=1)
    assert s["written"] == N and s["samples_written"] == N and not s["stopped"]
    return p


# ----------------------------------------------------------------------------- the Rng


def test_rng_draws_the_checked_in_c_vectors():
    """Rng(seed, i) reproduces tests/vectors/rng_chacha20.txt (the values ume_rng_* draw),
    one call at a time and vectorised, including normal's cached second value."""
    vec: dict[tuple, list] = {}
    for line in (REPO / "tests/vectors/rng_chacha20.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        seed, i, kind, k, bits = line.split()
        vec.setdefault((int(seed), int(i), kind), []).append((int(k), int(bits, 16)))
    checked = 0
    for (seed, i, kind), vals in vec.items():
        vals = [b for _, b in sorted(vals)]
        if kind == "u64":
            r = umedata.Rng(seed, i)
            assert [r.next_u64() for _ in vals] == vals
        elif kind in ("uniform", "normal"):
            one = umedata.Rng(seed, i)
            got = [getattr(one, kind)() for _ in vals]
            want = [struct.unpack("<d", struct.pack("<Q", b))[0] for b in vals]
            assert got == want, (seed, i, kind)
            # vectorised: size=n, and fill_* into an odd-length strided view
            assert getattr(umedata.Rng(seed, i), kind)(size=len(vals)).tolist() == want
            buf = np.zeros(2 * len(vals))
            getattr(umedata.Rng(seed, i), f"fill_{kind}")(buf[::2])
            assert buf[::2].tolist() == want and not buf[1::2].any()
            # mixing: one scalar draw then the rest vectorised continues the same stream
            r = umedata.Rng(seed, i)
            first = getattr(r, kind)()
            assert [first] + getattr(r, kind)(size=len(vals) - 1).tolist() == want
        else:
            continue
        checked += len(vals)
    assert checked >= 4000


def test_rng_out_argument_errors():
    r = umedata.Rng(1, 2)
    with pytest.raises(umedata.UmedataError, match="float64"):
        r.fill_normal(np.zeros(4, dtype=np.float32))
    ro = np.zeros(4)
    ro.flags.writeable = False
    with pytest.raises(umedata.UmedataError, match="not writable"):
        r.fill_normal(ro)
    with pytest.raises(umedata.UmedataError, match="size"):
        r.normal(size="x")
    assert r.normal(size=(2, 3)).shape == (2, 3)
    a = np.zeros((2, 3))
    assert umedata.Rng(1, 2).standard_normal(out=a) is a
    assert a.ravel().tolist() == umedata.Rng(1, 2).normal(size=6).tolist()
    b = np.zeros(6)
    assert umedata.Rng(1, 2).standard_normal(b) is b and b.tolist() == a.ravel().tolist()
    with pytest.raises(umedata.UmedataError, match="size or out, not both"):
        r.standard_normal(3, out=a)


def test_rng_is_invalid_after_the_call(tmp_path):
    kept = []

    def sim(i, theta, rng, traj, irfs, shocks):
        assert rng.valid
        kept.append(rng)
        return ar1(i, theta, rng, traj, irfs, shocks)

    gen(tmp_path / "d", sim, n_samples=40)
    assert len(kept) >= 40
    rng = kept[5]
    assert not rng.valid
    for use in (rng.normal, rng.uniform, rng.next_u64, lambda: rng.normal(size=3),
                lambda: rng.fill_normal(np.zeros(3))):
        with pytest.raises(umedata.UmedataError, match=r"lent to simulate for sample \d+ and is no longer valid"):
            use()


# --------------------------------------------------------- determinism: threads, stop, parts


def test_threads_give_identical_arrays(reference, tmp_path):
    want = stored(reference)
    assert want["written"].all()
    for k in (2, 4):
        p = tmp_path / f"t{k}.zarr"
        s = gen(p, threads=k)
        assert s["written"] == N
        assert_identical(stored(p), want)
        assert draws_record(p) == draws_record(reference)


def test_simulate_calls_overlap_when_they_release_the_gil(tmp_path):
    """threads=2: two calls are inside simulate at once while they wait without the GIL
    (as numpy does on large arrays); each call meets another at a barrier, which only
    works if the engine holds the GIL for nothing but the calls themselves."""
    meet = threading.Barrier(2, timeout=120)

    def sim(i, theta, rng, traj, irfs, shocks):
        meet.wait()  # releases the GIL while waiting
        rng.fill_normal(shocks[:, 0])
        traj[:, 0] = np.cumsum(shocks[:, 0])

    sim2 = umedata.Simulator("ar1", T=T, H=H, params=AR1.params, shocks=AR1.shocks, obs=["y"])
    s = gen(tmp_path / "d.zarr", sim, sim=sim2, n_samples=64, threads=2)
    assert s["written"] == 64 and not meet.broken


def test_progress_stop_then_resume_equals_uninterrupted(reference, tmp_path):
    p = tmp_path / "d.zarr"
    calls = []

    def progress(done, total, rate):
        calls.append((done, total))
        return done == 70  # stop

    s = gen(p, threads=2, progress=progress)
    assert s["stopped"] and 70 <= s["written"] < N and s["missing"] == N - s["written"]
    assert calls[0] == (1, N) and all(t == N for _, t in calls)
    assert_valid_but_incomplete(p)  # finalized, manifest written
    s2 = gen(p, resume=True, threads=3)
    assert s2["already"] == s["written"] and s2["written"] == N - s["written"]
    assert_identical(stored(p), stored(reference))
    rec = draws_record(p)
    assert rec == draws_record(reference) and rec["complete"]


def test_max_samples_then_resume(reference, tmp_path):
    p = tmp_path / "d.zarr"
    s = gen(p, max_samples=100)
    assert s["written"] == 100 and s["missing"] == N - 100
    gen(p, resume=True)
    assert_identical(stored(p), stored(reference))


def test_resume_refuses_another_seed_or_simulator(reference, tmp_path):
    p = tmp_path / "d.zarr"
    gen(p, max_samples=10)
    with pytest.raises(umedata.UmedataError, match="seed is 8, but the dataset was generated with 7"):
        gen(p, resume=True, seed=8)
    other = umedata.Simulator("ar1", version="2.0", T=T, H=H, params=AR1.params, shocks=AR1.shocks,
                              obs=AR1.obs, reject_reasons=["near_unit_root"])
    with pytest.raises(umedata.UmedataError, match="the simulator is"):
        gen(p, resume=True, sim=other)


def test_parts_equal_one_run(reference, tmp_path):
    p = tmp_path / "d.zarr"
    opts = dict(n_samples=N, seed=7, chunk_samples=CHUNK, inner_chunk_samples=CHUNK // 2, durable=False)
    umedata.prepare(p, AR1, **opts)
    # two "processes" (threads here) on disjoint chunk-aligned ranges
    errors = []

    def part(start, count):
        try:
            gen(p, part=(start, count), threads=1)
        except BaseException as e:  # handed to the test
            errors.append(e)

    ts = [threading.Thread(target=part, args=a) for a in ((0, 160), (160, N - 160))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    s = umedata.finish(p, AR1, **opts)
    assert s["samples_written"] == N
    assert_identical(stored(p), stored(reference))
    assert draws_record(p) == draws_record(reference)
    assert umedata.validate(p)["failed"] == 0


# --------------------------------------------------------------------------- rejections


def replay_rejections(seed, n, threshold):
    """Rejections of the AR(1) model with `rho > threshold` rejected, replayed from the
    stream: theta per attempt (rho, sigma uniform in the bounds), then T normals."""
    (rlo, rhi), (slo, shi) = [(p.lo, p.hi) for p in AR1.params]
    rejected = 0
    for i in range(n):
        r = umedata.Rng(seed, i)
        while True:
            rho = rlo + (rhi - rlo) * r.uniform()
            r.uniform()  # sigma
            if rho > threshold:
                rejected += 1
                continue
            r.normal(size=T)
            break
    return rejected


def test_rejections_are_counted_per_reason(tmp_path):
    sim = umedata.Simulator("ar1h", T=T, H=H, params=AR1.params, shocks=AR1.shocks, obs=["y"],
                            reject_reasons={1: "near_unit_root", 7: "odd"})

    def half(i, theta, rng, traj, irfs, shocks):
        if theta[0] > 0.6:
            return umedata.Reject("near_unit_root") if i % 2 else 7  # a name, or a code
        return ar1(i, theta, rng, traj, irfs, shocks)

    p = tmp_path / "d.zarr"
    s = gen(p, half, sim=sim, threads=2)
    want = replay_rejections(7, N, 0.6)
    assert want > 50
    assert s["rejected"] == want == sum(s["rejections"].values())
    assert set(s["rejections"]) == {"near_unit_root", "odd"}
    assert s["rejections_by_code"] == {1: s["rejections"]["near_unit_root"], 7: s["rejections"]["odd"]}
    rec = draws_record(p)
    assert rec["rejected"] == s["rejections"] and rec["counted_samples"] == N and rec["complete"]
    theta = stored(p, "ar1h")["theta"]
    assert (theta[:, 0] <= np.float32(0.6)).all()


def test_max_attempts_exhausted_names_the_sample(tmp_path):
    def never(i, theta, rng, traj, irfs, shocks):
        return umedata.Reject(1)

    with pytest.raises(umedata.UmedataError, match=r"sample 0: no accepted draw in max_attempts = 5 attempts \(rejected: near_unit_root × 5\)"):
        gen(tmp_path / "d.zarr", never, max_attempts=5)


@pytest.mark.parametrize(
    "ret, match",
    [
        ("near_unit_root", "the string 'near_unit_root'"),
        (True, "the bool True"),
        (-1, "returned -1"),
        (umedata.Reject("nope"), "reason 'nope', which the simulator does not name"),
        (2.5, "returned 2.5"),
    ],
)
def test_bad_return_values_stop_naming_the_sample(tmp_path, ret, match):
    def sim(i, theta, rng, traj, irfs, shocks):
        return ret if i == 3 else ar1(i, theta, rng, traj, irfs, shocks)

    with pytest.raises(umedata.SimulationError, match=match) as e:
        gen(tmp_path / "d.zarr", sim)
    assert e.value.sample == 3 and "sample 3" in str(e.value)


def test_reject_arguments():
    for bad in (0, -3, "", True, 1.5, None):
        with pytest.raises(umedata.UmedataError, match="Reject reason"):
            umedata.Reject(bad)
    assert umedata.Reject(3).reason == 3 and repr(umedata.Reject("x")) == "umedata.Reject('x')"


# ------------------------------------------------------------------- failures and resume


@pytest.mark.parametrize("threads", [1, 2])
def test_exception_in_simulate_stops_cleanly_and_resumes(reference, tmp_path, threads):
    p = tmp_path / "d.zarr"

    def boom(i, theta, rng, traj, irfs, shocks):
        if i == 137:
            raise ValueError("no convergence")
        return ar1(i, theta, rng, traj, irfs, shocks)

    with pytest.raises(umedata.SimulationError, match=r"sample 137: simulate failed: ValueError: no convergence") as e:
        gen(p, boom, threads=threads)
    assert e.value.sample == 137
    assert isinstance(e.value.__cause__, ValueError) and str(e.value.__cause__) == "no convergence"
    assert isinstance(e.value, umedata.UmedataError) and e.value.kind == "InvalidArgument"
    ds = umedata.open(p)
    written = ds.samples_written()
    assert 0 < written < N and not ds.mask()[137]
    assert_valid_but_incomplete(p)
    gen(p, resume=True, threads=threads)
    assert_identical(stored(p), stored(reference))
    assert draws_record(p) == draws_record(reference)
    assert umedata.validate(p)["failed"] == 0


def test_exception_in_progress_is_raised_after_a_clean_stop(reference, tmp_path):
    p = tmp_path / "d.zarr"

    def progress(done, total, rate):
        if done == 40:
            raise RuntimeError("progress bar broke")

    with pytest.raises(RuntimeError, match="progress bar broke"):
        gen(p, progress=progress)
    gen(p, resume=True)
    assert_identical(stored(p), stored(reference))


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_cleanly_and_resumes(reference, tmp_path):
    """SIGINT while generate runs: the handler runs on the main thread (which waits in
    generate), the run stops after the samples in flight, KeyboardInterrupt is raised once
    everything is stored, and resume completes the identical dataset."""
    p = tmp_path / "d.zarr"
    handled = threading.Event()

    def handler(signum, frame):
        handled.set()
        raise KeyboardInterrupt

    gave_up = threading.Event()

    def sim(i, theta, rng, traj, irfs, shocks):
        if i == 50:
            os.kill(os.getpid(), signal.SIGINT)
        if i >= 50 and not gave_up.is_set():
            # no sample after 50 until the main thread saw the signal (the timeout only
            # keeps a broken build from hanging: the count below then fails)
            if not handled.wait(timeout=120):
                gave_up.set()
        return ar1(i, theta, rng, traj, irfs, shocks)

    old = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            gen(p, sim, threads=1)
    finally:
        signal.signal(signal.SIGINT, old)
    written = umedata.open(p).samples_written()
    assert 50 <= written <= 52, written  # 1 thread: sample 50 and at most the next one
    assert_valid_but_incomplete(p)
    gen(p, resume=True)
    assert_identical(stored(p), stored(reference))


def test_arrays_handed_to_simulate(tmp_path):
    seen = {}

    def sim(i, theta, rng, traj, irfs, shocks):
        if i == 0:
            seen.update(theta=theta, traj=traj, irfs=irfs, shocks=shocks)
            assert not theta.flags.writeable
            with pytest.raises(ValueError):
                theta[0] = 1.0
            for a in (traj, irfs, shocks):
                assert a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable and not a.any()
        return ar1(i, theta, rng, traj, irfs, shocks)

    gen(tmp_path / "d.zarr", sim, n_samples=32)
    assert seen["traj"].shape == (T, 1) and seen["irfs"].shape == (1, H + 1, 1) and seen["shocks"].shape == (T, 1)
    assert seen["theta"].shape == (2,)
    # kept arrays are the call's own: the stored sample 0 is what they hold
    got = umedata.open(tmp_path / "d.zarr")[0]
    np.testing.assert_array_equal(got["trajectories"], seen["traj"].astype(np.float32))


def test_resized_output_is_an_error(tmp_path):
    def sim(i, theta, rng, traj, irfs, shocks):
        traj.resize((3,), refcheck=False)

    with pytest.raises(umedata.SimulationError, match="changed the size of trajectories"):
        gen(tmp_path / "d.zarr", sim)


def test_table_design(tmp_path):
    table = np.column_stack([np.linspace(0.0, 0.9, N), np.linspace(0.1, 1.0, N)])
    p = tmp_path / "d.zarr"
    gen(p, design="table", theta_table=table, threads=2)
    np.testing.assert_array_equal(stored(p)["theta"], table.astype(np.float32))
    with pytest.raises(umedata.UmedataError, match="theta table has 4 values"):
        gen(tmp_path / "e.zarr", design="table", theta_table=table[:2])
    with pytest.raises(umedata.UmedataError, match="pass design='table'"):
        gen(tmp_path / "f.zarr", theta_table=table)


def test_simulator_description_errors():
    with pytest.raises(umedata.UmedataError, match=r"bounds of parameter 'a' are \[1, 0\]"):
        umedata.Simulator("x", T=5, H=1, params=[("a", 1.0, 0.0)], obs=["y"])
    with pytest.raises(umedata.UmedataError, match="no observables"):
        umedata.Simulator("x", T=5, H=1, params=[("a", 0.0, 1.0)], obs=[])
    with pytest.raises(umedata.UmedataError, match="simulate is not callable"):
        umedata.generate("/nonexistent/x", AR1, None, n_samples=1)
    s = umedata.Simulator("x", T=5, H=1, params=[umedata.Param("a", 0.0, 2.0, unit="m")], shocks=["e"], obs=["y"])
    d = s.to_dict()
    assert d["params"] == [{"name": "a", "lo": 0.0, "hi": 2.0, "default": 1.0, "unit": "m"}]
    assert d["shocks"] == [{"name": "e", "sigma": 1.0}]


# ------------------------------------------------- the same stream as C: the plugin's data


def find_cli_and_plugin():
    cli, plugin = os.environ.get("UMEDATA_CLI"), os.environ.get("UMEDATA_PLUGIN_AR1")
    demo = os.environ.get("UME_WRITE_DEMO")
    if demo and not (cli and plugin):
        build = Path(demo).resolve().parent
        cache = build / "CMakeCache.txt"
        target = REPO / "target"
        if cache.is_file():
            m = re.search(r"^UMEDATA_CARGO_TARGET_DIR:PATH=(.*)$", cache.read_text(), flags=re.M)
            if m:
                target = Path(m.group(1))
        cli = cli or str(target / "release" / "umedata")
        plugin = plugin or str(build / "libar1.so")
    if not (cli and plugin):
        pytest.skip("the CLI and examples_c/plugin_ar1.c are not built: set UME_WRITE_DEMO=build/write_demo "
                    "(CMake build) or UMEDATA_CLI and UMEDATA_PLUGIN_AR1")
    for what, f in (("the umedata CLI", cli), ("libar1.so", plugin)):
        if not Path(f).is_file():
            pytest.skip(f"{what} is not built ({f} missing; CMake with UMEDATA_BUILD_EXAMPLES and UMEDATA_BUILD_CLI)")
    return cli, plugin


@pytest.mark.parametrize("threads", [1, 3])
def test_python_ar1_equals_the_c_plugin(tmp_path, threads):
    cli, plugin = find_cli_and_plugin()
    n, seed = 500, 2024
    c_out, py_out = tmp_path / "c.zarr", tmp_path / "py.zarr"
    proc = subprocess.run(
        [cli, "generate", "--sim", plugin, "-n", str(n), "--seed", str(seed), "--threads", "2",
         "--chunk-samples", "64", "-q", "-o", str(c_out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    s = umedata.generate(py_out, AR1, generate_ar1.simulate, n_samples=n, seed=seed, threads=threads,
                         chunk_samples=64)
    a, b = stored(c_out), stored(py_out)
    assert a["written"].all()
    for k in ARRAYS + ("written",):
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)  # value for value
    assert s["rejections"] == draws_record(c_out)["rejected"] == draws_record(py_out)["rejected"]
    assert sum(s["rejections"].values()) > 0  # the comparison covered redraws
    # the splits are computed from the same theta with the same default rule
    assert np.array_equal(umedata.open(c_out)._reader.split_assignment(),
                          umedata.open(py_out)._reader.split_assignment())
    proc = subprocess.run([cli, "validate", str(py_out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_python_sobol_design_equals_the_c_plugin(tmp_path):
    """design="sobol" draws the C engine's Sobol points (`generate --design sobol`), value
    for value, and not the uniform design's; an unknown design is refused."""
    cli, plugin = find_cli_and_plugin()
    n, seed = 256, 7
    c_out, py_out, uni = tmp_path / "c.zarr", tmp_path / "py.zarr", tmp_path / "u.zarr"
    proc = subprocess.run(
        [cli, "generate", "--sim", plugin, "-n", str(n), "--seed", str(seed), "--design", "sobol",
         "--chunk-samples", "64", "-q", "-o", str(c_out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    umedata.generate(py_out, AR1, generate_ar1.simulate, n_samples=n, seed=seed, threads=2, chunk_samples=64,
                     design="sobol")
    umedata.generate(uni, AR1, generate_ar1.simulate, n_samples=n, seed=seed, chunk_samples=64)
    a, b = stored(c_out), stored(py_out)
    for k in ARRAYS + ("written",):
        np.testing.assert_array_equal(b[k], a[k], err_msg=k)
    assert not np.array_equal(b["theta"], stored(uni)["theta"])
    with pytest.raises(umedata.UmedataError, match="expected 'uniform', 'sobol' or 'table'"):
        gen(tmp_path / "x.zarr", design="halton")


def test_validate_and_reproduce_through_python(reference):
    r = umedata.validate(reference)
    assert r["failed"] == 0 and r["passed"] > 0
    r = umedata.validate_simulated(reference, AR1, ar1, reproduce=25)
    rep = [c for c in r["checks"] if "reproduce" in c["check"]]
    assert r["failed"] == 0 and rep and all(c["status"] == "PASS" for c in rep), rep

    def changed(i, theta, rng, traj, irfs, shocks):
        out = ar1(i, theta, rng, traj, irfs, shocks)
        traj *= 1.5
        return out

    r = umedata.validate_simulated(reference, AR1, changed, reproduce=25)
    assert r["failed"] >= 1


def test_example_runs(tmp_path):
    out = tmp_path / "ar1.zarr"
    proc = subprocess.run([sys.executable, str(REPO / "examples_python/generate_ar1.py"), str(out), "200", "2"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrote 200 samples of 'ar1'" in proc.stdout and ", 0 failed" in proc.stdout
    assert umedata.open(out).samples_written() == 200


# ------------------------------------------------------------------ leftovers of issue #16


def test_read_of_no_ids_is_empty(reference):
    ds = umedata.open(reference)
    for ids in ([], (), np.array([], dtype=np.int64), np.zeros((0,))):
        b = ds.read(ids)
        assert b["theta"].shape == (0, 2) and b["trajectories"].shape == (0, T, 1)
        assert b["irfs"].shape == (0, 1, H + 1, 1) and b["shocks"].shape == (0, T, 1)
        assert all(v.dtype == np.float32 for v in b.values())
    assert ds[[]]["theta"].shape == (0, 2)
    assert umedata.open(reference, float64=True).read([])["irfs"].dtype == np.float64


OOD = umedata.split_rule(0.7, 0.2, 0.1, seed=3, ood=[
    {"kind": "slice", "param": "rho", "units": "natural", "range": [0.5, 0.6]},
    {"kind": "corner", "params": ["rho", "sigma"], "k": 2, "q": 0.1},
])


def check_ood(path):
    ds = umedata.open(path)
    theta = ds.read_range(0, len(ds))["theta"]
    band = ds.split("ood_slice")
    assert len(band) > 0 and len(ds.split("ood_corner")) > 0
    assert ((theta[band, 0] >= np.float32(0.5)) & (theta[band, 0] <= np.float32(0.6))).all()
    rest = np.setdiff1d(np.arange(len(ds)), band)
    inside = (theta[rest, 0] >= np.float32(0.5)) & (theta[rest, 0] <= np.float32(0.6))
    assert not inside.any()
    m = umedata.load_manifest(path)
    assert [o["kind"] for o in m["splits"]["ar1"]["rule"]["ood"]] == ["slice", "corner"]


def test_ood_splits_from_generate(tmp_path):
    p = tmp_path / "d.zarr"
    gen(p, split=OOD)
    check_ood(p)
    with pytest.raises(umedata.UmedataError, match="'nope'"):
        gen(tmp_path / "e.zarr", split=umedata.split_rule(ood=[{"kind": "slice", "param": "nope", "units": "natural", "range": [0, 1]}]))


def test_ood_splits_from_the_manifest_generator(reference, tmp_path):
    import shutil

    p = tmp_path / "copy.zarr"
    shutil.copytree(reference, p)
    (p / "manifest.json").unlink()
    g = umedata.ManifestGenerator("1.0.0", p, 7, T, H)
    g.add_simulator("ar1", N,
                    umedata.ParameterManifest(["rho", "sigma"], bounds=[[0.0, 0.99], [0.1, 1.0]], defaults=[0.5, 0.5]),
                    umedata.ShockManifest(["eps"], sigma=[1.0]), umedata.ObservableManifest(["y"]))
    g.add_splits(OOD)
    g.save()
    check_ood(p)
