"""Issue 16: umedata from Python against zarr-python 3, h5py and tensorstore, and the C
reader, in one run on the same data; one table with every target marked met / not met.

    python bench/bench_python.py [--n 50000] [--tmp /tmp] [--keep] [--results bench/results]

Needs: the umedata package of this tree installed in the running Python (`pip install
./python`), zarr>=3, h5py + hdf5plugin, tensorstore (a missing peer is skipped and said
so), a C compiler and the release library (`cargo build --release`; built if missing;
`--lib DIR` takes another libumedata.so).

The data: the pool of 1024 distinct samples of bench_gen (bench_common.h: a VAR(1)
economy, T=200, H=40, 8 parameters, 3 shocks, 3 observables; the same bytes as
run_all.sh); sample i of every dataset is pool sample i % 1024.

Writes (each timed from creating the arrays to the data on disk, fsynced):
  * C per sample: bench_write (1 caller thread, float32 C order, blosc-lz4, fsync on),
    `--ps-n` samples;
  * Python per sample: `Writer.write_sample`, same samples, same options (durable);
  * Python batched: `Writer.write_samples` in chunk-sized batches, N samples: the
    dataset every umedata reader below reads (umedata's defaults: shards of 512 samples,
    inner chunks of 32, blosc-lz4);
  * the peers batched (chunk-sized batches, N samples) into their own files in their
    natural best layout for these reads: chunks of one inner chunk's samples (32) along
    the sample axis, blosc-lz4 clevel 5 byte shuffle (zarr-python: zarr v3 arrays;
    h5py: chunked datasets with hdf5plugin's Blosc; tensorstore: zarr3 driver), fsynced
    at the end inside the clock; and per sample (one call per array per sample) on the
    first `--peer-ps-n` samples.

Reads (warm page cache; every reader's first shuffled batch is compared with umedata's):
  * random single sample: the four arrays of sample i, median (p90) over `--random` ids;
  * shuffled batches of 256: consecutive slices of one random permutation, median per
    batch (umedata: `ds.read(ids)`; zarr-python: `oindex` on the sorted ids, then put
    back in order; h5py: fancy index on the sorted ids; tensorstore: index arrays, the
    four reads in flight at once);
  * one full sequential epoch in chunk-sized (512) slices, GB/s of float32 (umedata:
    `ds[s:s+512]`, decoded on the library's threads; also with threads=1).
The peers read their own files and umedata's dataset (zarr-python and tensorstore read
it as it is, the way issue 16 measured them). The C reader (bench_read on the same
dataset) adds its figures: sequential with 1 and N threads, random, batches of ids.

Targets (issue 16): random sample <= 0.15 ms median; shuffled batches >= 20x faster than
zarr-python (its best variant) and >= 3x faster than the best peer; a sequential epoch
>= 1.5x the fastest peer's GB/s; a Python per-sample write within 1.5x of the C one.

Output: the table on stdout, and bench/results/python-<date>.json (every measurement,
machine, versions, load average) and .md (the table). One run on a shared machine is
noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from peers import DIMS, SAMPLE_BYTES, SHAPES, fsync_tree, load_pool  # noqa: E402

import umedata  # noqa: E402

ARRAYS = tuple(SHAPES)
T, H, NP, NS, NO = 200, 40, 8, 3, 3
BATCH = 256
TARGETS = {
    "random_ms": 0.15,
    "batch_vs_zarr": 20.0,
    "batch_vs_best_peer": 3.0,
    "epoch_vs_best_peer": 1.5,
    "py_write_vs_c": 1.5,
}


# ----------------------------------------------------------------------------- helpers


def now():
    return time.perf_counter()


def med_p90(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(0.9 * (len(xs) - 1))]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build_c(work: Path, lib_dir: str | None):
    """Compiles bench_gen, bench_write and bench_read against a copy of the release
    library (as run_all.sh does); returns their directory."""
    if lib_dir is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        lib_dir = target / "release"
        if not (lib_dir / "libumedata.so").exists():
            log("building the release library (cargo build --release)")
            subprocess.run(["cargo", "build", "--release", "--manifest-path", str(REPO / "Cargo.toml")], check=True)
    lib = work / "lib"
    lib.mkdir()
    shutil.copy(Path(lib_dir) / "libumedata.so", lib)
    cc = os.environ.get("CC", "cc")
    flags = ["-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", f"-I{REPO / 'include'}", f"-I{HERE}"]
    for p in ("bench_gen", "bench_write", "bench_read"):
        subprocess.run(
            [cc, *flags, str(HERE / f"{p}.c"), "-o", str(lib / p), f"-L{lib}", "-lumedata", f"-Wl,-rpath,{lib}", "-lpthread", "-lm"],
            check=True,
        )
    return lib


def run_json(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm(*paths):
    """Reads every file once (warm page cache for every reader alike)."""
    for p in paths:
        p = Path(p)
        files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
        for f in files:
            with open(f, "rb") as fh:
                while fh.read(1 << 22):
                    pass


# ----------------------------------------------------------------------------- writers


def write_umedata_per_sample(path, pool, P, n):
    views = [pool[k] for k in ARRAYS]
    os.sync()
    t0 = now()
    w = umedata.Writer(path, "bench", n, T, H, NP, NS, NO)
    for i in range(n):
        q = i % P
        w.write_sample(i, views[0][q], views[1][q], views[2][q], views[3][q])
    w.finalize()
    return (now() - t0) / n * 1e6


def write_umedata_batched(path, pool, P, n):
    os.sync()
    t0 = now()
    w = umedata.Writer(path, "bench", n, T, H, NP, NS, NO)
    cs = w.chunk_samples
    assert P % cs == 0, f"pool {P} is not a multiple of the chunk {cs}"
    for s in range(0, n, cs):
        m = min(cs, n - s)
        q = s % P
        w.write_samples(s, *(pool[k][q : q + m] for k in ARRAYS))
    summary = w.finalize()
    return (now() - t0) / n * 1e6, summary


class Peer:
    """One peer library on its own files (`own`) or on umedata's dataset."""

    name = ""

    def __init__(self, path):
        self.path = path

    # reads: one sample, sorted ids, a slice; each returns the four arrays
    def one(self, i):
        return [a[i] for a in self.arrs]

    def sorted_ids(self, srt):
        return [a.oindex[srt] for a in self.arrs]

    def slice(self, s, e):
        return [a[s:e] for a in self.arrs]

    def batch(self, ids):
        srt = np.sort(ids)
        pos = np.searchsorted(srt, ids)
        return [x[pos] for x in self.sorted_ids(srt)]


class ZarrPeer(Peer):
    name = "zarr-python"

    def create(self, n, cs):
        import zarr
        from zarr.codecs import BloscCodec

        g = zarr.open_group(self.path, mode="w")
        self.arrs = [
            g.create_array(
                k,
                shape=(n,) + SHAPES[k],
                chunks=(cs,) + SHAPES[k],
                dtype="float32",
                compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4)],
                fill_value=float("nan"),
                dimension_names=DIMS[k],
            )
            for k in ARRAYS
        ]

    def open(self):
        import zarr

        g = zarr.open_group(self.path, mode="r")
        self.arrs = [g[k] for k in ARRAYS]
        return self

    def write(self, s, e, views):
        for a, v in zip(self.arrs, views):
            a[s:e] = v

    def write_one(self, i, views):
        for a, v in zip(self.arrs, views):
            a[i] = v

    def close(self):
        pass


class H5Peer(Peer):
    name = "h5py"

    def create(self, n, cs):
        import h5py
        import hdf5plugin

        self.f = h5py.File(self.path, "w")
        self.arrs = [
            self.f.create_dataset(
                k,
                shape=(n,) + SHAPES[k],
                chunks=(cs,) + SHAPES[k],
                dtype="f4",
                **hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE),
            )
            for k in ARRAYS
        ]

    def open(self):
        import h5py
        import hdf5plugin  # noqa: F401  (registers the Blosc filter)

        self.f = h5py.File(self.path, "r")
        self.arrs = [self.f[k] for k in ARRAYS]
        return self

    def sorted_ids(self, srt):
        return [a[srt] for a in self.arrs]

    write = ZarrPeer.write
    write_one = ZarrPeer.write_one

    def close(self):
        self.f.close()


class TsPeer(Peer):
    name = "tensorstore"

    def spec(self, k):
        return {"driver": "zarr3", "kvstore": {"driver": "file", "path": os.path.join(self.path, k)}}

    def create(self, n, cs):
        import tensorstore as ts

        ctx = ts.Context({"file_io_sync": False})
        self.arrs = []
        for k in ARRAYS:
            spec = self.spec(k)
            spec.update(
                metadata={
                    "shape": [n, *SHAPES[k]],
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [cs, *SHAPES[k]]}},
                    "chunk_key_encoding": {"name": "default"},
                    "data_type": "float32",
                    "fill_value": "NaN",
                    "codecs": [
                        {"name": "bytes", "configuration": {"endian": "little"}},
                        {
                            "name": "blosc",
                            "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0},
                        },
                    ],
                    "dimension_names": DIMS[k],
                },
                create=True,
                delete_existing=True,
            )
            self.arrs.append(ts.open(spec, context=ctx).result())

    def open(self):
        import tensorstore as ts

        self.arrs = [ts.open(self.spec(k)).result() for k in ARRAYS]
        return self

    def _all(self, futs):
        return [f.result() for f in futs]

    def one(self, i):
        return self._all([a[i].read() for a in self.arrs])

    def sorted_ids(self, srt):
        return self._all([a[srt].read() for a in self.arrs])

    def batch(self, ids):  # index arrays in any order
        return self._all([a[ids].read() for a in self.arrs])

    def slice(self, s, e):
        return self._all([a[s:e].read() for a in self.arrs])

    def write(self, s, e, views):
        self._all([a[s:e].write(v) for a, v in zip(self.arrs, views)])

    def write_one(self, i, views):
        self._all([a[i].write(v) for a, v in zip(self.arrs, views)])

    def close(self):
        pass


PEERS = {"zarr-python": ZarrPeer, "h5py": H5Peer, "tensorstore": TsPeer}
PEER_MODULES = {"zarr-python": ["zarr"], "h5py": ["h5py", "hdf5plugin"], "tensorstore": ["tensorstore"]}


def available(name):
    try:
        for m in PEER_MODULES[name]:
            __import__(m)
        return True
    except ImportError:
        return False


def peer_write(cls, path, pool, P, n, cs, batch, per_sample=False):
    """Creates a peer's arrays of n samples (chunks of cs) and writes them from the pool,
    in batches of `batch` samples or one sample at a time; fsynced at the end. µs/sample."""
    views = [pool[k] for k in ARRAYS]
    p = cls(path)
    os.sync()
    t0 = now()
    p.create(n, cs)
    if per_sample:
        for i in range(n):
            q = i % P
            p.write_one(i, [v[q] for v in views])
    else:
        for s in range(0, n, batch):
            e = min(n, s + batch)
            q = s % P
            p.write(s, e, [v[q : q + e - s] for v in views])
    p.close()
    fsync_tree(path)
    return (now() - t0) / n * 1e6


# ----------------------------------------------------------------------------- readers


def time_reads(label, one, batch, seq, n, rand_ids, batches, seq_step, ref_batch):
    """Random single samples, shuffled batches, one sequential epoch of `label`."""
    one(int(rand_ids[0]))
    lat = []
    for i in rand_ids:
        t = now()
        one(int(i))
        lat.append(now() - t)
    r_med, r_p90 = med_p90(lat)
    got = batch(batches[0])
    for k, (x, y) in enumerate(zip(got, ref_batch)):
        if not np.array_equal(np.asarray(x), y):
            raise SystemExit(f"{label}: the shuffled batch differs from umedata's ({ARRAYS[k]})")
    bl = []
    for ids in batches:
        t = now()
        batch(ids)
        bl.append(now() - t)
    b_med, b_p90 = med_p90(bl)
    t = now()
    for s in range(0, n, seq_step):
        seq(s, min(n, s + seq_step))
    ts = now() - t
    res = {
        "reader": label,
        "random_median_ms": 1e3 * r_med,
        "random_p90_ms": 1e3 * r_p90,
        "batch_median_ms": 1e3 * b_med,
        "batch_p90_ms": 1e3 * b_p90,
        "seq_seconds": ts,
        "seq_GB_per_s": n * SAMPLE_BYTES / ts / 1e9,
    }
    log(f"  {label}: random {res['random_median_ms']:.3f} ms, batch {res['batch_median_ms']:.2f} ms, "
        f"epoch {res['seq_GB_per_s']:.3f} GB/s")
    return res


# ----------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=50000, help="samples of the read datasets (default 50000)")
    ap.add_argument("--ps-n", type=int, default=None, help="samples of the per-sample writes (default min(n, 8192))")
    ap.add_argument("--peer-ps-n", type=int, default=512, help="samples of the peers' per-sample writes")
    ap.add_argument("--random", type=int, default=300, help="random single-sample reads per reader")
    ap.add_argument("--batches", type=int, default=20, help="shuffled batches of 256 per reader")
    ap.add_argument("--tmp", default=os.environ.get("UME_BENCH_TMP", "/tmp"))
    ap.add_argument("--lib", default=None, help="directory of libumedata.so (default target/release)")
    ap.add_argument("--results", default=str(HERE / "results"), help="where the JSON and markdown go ('' = nowhere)")
    ap.add_argument("--keep", action="store_true", help="keep the datasets")
    a = ap.parse_args()
    n = a.n
    ps_n = a.ps_n or min(n, 8192)
    if n < 2 * BATCH:
        raise SystemExit("--n must be at least 512")
    work = Path(tempfile.mkdtemp(prefix="ume-bench-py-", dir=a.tmp))
    load_before = os.getloadavg()
    rec = {"n": n, "ps_n": ps_n, "peer_ps_n": a.peer_ps_n, "cores": os.cpu_count(), "loadavg_before": load_before}
    try:
        rows = run(a, n, ps_n, work, rec)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"datasets kept in {work}")
    rec["loadavg_after"] = os.getloadavg()
    md = render(rec, rows)
    print(md)
    if a.results:
        out = Path(a.results)
        out.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (out / f"python-{stamp}.json").write_text(json.dumps(rec, indent=1, default=float) + "\n")
        (out / f"python-{stamp}.md").write_text(md + "\n")
        log(f"saved {out}/python-{stamp}.json and .md")
    return 0


def run(a, n, ps_n, work, rec):
    versions = {"python": platform.python_version(), "umedata": umedata.__version__, "numpy": np.__version__}
    from importlib.metadata import PackageNotFoundError, version

    for m in ("zarr", "h5py", "hdf5plugin", "tensorstore"):
        try:
            versions[m] = version(m)
        except PackageNotFoundError:
            versions[m] = None
    rec["versions"] = versions
    peers = [p for p in PEERS if available(p)]
    rec["peers_missing"] = [p for p in PEERS if p not in peers]
    for p in rec["peers_missing"]:
        log(f"{p} is not installed: skipped (pip install {' '.join(PEER_MODULES[p])})")

    log("building the C programs")
    bin_ = build_c(work, a.lib)
    pool_file = work / "pool.f32"
    subprocess.run([str(bin_ / "bench_gen"), str(pool_file), "1024"], check=True, capture_output=True)
    pool, P = load_pool(pool_file)
    env = {"UME_BENCH_POOL_FILE": str(pool_file)}

    # ---- writes
    log("writes")
    c_ps = run_json([str(bin_ / "bench_write"), str(work / "c-ps.zarr"), str(ps_n), "1", "f32c", "lz4"], env)
    shutil.rmtree(work / "c-ps.zarr")
    py_ps = write_umedata_per_sample(str(work / "py-ps.zarr"), pool, P, ps_n)
    shutil.rmtree(work / "py-ps.zarr")
    ume_path = work / "ume.zarr"
    py_b, summary = write_umedata_batched(str(ume_path), pool, P, n)
    ds = umedata.open(ume_path, "bench")
    info = ds.info
    cs, inner = int(info["chunk_samples"]), int(info["inner_chunk_samples"])
    writes = {
        "umedata C per sample (bench_write, 1 thread)": c_ps["us_per_sample"],
        "umedata Python per sample (write_sample)": py_ps,
        f"umedata Python batched (write_samples, {cs})": py_b,
    }
    rec["c_write"] = c_ps
    own = {}
    for p in peers:
        path = str(work / f"{p}-own") + (".h5" if p == "h5py" else "")
        writes[f"{p} batched ({cs}-sample writes, chunks of {inner})"] = peer_write(PEERS[p], path, pool, P, n, inner, cs)
        own[p] = path
        ps_path = str(work / f"{p}-ps") + (".h5" if p == "h5py" else "")
        writes[f"{p} per sample ({a.peer_ps_n} samples)"] = peer_write(
            PEERS[p], ps_path, pool, P, a.peer_ps_n, inner, 1, per_sample=True
        )
        shutil.rmtree(ps_path) if os.path.isdir(ps_path) else os.remove(ps_path)
    for k, v in writes.items():
        log(f"  {k}: {v:.1f} us/sample")
    rec["writes_us_per_sample"] = writes
    rec["dataset"] = {
        "chunk_samples": cs,
        "inner_chunk_samples": inner,
        "codec": info["codec"],
        "trajectories_ratio": summary["arrays"]["trajectories"]["ratio"],
    }

    # ---- reads
    warm(ume_path, *own.values())
    rng = np.random.default_rng(1)
    rand_ids = rng.integers(0, n, a.random)
    order = rng.permutation(n)
    nb = min(a.batches, n // BATCH)
    batches = [order[k * BATCH : (k + 1) * BATCH] for k in range(nb)]
    ref = ds.read(batches[0])
    ref_batch = [ref[k] for k in ARRAYS]
    common = dict(n=n, rand_ids=rand_ids, batches=batches, seq_step=cs, ref_batch=ref_batch)
    log("reads")
    reads = []
    reads.append(
        time_reads(
            "umedata (Python)",
            lambda i: ds[i],
            lambda ids: list(ds.read(ids).values()),
            lambda s, e: ds[s:e],
            **common,
        )
    )
    r1 = time_reads(
        "umedata (Python), threads=1",
        lambda i: ds[i],
        lambda ids: list(ds.read(ids, threads=1).values()),
        lambda s, e: ds.read_range(s, e - s, threads=1),
        **common,
    )
    reads.append(r1)
    c = run_json(
        [str(bin_ / "bench_read"), str(ume_path), "bench", str(a.random), str(a.batches)], env
    )
    rec["c_read"] = c
    assert c["mismatches"] == 0 and c["checked"] == 1
    reads.append(
        {
            "reader": "umedata (C, library threads)",
            "random_median_ms": c["random_median_ms"],
            "random_p90_ms": c["random_p90_ms"],
            "batch_median_ms": c["batch_median_ms"],
            "batch_p90_ms": c["batch_p90_ms"],
            "seq_GB_per_s": c["seq_GB_per_s"],
        }
    )
    reads.append({"reader": "umedata (C, 1 thread)", "seq_GB_per_s": c["seq_1thread_GB_per_s"]})
    for p in peers:
        for where, path in (("own files", own[p]), ("umedata's dataset", None)):
            if path is None:
                if p == "h5py":
                    continue
                path = str(ume_path / "bench")
            peer = PEERS[p](path).open()
            res = time_reads(f"{p} ({where})", peer.one, peer.batch, peer.slice, **common)
            res["peer"] = p
            reads.append(res)
            peer.close()
    rec["reads"] = reads
    return targets(rec, writes, reads)


def targets(rec, writes, reads):
    by = {r["reader"]: r for r in reads}
    ume = by["umedata (Python)"]
    peers = [r for r in reads if "peer" in r]
    zarrs = [r for r in peers if r["peer"] == "zarr-python"]
    rows = []

    def row(what, value, target, ok, note=""):
        rows.append({"what": what, "value": value, "target": target, "met": ok, "note": note})

    row("random single sample, Python, median", f"{ume['random_median_ms']:.3f} ms", f"<= {TARGETS['random_ms']} ms",
        ume["random_median_ms"] <= TARGETS["random_ms"])
    if zarrs:
        z = min(zarrs, key=lambda r: r["batch_median_ms"])
        x = z["batch_median_ms"] / ume["batch_median_ms"]
        row("shuffled batch of 256 vs zarr-python (its fastest variant)", f"{x:.1f}x", f">= {TARGETS['batch_vs_zarr']:.0f}x",
            x >= TARGETS["batch_vs_zarr"], z["reader"])
    if peers:
        b = min(peers, key=lambda r: r["batch_median_ms"])
        x = b["batch_median_ms"] / ume["batch_median_ms"]
        row("shuffled batch of 256 vs the best peer", f"{x:.1f}x", f">= {TARGETS['batch_vs_best_peer']:.0f}x",
            x >= TARGETS["batch_vs_best_peer"], b["reader"])
        e = max(peers, key=lambda r: r["seq_GB_per_s"])
        x = ume["seq_GB_per_s"] / e["seq_GB_per_s"]
        row("sequential epoch GB/s vs the fastest peer", f"{x:.2f}x", f">= {TARGETS['epoch_vs_best_peer']}x",
            x >= TARGETS["epoch_vs_best_peer"], e["reader"])
    c = writes["umedata C per sample (bench_write, 1 thread)"]
    py = writes["umedata Python per sample (write_sample)"]
    row("per-sample write, Python / C", f"{py / c:.2f}x ({py:.1f} / {c:.1f} us)", f"<= {TARGETS['py_write_vs_c']}x",
        py / c <= TARGETS["py_write_vs_c"])
    rec["targets"] = rows
    return rows


def render(rec, rows):
    v = rec["versions"]
    d = rec["dataset"]
    out = [
        f"## umedata from Python vs peers (issue 16), N = {rec['n']}",
        "",
        f"umedata {v['umedata']}, zarr {v['zarr']}, h5py {v['h5py']} (hdf5plugin {v['hdf5plugin']}), "
        f"tensorstore {v['tensorstore']}, numpy {v['numpy']}, Python {v['python']}; {rec['cores']} cores, "
        f"load average {rec['loadavg_before'][0]:.2f} before, {rec['loadavg_after'][0]:.2f} after. "
        f"umedata dataset: chunks (shards) of {d['chunk_samples']} samples, inner chunks of "
        f"{d['inner_chunk_samples']}, {d['codec']}, trajectories stored/raw {d['trajectories_ratio']:.3f}.",
        "",
        "| reader | random sample, median (p90) ms | shuffled batch of 256, median (p90) ms | sequential epoch GB/s |",
        "|---|---:|---:|---:|",
    ]
    for r in rec["reads"]:
        rnd = f"{r['random_median_ms']:.3f} ({r['random_p90_ms']:.3f})" if "random_median_ms" in r else ""
        bat = f"{r['batch_median_ms']:.2f} ({r['batch_p90_ms']:.2f})" if "batch_median_ms" in r else ""
        out.append(f"| {r['reader']} | {rnd} | {bat} | {r['seq_GB_per_s']:.3f} |")
    out += ["", "| writer | us/sample |", "|---|---:|"]
    for k, x in rec["writes_us_per_sample"].items():
        out.append(f"| {k} | {x:.1f} |")
    out += ["", "| target | measured | target | met | against |", "|---|---:|---|---|---|"]
    for r in rows:
        out.append(f"| {r['what']} | {r['value']} | {r['target']} | {'met' if r['met'] else '**not met**'} | {r['note']} |")
    if rec["peers_missing"]:
        out += ["", f"Peers not installed (skipped): {', '.join(rec['peers_missing'])}."]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
