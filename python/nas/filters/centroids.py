"""Centroids: noisy when another class' robust centroid is closer than the sample's own (seed 000
appendix G). Each class centroid is the mean of the random subset (RANSAC-style trials) whose
covariance has the smallest determinant, so a few mislabeled samples cannot drag it away."""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist

from nas_ext._validation import check_float, check_int

from .base import NoiseFilter

__all__ = ["Centroids", "robust_centroid"]


def _log_generalised_variance(subset: np.ndarray) -> float:
    """log det of the subset's covariance within the span of the subset.

    For m samples in d dimensions the covariance has rank ≤ min(m − 1, d); the product of those
    non-zero eigenvalues (from the m × m centred Gram matrix, so it is cheap when m ≪ d) is the
    determinant when m > d and stays comparable between subsets of equal size when m ≤ d.
    """
    m = subset.shape[0]
    centred = subset - subset.mean(axis=0)
    eigenvalues = np.linalg.eigvalsh(centred @ centred.T / (m - 1))
    rank = min(m - 1, subset.shape[1])
    top = np.maximum(eigenvalues[m - rank:], np.finfo(np.float64).tiny)
    return float(np.log(top).sum())


def robust_centroid(points: np.ndarray, rng: np.random.Generator, *, subset_fraction: float = 0.5,
                    max_subset: int = 50, min_trials: int = 15, max_trials: int = 30) -> np.ndarray:
    """Mean of the lowest-generalised-variance random subset of ``points`` (plain mean below 3 points).

    Subset size m = clip(floor(subset_fraction·n), 2, max_subset); trials T = clip(floor(ln C(n, m)),
    min_trials, max_trials). Cost: T·(m²·d + m³).
    """
    n = points.shape[0]
    if n < 3:
        return points.mean(axis=0)
    m = int(np.clip(math.floor(subset_fraction * n), 2, max_subset))
    log_subsets = math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1)
    trials = int(np.clip(math.floor(log_subsets), min_trials, max_trials))
    best, best_value = None, math.inf
    for _ in range(trials):
        subset = rng.choice(n, size=m, replace=False)
        value = _log_generalised_variance(points[subset])
        if value < best_value:
            best, best_value = subset, value
    return points[best].mean(axis=0)


class Centroids(NoiseFilter):
    """Nearest-robust-centroid filter (Euclidean).

    Parameters
    ----------
    subset_fraction, max_subset, min_trials, max_trials :
        RANSAC trial settings (see :func:`robust_centroid`); defaults 0.5, 50, 15, 30 as in the
        research code.
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) lowest-scoring samples noisy.
    random_state : None, int or numpy Generator
        Seeds the subsets.

    Only classes present in L get a centroid. A sample is noisy iff some other class' centroid is
    strictly closer than its own. ``scores_`` = distance to the nearest other centroid minus
    distance to the own centroid (with a single class present: minus the own distance, and nothing
    is noisy). ``centroids_`` is (C, d) with NaN rows for absent classes.

    Cost: per class T subset determinants, Θ(T·(m²·d + m³)); then Θ(|L|·C·d) distances.

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import Centroids
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2], [0.15]]); y = np.array([0, 0, 0, 1, 1, 1, 1])
    >>> Centroids(random_state=0).fit_predict(X, y).tolist()
    [True, True, True, True, True, True, False]
    """

    def __init__(self, *, subset_fraction: float = 0.5, max_subset: int = 50, min_trials: int = 15,
                 max_trials: int = 30, noise_rate=None, random_state=None):
        self.subset_fraction = subset_fraction
        self.max_subset = max_subset
        self.min_trials = min_trials
        self.max_trials = max_trials
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        name = type(self).__name__
        check_float(self.subset_fraction, name, "subset_fraction", low=0.0, high=1.0, low_open=True)
        check_int(self.max_subset, name, "max_subset", low=2)
        check_int(self.min_trials, name, "min_trials", low=1)
        check_int(self.max_trials, name, "max_trials", low=self.min_trials)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        present = np.unique(y)
        centroids = np.full((n_classes, X.shape[1]), np.nan)
        for c in present:
            centroids[c] = robust_centroid(X[y == c], rng, subset_fraction=self.subset_fraction,
                                           max_subset=self.max_subset, min_trials=self.min_trials,
                                           max_trials=self.max_trials)
        self.centroids_ = centroids
        distances = cdist(X, centroids[present])
        position = np.searchsorted(present, y)
        own = distances[np.arange(len(y)), position]
        if present.size == 1:
            return -own, np.ones(len(y), dtype=bool)
        distances[np.arange(len(y)), position] = np.inf
        nearest_other = distances.min(axis=1)
        return nearest_other - own, nearest_other >= own
