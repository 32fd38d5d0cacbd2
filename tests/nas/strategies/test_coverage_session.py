"""CoverageSession: fresh states are copies of one pristine backend, and a session that starts over
or extends its state picks exactly what a brand-new session would."""
import numpy as np
import pytest

import nas_ext
from nas.strategies._coverage import CoverageSession, KernelCoverage
from nas.strategies.maxherding import _DenseHerding, _DenseKernel


def clustered(seed, n=120):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, 4)) * 3
    return (centres[rng.integers(0, 6, n)] + 0.4 * rng.standard_normal((n, 4))).astype(np.float32)


def kernel_factory(X):
    graph = nas_ext.radius_graph(X, 1.2, metric="euclidean")
    return lambda: KernelCoverage(graph)


def dense_factory(X):
    kernel = _DenseKernel(X, 1.0, "cpu")
    return lambda: _DenseHerding(kernel)


def counting(factory):
    calls = []

    def make():
        calls.append(1)
        return factory()
    return make, calls


@pytest.mark.parametrize("factory", [kernel_factory, dense_factory])
@pytest.mark.parametrize("tie_break", ["lowest", "random"])
def test_session_picks_equal_a_fresh_session_per_share(factory, tie_break):
    X = clustered(0)
    make, calls = counting(factory(X))
    session = CoverageSession(X.shape[0], make)
    rng = np.random.default_rng(1)
    clean, noisy = [], []
    for share in range(8):
        clean_idx, noisy_idx = np.array(clean, dtype=np.int64), np.array(noisy, dtype=np.int64)
        session.sync(clean_idx, noisy_idx)
        picks, gains = session.pick(3, tie_break, np.random.default_rng(share))
        fresh = CoverageSession(X.shape[0], factory(X))
        fresh.sync(clean_idx, noisy_idx)
        expected, expected_gains = fresh.pick(3, tie_break, np.random.default_rng(share))
        np.testing.assert_array_equal(picks, expected)
        np.testing.assert_allclose(gains, expected_gains, rtol=1e-5)  # dense gains: float32 kernel rows
        for p in picks:
            (noisy if rng.random() < 0.3 else clean).append(int(p))
        if share % 3 == 2:  # the filter changes its mind about a covering sample: the session starts over
            noisy.append(clean.pop(0))
    assert session.rebuilds >= 3 and session.reuses >= 3
    assert len(calls) == 1  # every fresh start copied the one pristine backend


def test_pristine_backend_is_never_modified():
    X = clustered(2)
    session = CoverageSession(X.shape[0], kernel_factory(X))
    session.sync(np.array([0, 5]), np.array([7]))
    session.pick(10, "lowest", np.random.default_rng(0))
    pristine = session._pristine.state
    untouched = nas_ext.CoverageState(nas_ext.radius_graph(X, 1.2, metric="euclidean"))
    np.testing.assert_array_equal(pristine.gains(), untouched.gains())
    assert pristine.n_candidates == X.shape[0]
