"""Fixtures of the umedata interop tests.

The C demo (examples_c/write_demo.c) writes a dataset; the tests read it back with
zarr-python, xarray and tensorstore and compare with a NumPy re-implementation of the
demo simulator (demo_sim.py).

    scripts/python-env.sh                      # venv at .venv with the readers
    cmake -S . -B build && cmake --build build -j2
    UME_WRITE_DEMO=build/write_demo .venv/bin/python -m pytest tests/python
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_sim  # noqa: E402
from demo_sim import CHUNK_SAMPLES, N_SAMPLES  # noqa: E402

_REPORT_KEY = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[_REPORT_KEY] = []


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(_REPORT_KEY, [])
    if lines:
        terminalreporter.section("umedata interop report")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def report(pytestconfig):
    """report(line): adds a line to the interop report printed at the end of the run."""
    return pytestconfig.stash[_REPORT_KEY].append


@pytest.fixture(scope="session")
def write_demo() -> Path:
    exe = os.environ.get("UME_WRITE_DEMO")
    if not exe:
        pytest.skip(
            "UME_WRITE_DEMO is not set: build the C demo "
            "(cmake -S . -B build && cmake --build build) and set "
            "UME_WRITE_DEMO=build/write_demo"
        )
    path = Path(exe).resolve()
    # Set but wrong is a configuration error, not a reason to skip.
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"UME_WRITE_DEMO={exe!r} is not an executable file")
    return path


@pytest.fixture(scope="session")
def dataset(write_demo: Path, tmp_path_factory) -> Path:
    """Runs `write_demo <tmp>/demo.zarr 300 64` once and returns the dataset path."""
    ds = tmp_path_factory.mktemp("interop") / "demo.zarr"
    cmd = [str(write_demo), str(ds), str(N_SAMPLES), str(CHUNK_SAMPLES)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish in {e.timeout} s")
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    if not (ds / "zarr.json").is_file():
        pytest.fail(f"{' '.join(cmd)} succeeded but wrote no {ds}/zarr.json")
    return ds


@pytest.fixture(scope="session")
def expected() -> dict:
    """The demo's samples 0..299 recomputed in NumPy, rounded to float32."""
    return demo_sim.simulate(N_SAMPLES)
