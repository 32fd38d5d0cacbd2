"""Two-component Beta mixture on values in [0, 1], fitted by EM with weighted moment matching
(the BMM of Arazo et al. that DisagreeNet uses on its agreement scores)."""
from __future__ import annotations

from typing import Optional

import numpy as np
from scipy.special import logsumexp
from scipy.stats import beta as beta_distribution

__all__ = ["high_component_posterior"]

_EPS = 1e-4


def _two_means_split(values: np.ndarray) -> np.ndarray:
    """Exact 1-D 2-means: boolean mask of the upper cluster (deterministic k-means initialisation)."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    n = v.size
    prefix = np.cumsum(v)
    prefix_sq = np.cumsum(v * v)
    sizes = np.arange(1, n)
    left_sse = prefix_sq[:-1] - prefix[:-1] ** 2 / sizes
    right_sum, right_sq = prefix[-1] - prefix[:-1], prefix_sq[-1] - prefix_sq[:-1]
    right_sse = right_sq - right_sum ** 2 / (n - sizes)
    cut = int(np.argmin(left_sse + right_sse)) + 1
    upper = np.zeros(n, dtype=bool)
    upper[order[cut:]] = True
    return upper


def _moment_match(values: np.ndarray, weights: np.ndarray):
    """Beta (a, b) with the weighted mean and variance of ``values`` (variance kept valid)."""
    total = max(weights.sum(), np.finfo(np.float64).tiny)
    mean = float(np.clip((weights * values).sum() / total, _EPS, 1 - _EPS))
    var = float((weights * (values - mean) ** 2).sum() / total)
    var = min(max(var, 1e-8), 0.99 * mean * (1 - mean))
    common = mean * (1 - mean) / var - 1
    return mean * common, (1 - mean) * common


def high_component_posterior(values: np.ndarray, *, max_iter: int = 50, tol: float = 1e-5) -> Optional[np.ndarray]:
    """Posterior probability of the higher-mean component for each value, or None when the values
    hold fewer than two distinct points (no mixture can be fitted).

    Values are clipped to [1e-4, 1 − 1e-4]; initialisation by exact 1-D 2-means; at most
    ``max_iter`` EM iterations, stopping when the mean log-likelihood changes by less than ``tol``.
    """
    x = np.clip(np.asarray(values, dtype=np.float64), _EPS, 1 - _EPS)
    if np.unique(x).size < 2:
        return None
    resp = np.stack([~_two_means_split(x), _two_means_split(x)]).astype(np.float64)
    previous = -np.inf
    for _ in range(max_iter):
        params = [_moment_match(x, r) for r in resp]
        log_weights = np.log(np.maximum(resp.mean(axis=1), np.finfo(np.float64).tiny))
        joint = np.stack([lw + beta_distribution.logpdf(x, a, b) for lw, (a, b) in zip(log_weights, params)])
        norm = logsumexp(joint, axis=0)
        resp = np.exp(joint - norm)
        likelihood = float(norm.mean())
        if abs(likelihood - previous) < tol:
            break
        previous = likelihood
    params = [_moment_match(x, r) for r in resp]
    means = [a / (a + b) for a, b in params]
    return resp[int(np.argmax(means))]
