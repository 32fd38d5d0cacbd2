"""Plain-numpy diffusion oracle: dense A, D = row sums, explicit Euler steps with the fixed reset."""
from __future__ import annotations

import numpy as np


def dense_weights(indptr, indices, weights, n: int) -> np.ndarray:
    """The dense n x n weight matrix A of a CSR graph (repeated edges add up)."""
    A = np.zeros((n, n))
    rows = np.repeat(np.arange(n), np.diff(indptr))
    np.add.at(A, (rows, np.asarray(indices, dtype=np.int64)), np.asarray(weights, dtype=np.float64))
    return A


def diffuse_dense(A: np.ndarray, values, *, step: float, n_steps: int, fixed=(), fixed_value: float = 0.0):
    """v <- v - step·(v - D⁻¹Av), fixed entries reset before every step and in the result; rows of A that sum
    to zero keep their value. A is a dense array (or, for large cases, a scipy sparse matrix)."""
    v = np.array(values, dtype=np.float64)
    fixed = np.asarray(fixed, dtype=np.int64)
    D = np.asarray(A.sum(axis=1)).ravel()
    live = D > 0
    for _ in range(n_steps):
        v[fixed] = fixed_value
        mean = np.zeros_like(v)
        mean[live] = np.asarray(A[live] @ v) / (D[live] if v.ndim == 1 else D[live][:, None])
        v = np.where(live if v.ndim == 1 else live[:, None], v - step * (v - mean), v)
    v[fixed] = fixed_value
    return v


def gaussian(dist, sigma: float) -> np.ndarray:
    """exp(-dist² / sigma) in float64."""
    dist = np.asarray(dist, dtype=np.float64)
    return np.exp(-(dist ** 2) / sigma)
