"""Interop contract: a dataset written by the C demo through umedata is read, as it is, by
zarr-python 3, xarray and tensorstore, and holds exactly what the demo simulator computed.

See conftest.py for how to run; without UME_WRITE_DEMO these tests skip.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import demo_sim
from demo_sim import CHUNK_SAMPLES, N_SAMPLES, WORLD

zarr = pytest.importorskip("zarr", minversion="3.0")

T, H = demo_sim.T, demo_sim.H
DATA_ARRAYS = ("theta", "trajectories", "irfs", "shocks")
ALL_ARRAYS = DATA_ARRAYS + ("written",)

SHAPES = {
    "theta": (N_SAMPLES, 8),
    "trajectories": (N_SAMPLES, T, 3),
    "irfs": (N_SAMPLES, 3, H + 1, 3),
    "shocks": (N_SAMPLES, T, 3),
    "written": (N_SAMPLES,),
}
DTYPES = {name: np.dtype("float32") for name in DATA_ARRAYS} | {"written": np.dtype("uint8")}
DIMS = {
    "theta": ("sample", "param"),
    "trajectories": ("sample", "time", "observable"),
    "irfs": ("sample", "shock", "horizon", "observable"),
    "shocks": ("sample", "time", "shock"),
    "written": ("sample",),
}

RTOL, ATOL = 1e-6, 1e-9


@pytest.fixture(scope="module")
def root(dataset):
    return zarr.open_group(str(dataset), mode="r")


@pytest.fixture(scope="module")
def world(root):
    return root[WORLD]


class _LazyValues(dict):
    """Arrays read whole with zarr-python on first use (a failing read fails only the
    tests that need that array)."""

    def __init__(self, world):
        super().__init__()
        self._world = world

    def __missing__(self, name):
        self[name] = value = self._world[name][...]
        return value


@pytest.fixture(scope="module")
def zarr_values(world) -> dict:
    return _LazyValues(world)


# ---------------------------------------------------------------- zarr-python: structure


def test_root_group_names_format_version(dataset, root, report):
    meta = json.loads((dataset / "zarr.json").read_text())
    assert meta["zarr_format"] == 3 and meta["node_type"] == "group"
    attrs = dict(root.attrs)
    assert "umedata" in attrs, f"root attributes {attrs} lack key 'umedata'"
    version = attrs["umedata"].get("format_version")
    assert isinstance(version, str) and version, f"umedata.format_version is {version!r}"
    report(f"root attributes: umedata = {attrs['umedata']}")


def test_world_group_attributes(world):
    attrs = dict(world.attrs)
    assert "umedata_world" in attrs, f"world attributes {sorted(attrs)} lack 'umedata_world'"
    w = attrs["umedata_world"]
    assert list(w["param_names"]) == list(demo_sim.PARAM_NAMES)
    assert list(w["shock_names"]) == list(demo_sim.SHOCK_NAMES)
    assert list(w["obs_names"]) == list(demo_sim.OBS_NAMES)


def test_world_members(world):
    arrays = sorted(name for name, _ in world.arrays())
    assert arrays == sorted(ALL_ARRAYS)


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_shape_dtype(world, name):
    arr = world[name]
    assert arr.shape == SHAPES[name]
    assert arr.dtype == DTYPES[name]


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_dimension_names(world, name):
    assert tuple(world[name].metadata.dimension_names) == DIMS[name]


# The data arrays are sharded: a shard per 64-sample chunk, holding inner chunks of 32
# samples (umedata's default: the divisor of the chunk closest to 64 KiB of trajectories,
# here 2,400 B per sample), each compressed and checksummed alone, so that reading one
# sample decodes 32 samples, not 64. The small `written` mask is not sharded.
INNER_SAMPLES = 32


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_chunked_along_samples_only(dataset, world, name):
    arr = world[name]
    if name == "written":
        assert arr.chunks == (CHUNK_SAMPLES,)
        assert arr.shards is None
    else:
        assert arr.shards == (CHUNK_SAMPLES,) + SHAPES[name][1:]
        assert arr.chunks == (INNER_SAMPLES,) + SHAPES[name][1:]
    # 300 samples / 64 per chunk: chunks 0..4 on disk, the last one partial (44 samples).
    n_chunks = -(-N_SAMPLES // CHUNK_SAMPLES)
    assert n_chunks == 5
    meta = json.loads((dataset / WORLD / name / "zarr.json").read_text())
    sep = meta.get("chunk_key_encoding", {}).get("configuration", {}).get("separator", "/")
    assert meta["chunk_key_encoding"]["name"] == "default"
    zeros = [sep + "0"] * (len(SHAPES[name]) - 1)
    for c in range(n_chunks):
        key = "c" + sep + str(c) + "".join(zeros)
        assert (dataset / WORLD / name / key).is_file(), f"chunk {key} of {name} is missing"
    assert not (dataset / WORLD / name / ("c" + sep + str(n_chunks) + "".join(zeros))).exists()


def test_no_stray_files(dataset):
    """Only Zarr metadata, chunk files (and a manifest) on disk: no temporary files left."""
    stray = []
    for f in dataset.rglob("*"):
        if f.is_dir():
            continue
        rel = f.relative_to(dataset).parts
        ok = rel == ("zarr.json",) or rel == ("manifest.json",)
        ok = ok or (len(rel) == 2 and rel == (WORLD, "zarr.json"))
        ok = ok or (len(rel) == 3 and rel[0] == WORLD and rel[1] in ALL_ARRAYS and rel[2] == "zarr.json")
        # Chunk keys: c.<i>.0... ("." separator, umedata's) or c/<i>/0/... ("/").
        ok = ok or (
            len(rel) >= 3 and rel[0] == WORLD and rel[1] in ALL_ARRAYS
            and re.fullmatch(r"c([./]\d+)+", "/".join(rel[2:])) is not None
        )
        if not ok:
            stray.append("/".join(rel))
    assert not stray, f"unexpected files in the dataset: {stray[:10]}"


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_codec_chain(world, name, report):
    """bytes (little endian) -> blosc or zstd -> crc32c, the last one checked on every read;
    for the data arrays inside sharding_indexed (per inner chunk), whose index is
    checksummed too."""
    codecs = [c.to_dict() for c in world[name].metadata.codecs]
    if name != "written":
        assert [c["name"] for c in codecs] == ["sharding_indexed"]
        cfg = codecs[0]["configuration"]
        assert [c["name"] for c in cfg["index_codecs"]] == ["bytes", "crc32c"]
        assert cfg.get("index_location", "end") == "end"
        codecs = cfg["codecs"]
    names = [c["name"] for c in codecs]
    assert names[0] == "bytes"
    if DTYPES[name].itemsize > 1:
        assert codecs[0]["configuration"]["endian"] == "little"
    assert names[-1] == "crc32c", f"codec chain {names}: crc32c is not last"
    assert set(names[1:-1]) <= {"blosc", "zstd"}, f"unexpected codecs in {names}"
    if name == "trajectories":
        report(f"codec chain: {codecs}")


def test_fill_values(world):
    for name in DATA_ARRAYS:
        assert np.isnan(world[name].metadata.fill_value)
    assert int(world["written"].metadata.fill_value) == 0


def test_written_all_ones(zarr_values):
    w = zarr_values["written"]
    assert w.dtype == np.uint8
    assert (w == 1).all(), f"written has {int((w != 1).sum())} entries != 1"


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("name", DATA_ARRAYS)
def test_values_match_simulator(zarr_values, expected, name, report):
    got, want = zarr_values[name], expected[name]
    assert got.shape == want.shape and got.dtype == want.dtype
    assert np.isfinite(got).all(), f"{name}: {int((~np.isfinite(got)).sum())} non-finite values"
    exact = np.array_equal(got, want)
    n_diff = int((got != want).sum())
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    report(
        f"values {name}: {'bitwise identical' if exact else 'NOT bitwise identical'}"
        f" ({n_diff} of {got.size} float32 values differ, max {int(ulps.max())} ulp)"
    )
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"array {name}")


def test_last_partial_chunk(world, expected):
    """Samples 256..299 live in the partial 5th chunk; read them through a slice."""
    for name in DATA_ARRAYS:
        got = world[name][4 * CHUNK_SAMPLES :]
        assert got.shape[0] == N_SAMPLES - 4 * CHUNK_SAMPLES
        np.testing.assert_allclose(got, expected[name][4 * CHUNK_SAMPLES :], rtol=RTOL, atol=ATOL)


def test_single_sample_and_orientation(world, expected):
    """Sample 123, read alone: C order (not transposed) along every axis."""
    i = 123
    np.testing.assert_allclose(world["trajectories"][i], expected["trajectories"][i], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(world["irfs"][i, 1, :, 2], expected["irfs"][i, 1, :, 2], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(world["theta"][i, 0], expected["theta"][i, 0], rtol=RTOL)


# ---------------------------------------------------------------- xarray


@pytest.fixture(scope="module")
def xr_dataset(dataset):
    xr = pytest.importorskip("xarray")
    ds = xr.open_zarr(str(dataset / WORLD), consolidated=False)
    yield ds
    ds.close()


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_xarray_dims_and_values(xr_dataset, zarr_values, name):
    assert name in xr_dataset.data_vars, f"xarray sees {sorted(xr_dataset.data_vars)}"
    var = xr_dataset[name]
    assert var.dims == DIMS[name]
    assert var.shape == SHAPES[name]
    values = var.values
    assert values.dtype == DTYPES[name], (
        f"{name}: xarray decoded dtype {values.dtype}, stored {DTYPES[name]}"
    )
    np.testing.assert_array_equal(values, zarr_values[name])


def test_xarray_sizes(xr_dataset):
    assert dict(xr_dataset.sizes) == {
        "sample": N_SAMPLES,
        "param": 8,
        "time": T,
        "observable": 3,
        "shock": 3,
        "horizon": H + 1,
    }


# ---------------------------------------------------------------- tensorstore


@pytest.mark.parametrize("name", ALL_ARRAYS)
def test_tensorstore_reads(dataset, zarr_values, expected, name):
    try:
        import tensorstore as ts
    except ImportError as e:  # no wheel for this platform / not installed
        pytest.skip(f"tensorstore is not importable ({e}); pip install tensorstore to run")
    spec = {
        "driver": "zarr3",
        "kvstore": {"driver": "file", "path": str(dataset / WORLD / name) + "/"},
    }
    store = ts.open(spec, read=True, open=True).result()
    assert tuple(store.shape) == SHAPES[name]
    assert tuple(store.domain.labels) == DIMS[name]
    got = store.read().result()
    assert got.dtype == DTYPES[name]
    np.testing.assert_array_equal(got, zarr_values[name])
    if name in expected:
        np.testing.assert_allclose(got, expected[name], rtol=RTOL, atol=ATOL)
        # one sample alone: tensorstore reads a single inner chunk of the shard
        one = store[123].read().result()
        np.testing.assert_array_equal(one, zarr_values[name][123])


# ---------------------------------------------------------------- manifest (when written)


def test_manifest_valid_against_schema(dataset):
    jsonschema = pytest.importorskip("jsonschema")
    manifest = dataset / "manifest.json"
    schema = Path(__file__).resolve().parents[2] / "schemas" / "manifest.json"
    if not manifest.is_file():
        pytest.skip("the demo wrote no manifest.json (not part of the v0.1 C API slice)")
    if not schema.is_file():
        pytest.skip(f"{schema} does not exist yet")
    jsonschema.Draft7Validator.check_schema(json.loads(schema.read_text()))
    jsonschema.validate(json.loads(manifest.read_text()), json.loads(schema.read_text()),
                        cls=jsonschema.Draft7Validator)
