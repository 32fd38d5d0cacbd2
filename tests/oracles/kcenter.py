"""k-center greedy in plain numpy (float64), the kcenter_greedy oracle."""
from __future__ import annotations

import numpy as np


def kcenter_greedy_oracle(X, budget, centers=(), metric="euclidean"):
    """Farthest-point picks by squared L2 (on L2-normalised rows for 'cosine'); lowest index on ties.

    Without centres the first pick is the row farthest from the mean row (relative 1e-9 ties, lowest index).
    """
    X = np.asarray(X, dtype=np.float32)
    if metric == "cosine":  # normalised in float32, as the kernel documents
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X / np.where(norms == 0, np.float32(1.0), norms)
    X = X.astype(np.float64)
    n = X.shape[0]
    centers = np.asarray(centers, dtype=np.int64)
    taken = np.zeros(n, dtype=bool)
    taken[centers] = True
    nearest = np.full(n, np.inf)
    for c in centers:
        nearest = np.minimum(nearest, ((X - X[c]) ** 2).sum(axis=1))
    picks = []
    for i in range(budget):
        if i == 0 and centers.size == 0:
            diff = X - X.mean(axis=0)
            far = np.einsum("ij,ij->i", diff, diff)
            p = int(np.argmax(far >= far.max() * (1 - 1e-9)))
        else:
            p = int(np.argmax(np.where(taken, -np.inf, nearest)))
        picks.append(p)
        taken[p] = True
        nearest = np.minimum(nearest, ((X - X[p]) ** 2).sum(axis=1))
    return np.array(picks, dtype=np.int64)
