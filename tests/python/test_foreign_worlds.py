"""Issue 15 item 1: worlds whose arrays were written by zarr-python 3 (Zarr v2 and v3) or
tensorstore, chunked unlike what the ``umedata_world`` attribute says, with other codecs
and data types, read through the C reader (ctypes on the built libumedata) and compared
value by value with what was written.

The attribute always claims ``chunk_samples = 4`` and ``blosc-lz4``; the arrays say
otherwise, and the reader must believe the arrays. float64 data is read exactly through
``ume_reader_read_f64`` and refused (UME_ERR_FORMAT, naming the dtype) by
``ume_reader_read_f32``, which would round it.
"""

from __future__ import annotations

import ctypes as C
import itertools
import os
import re
from pathlib import Path

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
numcodecs = pytest.importorskip("numcodecs")

REPO = Path(__file__).resolve().parents[2]
UME_OK, UME_ERR_FORMAT, UME_ERR_NOT_WRITTEN = 0, 7010, 7012

N, T, H, P, S, O = 10, 4, 1, 2, 2, 3
NAMES = ("theta", "trajectories", "irfs", "shocks")
DIMS = {"theta": (P,), "trajectories": (T, O), "irfs": (S, H + 1, O), "shocks": (T, S)}
UNWRITTEN = 7  # the mask leaves this sample out

# chunk shapes per array (and of the mask); "sharded": (shard, inner) pairs
CHUNKINGS = {
    "samples3": {"theta": (3, P), "trajectories": (3, T, O), "irfs": (3, S, H + 1, O),
                 "shocks": (3, T, S), "written": (3,)},
    "time": {"theta": (4, 1), "trajectories": (2, 2, O), "irfs": (5, 1, 2, 1),
             "shocks": (4, 1, S), "written": (4,)},
    "mixed": {"theta": (10, P), "trajectories": (1, T, O), "irfs": (4, S, H + 1, O),
              "shocks": (7, 3, 2), "written": (10,)},
    "sharded": {"theta": ((6, P), (3, 1)), "trajectories": ((4, T, O), (2, 2, O)),
                "irfs": ((10, S, H + 1, O), (5, S, H + 1, O)), "shocks": ((4, T, S), (4, T, S)),
                "written": ((8,), (4,))},
}
CODECS = ("gzip", "zstd", "blosc", "none")
DTYPES = ("<f4", "<f8", ">f4", ">f8")
BACKENDS = ("zarr-v3", "zarr-v2", "tensorstore-v3", "tensorstore-v2")


def find_library() -> Path:
    if os.environ.get("UMEDATA_LIB"):
        return Path(os.environ["UMEDATA_LIB"])
    exe = os.environ.get("UME_WRITE_DEMO")
    if not exe:
        pytest.skip("neither UMEDATA_LIB nor UME_WRITE_DEMO is set: no libumedata.so to test with")
    cache = Path(exe).resolve().parent / "CMakeCache.txt"
    target = None
    if cache.is_file():
        m = re.search(r"^UMEDATA_CARGO_TARGET_DIR:PATH=(.*)$", cache.read_text(), flags=re.M)
        target = Path(m.group(1)) if m else None
    lib = (target or REPO / "target") / "release" / "libumedata.so"
    if not lib.is_file():
        pytest.fail(f"libumedata.so not found at {lib}; set UMEDATA_LIB")
    return lib


@pytest.fixture(scope="module")
def lib():
    lib = C.CDLL(str(find_library()))
    lib.ume_last_error_message.restype = C.c_char_p
    lib.ume_reader_open.argtypes = [C.c_char_p, C.c_char_p, C.POINTER(C.c_void_p)]
    lib.ume_reader_free.argtypes = [C.c_void_p]
    lib.ume_reader_samples_written.argtypes = [C.c_void_p, C.POINTER(C.c_uint64)]
    lib.ume_reader_is_written.argtypes = [C.c_void_p, C.c_uint64, C.POINTER(C.c_uint8)]
    for name, t in (("ume_reader_read_f64", C.c_double), ("ume_reader_read_f32", C.c_float)):
        getattr(lib, name).argtypes = [C.c_void_p, C.c_uint64, C.c_uint64, C.c_uint32] + [
            C.POINTER(t), C.c_size_t] * 4
    return lib


def world_attrs() -> dict:
    return {"umedata_world": {
        "world_id": "w", "n_samples": N, "T": T, "H": H, "n_params": P, "n_shocks": S,
        "n_obs": O, "param_names": [f"p{i}" for i in range(P)],
        "shock_names": [f"s{i}" for i in range(S)], "obs_names": [f"o{i}" for i in range(O)],
        "chunk_samples": 4, "codec": "blosc-lz4"}}


def values(dtype: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(15)
    out = {}
    for name in NAMES:
        v = rng.standard_normal((N,) + DIMS[name])
        if dtype.endswith("f4"):
            v = v.astype(np.float32).astype(np.float64)  # exact in float32
        v[UNWRITTEN] = np.nan  # never written: stays the fill value
        out[name] = v
    return out


def zarr_python_codecs(codec: str, fmt: int):
    if fmt == 2:
        return {"gzip": numcodecs.GZip(level=5), "zstd": numcodecs.Zstd(level=3),
                "blosc": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
                "none": None}[codec]
    from zarr import codecs as zc
    return {"gzip": zc.GzipCodec(level=5), "zstd": zc.ZstdCodec(level=3),
            "blosc": zc.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"), "none": None}[codec]


def ts_v3_codecs(codec: str, endian: str) -> list:
    out = [{"name": "bytes", "configuration": {"endian": endian}}]
    out += {"gzip": [{"name": "gzip", "configuration": {"level": 5}}],
            "zstd": [{"name": "zstd", "configuration": {"level": 3}}],
            "blosc": [{"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5,
                                                          "shuffle": "shuffle", "typesize": 4,
                                                          "blocksize": 0}}],
            "none": []}[codec]
    return out


def ts_v2_compressor(codec: str):
    return {"gzip": {"id": "gzip", "level": 5}, "zstd": {"id": "zstd", "level": 3},
            "blosc": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1},
            "none": None}[codec]


def write_world(ds: Path, backend: str, chunking: str, codec: str, dtype: str) -> dict:
    fmt = 2 if backend.endswith("v2") else 3
    vals = values(dtype)
    mask = np.ones(N, np.uint8)
    mask[UNWRITTEN] = 0
    root = zarr.open_group(str(ds), mode="w", zarr_format=fmt)
    root.attrs["umedata"] = {"format_version": "0.1", "library_version": "0.2.0"}
    g = root.create_group("w")
    g.attrs.update(world_attrs())
    spec = CHUNKINGS[chunking]
    arrays = [(name, vals[name], dtype) for name in NAMES] + [("written", mask, "|u1")]
    for name, data, dt in arrays:
        sharded = chunking == "sharded"
        chunks, inner = spec[name] if sharded else (spec[name], None)
        fill = 0 if name == "written" else np.nan
        if backend.startswith("zarr"):
            kw = {}
            if sharded:
                kw = {"shards": chunks, "chunks": inner}
            else:
                kw = {"chunks": chunks}
            c = zarr_python_codecs(codec, fmt)
            a = g.create_array(name, shape=data.shape, dtype=np.dtype(dt), fill_value=fill,
                               compressors=c, **kw)
            a[...] = data.astype(np.dtype(dt))
        else:
            ts = pytest.importorskip("tensorstore")
            path = str(ds / "w" / name)
            np_dt = np.dtype(dt)
            if fmt == 3:
                endian = "big" if dt.startswith(">") else "little"
                codecs = ts_v3_codecs(codec, endian)
                if codec == "blosc":
                    codecs[1]["configuration"]["typesize"] = np_dt.itemsize
                if sharded:
                    codecs = [{"name": "sharding_indexed", "configuration": {
                        "chunk_shape": list(inner), "codecs": codecs,
                        "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                                         {"name": "crc32c"}]}}]
                meta = {"shape": list(data.shape), "data_type": np_dt.name,
                        "chunk_grid": {"name": "regular",
                                       "configuration": {"chunk_shape": list(chunks)}},
                        "chunk_key_encoding": {"name": "default"},
                        "fill_value": "NaN" if name != "written" else 0, "codecs": codecs}
                spec_ts = {"driver": "zarr3", "kvstore": {"driver": "file", "path": path},
                           "metadata": meta, "create": True}
            else:
                meta = {"shape": list(data.shape), "chunks": list(chunks), "dtype": dt,
                        "compressor": ts_v2_compressor(codec), "order": "C",
                        "fill_value": "NaN" if name != "written" else 0,
                        "dimension_separator": "."}
                spec_ts = {"driver": "zarr", "kvstore": {"driver": "file", "path": path},
                           "metadata": meta, "create": True}
            arr = ts.open(spec_ts).result()
            arr.write(data.astype(np_dt.newbyteorder("="))).result()
    return vals


def cases():
    for backend, chunking, codec, dtype in itertools.product(BACKENDS, CHUNKINGS, CODECS, DTYPES):
        if chunking == "sharded" and backend.endswith("v2"):
            continue  # Zarr v2 has no sharding
        yield pytest.param(backend, chunking, codec, dtype,
                           id=f"{backend}-{chunking}-{codec}-{dtype.replace('<', 'le').replace('>', 'be')}")


def read(lib, r, kind: str, start: int, count: int, name: str):
    t, ct = (np.float64, C.c_double) if kind == "f64" else (np.float32, C.c_float)
    bufs = [np.full((count,) + DIMS[n], -1.0, t) if n == name else None for n in NAMES]
    args = []
    for b in bufs:
        if b is None:
            args += [None, 0]
        else:
            args += [b.ctypes.data_as(C.POINTER(ct)), b.size]
    fn = getattr(lib, f"ume_reader_read_{kind}")
    st = fn(r, start, count, 1, *args)
    return st, bufs[NAMES.index(name)]


@pytest.mark.parametrize("backend,chunking,codec,dtype", list(cases()))
def test_foreign_world_reads_exactly(lib, tmp_path, backend, chunking, codec, dtype):
    if backend.startswith("tensorstore"):
        pytest.importorskip("tensorstore")
    ds = tmp_path / "foreign.zarr"
    vals = write_world(ds, backend, chunking, codec, dtype)
    r = C.c_void_p()
    st = lib.ume_reader_open(str(ds).encode(), b"w", C.byref(r))
    assert st == UME_OK, lib.ume_last_error_message().decode()
    try:
        n = C.c_uint64()
        assert lib.ume_reader_samples_written(r, C.byref(n)) == UME_OK, \
            lib.ume_last_error_message().decode()
        assert n.value == N - 1
        w = C.c_uint8()
        assert lib.ume_reader_is_written(r, UNWRITTEN, C.byref(w)) == UME_OK and w.value == 0
        assert lib.ume_reader_is_written(r, 3, C.byref(w)) == UME_OK and w.value == 1
        wide = dtype.endswith("f8")
        for name in NAMES:
            # every written sample alone, and the ranges around the unwritten one
            for start, count in [(i, 1) for i in range(N) if i != UNWRITTEN] + [(0, 7), (8, 2)]:
                st, got = read(lib, r, "f64", start, count, name)
                assert st == UME_OK, lib.ume_last_error_message().decode()
                want = vals[name][start:start + count]
                assert np.array_equal(got, want), (name, start, count)
                st, got32 = read(lib, r, "f32", start, count, name)
                if wide:
                    assert st == UME_ERR_FORMAT
                    msg = lib.ume_last_error_message().decode()
                    assert "float64" in msg and f"w/{name}" in msg, msg
                else:
                    assert st == UME_OK, lib.ume_last_error_message().decode()
                    assert np.array_equal(got32.astype(np.float64), want), (name, start, count)
            st, _ = read(lib, r, "f64", UNWRITTEN, 1, name)
            assert st == UME_ERR_NOT_WRITTEN
    finally:
        lib.ume_reader_free(r)
