#!/usr/bin/env bash
# The main job: builds the umedata command-line tool and generates a real dataset with
# the built-in reference world, the three-equation New Keynesian model (solved per draw,
# determinacy checked), N samples with manifest, seeds and train/val/test splits, into
# ./demo_data.zarr; then prints a summary of it.
#
#   bash scripts/demo.sh [N=10000] [OUT=demo_data.zarr]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-10000}"
out="${2:-$root/demo_data.zarr}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
# cargo and a C compiler (the compression and git -sys crates build C code).
bash "$root/scripts/setup.sh" demo
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p umedata-cli
ume="$root/target/release/umedata"
"$ume" generate --world nk -n "$n" -o "$out" --overwrite
"$ume" inspect "$out"
echo
echo "Check it:   $ume validate $out --reproduce 20"
echo "Look at it: $ume plot $out -o demo_plots"
echo "Python:     python -c \"import xarray as xr; print(xr.open_zarr('$out/nk', consolidated=False))\""
