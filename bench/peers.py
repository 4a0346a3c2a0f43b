"""Peers of umedata on the benchmark data: zarr-python 3, h5py (+hdf5plugin blosc) and
tensorstore (zarr3 driver). One measurement per process (so peak RSS is the peer's own);
prints one JSON line.

    python peers.py write  KIND POOL_FILE N OUT_DIR CHUNK [PREFIX]
        KIND: zarr-batched | zarr-per-sample | h5py-batched | tensorstore-batched
    python peers.py read   KIND PATH N_RANDOM
        KIND: zarr-on-umedata (PATH = <dataset>/<world>) | h5py | tensorstore (PATH = a
        file / directory written by `write`)

Data: the pool file written by bench_gen (layout in bench_common.h); sample i is pool
sample i % P, the same bytes umedata writes. Chunk-sized batches are views of the pool
(P is a multiple of CHUNK), so batching costs no copy.

Codec for every peer: blosc lz4, clevel 5, byte shuffle, typesize 4, automatic blocksize;
chunks of CHUNK samples along the sample axis, whole samples per chunk; float32.
Wall time: from creating the arrays to the data being on disk: after the last write the
peer's files are fsynced (each file and directory), which is included in the time.
(umedata's default fsyncs each chunk as it goes.) tensorstore runs with its
file_io_sync context option off so that it follows the same policy (fsync at the end).
"""

import json
import os
import resource
import shutil
import sys
import time

import numpy as np

T, H, NP, NS, NO = 200, 40, 8, 3, 3
SHAPES = {
    "theta": (NP,),
    "trajectories": (T, NO),
    "irfs": (NS, H + 1, NO),
    "shocks": (T, NS),
}
DIMS = {
    "theta": ["sample", "param"],
    "trajectories": ["sample", "time", "observable"],
    "irfs": ["sample", "shock", "horizon", "observable"],
    "shocks": ["sample", "time", "shock"],
}
SAMPLE_BYTES = 4 * sum(int(np.prod(s)) for s in SHAPES.values())  # 6308


def load_pool(path):
    raw = np.fromfile(path, dtype="<f4")
    per = SAMPLE_BYTES // 4
    assert raw.size % per == 0, "pool file size is not a multiple of a sample"
    P = raw.size // per
    pool, off = {}, 0
    for name, shp in SHAPES.items():
        k = P * int(np.prod(shp))
        pool[name] = raw[off : off + k].reshape((P,) + shp)
        off += k
    return pool, P


def batches(pool, P, n, cs):
    """(start, stop, {array: view}) for chunk-sized batches; sample i = pool[i % P]."""
    assert P % cs == 0, f"pool size {P} must be a multiple of the chunk {cs}"
    for start in range(0, n, cs):
        stop = min(n, start + cs)
        q = start % P
        yield start, stop, {k: v[q : q + stop - start] for k, v in pool.items()}


def fsync_tree(path):
    if os.path.isfile(path):
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        return
    for root, dirs, files in os.walk(path):
        for f in files:
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        fd = os.open(root, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)


def tree_bytes(path, only_chunks=True):
    """Bytes of the data files (zarr chunk files under <array>/c/, or the whole HDF5 file)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            if only_chunks and f == "zarr.json":
                continue
            total += os.path.getsize(os.path.join(root, f))
    return total


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_now_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1048576.0


def zarr_arrays(out, n, cs):
    import zarr
    from zarr.codecs import BloscCodec

    g = zarr.open_group(out, mode="w")
    return {
        name: g.create_array(
            name,
            shape=(n,) + shp,
            chunks=(cs,) + shp,
            dtype="float32",
            compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4)],
            fill_value=float("nan"),
            dimension_names=DIMS[name],
        )
        for name, shp in SHAPES.items()
    }


def write(kind, pool_file, n, out, cs, prefix, warm_up=True):
    pool, P = load_pool(pool_file)
    if warm_up:
        # One chunk written and thrown away before the clock starts, so that every module
        # and code path the timed write uses is loaded: the kernel caches may just have
        # been dropped (run_all.sh), and reading Python modules from disk is not writing.
        warm = out + "-warmup"
        write(kind, pool_file, min(n, cs), warm, cs, min(prefix, cs), warm_up=False)
        shutil.rmtree(warm) if os.path.isdir(warm) else os.remove(warm)
    rss_base = rss_now_mib()
    if os.path.exists(out):
        shutil.rmtree(out) if os.path.isdir(out) else os.remove(out)
    written = n
    note = ""
    t0 = time.perf_counter()
    if kind == "zarr-batched":
        arrs = zarr_arrays(out, n, cs)
        for start, stop, views in batches(pool, P, n, cs):
            for name, a in arrs.items():
                a[start:stop] = views[name]
    elif kind == "zarr-per-sample":
        # The seed prototype's way: arr[i] = sample, one call per array per sample. Every
        # call reads, decodes, updates, re-encodes and rewrites the whole chunk, so only a
        # prefix is timed and the time is extrapolated linearly to n samples.
        arrs = zarr_arrays(out, n, cs)
        written = min(prefix, n)
        for i in range(written):
            q = i % P
            for name, a in arrs.items():
                a[i] = pool[name][q]
        if written < n:
            note = f"timed the first {written} samples and extrapolated linearly to {n}"
    elif kind == "h5py-batched":
        import h5py
        import hdf5plugin

        f = h5py.File(out, "w")
        dsets = {
            name: f.create_dataset(
                name,
                shape=(n,) + shp,
                chunks=(cs,) + shp,
                dtype="f4",
                **hdf5plugin.Blosc(cname="lz4", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE),
            )
            for name, shp in SHAPES.items()
        }
        for start, stop, views in batches(pool, P, n, cs):
            for name, d in dsets.items():
                d[start:stop] = views[name]
        f.close()
    elif kind == "tensorstore-batched":
        import tensorstore as ts

        ctx = ts.Context({"file_io_sync": False})
        arrs = {}
        for name, shp in SHAPES.items():
            spec = {
                "driver": "zarr3",
                "kvstore": {"driver": "file", "path": os.path.join(out, name)},
                "metadata": {
                    "shape": [n, *shp],
                    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [cs, *shp]}},
                    "chunk_key_encoding": {"name": "default"},
                    "data_type": "float32",
                    "fill_value": "NaN",
                    "codecs": [
                        {"name": "bytes", "configuration": {"endian": "little"}},
                        {
                            "name": "blosc",
                            "configuration": {
                                "cname": "lz4",
                                "clevel": 5,
                                "shuffle": "shuffle",
                                "typesize": 4,
                                "blocksize": 0,
                            },
                        },
                    ],
                    "dimension_names": DIMS[name],
                },
                "create": True,
                "delete_existing": True,
            }
            arrs[name] = ts.open(spec, context=ctx).result()
        # Chunk-sized writes of the four arrays, at most 4 batches in flight.
        inflight = []
        for start, stop, views in batches(pool, P, n, cs):
            inflight.append([a[start:stop].write(views[name]) for name, a in arrs.items()])
            if len(inflight) > 4:
                for fut in inflight.pop(0):
                    fut.result()
        for futs in inflight:
            for fut in futs:
                fut.result()
    else:
        raise SystemExit(f"unknown write kind {kind}")
    t_calls = time.perf_counter() - t0
    fsync_tree(out)
    dt = time.perf_counter() - t0
    raw = written * SAMPLE_BYTES
    stored = tree_bytes(out)
    ratio = stored / raw
    per_sample = dt / written
    if kind == "zarr-per-sample" and written % cs != 0:
        ratio = None  # a partly filled chunk (NaN fill) does not tell the ratio
    total = per_sample * n
    res = {
        "name": kind,
        "n": n,
        "samples_timed": written,
        "chunk_samples": cs,
        "seconds": round(total, 4),
        "us_per_sample": round(1e6 * per_sample, 3),
        "raw_MB_per_s": round(raw / dt / 1e6, 1),
        "stored_over_raw": None if ratio is None else round(ratio, 4),
        "peak_rss_MiB": round(peak_rss_mib(), 1),
        "rss_before_create_MiB": round(rss_base, 1),
        "calls_seconds": round(t_calls, 4),
        "fsync_seconds": round(dt - t_calls, 4),
        "extrapolated": written < n,
        "note": note,
    }
    if warm_up:
        print(json.dumps(res), flush=True)


def latencies(fn, idx):
    lat = []
    for i in idx:
        t = time.perf_counter()
        fn(int(i))
        lat.append(time.perf_counter() - t)
    lat.sort()
    return 1e3 * lat[len(lat) // 2], 1e3 * lat[int(0.9 * (len(lat) - 1))]


def read(kind, path, n_random):
    rng = np.random.default_rng(7)
    res = {"name": f"read-{kind}"}
    if kind == "zarr-on-umedata":
        import zarr

        g = zarr.open_group(path, mode="r")
        arrs = {name: g[name] for name in SHAPES}
        n = arrs["theta"].shape[0]
        # One stored chunk file per slice: the shard when the array is sharded (its
        # `.chunks` are then the small inner chunks), else the chunk.
        t = arrs["trajectories"]
        cs = (t.shards or t.chunks)[0]
        t0 = time.perf_counter()
        for start in range(0, n, cs):
            for a in arrs.values():
                a[start : min(n, start + cs)]
        seq = time.perf_counter() - t0
        res.update(seq_seconds=round(seq, 4), seq_GB_per_s=round(n * SAMPLE_BYTES / seq / 1e9, 3))

        def one(i):
            for a in arrs.values():
                a[i]

    elif kind == "h5py":
        import h5py
        import hdf5plugin  # noqa: F401  (registers the blosc filter)

        f = h5py.File(path, "r")
        arrs = {name: f[name] for name in SHAPES}
        n = arrs["theta"].shape[0]

        def one(i):
            for a in arrs.values():
                a[i]

    elif kind == "tensorstore":
        import tensorstore as ts

        arrs = {
            name: ts.open(
                {"driver": "zarr3", "kvstore": {"driver": "file", "path": os.path.join(path, name)}}
            ).result()
            for name in SHAPES
        }
        n = arrs["theta"].shape[0]

        def one(i):
            futs = [a[i].read() for a in arrs.values()]
            for f in futs:
                f.result()

    else:
        raise SystemExit(f"unknown read kind {kind}")
    idx = rng.integers(0, n, size=n_random)
    med, p90 = latencies(one, idx)
    res.update(
        n=n,
        random_reads=n_random,
        random_median_ms=round(med, 3),
        random_p90_ms=round(p90, 3),
        peak_rss_MiB=round(peak_rss_mib(), 1),
    )
    print(json.dumps(res), flush=True)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if sys.argv[1] == "write":
        kind, pool_file, n, out, cs = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
        prefix = int(sys.argv[7]) if len(sys.argv) > 7 else cs
        write(kind, pool_file, n, out, cs, prefix)
    elif sys.argv[1] == "read":
        read(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "versions":
        from importlib.metadata import version

        import platform

        out = {"python": platform.python_version()}
        for p in ["numpy", "zarr", "numcodecs", "h5py", "hdf5plugin", "tensorstore"]:
            try:
                out[p] = version(p)
            except Exception:  # noqa: BLE001
                out[p] = None
        try:
            import h5py

            out["hdf5"] = h5py.version.hdf5_version
        except Exception:  # noqa: BLE001
            pass
        print(json.dumps(out))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
