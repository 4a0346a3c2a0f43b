"""Time per sample of the generation engine driven by a Python simulator, against the same
model through the C plugin (issue 16 item 2): the AR(1) economy of examples_c/plugin_ar1.c
(T=100, H=20; examples_python/generate_ar1.py in Python), N samples, same seed.

    python bench/bench_python_engine.py --cli target/release/umedata --plugin build/libar1.so \
        [--n 20000] [--threads 1] [--dir /tmp/ume-bench-engine] [--repeat 3]

Rows: `umedata generate --sim libar1.so` (wall time of the process, so it includes its
start and the manifest, a few ms), `umedata.generate` with the Python simulator, and the
Python simulator called in a plain loop with a standalone Rng (no engine, nothing stored:
the floor of the Python cost). The best of --repeat runs of each; the arrays of the two
datasets are compared value for value. One machine, one load: figures depend on both.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import umedata

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples_python"))
import generate_ar1  # noqa: E402

SEED = 42


def best(f, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True, help="the umedata CLI (target/release/umedata)")
    ap.add_argument("--plugin", required=True, help="libar1.so (CMake build of examples_c/plugin_ar1.c)")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/ume-bench-engine")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    d = Path(a.dir)
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    c_out, py_out = d / "c.zarr", d / "py.zarr"

    def c_run():
        subprocess.run(
            [a.cli, "generate", "--sim", a.plugin, "-n", str(a.n), "--seed", str(SEED),
             "--threads", str(a.threads), "--overwrite", "-q", "-o", str(c_out)],
            check=True,
        )

    def py_run():
        umedata.generate(py_out, generate_ar1.AR1, generate_ar1.simulate, n_samples=a.n, seed=SEED,
                         threads=a.threads, overwrite=True)

    def py_loop():
        theta = np.array([0.5, 0.5])
        traj, irfs, shocks = np.zeros((100, 1)), np.zeros((1, 21, 1)), np.zeros((100, 1))
        for i in range(a.n):
            generate_ar1.simulate(i, theta, umedata.Rng(SEED, i), traj, irfs, shocks)

    t_c = best(c_run, a.repeat)
    t_py = best(py_run, a.repeat)
    t_loop = best(py_loop, a.repeat)
    x, y = umedata.open(c_out), umedata.open(py_out)
    same = all(
        np.array_equal(u, v) for u, v in zip(x.read_range(0, a.n).values(), y.read_range(0, a.n).values())
    )
    load = os.getloadavg()[0]
    us = lambda t: 1e6 * t / a.n  # noqa: E731
    print(f"AR(1), T=100, H=20, N={a.n}, {a.threads} thread(s), best of {a.repeat}; load average {load:.2f} on {os.cpu_count()} cores")
    print("| run | total s | µs/sample | vs C plugin |")
    print("|---|---:|---:|---:|")
    print(f"| umedata generate --sim libar1.so (C) | {t_c:.2f} | {us(t_c):.1f} | 1.0 |")
    print(f"| umedata.generate, Python simulator | {t_py:.2f} | {us(t_py):.1f} | {t_py / t_c:.1f} |")
    print(f"| the Python simulator alone (loop, nothing stored) | {t_loop:.2f} | {us(t_loop):.1f} | {t_loop / t_c:.1f} |")
    print(f"arrays equal value for value: {same}")
    if not a.keep:
        shutil.rmtree(d, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
