#!/usr/bin/env bash
# Issue #7: umedata against zarr-python 3, h5py and tensorstore on the same data, same
# machine, same run; plus the machine's limits, reads and memory scaling. Prints one set
# of markdown tables and saves everything as JSON under bench/results/.
#
#   bash bench/run_all.sh            # full run (N = 100,000; memory scaling to 10^6); ~7 min on 2 cores
#   bash bench/run_all.sh --quick    # smoke run (N = 10,000), well under a minute
#
# It stops with an error if any writer or reader fails, e.g. when umedata's finalize
# reports fewer samples written than were written (bench_write checks it).
#
# Environment: UME_BENCH_N (samples of the main runs), UME_BENCH_REPEAT (timed repeats of
# every write, best kept), UME_BENCH_CHUNK_SAMPLES (default 512 = umedata's own choice for
# these shapes, used by every writer), UME_BENCH_POOL_SIZE (distinct samples, default
# 1024), UME_BENCH_TMP (where datasets are written, default /tmp), UME_BENCH_VENV (the
# Python venv of the peers, default .venv-bench; created by scripts/python-env.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ $quick = 1 ]; then
  n=${UME_BENCH_N:-10000}; repeat=${UME_BENCH_REPEAT:-1}; scale="10000 30000"
  prefix=32; nrand=100; disk_mib=128; check_n=10000
else
  n=${UME_BENCH_N:-100000}; repeat=${UME_BENCH_REPEAT:-3}; scale="10000 100000 1000000"
  prefix=${UME_BENCH_CHUNK_SAMPLES:-512}; nrand=300; disk_mib=1024; check_n=20000
fi
cs=${UME_BENCH_CHUNK_SAMPLES:-512}
pool_n=${UME_BENCH_POOL_SIZE:-1024}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}

# --- build ------------------------------------------------------------------------------
# target/ is shared with other builds: the library is copied as soon as it is built and
# everything below runs against that copy, so a rebuild during the run changes nothing.
work=$(mktemp -d "${UME_BENCH_TMP:-/tmp}/ume-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
cargo build --release --manifest-path "$here/Cargo.toml" >&2
mkdir -p "$work/lib" "$work/include"
cp "$here/target/release/libumedata.so" "$here/target/release/libumedata.a" "$work/lib/"
cp "$here/include/umedata.h" "$work/include/"
lib="$work/lib"
cflags=(-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$work/include" -I"$here/bench")
for p in bench_write bench_read bench_gen; do
  cc "${cflags[@]}" "$here/bench/$p.c" -o "$lib/$p" -L"$lib" -lumedata -Wl,-rpath,"$lib" -lpthread -lm
done
# bench_limits calls the c-blosc compiled into libumedata.a (the same blosc the writer uses).
cc "${cflags[@]}" "$here/bench/bench_limits.c" -o "$lib/bench_limits" "$lib/libumedata.a" \
  -lstdc++ -lpthread -ldl -lm
libsum=$(sha256sum "$lib/libumedata.so" | cut -c1-16)
gitrev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
gitdirty=$(git -C "$here" status --porcelain -- src 2>/dev/null | wc -l)

# --- Python peers -----------------------------------------------------------------------
venv=$(UME_VENV="${UME_BENCH_VENV:-.venv-bench}" bash "$here/scripts/python-env.sh")
py="$venv/bin/python"
if ! "$py" -c 'import h5py, hdf5plugin, tensorstore, psutil' 2>/dev/null; then
  "$py" -m pip install --quiet --prefer-binary h5py hdf5plugin tensorstore psutil >&2
fi

# --- run --------------------------------------------------------------------------------
log="$work/results.tsv"
: >"$log"
rec() { # rec TAG CMD...: run CMD, keep its JSON line tagged
  local tag=$1 line
  shift
  if ! line=$("$@"); then
    printf 'run_all.sh: FAILED (%s): %s\n  output: %s\n' "$tag" "$*" "${line:-}" >&2
    exit 1
  fi
  printf '%s\t%s\n' "$tag" "$line" >>"$log"
  printf '%-10s %s\n' "$tag" "$line" >&2
}
printf 'load\t{"when": "before", "loadavg": "%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$log"
# Before every timed write (every writer alike): no dirty pages of the previous run still
# being written back, and, where allowed (root), the kernel's caches dropped. The second
# matters on ext4 without a journal (this benchmark's VMs): for a minute after a file is
# deleted, ext4 will not reuse its inode while the inode table block is cached, and every
# new file scans past all such inodes; after a few runs that each delete ~1,000 files, a
# quarter of a writer's CPU went into that scan, varying from run to run.
dropped=0
[ -w /proc/sys/vm/drop_caches ] && dropped=1
settle() {
  sync
  if [ $dropped = 1 ]; then { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || dropped=0; fi
}
printf 'build\t{"git_head": "%s", "src_files_changed_since_head": %s, "libumedata_so_sha256_16": "%s"}\n' \
  "$gitrev" "$gitdirty" "$libsum" >>"$log"
pool="$work/pool.f32"
rec pool "$lib/bench_gen" "$pool" "$pool_n"
settle
printf 'settle\t{"drop_caches": %s}\n' "$dropped" >>"$log"
rec limits "$lib/bench_limits" "$work" "$pool" "$cs" "$disk_mib" "$repeat"

export UME_BENCH_POOL_FILE="$pool" UME_BENCH_CHUNK="$cs"
ume() { # ume LABEL FSYNC THREADS INPUT CODEC [N]
  local label=$1 fsync=$2
  shift 2
  # Start from nothing (outside the clock).
  rm -rf "$work/ume.zarr"
  settle
  if [ "$fsync" = 1 ]; then
    UME_BENCH_LABEL=$label rec write "$lib/bench_write" "$work/ume.zarr" "${4:-$n}" "$1" "$2" "$3"
  else
    UME_BENCH_NOFSYNC=1 UME_BENCH_LABEL=$label rec write "$lib/bench_write" "$work/ume.zarr" "${4:-$n}" "$1" "$2" "$3"
  fi
}
for r in $(seq "$repeat"); do
  ume umedata 0 1 f32c lz4
  ume umedata 0 2 f32c lz4
  ume umedata 1 1 f32c lz4
  ume umedata 1 2 f32c lz4
  ume umedata 1 1 f64f lz4
  ume umedata 1 2 f64f lz4
  ume umedata 1 1 f32c zstd
  ume umedata 1 2 f32c zstd
  for k in zarr-batched h5py-batched tensorstore-batched; do
    rm -rf "$work/peer-$k"
    settle
    rec peer "$py" "$here/bench/peers.py" write $k "$pool" "$n" "$work/peer-$k" "$cs"
  done
done
settle
rec peer "$py" "$here/bench/peers.py" write zarr-per-sample "$pool" "$n" "$work/peer-zps" "$cs" "$prefix"
rm -rf "$work/peer-zps"

# Reads (warm page cache): the last umedata write above is 2 callers, f32-C, zstd; write
# the default dataset (1 caller, f32-C, blosc-lz4) again for the readers.
ume umedata-for-reads 1 1 f32c lz4
# Warm page cache for every reader: the peers' files were written before later runs
# dropped the caches.
find "$work/ume.zarr" "$work/peer-h5py-batched" "$work/peer-tensorstore-batched" -type f \
  -exec cat {} + >/dev/null
rec read "$lib/bench_read" "$work/ume.zarr" bench "$nrand"
rec read "$py" "$here/bench/peers.py" read zarr-on-umedata "$work/ume.zarr/bench" "$((nrand / 3 + 1))"
rec read "$py" "$here/bench/peers.py" read h5py "$work/peer-h5py-batched" "$nrand"
rec read "$py" "$here/bench/peers.py" read tensorstore "$work/peer-tensorstore-batched" "$nrand"
rm -rf "$work"/peer-* "$work/ume.zarr"

# Does the pool flatter the compressor? Same writer, 64-sample pool vs the pool file vs
# every sample distinct.
(unset UME_BENCH_POOL_FILE; UME_BENCH_POOL=64 ume pool-64 0 1 f32c lz4 "$check_n")
ume pool-file 0 1 f32c lz4 "$check_n"
(unset UME_BENCH_POOL_FILE; UME_BENCH_POOL=$check_n ume pool-distinct 0 1 f32c lz4 "$check_n")

# Memory scaling: peak RSS of the default writer (fsync on), 1 and 2 caller threads, at
# growing N.
# Each point is run `repeat` times and the median peak RSS is reported: the number of
# chunks alive at the peak depends on thread timing (one 3.2 MB chunk more or less).
for th in 1 2; do
  for m in $scale; do
    for r in $(seq "$repeat"); do
      ume scale 1 "$th" f32c lz4 "$m"
      rm -rf "$work/ume.zarr"
    done
  done
done
printf 'load\t{"when": "after", "loadavg": "%s"}\n' "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$log"
printf 'versions\t%s\n' "$("$py" "$here/bench/peers.py" versions)" >>"$log"

mkdir -p "$here/bench/results"
stamp=$(date +%Y%m%d-%H%M%S)
suffix=""
[ $quick = 1 ] && suffix="-quick"
"$py" "$here/bench/report.py" "$log" --json "$here/bench/results/all-$stamp$suffix.json" \
  --markdown "$here/bench/results/all-$stamp$suffix.md" --quick $quick --work "$work"
