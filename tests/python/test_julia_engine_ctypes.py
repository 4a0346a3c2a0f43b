"""The engine face of the Julia package (UmeData.generate, issue 13), checked without Julia.

Shares the parser and the type table of test_julia_ctypes.py, and, like it, derives what it
replays from the package source ($UMEDATA_JULIA_SOURCE replaces it):

1. The @cfunction of each trampoline against the callback typedefs of umedata.h
   (ume_simulate_fn, ume_progress_fn, parsed from the header): return type and every
   argument type, and the trampoline's own parameters (names and types, in order).
   The values UmeData passes at ume_generate's callback parameters must be those
   @cfunction pointers; `user` must be pointer_from_objref of an object GC.@preserve'd
   around the call; the call must sit in a GC-safe region (jl_gc_safe_enter right before,
   jl_gc_safe_leave right after); a callback's exception is rethrown before check(st).
2. generate is replayed through ctypes: Simulator and GenConfig with the values of their
   ccall argument expressions (keyword defaults read from the source), ume_generate with a
   ctypes CFUNCTYPE built from the @cfunction's types, and a Python trampoline that does
   what the Julia one does as read from its body: its unsafe_wrap dimensions and
   PermutedDimsArray permutations (column-major views over C's row-major buffers), the
   argument order of its call of f, its catch block (keep the exception, return its
   code), reject_code's mapping of f's result, and RngRef's draws through the source's
   ccalls. The user function is a Python stand-in of a Julia f written against the
   documented shapes.
3. The AR(1) model of examples_c/plugin_ar1.c run this way (2 threads) equals, value for
   value, `umedata generate --sim libar1.so` (1 thread, the C engine and the C model);
   a model with n_shocks = 2 and n_obs = 3 run through the Julia-shaped views equals a
   plain C-order ctypes callback; an exception in f aborts the run, is rethrown as the
   original object, and the run resumes to the plugin's dataset; progress stops it;
   a theta table (one row per sample) is stored as given; the Julia-version gate
   refuses Julia < 1.9 before any C call.
4. test_julia_engine_mutations_are_caught: every mutation of ENGINE_MUTATIONS must fail it.
"""

from __future__ import annotations

import ctypes as C
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_julia_ctypes import (
    HEADER,
    JULIA_FILE,
    PACKAGE_SOURCE,
    REPO,
    Binding,
    check,
    find_library,
    norm_c,
    split_top,
    writer_config,
)

AR1_T, AR1_H, AR1_N = 100, 20, 1000

# ---------------------------------------------------------------------- header and source


def parse_typedefs() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """The function-pointer typedefs of umedata.h: name -> (return type, [(type, name)])."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    out = {}
    for m in re.finditer(r"typedef ([\w ]+?) \(\*(ume_\w+_fn)\)\(([^)]*)\);", text):
        params = []
        for p in split_top(m[3]):
            pm = re.match(r"(.*?)(\w+)$", p.strip())
            params.append((norm_c(pm[1]), pm[2]))
        out[m[2]] = (norm_c(m[1]), params)
    return out


class Sym(str):
    """A Julia Symbol."""


class JuliaError(Exception):
    """An exception a Julia user function throws (a stand-in for any Julia exception)."""


class JuliaArgumentError(Exception):
    """What the replayed Julia code throws as ArgumentError."""


class JuliaErrorException(Exception):
    """What the replayed Julia code throws as ErrorException (error(...))."""


class ReplayError(AssertionError):
    """The replay cannot read the source (a failure of the proof, never a Julia exception)."""


def line_of(body: str, pattern: str, what: str) -> int:
    lines = body.splitlines()
    hits = [k for k, ln in enumerate(lines) if re.search(pattern, ln)]
    assert len(hits) == 1, f"{what}: {len(hits)} lines match {pattern!r}"
    return hits[0]


class Engine:
    """What UmeData.jl's engine code does, read from its source and checked against umedata.h."""

    def __init__(self, jl: Binding):
        self.jl = jl
        self.typedefs = parse_typedefs()
        src = jl.path.read_text()
        self.src = src
        gen = jl.body("generate")
        self.gen = gen
        # --- the @cfunctions of generate: var -> (trampoline, ret, [types])
        self.cfuncs = {}
        for m in re.finditer(r"(\w+) = (?:.*\? C_NULL : )?@cfunction\((\w+), ([\w{}]+), \((.*?)\)\)$", gen, flags=re.M):
            self.cfuncs[m[1]] = (m[2], m[3], split_top(m[4]))
        # --- ume_generate's ccall: the value at each callback typedef parameter
        (vals,) = {tuple(v) for v in jl.ccall_values("ume_generate")}
        _, c_args = jl.protos["ume_generate"]
        names = jl.param_names["ume_generate"]
        self.generate_vals = dict(zip(names, vals))
        self.callback_of = {}  # C parameter -> (typedef, trampoline name, cfunction types)
        for cname, ctype, v in zip(names, c_args, vals):
            if ctype in self.typedefs:
                assert v in self.cfuncs, (
                    f"ume_generate's {cname} ({ctype}) gets {v!r}, not a @cfunction pointer of generate"
                )
                tramp, ret, types = self.cfuncs[v]
                self.check_callback(ctype, tramp, ret, types)
                self.callback_of[cname] = (ctype, tramp, types)
        assert set(self.callback_of) == {"simulate", "progress"}, sorted(self.callback_of)
        self.check_generate_structure()

    # ---- 1. the callback types, field by field
    def check_callback(self, typedef: str, tramp: str, ret: str, types: list[str]):
        c_ret, c_params = self.typedefs[typedef]
        where = f"@cfunction({tramp}, ...) for {typedef}"
        accepted, _ = self.jl.resolve(ret)
        assert c_ret in accepted, f"{where}: returns {ret} ({accepted}), the typedef {c_ret}"
        assert len(types) == len(c_params), f"{where}: {len(types)} argument types, the typedef has {len(c_params)}"
        for k, (jt, (ct, cname)) in enumerate(zip(types, c_params)):
            accepted, _ = self.jl.resolve(jt)
            assert ct in accepted, f"{where}: argument {k + 1} ({cname}) is {jt} ({accepted}), the typedef has {ct}"
        # the trampoline's own signature: the typedef's parameter names, the @cfunction's types
        m = re.search(rf"^function {tramp}\((.*)\)::(\w+)$", self.src, flags=re.M)
        assert m, f"UmeData.jl: no one-line `function {tramp}(...)::Ret`"
        params = [p.split("::") for p in split_top(m[1])]
        assert [t for _, t in params] == types, f"{tramp} takes {[t for _, t in params]}, its @cfunction says {types}"
        assert m[2] == ret, f"{tramp} returns {m[2]}, its @cfunction says {ret}"
        assert [n for n, _ in params] == [n for _, n in c_params], (
            f"{tramp}'s parameters are {[n for n, _ in params]}, {typedef}'s {[n for _, n in c_params]}"
        )

    # ---- the call of ume_generate: preserved, GC-safe, errors in the right order
    def check_generate_structure(self):
        gen = self.gen
        lines = gen.splitlines()
        at = line_of(gen, r"ccall\(\(:ume_generate, ", "generate: the ume_generate ccall")
        code = [k for k, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("#")]
        before = max(k for k in code if k < at)
        after = min(k for k in code if k > at)
        m = re.fullmatch(r"\s*(\w+) = ccall\(:jl_gc_safe_enter, Int8, \(\)\)", lines[before])
        assert m, f"generate: the line before ume_generate is not `x = ccall(:jl_gc_safe_enter, ...)`: {lines[before]!r}"
        assert re.fullmatch(rf"\s*ccall\(:jl_gc_safe_leave, Cvoid, \(Int8,\), {m[1]}\)", lines[after]), (
            f"generate: the line after ume_generate is not jl_gc_safe_leave({m[1]}): {lines[after]!r}"
        )
        # Julia code in the GC-safe region may not allocate: the call's values are plain names
        for v in self.generate_vals.values():
            assert re.fullmatch(r"\w+", v), f"generate: ume_generate gets {v!r}, computed inside the GC-safe region"
        # user = pointer_from_objref(x), x GC.@preserve'd by a block enclosing the call
        user = self.generate_vals["user"]
        um = re.search(rf"^\s+{user} = pointer_from_objref\((\w+)\)$", gen, flags=re.M)
        assert um, f"generate: `{user}` is not pointer_from_objref(...)"
        self.ctx_name = um[1]
        pm = None
        for k in range(at, -1, -1):
            pm = re.match(r"^(\s*)GC\.@preserve ([\w ]+) begin$", lines[k])
            if pm:
                break
        assert pm, "generate: the ume_generate ccall is not inside a GC.@preserve ... begin block"
        indent = pm[1]
        end = next(j for j in range(k + 1, len(lines)) if lines[j] == f"{indent}end")
        assert k < at < after < end, "generate: the GC.@preserve block ends before the call returns"
        preserved = pm[2].split()
        path_v = self.generate_vals["path"]
        pb = re.search(rf"^\s+{path_v} = Ptr\{{Cchar\}}\(pointer\((\w+)\)\)$", gen, flags=re.M)
        for name in (self.ctx_name, pb[1] if pb else path_v, self.generate_vals["summary_out"]):
            assert name in preserved, f"generate: {name} is not GC.@preserve'd around ume_generate ({preserved})"
        # the callback's own exception first, then the status
        rethrow = line_of(gen, rf"{self.ctx_name}\.error === nothing \|\| throw\({self.ctx_name}\.error\)",
                          "generate: rethrow of the callback's exception")  # fmt: skip
        status = line_of(gen, r"^\s+check\(st\)$", "generate: check(st)")
        assert rethrow < status, "generate checks the status before rethrowing the callback's exception"

    # ---- the gate, the defaults
    def min_julia(self) -> tuple[int, ...]:
        m = re.search(r'^const GENERATE_MIN_JULIA = v"([\d.]+)"$', self.src, flags=re.M)
        assert m, "UmeData.jl: no GENERATE_MIN_JULIA"
        first = next(ln.strip() for ln in self.gen.splitlines()[1:] if ln.strip())
        assert first.startswith("VERSION >= GENERATE_MIN_JULIA || throw(ErrorException("), (
            f"generate does not start with the Julia version gate: {first!r}"
        )
        return tuple(int(x) for x in m[1].split("."))

    def keyword_defaults(self, name: str) -> dict[str, str]:
        m = re.search(rf"^    function {name}\(;(.*?)\)$", self.jl.body(name), flags=re.S | re.M)
        assert m, f"UmeData.jl: {name} has no `function {name}(; ...)` constructor"
        return dict(re.findall(r"(\w+)(?:::\w+)? = ([^,]+?)(?:,|$)", m[1].replace("\n", " ")))

    # ---- 2. the trampoline, read from its body
    def trampoline(self, name: str) -> dict:
        body = self.jl.body(name)
        out = {"wraps": {}, "catch_return": None, "catch_rethrows": False, "has_try": False}
        for m in re.finditer(
            r"^\s+(\w+) = (copy\()?(?:PermutedDimsArray\()?unsafe_wrap\(Array, (\w+), \((.*?),?\)\)\)?"
            r"(?:, \(([\d, ]+)\)\))?$", body, flags=re.M):  # fmt: skip
            var, copied, ptr, dims, perm = m.groups()
            out["wraps"][var] = {"ptr": ptr, "dims": [d.strip() for d in dims.split(",")],
                                 "perm": [int(p) for p in perm.split(",")] if perm else None,
                                 "copy": bool(copied)}  # fmt: skip
        cm = re.search(r"^\s+r = ctx\.f\((.*)\)$", body, flags=re.M)
        if cm:
            out["f_args"] = split_top(cm[1])
        lines = body.splitlines()
        t = [k for k, ln in enumerate(lines) if ln.strip() == "try"]
        c = [k for k, ln in enumerate(lines) if re.fullmatch(r"\s+catch \w+", ln)]
        f_line = next(k for k, ln in enumerate(lines) if "ctx.f(" in ln or "ctx.progress(" in ln)
        if t and c and t[0] < f_line < c[0]:
            out["has_try"] = True
            var = lines[c[0]].split()[-1]
            for ln in lines[c[0] + 1 :]:
                if ln.strip() == "end":
                    break
                if re.search(r"\b(rethrow|throw)\(", ln):
                    out["catch_rethrows"] = True
                if rm := re.fullmatch(r"\s+return Int32\((-?\d+)\)", ln):
                    out["catch_return"] = int(rm[1])
                if re.fullmatch(rf"\s+capture!\(ctx, {var}\)", ln):
                    out["captures"] = True
        pm = re.search(r"return ctx\.progress\(.*\) === true \? Int32\((-?\d+)\) : Int32\((-?\d+)\)$", body, flags=re.M)
        if pm:
            out["progress_true"], out["progress_other"] = int(pm[1]), int(pm[2])
        return out

    def reject_code(self, reasons: dict[str, int], sample: int, r) -> int:
        """UmeData.reject_code, line by line as the source has it."""
        body = self.jl.body("reject_code")
        for ln in body.splitlines()[1:]:
            s = ln.strip()
            if m := re.fullmatch(r"r === nothing && return Int32\((-?\d+)\)", s):
                if r is None:
                    return int(m[1])
            elif m := re.fullmatch(r"r === :(\w+) && return Int32\((-?\d+)\)", s):
                if isinstance(r, Sym) and r == m[1]:
                    return int(m[2])
            elif s == "if r isa Integer && !(r isa Bool) && 1 <= r <= typemax(Int32)":
                ok_int = isinstance(r, int) and not isinstance(r, bool) and 1 <= r <= 2**31 - 1
            elif s == "return Int32(r)":
                if ok_int:
                    return r
            elif s == "if r isa Symbol || r isa AbstractString":
                ok_sym = isinstance(r, str)
            elif s == "code = get(ctx.reasons, Symbol(r), Int32(0))":
                code = reasons.get(r, 0) if ok_sym else 0
            elif s == "code >= 1 && return code":
                if ok_sym and code >= 1:
                    return code
            elif s.startswith("throw(ArgumentError("):
                raise JuliaArgumentError(f"the simulate function returned {r!r} for sample {sample}")
            elif s in ("end", "") or s.startswith("#") or s.startswith('"') or s.startswith("($(join("):
                continue
            else:
                raise ReplayError(f"reject_code: the replay cannot read {s!r}")
        raise ReplayError("reject_code returns nothing for this value")


# ---------------------------------------------------------------------- the replay


class RngReplay:
    """UmeData.RngRef: each draw through the source's ccall of it."""

    def __init__(self, jl: Binding, ptr):
        self.jl, self.ptr = jl, ptr

    def _one(self, sym: str) -> float:
        out = C.c_double()
        check(self.jl, self.jl.call_with(sym, {"r.ptr": self.ptr, "out": C.byref(out)}))
        return out.value

    def rand(self) -> float:
        return self._one("ume_rng_uniform")

    def randn(self) -> float:
        return self._one("ume_rng_normal")

    def _fill(self, sym: str, a: np.ndarray):
        src = self.jl.path.read_text()
        fname = "randn!" if "normal" in sym else "rand!"
        generic = (f"Random.{fname}(r::RngRef, A::AbstractArray{{Float64}}) = copyto!(A, "
                   f"Random.{fname}(r, Vector{{Float64}}(undef, length(A))))")  # fmt: skip
        assert generic in src, f"UmeData.jl: no {generic!r}"
        buf = np.zeros(a.size)  # the Vector, filled by the Array method, copied in A's column-major order
        env = {"r.ptr": self.ptr, "A": buf.ctypes.data_as(C.POINTER(C.c_double)), "length(A)": buf.size}
        check(self.jl, self.jl.call_with(sym, env))
        a[...] = buf.reshape(a.shape, order="F")

    def randn_(self, a: np.ndarray):
        self._fill("ume_rng_fill_normal", a)

    def rand_(self, a: np.ndarray):
        self._fill("ume_rng_fill_uniform", a)


def julia_view(ptr, wrap: dict, dims: dict) -> np.ndarray:
    """unsafe_wrap(Array, ptr, dims) (column-major), then PermutedDimsArray(_, perm), as NumPy
    views of the same memory (Julia's a[i, j, ...] is the view's [i-1, j-1, ...])."""
    shape = [int(eval(d, {}, {"d": type("d", (), dims)})) for d in wrap["dims"]]
    flat = np.ctypeslib.as_array(ptr, shape=(int(np.prod(shape)),))
    a = flat.reshape(shape[::-1]).T  # column-major: a[i, j] at i + shape[0] * j
    if wrap["perm"]:
        a = np.transpose(a, [p - 1 for p in wrap["perm"]])
    return a.copy() if wrap["copy"] else a


class Ctx:
    def __init__(self, f, progress, dims, reasons):
        self.f, self.progress, self.dims, self.reasons = f, progress, dims, reasons
        self.error = None
        self.failed = False
        self.unwound = []  # exceptions that would have unwound into C
        self.internal = []  # failures of the replay itself


def replay_simulator(jl: Binding, eng: Engine, spec: dict):
    """UmeData.Simulator(name, version; T, H, params, shocks, obs, reject_reasons)."""
    h = C.c_void_p()
    env = {"name": spec["name"].encode(), "version": b"1.0", "T": spec["T"], "H": spec["H"], "out": C.byref(h)}
    check(jl, jl.call_with("ume_sim_new", env))
    sig = re.search(r"^function add_param!\(sim::Simulator, name, lo::Real, hi::Real, default_value::Real = (.*?), unit = (\".*?\")\)$",
                    eng.src, flags=re.M)  # fmt: skip
    assert sig, "UmeData.jl: add_param! no longer has the expected signature"
    for p in spec["params"]:
        name, lo, hi = p[:3]
        default = p[3] if len(p) > 3 else eval(sig[1], {}, {"lo": lo, "hi": hi})
        unit = p[4] if len(p) > 4 else eval(sig[2])
        env = {"h": h, "string(name)": name.encode(), "lo": lo, "hi": hi, "default_value": default,
               "string(unit)": unit.encode()}  # fmt: skip
        check(jl, jl.call_with("ume_sim_add_param", env))
    for name, sigma in spec["shocks"]:
        check(jl, jl.call_with("ume_sim_add_shock", {"h": h, "string(name)": name.encode(), "sigma": sigma}))
    for name in spec["obs"]:
        check(jl, jl.call_with("ume_sim_add_obs", {"h": h, "string(name)": name.encode()}))
    reasons = {}
    for k, name in enumerate(spec.get("reject_reasons", []), 1):  # names: codes 1, 2, ...
        check(jl, jl.call_with("ume_sim_set_reject_reason", {"h": h, "code": k, "string(name)": name.encode()}))
        reasons[name] = k
    dims = {"n_params": len(spec["params"]), "T": spec["T"], "H": spec["H"], "n_shocks": len(spec["shocks"]),
            "n_obs": len(spec["obs"])}  # fmt: skip
    return h, dims, reasons


def replay_gen_config(jl: Binding, eng: Engine, **kw):
    """UmeData.GenConfig(; kw...): every unconditional setter with the keyword's value
    (default read from the source), the conditional ones when given."""
    defaults = eng.keyword_defaults("GenConfig")
    env = {}
    for k, v in defaults.items():
        env[k] = kw.get(k, {"true": True, "false": False, "nothing": None}.get(v, None if v == "nothing" else v))
        if isinstance(env[k], str):
            env[k] = int(env[k])
    out = C.c_void_p()
    check(jl, jl("ume_gen_config_new", C.byref(out)))
    env["cfg"] = out
    try:
        for sym in ("seed", "samples", "threads", "max_attempts", "resume", "design"):
            e = dict(env, resume=int(bool(env["resume"])))
            check(jl, jl.call_with(f"ume_gen_config_set_{sym}", e))
        if env["part"] is not None:
            check(jl, jl.call_with("ume_gen_config_set_part", dict(env, start=env["part"][0], count=env["part"][1])))
        if env["split"] is not None:
            train, val, test, seed = env["split"]
            check(jl, jl.call_with("ume_gen_config_set_split", dict(env, train=train, val=val, test=test, split_seed=seed)))
        if env["theta_table"] is not None:
            m = re.search(r"^\s+values = (.*)$", jl.body("GenConfig"), flags=re.M)
            table = np.asarray(env["theta_table"], dtype=np.float64)  # the Julia matrix (n_samples, n_params)
            forms = {"vec(permutedims(Matrix{Float64}(theta_table)))": table.ravel(order="C"),
                     "vec(Matrix{Float64}(theta_table))": table.ravel(order="F")}  # fmt: skip
            assert m and m[1] in forms, f"GenConfig: the replay cannot read `values = {m[1] if m else None}`"
            values = np.ascontiguousarray(forms[m[1]])
            e = dict(env, values=values.ctypes.data_as(C.POINTER(C.c_double)), **{"length(values)": values.size})
            check(jl, jl.call_with("ume_gen_config_set_theta_table", e))
        if env["writer"] is not None:
            wcfg = writer_config(jl, **env["writer"])
            st = jl.call_with("ume_gen_config_set_writer_config", dict(env, wcfg=wcfg))
            jl("ume_writer_config_free", wcfg)
            check(jl, st)
    except RuntimeError:
        jl("ume_gen_config_free", out)
        raise
    return out, env


def replay_generate(jl: Binding, eng: Engine, path: Path, spec: dict, f, progress=None,
                    julia_version=(1, 10, 4), **cfg_kw):
    """UmeData.generate(f, path, Simulator(spec...), GenConfig(cfg_kw...); progress) -> the
    GenSummary as a dict."""
    if julia_version < eng.min_julia():
        raise JuliaErrorException(f"UmeData.generate needs Julia >= {eng.min_julia()}")
    sim, dims, reasons = replay_simulator(jl, eng, spec)
    cfg, _ = replay_gen_config(jl, eng, **cfg_kw)
    ctx = Ctx(f, progress, dims, reasons)
    sim_t = eng.trampoline("simulate_trampoline")
    prog_t = eng.trampoline("progress_trampoline")
    # the trampolines' parameter names (checked against the typedefs) -> positions
    _, s_tramp, s_types = eng.callback_of["simulate"]
    _, p_tramp, p_types = eng.callback_of["progress"]
    s_names = [n for _, n in eng.typedefs["ume_simulate_fn"][1]]

    def ctypes_of(types):
        return [jl.resolve(t)[1] for t in types]

    ret_s = jl.resolve(eng.cfuncs[eng.generate_vals["simulate"]][1])[1]
    ret_p = jl.resolve(eng.cfuncs[eng.generate_vals["progress"]][1])[1]

    def julia_catch(t: dict, e: BaseException, abort: int) -> int:
        """The trampoline's `catch err` block, as the source has it."""
        if (not t["has_try"] or t["catch_rethrows"] or t.get("captures") is not True
                or t["catch_return"] is None):  # fmt: skip
            ctx.unwound.append(e)  # a Julia exception unwinding through C: undefined behaviour
            return abort
        if ctx.error is None:
            ctx.error = e
        ctx.failed = True
        return t["catch_return"]

    def simulate(*args):
        a = dict(zip(s_names, args))
        if ctx.failed:
            return -1
        try:
            views = {v: julia_view(a[w["ptr"]], w, dims) for v, w in sim_t["wraps"].items()}
            ptrs = sorted(w["ptr"] for w in sim_t["wraps"].values())
            assert ptrs == ["irfs", "shocks", "theta", "traj"], f"simulate_trampoline wraps {ptrs}"
            call = []
            for expr in sim_t["f_args"]:
                if expr == "Int(sample)":
                    call.append(int(a["sample"]))
                elif expr == "RngRef(rng)":
                    call.append(RngReplay(jl, a["rng"]))
                elif expr in views:
                    call.append(views[expr])
                else:
                    raise ReplayError(f"simulate_trampoline calls f with {expr!r}: the replay cannot evaluate it")
        except BaseException as e:  # noqa: BLE001 - the replay's own failure: abort, raise later
            ctx.internal.append(e)
            ctx.failed = True
            return -1
        try:
            r = ctx.f(*call)
            return eng.reject_code(reasons, int(a["sample"]), r)
        except ReplayError as e:
            ctx.internal.append(e)
            ctx.failed = True
            return -1
        except Exception as e:  # noqa: BLE001 - what the Julia `catch err` sees
            return julia_catch(sim_t, e, -1)

    def on_progress(user, done, total, rate):
        if ctx.failed:
            return 1
        try:
            r = ctx.progress(int(done), int(total), rate)
            if "progress_true" not in prog_t:
                ctx.internal.append(ReplayError("progress_trampoline: no `=== true ? Int32(a) : Int32(b)`"))
                return 1
            return prog_t["progress_true"] if r is True else prog_t["progress_other"]
        except Exception as e:  # noqa: BLE001
            return julia_catch(prog_t, e, 1)

    s_fn = C.CFUNCTYPE(ret_s, *ctypes_of(s_types))(simulate)
    p_fn = C.CFUNCTYPE(ret_p, *ctypes_of(p_types))(on_progress)
    summary = C.c_void_p()
    env = {eng.generate_vals["path"]: str(path).encode(), eng.generate_vals["sim"]: sim,
           eng.generate_vals["config"]: cfg, eng.generate_vals["simulate"]: C.cast(s_fn, C.c_void_p),
           eng.generate_vals["user"]: C.c_void_p(id(ctx)),
           eng.generate_vals["progress"]: C.cast(p_fn, C.c_void_p) if progress else None,
           eng.generate_vals["progress_user"]: C.c_void_p(id(ctx)) if progress else None,
           eng.generate_vals["summary_out"]: C.byref(summary)}  # fmt: skip
    try:
        st = jl.call_with("ume_generate", env)
    finally:
        jl("ume_gen_config_free", cfg)  # close(cfg), close(sim)
        jl("ume_sim_free", sim)
    if ctx.internal:
        raise ctx.internal[0]
    assert not ctx.unwound, f"a Julia exception would have unwound through C: {ctx.unwound[0]!r}"
    try:
        if ctx.error is not None:
            raise ctx.error
        check(jl, st)
        out = {}
        consts = {k: v for k, v in jl.consts.items() if k.startswith("GEN_")}
        for name, what in consts.items():
            v = C.c_uint64()
            check(jl, jl.call_with("ume_gen_summary_get", {"summary": summary, "what": what, "out": C.byref(v)}))
            out[name[4:].lower()] = v.value
        rej = {}
        for name, code in reasons.items():
            v = C.c_uint64()
            check(jl, jl.call_with("ume_gen_summary_rejections", {"summary": summary, "code": code, "out": C.byref(v)}))
            rej[name] = v.value
        out["rejections"] = rej
        return out
    finally:
        jl("ume_gen_summary_free", summary)


# ---------------------------------------------------------------------- tools and data


def build_dir() -> Path:
    exe = os.environ.get("UME_WRITE_DEMO")
    if not exe:
        pytest.skip("UME_WRITE_DEMO is not set: no CMake build with the plugin and the CLI")
    return Path(exe).resolve().parent


def tool(name: str) -> Path:
    """The AR(1) plugin, compare_datasets and the umedata CLI of the CMake build."""
    b = build_dir()
    if name == "umedata":
        cache = (b / "CMakeCache.txt").read_text()
        m = re.search(r"^UMEDATA_CARGO_TARGET_DIR:PATH=(.*)$", cache, flags=re.M)
        p = Path(os.environ.get("UMEDATA_CLI") or (Path(m[1]) if m else REPO / "target") / "release" / "umedata")
    else:
        p = b / name
    if not p.is_file():
        pytest.fail(f"{p} not found (build the CMake project with UMEDATA_BUILD_CLI=ON)")
    return p


@pytest.fixture(scope="module")
def jl() -> Binding:
    return Binding(C.CDLL(str(find_library())))


@pytest.fixture(scope="module")
def eng(jl) -> Engine:
    return Engine(jl)


@pytest.fixture(scope="module")
def plugin_dataset(tmp_path_factory) -> Path:
    """`umedata generate --sim libar1.so -n AR1_N --threads 1` (the C model, seed 42)."""
    out = tmp_path_factory.mktemp("plugin") / "c.zarr"
    cmd = [str(tool("umedata")), "generate", "--sim", str(tool("libar1.so")), "-n", str(AR1_N),
           "--threads", "1", "-o", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def compare(a: Path, b: Path, world: str):
    proc = subprocess.run([str(tool("compare_datasets")), str(a), str(b), world], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0 and "equal, value for value" in proc.stdout, proc.stdout + proc.stderr
    return proc.stdout


def read_world(path: Path, world: str, n: int, n_params: int) -> dict:
    """The written mask and the theta of the written samples, through the C reader (C
    layout, float32; not through UmeData's declarations)."""
    lib = C.CDLL(str(find_library()))
    lib.ume_reader_open.argtypes = [C.c_char_p, C.c_char_p, C.POINTER(C.c_void_p)]
    lib.ume_reader_is_written.argtypes = [C.c_void_p, C.c_uint64, C.POINTER(C.c_uint8)]
    lib.ume_reader_read_f32.argtypes = [C.c_void_p, C.c_uint64, C.c_uint64, C.c_uint32] + [
        C.POINTER(C.c_float), C.c_size_t] * 4
    lib.ume_reader_free.argtypes = [C.c_void_p]
    h = C.c_void_p()
    assert lib.ume_reader_open(str(path).encode(), world.encode(), C.byref(h)) == 0
    mask, theta = [], np.full((n, n_params), np.nan, dtype=np.float32)
    big = (C.c_float * 100000)()
    for i in range(n):
        b = C.c_uint8()
        assert lib.ume_reader_is_written(h, i, C.byref(b)) == 0
        mask.append(b.value)
        if b.value:
            th = (C.c_float * n_params)()
            # theta alone: the other buffers get their exact lengths from the shape
            lens = [AR1_T, AR1_H + 1, AR1_T] if world == "ar1" else None
            assert lens, "read_world reads ar1 worlds"
            assert lib.ume_reader_read_f32(h, i, 1, 1, th, n_params, big, lens[0], big, lens[1], big, lens[2]) == 0
            theta[i] = np.frombuffer(th, dtype=np.float32)
    lib.ume_reader_free(h)
    return {"written": np.array(mask), "theta": theta}


def manifest_description(path: Path, world: str) -> dict:
    """The simulator's description as the manifest records it: parameters (names, units,
    bounds, defaults), shocks (names, sigma), observables."""
    import json

    w = json.loads((path / "manifest.json").read_text())["simulators"][world]
    return {k: w[k] for k in ("parameters", "shocks", "observables", "T", "H")}


AR1 = {"name": "ar1", "T": AR1_T, "H": AR1_H, "params": [("rho", 0.0, 0.99), ("sigma", 0.1, 1.0)],
       "shocks": [("eps", 1.0)], "obs": ["y"], "reject_reasons": ["near_unit_root"]}  # fmt: skip


def ar1_f(i, theta, rng, traj, irfs, shocks):
    """The Julia f of bindings/julia/UmeData/examples/ar1_engine.jl, as the replay runs it:
    indexing as in Julia (traj[t, 1] is traj[t - 1, 0] here), shapes as documented."""
    assert traj.shape == (AR1_T, 1) and irfs.shape == (1, AR1_H + 1, 1) and shocks.shape == (AR1_T, 1), (
        f"f got traj {traj.shape}, irfs {irfs.shape}, shocks {shocks.shape}: not the documented shapes"
    )  # Julia: a BoundsError in f
    rho, sigma = theta[0], theta[1]
    if rho > 0.98:
        return Sym("near_unit_root") if i % 2 else 1  # by name or by code
    rng.randn_(shocks)
    y = 0.0
    for t in range(AR1_T):
        y = rho * y + sigma * shocks[t, 0]
        traj[t, 0] = y
    for h in range(AR1_H + 1):
        irfs[0, h, 0] = sigma if h == 0 else irfs[0, h - 1, 0] * rho
    return None if i % 3 else Sym("accept")


# ---------------------------------------------------------------------- tests


def test_julia_engine_declarations_match_header(jl: Binding, eng: Engine, report):
    """The @cfunctions and trampolines match ume_simulate_fn / ume_progress_fn field by
    field; ume_generate gets them, a preserved `user`, in a GC-safe region; GEN_* equal the
    header's; the Julia-version gate is 1.9 and the default thread count 1."""
    assert set(eng.typedefs) >= {"ume_simulate_fn", "ume_progress_fn"}
    for name in ("WRITTEN", "ALREADY", "MISSING", "STOPPED", "SAMPLES_WRITTEN", "REJECTED"):
        assert jl.consts[f"GEN_{name}"] == jl.defines[f"UME_GEN_{name}"], name
    assert eng.min_julia() == (1, 9), f"generate's gate is Julia {eng.min_julia()}, foreign threads need 1.9"
    defaults = eng.keyword_defaults("GenConfig")
    assert defaults["threads"] == "1", f"GenConfig's default threads is {defaults['threads']}, documented 1"
    exports = re.search(r"^export (.*?)\n\n", eng.src, flags=re.S | re.M)[1]
    for name in ("Simulator", "GenConfig", "GenSummary", "RngRef", "generate", "generate_prepare",
                 "generate_finish", "add_param!", "add_shock!", "add_obs!", "set_reject_reason!"):  # fmt: skip
        assert re.search(rf"(?<![\w!]){re.escape(name)}(?![\w!])", exports), f"{name} is not exported"
    for sym in ("ume_generate_prepare", "ume_generate_finish", "ume_rng_uniform", "ume_rng_normal",
                "ume_rng_fill_normal", "ume_rng_fill_uniform", "ume_gen_config_set_part",
                "ume_gen_config_set_split", "ume_gen_config_set_writer_config"):  # fmt: skip
        assert sym in jl.funcs, f"UmeData.jl does not call {sym}"
    report(f"julia engine: @cfunction(simulate_trampoline) and (progress_trampoline) match "
           f"ume_simulate_fn / ume_progress_fn argument by argument; ume_generate is called in a "
           f"GC-safe region with a GC.@preserve'd user pointer; gate Julia >= 1.9, threads = 1")  # fmt: skip


def test_julia_engine_ar1_matches_plugin(jl, eng, tmp_path, plugin_dataset, report):
    """UmeData.generate of the AR(1) model (replayed, 2 engine threads) stores what the C
    plugin stores through `umedata generate --sim` (1 thread), value for value."""
    calls = []
    out = tmp_path / "julia.zarr"
    s = replay_generate(jl, eng, out, AR1, ar1_f, progress=lambda d, t, r: calls.append((d, t)) and False,
                        samples=AR1_N, threads=2)  # fmt: skip
    assert s["written"] == AR1_N and s["samples_written"] == AR1_N and s["missing"] == 0 and not s["stopped"], s
    assert s["rejected"] > 0 and s["rejections"] == {"near_unit_root": s["rejected"]}, s
    assert len(calls) == AR1_N and calls[-1] == (AR1_N, AR1_N)
    text = compare(out, plugin_dataset, "ar1")
    mine, theirs = manifest_description(out, "ar1"), manifest_description(plugin_dataset, "ar1")
    assert mine == theirs, f"the manifest's description differs from the plugin's: {mine} != {theirs}"
    report(f"julia engine: {AR1_N} AR(1) samples generated through the replayed @cfunction trampoline "
           f"(2 threads, {s['rejected']} draws rejected by name or code) equal the C plugin's "
           f"`umedata generate --sim libar1.so`: {text.strip().splitlines()[-1][:120]}")  # fmt: skip


def test_julia_engine_sobol_design_matches_plugin(jl, eng, tmp_path, report):
    """GenConfig(design = DESIGN_SOBOL) (replayed) stores what `umedata generate --sim
    libar1.so --design sobol` stores, value for value, and differs from the uniform design."""
    plugin = tmp_path / "c_sobol.zarr"
    cmd = [str(tool("umedata")), "generate", "--sim", str(tool("libar1.so")), "-n", str(AR1_N),
           "--threads", "1", "--design", "sobol", "-o", str(plugin)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "julia_sobol.zarr"
    s = replay_generate(jl, eng, out, AR1, ar1_f, samples=AR1_N, threads=2, design=jl.consts["DESIGN_SOBOL"])
    assert s["written"] == AR1_N, s
    text = compare(out, plugin, "ar1")
    uniform = tmp_path / "julia_uniform.zarr"
    replay_generate(jl, eng, uniform, AR1, ar1_f, samples=AR1_N, threads=1)
    a = read_world(out, "ar1", AR1_N, len(AR1["params"]))["theta"]
    b = read_world(uniform, "ar1", AR1_N, len(AR1["params"]))["theta"]
    assert not np.array_equal(a, b), "the Sobol design stored the uniform design's theta"
    report(f"julia engine: GenConfig(design = DESIGN_SOBOL) equals `generate --design sobol`: "
           f"{text.strip().splitlines()[-1][:100]}")


def test_julia_engine_axis_order(jl, eng, tmp_path, report):
    """With n_shocks = 2 and n_obs = 3, a Julia-style f writing traj[t, k], irfs[s, h, k] and
    randn!(rng, shocks) through the trampoline's views stores what a plain C-order ctypes
    callback stores (the same values at the row-major positions the C API documents)."""
    T, H, NS, NO = 5, 3, 2, 3
    spec = {"name": "lab", "T": T, "H": H, "params": [("a", 0.0, 1.0), ("b", -1.0, 1.0)],
            "shocks": [("e1", 1.0), ("e2", 0.5)], "obs": ["x", "y", "z"]}  # fmt: skip

    def julia_f(i, theta, rng, traj, irfs, shocks):
        assert traj.shape == (T, NO) and irfs.shape == (NS, H + 1, NO) and shocks.shape == (T, NS)
        rng.randn_(shocks)  # Julia: randn!(rng, shocks), column-major over (T, n_shocks)
        u, z = rng.rand(), rng.randn()  # rand(rng), randn(rng)
        v = np.zeros(2)
        rng.rand_(v)  # rand!(rng, v)
        extra = u + z + v[0] - v[1]
        for t in range(T):
            for k in range(NO):
                traj[t, k] = 1000 * theta[0] + 100 * t + k + shocks[t, k % NS]
        for s_ in range(NS):
            for h in range(H + 1):
                for k in range(NO):
                    irfs[s_, h, k] = theta[1] + 100 * s_ + 10 * h + k + extra
        return None

    n = 40
    a = tmp_path / "julia.zarr"
    replay_generate(jl, eng, a, spec, julia_f, samples=n, threads=1)

    # the reference: a C-order callback on the library directly (not through UmeData's source)
    lib = C.CDLL(str(find_library()))
    fn_t = C.CFUNCTYPE(C.c_int32, C.c_void_p, C.c_uint64, C.POINTER(C.c_double), C.c_void_p,
                       C.POINTER(C.c_double), C.POINTER(C.c_double), C.POINTER(C.c_double))  # fmt: skip
    lib.ume_rng_fill_normal.argtypes = [C.c_void_p, C.POINTER(C.c_double), C.c_size_t]
    lib.ume_rng_fill_uniform.argtypes = [C.c_void_p, C.POINTER(C.c_double), C.c_size_t]
    lib.ume_rng_uniform.argtypes = [C.c_void_p, C.POINTER(C.c_double)]
    lib.ume_rng_normal.argtypes = [C.c_void_p, C.POINTER(C.c_double)]

    def c_order(user, i, theta, rng, traj, irfs, shocks):
        draws = (C.c_double * (T * NS))()
        assert lib.ume_rng_fill_normal(rng, draws, T * NS) == 0
        for t in range(T):
            for s_ in range(NS):
                shocks[t * NS + s_] = draws[t + T * s_]  # the k-th draw is Julia's shocks[k] (column-major)
        u, z, v = C.c_double(), C.c_double(), (C.c_double * 2)()
        assert lib.ume_rng_uniform(rng, C.byref(u)) == 0 and lib.ume_rng_normal(rng, C.byref(z)) == 0
        assert lib.ume_rng_fill_uniform(rng, v, 2) == 0
        extra = u.value + z.value + v[0] - v[1]
        for t in range(T):
            for k in range(NO):
                traj[t * NO + k] = 1000 * theta[0] + 100 * t + k + shocks[t * NS + k % NS]
        for s_ in range(NS):
            for h in range(H + 1):
                for k in range(NO):
                    irfs[(s_ * (H + 1) + h) * NO + k] = theta[1] + 100 * s_ + 10 * h + k + extra
        return 0

    cb = fn_t(c_order)
    sim, _, _ = replay_simulator(jl, eng, spec)
    cfg, _ = replay_gen_config(jl, eng, samples=n, threads=1)
    lib.ume_generate.argtypes = [C.c_char_p, C.c_void_p, C.c_void_p, fn_t, C.c_void_p, C.c_void_p,
                                 C.c_void_p, C.c_void_p]  # fmt: skip
    b = tmp_path / "c.zarr"
    st = lib.ume_generate(str(b).encode(), sim, cfg, cb, None, None, None, None)
    jl("ume_gen_config_free", cfg)
    jl("ume_sim_free", sim)
    check(jl, st)
    text = compare(a, b, "lab")
    report(f"julia engine: (T, n_obs) / (n_shocks, H+1, n_obs) / (T, n_shocks) views over C's "
           f"row-major buffers store what a C-order callback stores ({n} samples, n_shocks = 2, n_obs = 3)")


class ModelError(JuliaError):
    pass


def test_julia_engine_exception_aborts_and_resumes(jl, eng, tmp_path, plugin_dataset, report):
    """An exception in f never reaches C: the run aborts, generate rethrows the original
    object (not UmeError), the failing sample is not stored, and a resumed run completes to
    the plugin's dataset; a result f may not return is an ArgumentError; progress stops a
    run (resumable) and an exception in progress stops it and is rethrown."""
    out = tmp_path / "julia.zarr"
    boom = ModelError("model blew up at sample 37")

    def failing(i, *rest):
        if i == 37:
            raise boom
        return ar1_f(i, *rest)

    with pytest.raises(ModelError) as e:
        replay_generate(jl, eng, out, AR1, failing, samples=AR1_N, threads=1)
    assert e.value is boom
    assert read_world(out, "ar1", AR1_N, 2)["written"][37] == 0, "the failing sample was stored"

    # a value f may not return
    for k, value in enumerate((-1, True, Sym("no_such_reason"), 2.5)):
        with pytest.raises(JuliaArgumentError, match="returned"):
            replay_generate(jl, eng, tmp_path / f"bad{k}.zarr", AR1, lambda i, *r, v=value: v, samples=AR1_N,
                            threads=1)  # fmt: skip

    # progress: stop after 100 samples (resumable)
    s = replay_generate(jl, eng, out, AR1, ar1_f, progress=lambda d, t, r: d >= 100, resume=True, threads=1)
    assert s["stopped"] and 0 < s["written"] < AR1_N - 37, s
    # an exception in progress stops the run and is rethrown
    def failing_progress(done, total, rate):
        raise ModelError("progress failed")

    with pytest.raises(ModelError, match="progress failed"):
        replay_generate(jl, eng, out, AR1, ar1_f, progress=failing_progress, resume=True, threads=2)
    s = replay_generate(jl, eng, out, AR1, ar1_f, resume=True, threads=2)
    assert s["samples_written"] == AR1_N and s["missing"] == 0 and s["already"] > 0, s
    compare(out, plugin_dataset, "ar1")
    report("julia engine: an exception in f aborts the run and is rethrown as the original object, "
           "the sample is not stored; progress stops a run; the resumed run equals the plugin's dataset")


def test_julia_engine_theta_table_and_version_gate(jl, eng, tmp_path, report):
    """GenConfig(theta_table = M): sample i gets row i+1 of the Julia matrix M (n_samples ×
    n_params); generate refuses Julia 1.8 before any C call."""
    n = 16
    table = np.column_stack([np.linspace(0.0, 0.9, n), np.linspace(0.1, 0.9, n)[::-1]])  # no row rejected
    out = tmp_path / "table.zarr"
    replay_generate(jl, eng, out, AR1, ar1_f, samples=n, threads=1, theta_table=table)
    got = read_world(out, "ar1", n, 2)
    assert got["written"].all()
    np.testing.assert_array_equal(got["theta"], table.astype(np.float32))

    before = set(jl.called)
    with pytest.raises(JuliaErrorException, match="needs Julia"):
        replay_generate(jl, eng, tmp_path / "old.zarr", AR1, ar1_f, julia_version=(1, 8, 5), samples=n)
    assert jl.called == before, "generate made a C call on Julia 1.8"
    report("julia engine: a theta table (Julia matrix, one row per sample) is stored row for row; "
           "generate refuses Julia 1.8 before any C call")


def test_julia_engine_parts(jl, eng, tmp_path, plugin_dataset, report):
    """generate_prepare, four generate(...; part = (start, 250)) and generate_finish store
    what the plugin stores in one run."""
    out = tmp_path / "parts.zarr"
    sim, _, _ = replay_simulator(jl, eng, AR1)
    cfg, _ = replay_gen_config(jl, eng, samples=AR1_N, writer={"chunk_samples": 250}, split=(0.7, 0.2, 0.1, 7))
    env = {"path": str(out).encode(), "sim_h": sim, "config": cfg}
    try:
        check(jl, jl.call_with("ume_generate_prepare", env))
        for start in range(0, AR1_N, 250):
            s = replay_generate(jl, eng, out, AR1, ar1_f, part=(start, 250), threads=1)
            assert s["written"] == 250, s
        check(jl, jl.call_with("ume_generate_finish", env))
    finally:
        jl("ume_gen_config_free", cfg)
        jl("ume_sim_free", sim)
    compare(out, plugin_dataset, "ar1")
    report(f"julia engine: generate_prepare + 4 parts + generate_finish equal the plugin's {AR1_N} samples")


def test_julia_engine_every_call_replayed(jl, eng):
    """Runs last: every engine function UmeData.jl calls was replayed above."""
    if "ume_generate" not in jl.called:
        pytest.skip("meaningful only after the other engine tests of this file (run them with it)")
    missing = {f for f in jl.funcs if re.match(r"^ume_(sim_|gen_|generate|rng_)", f)} - jl.called
    assert not missing, f"engine functions UmeData.jl calls but no test replayed: {missing}"


def test_julia_engine_package_parses_as_julia(report):
    """UmeData.jl, its tests and the engine example parse as Julia (the tree-sitter-julia
    grammar finds no ERROR or MISSING node): a syntax error in code CI cannot run fails."""
    ts = pytest.importorskip("tree_sitter")
    tsj = pytest.importorskip("tree_sitter_julia")
    parser = ts.Parser(ts.Language(tsj.language()))
    pkg = PACKAGE_SOURCE.parents[1]
    files = [JULIA_FILE, pkg / "test" / "runtests.jl", pkg / "examples" / "ar1_engine.jl"]
    for path in files:
        src = path.read_bytes()
        bad = []
        stack = [parser.parse(src).root_node]
        while stack:
            n = stack.pop()
            if n.type == "ERROR" or n.is_missing:
                bad.append(f"line {n.start_point[0] + 1}: {src[n.start_byte:n.end_byte][:60]!r}")
            stack.extend(n.children)
        assert not bad, f"{path.name} does not parse as Julia: {bad[:5]}"
    report(f"julia engine: {', '.join(p.name for p in files)} parse as Julia (tree-sitter-julia)")


# ---------------------------------------------------------------------- the mutation check

ENGINE_MUTATIONS = [
    ("a wrong callback argument type in @cfunction (UInt32 for uint64_t sample)",
     "@cfunction(simulate_trampoline, Int32, (Ptr{Cvoid}, UInt64,", "@cfunction(simulate_trampoline, Int32, (Ptr{Cvoid}, UInt32,"),
    ("a wrong return type of the progress @cfunction",
     "@cfunction(progress_trampoline, Int32,", "@cfunction(progress_trampoline, Cvoid,"),
    ("traj and irfs swapped in the trampoline's parameters",
     "traj::Ptr{Float64}, irfs::Ptr{Float64}, shocks", "irfs::Ptr{Float64}, traj::Ptr{Float64}, shocks"),
    ("traj and irfs swapped in the call of f",
     "RngRef(rng), tr, ir, sh)", "RngRef(rng), ir, tr, sh)"),
    ("user and progress_user swapped in ume_generate",
     "simulate, user, progress_fn, progress_user,", "simulate, progress_user, progress_fn, user,"),
    ("ctx not GC.@preserve'd around ume_generate",
     "GC.@preserve path_buf ctx summary_out begin", "GC.@preserve path_buf summary_out begin"),
    ("no GC-safe region around ume_generate",
     "                gc_state = ccall(:jl_gc_safe_enter, Int8, ())\n", "                gc_state = Int8(0)\n"),
    ("the exception of f not caught (rethrown into C)",
     "    catch err\n        capture!(ctx, err)\n        return Int32(-1)\n", "    catch err\n        rethrow()\n"),
    ("the exception of f swallowed as an accepted sample",
     "        capture!(ctx, err)\n        return Int32(-1)\n", "        capture!(ctx, err)\n        return Int32(0)\n"),
    ("the status checked before the callback's exception is rethrown",
     "        ctx.error === nothing || throw(ctx.error)\n        check(st)\n",
     "        check(st)\n        ctx.error === nothing || throw(ctx.error)\n"),
    ("traj wrapped in C's axis order (T, n_obs) without the permutation",
     "unsafe_wrap(Array, traj, (d.n_obs, d.T)), (2, 1))", "unsafe_wrap(Array, traj, (d.T, d.n_obs)), (1, 2))"),
    ("shocks wrapped in C's axis order (T, n_shocks) without the permutation",
     "unsafe_wrap(Array, shocks, (d.n_shocks, d.T)), (2, 1))", "unsafe_wrap(Array, shocks, (d.T, d.n_shocks)), (1, 2))"),
    ("irfs permuted (2, 3, 1) instead of (3, 2, 1)",
     "(d.n_obs, d.H + 1, d.n_shocks)), (3, 2, 1))", "(d.n_obs, d.H + 1, d.n_shocks)), (2, 3, 1))"),
    (":accept mapped to a rejection",
     "r === :accept && return Int32(0)", "r === :accept && return Int32(1)"),
    ("Bool accepted as a reject code",
     "if r isa Integer && !(r isa Bool) && 1 <= r", "if r isa Integer && 1 <= r"),
    ("progress's result inverted",
     "=== true ? Int32(1) : Int32(0)", "=== true ? Int32(0) : Int32(1)"),
    ("the theta table passed column-major",
     "values = vec(permutedims(Matrix{Float64}(theta_table)))", "values = vec(Matrix{Float64}(theta_table))"),
    ("the Julia gate lowered to 1.8",
     'const GENERATE_MIN_JULIA = v"1.9"', 'const GENERATE_MIN_JULIA = v"1.8"'),
    ("the default thread count one per core",
     "threads::Integer = 1,", "threads::Integer = 0,"),
    ("a syntax error (a missing comma in the call of f)",
     "ctx.f(Int(sample), th,", "ctx.f(Int(sample) th,"),
    ("the default of a parameter not the midpoint",
     "default_value::Real = (lo + hi) / 2", "default_value::Real = lo"),
]  # fmt: skip


@pytest.mark.skipif(bool(os.environ.get("UMEDATA_JULIA_SOURCE")), reason="inside a mutation run")
def test_julia_engine_mutations_are_caught(tmp_path, write_demo, report):
    """Runs this file's tests on mutated copies of UmeData.jl: each must fail (the unmutated
    copy must pass)."""
    lib = find_library().resolve()
    src = PACKAGE_SOURCE.read_text()

    def run(text: str, name: str) -> subprocess.CompletedProcess:
        path = tmp_path / f"{name}.jl"
        path.write_text(text)
        env = dict(os.environ, UMEDATA_JULIA_SOURCE=str(path), UMEDATA_LIB=str(lib),
                   UME_WRITE_DEMO=str(write_demo))  # fmt: skip
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
               str(Path(__file__)), "-k", "julia_engine and not mutations"]  # fmt: skip
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900,
                              cwd=str(Path(__file__).parent))  # fmt: skip

    control = run(src, "original")
    assert control.returncode == 0 and " passed" in control.stdout and "skipped" not in control.stdout, (
        control.stdout[-3000:]
    )
    caught = []
    for k, (what, old, new) in enumerate(ENGINE_MUTATIONS):
        assert src.count(old) == 1, f"mutation {what!r}: {old!r} is in the source {src.count(old)} times"
        proc = run(src.replace(old, new, 1), f"mutant{k}")
        assert proc.returncode != 0, f"mutation not caught: {what}\n{proc.stdout[-2000:]}"
        reason = next((ln for ln in proc.stdout.splitlines() if ln.startswith("E ")), "")
        caught.append(f"{what}: {reason[2:].strip()[:140]}")
    for line in caught:
        report(f"julia engine mutation caught: {line}")
    print("\n".join(caught))
