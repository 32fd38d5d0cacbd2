"""The estimator contract shared by every noise filter: one input check, one known-noise-rate prior.

A filter partitions a labeled set L into predicted-clean and predicted-noisy samples. Subclasses
implement ``_score`` (per-sample scores, higher = more likely clean, and the filter's own clean
mask); ``fit_predict`` validates the inputs, applies the optional noise-rate prior of seed 000
appendix E (mark the round(q·|L|) lowest-scoring samples noisy instead of the filter's own rule),
warns when everything came out noisy, and stores the fitted attributes. The work runs on one
thread (see ``_threads``): at these sizes thread pools cost more than they save.
"""
from __future__ import annotations

import abc
import logging
import numbers
import warnings
from typing import Optional, Tuple

import numpy as np

from nas_ext._validation import check_features, check_float, check_int, param_error, to_numpy

from ._threads import single_threaded

__all__ = ["AllNoisyWarning", "NoiseFilter", "check_random_state", "lowest_scores_noisy", "pool_rows", "pool_moments"]

logger = logging.getLogger(__name__)


class AllNoisyWarning(UserWarning):
    """A filter marked every labeled sample noisy: nothing in L counts as covered afterwards."""


def check_random_state(random_state, owner: str) -> np.random.Generator:
    """A numpy Generator from ``None``, a non-negative int, or an existing Generator (used as is)."""
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    expected = "None, a non-negative int or a numpy Generator"
    if isinstance(random_state, bool) or not isinstance(random_state, (numbers.Integral, np.integer)):
        raise param_error(owner, "random_state", expected, random_state, exc=TypeError)
    if random_state < 0:
        raise param_error(owner, "random_state", expected, random_state)
    return np.random.default_rng(int(random_state))


def lowest_scores_noisy(scores: np.ndarray, noise_rate: float) -> np.ndarray:
    """Clean mask marking the round(noise_rate·n) lowest scores noisy (ties: lower index first)."""
    n = scores.shape[0]
    n_noisy = int(np.floor(noise_rate * n + 0.5))
    is_clean = np.ones(n, dtype=bool)
    is_clean[np.argsort(scores, kind="stable")[:n_noisy]] = False
    return is_clean


def _check_labels(y, n_samples: int, n_classes: Optional[int], function: str) -> Tuple[np.ndarray, int]:
    arr = to_numpy(y) if not isinstance(y, (list, tuple, range)) else np.asarray(y)
    if arr.ndim != 1:
        raise param_error(function, "y", "a 1-D array of integer labels", arr)
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, "y", "a 1-D array of integer labels", arr, exc=TypeError)
    if arr.shape[0] != n_samples:
        raise param_error(function, "y", f"a 1-D array with one label per row of X ({n_samples})",
                          f"{arr.shape[0]} labels", describe=False)
    labels = arr.astype(np.int64)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 1
        if labels.size and labels.min() < 0:
            raise param_error(function, "y", "integer labels in [0, n_classes)",
                              f"label {int(labels.min())}", describe=False)
    else:
        n_classes = check_int(n_classes, function, "n_classes", low=1)
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
            raise param_error(function, "y", f"integer labels in [0, {n_classes})", f"label {bad}",
                              describe=False)
    return labels, n_classes


def _check_pool(pool, n_features: int, function: str) -> Optional[np.ndarray]:
    """Shape and dtype check only: the pool can be the whole unlabeled set, so it is neither copied
    nor scanned here; the filters that read it check finiteness of what they read."""
    if pool is None:
        return None
    arr = to_numpy(pool)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, "pool", "a real-valued 2-D array of shape (n_pool, n_features)", arr,
                          exc=TypeError)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise param_error(function, "pool", f"a 2-D array with {n_features} columns (the features of X)", arr)
    return arr


def pool_rows(pool: np.ndarray, rows: np.ndarray, function: str) -> np.ndarray:
    """The given pool rows as float64, which must be finite."""
    out = np.asarray(pool[rows], dtype=np.float64)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        raise param_error(function, "pool", "finite (no NaN or inf)",
                          f"a non-finite value in row {int(rows[np.flatnonzero(bad)[0]])}", describe=False)
    return out


def pool_moments(pool: np.ndarray, shift: np.ndarray, function: str,
                 chunk: int = 65536) -> Tuple[np.ndarray, np.ndarray, int]:
    """Per-feature sums of (x − shift) and (x − shift)² over the pool and its row count, in row
    chunks (bounded memory). A shift near the mean keeps the variance free of cancellation."""
    total = np.zeros(pool.shape[1])
    total_sq = np.zeros(pool.shape[1])
    for start in range(0, pool.shape[0], chunk):
        block = pool_rows(pool, np.arange(start, min(start + chunk, pool.shape[0])), function) - shift
        total += block.sum(axis=0)
        total_sq += (block * block).sum(axis=0)
    return total, total_sq, pool.shape[0]


def _check_row_indices(indices, n_samples: int, function: str) -> Optional[np.ndarray]:
    if indices is None:
        return None
    arr = to_numpy(indices) if not isinstance(indices, (list, tuple, range)) else np.asarray(indices)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise param_error(function, "indices", f"a 1-D array with one pool index per row of X ({n_samples})",
                          arr)
    if arr.size and (arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer)):
        raise param_error(function, "indices", "a 1-D array of integer indices", arr, exc=TypeError)
    return arr.astype(np.int64)


class NoiseFilter(abc.ABC):
    """Base class of the noise filters: validation, the noise-rate prior and the fitted attributes.

    Fitted attributes (after ``fit_predict``): ``is_clean_`` (bool, (n,)), ``scores_`` (float64, (n,),
    higher = more likely clean), ``noise_rate_`` (predicted fraction of noisy samples, 0.0 for an
    empty L).
    """

    #: True only for the oracle filter; NAS uses shares of b = 1 with it.
    is_ideal = False

    noise_rate: Optional[float] = None

    def fit_predict(self, X, y, *, pool=None, n_classes: Optional[int] = None, indices=None) -> np.ndarray:
        """Partition the labeled set; returns ``is_clean`` (bool, one entry per row of ``X``).

        X: (n, d) features of the labeled samples (finite); y: (n,) given (possibly noisy) labels in
        [0, n_classes); pool: (m, d) features of unlabeled samples (needed by LowBudgetAUM only);
        n_classes: number of classes (default max(y) + 1); indices: pool indices of the rows of X
        (needed by Ideal only).
        """
        function = f"{type(self).__name__}.fit_predict"
        X = check_features(X, function, "X", min_rows=0, dtype=np.float64)
        y, n_classes = _check_labels(y, X.shape[0], n_classes, function)
        pool = _check_pool(pool, X.shape[1], function)
        indices = _check_row_indices(indices, X.shape[0], function)
        self._check_params()
        prior = None if self.noise_rate is None else check_float(
            self.noise_rate, type(self).__name__, "noise_rate", low=0.0, high=1.0)
        rng = check_random_state(getattr(self, "random_state", None), type(self).__name__)

        n = X.shape[0]
        if n == 0:
            scores, is_clean = np.empty(0, dtype=np.float64), np.empty(0, dtype=bool)
        else:
            with single_threaded():
                scores, is_clean = self._score(X, y, pool=pool, n_classes=n_classes, indices=indices, rng=rng)
            if prior is not None:
                is_clean = lowest_scores_noisy(scores, prior)
        if n and not is_clean.any():
            warnings.warn(f"{type(self).__name__} predicted all {n} labeled samples noisy.", AllNoisyWarning,
                          stacklevel=2)
        self.scores_ = np.asarray(scores, dtype=np.float64)
        self.is_clean_ = np.asarray(is_clean, dtype=bool)
        self.noise_rate_ = float(1.0 - self.is_clean_.mean()) if n else 0.0
        logger.debug("%s: %d of %d labeled samples predicted noisy", type(self).__name__,
                     n - int(self.is_clean_.sum()), n)
        return self.is_clean_.copy()

    def _check_params(self) -> None:
        """Validate the constructor parameters (subclasses extend)."""

    @abc.abstractmethod
    def _score(self, X: np.ndarray, y: np.ndarray, *, pool: Optional[np.ndarray], n_classes: int,
               indices: Optional[np.ndarray], rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Return (scores, is_clean) for a non-empty, validated labeled set."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.endswith("_") and not k.startswith("_") and not isinstance(v, np.ndarray))
        return f"{type(self).__name__}({params})"
