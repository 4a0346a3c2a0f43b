"""Python-side benchmark of the umedata package against zarr-python, on the same data,
in one run (issue 16, first slice: random single-sample reads and shuffled batches).

    python bench/bench_python.py [--n 20000] [--dir /tmp/ume-bench-py] [--keep]

Writes a world of N samples (T=200, H=40, 8 parameters, 3 shocks, 3 observables; the
prototype's shapes) with umedata (batched writes, default codec blosc-lz4 and chunking),
then reads it back:

* random single sample: `ds[i]` (umedata) against zarr-python reading the four arrays at
  index i of the same dataset; median and p90 over random ids;
* shuffled batches of 256: `ds.read(ids)` (umedata: ids grouped by inner chunk, decoded
  in parallel without the GIL) against zarr-python's `oindex[sorted ids]` on the four
  arrays, then put back in the shuffled order; median per batch;
* writes from Python: `write_sample` per sample and `write_samples` in chunk-sized
  batches, per sample.

Prints a table with the ratios. One run; figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

import numpy as np

import umedata

T, H, P, S, O = 200, 40, 8, 3, 3
ARRAYS = ("theta", "trajectories", "irfs", "shocks")


def pool(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(0, 1, (n, P)),
        rng.standard_normal((n, T, O)).astype(np.float32),
        rng.standard_normal((n, S, H + 1, O)).astype(np.float32),
        rng.standard_normal((n, T, S)).astype(np.float32),
    )


def stats(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(0.9 * (len(xs) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--dir", default="/tmp/ume-bench-py")
    ap.add_argument("--random", type=int, default=300, help="random single-sample reads")
    ap.add_argument("--batches", type=int, default=10, help="shuffled batches of 256")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    per_dir = a.dir + "-per-sample"
    shutil.rmtree(a.dir, ignore_errors=True)
    shutil.rmtree(per_dir, ignore_errors=True)
    n = a.n
    src = pool(4096)
    rows = []

    # ---- writes
    w = umedata.Writer(per_dir, "nk", 4096, T, H, P, S, O)
    t0 = time.perf_counter()
    for i in range(4096):
        w.write_sample(i, src[0][i], src[1][i], src[2][i], src[3][i])
    w.finalize()
    per_sample_us = (time.perf_counter() - t0) / 4096 * 1e6

    w = umedata.Writer(a.dir, "nk", n, T, H, P, S, O)
    cs = w.chunk_samples
    t0 = time.perf_counter()
    for s in range(0, n, cs):
        m = min(cs, n - s)
        idx = np.arange(s, s + m) % 4096
        w.write_samples(s, *(x[idx] for x in src))
    summary = w.finalize()
    batched_us = (time.perf_counter() - t0) / n * 1e6
    rows.append(("write_sample (per sample, 4096 samples)", f"{per_sample_us:.1f} us/sample", "", ""))
    rows.append((f"write_samples (batches of {cs}, {n} samples)", f"{batched_us:.1f} us/sample", "", ""))

    ds = umedata.open(a.dir, "nk")
    info = ds.info
    rng = np.random.default_rng(1)

    # ---- random single sample
    ids = rng.integers(0, n, a.random)
    ds[int(ids[0])]
    lat = []
    for i in ids:
        t0 = time.perf_counter()
        ds[int(i)]
        lat.append(time.perf_counter() - t0)
    u_med, u_p90 = stats(lat)

    import zarr

    g = zarr.open_group(os.path.join(a.dir, "nk"), mode="r")
    za = [g[k] for k in ARRAYS]
    [z[int(ids[0])] for z in za]
    lat = []
    for i in ids:
        t0 = time.perf_counter()
        [z[int(i)] for z in za]
        lat.append(time.perf_counter() - t0)
    z_med, z_p90 = stats(lat)
    rows.append(
        (
            "random single sample, median (p90)",
            f"{u_med * 1e3:.3f} ms ({u_p90 * 1e3:.3f})",
            f"{z_med * 1e3:.3f} ms ({z_p90 * 1e3:.3f})",
            f"{z_med / u_med:.1f}x",
        )
    )

    # ---- shuffled batches of 256
    order = rng.permutation(n)
    bs = 256
    batches = [order[k * bs : (k + 1) * bs] for k in range(a.batches)]
    # check once that both read the same values
    b = ds.read(batches[0])
    srt = np.sort(batches[0])
    zb = za[1].oindex[srt]
    pos = np.searchsorted(srt, batches[0])
    assert np.array_equal(b["trajectories"], zb[pos]), "umedata and zarr-python disagree"
    ut = []
    for ids_b in batches:
        t0 = time.perf_counter()
        ds.read(ids_b)
        ut.append(time.perf_counter() - t0)
    zt = []
    for ids_b in batches:
        t0 = time.perf_counter()
        srt = np.sort(ids_b)
        pos = np.searchsorted(srt, ids_b)
        [z.oindex[srt][pos] for z in za]
        zt.append(time.perf_counter() - t0)
    ub, zbm = statistics.median(ut), statistics.median(zt)
    rows.append(
        (
            "shuffled batch of 256, median",
            f"{ub * 1e3:.2f} ms",
            f"{zbm * 1e3:.2f} ms",
            f"{zbm / ub:.1f}x",
        )
    )
    # the iterator with read-ahead, one pass over the batches
    t0 = time.perf_counter()
    k = 0
    for _ in ds.batches(bs, seed=3, ids=np.concatenate(batches)):
        k += 1
    it = (time.perf_counter() - t0) / k
    rows.append(("ds.batches(256) read-ahead iterator, per batch", f"{it * 1e3:.2f} ms", "", ""))

    print(
        f"umedata {umedata.__version__} vs zarr-python {zarr.__version__}; world: {n} samples, "
        f"chunk {info['chunk_samples']}, inner chunk {info['inner_chunk_samples']}, codec {info['codec']}, "
        f"trajectories ratio {summary['arrays']['trajectories']['ratio']:.3f}; {os.cpu_count()} cores"
    )
    print(f"| {'measure':<48} | {'umedata':>22} | {'zarr-python':>22} | {'ratio':>7} |")
    print(f"|{'-' * 50}|{'-' * 24}|{'-' * 24}|{'-' * 9}|")
    for r in rows:
        print(f"| {r[0]:<48} | {r[1]:>22} | {r[2]:>22} | {r[3]:>7} |")
    shutil.rmtree(per_dir, ignore_errors=True)
    if not a.keep:
        shutil.rmtree(a.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
