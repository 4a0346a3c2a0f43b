#!/usr/bin/env bash
# Writes 100,000 samples of the seed's shapes through the C API in several
# configurations and prints µs/sample and peak RSS for each (one JSON line per run).
# usage: bash bench/run_write_bench.sh [N=100000]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
cargo build --release --manifest-path "$here/Cargo.toml" >&2
lib="$here/target/release"
exe="$lib/bench_write"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -I"$here/include" \
  "$here/bench/bench_write.c" -o "$exe" -L"$lib" -lumedata -Wl,-rpath,"$lib" -lpthread -lm
out=$(mktemp -d "${TMPDIR:-/tmp}/ume-bench-XXXXXX")
trap 'rm -rf "$out"' EXIT
mkdir -p "$here/bench/results"
result="$here/bench/results/write-$(date +%Y%m%d-%H%M%S).jsonl"
for cfg in "1 f32c lz4" "2 f32c lz4" "1 f64f lz4" "1 f32c zstd"; do
  set -- $cfg
  "$exe" "$out/ds.zarr" "$n" "$1" "$2" "$3" | tee -a "$result"
  rm -rf "$out/ds.zarr"
done
echo "saved $result" >&2
