import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nas.strategies import Coreset
from oracles.selection import kcenter_greedy


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 50), with_noisy=st.booleans())
def test_coreset_matches_brute_force_k_center(seed, n, with_noisy):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    perm = rng.permutation(n)
    n_clean = int(rng.integers(1, n // 2 + 1))
    clean = perm[:n_clean]
    noisy = perm[n_clean:n_clean + n // 4] if with_noisy else np.empty(0, dtype=np.int64)
    budget = int(rng.integers(1, n - clean.size - noisy.size + 1))
    picks = Coreset().select(X, budget, clean=clean, noisy=noisy)
    np.testing.assert_array_equal(picks, kcenter_greedy(X, budget, clean, noisy))


def test_coreset_noisy_samples_are_no_centres_and_never_picked():
    X = np.array([[0.0], [0.1], [5.0], [5.1], [10.0]], dtype=np.float32)
    assert Coreset().select(X, 1, clean=[0, 2])[0] == 4
    assert Coreset().select(X, 1, clean=[0], noisy=[4])[0] == 3      # 4 is noisy: 3 is the farthest left
    picks = Coreset().select(X, 3, clean=[0], noisy=[2])
    assert 2 not in picks


def test_coreset_with_nothing_clean_is_seeded_random():
    X = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    a = Coreset().select(X, 5, noisy=[1, 2], random_state=3)
    b = Coreset().select(X, 5, noisy=[1, 2], random_state=3)
    np.testing.assert_array_equal(a, b)
    assert not set(a) & {1, 2}
