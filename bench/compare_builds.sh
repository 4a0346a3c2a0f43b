#!/usr/bin/env bash
# Before/after in one run: the write and read benchmarks of two checkouts of umedata
# (e.g. the last release and the working tree), each built against its own library,
# run alternately so that both see the same machine, and the ratio new/old printed.
#
#   bash bench/compare_builds.sh OLD_CHECKOUT NEW_CHECKOUT [N=100000] [ROUNDS=3]
#
# Each checkout must have its release library built (`cargo build --release`, or the
# CMake build) in <checkout>/target/release. Writes are durable (fsync on), blosc-lz4,
# f32 C-order, 1 and 2 caller threads; reads are bench_read's sequential GB/s and random
# single-sample median, on the dataset each build just wrote. Reported: the median of the
# rounds per build, and new/old (for times, < 1 is faster; for GB/s, > 1 is faster).
set -euo pipefail
old=$(cd "$1" && pwd); new=$(cd "$2" && pwd); n=${3:-100000}; rounds=${4:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/ume-cmp-XXXXXX")
trap 'rm -rf "$work"' EXIT
for which in old new; do
  src=${!which}
  lib="$src/target/release"
  [ -f "$lib/libumedata.so" ] || { echo "no $lib/libumedata.so: build $src in release first" >&2; exit 1; }
  for p in bench_write bench_read; do
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$src/include" "$src/bench/$p.c" \
      -o "$work/$p-$which" -L"$lib" -lumedata -Wl,-rpath,"$lib" -lpthread -lm
  done
done
# As bench/run_all.sh: sync, and as root drop the kernel caches, before every timed write
# (freshly deleted inodes otherwise slow the next run's file creation, more each round).
settle() { sync; if [ "$(id -u)" = 0 ]; then echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; fi; }
json_field() { python3 -c "import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d$1)"; }
declare -A res
for r in $(seq 1 "$rounds"); do
  for which in old new; do
    for t in 1 2; do
      rm -rf "$work/ds.zarr"; settle
      out=$("$work/bench_write-$which" "$work/ds.zarr" "$n" "$t" f32c lz4)
      us=$(echo "$out" | json_field "['us_per_sample']")
      res[$which-w$t]+="$us "
      echo "round $r $which write ${t} caller(s): $us us/sample" >&2
    done
    out=$("$work/bench_read-$which" "$work/ds.zarr" bench 2000)
    res[$which-seq]+="$(echo "$out" | json_field "['seq_GB_per_s']") "
    res[$which-rand]+="$(echo "$out" | json_field "['random_median_ms']") "
  done
done
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" $1; }
printf '%-34s %12s %12s %8s\n' "measure (median of $rounds)" old new new/old
for key in w1:"write, 1 caller (us/sample)" w2:"write, 2 callers (us/sample)" seq:"sequential read (GB/s)" rand:"random sample read (ms)"; do
  k=${key%%:*}; label=${key#*:}
  o=$(median "${res[old-$k]}"); nw=$(median "${res[new-$k]}")
  printf '%-34s %12.4g %12.4g %8.3f\n' "$label" "$o" "$nw" "$(python3 -c "print($nw/$o)")"
done
