"""Shared fixtures: the `devices` parametrisation (cpu always, cuda where a GPU and a CUDA build exist)."""
import numpy as np
import pytest


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

settings.register_profile("ci", deadline=None, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", deadline=None, max_examples=300)
settings.load_profile("ci")
