#!/usr/bin/env bash
# Checks what the umedata scripts need beyond Rust, and installs what is missing, so that
# the README's two commands are all the set-up a fresh Debian/Ubuntu machine needs. The
# one list of system packages lives here (.ci/run, scripts/test.sh and scripts/demo.sh
# call this script).
#
#   bash scripts/setup.sh test    # for scripts/test.sh and .ci/run: everything
#   bash scripts/setup.sh demo    # for scripts/demo.sh: a C compiler (the -sys crates)
#
# Everything is checked first. Then:
#   - rustfmt / clippy missing (test): `rustup component add` them (no root needed);
#   - as root: `apt-get update && apt-get install -y` the missing packages;
#   - not root: prints the one command that installs them and exits 1 if a required one
#     is missing (before any build); optional ones (valgrind, gfortran, pkg-config, MPI:
#     their tests are skipped without them) only get the command printed.
#
# UME_SETUP_DRY_RUN=1: install nothing, act as if not root (print the command, exit 1 if
# something required is missing). UME_SETUP_SKIP=1: check nothing (you manage the tools).
set -euo pipefail

profile="${1:-test}"
case "$profile" in
  test | demo) ;;
  *)
    echo "setup.sh: unknown profile '$profile' (expected test or demo)" >&2
    exit 2
    ;;
esac
[ "${UME_SETUP_SKIP:-0}" = 1 ] && exit 0
dry="${UME_SETUP_DRY_RUN:-0}"

have() { command -v "$1" >/dev/null 2>&1; }

if ! have cargo; then
  echo "setup.sh: cargo not found: install Rust first (https://rustup.rs), then rerun" >&2
  exit 1
fi

required=() # apt packages without which the scripts fail
optional=() # apt packages whose tests are skipped without them
have cc || required+=(gcc)
if [ "$profile" = test ]; then
  have cmake || required+=(cmake)
  have g++ || required+=(g++)
  have make || required+=(make)
  if ! have python3; then
    required+=(python3 python3-venv)
  elif ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    required+=(python3-venv)
  fi
  have valgrind || optional+=(valgrind)
  have gfortran || optional+=(gfortran)
  have pkg-config || optional+=(pkg-config)
  have mpicc || optional+=(libopenmpi-dev openmpi-bin)
fi

# Rust components used by test.sh (fmt, clippy): user-level, added by rustup.
components=()
if [ "$profile" = test ]; then
  cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
fi
if [ "${#components[@]}" -gt 0 ]; then
  if ! have rustup; then
    echo "setup.sh: cargo ${components[*]} missing and no rustup to add them; install the" \
      "Rust components ${components[*]} (e.g. apt-get install rustfmt rust-clippy)" >&2
    exit 1
  fi
  if [ "$dry" = 1 ]; then
    echo "setup.sh: would run: rustup component add ${components[*]}" >&2
  else
    echo "setup.sh: adding Rust components: ${components[*]}" >&2
    rustup component add "${components[@]}"
  fi
fi

packages=("${required[@]+"${required[@]}"}" "${optional[@]+"${optional[@]}"}")
[ "${#packages[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && [ "$dry" != 1 ] && have apt-get; then
  echo "setup.sh: installing ${packages[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
  exit 0
fi

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo "
cmd="${sudo}apt-get update && ${sudo}apt-get install -y ${packages[*]}"
if [ "${#required[@]}" -gt 0 ]; then
  {
    echo "setup.sh: missing what scripts/$profile.sh needs: ${required[*]}"
    [ "${#optional[@]}" -gt 0 ] && echo "          and, optional (their tests are skipped): ${optional[*]}"
    echo "Install them with (Debian/Ubuntu; other systems: the same tools by their names):"
    echo
    echo "    $cmd"
    echo
    echo "then run the command again. Nothing was built."
  } >&2
  exit 1
fi
{
  echo "setup.sh: optional tools missing, their tests are skipped: ${optional[*]}"
  echo "          to run them too: $cmd"
} >&2
exit 0
