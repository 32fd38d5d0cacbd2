"""Shared fixtures: the `devices` parametrisation (cpu always, cuda where a GPU and a CUDA build exist)."""
import sys
from pathlib import Path

import numpy as np
import pytest

# Oracles live in tests/oracles and are imported as `from oracles.<module> import ...`.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cuda_usable() -> bool:
    try:
        import torch

        import nas_ext

        return bool(nas_ext.build_info()["cuda"]) and torch.cuda.is_available()
    except Exception:
        return False


CUDA = _cuda_usable()
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """Every kernel test runs on each available device."""
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)

from hypothesis import HealthCheck, settings

# The default profile draws the same examples on every run (derandomize), so a test run's verdict depends
# on the code alone; `--hypothesis-profile thorough` explores new random examples.
settings.register_profile("ci", deadline=None, max_examples=40, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=300)
settings.load_profile("ci")
