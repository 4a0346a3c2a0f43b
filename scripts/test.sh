#!/usr/bin/env bash
# Runs every test of umedata: Rust (unit, integration, header freshness, fmt, clippy),
# the C programs under CTest, the Python package (python/, installed with pip) and the
# Python suite (package, interop with zarr-python, xarray, tensorstore) in a venv this
# script creates. Exit status non-zero on any failure.
#
#   bash scripts/test.sh
#
# Needs: Rust (cargo), cmake >= 3.20, a C and C++ compiler, python3 (>= 3.11) with venv.
# scripts/setup.sh checks all of it first: as root it installs what is missing, otherwise
# it prints the one command that does and stops before anything is built.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
build="${UME_BUILD_DIR:-$root/build}"

step() { printf '\n==> %s\n' "$*"; }

step "set-up check (scripts/setup.sh test)"
bash "$root/scripts/setup.sh" test

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cargo test (library, C ABI header, property tests, CLI)"
cargo test --workspace

step "CMake build (cargo release build driven by CMake) + CTest"
cmake -S "$root" -B "$build" -DUMEDATA_CARGO_TARGET_DIR="$root/target" >/dev/null
cmake --build "$build" -j2
(cd "$build" && ctest --output-on-failure)
# The crash-consistency figures (rounds, kills, claimed samples checked) for the log.
grep -h "^test_kill: " "$build/Testing/Temporary/LastTest.log" || true

step "C tests under AddressSanitizer + UndefinedBehaviorSanitizer"
asan_flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
cmake -S "$root" -B "$build-asan" -DUMEDATA_CARGO_TARGET_DIR="$root/target" \
  -DCMAKE_BUILD_TYPE=Debug -DUMEDATA_BUILD_EXAMPLES=OFF \
  -DCMAKE_C_FLAGS="$asan_flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build-asan" -j2 >/dev/null
(cd "$build-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -R '^test_')

if command -v valgrind >/dev/null 2>&1; then
  step "C tests under valgrind (memcheck)"
  for t in test_api_basics test_errors_writer test_errors_reader test_data_intact; do
    scratch="$build/valgrind_scratch/$t"
    rm -rf "$scratch"
    valgrind -q --error-exitcode=99 --leak-check=no "$build/$t" "$scratch" | tail -1
  done
else
  echo "valgrind not installed: memcheck pass skipped" >&2
fi

step "Python package (pip install ./python) + Python tests (package, prototype example, interop)"
venv="$(bash "$root/scripts/python-env.sh")"
# The package (PyO3, built by maturin from tests/python/requirements.txt) reuses the
# release build's target directory, so only the extension module itself is compiled.
PATH="$venv/bin:$PATH" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" \
  "$venv/bin/python" -m pip install --quiet --no-build-isolation --force-reinstall --no-deps "$root/python"
UME_REQUIRE_PACKAGE=1 UME_WRITE_DEMO="$build/write_demo" "$venv/bin/python" -m pytest -q "$root/tests/python"

# The generated header must be the committed one (build.rs refreshes it outside CI).
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
   && ! git -C "$root" diff --quiet -- include/umedata.h; then
  echo "include/umedata.h differs from the committed header: commit the regenerated header" >&2
  exit 1
fi
step "all tests passed"
