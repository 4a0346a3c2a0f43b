"""Issue 16: the Python prototype's usage example (shared/seed, "Usage Example") runs on
umedata with only its import lines changed, and what it wrote reads back exactly
(float32-rounded) with a manifest that umedata validates.

The body of `run_example` is the prototype's example as written there; only the three
`from data.writer / data.manifest / simulators.base import ...` lines became
`from umedata import ...`. It runs in a temporary directory (its relative
`datasets/v1.0-dev`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

if os.environ.get("UME_REQUIRE_PACKAGE") != "1":
    pytest.importorskip("umedata", reason="the umedata package is not installed (pip install ./python)")


def run_example():
    # ---- the prototype's "Usage Example", imports changed to umedata ----
    from pathlib import Path
    import numpy as np
    from umedata import DatasetWriter
    from umedata import ManifestGenerator
    from umedata import ParameterManifest, ShockManifest, ObservableManifest

    # 1. Create dataset writer
    output_dir = Path("datasets/v1.0-dev")
    writer = DatasetWriter(
        output_dir=output_dir,
        world_id="nk",
        n_samples=1000,
        T=200,
        H=40,
        n_params=8,
        n_shocks=3,
    )

    # 2. Generate and write samples
    global_seed = 42
    for i in range(1000):
        # Deterministic per-sample seed
        sample_rng = np.random.default_rng(global_seed + i)

        # Generate data (replace with actual simulator)
        theta = sample_rng.uniform(0, 1, 8)
        trajectories = sample_rng.standard_normal((200, 3))
        irfs = sample_rng.standard_normal((3, 41, 3))
        shocks = sample_rng.standard_normal((200, 3))

        writer.write_sample(i, theta, trajectories, irfs, shocks)

    summary = writer.finalize()
    print(f"Wrote {summary['samples_written']} samples")

    # 3. Create manifest
    gen = ManifestGenerator(
        version="1.0.0",
        output_dir=output_dir,
        global_seed=42,
        T=200,
        H=40,
    )

    # Add simulator metadata
    param_manifest = ParameterManifest(
        names=["beta", "sigma", "phi_pi", "phi_y", "rho_i", "rho_a", "sigma_a", "sigma_m"],
        units=["-"] * 8,
        bounds=np.array([[0.985, 0.995], [0.5, 2.5], [1.05, 3.5], [0.0, 1.0],
                         [0.0, 0.9], [0.0, 0.95], [0.001, 0.02], [0.001, 0.01]]),
        defaults=np.array([0.99, 1.0, 1.5, 0.125, 0.8, 0.9, 0.01, 0.005]),
    )

    shock_manifest = ShockManifest(
        names=["monetary", "technology", "cost_push"],
        n_shocks=3,
        sigma=np.array([0.005, 0.01, 0.005]),
    )

    obs_manifest = ObservableManifest(
        canonical_names=["output", "inflation", "rate"],
        extra_names=[],
    )

    gen.add_simulator(
        world_id="nk",
        n_samples=1000,
        param_manifest=param_manifest,
        shock_manifest=shock_manifest,
        obs_manifest=obs_manifest,
    )

    gen.add_standard_splits(seed=42)
    manifest_path = gen.save()
    print(f"Manifest saved: {manifest_path}")

    # 4. Load dataset
    trajectories, irfs, shocks, theta = DatasetWriter.load_dataset(output_dir, "nk")
    manifest = ManifestGenerator.load(output_dir / "manifest.json")
    # ---- end of the example ----
    return summary, manifest_path, (trajectories, irfs, shocks, theta), manifest


def test_prototype_usage_example_runs_unchanged(tmp_path, monkeypatch, capsys):
    import umedata

    monkeypatch.chdir(tmp_path)
    summary, manifest_path, loaded, manifest = run_example()
    out = capsys.readouterr().out
    assert "Wrote 1000 samples" in out
    assert summary["samples_written"] == 1000
    assert manifest_path == tmp_path / "datasets/v1.0-dev/manifest.json" or manifest_path.resolve() == (
        tmp_path / "datasets/v1.0-dev/manifest.json"
    )

    # the values read back are what was written, rounded to float32
    trajectories, irfs, shocks, theta = loaded
    assert trajectories.shape == (1000, 200, 3) and irfs.shape == (1000, 3, 41, 3)
    assert shocks.shape == (1000, 200, 3) and theta.shape == (1000, 8)
    for i in range(1000):
        rng = np.random.default_rng(42 + i)
        want = (
            rng.uniform(0, 1, 8),
            rng.standard_normal((200, 3)),
            rng.standard_normal((3, 41, 3)),
            rng.standard_normal((200, 3)),
        )
        for got, w in zip((theta[i], trajectories[i], irfs[i], shocks[i]), want):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, w.astype(np.float32))

    # the manifest: loaded (schema + semantic rules), what the example said, consistent
    # with the disk, and the whole dataset passes umedata's validation
    nk = manifest["simulators"]["nk"]
    assert manifest["version"] == "1.0.0" and manifest["rng_seeds"]["global"] == 42
    assert nk["parameters"]["names"][0] == "beta" and nk["parameters"]["bounds"][1] == [0.5, 2.5]
    assert nk["shocks"]["sigma"] == [0.005, 0.01, 0.005]
    assert nk["observables"]["canonical_names"] == ["output", "inflation", "rate"]
    assert manifest["splits"]["nk"]["counts"]["train"] == 800
    dataset = tmp_path / "datasets/v1.0-dev"
    assert umedata.check_manifest(dataset) == []
    report = umedata.validate(dataset)
    assert report["failed"] == 0, [c for c in report["checks"] if c["status"] == "FAIL"]
    ds = umedata.open(dataset, "nk")
    assert ds.info["param_names"][:2] == ["beta", "sigma"]
    assert len(ds.split("train")) == 800
