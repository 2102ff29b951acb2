"""Runs the `kraus` command of the same build tree (KRAUS_CLI, set by CTest) and compares its JSON
with the Python module's dicts."""
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cli_path():
    path = os.environ.get("KRAUS_CLI")
    if not path:
        # Next to the module's build tree: <build>/python on PYTHONPATH, <build>/cli/kraus.
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
            candidate = pathlib.Path(entry).parent / "cli" / "kraus"
            if entry and candidate.is_file():
                return str(candidate)
        pytest.fail("KRAUS_CLI is not set (CTest sets it to the kraus command of this build tree)")
    return path


def run_json(*args):
    """The command's JSON (stdout) for `kraus ARGS...`, run single-threaded."""
    proc = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def run_error(*args):
    """The command's stderr for a run that must fail."""
    proc = subprocess.run([cli_path(), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def assert_same(py, js, path="", tol=0.0):
    """`py` (the module's dict: numpy arrays for lists of numbers) equals the command's JSON `js`:
    the same keys, numbers equal to `tol` (absolute; 0: exactly), everything else equal."""
    if isinstance(js, dict):
        assert isinstance(py, dict), path
        assert set(py) == set(js), (path, sorted(set(py) ^ set(js)))
        for key in js:
            assert_same(py[key], js[key], f"{path}.{key}", tol)
    elif isinstance(js, list) and (not js or all(isinstance(v, (int, float)) for v in js)) \
            and isinstance(py, np.ndarray):
        assert py.shape == (len(js),), path
        assert np.all(np.abs(py - np.array(js, dtype=float)) <= tol), (path, np.max(np.abs(py - js)))
    elif isinstance(js, list):
        assert list(py) == js, path
    elif isinstance(js, bool) or js is None or isinstance(js, str):
        assert py == js, (path, py, js)
    elif isinstance(js, int) and isinstance(py, int):
        assert py == js, path
    else:
        assert abs(py - js) <= tol, (path, py, js)
