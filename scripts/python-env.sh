#!/usr/bin/env bash
# Creates (idempotently) the Python venv used by the interop tests and prints its path.
#
#   scripts/python-env.sh                 # venv at <repo>/.venv
#   UME_VENV=/some/where scripts/python-env.sh   # (a relative UME_VENV is under the repo root)
#   UME_PYTHON=python3.12 scripts/python-env.sh   # interpreter used to create the venv
#
# Needs CPython >= 3.11 with the venv module (Debian: apt-get install python3-venv) and
# access to PyPI. Re-running it only installs what is missing or out of date. Only the
# venv path goes to stdout, so `venv="$(scripts/python-env.sh)"` works.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/.." && pwd)"
venv="${UME_VENV:-.venv}"
case "${venv}" in
    /*) ;;
    *) venv="${repo_root}/${venv}" ;;  # relative paths are taken from the repo root
esac
python="${UME_PYTHON:-python3}"
requirements="${repo_root}/tests/python/requirements.txt"

if ! command -v "${python}" >/dev/null 2>&1; then
    echo "python-env.sh: '${python}' not found; install CPython >= 3.11 (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi
if ! "${python}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
    echo "python-env.sh: $("${python}" --version 2>&1) is too old; zarr-python 3 needs Python >= 3.11 (set UME_PYTHON)" >&2
    exit 1
fi

# A venv is reused when its interpreter runs and has pip. A broken one (base Python
# removed, or left without pip by a python3-venv-less `python3 -m venv`) is rebuilt.
if [ -e "${venv}" ] && ! "${venv}/bin/python" -c 'import pip' >/dev/null 2>&1; then
    if [ -d "${venv}" ] && [ -z "$(ls -A "${venv}")" ]; then
        :  # an empty directory: create the venv in it
    elif [ ! -f "${venv}/pyvenv.cfg" ]; then
        echo "python-env.sh: ${venv} exists and is not a venv; remove it or set UME_VENV" >&2
        exit 1
    else
        echo "python-env.sh: venv at ${venv} is broken, recreating it" >&2
        rm -rf "${venv}"
    fi
fi
if [ ! -x "${venv}/bin/python" ]; then
    if ! "${python}" -m venv "${venv}"; then
        rm -rf "${venv}"
        echo "python-env.sh: '${python} -m venv' failed; on Debian/Ubuntu install python3-venv" >&2
        exit 1
    fi
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
"${venv}/bin/python" -m pip install --quiet --upgrade pip
"${venv}/bin/python" -m pip install --quiet --prefer-binary -r "${requirements}"

echo "${venv}"
