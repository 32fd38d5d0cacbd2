import numpy as np
import pytest
from sklearn.neighbors import LocalOutlierFactor

from nas.filters import LOF
from nas.filters.lof import local_outlier_factor


@pytest.mark.parametrize("n, d, k", [(30, 3, 10), (12, 5, 4), (8, 2, 20), (2, 2, 10)])
def test_lof_equals_scikit_learn(n, d, k):
    points = np.random.default_rng(n + k).standard_normal((n, d))
    # scikit-learn warns and uses n - 1 neighbours when k >= n; ask it for that directly.
    expected = -LocalOutlierFactor(n_neighbors=min(k, n - 1)).fit(points).negative_outlier_factor_
    np.testing.assert_allclose(local_outlier_factor(points, k), expected, rtol=1e-12)


def test_lof_with_duplicates_equals_scikit_learn():
    points = np.vstack([np.zeros((4, 2)), np.random.default_rng(0).standard_normal((10, 2))])
    expected = -LocalOutlierFactor(n_neighbors=5).fit(points).negative_outlier_factor_
    np.testing.assert_allclose(local_outlier_factor(points, 5), expected, rtol=1e-9)


def test_filter_lof_is_per_class_on_the_agreeing_samples(planted):
    data = planted(samples_per_class=20, noise_rate=0.2, seed=3)
    f = LOF(n_neighbors=5, random_state=0)
    f.fit_predict(data.X, data.y, n_classes=10)
    agreeing = ~np.isnan(f.lof_)
    for c in range(10):
        members = np.flatnonzero(agreeing & (data.y == c))
        if members.size > 1:
            k = min(5, members.size - 1)
            expected = -LocalOutlierFactor(n_neighbors=k).fit(data.X[members]).negative_outlier_factor_
            np.testing.assert_allclose(f.lof_[members], expected, rtol=1e-12)
    np.testing.assert_array_equal(f.is_clean_, agreeing & (np.nan_to_num(f.lof_, nan=np.inf) <= 1.5))


def test_isolated_sample_of_an_agreeing_class_is_noisy():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((15, 2)) * 0.2, rng.standard_normal((15, 2)) * 0.2 + [10, 0],
                   [[-3.0, 0.0]]])
    y = np.r_[np.zeros(15), np.ones(15), 0].astype(int)
    f = LOF(random_state=0)
    is_clean = f.fit_predict(X, y)
    assert f.lof_[-1] > 1.5 and not is_clean[-1] and is_clean[:30].all()
