"""The Julia package (bindings/julia/UmeData), checked without Julia.

No Julia runtime is available in CI, so this test derives what UmeData.jl does from its
source and replays it through Python ctypes:

1. It parses every ``ccall((:symbol, libumedata()), Ret, (ArgTypes...), args...)`` and
   every ``@ccall $(libumedata()).symbol(arg::Type, ...)::Ret`` of the source (any other
   ccall form fails), and every C-mirroring ``struct X  # C: ume_x``.
2. It checks each Julia signature and struct against include/umedata.h through one fixed
   table (JULIA_TYPES: Julia type -> the C type it stands for, and the ctypes type that
   passes it): a wrong pointer width fails. Argument values that are plain names must sit
   at the C parameter of that name (a swapped ``n_threads, max_open_chunks`` fails), and
   so must the positional ``WorldDesc(...)`` arguments named like its fields.
3. It replays Writer / write_sample! / finish! / close and Reader / read_samples! from what
   the source says, not from its own copy: the WorldDesc is built from the positional
   arguments of ``WorldDesc(...)`` in the source; the option setters get the values of
   their ccall argument expressions; the name lists go through the source's
   ``c_names`` checks (its ``length(names) == n`` check, its NUL check), so a short list is
   a DimensionMismatch in the replay too, never a C call; the arrays written get the axis
   order of the source's ``check_size`` calls; read buffers are allocated as the source's
   ``read_samples`` allocates them and checked by the source's ``read_samples!``. The
   stored data must equal the demo simulator's (demo_sim.py) bit for bit, and the C demo's.
4. It runs UmeData's version check (its regular expression, read from the source).
5. test_julia_mutations_are_caught applies each mutation listed in issue 14 to a copy of
   the source and runs this file on it: every mutation must make it fail.

$UMEDATA_JULIA_SOURCE replaces the source (the mutation check uses it).

The Fortran module is checked without a Fortran runtime too: its bind(C) types and its
bind(C) interfaces (argument count, by value or by reference, sizes) against the header.

The library: $UMEDATA_LIB, else the one the CMake build of $UME_WRITE_DEMO uses.
"""

from __future__ import annotations

import ctypes as C
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import demo_sim
from demo_sim import CHUNK_SAMPLES, H, N_OBS, N_PARAMS, N_SAMPLES, N_SHOCKS, T, WORLD

REPO = Path(__file__).resolve().parents[2]
PACKAGE_SOURCE = REPO / "bindings" / "julia" / "UmeData" / "src" / "UmeData.jl"
JULIA_FILE = Path(os.environ.get("UMEDATA_JULIA_SOURCE") or PACKAGE_SOURCE)
HEADER = REPO / "include" / "umedata.h"

# ---------------------------------------------------------------------- parsing UmeData.jl

CCALL_RE = re.compile(
    r"ccall\(\(:(?P<sym>\w+),\s*libumedata\(\)\),\s*(?P<ret>[\w{}]+),\s*\((?P<args>[^()]*)\)(?P<vals>.*)$"
)
AT_CCALL_RE = re.compile(r"@ccall \$\(libumedata\(\)\)\.(?P<sym>\w+)\((?P<rest>.*)$")
STRUCT_RE = re.compile(r"^struct (?P<name>\w+)\s+# C: (?P<cname>\w+)$")
FIELD_RE = re.compile(r"^\s+(?P<field>\w+)::(?P<type>[\w{}]+)$")
CONST_RE = re.compile(r"^const (?P<name>\w+) = UInt32\((?P<value>\d+)\)")
# A call into the Julia runtime itself (no library): `ccall(:jl_x, Ret, (Args...), vals...)`.
RUNTIME_CCALL_RE = re.compile(r"ccall\(:(?P<sym>jl_\w+), (?P<ret>\w+), \((?P<args>[^()]*)\)(?P<vals>.*)$")
# The runtime functions UmeData.jl may call, with their signatures (src/jlapi.c:
# int8_t jl_gc_safe_enter(void), void jl_gc_safe_leave(int8_t)).
JULIA_RUNTIME = {"jl_gc_safe_enter": ("Int8", []), "jl_gc_safe_leave": ("Cvoid", ["Int8"])}
FUNC_RE = re.compile(r"^(?:(?:function|mutable struct) (?P<f>\w+!?)(?=[\s(]|$)|(?P<g>\w+!?)\(.*\) = )")


def split_top(s: str) -> list[str]:
    """Splits 'A, B{C, D}, f(E, F)' at commas outside brackets."""
    out, depth, cur = [], 0, ""
    for ch in s:
        depth += ch in "({["
        depth -= ch in ")}]"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def until_close(s: str) -> tuple[str, str]:
    """(text up to the parenthesis closing an already open one, the rest after it)."""
    depth = 1
    for k, ch in enumerate(s):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return s[:k], s[k + 1 :]
    raise AssertionError(f"unbalanced parentheses in {s!r}")


def function_bodies(lines: list[str]) -> dict[str, list[tuple[int, str]]]:
    """Top-level `function name(` ... `end` (or one-line `name(...) = ...`, or a `mutable
    struct name` with its inner constructors) bodies by name; several methods of one name
    are concatenated."""
    bodies: dict[str, list[tuple[int, str]]] = {}
    cur = None
    for n, line in enumerate(lines, 1):
        if cur is None:
            m = FUNC_RE.match(line)
            if m and m["f"]:
                cur = m["f"]
                bodies.setdefault(cur, []).append((n, line))
            elif m and m["g"]:
                bodies.setdefault(m["g"], []).append((n, line))
        else:
            if line == "end":
                cur = None
            else:
                bodies[cur].append((n, line))
    return bodies


def parse_julia(path: Path = JULIA_FILE):
    src = path.read_text()
    ccalls, structs, consts = [], {}, {}
    lines = src.splitlines()
    for n, line in enumerate(lines, 1):
        code = line.split(" #")[0] if not line.lstrip().startswith("#") else ""
        if re.search(r"(?<![\w.])(@ccall\s|ccall\()", code):
            rm_ = RUNTIME_CCALL_RE.search(code)
            if rm_ and code.count("ccall") == 1:
                want = JULIA_RUNTIME.get(rm_["sym"])
                assert want, f"{path.name}:{n}: ccall of Julia runtime function {rm_['sym']}, not in JULIA_RUNTIME"
                args = split_top(rm_["args"])
                assert (rm_["ret"], args) == want, (
                    f"{path.name}:{n}: {rm_['sym']} is {want[0]} ({', '.join(want[1])}), called as "
                    f"{rm_['ret']} ({', '.join(args)})"
                )
                continue
            m = CCALL_RE.search(code)
            am = AT_CCALL_RE.search(code)
            if m and "@ccall" not in code:
                inner, _ = until_close(m["vals"].lstrip(",").strip() + ")")
                vals = split_top(inner)
                ccalls.append({"line": n, "sym": m["sym"], "ret": m["ret"],
                               "args": split_top(m["args"]), "vals": vals})  # fmt: skip
            elif am and code.count("ccall") == 1:
                inner, rest = until_close(am["rest"])
                rm = re.match(r"::([\w{}]+)", rest)
                assert rm, f"{path.name}:{n}: @ccall without ::ReturnType: {line.strip()}"
                pairs = [a.rsplit("::", 1) for a in split_top(inner)]
                assert all(len(p) == 2 for p in pairs), f"{path.name}:{n}: untyped @ccall argument"
                ccalls.append({"line": n, "sym": am["sym"], "ret": rm[1],
                               "args": [p[1].strip() for p in pairs],
                               "vals": [p[0].strip() for p in pairs]})  # fmt: skip
            else:
                raise AssertionError(
                    f"{path.name}:{n}: a ccall not in a form this proof checks (one line, "
                    f"library libumedata()): {line.strip()}"
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
                assert fm, f"{path.name}: unexpected line in struct {m['name']}: {body!r}"
                fields.append((fm["field"], fm["type"]))
            structs[m["name"]] = {"cname": m["cname"], "fields": fields}
    return ccalls, structs, consts, function_bodies(lines)


# ---------------------------------------------------------------------- parsing umedata.h


def norm_c(t: str) -> str:
    """'const struct ume_writer *' -> 'ume_writer*'; 'const char *const *' -> 'char**'."""
    t = re.sub(r"\b(const|struct|enum)\b", " ", t)
    return re.sub(r"\s+", "", t)


def _header_text() -> str:
    return re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)


PROTO_RE = r"^([\w ]+?[\s*]+)(ume_\w+)\(([^)]*)\);"


def parse_header():
    text = _header_text()
    protos = {}
    for m in re.finditer(PROTO_RE, text, flags=re.M):
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


def header_param_names() -> dict[str, list[str]]:
    """The parameter names of every prototype of umedata.h."""
    out = {}
    for m in re.finditer(PROTO_RE, _header_text(), flags=re.M):
        params = m.group(3).strip()
        args = [] if params in ("void", "") else [p.strip() for p in params.split(",")]
        out[m.group(2)] = [re.search(r"(\w+)$", a).group(1) for a in args]
    return out


# ---------------------------------------------------------------------- the type table

# Julia type in a ccall/struct -> (accepted C types (normalised), ctypes type).
# Struct references are resolved against the Julia structs (built as ctypes below).
JULIA_TYPES = {
    "Cvoid": ({"void"}, None),
    "Cint": ({"ume_status", "int"}, C.c_int),
    "Int32": ({"int32_t"}, C.c_int32),
    "Int64": ({"int64_t"}, C.c_int64),
    "UInt8": ({"uint8_t"}, C.c_uint8),
    "UInt32": ({"uint32_t"}, C.c_uint32),
    "UInt64": ({"uint64_t"}, C.c_uint64),
    "Csize_t": ({"size_t"}, C.c_size_t),
    "Float64": ({"double"}, C.c_double),
    "Cstring": ({"char*"}, C.c_char_p),
    "Ptr{Cchar}": ({"char*"}, C.c_char_p),
    "Ptr{Ptr{Cchar}}": ({"char**"}, C.POINTER(C.c_char_p)),
    # handles, and the engine's callback typedefs (a @cfunction pointer; test_julia_engine
    # checks the @cfunction's types against the typedef)
    "Ptr{Cvoid}": (
        {"ume_writer*", "ume_reader*", "ume_writer_config*", "ume_sim*", "ume_gen_config*", "void*",
         "ume_gen_summary*", "ume_rng*", "ume_simulate_fn", "ume_progress_fn"},
        C.c_void_p,
    ),
    "Ref{Ptr{Cvoid}}": (
        {"ume_writer**", "ume_reader**", "ume_writer_config**", "ume_sim**", "ume_gen_config**",
         "ume_gen_summary**"},
        C.POINTER(C.c_void_p),
    ),
    "Ptr{Float64}": ({"double*"}, C.POINTER(C.c_double)),
    "Ref{Float64}": ({"double*"}, C.POINTER(C.c_double)),
    "Ptr{Float32}": ({"float*"}, C.POINTER(C.c_float)),
    "Ref{UInt64}": ({"uint64_t*"}, C.POINTER(C.c_uint64)),
    "Ref{UInt32}": ({"uint32_t*"}, C.POINTER(C.c_uint32)),
    "Ref{UInt8}": ({"uint8_t*"}, C.POINTER(C.c_uint8)),
    "Ref{Int32}": ({"int32_t*"}, C.POINTER(C.c_int32)),
    "Ptr{UInt64}": ({"uint64_t*"}, C.POINTER(C.c_uint64)),
    "Ptr{UInt32}": ({"uint32_t*"}, C.POINTER(C.c_uint32)),
    "Ptr{UInt8}": ({"uint8_t*"}, C.POINTER(C.c_uint8)),
}


# The engine's C functions (tests/python/test_julia_engine_ctypes.py replays them).
ENGINE_SYMBOL = re.compile(r"^ume_(sim_|gen_|generate|rng_)")


class DimensionMismatch(Exception):
    """What the replayed Julia code throws as DimensionMismatch."""


class JuliaArgumentError(Exception):
    """What the replayed Julia code throws as ArgumentError."""


class Binding:
    """ctypes structs and functions built from the Julia declarations, checked against C."""

    def __init__(self, lib: C.CDLL, path: Path = JULIA_FILE):
        self.path = path
        self.ccalls, self.jl_structs, self.consts, self.bodies = parse_julia(path)
        self.protos, self.c_structs, self.defines = parse_header()
        self.param_names = header_param_names()
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
        # a value that is a plain name of one of C's parameters must be that parameter
        cnames = self.param_names[sym]
        assert len(cc["vals"]) == len(c_args), f"{where}: {len(cc['vals'])} values, C has {len(c_args)}"
        for k, v in enumerate(cc["vals"]):
            if v in cnames and cnames[k] != v:
                raise AssertionError(
                    f"{where}: argument {k + 1} is {v!r}, but C's parameter {k + 1} is "
                    f"{cnames[k]!r} ({v!r} is parameter {cnames.index(v) + 1})"
                )
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

    def call_with(self, sym: str, env: dict):
        """Calls `sym` with the values of the argument expressions of its (one) ccall in
        the source, each looked up in `env` (a plain name, or a constant of the source)."""
        forms = {tuple(v) for v in self.ccall_values(sym)}
        assert len(forms) == 1, f"{sym} is called with different arguments: {sorted(forms)}"
        (vals,) = forms
        args = []
        for v in vals:
            if v in env:
                args.append(env[v])
            elif v in self.consts:
                args.append(self.consts[v])
            else:
                raise AssertionError(f"{sym}: the replay does not know the value {v!r}")
        return self(sym, *args)

    # ---- what the source's functions do, read from their bodies

    def body(self, name: str) -> str:
        assert name in self.bodies, f"UmeData.jl has no function {name}"
        return "\n".join(line for _, line in self.bodies[name])

    def size_checks(self, fname: str) -> list[tuple[str, str, list[str]]]:
        """The check_size("what", x, (expr...), "(label)") calls of function `fname`:
        (array variable, shape expression, axis labels). Label and expression must agree."""
        out = []
        for m in re.finditer(r'check_size\("(\w+)", (\w+), (\(.*?\)), "\((.*?)\)"\)', self.body(fname)):
            what, var, expr, label = m.groups()
            assert what == var, f"{fname}: check_size names {what!r} but checks {var}"
            axes = [a.strip().replace(" ", "") for a in label.split(",") if a.strip()]
            names = [re.sub(r"^\w+\.", "", e.strip()).replace(" ", "") for e in split_top(expr[1:-1])]
            assert names == axes, f"{fname}: check_size of {var}: shape {expr} but label ({label})"
            out.append((var, expr, axes))
        return out

    def c_names_replay(self, what: str, names, count_name: str, n: int):
        """UmeData.c_names as the source has it: its length check (DimensionMismatch) and
        its NUL check (through c_string: ArgumentError). Without the length check, a short
        list would be handed to C, which reads n pointers: refused here, never called."""
        body = self.body("c_names")
        if re.search(r"length\(names\) == n \|\| throw\(DimensionMismatch\(", body):
            if len(names) != n:
                raise DimensionMismatch(f"{what} has {len(names)} names, expected {count_name} = {n}")
        elif len(names) < n:
            raise AssertionError(
                f"UmeData.c_names passes {len(names)} {what} to C, which reads {count_name} = {n} "
                "pointers (the SIGSEGV case of issue 14)"
            )
        nul = "occursin('\\0', str) && throw(ArgumentError(" in self.body("c_string")
        assert "c_string(" in body, "c_names no longer checks names through c_string"
        for k, s in enumerate(names, 1):
            if "\0" in s:
                if nul:
                    raise JuliaArgumentError(f"{what}[{k}] contains a NUL character")
                raise AssertionError(f"{what}[{k}] with NUL reaches C cut short")
        arr = (C.c_char_p * len(names))(*[s.encode() for s in names])
        return arr, C.cast(arr, C.POINTER(C.c_char_p))


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


WRITER_DEFAULTS = dict(codec=0, clevel=-1, chunk_samples=0, inner_chunk_samples=0, n_threads=0,
                       max_open_chunks=0, overwrite=False, allow_nonfinite=False, checksum=True,
                       fsync=True, rewrite=False, zarr_format=3, claim_lease=0)  # fmt: skip


def writer_config(jl: Binding, **kw):
    """UmeData.writer_config: ume_writer_config_new, every setter with the values of its
    ccall argument expressions in the source, ume_writer_config_free if one fails."""
    env = dict(WRITER_DEFAULTS, **kw)
    out = C.c_void_p()
    check(jl, jl("ume_writer_config_new", C.byref(out)))
    env["cfg"] = out
    # the flags loop: (CONFIG_X, x) pairs of the source, in its order
    flags = re.findall(r"\((CONFIG_\w+), (\w+)\)", jl.body("writer_config"))
    assert {f for f, _ in flags} == {k for k in jl.consts if k.startswith("CONFIG_")}, flags
    for const, var in flags:
        assert const == "CONFIG_" + var.upper(), f"writer_config pairs {const} with {var}"
    try:
        for sym in ("ume_writer_config_set_codec", "ume_writer_config_set_chunking",
                    "ume_writer_config_set_threads"):  # fmt: skip
            check(jl, jl.call_with(sym, env))
        for const, var in flags:
            check(jl, jl.call_with("ume_writer_config_set_flag", dict(env, option=jl.consts[const], on=int(env[var]))))
        check(jl, jl.call_with("ume_writer_config_set_zarr_format", env))
        check(jl, jl.call_with("ume_writer_config_set_claim_lease", env))
    except RuntimeError:
        jl("ume_writer_config_free", out)
        raise
    return out


def world_desc(jl: Binding, world: str, dims: dict, names: dict):
    """The ume_world_desc of UmeData.Writer: the source's positional WorldDesc(...)
    arguments, each evaluated (a plain name: the keyword's value; names_ptr(x): the list
    that x = c_names(...) checked)."""
    body = jl.body("Writer")
    m = re.search(r"desc = WorldDesc\((.*)\)$", body, flags=re.M)
    assert m, "Writer no longer builds a positional WorldDesc(...) on one line"
    args = split_top(m[1])
    fields = [f for f, _ in jl.jl_structs["WorldDesc"]["fields"]]
    assert len(args) == len(fields), f"WorldDesc(...) has {len(args)} arguments, the struct {len(fields)}"
    # names: `pn = ... c_names("param_names", param_names, "n_params", n_params)`
    lists = {}
    for v, what, var, cname, cvar in re.findall(
        r'(\w+) = \w+ === nothing \? nothing : c_names\("(\w+)", (\w+), "(\w+)", (\w+)\)', body
    ):
        assert what == var and cname == cvar, f"Writer: c_names({what!r}, {var}, {cname!r}, {cvar})"
        lists[v] = (var, cvar)
    keep, values = [], []
    for k, (a, field) in enumerate(zip(args, fields)):
        if re.fullmatch(r"\w+", a) and a in fields and a != field:
            raise AssertionError(f"WorldDesc(...) argument {k + 1} is {a}, the field there is {field}")
        if re.fullmatch(r"\w+", a):
            values.append(dims[a])
        elif re.fullmatch(r"Ptr\{Cchar\}\(pointer\(id_buf\)\)", a):
            values.append(world.encode())
        elif nm := re.fullmatch(r"names_ptr\((\w+)\)", a):
            var, count = lists[nm[1]]
            arr = jl.c_names_replay(var, names[var], count, dims[count])
            keep.append(arr)
            values.append(arr[1])
        else:
            raise AssertionError(f"WorldDesc(...) argument {a!r}: the replay cannot evaluate it")
    return jl.ctypes_structs["WorldDesc"](*values), keep


def replay_writer(jl: Binding, path: bytes, names: dict, **options):
    """UmeData.Writer(path, WORLD; dims..., names..., options...) -> handle."""
    assert version_check_passes(jl)
    dims = dict(n_samples=N_SAMPLES, T=T, H=H, n_params=N_PARAMS, n_shocks=N_SHOCKS, n_obs=N_OBS)
    desc, keep = world_desc(jl, WORLD, dims, names)  # argument checks first, as the source
    cfg = writer_config(jl, **options)
    handle = C.c_void_p()
    env = {"path": path, "desc": C.byref(desc), "cfg": cfg, "out": C.byref(handle)}
    st = jl.call_with("ume_writer_create_with_config", env)
    jl("ume_writer_config_free", cfg)  # the `finally` of Writer: the writer copied it
    check(jl, st)
    del keep
    return handle


CANONICAL = {  # per-sample axes of demo_sim's arrays
    "theta": ["n_params"],
    "trajectories": ["T", "n_obs"],
    "irfs": ["n_shocks", "H+1", "n_obs"],
    "shocks": ["T", "n_shocks"],
}
JULIA_NAME = {"theta": "theta", "trajectories": "traj", "irfs": "irfs", "shocks": "shocks"}


def axes_of(jl: Binding, fname: str) -> dict[str, list[str]]:
    checks = {var: axes for var, _, axes in jl.size_checks(fname)}
    assert set(checks) == set(JULIA_NAME.values()), f"{fname} checks the sizes of {sorted(checks)}"
    return checks


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
    # the package's version is the library's, and the old include path loads the package
    project = (PACKAGE_SOURCE.parents[1] / "Project.toml").read_text()
    ver = re.search(r'^version = "(\d+)\.(\d+)\.\d+"$', project, flags=re.M)
    assert ver and (int(ver[1]), int(ver[2])) == (jl.consts["VERSION_MAJOR"], jl.consts["VERSION_MINOR"])
    assert re.search(r'^uuid = "[0-9a-f-]{36}"$', project, flags=re.M)
    old = (REPO / "bindings" / "julia" / "UmeData.jl").read_text()
    assert 'include(joinpath(@__DIR__, "UmeData", "src", "UmeData.jl"))' in old
    report(f"julia: version check passes for library {jl('ume_version').decode()} and "
           f"follows the ABI policy on {len(cases)} cases")  # fmt: skip


def test_julia_declarations_match_header(jl: Binding, report):
    """Every ccall/@ccall and mirrored struct of UmeData.jl agrees with umedata.h (checked
    while building `jl`), and the layout/codec constants equal the header's."""
    assert jl.ccalls, "no ccall found in UmeData.jl"
    assert jl.consts["LAYOUT_F"] == jl.defines["UME_LAYOUT_F"] == 2
    assert jl.consts["LAYOUT_C"] == jl.defines["UME_LAYOUT_C"] == 1
    exports = re.search(r"^export (.*?)\n\n", JULIA_FILE.read_text(), flags=re.S | re.M)[1]
    for name in ("BLOSC_LZ4", "BLOSC_ZSTD", "ZSTD", "NONE"):
        assert jl.consts[f"CODEC_{name}"] == jl.defines[f"UME_CODEC_{name}"]
        assert f"CODEC_{name}" in exports, f"CODEC_{name} is not exported"
    for name in ("OVERWRITE", "ALLOW_NONFINITE", "CHECKSUM", "FSYNC", "REWRITE"):
        assert jl.consts[f"CONFIG_{name}"] == jl.defines[f"UME_CONFIG_{name}"], name
    for name in ("UNIFORM", "SOBOL"):
        assert jl.consts[f"DESIGN_{name}"] == jl.defines[f"UME_DESIGN_{name}"], name
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
    n_at = sum(1 for cc in jl.ccalls if "@ccall" in JULIA_FILE.read_text().splitlines()[cc["line"] - 1])
    report(
        f"julia: {len(jl.ccalls)} ccalls ({n_at} @ccall) to {len(jl.funcs)} C functions and "
        f"{len(jl.ctypes_structs)} structs of UmeData.jl match umedata.h, argument names included"
    )


def test_julia_short_name_list_is_dimension_mismatch(jl: Binding, tmp_path, report):
    """The crash case of issue 14: 2 param_names for n_params = 3 (C would read a third
    pointer past the list) is a DimensionMismatch in the replayed Writer, before any C
    call; a name with NUL is an ArgumentError."""
    path = str(tmp_path / "short.zarr").encode()
    names = {"param_names": list(demo_sim.PARAM_NAMES)[:2], "shock_names": list(demo_sim.SHOCK_NAMES),
             "obs_names": list(demo_sim.OBS_NAMES)}  # fmt: skip
    before = set(jl.called)
    with pytest.raises(DimensionMismatch, match=r"param_names has 2 names, expected n_params = 8"):
        replay_writer(jl, path, names)
    for key, full in (("shock_names", demo_sim.SHOCK_NAMES), ("obs_names", demo_sim.OBS_NAMES)):
        bad = dict(names, param_names=list(demo_sim.PARAM_NAMES), **{key: list(full)[:-1]})
        with pytest.raises(DimensionMismatch, match=key):
            replay_writer(jl, path, bad)
    nul = dict(names, param_names=["beta", "sig\0ma"] + list(demo_sim.PARAM_NAMES)[2:])
    with pytest.raises(JuliaArgumentError, match=r"param_names\[2\] contains a NUL"):
        replay_writer(jl, path, nul)
    assert jl.called - before <= {"ume_version"}, "a C call was made before the name checks"
    assert not (tmp_path / "short.zarr").exists()
    report("julia: a short name list (2 param_names for n_params = 8) is a DimensionMismatch "
           "in the replay, before any C call; a NUL in a name an ArgumentError")  # fmt: skip


def test_julia_calls_store_the_demo_data(jl: Binding, tmp_path, dataset, expected, report):
    """Replays UmeData.Writer / write_sample! / finish! / close and Reader / read_samples! /
    read_sample from the source's declarations; the data equals the demo's, bit for bit."""
    zarr = pytest.importorskip("zarr", minversion="3.0")
    sim64 = demo_sim.simulate(N_SAMPLES, dtype=np.float64)
    path = str(tmp_path / "julia.zarr").encode()
    names = {"param_names": list(demo_sim.PARAM_NAMES), "shock_names": list(demo_sim.SHOCK_NAMES),
             "obs_names": list(demo_sim.OBS_NAMES)}  # fmt: skip
    handle = replay_writer(jl, path, names, chunk_samples=CHUNK_SAMPLES)

    # --- write_sample!(w, i, theta, traj, irfs, shocks): arrays shaped as the source's
    # check_shapes demands (axis names from its labels), column-major, LAYOUT_F
    axes = axes_of(jl, "check_shapes")
    sizes = {"n_params": N_PARAMS, "T": T, "H+1": H + 1, "n_shocks": N_SHOCKS, "n_obs": N_OBS}
    d = SimpleNamespace(T=T, H=H, n_params=N_PARAMS, n_shocks=N_SHOCKS, n_obs=N_OBS, n_samples=N_SAMPLES)
    for var, expr, ax in jl.size_checks("check_shapes"):
        assert eval(expr, {}, {"d": d}) == tuple(sizes[a] for a in ax), f"check_shapes {var}: {expr}"
    for i in range(N_SAMPLES):
        arrays = []
        for key in ("theta", "trajectories", "irfs", "shocks"):
            want = axes[JULIA_NAME[key]]
            perm = [CANONICAL[key].index(a) for a in want]
            arrays.append(np.asfortranarray(np.transpose(sim64[key][i], perm)))
        if i % 2 == 0:
            sym, ct = "ume_writer_write_sample_f64", C.c_double
        else:  # the Float32 method: Float32.(x) rounds to nearest, like the library
            arrays = [np.asfortranarray(a.astype(np.float32)) for a in arrays]
            sym, ct = "ume_writer_write_sample_f32", C.c_float
        env = {"h": handle, "i": i}
        for key, a in zip(("theta", "traj", "irfs", "shocks"), arrays):
            env[key] = ptr(a, ct)
            env[f"length({key})"] = a.size
        check(jl, jl.call_with(sym, env))

    # --- finish!(w); close(w)
    summary = jl.ctypes_structs["Summary"]()
    check(jl, jl.call_with("ume_writer_finalize", {"h": handle, "s": C.byref(summary)}))
    assert summary.samples_written == N_SAMPLES and summary.n_samples == N_SAMPLES
    jl.call_with("ume_writer_free", {"h": handle})

    # --- the GC finalizer of an unfinished Writer: ume_writer_discard, nothing buffered is
    # stored (no chunk was complete), the handle is released
    dpath = path + b"_discard"
    dh = replay_writer(jl, dpath, names, chunk_samples=CHUNK_SAMPLES)
    jl.call_with("ume_writer_discard", {"h": dh})
    drh, dn = C.c_void_p(), C.c_uint64()
    check(jl, jl("ume_reader_open", dpath, WORLD.encode(), C.byref(drh)))
    check(jl, jl("ume_reader_samples_written", drh, C.byref(dn)))
    assert dn.value == 0, "a discarded writer stored buffered samples"
    jl("ume_reader_free", drh)

    # --- a bad option: the setter fails, writer_config frees the config and rethrows
    with pytest.raises(RuntimeError, match="ume_writer_config_set_codec: codec 9"):
        writer_config(jl, codec=9)
    with pytest.raises(RuntimeError, match="claim_lease_seconds is 1"):
        writer_config(jl, claim_lease=1)

    # --- error path: UmeError(status, message) from ume_last_error_message
    status = jl("ume_status_string", 7003)
    assert status and jl("ume_version").decode().count(".") == 2
    rh = C.c_void_p()
    st = jl.call_with("ume_reader_open", {"path": path, "world_id": b"no_such_world", "out": C.byref(rh)})
    assert st == 7008 and b"no_such_world" in jl("ume_last_error_message")

    # --- Reader(path, "nk"); world_shape; samples_written; is_written
    check(jl, jl.call_with("ume_reader_open", {"path": path, "world_id": WORLD.encode(), "out": C.byref(rh)}))
    shape = jl.ctypes_structs["WorldShape"]()
    check(jl, jl.call_with("ume_reader_shape", {"h": rh, "s": C.byref(shape)}))
    assert (shape.n_samples, shape.chunk_samples, shape.T, shape.H) == (N_SAMPLES, CHUNK_SAMPLES, T, H)
    n = C.c_uint64()
    check(jl, jl.call_with("ume_reader_samples_written", {"h": rh, "n": C.byref(n)}))
    b = C.c_uint8()
    check(jl, jl.call_with("ume_reader_is_written", {"h": rh, "i": N_SAMPLES - 1, "b": C.byref(b)}))
    assert n.value == N_SAMPLES and b.value == 1
    # --- set_threads!(r, 2); reader_threads(r) == 2 (the range reads below then decode on
    # the library's threads; the values must not change)
    check(jl, jl.call_with("ume_reader_set_threads", {"h": rh, "n": 2}))
    nt = C.c_uint32()
    check(jl, jl.call_with("ume_reader_threads", {"h": rh, "n": C.byref(nt)}))
    assert nt.value == 2

    # --- read_samples(r, start, count, E): buffers allocated as the source allocates them,
    # checked by the source's read_samples! (DimensionMismatch), read, then interpreted
    # along the axes of read_samples!'s labels: Julia's out[..., k] is sample k-1
    s = SimpleNamespace(**{f: getattr(shape, f) for f, _ in shape._fields_})
    count = N_SAMPLES
    alloc = dict(re.findall(r"^\s+(\w+) = Array\{E\}\(undef, (.*)\)$", jl.body("read_samples"), flags=re.M))
    assert set(alloc) == set(JULIA_NAME.values()), f"read_samples allocates {sorted(alloc)}"
    read_axes = axes_of(jl, "read_samples!")
    for sym, dt, ct in (("ume_reader_read_f64", np.float64, C.c_double),
                        ("ume_reader_read_f32", np.float32, C.c_float)):  # fmt: skip
        out = {v: np.empty(eval(f"({e},)", {}, {"s": s, "count": count}), dtype=dt, order="F")
               for v, e in alloc.items()}  # fmt: skip
        for var, expr, _ in jl.size_checks("read_samples!"):
            want = eval(expr, {}, {"s": s, "count": out["theta"].shape[1]})
            if out[var].shape != tuple(want):
                raise DimensionMismatch(f"{var} has size {out[var].shape}, expected {want}")
        env = {"h": rh, "start": 0, "count": count}
        for v, a in out.items():
            env[v] = ptr(a, ct)
            env[f"length({v})"] = a.size
        check(jl, jl.call_with(sym, env))
        for key in ("theta", "trajectories", "irfs", "shocks"):
            ax = read_axes[JULIA_NAME[key]]
            assert ax[-1] == "count", f"read_samples! {JULIA_NAME[key]}: the last axis is {ax[-1]}"
            perm = [len(ax) - 1] + [ax.index(a) for a in CANONICAL[key]]
            got = np.transpose(out[JULIA_NAME[key]], perm).astype(np.float32)
            np.testing.assert_array_equal(got, expected[key], err_msg=f"{sym} {key}")
    # --- read_ids(r, ids, E; threads = 2): a shuffled batch with a repeat. The source must
    # allocate and check exactly as read_samples/read_samples! do (count = length(ids)), and
    # column k must hold sample ids[k]
    ids = np.array([N_SAMPLES - 1, 0, 3, 3, 1], dtype=np.uint64)
    alloc_ids = dict(re.findall(r"^\s+(\w+) = Array\{E\}\(undef, (.*)\)$", jl.body("read_ids"), flags=re.M))
    assert alloc_ids == alloc, f"read_ids allocates {alloc_ids}, read_samples {alloc}"
    assert jl.size_checks("read_ids!") == jl.size_checks("read_samples!")
    assert re.search(r"^\s+count = length\(ids\)$", jl.body("read_ids!"), flags=re.M)
    assert re.search(r"^\s+ids64 = Vector\{UInt64\}\(ids\)$", jl.body("read_ids!"), flags=re.M)
    for sym, dt, ct in (("ume_reader_read_ids_f64", np.float64, C.c_double),
                        ("ume_reader_read_ids_f32", np.float32, C.c_float)):  # fmt: skip
        out = {v: np.empty(eval(f"({e},)", {}, {"s": s, "count": ids.size}), dtype=dt, order="F")
               for v, e in alloc_ids.items()}  # fmt: skip
        env = {"h": rh, "ids64": ids.ctypes.data_as(C.POINTER(C.c_uint64)), "length(ids64)": ids.size,
               "threads": 2}  # fmt: skip
        for v, a in out.items():
            env[v] = ptr(a, ct)
            env[f"length({v})"] = a.size
        check(jl, jl.call_with(sym, env))
        for key in ("theta", "trajectories", "irfs", "shocks"):
            ax = read_axes[JULIA_NAME[key]]
            perm = [len(ax) - 1] + [ax.index(a) for a in CANONICAL[key]]
            got = np.transpose(out[JULIA_NAME[key]], perm).astype(np.float32)
            np.testing.assert_array_equal(got, expected[key][ids.astype(np.int64)], err_msg=f"{sym} {key}")
    jl.call_with("ume_reader_free", {"h": rh})

    # --- the stored arrays, read by zarr-python, equal the C demo's dataset bit for bit
    mine = zarr.open_group(str(tmp_path / "julia.zarr"), mode="r")[WORLD]
    theirs = zarr.open_group(str(dataset), mode="r")[WORLD]
    for key in ("theta", "trajectories", "irfs", "shocks", "written"):
        a, b_ = mine[key][...], theirs[key][...]
        assert a.dtype == b_.dtype and a.shape == b_.shape, key
        assert a.tobytes() == b_.tobytes(), f"{key} differs from the C demo's"

    # the engine's functions are replayed by test_julia_engine_ctypes.py
    missing = {f for f in set(jl.funcs) - jl.called if not ENGINE_SYMBOL.match(f)}
    assert not missing, f"C functions UmeData.jl calls but this test did not replay: {missing}"
    report(
        f"julia: {N_SAMPLES} samples written with UmeData.jl's calls (Fortran order, "
        "Float64 and Float32) equal the C demo's dataset bit for bit"
    )


# Each mutation of issue 14 (and two more): (name, old text, new text) applied once to a
# copy of the source; the proof above must fail on every one.
MUTATIONS = [
    ("read_ids! passes ids shifted by one",
     "ids64 = Vector{UInt64}(ids)", "ids64 = Vector{UInt64}(ids) .+ UInt64(1)"),
    ("read_ids! asks C for the C layout",
     "h, ids64, length(ids64), LAYOUT_F, theta", "h, ids64, length(ids64), LAYOUT_C, theta"),
    ("swap T and H in the positional WorldDesc(...)",
     "(pointer(id_buf)), n_samples, T, H, n_params", "(pointer(id_buf)), n_samples, H, T, n_params"),
    ("swap n_threads and max_open_chunks in ume_writer_config_set_threads",
     "cfg, n_threads, max_open_chunks)", "cfg, max_open_chunks, n_threads)"),
    ("allocate traj as (n_obs, T, count) in read_samples",
     "traj = Array{E}(undef, s.T, s.n_obs, count)", "traj = Array{E}(undef, s.n_obs, s.T, count)"),
    ("an @ccall with a wrong pointer width (Ref{UInt32} for uint64_t*)",
     "n::Ref{UInt64})::Cint", "n::Ref{UInt32})::Cint"),
    ("an added @ccall with a wrong pointer width",
     "\nend # module UmeData",
     "\nfunction samples_written32(r::Reader)\n    n = Ref{UInt32}(0)\n"
     "    st = @ccall $(libumedata()).ume_reader_samples_written(r.handle::Ptr{Cvoid}, n::Ref{UInt32})::Cint\n"
     "    return n[]\nend\n\nend # module UmeData"),
    ("a short name list reaches C (no length check in c_names)",
     '    length(names) == n || throw(DimensionMismatch("$what has $(length(names)) names, expected $count_name = $n"))\n',
     ""),
    ("names with NUL not refused",
     "    occursin('\\0', str) && throw(", "    false && throw("),
    ("traj checked as (n_obs, T) in write_sample!",
     'check_size("traj", traj, (d.T, d.n_obs), "(T, n_obs)")',
     'check_size("traj", traj, (d.n_obs, d.T), "(n_obs, T)")'),
    ("write with LAYOUT_C",
     "h, i, LAYOUT_F, theta", "h, i, LAYOUT_C, theta"),
    ("a ccall with a multi-line form the proof cannot read",
     "check(ccall((:ume_writer_config_set_zarr_format, libumedata()), Cint,",
     "check(ccall((:ume_writer_config_set_zarr_format, libumedata()), Cint,\n         "),
]  # fmt: skip


@pytest.mark.skipif(bool(os.environ.get("UMEDATA_JULIA_SOURCE")), reason="inside a mutation run")
def test_julia_mutations_are_caught(tmp_path, write_demo, report):
    """Runs this file's Julia tests on mutated copies of the source: each must fail (and
    the unmutated copy must pass, so the harness itself is proven)."""
    lib = find_library().resolve()
    src = PACKAGE_SOURCE.read_text()

    def run(text: str, name: str) -> subprocess.CompletedProcess:
        path = tmp_path / f"{name}.jl"
        path.write_text(text)
        env = dict(os.environ, UMEDATA_JULIA_SOURCE=str(path), UMEDATA_LIB=str(lib),
                   UME_WRITE_DEMO=str(write_demo))  # fmt: skip
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               str(Path(__file__)), "-k", "julia and not mutations"]  # fmt: skip
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                              cwd=str(Path(__file__).parent))  # fmt: skip

    control = run(src, "original")
    assert control.returncode == 0 and " passed" in control.stdout, control.stdout[-3000:]
    caught = []
    for k, (what, old, new) in enumerate(MUTATIONS):
        assert src.count(old) >= 1, f"mutation {what!r}: {old!r} not in the source"
        proc = run(src.replace(old, new, 1), f"mutant{k}")
        assert proc.returncode != 0, f"mutation not caught: {what}\n{proc.stdout[-2000:]}"
        reason = next((ln for ln in proc.stdout.splitlines() if ln.startswith("E ")), "")
        caught.append(f"{what}: {reason[2:].strip()[:140]}")
    for line in caught:
        report(f"julia mutation caught: {line}")
    print("\n".join(caught))


# ---------------------------------------------------------------------- Fortran module

FORTRAN_FILE = REPO / "bindings" / "fortran" / "umedata.f90"
# Fortran component type -> the C field types it may mirror (same size and alignment).
FORTRAN_TYPES = {
    "integer(c_int64_t)": {"uint64_t", "int64_t"},
    "integer(c_int32_t)": {"uint32_t", "int32_t"},
    "integer(c_int8_t)": {"uint8_t", "int8_t"},
    "real(c_double)": {"double"},
    "type(c_ptr)": {"char*", "char**", "double*", "void*"},
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
            if ftype == "type(c_funptr)":
                allowed = {ctype} if ctype.endswith("_fn") else set()  # a callback typedef
            elif ftype.startswith("type(") and ftype != "type(c_ptr)":
                allowed = {ftype[5:-1]}  # a nested bind(C) type of the same name
            assert ctype in allowed, f"Fortran {fname}%{field} is {ftype}, C has {ctype}"
        checked.append(cname)
    # ume_writer_options (the frozen by-value struct) is no longer mirrored: the module
    # passes options through ume_writer_config.
    assert sorted(checked) == sorted(
        ["ume_world_shape", "ume_array_stats", "ume_summary", "ume_world_desc", "ume_plugin_v1"]
    ), checked
    report(f"fortran: bind(C) types {', '.join(checked)} match umedata.h")


# Fortran dummy argument -> the C parameter types it may stand for. By value: a scalar of
# the same size (or any pointer for type(c_ptr)); by reference: a pointer to it.
FORTRAN_BY_VALUE = {
    "integer(c_size_t)": {"size_t"},
    "integer(c_int64_t)": {"uint64_t", "int64_t"},
    "integer(c_int32_t)": {"uint32_t", "int32_t"},
    "integer(c_int8_t)": {"uint8_t", "int8_t"},
    "real(c_double)": {"double"},
    "real(c_float)": {"float"},
}
FORTRAN_BY_REF = {
    "type(c_ptr)": lambda c: c.endswith("**"),
    "character(kind=c_char)": lambda c: c == "char*",
    "real(c_double)": lambda c: c == "double*",
    "real(c_float)": lambda c: c == "float*",
    "integer(c_int64_t)": lambda c: c in ("uint64_t*", "int64_t*"),
    "integer(c_int8_t)": lambda c: c in ("uint8_t*", "int8_t*"),
}


def check_fortran_signature(sym: str, m: re.Match, proto, bind_types: dict) -> None:
    """The Fortran function or subroutine `m` (groups kind, args, body, rtype, res) has the
    arguments and result of the C prototype `proto` = (return type, argument types)."""
    c_ret, c_args = proto
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
        if by_value and ftype == "type(c_funptr)":
            ok = ctype.endswith("_fn")  # a callback typedef of the header
        elif by_value:
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
        check_fortran_signature(sym, m, protos[sym], bind_types)
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
                 "UME_CONFIG_REWRITE", "UME_CODEC_ZSTD", "UME_LAYOUT_F",
                 "UME_PLUGIN_ABI_VERSION"):  # fmt: skip
        assert consts.get(name) == defines[name], f"umedata.f90 {name} = {consts.get(name)}, header {defines[name]}"
    report(f"fortran: {len(checked)} bind(C) interfaces and the module's constants match umedata.h")


def test_fortran_plugin_callbacks_match_header(report):
    """The abstract interfaces of umedata.f90 marked `! C: ume_x_fn` (the generator
    functions a host lends a plugin through ume_plugin_v1) have the arguments and result
    of the header's function pointer typedefs of the same name."""
    text = _header_text()
    typedefs = {}
    for m in re.finditer(r"^typedef ([\w ]+?[\s*]+)\(\*(\w+_fn)\)\(([^)]*)\);", text, flags=re.M):
        args = [p.strip() for p in m[3].split(",") if p.strip()]
        typedefs[m[2]] = (norm_c(m[1]), [norm_c(re.sub(r"\w+$", "", a)) for a in args])
    src = FORTRAN_FILE.read_text()
    text_f = re.sub(r"&\s*\n\s*", " ", src)
    bind_types = dict(re.findall(r"type, bind\(C\)(?:, public)? :: (\w+)\s+! C: (\w+)", src))
    checked = []
    for m in re.finditer(
        r"^\s*(?:(?P<rtype>[\w(), =]+?) )?(?P<kind>function|subroutine) (?P<name>\w+)"
        r"\((?P<args>[^)]*)\)\s*bind\(C\)(?:\s*result\((?P<res>\w+)\))?\s*! C: (?P<sym>\w+)\n"
        r"(?P<body>.*?)^\s*end (?P=kind)",
        text_f,
        flags=re.S | re.M,
    ):
        sym = m["sym"]
        assert m["name"] == sym, f"umedata.f90 interface {m['name']} mirrors {sym}: name it so"
        assert sym in typedefs, f"umedata.f90 interface {sym}: no such typedef in umedata.h"
        check_fortran_signature(sym, m, typedefs[sym], bind_types)
        checked.append(sym)
    assert sorted(checked) == ["ume_plugin_rng_fill_fn", "ume_plugin_rng_fn"], checked
    report(f"fortran: plugin callback interfaces {', '.join(checked)} match umedata.h")
