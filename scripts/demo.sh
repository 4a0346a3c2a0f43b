#!/usr/bin/env bash
# The main job: builds umedata (Rust library through CMake) and its C example, then
# writes a real dataset with it: N samples of a small VAR(1) economy (theta, trajectories,
# impulse responses, shocks) into ./demo_data.zarr, reads some back and checks them.
#
#   bash scripts/demo.sh [N=10000] [OUT=demo_data.zarr]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-10000}"
out="${2:-$root/demo_data.zarr}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
build="${UME_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DUMEDATA_CARGO_TARGET_DIR="$root/target" >/dev/null
cmake --build "$build" -j2 --target write_demo >/dev/null
"$build/write_demo" "$out" "$n" 0 --overwrite
echo
echo "Dataset written to $out. Read it from Python with:"
echo "  python -c \"import xarray as xr; print(xr.open_zarr('$out/nk', consolidated=False))\""
