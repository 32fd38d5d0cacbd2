"""LowBudgetFINE: alignment with the principal eigenvector of each class' Gram matrix (seed 000
appendix G, after FINE).

Clean samples of a class share a dominant direction; a mislabeled sample points elsewhere. Per
class c, v_c is the top eigenvector of Σ x xᵀ over the samples labeled c (standardised features),
the score is FINE's alignment |v_cᵀ x| / ‖x‖, and a seeded two-component Gaussian mixture on the
class' scores calls clean the samples of the higher-mean component.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from nas_ext._validation import param_error

from .base import NoiseFilter, pool_moments

__all__ = ["LowBudgetFINE", "principal_direction"]


def principal_direction(points: np.ndarray) -> np.ndarray:
    """Unit top eigenvector of ``points.T @ points`` by a symmetric solver on the smaller Gram side.

    With n points in d dimensions: eigh of the n × n matrix P Pᵀ when n < d (v = Pᵀu/‖Pᵀu‖),
    else of the d × d matrix PᵀP. Cost Θ(min(n, d)²·max(n, d) + min(n, d)³).
    """
    n, d = points.shape
    if n < d:
        _, vectors = np.linalg.eigh(points @ points.T)
        direction = points.T @ vectors[:, -1]
    else:
        _, vectors = np.linalg.eigh(points.T @ points)
        direction = vectors[:, -1]
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 0 else direction


class LowBudgetFINE(NoiseFilter):
    """Per-class eigenvector alignment with a two-component Gaussian mixture.

    Parameters
    ----------
    standardize : bool, default True
        Centre and scale every feature by the statistics of X together with ``pool`` when given
        (unlabeled features carry no label information), else of X alone.
    noise_rate : float in [0, 1] or None
        Known-noise-rate prior: mark the round(q·|L|) least aligned samples noisy.
    random_state : None, int or numpy Generator
        Seeds the mixtures.

    Classes with fewer than two samples or with identical scores are all clean. ``scores_`` is the
    alignment in [0, 1].

    Cost: per class one symmetric eigendecomposition of a min(n_c, d)-sized Gram matrix and a 1-D
    mixture fit; memory Θ(min(n_c, d)²).

    Example
    -------
    >>> import numpy as np
    >>> from nas.filters import LowBudgetFINE
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat(np.arange(3), 10); X = 4 * np.eye(3)[y] + rng.standard_normal((30, 3))
    >>> is_clean = LowBudgetFINE(random_state=0).fit_predict(X, y)
    """

    def __init__(self, *, standardize: bool = True, noise_rate=None, random_state=None):
        self.standardize = standardize
        self.noise_rate = noise_rate
        self.random_state = random_state

    def _check_params(self) -> None:
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise param_error(type(self).__name__, "standardize", "a bool", self.standardize, exc=TypeError)

    def _score(self, X, y, *, pool, n_classes, indices, rng):
        Z = X
        if self.standardize:
            shift = X.mean(axis=0)
            total, total_sq, count = np.zeros_like(shift), ((X - shift) ** 2).sum(axis=0), X.shape[0]
            if pool is not None:
                pool_sum, pool_sq, pool_count = pool_moments(pool, shift, f"{type(self).__name__}.fit_predict")
                total, total_sq, count = total + pool_sum, total_sq + pool_sq, count + pool_count
            offset = total / count
            scale = np.sqrt(np.maximum(total_sq / count - offset * offset, 0.0))
            Z = (X - shift - offset) / np.where(scale > 0, scale, 1.0)
        norms = np.linalg.norm(Z, axis=1)
        scores = np.ones(len(y))
        is_clean = np.ones(len(y), dtype=bool)
        for c in np.unique(y):
            members = np.flatnonzero(y == c)
            direction = principal_direction(Z[members])
            scores[members] = np.abs(Z[members] @ direction) / np.where(norms[members] > 0, norms[members], 1.0)
            if members.size < 2 or np.unique(scores[members]).size < 2:
                continue
            is_clean[members] = self._clean_component(scores[members], rng)
        return scores, is_clean

    @staticmethod
    def _clean_component(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mixture = GaussianMixture(n_components=2, random_state=int(rng.integers(0, 2**31 - 1)))
        with warnings.catch_warnings():
            # Two points or a near-degenerate split make EM stop early; the split is still usable.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture.fit(values[:, None])
        clean = int(np.argmax(mixture.means_[:, 0]))
        return mixture.predict_proba(values[:, None])[:, clean] > 0.5
