import numpy as np
import pytest

from nas.filters import LowBudgetFINE
from nas.filters.fine import principal_direction


@pytest.mark.parametrize("n, d", [(5, 12), (40, 6)])
def test_principal_direction_is_the_top_eigenvector_of_the_gram_matrix(n, d):
    rng = np.random.default_rng(n)
    points = rng.standard_normal((n, d)) + 2.0
    expected = np.linalg.eigh(points.T @ points)[1][:, -1]
    v = principal_direction(points)
    assert np.isclose(np.linalg.norm(v), 1.0) and np.isclose(abs(v @ expected), 1.0)


def test_misaligned_samples_are_noisy():
    rng = np.random.default_rng(0)
    X = np.vstack([np.c_[5 + rng.standard_normal(12), 0.2 * rng.standard_normal(12)],
                   np.c_[0.2 * rng.standard_normal(12), 5 + rng.standard_normal(12)]])
    y = np.repeat([0, 1], 12)
    y[[0, 12]] = [1, 0]
    f = LowBudgetFINE(standardize=False, random_state=0)
    is_clean = f.fit_predict(X, y)
    assert not is_clean[0] and not is_clean[12] and is_clean.sum() >= 20
    assert ((f.scores_ >= 0) & (f.scores_ <= 1 + 1e-12)).all()


def test_pool_sets_the_standardisation_only(planted):
    data = planted(noise_rate=0.2, seed=1)
    with_pool = LowBudgetFINE(random_state=0)
    with_pool.fit_predict(data.X, data.y, pool=data.pool)
    without = LowBudgetFINE(random_state=0)
    without.fit_predict(data.X, data.y)
    assert with_pool.scores_.shape == without.scores_.shape
    assert not np.allclose(with_pool.scores_, without.scores_)


def test_standardisation_matches_numpy_and_rejects_a_non_finite_pool(planted):
    data = planted(noise_rate=0.2, seed=2)
    f = LowBudgetFINE(random_state=0)
    f.fit_predict(data.X, data.y, pool=data.pool)
    both = np.concatenate([data.X, data.pool])
    Z = (data.X - both.mean(axis=0)) / both.std(axis=0)
    g = LowBudgetFINE(standardize=False, random_state=0)
    g.fit_predict(Z, data.y)
    np.testing.assert_allclose(f.scores_, g.scores_, atol=1e-9)
    pool = data.pool.copy()
    pool[7, 3] = np.inf
    with pytest.raises(ValueError, match="The 'pool' parameter of LowBudgetFINE.fit_predict must be finite .* "
                                         "row 7"):
        LowBudgetFINE(random_state=0).fit_predict(data.X, data.y, pool=pool)
