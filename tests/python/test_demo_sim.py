"""Self-checks of the NumPy demo simulator (no umedata binary needed)."""

import numpy as np
import pytest

import demo_sim as sim


def test_splitmix64_known_values():
    # Reference outputs of splitmix64 seeded with 1234567 (Vigna's splitmix64.c).
    gen = sim.splitmix64_scalar(1234567)
    assert [next(gen) for _ in range(3)] == [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
    ]


def test_vectorised_rng_matches_scalar():
    seeds = np.array([0, 42, 2**64 - 1, 12345678901234567890], dtype=np.uint64)
    rng = sim.SplitMix64(seeds)
    gens = [sim.splitmix64_scalar(int(s)) for s in seeds]
    for _ in range(50):
        got = rng.next()
        assert [int(v) for v in got] == [next(g) for g in gens]


def test_uniform_and_normal_ranges():
    rng = sim.SplitMix64(np.arange(1000, dtype=np.uint64))
    u = np.stack([rng.uniform() for _ in range(20)])
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.01
    z = np.concatenate([rng.normal() for _ in range(50)])
    assert np.isfinite(z).all()
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1.0) < 0.02


@pytest.fixture(scope="module")
def sim64():
    return sim.simulate(40, dtype=np.float64)


def test_shapes_and_dtypes():
    out = sim.simulate(5)
    assert out["theta"].shape == (5, 8)
    assert out["trajectories"].shape == (5, 200, 3)
    assert out["irfs"].shape == (5, 3, 41, 3)
    assert out["shocks"].shape == (5, 200, 3)
    assert all(v.dtype == np.float32 for v in out.values())


def test_vectorised_equals_scalar_bitwise(sim64):
    for i in (0, 1, 17, 39):
        theta, traj, irfs, e = sim.simulate_one_scalar(i)
        np.testing.assert_array_equal(sim64["theta"][i], theta)
        np.testing.assert_array_equal(sim64["shocks"][i], e)
        np.testing.assert_array_equal(sim64["trajectories"][i], traj)
        np.testing.assert_array_equal(sim64["irfs"][i], irfs)


def test_offset_start_is_same_stream(sim64):
    part = sim.simulate(5, start=30, dtype=np.float64)
    for k in part:
        np.testing.assert_array_equal(part[k], sim64[k][30:35])


def test_theta_within_bounds(sim64):
    lo = np.array([b[0] for b in sim.BOUNDS])
    hi = np.array([b[1] for b in sim.BOUNDS])
    assert (sim64["theta"] >= lo).all() and (sim64["theta"] < hi).all()


def test_stable_and_finite(sim64):
    # A is lower-triangular-ish with spectral radius < 1 for all bounds: paths stay small.
    for k in ("trajectories", "irfs", "shocks"):
        assert np.isfinite(sim64[k]).all()
    assert np.abs(sim64["trajectories"]).max() < 1.0
    for th in sim64["theta"]:
        a, _ = sim.matrices(th)
        rho = max(abs(np.linalg.eigvals(np.array(a, dtype=float))))
        assert rho < 1.0


def test_irfs_are_impulse_responses(sim64):
    # Linear model: IRF of shock k is independent of the driving noise, IRF[0] = B[:, k],
    # IRF[h] = A IRF[h-1].
    th = sim64["theta"][3]
    a, b = sim.matrices(th)
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    irf = sim64["irfs"][3]
    for k in range(3):
        np.testing.assert_allclose(irf[k, 0], b[:, k], rtol=1e-9, atol=1e-15)
        for h in range(1, 41):
            np.testing.assert_allclose(irf[k, h], a @ irf[k, h - 1], rtol=1e-7, atol=1e-15)
