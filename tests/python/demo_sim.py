"""NumPy re-implementation of the demo simulator of examples_c/write_demo.c.

The formula is fixed in docs/c-api-draft.md ("Demo simulator"). Everything is computed
in float64 in the same operation order as the C code, vectorised over samples:

* splitmix64 with uint64 wrapping arithmetic (numpy uint64 arrays wrap silently);
* uniform() = (next() >> 11) * 2**-53, exact;
* normal() = sqrt(-2*log(1-u1)) * cos(2*pi*u2), with log and cos taken from the C
  library through Python's ``math`` module (numpy's own SIMD log/cos may differ from
  glibc by an ulp; ``math`` calls libm, like the C demo);
* y_t = A y_{t-1} + B e_t, summed in index order p then k, starting from 0.0.

Only the final values are rounded to float32, as the writer does with f64 input.
"""

from __future__ import annotations

import math

import numpy as np

GLOBAL_SEED = 42
T, H, N_PARAMS, N_SHOCKS, N_OBS = 200, 40, 8, 3, 3

PARAM_NAMES = ("beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m")
SHOCK_NAMES = ("monetary", "technology", "cost_push")
OBS_NAMES = ("output", "inflation", "rate")

# The interop tests run `write_demo <dir> N_SAMPLES CHUNK_SAMPLES` (world WORLD):
# 5 chunks along the sample axis, the last one partial (44 samples).
N_SAMPLES, CHUNK_SAMPLES, WORLD = 300, 64, "nk"

# (lo, hi) per parameter, in PARAM_NAMES order
BOUNDS = (
    (0.985, 0.995),  # beta
    (0.5, 2.5),  # sigma
    (1.05, 3.5),  # phi_pi
    (0.0, 1.0),  # phi_y
    (0.0, 0.9),  # rho_i
    (0.0, 0.95),  # rho_a
    (0.001, 0.02),  # sigma_a
    (0.001, 0.01),  # sigma_m
)

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TWO_M53 = 2.0**-53

_log = np.frompyfunc(math.log, 1, 1)
_cos = np.frompyfunc(math.cos, 1, 1)
_sqrt = np.frompyfunc(math.sqrt, 1, 1)


class SplitMix64:
    """One splitmix64 stream per sample, advanced together (state is a uint64 array)."""

    def __init__(self, seeds: np.ndarray):
        self.state = np.array(seeds, dtype=np.uint64, copy=True)

    def next(self) -> np.ndarray:
        self.state = self.state + _GAMMA  # wraps mod 2**64
        z = self.state
        z = (z ^ (z >> _S30)) * _M1
        z = (z ^ (z >> _S27)) * _M2
        return z ^ (z >> _S31)

    def uniform(self) -> np.ndarray:
        return (self.next() >> _S11).astype(np.float64) * _TWO_M53

    def normal(self) -> np.ndarray:
        u1 = self.uniform()
        u2 = self.uniform()
        r = _sqrt(-2.0 * _log(1.0 - u1).astype(np.float64)).astype(np.float64)
        c = _cos(2.0 * math.pi * u2).astype(np.float64)
        return r * c


def _dot3(m, y, b, e):
    """sum_p m[p]*y[p] + sum_k b[k]*e[k], accumulated left to right from 0.0."""
    acc = 0.0
    for p in range(3):
        acc = acc + m[p] * y[p]
    for k in range(3):
        acc = acc + b[k] * e[k]
    return acc


def matrices(theta: np.ndarray):
    """A[o][p] and B[o][k] as nested lists of per-sample float64 arrays (or scalars)."""
    sigma, phi_pi, phi_y, rho_i, rho_a, sigma_a, sigma_m = (theta[..., j] for j in range(1, 8))
    zero = np.zeros_like(sigma)
    a = [
        [0.9 * rho_a, zero, -0.05 / sigma],
        [0.02 * phi_y, 0.3 + 0.4 * rho_i, zero],
        [zero, 0.02 * (phi_pi - 1.0), rho_i],
    ]
    b = [
        [-0.5 * sigma_m, sigma_a, zero],
        [zero, -0.3 * sigma_a, zero + 0.005],
        [sigma_m, zero, zero],
    ]
    return a, b


def _path(a, b, e: np.ndarray, n_steps: int) -> np.ndarray:
    """y_t for t < n_steps from y_{-1} = 0; e has shape (n, >=n_steps, 3). Returns (n, n_steps, 3)."""
    n = e.shape[0]
    out = np.empty((n, n_steps, 3), dtype=np.float64)
    y = [np.zeros(n), np.zeros(n), np.zeros(n)]
    for t in range(n_steps):
        et = [e[:, t, 0], e[:, t, 1], e[:, t, 2]]
        y = [_dot3(a[o], y, b[o], et) for o in range(3)]
        for o in range(3):
            out[:, t, o] = y[o]
    return out


def simulate(n_samples: int, start: int = 0, seed: int = GLOBAL_SEED, dtype=np.float32):
    """Samples start..start+n_samples-1 of the demo world.

    Returns a dict with theta (n,8), trajectories (n,T,3), irfs (n,3,H+1,3), shocks (n,T,3)
    in `dtype` (float32 = what the writer stores; float64 = the simulator's own values).
    """
    idx = np.arange(start, start + n_samples, dtype=np.uint64)
    rng = SplitMix64(np.uint64(seed) + idx)

    theta = np.empty((n_samples, N_PARAMS), dtype=np.float64)
    for j, (lo, hi) in enumerate(BOUNDS):
        theta[:, j] = lo + (hi - lo) * rng.uniform()

    e = np.empty((n_samples, T, N_SHOCKS), dtype=np.float64)
    for t in range(T):
        for k in range(N_SHOCKS):
            e[:, t, k] = rng.normal()

    a, b = matrices(theta)
    traj = _path(a, b, e, T)

    irfs = np.empty((n_samples, N_SHOCKS, H + 1, N_OBS), dtype=np.float64)
    base = _path(a, b, e, H + 1)
    for k in range(N_SHOCKS):
        es = e[:, : H + 1, :].copy()
        es[:, 0, k] = es[:, 0, k] + 1.0
        irfs[:, k] = _path(a, b, es, H + 1) - base

    return {
        "theta": theta.astype(dtype),
        "trajectories": traj.astype(dtype),
        "irfs": irfs.astype(dtype),
        "shocks": e.astype(dtype),
    }


# ---- scalar reference (pure Python ints/floats), used to cross-check the vectorised code ----

_MASK = (1 << 64) - 1


def splitmix64_scalar(state: int):
    """Generator of splitmix64 outputs from `state` (Python ints, explicit mod 2**64)."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & _MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        yield z ^ (z >> 31)


def simulate_one_scalar(i: int, seed: int = GLOBAL_SEED):
    """Sample i in float64 with plain Python scalars: (theta, traj, irfs, shocks) as lists."""
    gen = splitmix64_scalar((seed + i) & _MASK)

    def uniform():
        return (next(gen) >> 11) * 2.0**-53

    def normal():
        u1 = uniform()
        u2 = uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    theta = [lo + (hi - lo) * uniform() for lo, hi in BOUNDS]
    e = [[normal() for _ in range(N_SHOCKS)] for _ in range(T)]
    _, sigma, phi_pi, phi_y, rho_i, rho_a, sigma_a, sigma_m = theta
    a = [
        [0.9 * rho_a, 0.0, -0.05 / sigma],
        [0.02 * phi_y, 0.3 + 0.4 * rho_i, 0.0],
        [0.0, 0.02 * (phi_pi - 1.0), rho_i],
    ]
    b = [[-0.5 * sigma_m, sigma_a, 0.0], [0.0, -0.3 * sigma_a, 0.005], [sigma_m, 0.0, 0.0]]

    def path(ee, n):
        y = [0.0, 0.0, 0.0]
        out = []
        for t in range(n):
            y = [_dot3(a[o], y, b[o], ee[t]) for o in range(3)]
            out.append(y)
        return out

    traj = path(e, T)
    base = path(e, H + 1)
    irfs = []
    for k in range(N_SHOCKS):
        es = [row[:] for row in e[: H + 1]]
        es[0][k] += 1.0
        shocked = path(es, H + 1)
        irfs.append([[shocked[h][o] - base[h][o] for o in range(3)] for h in range(H + 1)])
    return theta, traj, irfs, e
