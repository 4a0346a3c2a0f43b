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


# ------------------------------------------------ the split array of a v2 world (issue 15)


def _find_library():
    import os
    from pathlib import Path

    names = ("libumedata.so", "libumedata.dylib", "umedata.dll")
    candidates = []
    if os.environ.get("UME_LIBRARY"):
        candidates.append(Path(os.environ["UME_LIBRARY"]))
    if os.environ.get("UME_WRITE_DEMO"):
        d = Path(os.environ["UME_WRITE_DEMO"]).resolve().parent
        candidates += [d / n for n in names] + [p for n in names for p in d.glob(f"**/{n}")]
    root = Path(__file__).resolve().parents[2]
    for prof in ("release", "debug"):
        candidates += [root / "target" / prof / n for n in names]
    return next((c for c in candidates if c.is_file()), None)


def test_v2_split_array_is_zarr_v2_and_consolidated(dataset_v2, tmp_path):
    """ume_splits_store on a v2 world writes a v2 array (.zarray, not v3 zarr.json) that
    zarr-python opens through the consolidated metadata, with the library's codes."""
    import ctypes
    import shutil

    path = _find_library()
    if path is None:
        pytest.skip("libumedata shared library not found (set UME_LIBRARY)")
    L = ctypes.CDLL(str(path))
    L.ume_last_error_message.restype = ctypes.c_char_p
    ds = tmp_path / "split_v2.zarr"
    shutil.copytree(dataset_v2, ds)
    rule = b'{"fractions": {"train": 0.7, "val": 0.2, "test": 0.1}, "seed": 9, "ood": []}'
    s = ctypes.c_void_p()
    st = L.ume_splits_compute(str(ds).encode(), b"nk", rule, ctypes.byref(s))
    assert st == 0, L.ume_last_error_message().decode()
    st = L.ume_splits_store(s, str(ds).encode())
    assert st == 0, L.ume_last_error_message().decode()
    codes = np.empty(N_SAMPLES, dtype=np.uint8)
    for i in range(N_SAMPLES):
        c = ctypes.c_uint8()
        assert L.ume_splits_get(s, ctypes.c_uint64(i), ctypes.byref(c)) == 0
        codes[i] = c.value
    L.ume_splits_free(s)

    split = ds / "nk" / "split"
    assert (split / ".zarray").is_file()
    assert not (split / "zarr.json").exists()
    meta = json.loads((ds / ".zmetadata").read_text())["metadata"]
    assert meta["nk/split/.zarray"]["dtype"] == "|u1"
    assert meta["nk/split/.zattrs"]["_ARRAY_DIMENSIONS"] == ["sample"]

    g = zarr.open_group(str(ds), mode="r", zarr_format=2, use_consolidated=True)
    arr = g["nk"]["split"]
    assert arr.dtype == np.uint8
    assert arr.shape == (N_SAMPLES,)
    assert arr.chunks[0] == CHUNK_SAMPLES
    values = arr[:]
    np.testing.assert_array_equal(values, codes)
    assert set(np.unique(values)) <= {0, 1, 2}
