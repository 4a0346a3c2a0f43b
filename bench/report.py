"""Turns the tagged JSON lines of bench/run_all.sh into one JSON file and markdown tables,
and marks the targets of issue #7 met / not met. Standard library only.

    python report.py RESULTS.tsv --json OUT.json --markdown OUT.md [--quick 0|1] [--work DIR]
    python report.py SAVED.json  --json OUT.json --markdown OUT.md   # re-render a saved run
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
from collections import defaultdict

SAMPLE_BYTES = 6308


def machine(work):
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        cpu = open("/proc/cpuinfo").read()
        m = re.search(r"model name\s*:\s*(.*)", cpu)
        info["cpu"] = m.group(1).strip() if m else platform.processor()
        m = re.search(r"MemTotal:\s*(\d+) kB", open("/proc/meminfo").read())
        info["mem_GiB"] = round(int(m.group(1)) / 1048576, 1) if m else None
    except OSError:
        pass
    for key, cmd in {
        "filesystem": ["stat", "-f", "-c", "%T", work or "/tmp"],
        "rustc": ["rustc", "--version"],
        "cc": ["cc", "--version"],
    }.items():
        try:
            info[key] = subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            info[key] = None
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip()
        info["virtualization"] = virt or None
    except OSError:
        pass
    return info


def best(runs, key="seconds"):
    return min(runs, key=lambda r: r[key])


def fmt(x, nd=2):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd}f}"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--quick", type=int, default=0)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()

    recs = defaultdict(list)
    saved = None
    if a.log.endswith(".json"):
        saved = json.load(open(a.log))
        recs.update(saved["raw"])
        a.quick = int(saved["quick"])
    else:
        for line in open(a.log):
            tag, _, js = line.rstrip("\n").partition("\t")
            if js.strip():
                recs[tag].append(json.loads(js))
    load = {r["when"]: r["loadavg"] for r in recs["load"]}
    limits = recs["limits"][0]
    versions = recs["versions"][0] if recs["versions"] else {}
    build = recs["build"][0] if recs["build"] else {}
    dropped = bool(recs["settle"][0]["drop_caches"]) if recs.get("settle") else False

    # --- writes: best of the repeats per configuration ----------------------------------
    ume = defaultdict(list)
    for r in recs["write"]:
        key = (r["label"], r["threads"], r["input"], r["codec"], r["fsync"], r["n"])
        ume[key].append(r)
    peers = defaultdict(list)
    for r in recs["peer"]:
        peers[r["name"]].append(r)
    n = recs["peer"][0]["n"]
    cs = recs["peer"][0]["chunk_samples"]

    def ours(threads, inp="f32-C", codec="lz4", fsync=1):
        runs = ume.get(("umedata", threads, inp, codec, fsync, n))
        return best(runs) if runs else None

    ref = ours(1)
    write_rows = []
    names = {"lz4": "blosc-lz4", "zstd": "zstd"}
    order = [(1, "f32-C", "lz4", 1), (1, "f32-C", "lz4", 0), (2, "f32-C", "lz4", 1),
             (2, "f32-C", "lz4", 0), (1, "f64-F", "lz4", 1), (2, "f64-F", "lz4", 1),
             (1, "f32-C", "zstd", 1), (2, "f32-C", "zstd", 1)]
    for th, inp, codec, fs in order:
        r = ours(th, inp, codec, fs)
        if not r:
            continue
        desc = f"{th} caller thread{'s' if th > 1 else ''}, {inp}, {names[codec]}, " + (
            "fsync every chunk" if fs else "no fsync")
        write_rows.append(["**umedata** (C API, per sample)", desc, r["us_per_sample"],
                           r["raw_MB_per_s"], r["stored_over_raw"], r["peak_rss_MiB"],
                           r["seconds"] / ref["seconds"]])
    peer_desc = {
        "zarr-per-sample": "arr[i] = sample (seed's way), fsync at end",
        "zarr-batched": "chunk-sized slices, fsync at end",
        "h5py-batched": "hdf5plugin Blosc lz4, chunk-sized slices, fsync at end",
        "tensorstore-batched": "zarr3 driver, chunk-sized writes, fsync at end",
    }
    peer_name = {"zarr-per-sample": "zarr-python 3", "zarr-batched": "zarr-python 3",
                 "h5py-batched": "h5py", "tensorstore-batched": "tensorstore"}
    pbest = {}
    for k in ["zarr-per-sample", "zarr-batched", "h5py-batched", "tensorstore-batched"]:
        if k not in peers:
            continue
        r = best(peers[k])
        pbest[k] = r
        d = peer_desc[k]
        if r["extrapolated"]:
            d += f"; **extrapolated** from the first {r['samples_timed']} samples"
        write_rows.append([peer_name[k], d, r["us_per_sample"], r["raw_MB_per_s"],
                           r["stored_over_raw"], r["peak_rss_MiB"], r["seconds"] / ref["seconds"]])

    # --- reads ---------------------------------------------------------------------------
    read_rows = []
    for r in recs["read"]:
        if "chunk_samples" in r and "name" not in r:
            read_rows.append(["**umedata** reader (C, ume_reader_read_f32)", "umedata", r.get("seq_GB_per_s"),
                              r["random_median_ms"], r["random_p90_ms"], r["random_reads"]])
            ours_read = r
        else:
            who = {"read-zarr-on-umedata": ("zarr-python 3", "umedata"),
                   "read-h5py": ("h5py", "h5py (its own file)"),
                   "read-tensorstore": ("tensorstore", "tensorstore (its own files)")}[r["name"]]
            read_rows.append([who[0], who[1], r.get("seq_GB_per_s"), r["random_median_ms"],
                              r["random_p90_ms"], r["random_reads"]])

    # --- limits --------------------------------------------------------------------------
    blosc2 = max(limits["blosc_lz4_2t_internal_MB_per_s"], limits["blosc_lz4_2t_chunks_MB_per_s"])
    disk = limits["disk_seq_fdatasync_MB_per_s"]
    r2 = ours(2)
    raw = r2["raw_bytes"]
    stored = r2["stored_bytes"]
    t_cpu = raw / (blosc2 * 1e6)
    t_disk = stored / (disk * 1e6)
    t_hw = max(t_cpu, t_disk)
    t_files = stored / (limits["disk_file_per_chunk_fsync_MB_per_s"] * 1e6)
    limit_rows = [
        ["memcpy (1 thread, 64 MiB)", f"{limits['memcpy_GB_per_s']:.2f} GB/s"],
        [f"blosc-lz4 compress, one {cs}-sample chunk ({limits['chunk_raw_MB']:.2f} MB), 1 thread",
         f"{limits['blosc_lz4_1t_MB_per_s']:.0f} MB/s"],
        ["blosc-lz4 compress, one chunk, 2 blosc threads", f"{limits['blosc_lz4_2t_internal_MB_per_s']:.0f} MB/s"],
        ["blosc-lz4 compress, 2 threads on 2 chunks", f"{limits['blosc_lz4_2t_chunks_MB_per_s']:.0f} MB/s"],
        ["blosc-lz4 decompress, 1 thread", f"{limits['blosc_lz4_decompress_1t_MB_per_s']:.0f} MB/s"],
        ["blosc-lz4 stored/raw of that chunk", f"{limits['blosc_lz4_ratio']:.3f}"],
    ]
    if "read_floor_whole_chunk_ms" in limits:
        limit_rows += [
            ["random-sample read floor, whole-chunk decode of the 4 arrays (CPU only, no I/O)",
             f"{limits['read_floor_whole_chunk_ms']:.3f} ms"],
            ["random-sample read floor, blosc_getitem of one sample's items (CPU only)",
             f"{limits['read_floor_getitem_ms']:.3f} ms"],
        ]
    limit_rows += [
        [f"disk: sequential write {limits['disk_MiB']} MiB + fdatasync", f"{disk:.0f} MB/s"],
        ["disk: writer's pattern (file per array per chunk, write+fsync+rename)",
         f"{limits['disk_file_per_chunk_fsync_MB_per_s']:.0f} MB/s"],
        [f"hardware limit for {n:,} samples = max(raw/blosc 2t, stored/disk)",
         f"max({t_cpu:.3f} s, {t_disk:.3f} s) = {t_hw:.3f} s = {1e6 * t_hw / n:.2f} µs/sample"],
        ["(for information) stored bytes / writer's file pattern throughput",
         f"{t_files:.3f} s = {1e6 * t_files / n:.2f} µs/sample"],
    ]

    # --- pool check, memory scaling ------------------------------------------------------
    pool_rows = []
    for label, what in [("pool-64", "64 distinct samples cycled (old bench_write)"),
                        ("pool-file", "the benchmark pool (P distinct, P ≥ chunk)"),
                        ("pool-distinct", "every sample distinct")]:
        for key, runs in ume.items():
            if key[0] == label:
                r = best(runs)
                pool_rows.append([what, r["pool"], r["n"], r["stored_over_raw"], r["us_per_sample"]])
    def median_rss(runs):
        """The run with the median peak RSS, with the range over all runs."""
        rs = sorted(runs, key=lambda r: r["peak_rss_MiB"])
        m = dict(rs[len(rs) // 2])
        m["rss_range"] = (rs[0]["peak_rss_MiB"], rs[-1]["peak_rss_MiB"], len(rs))
        return m

    scale_series = {}
    for th in (1, 2):
        runs = [median_rss(r) for key, r in ume.items() if key[0] == "scale" and key[1] == th]
        if runs:
            scale_series[th] = sorted(runs, key=lambda r: r["n"])

    def rss_cell(r):
        lo, hi, k = r["rss_range"]
        return f"{r['peak_rss_MiB']}" + (f" ({lo}–{hi}, {k} runs)" if k > 1 else "")

    scale_rows = [[f"{r['n']:,}", f"{th}", rss_cell(r), r["rss_before_create_MiB"], r["pool_MiB"],
                   r["us_per_sample"]] for th, rs in scale_series.items() for r in rs]

    # --- targets -------------------------------------------------------------------------
    batched = {k: v for k, v in pbest.items() if k != "zarr-per-sample"}
    fastest_peer = min(batched.items(), key=lambda kv: kv[1]["seconds"]) if batched else None
    zb, zp = pbest.get("zarr-batched"), pbest.get("zarr-per-sample")
    targets = []

    def target(text, met, detail):
        targets.append({"target": text, "met": bool(met), "detail": detail})

    if zb:
        x = zb["seconds"] / ref["seconds"]
        target("1 caller thread, per-sample calls, incl. finalize: ≥ 2x faster than zarr-python batched",
               x >= 2, f"{x:.2f}x ({ref['us_per_sample']:.1f} vs {zb['us_per_sample']:.1f} µs/sample)")
    if zp:
        x = zp["seconds"] / ref["seconds"]
        target("1 caller thread: ≥ 1000x faster than zarr-python per-sample", x >= 1000,
               f"{x:,.0f}x (zarr per-sample {'extrapolated from ' + str(zp['samples_timed']) + ' samples' if zp['extrapolated'] else 'measured'}"
               + ("; a prefix shorter than one chunk underestimates zarr's cost" if zp["samples_timed"] < cs else "")
               + ")")
    if fastest_peer:
        k, fp = fastest_peer
        x = fp["seconds"] / r2["seconds"]
        target("2 caller threads: faster than the fastest peer's batched write", x > 1,
               f"{x:.3f}x vs {k} ({r2['us_per_sample']:.2f} vs {fp['us_per_sample']:.2f} µs/sample)"
               + ("; a tie within this machine's run-to-run noise" if abs(x - 1) < 0.05 else ""))
    x = r2["seconds"] / t_hw
    target("2 caller threads: within 1.5x of the hardware limit", x <= 1.5,
           f"{x:.2f}x the limit ({r2['seconds']:.3f} s vs {t_hw:.3f} s; limit is "
           f"{'compression' if t_cpu >= t_disk else 'disk'}-bound)")
    target("random single-sample read median ≤ 0.3 ms (our reader)", ours_read["random_median_ms"] <= 0.3,
           f"{ours_read['random_median_ms']:.3f} ms (p90 {ours_read['random_p90_ms']:.3f} ms)")
    for th, rs in scale_series.items():
        rss = [r["peak_rss_MiB"] for r in rs]
        flat = max(rss) - min(rss) <= max(4.0, 0.10 * min(rss))
        target(f"peak RSS < 64 MiB and flat from {rs[0]['n']:,} to {rs[-1]['n']:,} samples "
               f"({th} caller thread{'s' if th > 1 else ''}, fsync on)",
               max(rss) < 64 and flat,
               f"{' → '.join(f'{x:.1f}' for x in rss)} MiB, medians (flat = spread ≤ max(4 MiB, 10 %): "
               f"{'yes' if flat else 'no'}; includes the {rs[0]['pool_MiB']:.1f} MiB data pool)")

    mach = saved["machine"] if saved else machine(a.work)
    stamp = saved["measured_at"] if saved else datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    md = []
    md.append(f"Measured {stamp} on {mach.get('cpu')} × {mach.get('nproc')} cores, "
              f"{mach.get('mem_GiB')} GiB RAM, {mach.get('filesystem')} filesystem, Linux {mach.get('kernel')}"
              f"{', ' + mach['virtualization'] if mach.get('virtualization') else ''}; "
              f"load average before/after: {load.get('before')} / {load.get('after')}"
              f"{' (**quick run**)' if a.quick else ''}. umedata: git {build.get('git_head')}"
              f"{' + ' + str(build.get('src_files_changed_since_head')) + ' uncommitted src/ files' if build.get('src_files_changed_since_head') else ''}, "
              f"libumedata.so sha256 {build.get('libumedata_so_sha256_16')}….")
    md.append(f"N = {n:,} samples (T=200, H=40, 8 params, 3 shocks, 3 observables; VAR(1) data, "
              f"{SAMPLE_BYTES} raw bytes/sample), chunks of {cs} samples for every writer, blosc lz4 clevel 5 "
              f"byte-shuffle typesize 4. Writes: best of {len(ume.get(('umedata', 1, 'f32-C', 'lz4', 1, n), []))} runs; "
              f"wall time from create to data on disk (finalize / close + fsync); before each write: sync"
              f"{' and the kernel caches dropped' if dropped else ' (kernel caches not dropped: not root)'}. "
              f"Peers: {', '.join(f'{k} {v}' for k, v in versions.items() if v)}.")
    md.append("")
    md.append("### Writes")
    md.append(table(["writer", "how", "µs/sample", "raw MB/s", "stored/raw", "peak RSS MiB",
                     "time ÷ umedata 1 caller"], write_rows))
    md.append("")
    md.append("### Reads (warm page cache)")
    md.append(table(["reader", "data written by", "sequential GB/s", "random sample median ms",
                     "p90 ms", "reads"], read_rows))
    md.append("")
    md.append("### Limits of this machine (same run)")
    md.append(table(["what", "measured"], limit_rows))
    md.append("")
    md.append("### Memory scaling (f32-C, blosc-lz4, fsync on)")
    md.append(table(["samples", "caller threads", "peak RSS MiB, median (range)", "RSS before create MiB",
                     "of which data pool MiB", "µs/sample (median-RSS run)"],
                    scale_rows))
    md.append("")
    md.append("### Does the sample pool flatter the compressor? (1 caller, no fsync)")
    md.append(table(["pool", "P", "samples", "stored/raw", "µs/sample (one run)"], pool_rows))
    md.append("")
    md.append("### Targets (issue #7)")
    md.append(table(["target", "result", "measured"],
                    [[t["target"], "**met**" if t["met"] else "**not met**", t["detail"]] for t in targets]))
    text = "\n".join(md)
    print(text)
    out = {
        "measured_at": stamp,
        "quick": bool(a.quick),
        "machine": mach,
        "loadavg": load,
        "versions": versions,
        "build": build,
        "n": n,
        "chunk_samples": cs,
        "limits": limits,
        "hardware_limit_seconds": {"compression": t_cpu, "disk": t_disk, "limit": t_hw,
                                   "writer_file_pattern": t_files},
        "targets": targets,
        "raw": recs,
    }
    with open(a.json, "w") as f:
        json.dump(out, f, indent=1)
    with open(a.markdown, "w") as f:
        f.write(text + "\n")
    print(f"\nsaved {a.json} and {a.markdown}")


if __name__ == "__main__":
    main()
