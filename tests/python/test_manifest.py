"""Manifest, seeding and splits, checked from outside the library.

* manifest.json written through the C API (by the C demo when it attaches a manifest, and by
  this test through ctypes) validates against schemas/manifest.json with the independent
  Python `jsonschema` (Draft-07); corrupted variants are rejected with the field's path;
  what Draft-07 cannot say (bounds lo < hi) is rejected by the library on load.
* The RNG of src/seeds.rs reimplemented here from its documentation (pure-Python ChaCha20)
  reproduces the checked-in vectors tests/vectors/rng_chacha20.txt.
* The split array and its manifest record agree (counts, SHA-256), read with zarr-python.

The ctypes tests need the shared library: it is looked up next to UME_WRITE_DEMO, in
target/release and target/debug (or set UME_LIBRARY to its path).
"""

from __future__ import annotations

import copy
import ctypes
import hashlib
import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "manifest.json").read_text())
VECTORS = ROOT / "tests" / "vectors" / "rng_chacha20.txt"
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)


def errors(instance) -> list[tuple[str, str]]:
    """(JSON path, rule) of every violation."""
    return sorted(
        ("/" + "/".join(str(p) for p in e.absolute_path), e.validator)
        for e in VALIDATOR.iter_errors(instance)
    )


def test_schema_is_valid_draft07():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


# ---------------------------------------------------------------- the library via ctypes


def _find_library() -> Path | None:
    names = ("libumedata.so", "libumedata.dylib", "umedata.dll")
    candidates = []
    if os.environ.get("UME_LIBRARY"):
        candidates.append(Path(os.environ["UME_LIBRARY"]))
    if os.environ.get("UME_WRITE_DEMO"):
        d = Path(os.environ["UME_WRITE_DEMO"]).resolve().parent
        candidates += [d / n for n in names] + [p for n in names for p in d.glob(f"**/{n}")]
    for prof in ("release", "debug"):
        candidates += [ROOT / "target" / prof / n for n in names]
    return next((c for c in candidates if c.is_file()), None)


class WorldDesc(ctypes.Structure):
    _fields_ = [
        ("world_id", ctypes.c_char_p),
        ("n_samples", ctypes.c_uint64),
        ("T", ctypes.c_uint32),
        ("H", ctypes.c_uint32),
        ("n_params", ctypes.c_uint32),
        ("n_shocks", ctypes.c_uint32),
        ("n_obs", ctypes.c_uint32),
        ("param_names", ctypes.POINTER(ctypes.c_char_p)),
        ("shock_names", ctypes.POINTER(ctypes.c_char_p)),
        ("obs_names", ctypes.POINTER(ctypes.c_char_p)),
    ]


@pytest.fixture(scope="module")
def lib():
    path = _find_library()
    if path is None:
        pytest.skip("libumedata shared library not found: build it (cargo build --release or "
                    "cmake --build build) or set UME_LIBRARY")
    L = ctypes.CDLL(str(path))
    L.ume_last_error_message.restype = ctypes.c_char_p
    return L


def _check(L, status):
    assert status == 0, L.ume_last_error_message().decode()


def _names(items):
    arr = (ctypes.c_char_p * len(items))(*[s.encode() for s in items])
    return ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p)), arr


PARAMS = ["beta", "sigma", "phi_pi", "phi_y"]
BOUNDS = [0.985, 0.995, 0.5, 2.5, 1.05, 3.5, 0.0, 1.0]
DEFAULTS = [0.99, 1.0, 1.5, 0.125]


@pytest.fixture(scope="module")
def api_dataset(lib, tmp_path_factory) -> Path:
    """A 500-sample world written through the C API with a manifest and a split."""
    L = lib
    ds = tmp_path_factory.mktemp("manifest") / "api.zarr"
    n, T, H = 500, 5, 2
    pn, pkeep = _names(PARAMS)
    sn, skeep = _names(["monetary", "technology"])
    on, okeep = _names(["output", "inflation", "rate"])
    desc = WorldDesc(b"nk", n, T, H, 4, 2, 3, pn, sn, on)
    w = ctypes.c_void_p()
    _check(L, L.ume_writer_create(str(ds).encode(), ctypes.byref(desc), None, ctypes.byref(w)))
    m = ctypes.c_void_p()
    _check(L, L.ume_manifest_new(b"1.0.0", ctypes.c_uint64(42), 1, ctypes.byref(m)))
    _check(L, L.ume_manifest_set_config_json(m, b'{"model": "nk", "T": 5}', 1))
    _check(L, L.ume_manifest_set_git(m, str(ROOT).encode()))
    _check(L, L.ume_manifest_add_world_from_writer(m, w))
    dbl = ctypes.c_double
    _check(L, L.ume_manifest_set_parameters(
        m, b"nk", None, ctypes.c_size_t(0), (dbl * 8)(*BOUNDS), ctypes.c_size_t(8),
        (dbl * 4)(*DEFAULTS), ctypes.c_size_t(4)))
    _check(L, L.ume_manifest_set_shock_sigma(m, b"nk", (dbl * 2)(0.005, 0.01), ctypes.c_size_t(2)))
    rng = np.random.default_rng(0)
    lo, hi = np.array(BOUNDS[0::2]), np.array(BOUNDS[1::2])
    for i in range(n):
        theta = (lo + (hi - lo) * rng.random(4)).astype(np.float64)
        traj = rng.standard_normal(T * 3)
        irfs = rng.standard_normal(2 * (H + 1) * 3)
        shocks = rng.standard_normal(T * 2)
        ptr = lambda a: a.ctypes.data_as(ctypes.POINTER(dbl))  # noqa: E731
        _check(L, L.ume_writer_write_sample_f64(
            w, ctypes.c_uint64(i), 1, ptr(theta), ctypes.c_size_t(4), ptr(traj),
            ctypes.c_size_t(traj.size), ptr(irfs), ctypes.c_size_t(irfs.size), ptr(shocks),
            ctypes.c_size_t(shocks.size)))
    _check(L, L.ume_writer_finalize_with_manifest(w, m, None))
    L.ume_writer_free(w)
    sp = ctypes.c_void_p()
    rule = {"fractions": {"train": 0.8, "val": 0.1, "test": 0.1}, "seed": 7, "ood": [
        {"kind": "slice", "param": "phi_pi", "units": "quantile", "range": [0.9, 1.0]},
        {"kind": "corner", "params": ["beta", "sigma"], "k": 2, "q": 0.1}]}
    _check(L, L.ume_splits_compute(str(ds).encode(), b"nk", json.dumps(rule).encode(),
                                   ctypes.byref(sp)))
    _check(L, L.ume_splits_store(sp, str(ds).encode()))
    _check(L, L.ume_manifest_set_splits(m, sp))
    _check(L, L.ume_manifest_save(m, str(ds).encode()))
    _check(L, L.ume_manifest_check_dataset(m, str(ds).encode()))
    L.ume_splits_free(sp)
    L.ume_manifest_free(m)
    del pkeep, skeep, okeep
    return ds


def test_api_manifest_validates_with_python_jsonschema(api_dataset, report):
    manifest = json.loads((api_dataset / "manifest.json").read_text())
    assert errors(manifest) == []
    assert manifest["rng_seeds"]["derivation_algorithm"] == "splitmix64(global_seed, sample_index)"
    assert manifest["simulators"]["nk"]["samples_written"] == 500
    assert manifest["simulators"]["nk"]["parameters"]["names"] == PARAMS
    # The config hash is SHA-256 of the canonical (sorted, compact) JSON.
    canon = json.dumps(manifest["config"], sort_keys=True, separators=(",", ":"))
    assert manifest["config_hash"] == hashlib.sha256(canon.encode()).hexdigest()
    assert len(manifest["git_hash"]) in (40, 64) or manifest["git_hash"] == "unknown"
    report(f"manifest via C API: valid (git_hash {manifest['git_hash'][:12]}, "
           f"dirty {manifest['git_dirty']})")


def test_split_array_matches_record(api_dataset):
    zarr = pytest.importorskip("zarr", minversion="3.0")
    manifest = json.loads((api_dataset / "manifest.json").read_text())
    rec = manifest["splits"]["nk"]
    g = zarr.open_group(str(api_dataset / "nk"), mode="r")
    split = g["split"][...]
    assert split.dtype == np.uint8 and split.shape == (500,)
    assert tuple(g["split"].metadata.dimension_names) == ("sample",)
    assert hashlib.sha256(split.tobytes()).hexdigest() == rec["sha256"]
    codes = rec["codes"]
    for name, code in codes.items():
        assert int((split == code).sum()) == rec["counts"][name], name
    # The slice hold-out is exactly the top decile of phi_pi ("lower" quantiles).
    theta = g["theta"][...].astype(np.float64)
    col = theta[:, 2]
    lo = np.quantile(col, 0.9, method="lower")
    sel = col >= lo
    np.testing.assert_array_equal(split == codes["ood_slice"], sel)
    # Corner: both beta and sigma extreme, among the samples the slice did not take.
    ext = np.zeros(500, dtype=int)
    for j in (0, 1):
        qlo = np.quantile(theta[:, j], 0.1, method="lower")
        qhi = np.quantile(theta[:, j], 0.9, method="lower")
        ext += (theta[:, j] <= qlo) | (theta[:, j] >= qhi)
    np.testing.assert_array_equal(split == codes["ood_corner"], (ext >= 2) & ~sel)
    m_in = int(np.isin(split, [0, 1, 2]).sum())
    for name, f in rec["rule"]["fractions"].items():
        assert abs(rec["counts"][name] - f * m_in) < 1 + 1e-9


def _corrupt_variants(manifest):
    def wrong_type(m):
        m["T"] = "200"

    def missing(m):
        del m["git_hash"]

    def semver(m):
        m["version"] = "1.0"

    def dup(m):
        m["simulators"]["nk"]["parameters"]["names"][1] = m["simulators"]["nk"]["parameters"]["names"][0]

    def bound_arity(m):
        m["simulators"]["nk"]["parameters"]["bounds"][0] = [0.1]

    return [
        (wrong_type, ("/T", "type")),
        (missing, ("/", "required")),
        (semver, ("/version", "pattern")),
        (dup, ("/simulators/nk/parameters/names", "uniqueItems")),
        (bound_arity, ("/simulators/nk/parameters/bounds/0", "minItems")),
    ]


def test_corrupted_manifests_rejected_by_python_and_library(api_dataset, lib, tmp_path):
    good = json.loads((api_dataset / "manifest.json").read_text())
    for corrupt, expect in _corrupt_variants(good):
        bad = copy.deepcopy(good)
        corrupt(bad)
        assert expect in errors(bad), (corrupt.__name__, errors(bad))
        f = tmp_path / f"{corrupt.__name__}.json"
        f.write_text(json.dumps(bad))
        out = ctypes.c_void_p()
        st = lib.ume_manifest_load(str(f).encode(), ctypes.byref(out))
        msg = lib.ume_last_error_message().decode()
        assert st == 7010, (corrupt.__name__, st, msg)  # UME_ERR_FORMAT
        assert expect[0].rstrip("/") in msg or expect[0] == "/", msg
    # lo > hi: beyond Draft-07 (Python accepts it), the library rejects it naming the field.
    bad = copy.deepcopy(good)
    bad["simulators"]["nk"]["parameters"]["bounds"][2] = [3.5, 1.05]
    assert errors(bad) == []
    f = tmp_path / "lo_gt_hi.json"
    f.write_text(json.dumps(bad))
    out = ctypes.c_void_p()
    assert lib.ume_manifest_load(str(f).encode(), ctypes.byref(out)) == 7010
    msg = lib.ume_last_error_message().decode()
    assert "/simulators/nk/parameters/bounds/2" in msg and "lo < hi" in msg, msg


def test_demo_manifest_validates(dataset, report):
    manifest = dataset / "manifest.json"
    if not manifest.is_file():
        pytest.skip("the C demo writes no manifest.json yet (it must call "
                    "ume_writer_finalize_with_manifest)")
    m = json.loads(manifest.read_text())
    assert errors(m) == [], errors(m)
    report(f"demo manifest.json: valid against schemas/manifest.json (Draft-07, "
           f"jsonschema {jsonschema.__version__ if hasattr(jsonschema, '__version__') else '?'})")


# ---------------------------------------------------------------- RNG from its documentation

MASK32, MASK64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & MASK32


def _chacha20_block(key_words, counter, stream):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *key_words,
         counter & MASK32, counter >> 32, stream & MASK32, stream >> 32]
    x = list(s)

    def qr(a, b, c, d):
        x[a] = (x[a] + x[b]) & MASK32; x[d] = _rotl(x[d] ^ x[a], 16)  # noqa: E702
        x[c] = (x[c] + x[d]) & MASK32; x[b] = _rotl(x[b] ^ x[c], 12)  # noqa: E702
        x[a] = (x[a] + x[b]) & MASK32; x[d] = _rotl(x[d] ^ x[a], 8)  # noqa: E702
        x[c] = (x[c] + x[d]) & MASK32; x[b] = _rotl(x[b] ^ x[c], 7)  # noqa: E702

    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)  # noqa: E702
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)  # noqa: E702
    return [(a + b) & MASK32 for a, b in zip(x, s)]


class DocRng:
    """The generator exactly as documented in src/seeds.rs / the header (ume_rng)."""

    def __init__(self, global_seed, sample_index):
        key = struct.pack("<Q", global_seed) + bytes(24)
        self.key = list(struct.unpack("<8I", key))
        self.stream, self.k, self.spare = sample_index, 0, None

    def next_u64(self):
        block = _chacha20_block(self.key, self.k // 8, self.stream)
        j = 2 * (self.k % 8)
        self.k += 1
        return block[j] | (block[j + 1] << 32)

    def uniform(self):
        return (self.next_u64() >> 11) * 2.0**-53

    def normal(self):
        if self.spare is not None:
            z, self.spare = self.spare, None
            return z
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                f = math.sqrt(-2.0 * math.log(s) / s)
                self.spare = v * f
                return u * f


def _vectors():
    rows = {}
    for line in VECTORS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        g, i, kind, k, bits = line.split()
        rows.setdefault((int(g), int(i), kind), []).append(int(bits, 16))
    return rows


def _splitmix(g, i):
    z = (g + (i + 1) * 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def test_rng_vectors_follow_the_documented_algorithm(report):
    rows = _vectors()
    assert len(rows) == 4 * 5
    max_ulp, exact, total = 0, 0, 0
    for (g, i, kind), want in rows.items():
        r = DocRng(g, i)
        if kind == "u64":
            assert [r.next_u64() for _ in want] == want, (g, i)
        elif kind == "uniform":
            got = [struct.unpack("<Q", struct.pack("<d", r.uniform()))[0] for _ in want]
            assert got == want, (g, i)
        elif kind == "normal":
            got = np.array([r.normal() for _ in want])
            ref = np.array(want, dtype=np.uint64).view(np.float64)
            ulp = np.abs(got.view(np.int64) - ref.view(np.int64))
            max_ulp = max(max_ulp, int(ulp.max()))
            exact += int((ulp == 0).sum())
            total += len(want)
        elif kind == "seed_add":
            assert want == [(g + i) & MASK64]
        elif kind == "seed_splitmix64":
            assert want == [_splitmix(g, i)]
    # Python's math.log is the platform libm, the library's is musl's: the last bit may differ.
    assert max_ulp <= 4, max_ulp
    report(f"rng vectors: pure-Python ChaCha20 reimplementation matches u64/uniform/seeds "
           f"exactly; normals {exact}/{total} bit-identical, max {max_ulp} ulp")
