"""LOF: the confidence set of MTaDCS (seed 002) on a labeled set of embeddings.

MTaDCS keeps a sample in its confidence set when (1) the model's prediction agrees with its label
and (2) its local outlier factor within its class is low (mislabeled samples that survive (1) sit
sparsely, clean hard samples in dense clumps). On a small labeled set the prediction is a
cross-validated logistic regression (held-out, as in CrossValidation), and LOF is computed per class
among the agreeing samples only. Everything outside the confidence set is noisy.
"""
from __future__ import annotations

import logging

import numpy as np
from sklearn.neighbors import NearestNeighbors

from nas_ext._validation import check_float, check_int

from .base import NoiseFilter
from .cross_validation import heldout_votes

__all__ = ["LOF", "local_outlier_factor"]

logger = logging.getLogger(__name__)


def _lof_from_neighbours(distances: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """LOF from each point's k neighbours (excluding itself), ascending distances (n, k).

    reach-dist_k(p, o) = max(k-distance(o), d(p, o)); LRD(p) = 1 / (mean_o reach-dist + 1e-10);
    LOF(p) = mean_o LRD(o) / LRD(p). The 1e-10 is scikit-learn's guard against duplicates.
    """
    k_distance = distances[:, -1]
    reach = np.maximum(distances, k_distance[neighbours])
    lrd = 1.0 / (reach.mean(axis=1) + 1e-10)
    return (lrd[neighbours] / lrd[:, None]).mean(axis=1)


def local_outlier_factor(points: np.ndarray, n_neighbors: int = 10) -> np.ndarray:
    """Local outlier factor (Breunig et al.) of every point among ``points`` (Euclidean).

    k = min(n_neighbors, n − 1) neighbours, the point itself excluded: the same values as
    ``-sklearn.neighbors.LocalOutlierFactor(n_neighbors).fit(points).negative_outlier_factor_``.
    About 1 inside a cluster, larger for outliers. Fewer than two points: LOF 1.
    Cost: a k-nearest-neighbour search, Θ(n²·d) brute force.
    """
    n = points.shape[0]
    if n < 2:
        return np.ones(n)
    distances, neighbours = NearestNeighbors(n_neighbors=min(n_neighbors, n - 1)).fit(points).kneighbors()
    return _lof_from_neighbours(distances, neighbours)


class LOF(NoiseFilter):
    """Per-class LOF confidence set after a cross-validated agreement check.

    Parameters
    ----------
    n_neighbors : int, default 10
        LOF neighbourhood m (seed 002 uses m = 10), capped at the class' agreeing samples − 1.
    threshold : float, default 1.5
        A sample whose LOF exceeds this is an outlier (scikit-learn's ``contamination="auto"`` cut).
    n_folds, C, max_iter :
        The cross-validated logistic regression of the agreement check (see CrossValidation). A
        sample whose class is missing from its training folds is treated as agreeing.
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) lowest-scoring samples noisy.
    random_state : None, int or numpy Generator
        Seeds the folds.

    ``lof_`` holds each agreeing sample's LOF within its class (NaN for disagreeing samples);
    ``scores_`` = 1 / LOF for agreeing samples and 0 for the others.

    Cost: n_folds logistic-regression fits, then per class a kNN search over its agreeing samples.

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import LOF
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 10); X = 4 * np.eye(3)[y] + rng.standard_normal((30, 3))
    >>> is_clean = LOF(random_state=0).fit_predict(X, y)
    """

    def __init__(self, n_neighbors: int = 10, *, threshold: float = 1.5, n_folds: int = 3, C: float = 1.0,
                 max_iter: int = 1000, noise_rate=None, random_state=None):
        self.n_neighbors = n_neighbors
        self.threshold = threshold
        self.n_folds = n_folds
        self.C = C
        self.max_iter = max_iter
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        name = type(self).__name__
        check_int(self.n_neighbors, name, "n_neighbors", low=1)
        check_float(self.threshold, name, "threshold", low=0.0, low_open=True)
        check_int(self.n_folds, name, "n_folds", low=2)
        check_float(self.C, name, "C", low=0.0, low_open=True)
        check_int(self.max_iter, name, "max_iter", low=1)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        held = heldout_votes(X, y, n_classes, n_folds=self.n_folds, n_repeats=1, rng=rng, C=self.C,
                             max_iter=self.max_iter)
        agrees = 2 * held.agree >= held.votes
        lof = np.full(len(y), np.nan)
        for c in np.unique(y[agrees]):
            members = np.flatnonzero(agrees & (y == c))
            lof[members] = local_outlier_factor(X[members], self.n_neighbors)
        self.lof_ = lof
        scores = np.where(agrees, 1.0 / np.where(agrees, lof, 1.0), 0.0)
        is_clean = agrees & (np.where(agrees, lof, np.inf) <= self.threshold)
        logger.debug("LOF: %d of %d agree with the cross-validated prediction", int(agrees.sum()), len(y))
        return scores, is_clean
