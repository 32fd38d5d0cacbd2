"""Same seed -> bit-identical numbers on the CPU at any thread count.

Every trainer, filter, NAS selection and kernel is fingerprinted (tests/helpers/fingerprints.py) in fresh
subprocesses whose OpenMP/BLAS pools are sized by the environment, as on a machine with that many cores.
A result that depends on the thread count, or memory corruption that only shows on one thread (torch's
oneDNN channels-last convolution backward, issue 11), fails here on any machine.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import cli_env

TESTS = Path(__file__).resolve().parent
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _fingerprints(threads):
    env = cli_env()
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env["PYTHONPATH"]])
    for var in THREAD_VARS:
        if threads is None:
            env.pop(var, None)
        else:
            env[var] = str(threads)
    done = subprocess.run([sys.executable, "-m", "helpers.fingerprints"], env=env, cwd=TESTS,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"threads={threads}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def one_thread():
    return _fingerprints(1)


@pytest.mark.parametrize("threads", [2, 3, None], ids=["2", "3", "all-cores"])
def test_results_do_not_depend_on_the_thread_count(one_thread, threads):
    other = _fingerprints(threads)
    assert other.keys() == one_thread.keys()
    differ = sorted(name for name in one_thread if one_thread[name] != other[name])
    assert not differ, f"results at {threads or 'all'} threads differ from one thread: {differ}"


def test_fingerprints_cover_every_trainer_and_filter(one_thread):
    from nas.filters import FILTERS

    expected = {"LinearProbe", "ResNet18Classifier", "MTaDCS", "ActiveLabelCorrection",
                *(f"filter:{name}" for name in FILTERS)}
    assert expected <= one_thread.keys()
