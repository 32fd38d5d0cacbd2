"""Fixtures of the filter tests: planted-noise data and filters built by CLI name with a fixed seed."""
import numpy as np
import pytest

from nas.filters import make_filter
from oracles.planted_noise import make_planted


@pytest.fixture
def planted():
    """Factory: ``planted(n_classes=10, samples_per_class=5, noise_rate=0.2, seed=0, ...)``."""
    return make_planted


def build_filter(name: str, **kwargs):
    """A filter by CLI name with random_state=0 (Ideal gets a mask over 1000 pool ids)."""
    if name == "ideal":
        kwargs.setdefault("is_noisy", np.arange(1000) % 4 == 0)
        return make_filter(name, **kwargs)
    kwargs.setdefault("random_state", 0)
    return make_filter(name, **kwargs)


def fit_filter(filter_, X, y, **kwargs):
    """fit_predict with a pool and pool indices, which every filter accepts (AUM and Ideal need them)."""
    kwargs.setdefault("pool", np.random.default_rng(1).standard_normal((40, np.shape(X)[-1])))
    kwargs.setdefault("indices", np.arange(len(y)))
    return filter_.fit_predict(X, y, **kwargs)


@pytest.fixture(name="build_filter")
def build_filter_fixture():
    return build_filter


@pytest.fixture(name="fit")
def fit_fixture():
    return fit_filter
