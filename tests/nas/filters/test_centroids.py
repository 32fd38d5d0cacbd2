import numpy as np

from nas.filters import Centroids
from nas.filters.centroids import _log_generalised_variance, robust_centroid


def test_generalised_variance_is_log_det_of_covariance_with_more_samples_than_features():
    rng = np.random.default_rng(0)
    points = rng.standard_normal((12, 3))
    expected = np.linalg.slogdet(np.cov(points, rowvar=False))[1]
    assert np.isclose(_log_generalised_variance(points), expected)


def test_generalised_variance_of_few_points_uses_their_span():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((4, 10))
    centred = points - points.mean(axis=0)
    nonzero = np.linalg.svd(centred, compute_uv=False)[:3] ** 2 / 3
    assert np.isclose(_log_generalised_variance(points), np.log(nonzero).sum())


def test_robust_centroid_ignores_outliers():
    rng = np.random.default_rng(2)
    points = np.vstack([rng.standard_normal((18, 2)) * 0.1, [[8.0, 8.0], [-7.0, 9.0]]])
    centre = robust_centroid(points, np.random.default_rng(0))
    assert np.linalg.norm(centre) < 0.15 < np.linalg.norm(points.mean(axis=0))


def test_small_classes_use_the_plain_mean():
    points = np.array([[0.0, 0.0], [2.0, 4.0]])
    np.testing.assert_array_equal(robust_centroid(points, np.random.default_rng(0)), [1.0, 2.0])


def test_noisy_iff_another_centroid_is_strictly_closer():
    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2], [0.15], [3.0]])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    f = Centroids(random_state=0)
    is_clean = f.fit_predict(X, y, n_classes=3)
    assert is_clean.tolist() == [True] * 6 + [False, False]
    assert np.isnan(f.centroids_[2]).all()
    np.testing.assert_array_equal(is_clean, f.scores_ >= 0)
