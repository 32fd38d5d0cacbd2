"""The contract every strategy shares: validation, invariants of the picks, seeding, timings."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.strategies import Coreset, MaxHerding, ProbCover, Random, TypiClust

FACTORIES = {
    "random": lambda: Random(),
    "probcover": lambda: ProbCover(0.3),
    "probcover_policy": lambda: ProbCover(0.3, delta_policy="max_degree"),
    "maxherding_dense": lambda: MaxHerding(mode="dense", tie_break="random"),
    "maxherding_sparse": lambda: MaxHerding(sigma=0.5, mode="sparse", eps=1e-3),
    "coreset": lambda: Coreset(),
    "typiclust": lambda: TypiClust(),
}


def _pool(seed, n, d=4):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((4, d))
    return (centres[rng.integers(0, 4, n)] + 0.3 * rng.standard_normal((n, d))).astype(np.float32), rng


@pytest.mark.parametrize("name", FACTORIES)
@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_picks_are_new_distinct_and_exactly_budget(name, seed, n):
    X, rng = _pool(seed, n)
    perm = rng.permutation(n)
    n_clean = int(rng.integers(0, n // 2 + 1))
    n_noisy = int(rng.integers(0, (n - n_clean) // 2 + 1))
    clean, noisy = perm[:n_clean], perm[n_clean:n_clean + n_noisy]
    left = n - n_clean - n_noisy
    budget = int(rng.integers(1, left + 1))
    picks = FACTORIES[name]().select(X, budget, clean=clean, noisy=noisy, random_state=seed % 1000)
    assert picks.dtype == np.int64 and picks.shape == (budget,)
    assert len(set(picks.tolist())) == budget
    assert not set(picks.tolist()) & (set(clean.tolist()) | set(noisy.tolist()))
    assert picks.min() >= 0 and picks.max() < n


@pytest.mark.parametrize("name", FACTORIES)
def test_same_random_state_same_picks(name):
    X, _ = _pool(1, 80)
    a = FACTORIES[name]().select(X, 7, clean=[0, 1], noisy=[2], random_state=5)
    b = FACTORIES[name]().select(X, 7, clean=[0, 1], noisy=[2], random_state=5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", FACTORIES)
def test_invalid_inputs_raise_the_standard_sentence(name):
    X, _ = _pool(0, 10)
    strategy = FACTORIES[name]()
    cls = type(strategy).__name__
    with pytest.raises(ValueError, match=rf"The 'budget' parameter of {cls}.select must be an int in \[1, 7\]"):
        strategy.select(X, 8, clean=[0, 1], noisy=[2])
    with pytest.raises(ValueError, match=rf"'budget' parameter of {cls}.select"):
        strategy.select(X, 0)
    with pytest.raises(TypeError, match="'budget' parameter"):
        strategy.select(X, 1.5)
    with pytest.raises(ValueError, match="'noisy' parameter .* disjoint from 'clean'. Got index 1 in both"):
        strategy.select(X, 1, clean=[0, 1], noisy=[1])
    with pytest.raises(ValueError, match="'clean' parameter .* free of duplicates"):
        strategy.select(X, 1, clean=[3, 3])
    with pytest.raises(ValueError, match=r"'noisy' parameter .* indices in \[0, 10\)"):
        strategy.select(X, 1, noisy=[10])
    with pytest.raises(ValueError, match="leaving at least one unlabeled sample"):
        strategy.select(X, 1, clean=np.arange(10))
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="'X' parameter .* finite"):
        strategy.select(bad, 1)
    with pytest.raises(ValueError, match="'X' parameter .* 2-D"):
        strategy.select(X[:, 0], 1)


def test_validation_and_fit_happen_once_per_pool():
    X, _ = _pool(0, 50)
    strategy = ProbCover(0.3)
    strategy.select(X, 2)
    assert "fit" in strategy.last_timings_ and "validate" in strategy.last_timings_
    strategy.select(X, 2, clean=[0])
    assert "fit" not in strategy.last_timings_
    assert {"selection", "sync", "total"} <= set(strategy.last_timings_)
    graph = strategy.graph_
    strategy.select(X.copy(), 2)  # another array: refitted
    assert strategy.graph_ is not graph


def test_float64_pool_is_converted_once():
    X, _ = _pool(0, 40)
    X64 = X.astype(np.float64)
    strategy = ProbCover(0.3, tie_break="lowest")
    np.testing.assert_array_equal(strategy.select(X64, 3), ProbCover(0.3, tie_break="lowest").select(X, 3))
    strategy.select(X64, 3)
    assert "fit" not in strategy.last_timings_
