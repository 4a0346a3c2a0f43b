"""Zarr v2 output (ume_writer_options.zarr_format = 2) for readers without v3 support:
zarr-python with zarr_format=2 and consolidated metadata, and xarray via
_ARRAY_DIMENSIONS, must see the same shapes, dtypes, names and values as the v3 output."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import zarr

from demo_sim import CHUNK_SAMPLES, N_SAMPLES

DIMS = {
    "theta": ("sample", "param"),
    "trajectories": ("sample", "time", "observable"),
    "irfs": ("sample", "shock", "horizon", "observable"),
    "shocks": ("sample", "time", "shock"),
    "written": ("sample",),
}


@pytest.fixture(scope="module")
def dataset_v2(write_demo, tmp_path_factory):
    ds = tmp_path_factory.mktemp("v2") / "demo_v2.zarr"
    cmd = [str(write_demo), str(ds), str(N_SAMPLES), str(CHUNK_SAMPLES), "--zarr2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ds


def test_v2_layout_and_consolidated_metadata(dataset_v2):
    assert (dataset_v2 / ".zgroup").is_file()
    assert not (dataset_v2 / "zarr.json").exists()
    meta = json.loads((dataset_v2 / ".zmetadata").read_text())["metadata"]
    for name in DIMS:
        assert f"nk/{name}/.zarray" in meta
        assert meta[f"nk/{name}/.zattrs"]["_ARRAY_DIMENSIONS"] == list(DIMS[name])
    assert meta[".zattrs"]["umedata"]["format_version"]


def test_v2_values_match_v3_and_simulator(dataset_v2, dataset, expected):
    g2 = zarr.open_group(str(dataset_v2), mode="r", zarr_format=2, use_consolidated=True)
    g3 = zarr.open_group(str(dataset), mode="r")
    nk2, nk3 = g2["nk"], g3["nk"]
    for name in ("theta", "trajectories", "irfs", "shocks"):
        a2 = nk2[name]
        assert a2.dtype == np.float32
        assert a2.chunks[0] == CHUNK_SAMPLES
        np.testing.assert_array_equal(a2[:], nk3[name][:])
        np.testing.assert_array_equal(a2[:], expected[name])
    assert nk2["written"].dtype == np.uint8
    assert int(nk2["written"][:].sum()) == N_SAMPLES
    assert nk2.attrs["umedata_world"]["param_names"][0] == "beta"


def test_v2_xarray_dimension_names(dataset_v2, expected):
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(str(dataset_v2 / "nk"), consolidated=False, zarr_format=2)
    for name, dims in DIMS.items():
        assert ds[name].dims == dims
    np.testing.assert_array_equal(ds["irfs"].values, expected["irfs"])
