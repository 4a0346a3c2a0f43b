"""Generate a dataset from a Python simulator through umedata's engine.

The AR(1) economy of examples_c/plugin_ar1.c, y_t = rho y_{t-1} + sigma e_t, written in
Python: for the same seed it stores the same samples as
`umedata generate --sim libar1.so` (the Rng lent to `simulate` draws what the C
`ume_rng_*` functions draw, in the same order).

    python examples_python/generate_ar1.py runs/ar1.zarr [n_samples] [threads]
"""

from __future__ import annotations

import sys

import numpy as np

import umedata

T, H = 100, 20

AR1 = umedata.Simulator(
    "ar1",
    version="1.0",
    T=T,
    H=H,
    params=[("rho", 0.0, 0.99), ("sigma", 0.1, 1.0)],
    shocks=[("eps", 1.0)],
    obs=["y"],
    reject_reasons=["near_unit_root"],
)


def simulate(i, theta, rng, trajectories, irfs, shocks):
    """One sample: reject near-unit-root draws (redrawn by the engine), else fill the
    shocks from the sample's stream and the trajectory and IRF in place."""
    rho, sigma = float(theta[0]), float(theta[1])
    if rho > 0.98:
        return umedata.Reject("near_unit_root")
    eps = shocks[:, 0]
    rng.fill_normal(eps)  # the T normals ume_rng_fill_normal would draw
    y, ys = 0.0, []
    for e in eps.tolist():  # plain floats: the C recursion, operation for operation
        y = rho * y + sigma * e
        ys.append(y)
    trajectories[:, 0] = ys
    # irfs[h] = irfs[h-1] * rho, irfs[0] = sigma: a sequential product, as in C
    irfs[0, :, 0] = np.cumprod(np.r_[sigma, np.full(H, rho)])
    return None  # accept


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    out = argv[1]
    n = int(argv[2]) if len(argv) > 2 else 10_000
    threads = int(argv[3]) if len(argv) > 3 else 1
    s = umedata.generate(out, AR1, simulate, n_samples=n, seed=42, threads=threads, overwrite=True)
    print(
        f"wrote {s['written']} samples of '{s['world_id']}' to {out}; "
        f"theta redrawn: {s['rejections'] or 'none'}"
    )
    report = umedata.validate(out)
    print(f"validate: {report['passed']} passed, {report['failed']} failed")
    return 0 if report["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
