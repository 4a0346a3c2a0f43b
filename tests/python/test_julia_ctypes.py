"""The Julia bindings (bindings/julia/UmeData.jl), checked without Julia.

No Julia runtime is available in CI, so this test proves the calls UmeData.jl makes:

1. It parses every ``ccall((:symbol, libumedata), Ret, (ArgTypes...), args...)`` line and
   every C-mirroring ``struct X  # C: ume_x`` out of UmeData.jl.
2. It parses the prototypes and structs of include/umedata.h and checks each Julia
   signature and struct against them through one fixed table (JULIA_TYPES: Julia type ->
   the C type it must stand for, and the ctypes type that passes it). A changed Julia
   signature or struct that no longer matches the header fails here.
3. It builds the ctypes functions *from the parsed Julia signatures* (not from the
   header) and replays what UmeData.jl does: Writer(...) (the options on a
   ume_writer_config, every setter, ume_writer_create_with_config) / write_sample! (Float64 and
   Float32, Fortran-ordered arrays of Julia's shapes: traj (T, n_obs), irfs (n_shocks,
   H+1, n_obs), shocks (T, n_shocks), with the layout constant UmeData.jl passes) /
   finalize! / close, then Reader / read_samples / read_sample. The stored data must equal
   the demo simulator's (demo_sim.py) bit for bit, and the C demo's dataset.
4. It runs UmeData.jl's version check (its regular expression, read from the file) against
   the library and the ABI policy's cases.

The Fortran module is checked without a Fortran runtime too: its bind(C) types and its
bind(C) interfaces (argument count, by value or by reference, sizes) against the header.

The library: $UMEDATA_LIB, else the one the CMake build of $UME_WRITE_DEMO uses.
"""

from __future__ import annotations

import ctypes as C
import os
import re
from pathlib import Path

import numpy as np
import pytest

import demo_sim
from demo_sim import CHUNK_SAMPLES, H, N_OBS, N_PARAMS, N_SAMPLES, N_SHOCKS, T, WORLD

REPO = Path(__file__).resolve().parents[2]
JULIA_FILE = REPO / "bindings" / "julia" / "UmeData.jl"
HEADER = REPO / "include" / "umedata.h"

# ---------------------------------------------------------------------- parsing UmeData.jl

CCALL_RE = re.compile(
    r"ccall\(\(:(?P<sym>\w+),\s*libumedata\),\s*(?P<ret>[\w{}]+),\s*\((?P<args>[^()]*)\)(?P<vals>.*)$"
)
STRUCT_RE = re.compile(r"^struct (?P<name>\w+)\s+# C: (?P<cname>\w+)$")
FIELD_RE = re.compile(r"^\s+(?P<field>\w+)::(?P<type>[\w{}]+)$")
CONST_RE = re.compile(r"^const (?P<name>\w+) = UInt32\((?P<value>\d+)\)")


def split_top(s: str) -> list[str]:
    """Splits 'A, B{C, D}, E' at commas outside braces."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_julia():
    src = JULIA_FILE.read_text()
    ccalls, structs, consts = [], {}, {}
    lines = src.splitlines()
    for n, line in enumerate(lines, 1):
        if "ccall(" in line and not line.lstrip().startswith("#"):
            m = CCALL_RE.search(line)
            assert m, f"UmeData.jl:{n}: ccall not on one line in the expected form: {line.strip()}"
            vals = m["vals"].lstrip(",").strip()
            # the argument values run to the ccall's closing parenthesis
            depth, end = 1, None
            for k, ch in enumerate(vals):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0:
                    end = k
                    break
            ccalls.append(
                {
                    "line": n,
                    "sym": m["sym"],
                    "ret": m["ret"],
                    "args": split_top(m["args"]),
                    "vals": split_top(vals[:end]) if end else [],
                }
            )
        m = CONST_RE.match(line)
        if m:
            consts[m["name"]] = int(m["value"])
        m = STRUCT_RE.match(line)
        if m:
            fields = []
            for body in lines[n:]:
                if body.strip() == "end":
                    break
                fm = FIELD_RE.match(body)
                assert fm, f"UmeData.jl: unexpected line in struct {m['name']}: {body!r}"
                fields.append((fm["field"], fm["type"]))
            structs[m["name"]] = {"cname": m["cname"], "fields": fields}
    return ccalls, structs, consts


# ---------------------------------------------------------------------- parsing umedata.h


def norm_c(t: str) -> str:
    """'const struct ume_writer *' -> 'ume_writer*'; 'const char *const *' -> 'char**'."""
    t = re.sub(r"\b(const|struct|enum)\b", " ", t)
    return re.sub(r"\s+", "", t)


def parse_header():
    text = HEADER.read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    protos = {}
    for m in re.finditer(r"^([\w ]+?[\s*]+)(ume_\w+)\(([^)]*)\);", text, flags=re.M):
        ret, name, params = m.group(1), m.group(2), m.group(3).strip()
        args = [] if params in ("void", "") else [p.strip() for p in params.split(",")]
        # drop the parameter name: the type is everything before the last identifier
        arg_types = [norm_c(re.sub(r"\w+$", "", a)) for a in args]
        protos[name] = (norm_c(ret), arg_types)
    structs = {}
    for m in re.finditer(r"typedef struct (\w+) \{(.*?)\} \1;", text, flags=re.S):
        fields = []
        for decl in m.group(2).split(";"):
            decl = decl.strip()
            if decl:
                fm = re.match(r"(.*?)(\w+)$", decl, flags=re.S)
                fields.append((fm.group(2), norm_c(fm.group(1))))
        structs[m.group(1)] = fields
    defines = {m.group(1): int(m.group(2)) for m in re.finditer(r"#define (UME_\w+) (\d+)", text)}
    return protos, structs, defines


# ---------------------------------------------------------------------- the type table

# Julia type in a ccall/struct -> (accepted C types (normalised), ctypes type).
# Struct references are resolved against the Julia structs (built as ctypes below).
JULIA_TYPES = {
    "Cvoid": ({"void"}, None),
    "Cint": ({"ume_status", "int"}, C.c_int),
    "Int32": ({"int32_t"}, C.c_int32),
    "UInt8": ({"uint8_t"}, C.c_uint8),
    "UInt32": ({"uint32_t"}, C.c_uint32),
    "UInt64": ({"uint64_t"}, C.c_uint64),
    "Csize_t": ({"size_t"}, C.c_size_t),
    "Float64": ({"double"}, C.c_double),
    "Cstring": ({"char*"}, C.c_char_p),
    "Ptr{Cchar}": ({"char*"}, C.c_char_p),
    "Ptr{Ptr{Cchar}}": ({"char**"}, C.POINTER(C.c_char_p)),
    "Ptr{Cvoid}": ({"ume_writer*", "ume_reader*", "ume_writer_config*"}, C.c_void_p),
    "Ref{Ptr{Cvoid}}": (
        {"ume_writer**", "ume_reader**", "ume_writer_config**"},
        C.POINTER(C.c_void_p),
    ),
    "Ptr{Float64}": ({"double*"}, C.POINTER(C.c_double)),
    "Ptr{Float32}": ({"float*"}, C.POINTER(C.c_float)),
    "Ref{UInt64}": ({"uint64_t*"}, C.POINTER(C.c_uint64)),
    "Ref{UInt8}": ({"uint8_t*"}, C.POINTER(C.c_uint8)),
}


class Binding:
    """ctypes structs and functions built from the Julia declarations, checked against C."""

    def __init__(self, lib: C.CDLL):
        self.ccalls, self.jl_structs, self.consts = parse_julia()
        self.protos, self.c_structs, self.defines = parse_header()
        self.ctypes_structs: dict[str, type] = {}
        self.cname_of = {jl: s["cname"] for jl, s in self.jl_structs.items()}
        for jl in self.jl_structs:
            self._struct(jl)
        self.funcs = {}
        self.called: set[str] = set()
        for cc in self.ccalls:
            self._function(lib, cc)

    def resolve(self, jl_type: str):
        """(accepted C types, ctypes type) of a Julia type."""
        if jl_type in JULIA_TYPES:
            return JULIA_TYPES[jl_type]
        if jl_type in self.jl_structs:  # by value
            return {self.cname_of[jl_type]}, self._struct(jl_type)
        m = re.fullmatch(r"Ref\{(\w+)\}", jl_type)
        if m and m[1] in self.jl_structs:
            return {self.cname_of[m[1]] + "*"}, C.POINTER(self._struct(m[1]))
        raise AssertionError(f"UmeData.jl uses Julia type {jl_type!r}, which has no C counterpart here")

    def _struct(self, jl: str):
        if jl in self.ctypes_structs:
            return self.ctypes_structs[jl]
        spec = self.jl_structs[jl]
        cfields = self.c_structs.get(spec["cname"])
        assert cfields is not None, f"Julia struct {jl} mirrors {spec['cname']}, not in umedata.h"
        jl_names = [f for f, _ in spec["fields"]]
        c_names = [f for f, _ in cfields]
        assert jl_names == c_names, f"{jl} fields {jl_names} != C {spec['cname']} fields {c_names}"
        fields = []
        for (fname, jtype), (_, ctype) in zip(spec["fields"], cfields):
            accepted, ct = self.resolve(jtype)
            assert ctype in accepted, f"{jl}.{fname}::{jtype} stands for {accepted}, C has {ctype}"
            fields.append((fname, ct))
        cls = type(jl, (C.Structure,), {"_fields_": fields})
        self.ctypes_structs[jl] = cls
        return cls

    def _function(self, lib, cc):
        sym = cc["sym"]
        where = f"UmeData.jl:{cc['line']} ccall :{sym}"
        if sym not in self.protos:
            raise AssertionError(f"{where}: no such function in umedata.h")
        c_ret, c_args = self.protos[sym]
        accepted, restype = self.resolve(cc["ret"])
        assert c_ret in accepted, f"{where}: returns {cc['ret']} ({accepted}), C returns {c_ret}"
        assert len(cc["args"]) == len(c_args), (
            f"{where}: {len(cc['args'])} argument types, C has {len(c_args)}"
        )
        argtypes = []
        for k, (jt, ct) in enumerate(zip(cc["args"], c_args)):
            accepted, cty = self.resolve(jt)
            assert ct in accepted, f"{where}: argument {k + 1} is {jt} ({accepted}), C has {ct}"
            argtypes.append(cty)
        sig = (tuple(cc["args"]), cc["ret"])
        if sym in self.funcs:  # several ccalls of one symbol must agree
            assert self.funcs[sym][1] == sig, f"{where}: differs from another ccall of {sym}"
            return
        f = getattr(lib, sym)
        f.restype, f.argtypes = restype, argtypes
        self.funcs[sym] = (f, sig)

    def __call__(self, sym: str, *args):
        """Calls `sym` with the ctypes signature derived from UmeData.jl."""
        self.called.add(sym)
        return self.funcs[sym][0](*args)

    def ccall_values(self, sym: str) -> list[list[str]]:
        return [cc["vals"] for cc in self.ccalls if cc["sym"] == sym]


# ---------------------------------------------------------------------- fixtures


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
def jl() -> Binding:
    return Binding(C.CDLL(str(find_library())))


def ptr(a: np.ndarray, ctype):
    return a.ctypes.data_as(C.POINTER(ctype))


def check(jl: Binding, st: int):
    """UmeData.check: throw UmeError(status, ume_last_error_message())."""
    if st != 0:
        msg = jl("ume_last_error_message").decode()
        raise RuntimeError(f"UmeError {st}: {msg}")


def writer_config(jl: Binding, codec=0, clevel=-1, chunk_samples=0, inner_chunk_samples=0,
                  n_threads=0, max_open_chunks=0, overwrite=False, allow_nonfinite=False,
                  checksum=True, fsync=True, rewrite=False, zarr_format=3, claim_lease=0):
    """UmeData.writer_config with Writer's keyword defaults: ume_writer_config_new, every
    setter in UmeData.jl's order, ume_writer_config_free if one fails."""
    out = C.c_void_p()
    check(jl, jl("ume_writer_config_new", C.byref(out)))
    cfg = out
    flags = [("CONFIG_OVERWRITE", overwrite), ("CONFIG_ALLOW_NONFINITE", allow_nonfinite),
             ("CONFIG_CHECKSUM", checksum), ("CONFIG_FSYNC", fsync), ("CONFIG_REWRITE", rewrite)]
    try:
        check(jl, jl("ume_writer_config_set_codec", cfg, codec, clevel))
        check(jl, jl("ume_writer_config_set_chunking", cfg, chunk_samples, inner_chunk_samples))
        check(jl, jl("ume_writer_config_set_threads", cfg, n_threads, max_open_chunks))
        for name, on in flags:
            check(jl, jl("ume_writer_config_set_flag", cfg, jl.consts[name], int(on)))
        check(jl, jl("ume_writer_config_set_zarr_format", cfg, zarr_format))
        check(jl, jl("ume_writer_config_set_claim_lease", cfg, claim_lease))
    except RuntimeError:
        jl("ume_writer_config_free", cfg)
        raise
    return cfg


def julia_version_regex() -> re.Pattern:
    """The regular expression of UmeData.version_compatible, read from UmeData.jl."""
    m = re.search(r'^function version_compatible\(.*?\n\s+m = match\(r"([^"]+)", v\)',
                  JULIA_FILE.read_text(), flags=re.S | re.M)
    assert m, "UmeData.jl: version_compatible no longer has the expected form"
    return re.compile(m[1])


def julia_version_compatible(v: str, major: int, minor: int) -> bool:
    """UmeData.version_compatible."""
    m = julia_version_regex().search(v)
    return m is not None and int(m[1]) == major and int(m[2]) >= minor


def version_check_passes(jl: Binding) -> bool:
    """UmeData.check_version: the loaded library against VERSION_MAJOR/MINOR."""
    v = jl("ume_version").decode()
    return julia_version_compatible(v, jl.consts["VERSION_MAJOR"], jl.consts["VERSION_MINOR"])


# ---------------------------------------------------------------------- tests


def test_julia_version_check(jl: Binding, report):
    """UmeData.check_version follows the ABI policy: same major, minor >= the header's."""
    assert version_check_passes(jl), jl("ume_version")
    cases = {"0.3.0": True, "0.3.7": True, "0.4.0": True, "0.12.1": True, "0.3": True,
             "0.2.9": False, "1.3.0": False, "": False, "x.3.0": False, "0.x.0": False,
             "03": False, ".3.0": False}  # fmt: skip
    for v, want in cases.items():
        assert julia_version_compatible(v, 0, 3) == want, v
    report(f"julia: version check passes for library {jl('ume_version').decode()} and "
           f"follows the ABI policy on {len(cases)} cases")  # fmt: skip


def test_julia_declarations_match_header(jl: Binding, report):
    """Every ccall and mirrored struct of UmeData.jl agrees with umedata.h (checked while
    building `jl`), and the layout/codec constants equal the header's."""
    assert jl.ccalls, "no ccall found in UmeData.jl"
    assert jl.consts["LAYOUT_F"] == jl.defines["UME_LAYOUT_F"] == 2
    assert jl.consts["LAYOUT_C"] == jl.defines["UME_LAYOUT_C"] == 1
    for name in ("BLOSC_LZ4", "BLOSC_ZSTD", "ZSTD", "NONE"):
        assert jl.consts[f"CODEC_{name}"] == jl.defines[f"UME_CODEC_{name}"]
    for name in ("OVERWRITE", "ALLOW_NONFINITE", "CHECKSUM", "FSYNC", "REWRITE"):
        assert jl.consts[f"CONFIG_{name}"] == jl.defines[f"UME_CONFIG_{name}"], name
    assert jl.consts["VERSION_MAJOR"] == jl.defines["UME_VERSION_MAJOR"]
    assert jl.consts["VERSION_MINOR"] == jl.defines["UME_VERSION_MINOR"]
    # Options go through the growable ume_writer_config only (README, "ABI policy"): no
    # call of the frozen by-value ume_writer_options path, and no mirror of that struct.
    for sym in ("ume_writer_create", "ume_writer_options_default"):
        assert sym not in jl.funcs, f"UmeData.jl still calls {sym} (the frozen options struct)"
    assert "ume_writer_options" not in jl.cname_of.values()
    assert "ume_writer_create_with_config" in jl.funcs
    # Writer/read calls pass Fortran order: the layout argument is LAYOUT_F, in every call
    for sym, pos in (
        ("ume_writer_write_sample_f64", 2),
        ("ume_writer_write_sample_f32", 2),
        ("ume_reader_read_f64", 3),
        ("ume_reader_read_f32", 3),
    ):
        vals = jl.ccall_values(sym)
        assert vals, f"UmeData.jl never calls {sym}"
        for v in vals:
            assert v[pos] == "LAYOUT_F", f"{sym} is called with layout {v[pos]!r}"
            # lengths are the arrays' own lengths: length(x) right after x
            for k in range(pos + 1, len(v), 2):
                assert v[k + 1] == f"length({v[k]})", f"{sym}: {v[k + 1]} after {v[k]}"
    report(
        f"julia: {len(jl.ccalls)} ccalls to {len(jl.funcs)} C functions and "
        f"{len(jl.ctypes_structs)} structs of UmeData.jl match umedata.h"
    )


def test_julia_calls_store_the_demo_data(jl: Binding, tmp_path, dataset, expected, report):
    """Replays UmeData.Writer / write_sample! / finalize! / close and Reader / read_samples /
    read_sample with Fortran-ordered arrays; the data equals the demo's, bit for bit."""
    zarr = pytest.importorskip("zarr", minversion="3.0")
    sim64 = demo_sim.simulate(N_SAMPLES, dtype=np.float64)
    path = str(tmp_path / "julia.zarr").encode()

    # --- Writer(path, "nk"; n_samples, T, H, ..., names, chunk_samples): check_version(),
    # then writer_config(...) with the keyword defaults: a ume_writer_config, every setter
    Desc = jl.ctypes_structs["WorldDesc"]
    assert version_check_passes(jl)
    cfg = writer_config(jl, chunk_samples=CHUNK_SAMPLES)

    def names(xs):
        arr = (C.c_char_p * len(xs))(*[x.encode() for x in xs])
        return arr, C.cast(arr, C.POINTER(C.c_char_p))

    keep = [names(demo_sim.PARAM_NAMES), names(demo_sim.SHOCK_NAMES), names(demo_sim.OBS_NAMES)]
    desc = Desc(WORLD.encode(), N_SAMPLES, T, H, N_PARAMS, N_SHOCKS, N_OBS,
                keep[0][1], keep[1][1], keep[2][1])  # fmt: skip
    handle = C.c_void_p()
    st = jl("ume_writer_create_with_config", path, C.byref(desc), cfg, C.byref(handle))
    jl("ume_writer_config_free", cfg)  # the `finally` of Writer: the writer copied it
    check(jl, st)

    # --- write_sample!(w, i, theta::Vector, traj::Matrix (T, n_obs), irfs (n_shocks, H+1, n_obs),
    #                   shocks::Matrix (T, n_shocks)): Julia arrays are column-major
    layout_f = jl.consts["LAYOUT_F"]
    for i in range(N_SAMPLES):
        arrays = [np.asfortranarray(sim64[k][i]) for k in ("theta", "trajectories", "irfs", "shocks")]
        assert arrays[1].shape == (T, N_OBS) and arrays[2].shape == (N_SHOCKS, H + 1, N_OBS)
        assert all(a.flags.f_contiguous for a in arrays)
        if i % 2 == 0:
            sym, ct = "ume_writer_write_sample_f64", C.c_double
        else:  # the Float32 method: Float32.(x) rounds to nearest, like the library
            arrays = [np.asfortranarray(a.astype(np.float32)) for a in arrays]
            sym, ct = "ume_writer_write_sample_f32", C.c_float
        args = []
        for a in arrays:
            args += [ptr(a, ct), a.size]
        check(jl, jl(sym, handle, i, layout_f, *args))

    # --- finalize!(w); close(w)
    Summary = jl.ctypes_structs["Summary"]
    summary = Summary()
    check(jl, jl("ume_writer_finalize", handle, C.byref(summary)))
    assert summary.samples_written == N_SAMPLES and summary.n_samples == N_SAMPLES
    jl("ume_writer_free", handle)

    # --- a bad option: the setter fails, writer_config frees the config and rethrows
    with pytest.raises(RuntimeError, match="ume_writer_config_set_codec: codec 9"):
        writer_config(jl, codec=9)
    with pytest.raises(RuntimeError, match="claim_lease_seconds is 1"):
        writer_config(jl, claim_lease=1)

    # --- error path: UmeError(status, message) from ume_last_error_message
    status = jl("ume_status_string", 7003)
    assert status and jl("ume_version").decode().count(".") == 2
    rh = C.c_void_p()
    st = jl("ume_reader_open", path, b"no_such_world", C.byref(rh))
    assert st == 7008 and b"no_such_world" in jl("ume_last_error_message")

    # --- Reader(path, "nk"); world_shape; samples_written; is_written
    check(jl, jl("ume_reader_open", path, WORLD.encode(), C.byref(rh)))
    shape = jl.ctypes_structs["WorldShape"]()
    check(jl, jl("ume_reader_shape", rh, C.byref(shape)))
    assert (shape.n_samples, shape.chunk_samples, shape.T, shape.H) == (N_SAMPLES, CHUNK_SAMPLES, T, H)
    n = C.c_uint64()
    check(jl, jl("ume_reader_samples_written", rh, C.byref(n)))
    b = C.c_uint8()
    check(jl, jl("ume_reader_is_written", rh, N_SAMPLES - 1, C.byref(b)))
    assert n.value == N_SAMPLES and b.value == 1

    # --- read_samples(r, start, count, Float64/Float32): arrays (…, count), column-major
    for sym, dt, ct in (("ume_reader_read_f64", np.float64, C.c_double),
                        ("ume_reader_read_f32", np.float32, C.c_float)):  # fmt: skip
        count = N_SAMPLES
        out = [
            np.empty((N_PARAMS, count), dtype=dt, order="F"),
            np.empty((T, N_OBS, count), dtype=dt, order="F"),
            np.empty((N_SHOCKS, H + 1, N_OBS, count), dtype=dt, order="F"),
            np.empty((T, N_SHOCKS, count), dtype=dt, order="F"),
        ]
        args = []
        for a in out:
            args += [ptr(a, ct), a.size]
        check(jl, jl(sym, rh, 0, count, layout_f, *args))
        # Julia's out[k][..., i+1] is sample i: compare with the simulator (float32)
        for a, key in zip(out, ("theta", "trajectories", "irfs", "shocks")):
            got = np.moveaxis(a, -1, 0).astype(np.float32)
            np.testing.assert_array_equal(got, expected[key], err_msg=f"{sym} {key}")
    jl("ume_reader_free", rh)

    # --- the stored arrays, read by zarr-python, equal the C demo's dataset bit for bit
    mine = zarr.open_group(str(tmp_path / "julia.zarr"), mode="r")[WORLD]
    theirs = zarr.open_group(str(dataset), mode="r")[WORLD]
    for key in ("theta", "trajectories", "irfs", "shocks", "written"):
        a, b_ = mine[key][...], theirs[key][...]
        assert a.dtype == b_.dtype and a.shape == b_.shape, key
        assert a.tobytes() == b_.tobytes(), f"{key} differs from the C demo's"

    missing = set(jl.funcs) - jl.called
    assert not missing, f"C functions UmeData.jl calls but this test did not replay: {missing}"
    report(
        f"julia: {N_SAMPLES} samples written with UmeData.jl's calls (Fortran order, "
        "Float64 and Float32) equal the C demo's dataset bit for bit"
    )


# ---------------------------------------------------------------------- Fortran module

FORTRAN_FILE = REPO / "bindings" / "fortran" / "umedata.f90"
# Fortran component type -> the C field types it may mirror (same size and alignment).
FORTRAN_TYPES = {
    "integer(c_int64_t)": {"uint64_t", "int64_t"},
    "integer(c_int32_t)": {"uint32_t", "int32_t"},
    "integer(c_int8_t)": {"uint8_t", "int8_t"},
    "real(c_double)": {"double"},
    "type(c_ptr)": {"char*", "char**"},
}


def test_fortran_bind_c_types_match_header(report):
    """The bind(C) types of bindings/fortran/umedata.f90 (marked `! C: ume_x`) have the C
    structs' fields, in order, with types of the same size (no Fortran runtime needed)."""
    _, c_structs, _ = parse_header()
    lines = FORTRAN_FILE.read_text().splitlines()
    checked = []
    for n, line in enumerate(lines):
        m = re.match(r"^\s*type, bind\(C\)(?:, public)? :: (\w+)\s+! C: (\w+)$", line)
        if not m:
            continue
        fname, cname = m.groups()
        fields = []
        for body in lines[n + 1 :]:
            if re.match(r"^\s*end type", body):
                break
            fm = re.match(r"^\s*(integer\(\w+\)|real\(\w+\)|type\(\w+\)) :: (\w+)", body)
            assert fm, f"umedata.f90: unexpected line in type {fname}: {body!r}"
            fields.append((fm[2], fm[1]))
        cfields = c_structs.get(cname)
        assert cfields is not None, f"Fortran type {fname} mirrors {cname}, not in umedata.h"
        assert [f for f, _ in fields] == [f for f, _ in cfields], (
            f"Fortran {fname} fields {[f for f, _ in fields]} != C {cname} {[f for f, _ in cfields]}"
        )
        for (field, ftype), (_, ctype) in zip(fields, cfields):
            allowed = FORTRAN_TYPES.get(ftype, set())
            if ftype.startswith("type(") and ftype != "type(c_ptr)":
                allowed = {ftype[5:-1]}  # a nested bind(C) type of the same name
            assert ctype in allowed, f"Fortran {fname}%{field} is {ftype}, C has {ctype}"
        checked.append(cname)
    # ume_writer_options (the frozen by-value struct) is no longer mirrored: the module
    # passes options through ume_writer_config.
    assert sorted(checked) == sorted(
        ["ume_world_shape", "ume_array_stats", "ume_summary", "ume_world_desc"]
    ), checked
    report(f"fortran: bind(C) types {', '.join(checked)} match umedata.h")


# Fortran dummy argument -> the C parameter types it may stand for. By value: a scalar of
# the same size (or any pointer for type(c_ptr)); by reference: a pointer to it.
FORTRAN_BY_VALUE = {
    "integer(c_size_t)": {"size_t"},
    "integer(c_int64_t)": {"uint64_t", "int64_t"},
    "integer(c_int32_t)": {"uint32_t", "int32_t"},
    "integer(c_int8_t)": {"uint8_t", "int8_t"},
}
FORTRAN_BY_REF = {
    "type(c_ptr)": lambda c: c.endswith("**"),
    "character(kind=c_char)": lambda c: c == "char*",
    "real(c_double)": lambda c: c == "double*",
    "real(c_float)": lambda c: c == "float*",
    "integer(c_int64_t)": lambda c: c in ("uint64_t*", "int64_t*"),
    "integer(c_int8_t)": lambda c: c in ("uint8_t*", "int8_t*"),
}


def test_fortran_interfaces_match_header(report):
    """Every bind(C, name='ume_...') interface of umedata.f90 has the C function's
    arguments: same count, by value where C takes a scalar (same size), by reference where
    C takes a pointer; module constants equal the header's."""
    protos, _, defines = parse_header()
    src = FORTRAN_FILE.read_text()
    text = re.sub(r"&\s*\n\s*", " ", src)  # join continuation lines
    bind_types = dict(re.findall(r"type, bind\(C\)(?:, public)? :: (\w+)\s+! C: (\w+)", src))
    checked = []
    for m in re.finditer(
        r"^\s*(?:(?P<rtype>[\w(), =]+?) )?(?P<kind>function|subroutine) \w+\((?P<args>[^)]*)\)\s*"
        r"bind\(C, name='(?P<sym>\w+)'\)(?:\s*result\((?P<res>\w+)\))?\n(?P<body>.*?)^\s*end "
        r"(?P=kind)",
        text,
        flags=re.S | re.M,
    ):
        sym = m["sym"]
        if not sym.startswith("ume_"):
            continue  # strlen
        assert sym in protos, f"umedata.f90 binds {sym}, not in umedata.h"
        c_ret, c_args = protos[sym]
        names = [a.strip() for a in m["args"].split(",") if a.strip()]
        assert len(names) == len(c_args), f"{sym}: {len(names)} arguments, C has {len(c_args)}"
        decls = {}
        for d in re.finditer(r"^\s*(?P<type>[\w()=]+)(?P<attrs>(?:, [\w()]+)*) :: (?P<names>.+)$",
                             m["body"], flags=re.M):
            for n in d["names"].split(","):
                n = n.strip()
                decls[re.sub(r"\(.*\)$", "", n)] = (d["type"], "value" in d["attrs"])
        for name, ctype in zip(names, c_args):
            ftype, by_value = decls[name]
            where = f"umedata.f90 {sym} argument {name}: {ftype}{', value' if by_value else ''}"
            if by_value:
                ok = ctype.endswith("*") if ftype == "type(c_ptr)" else (
                    ctype in FORTRAN_BY_VALUE.get(ftype, set()))
            elif ftype.startswith("type(") and ftype[5:-1] in bind_types:
                ok = ctype == bind_types[ftype[5:-1]] + "*"
            elif ftype.startswith("type(") and ftype != "type(c_ptr)":
                ok = ctype == ftype[5:-1] + "*"  # a public bind(C) type named as in C
            else:
                ok = FORTRAN_BY_REF.get(ftype, lambda c: False)(ctype)
            assert ok, f"{where} does not stand for C {ctype}"
        if m["kind"] == "subroutine":
            assert c_ret == "void", f"{sym} returns {c_ret}, bound as a subroutine"
        else:
            rtype = decls[m["res"]][0] if m["res"] else m["rtype"]
            want = {"integer(c_int)": {"ume_status"}, "type(c_ptr)": {"char*"}}.get(rtype, set())
            assert c_ret in want, f"{sym} returns {c_ret}, bound as {rtype}"
        checked.append(sym)
    for sym in ("ume_writer_config_new", "ume_writer_config_free", "ume_writer_config_set_codec",
                "ume_writer_config_set_chunking", "ume_writer_config_set_threads",
                "ume_writer_config_set_flag", "ume_writer_config_set_zarr_format",
                "ume_writer_config_set_claim_lease", "ume_writer_create_with_config"):  # fmt: skip
        assert sym in checked, f"umedata.f90 does not bind {sym}"
    assert "ume_writer_create" not in checked, "umedata.f90 still uses the frozen options struct"
    consts = {k: int(v) for k, v in re.findall(
        r"integer(?:\(c_int32_t\))?, parameter(?:, public)? :: (UME_\w+) = (\d+)", src)}  # fmt: skip
    for name in ("UME_VERSION_MAJOR", "UME_VERSION_MINOR", "UME_CONFIG_OVERWRITE",
                 "UME_CONFIG_ALLOW_NONFINITE", "UME_CONFIG_CHECKSUM", "UME_CONFIG_FSYNC",
                 "UME_CONFIG_REWRITE", "UME_CODEC_ZSTD", "UME_LAYOUT_F"):  # fmt: skip
        assert consts.get(name) == defines[name], f"umedata.f90 {name} = {consts.get(name)}, header {defines[name]}"
    report(f"fortran: {len(checked)} bind(C) interfaces and the module's constants match umedata.h")
