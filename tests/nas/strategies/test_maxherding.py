import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.strategies import MaxHerding
from oracles.selection import maxherding_greedy, pairwise_distances

X_TOY = np.array([[0, 0], [0, 0.1], [0.1, 0], [0.05, 0.05], [3, 3], [3, 3.1], [3.1, 3], [8, 0]], dtype=np.float32)


def _problem(seed, n, d=3):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, d)) * 1.5
    X = (centres[rng.integers(0, 3, n)] + 0.5 * rng.standard_normal((n, d))).astype(np.float32)
    return X, rng


def test_dense_two_clusters_and_an_outlier():
    strategy = MaxHerding(sigma=1.0, mode="dense")
    picks = strategy.select(X_TOY, 3)
    assert picks[0] in range(4) and picks[1] in range(4, 7) and picks[2] == 7


def test_noisy_centre_leaves_its_cluster_uncovered():
    strategy = MaxHerding(sigma=1.0, mode="dense")
    assert strategy.select(X_TOY, 1, clean=[0])[0] in range(4, 7)
    again = strategy.select(X_TOY, 1, noisy=[0])[0]
    assert again in range(1, 4)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40), sigma=st.sampled_from([0.5, 1.0, 2.0]),
       with_labeled=st.booleans())
def test_dense_matches_brute_force(seed, n, sigma, with_labeled):
    X, rng = _problem(seed, n)
    clean = noisy = np.empty(0, dtype=np.int64)
    if with_labeled:
        perm = rng.permutation(n)
        clean, noisy = perm[:n // 4], perm[n // 4:n // 4 + n // 5]
    budget = int(rng.integers(1, n - clean.size - noisy.size + 1))
    strategy = MaxHerding(sigma=sigma, mode="dense")
    picks = strategy.select(X, budget, clean=clean, noisy=noisy)
    expected, gains, margins = maxherding_greedy(X, sigma, budget, clean, noisy, return_margins=True)
    # float32 kernels against a float64 oracle: the same picks up to the first near-tie of the oracle
    agree = int(np.argmax(margins < 1e-3)) if (margins < 1e-3).any() else budget
    np.testing.assert_array_equal(picks[:agree], expected[:agree])
    np.testing.assert_allclose(strategy.last_gains_[:agree], gains[:agree], rtol=1e-4, atol=1e-4)


@settings(max_examples=20)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 40))
def test_sparse_with_negligible_truncation_equals_dense(seed, n):
    X, rng = _problem(seed, n)
    perm = rng.permutation(n)
    clean, noisy = perm[:n // 4], perm[n // 4:n // 4 + n // 5]
    budget = int(rng.integers(1, n - clean.size - noisy.size + 1))
    dense = MaxHerding(sigma=1.0, mode="dense").select(X, budget, clean=clean, noisy=noisy)
    sparse_strategy = MaxHerding(sigma=1.0, mode="sparse", eps=1e-30)
    sparse = sparse_strategy.select(X, budget, clean=clean, noisy=noisy)
    _, _, margins = maxherding_greedy(X, 1.0, budget, clean, noisy, return_margins=True)
    agree = int(np.argmax(margins < 1e-3)) if (margins < 1e-3).any() else budget
    np.testing.assert_array_equal(sparse[:agree], dense[:agree])


def test_sparse_truncation_error_is_within_the_documented_bound():
    X, _ = _problem(11, 120, d=2)
    eps = 0.05
    strategy = MaxHerding(sigma=0.7, mode="sparse", eps=eps)
    picks = strategy.select(X, 10)
    assert strategy.radius_ == pytest.approx(0.7 * math.sqrt(-math.log(eps)))
    assert strategy.graph_.nnz < 120 * 120  # truncation did sparsify
    # the gain of every pick, recomputed exactly for the same previous picks, is within n·eps
    K = np.exp(-pairwise_distances(X, "euclidean") ** 2 / 0.7 ** 2)
    cov = np.zeros(len(X))
    for pick, gain in zip(picks, strategy.last_gains_):
        exact = np.maximum(K[pick] - cov, 0).sum()
        assert abs(exact - gain) < len(X) * eps
        cov = np.maximum(cov, K[pick])


def test_auto_mode_switches_on_pool_size():
    X, _ = _problem(0, 30)
    assert MaxHerding(mode="auto", dense_max_samples=30).fit(X).mode_ == "dense"
    assert MaxHerding(mode="auto", dense_max_samples=29, eps=0.2).fit(X).mode_ == "sparse"


def test_dense_does_not_subsample_candidates():
    """The reference capped candidates at 35k random samples; every sample is a candidate here."""
    X, _ = _problem(2, 60)
    strategy = MaxHerding(mode="dense")
    picks = strategy.select(X, 60 - 1, clean=[0])
    assert sorted(picks.tolist()) == list(range(1, 60))


def test_sparse_graph_too_large_names_the_remedies():
    X, _ = _problem(0, 50)
    with pytest.raises(ValueError, match="use mode='dense', a larger eps or a smaller sigma"):
        MaxHerding(mode="sparse", max_edges=60).fit(X)


def test_random_ties_are_seeded():
    X = (np.arange(30, dtype=np.float32)[:, None] * 50.0)  # isolated points: all gains 1
    a = MaxHerding(mode="dense", tie_break="random").select(X, 5, random_state=4)
    b = MaxHerding(mode="dense", tie_break="random").select(X, 5, random_state=4)
    c = MaxHerding(mode="dense", tie_break="random").select(X, 5, random_state=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_reused_state_equals_fresh_state_dense():
    X, rng = _problem(9, 35)
    persistent = MaxHerding(mode="dense")
    clean, noisy = [], []
    for share in range(6):
        picks = persistent.select(X, 2, clean=clean, noisy=noisy)
        fresh = MaxHerding(mode="dense").select(X, 2, clean=clean, noisy=noisy)
        np.testing.assert_array_equal(picks, fresh)
        for p in picks:
            (noisy if rng.random() < 0.4 else clean).append(int(p))
        if share == 3:
            noisy.append(clean.pop(0))


def test_weighting_is_not_supported():
    assert not MaxHerding.supports_weighting
    with pytest.raises(TypeError):
        MaxHerding().select(X_TOY, 1, noisy_weight=0.5)


def test_parameter_errors():
    with pytest.raises(ValueError, match="'sigma' parameter of MaxHerding"):
        MaxHerding(sigma=0)
    with pytest.raises(ValueError, match="'eps' parameter of MaxHerding"):
        MaxHerding(eps=1.0)
    with pytest.raises(ValueError, match="'mode' parameter of MaxHerding"):
        MaxHerding(mode="fast")
